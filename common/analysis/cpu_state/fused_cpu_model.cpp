// SPDX-License-Identifier: MIT
#include "analysis/cpu_state/fused_cpu_model.h"

#include <algorithm>

namespace vm {

int FusedCpuModel::add_layer(int64_t machine_id, const SchedState& sched) {
  layers_.push_back(Layer{machine_id, &sched, -1, kUnknown, {}});
  return static_cast<int>(layers_.size()) - 1;
}

void FusedCpuModel::set_guest_of(int guest, int host, int64_t vm_key) {
  layers_[static_cast<size_t>(guest)].host = host;
  layers_[static_cast<size_t>(guest)].vm_key = vm_key;
}

FusedCpuModel::CpuState& FusedCpuModel::cpu_of(int layer, int64_t cpu) {
  std::vector<CpuState>& cpus = layers_[static_cast<size_t>(layer)].cpus;
  if (static_cast<size_t>(cpu) >= cpus.size()) cpus.resize(static_cast<size_t>(cpu) + 1);
  CpuState& state = cpus[static_cast<size_t>(cpu)];
  state.seen = true;
  return state;
}

void FusedCpuModel::on_switch(int layer, Timestamp ts, int64_t cpu, CpuStatus status) {
  if (cpu < 0) return;
  set_start(ts);
  CpuState& state = cpu_of(layer, cpu);
  state.status = status;
  state.in_vm = false;  // a thread switched on this CPU runs in this layer (an exit came before)
  refresh(ts);
}

void FusedCpuModel::on_status(int layer, Timestamp ts, int64_t cpu, CpuStatus status) {
  if (cpu < 0) return;
  CpuState& state = cpu_of(layer, cpu);
  if (state.status == status) return;
  set_start(ts);
  state.status = status;
  refresh(ts);
}

void FusedCpuModel::on_kvm_entry(int layer, Timestamp ts, int64_t cpu, int64_t vm_key, int64_t vm_machine_id,
                                 int64_t vcpu_id) {
  if (cpu < 0) return;
  set_start(ts);
  CpuState& state = cpu_of(layer, cpu);
  state.in_vm = true;
  state.vm_key = vm_key;
  state.vm_machine_id = vm_machine_id;
  state.vcpu_id = vcpu_id;
  refresh(ts);
}

void FusedCpuModel::on_kvm_exit(int layer, Timestamp ts, int64_t cpu) {
  if (cpu < 0) return;
  set_start(ts);
  cpu_of(layer, cpu).in_vm = false;
  refresh(ts);
}

void FusedCpuModel::on_lost_events(int layer, Timestamp ts, int64_t cpu) {
  if (cpu < 0) return;
  CpuState& state = cpu_of(layer, cpu);
  state = CpuState{};
  state.seen = true;
  refresh(ts);
}

CpuInterval FusedCpuModel::effective(int layer, int64_t cpu, int depth) const {
  const Layer& self = layers_[static_cast<size_t>(layer)];
  CpuInterval out;
  out.machine_id = self.machine_id;
  out.vcpu_id = self.host >= 0 ? cpu : kUnknown;
  out.in_vm = self.host >= 0;
  const CpuState* state =
      cpu >= 0 && static_cast<size_t>(cpu) < self.cpus.size() ? &self.cpus[static_cast<size_t>(cpu)] : nullptr;
  if (!state) return out;
  out.tid = self.sched->current(cpu);
  out.status = state->status;
  if (!state->in_vm || depth > 8) return out;
  // In a VM: the traced guest of that VM, on that vCPU; else the VM itself, thread unknown.
  for (size_t g = 0; g < layers_.size(); ++g)
    if (layers_[g].host == layer && layers_[g].vm_key == state->vm_key && state->vcpu_id >= 0)
      return effective(static_cast<int>(g), state->vcpu_id, depth + 1);
  out.machine_id = state->vm_machine_id;
  out.vcpu_id = state->vcpu_id;
  out.tid = kUnknown;
  out.status = CpuStatus::unknown;
  out.in_vm = true;
  return out;
}

bool FusedCpuModel::same(const CpuInterval& a, const CpuInterval& b) {
  return a.machine_id == b.machine_id && a.vcpu_id == b.vcpu_id && a.tid == b.tid && a.status == b.status &&
         a.in_vm == b.in_vm;
}

// Recomputes what runs on every physical CPU and closes the intervals that changed. The number
// of CPUs is small and this runs only on scheduling and KVM events.
void FusedCpuModel::refresh(Timestamp ts) {
  for (size_t top = 0; top < layers_.size(); ++top) {
    if (layers_[top].host >= 0) continue;
    for (size_t cpu = 0; cpu < layers_[top].cpus.size(); ++cpu) {
      if (!layers_[top].cpus[cpu].seen) continue;
      CpuInterval now = effective(static_cast<int>(top), static_cast<int64_t>(cpu), 0);
      now.pcpu = static_cast<int64_t>(cpu);
      now.host_machine_id = layers_[top].machine_id;
      Open& open = open_[{static_cast<int>(top), static_cast<int64_t>(cpu)}];
      if (!open.started) {
        // Before its first event, a CPU's state is not known: it starts with the run.
        open.started = true;
        CpuInterval unknown = now;
        unknown.machine_id = layers_[top].machine_id;
        unknown.vcpu_id = kUnknown;
        unknown.tid = kUnknown;
        unknown.status = CpuStatus::unknown;
        unknown.in_vm = false;
        unknown.ts = std::min(start_, ts);
        open.interval = unknown;
      }
      if (same(open.interval, now)) continue;
      if (ts > open.interval.ts) {
        CpuInterval closed = open.interval;
        closed.dur = ts - closed.ts;
        listener_.on_cpu_interval(closed);
      }
      now.ts = std::max(ts, open.interval.ts);
      open.interval = now;
    }
  }
}

void FusedCpuModel::finish(Timestamp end) {
  for (auto& [key, open] : open_) {
    if (!open.started || end <= open.interval.ts) continue;
    CpuInterval closed = open.interval;
    closed.dur = end - closed.ts;
    listener_.on_cpu_interval(closed);
  }
}

}  // namespace vm
