// SPDX-License-Identifier: MIT
#pragma once
// Basic vocabulary shared by every analysis of the core. Babeltrace-free.

#include <cstdint>
#include <string_view>

namespace vm {

// Nanoseconds from the clock's origin (babeltrace2's "ns from origin"), in the clock of the
// trace the event came from until a synchronization transform says otherwise.
using Timestamp = int64_t;

// Marker for "not known" in tid, pid, cpu and id columns; written as SQL NULL.
inline constexpr int64_t kUnknown = -1;

// What every event carries, whatever its kind: when, on which CPU, and (when the trace records
// the `tid`/`pid`/`procname` contexts) which thread. `tid` is kUnknown without the context; the
// analyses then use the thread that `sched_switch` put on `cpu`.
struct EventContext {
  Timestamp ts = 0;
  int64_t cpu = kUnknown;
  int64_t tid = kUnknown;
  int64_t pid = kUnknown;
  std::string_view procname;  // empty when absent; valid only during the call
};

}  // namespace vm
