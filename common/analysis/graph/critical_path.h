// SPDX-License-Identifier: MIT
#pragma once
// The bounded critical path of one worker of an execution graph (algorithms.md §7.3), after
// Trace Compass's OSCriticalPathAlgorithm and CriticalPathAlgorithmBounded
// (analysis/org.eclipse.tracecompass.analysis.graph.core/src/org/eclipse/tracecompass/internal/
// analysis/graph/core/criticalpath/{OSCriticalPathAlgorithm,CriticalPathAlgorithmBounded}.java,
// F. Giraldeau and M. Dagenais, "Wait analysis of distributed systems using kernel tracing",
// IEEE TPDS 2016): the worker's horizontal edges are followed in time order; each blocked (or
// network) interval is resolved backwards from the vertical edge that ended it, never earlier
// than the start of that interval ("bounded"), and the chain of edges found replaces it.
//
// Differences from the Trace Compass code, all deliberate:
// - findIncoming() looks for the wake-up at the vertex that ends the interval, then along the
//   zero-duration EPS edges after it (the 2015 semantics; the current code re-reads its argument
//   in the loop, so it never follows EPS edges and can loop forever);
// - the backward search is iterative (an explicit frame stack, no recursion: real traces chain
//   thousands of blocked waits) and has a step budget per blocked interval; past it the interval
//   stays unresolved (its own edge, BLOCKED or NETWORK) and a diagnostic says so;
// - what Trace Compass rejects with an exception (a horizontal DEFAULT edge, an EPS edge with a
//   duration) becomes an `unknown` interval and a diagnostic, and the path goes on;
// - a gap in the worker's chain (vertices add()ed without an edge) is bridged by an `unknown`
//   interval with a diagnostic (Trace Compass stops the path there: bridge_gaps = false).
// No babeltrace2 type here.

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/graph/exec_graph.h"

namespace vm::graph {

struct CriticalPathOptions {
  // The states resolved through the vertical edge that ended them (Trace Compass: BLOCKED and
  // NETWORK); every other state is on the path as it is. Bit i is EdgeState(i).
  uint32_t resolved_states = (1u << static_cast<unsigned>(EdgeState::blocked)) |
                             (1u << static_cast<unsigned>(EdgeState::network));
  // Steps of the backward search allowed for one blocked interval of the path's worker (a step
  // visits one vertex). Only a cyclic or pathological graph needs more.
  uint64_t max_steps_per_wait = uint64_t{1} << 22;
  bool bridge_gaps = true;
  // Between two resolved pieces that do not touch, Trace Compass puts a DEFAULT link from the end
  // of one to the start of the next, whatever their times: when the next begins later on another
  // worker (a waker whose first vertex is after the wait began), that link takes time and shows
  // as a `default` segment. `unknown_before_waker` makes it a zero-time hand-off followed by an
  // `unknown` segment of that worker, as at the start of a wait (the product's paths).
  bool unknown_before_waker = false;
};

// A horizontal piece of the path: `worker` spent [ts, ts + dur) in `state`. A hand-off that takes
// time (a network message in flight, a wake-up issued before the wait began) is a segment of the
// worker it hands to, with the hand-off's state. In order, the segments tile [start_ts, end_ts).
struct PathSegment {
  uint64_t ts = 0, dur = 0;
  WorkerKey worker;
  EdgeState state = EdgeState::unknown;
  std::string qualifier;
};

// A hand-off from one worker to another (a vertical edge of the path), leaving at `ts`.
struct PathLink {
  uint64_t ts = 0, to_ts = 0;
  WorkerKey from, to;
  EdgeState state = EdgeState::deflt;
  std::string qualifier;
};

struct CriticalPath {
  // The path as a graph (Trace Compass's result): only the workers it visits, with the input's
  // keys and names; horizontal edges carry each interval's reason, vertical ones the hand-offs.
  ExecGraph graph;
  uint64_t start_ts = 0, end_ts = 0;
  std::vector<PathSegment> segments;
  std::vector<PathLink> links;
  // What could not be resolved or had to be repaired, one sentence each; empty when none. At
  // most kMaxDiagnostics; `more_diagnostics` counts the others.
  std::vector<std::string> diagnostics;
  uint64_t more_diagnostics = 0;
  static constexpr size_t kMaxDiagnostics = 1000;
};

// Takes a path's segments and links as they are found, in order (critical_path_until() with an
// emitter): a long-lived thread's path is written out without being held whole in memory.
class PathEmitter {
 public:
  virtual ~PathEmitter() = default;
  virtual void segment(const PathSegment&) = 0;
  virtual void link(const PathLink&) = 0;
};

// The path of the worker of `start` from `start` on. With `end` (any vertex, only its timestamp
// counts), the path stops before the first edge of the worker that reaches `end`'s timestamp
// (Trace Compass's semantics), else at the worker's tail. A start that is not a vertex of `g`
// gives an empty path and a diagnostic.
CriticalPath critical_path(const ExecGraph& g, VertexId start, VertexId end = kNoVertex,
                           const CriticalPathOptions& options = {});

// As critical_path(), with the end given as a timestamp: the path stops before the first edge of
// the worker whose end is at or after `end_ts` (vm-critical-path's --to).
CriticalPath critical_path_until(const ExecGraph& g, VertexId start, uint64_t end_ts,
                                 const CriticalPathOptions& options = {});
// The same with the segments and links given to `emit` instead of kept in the result (its
// `segments` and `links` stay empty). When `g` is kept in a file (ExecGraph::spill_to), so is the
// path graph, and the memory the path takes stays flat however long it is.
CriticalPath critical_path_until(const ExecGraph& g, VertexId start, uint64_t end_ts,
                                 const CriticalPathOptions& options, PathEmitter& emit);

// The path of a worker from its head to its tail, as Trace Compass's critical path module does.
CriticalPath critical_path_of(const ExecGraph& g, WorkerId worker,
                              const CriticalPathOptions& options = {});

}  // namespace vm::graph
