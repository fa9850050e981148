// SPDX-License-Identifier: MIT
#include "analysis/graph/os_graph_builder.h"

#include <algorithm>

#include "kernel/sched_state.h"

namespace vm::graph {

namespace {

// Linux's softirq vectors (include/linux/interrupt.h; Trace Compass's LinuxValues.SOFTIRQ_*).
constexpr int64_t kSoftirqTimer = 1, kSoftirqNetTx = 2, kSoftirqNetRx = 3, kSoftirqBlock = 4,
                  kSoftirqBlockIopoll = 5, kSoftirqSched = 7, kSoftirqHrtimer = 8;
// The timer's IRQ line (TraceEventHandlerExecutionGraph.IRQ_TIMER, "found empirically" there).
constexpr int64_t kIrqTimer = 0;

bool is_net_softirq(int64_t vec) {
  return vec == kSoftirqNetRx || vec == kSoftirqNetTx;
}

// TraceEventHandlerExecutionGraph.resolveSoftirq: what a wake-up from softirq `vec` waited for.
EdgeState resolve_softirq(int64_t vec) {
  switch (vec) {
    case kUnknown: return EdgeState::unknown;
    case kSoftirqHrtimer:
    case kSoftirqTimer: return EdgeState::timer;
    case kSoftirqBlock:
    case kSoftirqBlockIopoll: return EdgeState::block_device;
    case kSoftirqNetRx:
    case kSoftirqNetTx: return EdgeState::network;
    case kSoftirqSched: return EdgeState::interrupted;
    default: return EdgeState::blocked;
  }
}

}  // namespace

ProcStatus status_from_statedump(int64_t status) {
  switch (status) {
    case 1: return ProcStatus::wait_fork;
    case 2: return ProcStatus::wait_cpu;
    case 3: return ProcStatus::exit;
    case 4: return ProcStatus::zombie;
    case 5: return ProcStatus::wait_unknown;
    case 6: return ProcStatus::run;
    case 7: return ProcStatus::not_alive;
    default: return ProcStatus::unknown;  // 0 (unnamed) and anything else
  }
}

EdgeState resolve_status(ProcStatus status) {
  switch (status) {
    case ProcStatus::exit:
    case ProcStatus::run:
    case ProcStatus::run_syscall:
    case ProcStatus::interrupted: return EdgeState::running;
    case ProcStatus::wait_blocked: return EdgeState::blocked;
    case ProcStatus::wait_cpu:
    case ProcStatus::wait_fork:
    case ProcStatus::wait_unknown: return EdgeState::preempted;
    case ProcStatus::unknown:
    case ProcStatus::zombie:
    case ProcStatus::not_alive: return EdgeState::unknown;
  }
  return EdgeState::unknown;
}

WakeupEvents wakeup_events_of(const std::vector<std::string>& names) {
  auto has = [&](std::string_view name) { return std::find(names.begin(), names.end(), name) != names.end(); };
  if (has("sched_ttwu")) return WakeupEvents::ttwu;
  if (has("sched_waking")) return WakeupEvents::waking;
  return WakeupEvents::wakeup;
}

bool OsGraphBuilder::is_wakeup(int64_t machine, std::string_view name) const {
  auto it = wakeup_events_.find(machine);
  const WakeupEvents events = it == wakeup_events_.end() ? WakeupEvents::all : it->second;
  if (events == WakeupEvents::all || name.empty()) return true;
  if (events == WakeupEvents::ttwu) return name == "sched_ttwu";
  if (name == "sched_wakeup_new") return true;
  return name == (events == WakeupEvents::waking ? "sched_waking" : "sched_wakeup");
}

// ---- The status model ----------------------------------------------------------------------

OsGraphBuilder::ThreadId OsGraphBuilder::find(int64_t machine, int64_t tid, int64_t cpu) const {
  // The swappers (tid 0) are one per CPU (OsSystemModel.findWorker), here per machine too.
  const WorkerKey key{machine, tid, tid == 0 ? cpu : kUnknown};
  auto it = thread_index_.find(key);
  return it == thread_index_.end() ? kNoThread : it->second;
}

OsGraphBuilder::ThreadId OsGraphBuilder::create(int64_t machine, int64_t tid, int64_t cpu, std::string_view name) {
  const WorkerKey key{machine, tid, tid <= 0 ? cpu : kUnknown};
  const ThreadId t = static_cast<ThreadId>(threads_.size());
  threads_.push_back(Thread{key, std::string(name)});
  thread_index_.emplace(key, t);
  return t;
}

OsGraphBuilder::ThreadId OsGraphBuilder::current(int64_t machine, int64_t cpu) const {
  auto it = current_tid_.find(CpuKey{machine, cpu});
  return it == current_tid_.end() ? kNoThread : find(machine, it->second, cpu);
}

// The kernel worker "kernel/<cpu>" of a machine (getOrCreateKernelWorker): tid -1, always running.
OsGraphBuilder::ThreadId OsGraphBuilder::kernel_worker(int64_t machine, int64_t cpu) {
  auto it = thread_index_.find(WorkerKey{machine, -1, cpu});
  if (it != thread_index_.end()) return it->second;
  const ThreadId t = create(machine, -1, cpu, "kernel/" + std::to_string(cpu));
  threads_[t].set_status(ProcStatus::run);
  return t;
}

ProcStatus OsGraphBuilder::status(int64_t machine, int64_t tid, int64_t cpu) const {
  const ThreadId t = find(machine, tid, cpu);
  return t == kNoThread ? ProcStatus::unknown : threads_[t].status;
}

IrqContext OsGraphBuilder::context(int64_t machine, int64_t cpu) const {
  auto it = contexts_.find(CpuKey{machine, cpu});
  return it == contexts_.end() || it->second.empty() ? IrqContext::none : it->second.back().kind;
}

// The context under the top one (TraceEventHandlerExecutionGraph.peekInnerContext).
IrqContext OsGraphBuilder::inner_context(int64_t machine, int64_t cpu) const {
  auto it = contexts_.find(CpuKey{machine, cpu});
  if (it == contexts_.end() || it->second.size() < 2) return IrqContext::none;
  return it->second[it->second.size() - 2].kind;
}

// ---- The graph step ------------------------------------------------------------------------

WorkerId OsGraphBuilder::graph_worker(ThreadId t) {
  Thread& thread = threads_[t];
  if (thread.worker == kNoWorker) thread.worker = graph_.worker(thread.key, thread.name);
  return thread.worker;
}

// appendInGraph: a pending network link to this worker goes in first, then the vertex.
VertexId OsGraphBuilder::append(ThreadId t, Timestamp ts, EdgeState state, std::string_view qualifier) {
  const WorkerId w = graph_worker(t);
  const VertexId tail = graph_.workers()[w].tail;
  if (ts < 0 || (tail != kNoVertex && graph_.vertex(tail).ts > uint64_t(ts))) {
    ++stats_.out_of_order;
    return kNoVertex;
  }
  if (auto it = latest_network_link_.find(w); it != latest_network_link_.end()) {
    const auto [from, to] = it->second;
    latest_network_link_.erase(it);
    link_vertices(from, to, EdgeState::network);
  }
  return graph_.append(w, uint64_t(ts), state, qualifier);
}

// The interval before `ts` in the status before the event (the sched step already moved on).
VertexId OsGraphBuilder::state_change(ThreadId t, Timestamp ts) {
  return append(t, ts, resolve_status(threads_[t].old_status));
}

// The interval before `ts` in the current status (the event changed nothing).
VertexId OsGraphBuilder::state_extend(ThreadId t, Timestamp ts) {
  return append(t, ts, resolve_status(threads_[t].status));
}

bool OsGraphBuilder::link_vertices(VertexId from, VertexId to, EdgeState state, std::string_view qualifier) {
  if (from == kNoVertex || to == kNoVertex) return false;
  if (graph_.out_v(from) || graph_.in_v(to)) {
    ++stats_.link_conflicts;
    return false;
  }
  // A hand-off received before it was made (a packet matched to a later send, machines whose
  // clocks disagree): an edge back in time would make the critical path walk backwards.
  if (graph_.vertex(from).ts > graph_.vertex(to).ts) {
    ++stats_.backward_links;
    return false;
  }
  return graph_.link(from, to, state, qualifier);
}

// replaceIncomingNetworkEdge: the packet that `receiver` got (matched, not linked yet) is what
// woke `wakee`; the link goes from the sender straight to the wake-up.
void OsGraphBuilder::reroute_network_link(ThreadId receiver, VertexId wakee) {
  const WorkerId w = threads_[receiver].worker;
  if (w == kNoWorker || graph_.workers()[w].tail == kNoVertex) return;
  auto it = latest_network_link_.find(w);
  if (it == latest_network_link_.end()) return;
  const VertexId from = it->second.first;
  latest_network_link_.erase(it);
  link_vertices(from, wakee, EdgeState::network);
}

// ---- For the layered builders -------------------------------------------------------------

VertexId OsGraphBuilder::extend_thread(int64_t machine, int64_t tid, int64_t cpu, Timestamp ts) {
  if (tid < 0) {
    ++stats_.bad_tid;
    return kNoVertex;
  }
  ThreadId t = find(machine, tid, cpu);
  if (t == kNoThread) t = create(machine, tid, cpu, {});
  return state_extend(t, ts);
}

VertexId OsGraphBuilder::close_thread(int64_t machine, int64_t tid, int64_t cpu, Timestamp ts, EdgeState state,
                                      std::string_view qualifier) {
  if (tid < 0) {
    ++stats_.bad_tid;
    return kNoVertex;
  }
  ThreadId t = find(machine, tid, cpu);
  if (t == kNoThread) t = create(machine, tid, cpu, {});
  return append(t, ts, state, qualifier);
}


int64_t OsGraphBuilder::running_tid(int64_t machine, int64_t cpu) const {
  auto it = current_tid_.find(CpuKey{machine, cpu});
  return it == current_tid_.end() ? kUnknown : it->second;
}

int64_t OsGraphBuilder::context_value(int64_t machine, int64_t cpu) const {
  auto it = contexts_.find(CpuKey{machine, cpu});
  return it == contexts_.end() || it->second.empty() ? kUnknown : it->second.back().value;
}

std::string_view OsGraphBuilder::context_name(int64_t machine, int64_t cpu) const {
  auto it = contexts_.find(CpuKey{machine, cpu});
  return it == contexts_.end() || it->second.empty() ? std::string_view() : std::string_view(it->second.back().name);
}

// ---- Events --------------------------------------------------------------------------------

void OsGraphBuilder::on_event(int64_t machine, const Event& event) {
  const int64_t cpu = event.ctx.cpu;
  switch (event.kind) {
    case EventKind::statedump_process: {
      const StatedumpProcess& p = event.as<StatedumpProcess>();
      if (p.has_ns && p.ns.ns_level > 0) return;  // lttng-modules 2.7-2.11: one event per level
      if (p.tid < 0) {
        ++stats_.bad_tid;
        return;
      }
      ThreadId t = find(machine, p.tid, cpu);
      if (t == kNoThread) t = create(machine, p.tid, cpu, p.name);
      else if (!p.name.empty()) {
        threads_[t].name.assign(p.name);
        if (threads_[t].worker != kNoWorker) graph_.worker(threads_[t].key, p.name);
      }
      // The statedump is a snapshot that races with the trace's own events (a CPU's events may
      // already have switched the thread in or out when the dump reaches it), and lttng-modules
      // reports every TASK_RUNNING task, on a CPU or not, as WAIT_CPU. So it gives the status of a
      // thread the events have not settled yet, as Trace Compass's kernel state system does
      // (algorithms.md §3.3, "if null"); Trace Compass's graph handler overrides any status, which
      // turns a running thread `preempted` and drops the wake-up of a blocked one.
      if (threads_[t].status == ProcStatus::unknown) threads_[t].set_status(status_from_statedump(p.status));
      return;
    }
    case EventKind::sched_switch: on_switch(machine, event); return;
    case EventKind::sched_wakeup:
      if (is_wakeup(machine, event.name)) on_wakeup(machine, event);
      return;
    case EventKind::process_fork: {
      const ProcessFork& f = event.as<ProcessFork>();
      if (f.child_tid < 0) {
        ++stats_.bad_tid;
        return;
      }
      ThreadId t = find(machine, f.child_tid, cpu);
      if (t == kNoThread)
        t = create(machine, f.child_tid, cpu, f.child_comm.empty() ? std::to_string(f.child_tid) : f.child_comm);
      threads_[t].set_status(ProcStatus::wait_fork);
      return;
    }
    case EventKind::process_exit: {
      const ThreadId t = find(machine, event.as<ThreadEnd>().tid, cpu);
      if (t != kNoThread) threads_[t].set_status(ProcStatus::exit);
      return;
    }
    case EventKind::process_exec: {
      if (cpu == kUnknown) {
        ++stats_.no_cpu;
        return;
      }
      const ThreadId t = current(machine, cpu);
      if (t == kNoThread) return;
      const std::string_view filename = event.as<ProcessExec>().filename;
      threads_[t].name.assign(filename.empty() ? std::string_view("Unknown") : filename);
      if (threads_[t].worker != kNoWorker) graph_.worker(threads_[t].key, threads_[t].name);
      return;
    }
    case EventKind::softirq_entry: on_softirq_entry(machine, event); return;
    case EventKind::softirq_exit: pop(machine, cpu, IrqContext::softirq); return;
    case EventKind::hrtimer_entry: push(machine, cpu, {IrqContext::hrtimer, kUnknown, {}}); return;
    case EventKind::hrtimer_exit: pop(machine, cpu, IrqContext::hrtimer); return;
    case EventKind::irq_entry: {
      const Irq& irq = event.as<Irq>();
      push(machine, cpu, {IrqContext::irq, irq.irq, std::string(irq.name)});
      return;
    }
    case EventKind::irq_exit: pop(machine, cpu, IrqContext::irq); return;
    case EventKind::irq_vector_entry: push(machine, cpu, {IrqContext::ipi, kUnknown, {}}); return;
    case EventKind::irq_vector_exit: pop(machine, cpu, IrqContext::ipi); return;
    case EventKind::irq_complete_entry: push(machine, cpu, {IrqContext::complete_irq, kUnknown, {}}); return;
    case EventKind::irq_complete_exit: pop(machine, cpu, IrqContext::complete_irq); return;
    case EventKind::net_rx_entry: push(machine, cpu, {IrqContext::packet_reception, kUnknown, {}}); return;
    case EventKind::net_rx_exit: pop(machine, cpu, IrqContext::packet_reception); return;
    case EventKind::net_send:
    case EventKind::net_receive: {
      const NetPacket& packet = event.as<NetPacket>();
      if (!packet.has_tcp) {
        // Trace Compass's handleInetSockLocalIn/Out extend the endpoint for every network event
        // of its layout, key or not (the event matching then finds no key): so do we.
        ++stats_.no_tcp_key;
        network_endpoint(machine, event.ctx.ts, cpu, event.kind == EventKind::net_send);
        return;
      }
      on_packet(machine, event.ctx.ts, cpu, event.kind == EventKind::net_send,
                PacketKey{packet.seq, packet.ack_seq, packet.flags});
      return;
    }
    default: return;
  }
}

void OsGraphBuilder::push(int64_t machine, int64_t cpu, Context context) {
  if (cpu == kUnknown) {
    ++stats_.no_cpu;
    return;
  }
  std::vector<Context>& stack = contexts_[CpuKey{machine, cpu}];
  if (stack.size() >= kMaxContextDepth) {
    ++stats_.context_overflow;
    return;
  }
  stack.push_back(std::move(context));
}

// EventContextHandler.popInterruptContext: only when the top is of the same kind.
void OsGraphBuilder::pop(int64_t machine, int64_t cpu, IrqContext kind) {
  auto it = contexts_.find(CpuKey{machine, cpu});
  if (it != contexts_.end() && !it->second.empty() && it->second.back().kind == kind) it->second.pop_back();
}

void OsGraphBuilder::on_softirq_entry(int64_t machine, const Event& event) {
  const int64_t cpu = event.ctx.cpu, vec = event.as<Softirq>().vec;
  push(machine, cpu, {IrqContext::softirq, vec, {}});
  if (cpu == kUnknown || !is_net_softirq(vec)) return;
  // TraceEventHandlerExecutionGraph.handleSoftirqEntry: the kernel worker starts a segment
  // (a vertex without an edge from its previous one).
  const WorkerId w = graph_worker(kernel_worker(machine, cpu));
  const VertexId tail = graph_.workers()[w].tail;
  if (event.ctx.ts < 0 || (tail != kNoVertex && graph_.vertex(tail).ts > uint64_t(event.ctx.ts))) {
    ++stats_.out_of_order;
    return;
  }
  graph_.add(w, uint64_t(event.ctx.ts));
}

void OsGraphBuilder::on_switch(int64_t machine, const Event& event) {
  const SchedSwitch& s = event.as<SchedSwitch>();
  const int64_t cpu = event.ctx.cpu;
  if (cpu == kUnknown) {
    ++stats_.no_cpu;
    return;
  }
  if (s.prev_tid < 0 || s.next_tid < 0) {
    ++stats_.bad_tid;
    return;
  }
  // The sched step (TraceEventHandlerSched.handleSchedSwitch): next runs, prev waits.
  current_tid_[CpuKey{machine, cpu}] = s.next_tid;
  ThreadId next = find(machine, s.next_tid, cpu);
  if (next == kNoThread) next = create(machine, s.next_tid, cpu, s.next_comm);
  threads_[next].set_status(ProcStatus::run);
  ThreadId prev = find(machine, s.prev_tid, cpu);
  if (prev == kNoThread) {
    prev = create(machine, s.prev_tid, cpu, s.prev_comm);
  } else if (s.prev_tid != 0 && !s.prev_comm.empty() && threads_[prev].name != s.prev_comm) {
    threads_[prev].name.assign(s.prev_comm);  // renamed at run time
    if (threads_[prev].worker != kNoWorker) graph_.worker(threads_[prev].key, s.prev_comm);
  }
  // sched_switch's prev_state bits that say the thread sleeps: none of them means it was preempted.
  // Trace Compass (TraceEventHandlerSched.handleSchedSwitch) tests TASK_INTERRUPTIBLE |
  // TASK_UNINTERRUPTIBLE (1 | 2) only; since Linux 4.14 the tracepoint reports one bit of the task's
  // state index (include/trace/events/sched.h, __trace_sched_switch_state, and lttng-modules' copy):
  // 0x80 for TASK_IDLE (an idle kworker's sleep), 0x40 parked, 0x10/0x20 dead and zombie, and
  // 0x100 (TASK_REPORT_MAX) for a preemption. Any bit of the low byte is a sleep, as everywhere
  // else in the product (kernel/sched_state.h, prev_state_is_runnable()); Trace Compass's mask
  // turns an idle kworker's sleep into a wait for the CPU.
  threads_[prev].set_status(prev_state_is_runnable(s.prev_state) ? ProcStatus::wait_cpu : ProcStatus::wait_blocked);
  const bool resumed = threads_[next].preempted && prev != next;
  threads_[next].preempted = false;
  threads_[prev].preempted = prev_state_is_runnable(s.prev_state);
  // The graph step: both intervals end here, each in its status before the switch.
  const VertexId from = state_change(prev, event.ctx.ts);
  const VertexId to = state_change(next, event.ctx.ts);
  // The preemption link (set_preemption_links), for the threads asked for only.
  if (resumed && s.prev_tid != 0 && preemption_accept_ && preemption_accept_(machine, s.next_tid) &&
      link_vertices(from, to, EdgeState::preempted))
    ++preemption_links_;
}

void OsGraphBuilder::on_wakeup(int64_t machine, const Event& event) {
  const SchedWakeup& wakeup = event.as<SchedWakeup>();
  const int64_t tid = wakeup.tid, cpu = event.ctx.cpu;
  const Timestamp ts = event.ctx.ts;
  if (tid < 0) {
    ++stats_.bad_tid;
    return;
  }
  if (cpu == kUnknown) {
    ++stats_.no_cpu;
    return;
  }
  // The sched step (TraceEventHandlerSched.handleSchedWakeup).
  ThreadId target = find(machine, tid, cpu);
  const ThreadId waker = current(machine, cpu);
  if (target == kNoThread) {
    target = create(machine, tid, cpu, wakeup.comm);
    threads_[target].set_status(ProcStatus::wait_blocked);
  }
  ProcStatus before = threads_[target].status;
  // A spurious wake-up (of the running thread, or of one already waiting for a CPU) and a
  // wake-up of a thread in any other status change nothing, in the model nor in the graph.
  if (target == waker || before == ProcStatus::wait_cpu) return;
  if (before == ProcStatus::wait_unknown) {
    // A statedump's WAIT (sleeping, not yet seen by the events): the kernel traces a wake-up only
    // for a task it finds sleeping, so the thread was blocked (Trace Compass ignores this wake-up
    // and leaves the thread waiting for a CPU in an unknown way, and the wait without a waker).
    threads_[target].set_status(ProcStatus::wait_blocked);
    before = ProcStatus::wait_blocked;
  }
  if (before != ProcStatus::wait_blocked && before != ProcStatus::wait_fork && before != ProcStatus::unknown) return;
  threads_[target].set_status(ProcStatus::wait_cpu);
  threads_[target].preempted = true;  // waits for a CPU from here (set_preemption_links)
  // The graph step (TraceEventHandlerExecutionGraph.handleSchedWakeup), on the status before.
  if (before == ProcStatus::wait_fork) {
    // waitFork: the parent (the waker) is extended to the wake-up and linked to the child.
    if (waker == kNoThread) {
      state_change(target, ts);
      return;
    }
    const VertexId n0 = state_extend(waker, ts);
    const VertexId n1 = state_change(target, ts);
    link_vertices(n0, n1, EdgeState::deflt);
  } else if (before == ProcStatus::wait_blocked) {
    wake_blocked(machine, cpu, ts, target, waker);
  }
}

// waitBlocked: the blocked interval is labelled by the interrupt context of the wake-up; only a
// wake-up from a thread (no interrupt context) links the waker to the wakee.
void OsGraphBuilder::wake_blocked(int64_t machine, int64_t cpu, Timestamp ts, ThreadId target, ThreadId waker) {
  auto stack = contexts_.find(CpuKey{machine, cpu});
  const Context* top = stack == contexts_.end() || stack->second.empty() ? nullptr : &stack->second.back();
  switch (top ? top->kind : IrqContext::none) {
    case IrqContext::hrtimer: append(target, ts, EdgeState::timer); return;
    case IrqContext::irq:
    case IrqContext::complete_irq: {
      // resolveIRQ: the timer's line is an interruption, any other device a block (named by its
      // handler: Trace Compass means to, see the header); do_IRQ has no line: unknown.
      const int64_t irq = top->value;
      const EdgeState state =
          irq == kUnknown ? EdgeState::unknown : irq == kIrqTimer ? EdgeState::interrupted : EdgeState::blocked;
      append(target, ts, state, state == EdgeState::blocked ? std::string_view(top->name) : std::string_view());
      return;
    }
    case IrqContext::softirq: {
      const int64_t vec = top->value;
      const VertexId v = append(target, ts, resolve_softirq(vec));
      // Network drivers that receive in the softirq: the packet the CPU's kernel worker got woke it.
      if (is_net_softirq(vec)) reroute_network_link(kernel_worker(machine, cpu), v);
      return;
    }
    case IrqContext::ipi: append(target, ts, EdgeState::ipi); return;
    case IrqContext::none: {
      const VertexId n1 = state_change(target, ts);
      if (waker == kNoThread) return;
      const VertexId n0 = state_extend(waker, ts);
      link_vertices(n0, n1, EdgeState::deflt);
      return;
    }
    case IrqContext::packet_reception: {
      // receivingFromNetwork: the receiver is the CPU's kernel worker in (soft)irq context, else
      // the current thread (a threaded IRQ handler), which then names the edge.
      const IrqContext inner = inner_context(machine, cpu);
      const bool in_interrupt = inner == IrqContext::softirq || inner == IrqContext::irq;
      const ThreadId source = in_interrupt ? kernel_worker(machine, cpu) : waker;
      const std::string_view qualifier =
          source != kNoThread && !in_interrupt ? std::string_view(threads_[source].name) : std::string_view();
      const VertexId v = append(target, ts, EdgeState::network, qualifier);
      if (source != kNoThread) reroute_network_link(source, v);
      return;
    }
  }
}

VertexId OsGraphBuilder::network_endpoint(int64_t machine, Timestamp ts, int64_t cpu, bool send) {
  if (cpu == kUnknown) {
    ++stats_.no_cpu;
    return kNoVertex;
  }
  IrqContext ctx = context(machine, cpu);
  if (ctx == IrqContext::packet_reception) ctx = inner_context(machine, cpu);
  // handleInetSockLocalOut: a thread sends, or the kernel worker in a softirq (nothing in an IRQ);
  // handleInetSockLocalIn: the kernel worker receives in a (soft)irq, else the current thread.
  ThreadId endpoint_thread = kNoThread;
  if (send)
    endpoint_thread = ctx == IrqContext::none      ? current(machine, cpu)
                      : ctx == IrqContext::softirq ? kernel_worker(machine, cpu)
                                                   : kNoThread;
  else
    endpoint_thread = ctx == IrqContext::softirq || ctx == IrqContext::irq ? kernel_worker(machine, cpu)
                                                                            : current(machine, cpu);
  if (endpoint_thread == kNoThread) return kNoVertex;
  return state_extend(endpoint_thread, ts);
}

void OsGraphBuilder::on_packet(int64_t machine, Timestamp ts, int64_t cpu, bool send, const PacketKey& key) {
  const VertexId endpoint = network_endpoint(machine, ts, cpu, send);
  if (endpoint == kNoVertex) return;
  auto& mine = send ? pending_sends_ : pending_receives_;
  auto& other = send ? pending_receives_ : pending_sends_;
  auto it = other.find(key);
  if (it == other.end()) {
    if (mine.size() >= kMaxPending) {
      stats_.pending_dropped += mine.size();
      mine.clear();
    }
    mine[key] = endpoint;
    return;
  }
  const VertexId send_vertex = send ? endpoint : it->second, receive_vertex = send ? it->second : endpoint;
  other.erase(it);
  ++stats_.packets_matched;
  // The link waits for the receiver's next vertex, or is re-routed to the thread it wakes.
  latest_network_link_[graph_.vertex(receive_vertex).worker] = {send_vertex, receive_vertex};
}

}  // namespace vm::graph
