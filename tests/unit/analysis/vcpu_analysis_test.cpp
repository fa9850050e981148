// SPDX-License-Identifier: MIT
// The vCPU analysis through the registry: typed events into a vm::Run, rows out of its tables.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "analysis/run.h"
#include "db_check.h"

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
  const std::string path = temp_db_path("vcpu");
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
  EXPECT_EQ(int_rows(path, "SELECT exits, vmm_ns FROM exit_stats WHERE exit_reason = 12", 2), (IntRows{{1, 100}}));
  EXPECT_EQ(int_rows(path, "SELECT SUM(dur) FROM vcpu_state WHERE state = 'guest'", 1), (IntRows{{200}}));
  EXPECT_EQ(int_rows(path, "SELECT vms_found, events FROM run", 2), (IntRows{{1, 4}}));
  EXPECT_EQ(int_rows(path, "SELECT vcpu_id, host_tid, host_pid FROM vcpu", 3), (IntRows{{0, 1001, 1000}}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vm
