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

#include "scenario/scenario_iterator.h"
#include "sim/scenario_model.h"
#include "sim/truth_writer.h"

namespace vm::scenario {

namespace {

// ---- parameters

struct Param {
  const char* name;
  const char* type;  // "integer", "number", "boolean", "string"
  const char* help;
};

const std::vector<Param>& params() {
  static const std::vector<Param> list = {
      {"seed", "integer", "random seed (default 1): the same seed gives the same traces"},
      {"pcpus", "integer", "physical CPUs of the host (default 2)"},
      {"vms", "integer", "VMs on the host (default 2)"},
      {"vcpus-per-vm", "integer", "vCPUs of each VM (default 2); more vCPUs than pcpus overcommits"},
      {"guest-threads", "integer", "worker threads in each guest (default 3)"},
      {"host-threads", "integer", "host tasks besides the vCPU threads (default 2)"},
      {"exit-rate", "number", "random VM exits per second of guest mode, per vCPU (default 5000)"},
      {"host-irq-rate", "number", "device interrupts per second per physical CPU (default 500)"},
      {"exit-mix", "string", "weights of the random exits' reasons, e.g. \"MSR:3,IO:1,NPF:2,CPUID:0.5\""},
      {"time-slice-ns", "integer", "scheduler time slice on every CPU (default 3000000)"},
      {"nested", "boolean", "an L2 guest `vm1-l2` inside VM 1 (default false)"},
      {"nested-vcpus", "integer", "vCPUs of the nested guest (default 1)"},
      {"clock-offset-ns", "integer", "magnitude of the guests' clock offsets (default 300000000, at most 1 s)"},
      {"drift-ppm", "number", "magnitude of the guests' clock drifts in ppm (default 20)"},
      {"duration-ns", "integer", "simulated time (default 1000000000), unless `events` is given"},
      {"events", "integer", "stop once about this many events are recorded, all traces together"},
      {"naming", "string", "\"new\" (kvm_x86_entry/kvm_x86_exit, default) or \"old\" (kvm_entry/kvm_exit)"},
      {"disk-irq-rate", "number", "virtio-blk interrupts per second per VM (default 0)"},
      {"net-irq-rate", "number", "virtio-net interrupts per second per VM (default 0)"},
      {"containers", "integer", "PID-namespace containers in each guest (default 0)"},
      {"statedump", "string", "\"lm212\" (lttng_statedump_process_pid_ns, default) or \"lm211\" (ns fields in process_state)"},
      {"truth", "string", "write the truth (vCPU states, CPUs, guest-VM map, clock transforms) to this SQLite file"},
  };
  return list;
}

std::string known_names() {
  std::string names;
  for (const Param& p : params()) names += (names.empty() ? "" : ", ") + std::string(p.name);
  return names;
}

bt_value_map_foreach_entry_const_func_status collect_key(const char* key, const bt_value*, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(key);
  return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;
}

int64_t get_int(const bt_value* value, const char* name) {
  if (bt_value_is_signed_integer(value)) return bt_value_integer_signed_get(value);
  if (bt_value_is_unsigned_integer(value)) {
    const uint64_t v = bt_value_integer_unsigned_get(value);
    if (v > static_cast<uint64_t>(INT64_MAX)) throw std::invalid_argument(std::string("`") + name + "` is too large");
    return static_cast<int64_t>(v);
  }
  throw std::invalid_argument(std::string("`") + name + "` must be an integer, e.g. " + name + "=4");
}

double get_number(const bt_value* value, const char* name) {
  if (bt_value_is_real(value)) return bt_value_real_get(value);
  if (bt_value_is_signed_integer(value) || bt_value_is_unsigned_integer(value))
    return static_cast<double>(get_int(value, name));
  throw std::invalid_argument(std::string("`") + name + "` must be a number, e.g. " + name + "=2.5");
}

// Parses and checks the parameters; throws std::invalid_argument naming the key and the fix.
ScenarioConfig parse(const bt_value* map, std::string& truth) {
  std::vector<std::string> keys;
  bt_value_map_foreach_entry_const(map, collect_key, &keys);
  for (const std::string& key : keys) {
    bool known = false;
    for (const Param& p : params()) known = known || key == p.name;
    if (!known) throw std::invalid_argument("unknown parameter `" + key + "` (known: " + known_names() + ")");
  }
  ScenarioConfig c;
  auto value = [&](const char* name) { return bt_value_map_borrow_entry_value_const(map, name); };
  auto int_param = [&](const char* name, auto& out, int64_t lo) {
    if (const bt_value* v = value(name)) {
      const int64_t x = get_int(v, name);
      if (x < lo) throw std::invalid_argument(std::string("`") + name + "` must be >= " + std::to_string(lo));
      out = static_cast<std::remove_reference_t<decltype(out)>>(x);
    }
  };
  int_param("seed", c.seed, 0);
  int_param("pcpus", c.pcpus, 1);
  int_param("vms", c.vms, 0);
  int_param("vcpus-per-vm", c.vcpus_per_vm, 1);
  int_param("guest-threads", c.guest_threads, 0);
  int_param("host-threads", c.host_threads, 0);
  int_param("time-slice-ns", c.time_slice_ns, 1);
  int_param("nested-vcpus", c.nested_vcpus, 1);
  int_param("clock-offset-ns", c.clock_offset_ns, 0);
  int_param("duration-ns", c.duration_ns, 1);
  int_param("events", c.events, 0);
  int_param("containers", c.containers, 0);
  if (const bt_value* v = value("statedump")) {
    const std::string layout = bt_value_is_string(v) ? bt_value_string_get(v) : "";
    if (layout != "lm212" && layout != "lm211")
      throw std::invalid_argument("`statedump` must be \"lm212\" (lttng-modules 2.12+) or \"lm211\" (2.7-2.11)");
    c.statedump_lm211 = layout == "lm211";
  }
  if (const bt_value* v = value("exit-rate")) c.exit_rate = get_number(v, "exit-rate");
  if (const bt_value* v = value("host-irq-rate")) c.host_irq_rate = get_number(v, "host-irq-rate");
  if (const bt_value* v = value("disk-irq-rate")) c.disk_irq_rate = get_number(v, "disk-irq-rate");
  if (const bt_value* v = value("net-irq-rate")) c.net_irq_rate = get_number(v, "net-irq-rate");
  if (const bt_value* v = value("drift-ppm")) c.drift_ppm = get_number(v, "drift-ppm");
  if (const bt_value* v = value("nested")) {
    if (!bt_value_is_bool(v)) throw std::invalid_argument("`nested` must be a boolean: nested=true");
    c.nested = bt_value_bool_get(v);
  }
  if (const bt_value* v = value("naming")) {
    const std::string naming = bt_value_is_string(v) ? bt_value_string_get(v) : "";
    if (naming != "new" && naming != "old")
      throw std::invalid_argument("`naming` must be \"new\" (kvm_x86_entry) or \"old\" (kvm_entry)");
    c.old_names = naming == "old";
  }
  if (const bt_value* v = value("exit-mix")) {
    if (!bt_value_is_string(v)) throw std::invalid_argument("`exit-mix` must be a string: exit-mix=\"MSR:3,IO:1\"");
    c.exit_mix = bt_value_string_get(v);
    if (c.exit_mix.empty()) throw std::invalid_argument("`exit-mix` must not be empty");
  }
  if (const bt_value* v = value("truth")) {
    if (!bt_value_is_string(v)) throw std::invalid_argument("`truth` must be a path: truth=\"truth.sqlite\"");
    truth = bt_value_string_get(v);
  }
  const std::string problem = validate(c);
  if (!problem.empty()) throw std::invalid_argument(problem);
  return c;
}

ScenarioIterator* iterator_of(bt_self_message_iterator* self) {
  return static_cast<ScenarioIterator*>(bt_self_message_iterator_get_data(self));
}

// Runs `body`, a method babeltrace2 calls on a component or a message iterator (`self`), and
// turns any exception into an error cause with its message and the `error` status (`memory`
// for std::bad_alloc): no exception goes back into babeltrace2.
template <typename Status, typename Body>
Status guarded(bt_self_component* self, Status error, Status memory, Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self, "out of memory");
    return memory;
  } catch (const std::exception& exception) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self, "%s", exception.what());
  } catch (...) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self, "unknown exception");
  }
  return error;
}

template <typename Status, typename Body>
Status guarded(bt_self_message_iterator* self, Status error, Status memory, Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "out of memory");
    return memory;
  } catch (const std::exception& exception) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "%s", exception.what());
  } catch (...) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "unknown exception");
  }
  return error;
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
                                                 reinterpret_cast<void*>(m), nullptr) !=
        BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
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
  return guarded(bt_self_component_source_as_self_component(self), BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR,
                 BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR,
                 [&] { return initialize_component(self, params_value); });
}

void finalize(bt_self_component_source* self) {
  bt_self_component* self_component = bt_self_component_source_as_self_component(self);
  guarded(self_component, 0, 0, [&] {
    delete static_cast<Component*>(bt_self_component_get_data(self_component));
    bt_self_component_set_data(self_component, nullptr);
    return 0;
  });
}

bt_message_iterator_class_initialize_method_status iterator_initialize(bt_self_message_iterator* self,
                                                                       bt_self_message_iterator_configuration* config,
                                                                       bt_self_component_port_output* port) {
  return guarded(self, BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR,
                 BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR, [&] {
                   const auto* component = static_cast<const Component*>(
                       bt_self_component_get_data(bt_self_message_iterator_borrow_component(self)));
                   const auto machine = reinterpret_cast<uintptr_t>(bt_self_component_port_get_data(
                       bt_self_component_port_output_as_self_component_port(port)));
                   // Owned here until babeltrace2 has it: nothing leaks if building it throws.
                   auto iterator = std::make_unique<ScenarioIterator>(self, *component, static_cast<int>(machine));
                   bt_self_message_iterator_configuration_set_can_seek_forward(config, BT_FALSE);
                   bt_self_message_iterator_set_data(self, iterator.release());
                   return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_OK;
                 });
}

void iterator_finalize(bt_self_message_iterator* self) {
  guarded(self, 0, 0, [&] {
    delete iterator_of(self);
    bt_self_message_iterator_set_data(self, nullptr);
    return 0;
  });
}

bt_message_iterator_class_next_method_status iterator_next(bt_self_message_iterator* self,
                                                           bt_message_array_const messages, uint64_t capacity,
                                                           uint64_t* count) {
  *count = 0;
  const auto status = guarded(self, BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR,
                              BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_MEMORY_ERROR,
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
  return guarded(self, BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_ERROR,
                 BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_MEMORY_ERROR, [&] {
                   iterator_of(self)->restart();
                   return BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_OK;
                 });
}

bt_message_iterator_class_can_seek_beginning_method_status can_seek_beginning(bt_self_message_iterator* self,
                                                                               bt_bool* can_seek) {
  return guarded(self, BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_ERROR,
                 BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_MEMORY_ERROR, [&] {
                   *can_seek = BT_TRUE;
                   return BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_OK;
                 });
}

}  // namespace vm::scenario
