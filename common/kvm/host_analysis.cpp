// SPDX-License-Identifier: MIT
#include "kvm/host_analysis.h"

namespace vm {

HostAnalysis::HostAnalysis(MachineRegistry& machines, int64_t machine_id, VcpuListener& listener)
    : machine_id_(machine_id), vcpus_(machines, machine_id, threads_, listener) {}

void HostAnalysis::start(Timestamp ts) {
  saw_events_ = true;
  first_ts_ = ts;
  vcpus_.set_trace_start(ts);
}

void HostAnalysis::note_context_thread(const EventContext& ctx) {
  if (ctx.cpu < 0) {
    threads_.note_pid(ctx.tid, ctx.pid);
    return;
  }
  const auto cpu = static_cast<size_t>(ctx.cpu);
  if (cpu >= last_context_tid_.size()) last_context_tid_.resize(cpu + 1, kUnknown);
  if (last_context_tid_[cpu] == ctx.tid) return;
  last_context_tid_[cpu] = ctx.tid;
  threads_.note_pid(ctx.tid, ctx.pid);
  threads_.note_name(ctx.tid, ctx.procname);
}

void HostAnalysis::on_sched_switch(const EventContext& ctx, int64_t prev_tid, int64_t prev_state, int64_t next_tid,
                                   std::string_view prev_comm, std::string_view next_comm) {
  threads_.note_name(prev_tid, prev_comm);
  threads_.note_name(next_tid, next_comm);
  threads_.set_current(ctx.cpu, next_tid);
  vcpus_.on_sched_switch(ctx.ts, ctx.cpu, prev_tid, prev_state_is_runnable(prev_state), next_tid);
}

void HostAnalysis::on_wakeup(const EventContext& ctx, int64_t tid, int64_t target_cpu) {
  vcpus_.on_wakeup(ctx.ts, tid, target_cpu, threads_.current(target_cpu));
}

void HostAnalysis::on_fork(const EventContext&, int64_t child_tid, int64_t child_pid, std::string_view child_comm) {
  threads_.note_pid(child_tid, child_pid);
  threads_.note_name(child_tid, child_comm);
}

void HostAnalysis::on_process_exit(const EventContext& ctx, int64_t tid) {
  vcpus_.on_thread_exit(ctx.ts, tid);
}

void HostAnalysis::on_statedump_process(const EventContext&, int64_t tid, int64_t pid, std::string_view name) {
  threads_.note_pid(tid, pid);
  threads_.note_name(tid, name);
}

void HostAnalysis::on_kvm_entry(const EventContext& ctx, int64_t vcpu_id_field) {
  vcpus_.on_kvm_entry(ctx.ts, ctx.cpu, thread_of(ctx), vcpu_id_field);
}

void HostAnalysis::on_kvm_exit(const EventContext& ctx, int64_t exit_reason, int64_t isa_field, int64_t vcpu_id_field) {
  vcpus_.on_kvm_exit(ctx.ts, ctx.cpu, thread_of(ctx), exit_reason,
                     isa_field < 0 ? VirtIsa::unknown : isa_from_field(static_cast<uint64_t>(isa_field)),
                     vcpu_id_field);
}

void HostAnalysis::on_lost_events(Timestamp begin, Timestamp /*end*/, int64_t cpu) {
  // Whatever was switched on that CPU meanwhile is unknown.
  if (cpu >= 0) threads_.forget_current(cpu);
  if (cpu >= 0 && static_cast<size_t>(cpu) < last_context_tid_.size())
    last_context_tid_[static_cast<size_t>(cpu)] = kUnknown;
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
      on_sched_switch(ctx, e.prev_tid, e.prev_state, e.next_tid, e.prev_comm, e.next_comm);
      break;
    }
    case EventKind::sched_wakeup: {
      const auto& e = event.as<SchedWakeup>();
      on_wakeup(ctx, e.tid, e.target_cpu);
      break;
    }
    case EventKind::process_fork: {
      const auto& e = event.as<ProcessFork>();
      on_fork(ctx, e.child_tid, e.child_pid, e.child_comm);
      break;
    }
    case EventKind::process_exit: on_process_exit(ctx, event.as<ThreadEnd>().tid); break;
    case EventKind::statedump_process: {
      const auto& e = event.as<StatedumpProcess>();
      on_statedump_process(ctx, e.tid, e.pid, e.name);
      break;
    }
    case EventKind::kvm_entry: on_kvm_entry(ctx, event.as<KvmEntry>().vcpu_id); break;
    case EventKind::kvm_exit: {
      const auto& e = event.as<KvmExit>();
      on_kvm_exit(ctx, e.exit_reason, e.isa, e.vcpu_id);
      break;
    }
    case EventKind::kvm_nested_vmenter: vcpus_.on_nested_vmenter(ctx.ts, thread_of(ctx)); break;
    case EventKind::kvm_nested_vmexit:
    case EventKind::kvm_nested_vmexit_inject: {
      const auto& e = event.as<KvmNestedVmexit>();
      const VirtIsa isa = e.isa < 0 ? VirtIsa::unknown : isa_from_field(static_cast<uint64_t>(e.isa));
      if (event.kind == EventKind::kvm_nested_vmexit)
        vcpus_.on_nested_vmexit(ctx.ts, thread_of(ctx), e.exit_code, isa);
      else
        vcpus_.on_nested_vmexit_inject(ctx.ts, thread_of(ctx), e.exit_code, isa);
      break;
    }
    default: break;
  }
}

}  // namespace vm
