// SPDX-License-Identifier: MIT
#pragma once
// Typed scheduler events for the tests of the scheduler state and of what reads it.

#include <string_view>
#include <utility>
#include <vector>

#include "events/events.h"

namespace vm::test {

// Any typed event (kind, payload, event class name).
inline Event at(Timestamp ts, int64_t cpu, EventKind kind, EventPayload payload, std::string_view name = {}) {
  Event event;
  event.kind = kind;
  event.ctx.ts = ts;
  event.ctx.cpu = cpu;
  event.payload = std::move(payload);
  event.name = name;
  return event;
}

inline Event sched_switch(Timestamp ts, int64_t cpu, int64_t prev_tid, int64_t prev_state, int64_t next_tid,
                          std::string_view prev_comm = {}, std::string_view next_comm = {}) {
  Event event;
  event.kind = EventKind::sched_switch;
  event.ctx.ts = ts;
  event.ctx.cpu = cpu;
  event.payload = SchedSwitch{prev_tid, prev_state, next_tid, prev_comm, next_comm};
  return event;
}

inline Event process_fork(Timestamp ts, int64_t cpu, int64_t parent_tid, int64_t parent_pid, int64_t child_tid,
                          int64_t child_pid, std::string_view child_comm) {
  static const std::vector<int64_t> no_vtids;
  Event event;
  event.kind = EventKind::process_fork;
  event.ctx.ts = ts;
  event.ctx.cpu = cpu;
  event.payload = ProcessFork{child_tid, child_pid, child_comm, parent_tid, parent_pid, &no_vtids, kUnknown, kUnknown};
  return event;
}

inline Event statedump_process(Timestamp ts, int64_t tid, int64_t pid, std::string_view name) {
  Event event;
  event.kind = EventKind::statedump_process;
  event.ctx.ts = ts;
  event.ctx.cpu = 0;
  event.payload = StatedumpProcess{tid, pid, name, 0, kUnknown, PidNsLevel{}, false};
  return event;
}

}  // namespace vm::test
