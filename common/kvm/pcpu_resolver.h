// SPDX-License-Identifier: MIT
#pragma once
// The physical CPU under a guest's CPU. A guest's CPU v is its VM's vCPU v, run on its host by one
// thread; that thread runs on one of the host's CPUs at a time, which, when the host is itself a
// guest (L1), is again a vCPU, down to the machine with no parent (L0). Fed with each host's
// scheduler switches and vCPU entries in time order, it answers "which L0 CPU runs CPU c of
// machine m now" (kUnknown when a vCPU thread is off CPU or not known). It follows the vCPU
// threads only; the current thread of each CPU is the caller's SchedState
// (common/kernel/sched_state.h), which resolves the thread of an entry without tid context.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "base/types.h"

namespace vm {

class PcpuResolver {
 public:
  // Machine `machine` runs on `parent` (-1: on bare metal), as its VM of key `vm_key` (the QEMU
  // pid, or vm_key_of_thread()).
  void set_machine(int machine, int parent, int64_t vm_key);
  // On host `host`, vCPU `vcpu_id` of VM `vm_key` is thread `host_tid`.
  void add_vcpu(int host, int64_t vm_key, int64_t vcpu_id, int64_t host_tid);
  size_t size() const { return machines_.size(); }
  struct VcpuThread {
    int64_t vm_key, vcpu_id, host_tid;
  };
  // Every vCPU thread of host `host`, as added.
  const std::vector<VcpuThread>& vcpu_threads(int host) const;
  // Whether `machine` runs vCPU threads (only those machines' scheduling is followed).
  bool runs_vcpus(int machine) const {
    return machine >= 0 && static_cast<size_t>(machine) < machines_.size() &&
           !machines_[static_cast<size_t>(machine)].vcpu_cpu.empty();
  }

  // Host `machine`'s scheduler on `cpu`: `prev_tid` leaves it, `next_tid` runs.
  void on_sched_switch(int machine, int64_t cpu, int64_t prev_tid, int64_t next_tid);
  // A vCPU entry (kvm_entry) on `cpu` of `machine` by thread `tid` (SchedState::thread_of()).
  void on_vcpu_entry(int machine, int64_t cpu, int64_t tid);

  // The L0 CPU under CPU `cpu` of `machine` (itself when the machine has no parent).
  int64_t physical_cpu(int machine, int64_t cpu) const;

 private:
  struct Machine {
    int parent = -1;
    int64_t vm_key = kUnknown;
    std::unordered_map<int64_t, int64_t> vcpu_cpu;      // its vCPU threads -> CPU they run on (kUnknown: off CPU)
    std::unordered_map<uint64_t, int64_t> vcpu_thread;  // (VM key, vCPU index) -> thread
    std::vector<VcpuThread> threads;                     // as added
  };
  Machine& machine(int index);
  static uint64_t vcpu_key(int64_t vm_key, int64_t vcpu);

  std::vector<Machine> machines_;
};

}  // namespace vm
