// SPDX-License-Identifier: MIT
#pragma once
// The cross-layer edges of a fused run's execution graph (Nemati's HEC edge semantics,
// ../shared/research/algorithms.md §7.4, kept; its structure is not): a layer on top of the OS
// graph builder (os_graph_builder.h), fed every event of every machine, in the reference clock,
// around the OS builder: before_event() before it, after_event() after it. It uses only the OS
// builder's public API for layered builders (close_thread, extend_thread, link_vertices,
// running_tid, status, context, context_value).
//
// How each cross-layer state is decided (the scenario truth should use the same definitions):
//
// 1. The vCPU's host state. Per vCPU thread of a host (told by the VcpuResolver, i.e. the vCPU
//    tracker), from the host's own events, with the vCPU tracker's rules (common/kvm/vcpu_tracker.h):
//      kvm_entry                         -> guest
//      kvm_exit (reason R)               -> vmm (R)
//      sched_switch away, runnable       -> preempted
//      sched_switch away, not runnable   -> halted (the tracker's `idle`)
//      sched_wakeup of a halted thread   -> preempted (woken, waiting for a CPU)
//      sched_switch onto a CPU           -> vmm (the exit it was handling)
//      lost events on the host           -> unknown (nothing is refined until the next of the above)
//    The vCPU starts unknown (before the resolver knows its thread, i.e. the tracker's first exit
//    of it when the index comes from the exit): nothing is refined before its first known state;
//    there the guest thread's interval is closed in its own status (the OS builder's label).
// 2. The guest side. The guest thread current on vCPU v (the OS builder's model of the guest,
//    CPU v) is the one whose interval is refined. At each change of v's host state at t, that
//    thread's interval is closed at t: in its own status (running) when v was in guest mode, else
//    as `vmm` (qualifier: the exit reason's name, as vcpu_state.exit_reason_name has it, else its
//    label), `vcpu_preempted` or `vcpu_halted`. A guest event on v that ends an interval of its
//    current thread while v is not in guest mode (a clock-sync residue) closes it the same way
//    first, so the OS builder's "running" never covers host time.
// 3. Preemption hand-off. A `vcpu_preempted` interval ends when the host runs the vCPU thread
//    again (sched_switch onto a CPU, at t): a vertical `vcpu_preempted` link goes from the host
//    vCPU thread's vertex at t (made by the OS builder for that switch) to the guest thread's
//    vertex at t. The critical path resolves `vcpu_preempted` through it (fused_path_options()):
//    it follows the host vCPU thread's own `preempted` interval backwards, and whatever the host
//    layer links there (the preempting thread).
// 4. Device interrupt hand-off. A host thread X raises a device interrupt (kvm_msi_set_irq or
//    kvm_set_irq, at t_raise: X gets a vertex there, X is running), then delivers it
//    (kvm_apic_accept_irq(apicid a, vector) in X). A guest thread T of that host's VM, blocked,
//    woken at t on vCPU a in a device interrupt context (an IRQ handler of a line other than the
//    timer's line 0, or the block softirq) with t_raise at or after T's wait began: T's interval
//    is closed `blocked` (qualifier: X's name) and linked from X@t_raise. The link's state is
//    `interrupted` (qualifier: the guest IRQ handler's name) for an IRQ, `block_device` for the
//    block softirq (Trace Compass's name for that wait), so the path shows the delivery time
//    [t_raise, t) under it, and before that whatever X did (its own `block_device` wait on the
//    host disk, say).
// 5. IPI hand-off. vCPU s of guest G sends an IPI (kvm_apic_ipi in its host thread at t_send; the
//    guest thread S current on s gets a vertex there), delivered to vCPU d (kvm_apic_accept_irq
//    in the same host thread). A guest thread T blocked and woken at t on vCPU d in IPI context
//    (x86_irq_vectors_*_entry of the vector sent, as accepted) with t_send at or after T's wait
//    began: T's interval is closed `blocked` and linked from S@t_send with state `ipi`.
// 6. Nested guests (L2 -> L1 vCPU thread -> L0). Each hypervisor layer is a host with its own
//    resolver (an L1 guest's tracker knows its vCPU threads of L2), so points 1-5 apply per
//    pair of layers. Besides, when an outer vCPU changes state at t while the guest thread
//    current on it is an inner vCPU thread in guest mode (the L1 hypervisor believes L2 runs), the
//    inner guest's current thread is closed at t in the outer state too (vmm: the outer exit's
//    reason), and a resume from vcpu_preempted links outer host vCPU thread -> L1 vCPU thread ->
//    L2 thread, all at t: the path of an L2 thread follows its L1 vCPU thread into L0.
// A raise (point 4) or send (point 5) is the cause of the accepts that follow it in its thread
// until that thread enters a guest or leaves its CPU; a device's vector is not compared with the
// guest's handler (the guest's IRQ line numbers are not vectors).
// A link is made only when both ends are free (a vertex has one incoming and one outgoing
// vertical edge); otherwise the interval keeps the OS builder's label and stats() counts it.
// APIC ids are taken as vCPU indexes (QEMU's default x86 topology numbers them alike), as the
// wake analysis does (common/analysis/wake/wake_model.h). A device interrupt raised from a
// thread that is not a vCPU thread is matched by APIC id and vector, and by VM: the vector is the
// one the guest's running IRQ handler is for, among those the host injected into the woken vCPU
// (kvm_inj_virq, see on_guest_irq(); without that event, the latest vector accepted by that APIC
// id); the VM is the process the raising thread serves (its pid
// context: a QEMU thread; N for the kernel's `vhost-N` workers) when it is the pid of the VM's
// vCPU threads. Without pid contexts, two VMs of one host sharing an APIC id and vector within
// one wait may be confused.
// Not done: network edges (TCP matching, another layer); a nested guest's own exits that L0
// handles without telling L1 are seen by point 6 only as the outer vCPU's states.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "analysis/graph/critical_path.h"
#include "analysis/graph/os_graph_builder.h"
#include "base/types.h"
#include "events/events.h"
#include "kvm/exit_reasons.h"

namespace vm {
class VcpuTracker;
}

namespace vm::graph {

// A host thread's vCPU: the guest machine (its machine id in the run) and the vCPU index.
struct VcpuRef {
  int64_t guest_machine = kUnknown;
  int64_t vcpu = kUnknown;
};
// Says whether `host_tid` of `host_machine` is a vCPU thread of a guest traced in the run.
using VcpuResolver = std::function<bool(int64_t host_machine, int64_t host_tid, VcpuRef& out)>;
// The resolver of one host's vCPU tracker (VcpuTracker::describe), for vCPUs whose index is
// known. A VM without a guest trace has no guest thread: nothing of it is refined. The tracker
// must see each host event before this layer does (register the vCPU analysis first).
VcpuResolver tracker_resolver(const VcpuTracker& tracker);

// The critical-path options of a fused run: Trace Compass's resolved states plus
// `vcpu_preempted` (its link leads into the host). Used wherever fused paths are computed.
CriticalPathOptions fused_path_options();

// The vCPU host states of point 1 above.
enum class VcpuHostState : uint8_t { unknown, guest, vmm, preempted, halted };

class FusedGraphBuilder {
 public:
  // `os` fills `graph`; this layer refines its intervals and adds links.
  FusedGraphBuilder(ExecGraph& graph, OsGraphBuilder& os) : graph_(graph), os_(os) {}

  // The resolver for vCPU threads of `host_machine` (one per host; a later one replaces it).
  void set_resolver(int64_t host_machine, VcpuResolver resolver) { resolvers_[host_machine] = std::move(resolver); }

  // Before and after the OS builder sees the event of `machine`.
  void before_event(int64_t machine, const Event& event);
  void after_event(int64_t machine, const Event& event);
  // Lost events on a host: its vCPUs' states are unknown until their next event.
  void on_lost_events(int64_t machine, Timestamp ts);

  struct Stats {
    uint64_t refined = 0;            // guest intervals closed as vmm / vcpu_preempted / vcpu_halted
    uint64_t preempt_links = 0;      // point 3
    uint64_t device_links = 0;       // point 4
    uint64_t ipi_links = 0;          // point 5
    uint64_t refused_links = 0;      // an end already linked: the interval keeps its label
    uint64_t cause_too_early = 0;    // a cause before the wait began: not linked
  };
  const Stats& stats() const { return stats_; }
  // The host state of vCPU `vcpu` of guest machine `guest` (tests, diagnostics).
  VcpuHostState state(int64_t guest, int64_t vcpu) const;

 private:
  struct Vcpu {
    int64_t host_machine = kUnknown, host_tid = kUnknown;
    VcpuHostState state = VcpuHostState::unknown;
    int64_t exit_reason = kUnknown;
    VirtIsa isa = VirtIsa::unknown;
  };
  // What put a vector into a vCPU's APIC: the vertex it is linked from.
  struct Cause {
    bool ipi = false;
    VertexId from = kNoVertex;
    Timestamp ts = 0;
    int64_t vector = kUnknown;  // as accepted by the APIC
    std::string name;           // the raising host thread's name (device)
    int64_t owner = kUnknown;   // the process it serves: its pid, or N for a `vhost-N` worker
  };
  using GuestCpu = std::pair<int64_t, int64_t>;  // (guest machine, vCPU)

  Vcpu* vcpu_of_host_thread(int64_t host_machine, int64_t host_tid);
  Vcpu* vcpu_of_guest_cpu(int64_t guest, int64_t cpu);
  void transition(const GuestCpu& key, Vcpu& vcpu, Timestamp ts, VcpuHostState next, int64_t host_cpu);
  VertexId touch(const GuestCpu& key, const Vcpu& vcpu, Timestamp ts);
  VertexId close_current(const GuestCpu& key, VcpuHostState state, const Vcpu& reasons, Timestamp ts);
  void hand_off(VertexId from, VertexId to);
  void nest(const GuestCpu& key, Timestamp ts, const Vcpu& outer, bool resumed, VertexId outer_vertex, int depth);
  static constexpr int kMaxNesting = 4;  // the resolvers come from traces: no endless chain
  void on_host_event(int64_t machine, const Event& event);
  void on_raise(int64_t machine, const Event& event, int64_t tid);
  void on_accept(int64_t machine, const Event& event, int64_t tid);
  void on_guest_wakeup(int64_t machine, const Event& event);
  int64_t thread_of(int64_t machine, const Event& event) const;
  static int64_t owner_of(const EventContext& ctx);
  void on_guest_irq(const GuestCpu& key, int64_t line);
  Timestamp wait_start(int64_t machine, int64_t tid, int64_t cpu) const;

  ExecGraph& graph_;
  OsGraphBuilder& os_;
  std::unordered_map<int64_t, VcpuResolver> resolvers_;
  std::map<GuestCpu, Vcpu> vcpus_;
  std::map<std::pair<int64_t, int64_t>, GuestCpu> by_host_thread_;  // (host, tid) -> vCPU
  std::map<std::pair<int64_t, int64_t>, Cause> raising_;           // (host, tid): its last raise
  std::map<GuestCpu, Cause> delivered_;                            // the last vector a vCPU accepted
  std::map<std::pair<int64_t, int64_t>, Cause> delivered_any_;     // (host, APIC id): from a non-vCPU thread
  std::map<std::tuple<int64_t, int64_t, int64_t>, Cause> delivered_vector_;  // (host, APIC id, vector): same
  // (host, owner pid, APIC id, vector): same, by the process the raising thread serves.
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, Cause> delivered_owned_;
  std::map<std::tuple<int64_t, int64_t, int64_t>, Cause> delivered_any_owned_;  // (host, owner pid, APIC id)
  std::map<int64_t, int64_t> vm_pid_;                              // guest machine -> its QEMU pid
  std::map<GuestCpu, std::vector<int64_t>> pending_vectors_;       // injected into a vCPU, not handled yet
  std::map<GuestCpu, int64_t> handling_;                           // the vector of the guest IRQ handler running
  std::map<std::pair<int64_t, int64_t>, int64_t> line_vector_;     // (guest, IRQ line) -> vector, learned
  static constexpr size_t kMaxPendingVectors = 16, kMaxLines = 4096, kMaxDelivered = 1 << 16;
  std::map<GuestCpu, int64_t> guest_vector_;                       // the x86 vector a guest vCPU handles
  Stats stats_;
};

}  // namespace vm::graph
