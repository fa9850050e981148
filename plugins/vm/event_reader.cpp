#include "event_reader.h"

#include <stdexcept>

namespace vm::bt {

EventFields locate_event_fields(const bt_event_class* event_class) {
  EventFields info;
  const char* name = bt_event_class_get_name(event_class);
  info.name = name ? name : "";
  info.kind = kind_of(info.name);
  const bt_field_class* payload = bt_event_class_borrow_payload_field_class_const(event_class);
  auto member = [&](std::string_view field) { return find_member(payload, field); };
  // One PID-namespace level of a thread: f[5..9] (both statedump layouts).
  auto namespace_members = [&] {
    const char* names[] = {"ns_level", "ns_inum", "vtid", "vpid", "vppid"};
    for (int i = 0; i < 5; ++i) info.f[5 + i] = member(names[i]);
  };
  switch (info.kind) {
    case EventKind::sched_switch:
      info.f[0] = member("prev_tid");
      info.f[1] = member("prev_state");
      info.f[2] = member("next_tid");
      info.f[3] = member("prev_comm");
      info.f[4] = member("next_comm");
      if (!(info.f[0].present() && info.f[1].present() && info.f[2].present())) info.kind = EventKind::other;
      break;
    case EventKind::sched_wakeup:
      info.f[0] = member("tid");
      info.f[1] = member("target_cpu");
      break;
    case EventKind::process_fork:
      info.f[0] = member("child_tid");
      info.f[1] = member("child_pid");
      info.f[2] = member("child_comm");
      info.f[3] = member("parent_tid");
      info.f[4] = member("parent_pid");
      info.f[5] = find_int_array_member(payload, "vtids");
      info.f[6] = member("parent_ns_inum");
      info.f[7] = member("child_ns_inum");
      break;
    case EventKind::process_exit:
    case EventKind::process_free: info.f[0] = member("tid"); break;
    case EventKind::statedump_process:
      info.f[0] = member("tid");
      info.f[1] = member("pid");
      info.f[2] = member("name");
      info.f[3] = member("type");
      info.f[4] = member("status");
      // lttng-modules 2.7-2.11: one event per namespace level (absent from 2.12 on).
      namespace_members();
      break;
    case EventKind::statedump_pid_ns:
      info.f[0] = member("tid");
      namespace_members();
      if (!(info.f[0].present() && info.f[5].present())) info.kind = EventKind::other;
      break;
    case EventKind::kvm_entry: info.f[0] = member("vcpu_id"); break;
    case EventKind::kvm_exit:
      info.f[0] = member("exit_reason");
      info.f[1] = member("isa");
      info.f[2] = member("vcpu_id");
      if (!info.f[0].present()) info.kind = EventKind::kvm_other;
      break;
    case EventKind::vmsync_gh_guest:
    case EventKind::vmsync_hg_guest:
    case EventKind::vmsync_gh_host:
    case EventKind::vmsync_hg_host:
      info.f[0] = member("cnt");
      info.f[1] = member("vm_uid");
      if (!(info.f[0].present() && info.f[1].present())) info.kind = EventKind::other;
      break;
    case EventKind::kvm_inj_virq: info.f[0] = member("irq"); break;
    case EventKind::irq_vector_entry: info.f[0] = member("vector"); break;
    default: break;
  }
  return info;
}

StreamFields locate_stream_fields(const bt_stream_class* stream_class) {
  StreamFields fields;
  fields.packet_cpu = find_member(bt_stream_class_borrow_packet_context_field_class_const(stream_class), "cpu_id");
  const bt_field_class* common = bt_stream_class_borrow_event_common_context_field_class_const(stream_class);
  fields.ctx_tid = find_member(common, "tid");
  fields.ctx_pid = find_member(common, "pid");
  fields.ctx_procname = find_member(common, "procname");
  return fields;
}

int64_t packet_cpu(const bt_packet* packet, const StreamFields& fields) {
  if (!fields.packet_cpu.present()) return kUnknown;
  const bt_field* context = bt_packet_borrow_context_field_const(packet);
  return context ? read_int(context, fields.packet_cpu) : kUnknown;
}

int64_t snapshot_ns(const bt_clock_snapshot* snapshot) {
  int64_t ns = 0;
  if (bt_clock_snapshot_get_ns_from_origin(snapshot, &ns) != BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK)
    throw std::runtime_error("a timestamp overflows 64-bit nanoseconds from the clock's origin");
  return ns;
}

EventContext read_context(const bt_event* event, int64_t ns, int64_t cpu, const StreamFields& fields) {
  EventContext ctx;
  ctx.ts = ns;
  ctx.cpu = cpu;
  if (fields.ctx_tid.present()) {
    const bt_field* common = bt_event_borrow_common_context_field_const(event);
    ctx.tid = read_int(common, fields.ctx_tid);
    ctx.pid = read_int(common, fields.ctx_pid);
    ctx.procname = read_string(common, fields.ctx_procname);
  }
  return ctx;
}

void feed_host_analysis(HostAnalysis& analysis, const EventFields& info, const EventContext& ctx,
                        const bt_event* event) {
  if (info.kind == EventKind::other || info.kind > EventKind::kvm_exit) return;
  const bt_field* payload = bt_event_borrow_payload_field_const(event);
  const FieldRef* f = info.f;
  switch (info.kind) {
    case EventKind::sched_switch:
      analysis.on_sched_switch(ctx, read_int(payload, f[0]), read_int(payload, f[1], 0), read_int(payload, f[2]),
                               read_string(payload, f[3]), read_string(payload, f[4]));
      break;
    case EventKind::sched_wakeup: analysis.on_wakeup(ctx, read_int(payload, f[0]), read_int(payload, f[1])); break;
    case EventKind::process_fork:
      analysis.on_fork(ctx, read_int(payload, f[0]), read_int(payload, f[1]), read_string(payload, f[2]));
      break;
    case EventKind::process_exit: analysis.on_process_exit(ctx, read_int(payload, f[0])); break;
    case EventKind::statedump_process:
      analysis.on_statedump_process(ctx, read_int(payload, f[0]), read_int(payload, f[1]), read_string(payload, f[2]));
      break;
    case EventKind::kvm_entry: analysis.on_kvm_entry(ctx, read_int(payload, f[0])); break;
    case EventKind::kvm_exit:
      analysis.on_kvm_exit(ctx, read_int(payload, f[0]), read_int(payload, f[1]), read_int(payload, f[2]));
      break;
    default: break;
  }
}

bool feed_kernel_model(KernelModel& model, const EventFields& info, const EventContext& ctx, int64_t tid,
                       const bt_event* event) {
  const bt_field* payload = nullptr;
  auto payload_int = [&](int index, int64_t fallback = kUnknown) {
    if (!payload) payload = bt_event_borrow_payload_field_const(event);
    return read_int(payload, info.f[index], fallback);
  };
  switch (info.kind) {
    case EventKind::sched_switch:
      model.on_switch(ctx.ts, ctx.cpu, payload_int(0), payload_int(1, 0), payload_int(2));
      return true;
    case EventKind::sched_wakeup: model.on_wakeup(ctx.ts, payload_int(0)); return false;
    case EventKind::syscall_entry:
    case EventKind::syscall_exit:
      model.on_syscall(ctx.ts, ctx.cpu, tid, info.kind == EventKind::syscall_entry);
      return true;
    case EventKind::irq_entry:
    case EventKind::irq_vector_entry:
    case EventKind::irq_exit:
    case EventKind::irq_vector_exit:
      model.on_irq(ctx.ts, ctx.cpu, info.kind == EventKind::irq_entry || info.kind == EventKind::irq_vector_entry);
      return true;
    case EventKind::softirq_entry:
    case EventKind::softirq_exit: model.on_softirq(ctx.ts, ctx.cpu, info.kind == EventKind::softirq_entry); return true;
    case EventKind::process_fork: {
      thread_local std::vector<int64_t> vtids;
      payload = bt_event_borrow_payload_field_const(event);
      read_int_array(payload, info.f[5], vtids);
      model.on_fork(ctx.ts, payload_int(3), payload_int(4), payload_int(0), payload_int(1), vtids, payload_int(6),
                    payload_int(7));
      return false;
    }
    case EventKind::process_free: model.on_thread_free(ctx.ts, payload_int(0)); return true;
    case EventKind::kvm_entry:
    case EventKind::kvm_exit: model.on_kernel_mode(ctx.ts, tid); return true;
    case EventKind::statedump_process:
      model.on_statedump_process(ctx.ts, payload_int(0), payload_int(3), payload_int(4));
      [[fallthrough]];
    case EventKind::statedump_pid_ns:
      if (info.f[5].present())
        model.on_pid_ns(ctx.ts, payload_int(0), payload_int(5), payload_int(6), payload_int(7), payload_int(8),
                        payload_int(9));
      return true;
    default: return false;
  }
}

}  // namespace vm::bt
