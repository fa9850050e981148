// SPDX-License-Identifier: MIT
#pragma once
// How lttng-modules writes the payload of the events of the layout table (common/events/layout.h):
// per exact event name and naming generation, every payload field in its order, with its
// integer size, signedness and preferred display base. The analyses read a few named fields of
// these (layout.cpp); an emitter (source.vm.scenario) declares its event classes from this table,
// so a field added here is emitted too. Data only: no babeltrace2 here.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "events/layout.h"

namespace vm {

enum class WireType : uint8_t {
  sint,        // signed integer
  uint,        // unsigned integer
  hex,         // unsigned integer shown in hexadecimal
  string,      // null-terminated string
  length,      // unsigned length of the dynamic array that follows it
  sint_array,  // dynamic array of signed integers, its length the field before it
};

struct WireField {
  const char* name;
  WireType type;
  uint8_t bits;  // integer size (0 for a string); an array's: its elements' size
};

// Which generations write a layout.
enum class Naming : uint8_t {
  any,
  newer,  // kvm_x86_* names (lttng-modules >= 2.7.2/2.8)
  older,  // kvm_* names (older)
};
enum class NsLayout : uint8_t {
  any,
  per_level,  // lttng_statedump_process_state with one event per PID-namespace level (2.7-2.11)
  separate,   // lttng_statedump_process_pid_ns carries the levels (>= 2.12)
};

inline constexpr size_t kMaxWireFields = 16;

struct WireLayout {
  const char* name;  // exact event name; kind_of(name) is `kind`
  EventKind kind;
  Naming naming;
  NsLayout ns;
  WireField fields[kMaxWireFields];

  size_t field_count() const {
    size_t n = 0;
    while (n < kMaxWireFields && fields[n].name) ++n;
    return n;
  }
};

const WireLayout* wire_layouts();
size_t wire_layout_count();

// The layout of an event of `kind` as the generation (`naming`, `ns`) writes it; `name` picks
// one of the kind's events when it has several (sched_waking and sched_wakeup, each system
// call), else empty. nullptr when the table has none.
const WireLayout* wire_layout(EventKind kind, Naming naming, NsLayout ns, std::string_view name = {});

}  // namespace vm
