// SPDX-License-Identifier: MIT
#include "event_reader.h"

#include <stdexcept>

#include "tcp_header.h"

namespace vm::bt {

EventFields locate_event_fields(const bt_event_class* event_class) {
  EventFields info;
  const char* name = bt_event_class_get_name(event_class);
  info.name = name ? name : "";
  info.kind = kind_of(info.name);
  info.layout_ = layout_of(info.kind);
  if (!info.layout_) return info;
  const bt_field_class* payload = bt_event_class_borrow_payload_field_class_const(event_class);
  const size_t count = info.layout_->field_count();
  info.field_count_ = static_cast<uint8_t>(count);
  for (size_t i = 0; i < count; ++i) {
    const FieldSpec& spec = info.layout_->fields[i];
    info.located_[i] =
        spec.type == FieldType::int_array ? find_int_array_member(payload, spec.name) : find_member(payload, spec.name);
    // An integer field typed string (or a string typed integer) is as good as absent.
    const bool mistyped = info.located_[i].present() && info.located_[i].is_string != (spec.type == FieldType::string) &&
                          spec.type != FieldType::int_array;
    if (mistyped) info.located_[i] = FieldRef();
    const bool absent = !info.located_[i].present();
    if (absent && (spec.required || missing_field_effect(info.kind, spec.name)))
      info.missing = "event " + info.name + " has no " + (spec.type == FieldType::string ? "string" : "integer") +
                     " field `" + spec.name + "`" + (mistyped ? " (it is mistyped)" : "") + ": " +
                     (spec.required ? std::string("its events are ignored")
                                    : std::string(missing_field_effect(info.kind, spec.name))) +
                     ". Record it with: lttng enable-event --kernel " + info.name;
    if (spec.required && !info.located_[i].present()) {
      info.kind = info.layout_->incomplete_kind;
      info.layout_ = layout_of(info.kind);
      info.field_count_ = 0;  // an incomplete layout's kind (other, kvm_other) reads no field
      // Keep no located field of a layout that no longer applies.
      for (FieldRef& ref : info.located_) ref = FieldRef();
      return info;
    }
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

int64_t packet_cpu(const bt_packet* packet, const StreamFields& fields, int64_t* implausible) {
  if (!fields.packet_cpu.present()) return kUnknown;
  const bt_field* context = bt_packet_borrow_context_field_const(packet);
  const int64_t cpu = context ? read_int(context, fields.packet_cpu) : kUnknown;
  if (cpu == kUnknown || (cpu >= 0 && cpu <= kMaxCpuId)) return cpu;
  if (implausible) *implausible = cpu;
  return kUnknown;
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

void decode_event(const EventFields& info, const EventContext& ctx, const bt_event* event, Event& out) {
  out.kind = info.kind;
  out.ctx = ctx;
  out.tid = kUnknown;
  out.name = info.name;
  if (!info.layout_) {
    out.payload = std::monostate{};
    return;
  }
  thread_local std::vector<int64_t> array;
  RawFields raw;
  const size_t count = info.field_count_;
  const bt_field* payload = count ? bt_event_borrow_payload_field_const(event) : nullptr;
  for (size_t i = 0; i < count; ++i) {
    const FieldSpec& spec = info.layout_->fields[i];
    raw.present[i] = info.located_[i].present();
    raw.value[i] = spec.fallback;
    raw.text[i] = {nullptr, 0};
    switch (spec.type) {
      case FieldType::integer: raw.value[i] = read_int(payload, info.located_[i], spec.fallback); break;
      case FieldType::string: {
        const std::string_view text = read_string(payload, info.located_[i]);
        raw.text[i] = {text.data(), text.size()};
        break;
      }
      case FieldType::int_array:
        read_int_array(payload, info.located_[i], array);
        raw.array = &array;
        break;
    }
  }
  out.payload = make_payload(info.kind, raw);
  // A network event's TCP key: nested in lttng-modules' headers, or at the top level of the addon
  // events (tcp_header.h), each value bounded. Without one, has_tcp stays false.
  if (info.kind == EventKind::net_send || info.kind == EventKind::net_receive) {
    NetPacket& packet = std::get<NetPacket>(out.payload);
    TcpKey key;
    packet.has_tcp = read_tcp_key(payload, key);
    packet.seq = packet.has_tcp ? key.seq : 0;
    packet.ack_seq = packet.has_tcp ? key.ack_seq : 0;
    packet.flags = packet.has_tcp ? key.flags : 0;
  }
}

}  // namespace vm::bt
