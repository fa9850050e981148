// SPDX-License-Identifier: MIT
#pragma once
// The host-only vCPU edges of the execution graph (issue 12, item 3): a layer over the OS graph of
// a host traced alone. Stock KVM events carry no guest page-table base, so the guest's processes
// cannot be told apart: the worker is the vCPU thread. Nemati's host-based execution graph
// (algorithms.md §7.4, NEM@12945ce graph/KvmHostOnlyGraphHandler.java) gives the edge semantics
// kept here (not its structure: no cr3 workers):
//   - a vCPU thread's preempted time hands off to the thread that preempted it: the OS builder's
//     preemption links (OsGraphBuilder::set_preemption_links), switched on for the vCPU threads;
//   - a halt (HLT exit to the next entry) resolves through the wake-up causes of the wake model
//     (common/analysis/wake/wake_model.h, the vcpu_halt table), which decides over the OS graph's
//     own wake-up edge (docs/design.md, "Host-only critical path"):
//       ipi                  `blocked` (qualifier "halt:ipi") ending at the wake vertex, linked from
//                            the sending vCPU thread at its kvm_x86_apic_ipi, link state `ipi`;
//       disk / net / device  `blocked` ("halt:disk", ...) linked from the host thread that raised
//                            the interrupt (kvm_msi_set_irq, kvm_set_irq) at that event, link state
//                            `block_device` / `network` / `blocked`;
//       none with a waker    (a paravirtual kick from a vCPU thread) `blocked` ("halt:none")
//                            linked from the waker at its first wake-up of the vCPU thread in the
//                            halt, state `default` (Trace Compass's wake-up hand-off);
//       timer                `timer` ("halt:timer"), no hand-off;
//       none (no waker), unknown  the OS graph's edges, unchanged.
//     The wake vertex is the vCPU thread's wake-up in the halt (the end of its last sleep in it);
//     a halt without one (KVM's halt polling: the thread never left its CPU), or whose last sleep
//     ended before the cause, ends its wait at the entry. Where the OS graph's wake-up link
//     already comes from the thread the cause names, that link is kept (state `default`).
// The graph is changed after the fact (ExecGraph::relabel_in_h, relink): a halt's cause is known
// at the vCPU's next entry only. No babeltrace2 type here.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>

#include "analysis/graph/exec_graph.h"
#include "analysis/graph/os_graph_builder.h"
#include "analysis/wake/wake_model.h"

namespace vm::graph {

class HostOnlyGraph {
 public:
  // `graph` is `builder`'s; `machine` the host's id. `vcpus` and `threads` are the host's vCPU
  // tracker and scheduler state (read only). The builder's preemption links are the caller's to
  // switch on (OsGraphBuilder::set_preemption_links with is_vcpu(): one predicate for all hosts).
  HostOnlyGraph(ExecGraph& graph, OsGraphBuilder& builder, int64_t machine, const VcpuTracker& vcpus,
                const SchedState& threads);
  HostOnlyGraph(const HostOnlyGraph&) = delete;
  HostOnlyGraph& operator=(const HostOnlyGraph&) = delete;

  // Every decoded event of the host, after the OS builder, the scheduler state and the vCPU
  // tracker saw it (event.tid set as vm::Run sets it).
  void on_event(const Event& event);
  void on_lost_events(int64_t cpu) { wake_.on_lost_events(cpu); }
  void finish(Timestamp end) { wake_.finish(end); }

  bool is_vcpu(int64_t tid) const;

  // How each halt was resolved (the tests and the diagnostics).
  enum class Resolution : uint8_t {
    timer,       // relabelled `timer`
    kept,        // the OS graph's wake-up link came from the cause's thread: kept
    linked,      // linked from the cause's thread (replacing or adding the wake-up link)
    unresolved,  // a cause to hand off to, but no vertex of its thread at the cause (OS edges stand)
    untouched,   // none (no waker) or unknown: the OS graph's edges
  };
  struct Stats {
    uint64_t halts = 0;
    uint64_t by_resolution[5] = {};
  };
  const Stats& stats() const { return stats_; }
  // Told of each halt as it is resolved: its row, what was done, and the vertex its wait ends at
  // (kNoVertex when untouched).
  using Observer = std::function<void(const HaltRecord&, Resolution, VertexId)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // Raise events remembered (the cause of a halt is one of the last ones): the oldest are
  // forgotten past this many; a halt whose cause is forgotten stays unresolved.
  static constexpr size_t kMaxRaises = size_t{1} << 14;

 private:
  struct Raise {
    Timestamp ts;
    int64_t tid;
    VertexId vertex;
  };
  void on_halt(const HaltRecord& row);
  Resolution resolve(const HaltRecord& row, VertexId& wake);
  void remember(int64_t tid, int64_t cpu, Timestamp ts);
  // The vertex of `tid`'s first remembered event in [begin, end] (kNoVertex: none).
  VertexId first_raise(int64_t tid, Timestamp begin, Timestamp end) const;
  // The vertex of a raise event at `ts` of the thread `tid`, or (tid kUnknown) of the vCPU
  // thread of VM `vm_machine_id`'s vCPU `vcpu_id`; kNoVertex when forgotten or never seen.
  VertexId raise_vertex(Timestamp ts, int64_t tid, int64_t vm_machine_id, int64_t vcpu_id) const;

  ExecGraph& graph_;
  OsGraphBuilder& builder_;
  int64_t machine_;
  const VcpuTracker& vcpus_;
  WakeModel wake_;
  Stats stats_;
  Observer observer_;
  // Per vCPU thread: the vertex of its current halt's HLT exit.
  std::unordered_map<int64_t, std::pair<Timestamp, VertexId>> halt_start_;
  // The last raise events (kvm_x86_apic_ipi, kvm_msi_set_irq, kvm_set_irq) of any thread and
  // wake-ups of vCPU threads from task context, in time order, with their vertex on the raising
  // (waking) thread.
  std::deque<Raise> raises_;
};

}  // namespace vm::graph
