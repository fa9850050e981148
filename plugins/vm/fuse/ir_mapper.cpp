// SPDX-License-Identifier: MIT
#include "fuse/ir_mapper.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "fuse/ir_fields.h"

namespace vm::fuse {

// One output trace class per input trace class, with its copied field classes.
struct IrMapper::TraceClassMap : TraceClassCopy {};

IrMapper::IrMapper(bt_self_message_iterator* self) : self_(self) {}

IrMapper::~IrMapper() = default;  // the owning handles put every reference

bt_self_component* IrMapper::component() {
  return bt_self_message_iterator_borrow_component(self_);
}

void IrMapper::reset() {
  sync_streams_.clear();
  streams_.clear();
  traces_.clear();
  event_classes_.clear();
  stream_classes_.clear();
  trace_classes_.clear();
  last_event_class_ = nullptr;
  last_out_event_class_ = nullptr;
  last_stream_ = nullptr;
  last_stream_map_ = nullptr;
}

void IrMapper::set_trace_environment(const bt_trace* in_trace,
                                     const std::vector<std::pair<std::string, std::string>>& extra) {
  extra_env_[in_trace] = extra;
}

uint64_t IrMapper::cycles(int64_t ns) {
  // The output clock counts ns from the Unix epoch; it cannot go before it.
  if (ns < 0)
    throw std::runtime_error("a synchronized time falls before the Unix epoch (" + std::to_string(ns) + " ns)");
  return static_cast<uint64_t>(ns);
}

IrMapper::TraceClassMap& IrMapper::trace_class_map(const bt_trace_class* in) {
  auto& slot = trace_classes_[in];
  if (!slot) {
    auto map = std::make_unique<TraceClassMap>();
    map->owned = created(bt_trace_class_create(component()), "a trace class");
    map->out = map->owned.get();
    bt_trace_class_set_assigns_automatic_stream_class_id(map->out, BT_FALSE);
    slot = std::move(map);
  }
  return *slot;
}

// vm_machine, vm_layer, vm_vcpu, vm_pcpu, at the end of a common context.
void IrMapper::append_tag_members(bt_trace_class* trace_class, bt_field_class* common) {
  const auto machine = created(bt_field_class_string_create(trace_class), "a string field class");
  const auto layer = created(bt_field_class_integer_unsigned_create(trace_class), "an integer field class");
  const auto vcpu = created(bt_field_class_integer_signed_create(trace_class), "an integer field class");
  const auto pcpu = created(bt_field_class_integer_signed_create(trace_class), "an integer field class");
  bt_field_class_integer_set_field_value_range(layer.get(), 8);
  append_member(common, "vm_machine", machine.get());
  append_member(common, "vm_layer", layer.get());
  append_member(common, "vm_vcpu", vcpu.get());
  append_member(common, "vm_pcpu", pcpu.get());
}

void IrMapper::set_tags(bt_field* common, uint64_t index, const EventTags& tags) {
  set(bt_field_string_set_value(bt_field_structure_borrow_member_field_by_index(common, index), tags.machine));
  bt_field_integer_unsigned_set_value(bt_field_structure_borrow_member_field_by_index(common, index + 1), tags.layer);
  bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(common, index + 2), tags.vcpu);
  bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(common, index + 3), tags.pcpu);
}

IrMapper::StreamClassMap& IrMapper::stream_class_map(const bt_stream_class* in) {
  auto found = stream_classes_.find(in);
  if (found != stream_classes_.end()) return found->second;
  if (!clock_) {
    bt::Ref<bt_clock_class> clock = created(bt_clock_class_create(component()), "the output clock class");
    bt_clock_class_set_name(clock.get(), "vm_reference");
    bt_clock_class_set_description(clock.get(),
                                   "filter.vm.fuse: ns from the Unix epoch in the reference machine's clock");
    bt_clock_class_set_frequency(clock.get(), 1'000'000'000);
    bt_clock_class_set_offset(clock.get(), 0, 0);
    bt_clock_class_set_origin_is_unix_epoch(clock.get(), BT_TRUE);
    clock_ = std::move(clock);
  }
  TraceClassMap& trace_class = trace_class_map(bt_stream_class_borrow_trace_class_const(in));
  StreamClassMap map;
  const bt::Ref<bt_stream_class> out =
      created(bt_stream_class_create_with_id(trace_class.out, bt_stream_class_get_id(in)), "a stream class");
  if (const char* name = bt_stream_class_get_name(in)) bt_stream_class_set_name(out.get(), name);
  bt_stream_class_set_default_clock_class(out.get(), clock_.get());
  bt_stream_class_set_assigns_automatic_event_class_id(out.get(), BT_FALSE);
  bt_stream_class_set_assigns_automatic_stream_id(out.get(), BT_FALSE);
  map.has_packets = bt_stream_class_supports_packets(in);
  bt_stream_class_set_supports_packets(out.get(), bt_stream_class_supports_packets(in),
                                       bt_stream_class_packets_have_beginning_default_clock_snapshot(in),
                                       bt_stream_class_packets_have_end_default_clock_snapshot(in));
  bt_stream_class_set_supports_discarded_events(out.get(), bt_stream_class_supports_discarded_events(in),
                                                bt_stream_class_discarded_events_have_default_clock_snapshots(in));
  bt_stream_class_set_supports_discarded_packets(out.get(), bt_stream_class_supports_discarded_packets(in),
                                                 bt_stream_class_discarded_packets_have_default_clock_snapshots(in));
  Roots roots;
  roots.scope[BT_FIELD_PATH_SCOPE_PACKET_CONTEXT] = bt_stream_class_borrow_packet_context_field_class_const(in);
  roots.scope[BT_FIELD_PATH_SCOPE_EVENT_COMMON_CONTEXT] =
      bt_stream_class_borrow_event_common_context_field_class_const(in);
  if (const bt_field_class* packet = roots.scope[BT_FIELD_PATH_SCOPE_PACKET_CONTEXT])
    set(bt_stream_class_set_packet_context_field_class(out.get(), trace_class.copy(packet, roots).get()));
  bt::Ref<bt_field_class> common;
  if (const bt_field_class* in_common = roots.scope[BT_FIELD_PATH_SCOPE_EVENT_COMMON_CONTEXT]) {
    common = trace_class.copy(in_common, roots);
    map.tag_index = bt_field_class_structure_get_member_count(in_common);
  } else {
    common = created(bt_field_class_structure_create(trace_class.out), "a structure");
  }
  append_tag_members(trace_class.out, common.get());
  set(bt_stream_class_set_event_common_context_field_class(out.get(), common.get()));
  map.out = out.get();  // owned by the trace class once `out` is put
  return stream_classes_.emplace(in, map).first->second;
}

bt_event_class* IrMapper::event_class_map(const bt_event_class* in) {
  if (in == last_event_class_) return last_out_event_class_;
  auto found = event_classes_.find(in);
  if (found == event_classes_.end()) {
    const bt_stream_class* in_stream_class = bt_event_class_borrow_stream_class_const(in);
    StreamClassMap& stream_class = stream_class_map(in_stream_class);
    TraceClassMap& trace_class = trace_class_map(bt_stream_class_borrow_trace_class_const(in_stream_class));
    const bt::Ref<bt_event_class> out =
        created(bt_event_class_create_with_id(stream_class.out, bt_event_class_get_id(in)), "an event class");
    if (const char* name = bt_event_class_get_name(in)) bt_event_class_set_name(out.get(), name);
    bt_event_class_log_level level;
    if (bt_event_class_get_log_level(in, &level) == BT_PROPERTY_AVAILABILITY_AVAILABLE)
      bt_event_class_set_log_level(out.get(), level);
    if (const char* uri = bt_event_class_get_emf_uri(in)) bt_event_class_set_emf_uri(out.get(), uri);
    Roots roots;
    roots.scope[BT_FIELD_PATH_SCOPE_PACKET_CONTEXT] =
        bt_stream_class_borrow_packet_context_field_class_const(in_stream_class);
    roots.scope[BT_FIELD_PATH_SCOPE_EVENT_COMMON_CONTEXT] =
        bt_stream_class_borrow_event_common_context_field_class_const(in_stream_class);
    roots.scope[BT_FIELD_PATH_SCOPE_EVENT_SPECIFIC_CONTEXT] =
        bt_event_class_borrow_specific_context_field_class_const(in);
    roots.scope[BT_FIELD_PATH_SCOPE_EVENT_PAYLOAD] = bt_event_class_borrow_payload_field_class_const(in);
    if (const bt_field_class* context = roots.scope[BT_FIELD_PATH_SCOPE_EVENT_SPECIFIC_CONTEXT])
      set(bt_event_class_set_specific_context_field_class(out.get(), trace_class.copy(context, roots).get()));
    if (const bt_field_class* payload = roots.scope[BT_FIELD_PATH_SCOPE_EVENT_PAYLOAD])
      set(bt_event_class_set_payload_field_class(out.get(), trace_class.copy(payload, roots).get()));
    found = event_classes_.emplace(in, EventClassMap{out.get()}).first;  // owned by its stream class
  }
  last_event_class_ = in;
  last_out_event_class_ = found->second.out;
  return found->second.out;
}

bt_trace* IrMapper::trace_map(const bt_trace* in) {
  auto found = traces_.find(in);
  if (found != traces_.end()) return found->second.get();
  TraceClassMap& trace_class = trace_class_map(bt_trace_borrow_class_const(in));
  bt::Ref<bt_trace> out = created(bt_trace_create(trace_class.out), "a trace");
  if (const char* name = bt_trace_get_name(in)) bt_trace_set_name(out.get(), name);
  if (const uint8_t* uuid = bt_trace_get_uuid(in)) bt_trace_set_uuid(out.get(), uuid);
  for (uint64_t i = 0; i < bt_trace_get_environment_entry_count(in); ++i) {
    const char* name = nullptr;
    const bt_value* value = nullptr;
    bt_trace_borrow_environment_entry_by_index_const(in, i, &name, &value);
    if (bt_value_is_string(value))
      set(bt_trace_set_environment_entry_string(out.get(), name, bt_value_string_get(value)));
    else if (bt_value_is_signed_integer(value))
      set(bt_trace_set_environment_entry_integer(out.get(), name, bt_value_integer_signed_get(value)));
  }
  for (const auto& [key, value] : extra_env_[in])
    set(bt_trace_set_environment_entry_string(out.get(), key.c_str(), value.c_str()));
  return traces_.emplace(in, std::move(out)).first->second.get();
}

IrMapper::StreamMap& IrMapper::stream_map(const bt_stream* in) {
  if (in == last_stream_) return *last_stream_map_;
  auto found = streams_.find(in);
  if (found == streams_.end()) {
    StreamMap map;
    map.stream_class = &stream_class_map(bt_stream_borrow_class_const(in));
    map.out = created(bt_stream_create_with_id(map.stream_class->out, trace_map(bt_stream_borrow_trace_const(in)),
                                               bt_stream_get_id(in)),
                      "a stream");
    if (const char* name = bt_stream_get_name(in)) set(bt_stream_set_name(map.out.get(), name));
    found = streams_.emplace(in, std::move(map)).first;
  }
  last_stream_ = in;
  last_stream_map_ = &found->second;
  return found->second;
}

IrMapper::Message IrMapper::stream_beginning(const bt_message* in) {
  StreamMap& stream = stream_map(bt_message_stream_beginning_borrow_stream_const(in));
  return Message::adopt(
      check(bt_message_stream_beginning_create(self_, stream.out.get()), "a stream beginning message"));
}

IrMapper::Message IrMapper::stream_end(const bt_message* in) {
  const bt_stream* in_stream = bt_message_stream_end_borrow_stream_const(in);
  StreamMap& stream = stream_map(in_stream);
  Message out = Message::adopt(check(bt_message_stream_end_create(self_, stream.out.get()), "a stream end message"));
  // The stream is over: let its objects go (they live on in the messages downstream).
  streams_.erase(in_stream);
  last_stream_ = nullptr;
  last_stream_map_ = nullptr;
  return out;
}

IrMapper::Message IrMapper::packet_beginning(const bt_message* in, int64_t out_ns) {
  const bt_packet* in_packet = bt_message_packet_beginning_borrow_packet_const(in);
  StreamMap& stream = stream_map(bt_packet_borrow_stream_const(in_packet));
  stream.packet = created(bt_packet_create(stream.out.get()), "a packet");
  stream.in_packet = in_packet;
  if (const bt_field* context = bt_packet_borrow_context_field_const(in_packet))
    copy_field(context, bt_packet_borrow_context_field(stream.packet.get()));
  if (bt_stream_class_packets_have_beginning_default_clock_snapshot(stream.stream_class->out))
    return Message::adopt(check(
        bt_message_packet_beginning_create_with_default_clock_snapshot(self_, stream.packet.get(), cycles(out_ns)),
        "a packet beginning message"));
  return Message::adopt(
      check(bt_message_packet_beginning_create(self_, stream.packet.get()), "a packet beginning message"));
}

IrMapper::Message IrMapper::packet_end(const bt_message* in, int64_t out_ns) {
  const bt_packet* in_packet = bt_message_packet_end_borrow_packet_const(in);
  StreamMap& stream = stream_map(bt_packet_borrow_stream_const(in_packet));
  if (!stream.packet) fail("a packet ends that never began");
  Message out = Message::adopt(
      bt_stream_class_packets_have_end_default_clock_snapshot(stream.stream_class->out)
          ? bt_message_packet_end_create_with_default_clock_snapshot(self_, stream.packet.get(), cycles(out_ns))
          : bt_message_packet_end_create(self_, stream.packet.get()));
  stream.packet.reset();
  stream.in_packet = nullptr;
  check(out.get(), "a packet end message");
  return out;
}

IrMapper::Message IrMapper::event(const bt_message* in, int64_t out_ns, const EventTags& tags) {
  const bt_event* in_event = bt_message_event_borrow_event_const(in);
  bt_event_class* event_class = event_class_map(bt_event_borrow_class_const(in_event));
  StreamMap& stream = stream_map(bt_event_borrow_stream_const(in_event));
  bt::Ref<bt_message> out = created(
      stream.stream_class->has_packets
          ? bt_message_event_create_with_packet_and_default_clock_snapshot(self_, event_class, stream.packet.get(),
                                                                           cycles(out_ns))
          : bt_message_event_create_with_default_clock_snapshot(self_, event_class, stream.out.get(), cycles(out_ns)),
      "an event message");
  bt_event* event = bt_message_event_borrow_event(out.get());
  bt_field* common = bt_event_borrow_common_context_field(event);
  if (const bt_field* in_common = bt_event_borrow_common_context_field_const(in_event)) {
    for (uint64_t i = 0; i < stream.stream_class->tag_index; ++i)
      copy_field(bt_field_structure_borrow_member_field_by_index_const(in_common, i),
                 bt_field_structure_borrow_member_field_by_index(common, i));
  }
  set_tags(common, stream.stream_class->tag_index, tags);
  if (const bt_field* context = bt_event_borrow_specific_context_field_const(in_event))
    copy_field(context, bt_event_borrow_specific_context_field(event));
  if (const bt_field* payload = bt_event_borrow_payload_field_const(in_event))
    copy_field(payload, bt_event_borrow_payload_field(event));
  return Message::adopt(out.release());
}

// The babeltrace2 functions of one kind of discarded-items message (events or packets), whose
// two APIs are otherwise identical.
struct IrMapper::DiscardedApi {
  const bt_stream* (*borrow_stream)(const bt_message*);
  bt_bool (*have_clock_snapshots)(const bt_stream_class*);
  bt_message* (*create_with_clock_snapshots)(bt_self_message_iterator*, const bt_stream*, uint64_t, uint64_t);
  bt_message* (*create)(bt_self_message_iterator*, const bt_stream*);
  bt_property_availability (*get_count)(const bt_message*, uint64_t*);
  void (*set_count)(bt_message*, uint64_t);
  const char* what;
};

IrMapper::Message IrMapper::discarded(const bt_message* in, int64_t out_begin_ns, int64_t out_end_ns,
                                      const DiscardedApi& api) {
  StreamMap& stream = stream_map(api.borrow_stream(in));
  bt::Ref<bt_message> out =
      created(api.have_clock_snapshots(stream.stream_class->out)
                  ? api.create_with_clock_snapshots(self_, stream.out.get(), cycles(out_begin_ns), cycles(out_end_ns))
                  : api.create(self_, stream.out.get()),
              api.what);
  uint64_t count = 0;
  if (api.get_count(in, &count) == BT_PROPERTY_AVAILABILITY_AVAILABLE) api.set_count(out.get(), count);
  return Message::adopt(out.release());
}

IrMapper::Message IrMapper::discarded_events(const bt_message* in, int64_t out_begin_ns, int64_t out_end_ns) {
  static const DiscardedApi api{bt_message_discarded_events_borrow_stream_const,
                                bt_stream_class_discarded_events_have_default_clock_snapshots,
                                bt_message_discarded_events_create_with_default_clock_snapshots,
                                bt_message_discarded_events_create,
                                bt_message_discarded_events_get_count,
                                bt_message_discarded_events_set_count,
                                "a discarded events message"};
  return discarded(in, out_begin_ns, out_end_ns, api);
}

IrMapper::Message IrMapper::discarded_packets(const bt_message* in, int64_t out_begin_ns, int64_t out_end_ns) {
  static const DiscardedApi api{bt_message_discarded_packets_borrow_stream_const,
                                bt_stream_class_discarded_packets_have_default_clock_snapshots,
                                bt_message_discarded_packets_create_with_default_clock_snapshots,
                                bt_message_discarded_packets_create,
                                bt_message_discarded_packets_get_count,
                                bt_message_discarded_packets_set_count,
                                "a discarded packets message"};
  return discarded(in, out_begin_ns, out_end_ns, api);
}

}  // namespace vm::fuse

namespace vm::fuse {

IrMapper::SyncStream IrMapper::open_sync_stream(const bt_trace* in_trace) {
  TraceClassMap& trace_class = trace_class_map(bt_trace_borrow_class_const(in_trace));
  bt_trace* trace = trace_map(in_trace);
  // A stream class id no input stream class of this trace class has.
  uint64_t id = 0;
  for (uint64_t i = 0; i < bt_trace_class_get_stream_class_count(trace_class.out); ++i)
    id = std::max(id, bt_stream_class_get_id(bt_trace_class_borrow_stream_class_by_index_const(trace_class.out, i)) + 1);
  const bt::Ref<bt_stream_class> stream_class =
      created(bt_stream_class_create_with_id(trace_class.out, id), "a stream class");
  set(bt_stream_class_set_name(stream_class.get(), "vm_sync"));
  bt_stream_class_set_default_clock_class(stream_class.get(), clock_.get());
  bt_stream_class_set_supports_packets(stream_class.get(), BT_TRUE, BT_TRUE, BT_TRUE);
  bt_stream_class_set_assigns_automatic_stream_id(stream_class.get(), BT_FALSE);
  const bt::Ref<bt_field_class> common = created(bt_field_class_structure_create(trace_class.out), "a structure");
  append_tag_members(trace_class.out, common.get());
  set(bt_stream_class_set_event_common_context_field_class(stream_class.get(), common.get()));
  bt_event_class* event_class = check(bt_event_class_create(stream_class.get()), "an event class");
  set(bt_event_class_set_name(event_class, "vm_sync_segment"));
  bt::Ref<bt_field_class> payload = created(bt_field_class_structure_create(trace_class.out), "a structure");
  const auto seq = created(bt_field_class_integer_unsigned_create(trace_class.out), "an integer field class");
  const auto from = created(bt_field_class_integer_signed_create(trace_class.out), "an integer field class");
  const auto to = created(bt_field_class_integer_signed_create(trace_class.out), "an integer field class");
  append_member(payload.get(), "seq", seq.get());
  append_member(payload.get(), "from_ts", from.get());
  append_member(payload.get(), "to_ts", to.get());
  for (const char* text : {"alpha", "beta", "accuracy_ns"}) {
    const auto string = created(bt_field_class_string_create(trace_class.out), "a string field class");
    append_member(payload.get(), text, string.get());
  }
  set(bt_event_class_set_payload_field_class(event_class, payload.get()));
  bt_event_class_put_ref(event_class);  // owned by its stream class
  bt_event_class* entry_class = check(bt_event_class_create(stream_class.get()), "an event class");
  set(bt_event_class_set_name(entry_class, "vm_sync_entry"));
  const bt::Ref<bt_field_class> entry = created(bt_field_class_structure_create(trace_class.out), "a structure");
  for (const char* text : {"key", "value"}) {
    const auto string = created(bt_field_class_string_create(trace_class.out), "a string field class");
    append_member(entry.get(), text, string.get());
  }
  set(bt_event_class_set_payload_field_class(entry_class, entry.get()));
  bt_event_class_put_ref(entry_class);

  SyncStream sync;
  sync.stream = created(bt_stream_create_with_id(stream_class.get(), trace, 0), "a stream");
  set(bt_stream_set_name(sync.stream.get(), "vm_sync"));
  sync.segment_class = event_class;
  sync.entry_class = entry_class;
  return sync;
}

std::vector<IrMapper::Message> IrMapper::sync_segments(const bt_trace* in_trace, int64_t out_ns, const EventTags& tags,
                                                       const std::vector<SyncSegment>& segments,
                                                       const std::vector<std::pair<std::string, std::string>>& entries,
                                                       bool last) {
  if (!clock_) return {};  // nothing was mapped: no stream to carry it
  std::vector<Message> out;
  auto found = sync_streams_.find(in_trace);
  if (found == sync_streams_.end()) {
    found = sync_streams_.emplace(in_trace, open_sync_stream(in_trace)).first;
    out.push_back(Message::adopt(
        check(bt_message_stream_beginning_create(self_, found->second.stream.get()), "a stream beginning message")));
  }
  const SyncStream& sync = found->second;
  const bt::Ref<bt_packet> packet = created(bt_packet_create(sync.stream.get()), "a packet");
  out.push_back(Message::adopt(check(
      bt_message_packet_beginning_create_with_default_clock_snapshot(self_, packet.get(), cycles(out_ns)),
      "a packet beginning message")));
  // An event of `of_class` in the packet, tagged, at out_ns; its payload to fill.
  auto tagged_event = [&](bt_event_class* of_class, bt::Ref<bt_message>& message) {
    message = created(
        bt_message_event_create_with_packet_and_default_clock_snapshot(self_, of_class, packet.get(), cycles(out_ns)),
        "an event message");
    bt_event* event = bt_message_event_borrow_event(message.get());
    set_tags(bt_event_borrow_common_context_field(event), 0, tags);
    return bt_event_borrow_payload_field(event);
  };
  for (const SyncSegment& segment : segments) {
    bt::Ref<bt_message> message;
    bt_field* fields = tagged_event(sync.segment_class, message);
    bt_field_integer_unsigned_set_value(bt_field_structure_borrow_member_field_by_index(fields, 0), segment.seq);
    bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(fields, 1), segment.from_ns);
    bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(fields, 2), segment.to_ns);
    set(bt_field_string_set_value(bt_field_structure_borrow_member_field_by_index(fields, 3), segment.alpha.c_str()));
    set(bt_field_string_set_value(bt_field_structure_borrow_member_field_by_index(fields, 4), segment.beta.c_str()));
    set(bt_field_string_set_value(bt_field_structure_borrow_member_field_by_index(fields, 5),
                                  segment.accuracy_ns.c_str()));
    out.push_back(Message::adopt(message.release()));
  }
  for (const auto& [key, value] : entries) {
    // An empty value is the same as no entry (MachineEnv::decode), and sink.ctf.fs of
    // babeltrace2 2.0.4 was seen to read some empty strings back as another field's value.
    if (value.empty()) continue;
    bt::Ref<bt_message> message;
    bt_field* fields = tagged_event(sync.entry_class, message);
    set(bt_field_string_set_value(bt_field_structure_borrow_member_field_by_index(fields, 0), key.c_str()));
    set(bt_field_string_set_value(bt_field_structure_borrow_member_field_by_index(fields, 1), value.c_str()));
    out.push_back(Message::adopt(message.release()));
  }
  out.push_back(Message::adopt(check(
      bt_message_packet_end_create_with_default_clock_snapshot(self_, packet.get(), cycles(out_ns)),
      "a packet end message")));
  if (last) {
    out.push_back(
        Message::adopt(check(bt_message_stream_end_create(self_, sync.stream.get()), "a stream end message")));
    sync_streams_.erase(found);
  }
  return out;
}

}  // namespace vm::fuse
