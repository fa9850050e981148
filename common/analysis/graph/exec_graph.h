// SPDX-License-Identifier: MIT
#pragma once
// The execution graph: one worker per thread (or per CPU's kernel context), a time-ordered
// chain of vertices per worker joined by horizontal edges, and vertical edges between workers
// (a wake-up, a fork, a packet, a hand-off across layers). The model follows Trace Compass's
// ITmfGraph (analysis/org.eclipse.tracecompass.analysis.graph.core/.../graph/ITmfGraph.java):
// a vertex is (worker, timestamp) and has at most four edges, an incoming and an outgoing one
// in each direction; a horizontal edge carries the state of the interval that ends at its head.
// No babeltrace2 type here: the builders (OS, cross-layer, host-only) and the critical-path
// algorithm work on this type alone.

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analysis/graph/spill_array.h"

namespace vm::graph {

// Trace Compass's OSEdgeContextEnum, in its order, then the cross-layer states of this project.
enum class EdgeState : uint8_t {
  no_edge,
  eps,
  unknown,
  deflt,  // "default"
  running,
  blocked,
  interrupted,
  preempted,
  timer,
  network,
  user_input,
  block_device,
  ipi,
  vcpu_preempted,  // a guest thread "ran" while its vCPU was preempted on the host
  vmm,             // ... while its vCPU was in the hypervisor (qualifier: the exit reason)
  vcpu_halted,     // ... while its vCPU was halted
};

// The lower-case name stored in the database (`default` for deflt).
std::string_view edge_state_name(EdgeState);

// Combines ids read from a trace (any int64 value) into a hash, in unsigned arithmetic.
inline size_t hash_ids(int64_t a, int64_t b, int64_t c = 0) {
  uint64_t h = static_cast<uint64_t>(a) * 1000003u;
  h ^= static_cast<uint64_t>(b) * 31u;
  h ^= static_cast<uint64_t>(c);
  return std::hash<uint64_t>()(h);
}

using WorkerId = uint32_t;
using VertexId = uint32_t;
inline constexpr VertexId kNoVertex = std::numeric_limits<VertexId>::max();

// A worker: a thread of a machine, or (tid < 0) a CPU's kernel context "kernel/<cpu>".
struct WorkerKey {
  int64_t machine_id = 0;
  int64_t tid = 0;
  int64_t cpu = -1;  // set for kernel workers and for tid 0 (one swapper per CPU), else -1
  bool operator==(const WorkerKey& o) const {
    return machine_id == o.machine_id && tid == o.tid && cpu == o.cpu;
  }
};

struct Worker {
  WorkerKey key;
  std::string name;
  VertexId head = kNoVertex, tail = kNoVertex;
};

struct Edge {
  VertexId from = kNoVertex, to = kNoVertex;
  EdgeState state = EdgeState::no_edge;
  uint32_t qualifier = 0;  // index into ExecGraph::qualifiers(); 0 = none
};

struct Vertex {
  uint64_t ts = 0;
  WorkerId worker = 0;
  // Edge indexes into ExecGraph::edges(); kNoEdge when absent.
  uint32_t out_h = kNoEdge, in_h = kNoEdge, out_v = kNoEdge, in_v = kNoEdge;
  static constexpr uint32_t kNoEdge = std::numeric_limits<uint32_t>::max();
};

class ExecGraph {
 public:
  ExecGraph();

  // The worker of `key`, created on first use (its name is set, or renamed when non-empty).
  WorkerId worker(const WorkerKey& key, std::string_view name = {});
  const WorkerId* find_worker(const WorkerKey& key) const;

  // Adds a vertex at the worker's tail with a horizontal edge of `state` from the previous
  // tail. A vertex at the tail's timestamp is not added: the tail is returned (Trace Compass's
  // append() returns null there). Timestamps before the tail's are a caller error and throw.
  VertexId append(WorkerId, uint64_t ts, EdgeState state, std::string_view qualifier = {});
  // Adds a vertex at the tail without an edge (a gap: no state is known before it). A vertex
  // at the tail's timestamp is not added: the tail is returned (Trace Compass's HT graph add()).
  VertexId add(WorkerId, uint64_t ts);
  // Adds a vertex at the tail's own timestamp joined to it by a zero-duration EPS edge: the only
  // way to get two vertices of one worker at one timestamp (e.g. two wake-ups of a thread at the
  // same instant, each with its incoming vertical edge). The critical path's findIncoming follows
  // EPS chains (algorithms.md §7.3). Throws when the worker has no vertex yet.
  VertexId append_eps(WorkerId);
  // A vertical edge between two vertices, also of the same worker (Trace Compass's
  // edgeVertical(); GraphFactory's wakeup_self has one). A vertex has at most one incoming and
  // one outgoing vertical edge: a link whose `from` already has an outgoing one or whose `to`
  // already has an incoming one, or from a vertex to itself, is refused (false; counted in
  // refused_links()) and the graph is unchanged. Vertices that do not exist throw.
  bool link(VertexId from, VertexId to, EdgeState state = EdgeState::deflt,
            std::string_view qualifier = {});
  // Links refused by link() so far (the builder reports them: never dropped silently).
  uint64_t refused_links() const { return refused_links_; }

  // ---- For the layered builders: refining, after the fact, what a builder said ----
  // (The host-only vCPU edges, common/analysis/graph/host_only_graph.h: a halt's cause is known
  // only at the vCPU's next entry, after the OS builder labelled the wake-up.)
  // Sets the state and qualifier of the horizontal edge that ends at `v`; false when it has none.
  bool relabel_in_h(VertexId v, EdgeState state, std::string_view qualifier = {});
  // Makes `from` the origin of the vertical edge that ends at `to`, with `state` (the edge that
  // ended there before, if any, now leaves `from`; else one is added). Refused (false, counted
  // in refused_links(), graph unchanged) when `from` is `to`, is later than `to`, or already has
  // another outgoing vertical edge. Vertices that do not exist throw.
  bool relink(VertexId from, VertexId to, EdgeState state);

  // The vertex after `v` on its worker: the end of its outgoing horizontal edge, else the vertex
  // add()ed after it across a gap, else kNoVertex (v is its worker's tail).
  VertexId next_vertex(VertexId v) const;

  const Vertex& vertex(VertexId v) const { return vertices_[v]; }
  const Worker& worker_of(VertexId v) const { return workers_[vertices_[v].worker]; }
  const std::vector<Worker>& workers() const { return workers_; }
  const SpillArray<Vertex>& vertices() const { return vertices_; }
  const SpillArray<Edge>& edges() const { return edges_; }

  // ---- Memory (spill_array.h) ----
  // Keeps the vertices and edges in unnamed temporary files of `dir` from now on, so that a long
  // run's graph is not held in memory: the graph gives their pages back to the kernel every
  // kReleaseEvery vertices or edges it adds, and readers that visit much of it call release()
  // as often. Only on an empty graph (std::logic_error otherwise). Throws std::runtime_error
  // naming the directory and the reason, and the graph stays in memory.
  void spill_to(const std::string& dir);
  bool spilled() const { return vertices_.spilled(); }
  const std::string& spill_dir() const { return spill_dir_; }
  void release() const {
    vertices_.release();
    edges_.release();
  }
  static constexpr uint32_t kReleaseEvery = uint32_t{1} << 15;
  // Readers that jump around (the critical path's backward walks) touch a page, and the kernel
  // maps its neighbours too, at nearly every step: they release far more often.
  static constexpr uint32_t kReleaseEveryVisit = uint32_t{1} << 13;
  std::string_view qualifier(uint32_t q) const { return qualifiers_[q]; }

  // The edges of a vertex, or nullptr.
  const Edge* out_h(VertexId v) const { return edge_at(vertices_[v].out_h); }
  const Edge* in_h(VertexId v) const { return edge_at(vertices_[v].in_h); }
  const Edge* out_v(VertexId v) const { return edge_at(vertices_[v].out_v); }
  const Edge* in_v(VertexId v) const { return edge_at(vertices_[v].in_v); }

 private:
  struct KeyHash {
    size_t operator()(const WorkerKey& k) const {
      return hash_ids(k.machine_id, k.tid, k.cpu);
    }
  };
  const Edge* edge_at(uint32_t e) const { return e == Vertex::kNoEdge ? nullptr : &edges_[e]; }
  uint32_t intern(std::string_view q);

  std::vector<Worker> workers_;
  std::unordered_map<WorkerKey, WorkerId, KeyHash> worker_index_;
  SpillArray<Vertex> vertices_;
  SpillArray<Edge> edges_;
  std::vector<std::string> qualifiers_;
  std::unordered_map<std::string, uint32_t> qualifier_index_;
  // The vertex before a gap -> the vertex add()ed after it (only gaps are stored).
  std::unordered_map<VertexId, VertexId> gap_next_;
  uint64_t refused_links_ = 0;
  std::string spill_dir_;
  VertexId push_vertex(WorkerId, uint64_t ts, bool* added);
  uint32_t push_edge(VertexId from, VertexId to, EdgeState, std::string_view qualifier);
};

}  // namespace vm::graph
