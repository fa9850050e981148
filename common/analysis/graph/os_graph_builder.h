// SPDX-License-Identifier: MIT
#pragma once
// The OS execution graph of one or more machines, built from their kernel events as Trace Compass
// builds it (lttng/org.eclipse.tracecompass.lttng2.kernel.core/.../analysis/graph/handlers/:
// TraceEventHandlerStatedump.java, TraceEventHandlerSched.java, EventContextHandler.java,
// TraceEventHandlerExecutionGraph.java; analysis.os.linux.core/.../execution/graph/OsWorker.java,
// OsSystemModel.java). ../shared/research/algorithms.md §7.2 states the rules; in short, per event
// and in this order:
//   1. statedump: a thread that existed when tracing started gets its status;
//   2. sched: the builder's own status model of every thread (status and oldStatus, OsWorker);
//   3. context: the interrupt-context stack of each (machine, CPU) (softirq, hrtimer, irq, IPI
//      vector, do_IRQ, packet reception);
//   4. graph: vertices and edges, from the statuses the sched step left (`old` = before the event).
// No babeltrace2 type here: it consumes the core's decoded events (common/events/events.h) and
// fills an ExecGraph. It writes no table and is not registered (see OsGraphAnalysis below for the
// Analysis wrapper).
//
// Where this differs from Trace Compass, on purpose (each a bug or an ambiguity there):
//   - a spurious wake-up (of the running thread, or of a thread already waiting for a CPU) changes
//     nothing in the graph either; Trace Compass's graph step reads the stale oldStatus there;
//   - an IRQ wake-up resolved BLOCKED carries the IRQ handler's name as qualifier (Trace Compass
//     compares a state object with an enum value and never sets it: algorithms.md §7.2);
//   - x86_irq_vectors_*_entry pushes the IPI context and _exit pops it (EventContextHandler.java
//     registers the exit handler for the entry names, so its IPI context is never pushed);
//   - the per-CPU swapper (tid 0) workers are per (machine, CPU), not per CPU of any machine;
//   - a vertex earlier than its worker's last one, or a second vertical edge on a vertex, is not
//     added but counted (Stats): the input is untrusted.

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analysis/graph/exec_graph.h"
#include "base/types.h"
#include "events/events.h"

namespace vm::graph {

// Trace Compass's ProcessStatus (analysis.os.linux.core .../model/ProcessStatus.java).
enum class ProcStatus : uint8_t {
  unknown,
  not_alive,
  wait_fork,
  wait_cpu,
  exit,
  zombie,
  wait_blocked,
  wait_unknown,
  run,
  run_syscall,
  interrupted,
};
// lttng_statedump_process_state's `status` (LinuxValues.java: 0 unnamed, 1 wait-fork, 2 wait-cpu,
// 3 exit, 4 zombie, 5 wait, 6 run, 7 dead), as ProcessStatus.getStatusFromStatedump maps it.
ProcStatus status_from_statedump(int64_t status);
// TraceEventHandlerExecutionGraph.resolveProcessStatus: the edge state of an interval in a status.
EdgeState resolve_status(ProcStatus status);

// The interrupt contexts of OsExecutionGraphProvider.Context.
enum class IrqContext : uint8_t { none, softirq, hrtimer, irq, ipi, complete_irq, packet_reception };

// Which wake-up events a machine's graph uses (BaseHandler.isWakeupEvent): sched_ttwu when the
// trace declares it; else sched_waking and sched_wakeup_new when it declares sched_waking; else
// sched_wakeup and sched_wakeup_new. `all` (the default, when the caller cannot tell) takes every
// one: the second wake-up of a pair is then spurious and changes nothing.
enum class WakeupEvents : uint8_t { all, ttwu, waking, wakeup };
WakeupEvents wakeup_events_of(const std::vector<std::string>& event_class_names);

// What a network send and its reception share (Trace Compass's TCP matching: seq, ack_seq and
// flags; the XML stubs' `msgid`). Compared whole.
struct PacketKey {
  int64_t seq = 0, ack_seq = 0, flags = 0;
  bool operator==(const PacketKey& o) const { return seq == o.seq && ack_seq == o.ack_seq && flags == o.flags; }
};

class OsGraphBuilder {
 public:
  explicit OsGraphBuilder(ExecGraph& graph) : graph_(graph) {}

  void set_wakeup_events(int64_t machine, WakeupEvents events) { wakeup_events_[machine] = events; }

  // One decoded event of `machine`, in time order across machines. net_send / net_receive are
  // matched when their payload carries the TCP key (NetPacket::has_tcp); others use on_packet().
  void on_event(int64_t machine, const Event& event);
  // A network send or reception with its match key (for events whose key the core cannot read).
  void on_packet(int64_t machine, Timestamp ts, int64_t cpu, bool send, const PacketKey& key);

  // What was not added, and why (the input is untrusted).
  struct Stats {
    uint64_t no_cpu = 0;            // an event that needs its CPU had none
    uint64_t bad_tid = 0;           // a negative or unknown tid
    uint64_t out_of_order = 0;      // a vertex before its worker's last one
    uint64_t link_conflicts = 0;    // a vertical edge on a vertex that already had one
    uint64_t backward_links = 0;    // a vertical edge from a later vertex to an earlier one
    uint64_t context_overflow = 0;  // an interrupt-context stack deeper than kMaxContextDepth
    uint64_t no_tcp_key = 0;        // a net_send / net_receive without its TCP key (its vertex is added)
    uint64_t pending_dropped = 0;   // unmatched packets forgotten (more than kMaxPending)
    uint64_t packets_matched = 0;
  };
  const Stats& stats() const { return stats_; }

  // The status of a thread in the builder's model (tests, diagnostics); unknown when unseen.
  ProcStatus status(int64_t machine, int64_t tid, int64_t cpu = kUnknown) const;
  // The top of a CPU's interrupt-context stack.
  IrqContext context(int64_t machine, int64_t cpu) const;

  // ---- For the layered builders (cross-layer edges of a fused run, host-only vCPU edges) ----
  // They refine intervals of this builder's threads (a guest thread's "running" while its vCPU
  // was preempted, say) and link workers of different machines. A thread is (machine, tid); `cpu`
  // tells the swappers (tid 0) apart and is ignored otherwise. Each returns kNoVertex (and counts
  // it in stats()) for a negative tid or a timestamp before the thread's last vertex.
  //
  // Ends the thread's current interval at `ts` in the state its status gives (as the builder
  // would): the vertex. Creates the thread (status unknown) when unseen.
  VertexId extend_thread(int64_t machine, int64_t tid, int64_t cpu, Timestamp ts);
  // Ends the thread's current interval at `ts` as `state`, whatever its status.
  VertexId close_thread(int64_t machine, int64_t tid, int64_t cpu, Timestamp ts, EdgeState state,
                        std::string_view qualifier = {});
  // A vertical edge; false when refused (a vertex already linked: stats().link_conflicts; `from`
  // later than `to`: stats().backward_links).
  bool link_vertices(VertexId from, VertexId to, EdgeState state, std::string_view qualifier = {});
  // The thread the builder's model has on a CPU, or kUnknown.
  int64_t running_tid(int64_t machine, int64_t cpu) const;
  // The value of the top of a CPU's interrupt-context stack: the IRQ line (irq) or the softirq
  // vector (softirq); kUnknown otherwise (the fused layer tells device interrupts apart).
  int64_t context_value(int64_t machine, int64_t cpu) const;
  // The name of the IRQ handler on top of a CPU's interrupt-context stack, or empty.
  std::string_view context_name(int64_t machine, int64_t cpu) const;
  // Preemption links, off by default (Trace Compass's graph has none; its stubs' expected graphs
  // and GraphFactory's stay exact). For the threads `accept(machine, tid)` names (the vCPU
  // threads of host-only and fused runs): when such a thread is switched in after waiting for a
  // CPU (switched out runnable, or woken from a sleep and not run since), a vertical edge of
  // state `preempted` goes from the thread that held that CPU (the prev of the switch: who ran on
  // it last before the resume) at the switch to the resume vertex. A critical path that resolves
  // `preempted` (CriticalPathOptions::resolved_states) then follows the preempting thread back
  // over the wait (to its start, the preemption or the wake-up). None from the idle task (tid 0: nobody held the
  // CPU; the thread waited for the scheduler to move it), none when either vertex is refused.
  void set_preemption_links(std::function<bool(int64_t machine, int64_t tid)> accept) {
    preemption_accept_ = std::move(accept);
  }
  uint64_t preemption_links() const { return preemption_links_; }

  static constexpr size_t kMaxContextDepth = 64;
  static constexpr size_t kMaxPending = 1 << 20;

 private:
  struct Thread {
    WorkerKey key;
    std::string name;
    WorkerId worker = kNoWorker;  // in the graph once it has a vertex
    ProcStatus status = ProcStatus::unknown, old_status = ProcStatus::unknown;
    bool preempted = false;  // switched out runnable or woken, not switched in since
    void set_status(ProcStatus s) {
      old_status = status;
      status = s;
    }
  };
  static constexpr WorkerId kNoWorker = std::numeric_limits<WorkerId>::max();
  struct Context {
    IrqContext kind;
    int64_t value;     // the irq number (IRQ) or the softirq vector (SOFTIRQ); kUnknown otherwise
    std::string name;  // the IRQ handler's name
  };
  struct CpuKey {
    int64_t machine, cpu;
    bool operator==(const CpuKey& o) const { return machine == o.machine && cpu == o.cpu; }
  };
  struct KeyHash {
    size_t operator()(const WorkerKey& k) const {
      return hash_ids(k.machine_id, k.tid, k.cpu);
    }
    size_t operator()(const CpuKey& k) const { return hash_ids(k.machine, k.cpu); }
    size_t operator()(const PacketKey& k) const {
      return hash_ids(k.seq, k.ack_seq, k.flags);
    }
  };
  using ThreadId = uint32_t;
  static constexpr ThreadId kNoThread = std::numeric_limits<ThreadId>::max();

  // The status model (TraceEventHandlerStatedump / TraceEventHandlerSched).
  ThreadId find(int64_t machine, int64_t tid, int64_t cpu) const;
  ThreadId create(int64_t machine, int64_t tid, int64_t cpu, std::string_view name);
  ThreadId current(int64_t machine, int64_t cpu) const;
  ThreadId kernel_worker(int64_t machine, int64_t cpu);
  bool is_wakeup(int64_t machine, std::string_view name) const;

  // The graph step (TraceEventHandlerExecutionGraph).
  VertexId append(ThreadId t, Timestamp ts, EdgeState state, std::string_view qualifier = {});
  VertexId state_change(ThreadId t, Timestamp ts);
  VertexId state_extend(ThreadId t, Timestamp ts);
  WorkerId graph_worker(ThreadId t);

  void on_switch(int64_t machine, const Event& event);
  void on_wakeup(int64_t machine, const Event& event);
  void wake_blocked(int64_t machine, int64_t cpu, Timestamp ts, ThreadId target, ThreadId waker);
  void on_softirq_entry(int64_t machine, const Event& event);
  void push(int64_t machine, int64_t cpu, Context context);
  void pop(int64_t machine, int64_t cpu, IrqContext kind);
  IrqContext inner_context(int64_t machine, int64_t cpu) const;
  void reroute_network_link(ThreadId receiver, VertexId wakee);
  // The vertex a network send / reception adds on its endpoint (a thread, or the CPU's kernel
  // worker in a softirq), or kNoVertex (no CPU, an IRQ send, a vertex out of order).
  VertexId network_endpoint(int64_t machine, Timestamp ts, int64_t cpu, bool send);

  ExecGraph& graph_;
  std::vector<Thread> threads_;
  std::unordered_map<WorkerKey, ThreadId, KeyHash> thread_index_;
  std::unordered_map<CpuKey, int64_t, KeyHash> current_tid_;
  std::unordered_map<CpuKey, std::vector<Context>, KeyHash> contexts_;
  std::unordered_map<int64_t, WakeupEvents> wakeup_events_;
  // Unmatched packets: their vertex.
  std::unordered_map<PacketKey, VertexId, KeyHash> pending_sends_, pending_receives_;
  // Per receiving graph worker, the latest matched (send vertex, receive vertex) not yet linked
  // (fLatestReceivedNetworkLink).
  std::unordered_map<WorkerId, std::pair<VertexId, VertexId>> latest_network_link_;
  Stats stats_;
  std::function<bool(int64_t, int64_t)> preemption_accept_;
  uint64_t preemption_links_ = 0;
};

}  // namespace vm::graph
