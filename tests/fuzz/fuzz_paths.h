// SPDX-License-Identifier: MIT
#pragma once
// The critical path's contract, checked by the targets that compute paths: its segments tile
// [start_ts, end_ts) in order (common/analysis/graph/critical_path.h). And the graph's, which the
// path relies on: no edge goes back in time (OsGraphBuilder refuses a backward link).

#include "analysis/graph/critical_path.h"
#include "fuzz_events.h"

namespace vm::fuzz {

inline void check_tiles(const graph::CriticalPath& path) {
  uint64_t at = path.start_ts;
  for (const graph::PathSegment& segment : path.segments) {
    VM_FUZZ_CHECK(segment.ts == at);
    at = segment.ts + segment.dur;
  }
  VM_FUZZ_CHECK(path.segments.empty() || at == path.end_ts);
}

inline void check_forward(const graph::ExecGraph& graph) {
  for (const graph::Edge& e : graph.edges())
    if (e.from != graph::kNoVertex) VM_FUZZ_CHECK(graph.vertex(e.from).ts <= graph.vertex(e.to).ts);
}

}  // namespace vm::fuzz
