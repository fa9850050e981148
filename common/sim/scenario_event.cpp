// SPDX-License-Identifier: MIT
#include "sim/scenario_event.h"

#include <stdexcept>

namespace vm {

namespace {

// The event of the layout table behind each scenario event type: its kind and, where the kind
// has several events (or its row names a family by a pattern), its exact name.
struct TableEvent {
  EventKind kind;
  const char* name;
};

TableEvent table_event(ScenarioEventType type) {
  switch (type) {
    case ScenarioEventType::sched_switch: return {EventKind::sched_switch, nullptr};
    case ScenarioEventType::sched_waking: return {EventKind::sched_wakeup, "sched_waking"};
    case ScenarioEventType::sched_wakeup: return {EventKind::sched_wakeup, "sched_wakeup"};
    case ScenarioEventType::sched_process_fork: return {EventKind::process_fork, nullptr};
    case ScenarioEventType::statedump_process: return {EventKind::statedump_process, nullptr};
    case ScenarioEventType::kvm_entry: return {EventKind::kvm_entry, nullptr};
    case ScenarioEventType::kvm_exit: return {EventKind::kvm_exit, nullptr};
    case ScenarioEventType::kvm_inj_virq: return {EventKind::kvm_inj_virq, nullptr};
    case ScenarioEventType::irq_handler_entry: return {EventKind::irq_entry, nullptr};
    case ScenarioEventType::irq_handler_exit: return {EventKind::irq_exit, nullptr};
    case ScenarioEventType::timer_irq_entry: return {EventKind::irq_vector_entry, "x86_irq_vectors_local_timer_entry"};
    case ScenarioEventType::timer_irq_exit: return {EventKind::irq_vector_exit, "x86_irq_vectors_local_timer_exit"};
    case ScenarioEventType::syscall_entry_ioctl: return {EventKind::syscall_entry, "syscall_entry_ioctl"};
    case ScenarioEventType::syscall_exit_ioctl: return {EventKind::syscall_exit, "syscall_exit_ioctl"};
    case ScenarioEventType::syscall_entry_nanosleep: return {EventKind::syscall_entry, "syscall_entry_nanosleep"};
    case ScenarioEventType::syscall_exit_nanosleep: return {EventKind::syscall_exit, "syscall_exit_nanosleep"};
    case ScenarioEventType::statedump_pid_ns: return {EventKind::statedump_pid_ns, nullptr};
    case ScenarioEventType::syscall_entry_read: return {EventKind::syscall_entry, "syscall_entry_read"};
    case ScenarioEventType::syscall_exit_read: return {EventKind::syscall_exit, "syscall_exit_read"};
    case ScenarioEventType::kvm_apic_ipi: return {EventKind::kvm_apic_ipi, nullptr};
    case ScenarioEventType::kvm_apic_accept_irq: return {EventKind::kvm_apic_accept_irq, nullptr};
    case ScenarioEventType::kvm_msi_set_irq: return {EventKind::kvm_msi_set_irq, nullptr};
    case ScenarioEventType::resched_irq_entry: return {EventKind::irq_vector_entry, "x86_irq_vectors_reschedule_entry"};
    case ScenarioEventType::resched_irq_exit: return {EventKind::irq_vector_exit, "x86_irq_vectors_reschedule_exit"};
    case ScenarioEventType::kvm_nested_vmenter: return {EventKind::kvm_nested_vmenter, nullptr};
    case ScenarioEventType::kvm_nested_vmexit: return {EventKind::kvm_nested_vmexit, nullptr};
    case ScenarioEventType::kvm_nested_vmexit_inject: return {EventKind::kvm_nested_vmexit_inject, nullptr};
    case ScenarioEventType::softirq_entry: return {EventKind::softirq_entry, "irq_softirq_entry"};
    case ScenarioEventType::softirq_exit: return {EventKind::softirq_exit, "irq_softirq_exit"};
    case ScenarioEventType::count: break;
  }
  return {EventKind::other, nullptr};
}

}  // namespace

WrittenEvent scenario_written_event(ScenarioEventType type, bool old_names, bool lm211) {
  const TableEvent event = table_event(type);
  const std::string_view name = event.name ? event.name : "";
  const EventLayout* layout = written_layout(event.kind, old_names ? Naming::older : Naming::newer,
                                             lm211 ? NsLayout::per_level : NsLayout::separate, name);
  // statedump_pid_ns exists only in the separate layout: its name is the same in any case.
  if (!layout && type == ScenarioEventType::statedump_pid_ns)
    layout = written_layout(event.kind, Naming::any, NsLayout::separate);
  if (!layout) throw std::logic_error("the event layout table has no written row for a scenario event type");
  return {event.name ? event.name : layout->names[0], layout};
}

}  // namespace vm
