// source.vm.scenario: turns the scenario model's events (common/scenario_model.h) into the
// messages of LTTng-like kernel traces. One output port per machine (named after its hostname);
// each port's iterator runs its own copy of the (deterministic) model and keeps its machine's
// events, so that iterators never wait for each other and seeking back is a restart.

#include "scenario/scenario_source.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "bt_util.h"
#include "scenario/params.h"
#include "scenario_model.h"
#include "scenario_truth.h"

namespace vm::scenario {

namespace {

// Events per packet (LTTng's packets hold a sub-buffer: thousands of events).
constexpr uint64_t kPacketEvents = 4096;

struct Component {
  ScenarioConfig config;
  std::vector<ScenarioMachineInfo> machines;
};

// ---- parameters

// Reads the parameters, checked against their list (scenario/params.h) and then together
// (validate()); throws std::invalid_argument naming the key and the fix.
ScenarioConfig parse(const bt_value* map, std::string& truth) {
  const std::string problem = bt::validate_params(map, param_specs());
  if (!problem.empty()) throw std::invalid_argument(problem);
  ScenarioConfig c;
  // In range (validate_params), so every narrowing below keeps the value.
  auto int_param = [&](const char* name, auto& out) {
    out = static_cast<std::remove_reference_t<decltype(out)>>(bt::param_int(map, name, static_cast<int64_t>(out)));
  };
  int_param("seed", c.seed);
  int_param("pcpus", c.pcpus);
  int_param("vms", c.vms);
  int_param("vcpus-per-vm", c.vcpus_per_vm);
  int_param("guest-threads", c.guest_threads);
  int_param("host-threads", c.host_threads);
  int_param("time-slice-ns", c.time_slice_ns);
  int_param("nested-vcpus", c.nested_vcpus);
  int_param("clock-offset-ns", c.clock_offset_ns);
  int_param("duration-ns", c.duration_ns);
  int_param("events", c.events);
  int_param("containers", c.containers);
  const std::string layout = bt::param_string(map, "statedump", "lm212");
  if (layout != "lm212" && layout != "lm211")
    throw std::invalid_argument("`statedump` must be \"lm212\" (lttng-modules 2.12+) or \"lm211\" (2.7-2.11)");
  c.statedump_lm211 = layout == "lm211";
  c.exit_rate = bt::param_real(map, "exit-rate", c.exit_rate);
  c.host_irq_rate = bt::param_real(map, "host-irq-rate", c.host_irq_rate);
  c.disk_irq_rate = bt::param_real(map, "disk-irq-rate", c.disk_irq_rate);
  c.net_irq_rate = bt::param_real(map, "net-irq-rate", c.net_irq_rate);
  c.drift_ppm = bt::param_real(map, "drift-ppm", c.drift_ppm);
  c.nested = bt::param_bool(map, "nested", c.nested);
  const std::string naming = bt::param_string(map, "naming", "new");
  if (naming != "new" && naming != "old")
    throw std::invalid_argument("`naming` must be \"new\" (kvm_x86_entry) or \"old\" (kvm_entry)");
  c.old_names = naming == "old";
  if (bt_value_map_has_entry(map, "exit-mix")) {
    c.exit_mix = bt::param_string(map, "exit-mix", "");
    if (c.exit_mix.empty()) throw std::invalid_argument("`exit-mix` must not be empty");
  }
  truth = bt::param_string(map, "truth", "");
  const std::string model_problem = validate(c);
  if (!model_problem.empty()) throw std::invalid_argument(model_problem);
  return c;
}

// ---- trace IR

// A payload member: its name, type, and where the model keeps its value.
struct Member {
  const char* name;
  char kind;  // 's' signed, 'u' unsigned, 'x' unsigned shown in hexadecimal, 'S' string,
              // 'L' a dynamic array's length (unsigned), 'A' that array of signed (its elements
              // from a[source], the length from the 'L' member before it)
  int bits;
  int source;  // index in ScenarioEvent::a (integers) or ::s (strings)
};

std::vector<Member> members_of(ScenarioEventType type, bool old_names, bool lm211) {
  switch (type) {
    case ScenarioEventType::sched_switch:
      return {{"prev_comm", 'S', 0, 0}, {"prev_tid", 's', 32, 0}, {"prev_prio", 's', 32, 1},
              {"prev_state", 's', 64, 2}, {"next_comm", 'S', 0, 1}, {"next_tid", 's', 32, 3},
              {"next_prio", 's', 32, 4}};
    case ScenarioEventType::sched_waking:
    case ScenarioEventType::sched_wakeup:
      return {{"comm", 'S', 0, 0}, {"tid", 's', 32, 0}, {"prio", 's', 32, 1}, {"target_cpu", 's', 32, 2}};
    case ScenarioEventType::sched_process_fork:
      return {{"parent_comm", 'S', 0, 0},    {"parent_tid", 's', 32, 0},    {"parent_pid", 's', 32, 1},
              {"parent_ns_inum", 'u', 32, 4}, {"child_comm", 'S', 0, 1},     {"child_tid", 's', 32, 2},
              {"_vtids_length", 'L', 32, 6},  {"vtids", 'A', 32, 7},         {"child_pid", 's', 32, 3},
              {"child_ns_inum", 'u', 32, 5}};
    case ScenarioEventType::statedump_pid_ns:
      return {{"tid", 's', 32, 0},      {"vtid", 's', 32, 1},     {"vpid", 's', 32, 2},
              {"vppid", 's', 32, 3},    {"ns_level", 's', 32, 4}, {"ns_inum", 'u', 32, 5}};
    case ScenarioEventType::statedump_process:
      if (lm211)
        return {{"tid", 's', 32, 0},     {"vtid", 's', 32, 8},    {"pid", 's', 32, 1},     {"vpid", 's', 32, 9},
                {"ppid", 's', 32, 2},    {"vppid", 's', 32, 10},  {"name", 'S', 0, 0},     {"type", 's', 32, 3},
                {"mode", 's', 32, 4},    {"submode", 's', 32, 5}, {"status", 's', 32, 6},  {"ns_level", 's', 32, 11},
                {"ns_inum", 'u', 32, 12}, {"cpu", 'u', 32, 7}};
      return {{"tid", 's', 32, 0},    {"pid", 's', 32, 1},     {"ppid", 's', 32, 2},   {"name", 'S', 0, 0},
              {"type", 's', 32, 3},   {"mode", 's', 32, 4},    {"submode", 's', 32, 5}, {"status", 's', 32, 6},
              {"cpu", 'u', 32, 7}};
    case ScenarioEventType::kvm_entry:
      if (old_names) return {{"vcpu_id", 'u', 32, 0}};
      return {{"vcpu_id", 'u', 32, 0}, {"rip", 'x', 64, 1}, {"immediate_exit", 'u', 8, 2}};
    case ScenarioEventType::kvm_exit:
      if (old_names)
        return {{"exit_reason", 'u', 32, 0}, {"guest_rip", 'x', 64, 1}, {"isa", 'u', 32, 2}, {"info1", 'x', 64, 3},
                {"info2", 'x', 64, 4}};
      return {{"exit_reason", 'u', 32, 0}, {"guest_rip", 'x', 64, 1}, {"isa", 'u', 32, 2},
              {"info1", 'x', 64, 3},       {"info2", 'x', 64, 4},     {"intr_info", 'u', 32, 5},
              {"error_code", 'u', 32, 6},  {"vcpu_id", 'u', 32, 7}};
    case ScenarioEventType::kvm_inj_virq:
      if (old_names) return {{"irq", 'u', 32, 0}};
      return {{"irq", 'u', 32, 0}, {"soft", 'u', 8, 1}, {"reinjected", 'u', 8, 2}};
    case ScenarioEventType::irq_handler_entry: return {{"irq", 's', 32, 0}, {"name", 'S', 0, 0}};
    case ScenarioEventType::irq_handler_exit: return {{"irq", 's', 32, 0}, {"ret", 's', 32, 1}};
    case ScenarioEventType::timer_irq_entry:
    case ScenarioEventType::timer_irq_exit: return {{"vector", 's', 32, 0}};
    case ScenarioEventType::syscall_entry_ioctl: return {{"fd", 'u', 32, 0}, {"cmd", 'u', 32, 1}, {"arg", 'u', 64, 2}};
    case ScenarioEventType::syscall_exit_ioctl: return {{"ret", 's', 64, 0}, {"arg", 'u', 64, 1}};
    case ScenarioEventType::syscall_entry_nanosleep: return {{"rqtp", 'x', 64, 0}, {"rmtp", 'x', 64, 1}};
    case ScenarioEventType::syscall_exit_nanosleep: return {{"ret", 's', 64, 0}, {"rmtp", 'x', 64, 1}};
    case ScenarioEventType::syscall_entry_read: return {{"fd", 'u', 32, 0}, {"buf", 'x', 64, 1}, {"count", 'u', 64, 2}};
    case ScenarioEventType::syscall_exit_read: return {{"ret", 's', 64, 0}, {"buf", 'x', 64, 1}};
    case ScenarioEventType::count: break;
  }
  return {};
}

bt_field_class* make_field_class(bt_trace_class* tc, char kind, int bits, bt_field_class* length = nullptr) {
  bt_field_class* fc = nullptr;
  switch (kind) {
    case 'S': fc = bt_field_class_string_create(tc); break;
    case 'A': {
      bt_field_class* element = make_field_class(tc, 's', bits);
      fc = bt_field_class_array_dynamic_create(tc, element, length);
      bt_field_class_put_ref(element);
      if (!fc) throw std::bad_alloc();
      return fc;
    }
    case 's': fc = bt_field_class_integer_signed_create(tc); break;
    default: fc = bt_field_class_integer_unsigned_create(tc); break;
  }
  if (!fc) throw std::bad_alloc();
  if (kind != 'S') bt_field_class_integer_set_field_value_range(fc, static_cast<uint64_t>(bits));
  if (kind == 'x')
    bt_field_class_integer_set_preferred_display_base(fc, BT_FIELD_CLASS_INTEGER_PREFERRED_DISPLAY_BASE_HEXADECIMAL);
  return fc;
}

void append(bt_field_class* structure, const char* name, bt_field_class* member) {
  const auto status = bt_field_class_structure_append_member(structure, name, member);
  bt_field_class_put_ref(member);
  if (status != BT_FIELD_CLASS_STRUCTURE_APPEND_MEMBER_STATUS_OK) throw std::bad_alloc();
}

void set_int(bt_field* field, char kind, int64_t value) {
  if (kind == 's')
    bt_field_integer_signed_set_value(field, value);
  else
    bt_field_integer_unsigned_set_value(field, static_cast<uint64_t>(value));
}

class ScenarioIterator final : public ScenarioListener {
 public:
  ScenarioIterator(bt_self_message_iterator* self, const Component& component, int machine)
      : self_(self), component_(component), machine_(machine), info_(component.machines[static_cast<size_t>(machine)]) {
    build_ir();
    restart();
  }
  ~ScenarioIterator() override {
    for (StreamState& s : streams_) {
      bt_packet_put_ref(s.packet);
      bt_stream_put_ref(s.stream);
    }
    bt_trace_put_ref(trace_);
    bt_clock_class_put_ref(clock_);
    bt_trace_class_put_ref(trace_class_);
  }
  ScenarioIterator(const ScenarioIterator&) = delete;
  ScenarioIterator& operator=(const ScenarioIterator&) = delete;

  void on_event(const ScenarioEvent& event) override {
    if (event.machine == machine_) queue_.push_back(event);
  }

  void restart() {
    queue_.clear();
    for (StreamState& s : streams_) {
      BT_PACKET_PUT_REF_AND_RESET(s.packet);
      s.events = 0;
      s.had_packet = false;
    }
    model_ = std::make_unique<ScenarioModel>(component_.config);
    model_running_ = true;
    phase_ = Phase::stream_beginnings;
    index_ = 0;
    closing_ = -1;
    last_cycles_ = 0;
  }

  bt_message_iterator_class_next_method_status next(bt_message_array_const messages, uint64_t capacity,
                                                    uint64_t* count) {
    *count = 0;
    while (*count < capacity && phase_ != Phase::done) {
      const bt_message* message = produce();
      if (message) messages[(*count)++] = message;
    }
    if (*count > 0) return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_OK;
    return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END;
  }

 private:
  enum class Phase { stream_beginnings, events, closing, done };
  struct StreamState {
    bt_stream* stream = nullptr;
    bt_packet* packet = nullptr;
    uint64_t events = 0;
    bool had_packet = false;
  };

  static const bt_message* check(const bt_message* message) {
    if (!message) throw std::bad_alloc();
    return message;
  }

  uint64_t cycles(int64_t ts) {
    const int64_t value = ts - info_.clock_offset_s * 1'000'000'000;
    if (value < 0) throw std::runtime_error("an event precedes its clock's offset");
    last_cycles_ = std::max(last_cycles_, static_cast<uint64_t>(value));
    return static_cast<uint64_t>(value);
  }

  const bt_message* open_packet(StreamState& s, int cpu, uint64_t at) {
    s.packet = bt_packet_create(s.stream);
    if (!s.packet) throw std::bad_alloc();
    bt_field* context = bt_packet_borrow_context_field(s.packet);
    bt_field_integer_unsigned_set_value(bt_field_structure_borrow_member_field_by_index(context, 0),
                                        static_cast<uint64_t>(cpu));
    s.events = 0;
    s.had_packet = true;
    return check(bt_message_packet_beginning_create_with_default_clock_snapshot(self_, s.packet, at));
  }

  const bt_message* close_packet(StreamState& s) {
    const bt_message* message =
        check(bt_message_packet_end_create_with_default_clock_snapshot(self_, s.packet, last_cycles_));
    BT_PACKET_PUT_REF_AND_RESET(s.packet);
    return message;
  }

  // The next message, or nullptr when this step produced none.
  const bt_message* produce() {
    switch (phase_) {
      case Phase::stream_beginnings: {
        const bt_message* message = check(bt_message_stream_beginning_create(self_, streams_[index_].stream));
        if (++index_ == streams_.size()) phase_ = Phase::events;
        return message;
      }
      case Phase::events: {
        if (closing_ >= 0) {
          StreamState& s = streams_[static_cast<size_t>(closing_)];
          closing_ = -1;
          return close_packet(s);
        }
        while (queue_.empty() && model_running_) model_running_ = model_->step(*this);
        if (queue_.empty()) {
          phase_ = Phase::closing;
          index_ = 0;
          return nullptr;
        }
        const ScenarioEvent& e = queue_.front();
        StreamState& s = streams_.at(static_cast<size_t>(e.cpu));
        const uint64_t at = cycles(e.ts);
        if (!s.packet) return open_packet(s, e.cpu, at);
        const bt_message* message = make_event(e, s, at);
        const int cpu = e.cpu;
        queue_.pop_front();  // `e` is gone
        if (++s.events >= kPacketEvents) closing_ = cpu;
        return message;
      }
      case Phase::closing: {
        // Per stream: (packet beginning if it never had one,) packet end, stream end.
        if (index_ >= streams_.size()) {
          phase_ = Phase::done;
          return nullptr;
        }
        StreamState& s = streams_[index_];
        if (!s.had_packet) return open_packet(s, static_cast<int>(index_), last_cycles_);
        if (s.packet) return close_packet(s);
        const bt_message* message = check(bt_message_stream_end_create(self_, s.stream));
        ++index_;
        return message;
      }
      case Phase::done: break;
    }
    return nullptr;
  }

  const bt_message* make_event(const ScenarioEvent& e, StreamState& s, uint64_t at) {
    const EventClass& ec = event_classes_[static_cast<size_t>(e.type)];
    if (!ec.event_class) throw std::runtime_error("no event class for a scenario event");
    bt_message* message =
        bt_message_event_create_with_packet_and_default_clock_snapshot(self_, ec.event_class, s.packet, at);
    if (!message) throw std::bad_alloc();
    bt_event* event = bt_message_event_borrow_event(message);
    bt_field* common = bt_event_borrow_common_context_field(event);
    bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(common, 0), e.pid);
    bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(common, 1), e.tid);
    bt_field_string_set_value(bt_field_structure_borrow_member_field_by_index(common, 2), e.procname);
    bt_field* payload = bt_event_borrow_payload_field(event);
    for (size_t i = 0; i < ec.members.size(); ++i) {
      const Member& m = ec.members[i];
      bt_field* field = bt_field_structure_borrow_member_field_by_index(payload, i);
      if (m.kind == 'S') {
        bt_field_string_set_value(field, e.s[m.source]);
      } else if (m.kind == 'A') {
        const auto length = static_cast<uint64_t>(e.a[ec.members[i - 1].source]);
        const size_t room = std::size(e.a) - static_cast<size_t>(m.source);
        if (length > room || bt_field_array_dynamic_set_length(field, length) != BT_FIELD_DYNAMIC_ARRAY_SET_LENGTH_STATUS_OK)
          throw std::runtime_error("cannot set a dynamic array's length");
        for (uint64_t k = 0; k < length; ++k)
          bt_field_integer_signed_set_value(bt_field_array_borrow_element_field_by_index(field, k),
                                            e.a[static_cast<size_t>(m.source) + k]);
      } else {
        set_int(field, m.kind, e.a[m.source]);
      }
    }
    return message;
  }

  struct EventClass {
    bt_event_class* event_class = nullptr;  // owned by the stream class
    std::vector<Member> members;
  };

  void build_ir() {
    bt_self_component* comp = bt_self_message_iterator_borrow_component(self_);
    trace_class_ = bt_trace_class_create(comp);
    clock_ = bt_clock_class_create(comp);
    if (!trace_class_ || !clock_) throw std::bad_alloc();
    bt_clock_class_set_name(clock_, "monotonic");
    bt_clock_class_set_description(clock_, "Monotonic Clock");
    bt_clock_class_set_frequency(clock_, 1'000'000'000);
    bt_clock_class_set_offset(clock_, info_.clock_offset_s, 0);
    bt_clock_class_set_origin_is_unix_epoch(clock_, BT_TRUE);
    uint8_t uuid[16];
    for (int i = 0, k = 0; i < 16; ++k) {
      if (info_.clock_uuid[static_cast<size_t>(k)] == '-') continue;
      uuid[i++] = static_cast<uint8_t>(std::stoi(info_.clock_uuid.substr(static_cast<size_t>(k), 2), nullptr, 16));
      ++k;
    }
    bt_clock_class_set_uuid(clock_, uuid);

    bt_stream_class* sc = bt_stream_class_create(trace_class_);
    if (!sc) throw std::bad_alloc();
    bt_stream_class_set_default_clock_class(sc, clock_);
    bt_stream_class_set_supports_packets(sc, BT_TRUE, BT_TRUE, BT_TRUE);
    bt_field_class* packet_context = bt_field_class_structure_create(trace_class_);
    append(packet_context, "cpu_id", make_field_class(trace_class_, 'u', 32));
    bt_stream_class_set_packet_context_field_class(sc, packet_context);
    bt_field_class_put_ref(packet_context);
    bt_field_class* common = bt_field_class_structure_create(trace_class_);
    append(common, "pid", make_field_class(trace_class_, 's', 32));
    append(common, "tid", make_field_class(trace_class_, 's', 32));
    append(common, "procname", make_field_class(trace_class_, 'S', 0));
    bt_stream_class_set_event_common_context_field_class(sc, common);
    bt_field_class_put_ref(common);

    const bool old_names = component_.config.old_names;
    event_classes_.resize(static_cast<size_t>(ScenarioEventType::count));
    for (size_t t = 0; t < event_classes_.size(); ++t) {
      const auto type = static_cast<ScenarioEventType>(t);
      // Only the event classes the configuration produces (the default's metadata is unchanged).
      const ScenarioConfig& config = component_.config;
      if (type == ScenarioEventType::sched_process_fork && config.containers == 0) continue;
      if (type == ScenarioEventType::statedump_pid_ns && (config.containers == 0 || config.statedump_lm211)) continue;
      if ((type == ScenarioEventType::syscall_entry_read || type == ScenarioEventType::syscall_exit_read) &&
          config.disk_irq_rate + config.net_irq_rate <= 0)
        continue;
      EventClass& ec = event_classes_[t];
      ec.members = members_of(type, old_names, config.statedump_lm211);
      ec.event_class = bt_event_class_create(sc);
      if (!ec.event_class) throw std::bad_alloc();
      bt_event_class_set_name(ec.event_class, scenario_event_name(type, old_names));
      bt_field_class* payload = bt_field_class_structure_create(trace_class_);
      bt_field_class* length = nullptr;  // borrowed from `payload`
      for (const Member& m : ec.members) {
        bt_field_class* fc = make_field_class(trace_class_, m.kind, m.bits, length);
        if (m.kind == 'L') length = fc;
        append(payload, m.name, fc);
      }
      bt_event_class_set_payload_field_class(ec.event_class, payload);
      bt_field_class_put_ref(payload);
      bt_event_class_put_ref(ec.event_class);  // the stream class keeps it
    }

    trace_ = bt_trace_create(trace_class_);
    if (!trace_) throw std::bad_alloc();
    bt_trace_set_name(trace_, info_.hostname.c_str());
    bt_trace_set_environment_entry_string(trace_, "hostname", info_.hostname.c_str());
    bt_trace_set_environment_entry_string(trace_, "domain", "kernel");
    bt_trace_set_environment_entry_string(trace_, "sysname", "Linux");
    bt_trace_set_environment_entry_string(trace_, "kernel_release", "6.1.0-scenario");
    bt_trace_set_environment_entry_string(trace_, "tracer_name", "lttng-modules");
    bt_trace_set_environment_entry_integer(trace_, "tracer_major", 2);
    bt_trace_set_environment_entry_integer(trace_, "tracer_minor",
                                           old_names ? 6 : component_.config.statedump_lm211 ? 11 : 13);
    bt_trace_set_environment_entry_integer(trace_, "tracer_patchlevel", 0);
    bt_trace_set_environment_entry_string(trace_, "trace_buffering_scheme", "global");
    bt_trace_set_environment_entry_string(trace_, "trace_name", info_.hostname.c_str());
    bt_trace_set_environment_entry_integer(trace_, "scenario_seed", static_cast<int64_t>(component_.config.seed));
    for (int cpu = 0; cpu < info_.cpus; ++cpu) {
      StreamState s;
      s.stream = bt_stream_create(sc, trace_);
      if (!s.stream) throw std::bad_alloc();
      bt_stream_set_name(s.stream, ("channel0_" + std::to_string(cpu)).c_str());
      streams_.push_back(s);
    }
    bt_stream_class_put_ref(sc);  // the trace class keeps it
  }

  bt_self_message_iterator* self_;
  const Component& component_;
  int machine_;
  const ScenarioMachineInfo& info_;
  bt_trace_class* trace_class_ = nullptr;
  bt_clock_class* clock_ = nullptr;
  bt_trace* trace_ = nullptr;
  std::vector<EventClass> event_classes_;
  std::vector<StreamState> streams_;
  std::unique_ptr<ScenarioModel> model_;
  bool model_running_ = true;
  std::deque<ScenarioEvent> queue_;
  Phase phase_ = Phase::stream_beginnings;
  size_t index_ = 0;
  int closing_ = -1;
  uint64_t last_cycles_ = 0;
};

ScenarioIterator* iterator_of(bt_self_message_iterator* self) {
  return static_cast<ScenarioIterator*>(bt_self_message_iterator_get_data(self));
}

}  // namespace

bt_component_class_initialize_method_status initialize(bt_self_component_source* self,
                                                       bt_self_component_source_configuration*,
                                                       const bt_value* params_value, void*) {
  bt_self_component* self_component = bt_self_component_source_as_self_component(self);
  try {
    auto component = std::make_unique<Component>();
    std::string truth;
    try {
      component->config = parse(params_value, truth);
    } catch (const std::invalid_argument& error) {
      BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
          self_component, "%s. Example: -c source.vm.scenario -p 'seed=1,vms=2,pcpus=2,nested=true'", error.what());
      return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    component->machines = ScenarioModel(component->config).machines();
    if (!truth.empty()) {
      try {
        write_scenario_truth(component->config, truth);
      } catch (const std::exception& error) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
            self_component, "parameter `truth`: %s. Give a path in an existing, writable directory.", error.what());
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
      }
    }
    for (size_t m = 0; m < component->machines.size(); ++m) {
      if (bt_self_component_source_add_output_port(self, component->machines[m].hostname.c_str(),
                                                   reinterpret_cast<void*>(m), nullptr) !=
          BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "cannot add an output port");
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
      }
    }
    bt_self_component_set_data(self_component, component.release());
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
  } catch (const std::bad_alloc&) {
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  } catch (const std::exception& error) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "%s", error.what());
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
  } catch (...) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "unexpected error while initializing");
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
  }
}

void finalize(bt_self_component_source* self) {
  delete static_cast<Component*>(bt_self_component_get_data(bt_self_component_source_as_self_component(self)));
}

bt_message_iterator_class_initialize_method_status iterator_initialize(bt_self_message_iterator* self,
                                                                       bt_self_message_iterator_configuration* config,
                                                                       bt_self_component_port_output* port) {
  try {
    const auto* component = static_cast<const Component*>(
        bt_self_component_get_data(bt_self_message_iterator_borrow_component(self)));
    const auto machine = reinterpret_cast<uintptr_t>(
        bt_self_component_port_get_data(bt_self_component_port_output_as_self_component_port(port)));
    auto iterator = std::make_unique<ScenarioIterator>(self, *component, static_cast<int>(machine));
    bt_self_message_iterator_configuration_set_can_seek_forward(config, BT_FALSE);
    bt_self_message_iterator_set_data(self, iterator.release());
    return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_OK;
  } catch (const std::bad_alloc&) {
    return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  } catch (const std::exception& error) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "%s", error.what());
    return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
  } catch (...) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "unexpected error while initializing");
    return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
  }
}

void iterator_finalize(bt_self_message_iterator* self) {
  delete iterator_of(self);
}

bt_message_iterator_class_next_method_status iterator_next(bt_self_message_iterator* self,
                                                           bt_message_array_const messages, uint64_t capacity,
                                                           uint64_t* count) {
  *count = 0;
  try {
    return iterator_of(self)->next(messages, capacity, count);
  } catch (const std::exception& error) {
    for (uint64_t i = 0; i < *count; ++i) bt_message_put_ref(messages[i]);
    *count = 0;
    if (dynamic_cast<const std::bad_alloc*>(&error)) return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_MEMORY_ERROR;
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "%s", error.what());
    return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR;
  }
}

bt_message_iterator_class_seek_beginning_method_status seek_beginning(bt_self_message_iterator* self) {
  try {
    iterator_of(self)->restart();
    return BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_OK;
  } catch (const std::bad_alloc&) {
    return BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_MEMORY_ERROR;
  } catch (const std::exception& error) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "%s", error.what());
    return BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_ERROR;
  }
}

bt_message_iterator_class_can_seek_beginning_method_status can_seek_beginning(bt_self_message_iterator*,
                                                                               bt_bool* can_seek) {
  *can_seek = BT_TRUE;
  return BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_OK;
}

}  // namespace vm::scenario
