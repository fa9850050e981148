// SPDX-License-Identifier: MIT
#include "kernel/kernel_model.h"

#include <algorithm>

namespace vm {

const char* cpu_status_name(CpuStatus status) {
  switch (status) {
    case CpuStatus::idle: return "idle";
    case CpuStatus::user: return "user";
    case CpuStatus::kernel: return "kernel";
    case CpuStatus::running: return "running";
    case CpuStatus::irq: return "irq";
    case CpuStatus::softirq: return "softirq";
    case CpuStatus::unknown: break;
  }
  return nullptr;
}

const char* thread_state_name(ThreadState state) {
  switch (state) {
    case ThreadState::running: return "running";
    case ThreadState::interrupted: return "interrupted";
    case ThreadState::wait_cpu: return "wait_cpu";
    case ThreadState::blocked: return "blocked";
    case ThreadState::vcpu_preempted: return "vcpu_preempted";
    case ThreadState::vmm: return "vmm";
    case ThreadState::vcpu_halted: return "vcpu_halted";
    case ThreadState::unknown: break;
  }
  return "unknown";
}

namespace {
// sched_switch prev_state (low byte; the bit above it flags a preemption, see
// prev_state_is_runnable()): EXIT_DEAD 0x10 and EXIT_ZOMBIE 0x20 in every kernel layout.
constexpr int64_t kExitDeadOrZombie = 0x10 | 0x20;
// lttng_statedump_process_state `status` (lttng-modules' enum lttng_process_status).
constexpr int64_t kStatedumpWaitCpu = 2, kStatedumpWait = 5;
// The kernel threads' parent: kthreadd.
constexpr int64_t kKthreaddPid = 2;
}  // namespace

KernelModel::Cpu& KernelModel::cpu_of(int64_t cpu) {
  const auto index = static_cast<size_t>(cpu);
  if (index >= cpus_.size()) cpus_.resize(index + 1);
  return cpus_[index];
}

KernelModel::Thread& KernelModel::thread(Timestamp ts, int64_t tid) {
  auto [it, inserted] = threads_.try_emplace(tid);
  if (inserted) {
    it->second.open = true;  // its timeline starts at the first event that names it
    it->second.open_ts = ts;
  }
  return it->second;
}

// Closes the thread's ongoing interval and opens one in its current effective state, if that
// changed. At equal timestamps the later event wins (no zero-length rows).
void KernelModel::update(Timestamp ts, int64_t tid, Thread& t) {
  ThreadState state = t.base;
  int64_t cpu = kUnknown;
  if (t.base == ThreadState::running) {
    cpu = t.cpu;
    if (cpu >= 0 && static_cast<size_t>(cpu) < cpus_.size()) {
      const Cpu& c = cpus_[static_cast<size_t>(cpu)];
      if (c.irq_depth > 0 || c.softirq_depth > 0) state = ThreadState::interrupted;
      if (c.host_state == ThreadState::vcpu_preempted || c.host_state == ThreadState::vmm ||
          c.host_state == ThreadState::vcpu_halted)
        state = c.host_state;
      if (c.outer_state == ThreadState::vcpu_preempted || c.outer_state == ThreadState::vmm) state = c.outer_state;
    }
  }
  if (!t.open) {
    t.open = true;
    t.open_ts = ts;
    t.open_state = state;
    t.open_cpu = cpu;
    return;
  }
  if (state == t.open_state && cpu == t.open_cpu) return;
  if (observer_ && state != t.open_state) observer_->on_thread_state(machine_id_, tid, ts, state);
  if (ts > t.open_ts)
    listener_.on_thread_interval({t.open_ts, ts - t.open_ts, machine_id_, tid, t.open_state, t.open_cpu});
  t.open_ts = std::max(ts, t.open_ts);
  t.open_state = state;
  t.open_cpu = cpu;
}

void KernelModel::close(Timestamp ts, int64_t tid, Thread& t) {
  if (!t.open) return;
  if (ts > t.open_ts)
    listener_.on_thread_interval({t.open_ts, ts - t.open_ts, machine_id_, tid, t.open_state, t.open_cpu});
  t.open = false;
}

void KernelModel::retire(Timestamp ts, int64_t tid) {
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  close(ts, tid, it->second);
  if (!it->second.levels.empty()) retired_namespaces_.push_back({tid, std::move(it->second.levels)});
  threads_.erase(it);
}

void KernelModel::update_running(Timestamp ts, int64_t tid) {
  if (tid <= 0) return;
  auto it = threads_.find(tid);
  if (it != threads_.end()) update(ts, tid, it->second);
}

void KernelModel::on_switch(Timestamp ts, int64_t cpu, int64_t prev_tid, int64_t prev_state, int64_t next_tid) {
  if (cpu < 0) return;
  Cpu& c = cpu_of(cpu);
  // The scheduler runs in task context: no interrupt is ongoing on this CPU.
  c.irq_depth = c.softirq_depth = 0;
  if (prev_tid > 0) {
    if ((prev_state & kExitDeadOrZombie) != 0) {
      retire(ts, prev_tid);
    } else {
      Thread& prev = thread(ts, prev_tid);
      prev.base = prev_state_is_runnable(prev_state) ? ThreadState::wait_cpu : ThreadState::blocked;
      prev.cpu = kUnknown;
      update(ts, prev_tid, prev);
    }
  }
  if (next_tid > 0) {
    Thread& next = thread(ts, next_tid);
    next.base = ThreadState::running;
    next.cpu = cpu;
    update(ts, next_tid, next);
  }
}

void KernelModel::on_wakeup(Timestamp ts, int64_t tid) {
  if (tid <= 0) return;
  Thread& t = thread(ts, tid);
  if (t.base == ThreadState::running) return;
  t.base = ThreadState::wait_cpu;
  update(ts, tid, t);
}

void KernelModel::on_fork(Timestamp ts, int64_t parent_tid, int64_t parent_pid, int64_t child_tid, int64_t child_pid,
                          const std::vector<int64_t>& vtids, int64_t parent_ns_inum, int64_t child_ns_inum) {
  if (child_tid <= 0) return;
  retire(ts, child_tid);  // a reused tid is a new thread
  std::vector<NsLevel> parent_levels;
  bool parent_kernel = parent_pid == kKthreaddPid;
  if (auto it = threads_.find(parent_tid); it != threads_.end()) {
    parent_levels = it->second.levels;
    parent_kernel |= it->second.kernel_thread && parent_tid != 0;
  }
  Thread& child = thread(ts, child_tid);
  child.base = ThreadState::wait_cpu;
  child.kernel_thread = parent_kernel;
  const bool new_process = child_pid == child_tid;
  const size_t depth = vtids.size();
  child.levels.resize(depth);
  for (size_t k = 0; k < depth; ++k) {
    NsLevel& level = child.levels[k];
    level.vtid = vtids[k];
    const NsLevel* parent = k < parent_levels.size() ? &parent_levels[k] : nullptr;
    if (k + 1 == depth)
      level.ns_inum = child_ns_inum;
    else if (parent)
      level.ns_inum = parent->ns_inum;
    else if (k + 2 == depth && child_ns_inum != parent_ns_inum)
      level.ns_inum = parent_ns_inum;  // the child's namespace is new: the parent's deepest is the level above
    else if (k == 0)
      level.ns_inum = kRootPidNamespace;
    // A new process's parent is the forking process; a new thread shares its process's parent.
    // The first process of a new namespace has no parent inside it: 0, as the kernel reports.
    level.vpid = new_process ? level.vtid : parent ? parent->vpid : kUnknown;
    level.vppid = new_process ? (parent ? parent->vpid : 0) : parent ? parent->vppid : kUnknown;
  }
  update(ts, child_tid, child);
}

void KernelModel::on_thread_free(Timestamp ts, int64_t tid) {
  if (tid > 0) retire(ts, tid);
}

void KernelModel::on_syscall(Timestamp ts, int64_t cpu, int64_t tid, bool entry) {
  (void)cpu;
  if (tid <= 0) return;
  thread(ts, tid).mode = entry ? Mode::kernel : Mode::user;
}

void KernelModel::on_irq(Timestamp ts, int64_t cpu, bool entry) {
  if (cpu < 0) return;
  Cpu& c = cpu_of(cpu);
  c.irq_depth = entry ? c.irq_depth + 1 : std::max(0, c.irq_depth - 1);
  update_running(ts, sched_.current(cpu));
}

void KernelModel::on_softirq(Timestamp ts, int64_t cpu, bool entry) {
  if (cpu < 0) return;
  Cpu& c = cpu_of(cpu);
  c.softirq_depth = entry ? c.softirq_depth + 1 : std::max(0, c.softirq_depth - 1);
  update_running(ts, sched_.current(cpu));
}

void KernelModel::on_statedump_process(Timestamp ts, int64_t tid, int64_t type, int64_t status) {
  if (tid <= 0) return;
  Thread& t = thread(ts, tid);
  if (type == 1) t.kernel_thread = true;
  if (t.base != ThreadState::unknown) return;
  if (status == kStatedumpWaitCpu) t.base = ThreadState::wait_cpu;
  if (status == kStatedumpWait) t.base = ThreadState::blocked;
  update(ts, tid, t);
}

void KernelModel::on_pid_ns(Timestamp ts, int64_t tid, int64_t ns_level, int64_t ns_inum, int64_t vtid, int64_t vpid,
                            int64_t vppid) {
  if (tid < 0 || ns_level < 0 || ns_level > 64) return;
  Thread& t = thread(ts, tid);
  const auto level = static_cast<size_t>(ns_level);
  if (t.levels.size() <= level) t.levels.resize(level + 1);
  t.levels[level] = {ns_inum, vtid, vpid, vppid};
}

void KernelModel::on_lost_events(Timestamp ts, int64_t cpu) {
  if (cpu < 0) return;
  Cpu& c = cpu_of(cpu);
  const int64_t lost = sched_.current_before_loss(cpu);
  if (lost > 0) {
    auto it = threads_.find(lost);
    if (it != threads_.end()) {
      it->second.base = ThreadState::unknown;
      it->second.cpu = kUnknown;
      update(ts, lost, it->second);
    }
  }
  c.irq_depth = c.softirq_depth = 0;
}

void KernelModel::on_vcpu_state(Timestamp ts, int64_t cpu, VcpuView view, ThreadState state) {
  if (cpu < 0) return;
  Cpu& c = cpu_of(cpu);
  ThreadState& said = view == VcpuView::host ? c.host_state : c.outer_state;
  if (said == state) return;
  said = state;
  update_running(ts, sched_.current(cpu));
}

void KernelModel::on_kernel_mode(Timestamp ts, int64_t tid) {
  if (tid > 0) thread(ts, tid).mode = Mode::kernel;
}

void KernelModel::finish(Timestamp end) {
  // In tid order, so that the output does not depend on the hash table's layout.
  std::vector<int64_t> tids;
  tids.reserve(threads_.size());
  for (const auto& entry : threads_) tids.push_back(entry.first);
  std::sort(tids.begin(), tids.end());
  for (int64_t tid : tids) {
    Thread& t = threads_[tid];
    close(std::max(end, t.open_ts), tid, t);
  }
}

CpuStatus KernelModel::cpu_status(int64_t cpu) const {
  if (cpu < 0 || static_cast<size_t>(cpu) >= cpus_.size()) return CpuStatus::unknown;
  const Cpu& c = cpus_[static_cast<size_t>(cpu)];
  if (c.irq_depth > 0) return CpuStatus::irq;
  if (c.softirq_depth > 0) return CpuStatus::softirq;
  const int64_t tid = sched_.current(cpu);
  if (tid < 0) return CpuStatus::unknown;
  if (tid == 0) return CpuStatus::idle;
  auto it = threads_.find(tid);
  if (it == threads_.end()) return CpuStatus::running;
  if (it->second.kernel_thread || it->second.mode == Mode::kernel) return CpuStatus::kernel;
  return it->second.mode == Mode::user ? CpuStatus::user : CpuStatus::running;
}

std::vector<ThreadNamespaces> KernelModel::namespaces() const {
  std::vector<ThreadNamespaces> out = retired_namespaces_;
  for (const auto& [tid, t] : threads_)
    if (!t.levels.empty()) out.push_back({tid, t.levels});
  std::sort(out.begin(), out.end(), [](const ThreadNamespaces& a, const ThreadNamespaces& b) { return a.tid < b.tid; });
  return out;
}

bool KernelModel::on_decoded(const Event& event) {
  const EventContext& ctx = event.ctx;
  switch (event.kind) {
    case EventKind::sched_switch: {
      const auto& e = event.as<SchedSwitch>();
      on_switch(ctx.ts, ctx.cpu, e.prev_tid, e.prev_state, e.next_tid);
      return true;
    }
    case EventKind::sched_wakeup: on_wakeup(ctx.ts, event.as<SchedWakeup>().tid); return false;
    case EventKind::syscall_entry:
    case EventKind::syscall_exit:
      on_syscall(ctx.ts, ctx.cpu, event.tid, event.kind == EventKind::syscall_entry);
      return true;
    case EventKind::irq_entry:
    case EventKind::irq_vector_entry:
    case EventKind::irq_exit:
    case EventKind::irq_vector_exit:
      on_irq(ctx.ts, ctx.cpu, event.kind == EventKind::irq_entry || event.kind == EventKind::irq_vector_entry);
      return true;
    case EventKind::softirq_entry:
    case EventKind::softirq_exit: on_softirq(ctx.ts, ctx.cpu, event.kind == EventKind::softirq_entry); return true;
    case EventKind::process_fork: {
      const auto& e = event.as<ProcessFork>();
      on_fork(ctx.ts, e.parent_tid, e.parent_pid, e.child_tid, e.child_pid, *e.vtids, e.parent_ns_inum,
              e.child_ns_inum);
      return false;
    }
    case EventKind::process_free: on_thread_free(ctx.ts, event.as<ThreadEnd>().tid); return true;
    case EventKind::kvm_entry:
    case EventKind::kvm_exit: on_kernel_mode(ctx.ts, event.tid); return true;
    case EventKind::statedump_process: {
      const auto& e = event.as<StatedumpProcess>();
      on_statedump_process(ctx.ts, e.tid, e.type, e.status);
      if (e.has_ns) on_pid_ns(ctx.ts, e.tid, e.ns.ns_level, e.ns.ns_inum, e.ns.vtid, e.ns.vpid, e.ns.vppid);
      return true;
    }
    case EventKind::statedump_pid_ns: {
      const auto& e = event.as<StatedumpPidNs>();
      on_pid_ns(ctx.ts, e.tid, e.ns.ns_level, e.ns.ns_inum, e.ns.vtid, e.ns.vpid, e.ns.vppid);
      return true;
    }
    default: return false;
  }
}

}  // namespace vm
