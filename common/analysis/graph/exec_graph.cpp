// SPDX-License-Identifier: MIT
#include "analysis/graph/exec_graph.h"

#include <stdexcept>

namespace vm::graph {

std::string_view edge_state_name(EdgeState s) {
  switch (s) {
    case EdgeState::no_edge: return "no_edge";
    case EdgeState::eps: return "eps";
    case EdgeState::unknown: return "unknown";
    case EdgeState::deflt: return "default";
    case EdgeState::running: return "running";
    case EdgeState::blocked: return "blocked";
    case EdgeState::interrupted: return "interrupted";
    case EdgeState::preempted: return "preempted";
    case EdgeState::timer: return "timer";
    case EdgeState::network: return "network";
    case EdgeState::user_input: return "user_input";
    case EdgeState::block_device: return "block_device";
    case EdgeState::ipi: return "ipi";
    case EdgeState::vcpu_preempted: return "vcpu_preempted";
    case EdgeState::vmm: return "vmm";
    case EdgeState::vcpu_halted: return "vcpu_halted";
  }
  return "unknown";
}

ExecGraph::ExecGraph() { qualifiers_.emplace_back(); }

void ExecGraph::spill_to(const std::string& dir) {
  if (!vertices_.empty() || !edges_.empty()) throw std::logic_error("ExecGraph::spill_to: the graph is not empty");
  // Room for 2^30 vertices (32 GiB of addresses) and 2^31 edges (32 GiB): about a billion
  // events. Addresses, not memory; the ids themselves are 32-bit.
  vertices_.spill_to(dir, size_t{1} << 30);
  try {
    edges_.spill_to(dir, size_t{1} << 31);
  } catch (...) {
    vertices_ = SpillArray<Vertex>();  // empty: back in memory, as before the call
    throw;
  }
  spill_dir_ = dir;
}

WorkerId ExecGraph::worker(const WorkerKey& key, std::string_view name) {
  auto [it, inserted] = worker_index_.try_emplace(key, static_cast<WorkerId>(workers_.size()));
  if (inserted) workers_.push_back(Worker{key, std::string(name), kNoVertex, kNoVertex});
  else if (!name.empty()) workers_[it->second].name.assign(name);
  return it->second;
}

const WorkerId* ExecGraph::find_worker(const WorkerKey& key) const {
  auto it = worker_index_.find(key);
  return it == worker_index_.end() ? nullptr : &it->second;
}

uint32_t ExecGraph::intern(std::string_view q) {
  if (q.empty()) return 0;
  auto [it, inserted] = qualifier_index_.try_emplace(std::string(q), static_cast<uint32_t>(qualifiers_.size()));
  if (inserted) qualifiers_.emplace_back(q);
  return it->second;
}

// A vertex at the worker's tail (ts >= the tail's): *added is false when ts is the tail's own
// timestamp, and the tail is returned.
VertexId ExecGraph::push_vertex(WorkerId w, uint64_t ts, bool* added) {
  Worker& worker = workers_.at(w);
  *added = false;
  if (worker.tail != kNoVertex) {
    uint64_t tail_ts = vertices_[worker.tail].ts;
    if (ts == tail_ts) return worker.tail;
    if (ts < tail_ts) throw std::logic_error("execution graph: a vertex before its worker's tail");
  }
  VertexId v = static_cast<VertexId>(vertices_.size());
  vertices_.push_back(Vertex{ts, w});
  if (v % kReleaseEvery == 0) release();
  if (worker.head == kNoVertex) worker.head = v;
  worker.tail = v;
  *added = true;
  return v;
}

uint32_t ExecGraph::push_edge(VertexId from, VertexId to, EdgeState state, std::string_view qualifier) {
  uint32_t e = static_cast<uint32_t>(edges_.size());
  edges_.push_back(Edge{from, to, state, intern(qualifier)});
  if (e % kReleaseEvery == 0) release();
  return e;
}

VertexId ExecGraph::add(WorkerId w, uint64_t ts) {
  VertexId prev = workers_.at(w).tail;
  bool added = false;
  VertexId v = push_vertex(w, ts, &added);
  if (added && prev != kNoVertex) gap_next_.emplace(prev, v);
  return v;
}

VertexId ExecGraph::append(WorkerId w, uint64_t ts, EdgeState state, std::string_view qualifier) {
  VertexId prev = workers_.at(w).tail;
  bool added = false;
  VertexId v = push_vertex(w, ts, &added);
  if (!added || prev == kNoVertex) return v;  // the tail's own timestamp, or the first vertex
  uint32_t e = push_edge(prev, v, state, qualifier);
  vertices_[prev].out_h = e;
  vertices_[v].in_h = e;
  return v;
}

VertexId ExecGraph::append_eps(WorkerId w) {
  VertexId prev = workers_.at(w).tail;
  if (prev == kNoVertex) throw std::logic_error("execution graph: an EPS edge from a worker without vertex");
  VertexId v = static_cast<VertexId>(vertices_.size());
  vertices_.push_back(Vertex{vertices_[prev].ts, w});
  if (v % kReleaseEvery == 0) release();
  workers_[w].tail = v;
  uint32_t e = push_edge(prev, v, EdgeState::eps, {});
  vertices_[prev].out_h = e;
  vertices_[v].in_h = e;
  return v;
}

bool ExecGraph::link(VertexId from, VertexId to, EdgeState state, std::string_view qualifier) {
  if (from >= vertices_.size() || to >= vertices_.size())
    throw std::logic_error("execution graph: a link to a vertex that does not exist");
  if (from == to || vertices_[from].out_v != Vertex::kNoEdge || vertices_[to].in_v != Vertex::kNoEdge) {
    ++refused_links_;
    return false;
  }
  uint32_t e = push_edge(from, to, state, qualifier);
  vertices_[from].out_v = e;
  vertices_[to].in_v = e;
  return true;
}

bool ExecGraph::relabel_in_h(VertexId v, EdgeState state, std::string_view qualifier) {
  if (v >= vertices_.size() || vertices_[v].in_h == Vertex::kNoEdge) return false;
  Edge& e = edges_[vertices_[v].in_h];
  e.state = state;
  e.qualifier = intern(qualifier);
  return true;
}

bool ExecGraph::relink(VertexId from, VertexId to, EdgeState state) {
  if (from >= vertices_.size() || to >= vertices_.size())
    throw std::logic_error("execution graph: a link to a vertex that does not exist");
  const uint32_t existing = vertices_[to].in_v;
  const uint32_t from_out = vertices_[from].out_v;
  if (from == to || vertices_[from].ts > vertices_[to].ts ||
      (from_out != Vertex::kNoEdge && from_out != existing)) {
    ++refused_links_;
    return false;
  }
  if (existing == Vertex::kNoEdge) return link(from, to, state);
  Edge& e = edges_[existing];
  vertices_[e.from].out_v = Vertex::kNoEdge;
  e.from = from;
  e.state = state;
  e.qualifier = 0;
  vertices_[from].out_v = existing;
  return true;
}

VertexId ExecGraph::next_vertex(VertexId v) const {
  if (const Edge* e = out_h(v)) return e->to;
  auto it = gap_next_.find(v);
  return it == gap_next_.end() ? kNoVertex : it->second;
}

}  // namespace vm::graph
