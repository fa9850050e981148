// SPDX-License-Identifier: MIT
#pragma once
// Why a halted vCPU woke up, from the host's KVM events alone (after Nemati's host-only wait
// analysis, NEM vmblock/handlers/KvmInjIrqHandler.java and KvmApicAcceptIrqHandler.java): one
// HaltRecord per HLT exit of a vCPU thread, to its next kvm_x86_entry.
//
// The first vector injected during the halt (kvm_x86_inj_virq) names the wake: the guest's local
// APIC timer (236; 239 on guests before Linux 4.15), an IPI (251-253: call-function-single,
// call-function, reschedule; Linux's arch/x86/include/asm/irq_vectors.h), or a device vector.
// Its cause is the signal that put the vector into the vCPU's APIC: kvm_x86_apic_ipi (icr_low,
// dest_id) in the sending vCPU's thread, kvm_msi_set_irq (address, data) or kvm_set_irq (gsi,
// level) in the thread of the device model (QEMU's main loop or an iothread, a vhost worker),
// each followed in the same thread by kvm_x86_apic_accept_irq (apicid, vec) per destination.
// APIC ids are taken as vCPU indexes (QEMU's default x86 topology numbers them alike).

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "analysis/wake/wake_vectors.h"
#include "kernel/sched_state.h"
#include "base/types.h"
#include "events/events.h"
#include "kvm/vcpu_tracker.h"

namespace vm {

struct HaltRecord {
  Timestamp ts = 0, dur = 0;
  int64_t machine_id = kUnknown, vcpu_id = kUnknown, host_tid = kUnknown, vm_key = kUnknown;
  bool slept = false;
  int64_t wake_vector = kUnknown;
  WakeReason reason = WakeReason::none;
  int64_t waker_tid = kUnknown, waker_machine_id = kUnknown, waker_vcpu_id = kUnknown;
  std::string device;  // the raising thread's name, or the guest's handler name once learned
  int64_t device_tid = kUnknown;
  Timestamp inject_ts = kUnknown, cause_ts = kUnknown;
  int64_t wait_cpu_dur = kUnknown, vmm_dur = kUnknown;
  std::string guest_handler;  // fused runs
};

// The halts of one host's vCPU threads. Feed it every decoded event of the host (after the
// vCPU tracker saw it: the tracker says which thread is which vCPU).
class WakeModel {
 public:
  using Sink = std::function<void(HaltRecord&)>;
  WakeModel(const VcpuTracker& vcpus, const SchedState& threads, Sink sink);
  ~WakeModel();
  WakeModel(const WakeModel&) = delete;
  WakeModel& operator=(const WakeModel&) = delete;
  // VM `vm_key` has its guest trace fused in: each of its finished halts is held until the
  // guest's first handler after it, another vector's injection, or the vCPU's next halt.
  void await_guest(int64_t vm_key) { guests_.insert(vm_key); }

  void on_event(const Event& event);
  // Lost events (on any CPU): every halt in progress becomes `unknown`, the pending signals and
  // the interrupt context of `cpu` are forgotten.
  void on_lost_events(int64_t cpu);
  // The guest of VM `vm_key` entered interrupt handler `name` on its CPU `vcpu` at `ts` (fused
  // runs; `irq_line`: an IRQ line's handler, else an x86 vector's). The first one after a halt's
  // HLT exit is that halt's guest_handler, unless the host injects another vector into the vCPU
  // first: then the wake brought no interrupt (kNoHandler).
  static constexpr std::string_view kNoHandler = "(none)";
  void on_guest_handler(int64_t vm_key, int64_t vcpu, Timestamp ts, std::string_view name, bool irq_line);
  // The same, naming the handler only when a halt takes it.
  void on_guest_handler(int64_t vm_key, int64_t vcpu, Timestamp ts, const GuestHandler& handler);
  // End of input: halts still open become `unknown` rows ending at `end`; held rows are written.
  void finish(Timestamp end);

  uint64_t halts() const { return halts_; }
  // How many events of `kind` (kvm_inj_virq, kvm_apic_ipi, kvm_apic_accept_irq, kvm_msi_set_irq,
  // kvm_set_irq) this host had.
  uint64_t seen(EventKind kind) const;
  uint64_t ipi_wakes() const { return ipi_wakes_; }
  uint64_t device_wakes() const { return device_wakes_; }

 private:
  struct Cause {
    EventKind kind = EventKind::other;  // kvm_apic_ipi, kvm_msi_set_irq, kvm_set_irq, kvm_apic_accept_irq
    Timestamp ts = 0;
    int64_t tid = kUnknown;  // the thread that raised it
    int64_t vector = kUnknown;
  };
  struct Learned {
    WakeReason reason = WakeReason::device;
    std::string label;
    bool from_guest = false;  // the guest's handler name (else the raising host thread's name)
  };
  struct Vcpu;
  using Key = std::tuple<int64_t, int64_t, int64_t>;  // (vm_key, vCPU or APIC id, vector)

  Vcpu* halted_vcpu(int64_t tid);
  void on_exit(const Event& event, int64_t tid);
  void on_entry(const Event& event, int64_t tid);
  void on_inject(const Event& event, int64_t tid);
  void on_raise(const Event& event, int64_t tid);
  void on_accept(const Event& event, int64_t tid);
  void on_switch(const Event& event);
  void on_wakeup(const Event& event);
  void note_cause(int64_t vm_key, int64_t apicid, int64_t vector, const Cause& cause);
  int64_t vm_key_of(int64_t tid) const;
  void classify(Vcpu& vcpu, HaltRecord& row);
  void end_halt(Vcpu& vcpu, Timestamp ts);
  void release(Vcpu& vcpu);
  // The vCPU whose halt takes a guest handler seen at `ts` (nullptr: none waits for one).
  Vcpu* awaiting_handler(int64_t vm_key, int64_t vcpu_id, Timestamp ts);
  void take_handler(Vcpu& vcpu, std::string_view name, bool irq_line);
  bool in_interrupt(int64_t cpu) const;

  const VcpuTracker& vcpus_;
  const SchedState& threads_;
  Sink sink_;
  std::set<int64_t> guests_;                                // VMs whose guest trace is fused in
  std::map<int64_t, Vcpu> by_tid_;                          // vCPU threads seen halting
  std::map<std::pair<int64_t, int64_t>, int64_t> by_vcpu_;  // (vm_key, vCPU) -> tid
  std::unordered_map<int64_t, Cause> raising_;              // per thread: its last raise event
  std::map<Key, Cause> pending_;                            // (vm_key, APIC id, vector) -> last cause
  std::map<Key, Learned> learned_;                          // (vm_key, vCPU, vector) -> device
  std::vector<int> irq_depth_;                              // per host CPU: nested handlers
  uint64_t halts_ = 0, ipi_wakes_ = 0, device_wakes_ = 0;
  uint64_t seen_[5] = {};  // kvm_inj_virq, kvm_apic_ipi, kvm_apic_accept_irq, kvm_msi_set_irq, kvm_set_irq
};

}  // namespace vm
