// SPDX-License-Identifier: MIT
// Scenario tests of the host-side vCPU state machine (common/vcpu_tracker), driven through
// HostAnalysis with synthetic events, as the babeltrace2 adapter would call it.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kvm/host_analysis.h"
#include "sched_events.h"

namespace vm {
namespace {

struct Row {
  Timestamp ts, dur;
  int64_t vcpu_id;
  std::string state;
  int64_t exit_reason, pcpu, preempting_tid;
  std::string begin_event;
  bool operator==(const Row& o) const {
    return ts == o.ts && dur == o.dur && vcpu_id == o.vcpu_id && state == o.state && exit_reason == o.exit_reason &&
           pcpu == o.pcpu && preempting_tid == o.preempting_tid && begin_event == o.begin_event;
  }
};

std::ostream& operator<<(std::ostream& out, const Row& r) {
  return out << "{ts=" << r.ts << " dur=" << r.dur << " vcpu=" << r.vcpu_id << " " << r.state
             << " exit=" << r.exit_reason << " pcpu=" << r.pcpu << " by=" << r.preempting_tid
             << " begin=" << r.begin_event << "}";
}

class Collector : public VcpuListener {
 public:
  void on_vcpu_interval(const VcpuInterval& i) override {
    rows.push_back({i.ts, i.dur, i.vcpu_id, state_name(i.state), i.exit_reason, i.pcpu, i.preempting_tid,
                    begin_event_name(i.begin_event)});
    machine_ids.push_back(i.machine_id);
  }
  void on_diagnostic(const std::string& message) override { diagnostics.push_back(message); }
  std::vector<Row> sorted() const {
    std::vector<Row> out = rows;
    std::stable_sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
      return a.vcpu_id != b.vcpu_id ? a.vcpu_id < b.vcpu_id : a.ts < b.ts;
    });
    return out;
  }
  std::vector<Row> rows;
  std::vector<int64_t> machine_ids;
  std::vector<std::string> diagnostics;
};

class Scenario : public ::testing::Test {
 protected:
  Scenario() : host_id(machines.add("host", MachineRole::unknown, kUnknown, 0)), host(machines, host_id, sched, rows) {}
  // As a run delivers events: the machine's scheduler state first, then the analysis.
  EventContext at(Timestamp ts, int64_t cpu, int64_t tid = kUnknown, int64_t pid = kUnknown) {
    EventContext ctx;
    ctx.ts = ts;
    ctx.cpu = cpu;
    ctx.tid = tid;
    ctx.pid = pid;
    sched.on_context(ctx);
    host.on_event(ctx);
    return ctx;
  }
  void sched_switch(Timestamp ts, int64_t cpu, int64_t prev, int64_t prev_state, int64_t next) {
    const EventContext ctx = at(ts, cpu);
    sched.on_event(test::sched_switch(ts, cpu, prev, prev_state, next));
    host.on_sched_switch(ctx, prev, prev_state, next);
  }
  void entry(Timestamp ts, int64_t cpu, int64_t vcpu_field = kUnknown) { host.on_kvm_entry(at(ts, cpu), vcpu_field); }
  void exit(Timestamp ts, int64_t cpu, int64_t reason, int64_t isa = 1, int64_t vcpu_field = kUnknown) {
    host.on_kvm_exit(at(ts, cpu), reason, isa, vcpu_field);
  }
  void other(Timestamp ts, int64_t cpu) { at(ts, cpu); }
  void statedump(int64_t tid, int64_t pid, std::string_view name) {
    at(0, 0);
    sched.on_event(test::statedump_process(0, tid, pid, name));
  }
  void lose_events(Timestamp begin, int64_t cpu) {
    sched.on_lost_events(cpu);
    host.on_lost_events(begin);
  }

  MachineRegistry machines;
  Collector rows;
  int64_t host_id;
  SchedState sched;
  HostAnalysis host;
};

// The OneQemuKvm host stub of Trace Compass (shared/traces/tc-stubs/vm/OneQemuKvm/host.xml), all
// on CPU 0, replayed event by event. Expected intervals come from the expected vCPU 0
// status of the Incubator's virtual/resources/VirtualMachineAnalysisTest: the state
// value's VMM bit (128) maps to `vmm`, its PREEMPT bit (256) to `preempted`, and RUNNING without
// those bits to `guest`. Oracle intervals are inclusive [start, end]; ours are [ts, ts+dur).
// Where the oracle's boundaries come from the guest trace (10: the guest's first sched_switch;
// 375: the guest trace's end) the host alone cannot decide them: there the expected rows follow
// from the host events themselves and say so.
TEST_F(Scenario, OneQemuKvmHostStubMatchesTraceCompassVmmAndPreemptBits) {
  sched_switch(1, 0, 30, 0, 31);  // 31 = "qemucpu1"
  entry(5, 0, 0);
  exit(45, 0, 32);
  other(50, 0);  // vmsync_gh_host
  other(55, 0);  // vmsync_hg_host
  entry(60, 0, 0);
  exit(95, 0, 32);
  sched_switch(100, 0, 31, 0, 30);
  sched_switch(150, 0, 30, 0, 31);
  entry(155, 0, 0);
  exit(195, 0, 32);
  other(200, 0);
  other(205, 0);
  entry(210, 0, 0);
  exit(245, 0, 32);
  other(250, 0);
  other(255, 0);
  entry(260, 0, 0);
  exit(295, 0, 32);
  sched_switch(300, 0, 31, 0, 30);
  sched_switch(350, 0, 30, 0, 31);
  entry(355, 0, 0);
  host.finish();

  const std::vector<Row> expected = {
      // Host-only: nothing tells the state before the first KVM event of thread 31 (oracle: UNKNOWN
      // until the guest's event at 10).
      {1, 4, 0, "unknown", -1, -1, -1, "trace_start"},
      // Host-only: kvm_entry at 5 starts guest mode (oracle: RUNNING from 10, a guest-trace boundary).
      {5, 40, 0, "guest", -1, 0, -1, "kvm_entry"},
      {45, 15, 0, "vmm", 32, 0, -1, "kvm_exit"},             // oracle [45,59] RUNNING|VMM
      {60, 35, 0, "guest", -1, 0, -1, "kvm_entry"},          // oracle [60,94] RUNNING
      {95, 5, 0, "vmm", 32, 0, -1, "kvm_exit"},              // oracle [95,99] RUNNING|VMM
      {100, 50, 0, "preempted", -1, 0, 30, "sched_switch"},  // oracle [100,149] RUNNING|VMM|PREEMPT
      {150, 5, 0, "vmm", 32, 0, -1, "sched_switch"},         // oracle [150,154] RUNNING|VMM
      {155, 40, 0, "guest", -1, 0, -1, "kvm_entry"},         // oracle [155,194] RUNNING
      {195, 15, 0, "vmm", 32, 0, -1, "kvm_exit"},            // oracle [195,209] RUNNING|VMM
      {210, 35, 0, "guest", -1, 0, -1, "kvm_entry"},         // oracle [210,244] RUNNING
      {245, 15, 0, "vmm", 32, 0, -1, "kvm_exit"},            // oracle [245,259] RUNNING|VMM
      {260, 35, 0, "guest", -1, 0, -1, "kvm_entry"},         // oracle [260,294] RUNNING
      {295, 5, 0, "vmm", 32, 0, -1, "kvm_exit"},             // oracle [295,299] RUNNING|VMM
      {300, 50, 0, "preempted", -1, 0, 30, "sched_switch"},  // oracle [300,349] RUNNING|VMM|PREEMPT
      {350, 5, 0, "vmm", 32, 0, -1, "sched_switch"},         // oracle [350,354] RUNNING|VMM
      // Oracle [355,375] RUNNING: the host trace ends at 355, so the host alone has no row there.
  };
  EXPECT_EQ(rows.sorted(), expected);
  const auto vcpus = host.vcpus().vcpus();
  ASSERT_EQ(vcpus.size(), 1u);
  EXPECT_EQ(vcpus[0].host_tid, 31);
  EXPECT_EQ(vcpus[0].vcpu_id, 0);
  EXPECT_EQ(vcpus[0].id_source, VcpuIdSource::kvm_entry_field);
  EXPECT_EQ(machines.get(host_id).role, MachineRole::host);
  ASSERT_EQ(machines.all().size(), 2u);
  EXPECT_EQ(machines.all()[1].role, MachineRole::guest);
  EXPECT_EQ(machines.all()[1].parent_id, host_id);
}

// A vCPU that halts: HLT exit, the thread blocks (prev_state 1), is woken while another thread
// holds the target CPU, then runs again. Hand-derived: idle while it sleeps; runnable but off-CPU
// after the wakeup (preempted, by the thread on the CPU); back in the hypervisor for the same exit.
TEST_F(Scenario, HaltedVcpuSleepsThenWaitsForItsCpu) {
  statedump(200, 199, "qemu-system-x86");
  sched_switch(0, 0, 0, 0, 200);
  entry(10, 0, 3);
  exit(20, 0, 0x78, 2, 3);         // SVM HLT
  sched_switch(30, 0, 200, 1, 0);  // sleeps
  sched_switch(40, 0, 0, 0, 77);   // thread 77 now holds CPU 0
  host.on_wakeup(at(50, 1, 88), 200, 0);
  sched_switch(70, 0, 77, 0, 200);  // 77 is preempted by the vCPU thread
  entry(80, 0, 3);
  other(100, 1);
  host.finish();
  const std::vector<Row> expected = {
      {0, 10, 3, "unknown", -1, -1, -1, "trace_start"},    {10, 10, 3, "guest", -1, 0, -1, "kvm_entry"},
      {20, 10, 3, "vmm", 0x78, 0, -1, "kvm_exit"},         {30, 20, 3, "idle", -1, -1, -1, "sched_switch"},
      {50, 20, 3, "preempted", -1, 0, 77, "sched_wakeup"}, {70, 10, 3, "vmm", 0x78, 0, -1, "sched_switch"},
      {80, 20, 3, "guest", -1, 0, -1, "kvm_entry"},
  };
  EXPECT_EQ(rows.sorted(), expected);
  const auto vcpus = host.vcpus().vcpus();
  ASSERT_EQ(vcpus.size(), 1u);
  EXPECT_EQ(vcpus[0].host_pid, 199);
  EXPECT_EQ(vcpus[0].id_source, VcpuIdSource::kvm_exit_field);
  EXPECT_EQ(machines.all()[1].name, "qemu-199");
}

// lttng-modules <= 2.13 on Linux >= 5.10: kvm_x86_entry.vcpu_id holds pointer bits. The exit's
// vcpu_id field decides, and a diagnostic says why.
TEST_F(Scenario, GarbageEntryVcpuIdFallsBackToExitField) {
  statedump(300, 299, "qemu-system-x86");
  statedump(301, 299, "qemu-system-x86");
  host.on_kvm_entry(at(10, 0, 300, 299), 0x9a3f4000);
  host.on_kvm_entry(at(11, 1, 301, 299), 0x9a3f8000);
  host.on_kvm_exit(at(20, 0, 300, 299), 1, 1, 1);
  host.on_kvm_exit(at(21, 1, 301, 299), 1, 1, 0);
  host.finish();
  auto vcpus = host.vcpus().vcpus();
  ASSERT_EQ(vcpus.size(), 2u);
  EXPECT_EQ(vcpus[0].vcpu_id, 1);
  EXPECT_EQ(vcpus[1].vcpu_id, 0);
  EXPECT_EQ(vcpus[0].id_source, VcpuIdSource::kvm_exit_field);
  EXPECT_EQ(vcpus[0].machine_id, vcpus[1].machine_id);  // one VM: one QEMU process
  ASSERT_FALSE(rows.diagnostics.empty());
  EXPECT_NE(rows.diagnostics[0].find("stale"), std::string::npos);
}

// The diagnostic names its input trace, as the sink's other per-trace diagnostics do.
TEST_F(Scenario, VcpuIdDiagnosticNamesTheTrace) {
  host.set_trace_name("tl-host");
  statedump(300, 299, "qemu-system-x86");
  host.on_kvm_entry(at(10, 0, 300, 299), 0x9a3f4000);
  host.on_kvm_exit(at(20, 0, 300, 299), 1, 1, 0);
  host.finish();
  ASSERT_EQ(rows.diagnostics.size(), 1u);
  EXPECT_EQ(rows.diagnostics[0].rfind("trace `tl-host`: kvm_x86_entry.vcpu_id holds ", 0), 0u) << rows.diagnostics[0];
}

// Without a usable field, QEMU's thread name "CPU n/KVM" gives the index; else first appearance.
TEST_F(Scenario, VcpuIdFromThreadNameThenFirstSeen) {
  statedump(400, 399, "CPU 2/KVM");
  statedump(401, 399, "qemu-system-x86");
  host.on_kvm_entry(at(10, 0, 400, 399), 0xdeadbeef);
  host.on_kvm_entry(at(11, 1, 401, 399), 0xdeadbeef);
  host.on_kvm_exit(at(20, 0, 400, 399), 1, 1, kUnknown);
  host.on_kvm_exit(at(21, 1, 401, 399), 1, 1, kUnknown);
  host.finish();
  auto vcpus = host.vcpus().vcpus();
  ASSERT_EQ(vcpus.size(), 2u);
  EXPECT_EQ(vcpus[0].vcpu_id, 2);
  EXPECT_EQ(vcpus[0].id_source, VcpuIdSource::thread_name);
  EXPECT_EQ(vcpus[1].vcpu_id, 0);
  EXPECT_EQ(vcpus[1].id_source, VcpuIdSource::first_seen);
  EXPECT_EQ(vcpu_index_from_thread_name("CPU 12/KVM"), 12);
  EXPECT_EQ(vcpu_index_from_thread_name("CPU /KVM"), kUnknown);
  EXPECT_EQ(vcpu_index_from_thread_name("qemu-system-x86"), kUnknown);
}

// Lost events: from their beginning, the state is unknown until the next event that tells; never
// a fabricated state across the gap. Events lost on CPU 1 may have moved the vCPU thread of CPU 0
// (any sched_switch), so its state is unknown too; CPU 0's current thread is still known.
TEST_F(Scenario, LostEventsMakeTheStateUnknownUntilTheNextEvent) {
  sched_switch(0, 0, 0, 0, 500);
  entry(10, 0, 0);
  lose_events(40, 1);
  other(60, 0);
  exit(70, 0, 30);
  other(90, 0);
  host.finish();
  const std::vector<Row> expected = {
      {0, 10, 0, "unknown", -1, -1, -1, "trace_start"},
      {10, 30, 0, "guest", -1, 0, -1, "kvm_entry"},
      {40, 30, 0, "unknown", -1, -1, -1, "lost_events"},
      {70, 20, 0, "vmm", 30, 0, -1, "kvm_exit"},
  };
  EXPECT_EQ(rows.sorted(), expected);
}

// Two exits of one vCPU at the same nanosecond as other events keep one row each, so that
// exit_stats counts every kvm_x86_exit.
// Events lost on the vCPU's own CPU also lose that CPU's current thread (no tid context here):
// the next KVM event on it cannot be attributed, and the state stays unknown until a
// sched_switch says again who runs there.
TEST_F(Scenario, LostEventsOnTheVcpusCpuWaitForTheNextSchedSwitch) {
  sched_switch(0, 0, 0, 0, 500);
  entry(10, 0, 0);
  lose_events(40, 0);
  exit(70, 0, 30);                 // whose? unknown
  sched_switch(80, 0, 500, 0, 9);  // 500 was on CPU 0 and is preempted by 9
  other(90, 0);
  host.finish();
  const std::vector<Row> expected = {
      {0, 10, 0, "unknown", -1, -1, -1, "trace_start"},
      {10, 30, 0, "guest", -1, 0, -1, "kvm_entry"},
      {40, 40, 0, "unknown", -1, -1, -1, "lost_events"},
      {80, 10, 0, "preempted", -1, 0, 9, "sched_switch"},
  };
  EXPECT_EQ(rows.sorted(), expected);
}

TEST_F(Scenario, AnExitEndedAtTheSameNanosecondKeepsItsRow) {
  sched_switch(0, 0, 0, 0, 600);
  entry(10, 0, 0);
  exit(20, 0, 30);
  entry(20, 0, 0);
  exit(30, 0, 30);
  other(40, 0);
  host.finish();
  const std::vector<Row> expected = {
      {0, 10, 0, "unknown", -1, -1, -1, "trace_start"}, {10, 10, 0, "guest", -1, 0, -1, "kvm_entry"},
      {20, 0, 0, "vmm", 30, 0, -1, "kvm_exit"},         {20, 10, 0, "guest", -1, 0, -1, "kvm_entry"},
      {30, 10, 0, "vmm", 30, 0, -1, "kvm_exit"},
  };
  EXPECT_EQ(rows.sorted(), expected);
}

TEST(PrevState, RunnableAcrossKernelLayouts) {
  // Values seen in the real traces the tests unpack (tests/CMakeLists.txt): 0 and the preempt flags are
  // runnable; sleeping, killable, idle and dead states are not.
  for (int64_t runnable : {0, 256, 1024, 2048, 4096}) EXPECT_TRUE(prev_state_is_runnable(runnable)) << runnable;
  for (int64_t blocked : {1, 2, 64, 128, 130, 258, 1026}) EXPECT_FALSE(prev_state_is_runnable(blocked)) << blocked;
}


// A thread id above Linux's PID_MAX_LIMIT (4194304) is corruption: no vCPU (and no VM key,
// -2 - tid, which would overflow for 2^63-1) is made of it, and one diagnostic says so. The
// valid thread 300 still becomes a vCPU.
TEST_F(Scenario, KvmEventsOfAnImpossibleThreadIdAreIgnored) {
  host.on_kvm_entry(at(10, 0, INT64_MAX, 299), 0);
  host.on_kvm_exit(at(20, 0, INT64_MAX, 299), 1, 1, 0);
  host.on_kvm_entry(at(30, 1, 4194305, 299), 0);
  host.on_kvm_entry(at(40, 1, 300, 299), 0);
  host.finish();
  auto vcpus = host.vcpus().vcpus();
  ASSERT_EQ(vcpus.size(), 1u);
  EXPECT_EQ(vcpus[0].host_tid, 300);
  ASSERT_EQ(rows.diagnostics.size(), 1u);
  EXPECT_NE(rows.diagnostics[0].find("thread id 9223372036854775807 is above Linux's limit"), std::string::npos)
      << rows.diagnostics[0];
}

}  // namespace
}  // namespace vm
