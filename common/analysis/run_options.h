// SPDX-License-Identifier: MIT
#pragma once
// What a run was asked for beyond its output path: the options that enable the analyses that
// cost something and are off by default (AnalysisInfo::enabled). The adapter fills it from its
// parameters (plugins/vm/sqlite-sink/params.h).

#include <string>
#include <vector>

namespace vm {

struct RunOptions {
  // The `critical-path` parameter's selectors, parsed and checked (graph/path_selector.h), as
  // given; empty when the parameter is absent.
  std::vector<std::string> critical_path;
  // The execution graph is built (OsGraphAnalysis) and, when store_exec_graph, written to the
  // database (graph/graph_store.h).
  bool exec_graph = false;
  bool store_exec_graph = false;
  // Not empty: the graph is kept in an unnamed temporary file of this directory while the run
  // builds it (ExecGraph::spill_to), not in memory. The sink names its output's directory.
  std::string graph_spill_dir;
};

}  // namespace vm
