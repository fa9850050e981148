// SPDX-License-Identifier: MIT
#pragma once
// The scheduler state of one machine, as its trace tells it: the current thread of each CPU and,
// per thread, its process and name. One instance per machine, updated once per event by its
// owner (vm::Run for the sink's analyses, before any analysis sees the event; the fuse filter's
// passes for theirs) and read, never written, by everything else.
//
// Sources: sched_switch (current thread of the event's CPU, prev_comm/next_comm), the
// tid/pid/procname contexts, sched_process_fork (child pid and comm), lttng_statedump_process_state
// (pid and name). Lost events on a CPU make its current thread unknown until its next
// sched_switch.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/types.h"
#include "events/events.h"

namespace vm {

// True when sched_switch's prev_state says the thread stays runnable (it was preempted), false
// when it blocks or dies. Kernels renumbered the task states (4.14), but in every layout the
// low byte is 0 for a runnable task and non-zero for a sleeping, stopped or dead one; the
// "preempted" flag (TASK_STATE_MAX / TASK_REPORT_MAX: 256, 1024, 2048 or 4096) lies above it.
inline bool prev_state_is_runnable(int64_t prev_state) {
  return (prev_state & 0xff) == 0;
}

struct ThreadInfo {
  int64_t pid = kUnknown;
  std::string name;
};

class SchedState {
 public:
  // Every event, before it is decoded: its tid/pid/procname contexts name a thread.
  void on_context(const EventContext& ctx);
  // A decoded event (sched_switch, sched_process_fork, lttng_statedump_process_state; other kinds
  // change nothing). Call after reading what the event says of the state before it (Event::tid).
  void on_event(const Event& event);
  // Discarded events on `cpu` (kUnknown: unknown CPU, nothing to forget): its current thread is
  // unknown from now on; current_before_loss() tells which thread it was.
  void on_lost_events(int64_t cpu);

  // The current thread of `cpu` (kUnknown: not known, or not a CPU).
  int64_t current(int64_t cpu) const {
    return cpu >= 0 && static_cast<size_t>(cpu) < cpus_.size() ? cpus_[static_cast<size_t>(cpu)].tid : kUnknown;
  }
  // The thread that was current on `cpu` when events were last lost there (kUnknown: none).
  int64_t current_before_loss(int64_t cpu) const {
    return cpu >= 0 && static_cast<size_t>(cpu) < cpus_.size() ? cpus_[static_cast<size_t>(cpu)].before_loss
                                                                : kUnknown;
  }
  // The thread an event happened in: its tid context when recorded, else its CPU's current thread.
  int64_t thread_of(const EventContext& ctx) const { return ctx.tid >= 0 ? ctx.tid : current(ctx.cpu); }

  int64_t pid_of(int64_t tid) const;
  const ThreadInfo* find(int64_t tid) const;
  const std::unordered_map<int64_t, ThreadInfo>& threads() const { return threads_; }

 private:
  struct Cpu {
    int64_t tid = kUnknown;          // from sched_switch
    int64_t before_loss = kUnknown;  // the current thread when events were last lost
    int64_t context_tid = kUnknown;  // the last tid context seen: skips re-recording it
  };
  Cpu* cpu_of(int64_t cpu);
  // Records what an event says of a thread. Cheap when nothing changes: sched_switch calls these
  // twice per event.
  void note_pid(int64_t tid, int64_t pid);
  void note_name(int64_t tid, std::string_view name);

  std::vector<Cpu> cpus_;  // index: cpu
  std::unordered_map<int64_t, ThreadInfo> threads_;
};

}  // namespace vm
