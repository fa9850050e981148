// SPDX-License-Identifier: MIT
#pragma once
// Everything the core learns from one host trace about its vCPUs. The machine's threads and the
// current thread of each CPU are its SchedState (common/kernel/sched_state.h), which the caller
// updates before each event reaches this analysis.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/events.h"
#include "base/machine_registry.h"
#include "base/types.h"
#include "kernel/sched_state.h"
#include "kvm/vcpu_tracker.h"

namespace vm {

class HostAnalysis {
 public:
  // `sched`: the machine's scheduler state, read only.
  HostAnalysis(MachineRegistry& machines, int64_t machine_id, const SchedState& sched, VcpuListener& listener);

  int64_t machine_id() const { return machine_id_; }
  const SchedState& sched() const { return sched_; }
  const VcpuTracker& vcpus() const { return vcpus_; }
  Timestamp first_ts() const { return first_ts_; }
  Timestamp last_ts() const { return last_ts_; }
  bool saw_events() const { return saw_events_; }

  // Called for every event before its specific handler.
  void on_event(const EventContext& ctx) {
    if (!saw_events_) start(ctx.ts);
    last_ts_ = ctx.ts;
  }

  void on_sched_switch(const EventContext& ctx, int64_t prev_tid, int64_t prev_state, int64_t next_tid);
  void on_wakeup(const EventContext& ctx, int64_t tid, int64_t target_cpu);
  void on_process_exit(const EventContext& ctx, int64_t tid);
  void on_kvm_entry(const EventContext& ctx, int64_t vcpu_id_field);
  void on_kvm_exit(const EventContext& ctx, int64_t exit_reason, int64_t isa_field, int64_t vcpu_id_field);
  // A decoded scheduler, process or KVM event: calls the handler of its kind (others are ignored).
  void on_decoded(const Event& event);
  // Discarded events from `begin`: every vCPU of this host is unknown until its next event.
  void on_lost_events(Timestamp begin);

  void finish();
  void set_vcpu_observer(VcpuStateObserver* observer) { vcpus_.set_observer(observer); }
  // The input trace's name, for the vCPU tracker's diagnostics.
  void set_trace_name(std::string name) { vcpus_.set_trace_name(std::move(name)); }
  // See VcpuTracker::adopt_vm().
  void adopt_vm(int64_t pid, int64_t machine_id) { vcpus_.adopt_vm(pid, machine_id); }
  void on_guest_status(Timestamp ts, int64_t vm_key, int64_t vcpu_id, bool running) {
    vcpus_.on_guest_status(ts, vm_key, vcpu_id, running);
  }
  // Closes the intervals at `end` instead of this trace's last event (fused runs end together).
  void finish_at(Timestamp end) {
    if (saw_events_) vcpus_.finish(std::max(end, last_ts_));
  }

 private:
  void start(Timestamp ts);

  int64_t machine_id_;
  const SchedState& sched_;
  VcpuTracker vcpus_;
  Timestamp first_ts_ = 0;
  Timestamp last_ts_ = 0;
  bool saw_events_ = false;
};

}  // namespace vm
