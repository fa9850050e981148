// sink.vm.sqlite: the babeltrace2 adapter of the core analyses. It turns each message into one
// call on the babeltrace-free core (common/), with the fields it needs located once per event
// class, and hands the results to VmDatabase.

#include "sqlite-sink/sqlite_sink.h"

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bt_util.h"
#include "event_reader.h"
#include "fused_cpu_model.h"
#include "host_analysis.h"
#include "kvm/machine_env.h"
#include "machine_registry.h"
#include "vm_database.h"

namespace vm::sqlite_sink {

namespace {

struct TraceState;

// Per event class, located once: its kind and its payload members.
struct EventClassInfo {
  bt::EventFields fields;
  TraceState* trace = nullptr;  // weak
  uint64_t count = 0;
};

// Per trace: one machine.
struct TraceState {
  std::string name, hostname, clock_uuid;
  // Written by filter.vm.fuse as environment entries: the fused machine model and the sync.
  MachineEnv fused;
  std::string fused_machine, fused_role, fused_parent;
  int64_t vm_key = kUnknown;  // vm_vm_key: its VM's key on the host (parsed once, used per guest event)
  bool has_vm_key = false;
  TraceState* host = nullptr;  // weak: the fused host whose VM this guest trace is
  int layer = 0;               // in Sink::cpus
  int fused_layer = -1;
  int64_t machine_id = 0;
  std::unique_ptr<HostAnalysis> analysis;
  std::unique_ptr<KernelModel> kernel;  // thread_state, CPU modes, namespaces
  uint64_t events = 0;
};

// Per stream: its trace, its CPU (packet context `cpu_id`) and where its contexts are.
struct StreamInfo {
  TraceState* trace = nullptr;  // weak
  int64_t cpu = kUnknown;
  bt::StreamFields fields;
};

// A fused guest's threads follow the host's state of the vCPU they run on (vcpu_preempted, vmm);
// an L2 guest's also follow the state of the L1 thread that runs that vCPU.
struct VcpuRelay final : VcpuStateObserver, ThreadStateObserver {
  std::vector<TraceState*>* traces = nullptr;  // weak
  void on_vcpu_state(int64_t vm_machine_id, int64_t vcpu_id, Timestamp ts, VcpuState state) override {
    for (TraceState* trace : *traces)
      if (trace->machine_id == vm_machine_id && trace->host) trace->kernel->on_host_vcpu_state(ts, vcpu_id, state);
  }
  void on_thread_state(int64_t machine_id, int64_t tid, Timestamp ts, ThreadState state) override {
    for (TraceState* hypervisor : *traces) {
      if (hypervisor->machine_id != machine_id) continue;
      VcpuTracker::VcpuOfThread vcpu;
      if (!hypervisor->analysis->vcpus().describe(tid, vcpu)) return;
      for (TraceState* guest : *traces)
        if (guest->host == hypervisor && guest->machine_id == vcpu.machine_id)
          guest->kernel->on_outer_vcpu_thread_state(ts, vcpu.vcpu_id, state);
      return;
    }
  }
};

struct Sink {
  bt_self_component_sink* self = nullptr;   // weak
  bt_message_iterator* upstream = nullptr;  // owned
  std::string parameters;
  std::unique_ptr<VmDatabase> database;
  std::unique_ptr<FusedCpuModel> cpus;  // writes cpu_state into `database`
  MachineRegistry machines;
  std::unordered_map<const bt_trace*, std::unique_ptr<TraceState>> traces;
  std::vector<TraceState*> trace_order;
  VcpuRelay vcpu_relay;
  std::unordered_map<const bt_stream*, StreamInfo> streams;
  std::unordered_map<const bt_event_class*, std::unique_ptr<EventClassInfo>> event_classes;
  const bt_stream* last_stream = nullptr;  // one-entry cache in front of `streams`
  StreamInfo* last_stream_info = nullptr;
  RunInfo run;

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

// A guest trace fused with its host (filter.vm.fuse upstream) is the VM that the host's QEMU
// process runs: one machine, whose vCPU intervals the host's analysis writes. Links every such
// pair known so far (traces appear in any order).
void adopt_fused_guests(Sink& sink) {
  for (TraceState* guest : sink.trace_order) {
    if (guest->fused_parent.empty() || !guest->has_vm_key || guest->host) continue;
    for (TraceState* host : sink.trace_order)
      if (host != guest && sink.machines.get(host->machine_id).name == guest->fused_parent) {
        host->analysis->adopt_vm(guest->vm_key, guest->machine_id);
        sink.cpus->set_guest_of(guest->layer, host->layer, guest->vm_key);
        guest->host = host;
      }
  }
  // A hypervisor that is itself a guest (L1): its vCPU threads' states reach its guests (L2).
  for (TraceState* guest : sink.trace_order)
    if (guest->host && guest->host->host) guest->host->kernel->set_observer(&sink.vcpu_relay);
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
  std::string machine_name = !state.fused_machine.empty() ? state.fused_machine
                             : !state.hostname.empty()    ? state.hostname
                             : !state.name.empty()        ? state.name
                                                          : "machine";
  // Cloned machines often share a hostname: keep names unique by qualifying with the trace name.
  for (const TraceState* other : sink.trace_order)
    if (other != &state && sink.machines.get(other->machine_id).name == machine_name)
      machine_name += " (" + (state.name.empty() ? std::to_string(sink.trace_order.size() + 1) : state.name) + ")";
  state.machine_id = sink.machines.add(machine_name, MachineRole::unknown, kUnknown, std::max(state.fused_layer, 0));
  if (state.fused_role == "guest") sink.machines.get(state.machine_id).role = MachineRole::guest;
  state.analysis = std::make_unique<HostAnalysis>(sink.machines, state.machine_id, *sink.database);
  state.analysis->set_vcpu_observer(&sink.vcpu_relay);
  state.kernel = std::make_unique<KernelModel>(state.machine_id, *sink.database);
  state.layer = sink.cpus->add_layer(state.machine_id);
  sink.trace_order.push_back(&state);
  adopt_fused_guests(sink);
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
  sink.streams[stream] = info;
  sink.last_stream = nullptr;
}

StreamInfo& stream_info(Sink& sink, const bt_stream* stream) {
  if (stream == sink.last_stream) return *sink.last_stream_info;
  auto it = sink.streams.find(stream);
  if (it == sink.streams.end()) throw std::runtime_error("message of a stream that never began");
  sink.last_stream = stream;
  sink.last_stream_info = &it->second;
  return it->second;
}

void on_packet_beginning(Sink& sink, const bt_message* message) {
  const bt_packet* packet = bt_message_packet_beginning_borrow_packet_const(message);
  StreamInfo& info = stream_info(sink, bt_packet_borrow_stream_const(packet));
  info.cpu = bt::packet_cpu(packet, info.fields);
}

EventClassInfo& event_class_info(Sink& sink, const bt_event_class* event_class, TraceState* trace) {
  auto& slot = sink.event_classes[event_class];
  if (!slot) {
    slot = std::make_unique<EventClassInfo>();
    slot->fields = bt::locate_event_fields(event_class);
    slot->trace = trace;
  }
  return *slot;
}

void on_event(Sink& sink, const bt_message* message) {
  const bt_event* event = bt_message_event_borrow_event_const(message);
  const bt_stream* stream = bt_event_borrow_stream_const(event);
  StreamInfo& stream_data = stream_info(sink, stream);
  EventClassInfo& info = event_class_info(sink, bt_event_borrow_class_const(event), stream_data.trace);
  ++info.count;
  TraceState& trace = *stream_data.trace;
  ++trace.events;

  const EventContext ctx = bt::read_context(event, bt::event_ns(message), stream_data.cpu, stream_data.fields);
  HostAnalysis& analysis = *trace.analysis;
  analysis.on_event(ctx);
  if (info.fields.kind == EventKind::other) return;
  // The thread the event happened in, before a sched_switch changes the CPU's current one.
  const int64_t event_tid = analysis.thread_of_event(ctx);
  bt::feed_host_analysis(analysis, info.fields, ctx, event);
  const bool status_changed = bt::feed_kernel_model(*trace.kernel, info.fields, ctx, event_tid, event);
  // What runs on each physical CPU (cpu_state).
  FusedCpuModel& cpus = *sink.cpus;
  if (status_changed && info.fields.kind != EventKind::sched_switch)
    cpus.on_status(trace.layer, ctx.ts, ctx.cpu, trace.kernel->cpu_status(ctx.cpu));
  switch (info.fields.kind) {
    case EventKind::sched_switch:
      cpus.on_switch(trace.layer, ctx.ts, ctx.cpu,
                     bt::read_int(bt_event_borrow_payload_field_const(event), info.fields.f[2]),
                     trace.kernel->cpu_status(ctx.cpu));
      break;
    case EventKind::kvm_entry: {
      VcpuTracker::VcpuOfThread vcpu;
      if (analysis.vcpus().describe(analysis.thread_of_event(ctx), vcpu))
        cpus.on_kvm_entry(trace.layer, ctx.ts, ctx.cpu, vcpu.vm_key, vcpu.machine_id, vcpu.vcpu_id);
      break;
    }
    case EventKind::kvm_exit: cpus.on_kvm_exit(trace.layer, ctx.ts, ctx.cpu); break;
    default: break;
  }
  // A fused guest's scheduler tells its host's vCPU states whether the guest runs a thread.
  if (trace.host && info.fields.kind == EventKind::sched_switch) {
    const int64_t next_tid = bt::read_int(bt_event_borrow_payload_field_const(event), info.fields.f[2]);
    trace.host->analysis->on_guest_status(ctx.ts, trace.vm_key, ctx.cpu, next_tid != 0);
  }
}

int64_t snapshot_ns(const bt_clock_snapshot* snapshot) {
  return snapshot ? bt::snapshot_ns(snapshot) : kUnknown;
}

void on_discarded_events(Sink& sink, const bt_message* message) {
  const bt_stream* stream = bt_message_discarded_events_borrow_stream_const(message);
  StreamInfo& info = stream_info(sink, stream);
  uint64_t count = 0;
  const bool counted = bt_message_discarded_events_get_count(message, &count) == BT_PROPERTY_AVAILABILITY_AVAILABLE;
  sink.run.discarded_events += counted ? count : 0;
  int64_t begin = kUnknown, end = kUnknown;
  if (bt_stream_class_discarded_events_have_default_clock_snapshots(bt_stream_borrow_class_const(stream))) {
    begin = snapshot_ns(bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(message));
    end = snapshot_ns(bt_message_discarded_events_borrow_end_default_clock_snapshot_const(message));
  }
  HostAnalysis& analysis = *info.trace->analysis;
  if (begin == kUnknown) begin = analysis.last_ts();
  if (end == kUnknown) end = begin;
  analysis.on_lost_events(begin, end, info.cpu);
  info.trace->kernel->on_lost_events(begin, info.cpu);
  sink.cpus->on_lost_events(info.trace->layer, begin, info.cpu);
  sink.database->add_data_loss(info.trace->machine_id, info.cpu, begin, end - begin,
                               counted ? static_cast<int64_t>(count) : kUnknown);
}

void on_discarded_packets(Sink& sink, const bt_message* message) {
  const bt_stream* stream = bt_message_discarded_packets_borrow_stream_const(message);
  StreamInfo& info = stream_info(sink, stream);
  uint64_t count = 0;
  if (bt_message_discarded_packets_get_count(message, &count) == BT_PROPERTY_AVAILABILITY_AVAILABLE)
    sink.run.discarded_packets += count;
  int64_t begin = kUnknown, end = kUnknown;
  if (bt_stream_class_discarded_packets_have_default_clock_snapshots(bt_stream_borrow_class_const(stream))) {
    begin = snapshot_ns(bt_message_discarded_packets_borrow_beginning_default_clock_snapshot_const(message));
    end = snapshot_ns(bt_message_discarded_packets_borrow_end_default_clock_snapshot_const(message));
  }
  HostAnalysis& analysis = *info.trace->analysis;
  if (begin == kUnknown) begin = analysis.last_ts();
  if (end == kUnknown) end = begin;
  analysis.on_lost_events(begin, end, info.cpu);
  info.trace->kernel->on_lost_events(begin, info.cpu);
  sink.cpus->on_lost_events(info.trace->layer, begin, info.cpu);
  sink.database->add_data_loss(info.trace->machine_id, info.cpu, begin, end - begin, kUnknown);
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
  auto machine_named = [&](const std::string& name) -> int64_t {
    for (const TraceState* trace : sink.trace_order)
      if (sink.machines.get(trace->machine_id).name == name) return trace->machine_id;
    return kUnknown;
  };
  for (TraceState* trace : sink.trace_order) {
    Machine& machine = sink.machines.get(trace->machine_id);
    if (!trace->fused_parent.empty()) machine.parent_id = machine_named(trace->fused_parent);
    const MachineEnv& fused = trace->fused;
    if (fused.sync_method.empty()) continue;
    VmDatabase::SyncRow row;
    row.machine_id = trace->machine_id;
    row.reference_id = machine_named(fused.sync_reference);
    row.alpha = MachineEnv::coefficient_text(fused.to_reference.alpha);
    row.beta = MachineEnv::coefficient_text(fused.to_reference.beta);
    row.method = fused.sync_method;
    row.quality = fused.sync_quality;
    row.matches = static_cast<int64_t>(fused.sync_matches);  // decode() keeps it in the int64 range
    row.accuracy_ns = MachineEnv::accuracy_text(fused.sync_accuracy_ns);
    sink.database->add_sync(row);
    for (const MachineEnv::Estimate& e : fused.estimates) {
      if (e.peer.empty()) continue;
      VmDatabase::SyncRow estimate;
      estimate.machine_id = trace->machine_id;
      estimate.reference_id = row.reference_id;
      estimate.method = e.method;
      estimate.alpha = MachineEnv::coefficient_text(e.to_reference.alpha);
      estimate.beta = MachineEnv::coefficient_text(e.to_reference.beta);
      estimate.quality = e.quality;
      estimate.matches = static_cast<int64_t>(e.matches);
      estimate.accuracy_ns = MachineEnv::estimate_accuracy_text(e.accuracy_ns);
      sink.database->add_sync_estimate(estimate, machine_named(e.peer));
    }
    if (!fused.match_method.empty())
      sink.database->add_guest_match(trace->machine_id, machine.parent_id, fused.qemu_pid, fused.match_method,
                                     fused.match_confidence);
  }
}

// The run is complete: finish the analyses, tell the user what is missing, write the file.
void finish(Sink& sink) {
  // Fused traces share one clock and end together: every timeline runs to the run's last event.
  Timestamp end = 0;
  bool fused = false;
  for (TraceState* trace : sink.trace_order) {
    end = std::max(end, trace->analysis->last_ts());
    fused |= !trace->fused_machine.empty();
  }
  for (TraceState* trace : sink.trace_order) {
    if (fused)
      trace->analysis->finish_at(end);
    else
      trace->analysis->finish();
    trace->kernel->finish(fused ? end : trace->analysis->last_ts());
    sink.run.events += trace->events;
  }
  sink.cpus->finish(end);
  int64_t vms = 0;
  for (const Machine& machine : sink.machines.all())
    if (machine.role == MachineRole::guest) ++vms;
  sink.run.vms_found = vms;

  write_fused_model(sink);
  for (TraceState* trace : sink.trace_order) {
    const HostAnalysis& analysis = *trace->analysis;
    sink.database->add_trace(
        {trace->machine_id, trace->name, trace->hostname, trace->clock_uuid, analysis.first_ts(), analysis.last_ts()});
    sink.database->add_threads(trace->machine_id, analysis.threads());
    sink.database->add_namespaces(trace->machine_id, trace->kernel->namespaces());
    sink.database->add_vcpus(analysis.vcpus().vcpus());
    bool has_kvm = false, has_sched = false;
    for (const auto& [event_class, info] : sink.event_classes) {
      if (info->trace != trace) continue;
      has_kvm |= info->fields.kind == EventKind::kvm_entry || info->fields.kind == EventKind::kvm_exit;
      has_sched |= info->fields.kind == EventKind::sched_switch;
    }
    const std::string who = "trace `" + trace->name + "` (machine `" + sink.machines.get(trace->machine_id).name + "`)";
    if (!has_kvm && trace->fused_role != "guest")
      sink.database->add_diagnostic(
          "warning", who +
                         " has no KVM events (kvm_x86_entry and kvm_x86_exit): no VM was found in it. If it is a KVM "
                         "host, record them with: lttng enable-event --kernel 'kvm_x86_*'  (lttng-modules < 2.8 names "
                         "them kvm_*: lttng enable-event --kernel 'kvm_*')");
    if (!has_sched)
      sink.database->add_diagnostic(
          "warning", who +
                         " has no sched_switch events: vCPU preemption and idle time cannot be seen. Record them "
                         "with: lttng enable-event --kernel sched_switch,sched_waking,sched_wakeup,sched_process_fork,"
                         "sched_process_exit");
  }
  for (const auto& [event_class, info] : sink.event_classes)
    sink.database->add_event_count(info->trace->machine_id, info->fields.name, info->count);
  if (vms == 0) sink.database->add_diagnostic("warning", "no VM was found in the input");

  sink.run.plugin_version = VM_VERSION_STRING;
  sink.run.babeltrace2_version = std::to_string(bt_version_get_major()) + "." + std::to_string(bt_version_get_minor()) +
                                 "." + std::to_string(bt_version_get_patch());
  for (TraceState* trace : sink.trace_order)
    sink.run.inputs += (sink.run.inputs.empty() ? "" : "\n") + trace->name + " (hostname " + trace->hostname +
                       ", clock " + trace->clock_uuid + ", " + std::to_string(trace->events) + " events)";
  sink.run.parameters = sink.parameters;
  for (const std::string& message : sink.database->diagnostics()) bt::warn(sink.component(), message);
  sink.database->commit(sink.machines, sink.run);
}

const std::vector<bt::ParamSpec>& param_specs() {
  static const std::vector<bt::ParamSpec> specs = {{"path", bt::ParamType::string, true}};
  return specs;
}

}  // namespace

bt_component_class_initialize_method_status initialize(bt_self_component_sink* self,
                                                       bt_self_component_sink_configuration*, const bt_value* params,
                                                       void*) {
  bt_self_component* self_component = bt_self_component_sink_as_self_component(self);
  try {
    const std::string problem = bt::validate_params(params, param_specs());
    if (!problem.empty()) {
      BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
          self_component, "%s. Usage: -c sink.vm.sqlite -p 'path=\"out.db\"'", problem.c_str());
      return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    auto sink = std::make_unique<Sink>();
    sink->self = self;
    sink->parameters = bt::params_to_string(params);
    sink->vcpu_relay.traces = &sink->trace_order;
    const std::string path = bt_value_string_get(bt_value_map_borrow_entry_value_const(params, "path"));
    try {
      sink->database = std::make_unique<VmDatabase>(path);
      sink->cpus = std::make_unique<FusedCpuModel>(*sink->database);
    } catch (const std::exception& error) {
      BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
          self_component, "%s. Give a path in an existing, writable directory: -p 'path=\"DIR/out.db\"'", error.what());
      return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    if (bt_self_component_sink_add_input_port(self, "in", nullptr, nullptr) != BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
      BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "cannot add the input port");
      return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    bt_self_component_set_data(self_component, sink.release());
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
  } catch (const std::bad_alloc&) {
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  } catch (const std::exception& error) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "%s", error.what());
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
  }
}

void finalize(bt_self_component_sink* self) {
  auto* sink = static_cast<Sink*>(bt_self_component_get_data(bt_self_component_sink_as_self_component(self)));
  if (!sink) return;
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
        finish(*sink);
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
      } catch (const std::bad_alloc&) {
        sink->database->abandon();
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
      } catch (const std::exception& error) {
        sink->database->abandon();
        append_cause(*sink, error.what());
        return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
      }
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
      sink->database->abandon();
      return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
    default:
      sink->database->abandon();
      append_cause(*sink, "reading the input trace failed, so no database was written at `" + sink->database->path() +
                              "`. The causes that follow say where; a truncated or corrupted data stream is the usual "
                              "reason. Copy the trace again from the machine that recorded it, or limit the run to its "
                              "readable part with babeltrace2's --end option.");
      return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
  }
  uint64_t i = 0;
  try {
    for (; i < count; ++i) {
      handle(*sink, messages[i]);
      bt_message_put_ref(messages[i]);
    }
  } catch (const std::exception& error) {
    for (; i < count; ++i) bt_message_put_ref(messages[i]);
    sink->database->abandon();
    if (dynamic_cast<const std::bad_alloc*>(&error)) return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
    append_cause(*sink, std::string(error.what()) + "; no database was written at `" + sink->database->path() + "`");
    return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
  }
  return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}

}  // namespace vm::sqlite_sink
