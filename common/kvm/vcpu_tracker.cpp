// SPDX-License-Identifier: MIT
#include "kvm/vcpu_tracker.h"

#include <algorithm>
#include <cstdio>

#include "kvm/vcpu_tracker_internal.h"
#include "kvm/vm_key.h"

namespace vm {

namespace {
// KVM's KVM_MAX_VCPUS is at most 4096 on x86; the stale lttng-modules probe records the low
// 32 bits of a `struct kvm_vcpu *`, which are far above that.
constexpr int64_t kMaxPlausibleVcpuId = 4096;
// Linux's thread ids lie in [0, PID_MAX_LIMIT] (include/linux/threads.h: 4194304 on 64-bit).
constexpr int64_t kMaxTid = 4194304;
}  // namespace

const char* state_name(VcpuState state) {
  switch (state) {
    case VcpuState::guest: return "guest";
    case VcpuState::vmm: return "vmm";
    case VcpuState::preempted: return "preempted";
    case VcpuState::idle: return "idle";
    case VcpuState::unknown: break;
  }
  return "unknown";
}

const char* guest_status_name(GuestStatus status) {
  switch (status) {
    case GuestStatus::running: return "running";
    case GuestStatus::idle: return "idle";
    case GuestStatus::unknown: break;
  }
  return nullptr;
}

const char* begin_event_name(BeginEvent event) {
  switch (event) {
    case BeginEvent::trace_start: return "trace_start";
    case BeginEvent::kvm_entry: return "kvm_entry";
    case BeginEvent::kvm_exit: return "kvm_exit";
    case BeginEvent::sched_switch: return "sched_switch";
    case BeginEvent::sched_wakeup: return "sched_wakeup";
    case BeginEvent::lost_events: return "lost_events";
    case BeginEvent::guest_switch: return "guest_sched_switch";
  }
  return "unknown";
}

const char* vcpu_id_source_name(VcpuIdSource source) {
  switch (source) {
    case VcpuIdSource::kvm_exit_field: return "kvm_exit.vcpu_id";
    case VcpuIdSource::kvm_entry_field: return "kvm_entry.vcpu_id";
    case VcpuIdSource::thread_name: return "thread_name";
    case VcpuIdSource::first_seen: return "first_seen";
    case VcpuIdSource::none: break;
  }
  return "none";
}

int64_t vcpu_index_from_thread_name(std::string_view name) {
  // "CPU <n>/KVM"
  constexpr std::string_view prefix = "CPU ";
  constexpr std::string_view suffix = "/KVM";
  if (name.size() <= prefix.size() + suffix.size() || name.substr(0, prefix.size()) != prefix ||
      name.substr(name.size() - suffix.size()) != suffix)
    return kUnknown;
  const std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  int64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || value > kMaxPlausibleVcpuId) return kUnknown;
    value = value * 10 + (c - '0');
  }
  return value;
}

VcpuTracker::VcpuTracker(MachineRegistry& machines, int64_t host_machine_id, const SchedState& threads,
                         VcpuListener& listener)
    : machines_(machines), host_machine_id_(host_machine_id), threads_(threads), listener_(listener) {}

VcpuTracker::~VcpuTracker() = default;

VcpuTracker::Vcpu* VcpuTracker::find(int64_t tid) {
  auto it = vcpus_.find(tid);
  return it == vcpus_.end() ? nullptr : it->second.get();
}

VcpuTracker::Vm& VcpuTracker::vm_for_pid(int64_t pid, int64_t tid) {
  // Without the process of a vCPU thread, each such thread is its own VM: merging unrelated
  // threads would mix vCPUs of different VMs.
  const int64_t key = pid >= 0 ? pid : vm_key_of_thread(tid);
  auto& slot = vms_[key];
  if (!slot) {
    slot = std::make_unique<Vm>();
    slot->pid = pid;
    const std::string name = pid >= 0 ? "qemu-" + std::to_string(pid) : "qemu-tid" + std::to_string(tid);
    const int layer = machines_.get(host_machine_id_).layer + 1;
    slot->machine_id = machines_.add(name, MachineRole::guest, host_machine_id_, layer);
  }
  // A machine running VMs is a host, unless it is already known as a guest (a nested hypervisor).
  if (machines_.get(host_machine_id_).role == MachineRole::unknown)
    machines_.get(host_machine_id_).role = MachineRole::host;
  return *slot;
}

void VcpuTracker::adopt_vm(int64_t pid, int64_t machine_id) {
  auto& slot = vms_[pid];
  if (!slot) {
    slot = std::make_unique<Vm>();
    slot->pid = pid;
  }
  slot->machine_id = machine_id;
}

VcpuTracker::Vcpu& VcpuTracker::find_or_create(Timestamp ts, int64_t tid) {
  if (Vcpu* existing = find(tid)) return *existing;
  auto vcpu = std::make_unique<Vcpu>();
  vcpu->tid = tid;
  vcpu->vm = &vm_for_pid(threads_.pid_of(tid), tid);
  // Unknown from the start of the trace until now: nothing told the state before.
  vcpu->open.ts = std::min(trace_start_, ts);
  vcpu->open.machine_id = vcpu->vm->machine_id;
  vcpu->open.state = VcpuState::unknown;
  vcpu->open.begin_event = BeginEvent::trace_start;
  Vcpu& ref = *vcpu;
  vcpu_order_.push_back(vcpu.get());
  vcpus_[tid] = std::move(vcpu);
  return ref;
}

void VcpuTracker::emit(Vcpu& vcpu, const VcpuInterval& interval) {
  // A row waits for the vCPU's index, for its nested layer or exit fate, or behind one that does.
  if (vcpu.vcpu_id < 0 || !vcpu.pending.empty() || interval.guest_layer == kLayerUndecided ||
      interval.nested_exit_to == NestedExitTo::undecided) {
    vcpu.pending.push_back(interval);
    return;
  }
  VcpuInterval out = interval;
  out.vcpu_id = vcpu.vcpu_id;
  listener_.on_vcpu_interval(out);
}

void VcpuTracker::transition(Vcpu& vcpu, Timestamp ts, VcpuState state, BeginEvent begin) {
  VcpuInterval& open = vcpu.open;
  // An exit keeps its row even when another event at the same nanosecond ends it, so that
  // exits can be counted from vcpu_state (begin_event = 'kvm_exit').
  const bool keep_empty_exit = open.begin_event == BeginEvent::kvm_exit && ts == open.ts;
  if (ts > open.ts || keep_empty_exit) {
    VcpuInterval closed = open;
    closed.dur = ts - open.ts;
    emit(vcpu, closed);
  }
  // Otherwise, at an equal timestamp the later event wins (no zero-length interval), as in
  // Trace Compass's state system.
  open.ts = std::max(ts, open.ts);
  open.state = state;
  open.guest_status = vcpu.guest_status;
  open.begin_event = begin;
  open.exit_reason = kUnknown;
  open.isa = VirtIsa::unknown;
  open.pcpu = kUnknown;
  open.preempting_tid = kUnknown;
  // The layer the vCPU is in (undecided until an event tells); see nested_layers.cpp.
  open.guest_layer = state == VcpuState::unknown      ? kLayerUnknown
                     : vcpu.nested.layer == kLayerUnknown ? kLayerUndecided
                                                         : vcpu.nested.layer;
  open.nested_exit_to = NestedExitTo::none;
  open.nested_exit_reason = kUnknown;
  open.nested_isa = VirtIsa::unknown;
  notify(vcpu, open.ts, state);
}

void VcpuTracker::notify(const Vcpu& vcpu, Timestamp ts, VcpuState state) {
  if (!observer_) return;
  const int64_t id = vcpu.vcpu_id >= 0                        ? vcpu.vcpu_id
                     : vcpu.entry_field < kMaxPlausibleVcpuId ? vcpu.entry_field
                                                              : kUnknown;
  if (id >= 0) observer_->on_vcpu_state(vcpu.vm->machine_id, id, ts, state);
}

void VcpuTracker::diagnose_once(const std::string& key, const std::string& message) {
  if (!diagnosed_.emplace(key, true).second) return;
  // Named like the sink's other diagnostics of one input trace: "trace `NAME`: ...".
  listener_.on_diagnostic(trace_name_.empty() ? message : "trace `" + trace_name_ + "`: " + message);
}

void VcpuTracker::resolve_id(Vcpu& vcpu, int64_t exit_vcpu_id_field) {
  if (vcpu.vcpu_id >= 0) return;
  int64_t id = kUnknown;
  VcpuIdSource source = VcpuIdSource::none;
  const bool entry_plausible = vcpu.entry_field >= 0 && vcpu.entry_field < kMaxPlausibleVcpuId;
  if (vcpu.entry_field >= kMaxPlausibleVcpuId) {
    diagnose_once("entry-garbage",
                  "kvm_x86_entry.vcpu_id holds " + std::to_string(vcpu.entry_field) +
                      ", which is not a vCPU index: lttng-modules <= 2.13 on Linux >= 5.10 records a "
                      "stale field there. vCPU indexes were taken from other sources (see vcpu.vcpu_id_source).");
  }
  if (exit_vcpu_id_field >= kMaxPlausibleVcpuId) {
    diagnose_once("exit-garbage", "kvm_x86_exit.vcpu_id holds " + std::to_string(exit_vcpu_id_field) +
                                      ", which is not a vCPU index (KVM allows at most " +
                                      std::to_string(kMaxPlausibleVcpuId) +
                                      "); vCPU indexes were taken from other sources (see vcpu.vcpu_id_source).");
    exit_vcpu_id_field = kUnknown;
  }
  if (exit_vcpu_id_field >= 0) {
    id = exit_vcpu_id_field;
    source = VcpuIdSource::kvm_exit_field;
    if (entry_plausible && vcpu.entry_field != id)
      diagnose_once("entry-disagrees", "kvm_x86_entry.vcpu_id (" + std::to_string(vcpu.entry_field) +
                                           ") disagrees with kvm_x86_exit.vcpu_id (" + std::to_string(id) +
                                           ") on host thread " + std::to_string(vcpu.tid) +
                                           "; the exit's field is used.");
  } else if (entry_plausible) {
    id = vcpu.entry_field;
    source = VcpuIdSource::kvm_entry_field;
  } else if (const ThreadInfo* info = threads_.find(vcpu.tid);
             info && (id = vcpu_index_from_thread_name(info->name)) >= 0) {
    source = VcpuIdSource::thread_name;
  }
  if (id < 0 || vcpu.vm->uses(id)) {
    if (id >= 0)
      diagnose_once("id-collision-" + std::to_string(vcpu.vm->machine_id),
                    "two host threads of VM machine " + std::to_string(vcpu.vm->machine_id) + " claim vCPU index " +
                        std::to_string(id) + "; the later one gets the next free index.");
    id = vcpu.vm->first_free();
    source = VcpuIdSource::first_seen;
  }
  vcpu.vm->take(id);
  vcpu.vcpu_id = id;
  vcpu.id_source = source;
  release(vcpu);
}

// A KVM event's thread can become a vCPU (and key a VM, vm_key_of_thread()) only if it is a
// thread id Linux can give; a larger one is corruption, and the event is ignored, said once.
bool VcpuTracker::usable_tid(int64_t tid) {
  if (tid < 0) return false;  // no thread known on this CPU yet: cannot attribute the event
  if (tid <= kMaxTid) return true;
  diagnose_once("tid-range", "a KVM event's thread id " + std::to_string(tid) + " is above Linux's limit (" +
                                 std::to_string(kMaxTid) +
                                 ", PID_MAX_LIMIT): its KVM events are ignored; the trace's `tid` context or "
                                 "sched_switch.next_tid is corrupt");
  return false;
}

void VcpuTracker::on_kvm_entry(Timestamp ts, int64_t cpu, int64_t tid, int64_t vcpu_id_field) {
  if (!usable_tid(tid)) return;
  ++entry_count_;
  Vcpu& vcpu = find_or_create(ts, tid);
  if (vcpu.entry_field < 0 && vcpu_id_field >= 0) vcpu.entry_field = vcpu_id_field;
  nested_at_entry(vcpu);
  transition(vcpu, ts, VcpuState::guest, BeginEvent::kvm_entry);
  vcpu.open.pcpu = cpu;
  vcpu.handled_exit = kUnknown;
  vcpu.handled_isa = VirtIsa::unknown;
}

void VcpuTracker::on_kvm_exit(Timestamp ts, int64_t cpu, int64_t tid, int64_t exit_reason, VirtIsa isa,
                              int64_t vcpu_id_field) {
  if (!usable_tid(tid)) return;
  ++exit_count_;
  Vcpu& vcpu = find_or_create(ts, tid);
  resolve_id(vcpu, vcpu_id_field);
  transition(vcpu, ts, VcpuState::vmm, BeginEvent::kvm_exit);
  vcpu.open.pcpu = cpu;
  vcpu.open.exit_reason = exit_reason;
  vcpu.open.isa = isa;
  vcpu.handled_exit = exit_reason;
  vcpu.handled_isa = isa;
  nested_at_exit(vcpu, exit_reason, isa);
}

void VcpuTracker::on_sched_switch(Timestamp ts, int64_t cpu, int64_t prev_tid, bool prev_runnable, int64_t next_tid) {
  if (Vcpu* prev = find(prev_tid); prev && prev_tid != next_tid) {
    if (prev_runnable) {
      transition(*prev, ts, VcpuState::preempted, BeginEvent::sched_switch);
      prev->open.pcpu = cpu;
      prev->open.preempting_tid = next_tid;
    } else {
      transition(*prev, ts, VcpuState::idle, BeginEvent::sched_switch);
    }
  }
  if (Vcpu* next = find(next_tid)) {
    // Back on a CPU, the thread is in the host kernel: it resumes handling its last exit.
    transition(*next, ts, VcpuState::vmm, BeginEvent::sched_switch);
    next->open.pcpu = cpu;
    next->open.exit_reason = next->handled_exit;
    next->open.isa = next->handled_isa;
    nested_resume(*next);
  }
}

void VcpuTracker::on_wakeup(Timestamp ts, int64_t tid, int64_t target_cpu, int64_t target_cpu_tid) {
  Vcpu* vcpu = find(tid);
  if (!vcpu) return;
  const VcpuState state = vcpu->open.state;
  if (state != VcpuState::idle && state != VcpuState::unknown) return;
  transition(*vcpu, ts, VcpuState::preempted, BeginEvent::sched_wakeup);
  vcpu->open.pcpu = target_cpu;
  vcpu->open.preempting_tid = target_cpu_tid;
}

void VcpuTracker::on_thread_exit(Timestamp ts, int64_t tid) {
  auto it = vcpus_.find(tid);
  if (it == vcpus_.end()) return;
  Vcpu& vcpu = *it->second;
  if (ts > vcpu.open.ts) {
    VcpuInterval closed = vcpu.open;
    closed.dur = ts - vcpu.open.ts;
    emit(vcpu, closed);
  }
  forget_nested(vcpu);
  vcpu.alive = false;
  notify(vcpu, ts, VcpuState::unknown);  // the vCPU is gone: its guest's threads no longer follow it
  // Keep the record (for the vcpu table) but let a reused tid start afresh.
  retired_.push_back(std::move(it->second));
  vcpus_.erase(it);
}

void VcpuTracker::on_guest_status(Timestamp ts, int64_t vm_key, int64_t vcpu_id, bool running) {
  const auto vm = vms_.find(vm_key);
  if (vm == vms_.end()) return;
  const GuestStatus status = running ? GuestStatus::running : GuestStatus::idle;
  // The vCPU's index may not be decided yet (it is at its first exit): then its entry field, if
  // plausible, stands for it.
  auto index_of = [](const Vcpu& v) {
    return v.vcpu_id >= 0 ? v.vcpu_id : v.entry_field < kMaxPlausibleVcpuId ? v.entry_field : kUnknown;
  };
  for (Vcpu* vcpu : vcpu_order_) {
    if (!vcpu->alive || vcpu->vm != vm->second.get() || index_of(*vcpu) != vcpu_id) continue;
    if (vcpu->guest_status == status) return;
    vcpu->guest_status = status;
    // Split the ongoing interval: same host state, new guest status.
    const VcpuInterval open = vcpu->open;
    transition(*vcpu, ts, open.state, BeginEvent::guest_switch);
    vcpu->open.exit_reason = open.exit_reason;
    vcpu->open.isa = open.isa;
    vcpu->open.pcpu = open.pcpu;
    vcpu->open.preempting_tid = open.preempting_tid;
    vcpu->open.guest_layer = open.guest_layer;
    vcpu->open.nested_exit_to = open.nested_exit_to;
    vcpu->open.nested_exit_reason = open.nested_exit_reason;
    vcpu->open.nested_isa = open.nested_isa;
    return;
  }
}

void VcpuTracker::on_lost_events(Timestamp begin) {
  for (Vcpu* vcpu : vcpu_order_) {
    if (!vcpu->alive) continue;
    // What was not told yet stays unknown: the lost events may have held the answer.
    forget_nested(*vcpu);
    transition(*vcpu, std::max(begin, vcpu->open.ts), VcpuState::unknown, BeginEvent::lost_events);
  }
}

void VcpuTracker::finish(Timestamp end) {
  for (Vcpu* vcpu : vcpu_order_) {
    if (vcpu->alive && end > vcpu->open.ts) {
      VcpuInterval closed = vcpu->open;
      closed.dur = end - vcpu->open.ts;
      emit(*vcpu, closed);
    }
    forget_nested(*vcpu);
    vcpu->alive = false;
    resolve_id(*vcpu, kUnknown);
    release(*vcpu);
  }
  finish_nested();
}

bool VcpuTracker::describe(int64_t tid, VcpuOfThread& out) const {
  const auto it = vcpus_.find(tid);
  if (it == vcpus_.end()) return false;
  const Vcpu& vcpu = *it->second;
  out.vm_key = vcpu.vm->pid >= 0 ? vcpu.vm->pid : vm_key_of_thread(vcpu.tid);
  out.machine_id = vcpu.vm->machine_id;
  out.vcpu_id = vcpu.vcpu_id >= 0 ? vcpu.vcpu_id : vcpu.entry_field < kMaxPlausibleVcpuId ? vcpu.entry_field : kUnknown;
  return true;
}

std::vector<VcpuRecord> VcpuTracker::vcpus() const {
  std::vector<VcpuRecord> records;
  records.reserve(vcpu_order_.size());
  for (const Vcpu* vcpu : vcpu_order_)
    records.push_back(VcpuRecord{vcpu->vm->machine_id, vcpu->vcpu_id, vcpu->tid, vcpu->vm->pid, vcpu->id_source});
  return records;
}

}  // namespace vm
