// SPDX-License-Identifier: MIT
#pragma once
// The events the scenario model records: their kinds, LTTng names and the record that carries
// their fields. Each kind's fields are written by one function of ScenarioModel::Impl
// (common/sim/trace_events.cpp); its name and payload layout come from the written rows of the
// event layout table (common/events/layout.cpp), and source.vm.scenario maps each payload field
// to its slot (plugins/vm/scenario/event_layout.cpp).

#include <cstdint>

#include "events/layout.h"

namespace vm {

enum class ScenarioEventType : uint8_t {
  sched_switch,       // a0 prev_tid, a1 prev_prio, a2 prev_state, a3 next_tid, a4 next_prio; s0 prev_comm, s1 next_comm
  sched_waking,       // a0 tid, a1 prio, a2 target_cpu; s0 comm
  sched_wakeup,       // same
  sched_process_fork, // a0 parent_tid, a1 parent_pid, a2 child_tid, a3 child_pid, a4 parent_ns_inum,
                      // a5 child_ns_inum, a6 number of vtids, a7.. vtids (root first); s0 parent_comm, s1 child_comm
  statedump_process,  // a0 tid, a1 pid, a2 ppid, a3 type, a4 mode, a5 submode, a6 status, a7 cpu; s0 name;
                      // LM <= 2.11 layout: also a8 vtid, a9 vpid, a10 vppid, a11 ns_level, a12 ns_inum
  kvm_entry,          // a0 vcpu_id, a1 rip, a2 immediate_exit
  kvm_exit,           // a0 exit_reason, a1 guest_rip, a2 isa, a3 info1, a4 info2, a5 intr_info, a6 error_code, a7 vcpu_id
  kvm_inj_virq,       // a0 irq, a1 soft, a2 reinjected
  irq_handler_entry,  // a0 irq; s0 name
  irq_handler_exit,   // a0 irq, a1 ret
  timer_irq_entry,    // x86_irq_vectors_local_timer_entry: a0 vector
  timer_irq_exit,     // x86_irq_vectors_local_timer_exit: a0 vector
  syscall_entry_ioctl,  // a0 fd, a1 cmd, a2 arg
  syscall_exit_ioctl,   // a0 ret, a1 arg
  syscall_entry_nanosleep,  // a0 rqtp, a1 rmtp
  syscall_exit_nanosleep,   // a0 ret, a1 rmtp
  statedump_pid_ns,   // lttng_statedump_process_pid_ns: a0 tid, a1 vtid, a2 vpid, a3 vppid, a4 ns_level, a5 ns_inum
  syscall_entry_read, // a0 fd, a1 buf, a2 count
  syscall_exit_read,  // a0 ret, a1 buf
  // `wake-causes`: who raises the vectors injected into vCPUs, and the guest's IPI handler
  kvm_apic_ipi,         // a0 icr_low, a1 dest_id
  kvm_apic_accept_irq,  // a0 apicid, a1 dm, a2 tm, a3 vec, a4 coalesced
  kvm_msi_set_irq,      // a0 address, a1 data
  resched_irq_entry,    // x86_irq_vectors_reschedule_entry: a0 vector
  resched_irq_exit,     // x86_irq_vectors_reschedule_exit: a0 vector
  // `nested-events`: L0's emulation of the L1 hypervisor's VMX
  kvm_nested_vmenter,        // a0 rip, a1 vmcb, a2 nested_rip, a3 int_ctl, a4 event_inj, a5 npt, a6 isa
  kvm_nested_vmexit,         // a0 rip, a1 exit_code, a2 exit_info1, a3 exit_info2, a4 exit_int_info,
                             // a5 exit_int_info_err, a6 isa
  kvm_nested_vmexit_inject,  // a0 exit_code, a1 exit_info1, a2 exit_info2, a3 exit_int_info, a4 exit_int_info_err,
                             // a5 isa
  // `requests`: the host disk's completion runs in softirq BLOCK
  softirq_entry,             // irq_softirq_entry: a0 vec
  softirq_exit,              // irq_softirq_exit: a0 vec
  count
};
// One scenario event as written: its exact LTTng name and its row of the layout table (whose
// fields, in order, are its payload).
struct WrittenEvent {
  const char* name;
  const EventLayout* layout;  // never null
};
// `type`'s event in the naming generation (`old_names`: lttng-modules < 2.7.2) and statedump
// layout (`lm211`: lttng-modules 2.7-2.11, one statedump event per namespace level).
WrittenEvent scenario_written_event(ScenarioEventType type, bool old_names, bool lm211);

struct ScenarioEvent {
  int64_t ts = 0;       // in the machine's own clock (ns from the Unix epoch)
  int64_t host_ts = 0;  // the same instant in the host's clock
  int32_t machine = 0;
  int32_t cpu = 0;
  ScenarioEventType type = ScenarioEventType::sched_switch;
  int32_t tid = 0, pid = 0;         // common context: the thread the event happened in
  const char* procname = "";        // owned by the model
  int64_t a[13] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const char* s[2] = {"", ""};      // owned by the model
};

}  // namespace vm
