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
  if (name.substr(0, 4) == "kvm_") return EventKind::kvm_other;
  return EventKind::other;
}

}  // namespace vm
