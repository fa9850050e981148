#include "sim/scenario_event.h"

namespace vm {

const char* scenario_event_name(ScenarioEventType type, bool old_names) {
  switch (type) {
    case ScenarioEventType::sched_switch: return "sched_switch";
    case ScenarioEventType::sched_waking: return "sched_waking";
    case ScenarioEventType::sched_wakeup: return "sched_wakeup";
    case ScenarioEventType::sched_process_fork: return "sched_process_fork";
    case ScenarioEventType::statedump_process: return "lttng_statedump_process_state";
    case ScenarioEventType::kvm_entry: return old_names ? "kvm_entry" : "kvm_x86_entry";
    case ScenarioEventType::kvm_exit: return old_names ? "kvm_exit" : "kvm_x86_exit";
    case ScenarioEventType::kvm_inj_virq: return old_names ? "kvm_inj_virq" : "kvm_x86_inj_virq";
    case ScenarioEventType::irq_handler_entry: return "irq_handler_entry";
    case ScenarioEventType::irq_handler_exit: return "irq_handler_exit";
    case ScenarioEventType::timer_irq_entry: return "x86_irq_vectors_local_timer_entry";
    case ScenarioEventType::timer_irq_exit: return "x86_irq_vectors_local_timer_exit";
    case ScenarioEventType::syscall_entry_ioctl: return "syscall_entry_ioctl";
    case ScenarioEventType::syscall_exit_ioctl: return "syscall_exit_ioctl";
    case ScenarioEventType::syscall_entry_nanosleep: return "syscall_entry_nanosleep";
    case ScenarioEventType::syscall_exit_nanosleep: return "syscall_exit_nanosleep";
    case ScenarioEventType::statedump_pid_ns: return "lttng_statedump_process_pid_ns";
    case ScenarioEventType::syscall_entry_read: return "syscall_entry_read";
    case ScenarioEventType::syscall_exit_read: return "syscall_exit_read";
    case ScenarioEventType::count: break;
  }
  return "?";
}

}  // namespace vm
