// SPDX-License-Identifier: MIT
#include "events/layout.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace vm {

namespace {

constexpr FieldType I = FieldType::integer;
constexpr FieldType S = FieldType::string;
constexpr FieldType A = FieldType::int_array;
constexpr int64_t kNone = -1;

// How lttng-modules writes a field (include/instrumentation/events/ of lttng-modules: sched.h,
// kvm.h, arch/x86/kvm/trace.h, irq.h, arch/x86/irq_vectors.h, lttng-statedump.h and the
// generated system call probes).
constexpr WireSpec s32{WireType::sint, 32};
constexpr WireSpec s64{WireType::sint, 64};
constexpr WireSpec u8{WireType::uint, 8};
constexpr WireSpec u16{WireType::uint, 16};
constexpr WireSpec u32{WireType::uint, 32};
constexpr WireSpec u64{WireType::uint, 64};
constexpr WireSpec x64{WireType::hex, 64};
constexpr WireSpec str{WireType::string, 0};
constexpr WireSpec len32{WireType::length, 32};
constexpr WireSpec arr32{WireType::sint_array, 32};

// A field that is written but that no analysis reads.
constexpr FieldSpec W(const char* name, WireSpec wire) {
  const FieldType type = wire.type == WireType::string       ? S
                         : wire.type == WireType::sint_array ? A
                                                             : I;
  return {name, type, false, kNone, wire, false};
}

// Rows whose fields all carry a WireSpec are written by source.vm.scenario (plugins/vm/scenario/),
// in the order given here; the other rows are only read.
const EventLayout kLayouts[] = {
    {EventKind::sched_switch,
     {"sched_switch"},
     {{"prev_comm", S, false, kNone, str},
      {"prev_tid", I, true, kNone, s32},
      W("prev_prio", s32),
      {"prev_state", I, true, 0, s64},
      {"next_comm", S, false, kNone, str},
      {"next_tid", I, true, kNone, s32},
      W("next_prio", s32)},
     EventKind::other,
     "a CPU switches from one thread to another"},
    {EventKind::sched_wakeup,
     {"sched_waking", "sched_wakeup", "sched_wakeup_new"},
     {{"comm", S, false, kNone, str}, {"tid", I, false, kNone, s32}, W("prio", s32), {"target_cpu", I, false, kNone, s32}},
     EventKind::other,
     "a thread becomes runnable"},
    {EventKind::process_fork,
     {"sched_process_fork"},
     {W("parent_comm", str),
      {"parent_tid", I, false, kNone, s32},
      {"parent_pid", I, false, kNone, s32},
      {"parent_ns_inum", I, false, kNone, u32},
      {"child_comm", S, false, kNone, str},
      {"child_tid", I, false, kNone, s32},
      W("_vtids_length", len32),
      {"vtids", A, false, kNone, arr32},  // lttng-modules >= 2.7: the child's tid at each namespace level
      {"child_pid", I, false, kNone, s32},
      {"child_ns_inum", I, false, kNone, u32}},
     EventKind::other,
     "a thread is created"},
    {EventKind::process_exit, {"sched_process_exit"}, {{"tid", I, false, kNone}}, EventKind::other, "a thread exits"},
    // lttng-modules 2.7-2.11: one event per PID-namespace level (the ns_* and v* fields).
    {EventKind::statedump_process,
     {"lttng_statedump_process_state"},
     {{"tid", I, false, kNone, s32},
      {"vtid", I, false, kNone, s32},
      {"pid", I, false, kNone, s32},
      {"vpid", I, false, kNone, s32},
      W("ppid", s32),
      {"vppid", I, false, kNone, s32},
      {"name", S, false, kNone, str},
      {"type", I, false, kNone, s32},
      W("mode", s32),
      W("submode", s32),
      {"status", I, false, kNone, s32},
      {"ns_level", I, false, kNone, s32},
      {"ns_inum", I, false, kNone, u32},
      W("cpu", u32)},
     EventKind::other,
     "a thread that existed when tracing started",
     Naming::any,
     NsLayout::per_level},
    // lttng-modules >= 2.12: the levels are in lttng_statedump_process_pid_ns.
    {EventKind::statedump_process,
     {"lttng_statedump_process_state"},
     {{"tid", I, false, kNone, s32},
      {"pid", I, false, kNone, s32},
      W("ppid", s32),
      {"name", S, false, kNone, str},
      {"type", I, false, kNone, s32},
      W("mode", s32),
      W("submode", s32),
      {"status", I, false, kNone, s32},
      W("cpu", u32)},
     EventKind::other,
     "a thread that existed when tracing started",
     Naming::any,
     NsLayout::separate},
    {EventKind::kvm_entry,
     {"kvm_x86_entry"},  // lttng-modules >= 2.7.2/2.8
     {{"vcpu_id", I, false, kNone, u32}, W("rip", x64), W("immediate_exit", u8)},
     EventKind::other,
     "a vCPU enters guest mode",
     Naming::newer},
    {EventKind::kvm_entry,
     {"kvm_entry"},  // older
     {{"vcpu_id", I, false, kNone, u32}},
     EventKind::other,
     "a vCPU enters guest mode",
     Naming::older},
    // Without exit_reason an exit still ends the guest interval: the reason becomes unknown
    // (the adapter reports it, see missing_field_effect()), never the interval.
    {EventKind::kvm_exit,
     {"kvm_x86_exit"},
     {{"exit_reason", I, false, kNone, u32},
      W("guest_rip", x64),
      {"isa", I, false, kNone, u32},
      W("info1", x64),
      W("info2", x64),
      W("intr_info", u32),
      W("error_code", u32),
      {"vcpu_id", I, false, kNone, u32}},
     EventKind::kvm_other,
     "a vCPU leaves guest mode",
     Naming::newer},
    {EventKind::kvm_exit,
     {"kvm_exit"},  // no vcpu_id
     {{"exit_reason", I, false, kNone, u32},
      W("guest_rip", x64),
      {"isa", I, false, kNone, u32},
      W("info1", x64),
      W("info2", x64)},
     EventKind::kvm_other,
     "a vCPU leaves guest mode",
     Naming::older},
    {EventKind::vmsync_gh_guest,
     {"vmsync_gh_guest"},
     {{"cnt", I, true, kNone}, {"vm_uid", I, true, kNone}},
     EventKind::other,
     "vmsync addon: guest side of a guest-to-host hypercall"},
    {EventKind::vmsync_hg_guest,
     {"vmsync_hg_guest"},
     {{"cnt", I, true, kNone}, {"vm_uid", I, true, kNone}},
     EventKind::other,
     "vmsync addon: guest side of a host-to-guest message"},
    {EventKind::vmsync_gh_host,
     {"vmsync_gh_host"},
     {{"cnt", I, true, kNone}, {"vm_uid", I, true, kNone}},
     EventKind::other,
     "vmsync addon: host side of a guest-to-host hypercall"},
    {EventKind::vmsync_hg_host,
     {"vmsync_hg_host"},
     {{"cnt", I, true, kNone}, {"vm_uid", I, true, kNone}},
     EventKind::other,
     "vmsync addon: host side of a host-to-guest message"},
    // Network headers are variants: read by name per event (plugins/vm/fuse/), not located here.
    // inet_sock_local_in/out (Trace Compass's addon events) carry the TCP header at the top level:
    // seq, ack_seq and flags are read here (absent from net_dev_queue & co., whose are nested).
    {EventKind::net_send,
     {"net_dev_queue", "inet_sock_local_out"},
     {{"seq", I, false, kNone}, {"ack_seq", I, false, kNone}, {"flags", I, false, kNone}},
     EventKind::other,
     "a packet is sent"},
    {EventKind::net_receive,
     {"net_if_receive_skb", "netif_receive_skb", "inet_sock_local_in"},
     {{"seq", I, false, kNone}, {"ack_seq", I, false, kNone}, {"flags", I, false, kNone}},
     EventKind::other,
     "a packet is received"},
    {EventKind::kvm_inj_virq,
     {"kvm_x86_inj_virq"},
     {{"irq", I, false, kNone, u32}, W("soft", u8), W("reinjected", u8)},
     EventKind::other,
     "the hypervisor injects an interrupt vector into a vCPU",
     Naming::newer},
    {EventKind::kvm_inj_virq,
     {"kvm_inj_virq"},
     {{"irq", I, false, kNone, u32}},
     EventKind::other,
     "the hypervisor injects an interrupt vector into a vCPU",
     Naming::older},
    // Every vector's events share one payload: the emitter gives the exact name.
    {EventKind::irq_vector_entry,
     {"x86_irq_vectors_*_entry"},
     {{"vector", I, false, kNone, s32}},
     EventKind::other,
     "an x86 interrupt vector's handler starts"},
    {EventKind::irq_vector_exit,
     {"x86_irq_vectors_*_exit"},
     {{"vector", I, false, kNone, s32}},
     EventKind::other,
     "an x86 interrupt vector's handler ends"},
    // System calls: the name says which call, no field is read. The written ones follow.
    {EventKind::syscall_entry,
     {"syscall_entry_*", "compat_syscall_entry_*", "sys_*"},
     {},
     EventKind::other,
     "a system call starts"},
    {EventKind::syscall_entry, {"syscall_entry_ioctl"}, {W("fd", u32), W("cmd", u32), W("arg", u64)}, EventKind::other,
     "a system call starts"},
    {EventKind::syscall_entry, {"syscall_entry_nanosleep"}, {W("rqtp", x64), W("rmtp", x64)}, EventKind::other,
     "a system call starts"},
    {EventKind::syscall_entry, {"syscall_entry_read"}, {W("fd", u32), W("buf", x64), W("count", u64)},
     EventKind::other, "a system call starts"},
    {EventKind::syscall_exit,
     {"syscall_exit_*", "compat_syscall_exit_*", "exit_syscall"},
     {},
     EventKind::other,
     "a system call returns"},
    {EventKind::syscall_exit, {"syscall_exit_ioctl"}, {W("ret", s64), W("arg", u64)}, EventKind::other,
     "a system call returns"},
    {EventKind::syscall_exit, {"syscall_exit_nanosleep"}, {W("ret", s64), W("rmtp", x64)}, EventKind::other,
     "a system call returns"},
    {EventKind::syscall_exit, {"syscall_exit_read"}, {W("ret", s64), W("buf", x64)}, EventKind::other,
     "a system call returns"},
    {EventKind::irq_entry,
     {"irq_handler_entry"},
     {{"irq", I, false, kNone, s32}, {"name", S, false, kNone, str}},
     EventKind::other,
     "an IRQ handler starts"},
    {EventKind::irq_exit,
     {"irq_handler_exit"},
     {{"irq", I, false, kNone, s32}, W("ret", s32)},
     EventKind::other,
     "an IRQ handler ends"},
    {EventKind::softirq_entry,
     {"irq_softirq_entry", "softirq_entry"},
     {{"vec", I, false, kNone}},
     EventKind::other,
     "a softirq handler starts"},
    {EventKind::softirq_exit,
     {"irq_softirq_exit", "softirq_exit"},
     {{"vec", I, false, kNone}},
     EventKind::other,
     "a softirq handler ends"},
    {EventKind::process_free, {"sched_process_free"}, {{"tid", I, false, kNone}}, EventKind::other, "a thread is gone"},
    {EventKind::statedump_pid_ns,
     {"lttng_statedump_process_pid_ns"},
     {{"tid", I, true, kNone, s32},
      {"vtid", I, false, kNone, s32},
      {"vpid", I, false, kNone, s32},
      {"vppid", I, false, kNone, s32},
      {"ns_level", I, true, kNone, s32},
      {"ns_inum", I, false, kNone, u32}},
     EventKind::other,
     "one PID-namespace level of a thread (lttng-modules >= 2.12)",
     Naming::any,
     NsLayout::separate},
    // Who raises the interrupts injected into vCPUs (common/analysis/wake/). Fields from
    // lttng-modules' instrumentation/events/arch/x86/kvm/trace.h (kvm_x86_*; kvm_* before 2.7.2)
    // and instrumentation/events/kvm.h (kvm_msi_set_irq, kvm_set_irq: never renamed).
    {EventKind::kvm_apic_ipi,
     {"kvm_x86_apic_ipi", "kvm_apic_ipi"},
     {{"icr_low", I, true, kNone}, {"dest_id", I, false, kNone}},
     EventKind::kvm_other,
     "a vCPU sends an IPI (its vector is icr_low's low byte)"},
    {EventKind::kvm_apic_accept_irq,
     {"kvm_x86_apic_accept_irq", "kvm_apic_accept_irq"},
     {{"apicid", I, true, kNone}, {"vec", I, true, kNone}},
     EventKind::kvm_other,
     "a vector is accepted by a vCPU's local APIC"},
    {EventKind::kvm_msi_set_irq,
     {"kvm_msi_set_irq"},
     {{"address", I, true, kNone}, {"data", I, true, kNone}},
     EventKind::kvm_other,
     "a device signals a message-signalled interrupt (vector: data's low byte)"},
    {EventKind::kvm_set_irq,
     {"kvm_set_irq"},
     {{"gsi", I, true, kNone}, {"level", I, false, 1}},
     EventKind::kvm_other,
     "a device raises or lowers an interrupt line of a VM"},
    // Nested virtualization, on the L0 host (lttng-modules' instrumentation/events/arch/x86/kvm/trace.h,
    // Linux's arch/x86/kvm/trace.h): L1 enters its nested guest (kvm_nested_vmenter on newer kernels, SVM
    // and VMX; kvm_nested_vmrun before, SVM only), an exit while the nested guest runs, and an exit that L0
    // reflects to L1. `isa` is KVM_ISA_VMX (1) or KVM_ISA_SVM (2); kvm_nested_vmrun has none.
    {EventKind::kvm_nested_vmenter,
     {"kvm_x86_nested_vmenter", "kvm_x86_nested_vmrun", "kvm_nested_vmenter", "kvm_nested_vmrun"},
     {{"isa", I, false, kNone}},
     EventKind::kvm_other,
     "an L1 hypervisor enters its nested (L2) guest: L0 emulates its VMRUN or VMLAUNCH/VMRESUME"},
    {EventKind::kvm_nested_vmexit,
     {"kvm_x86_nested_vmexit", "kvm_nested_vmexit"},
     {{"exit_code", I, false, kNone}, {"isa", I, false, kNone}},
     EventKind::kvm_other,
     "a vCPU leaves its nested (L2) guest: L0 sees the exit first"},
    {EventKind::kvm_nested_vmexit_inject,
     {"kvm_x86_nested_vmexit_inject", "kvm_nested_vmexit_inject"},
     {{"exit_code", I, false, kNone}, {"isa", I, false, kNone}},
     EventKind::kvm_other,
     "L0 reflects a nested guest's exit to its L1 hypervisor"},
    // The OS execution graph (common/analysis/graph/os_graph_builder.h), as Trace Compass builds it
    // (lttng2.kernel.core .../analysis/graph/handlers/*.java): the wake-up of Trace Compass's
    // layouts without sched_waking, exec, and the interrupt contexts of EventContextHandler.java.
    {EventKind::sched_wakeup,
     {"sched_ttwu"},
     {{"tid", I, false, kNone}, {"target_cpu", I, false, kNone}},
     EventKind::other,
     "a thread becomes runnable"},
    {EventKind::process_exec,
     {"sched_process_exec"},
     {{"filename", S, false, kNone}, {"tid", I, false, kNone}},
     EventKind::other,
     "a thread runs a new program"},
    {EventKind::hrtimer_entry,
     {"timer_hrtimer_expire_entry", "hrtimer_expire_entry"},
     {},
     EventKind::other,
     "a high-resolution timer's callback starts"},
    {EventKind::hrtimer_exit,
     {"timer_hrtimer_expire_exit", "hrtimer_expire_exit"},
     {},
     EventKind::other,
     "a high-resolution timer's callback ends"},
    {EventKind::irq_complete_entry, {"do_IRQ_entry"}, {}, EventKind::other, "the whole IRQ handling starts (kprobe)"},
    {EventKind::irq_complete_exit, {"do_IRQ_return"}, {}, EventKind::other, "the whole IRQ handling ends (kretprobe)"},
    {EventKind::net_rx_entry,
     {"netif_receive_skb_internal_entry"},
     {},
     EventKind::other,
     "a packet's reception starts (kprobe)"},
    {EventKind::net_rx_exit,
     {"netif_receive_skb_internal_return"},
     {},
     EventKind::other,
     "a packet's reception ends (kretprobe)"},
    // The rows source.vm.scenario writes for the kinds above (`wake-causes`, `nested-events`), by
    // generation; the same fields as lttng-modules' probes (arch/x86/kvm/trace.h, kvm.h). The
    // newer nested entry (kvm_x86_nested_vmenter, Linux >= 5.8) adds `isa` to kvm_nested_vmrun's.
    {EventKind::kvm_apic_ipi,
     {"kvm_x86_apic_ipi"},
     {{"icr_low", I, true, kNone, u32}, {"dest_id", I, false, kNone, u32}},
     EventKind::kvm_other,
     "a vCPU sends an IPI (its vector is icr_low's low byte)",
     Naming::newer},
    {EventKind::kvm_apic_ipi,
     {"kvm_apic_ipi"},
     {{"icr_low", I, true, kNone, u32}, {"dest_id", I, false, kNone, u32}},
     EventKind::kvm_other,
     "a vCPU sends an IPI (its vector is icr_low's low byte)",
     Naming::older},
    {EventKind::kvm_apic_accept_irq,
     {"kvm_x86_apic_accept_irq"},
     {{"apicid", I, true, kNone, u32}, W("dm", u16), W("tm", u8), {"vec", I, true, kNone, u8}, W("coalesced", u8)},
     EventKind::kvm_other,
     "a vector is accepted by a vCPU's local APIC",
     Naming::newer},
    {EventKind::kvm_apic_accept_irq,
     {"kvm_apic_accept_irq"},
     {{"apicid", I, true, kNone, u32}, W("dm", u16), W("tm", u8), {"vec", I, true, kNone, u8}, W("coalesced", u8)},
     EventKind::kvm_other,
     "a vector is accepted by a vCPU's local APIC",
     Naming::older},
    {EventKind::kvm_msi_set_irq,
     {"kvm_msi_set_irq"},
     {{"address", I, true, kNone, x64}, {"data", I, true, kNone, x64}},
     EventKind::kvm_other,
     "a device signals a message-signalled interrupt (vector: data's low byte)"},
    {EventKind::kvm_nested_vmenter,
     {"kvm_x86_nested_vmenter"},
     {W("rip", x64), W("vmcb", x64), W("nested_rip", x64), W("int_ctl", u32), W("event_inj", u32), W("npt", u8),
      {"isa", I, false, kNone, u32}},
     EventKind::kvm_other,
     "an L1 hypervisor enters its nested (L2) guest: L0 emulates its VMRUN or VMLAUNCH/VMRESUME",
     Naming::newer},
    {EventKind::kvm_nested_vmenter,
     {"kvm_nested_vmrun"},
     {W("rip", x64), W("vmcb", x64), W("nested_rip", x64), W("int_ctl", u32), W("event_inj", u32), W("npt", u8)},
     EventKind::kvm_other,
     "an L1 hypervisor enters its nested (L2) guest: L0 emulates its VMRUN or VMLAUNCH/VMRESUME",
     Naming::older},
    {EventKind::kvm_nested_vmexit,
     {"kvm_x86_nested_vmexit"},
     {W("rip", x64), {"exit_code", I, false, kNone, u32}, W("exit_info1", x64), W("exit_info2", x64),
      W("exit_int_info", u32), W("exit_int_info_err", u32), {"isa", I, false, kNone, u32}},
     EventKind::kvm_other,
     "a vCPU leaves its nested (L2) guest: L0 sees the exit first",
     Naming::newer},
    {EventKind::kvm_nested_vmexit,
     {"kvm_nested_vmexit"},
     {W("rip", x64), {"exit_code", I, false, kNone, u32}, W("exit_info1", x64), W("exit_info2", x64),
      W("exit_int_info", u32), W("exit_int_info_err", u32), {"isa", I, false, kNone, u32}},
     EventKind::kvm_other,
     "a vCPU leaves its nested (L2) guest: L0 sees the exit first",
     Naming::older},
    {EventKind::kvm_nested_vmexit_inject,
     {"kvm_x86_nested_vmexit_inject"},
     {{"exit_code", I, false, kNone, u32}, W("exit_info1", x64), W("exit_info2", x64), W("exit_int_info", u32),
      W("exit_int_info_err", u32), {"isa", I, false, kNone, u32}},
     EventKind::kvm_other,
     "L0 reflects a nested guest's exit to its L1 hypervisor",
     Naming::newer},
    {EventKind::kvm_nested_vmexit_inject,
     {"kvm_nested_vmexit_inject"},
     {{"exit_code", I, false, kNone, u32}, W("exit_info1", x64), W("exit_info2", x64), W("exit_int_info", u32),
      W("exit_int_info_err", u32), {"isa", I, false, kNone, u32}},
     EventKind::kvm_other,
     "L0 reflects a nested guest's exit to its L1 hypervisor",
     Naming::older},
    // The softirq rows source.vm.scenario writes (`requests`: the host disk's completion in softirq
    // BLOCK); lttng-modules' irq_softirq_entry/exit carry `unsigned int vec` (instrumentation/events/irq.h).
    {EventKind::softirq_entry, {"irq_softirq_entry"}, {{"vec", I, false, kNone, u32}}, EventKind::other,
     "a softirq handler starts"},
    {EventKind::softirq_exit, {"irq_softirq_exit"}, {{"vec", I, false, kNone, u32}}, EventKind::other,
     "a softirq handler ends"},
    // Last: any other kvm_* event still proves a KVM host.
    {EventKind::kvm_other, {"kvm_*"}, {}, EventKind::other, "any other KVM event"},
};

bool same_name(const char* a, const char* b) {
  return std::string_view(a) == std::string_view(b);
}

// The reader's view of every kind that has a row: the read fields of its rows, each once, in the
// order they first appear.
std::vector<EventLayout> reader_views() {
  std::vector<EventLayout> views;
  for (const EventLayout& row : kLayouts) {
    auto view = std::find_if(views.begin(), views.end(), [&](const EventLayout& v) { return v.kind == row.kind; });
    if (view == views.end()) {
      views.push_back(row);
      view = views.end() - 1;
      for (FieldSpec& field : view->fields) field = FieldSpec{};
    }
    for (size_t i = 0; i < row.field_count(); ++i) {
      const FieldSpec& field = row.fields[i];
      if (!field.read) continue;
      size_t n = view->field_count();
      bool known = false;
      for (size_t j = 0; j < n; ++j) known = known || same_name(view->fields[j].name, field.name);
      if (known) continue;
      if (n == kMaxEventFields) throw std::logic_error("an event kind reads more than kMaxEventFields fields");
      view->fields[n] = field;
      view->fields[n].wire = {};  // the reader's view says nothing of how one generation writes it
    }
  }
  return views;
}

template <typename T>
bool fits(T wanted, T have, T any) {
  return wanted == any || have == any || wanted == have;
}

}  // namespace

const EventLayout* event_layouts() {
  return kLayouts;
}

size_t event_layout_count() {
  return sizeof kLayouts / sizeof kLayouts[0];
}

const EventLayout* layout_of(EventKind kind) {
  static const std::vector<EventLayout> views = reader_views();
  for (const EventLayout& view : views)
    if (view.kind == kind) return &view;
  return nullptr;
}

const EventLayout* written_layout(EventKind kind, Naming naming, NsLayout ns, std::string_view name) {
  for (const EventLayout& row : kLayouts) {
    if (row.kind != kind || !row.written() || !fits(naming, row.naming, Naming::any) || !fits(ns, row.ns, NsLayout::any))
      continue;
    if (name.empty()) return &row;
    for (const char* pattern : row.names)
      if (pattern && event_name_matches(pattern, name)) return &row;
  }
  return nullptr;
}

const char* missing_field_effect(EventKind kind, std::string_view field) {
  if (kind == EventKind::kvm_exit && field == "exit_reason")
    return "the exit reason of the vCPU intervals in the hypervisor (vcpu_state.exit_reason) is unknown; the "
           "intervals are kept";
  return nullptr;
}

bool event_name_matches(std::string_view pattern, std::string_view name) {
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == name;
  const std::string_view prefix = pattern.substr(0, star), suffix = pattern.substr(star + 1);
  return name.size() > prefix.size() + suffix.size() && name.substr(0, prefix.size()) == prefix &&
         name.substr(name.size() - suffix.size()) == suffix;
}

EventKind kind_of(std::string_view name) {
  for (const EventLayout& layout : kLayouts)
    for (const char* pattern : layout.names)
      if (pattern && event_name_matches(pattern, name)) return layout.kind;
  return EventKind::other;
}

}  // namespace vm
