// SPDX-License-Identifier: MIT
#pragma once
// source.vm.scenario's event layouts: for each event kind of the scenario model
// (common/sim/scenario_event.h), the payload fields of its LTTng event class, in order, with
// their types, as the written rows of the event layout table give them
// (common/events/layout.cpp), and the slot of ScenarioEvent that holds each value. The model
// writes those slots in one function per kind (common/sim/trace_events.cpp).

#include <vector>

#include "sim/scenario_model.h"

namespace vm::scenario {

inline constexpr int kNoSource = -1;

// A payload member: its name, type, and where the model keeps its value.
struct Member {
  const char* name;
  char kind;  // 's' signed, 'u' unsigned, 'x' unsigned shown in hexadecimal, 'S' string,
              // 'L' a dynamic array's length (unsigned), 'A' that array of signed (its elements
              // from a[source], the length from the 'L' member before it)
  int bits;
  int source;  // index in ScenarioEvent::a (integers) or ::s (strings); kNoSource: a field of the
               // table that the model does not write (emitted as 0, an empty string or array)
};

// The payload fields of `type`'s event class, for the naming generation and statedump layout.
std::vector<Member> members_of(ScenarioEventType type, bool old_names, bool lm211);

// Whether `config` produces events of `type`: only those get an event class (so that the
// metadata of the default configuration stays as it was).
bool has_event_class(ScenarioEventType type, const ScenarioConfig& config);

}  // namespace vm::scenario
