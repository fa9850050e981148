// The vCPU analysis through the registry: typed events into a vm::Run, rows out of its tables.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "analysis/run.h"

namespace vm {
namespace {

Event kvm_event(Timestamp ts, EventKind kind, EventPayload payload) {
  Event event;
  event.kind = kind;
  event.ctx.ts = ts;
  event.ctx.cpu = 0;
  event.ctx.tid = 1001;  // a vCPU thread of QEMU process 1000, from the tid/pid contexts
  event.ctx.pid = 1000;
  event.ctx.procname = "CPU 0/KVM";
  event.payload = payload;
  return event;
}

// Hand-derived: entry at 100, HLT exit (12) at 200, entry at 300, exit (reason 30) at 400, end of
// the trace at 400. The vCPU is in guest mode 100-200 and 300-400 (200 ns), and handles one HLT
// exit for 100 ns; the QEMU process is one VM.
TEST(VcpuAnalysis, TypedKvmEventsMakeVcpuStatesAndExitStats) {
  const std::string path = std::string(::testing::TempDir()) + "/vcpu-" + std::to_string(::getpid()) + ".db";
  {
    vm::Run run(path);
    auto owned = std::make_unique<TracedMachine>();
    owned->id = run.registry().add("host", MachineRole::unknown, kUnknown, 0);
    owned->trace_name = "host";
    TracedMachine& host = run.add_machine(std::move(owned));
    const Event events[] = {
        kvm_event(100, EventKind::kvm_entry, KvmEntry{0}),
        kvm_event(200, EventKind::kvm_exit, KvmExit{12, 1, 0}),
        kvm_event(300, EventKind::kvm_entry, KvmEntry{0}),
        kvm_event(400, EventKind::kvm_exit, KvmExit{30, 1, 0}),
    };
    for (Event event : events) {
      run.on_context(host, event.ctx);
      run.on_event(host, event);
    }
    run.finish();
    run.write();
    run.commit();
  }
  SqliteConnection check(path);
  {
    SqliteStatement exits = check.prepare("SELECT exits, vmm_ns FROM exit_stats WHERE exit_reason = 12");
    ASSERT_TRUE(exits.step());
    EXPECT_EQ(exits.column_int(0), 1);
    EXPECT_EQ(exits.column_int(1), 100);
    SqliteStatement guest = check.prepare("SELECT SUM(dur) FROM vcpu_state WHERE state = 'guest'");
    ASSERT_TRUE(guest.step());
    EXPECT_EQ(guest.column_int(0), 200);
    SqliteStatement vms = check.prepare("SELECT vms_found, events FROM run");
    ASSERT_TRUE(vms.step());
    EXPECT_EQ(vms.column_int(0), 1);
    EXPECT_EQ(vms.column_int(1), 4);
    SqliteStatement vcpu = check.prepare("SELECT vcpu_id, host_tid, host_pid FROM vcpu");
    ASSERT_TRUE(vcpu.step());
    EXPECT_EQ(vcpu.column_int(0), 0);
    EXPECT_EQ(vcpu.column_int(1), 1001);
    EXPECT_EQ(vcpu.column_int(2), 1000);
    EXPECT_FALSE(vcpu.step());
  }
  check.close();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vm
