// SPDX-License-Identifier: MIT
// `requests`: request threads whose waits chain across layers, and the facts (the life log) from
// which their true critical paths are derived (critical_truth.h). In every VM of the host:
//   - "request-0" (tid 600, on vCPU 1 % vCPUs) waits for work in read() on a pipe (fd 3,
//     TASK_INTERRUPTIBLE); a worker of another vCPU wakes it (task context in the guest), which
//     sends a reschedule IPI to its vCPU (wake_causes.cpp: kvm_x86_apic_ipi, the wake-up of its
//     sleeping vCPU thread, vector 253 injected) or, one time in four, a paravirtual kick;
//   - it computes, then read()s its virtio disk (fd 5): the virtqueue notify is an MMIO write
//     that exits (EPT_MISCONFIG, KVM's ioeventfd: virt/kvm/eventfd.c), whose handler wakes QEMU's
//     "IO iothread0" from the vCPU thread (task context on the host); the thread blocks
//     (TASK_UNINTERRUPTIBLE) unless the read already completed;
//   - the I/O thread submits the request to the host disk and sleeps (TASK_UNINTERRUPTIBLE); the
//     host disk's interrupt ("nvme0q1") completes it in the BLOCK softirq, which wakes the thread;
//   - the I/O thread signals the guest's MSI (kvm_msi_set_irq, kvm_x86_apic_accept_irq), waking
//     the request's sleeping vCPU thread or kicking it; the vector is injected (kvm_x86_inj_virq)
//     at its entry and the guest's "virtio0-requests" handler wakes the request thread;
//   - it computes and waits for work again.
// Preemption by another VM's vCPU happens by itself: vCPU threads share the physical CPUs.

#include "sim/model_impl.h"
#include "sim/vmx.h"

namespace vm {

using namespace sim;

namespace {

constexpr unsigned kSubmitJob = 1u << 2;  // a raiser's job: submit a request to the host disk
constexpr int64_t kHostDiskIrq = 16;
constexpr const char* kHostDiskName = "nvme0q1";
constexpr int64_t kSoftirqBlock = 4;  // BLOCK_SOFTIRQ (include/linux/interrupt.h)
constexpr int64_t kWorkFd = 3, kWorkBuf = 0x7ffd1000 + 0x100 * 2;  // woke_io 2: the work queue

}  // namespace

void ScenarioModel::Impl::add_requests() {
  for (size_t m = 1; m < machines.size(); ++m) {
    if (machines[m].info.parent != 0) continue;  // the host's VMs
    const int home = machines[m].cpu_base + 1 % machines[m].info.cpus;
    const int id = add_thread(static_cast<int>(m), 600, 600, 1, "request-0", home, Kind::request);
    th(id).left = exponential(work_mean(static_cast<int>(m)));
    machines[m].request = id;
  }
}

// Every thread but the idle tasks enters the life log, untraced until its first state change.
void ScenarioModel::Impl::log_states() {
  for (size_t id = 0; id < threads.size(); ++id) {
    const Thread& t = threads[id];
    if (t.kind == Kind::idle) continue;
    const bool guest = machines[static_cast<size_t>(t.machine)].info.parent >= 0;
    const int vcpu_thread = guest && t.home >= 0 ? cpus[static_cast<size_t>(t.home)].vcpu_thread : -1;
    life.add_thread(static_cast<int>(id), t.machine, t.tid, t.comm, vcpu_thread, t.kind == Kind::vcpu);
    life.set(static_cast<int>(id), config.start_ns, LifeState::untraced);
  }
}

void ScenarioModel::Impl::log_set(const Thread& t, int64_t ts, LifeState state) {
  if (config.requests && t.kind != Kind::idle) life.set(id_of(t), ts, state);
}

void ScenarioModel::Impl::log_woken(const Thread& t, int64_t ts, const WakeCause& cause) {
  if (config.requests && t.kind != Kind::idle) life.woken(id_of(t), ts, cause);
}

void ScenarioModel::Impl::emit_softirq(Cpu& cpu, int64_t t, const Thread& context, int64_t vec, bool entry) {
  record(cpu, t, entry ? ScenarioEventType::softirq_entry : ScenarioEventType::softirq_exit, context, {vec});
}

// The request thread `r` ends a phase on the guest CPU `cpu` at `t`.
void ScenarioModel::Impl::request_step(Cpu& cpu, int64_t t, Thread& r) {
  const Device& disk = kDevices[0];
  if (r.req_stage == 0) {
    // read() from the disk: the notify exits; its handler wakes the I/O thread.
    emit_syscall_entry_read(cpu, t, r, disk.fd, 0x7ffd1000, 4096);
    r.req_stage = 1;
    r.req_done = false;
    r.phase_end_rt = rt(cpu, t) + 800;
    Thread& v = th(cpu.vcpu_thread);
    Cpu& parent = cpu_of(v);
    const int64_t at = kvm_exit(parent, v, t + 500, kExitEptMisconfig) + 200;
    Thread& io = th(machines[static_cast<size_t>(cpu.machine)].raiser[0]);
    io.jobs |= kSubmitJob;
    if (io.state == State::sleeping) remote_wake(parent, at, v, id_of(io));
    reschedule(parent);
  } else if (r.req_stage == 1 && r.req_done) {
    // Completed before it slept: the read returns at once.
    r.req_done = false;
    r.req_stage = 2;
    emit_syscall_exit_read(cpu, t, r, 4096, 0x7ffd1000);
    r.phase_end_rt = rt(cpu, t) + exponential(work_mean(r.machine));
  } else if (r.req_stage == 1) {
    r.io_wait = 0;
    r.wake_at = kNever;
    switch_next(cpu, t, disk.sleep_state);
  } else {
    // Computed: wait for the next piece of work.
    emit_syscall_entry_read(cpu, t, r, kWorkFd, kWorkBuf, 4096);
    r.req_stage = 3;
    r.io_wait = -1;
    r.wake_at = kNever;
    switch_next(cpu, t + 700, kInterruptible);
  }
  reschedule(cpu);
}

// The worker `worker` on the guest CPU `cpu` may wake its VM's request thread, waiting for work on
// another vCPU. True when it did.
bool ScenarioModel::Impl::try_dispatch(Cpu& cpu, int64_t t, Thread& worker) {
  const int req = machines[static_cast<size_t>(cpu.machine)].request;
  if (req < 0) return false;
  const Thread& r = th(req);
  if (r.req_stage != 3 || r.state != State::sleeping || r.home == static_cast<int>(&cpu - cpus.data())) return false;
  if (uniform() >= 0.5) return false;
  ipi_wake(cpu, t, worker, req);
  return true;
}

// The I/O thread `io` runs on the host CPU `cpu`: a notified request is submitted to the host
// disk and the thread sleeps until its completion. False when it has none.
bool ScenarioModel::Impl::submit_io(Cpu& cpu, int64_t t, Thread& io) {
  if (!(io.jobs & kSubmitJob)) return false;
  io.jobs &= ~kSubmitJob;
  t += between(1'000, 3'000);
  push_action(t + between(60'000, 250'000), ActionKind::host_disk, id_of(io), 0);
  io.wake_at = kNever;
  switch_next(cpu, t, kUninterruptible);
  reschedule(cpu);
  return true;
}

// The host disk completes the request of the I/O thread `io` at `t`: its interrupt on the
// thread's CPU, then the BLOCK softirq, which wakes the thread.
void ScenarioModel::Impl::host_disk_done(int io_id, int64_t t) {
  Thread& io = th(io_id);
  Cpu& cpu = cpu_of(io);
  t = std::max(t, cpu.busy_until);
  Thread& cur = th(cpu.current);
  if (cur.kind == Kind::vcpu && cur.in_guest) t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + 300;
  emit_irq_handler_entry(cpu, t, th(cpu.current), kHostDiskIrq, kHostDiskName);
  emit_irq_handler_exit(cpu, t + 800, th(cpu.current), kHostDiskIrq, 1);
  t += 1'100;
  emit_softirq(cpu, t, th(cpu.current), kSoftirqBlock, true);
  t += 400;
  io.jobs |= 1u;  // the guest's disk interrupt, to signal
  if (io.state == State::sleeping) {
    t = wake(cpu, t, io_id, WakeCause{WakeKind::softirq_block});
    io.wake_at = kNever;
    io.left = between(1'000, 3'000);
  }
  emit_softirq(cpu, t, th(cpu.current), kSoftirqBlock, false);
  t += 300;
  if (th(cpu.current).kind == Kind::idle && !cpu.runqueue.empty()) switch_next(cpu, t, kRunnable);
  reschedule(cpu);
}

}  // namespace vm
