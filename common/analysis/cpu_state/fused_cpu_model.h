// SPDX-License-Identifier: MIT
#pragma once
// The fused per-physical-CPU view (Biancheri; the Incubator's fused/FusedVirtualMachineStateProvider.java), complete from the start of the
// run: for every physical CPU of every top-level host, which machine's code runs there, on which
// vCPU, which thread (in whatever layer), and whether it is inside a VM. A host CPU enters a VM
// at kvm_x86_entry and leaves it at kvm_x86_exit; inside, what runs is the traced guest's current
// thread on that vCPU (recursively, for a nested guest entered by its L1 hypervisor).
//
// Trace Compass's fused analysis discovers the machines incrementally and ignores events until
// every role is known (its oracle shows nothing before t=50 and a stale host until the next
// sched_switch); this model has the whole machine graph from the fuse filter's first pass, so
// it follows the Incubator's complete-model variant (virtual/resources/VirtualMachineAnalysisTest's oracle).

#include <cstdint>
#include <map>
#include <vector>

#include "base/types.h"
#include "kernel/kernel_model.h"
#include "kernel/sched_state.h"

namespace vm {

struct CpuInterval {
  Timestamp ts = 0, dur = 0;
  int64_t pcpu = 0;
  int64_t host_machine_id = 0;  // the physical host whose CPU this is
  int64_t machine_id = 0;       // the machine whose code runs there
  int64_t vcpu_id = kUnknown;   // in a VM: its vCPU
  int64_t tid = kUnknown;       // the running thread of that machine (kUnknown if not traced)
  CpuStatus status = CpuStatus::unknown;  // what that machine's CPU (or vCPU) does
  bool in_vm = false;
};

class CpuListener {
 public:
  virtual ~CpuListener() = default;
  virtual void on_cpu_interval(const CpuInterval& interval) = 0;
};

class FusedCpuModel {
 public:
  explicit FusedCpuModel(CpuListener& listener) : listener_(listener) {}

  // A traced machine (one per trace) and its scheduler state, read for the current thread of each
  // CPU (updated by its owner before each event reaches this model). Returns its layer handle.
  int add_layer(int64_t machine_id, const SchedState& sched);
  // Layer `guest` is the VM `vm_key` (QEMU pid, or vm_key_of_thread(tid), common/kvm/vm_key.h) run by layer `host`.
  void set_guest_of(int guest, int host, int64_t vm_key);
  void set_start(Timestamp ts) { start_ = std::min(start_, ts); }

  // A sched_switch on `cpu`; `status`: what the CPU does after it (KernelModel::cpu_status()).
  void on_switch(int layer, Timestamp ts, int64_t cpu, CpuStatus status);
  // The CPU's status changed (syscall, interrupt) without a switch.
  void on_status(int layer, Timestamp ts, int64_t cpu, CpuStatus status);
  // kvm_x86_entry on `cpu` of `layer`: the VM `vm_key` (machine `vm_machine_id`) runs vCPU
  // `vcpu_id` there until the exit.
  void on_kvm_entry(int layer, Timestamp ts, int64_t cpu, int64_t vm_key, int64_t vm_machine_id, int64_t vcpu_id);
  void on_kvm_exit(int layer, Timestamp ts, int64_t cpu);
  // Lost events: what runs on `cpu` of `layer` is unknown until its next sched_switch.
  void on_lost_events(int layer, Timestamp ts, int64_t cpu);
  void finish(Timestamp end);

 private:
  struct CpuState {
    bool seen = false;  // a CPU shows up in cpu_state from its first event on
    CpuStatus status = CpuStatus::unknown;
    bool in_vm = false;
    int64_t vm_key = kUnknown, vm_machine_id = kUnknown, vcpu_id = kUnknown;
  };
  struct Layer {
    int64_t machine_id = 0;
    const SchedState* sched = nullptr;
    int host = -1;  // the layer running it as a VM
    int64_t vm_key = kUnknown;
    std::vector<CpuState> cpus;
  };
  struct Open {
    bool started = false;
    CpuInterval interval;
  };
  CpuState& cpu_of(int layer, int64_t cpu);
  CpuInterval effective(int layer, int64_t cpu, int depth) const;
  void refresh(Timestamp ts);
  static bool same(const CpuInterval& a, const CpuInterval& b);

  CpuListener& listener_;
  std::vector<Layer> layers_;
  std::map<std::pair<int, int64_t>, Open> open_;  // (top layer, pcpu) -> ongoing interval
  Timestamp start_ = INT64_MAX;
};

}  // namespace vm
