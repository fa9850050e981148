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

VertexId ExecGraph::add(WorkerId w, uint64_t ts) {
  Worker& worker = workers_.at(w);
  if (worker.tail != kNoVertex) {
    uint64_t tail_ts = vertices_[worker.tail].ts;
    if (ts == tail_ts) return worker.tail;
    if (ts < tail_ts) throw std::logic_error("execution graph: a vertex before its worker's tail");
  }
  VertexId v = static_cast<VertexId>(vertices_.size());
  vertices_.push_back(Vertex{ts, w});
  if (worker.head == kNoVertex) worker.head = v;
  worker.tail = v;
  return v;
}

VertexId ExecGraph::append(WorkerId w, uint64_t ts, EdgeState state, std::string_view qualifier) {
  VertexId prev = workers_.at(w).tail;
  VertexId v = add(w, ts);
  if (prev == kNoVertex || v == prev) return v;
  uint32_t e = static_cast<uint32_t>(edges_.size());
  edges_.push_back(Edge{prev, v, state, intern(qualifier)});
  vertices_[prev].out_h = e;
  vertices_[v].in_h = e;
  return v;
}

void ExecGraph::link(VertexId from, VertexId to, EdgeState state, std::string_view qualifier) {
  if (from >= vertices_.size() || to >= vertices_.size())
    throw std::logic_error("execution graph: a link to a vertex that does not exist");
  uint32_t e = static_cast<uint32_t>(edges_.size());
  edges_.push_back(Edge{from, to, state, intern(qualifier)});
  vertices_[from].out_v = e;
  vertices_[to].in_v = e;
}

}  // namespace vm::graph
