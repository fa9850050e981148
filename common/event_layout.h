#pragma once
// Event layouts are data, in one place (DESIGN.md §3): every spelling of an event across
// lttng-modules versions maps to one kind of the core (algorithms.md §1.1-1.3). Adapters call
// kind_of() once per event class, never per event.

#include <cstdint>
#include <string_view>

namespace vm {

enum class EventKind : uint8_t {
  other,
  sched_switch,
  sched_wakeup,  // sched_wakeup, sched_waking, sched_wakeup_new
  process_fork,
  process_exit,
  statedump_process,  // lttng_statedump_process_state
  kvm_entry,          // kvm_x86_entry (lttng-modules >= 2.7.2/2.8), kvm_entry (older)
  kvm_exit,           // kvm_x86_exit, kvm_exit
  kvm_other,          // any other kvm_* event: still proves a KVM host
  vmsync_gh_guest,    // Trace Compass's vmsync addon (algorithms.md §1.3, §2.4)
  vmsync_hg_guest,
  vmsync_gh_host,
  vmsync_hg_host,
  net_send,          // net_dev_queue, inet_sock_local_out
  net_receive,       // net_if_receive_skb (lttng-modules >= 2.7), netif_receive_skb (older), inet_sock_local_in
  kvm_inj_virq,      // kvm_x86_inj_virq, kvm_inj_virq: a vector injected into the guest
  irq_vector_entry,  // x86_irq_vectors_<name>_entry (field `vector`): an interrupt handler starts
  // The kernel state of every machine (KernelModel): modes, interrupts, thread life, namespaces.
  irq_vector_exit,    // x86_irq_vectors_<name>_exit
  syscall_entry,      // syscall_entry_* and compat_syscall_entry_* (lttng-modules >= 2.7), sys_* (older)
  syscall_exit,       // syscall_exit_*, compat_syscall_exit_*, exit_syscall (older)
  irq_entry,          // irq_handler_entry
  irq_exit,           // irq_handler_exit
  softirq_entry,      // irq_softirq_entry (softirq_entry before lttng-modules 2.?)
  softirq_exit,       // irq_softirq_exit
  process_free,       // sched_process_free: the thread is gone
  statedump_pid_ns,   // lttng_statedump_process_pid_ns (lttng-modules >= 2.12)
};

inline EventKind kind_of(std::string_view name) {
  if (name == "sched_switch") return EventKind::sched_switch;
  if (name == "sched_wakeup" || name == "sched_waking" || name == "sched_wakeup_new") return EventKind::sched_wakeup;
  if (name == "sched_process_fork") return EventKind::process_fork;
  if (name == "sched_process_exit") return EventKind::process_exit;
  if (name == "lttng_statedump_process_state") return EventKind::statedump_process;
  if (name == "kvm_x86_entry" || name == "kvm_entry") return EventKind::kvm_entry;
  if (name == "kvm_x86_exit" || name == "kvm_exit") return EventKind::kvm_exit;
  if (name == "vmsync_gh_guest") return EventKind::vmsync_gh_guest;
  if (name == "vmsync_hg_guest") return EventKind::vmsync_hg_guest;
  if (name == "vmsync_gh_host") return EventKind::vmsync_gh_host;
  if (name == "vmsync_hg_host") return EventKind::vmsync_hg_host;
  // inet_sock_local_out/in: the TCP addon events of older traces (algorithms.md §1.3).
  if (name == "net_dev_queue" || name == "inet_sock_local_out") return EventKind::net_send;
  if (name == "net_if_receive_skb" || name == "netif_receive_skb" || name == "inet_sock_local_in")
    return EventKind::net_receive;
  if (name == "kvm_x86_inj_virq" || name == "kvm_inj_virq") return EventKind::kvm_inj_virq;
  if (name.substr(0, 16) == "x86_irq_vectors_" && name.size() > 22 && name.substr(name.size() - 6) == "_entry")
    return EventKind::irq_vector_entry;
  if (name.substr(0, 16) == "x86_irq_vectors_" && name.size() > 21 && name.substr(name.size() - 5) == "_exit")
    return EventKind::irq_vector_exit;
  if (name.substr(0, 14) == "syscall_entry_" || name.substr(0, 21) == "compat_syscall_entry_" ||
      name.substr(0, 4) == "sys_")
    return EventKind::syscall_entry;
  if (name.substr(0, 13) == "syscall_exit_" || name.substr(0, 20) == "compat_syscall_exit_" ||
      name == "exit_syscall")
    return EventKind::syscall_exit;
  if (name == "irq_handler_entry") return EventKind::irq_entry;
  if (name == "irq_handler_exit") return EventKind::irq_exit;
  if (name == "irq_softirq_entry" || name == "softirq_entry") return EventKind::softirq_entry;
  if (name == "irq_softirq_exit" || name == "softirq_exit") return EventKind::softirq_exit;
  if (name == "sched_process_free") return EventKind::process_free;
  if (name == "lttng_statedump_process_pid_ns") return EventKind::statedump_pid_ns;
  if (name.substr(0, 4) == "kvm_") return EventKind::kvm_other;
  return EventKind::other;
}

}  // namespace vm
