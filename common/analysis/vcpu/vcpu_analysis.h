// SPDX-License-Identifier: MIT
#pragma once
// The vCPU analysis of every machine that runs VMs (HostAnalysis, VcpuTracker): the vcpu,
// vcpu_state and thread tables and the views over them (exit_stats, preemption).

#include <memory>
#include <vector>

#include "analysis/analysis.h"
#include "kvm/host_analysis.h"

namespace vm {

class RunTables;

class VcpuAnalysis final : public Analysis, public VcpuListener {
 public:
  static const AnalysisInfo info;
  explicit VcpuAnalysis(Run& run);

  HostAnalysis& host(const TracedMachine& machine) { return *hosts_[machine.index]; }
  // Tells every machine's vCPU state changes to `observer` (fused runs: the guests' kernels).
  void set_observer(VcpuStateObserver* observer);

  void on_machine(TracedMachine& machine) override;
  void on_guest_linked(TracedMachine& guest) override;
  unsigned hooks() const override { return kContextHook | kEventHook | kAfterEventHook; }
  void on_context(TracedMachine& machine, const EventContext& ctx) override { host(machine).on_event(ctx); }
  void on_event(TracedMachine& machine, const Event& event) override { host(machine).on_decoded(event); }
  void after_event(TracedMachine& machine, const Event& event) override;
  void on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t cpu, int64_t count) override;
  void finish_machine(TracedMachine& machine, Timestamp end) override;
  void write(Run& run) override;

  // VcpuListener: the vcpu_state rows, and the tracker's diagnostics.
  void on_vcpu_interval(const VcpuInterval& interval) override;
  void on_diagnostic(const std::string& message) override;
  // The vcpu rows of one machine's VMs.
  void add_vcpus(const std::vector<VcpuRecord>& vcpus);
  void add_threads(int64_t machine_id, const SchedState& threads);
  void add_nested_guest(int64_t vm);

 private:
  Run& run_;
  RunTables* run_tables_;
  VcpuStateObserver* observer_ = nullptr;
  std::vector<std::unique_ptr<HostAnalysis>> hosts_;  // by machine index
  SqliteStatement insert_vcpu_state_;
};

}  // namespace vm
