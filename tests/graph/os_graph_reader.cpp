// SPDX-License-Identifier: MIT
#include "os_graph_reader.h"

#include <algorithm>

#include "ctf_read.h"
#include "fuse_fixture.h"

namespace vm::test {

OsGraphReader::Stream& OsGraphReader::stream_of(const bt_stream* stream) {
  auto it = streams_.find(stream);
  if (it != streams_.end()) return it->second;
  const bt_trace* trace = bt_stream_borrow_trace_const(stream);
  const bt_value* host = bt_trace_borrow_environment_entry_value_by_name_const(trace, "hostname");
  const std::string name = host && bt_value_is_string(host) ? bt_value_string_get(host) : "";
  auto pos = std::find(hosts.begin(), hosts.end(), name);
  if (pos == hosts.end()) {
    if (fixed_hosts) problem += "a trace of unknown host `" + name + "`\n";
    hosts.push_back(name);
    pos = hosts.end() - 1;
  }
  const int64_t machine = pos - hosts.begin();
  if (environments.size() <= size_t(machine)) environments.resize(size_t(machine) + 1);
  if (environments[size_t(machine)].empty()) {
    for (uint64_t i = 0; i < bt_trace_get_environment_entry_count(trace); ++i) {
      const char* key = nullptr;
      const bt_value* value = nullptr;
      bt_trace_borrow_environment_entry_by_index_const(trace, i, &key, &value);
      if (bt_value_is_string(value)) environments[size_t(machine)][key] = bt_value_string_get(value);
    }
  }
  // The wake-up event choice from the trace's event classes (all declared in its metadata).
  std::vector<std::string> names;
  const bt_trace_class* trace_class = bt_trace_borrow_class_const(trace);
  for (uint64_t s = 0; s < bt_trace_class_get_stream_class_count(trace_class); ++s) {
    const bt_stream_class* sc = bt_trace_class_borrow_stream_class_by_index_const(trace_class, s);
    for (uint64_t e = 0; e < bt_stream_class_get_event_class_count(sc); ++e)
      names.emplace_back(bt_event_class_get_name(bt_stream_class_borrow_event_class_by_index_const(sc, e)));
  }
  builder.set_wakeup_events(machine, graph::wakeup_events_of(names));
  return streams_.emplace(stream, Stream{machine, bt::locate_stream_fields(bt_stream_borrow_class_const(stream))})
      .first->second;
}

void OsGraphReader::on_message(const bt_message* message) {
  if (bt_message_get_type(message) != BT_MESSAGE_TYPE_EVENT) return;
  const bt_event* event = bt_message_event_borrow_event_const(message);
  Stream& stream = stream_of(bt_event_borrow_stream_const(event));
  const bt_event_class* event_class = bt_event_borrow_class_const(event);
  auto cls = classes_.find(event_class);
  if (cls == classes_.end()) cls = classes_.emplace(event_class, bt::locate_event_fields(event_class)).first;
  const int64_t cpu = bt::packet_cpu(bt_event_borrow_packet_const(event), stream.fields);
  const EventContext ctx = bt::read_context(event, bt::event_ns(message), cpu, stream.fields);
  const std::string& name = cls->second.name;
  if (name == "packet_sent" || name == "packet_received") {
    const bt_field* msgid = bt::member_by_name(bt_event_borrow_payload_field_const(event), "msgid");
    if (!msgid) problem += name + " without msgid\n";
    builder.on_packet(stream.machine, ctx.ts, cpu, name == "packet_sent",
                      graph::PacketKey{bt::field_int(msgid), 0, 0});
    return;
  }
  if (cls->second.kind == EventKind::other) return;
  bt::decode_event(cls->second, ctx, event, decoded_);
  builder.on_event(stream.machine, decoded_);
  if (on_decoded) on_decoded(stream.machine, event, decoded_);
}

GraphResult read_traces(OsGraphReader& reader, const std::vector<std::string>& trace_dirs) {
  return read_ctf(trace_dirs, [&reader](const bt_message* message) { reader.on_message(message); });
}

}  // namespace vm::test
