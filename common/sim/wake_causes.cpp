// SPDX-License-Identifier: MIT
// `wake-causes`: where the wakes of halted vCPUs come from, as KVM's host records them (the
// signals Nemati's host-only wait analysis reads; KVM's arch/x86/kvm/lapic.c and irq_comm.c):
//   - a guest worker wakes a sleeping worker of another vCPU: the guest's remote wakeup, then a
//     reschedule IPI (its x2APIC ICR write exits, kvm_x86_apic_ipi and kvm_x86_apic_accept_irq in
//     the sender's vCPU thread, which wakes the target's sleeping vCPU thread), or one time in four
//     a paravirtual kick of a sleeping target (KVM_HC_KICK_CPU: a VMCALL exit and the wakeup,
//     nothing injected);
//   - a VM's device interrupt is signalled by a host thread of its parent (kvm_msi_set_irq and
//     kvm_x86_apic_accept_irq), which wakes the target's sleeping vCPU thread: QEMU's iothread
//     ("IO iothread0") for the disk, the vhost worker ("vhost-<QEMU pid>") for the network.

#include "sim/model_impl.h"
#include "sim/vmx.h"

namespace vm {

using namespace sim;

// The signalling threads of `guest`'s devices, on its parent `host`.
void ScenarioModel::Impl::add_raisers(int host, int guest) {
  const int64_t pid = machines[static_cast<size_t>(guest)].info.qemu_pid;
  const int base = machines[static_cast<size_t>(host)].cpu_base;
  const int ncpus = machines[static_cast<size_t>(host)].info.cpus;
  const int io = add_thread(host, static_cast<int>(pid + 80), static_cast<int>(pid), 1, "IO iothread0",
                            base + guest % ncpus, Kind::raiser);
  const int vhost = add_thread(host, static_cast<int>(pid + 90), static_cast<int>(pid + 90), 2,
                               "vhost-" + std::to_string(pid), base + (guest + 1) % ncpus, Kind::raiser);
  for (int id : {io, vhost}) {
    th(id).state = State::sleeping;
    th(id).served_machine = guest;
  }
  machines[static_cast<size_t>(guest)].raiser[0] = io;
  machines[static_cast<size_t>(guest)].raiser[1] = vhost;
}

// The thread `waker`, running on `cpu` (task context), wakes the sleeping thread `id` at `t`.
// Returns the time after the wakeup.
int64_t ScenarioModel::Impl::remote_wake(Cpu& cpu, int64_t t, const Thread& waker, int id) {
  Thread& w = th(id);
  Cpu& home = cpu_of(w);
  t = std::max(t, home.busy_until);  // after its switch out
  emit_sched_waking(cpu, t, waker, w.comm.c_str(), w.tid, w.prio + 100, home.index);
  log_woken(w, t, sim::WakeCause{sim::WakeKind::task, id_of(waker)});
  if (w.kind == Kind::vcpu) set_truth(w, t, "preempted", home.index, th(home.current).tid, -1);
  if (w.halt_open && w.halt_waker < 0) {
    w.halt_waker = static_cast<int>(&waker - threads.data());
    w.halt.waker_tid = waker.tid;
  }
  emit_sched_wakeup(cpu, t + 300, waker, w.comm.c_str(), w.tid, w.prio + 100, home.index);
  w.state = State::runnable;
  w.wake_at = kNever;
  w.left = between(1'000, 3'000);
  home.runqueue.push_back(id);
  home.busy_until = std::max(home.busy_until, t + 600);
  reschedule(home);
  return t + 600;
}

// The worker `worker`, about to sleep on the guest CPU `cpu`, may first wake a worker sleeping on
// another CPU of its machine, which takes an IPI (or a kick). True when it did.
bool ScenarioModel::Impl::try_wake_peer(Cpu& cpu, int64_t t, Thread& worker) {
  if (uniform() >= 0.3) return false;
  std::vector<int> peers;
  for (int id : machines[static_cast<size_t>(cpu.machine)].threads) {
    const Thread& w = th(id);
    if (w.kind == Kind::worker && w.state == State::sleeping && w.io_wait < 0 && w.wake_at != kNever &&
        w.home != static_cast<int>(&cpu - cpus.data()))
      peers.push_back(id);
  }
  if (peers.empty()) return false;
  const int peer = peers[static_cast<size_t>(between(0, static_cast<int64_t>(peers.size()) - 1))];
  ipi_wake(cpu, t, worker, peer);
  return true;
}

// The worker `worker`, running on the guest CPU `cpu`, wakes the sleeping thread `peer` of
// another CPU of its machine at `t`: a reschedule IPI (or a paravirtual kick) to its vCPU.
void ScenarioModel::Impl::ipi_wake(Cpu& cpu, int64_t t, Thread& worker, int peer) {
  Thread& w = th(peer);
  Cpu& target = cpu_of(w);
  emit_sched_waking(cpu, t, worker, w.comm.c_str(), w.tid, w.prio + 100, target.index);
  log_woken(w, t, sim::WakeCause{sim::WakeKind::task, id_of(worker)});
  emit_sched_wakeup(cpu, t + 300, worker, w.comm.c_str(), w.tid, w.prio + 100, target.index);
  w.state = State::runnable;
  w.wake_at = kNever;
  if (w.kind == Kind::request) {
    w.woke_io = 2;  // its read() of the work queue returns
    w.req_stage = 0;
  } else {
    w.woke_from_sleep = true;
  }
  w.left = exponential(work_mean(w.machine));
  target.runqueue.push_back(peer);
  worker.peer_woken = true;
  Thread& sender = th(cpu.vcpu_thread);
  Cpu& parent = cpu_of(sender);
  const Thread& receiver = th(target.vcpu_thread);
  const bool pv_kick = uniform() < 0.25 && receiver.state == State::sleeping;
  int64_t at = kvm_exit(parent, sender, t + 600, pv_kick ? kExitVmcall : kExitMsrWrite) + 200;
  if (!pv_kick) {
    // The x2APIC ICR write (Intel SDM vol. 3, 10.12.9): fixed delivery, physical destination.
    emit_kvm_apic_ipi(parent, at, sender, kReschedVector, target.index);
    emit_kvm_apic_accept_irq(parent, at + 150, sender, target.index, 0, 0, kReschedVector, target.pending_ipi);
    at += 300;
    target.pending_ipi = true;
    target.ipi_from = cpu.index;
  }
  if (receiver.state == State::sleeping)
    remote_wake(parent, at, sender, target.vcpu_thread);
  else
    kick(target, at, kExitExternalInterrupt);  // in guest mode: it exits; else injected at its entry
  reschedule(parent);
}

// Device `d` of guest `machine` interrupts at `t`: its signalling thread wakes up (the host
// interrupt that completes its I/O) and signals it when it runs.
void ScenarioModel::Impl::raise_by_thread(int machine, int64_t t, int d) {
  Thread& raiser = th(machines[static_cast<size_t>(machine)].raiser[d]);
  raiser.jobs |= 1u << d;
  if (raiser.state != State::sleeping) return;
  raiser.wake_at = t;
  raise_timer(cpu_of(raiser), t);
}

// The signalling thread `raiser` runs on `cpu`: it signals its pending device interrupts, then
// sleeps.
void ScenarioModel::Impl::serve_devices(Cpu& cpu, int64_t t, Thread& raiser) {
  if (config.requests && submit_io(cpu, t, raiser)) return;
  for (int d = 0; d < 2; ++d) {
    if (!(raiser.jobs & (1u << d))) continue;
    Cpu& target = cpus[static_cast<size_t>(device_target(raiser.served_machine, d))];
    const int64_t vector = kDevices[d].vector;
    const bool pending = target.pending_dev & (1u << d);
    // MSI (Intel SDM vol. 3, 10.11): address 0xfee00000 | destination APIC id << 12, data the vector.
    emit_kvm_msi_set_irq(cpu, t, raiser, 0xfee00000 + (int64_t{target.index} << 12), vector);
    emit_kvm_apic_accept_irq(cpu, t + 200, raiser, target.index, 0, 0, vector, pending);
    t += 400;
    target.dev_raiser[d] = static_cast<int>(&raiser - threads.data());
    target.dev_raise_ts[d] = t - 400;  // its kvm_msi_set_irq
    if (pending) continue;  // one delivery serves both
    target.pending_dev |= 1u << d;
    if (th(target.vcpu_thread).state == State::sleeping)
      t = remote_wake(cpu, t, raiser, target.vcpu_thread);
    else
      kick(target, t, kExitExternalInterrupt);
  }
  raiser.jobs = 0;
  raiser.wake_at = kNever;
  switch_next(cpu, t + 300, kInterruptible);
  reschedule(cpu);
}

// The guest CPU `cpu` runs its reschedule IPI's handler (x86_irq_vectors_reschedule_entry/exit).
void ScenarioModel::Impl::resched_interrupt(Cpu& cpu, int64_t t) {
  cpu.pending_ipi = false;
  t = std::max(t, cpu.busy_until);
  Thread& cur = th(cpu.current);
  if (cur.kind == Kind::vcpu && cur.in_guest) t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + 300;
  emit_resched_irq(cpu, t, th(cpu.current), true);
  emit_resched_irq(cpu, t + 400, th(cpu.current), false);
  t += 700;
  if (th(cpu.current).kind == Kind::idle && !cpu.runqueue.empty()) switch_next(cpu, t, kRunnable);
  reschedule(cpu);
}

}  // namespace vm
