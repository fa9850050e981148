// SPDX-License-Identifier: MIT
// The truth as the run goes: every vCPU's state and what runs on every CPU of a machine that
// runs VMs, handed to the listener as intervals close.

#include "sim/model_impl.h"

namespace vm {

void ScenarioModel::Impl::set_truth(Thread& v, int64_t t, const char* state, int64_t pcpu, int64_t preempting,
                                    int64_t reason) {
  if (v.truth_open && t > v.truth.ts) {
    TruthVcpuInterval closed = v.truth;
    closed.dur = t - v.truth.ts;
    listener_vcpu(closed);
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
  v.truth_open = true;
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
