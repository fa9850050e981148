// SPDX-License-Identifier: MIT
// `nested-events`: what the host (L0) records of VM 1's hypervisor running its nested guest.
//
// KVM emulates VMX for L1 (Linux's arch/x86/kvm/vmx/nested.c; the events of lttng-modules'
// instrumentation/events/arch/x86/kvm/trace.h):
//   - L1 enters L2 with VMRESUME: an exit of L1 (reason 24) on L0, then kvm_x86_nested_vmenter
//     and kvm_x86_entry, after which L2's code runs (kvm.cpp: kvm_entry());
//   - an exit of L2 reaches L0 first: kvm_x86_exit (its reason), kvm_x86_nested_vmexit; L0 either
//     handles it and enters L2 again (the host's own exits while L2 runs: its interrupts, its time
//     slices, random exits), or reflects it to L1: kvm_x86_nested_vmexit_inject, then an entry
//     into L1, which then records the exit of its nested guest's vCPU (every exit L1 records).
// The model's L1 CPU (a guest CPU of VM 1) runs an L2 vCPU thread in guest mode exactly while L2
// code runs on it; its host vCPU thread's `layer` follows.

#include "sim/model_impl.h"
#include "sim/vmx.h"

namespace vm {

using namespace sim;

// True when `v`, a vCPU thread, runs (or would run on entry) its VM's nested guest: its guest
// CPU's current thread is a vCPU thread of that VM in guest mode.
bool ScenarioModel::Impl::runs_l2(const Thread& v) const {
  if (v.kind != Kind::vcpu || v.child_cpu < 0) return false;
  const Cpu& guest = cpus[static_cast<size_t>(v.child_cpu)];
  const Thread& current = threads[static_cast<size_t>(guest.current)];
  return current.kind == Kind::vcpu && current.in_guest;
}

// L1 on its CPU `l1_cpu` executed VMRESUME at `t` (after its kvm_x86_entry): L0 takes the exit;
// its next entry of that vCPU enters L2 (kvm_entry()).
void ScenarioModel::Impl::l1_enters_l2(Cpu& l1_cpu, int64_t t) {
  Thread& h = th(l1_cpu.vcpu_thread);
  Cpu& host_cpu = cpu_of(h);
  h.vmresume = true;
  kvm_exit(host_cpu, h, t + 1, kExitVmresume);
  reschedule(host_cpu);
}

// L2 exits for `reason` at `t` while running on L1's CPU `l1_cpu`: L0's exit, its reflection to
// L1 and its entry into L1, which resumes the L1 CPU (without its pending-interrupt processing:
// nothing became pending meanwhile). Returns the time from which L1 records the exit.
int64_t ScenarioModel::Impl::reflect_exit(Cpu& l1_cpu, int64_t t, int64_t reason) {
  Thread& h = th(l1_cpu.vcpu_thread);
  Cpu& host_cpu = cpu_of(h);
  int64_t at = kvm_exit(host_cpu, h, t, reason, true) + 300;
  emit_kvm_nested_vmexit_inject(host_cpu, at, h, reason, 0, 0, 0, 0, 1);
  at += between(500, 1'500);
  enter_guest_mode(host_cpu, h, at, 1);
  l1_cpu.running = true;
  l1_cpu.resumed_at = at + 1;
  l1_cpu.busy_until = std::max(l1_cpu.busy_until, at + 1);
  reschedule(host_cpu);
  return at + 2;
}

}  // namespace vm
