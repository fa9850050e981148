// SPDX-License-Identifier: MIT
// KernelModel on hand-written event sequences; every expected row is derived in the comments.

#include "kernel/kernel_model.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sched_events.h"

namespace vm {
namespace {

struct Recorder : ThreadStateListener {
  std::vector<std::string> rows;  // "tid ts-end state cpu"
  void on_thread_interval(const ThreadInterval& i) override {
    rows.push_back(std::to_string(i.tid) + " " + std::to_string(i.ts) + "-" + std::to_string(i.ts + i.dur) + " " +
                   thread_state_name(i.state) + (i.cpu >= 0 ? " cpu" + std::to_string(i.cpu) : ""));
  }
};

// One machine as a run drives it: its scheduler state is updated before the model sees the
// event (sched_switch, lost events).
struct Machine {
  explicit Machine(int64_t id) : model(id, sched, out) {}
  void switch_to(Timestamp ts, int64_t cpu, int64_t prev_tid, int64_t prev_state, int64_t next_tid) {
    sched.on_event(test::sched_switch(ts, cpu, prev_tid, prev_state, next_tid));
    model.on_switch(ts, cpu, prev_tid, prev_state, next_tid);
  }
  void lose_events(Timestamp ts, int64_t cpu) {
    sched.on_lost_events(cpu);
    model.on_lost_events(ts, cpu);
  }
  Recorder out;
  SchedState sched;
  KernelModel model;
};

std::string status(const KernelModel& model, int64_t cpu) {
  const char* name = cpu_status_name(model.cpu_status(cpu));
  return name ? name : "unknown";
}

// Thread 10 runs on CPU 0 from 100, is preempted by 20 at 200 (prev_state 0: runnable), gets the
// CPU back at 300 and blocks at 400 (prev_state 1: interruptible sleep); a wakeup at 500 makes
// it wait for a CPU until it runs on CPU 1 at 600; an interrupt from 650 to 660 interrupts it.
// Thread 20 is first named at 200 (switched in) and sleeps from 300.
TEST(KernelModel, SchedulerAndInterruptsMakeTheThreadStates) {
  Machine m(1);
  Recorder& out = m.out;
  KernelModel& model = m.model;
  m.switch_to(100, 0, 0, 0, 10);
  m.switch_to(200, 0, 10, 0, 20);
  m.switch_to(300, 0, 20, 1, 10);
  m.switch_to(400, 0, 10, 1, 0);
  model.on_wakeup(500, 10);
  m.switch_to(600, 1, 0, 0, 10);
  model.on_irq(650, 1, true);
  EXPECT_EQ(status(model, 1), "irq");
  model.on_irq(660, 1, false);
  model.finish(700);
  EXPECT_EQ(out.rows,
            (std::vector<std::string>{"10 100-200 running cpu0", "20 200-300 running cpu0", "10 200-300 wait_cpu",
                                      "10 300-400 running cpu0", "10 400-500 blocked", "10 500-600 wait_cpu",
                                      "10 600-650 running cpu1", "10 650-660 interrupted cpu1",
                                      "10 660-700 running cpu1", "20 300-700 blocked"}));
  EXPECT_EQ(status(model, 0), "idle");
  EXPECT_EQ(status(model, 2), "unknown");
}

// Syscalls tell user from kernel mode: unknown ("running") until the first one; a kernel thread
// (statedump type 1, or a child of kthreadd) is always in the kernel. Softirqs nest under irqs.
TEST(KernelModel, CpuStatusFollowsSyscallsAndInterrupts) {
  Machine m(1);
  KernelModel& model = m.model;
  m.switch_to(10, 0, 0, 0, 5);
  EXPECT_EQ(status(model, 0), "running");
  model.on_syscall(20, 0, 5, true);
  EXPECT_EQ(status(model, 0), "kernel");
  model.on_syscall(30, 0, 5, false);
  EXPECT_EQ(status(model, 0), "user");
  model.on_softirq(40, 0, true);
  model.on_irq(41, 0, true);
  EXPECT_EQ(status(model, 0), "irq");
  model.on_irq(42, 0, false);
  EXPECT_EQ(status(model, 0), "softirq");
  model.on_softirq(43, 0, false);
  EXPECT_EQ(status(model, 0), "user");
  model.on_statedump_process(50, 7, 1, 5);
  model.on_fork(60, 2, 2, 8, 8, {8}, kRootPidNamespace, kRootPidNamespace);
  m.switch_to(70, 0, 5, 1, 7);
  EXPECT_EQ(status(model, 0), "kernel");
  m.switch_to(80, 0, 7, 1, 8);
  EXPECT_EQ(status(model, 0), "kernel");
}

// A guest thread on vCPU 0 follows the host's state of that vCPU: vmm from 120, preempted from
// 150, back in the guest at 180 (the host's "guest" says nothing of the thread: unknown, so it
// is running). A thread that waits for a CPU is not affected (thread 3).
TEST(KernelModel, GuestThreadsFollowTheirVcpu) {
  Machine m(2);
  Recorder& out = m.out;
  KernelModel& model = m.model;
  model.on_vcpu_state(90, 0, VcpuView::host, ThreadState::unknown);
  m.switch_to(100, 0, 3, 0, 4);
  model.on_vcpu_state(120, 0, VcpuView::host, ThreadState::vmm);
  model.on_vcpu_state(150, 0, VcpuView::host, ThreadState::vcpu_preempted);
  model.on_vcpu_state(180, 0, VcpuView::host, ThreadState::unknown);
  model.finish(200);
  EXPECT_EQ(out.rows,
            (std::vector<std::string>{"4 100-120 running cpu0", "4 120-150 vmm cpu0", "4 150-180 vcpu_preempted cpu0",
                                      "3 100-200 wait_cpu", "4 180-200 running cpu0"}));
}

// A thread's timeline ends when it dies (EXIT_ZOMBIE 0x20 in prev_state); lost events make the
// thread on that CPU unknown until the next sched_switch.
TEST(KernelModel, DeathEndsTheTimelineAndLostEventsMakeItUnknown) {
  Machine m(1);
  Recorder& out = m.out;
  KernelModel& model = m.model;
  m.switch_to(10, 0, 0, 0, 6);
  m.switch_to(20, 0, 6, 0x20, 9);
  m.lose_events(30, 0);
  EXPECT_EQ(status(model, 0), "unknown");
  m.switch_to(40, 0, 9, 1, 0);
  model.finish(50);
  EXPECT_EQ(out.rows, (std::vector<std::string>{"6 10-20 running cpu0", "9 20-30 running cpu0", "9 30-40 unknown",
                                                "9 40-50 blocked"}));
}

// Namespaces from fork: the parent (statedump, 2 levels) forks a child in its namespace and a
// child that starts a new one (vtids has one more level; the child is its init, vppid 0 there).
TEST(KernelModel, ForkGivesEveryLevelOfTheChild) {
  Machine m(1);
  KernelModel& model = m.model;
  model.on_pid_ns(1, 50, 1, 1000, 3, 3, 1);
  model.on_pid_ns(1, 50, 0, kRootPidNamespace, 50, 50, 40);
  model.on_fork(10, 50, 50, 51, 51, {51, 4}, 1000, 1000);
  model.on_fork(20, 50, 50, 52, 52, {52, 5, 1}, 1000, 2000);
  model.finish(30);
  const std::vector<ThreadNamespaces> all = model.namespaces();
  ASSERT_EQ(all.size(), 3u);
  auto text = [](const ThreadNamespaces& t) {
    std::string s = std::to_string(t.tid) + ":";
    for (const NsLevel& l : t.levels)
      s += " " + std::to_string(l.ns_inum) + "/" + std::to_string(l.vtid) + "/" + std::to_string(l.vppid);
    return s;
  };
  EXPECT_EQ(text(all[0]), "50: 4026531836/50/40 1000/3/1");
  EXPECT_EQ(text(all[1]), "51: 4026531836/51/50 1000/4/3");
  EXPECT_EQ(text(all[2]), "52: 4026531836/52/50 1000/5/3 2000/1/0");
}

}  // namespace
}  // namespace vm

namespace vm {
namespace {

// An L2 guest thread on vCPU 0: its L1 hypervisor says that vCPU is in guest mode throughout,
// but the L1 thread running it is preempted by L0 from 30 to 50 and in L0's hypervisor from 60
// to 70: the L2 thread is vcpu_preempted, then vmm, then running again.
TEST(KernelModel, NestedGuestThreadsFollowTheirL1VcpuThread) {
  Machine m(3);
  Recorder& out = m.out;
  KernelModel& model = m.model;
  model.on_vcpu_state(5, 0, VcpuView::host, ThreadState::unknown);
  m.switch_to(10, 0, 0, 0, 7);
  model.on_vcpu_state(30, 0, VcpuView::outer, ThreadState::vcpu_preempted);
  model.on_vcpu_state(50, 0, VcpuView::outer, ThreadState::running);
  model.on_vcpu_state(60, 0, VcpuView::outer, ThreadState::vmm);
  model.on_vcpu_state(70, 0, VcpuView::outer, ThreadState::running);
  model.finish(80);
  EXPECT_EQ(out.rows, (std::vector<std::string>{"7 10-30 running cpu0", "7 30-50 vcpu_preempted cpu0",
                                                "7 50-60 running cpu0", "7 60-70 vmm cpu0", "7 70-80 running cpu0"}));
}

}  // namespace
}  // namespace vm

namespace vm {
namespace {

// A guest thread whose vCPU halts (the host sees the vCPU thread sleep after a HLT exit) while the
// guest scheduler still runs it: a paravirtual spinlock wait, vcpu_halted from 40 to 55.
TEST(KernelModel, GuestThreadOnAHaltedVcpuIsHalted) {
  Machine m(2);
  Recorder& out = m.out;
  KernelModel& model = m.model;
  m.switch_to(10, 0, 0, 0, 9);
  model.on_vcpu_state(30, 0, VcpuView::host, ThreadState::vmm);
  model.on_vcpu_state(40, 0, VcpuView::host, ThreadState::vcpu_halted);
  model.on_vcpu_state(55, 0, VcpuView::host, ThreadState::unknown);
  model.finish(60);
  EXPECT_EQ(out.rows, (std::vector<std::string>{"9 10-30 running cpu0", "9 30-40 vmm cpu0", "9 40-55 vcpu_halted cpu0",
                                                "9 55-60 running cpu0"}));
}

}  // namespace
}  // namespace vm
