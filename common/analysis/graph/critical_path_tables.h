// SPDX-License-Identifier: MIT
#pragma once
// The tables of the execution graph (ExecGraphTables) and of the critical paths
// (CriticalPathTables), written at the end of a run from the OS graph analysis's graph
// (os_graph_analysis.h) with the writers of graph_store.h. Both are off unless the run's options
// ask for them (sink.vm.sqlite's `critical-path` and `exec-graph` parameters): without them the
// graph is not even built.

#include "analysis/analysis.h"

namespace vm::graph {

class ExecGraphTables final : public Analysis {
 public:
  static const AnalysisInfo info;
  explicit ExecGraphTables(Run&) {}
  unsigned hooks() const override { return 0; }
  void write(Run& run) override;
};

class CriticalPathTables final : public Analysis {
 public:
  static const AnalysisInfo info;
  explicit CriticalPathTables(Run&) {}
  unsigned hooks() const override { return 0; }
  void write(Run& run) override;
};

}  // namespace vm::graph
