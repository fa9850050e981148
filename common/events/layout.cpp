// SPDX-License-Identifier: MIT
#include "events/layout.h"

namespace vm {

namespace {

constexpr FieldType I = FieldType::integer;
constexpr FieldType S = FieldType::string;
constexpr FieldType A = FieldType::int_array;
constexpr int64_t kNone = -1;

const EventLayout kLayouts[] = {
    {EventKind::sched_switch,
     {"sched_switch"},
     {{"prev_tid", I, true, kNone},
      {"prev_state", I, true, 0},
      {"next_tid", I, true, kNone},
      {"prev_comm", S, false, kNone},
      {"next_comm", S, false, kNone}},
     EventKind::other,
     "a CPU switches from one thread to another"},
    {EventKind::sched_wakeup,
     {"sched_waking", "sched_wakeup", "sched_wakeup_new"},
     {{"tid", I, false, kNone}, {"target_cpu", I, false, kNone}},
     EventKind::other,
     "a thread becomes runnable"},
    {EventKind::process_fork,
     {"sched_process_fork"},
     {{"child_tid", I, false, kNone},
      {"child_pid", I, false, kNone},
      {"child_comm", S, false, kNone},
      {"parent_tid", I, false, kNone},
      {"parent_pid", I, false, kNone},
      {"vtids", A, false, kNone},  // lttng-modules >= 2.7: the child's tid at each namespace level
      {"parent_ns_inum", I, false, kNone},
      {"child_ns_inum", I, false, kNone}},
     EventKind::other,
     "a thread is created"},
    {EventKind::process_exit, {"sched_process_exit"}, {{"tid", I, false, kNone}}, EventKind::other, "a thread exits"},
    {EventKind::statedump_process,
     {"lttng_statedump_process_state"},
     {{"tid", I, false, kNone},
      {"pid", I, false, kNone},
      {"name", S, false, kNone},
      {"type", I, false, kNone},
      {"status", I, false, kNone},
      // lttng-modules 2.7-2.11: one event per PID-namespace level (absent from 2.12 on).
      {"ns_level", I, false, kNone},
      {"ns_inum", I, false, kNone},
      {"vtid", I, false, kNone},
      {"vpid", I, false, kNone},
      {"vppid", I, false, kNone}},
     EventKind::other,
     "a thread that existed when tracing started"},
    {EventKind::kvm_entry,
     {"kvm_x86_entry", "kvm_entry"},
     {{"vcpu_id", I, false, kNone}},
     EventKind::other,
     "a vCPU enters guest mode"},
    {EventKind::kvm_exit,
     {"kvm_x86_exit", "kvm_exit"},
     // Without exit_reason an exit still ends the guest interval: the reason becomes unknown
     // (the adapter reports it, see missing_field_effect()), never the interval.
     {{"exit_reason", I, false, kNone}, {"isa", I, false, kNone}, {"vcpu_id", I, false, kNone}},
     EventKind::kvm_other,
     "a vCPU leaves guest mode"},
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
    {EventKind::net_send, {"net_dev_queue", "inet_sock_local_out"}, {}, EventKind::other, "a packet is sent"},
    {EventKind::net_receive,
     {"net_if_receive_skb", "netif_receive_skb", "inet_sock_local_in"},
     {},
     EventKind::other,
     "a packet is received"},
    {EventKind::kvm_inj_virq,
     {"kvm_x86_inj_virq", "kvm_inj_virq"},
     {{"irq", I, false, kNone}},
     EventKind::other,
     "the hypervisor injects an interrupt vector into a vCPU"},
    {EventKind::irq_vector_entry,
     {"x86_irq_vectors_*_entry"},
     {{"vector", I, false, kNone}},
     EventKind::other,
     "an x86 interrupt vector's handler starts"},
    {EventKind::irq_vector_exit,
     {"x86_irq_vectors_*_exit"},
     {{"vector", I, false, kNone}},
     EventKind::other,
     "an x86 interrupt vector's handler ends"},
    {EventKind::syscall_entry,
     {"syscall_entry_*", "compat_syscall_entry_*", "sys_*"},
     {},
     EventKind::other,
     "a system call starts"},
    {EventKind::syscall_exit,
     {"syscall_exit_*", "compat_syscall_exit_*", "exit_syscall"},
     {},
     EventKind::other,
     "a system call returns"},
    {EventKind::irq_entry,
     {"irq_handler_entry"},
     {{"irq", I, false, kNone}},
     EventKind::other,
     "an IRQ handler starts"},
    {EventKind::irq_exit, {"irq_handler_exit"}, {{"irq", I, false, kNone}}, EventKind::other, "an IRQ handler ends"},
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
     {{"tid", I, true, kNone},
      {"ns_level", I, true, kNone},
      {"ns_inum", I, false, kNone},
      {"vtid", I, false, kNone},
      {"vpid", I, false, kNone},
      {"vppid", I, false, kNone}},
     EventKind::other,
     "one PID-namespace level of a thread (lttng-modules >= 2.12)"},
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
    // Last: any other kvm_* event still proves a KVM host.
    {EventKind::kvm_other, {"kvm_*"}, {}, EventKind::other, "any other KVM event"},
};

}  // namespace

const EventLayout* event_layouts() {
  return kLayouts;
}

size_t event_layout_count() {
  return sizeof kLayouts / sizeof kLayouts[0];
}

const EventLayout* layout_of(EventKind kind) {
  for (const EventLayout& layout : kLayouts)
    if (layout.kind == kind) return &layout;
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
