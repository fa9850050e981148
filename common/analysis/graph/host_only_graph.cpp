// SPDX-License-Identifier: MIT
#include "analysis/graph/host_only_graph.h"

#include <algorithm>
#include <string>

namespace vm::graph {

namespace {

// The states the OS graph gives the end of a sleep (its wake-up, algorithms.md §7.2): all but the
// running and waiting-for-a-CPU ones.
bool is_sleep(EdgeState s) {
  switch (s) {
    case EdgeState::blocked:
    case EdgeState::timer:
    case EdgeState::interrupted:
    case EdgeState::network:
    case EdgeState::user_input:
    case EdgeState::block_device:
    case EdgeState::ipi:
    case EdgeState::unknown: return true;
    default: return false;
  }
}

// The hand-off from the host thread that raised a device's interrupt, in Trace Compass's words for
// a wake-up from that device's interrupt (TraceEventHandlerExecutionGraph: a block softirq is
// BLOCK_DEVICE, a network one NETWORK, another device's IRQ BLOCKED).
EdgeState device_link_state(WakeReason reason) {
  switch (reason) {
    case WakeReason::disk: return EdgeState::block_device;
    case WakeReason::net: return EdgeState::network;
    default: return EdgeState::blocked;
  }
}

}  // namespace

HostOnlyGraph::HostOnlyGraph(ExecGraph& graph, OsGraphBuilder& builder, int64_t machine, const VcpuTracker& vcpus,
                             const SchedState& threads)
    : graph_(graph),
      builder_(builder),
      machine_(machine),
      vcpus_(vcpus),
      wake_(vcpus, threads, [this](HaltRecord& row) { on_halt(row); }) {}

bool HostOnlyGraph::is_vcpu(int64_t tid) const {
  VcpuTracker::VcpuOfThread of;
  return tid > 0 && vcpus_.describe(tid, of);
}

void HostOnlyGraph::on_event(const Event& event) {
  const int64_t tid = event.tid;
  const Timestamp ts = event.ctx.ts;
  if ((event.kind == EventKind::kvm_apic_ipi || event.kind == EventKind::kvm_msi_set_irq ||
       event.kind == EventKind::kvm_set_irq) &&
      tid > 0) {
    remember(tid, event.ctx.cpu, ts);
  }
  // A wake-up of a vCPU thread from a thread (a kick, when its halt turns out to have no vector):
  // the waker's vertex now, remembered like a raise.
  if (event.kind == EventKind::sched_wakeup && tid > 0 && event.as<SchedWakeup>().tid != tid &&
      is_vcpu(event.as<SchedWakeup>().tid))
    remember(tid, event.ctx.cpu, ts);
  const uint64_t halts = wake_.halts();
  wake_.on_event(event);  // may resolve a halt (at a kvm_x86_entry): on_halt()
  // The wake model counted a HLT exit of a vCPU thread: its halt begins here.
  if (event.kind == EventKind::kvm_exit && wake_.halts() > halts && tid > 0) {
    const VertexId v = builder_.extend_thread(machine_, tid, event.ctx.cpu, ts);
    if (v != kNoVertex) halt_start_[tid] = {ts, v};
  }
}

// A vertex on the raising (waking) thread now: the halt it may end is resolved at the vCPU's
// entry, when this thread's chain has gone on.
void HostOnlyGraph::remember(int64_t tid, int64_t cpu, Timestamp ts) {
  const VertexId v = builder_.extend_thread(machine_, tid, cpu, ts);
  if (v == kNoVertex || (!raises_.empty() && raises_.back().ts > ts)) return;
  if (raises_.size() >= kMaxRaises) raises_.pop_front();
  raises_.push_back(Raise{ts, tid, v});
}

VertexId HostOnlyGraph::first_raise(int64_t tid, Timestamp begin, Timestamp end) const {
  VertexId found = kNoVertex;
  for (auto it = raises_.rbegin(); it != raises_.rend() && it->ts >= begin; ++it)
    if (it->tid == tid && it->ts <= end) found = it->vertex;
  return found;
}

VertexId HostOnlyGraph::raise_vertex(Timestamp ts, int64_t tid, int64_t vm_machine_id, int64_t vcpu_id) const {
  auto it = std::lower_bound(raises_.begin(), raises_.end(), ts,
                             [](const Raise& r, Timestamp t) { return r.ts < t; });
  for (; it != raises_.end() && it->ts == ts; ++it) {
    if (tid != kUnknown) {
      if (it->tid == tid) return it->vertex;
      continue;
    }
    VcpuTracker::VcpuOfThread of;
    if (vcpus_.describe(it->tid, of) && of.machine_id == vm_machine_id && of.vcpu_id == vcpu_id) return it->vertex;
  }
  return kNoVertex;
}

void HostOnlyGraph::on_halt(const HaltRecord& row) {
  ++stats_.halts;
  VertexId wake = kNoVertex;
  const Resolution resolution = resolve(row, wake);
  ++stats_.by_resolution[static_cast<size_t>(resolution)];
  if (observer_) observer_(row, resolution, wake);
}

HostOnlyGraph::Resolution HostOnlyGraph::resolve(const HaltRecord& row, VertexId& wake) {
  // Whom the cause hands off to: the IPI's sender, the device's raiser, the kicking vCPU.
  const bool ipi = row.reason == WakeReason::ipi;
  const bool device = row.reason == WakeReason::disk || row.reason == WakeReason::net ||
                      row.reason == WakeReason::device;
  const bool kick = row.reason == WakeReason::none && row.waker_vcpu_id != kUnknown && row.waker_tid > 0;
  if (row.reason != WakeReason::timer && !ipi && !device && !kick) return Resolution::untouched;

  auto start = halt_start_.find(row.host_tid);
  if (start == halt_start_.end() || start->second.first != row.ts) return Resolution::unresolved;
  const VertexId first = start->second.second;
  halt_start_.erase(start);
  const VertexId end = builder_.extend_thread(machine_, row.host_tid, kUnknown, row.ts + row.dur);
  if (end == kNoVertex || end == first) return Resolution::unresolved;
  // The end of the vCPU thread's last sleep in the halt (none when KVM polled the halt through).
  VertexId slept = kNoVertex;
  for (VertexId v = graph_.next_vertex(first); v != kNoVertex; v = graph_.next_vertex(v)) {
    const Edge* in = graph_.in_h(v);
    if (in && is_sleep(in->state)) slept = v;
    if (v == end) break;
  }

  if (row.reason == WakeReason::timer) {
    wake = slept != kNoVertex ? slept : end;
    graph_.relabel_in_h(wake, EdgeState::timer, "halt:timer");
    return Resolution::timer;
  }
  const std::string qualifier = std::string("halt:") + wake_reason_name(row.reason);
  // The OS graph's own wake-up link (a wake-up from task context) from the cause's thread.
  const int64_t target = device ? row.device_tid : kick ? row.waker_tid : kUnknown;
  if (slept != kNoVertex) {
    if (const Edge* in = graph_.in_v(slept)) {
      const WorkerKey& from = graph_.worker_of(in->from).key;
      VcpuTracker::VcpuOfThread of;
      const bool same = from.machine_id == machine_ &&
                        (ipi ? vcpus_.describe(from.tid, of) && of.machine_id == row.waker_machine_id &&
                                   of.vcpu_id == row.waker_vcpu_id
                             : from.tid == target);
      if (same) {
        wake = slept;
        graph_.relabel_in_h(slept, EdgeState::blocked, qualifier);
        return Resolution::kept;
      }
    }
  }
  if ((device && target <= 0) || (!kick && row.cause_ts == kUnknown)) return Resolution::unresolved;
  // A kick's cause is the waker's first wake-up of the vCPU thread in the halt.
  const VertexId from = kick ? first_raise(target, row.ts, row.ts + row.dur)
                             : raise_vertex(row.cause_ts, ipi ? kUnknown : target, row.waker_machine_id, row.waker_vcpu_id);
  if (from == kNoVertex) return Resolution::unresolved;
  // The wait ends at the wake-up, unless the thread woke before the cause (then at the entry).
  const VertexId to = slept != kNoVertex && graph_.vertex(slept).ts >= graph_.vertex(from).ts ? slept : end;
  const EdgeState link_state = ipi ? EdgeState::ipi : kick ? EdgeState::deflt : device_link_state(row.reason);
  if (!graph_.relink(from, to, link_state)) return Resolution::unresolved;
  graph_.relabel_in_h(to, EdgeState::blocked, qualifier);
  wake = to;
  return Resolution::linked;
}

}  // namespace vm::graph
