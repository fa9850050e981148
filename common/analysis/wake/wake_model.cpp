// SPDX-License-Identifier: MIT
#include "analysis/wake/wake_model.h"

#include <algorithm>

#include "kvm/exit_reasons.h"
#include "kvm/host_analysis.h"
#include "kvm/vm_key.h"

namespace vm {

namespace {

// KVM allows at most 4096 vCPUs (KVM_MAX_VCPUS); APIC ids above are corruption.
constexpr int64_t kMaxApicId = 4096;
// The exit codes of HLT (common/kvm/exit_reasons.h): VMX basic reason 12, SVM exit code 0x78.
constexpr int64_t kVmxHlt = 12, kSvmHlt = 0x78;

bool is_hlt(const KvmExit& exit) {
  const VirtIsa isa = exit.isa < 0 ? VirtIsa::unknown : isa_from_field(static_cast<uint64_t>(exit.isa));
  return (exit.exit_reason == kVmxHlt && isa != VirtIsa::svm) || (exit.exit_reason == kSvmHlt && isa != VirtIsa::vmx);
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool is_device_reason(WakeReason reason) {
  return reason == WakeReason::device || reason == WakeReason::disk || reason == WakeReason::net;
}

}  // namespace

struct WakeModel::Vcpu {
  bool in_halt = false, lost = false, running = true, woken = false, slept = false;
  HaltRecord row;  // the halt in progress
  Timestamp runnable_since = kUnknown, wake_ts = kUnknown;
  std::vector<std::pair<Timestamp, Timestamp>> runnable;  // runnable, off CPU, during the halt
  bool has_cause = false;
  Cause cause;
  bool handler_seen = false;  // the guest's handler after this halt is known (fused runs)
  bool handler_irq_line = false;
  std::string handler;
  bool held = false;  // `done` waits for the guest's handler
  HaltRecord done;
};

WakeModel::WakeModel(const VcpuTracker& vcpus, const SchedState& threads, Sink sink)
    : vcpus_(vcpus), threads_(threads), sink_(std::move(sink)) {}

WakeModel::~WakeModel() = default;

int64_t WakeModel::vm_key_of(int64_t tid) const {
  VcpuTracker::VcpuOfThread of;
  if (vcpus_.describe(tid, of)) return of.vm_key;
  if (const ThreadInfo* info = threads_.find(tid); info && starts_with(info->name, "vhost-")) {
    int64_t pid = 0;
    const std::string_view digits = std::string_view(info->name).substr(6);
    for (char c : digits) {
      if (c < '0' || c > '9' || pid > (int64_t(1) << 40)) return vm_key_of_thread(tid);
      pid = pid * 10 + (c - '0');
    }
    if (!digits.empty()) return pid;
  }
  const int64_t pid = threads_.pid_of(tid);
  return pid >= 0 ? pid : vm_key_of_thread(tid);
}

bool WakeModel::in_interrupt(int64_t cpu) const {
  return cpu >= 0 && static_cast<size_t>(cpu) < irq_depth_.size() && irq_depth_[static_cast<size_t>(cpu)] > 0;
}

namespace {
int seen_slot(EventKind kind) {
  switch (kind) {
    case EventKind::kvm_inj_virq: return 0;
    case EventKind::kvm_apic_ipi: return 1;
    case EventKind::kvm_apic_accept_irq: return 2;
    case EventKind::kvm_msi_set_irq: return 3;
    case EventKind::kvm_set_irq: return 4;
    default: return -1;
  }
}
}  // namespace

uint64_t WakeModel::seen(EventKind kind) const {
  const int slot = seen_slot(kind);
  return slot < 0 ? 0 : seen_[slot];
}

void WakeModel::on_event(const Event& event) {
  const int64_t tid = event.tid;
  if (const int slot = seen_slot(event.kind); slot >= 0) ++seen_[slot];
  switch (event.kind) {
    case EventKind::kvm_exit: on_exit(event, tid); break;
    case EventKind::kvm_entry: on_entry(event, tid); break;
    case EventKind::kvm_inj_virq: on_inject(event, tid); break;
    case EventKind::kvm_apic_ipi:
    case EventKind::kvm_msi_set_irq:
    case EventKind::kvm_set_irq: on_raise(event, tid); break;
    case EventKind::kvm_apic_accept_irq: on_accept(event, tid); break;
    case EventKind::kvm_nested_vmexit:
      // The HLT exit just seen was the nested guest's (L0 sees L2's exits first, then reflects
      // them to L1): no halt of this VM's vCPU.
      if (Vcpu* halted = halted_vcpu(tid)) {
        halted->in_halt = false;
        --halts_;
      }
      break;
    case EventKind::sched_switch: on_switch(event); break;
    case EventKind::sched_wakeup: on_wakeup(event); break;
    case EventKind::process_exit:
      // The vCPU thread ends (the VM shuts down) inside a halt: its wake is not in the trace.
      if (Vcpu* halted = halted_vcpu(event.as<ThreadEnd>().tid)) {
        halted->lost = true;
        end_halt(*halted, event.ctx.ts);
      }
      break;
    case EventKind::irq_entry:
    case EventKind::irq_vector_entry:
    case EventKind::softirq_entry:
    case EventKind::irq_exit:
    case EventKind::irq_vector_exit:
    case EventKind::softirq_exit: {
      if (event.ctx.cpu < 0) break;
      const auto cpu = static_cast<size_t>(event.ctx.cpu);  // bounded by the reader (kMaxCpuId)
      if (cpu >= irq_depth_.size()) irq_depth_.resize(cpu + 1, 0);
      const bool entry = event.kind == EventKind::irq_entry || event.kind == EventKind::irq_vector_entry ||
                         event.kind == EventKind::softirq_entry;
      int& depth = irq_depth_[cpu];
      depth = entry ? std::min(depth + 1, 64) : std::max(depth - 1, 0);
      break;
    }
    default: break;
  }
}

WakeModel::Vcpu* WakeModel::halted_vcpu(int64_t tid) {
  const auto it = by_tid_.find(tid);
  return it != by_tid_.end() && it->second.in_halt ? &it->second : nullptr;
}

void WakeModel::on_exit(const Event& event, int64_t tid) {
  if (tid < 0) return;
  raising_.erase(tid);
  if (const auto it = by_tid_.find(tid); it != by_tid_.end()) {
    Vcpu& last = it->second;
    // An exit while halted: the entry that ended the halt was not seen.
    if (last.in_halt) {
      last.lost = true;
      end_halt(last, event.ctx.ts);
    }
  }
  if (!is_hlt(event.as<KvmExit>())) return;
  VcpuTracker::VcpuOfThread of;
  if (!vcpus_.describe(tid, of) || of.vcpu_id < 0) return;
  Vcpu& vcpu = by_tid_[tid];
  release(vcpu);  // the previous halt's guest handler never came
  vcpu = Vcpu();
  vcpu.in_halt = true;
  vcpu.row.ts = event.ctx.ts;
  vcpu.row.machine_id = of.machine_id;
  vcpu.row.vcpu_id = of.vcpu_id;
  vcpu.row.vm_key = of.vm_key;
  vcpu.row.host_tid = tid;
  by_vcpu_[{of.vm_key, of.vcpu_id}] = tid;
  ++halts_;
}

void WakeModel::on_entry(const Event& event, int64_t tid) {
  if (tid < 0) return;
  raising_.erase(tid);
  if (Vcpu* halted = halted_vcpu(tid)) end_halt(*halted, event.ctx.ts);
}

void WakeModel::on_inject(const Event& event, int64_t tid) {
  VcpuTracker::VcpuOfThread of;
  if (tid < 0 || !vcpus_.describe(tid, of)) return;
  const int64_t vector = event.as<KvmInjVirq>().irq;
  Cause cause;
  bool found = false;
  if (const auto it = pending_.find(Key{of.vm_key, of.vcpu_id, vector}); it != pending_.end()) {
    cause = it->second;
    found = true;
    pending_.erase(it);
  }
  if (const auto it = by_tid_.find(tid);
      it != by_tid_.end() && it->second.held && vector != it->second.done.wake_vector) {
    // Another vector is injected after the halt before the guest ran any handler: the handler
    // the guest runs next may be that vector's, so the wake itself brought none (a paravirtual
    // kick). The same vector again is its re-injection (its delivery was interrupted by an exit).
    // (A guest trace that ended before the wake says nothing: WakeAnalysis::write() clears those.)
    Vcpu& last = it->second;
    if (last.done.guest_handler.empty()) last.done.guest_handler = std::string(kNoHandler);
    release(last);
  }
  Vcpu* vcpu = halted_vcpu(tid);
  if (!vcpu || vcpu->row.wake_vector != kUnknown) return;
  vcpu->row.wake_vector = vector;
  vcpu->row.inject_ts = event.ctx.ts;
  vcpu->has_cause = found;
  vcpu->cause = cause;
}

void WakeModel::note_cause(int64_t vm_key, int64_t apicid, int64_t vector, const Cause& cause) {
  if (vm_key == kUnknown || apicid < 0 || apicid >= kMaxApicId || vector < 0 || vector > 0xff) return;
  Cause& slot = pending_[Key{vm_key, apicid, vector}];
  slot = cause;
  slot.vector = vector;
}

void WakeModel::on_raise(const Event& event, int64_t tid) {
  if (tid < 0) return;
  Cause cause;
  cause.kind = event.kind;
  cause.ts = event.ctx.ts;
  cause.tid = tid;
  switch (event.kind) {
    case EventKind::kvm_apic_ipi: {
      // ICR low (Intel SDM vol. 3, 10.6.1): vector bits 0-7, delivery mode 8-10 (0 fixed, 1 lowest
      // priority: the vectored ones), destination shorthand 18-19 (0: the dest_id field).
      const auto& ipi = event.as<KvmApicIpi>();
      const int64_t mode = (ipi.icr_low >> 8) & 7;
      if (mode > 1) return;  // INIT, SIPI, NMI, SMI: no vector
      cause.vector = ipi.icr_low & 0xff;
      raising_[tid] = cause;
      if (((ipi.icr_low >> 18) & 3) == 0) note_cause(vm_key_of(tid), ipi.dest_id, cause.vector, cause);
      break;
    }
    case EventKind::kvm_msi_set_irq: {
      // MSI (Intel SDM vol. 3, 10.11): address bits 12-19 the destination APIC id, data bits 0-7
      // the vector.
      const auto& msi = event.as<KvmMsiSetIrq>();
      cause.vector = msi.data & 0xff;
      raising_[tid] = cause;
      note_cause(vm_key_of(tid), (msi.address >> 12) & 0xff, cause.vector, cause);
      break;
    }
    case EventKind::kvm_set_irq:
      if (event.as<KvmSetIrq>().level == 0) return;  // the line is lowered
      raising_[tid] = cause;                         // the vector is the IOAPIC's: known at the accept
      break;
    default: break;
  }
}

void WakeModel::on_accept(const Event& event, int64_t tid) {
  if (tid < 0) return;
  const auto& accept = event.as<KvmApicAcceptIrq>();
  Cause cause;
  cause.kind = EventKind::kvm_apic_accept_irq;
  cause.ts = event.ctx.ts;
  cause.tid = tid;
  // The raise event of this thread that this accept delivers, if any.
  if (const auto it = raising_.find(tid);
      it != raising_.end() && (it->second.vector == kUnknown || it->second.vector == accept.vec))
    cause = it->second;
  note_cause(vm_key_of(tid), accept.apicid, accept.vec, cause);
}

void WakeModel::on_switch(const Event& event) {
  const auto& sw = event.as<SchedSwitch>();
  if (sw.prev_tid == sw.next_tid) return;
  if (Vcpu* prev = halted_vcpu(sw.prev_tid)) {
    prev->running = false;
    if (prev_state_is_runnable(sw.prev_state)) {
      prev->runnable_since = event.ctx.ts;
    } else {
      prev->slept = true;
      prev->runnable_since = kUnknown;
    }
  }
  if (Vcpu* next = halted_vcpu(sw.next_tid)) {
    next->running = true;
    if (next->runnable_since != kUnknown) next->runnable.emplace_back(next->runnable_since, event.ctx.ts);
    next->runnable_since = kUnknown;
  }
}

void WakeModel::on_wakeup(const Event& event) {
  Vcpu* vcpu = halted_vcpu(event.as<SchedWakeup>().tid);
  if (!vcpu) return;
  if (!vcpu->woken) {
    vcpu->woken = true;
    vcpu->wake_ts = event.ctx.ts;
    // From task context only: an interrupt handler (the expiring hrtimer of a lapic timer) runs
    // in whatever thread its CPU had, and the idle task (tid 0) is no waker.
    if (event.tid > 0 && !in_interrupt(event.ctx.cpu)) vcpu->row.waker_tid = event.tid;
  }
  if (!vcpu->running && vcpu->runnable_since == kUnknown) vcpu->runnable_since = event.ctx.ts;
}

void WakeModel::on_lost_events(int64_t cpu) {
  for (auto& [tid, vcpu] : by_tid_)
    if (vcpu.in_halt) vcpu.lost = true;
  pending_.clear();
  raising_.clear();
  if (cpu < 0)
    std::fill(irq_depth_.begin(), irq_depth_.end(), 0);
  else if (static_cast<size_t>(cpu) < irq_depth_.size())
    irq_depth_[static_cast<size_t>(cpu)] = 0;
}

void WakeModel::classify(Vcpu& vcpu, HaltRecord& row) {
  if (vcpu.lost) {
    row.reason = WakeReason::unknown;
    return;
  }
  if (row.wake_vector == kUnknown) {
    row.reason = WakeReason::none;
    return;
  }
  const Cause* cause = vcpu.has_cause ? &vcpu.cause : nullptr;
  row.reason = reason_of_vector(row.wake_vector);
  if (cause && cause->kind == EventKind::kvm_apic_ipi) {
    VcpuTracker::VcpuOfThread sender;
    if (vcpus_.describe(cause->tid, sender)) {
      row.waker_machine_id = sender.machine_id;
      row.waker_vcpu_id = sender.vcpu_id;
    }
    if (row.reason == WakeReason::unknown) row.reason = WakeReason::ipi;  // another system vector, sent as an IPI
  }
  const bool device_signal =
      cause && (cause->kind == EventKind::kvm_msi_set_irq || cause->kind == EventKind::kvm_set_irq);
  if (row.reason == WakeReason::unknown && device_signal) row.reason = WakeReason::device;
  if (row.reason == WakeReason::ipi) ++ipi_wakes_;
  if (row.reason != WakeReason::device) return;
  ++device_wakes_;
  Learned& learned = learned_[Key{row.vm_key, row.vcpu_id, row.wake_vector}];
  if (cause && cause->kind != EventKind::kvm_apic_ipi) {
    row.device_tid = cause->tid;
    const ThreadInfo* info = threads_.find(cause->tid);
    const std::string name = info ? info->name : std::string();
    row.device = name;
    // What the raising thread tells, unless the guest already named this vector.
    if (!learned.from_guest) learned = Learned{reason_of_raiser(name), name, false};
  }
  row.reason = learned.reason;
  if (learned.from_guest) row.device = learned.label;
}

void WakeModel::end_halt(Vcpu& vcpu, Timestamp ts) {
  vcpu.in_halt = false;
  HaltRecord& row = vcpu.row;
  row.dur = ts - row.ts;
  row.slept = vcpu.slept;
  classify(vcpu, row);
  // Nothing injected, but a vCPU thread woke this one: a paravirtual kick (KVM_HC_KICK_CPU, Linux's
  // arch/x86/kernel/kvm.c kvm_kick_cpu()) from that vCPU.
  VcpuTracker::VcpuOfThread waker;
  if (row.reason == WakeReason::none && row.waker_tid >= 0 && vcpus_.describe(row.waker_tid, waker)) {
    row.waker_machine_id = waker.machine_id;
    row.waker_vcpu_id = waker.vcpu_id;
  }
  // The cause's time: the IPI or device signal; else (a timer) the thread's wakeup, whose hrtimer
  // expiry is the timer's signal; else the vector's acceptance by the APIC.
  const Cause* cause = vcpu.has_cause ? &vcpu.cause : nullptr;
  if (cause && cause->kind != EventKind::kvm_apic_accept_irq)
    row.cause_ts = cause->ts;
  else if (vcpu.woken)
    row.cause_ts = vcpu.wake_ts;
  else if (cause)
    row.cause_ts = cause->ts;
  if (row.reason != WakeReason::unknown && row.reason != WakeReason::none && row.cause_ts != kUnknown &&
      row.cause_ts <= ts) {
    Timestamp wait = 0;
    for (const auto& [begin, end] : vcpu.runnable)
      wait += std::max<Timestamp>(0, std::min(end, ts) - std::max(begin, row.cause_ts));
    row.wait_cpu_dur = wait;
    row.vmm_dur = ts - row.cause_ts - wait;
  } else {
    row.cause_ts = kUnknown;
  }
  vcpu.runnable.clear();
  if (guests_.count(row.vm_key) && !vcpu.handler_seen) {
    vcpu.held = true;
    vcpu.done = std::move(row);
    return;
  }
  if (vcpu.handler_seen) {
    vcpu.done = std::move(row);
    vcpu.held = true;
    on_guest_handler(vcpu.done.vm_key, vcpu.done.vcpu_id, ts, vcpu.handler, vcpu.handler_irq_line);
    return;
  }
  sink_(row);
}

void WakeModel::release(Vcpu& vcpu) {
  if (!vcpu.held) return;
  vcpu.held = false;
  sink_(vcpu.done);
}

void WakeModel::on_guest_handler(int64_t vm_key, int64_t vcpu_id, Timestamp ts, std::string_view name, bool irq_line) {
  if (Vcpu* vcpu = awaiting_handler(vm_key, vcpu_id, ts)) take_handler(*vcpu, name, irq_line);
}

void WakeModel::on_guest_handler(int64_t vm_key, int64_t vcpu_id, Timestamp ts, const GuestHandler& handler) {
  if (Vcpu* vcpu = awaiting_handler(vm_key, vcpu_id, ts)) take_handler(*vcpu, handler.text(), handler.irq_line);
}

WakeModel::Vcpu* WakeModel::awaiting_handler(int64_t vm_key, int64_t vcpu_id, Timestamp ts) {
  const auto found = by_vcpu_.find({vm_key, vcpu_id});
  if (found == by_vcpu_.end()) return nullptr;
  Vcpu& vcpu = by_tid_[found->second];
  // In a halt: seen before the host's entry (the clocks agree only within the sync's accuracy).
  if (vcpu.in_halt) return !vcpu.handler_seen && ts >= vcpu.row.ts ? &vcpu : nullptr;
  return vcpu.held ? &vcpu : nullptr;
}

void WakeModel::take_handler(Vcpu& vcpu, std::string_view name, bool irq_line) {
  if (vcpu.in_halt) {
    vcpu.handler_seen = true;
    vcpu.handler = name;
    vcpu.handler_irq_line = irq_line;
    return;
  }
  HaltRecord& row = vcpu.done;
  row.guest_handler = std::string(name);
  // The guest names the device behind this vector: learn it for this VM's vCPU.
  if (irq_line && row.wake_vector != kUnknown && is_device_reason(reason_of_vector(row.wake_vector))) {
    Learned& learned = learned_[Key{row.vm_key, row.vcpu_id, row.wake_vector}];
    learned = Learned{reason_of_handler(name), std::string(name), true};
    if (is_device_reason(row.reason)) {
      row.reason = learned.reason;
      row.device = name;
    }
  }
  release(vcpu);
}

void WakeModel::finish(Timestamp end) {
  for (auto& [tid, vcpu] : by_tid_) {
    if (vcpu.in_halt) {
      vcpu.lost = true;  // the wake is not in the trace
      end_halt(vcpu, std::max(end, vcpu.row.ts));
    }
    release(vcpu);
  }
}

}  // namespace vm
