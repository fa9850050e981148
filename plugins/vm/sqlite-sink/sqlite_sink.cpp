// SPDX-License-Identifier: MIT
// sink.vm.sqlite: the babeltrace2 adapter of the analysis registry. It turns each message into
// calls on the babeltrace-free Run (common/analysis/run.h): every event decoded once into a typed
// event (common/events/), lost events, and the end of the input.

#include "sqlite-sink/sqlite_sink.h"

#include <algorithm>
#include <cinttypes>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/graph/path_selector.h"
#include "analysis/run.h"
#include "analysis/run_tables/run_tables.h"
#include "analysis/sync/sync_tables.h"
#include "base/machine_names.h"
#include "db/output_file.h"
#include "bt_guard.h"
#include "bt_util.h"
#include "event_reader.h"
#include "kvm/machine_env.h"
#include "sqlite-sink/params.h"
#include "sqlite-sink/progress.h"

namespace vm::sqlite_sink {

namespace {

struct TraceState;

// Per event class, located once: its kind and its payload members.
struct EventClassInfo {
  bt::EventFields fields;
  TraceState* trace = nullptr;  // weak
  uint64_t count = 0;
};

// Per trace: one machine of the run, and the fused model's environment entries.
struct TraceState {
  std::string name, hostname, clock_uuid;  // name: babeltrace2's trace name
  std::string lttng_trace_name;            // the `trace_name` environment entry
  // Written by filter.vm.fuse as environment entries: the fused machine model and the sync.
  MachineEnv fused;
  std::string fused_machine, fused_role, fused_parent;
  int64_t vm_key = kUnknown;  // vm_vm_key: its VM's key on the host (parsed once, used per guest event)
  bool has_vm_key = false;
  int fused_layer = -1;
  int64_t machine_id = 0;
  TracedMachine* machine = nullptr;  // owned by the run
  bool tid_diagnosed = false;        // the missing `tid` context was reported
  // filter.vm.fuse's one-pass learning: the pieces of the machine's transform, from the
  // vm_sync_segment events of its `vm_sync` stream (reference clock; accuracy as text, "inf").
  struct Segment {
    int64_t from_ts, to_ts;
    std::string alpha, beta, accuracy_ns;
  };
  std::vector<Segment> segments;
  // ... and its model as learned by the end of the run (vm_sync_entry events: the environment
  // entries of kvm/machine_env.h), which table `sync` and `sync_estimate` give instead of the lead's.
  std::vector<std::pair<std::string, std::string>> final_entries;
};

// Per stream: its trace, its CPU (packet context `cpu_id`) and where its contexts are.
struct StreamInfo {
  TraceState* trace = nullptr;  // weak
  int64_t cpu = kUnknown;
  bool cpu_diagnosed = false;  // an implausible packet `cpu_id` was reported for this stream
  uint64_t id = 0;             // the stream's id in its trace
  bool sync_segments = false;  // filter.vm.fuse's `vm_sync` stream: the transform's pieces, not trace events
  bt::StreamFields fields;
};

struct Sink {
  bt_self_component_sink* self = nullptr;   // weak
  bt_message_iterator* upstream = nullptr;  // owned
  std::string parameters;
  std::unique_ptr<Run> run;  // the analyses and the output database
  std::unordered_map<const bt_trace*, std::unique_ptr<TraceState>> traces;
  std::vector<TraceState*> trace_order;
  std::unordered_map<const bt_stream*, StreamInfo> streams;
  std::unordered_map<const bt_event_class*, std::unique_ptr<EventClassInfo>> event_classes;
  const bt_stream* last_stream = nullptr;  // one-entry cache in front of `streams`
  const StreamInfo* last_read = nullptr;   // the stream of the last message read, for error messages
  StreamInfo* last_stream_info = nullptr;
  Event decoded;  // the current event, decoded once
  Progress progress;  // on stderr, when it is a terminal

  const bt_component* component() const {
    return bt_self_component_as_component(bt_self_component_sink_as_self_component(self));
  }
  bt_self_component* self_component() const { return bt_self_component_sink_as_self_component(self); }
};

void append_cause(Sink& sink, const std::string& message) {
  BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(sink.self_component(), "%s", message.c_str());
}

std::string uuid_text(const uint8_t* uuid) {
  if (!uuid) return {};
  char text[37];
  std::snprintf(text, sizeof text, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0],
                uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9], uuid[10], uuid[11],
                uuid[12], uuid[13], uuid[14], uuid[15]);
  return text;
}

std::string env_string(const bt_trace* trace, const char* key) {
  const bt_value* value = bt_trace_borrow_environment_entry_value_by_name_const(trace, key);
  return value && bt_value_is_string(value) ? bt_value_string_get(value) : std::string();
}

TraceState& trace_state(Sink& sink, const bt_stream* stream) {
  const bt_trace* trace = bt_stream_borrow_trace_const(stream);
  auto& slot = sink.traces[trace];
  if (slot) return *slot;
  slot = std::make_unique<TraceState>();
  TraceState& state = *slot;
  const char* name = bt_trace_get_name(trace);
  state.name = name ? name : "";
  state.hostname = env_string(trace, "hostname");
  state.lttng_trace_name = env_string(trace, "trace_name");
  const bt_clock_class* clock = bt_stream_class_borrow_default_clock_class_const(bt_stream_borrow_class_const(stream));
  if (clock) state.clock_uuid = uuid_text(bt_clock_class_get_uuid(clock));
  try {
    state.fused = MachineEnv::decode([trace](const char* key) -> std::optional<std::string> {
      const bt_value* value = bt_trace_borrow_environment_entry_value_by_name_const(trace, key);
      if (!value || !bt_value_is_string(value)) return std::nullopt;
      return std::string(bt_value_string_get(value));
    });
  } catch (const MachineEnvError& error) {
    throw std::runtime_error("trace `" + state.name + "`: " + error.what());
  }
  state.fused_machine = state.fused.machine;
  if (!state.fused.clock_uuid.empty()) state.clock_uuid = state.fused.clock_uuid;
  state.fused_role = state.fused.role;
  state.fused_parent = state.fused.parent;
  state.fused_layer = state.fused.layer;
  if (state.fused.vm_key) {
    state.vm_key = *state.fused.vm_key;
    state.has_vm_key = true;
  }
  MachineRegistry& machines = sink.run->registry();
  state.machine_id = machines.add("", MachineRole::unknown, kUnknown, std::max(state.fused_layer, 0));
  sink.trace_order.push_back(&state);
  // Every trace's machine name, decided again with this one (base/machine_names.h): two traces
  // that share a name are told apart, the earlier one too.
  std::vector<MachineIdentity> identities;
  for (const TraceState* t : sink.trace_order)
    identities.push_back(MachineIdentity{t->fused_machine, t->lttng_trace_name, t->hostname, t->name, t->clock_uuid});
  const std::vector<std::string> names = unique_machine_names(identities);
  for (size_t i = 0; i < names.size(); ++i) machines.get(sink.trace_order[i]->machine_id).name = names[i];
  if (state.fused_role == "guest") machines.get(state.machine_id).role = MachineRole::guest;
  auto machine = std::make_unique<TracedMachine>();
  machine->id = state.machine_id;
  machine->trace_name = state.name;
  machine->hostname = state.hostname;
  machine->clock_uuid = state.clock_uuid;
  machine->fused = !state.fused_machine.empty();
  machine->guest = state.fused_role == "guest";
  machine->fused_parent = state.fused_parent;
  machine->own_clock = state.fused.sync_method == "none";
  machine->vm_key = state.vm_key;
  machine->has_vm_key = state.has_vm_key;
  state.machine = &sink.run->add_machine(std::move(machine));
  return state;
}

void on_stream_beginning(Sink& sink, const bt_message* message) {
  const bt_stream* stream = bt_message_stream_beginning_borrow_stream_const(message);
  const bt_stream_class* stream_class = bt_stream_borrow_class_const(stream);
  if (!bt_stream_class_borrow_default_clock_class_const(stream_class))
    throw std::runtime_error("stream " + std::to_string(bt_stream_get_id(stream)) +
                             " has no clock: the vm analyses need timestamped events (an LTTng kernel trace)");
  StreamInfo info;
  info.trace = &trace_state(sink, stream);
  info.fields = bt::locate_stream_fields(stream_class);
  info.id = bt_stream_get_id(stream);
  // filter.vm.fuse's `vm_sync` stream (named so, or, read back from a CTF trace that
  // sink.ctf.fs wrote, whose stream classes lose their names: its only event class).
  const char* class_name = bt_stream_class_get_name(stream_class);
  const char* first_event = bt_stream_class_get_event_class_count(stream_class) > 0
                                ? bt_event_class_get_name(bt_stream_class_borrow_event_class_by_index_const(stream_class, 0))
                                : nullptr;
  info.sync_segments = !info.trace->fused_machine.empty() && ((class_name && std::string(class_name) == "vm_sync") ||
                                                              (first_event && std::string(first_event) == "vm_sync_segment"));
  if (!info.sync_segments && !info.fields.ctx_tid.present() && !info.trace->tid_diagnosed) {
    info.trace->tid_diagnosed = true;
    sink.run->get<RunTables>().add_diagnostic(
        "warning", "trace `" + info.trace->name +
                       "` has no `tid` context: an event's thread is known only from the last sched_switch on its "
                       "CPU, so a vCPU's state is unknown before the first sched_switch on its CPU, and a vCPU "
                       "thread whose process is unknown makes a "
                       "VM named after the thread (qemu-tidN). Record it with: lttng add-context --kernel "
                       "--type=tid --type=pid --type=procname");
  }
  sink.streams[stream] = info;
  sink.last_stream = nullptr;
}

StreamInfo& stream_info(Sink& sink, const bt_stream* stream) {
  if (stream == sink.last_stream) return *sink.last_stream_info;
  auto it = sink.streams.find(stream);
  if (it == sink.streams.end()) throw std::runtime_error("message of a stream that never began");
  sink.last_stream = stream;
  sink.last_stream_info = &it->second;
  sink.last_read = &it->second;
  return it->second;
}

void on_packet_beginning(Sink& sink, const bt_message* message) {
  const bt_packet* packet = bt_message_packet_beginning_borrow_packet_const(message);
  StreamInfo& info = stream_info(sink, bt_packet_borrow_stream_const(packet));
  int64_t implausible = kUnknown;
  info.cpu = bt::packet_cpu(packet, info.fields, &implausible);
  if (implausible != kUnknown && !info.cpu_diagnosed) {
    // A CPU id indexes per-CPU state: a corrupted one is not used, its packets' CPU is unknown.
    info.cpu_diagnosed = true;
    sink.run->get<RunTables>().add_diagnostic(
        "warning", "trace `" + info.trace->name + "`, stream " + std::to_string(info.id) + ": packet context field cpu_id " +
                       std::to_string(implausible) + " is not a CPU id (0 to " + std::to_string(bt::kMaxCpuId) +
                       "); the CPU of this stream's events with that value is unknown");
  }
}

EventClassInfo& event_class_info(Sink& sink, const bt_event_class* event_class, TraceState* trace) {
  auto& slot = sink.event_classes[event_class];
  if (!slot) {
    slot = std::make_unique<EventClassInfo>();
    slot->fields = bt::locate_event_fields(event_class);
    slot->trace = trace;
    if (!slot->fields.missing.empty())
      sink.run->get<RunTables>().add_diagnostic("warning", "trace `" + trace->name + "`: " + slot->fields.missing);
  }
  return *slot;
}

// A vm_sync_segment event: one piece of its machine's transform (fuse_iterator.h). Its fields
// come from our filter, but a trace can claim anything: each is checked.
void on_sync_segment(StreamInfo& stream, const bt_event* event) {
  const bt_field* payload = bt_event_borrow_payload_field_const(event);
  const bt_event_class* event_class = bt_event_borrow_class_const(event);
  const char* name = bt_event_class_get_name(event_class);
  auto member = [&](const char* field) -> const bt_field* {
    return payload && bt_field_get_class_type(payload) == BT_FIELD_CLASS_TYPE_STRUCTURE
               ? bt_field_structure_borrow_member_field_by_name_const(payload, field)
               : nullptr;
  };
  if (name && std::string(name) == "vm_sync_entry") {
    const bt_field* key = member("key");
    const bt_field* value = member("value");
    if (!key || !value || bt_field_get_class_type(key) != BT_FIELD_CLASS_TYPE_STRING ||
        bt_field_get_class_type(value) != BT_FIELD_CLASS_TYPE_STRING)
      throw std::runtime_error("trace `" + stream.trace->name +
                               "`: a vm_sync_entry event of its `vm_sync` stream lacks its string fields key and value");
    stream.trace->final_entries.emplace_back(bt_field_string_get_value(key), bt_field_string_get_value(value));
    return;
  }
  const bt_field* from = member("from_ts");
  const bt_field* to = member("to_ts");
  const bt_field* texts[3] = {member("alpha"), member("beta"), member("accuracy_ns")};
  bool valid = name && std::string(name) == "vm_sync_segment" && from && to &&
               bt_field_get_class_type(from) == BT_FIELD_CLASS_TYPE_SIGNED_INTEGER &&
               bt_field_get_class_type(to) == BT_FIELD_CLASS_TYPE_SIGNED_INTEGER;
  for (const bt_field* text : texts) valid = valid && text && bt_field_get_class_type(text) == BT_FIELD_CLASS_TYPE_STRING;
  if (!valid)
    throw std::runtime_error("trace `" + stream.trace->name +
                             "`: an event of its `vm_sync` stream is not a vm_sync_segment of filter.vm.fuse");
  TraceState::Segment segment{bt_field_integer_signed_get_value(from), bt_field_integer_signed_get_value(to),
                              bt_field_string_get_value(texts[0]), bt_field_string_get_value(texts[1]),
                              bt_field_string_get_value(texts[2])};
  char* end = nullptr;
  std::strtold(segment.alpha.c_str(), &end);
  const bool alpha_ok = end && *end == '\0' && !segment.alpha.empty();
  std::strtold(segment.beta.c_str(), &end);
  if (!alpha_ok || !end || *end != '\0' || segment.beta.empty() || segment.from_ts > segment.to_ts)
    throw std::runtime_error("trace `" + stream.trace->name + "`: a vm_sync_segment event has an unreadable transform (alpha `" +
                             segment.alpha + "`, beta `" + segment.beta + "`, from " + std::to_string(segment.from_ts) +
                             " to " + std::to_string(segment.to_ts) + ")");
  stream.trace->segments.push_back(std::move(segment));
}

void on_event(Sink& sink, const bt_message* message) {
  const bt_event* event = bt_message_event_borrow_event_const(message);
  const bt_stream* stream = bt_event_borrow_stream_const(event);
  StreamInfo& stream_data = stream_info(sink, stream);
  if (stream_data.sync_segments) return on_sync_segment(stream_data, event);
  EventClassInfo& info = event_class_info(sink, bt_event_borrow_class_const(event), stream_data.trace);
  ++info.count;
  TracedMachine& machine = *stream_data.trace->machine;
  const EventContext ctx = bt::read_context(event, bt::event_ns(message), stream_data.cpu, stream_data.fields);
  sink.run->on_context(machine, ctx);
  if (info.fields.kind == EventKind::other) return;
  bt::decode_event(info.fields, ctx, event, sink.decoded);
  sink.run->on_event(machine, sink.decoded);
}

int64_t snapshot_ns(const bt_clock_snapshot* snapshot) {
  return snapshot ? bt::snapshot_ns(snapshot) : kUnknown;
}

void on_discarded_events(Sink& sink, const bt_message* message) {
  const bt_stream* stream = bt_message_discarded_events_borrow_stream_const(message);
  StreamInfo& info = stream_info(sink, stream);
  uint64_t count = 0;
  const bool counted = bt_message_discarded_events_get_count(message, &count) == BT_PROPERTY_AVAILABILITY_AVAILABLE;
  sink.run->get<RunTables>().run_info().discarded_events += counted ? count : 0;
  int64_t begin = kUnknown, end = kUnknown;
  if (bt_stream_class_discarded_events_have_default_clock_snapshots(bt_stream_borrow_class_const(stream))) {
    begin = snapshot_ns(bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(message));
    end = snapshot_ns(bt_message_discarded_events_borrow_end_default_clock_snapshot_const(message));
  }
  sink.run->on_lost_events(*info.trace->machine, begin, end, info.cpu,
                           counted ? static_cast<int64_t>(count) : kUnknown);
}

void on_discarded_packets(Sink& sink, const bt_message* message) {
  const bt_stream* stream = bt_message_discarded_packets_borrow_stream_const(message);
  StreamInfo& info = stream_info(sink, stream);
  uint64_t count = 0;
  if (bt_message_discarded_packets_get_count(message, &count) == BT_PROPERTY_AVAILABILITY_AVAILABLE)
    sink.run->get<RunTables>().run_info().discarded_packets += count;
  int64_t begin = kUnknown, end = kUnknown;
  if (bt_stream_class_discarded_packets_have_default_clock_snapshots(bt_stream_borrow_class_const(stream))) {
    begin = snapshot_ns(bt_message_discarded_packets_borrow_beginning_default_clock_snapshot_const(message));
    end = snapshot_ns(bt_message_discarded_packets_borrow_end_default_clock_snapshot_const(message));
  }
  sink.run->on_lost_events(*info.trace->machine, begin, end, info.cpu, kUnknown);
}

void handle(Sink& sink, const bt_message* message) {
  switch (bt_message_get_type(message)) {
    case BT_MESSAGE_TYPE_EVENT: on_event(sink, message); break;
    case BT_MESSAGE_TYPE_STREAM_BEGINNING: on_stream_beginning(sink, message); break;
    case BT_MESSAGE_TYPE_PACKET_BEGINNING: on_packet_beginning(sink, message); break;
    case BT_MESSAGE_TYPE_DISCARDED_EVENTS: on_discarded_events(sink, message); break;
    case BT_MESSAGE_TYPE_DISCARDED_PACKETS: on_discarded_packets(sink, message); break;
    default: break;
  }
}

// With filter.vm.fuse upstream: parents from the fused model, and the `sync` table.
void write_fused_model(Sink& sink) {
  MachineRegistry& machines = sink.run->registry();
  SyncTables& tables = sink.run->get<SyncTables>();
  auto machine_named = [&](const std::string& name) -> int64_t {
    for (const TraceState* trace : sink.trace_order)
      if (machines.get(trace->machine_id).name == name) return trace->machine_id;
    return kUnknown;
  };
  for (TraceState* trace : sink.trace_order) {
    Machine& machine = machines.get(trace->machine_id);
    if (!trace->fused_parent.empty()) machine.parent_id = machine_named(trace->fused_parent);
    // One pass that kept learning: the model as learned by the end, not the lead's.
    MachineEnv learned;
    if (!trace->final_entries.empty()) {
      try {
        learned = MachineEnv::decode([trace](const char* key) -> std::optional<std::string> {
          for (const auto& [name, value] : trace->final_entries)
            if (name == key) return value;
          return std::nullopt;
        });
      } catch (const MachineEnvError& error) {
        throw std::runtime_error("trace `" + trace->name + "`, its vm_sync_entry events: " + error.what());
      }
    }
    const MachineEnv& fused = trace->final_entries.empty() ? trace->fused : learned;
    if (fused.sync_method.empty()) continue;
    SyncTables::SyncRow row;
    row.machine_id = trace->machine_id;
    row.reference_id = machine_named(fused.sync_reference);
    row.alpha = MachineEnv::coefficient_text(fused.to_reference.alpha);
    row.beta = MachineEnv::coefficient_text(fused.to_reference.beta);
    row.method = fused.sync_method;
    row.quality = fused.sync_quality;
    row.matches = static_cast<int64_t>(fused.sync_matches);  // decode() keeps it in the int64 range
    row.accuracy_ns = MachineEnv::accuracy_text(fused.sync_accuracy_ns);
    tables.add_sync(row);
    if (trace->machine->saw_events && !trace->segments.empty()) {
      // One-pass learning: the pieces the filter used, over the span of the machine's events.
      int64_t seq = 0;
      for (const TraceState::Segment& piece : trace->segments) {
        SyncTables::SyncSegmentRow segment;
        segment.machine_id = trace->machine_id;
        segment.reference_id = row.reference_id;
        segment.seq = seq;
        segment.from_ts = std::max(piece.from_ts, trace->machine->first_ts);
        segment.to_ts = std::min(piece.to_ts, trace->machine->last_ts);
        if (segment.from_ts > segment.to_ts) continue;
        segment.alpha = piece.alpha;
        segment.beta = piece.beta;
        segment.accuracy_ns = piece.accuracy_ns;
        tables.add_sync_segment(segment);
        ++seq;
      }
    } else if (trace->machine->saw_events) {
      // One segment: the transform over the span of the machine's events (reference clock),
      // its bound evaluated there (vm_sync_bound; unknown from a filter that does not write it).
      SyncTables::SyncSegmentRow segment;
      segment.machine_id = trace->machine_id;
      segment.reference_id = row.reference_id;
      segment.from_ts = trace->machine->first_ts;
      segment.to_ts = trace->machine->last_ts;
      segment.alpha = row.alpha;
      segment.beta = row.beta;
      if (fused.sync_bounded.value_or(false))
        segment.accuracy_ns =
            MachineEnv::accuracy_text(bound_over(fused.sync_bound_terms, segment.from_ts, segment.to_ts));
      tables.add_sync_segment(segment);
    }
    for (const MachineEnv::Estimate& e : fused.estimates) {
      if (e.peer.empty()) continue;
      SyncTables::SyncRow estimate;
      estimate.machine_id = trace->machine_id;
      estimate.reference_id = row.reference_id;
      estimate.method = e.method;
      estimate.alpha = MachineEnv::coefficient_text(e.to_reference.alpha);
      estimate.beta = MachineEnv::coefficient_text(e.to_reference.beta);
      estimate.quality = e.quality;
      estimate.matches = static_cast<int64_t>(e.matches);
      estimate.accuracy_ns = MachineEnv::estimate_accuracy_text(e.accuracy_ns);
      tables.add_sync_estimate(estimate, machine_named(e.peer));
    }
    if (!fused.match_method.empty())
      tables.add_guest_match(trace->machine_id, machine.parent_id, fused.qemu_pid, fused.match_method,
                             fused.match_confidence);
  }
}

// The run is complete: finish the analyses, tell the user what is missing, write the file.
void finish(Sink& sink) {
  Run& run = *sink.run;
  run.finish();
  write_fused_model(sink);
  for (const auto& [event_class, info] : sink.event_classes)
    info->trace->machine->event_classes.push_back({info->fields.name, info->fields.kind, info->count});
  run.write();
  RunInfo& run_info = run.get<RunTables>().run_info();
  run_info.plugin_version = VM_VERSION_STRING;
  run_info.babeltrace2_version = std::to_string(bt_version_get_major()) + "." + std::to_string(bt_version_get_minor()) +
                                 "." + std::to_string(bt_version_get_patch());
  for (TraceState* trace : sink.trace_order)
    run_info.inputs += (run_info.inputs.empty() ? "" : "\n") + trace->name + " (hostname " + trace->hostname +
                       ", clock " + trace->clock_uuid + ", " + std::to_string(trace->machine->events) + " events)";
  run_info.parameters = sink.parameters;
  for (const std::string& message : run.get<RunTables>().diagnostics()) bt::warn(sink.component(), message);
  run.commit();
}

// " `TRACE` (stream N, the last one read)" when a message was read, else every trace's name.
std::string last_read_text(const Sink& sink) {
  if (sink.last_read && sink.last_read->trace)
    return " `" + sink.last_read->trace->name + "` (stream " + std::to_string(sink.last_read->id) +
           " was the last one read)";
  std::string names;
  for (const TraceState* trace : sink.trace_order) names += (names.empty() ? " `" : "`, `") + trace->name;
  return names.empty() ? "" : names + "`";
}

// The progress line, every Progress::kCheckEvery messages: the time of the batch's last event.
void show_progress(Sink& sink, bt_message_array_const messages, uint64_t count) {
  int64_t ns = 0;
  bool known = false;
  for (uint64_t i = count; i-- > 0 && !known;)
    if (bt_message_get_type(messages[i]) == BT_MESSAGE_TYPE_EVENT)
      known = bt_clock_snapshot_get_ns_from_origin(bt_message_event_borrow_default_clock_snapshot_const(messages[i]),
                                                   &ns) == BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK;
  uint64_t events = 0;
  for (const TraceState* trace : sink.trace_order) events += trace->machine->events;
  sink.progress.show(ns, known, events);
}

// The analyses that the parameters `critical-path` and `exec-graph` turn on. Throws
// std::invalid_argument for a malformed selector.
RunOptions run_options_of(const bt_value* params, const std::string& path) {
  RunOptions options;
  const bool has_selectors = bt_value_map_has_entry(params, "critical-path");
  if (has_selectors)
    for (const graph::PathSelector& s : graph::parse_selector_list(bt::param_string(params, "critical-path", "")))
      options.critical_path.push_back(s.text);
  options.store_exec_graph = bt::param_bool(params, "exec-graph", has_selectors);
  options.exec_graph = has_selectors || options.store_exec_graph;
  if (options.exec_graph && bt::param_bool(params, "graph-file", true)) options.graph_spill_dir = db::directory_of(path);
  return options;
}

}  // namespace

bt_component_class_initialize_method_status initialize(bt_self_component_sink* self,
                                                       bt_self_component_sink_configuration*, const bt_value* params,
                                                       void*) {
  bt_self_component* self_component = bt_self_component_sink_as_self_component(self);
  return bt::guarded(
      self_component, BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR,
      BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR, "while initializing", [&] {
        const std::string problem = bt::validate_params(params, param_specs());
        if (!problem.empty()) {
          BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
              self_component, "%s. Usage: -c sink.vm.sqlite -p 'path=\"out.db\"'", problem.c_str());
          return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
        }
        auto sink = std::make_unique<Sink>();
        sink->self = self;
        sink->parameters = bt::params_to_string(params);
        const std::string path = bt_value_string_get(bt_value_map_borrow_entry_value_const(params, "path"));
        db::DatabaseOptions options;
        options.writer_thread = bt::param_bool(params, "writer-thread", true);
        const std::string indexes = bt::param_string(params, "indexes", "time");
        if (indexes != "time" && indexes != "key" && indexes != "both") {
          BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
              self_component,
              "parameter `indexes` is \"%s\": it must be \"time\", \"key\" or \"both\", e.g. -p 'indexes=\"key\"'",
              indexes.c_str());
          return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
        }
        options.time_indexes = indexes != "key";
        options.key_indexes = indexes != "time";
        RunOptions run_options;
        try {
          run_options = run_options_of(params, path);
        } catch (const std::invalid_argument& error) {
          BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "%s", error.what());
          return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
        }
        try {
          sink->run = std::make_unique<Run>(path, options, std::move(run_options));
        } catch (const std::exception& error) {
          // The message names the path, what is wrong and the fix (db/output_file.h).
          BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "%s", error.what());
          return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
        }
        if (bt_self_component_sink_add_input_port(self, "in", nullptr, nullptr) !=
            BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
          BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "cannot add the input port");
          return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
        }
        bt_self_component_set_data(self_component, sink.release());
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
      });
}

void finalize(bt_self_component_sink* self) {
  auto* sink = static_cast<Sink*>(bt_self_component_get_data(bt_self_component_sink_as_self_component(self)));
  if (!sink) return;
  sink->progress.clear();
  bt_message_iterator_put_ref(sink->upstream);
  delete sink;  // an uncommitted database is removed here
}

bt_component_class_sink_graph_is_configured_method_status graph_is_configured(bt_self_component_sink* self) {
  auto* sink = static_cast<Sink*>(bt_self_component_get_data(bt_self_component_sink_as_self_component(self)));
  bt_self_component_port_input* port = bt_self_component_sink_borrow_input_port_by_name(self, "in");
  if (!bt_port_is_connected(
          bt_self_component_port_as_port(bt_self_component_port_input_as_self_component_port(port)))) {
    append_cause(*sink,
                 "the input port `in` is not connected: connect a muxed message stream, e.g. "
                 "--connect=mux:vm (after filter.utils.muxer)");
    return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
  }
  switch (bt_message_iterator_create_from_sink_component(self, port, &sink->upstream)) {
    case BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK:
      return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
    case BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_MEMORY_ERROR:
      return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_MEMORY_ERROR;
    default:
      append_cause(*sink, "cannot create the upstream message iterator");
      return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
  }
}

bt_component_class_sink_consume_method_status consume(bt_self_component_sink* self) {
  auto* sink = static_cast<Sink*>(bt_self_component_get_data(bt_self_component_sink_as_self_component(self)));
  bt_message_array_const messages;
  uint64_t count = 0;
  switch (bt_message_iterator_next(sink->upstream, &messages, &count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK: break;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN: return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
      try {
        sink->progress.clear();
        finish(*sink);
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
      } catch (const std::bad_alloc&) {
        sink->run->abandon();
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
      } catch (const std::exception& error) {
        sink->run->abandon();
        append_cause(*sink, error.what());
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
      }
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
      sink->run->abandon();
      return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
    default:
      sink->progress.clear();
      sink->run->abandon();
      append_cause(*sink, "reading the input trace" + last_read_text(*sink) + " failed, so no database was written at `" +
                              sink->run->database().path() +
                              "`. The causes that follow say where; a truncated or corrupted data stream is the usual "
                              "reason. Copy the trace again from the machine that recorded it, or limit the run to its "
                              "readable part with babeltrace2's --end option.");
      return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
  }
  uint64_t i = 0;
  try {
    for (; i < count; ++i) handle(*sink, messages[i]);
    if (sink->progress.due(count)) show_progress(*sink, messages, count);
    for (i = 0; i < count; ++i) bt_message_put_ref(messages[i]);
  } catch (const std::exception& error) {
    for (i = 0; i < count; ++i) bt_message_put_ref(messages[i]);
    sink->progress.clear();
    sink->run->abandon();
    if (dynamic_cast<const std::bad_alloc*>(&error)) return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
    append_cause(*sink,
                 std::string(error.what()) + "; no database was written at `" + sink->run->database().path() + "`");
    return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
  }
  return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}

}  // namespace vm::sqlite_sink
