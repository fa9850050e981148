// SPDX-License-Identifier: MIT
#pragma once
// The threads of one machine, as far as its trace tells: which process each belongs to, its
// name, and which thread is current on each CPU.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/types.h"

namespace vm {

struct ThreadInfo {
  int64_t pid = kUnknown;
  std::string name;
};

class ThreadTable {
 public:
  // Records what an event says of a thread. Cheap when nothing changes: sched_switch calls
  // these twice per event.
  void note_pid(int64_t tid, int64_t pid);
  void note_name(int64_t tid, std::string_view name);

  int64_t pid_of(int64_t tid) const;
  const ThreadInfo* find(int64_t tid) const;
  const std::unordered_map<int64_t, ThreadInfo>& threads() const { return threads_; }

  // The current thread of each CPU, from sched_switch (used when events carry no tid context).
  void set_current(int64_t cpu, int64_t tid);
  int64_t current(int64_t cpu) const;
  // After lost events the current thread of that CPU is no longer known.
  void forget_current(int64_t cpu) { set_current(cpu, kUnknown); }

 private:
  std::unordered_map<int64_t, ThreadInfo> threads_;
  std::vector<int64_t> current_by_cpu_;  // index: cpu; kUnknown when not known
};

}  // namespace vm
