// SPDX-License-Identifier: MIT
#include "events/events.h"

namespace vm {

namespace {

// `raw` holds the fields in the order of the kind's layout (common/events/layout.cpp).
PidNsLevel ns_level_at(const RawFields& raw, int first) {
  return {raw.value[first], raw.value[first + 1], raw.value[first + 2], raw.value[first + 3], raw.value[first + 4]};
}

const std::vector<int64_t> kNoArray;

}  // namespace

EventPayload make_payload(EventKind kind, const RawFields& raw) {
  const int64_t* v = raw.value;
  switch (kind) {
    case EventKind::sched_switch: return SchedSwitch{v[0], v[1], v[2], raw.text[3], raw.text[4]};
    case EventKind::sched_wakeup: return SchedWakeup{v[0], v[1]};
    case EventKind::process_fork:
      return ProcessFork{v[0], v[1], raw.text[2], v[3], v[4], raw.array ? raw.array : &kNoArray, v[6], v[7]};
    case EventKind::process_exit:
    case EventKind::process_free: return ThreadEnd{v[0]};
    case EventKind::statedump_process:
      return StatedumpProcess{v[0], v[1], raw.text[2], v[3], v[4], ns_level_at(raw, 5), raw.present[5]};
    case EventKind::statedump_pid_ns: return StatedumpPidNs{v[0], ns_level_at(raw, 1)};
    case EventKind::kvm_entry: return KvmEntry{v[0]};
    case EventKind::kvm_exit: return KvmExit{v[0], v[1], v[2]};
    case EventKind::vmsync_gh_guest:
    case EventKind::vmsync_hg_guest:
    case EventKind::vmsync_gh_host:
    case EventKind::vmsync_hg_host: return Vmsync{v[0], v[1]};
    case EventKind::kvm_inj_virq: return KvmInjVirq{v[0]};
    case EventKind::irq_vector_entry:
    case EventKind::irq_vector_exit: return IrqVector{v[0]};
    case EventKind::syscall_entry:
    case EventKind::syscall_exit: return Syscall{};
    case EventKind::irq_entry:
    case EventKind::irq_exit: return Irq{v[0]};
    case EventKind::softirq_entry:
    case EventKind::softirq_exit: return Softirq{v[0]};
    case EventKind::kvm_nested_vmenter: return KvmNestedVmenter{v[0]};
    case EventKind::kvm_nested_vmexit:
    case EventKind::kvm_nested_vmexit_inject: return KvmNestedVmexit{v[0], v[1]};
    default: return std::monostate{};
  }
}

}  // namespace vm
