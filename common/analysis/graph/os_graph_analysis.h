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
// threads get the builder's preemption links (a fused run's hosts get them through
// preemption_links_for()).

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "analysis/analysis.h"
#include "analysis/graph/exec_graph.h"
#include "analysis/graph/fused_graph.h"
#include "analysis/graph/host_only_graph.h"
#include "analysis/graph/os_graph_builder.h"
#include "analysis/run.h"
#include "analysis/vcpu/vcpu_analysis.h"

namespace vm::graph {

class OsGraphAnalysis : public Analysis {
 public:
  static const AnalysisInfo info;  // critical_path_tables.cpp: enabled by the run's options
  explicit OsGraphAnalysis(Run& run) : builder_(graph_), run_(run) {
    if (!run.options().graph_spill_dir.empty()) {
      try {
        graph_.spill_to(run.options().graph_spill_dir);
      } catch (const std::runtime_error& error) {
        throw std::runtime_error(std::string(error.what()) +
                                 "; or keep the graph in memory with sink.vm.sqlite's graph-file=false");
      }
    }
    builder_.set_preemption_links([this](int64_t machine, int64_t tid) {
      auto it = preemption_vcpus_.find(machine);
      return it != preemption_vcpus_.end() && it->second(tid);
    });
  }
  // A machine read through the fuse filter may host guests: the fused layer is on, its vCPU
  // tracker (the vCPU analysis, registered before this one) resolves its vCPU threads, and they
  // get the builder's preemption links. Machines read without the fuse filter get the host-only
  // layer instead (host_only()).
  void on_machine(TracedMachine& machine) override;
  void on_event(TracedMachine& machine, const Event& event) override {
    if (fused_) fused_->before_event(machine.id, event);
    builder_.on_event(machine.id, event);
    if (fused_) fused_->after_event(machine.id, event);
  }

  const ExecGraph& graph() const { return graph_; }
  OsGraphBuilder& builder() { return builder_; }

  // The cross-layer layer of a fused run (fused_graph.h), fed around the OS builder once enabled;
  // the caller gives it each host's vCPU resolver (tracker_resolver()). Paths of a fused graph
  // are computed with fused_path_options().
  FusedGraphBuilder& enable_fused() {
    if (!fused_) fused_ = std::make_unique<FusedGraphBuilder>(graph_, builder_);
    return *fused_;
  }
  FusedGraphBuilder* fused() { return fused_.get(); }

  // The builder's preemption links (OsGraphBuilder::set_preemption_links) for the threads of
  // `machine` that `is_vcpu` names: a fused run's hosts (their vCPU threads' preempted time, into
  // which the fused layer's vcpu_preempted links lead); the host-only layer registers its own.
  void preemption_links_for(int64_t machine, std::function<bool(int64_t tid)> is_vcpu) {
    preemption_vcpus_[machine] = std::move(is_vcpu);
  }

  unsigned hooks() const override { return kEventHook | kAfterEventHook; }
  void after_event(TracedMachine& machine, const Event& event) override {
    if (HostOnlyGraph* layer = host_only(machine)) layer->on_event(event);
  }
  void on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t cpu, int64_t) override {
    if (fused_) fused_->on_lost_events(machine.id, begin != kUnknown ? begin : end);
    if (HostOnlyGraph* layer = host_only_layer(machine.id)) layer->on_lost_events(cpu);
  }
  void finish_machine(TracedMachine& machine, Timestamp end) override {
    if (HostOnlyGraph* layer = host_only_layer(machine.id)) layer->finish(end);
  }
  // The host-only layer of a machine (nullptr: fused, or no event yet).
  HostOnlyGraph* host_only_layer(int64_t machine_id) {
    auto it = host_only_.find(machine_id);
    return it == host_only_.end() ? nullptr : it->second.get();
  }

 private:
  // Created after the machine's first event (every analysis has seen on_machine by then); never
  // in a fused run (enable_fused()).
  HostOnlyGraph* host_only(TracedMachine& machine) {
    auto [it, inserted] = host_only_.try_emplace(machine.id);
    if (inserted && !machine.fused && !fused_) {
      it->second = std::make_unique<HostOnlyGraph>(graph_, builder_, machine.id,
                                                   run_.get<VcpuAnalysis>().host(machine).vcpus(), machine.sched());
      HostOnlyGraph* layer = it->second.get();
      preemption_links_for(machine.id, [layer](int64_t tid) { return layer->is_vcpu(tid); });
    }
    return it->second.get();
  }

  ExecGraph graph_;
  OsGraphBuilder builder_;
  std::unique_ptr<FusedGraphBuilder> fused_;
  Run& run_;
  std::unordered_map<int64_t, std::unique_ptr<HostOnlyGraph>> host_only_;  // by machine id
  std::unordered_map<int64_t, std::function<bool(int64_t)>> preemption_vcpus_;  // by machine id
};

}  // namespace vm::graph
