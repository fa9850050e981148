// SPDX-License-Identifier: MIT
// The truth as the run goes: every vCPU's state and what runs on every CPU of a machine that
// runs VMs, handed to the listener as intervals close.

#include <string_view>

#include "sim/model_impl.h"
#include "sim/vmx.h"

namespace vm {

void ScenarioModel::Impl::set_truth(Thread& v, int64_t t, const char* state, int64_t pcpu, int64_t preempting,
                                    int64_t reason) {
  if (v.truth_open && t > v.truth.ts) {
    TruthVcpuInterval closed = v.truth;
    closed.dur = t - v.truth.ts;
    listener_vcpu(closed);
    if (config.requests) life.vcpu_state(id_of(v), closed.ts, t, closed.state, closed.exit_reason);
  }
  if (v.truth_open) t = std::max(t, v.truth.ts);
  const Cpu& guest = cpus[static_cast<size_t>(v.child_cpu)];
  v.truth = TruthVcpuInterval{};
  v.truth.ts = t;
  v.truth.vm = guest.machine;
  v.truth.vcpu = guest.index;
  v.truth.state = state;
  v.truth.pcpu = pcpu;
  v.truth.preempting_tid = preempting;
  v.truth.exit_reason = reason;
  const bool vmm = std::string_view(state) == "vmm";
  v.truth.guest_layer = vmm ? v.handled_layer : v.layer;
  v.truth.nested_exit_to = vmm ? v.handled_to : nullptr;
  v.truth_open = true;
}

// A halt of the vCPU thread `v` begins with its HLT exit at `t`.
void ScenarioModel::Impl::open_halt(Thread& v, int64_t t) {
  const Cpu& guest = cpus[static_cast<size_t>(v.child_cpu)];
  v.halt = TruthHalt{};
  v.halt.ts = t;
  v.halt.vm = guest.machine;
  v.halt.vcpu = guest.index;
  v.halt_open = true;
  v.halt_waker = -1;
}

// The entry at `t` ends the halt of `v`, `vector` the first it injects (-1: none): what woke it.
void ScenarioModel::Impl::close_halt(Thread& v, int64_t t, int64_t vector, const Cpu& guest) {
  v.halt_open = false;
  TruthHalt h = v.halt;
  h.dur = t - h.ts;
  h.wake_vector = vector;
  if (vector < 0) {
    h.reason = "none";
    // A paravirtual kick: the vCPU whose thread woke it.
    if (v.halt_waker >= 0 && th(v.halt_waker).kind == Kind::vcpu) {
      const Cpu& kicker = cpus[static_cast<size_t>(th(v.halt_waker).child_cpu)];
      h.waker_vm = kicker.machine;
      h.waker_vcpu = kicker.index;
    }
  } else if (vector == sim::kTimerVector) {
    h.reason = "timer";
  } else if (vector == sim::kReschedVector) {
    h.reason = "ipi";
    h.waker_vm = guest.machine;
    h.waker_vcpu = guest.ipi_from;
  } else {
    const int d = vector == sim::kDevices[0].vector ? 0 : 1;
    const int raiser = guest.dev_raiser[d];
    h.reason = raiser < 0 ? "device" : d == 0 ? "disk" : "net";
    if (raiser >= 0) h.device = th(raiser).comm;
  }
  if (listener && t < end) listener->on_vcpu_halt(h);
}

// Intervals are clipped to the end of the run (the last actions may record a little later).
void ScenarioModel::Impl::listener_vcpu(TruthVcpuInterval interval) {
  if (!listener || interval.ts >= end) return;
  interval.dur = std::min(interval.dur, end - interval.ts);
  listener->on_vcpu_interval(interval);
}

void ScenarioModel::Impl::update_cpu_truth(Cpu& cpu, int64_t t) {
  if (!machines[static_cast<size_t>(cpu.machine)].runs_vms) return;
  const Thread& cur = th(cpu.current);
  TruthCpuInterval next;
  next.ts = t;
  next.machine = cpu.machine;
  next.cpu = cpu.index;
  next.tid = cur.tid;
  if (cur.kind == Kind::vcpu && cur.in_guest) {
    const Cpu& guest = cpus[static_cast<size_t>(cur.child_cpu)];
    next.vm = guest.machine;
    next.vcpu = guest.index;
  }
  if (cpu.truth_open && cpu.truth.tid == next.tid && cpu.truth.vm == next.vm && cpu.truth.vcpu == next.vcpu) return;
  if (cpu.truth_open && t > cpu.truth.ts && listener && cpu.truth.ts < end) {
    TruthCpuInterval closed = cpu.truth;
    closed.dur = std::min(t, end) - cpu.truth.ts;
    listener->on_cpu_interval(closed);
  }
  cpu.truth = next;
  cpu.truth_open = true;
}

}  // namespace vm
