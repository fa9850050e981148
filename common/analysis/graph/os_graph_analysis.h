// SPDX-License-Identifier: MIT
#pragma once
// The OS execution graph as an analysis of the core: every decoded event of every machine goes to
// an OsGraphBuilder (os_graph_builder.h) that fills one ExecGraph for the run. It writes no table
// and is not registered yet (common/analysis/registry.cpp): the critical-path work decides how
// the graph is stored and what is written.
//
// Host-only runs: a machine read without the fuse filter (not `fused`) gets the host-only vCPU
// layer (host_only_graph.h), fed after the builder and after every analysis saw the event (the
// vCPU analysis's tracker says which thread is a vCPU; it must be registered), and its vCPU
// threads get the builder's preemption links.

#include <memory>
#include <unordered_map>

#include "analysis/analysis.h"
#include "analysis/graph/exec_graph.h"
#include "analysis/graph/host_only_graph.h"
#include "analysis/graph/os_graph_builder.h"
#include "analysis/run.h"
#include "analysis/vcpu/vcpu_analysis.h"

namespace vm::graph {

class OsGraphAnalysis : public Analysis {
 public:
  explicit OsGraphAnalysis(Run& run) : builder_(graph_), run_(run) {
    builder_.set_preemption_links([this](int64_t machine, int64_t tid) {
      auto it = host_only_.find(machine);
      return it != host_only_.end() && it->second && it->second->is_vcpu(tid);
    });
  }
  void on_event(TracedMachine& machine, const Event& event) override { builder_.on_event(machine.id, event); }

  const ExecGraph& graph() const { return graph_; }
  OsGraphBuilder& builder() { return builder_; }

  unsigned hooks() const override { return kEventHook | kAfterEventHook; }
  void after_event(TracedMachine& machine, const Event& event) override {
    if (HostOnlyGraph* layer = host_only(machine)) layer->on_event(event);
  }
  void on_lost_events(TracedMachine& machine, Timestamp, Timestamp, int64_t cpu, int64_t) override {
    if (HostOnlyGraph* layer = host_only(machine)) layer->on_lost_events(cpu);
  }
  void finish_machine(TracedMachine& machine, Timestamp end) override {
    if (HostOnlyGraph* layer = host_only(machine)) layer->finish(end);
  }
  // The host-only layer of a machine (nullptr: fused, or no event yet).
  HostOnlyGraph* host_only_layer(int64_t machine_id) {
    auto it = host_only_.find(machine_id);
    return it == host_only_.end() ? nullptr : it->second.get();
  }

 private:
  // Created at the machine's first event (every analysis has seen on_machine by then).
  HostOnlyGraph* host_only(TracedMachine& machine) {
    auto [it, inserted] = host_only_.try_emplace(machine.id);
    if (inserted && !machine.fused)
      it->second = std::make_unique<HostOnlyGraph>(graph_, builder_, machine.id,
                                                   run_.get<VcpuAnalysis>().host(machine).vcpus(), machine.sched());
    return it->second.get();
  }

  ExecGraph graph_;
  OsGraphBuilder builder_;
  Run& run_;
  std::unordered_map<int64_t, std::unique_ptr<HostOnlyGraph>> host_only_;  // by machine id
};

}  // namespace vm::graph
