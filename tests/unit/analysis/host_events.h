// SPDX-License-Identifier: MIT
#pragma once
// The host of the wake and host-only graph tests: QEMU process 1000 runs vCPU 0 as thread 1001
// ("CPU 0/KVM") and vCPU 1 as thread 1002 ("CPU 1/KVM"); thread 1000 is QEMU's main loop, 2000 a
// vhost worker of that VM ("vhost-1000"), 3000 another host task ("bash"), 0 the idle task.

#include "events/events.h"

namespace vm {

// One event of that host in thread `tid` (its pid and name from `tid`) on `cpu`.
inline Event host_event(Timestamp ts, int64_t cpu, int64_t tid, EventKind kind, EventPayload payload) {
  Event e;
  e.kind = kind;
  e.ctx.ts = ts;
  e.ctx.cpu = cpu;
  e.ctx.tid = tid;
  e.ctx.pid = tid == 2000 || tid == 3000 ? tid : tid == 0 ? 0 : 1000;
  e.ctx.procname = tid == 1001   ? "CPU 0/KVM"
                   : tid == 1002 ? "CPU 1/KVM"
                   : tid == 2000 ? "vhost-1000"
                   : tid == 3000 ? "bash"
                   : tid == 0    ? "swapper/0"
                                 : "qemu-system-x86";
  e.payload = payload;
  return e;
}

// The KVM events of that host's vCPU threads (AMD SVM exits, isa 2: HLT is 0x78), for a test
// fixture `Self` that feeds one with Self::event(ts, cpu, tid, kind, payload).
template <typename Self>
struct HostKvmEvents {
  static constexpr int64_t kSvmIsa = 2, kSvmHlt = 0x78;
  void entry(Timestamp ts, int64_t cpu, int64_t tid) {
    self().event(ts, cpu, tid, EventKind::kvm_entry, KvmEntry{tid - 1001});
  }
  void exit(Timestamp ts, int64_t cpu, int64_t tid, int64_t reason = kSvmHlt) {
    self().event(ts, cpu, tid, EventKind::kvm_exit, KvmExit{reason, kSvmIsa, tid - 1001});
  }
  void inject(Timestamp ts, int64_t cpu, int64_t tid, int64_t vector) {
    self().event(ts, cpu, tid, EventKind::kvm_inj_virq, KvmInjVirq{vector});
  }
  void accept(Timestamp ts, int64_t cpu, int64_t tid, int64_t apicid, int64_t vector) {
    self().event(ts, cpu, tid, EventKind::kvm_apic_accept_irq, KvmApicAcceptIrq{apicid, vector});
  }

 private:
  Self& self() { return static_cast<Self&>(*this); }
};

}  // namespace vm
