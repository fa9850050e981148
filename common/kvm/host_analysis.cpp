// SPDX-License-Identifier: MIT
#include "kvm/host_analysis.h"

namespace vm {

HostAnalysis::HostAnalysis(MachineRegistry& machines, int64_t machine_id, const SchedState& sched,
                           VcpuListener& listener)
    : machine_id_(machine_id), sched_(sched), vcpus_(machines, machine_id, sched, listener) {}

void HostAnalysis::start(Timestamp ts) {
  saw_events_ = true;
  first_ts_ = ts;
  vcpus_.set_trace_start(ts);
}

void HostAnalysis::on_sched_switch(const EventContext& ctx, int64_t prev_tid, int64_t prev_state, int64_t next_tid) {
  vcpus_.on_sched_switch(ctx.ts, ctx.cpu, prev_tid, prev_state_is_runnable(prev_state), next_tid);
}

void HostAnalysis::on_wakeup(const EventContext& ctx, int64_t tid, int64_t target_cpu) {
  vcpus_.on_wakeup(ctx.ts, tid, target_cpu, sched_.current(target_cpu));
}

void HostAnalysis::on_process_exit(const EventContext& ctx, int64_t tid) {
  vcpus_.on_thread_exit(ctx.ts, tid);
}

void HostAnalysis::on_kvm_entry(const EventContext& ctx, int64_t vcpu_id_field) {
  vcpus_.on_kvm_entry(ctx.ts, ctx.cpu, sched_.thread_of(ctx), vcpu_id_field);
}

void HostAnalysis::on_kvm_exit(const EventContext& ctx, int64_t exit_reason, int64_t isa_field, int64_t vcpu_id_field) {
  vcpus_.on_kvm_exit(ctx.ts, ctx.cpu, sched_.thread_of(ctx), exit_reason,
                     isa_field < 0 ? VirtIsa::unknown : isa_from_field(static_cast<uint64_t>(isa_field)),
                     vcpu_id_field);
}

void HostAnalysis::on_lost_events(Timestamp begin) {
  vcpus_.on_lost_events(begin);
}

void HostAnalysis::finish() {
  if (saw_events_) vcpus_.finish(last_ts_);
}

void HostAnalysis::on_decoded(const Event& event) {
  const EventContext& ctx = event.ctx;
  switch (event.kind) {
    case EventKind::sched_switch: {
      const auto& e = event.as<SchedSwitch>();
      on_sched_switch(ctx, e.prev_tid, e.prev_state, e.next_tid);
      break;
    }
    case EventKind::sched_wakeup: {
      const auto& e = event.as<SchedWakeup>();
      on_wakeup(ctx, e.tid, e.target_cpu);
      break;
    }
    case EventKind::process_exit: on_process_exit(ctx, event.as<ThreadEnd>().tid); break;
    case EventKind::kvm_entry: on_kvm_entry(ctx, event.as<KvmEntry>().vcpu_id); break;
    case EventKind::kvm_exit: {
      const auto& e = event.as<KvmExit>();
      on_kvm_exit(ctx, e.exit_reason, e.isa, e.vcpu_id);
      break;
    }
    case EventKind::kvm_nested_vmenter: vcpus_.on_nested_vmenter(ctx.ts, sched_.thread_of(ctx)); break;
    case EventKind::kvm_nested_vmexit:
    case EventKind::kvm_nested_vmexit_inject: {
      const auto& e = event.as<KvmNestedVmexit>();
      const VirtIsa isa = e.isa < 0 ? VirtIsa::unknown : isa_from_field(static_cast<uint64_t>(e.isa));
      if (event.kind == EventKind::kvm_nested_vmexit)
        vcpus_.on_nested_vmexit(ctx.ts, sched_.thread_of(ctx), e.exit_code, isa);
      else
        vcpus_.on_nested_vmexit_inject(ctx.ts, sched_.thread_of(ctx), e.exit_code, isa);
      break;
    }
    default: break;
  }
}

}  // namespace vm
