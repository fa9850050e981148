// SPDX-License-Identifier: MIT
#pragma once
// The trace IR of one machine of a scenario, as source.vm.scenario emits it: an LTTng-like
// kernel trace (its clock class, environment, one event class per event kind the configuration
// produces, one stream per CPU), and the filling of an event from a ScenarioEvent.

#include <babeltrace2/babeltrace.h>

#include <vector>

#include "bt_ref.h"
#include "scenario/event_layout.h"
#include "sim/scenario_model.h"

namespace vm::scenario {

struct EventClassIr {
  bt::Ref<bt_event_class> event_class;  // null: the configuration produces no such event
  std::vector<Member> members;
};

struct MachineIr {
  bt::Ref<bt_trace_class> trace_class;
  bt::Ref<bt_clock_class> clock_class;
  bt::Ref<bt_trace> trace;
  std::vector<EventClassIr> event_classes;  // indexed by ScenarioEventType
  std::vector<bt::Ref<bt_stream>> streams;  // one per CPU ("channel0_<cpu>")
};

// Builds the trace IR of `info` (a machine of `config`). Throws; owns what it made until then.
MachineIr build_machine_ir(bt_self_component* component, const ScenarioConfig& config, const ScenarioMachineInfo& info);

// Sets the common context (pid, tid, procname) and the payload of `event` from `e`.
void fill_event(bt_event* event, const EventClassIr& ec, const ScenarioEvent& e);

}  // namespace vm::scenario
