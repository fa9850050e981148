// SPDX-License-Identifier: MIT
#pragma once
// The LTTng kernel event layouts, as data, in one table: for each kind of the core, every name
// the event has had across lttng-modules generations and its named payload fields, each with what
// the analyses read (name, type, required) and, for the events source.vm.scenario writes, how it
// is written (size, signedness, display base, position). The reader's view (layout_of(), used by
// plugins/vm/event_reader.cpp to locate the fields once per event class) and the emitter's view
// (written_layout(), used by common/sim/scenario_event.cpp) are both derived from it.

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
  // Who raises the interrupts injected into vCPUs (common/analysis/wake/).
  kvm_apic_ipi,         // kvm_x86_apic_ipi, kvm_apic_ipi: a vCPU writes its APIC's ICR (sends an IPI)
  kvm_apic_accept_irq,  // kvm_x86_apic_accept_irq, kvm_apic_accept_irq: a vector reaches a vCPU's APIC
  kvm_msi_set_irq,      // kvm_msi_set_irq: a device signals an MSI into a VM
  kvm_set_irq,          // kvm_set_irq: a device raises or lowers an interrupt line (GSI) of a VM
  // Nested virtualization, on the L0 host (KVM's nested SVM/VMX emulation):
  kvm_nested_vmenter,        // kvm_x86_nested_vmenter, kvm_x86_nested_vmrun, kvm_nested_vmenter, kvm_nested_vmrun
  kvm_nested_vmexit,         // kvm_x86_nested_vmexit, kvm_nested_vmexit: an exit while the nested guest runs
  kvm_nested_vmexit_inject,  // kvm_x86_nested_vmexit_inject, kvm_nested_vmexit_inject: the exit goes to L1
  // The OS execution graph's interrupt contexts and thread life (common/analysis/graph/os_graph_builder.h):
  process_exec,         // sched_process_exec: the current thread runs a new program
  hrtimer_entry,        // timer_hrtimer_expire_entry (hrtimer_expire_entry in the kernel's naming)
  hrtimer_exit,         // timer_hrtimer_expire_exit (hrtimer_expire_exit)
  irq_complete_entry,   // do_IRQ_entry (a kprobe on do_IRQ; Trace Compass's eventIrqEntry)
  irq_complete_exit,    // do_IRQ_return
  net_rx_entry,         // netif_receive_skb_internal_entry (a kprobe; Trace Compass's eventsNetworkReceiveEntry)
  net_rx_exit,          // netif_receive_skb_internal_return
};

enum class FieldType : uint8_t { integer, string, int_array };

// How a field is written (what an emitter such as source.vm.scenario declares): the integer
// size, signedness and preferred display base, or a string, or a dynamic array.
enum class WireType : uint8_t {
  none,        // not written by this table (a row only the analyses read)
  sint,        // signed integer
  uint,        // unsigned integer
  hex,         // unsigned integer shown in hexadecimal
  string,      // null-terminated string
  length,      // unsigned length of the dynamic array that follows it
  sint_array,  // dynamic array of signed integers, its length the field before it
};
struct WireSpec {
  WireType type = WireType::none;
  uint8_t bits = 0;  // integer size (0 for a string); an array's: its elements' size
};

// One payload field, in its event's payload order. What the analyses read: `name`, `type`,
// `required`, `fallback` (when `read`). A `required` field that an event class lacks makes the
// class's kind the layout's `incomplete_kind`: better ignore an event than misread it. What an
// emitter writes: `wire` (WireType::none in a row that is only read).
struct FieldSpec {
  const char* name;
  FieldType type;
  bool required;
  int64_t fallback;  // the value of an absent integer field
  WireSpec wire = {};
  bool read = true;  // false: written only (the analyses do not read it)
};

// Which lttng-modules generations write a row.
enum class Naming : uint8_t {
  any,
  newer,  // kvm_x86_* names (lttng-modules >= 2.7.2/2.8)
  older,  // kvm_* names (older)
};
enum class NsLayout : uint8_t {
  any,
  per_level,  // lttng_statedump_process_state with one event per PID-namespace level (2.7-2.11)
  separate,   // lttng_statedump_process_pid_ns carries the levels (>= 2.12)
};

inline constexpr size_t kMaxEventNames = 4;
inline constexpr size_t kMaxEventFields = 10;   // fields the analyses read per kind
inline constexpr size_t kMaxLayoutFields = 16;  // fields of one row, read or written

// One row of the table: an event (or a family of events sharing one payload) of one kind, in
// one naming generation. Its names (`*` stands for one or more characters), its payload fields in
// their order, and which generations write it. A kind may have several rows (one per generation,
// or per system call); the first row of a kind gives its incomplete kind and description.
struct EventLayout {
  EventKind kind;
  const char* names[kMaxEventNames];
  FieldSpec fields[kMaxLayoutFields];
  EventKind incomplete_kind;
  const char* description;
  Naming naming = Naming::any;
  NsLayout ns = NsLayout::any;

  size_t field_count() const {
    size_t n = 0;
    while (n < kMaxLayoutFields && fields[n].name) ++n;
    return n;
  }
  // True when an emitter can write this row: it has fields and every one carries its wire type.
  bool written() const {
    const size_t n = field_count();
    for (size_t i = 0; i < n; ++i)
      if (fields[i].wire.type == WireType::none) return false;
    return n > 0;
  }
};

// Every row, in matching order (names are tried row by row; `kvm_*` comes last).
const EventLayout* event_layouts();
size_t event_layout_count();

// The reader's view: the layout of `kind` as the analyses read it (nullptr for `other`). Its
// fields are the read fields of all the kind's rows, in the order they first appear in the
// table; typed payloads are built in that order (common/events/events.cpp). Its incomplete kind
// and description are its first row's.
const EventLayout* layout_of(EventKind kind);

// The emitter's view: the row in which generation (`naming`, `ns`) writes an event of `kind`;
// `name` picks one event when the kind has several (sched_waking and sched_wakeup, each system
// call), else empty (the row's first name is then the event's name). nullptr when no written row
// fits.
const EventLayout* written_layout(EventKind kind, Naming naming, NsLayout ns, std::string_view name = {});

// The kind of an event name (EventKind::other when no row names it). Call it once per event
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
