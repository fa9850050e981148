#include "scenario/event_layout.h"

namespace vm::scenario {

std::vector<Member> members_of(ScenarioEventType type, bool old_names, bool lm211) {
  switch (type) {
    case ScenarioEventType::sched_switch:
      return {{"prev_comm", 'S', 0, 0}, {"prev_tid", 's', 32, 0}, {"prev_prio", 's', 32, 1},
              {"prev_state", 's', 64, 2}, {"next_comm", 'S', 0, 1}, {"next_tid", 's', 32, 3},
              {"next_prio", 's', 32, 4}};
    case ScenarioEventType::sched_waking:
    case ScenarioEventType::sched_wakeup:
      return {{"comm", 'S', 0, 0}, {"tid", 's', 32, 0}, {"prio", 's', 32, 1}, {"target_cpu", 's', 32, 2}};
    case ScenarioEventType::sched_process_fork:
      return {{"parent_comm", 'S', 0, 0},    {"parent_tid", 's', 32, 0},    {"parent_pid", 's', 32, 1},
              {"parent_ns_inum", 'u', 32, 4}, {"child_comm", 'S', 0, 1},     {"child_tid", 's', 32, 2},
              {"_vtids_length", 'L', 32, 6},  {"vtids", 'A', 32, 7},         {"child_pid", 's', 32, 3},
              {"child_ns_inum", 'u', 32, 5}};
    case ScenarioEventType::statedump_pid_ns:
      return {{"tid", 's', 32, 0},      {"vtid", 's', 32, 1},     {"vpid", 's', 32, 2},
              {"vppid", 's', 32, 3},    {"ns_level", 's', 32, 4}, {"ns_inum", 'u', 32, 5}};
    case ScenarioEventType::statedump_process:
      if (lm211)
        return {{"tid", 's', 32, 0},     {"vtid", 's', 32, 8},    {"pid", 's', 32, 1},     {"vpid", 's', 32, 9},
                {"ppid", 's', 32, 2},    {"vppid", 's', 32, 10},  {"name", 'S', 0, 0},     {"type", 's', 32, 3},
                {"mode", 's', 32, 4},    {"submode", 's', 32, 5}, {"status", 's', 32, 6},  {"ns_level", 's', 32, 11},
                {"ns_inum", 'u', 32, 12}, {"cpu", 'u', 32, 7}};
      return {{"tid", 's', 32, 0},    {"pid", 's', 32, 1},     {"ppid", 's', 32, 2},   {"name", 'S', 0, 0},
              {"type", 's', 32, 3},   {"mode", 's', 32, 4},    {"submode", 's', 32, 5}, {"status", 's', 32, 6},
              {"cpu", 'u', 32, 7}};
    case ScenarioEventType::kvm_entry:
      if (old_names) return {{"vcpu_id", 'u', 32, 0}};
      return {{"vcpu_id", 'u', 32, 0}, {"rip", 'x', 64, 1}, {"immediate_exit", 'u', 8, 2}};
    case ScenarioEventType::kvm_exit:
      if (old_names)
        return {{"exit_reason", 'u', 32, 0}, {"guest_rip", 'x', 64, 1}, {"isa", 'u', 32, 2}, {"info1", 'x', 64, 3},
                {"info2", 'x', 64, 4}};
      return {{"exit_reason", 'u', 32, 0}, {"guest_rip", 'x', 64, 1}, {"isa", 'u', 32, 2},
              {"info1", 'x', 64, 3},       {"info2", 'x', 64, 4},     {"intr_info", 'u', 32, 5},
              {"error_code", 'u', 32, 6},  {"vcpu_id", 'u', 32, 7}};
    case ScenarioEventType::kvm_inj_virq:
      if (old_names) return {{"irq", 'u', 32, 0}};
      return {{"irq", 'u', 32, 0}, {"soft", 'u', 8, 1}, {"reinjected", 'u', 8, 2}};
    case ScenarioEventType::irq_handler_entry: return {{"irq", 's', 32, 0}, {"name", 'S', 0, 0}};
    case ScenarioEventType::irq_handler_exit: return {{"irq", 's', 32, 0}, {"ret", 's', 32, 1}};
    case ScenarioEventType::timer_irq_entry:
    case ScenarioEventType::timer_irq_exit: return {{"vector", 's', 32, 0}};
    case ScenarioEventType::syscall_entry_ioctl: return {{"fd", 'u', 32, 0}, {"cmd", 'u', 32, 1}, {"arg", 'u', 64, 2}};
    case ScenarioEventType::syscall_exit_ioctl: return {{"ret", 's', 64, 0}, {"arg", 'u', 64, 1}};
    case ScenarioEventType::syscall_entry_nanosleep: return {{"rqtp", 'x', 64, 0}, {"rmtp", 'x', 64, 1}};
    case ScenarioEventType::syscall_exit_nanosleep: return {{"ret", 's', 64, 0}, {"rmtp", 'x', 64, 1}};
    case ScenarioEventType::syscall_entry_read: return {{"fd", 'u', 32, 0}, {"buf", 'x', 64, 1}, {"count", 'u', 64, 2}};
    case ScenarioEventType::syscall_exit_read: return {{"ret", 's', 64, 0}, {"buf", 'x', 64, 1}};
    case ScenarioEventType::count: break;
  }
  return {};
}

bool has_event_class(ScenarioEventType type, const ScenarioConfig& config) {
  if (type == ScenarioEventType::sched_process_fork && config.containers == 0) return false;
  if (type == ScenarioEventType::statedump_pid_ns && (config.containers == 0 || config.statedump_lm211)) return false;
  if ((type == ScenarioEventType::syscall_entry_read || type == ScenarioEventType::syscall_exit_read) &&
      config.disk_irq_rate + config.net_irq_rate <= 0)
    return false;
  return true;
}

}  // namespace vm::scenario
