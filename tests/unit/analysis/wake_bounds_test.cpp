// SPDX-License-Identifier: MIT
// The wake model and the VM key of a thread against thread ids that no Linux thread has (a corrupt
// trace): found by tests/fuzz/fuzz_wake_model, whose first minute stopped on UBSan's "signed
// integer overflow: -2 - 9223372036854775807" in vm_key_of_thread() (common/kvm/vm_key.h), reached
// from WakeModel::vm_key_of() for a kvm_x86_apic_ipi in thread 2^63-1 of no known process. CI's
// sanitizer build (.ci/run) stops on the same report if it comes back.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "analysis/wake/wake_model.h"
#include "kvm/host_analysis.h"
#include "kvm/vm_key.h"

namespace vm {
namespace {

constexpr int64_t kImpossibleTid = std::numeric_limits<int64_t>::max();

// vm_key.h: a thread's key is -2 - tid for a Linux thread id (0 .. PID_MAX_LIMIT = 4194304,
// include/linux/threads.h); anything else keys no VM (kUnknown).
TEST(VmKeyOfThread, OnlyLinuxThreadIdsKeyAVm) {
  EXPECT_EQ(vm_key_of_thread(0), -2);
  EXPECT_EQ(vm_key_of_thread(4194304), -2 - 4194304);
  EXPECT_EQ(vm_key_of_thread(4194305), kUnknown);
  EXPECT_EQ(vm_key_of_thread(kImpossibleTid), kUnknown);
  EXPECT_EQ(vm_key_of_thread(std::numeric_limits<int64_t>::min()), kUnknown);
}

struct Quiet : VcpuListener {
  void on_vcpu_interval(const VcpuInterval&) override {}
  void on_diagnostic(const std::string&) override {}
};

// QEMU process 1000 runs vCPU 0 as thread 1001 (AMD SVM, isa 2: HLT is exit 0x78). It enters at
// 10 and halts at 20. At 30 and 31 the impossible thread (no process known) sends the IPI vector
// 251 to APIC 0 (icr_low 251: fixed delivery, destination from dest_id) and an MSI with that
// vector (address 0xfee00000: APIC 0, data 251); KVM injects 251 into vCPU 0 at 40 and enters it
// at 50. Expected, by hand: one halt, 20 .. 50 (dur 30), woken by vector 251, with no known cause:
// the impossible thread is no vCPU and keys no VM, so neither signal is the halt's cause
// (cause_ts and waker unknown).
TEST(WakeModelBounds, SignalsFromAnImpossibleThreadAreNoCause) {
  MachineRegistry machines;
  const int64_t host_id = machines.add("host", MachineRole::unknown, kUnknown, 0);
  Quiet quiet;
  SchedState sched;
  HostAnalysis host(machines, host_id, sched, quiet);
  std::vector<HaltRecord> rows;
  WakeModel wake(host.vcpus(), sched, [&rows](HaltRecord& row) { rows.push_back(row); });
  const auto feed = [&](Timestamp ts, int64_t tid, int64_t pid, EventKind kind, EventPayload payload) {
    Event e;
    e.kind = kind;
    e.ctx.ts = ts;
    e.ctx.cpu = 0;
    e.ctx.tid = tid;
    e.ctx.pid = pid;
    e.ctx.procname = pid == 1000 ? "CPU 0/KVM" : "";
    e.tid = tid;
    e.payload = payload;
    sched.on_context(e.ctx);
    sched.on_event(e);
    host.on_event(e.ctx);
    host.on_decoded(e);
    wake.on_event(e);
  };
  feed(10, 1001, 1000, EventKind::kvm_entry, KvmEntry{0});
  feed(20, 1001, 1000, EventKind::kvm_exit, KvmExit{0x78, 2, 0});
  feed(30, kImpossibleTid, kUnknown, EventKind::kvm_apic_ipi, KvmApicIpi{251, 0});
  feed(31, kImpossibleTid, kUnknown, EventKind::kvm_msi_set_irq, KvmMsiSetIrq{0xfee00000, 251});
  feed(40, 1001, 1000, EventKind::kvm_inj_virq, KvmInjVirq{251});
  feed(50, 1001, 1000, EventKind::kvm_entry, KvmEntry{0});
  host.finish_at(60);
  wake.finish(60);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ts, 20);
  EXPECT_EQ(rows[0].dur, 30);
  EXPECT_EQ(rows[0].vcpu_id, 0);
  EXPECT_EQ(rows[0].wake_vector, 251);
  EXPECT_EQ(rows[0].cause_ts, kUnknown);
  EXPECT_EQ(rows[0].waker_vcpu_id, kUnknown);
  EXPECT_NE(rows[0].waker_tid, kImpossibleTid);
}

}  // namespace
}  // namespace vm
