// SPDX-License-Identifier: MIT
// source.vm.scenario: turns the scenario model's events (common/sim/scenario_model.h) into the
// messages of LTTng-like kernel traces. One output port per machine (named after its hostname);
// each port's iterator (scenario_iterator.h) runs its own copy of the (deterministic) model and
// keeps its machine's events, so that iterators never wait for each other and seeking back is a
// restart. The trace IR is built by trace_ir.cpp, from the event layouts of event_layout.cpp.
// Here: the parameters and the methods babeltrace2 calls, none of which lets an exception out.

#include "scenario/scenario_source.h"

#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "bt_guard.h"
#include "bt_util.h"
#include "scenario/params.h"
#include "scenario/scenario_iterator.h"
#include "sim/scenario_model.h"
#include "sim/truth_writer.h"

namespace vm::scenario {

namespace {

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
  c.wake_causes = bt::param_bool(map, "wake-causes", c.wake_causes);
  c.requests = bt::param_bool(map, "requests", c.requests);
  c.nested_events = bt::param_bool(map, "nested-events", c.nested_events);
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

ScenarioIterator* iterator_of(bt_self_message_iterator* self) {
  return static_cast<ScenarioIterator*>(bt_self_message_iterator_get_data(self));
}

bt_component_class_initialize_method_status initialize_component(bt_self_component_source* self,
                                                                 const bt_value* params_value) {
  bt_self_component* self_component = bt_self_component_source_as_self_component(self);
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
                                                 reinterpret_cast<void*>(m),
                                                 nullptr) != BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
      BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "cannot add an output port");
      return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
  }
  bt_self_component_set_data(self_component, component.release());
  return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

}  // namespace

bt_component_class_initialize_method_status initialize(bt_self_component_source* self,
                                                       bt_self_component_source_configuration*,
                                                       const bt_value* params_value, void*) {
  return bt::guarded(bt_self_component_source_as_self_component(self),
                     BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR,
                     BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR, "while initializing",
                     [&] { return initialize_component(self, params_value); });
}

void finalize(bt_self_component_source* self) {
  bt_self_component* self_component = bt_self_component_source_as_self_component(self);
  bt::guarded(self_component, 0, 0, "while finalizing", [&] {
    delete static_cast<Component*>(bt_self_component_get_data(self_component));
    bt_self_component_set_data(self_component, nullptr);
    return 0;
  });
}

bt_message_iterator_class_initialize_method_status iterator_initialize(bt_self_message_iterator* self,
                                                                       bt_self_message_iterator_configuration* config,
                                                                       bt_self_component_port_output* port) {
  return bt::guarded(self, BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR,
                     BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR, "creating the iterator", [&] {
                       const auto* component = static_cast<const Component*>(
                           bt_self_component_get_data(bt_self_message_iterator_borrow_component(self)));
                       const auto machine = reinterpret_cast<uintptr_t>(
                           bt_self_component_port_get_data(bt_self_component_port_output_as_self_component_port(port)));
                       // Owned here until babeltrace2 has it: nothing leaks if building it throws.
                       auto iterator = std::make_unique<ScenarioIterator>(self, *component, static_cast<int>(machine));
                       bt_self_message_iterator_configuration_set_can_seek_forward(config, BT_FALSE);
                       bt_self_message_iterator_set_data(self, iterator.release());
                       return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_OK;
                     });
}

void iterator_finalize(bt_self_message_iterator* self) {
  bt::guarded(self, 0, 0, "while finalizing the iterator", [&] {
    delete iterator_of(self);
    bt_self_message_iterator_set_data(self, nullptr);
    return 0;
  });
}

bt_message_iterator_class_next_method_status iterator_next(bt_self_message_iterator* self,
                                                           bt_message_array_const messages, uint64_t capacity,
                                                           uint64_t* count) {
  *count = 0;
  const auto status = bt::guarded(self, BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR,
                                  BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_MEMORY_ERROR, "making messages",
                                  [&] { return iterator_of(self)->next(messages, capacity, count); });
  if (status == BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR ||
      status == BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_MEMORY_ERROR) {
    // The messages made before the failure go back: each is adopted and dropped.
    for (uint64_t i = 0; i < *count; ++i) bt::Ref<const bt_message>::adopt(messages[i]);
    *count = 0;
  }
  return status;
}

bt_message_iterator_class_seek_beginning_method_status seek_beginning(bt_self_message_iterator* self) {
  return bt::guarded(self, BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_ERROR,
                     BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_MEMORY_ERROR, "seeking the beginning", [&] {
                       iterator_of(self)->restart();
                       return BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_OK;
                     });
}

bt_message_iterator_class_can_seek_beginning_method_status can_seek_beginning(bt_self_message_iterator* self,
                                                                              bt_bool* can_seek) {
  return bt::guarded(self, BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_ERROR,
                     BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_MEMORY_ERROR,
                     "asking whether it can seek", [&] {
                       *can_seek = BT_TRUE;
                       return BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_OK;
                     });
}

}  // namespace vm::scenario
