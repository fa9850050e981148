// SPDX-License-Identifier: MIT
#include "scenario/trace_ir.h"

#include <cstdint>
#include <iterator>
#include <new>
#include <stdexcept>
#include <string>

namespace vm::scenario {

namespace {

using FieldClass = bt::Ref<bt_field_class>;

// A field class of `kind` (see Member); 'A' needs its length field class (borrowed).
FieldClass make_field_class(bt_trace_class* tc, char kind, int bits, bt_field_class* length = nullptr) {
  FieldClass fc;
  switch (kind) {
    case 'S': fc = FieldClass::adopt(bt_field_class_string_create(tc)); break;
    case 'A': {
      const FieldClass element = make_field_class(tc, 's', bits);
      fc = FieldClass::adopt(bt_field_class_array_dynamic_create(tc, element.get(), length));
      if (!fc) throw std::bad_alloc();
      return fc;
    }
    case 's': fc = FieldClass::adopt(bt_field_class_integer_signed_create(tc)); break;
    default: fc = FieldClass::adopt(bt_field_class_integer_unsigned_create(tc)); break;
  }
  if (!fc) throw std::bad_alloc();
  if (kind != 'S') bt_field_class_integer_set_field_value_range(fc.get(), static_cast<uint64_t>(bits));
  if (kind == 'x')
    bt_field_class_integer_set_preferred_display_base(fc.get(),
                                                      BT_FIELD_CLASS_INTEGER_PREFERRED_DISPLAY_BASE_HEXADECIMAL);
  return fc;
}

// Appends `member` to `structure` (which takes its own reference).
void append(bt_field_class* structure, const char* name, const FieldClass& member) {
  if (bt_field_class_structure_append_member(structure, name, member.get()) !=
      BT_FIELD_CLASS_STRUCTURE_APPEND_MEMBER_STATUS_OK)
    throw std::bad_alloc();
}

FieldClass make_structure(bt_trace_class* tc) {
  return FieldClass::adopt_created(bt_field_class_structure_create(tc), "a structure field class");
}

void set_int(bt_field* field, char kind, int64_t value) {
  if (kind == 's')
    bt_field_integer_signed_set_value(field, value);
  else
    bt_field_integer_unsigned_set_value(field, static_cast<uint64_t>(value));
}

bt::Ref<bt_clock_class> make_clock_class(bt_self_component* component, const ScenarioMachineInfo& info) {
  auto clock = bt::Ref<bt_clock_class>::adopt(bt_clock_class_create(component));
  if (!clock) throw std::bad_alloc();
  bt_clock_class_set_name(clock.get(), "monotonic");
  bt_clock_class_set_description(clock.get(), "Monotonic Clock");
  bt_clock_class_set_frequency(clock.get(), 1'000'000'000);
  bt_clock_class_set_offset(clock.get(), info.clock_offset_s, 0);
  bt_clock_class_set_origin_is_unix_epoch(clock.get(), BT_TRUE);
  uint8_t uuid[16];
  for (int i = 0, k = 0; i < 16; ++k) {
    if (info.clock_uuid[static_cast<size_t>(k)] == '-') continue;
    uuid[i++] = static_cast<uint8_t>(std::stoi(info.clock_uuid.substr(static_cast<size_t>(k), 2), nullptr, 16));
    ++k;
  }
  bt_clock_class_set_uuid(clock.get(), uuid);
  return clock;
}

// The environment of an LTTng kernel trace of lttng-modules 2.6 (old names), 2.11 or 2.13.
void set_environment(bt_trace* trace, const ScenarioConfig& config, const ScenarioMachineInfo& info) {
  bt_trace_set_name(trace, info.hostname.c_str());
  bt_trace_set_environment_entry_string(trace, "hostname", info.hostname.c_str());
  bt_trace_set_environment_entry_string(trace, "domain", "kernel");
  bt_trace_set_environment_entry_string(trace, "sysname", "Linux");
  bt_trace_set_environment_entry_string(trace, "kernel_release", "6.1.0-scenario");
  bt_trace_set_environment_entry_string(trace, "tracer_name", "lttng-modules");
  bt_trace_set_environment_entry_integer(trace, "tracer_major", 2);
  bt_trace_set_environment_entry_integer(trace, "tracer_minor",
                                         config.old_names         ? 6
                                         : config.statedump_lm211 ? 11
                                                                  : 13);
  bt_trace_set_environment_entry_integer(trace, "tracer_patchlevel", 0);
  bt_trace_set_environment_entry_string(trace, "trace_buffering_scheme", "global");
  bt_trace_set_environment_entry_string(trace, "trace_name", info.hostname.c_str());
  bt_trace_set_environment_entry_integer(trace, "scenario_seed", static_cast<int64_t>(config.seed));
}

}  // namespace

MachineIr build_machine_ir(bt_self_component* component, const ScenarioConfig& config,
                           const ScenarioMachineInfo& info) {
  MachineIr ir;
  ir.trace_class = bt::Ref<bt_trace_class>::adopt(bt_trace_class_create(component));
  if (!ir.trace_class) throw std::bad_alloc();
  bt_trace_class* tc = ir.trace_class.get();
  ir.clock_class = make_clock_class(component, info);

  // The trace class keeps the stream class, which keeps its event classes.
  const auto sc = bt::Ref<bt_stream_class>::adopt_created(bt_stream_class_create(tc), "a stream class");
  bt_stream_class_set_default_clock_class(sc.get(), ir.clock_class.get());
  bt_stream_class_set_supports_packets(sc.get(), BT_TRUE, BT_TRUE, BT_TRUE);
  const FieldClass packet_context = make_structure(tc);
  append(packet_context.get(), "cpu_id", make_field_class(tc, 'u', 32));
  bt_stream_class_set_packet_context_field_class(sc.get(), packet_context.get());
  const FieldClass common = make_structure(tc);
  append(common.get(), "pid", make_field_class(tc, 's', 32));
  append(common.get(), "tid", make_field_class(tc, 's', 32));
  append(common.get(), "procname", make_field_class(tc, 'S', 0));
  bt_stream_class_set_event_common_context_field_class(sc.get(), common.get());

  ir.event_classes.resize(static_cast<size_t>(ScenarioEventType::count));
  for (size_t t = 0; t < ir.event_classes.size(); ++t) {
    const auto type = static_cast<ScenarioEventType>(t);
    if (!has_event_class(type, config)) continue;
    EventClassIr& ec = ir.event_classes[t];
    ec.members = members_of(type, config.old_names, config.statedump_lm211);
    ec.event_class = bt::Ref<bt_event_class>::adopt_created(bt_event_class_create(sc.get()), "an event class");
    bt_event_class_set_name(ec.event_class.get(),
                            scenario_written_event(type, config.old_names, config.statedump_lm211).name);
    const FieldClass payload = make_structure(tc);
    bt_field_class* length = nullptr;  // borrowed from `payload`
    for (const Member& m : ec.members) {
      const FieldClass fc = make_field_class(tc, m.kind, m.bits, length);
      if (m.kind == 'L') length = fc.get();
      append(payload.get(), m.name, fc);
    }
    bt_event_class_set_payload_field_class(ec.event_class.get(), payload.get());
  }

  ir.trace = bt::Ref<bt_trace>::adopt(bt_trace_create(tc));
  if (!ir.trace) throw std::bad_alloc();
  set_environment(ir.trace.get(), config, info);
  for (int cpu = 0; cpu < info.cpus; ++cpu) {
    auto stream = bt::Ref<bt_stream>::adopt(bt_stream_create(sc.get(), ir.trace.get()));
    if (!stream) throw std::bad_alloc();
    bt_stream_set_name(stream.get(), ("channel0_" + std::to_string(cpu)).c_str());
    ir.streams.push_back(std::move(stream));
  }
  return ir;
}

void fill_event(bt_event* event, const EventClassIr& ec, const ScenarioEvent& e) {
  bt_field* common = bt_event_borrow_common_context_field(event);
  bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(common, 0), e.pid);
  bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(common, 1), e.tid);
  bt_field_string_set_value(bt_field_structure_borrow_member_field_by_index(common, 2), e.procname);
  bt_field* payload = bt_event_borrow_payload_field(event);
  for (size_t i = 0; i < ec.members.size(); ++i) {
    const Member& m = ec.members[i];
    bt_field* field = bt_field_structure_borrow_member_field_by_index(payload, i);
    if (m.kind == 'S') {
      bt_field_string_set_value(field, m.source == kNoSource ? "" : e.s[m.source]);
    } else if (m.kind == 'A') {
      const int length_source = ec.members[i - 1].source;
      const auto length = static_cast<uint64_t>(
          m.source == kNoSource || length_source == kNoSource ? 0 : e.a[length_source]);
      const size_t room = m.source == kNoSource ? 0 : std::size(e.a) - static_cast<size_t>(m.source);
      if (length > room ||
          bt_field_array_dynamic_set_length(field, length) != BT_FIELD_DYNAMIC_ARRAY_SET_LENGTH_STATUS_OK)
        throw std::runtime_error("cannot set a dynamic array's length");
      for (uint64_t k = 0; k < length; ++k)
        bt_field_integer_signed_set_value(bt_field_array_borrow_element_field_by_index(field, k),
                                          e.a[static_cast<size_t>(m.source) + k]);
    } else {
      set_int(field, m.kind, m.source == kNoSource ? 0 : e.a[m.source]);
    }
  }
}

}  // namespace vm::scenario
