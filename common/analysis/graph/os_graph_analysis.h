// SPDX-License-Identifier: MIT
#pragma once
// The OS execution graph as an analysis of the core: every decoded event of every machine goes to
// an OsGraphBuilder (os_graph_builder.h) that fills one ExecGraph for the run. It writes no table
// and is not registered yet (common/analysis/registry.cpp): the critical-path work decides how
// the graph is stored and what is written.

#include "analysis/analysis.h"
#include "analysis/graph/exec_graph.h"
#include "analysis/graph/os_graph_builder.h"

namespace vm::graph {

class OsGraphAnalysis : public Analysis {
 public:
  static const AnalysisInfo info;  // critical_path_tables.cpp: enabled by the run's options
  explicit OsGraphAnalysis(Run&) : builder_(graph_) {}
  void on_event(TracedMachine& machine, const Event& event) override { builder_.on_event(machine.id, event); }

  const ExecGraph& graph() const { return graph_; }
  OsGraphBuilder& builder() { return builder_; }

 private:
  ExecGraph graph_;
  OsGraphBuilder builder_;
};

}  // namespace vm::graph
