// SPDX-License-Identifier: MIT
#include "kernel/sched_state.h"

namespace vm {

namespace {
// Linux's NR_CPUS is at most 8192 (x86-64 MAXSMP): a larger id is not a CPU. The readers bound
// packet cpu_id already (plugins/vm/event_reader.cpp); this keeps a direct caller from growing
// the table without bound.
constexpr int64_t kMaxCpus = 8192;
}  // namespace

SchedState::Cpu* SchedState::cpu_of(int64_t cpu) {
  if (cpu < 0 || cpu >= kMaxCpus) return nullptr;
  const auto index = static_cast<size_t>(cpu);
  if (index >= cpus_.size()) cpus_.resize(index + 1);
  return &cpus_[index];
}

void SchedState::note_pid(int64_t tid, int64_t pid) {
  if (tid < 0 || pid < 0) return;
  threads_[tid].pid = pid;
}

void SchedState::note_name(int64_t tid, std::string_view name) {
  if (tid < 0 || name.empty()) return;
  ThreadInfo& info = threads_[tid];
  if (info.name != name) info.name.assign(name);
}

int64_t SchedState::pid_of(int64_t tid) const {
  const ThreadInfo* info = find(tid);
  return info ? info->pid : kUnknown;
}

const ThreadInfo* SchedState::find(int64_t tid) const {
  auto it = threads_.find(tid);
  return it == threads_.end() ? nullptr : &it->second;
}

void SchedState::on_context(const EventContext& ctx) {
  if (ctx.tid < 0) return;
  Cpu* cpu = cpu_of(ctx.cpu);
  if (!cpu) {
    note_pid(ctx.tid, ctx.pid);
    return;
  }
  if (cpu->context_tid == ctx.tid) return;
  cpu->context_tid = ctx.tid;
  note_pid(ctx.tid, ctx.pid);
  note_name(ctx.tid, ctx.procname);
}

void SchedState::on_event(const Event& event) {
  switch (event.kind) {
    case EventKind::sched_switch: {
      const auto& e = event.as<SchedSwitch>();
      note_name(e.prev_tid, e.prev_comm);
      note_name(e.next_tid, e.next_comm);
      if (Cpu* cpu = cpu_of(event.ctx.cpu)) cpu->tid = e.next_tid;
      break;
    }
    case EventKind::process_fork: {
      const auto& e = event.as<ProcessFork>();
      note_pid(e.child_tid, e.child_pid);
      note_name(e.child_tid, e.child_comm);
      break;
    }
    case EventKind::statedump_process: {
      const auto& e = event.as<StatedumpProcess>();
      note_pid(e.tid, e.pid);
      note_name(e.tid, e.name);
      break;
    }
    default: break;
  }
}

void SchedState::on_lost_events(int64_t cpu) {
  Cpu* c = cpu_of(cpu);
  if (!c) return;
  c->before_loss = c->tid;
  c->tid = kUnknown;
  c->context_tid = kUnknown;
}

}  // namespace vm
