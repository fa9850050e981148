// SPDX-License-Identifier: MIT
#include "events/events.h"

namespace vm {

namespace {

// `raw` holds the fields in the order of the kind's reader view (layout_of(), from the rows of
// common/events/layout.cpp: their read fields in table order); the indices below follow it.
PidNsLevel ns_level(const int64_t* v, int level, int inum, int vtid, int vpid, int vppid) {
  return {v[level], v[inum], v[vtid], v[vpid], v[vppid]};
}

const std::vector<int64_t> kNoArray;

}  // namespace

EventPayload make_payload(EventKind kind, const RawFields& raw) {
  const int64_t* v = raw.value;
  switch (kind) {
    // prev_comm, prev_tid, prev_state, next_comm, next_tid
    case EventKind::sched_switch: return SchedSwitch{v[1], v[2], v[4], raw.text[0], raw.text[3]};
    case EventKind::sched_wakeup: return SchedWakeup{v[1], v[2], raw.text[0]};  // comm, tid, target_cpu
    // parent_tid, parent_pid, parent_ns_inum, child_comm, child_tid, vtids, child_pid, child_ns_inum
    case EventKind::process_fork:
      return ProcessFork{v[4], v[6], raw.text[3], v[0], v[1], raw.array ? raw.array : &kNoArray, v[2], v[7]};
    case EventKind::process_exit:
    case EventKind::process_free: return ThreadEnd{v[0]};
    // tid, vtid, pid, vpid, vppid, name, type, status, ns_level, ns_inum
    case EventKind::statedump_process:
      return StatedumpProcess{v[0], v[2], raw.text[5], v[6], v[7], ns_level(v, 8, 9, 1, 3, 4), raw.present[8]};
    // tid, vtid, vpid, vppid, ns_level, ns_inum
    case EventKind::statedump_pid_ns: return StatedumpPidNs{v[0], ns_level(v, 4, 5, 1, 2, 3)};
    case EventKind::kvm_entry: return KvmEntry{v[0]};
    case EventKind::kvm_exit: return KvmExit{v[0], v[1], v[2]};  // exit_reason, isa, vcpu_id
    case EventKind::vmsync_gh_guest:
    case EventKind::vmsync_hg_guest:
    case EventKind::vmsync_gh_host:
    case EventKind::vmsync_hg_host: return Vmsync{v[0], v[1]};
    case EventKind::kvm_inj_virq: return KvmInjVirq{v[0]};
    case EventKind::irq_vector_entry:
    case EventKind::irq_vector_exit: return IrqVector{v[0]};
    case EventKind::syscall_entry:
    case EventKind::syscall_exit: return Syscall{};
    case EventKind::irq_entry: return Irq{v[0], raw.text[1]};
    case EventKind::irq_exit: return Irq{v[0], {}};
    case EventKind::softirq_entry:
    case EventKind::softirq_exit: return Softirq{v[0]};
    case EventKind::kvm_apic_ipi: return KvmApicIpi{v[0], v[1]};
    case EventKind::kvm_apic_accept_irq: return KvmApicAcceptIrq{v[0], v[1]};
    case EventKind::kvm_msi_set_irq: return KvmMsiSetIrq{v[0], v[1]};
    case EventKind::kvm_set_irq: return KvmSetIrq{v[0], v[1]};
    case EventKind::kvm_nested_vmenter: return KvmNestedVmenter{v[0]};
    case EventKind::kvm_nested_vmexit:
    case EventKind::kvm_nested_vmexit_inject: return KvmNestedVmexit{v[0], v[1]};
    case EventKind::process_exec: return ProcessExec{raw.text[0], v[1]};  // filename, tid
    // seq, ack_seq, flags
    case EventKind::net_send:
    case EventKind::net_receive:
      return NetPacket{v[0], v[1], v[2], raw.present[0] && raw.present[1] && raw.present[2]};
    default: return std::monostate{};
  }
}

}  // namespace vm
