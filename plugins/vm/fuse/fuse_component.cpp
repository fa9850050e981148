// SPDX-License-Identifier: MIT
// filter.vm.fuse, the component: its parameters, its ports. The message iterator is in
// fuse_iterator.cpp.

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/spill_region.h"
#include "bt_guard.h"
#include "bt_util.h"
#include "fuse/fuse_component.h"
#include "fuse/fuse_filter.h"
#include "fuse/fuse_params.h"
#include "fuse/params.h"

namespace vm::fuse {

namespace {

std::string string_param(const bt_value* params, const char* name, const std::string& otherwise) {
  if (!bt_value_map_has_entry(params, name)) return otherwise;
  return bt_value_string_get(bt_value_map_borrow_entry_value_const(params, name));
}

// The component of `params`; throws std::invalid_argument with the message for the user.
// evidence-dir: a directory where an unnamed temporary file can be made and mapped (a trial one,
// now, rather than when pass 1 first spills). Not given: $TMPDIR, else /tmp, and memory when
// that cannot be used (the files only keep memory down).
std::string evidence_dir(const bt_value* params) {
  auto usable = [](const std::string& dir, std::string* why) {
    try {
      SpillRegion trial;
      trial.open(dir, size_t{1} << 20, "pass 1's guest-matching evidence", 4096);
      return true;
    } catch (const std::exception& error) {
      if (why) *why = error.what();
      return false;
    }
  };
  if (bt_value_map_has_entry(params, "evidence-dir")) {
    const std::string dir = string_param(params, "evidence-dir", "");
    if (std::string why; !dir.empty() && !usable(dir, &why))
      throw std::invalid_argument("parameter `evidence-dir`: `" + dir + "` cannot be used: " + why +
                                  ". Give another directory, or evidence-dir=\"\" to keep the evidence in memory");
    return dir;
  }
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string dir = tmpdir && *tmpdir ? std::string(tmpdir) : std::string("/tmp");
  return usable(dir, nullptr) ? dir : std::string();
}

std::unique_ptr<Component> configure(const bt_value* params) {
  if (std::string problem = bt::validate_params(params, param_specs()); !problem.empty())
    throw std::invalid_argument(problem + ". Usage: -c filter.vm.fuse [-p 'reference=\"HOST\",sync=\"auto\"']");
  const std::string sync = string_param(params, "sync", "auto");
  if (sync != "auto" && sync != "identity" && sync.find('=') == std::string::npos && ::access(sync.c_str(), R_OK) != 0)
    throw std::invalid_argument(
        "parameter `sync` must be \"auto\" (synchronize from the traces), \"identity\" (keep every "
        "machine's clock) or the database of a previous run to reuse its synchronization; `" +
        sync +
        "` is none of these (no readable file by that name). Usage: -c filter.vm.fuse "
        "[-p 'reference=\"HOST\",sync=\"auto\"']");
  auto component = std::make_unique<Component>();
  // Formulas: NAME=ALPHA,BETA;NAME=ALPHA,BETA (t_reference = ALPHA * t + BETA).
  if (sync.find('=') != std::string::npos) component->formulas = parse_sync_formulas(sync);
  component->guest_vm = parse_guest_vm(string_param(params, "guest-vm", ""));
  component->identity = sync == "identity";
  if (sync != "auto" && sync != "identity" && component->formulas.empty()) {
    component->cached = FuseModel::read_previous_run(sync);  // std::runtime_error naming the file
    component->sync_path = sync;
  }
  component->reference = string_param(params, "reference", "");
  const std::string mode = string_param(params, "sync-mode", "one-pass");
  if (mode != "two-pass" && mode != "one-pass")
    throw std::invalid_argument("parameter `sync-mode` must be \"one-pass\" or \"two-pass\", not `" + mode +
                                "`. Usage: -c filter.vm.fuse -p 'sync-mode=\"two-pass\"'");
  component->one_pass = mode == "one-pass";
  // validate_params() checked the ranges.
  component->lead_ns = static_cast<uint64_t>(bt::param_int(params, "lead-ns", int64_t(component->lead_ns)));
  component->lead_messages =
      static_cast<uint64_t>(bt::param_int(params, "lead-messages", int64_t(component->lead_messages)));
  const std::string lead = string_param(params, "lead", "auto");
  if (lead != "auto" && lead != "hold")
    throw std::invalid_argument("parameter `lead` must be \"auto\" or \"hold\", not `" + lead +
                                "`. Usage: -c filter.vm.fuse -p 'sync-mode=\"one-pass\",lead=\"hold\"'");
  component->lead_hold = lead == "hold";
  component->learn_ns = static_cast<uint64_t>(bt::param_int(params, "learn-ns", int64_t(component->learn_ns)));
  component->evidence_dir = evidence_dir(params);
  return component;
}

}  // namespace

bt_component_class_initialize_method_status initialize(bt_self_component_filter* self,
                                                       bt_self_component_filter_configuration*, const bt_value* params,
                                                       void*) {
  bt_self_component* self_component = bt_self_component_filter_as_self_component(self);
  return bt::guarded(self_component, BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR,
                     BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR, "while initializing", [&] {
                       std::unique_ptr<Component> component = configure(params);
                       component->self = self;
                       if (bt_self_component_filter_add_input_port(self, "in0", nullptr, nullptr) !=
                               BT_SELF_COMPONENT_ADD_PORT_STATUS_OK ||
                           bt_self_component_filter_add_output_port(self, "out", nullptr, nullptr) !=
                               BT_SELF_COMPONENT_ADD_PORT_STATUS_OK)
                         throw std::runtime_error("cannot add ports");
                       component->next_port = 1;
                       bt_self_component_set_data(self_component, component.release());
                       return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
                     });
}

void finalize(bt_self_component_filter* self) {
  // Deleting a Component throws nothing (strings, maps, vectors).
  delete static_cast<Component*>(bt_self_component_get_data(bt_self_component_filter_as_self_component(self)));
}

bt_component_class_port_connected_method_status input_port_connected(bt_self_component_filter* self,
                                                                     bt_self_component_port_input*,
                                                                     const bt_port_output*) {
  bt_self_component* self_component = bt_self_component_filter_as_self_component(self);
  return bt::guarded(self_component, BT_COMPONENT_CLASS_PORT_CONNECTED_METHOD_STATUS_ERROR,
                     BT_COMPONENT_CLASS_PORT_CONNECTED_METHOD_STATUS_MEMORY_ERROR, "adding an input port", [&] {
                       // Keep one free input port, as filter.utils.muxer does, so that each --connect
                       // takes the next.
                       auto* component = static_cast<Component*>(bt_self_component_get_data(self_component));
                       const std::string name = "in" + std::to_string(component->next_port++);
                       if (bt_self_component_filter_add_input_port(self, name.c_str(), nullptr, nullptr) !=
                           BT_SELF_COMPONENT_ADD_PORT_STATUS_OK)
                         throw std::runtime_error("cannot add input port " + name);
                       return BT_COMPONENT_CLASS_PORT_CONNECTED_METHOD_STATUS_OK;
                     });
}

}  // namespace vm::fuse
