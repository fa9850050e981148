// SPDX-License-Identifier: MIT
#include "scenario/event_layout.h"

#include <cstring>

namespace vm::scenario {

namespace {

struct Slot {
  const char* field;
  int source;  // in ScenarioEvent::s for a string field, else in ScenarioEvent::a
};

// Where the model keeps each payload field of `type` (common/sim/scenario_event.h), by name.
std::vector<Slot> slots_of(ScenarioEventType type) {
  switch (type) {
    case ScenarioEventType::sched_switch:
      return {{"prev_comm", 0}, {"prev_tid", 0},  {"prev_prio", 1}, {"prev_state", 2},
              {"next_comm", 1}, {"next_tid", 3}, {"next_prio", 4}};
    case ScenarioEventType::sched_waking:
    case ScenarioEventType::sched_wakeup: return {{"comm", 0}, {"tid", 0}, {"prio", 1}, {"target_cpu", 2}};
    case ScenarioEventType::sched_process_fork:
      return {{"parent_comm", 0}, {"parent_tid", 0},    {"parent_pid", 1}, {"parent_ns_inum", 4}, {"child_comm", 1},
              {"child_tid", 2},   {"_vtids_length", 6}, {"vtids", 7},      {"child_pid", 3},      {"child_ns_inum", 5}};
    case ScenarioEventType::statedump_pid_ns:
      return {{"tid", 0}, {"vtid", 1}, {"vpid", 2}, {"vppid", 3}, {"ns_level", 4}, {"ns_inum", 5}};
    case ScenarioEventType::statedump_process:
      return {{"tid", 0},    {"pid", 1},      {"ppid", 2},  {"name", 0},    {"type", 3},     {"mode", 4},
              {"submode", 5}, {"status", 6},  {"cpu", 7},   {"vtid", 8},    {"vpid", 9},     {"vppid", 10},
              {"ns_level", 11}, {"ns_inum", 12}};
    case ScenarioEventType::kvm_entry: return {{"vcpu_id", 0}, {"rip", 1}, {"immediate_exit", 2}};
    case ScenarioEventType::kvm_exit:
      return {{"exit_reason", 0}, {"guest_rip", 1}, {"isa", 2},        {"info1", 3},
              {"info2", 4},       {"intr_info", 5}, {"error_code", 6}, {"vcpu_id", 7}};
    case ScenarioEventType::kvm_inj_virq: return {{"irq", 0}, {"soft", 1}, {"reinjected", 2}};
    case ScenarioEventType::irq_handler_entry: return {{"irq", 0}, {"name", 0}};
    case ScenarioEventType::irq_handler_exit: return {{"irq", 0}, {"ret", 1}};
    case ScenarioEventType::timer_irq_entry:
    case ScenarioEventType::timer_irq_exit: return {{"vector", 0}};
    case ScenarioEventType::syscall_entry_ioctl: return {{"fd", 0}, {"cmd", 1}, {"arg", 2}};
    case ScenarioEventType::syscall_exit_ioctl: return {{"ret", 0}, {"arg", 1}};
    case ScenarioEventType::syscall_entry_nanosleep: return {{"rqtp", 0}, {"rmtp", 1}};
    case ScenarioEventType::syscall_exit_nanosleep: return {{"ret", 0}, {"rmtp", 1}};
    case ScenarioEventType::syscall_entry_read: return {{"fd", 0}, {"buf", 1}, {"count", 2}};
    case ScenarioEventType::syscall_exit_read: return {{"ret", 0}, {"buf", 1}};
    case ScenarioEventType::kvm_apic_ipi: return {{"icr_low", 0}, {"dest_id", 1}};
    case ScenarioEventType::kvm_apic_accept_irq:
      return {{"apicid", 0}, {"dm", 1}, {"tm", 2}, {"vec", 3}, {"coalesced", 4}};
    case ScenarioEventType::kvm_msi_set_irq: return {{"address", 0}, {"data", 1}};
    case ScenarioEventType::resched_irq_entry:
    case ScenarioEventType::resched_irq_exit: return {{"vector", 0}};
    case ScenarioEventType::kvm_nested_vmenter:
      return {{"rip", 0}, {"vmcb", 1}, {"nested_rip", 2}, {"int_ctl", 3}, {"event_inj", 4}, {"npt", 5}, {"isa", 6}};
    case ScenarioEventType::kvm_nested_vmexit:
      return {{"rip", 0},           {"exit_code", 1},         {"exit_info1", 2}, {"exit_info2", 3},
              {"exit_int_info", 4}, {"exit_int_info_err", 5}, {"isa", 6}};
    case ScenarioEventType::kvm_nested_vmexit_inject:
      return {{"exit_code", 0},         {"exit_info1", 1}, {"exit_info2", 2}, {"exit_int_info", 3},
              {"exit_int_info_err", 4}, {"isa", 5}};
    case ScenarioEventType::softirq_entry:
    case ScenarioEventType::softirq_exit: return {{"vec", 0}};
    case ScenarioEventType::count: break;
  }
  return {};
}

char member_kind(WireType type) {
  switch (type) {
    case WireType::none: break;  // a written row has none
    case WireType::sint: return 's';
    case WireType::uint: return 'u';
    case WireType::hex: return 'x';
    case WireType::string: return 'S';
    case WireType::length: return 'L';
    case WireType::sint_array: return 'A';
  }
  return 'u';
}

}  // namespace

std::vector<Member> members_of(ScenarioEventType type, bool old_names, bool lm211) {
  const EventLayout& layout = *scenario_written_event(type, old_names, lm211).layout;
  const std::vector<Slot> slots = slots_of(type);
  std::vector<Member> members;
  for (size_t i = 0; i < layout.field_count(); ++i) {
    const FieldSpec& field = layout.fields[i];
    int source = kNoSource;
    for (const Slot& slot : slots)
      if (std::strcmp(slot.field, field.name) == 0) source = slot.source;
    members.push_back({field.name, member_kind(field.wire.type), field.wire.bits, source});
  }
  return members;
}

bool has_event_class(ScenarioEventType type, const ScenarioConfig& config) {
  if (type == ScenarioEventType::sched_process_fork && config.containers == 0) return false;
  if (type == ScenarioEventType::statedump_pid_ns && (config.containers == 0 || config.statedump_lm211)) return false;
  if ((type == ScenarioEventType::syscall_entry_read || type == ScenarioEventType::syscall_exit_read) &&
      config.disk_irq_rate + config.net_irq_rate <= 0 && !config.requests)
    return false;
  switch (type) {
    case ScenarioEventType::kvm_apic_ipi:
    case ScenarioEventType::kvm_apic_accept_irq:
    case ScenarioEventType::kvm_msi_set_irq:
    case ScenarioEventType::resched_irq_entry:
    case ScenarioEventType::resched_irq_exit: return config.wake_causes;
    case ScenarioEventType::kvm_nested_vmenter:
    case ScenarioEventType::kvm_nested_vmexit:
    case ScenarioEventType::kvm_nested_vmexit_inject: return config.nested_events;
    case ScenarioEventType::softirq_entry:
    case ScenarioEventType::softirq_exit: return config.requests;
    default: return true;
  }
}

}  // namespace vm::scenario
