// SPDX-License-Identifier: MIT
// Scheduling on every CPU of every machine: run time, time slices, context switches, wakeups
// and the timer interrupt. A guest CPU runs only while its vCPU thread is in guest mode.

#include "sim/model_impl.h"
#include "sim/vmx.h"

namespace vm {

using namespace sim;

int64_t ScenarioModel::Impl::deadline_rt(const Cpu& cpu) const {
  const Thread& cur = threads[static_cast<size_t>(cpu.current)];
  const int64_t r = rt(cpu, now);
  if (cur.kind == Kind::idle) {
    if (!cpu.runqueue.empty()) return r;
    if (machines[static_cast<size_t>(cpu.machine)].info.parent >= 0 && !has_pending(cpu)) return cpu.halt_rt;
    return kNever;
  }
  int64_t d = cur.phase_end_rt;
  if (!cpu.runqueue.empty()) d = std::min(d, cpu.slice_start_rt + config.time_slice_ns);
  return d;
}

void ScenarioModel::Impl::reschedule(Cpu& cpu) {
  ++cpu.generation;
  if (!cpu.running) return;
  const int64_t d = deadline_rt(cpu);
  if (d == kNever) return;
  int64_t t = cpu.resumed_at + (d - cpu.frozen_rt);
  t = std::max({t, cpu.busy_until, now});
  push_action(t, ActionKind::local, static_cast<int>(&cpu - cpus.data()), cpu.generation);
}

int64_t ScenarioModel::Impl::deep_busy(const Cpu& cpu) const {
  int64_t b = cpu.busy_until;
  const Thread& cur = threads[static_cast<size_t>(cpu.current)];
  if (cur.kind == Kind::vcpu && cur.in_guest) b = std::max(b, deep_busy(cpus[static_cast<size_t>(cur.child_cpu)]));
  return b;
}

void ScenarioModel::Impl::stop(Cpu& cpu, int64_t t) {
  if (!cpu.running) return;
  cpu.frozen_rt = rt(cpu, t);
  cpu.running = false;
  ++cpu.generation;
  const Thread& cur = th(cpu.current);
  if (cur.kind == Kind::vcpu && cur.in_guest) stop(cpus[static_cast<size_t>(cur.child_cpu)], t);
}

void ScenarioModel::Impl::resume(Cpu& cpu, int64_t t) {
  cpu.running = true;
  cpu.resumed_at = t;
  cpu.busy_until = std::max(cpu.busy_until, t);
  Machine& m = machines[static_cast<size_t>(cpu.machine)];
  if (!m.statedump_done && cpu.index == 0) statedump(cpu.machine, t);
  if (th(cpu.current).kind == Kind::idle && cpu.runqueue.empty()) cpu.halt_rt = rt(cpu, t) + 1'500;
  for (int d = 0; d < 2; ++d)
    if (cpu.pending_dev & (1u << d)) device_interrupt(cpu, std::max(t + 250, cpu.busy_until), d);
  if (cpu.pending_irq) {
    cpu.pending_irq = false;
    timer_interrupt(cpu, std::max(t + 250, cpu.busy_until));
  }
  if (cpu.pending_ipi) resched_interrupt(cpu, std::max(t + 250, cpu.busy_until));
  const Thread& cur = th(cpu.current);
  if (cur.kind == Kind::vcpu && cur.in_guest) resume(cpus[static_cast<size_t>(cur.child_cpu)], cpu.busy_until + 1);
  reschedule(cpu);
}

// Context switch on `cpu` at `t`: the current thread leaves (prev_state), the runqueue's head
// (or the idle task) comes in.
int64_t ScenarioModel::Impl::switch_next(Cpu& cpu, int64_t t, int64_t prev_state) {
  Thread& prev = th(cpu.current);
  int next_id = cpu.idle_thread;
  if (!cpu.runqueue.empty()) {
    next_id = cpu.runqueue.front();
    cpu.runqueue.pop_front();
  }
  Thread& next = th(next_id);
  emit_sched_switch(cpu, t, prev, prev.comm.c_str(), prev.tid, prev.kind == Kind::idle ? 120 : prev.prio + 100,
                    prev.kind == Kind::idle ? 0 : prev_state, next.comm.c_str(), next.tid,
                    next.kind == Kind::idle ? 120 : next.prio + 100);
  if (config.requests) {
    log_set(prev, t, prev_state == kRunnable ? sim::LifeState::runnable : sim::LifeState::blocked);
    if (next.kind != Kind::idle) life.switched_in(next_id, t, prev.kind == Kind::idle ? -1 : cpu.current);
  }
  const int64_t r = rt(cpu, t);
  if (prev.kind != Kind::idle) {
    prev.left = std::max<int64_t>(200, prev.phase_end_rt - r);
    if (prev_state == kRunnable) {
      prev.state = State::runnable;
      cpu.runqueue.push_back(cpu.current);
      if (prev.kind == Kind::vcpu) set_truth(prev, t, "preempted", cpu.index, next.tid, -1);
    } else {
      prev.state = State::sleeping;
      if (prev.kind == Kind::vcpu) set_truth(prev, t, "idle", -1, -1, -1);
      if (prev.halt_open) prev.halt.slept = true;
    }
  }
  cpu.current = next_id;
  cpu.slice_start_rt = r;
  next.state = State::running;
  if (next.kind == Kind::idle) {
    cpu.halt_rt = r + 1'500;
  } else {
    next.phase_end_rt = r + next.left;
    if (next.kind == Kind::vcpu) set_truth(next, t, "vmm", cpu.index, -1, next.last_exit_reason);
    if (next.woke_io >= 0) {
      const int d = next.woke_io;
      next.woke_io = -1;
      t += 400;
      emit_syscall_exit_read(cpu, t, next, 4096, 0x7ffd1000 + 0x100 * d);
    } else if (next.woke_from_sleep) {
      next.woke_from_sleep = false;
      t += 400;
      emit_syscall_exit_nanosleep(cpu, t, next, 0, 0);
    }
  }
  update_cpu_truth(cpu, t);
  return t;
}

// The thread `id`, homed on `cpu`, wakes up (in an interrupt handler at `t`) and queues.
// Returns the time after the wakeup.
int64_t ScenarioModel::Impl::wake(Cpu& cpu, int64_t t, int id, const sim::WakeCause& cause) {
  Thread& w = th(id);
  const Thread& context = th(cpu.current);
  emit_sched_waking(cpu, t, context, w.comm.c_str(), w.tid, w.prio + 100, cpu.index);
  log_woken(w, t, cause);
  if (w.kind == Kind::vcpu) set_truth(w, t, "preempted", cpu.index, context.tid, -1);
  t += 300;
  emit_sched_wakeup(cpu, t, context, w.comm.c_str(), w.tid, w.prio + 100, cpu.index);
  w.state = State::runnable;
  cpu.runqueue.push_back(id);
  return t + 300;
}

// A timer interrupt on a running CPU: wakes the threads whose time has come.
void ScenarioModel::Impl::timer_interrupt(Cpu& cpu, int64_t t) {
  t = std::max(t, cpu.busy_until);
  Thread& cur = th(cpu.current);
  if (cur.kind == Kind::vcpu && cur.in_guest) t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + 300;
  emit_timer_irq_entry(cpu, t, th(cpu.current), kTimerVector);
  t += 600;
  for (int id : cpu.homed) {
    Thread& w = th(id);
    if (w.state != State::sleeping || w.wake_at > t) continue;
    t = wake(cpu, t, id, sim::WakeCause{sim::WakeKind::vector});
    w.wake_at = kNever;
    if (w.kind == Kind::worker) {
      w.left = exponential(work_mean(w.machine));
      w.woke_from_sleep = true;
    } else {
      w.left = between(1'000, 3'000);
    }
  }
  emit_timer_irq_exit(cpu, t, th(cpu.current), kTimerVector);
  t += 300;
  if (th(cpu.current).kind == Kind::idle && !cpu.runqueue.empty()) switch_next(cpu, t, kRunnable);
  reschedule(cpu);
}

// A timer of CPU `cpu` fires at `t`.
void ScenarioModel::Impl::raise_timer(Cpu& cpu, int64_t t) {
  if (!is_guest_cpu(cpu)) return timer_interrupt(cpu, t);
  cpu.pending_irq = true;
  // The guest's timer (VMX preemption timer): exit, then the interrupt is injected.
  kick(cpu, t, kExitPreemptionTimer);
}

void ScenarioModel::Impl::on_local(Cpu& cpu, int64_t t) {
  Thread& cur = th(cpu.current);
  const int64_t r = rt(cpu, t);
  if (cur.kind == Kind::idle) {
    if (!cpu.runqueue.empty())
      switch_next(cpu, t, kRunnable);
    else if (is_guest_cpu(cpu) && !has_pending(cpu))
      return halt(cpu, t);
  } else if (!cpu.runqueue.empty() && r >= cpu.slice_start_rt + config.time_slice_ns) {
    if (cur.kind == Kind::vcpu && cur.in_guest) {
      // The host's tick interrupts the guest; the scheduler then switches.
      t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + between(800, 1'500);
    }
    switch_next(cpu, t, kRunnable);
  } else if (cur.kind == Kind::raiser) {
    return serve_devices(cpu, t, cur);
  } else if (cur.kind == Kind::request) {
    return request_step(cpu, t, cur);
  } else if (cur.kind == Kind::worker && config.requests && !cur.peer_woken && is_guest_cpu(cpu) &&
             try_dispatch(cpu, t, cur)) {
    // It woke its VM's request thread on another vCPU (an IPI): it sleeps once its CPU runs again.
  } else if (cur.kind == Kind::worker && config.wake_causes && !cur.peer_woken && is_guest_cpu(cpu) &&
             try_wake_peer(cpu, t, cur)) {
    // It woke a worker of another vCPU (an IPI exit): it sleeps once its CPU runs again.
  } else if (cur.kind == Kind::worker && is_guest_cpu(cpu) && device_rate_sum() > 0 && uniform() < 0.5) {
    // A blocking read on a device: its interrupt wakes it.
    const int d = uniform() * device_rate_sum() < config.disk_irq_rate ? 0 : 1;
    emit_syscall_entry_read(cpu, t, cur, kDevices[d].fd, 0x7ffd1000 + 0x100 * d, 4096);
    t += 700;
    cur.io_wait = d;
    cur.wake_at = kNever;
    cur.peer_woken = false;
    switch_next(cpu, t, kDevices[d].sleep_state);
  } else if (cur.kind == Kind::worker) {
    emit_syscall_entry_nanosleep(cpu, t, cur, 0x7ffd0000, 0);
    t += 700;
    cur.wake_at = t + exponential(sleep_mean(cur.machine));
    cur.peer_woken = false;
    push_action(cur.wake_at, ActionKind::wake, cpu.current, static_cast<uint64_t>(cur.wake_at));
    switch_next(cpu, t, kInterruptible);
  } else if (cur.kind == Kind::vcpu && cur.polling && poll_done(cpu, cur, t)) {
    // Nothing came while it polled: it sleeps.
  } else if (cur.kind == Kind::vcpu) {
    if (cur.in_guest)
      kvm_exit(cpu, cur, t, random_exit_reason());
    else
      kvm_entry(cpu, cur, t);
  }
  reschedule(cpu);
}

}  // namespace vm
