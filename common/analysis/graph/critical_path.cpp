// SPDX-License-Identifier: MIT
// The bounded critical path (algorithms.md §7.3). Written from the specification and from
// reading Trace Compass's OSCriticalPathAlgorithm.java, CriticalPathAlgorithmBounded.java and
// AbstractCriticalPathAlgorithm.java (analysis/org.eclipse.tracecompass.analysis.graph.core/
// src/org/eclipse/tracecompass/internal/analysis/graph/core/criticalpath/); see the header for
// where it differs on purpose.
#include "analysis/graph/critical_path.h"

#include <algorithm>
#include <limits>
#include <string_view>

namespace vm::graph {
namespace {

constexpr uint32_t kNoEdge = Vertex::kNoEdge;
constexpr WorkerId kNoWorker = std::numeric_limits<WorkerId>::max();

std::string describe(const WorkerKey& k) {
  std::string s = "machine " + std::to_string(k.machine_id) + " tid " + std::to_string(k.tid);
  if (k.cpu >= 0) s += " cpu " + std::to_string(k.cpu);
  return s;
}

class Algorithm {
 public:
  Algorithm(const ExecGraph& g, const CriticalPathOptions& options, CriticalPath& out, PathEmitter* emit = nullptr)
      : g_(g), opt_(options), out_(out), cp_(out.graph), cp_worker_(g.workers().size(), kNoWorker), emit_(emit) {
    if (g.spilled()) cp_.spill_to(g.spill_dir());
  }

  void run(VertexId start, VertexId end);
  void run_until(VertexId start, uint64_t end_ts);

 private:
  // One blocked interval being resolved: the backward walk of Trace Compass's
  // resolveBlockingBounded(), whose recursion is this explicit stack of frames. Each frame's
  // part of the shared sub_ and dfs_ vectors starts at its base, so a child's result is already
  // in place at the end of its parent's (Trace Compass's subPath.addAll()).
  struct Frame {
    uint64_t bound;         // currentBound's timestamp: the walk stops at or before it
    size_t sub_base, dfs_base;
    VertexId v;             // the walk's vertex (vertexFrom)
    uint32_t pending;       // the blocked incoming edge a child frame is resolving
  };

  uint64_t ts(VertexId v) const { return g_.vertex(v).ts; }
  const Edge& edge(uint32_t e) const { return g_.edges()[e]; }
  std::string_view qualifier(const Edge& e) const { return g_.qualifier(e.qualifier); }
  bool resolved(EdgeState s) const { return (opt_.resolved_states >> static_cast<unsigned>(s)) & 1u; }
  void diag(std::string s) {
    if (out_.diagnostics.size() < CriticalPath::kMaxDiagnostics) out_.diagnostics.push_back(std::move(s));
    else ++out_.more_diagnostics;
  }
  // A spilled graph's pages are given back every so many vertices visited (spill_array.h).
  void visited() {
    if (++visits_ % ExecGraph::kReleaseEveryVisit == 0) {
      g_.release();
      cp_.release();
    }
  }

  VertexId find_incoming(VertexId v) const;
  bool resolve(uint32_t blocking, uint64_t bound);
  bool open(uint32_t blocking, uint64_t bound);
  void child_done(Frame& parent, size_t child_sub_base);
  void append_component(VertexId cur, const std::vector<uint32_t>& links);

  // Building the path graph (Trace Compass's createVertex/add/append/edge on the result).
  WorkerId cp_worker(WorkerId in);
  bool before_tail(WorkerId in, uint64_t ts);
  VertexId place(WorkerId in, uint64_t ts);
  VertexId append(WorkerId in, uint64_t ts, EdgeState s, std::string_view q);
  VertexId copy_link(VertexId anchor, WorkerId to_worker, uint64_t ts, EdgeState s, std::string_view q);

  void flatten();
  void push_segment(uint64_t from, uint64_t to, const WorkerKey& w, EdgeState s, std::string_view q);

  const ExecGraph& g_;
  const CriticalPathOptions& opt_;
  CriticalPath& out_;
  ExecGraph& cp_;
  std::vector<WorkerId> cp_worker_;
  std::vector<uint32_t> sub_;
  uint64_t visits_ = 0;
  PathEmitter* emit_ = nullptr;
  void emit_segment(PathSegment s);
  void emit_link(PathLink l) {
    if (emit_) emit_->link(l);
    else out_.links.push_back(std::move(l));
  }
  std::vector<VertexId> dfs_;
  std::vector<Frame> frames_;
  uint64_t cursor_ = 0;
};

// findIncoming() with the 2015 semantics: from v, the first vertex with an incoming vertical
// edge, following only zero-duration EPS edges forward.
VertexId Algorithm::find_incoming(VertexId v) const {
  for (VertexId c = v;;) {
    const Vertex& x = g_.vertex(c);
    if (x.in_v != kNoEdge) return c;
    if (x.out_h == kNoEdge || edge(x.out_h).state != EdgeState::eps) return kNoVertex;
    c = edge(x.out_h).to;
  }
}

// Pushes the frame of one blocked edge; false when nothing woke it (an empty result).
bool Algorithm::open(uint32_t blocking, uint64_t bound) {
  const Edge& b = edge(blocking);
  VertexId junction = find_incoming(b.to);
  if (junction == kNoVertex) return false;
  uint32_t down = g_.vertex(junction).in_v;
  frames_.push_back(Frame{std::max(bound, ts(b.from)), sub_.size(), dfs_.size(), edge(down).from, kNoEdge});
  sub_.push_back(down);
  return true;
}

// After the child frame resolving parent.pending ended: an unexplained NETWORK edge is kept as
// it is ("let the algorithm stitch this"), an unexplained BLOCKED one adds nothing. The states
// only this project resolves (resolved_states beyond Trace Compass's two, e.g. `preempted` for
// the host-only vCPU paths) are kept like NETWORK: a waker's wait for a CPU after its own wake-up
// has no preemption link to follow and stays `preempted` (not a `default` gap).
void Algorithm::child_done(Frame& parent, size_t child_sub_base) {
  if (sub_.size() == child_sub_base && edge(parent.pending).state != EdgeState::blocked)
    sub_.push_back(parent.pending);
  parent.pending = kNoEdge;
}

// resolveBlockingBounded(blocking, bound): sub_ gets the edges from the wake-up back towards the
// bound, latest first. False when the step budget ran out (sub_ is then empty).
bool Algorithm::resolve(uint32_t blocking, uint64_t bound) {
  sub_.clear();
  dfs_.clear();
  frames_.clear();
  if (!open(blocking, bound)) return true;
  uint64_t steps = 0;
  while (!frames_.empty()) {
    visited();
    if (++steps > opt_.max_steps_per_wait) {
      sub_.clear();
      frames_.clear();
      return false;
    }
    Frame& f = frames_.back();
    bool done = f.v == kNoVertex || ts(f.v) <= f.bound;
    if (!done) {
      VertexId v = f.v;
      const Vertex& x = g_.vertex(v);
      if (x.in_v != kNoEdge && ts(edge(x.in_v).from) <= f.bound) {
        sub_.push_back(x.in_v);  // a link from before the blocking: the walk is over
        done = true;
      } else if (x.in_h != kNoEdge) {
        bool blocks = resolved(edge(x.in_h).state);
        // A waker that was itself running: remember its other incoming link in case of a dead
        // end (Trace Compass's explore stack). Not when it was blocked: that link would be
        // visited twice.
        if (x.in_v != kNoEdge && !blocks) dfs_.push_back(v);
        f.v = edge(x.in_h).from;
        if (!blocks) {
          sub_.push_back(x.in_h);
        } else {
          f.pending = x.in_h;
          size_t base = sub_.size();
          uint64_t child_bound = f.bound;
          if (!open(x.in_h, child_bound)) child_done(f, base);  // `f` is still the top frame
        }
        continue;
      } else {
        if (x.in_v != kNoEdge) dfs_.push_back(v);
        // A dead end: rewind to the latest remembered vertex and take its incoming link.
        if (dfs_.size() > f.dfs_base) {
          VertexId r = dfs_.back();
          dfs_.pop_back();
          while (sub_.size() > f.sub_base && edge(sub_.back()).from != r) sub_.pop_back();
          sub_.push_back(g_.vertex(r).in_v);
          f.v = edge(g_.vertex(r).in_v).from;
          continue;
        }
        done = true;
      }
    }
    if (done) {
      Frame closed = f;
      frames_.pop_back();
      dfs_.resize(closed.dfs_base);
      if (!frames_.empty()) child_done(frames_.back(), closed.sub_base);
    }
  }
  return true;
}

WorkerId Algorithm::cp_worker(WorkerId in) {
  if (cp_worker_[in] == kNoWorker) {
    const Worker& w = g_.workers()[in];
    cp_worker_[in] = cp_.worker(w.key, w.name);
  }
  return cp_worker_[in];
}

bool Algorithm::before_tail(WorkerId in, uint64_t t) {
  VertexId tail = cp_.workers()[cp_worker(in)].tail;
  if (tail == kNoVertex || cp_.vertex(tail).ts <= t) return false;
  diag("critical path: a vertex of " + describe(g_.workers()[in].key) + " at " + std::to_string(t) +
       " is before the path's latest one on that worker (" + std::to_string(cp_.vertex(tail).ts) +
       "): that part of the path is left out");
  return true;
}

VertexId Algorithm::place(WorkerId in, uint64_t t) {
  return before_tail(in, t) ? kNoVertex : cp_.add(cp_worker(in), t);
}

VertexId Algorithm::append(WorkerId in, uint64_t t, EdgeState s, std::string_view q) {
  return before_tail(in, t) ? kNoVertex : cp_.append(cp_worker(in), t, s, q);
}

// copyLink(): the edge from `anchor` to the vertex of `to_worker` at `ts`, horizontal on one
// worker, else vertical; returns the new anchor (the same when it is that vertex already).
VertexId Algorithm::copy_link(VertexId anchor, WorkerId to_worker, uint64_t t, EdgeState s, std::string_view q) {
  WorkerId cw = cp_worker(to_worker);
  // By value: place() adds a vertex, which moves the vertices of a graph held in memory.
  const Vertex a = cp_.vertex(anchor);
  if (a.worker == cw) return a.ts == t ? anchor : append(to_worker, t, s, q);
  VertexId to = place(to_worker, t);
  if (to != kNoVertex && !cp_.link(anchor, to, s, q))
    diag("critical path: a second hand-off at " + std::to_string(a.ts) + " on " + describe(cp_.worker_of(anchor).key) +
         " or into " + std::to_string(t) + " on " + describe(cp_.worker_of(to).key) + " is left out");
  return to;
}

// appendPathComponent(): glues the resolved links (in time order) to the path's tail on the
// blocked worker.
void Algorithm::append_component(VertexId cur, const std::vector<uint32_t>& links) {
  WorkerId a = g_.vertex(cur).worker;
  if (links.empty()) {
    // Unresolved: the blocked edge itself.
    if (const Edge* next = g_.out_h(cur)) append(a, ts(next->to), next->state, qualifier(*next));
    return;
  }
  VertexId anchor = cp_.workers()[cp_worker(a)].tail;
  const Edge& first = edge(links.front());
  WorkerId src = g_.vertex(first.from).worker;
  if (src != a) {
    VertexId b1 = anchor;
    anchor = place(src, ts(cur));
    if (anchor == kNoVertex) return;
    if (!cp_.link(b1, anchor, EdgeState::deflt))
      diag("critical path: the hand-off at " + std::to_string(ts(cur)) + " from " + describe(g_.workers()[a].key) +
           " is left out (its vertex already has one)");
    // The first link starts after the blocking did: that worker's time before it is unknown.
    if (ts(first.from) > ts(cur)) anchor = append(src, ts(first.from), EdgeState::unknown, {});
  }
  uint32_t prev = kNoEdge;
  for (uint32_t l : links) {
    if (anchor == kNoVertex) return;
    const Edge& e = edge(l);
    if (prev != kNoEdge && edge(prev).to != e.from) {  // not contiguous: a DEFAULT link between
      const WorkerId next = g_.vertex(e.from).worker;
      const uint64_t at = ts(edge(prev).to);
      if (opt_.unknown_before_waker && ts(e.from) > at && g_.vertex(edge(prev).to).worker != next) {
        anchor = copy_link(anchor, next, at, EdgeState::deflt, {});
        if (anchor == kNoVertex) return;
        anchor = append(next, ts(e.from), EdgeState::unknown, {});
      } else {
        anchor = copy_link(anchor, next, std::max(at, ts(e.from)), EdgeState::deflt, qualifier(e));
      }
    }
    if (anchor == kNoVertex) return;
    anchor = copy_link(anchor, g_.vertex(e.to).worker, ts(e.to), e.state, qualifier(e));
    prev = l;
  }
}

void Algorithm::run(VertexId start, VertexId end) {
  if (start >= g_.vertices().size()) {
    diag("critical path: the start vertex " + std::to_string(start) + " is not in the graph");
    return;
  }
  uint64_t end_ts = std::numeric_limits<uint64_t>::max();
  if (end != kNoVertex) {
    if (end < g_.vertices().size()) end_ts = ts(end);
    else diag("critical path: the end vertex " + std::to_string(end) + " is not in the graph: the path goes to the tail");
  }
  run_until(start, end_ts);
}

// The path stops before the first edge of the worker that reaches end_ts.
void Algorithm::run_until(VertexId start, uint64_t end_ts) {
  const WorkerId w = g_.vertex(start).worker;
  const std::string who = describe(g_.workers()[w].key);
  out_.start_ts = ts(start);
  place(w, ts(start));
  VertexId cur = start;
  std::vector<uint32_t> links;
  for (;;) {
    visited();
    uint32_t ei = g_.vertex(cur).out_h;
    if (ei == kNoEdge || edge(ei).state == EdgeState::no_edge) {
      // A gap in the worker's chain (or its tail).
      VertexId next = ei == kNoEdge ? g_.next_vertex(cur) : edge(ei).to;
      if (next == kNoVertex || ts(next) >= end_ts) break;
      if (!opt_.bridge_gaps) {
        diag("critical path: " + who + " has no state from " + std::to_string(ts(cur)) + ": the path stops there");
        break;
      }
      diag("critical path: " + who + " has no state from " + std::to_string(ts(cur)) + " to " +
           std::to_string(ts(next)) + ": unknown on the path");
      append(w, ts(next), EdgeState::unknown, {});
      cur = next;
      continue;
    }
    const Edge& e = edge(ei);
    if (ts(e.to) >= end_ts) break;
    if (resolved(e.state)) {
      if (resolve(ei, ts(e.from))) {
        links.assign(sub_.rbegin(), sub_.rend());
      } else {
        links.clear();
        diag("critical path: the wait of " + who + " from " + std::to_string(ts(e.from)) + " to " +
             std::to_string(ts(e.to)) + " needed more than " + std::to_string(opt_.max_steps_per_wait) +
             " steps to resolve: left unresolved");
      }
      append_component(cur, links);
    } else if (e.state == EdgeState::eps || e.state == EdgeState::deflt) {
      // Trace Compass accepts only zero-duration EPS edges here and rejects DEFAULT ones.
      if (ts(e.to) != ts(e.from)) {
        diag("critical path: " + who + " has a horizontal " + std::string(edge_state_name(e.state)) + " edge from " +
             std::to_string(ts(e.from)) + " to " + std::to_string(ts(e.to)) + ": unknown on the path");
        append(w, ts(e.to), EdgeState::unknown, {});
      }
    } else {
      append(w, ts(e.to), e.state, qualifier(e));
    }
    cur = e.to;
  }
  out_.end_ts = ts(cur);
  flatten();
}

// Adds [from, to) to the flat form, keeping the segments a tiling of [start_ts, ...): a hole
// becomes an unknown segment, an overlap is cut, each with a diagnostic.
void Algorithm::push_segment(uint64_t from, uint64_t to, const WorkerKey& w, EdgeState s, std::string_view q) {
  if (from > cursor_) {
    diag("critical path: nothing on the path from " + std::to_string(cursor_) + " to " + std::to_string(from) +
         ": unknown");
    emit_segment(PathSegment{cursor_, from - cursor_, w, EdgeState::unknown, {}});
    cursor_ = from;
  } else if (from < cursor_) {
    diag("critical path: the segment of " + describe(w) + " from " + std::to_string(from) + " to " +
         std::to_string(to) + " overlaps the path before it: cut at " + std::to_string(cursor_));
    if (to <= cursor_) return;
    from = cursor_;
  }
  emit_segment(PathSegment{from, to - from, w, s, std::string(q)});
  cursor_ = to;
}

// The flat form, from the path graph's edges in creation order (which is time order): each
// horizontal edge is a segment; each vertical one a link, and a segment of the worker it hands to
// when it takes time.
void Algorithm::flatten() {
  cursor_ = out_.start_ts;
  for (const Edge& e : cp_.edges()) {
    visited();
    const Vertex& a = cp_.vertex(e.from);
    const Vertex& b = cp_.vertex(e.to);
    const WorkerKey& to_key = cp_.workers()[b.worker].key;
    std::string_view q = cp_.qualifier(e.qualifier);
    if (a.worker != b.worker)
      emit_link(PathLink{a.ts, b.ts, cp_.workers()[a.worker].key, to_key, e.state, std::string(q)});
    if (b.ts > a.ts) push_segment(a.ts, b.ts, to_key, e.state, q);
    else if (b.ts < a.ts)
      diag("critical path: a hand-off from " + std::to_string(a.ts) + " back to " + std::to_string(b.ts) +
           " is not on the timeline");
  }
  if (cursor_ < out_.end_ts) {  // the path's worker (the path graph's first) until the end
    diag("critical path: nothing on the path from " + std::to_string(cursor_) + " to " +
         std::to_string(out_.end_ts) + ": unknown");
    emit_segment(PathSegment{cursor_, out_.end_ts - cursor_, cp_.workers()[0].key, EdgeState::unknown, {}});
  }
  // emit_segment() cut what went past the end.
  if (cursor_ > out_.end_ts)
    diag("critical path: the path goes past its end (" + std::to_string(out_.end_ts) + "): cut there");
}

// A segment of the flat form, cut at the path's end (they come in time order and tile the path,
// so what starts at or after the end is past it).
void Algorithm::emit_segment(PathSegment s) {
  if (s.ts >= out_.end_ts) return;
  if (s.dur > out_.end_ts - s.ts) s.dur = out_.end_ts - s.ts;
  if (emit_) emit_->segment(s);
  else out_.segments.push_back(std::move(s));
}

}  // namespace

CriticalPath critical_path(const ExecGraph& g, VertexId start, VertexId end, const CriticalPathOptions& options) {
  CriticalPath out;
  Algorithm(g, options, out).run(start, end);
  return out;
}

namespace {

// Both forms of critical_path_until(): `emit` null keeps the segments and links in the result.
CriticalPath path_until(const ExecGraph& g, VertexId start, uint64_t end_ts, const CriticalPathOptions& options,
                        PathEmitter* emit) {
  CriticalPath out;
  Algorithm algorithm(g, options, out, emit);
  if (start >= g.vertices().size()) algorithm.run(start, kNoVertex);  // the diagnostic
  else algorithm.run_until(start, end_ts);
  return out;
}

}  // namespace

CriticalPath critical_path_until(const ExecGraph& g, VertexId start, uint64_t end_ts,
                                 const CriticalPathOptions& options) {
  return path_until(g, start, end_ts, options, nullptr);
}

CriticalPath critical_path_until(const ExecGraph& g, VertexId start, uint64_t end_ts,
                                 const CriticalPathOptions& options, PathEmitter& emit) {
  return path_until(g, start, end_ts, options, &emit);
}

CriticalPath critical_path_of(const ExecGraph& g, WorkerId worker, const CriticalPathOptions& options) {
  if (worker >= g.workers().size() || g.workers()[worker].head == kNoVertex) {
    CriticalPath out;
    out.diagnostics.push_back("critical path: worker " + std::to_string(worker) + " has no vertex");
    return out;
  }
  return critical_path(g, g.workers()[worker].head, kNoVertex, options);
}

}  // namespace vm::graph
