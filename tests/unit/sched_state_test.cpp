// SPDX-License-Identifier: MIT
// SchedState, the one scheduler state of a machine: hand-written event sequences, every expected
// value derived in the comments.

#include "kernel/sched_state.h"

#include <gtest/gtest.h>

#include "sched_events.h"

namespace vm {
namespace {

using test::process_fork;
using test::sched_switch;
using test::statedump_process;

EventContext context(Timestamp ts, int64_t cpu, int64_t tid, int64_t pid, std::string_view procname) {
  EventContext ctx;
  ctx.ts = ts;
  ctx.cpu = cpu;
  ctx.tid = tid;
  ctx.pid = pid;
  ctx.procname = procname;
  return ctx;
}

std::string name_of(const SchedState& sched, int64_t tid) {
  const ThreadInfo* info = sched.find(tid);
  return info ? info->name : "(none)";
}

// CPU 0: the idle task hands over to 10 ("bash") at 100 and gets it back at 120; CPU 1: 20
// ("sshd") from 110, then 10 (migrated) from 130. So current(0) is unknown before 100, 10 from
// 100, 0 from 120; current(1) is 20 from 110 and 10 from 130. CPU 2 never switched: unknown. An
// event without tid context on CPU 1 at the end happened in 10; one with the context, in its tid.
TEST(SchedState, SchedSwitchSetsTheCurrentThreadOfItsCpu) {
  SchedState sched;
  EXPECT_EQ(sched.current(0), kUnknown);
  sched.on_event(sched_switch(100, 0, 0, 0, 10, "swapper/0", "bash"));
  EXPECT_EQ(sched.current(0), 10);
  sched.on_event(sched_switch(110, 1, 0, 0, 20, "swapper/1", "sshd"));
  sched.on_event(sched_switch(120, 0, 10, 1, 0, "bash", "swapper/0"));
  EXPECT_EQ(sched.current(0), 0);
  EXPECT_EQ(sched.current(1), 20);
  sched.on_event(sched_switch(130, 1, 20, 1, 10, "sshd", "bash"));
  EXPECT_EQ(sched.current(0), 0);
  EXPECT_EQ(sched.current(1), 10);
  EXPECT_EQ(sched.current(2), kUnknown);
  EXPECT_EQ(sched.current(kUnknown), kUnknown);
  EXPECT_EQ(sched.thread_of(context(140, 1, kUnknown, kUnknown, "")), 10);
  EXPECT_EQ(sched.thread_of(context(140, 1, 77, kUnknown, "")), 77);
  EXPECT_EQ(sched.thread_of(context(140, kUnknown, kUnknown, kUnknown, "")), kUnknown);
  // The names come from prev_comm and next_comm; the idle task keeps the last one given.
  EXPECT_EQ(name_of(sched, 10), "bash");
  EXPECT_EQ(name_of(sched, 20), "sshd");
  EXPECT_EQ(name_of(sched, 0), "swapper/0");
  // Other kinds do not touch the current threads.
  Event exit;
  exit.kind = EventKind::process_exit;
  exit.ctx.cpu = 1;
  exit.payload = ThreadEnd{10};
  sched.on_event(exit);
  EXPECT_EQ(sched.current(1), 10);
}

// Lost events on CPU 0 while 10 runs there: CPU 0's current thread becomes unknown and
// current_before_loss(0) says it was 10; CPU 1 keeps 20; lost events on an unknown CPU change
// nothing. The next switch on CPU 0 (to 30 at 50) makes it known again.
TEST(SchedState, LostEventsMakeTheCpuUnknownUntilItsNextSwitch) {
  SchedState sched;
  sched.on_event(sched_switch(10, 0, 0, 0, 10));
  sched.on_event(sched_switch(20, 1, 0, 0, 20));
  sched.on_lost_events(0);
  EXPECT_EQ(sched.current(0), kUnknown);
  EXPECT_EQ(sched.current_before_loss(0), 10);
  EXPECT_EQ(sched.current(1), 20);
  EXPECT_EQ(sched.current_before_loss(1), kUnknown);
  sched.on_lost_events(kUnknown);
  EXPECT_EQ(sched.current(1), 20);
  EXPECT_EQ(sched.thread_of(context(40, 0, kUnknown, kUnknown, "")), kUnknown);
  sched.on_event(sched_switch(50, 0, 10, 0, 30));
  EXPECT_EQ(sched.current(0), 30);
  // A second loss while nothing is known remembers that nothing was.
  sched.on_lost_events(2);
  EXPECT_EQ(sched.current_before_loss(2), kUnknown);
}

// The tid/pid/procname contexts name a thread once per run of contexts on a CPU: at 10 thread 5
// of process 4 is "a"; at 20 its sched_switch out calls it "b" (an exec renamed it); at 30 the
// same context on the same CPU is not recorded again (same thread as the last context there), so
// the name stays "b". Lost events on that CPU forget the last context: at 50 it is recorded again,
// "a". Without a CPU, only the pid is recorded.
TEST(SchedState, ContextsNameThreadsOncePerCpuUntilLostEvents) {
  SchedState sched;
  sched.on_context(context(10, 0, 5, 4, "a"));
  EXPECT_EQ(name_of(sched, 5), "a");
  EXPECT_EQ(sched.pid_of(5), 4);
  sched.on_event(sched_switch(20, 0, 5, 1, 0, "b", "swapper/0"));
  sched.on_context(context(30, 0, 5, 4, "a"));
  EXPECT_EQ(name_of(sched, 5), "b");
  sched.on_lost_events(0);
  sched.on_context(context(50, 0, 5, 4, "a"));
  EXPECT_EQ(name_of(sched, 5), "a");
  sched.on_context(context(60, kUnknown, 6, 4, "c"));
  EXPECT_EQ(sched.pid_of(6), 4);
  EXPECT_EQ(name_of(sched, 6), "");
  EXPECT_EQ(sched.current(0), kUnknown);  // contexts never set the current thread
}

// Processes and names from the statedump and from fork: systemd (1) is in the statedump; it
// forks process 300 ("bash"), which starts a thread 301 of the same process (child_pid 300). An
// exit removes nobody: the table lists every thread the trace named (the `thread` table).
TEST(SchedState, StatedumpAndForkGiveProcessesAndNames) {
  SchedState sched;
  sched.on_event(statedump_process(1, 1, 1, "systemd"));
  sched.on_event(process_fork(10, 0, 1, 1, 300, 300, "bash"));
  sched.on_event(process_fork(20, 0, 300, 300, 301, 300, "bash"));
  Event exit;
  exit.kind = EventKind::process_exit;
  exit.payload = ThreadEnd{301};
  sched.on_event(exit);
  EXPECT_EQ(sched.pid_of(1), 1);
  EXPECT_EQ(sched.pid_of(300), 300);
  EXPECT_EQ(sched.pid_of(301), 300);
  EXPECT_EQ(sched.pid_of(999), kUnknown);
  EXPECT_EQ(sched.find(999), nullptr);
  EXPECT_EQ(name_of(sched, 1), "systemd");
  EXPECT_EQ(name_of(sched, 301), "bash");
  EXPECT_EQ(sched.threads().size(), 3u);
  EXPECT_EQ(sched.current(0), kUnknown);  // fork does not switch
}

}  // namespace
}  // namespace vm
