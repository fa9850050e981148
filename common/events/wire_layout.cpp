// SPDX-License-Identifier: MIT
#include "events/wire_layout.h"

namespace vm {

namespace {

constexpr WireType s = WireType::sint;
constexpr WireType u = WireType::uint;
constexpr WireType x = WireType::hex;
constexpr WireType S = WireType::string;
constexpr WireType L = WireType::length;
constexpr WireType A = WireType::sint_array;

// The payloads as source.vm.scenario writes them, modelled on lttng-modules's probes
// (include/instrumentation/events/ of lttng-modules: sched.h, kvm.h, arch/x86/kvm/trace.h, irq.h,
// arch/x86/irq_vectors.h, lttng-statedump.h and the generated system call probes).
const WireLayout kWire[] = {
    {"sched_switch",
     EventKind::sched_switch,
     Naming::any,
     NsLayout::any,
     {{"prev_comm", S, 0},
      {"prev_tid", s, 32},
      {"prev_prio", s, 32},
      {"prev_state", s, 64},
      {"next_comm", S, 0},
      {"next_tid", s, 32},
      {"next_prio", s, 32}}},
    {"sched_waking",
     EventKind::sched_wakeup,
     Naming::any,
     NsLayout::any,
     {{"comm", S, 0}, {"tid", s, 32}, {"prio", s, 32}, {"target_cpu", s, 32}}},
    {"sched_wakeup",
     EventKind::sched_wakeup,
     Naming::any,
     NsLayout::any,
     {{"comm", S, 0}, {"tid", s, 32}, {"prio", s, 32}, {"target_cpu", s, 32}}},
    {"sched_process_fork",
     EventKind::process_fork,
     Naming::any,
     NsLayout::any,
     {{"parent_comm", S, 0},
      {"parent_tid", s, 32},
      {"parent_pid", s, 32},
      {"parent_ns_inum", u, 32},
      {"child_comm", S, 0},
      {"child_tid", s, 32},
      {"_vtids_length", L, 32},
      {"vtids", A, 32},
      {"child_pid", s, 32},
      {"child_ns_inum", u, 32}}},
    {"lttng_statedump_process_state",
     EventKind::statedump_process,
     Naming::any,
     NsLayout::per_level,
     {{"tid", s, 32},
      {"vtid", s, 32},
      {"pid", s, 32},
      {"vpid", s, 32},
      {"ppid", s, 32},
      {"vppid", s, 32},
      {"name", S, 0},
      {"type", s, 32},
      {"mode", s, 32},
      {"submode", s, 32},
      {"status", s, 32},
      {"ns_level", s, 32},
      {"ns_inum", u, 32},
      {"cpu", u, 32}}},
    {"lttng_statedump_process_state",
     EventKind::statedump_process,
     Naming::any,
     NsLayout::separate,
     {{"tid", s, 32},
      {"pid", s, 32},
      {"ppid", s, 32},
      {"name", S, 0},
      {"type", s, 32},
      {"mode", s, 32},
      {"submode", s, 32},
      {"status", s, 32},
      {"cpu", u, 32}}},
    {"lttng_statedump_process_pid_ns",
     EventKind::statedump_pid_ns,
     Naming::any,
     NsLayout::separate,
     {{"tid", s, 32}, {"vtid", s, 32}, {"vpid", s, 32}, {"vppid", s, 32}, {"ns_level", s, 32}, {"ns_inum", u, 32}}},
    {"kvm_x86_entry",
     EventKind::kvm_entry,
     Naming::newer,
     NsLayout::any,
     {{"vcpu_id", u, 32}, {"rip", x, 64}, {"immediate_exit", u, 8}}},
    {"kvm_entry", EventKind::kvm_entry, Naming::older, NsLayout::any, {{"vcpu_id", u, 32}}},
    {"kvm_x86_exit",
     EventKind::kvm_exit,
     Naming::newer,
     NsLayout::any,
     {{"exit_reason", u, 32},
      {"guest_rip", x, 64},
      {"isa", u, 32},
      {"info1", x, 64},
      {"info2", x, 64},
      {"intr_info", u, 32},
      {"error_code", u, 32},
      {"vcpu_id", u, 32}}},
    {"kvm_exit",
     EventKind::kvm_exit,
     Naming::older,
     NsLayout::any,
     {{"exit_reason", u, 32}, {"guest_rip", x, 64}, {"isa", u, 32}, {"info1", x, 64}, {"info2", x, 64}}},
    {"kvm_x86_inj_virq",
     EventKind::kvm_inj_virq,
     Naming::newer,
     NsLayout::any,
     {{"irq", u, 32}, {"soft", u, 8}, {"reinjected", u, 8}}},
    {"kvm_inj_virq", EventKind::kvm_inj_virq, Naming::older, NsLayout::any, {{"irq", u, 32}}},
    {"irq_handler_entry", EventKind::irq_entry, Naming::any, NsLayout::any, {{"irq", s, 32}, {"name", S, 0}}},
    {"irq_handler_exit", EventKind::irq_exit, Naming::any, NsLayout::any, {{"irq", s, 32}, {"ret", s, 32}}},
    {"x86_irq_vectors_local_timer_entry",
     EventKind::irq_vector_entry,
     Naming::any,
     NsLayout::any,
     {{"vector", s, 32}}},
    {"x86_irq_vectors_local_timer_exit", EventKind::irq_vector_exit, Naming::any, NsLayout::any, {{"vector", s, 32}}},
    {"syscall_entry_ioctl",
     EventKind::syscall_entry,
     Naming::any,
     NsLayout::any,
     {{"fd", u, 32}, {"cmd", u, 32}, {"arg", u, 64}}},
    {"syscall_exit_ioctl", EventKind::syscall_exit, Naming::any, NsLayout::any, {{"ret", s, 64}, {"arg", u, 64}}},
    {"syscall_entry_nanosleep",
     EventKind::syscall_entry,
     Naming::any,
     NsLayout::any,
     {{"rqtp", x, 64}, {"rmtp", x, 64}}},
    {"syscall_exit_nanosleep", EventKind::syscall_exit, Naming::any, NsLayout::any, {{"ret", s, 64}, {"rmtp", x, 64}}},
    {"syscall_entry_read",
     EventKind::syscall_entry,
     Naming::any,
     NsLayout::any,
     {{"fd", u, 32}, {"buf", x, 64}, {"count", u, 64}}},
    {"syscall_exit_read", EventKind::syscall_exit, Naming::any, NsLayout::any, {{"ret", s, 64}, {"buf", x, 64}}},
};

template <typename T>
bool fits(T wanted, T have, T any) {
  return wanted == any || have == any || wanted == have;
}

}  // namespace

const WireLayout* wire_layouts() {
  return kWire;
}

size_t wire_layout_count() {
  return sizeof kWire / sizeof kWire[0];
}

const WireLayout* wire_layout(EventKind kind, Naming naming, NsLayout ns, std::string_view name) {
  for (const WireLayout& layout : kWire)
    if (layout.kind == kind && fits(naming, layout.naming, Naming::any) && fits(ns, layout.ns, NsLayout::any) &&
        (name.empty() || name == layout.name))
      return &layout;
  return nullptr;
}

}  // namespace vm
