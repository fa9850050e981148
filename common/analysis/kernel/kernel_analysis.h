// SPDX-License-Identifier: MIT
#pragma once
// The kernel model of every machine (KernelModel): thread states, CPU modes, PID namespaces.
// Tables thread_state, container, container_thread; view thread_delay. In fused runs a guest's
// threads follow the host's state of the vCPU they run on (this analysis relays it).

#include <memory>
#include <vector>

#include "analysis/analysis.h"
#include "kernel/kernel_model.h"
#include "kvm/vcpu_tracker.h"

namespace vm {

class VcpuAnalysis;

// What a running guest thread is while the host says its vCPU is in `state` (unknown: running),
// as a fused run tells the guest's kernel model (KernelModel::on_vcpu_state, VcpuView::host).
// Here rather than beside VcpuView: VcpuState is vm_kvm's, which builds on vm_kernel.
ThreadState guest_thread_state(VcpuState state);

class KernelAnalysis final : public Analysis,
                             public ThreadStateListener,
                             public VcpuStateObserver,
                             public ThreadStateObserver {
 public:
  static const AnalysisInfo info;
  explicit KernelAnalysis(Run& run);

  KernelModel& model(const TracedMachine& machine) { return *models_[machine.index]; }
  // Whether the last event may have changed what its CPU does (then ask model().cpu_status()).
  bool status_changed() const { return status_changed_; }

  void on_machine(TracedMachine& machine) override;
  void on_guest_linked(TracedMachine& guest) override;
  void on_event(TracedMachine& machine, const Event& event) override {
    status_changed_ = model(machine).on_decoded(event);
  }
  void on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t cpu, int64_t count) override;
  void finish_machine(TracedMachine& machine, Timestamp end) override;
  void write(Run& run) override;

  // ThreadStateListener: the thread_state rows.
  void on_thread_interval(const ThreadInterval& interval) override;
  // A fused guest's threads follow the host's state of the vCPU they run on (vcpu_preempted,
  // vmm); an L2 guest's also follow the state of the L1 thread that runs that vCPU.
  void on_vcpu_state(int64_t vm_machine_id, int64_t vcpu_id, Timestamp ts, VcpuState state) override;
  void on_thread_state(int64_t machine_id, int64_t tid, Timestamp ts, ThreadState state) override;
  // One machine's PID namespaces: each thread's level chain (container_thread) and the tree they
  // make (container).
  void add_namespaces(int64_t machine_id, const std::vector<ThreadNamespaces>& threads);

 private:
  Run& run_;
  VcpuAnalysis& vcpus_;
  std::vector<std::unique_ptr<KernelModel>> models_;  // by machine index
  SqliteStatement insert_thread_state_;
  bool status_changed_ = false;
};

}  // namespace vm
