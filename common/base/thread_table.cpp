// SPDX-License-Identifier: MIT
#include "base/thread_table.h"

namespace vm {

void ThreadTable::note_pid(int64_t tid, int64_t pid) {
  if (tid < 0 || pid < 0) return;
  threads_[tid].pid = pid;
}

void ThreadTable::note_name(int64_t tid, std::string_view name) {
  if (tid < 0 || name.empty()) return;
  ThreadInfo& info = threads_[tid];
  if (info.name != name) info.name.assign(name);
}

int64_t ThreadTable::pid_of(int64_t tid) const {
  const ThreadInfo* info = find(tid);
  return info ? info->pid : kUnknown;
}

const ThreadInfo* ThreadTable::find(int64_t tid) const {
  auto it = threads_.find(tid);
  return it == threads_.end() ? nullptr : &it->second;
}

void ThreadTable::set_current(int64_t cpu, int64_t tid) {
  if (cpu < 0) return;
  const auto index = static_cast<size_t>(cpu);
  if (index >= current_by_cpu_.size()) current_by_cpu_.resize(index + 1, kUnknown);
  current_by_cpu_[index] = tid;
}

int64_t ThreadTable::current(int64_t cpu) const {
  if (cpu < 0 || static_cast<size_t>(cpu) >= current_by_cpu_.size()) return kUnknown;
  return current_by_cpu_[static_cast<size_t>(cpu)];
}

}  // namespace vm
