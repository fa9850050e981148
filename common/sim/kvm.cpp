// SPDX-License-Identifier: MIT
// KVM on a machine that runs VMs: a vCPU thread's exits, entries and interrupt injection.

#include "sim/model_impl.h"
#include "sim/vmx.h"

namespace vm {

using namespace sim;

int64_t ScenarioModel::Impl::exit_handling(int64_t reason) {
  switch (reason) {
    case kExitIo: return between(15'000, 60'000);
    case kExitEptViolation: return between(2'000, 8'000);
    case kExitEptMisconfig: return between(3'000, 10'000);
    case kExitHlt: return between(1'500, 3'000);
    default: return between(800, 2'500);
  }
}

int64_t ScenarioModel::Impl::random_exit_reason() {
  const double u = uniform();
  if (!exit_mix.empty()) {
    const double x = u * exit_mix.back().second;
    for (const auto& [reason, cumulative] : exit_mix)
      if (x < cumulative) return reason;
    return exit_mix.back().first;
  }
  if (u < 0.30) return kExitEptViolation;
  if (u < 0.50) return kExitIo;
  if (u < 0.70) return kExitMsrWrite;
  if (u < 0.80) return kExitCpuid;
  if (u < 0.90) return kExitApicAccess;
  return kExitEptMisconfig;
}

// The vCPU thread `v`, in guest mode on `cpu`, exits for `reason` (at `t_req` or as soon as
// its guest CPU finished what it was recording). Returns the exit's time.
// `reflected`: an exit of the nested guest that L0 reflects to L1 (`nested-events`): L1 handles it,
// never QEMU. An L1 (a guest CPU) records its nested guest's exits only after L0 reflected them.
int64_t ScenarioModel::Impl::kvm_exit(Cpu& cpu, Thread& v, int64_t t_req, int64_t reason, bool reflected) {
  if (config.nested_events && is_guest_cpu(cpu) && th(cpu.vcpu_thread).in_guest)
    t_req = reflect_exit(cpu, t_req, reason);
  Cpu& guest = cpus[static_cast<size_t>(v.child_cpu)];
  const bool l2_exit = config.nested_events && runs_l2(v) && !v.vmresume;
  v.handled_layer = l2_exit ? 2 : 1;
  v.handled_to = l2_exit ? (reflected ? "L1" : "L0") : nullptr;
  const int64_t te = std::max({t_req, deep_busy(guest) + 1, cpu.busy_until});
  stop(guest, te);
  const bool vmx_info = reason == kExitEptViolation || reason == kExitEptMisconfig;
  const int64_t guest_rip = kernel_rip();  // before info2's random part: the draws keep their order
  const int64_t info2 = vmx_info ? 0x7f000000 + between(0, 0xffff) : 0;
  emit_kvm_exit(cpu, te, v, reason, guest_rip, 1, vmx_info ? 0x181 : 0, info2,
                reason == kExitExternalInterrupt ? 0x800000ec : 0, 0, guest.index);
  if (l2_exit) emit_kvm_nested_vmexit(cpu, te + 150, v, guest_rip, reason, 0, info2, 0, 0, 1);
  v.in_guest = false;
  v.last_exit_reason = reason;
  set_truth(v, te, "vmm", cpu.index, -1, reason);
  v.phase_end_rt = rt(cpu, te) + exit_handling(reason);
  if (reason == kExitIo && !reflected) {
    v.io_pending = true;
    emit_syscall_exit_ioctl(cpu, te + 300, v, 0, 0);
  }
  update_cpu_truth(cpu, te);
  return te;
}

void ScenarioModel::Impl::kvm_entry(Cpu& cpu, Thread& v, int64_t t) {
  Cpu& guest = cpus[static_cast<size_t>(v.child_cpu)];
  if (v.io_pending) {
    v.io_pending = false;
    emit_syscall_entry_ioctl(cpu, t, v, v.pid % 64 + 10, 0xae80 /* KVM_RUN */, 0);
    t += 500;
  }
  if (guest.pending_irq) {
    emit_kvm_inj_virq(cpu, t, v, kTimerVector, 0, 0);
    t += 400;
  }
  int64_t first = guest.pending_irq ? kTimerVector : -1;
  if (guest.pending_ipi) {
    if (first < 0) first = kReschedVector;
    emit_kvm_inj_virq(cpu, t, v, kReschedVector, 0, 0);
    t += 400;
  }
  for (int d = 0; d < 2; ++d)
    if (guest.pending_dev & (1u << d)) {
      if (first < 0) first = kDevices[d].vector;
      emit_kvm_inj_virq(cpu, t, v, kDevices[d].vector, 0, 0);
      t += 400;
    }
  if (v.halt_open) close_halt(v, t, first, guest);
  if (config.nested_events && v.vmresume && runs_l2(v)) {
    // L0 emulates L1's VMRESUME (Linux's arch/x86/kvm/vmx/nested.c): the nested entry.
    emit_kvm_nested_vmenter(cpu, t, v, kernel_rip(), 0x1000 * (v.tid % 4096), kernel_rip(), 0, 0, 1, 1);
    t += 300;
  }
  v.vmresume = false;
  enter_guest_mode(cpu, v, t, config.nested_events && runs_l2(v) ? 2 : 1);
  if (config.nested_events && is_guest_cpu(cpu))
    l1_enters_l2(cpu, t);  // the nested guest runs once L0 emulated this VMRESUME
  else
    resume(guest, t + 1);
}

void ScenarioModel::Impl::enter_guest_mode(Cpu& cpu, Thread& v, int64_t t, int8_t layer) {
  const Cpu& guest = cpus[static_cast<size_t>(v.child_cpu)];
  v.layer = layer;
  emit_kvm_entry(cpu, t, v, guest.index, kernel_rip(), 0);
  v.in_guest = true;
  set_truth(v, t, "guest", cpu.index, -1, -1);
  v.phase_end_rt = rt(cpu, t) + exponential(1e9 / config.exit_rate);
  update_cpu_truth(cpu, t);
}

// An interrupt became pending on the guest CPU `cpu` at `t`: a running vCPU exits for
// `reason`, a sleeping vCPU thread wakes. Otherwise the vCPU thread waits for its CPU or is in
// the hypervisor: the interrupt is injected at its next entry.
void ScenarioModel::Impl::kick(Cpu& cpu, int64_t t, int64_t reason) {
  Thread& v = th(cpu.vcpu_thread);
  Cpu& parent = cpu_of(v);
  if (cpu.running) {
    kvm_exit(parent, v, std::max(t, parent.busy_until), reason);
    v.phase_end_rt = rt(parent, parent.busy_until) + between(800, 2'000);
    reschedule(parent);
  } else if (v.state == State::sleeping) {
    v.wake_at = std::min(v.wake_at, t);
    raise_timer(parent, t);
  } else if (v.polling && v.state == State::running) {
    v.phase_end_rt = std::min(v.phase_end_rt, rt(parent, std::max(t, parent.busy_until)) + between(300, 1'000));
    reschedule(parent);
  }
}

// The halted vCPU thread `v` polled until now: without a pending interrupt it sleeps. True when
// it did.
bool ScenarioModel::Impl::poll_done(Cpu& cpu, Thread& v, int64_t t) {
  v.polling = false;
  if (has_pending(cpus[static_cast<size_t>(v.child_cpu)])) return false;
  switch_next(cpu, t, kInterruptible);
  v.wake_at = kNever;
  return true;
}

// The guest CPU `cpu` has nothing to run: HLT, and its vCPU thread sleeps.
void ScenarioModel::Impl::halt(Cpu& cpu, int64_t t) {
  Thread& v = th(cpu.vcpu_thread);
  Cpu& parent = cpu_of(v);
  const int64_t te = kvm_exit(parent, v, t, kExitHlt);
  open_halt(v, te);
  if (!has_pending(cpu) && config.wake_causes && uniform() < 0.3) {
    // KVM's halt polling (virt/kvm/kvm_main.c, halt_poll_ns): the thread polls for a wake before
    // it sleeps (poll_done()).
    v.polling = true;
    v.phase_end_rt = rt(parent, te) + between(20'000, 200'000);
  } else if (!has_pending(cpu)) {
    const int64_t ts = std::max(te + 1'200, parent.busy_until);
    v.phase_end_rt = rt(parent, ts);
    switch_next(parent, ts, kInterruptible);
    v.wake_at = kNever;
  }
  reschedule(parent);
}

}  // namespace vm
