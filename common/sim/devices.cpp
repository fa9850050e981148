// SPDX-License-Identifier: MIT
// Device interrupts: the host's (eth0 on every physical CPU) and the guests' virtio devices.

#include "sim/model_impl.h"
#include "sim/vmx.h"

namespace vm {

using namespace sim;

// Device `d` of guest `machine` interrupts at `t`: to the CPU of the first thread waiting for
// it, else to vCPU d % cpus. The vCPU exits (a host interrupt) or its thread wakes; the vector
// is injected at the next entry.
void ScenarioModel::Impl::raise_device(int machine, int64_t t, int d) {
  if (config.wake_causes) return raise_by_thread(machine, t, d);
  Cpu& cpu = cpus[static_cast<size_t>(device_target(machine, d))];
  if (cpu.pending_dev & (1u << d)) return;  // already pending: one delivery serves both
  cpu.pending_dev |= 1u << d;
  kick(cpu, t, kExitExternalInterrupt);
}

int ScenarioModel::Impl::device_target(int machine, int d) {
  const Machine& m = machines[static_cast<size_t>(machine)];
  // `requests`: the disk serves the request thread only; its handler runs on the request's vCPU.
  if (config.requests && d == 0 && m.request >= 0) return th(m.request).home;
  for (int id : m.threads)
    if (th(id).state == State::sleeping && th(id).io_wait == d) return th(id).home;
  return m.cpu_base + d % m.info.cpus;
}

// The guest CPU `cpu` runs device `d`'s handler, which wakes a thread waiting for it.
void ScenarioModel::Impl::device_interrupt(Cpu& cpu, int64_t t, int d) {
  cpu.pending_dev &= ~(1u << d);
  t = std::max(t, cpu.busy_until);
  Thread& cur = th(cpu.current);
  if (cur.kind == Kind::vcpu && cur.in_guest) t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + 300;
  const Device& device = kDevices[d];
  TruthGuestIrq truth;
  truth.ts = t;
  truth.vm = cpu.machine;
  truth.vcpu = cpu.index;
  truth.irq = device.irq;
  truth.vector = device.vector;
  truth.name = device.name;
  emit_irq_handler_entry(cpu, t, th(cpu.current), device.irq, device.name);
  t += 500;
  for (int id : cpu.homed) {
    Thread& w = th(id);
    if (w.state != State::sleeping || w.io_wait != d) continue;
    sim::WakeCause cause{sim::WakeKind::device, -1, -1, device.name};
    if (cpu.dev_raiser[d] >= 0 && cpu.dev_raise_ts[d] >= 0)
      cause = sim::WakeCause{sim::WakeKind::guest_device, cpu.dev_raiser[d], cpu.dev_raise_ts[d], device.name};
    t = wake(cpu, t, id, cause);
    w.io_wait = -1;
    w.woke_io = d;
    w.left = exponential(work_mean(w.machine));
    if (w.kind == Kind::request) w.req_stage = 2;
    truth.woken_tid = w.tid;
    break;
  }
  // `requests`: the read completed before its thread went to sleep: it returns at once.
  const int req = machines[static_cast<size_t>(cpu.machine)].request;
  if (config.requests && d == 0 && truth.woken_tid < 0 && req >= 0 && th(req).req_stage == 1)
    th(req).req_done = true;
  emit_irq_handler_exit(cpu, t + between(500, 2'000), th(cpu.current), device.irq, 1);
  t = cpu.busy_until + 300;
  if (listener && truth.ts < end) listener->on_guest_irq(truth);
  if (th(cpu.current).kind == Kind::idle && !cpu.runqueue.empty()) switch_next(cpu, t, kRunnable);
  reschedule(cpu);
}

void ScenarioModel::Impl::on_host_irq(Cpu& cpu, int64_t t) {
  t = std::max(t, cpu.busy_until);
  Thread& cur = th(cpu.current);
  if (cur.kind == Kind::vcpu && cur.in_guest) t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + 300;
  const int64_t irq = 24 + cpu.index;
  emit_irq_handler_entry(cpu, t, th(cpu.current), irq, "eth0");
  emit_irq_handler_exit(cpu, t + between(1'000, 4'000), th(cpu.current), irq, 1);
  reschedule(cpu);
}

}  // namespace vm
