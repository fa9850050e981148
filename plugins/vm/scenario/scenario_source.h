// SPDX-License-Identifier: MIT
#pragma once
// source.vm.scenario: a deterministic, seeded KVM host with its guests (common/sim/scenario_model.h),
// emitted as the LTTng kernel traces they would record: one trace per machine, one output port
// per trace, one stream per CPU.

#include "bt_method.h"

namespace vm::scenario {

bt::Method<bt_component_class_source_initialize_method> initialize;
bt::Method<bt_component_class_source_finalize_method> finalize;
VM_BT_ITERATOR_METHODS;

}  // namespace vm::scenario
