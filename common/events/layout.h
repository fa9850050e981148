// SPDX-License-Identifier: MIT
#pragma once
// The LTTng kernel event layouts the analyses read, as data: for each kind of the core, every
// name the event has had across lttng-modules generations and its named payload fields. The
// babeltrace2 adapter (plugins/vm/event_reader.cpp) locates these fields once per event class;
// an event emitter can write the same layouts from this table.

#include <cstddef>
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
  vmsync_gh_guest,    // Trace Compass's vmsync addon events
  vmsync_hg_guest,
  vmsync_gh_host,
  vmsync_hg_host,
  net_send,          // net_dev_queue, inet_sock_local_out
  net_receive,       // net_if_receive_skb (lttng-modules >= 2.7), netif_receive_skb (older), inet_sock_local_in
  kvm_inj_virq,      // kvm_x86_inj_virq, kvm_inj_virq: a vector injected into the guest
  irq_vector_entry,  // x86_irq_vectors_<name>_entry (field `vector`): an interrupt handler starts
  // The kernel state of every machine (KernelModel): modes, interrupts, thread life, namespaces.
  irq_vector_exit,   // x86_irq_vectors_<name>_exit
  syscall_entry,     // syscall_entry_* and compat_syscall_entry_* (lttng-modules >= 2.7), sys_* (older)
  syscall_exit,      // syscall_exit_*, compat_syscall_exit_*, exit_syscall (older)
  irq_entry,         // irq_handler_entry
  irq_exit,          // irq_handler_exit
  softirq_entry,     // irq_softirq_entry (softirq_entry before lttng-modules 2.?)
  softirq_exit,      // irq_softirq_exit
  process_free,      // sched_process_free: the thread is gone
  statedump_pid_ns,  // lttng_statedump_process_pid_ns (lttng-modules >= 2.12)
  // Nested virtualization, on the L0 host (KVM's nested SVM/VMX emulation):
  kvm_nested_vmenter,        // kvm_x86_nested_vmenter, kvm_x86_nested_vmrun, kvm_nested_vmenter, kvm_nested_vmrun
  kvm_nested_vmexit,         // kvm_x86_nested_vmexit, kvm_nested_vmexit: an exit while the nested guest runs
  kvm_nested_vmexit_inject,  // kvm_x86_nested_vmexit_inject, kvm_nested_vmexit_inject: the exit goes to L1
};

enum class FieldType : uint8_t { integer, string, int_array };

// One named payload field. A `required` field that an event class lacks makes the class's kind
// the layout's `incomplete_kind`: better ignore an event than misread it.
struct FieldSpec {
  const char* name;
  FieldType type;
  bool required;
  int64_t fallback;  // the value of an absent integer field
};

inline constexpr size_t kMaxEventNames = 4;
inline constexpr size_t kMaxEventFields = 10;

// One kind: its names (newest lttng-modules generation first; `*` stands for one or more
// characters) and its fields, in the order of the typed struct (common/events/events.h).
struct EventLayout {
  EventKind kind;
  const char* names[kMaxEventNames];
  FieldSpec fields[kMaxEventFields];
  EventKind incomplete_kind;
  const char* description;

  size_t field_count() const {
    size_t n = 0;
    while (n < kMaxEventFields && fields[n].name) ++n;
    return n;
  }
};

// Every layout, in matching order (names are tried layout by layout; `kvm_*` comes last).
const EventLayout* event_layouts();
size_t event_layout_count();
// The layout of `kind` (nullptr for `other`).
const EventLayout* layout_of(EventKind kind);
// The kind of an event name (EventKind::other when no layout names it). Call it once per event
// class, never per event.
EventKind kind_of(std::string_view name);
// What becomes unknown when an event class of `kind` lacks integer field `field` (or has it
// mistyped), for the warning that names it; nullptr when its absence is ordinary (an optional
// field of some lttng-modules generations). A missing required field is reported by the caller:
// the events become the layout's incomplete kind.
const char* missing_field_effect(EventKind kind, std::string_view field);
// True when `name` matches `pattern` (`*`: one or more characters).
bool event_name_matches(std::string_view pattern, std::string_view name);

}  // namespace vm
