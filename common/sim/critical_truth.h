// SPDX-License-Identifier: MIT
#pragma once
// The true critical path of chosen threads of a scenario (`requests`), by construction: the model
// logs every thread's life (running, runnable, blocked, and what ended each wait) and every vCPU's
// state; the path is then derived from those facts, not from any trace event. Babeltrace-free.
//
// ---- The definition (also tests/scenario/README.md, which derives one request by hand) ----
// All times are host-clock ns (the reference clock of a fused run). A thread's life is a tiling
// of spans: `untraced` (from the start to its first state change: no trace shows it), `running`
// (from being switched in), `runnable` (switched out preempted, or woken, until switched in),
// `blocked` (switched out sleeping until the sched_waking that ends it; the wake-up event is
// sched_waking, as Trace Compass chooses when a trace has it). A blocked span ends by one of:
//   task(W)       sched_waking from thread W in task context (W runs at that instant);
//   guest-device  a guest's device IRQ handler, the vector having been signalled by the parent's
//                 thread H (kvm_msi_set_irq at time r) — the cross-layer hand-off;
//   device        a device IRQ handler with no known signaller (Trace Compass: BLOCKED);
//   softirq-block the BLOCK softirq (the host disk's completion; Trace Compass: BLOCK_DEVICE);
//   vector        an x86_irq_vectors_* handler (the local timer; Trace Compass counts every
//                 x86_irq_vectors context as IPI).
//
// path(X, [a, b)) tiles [a, b) with segments (worker, state, qualifier) and lists hand-offs
// (links: ts, from, to, state). For each span [s, e) of X, clipped to [u, v) = [s, e) ∩ [a, b):
//   untraced  -> X unknown.
//   running   -> host thread: X running. Thread of a guest (its CPU is vCPU c of VM m, run by
//                the parent's thread V): [u, v) is cut by V's vCPU state (vcpu_state truth):
//                  guest -> X running;  vmm -> X vmm (qualifier: the exit reason, Linux's VMX name);
//                  idle -> X vcpu_halted;
//                  preempted [p, q) -> hand-off: link X->V at p, path(V, [p, q)), link V->X at q
//                  (V is runnable there, see the next rule).
//   runnable  -> X preempted; except a vCPU thread V (any layer) whose span ended at v = e when
//                it was switched in replacing thread P (not an idle task): link V->P at u,
//                path(P, [u, v)), link P->V at v ("its preempted time hands off to the
//                preempting thread": the one that held the CPU until V got it back, as Trace
//                Compass's backward search follows the vertex that ended a wait).
//   blocked   -> only when v = e (a wait cut by the window's end stays X blocked):
//                task(W):       link X->W at u, path(W, [u, v)), link W->X at v;
//                guest-device:  r > u: link X->H at u, path(H, [u, r)), link H->X at r (state
//                               interrupted), then X interrupted on [r, v) (the injection's
//                               delivery: the vCPU's wake-up, entry and the guest's handler; a
//                               hand-off that takes time is a segment of the worker it hands to,
//                               qualifier the guest IRQ's name); r <= u: X interrupted on [u, v);
//                device:        X blocked (qualifier: the IRQ's name);
//                softirq-block: X block_device;   vector: X ipi.
// Every link has state `default` except the injection's (`interrupted`). A path's hand-offs and
// segments are in time order; adjacent segments of the same worker, state and qualifier are one;
// zero-length ones are dropped. Recursion deeper than 4096 hand-offs leaves the rest `unknown`.
// A chosen thread's path runs over [its first state change, its last state change before the end
// of the run) (Trace Compass: from its first to its last vertex).
// Machines are model indices (the truth's machine.id; the product's machine by hostname).

#include <cstdint>
#include <string>
#include <vector>

namespace vm::sim {

enum class LifeState : uint8_t { untraced, running, runnable, blocked };
enum class WakeKind : uint8_t { none, task, guest_device, device, softirq_block, vector };

struct WakeCause {
  WakeKind kind = WakeKind::none;
  int waker = -1;         // task: the waking thread; guest-device: the signalling thread
  int64_t raise_ts = -1;  // guest-device: its kvm_msi_set_irq
  const char* irq_name = "";
};

struct TruthSegment {
  int64_t ts = 0, dur = 0;
  int machine = 0;
  int64_t tid = 0;
  std::string state, qualifier;
};
struct TruthLink {
  int64_t ts = 0;
  int from_machine = 0;
  int64_t from_tid = 0;
  int to_machine = 0;
  int64_t to_tid = 0;
  std::string state;
};
struct TruthPath {
  int machine = 0;
  int64_t tid = 0;
  std::string name;
  int64_t start_ts = 0, end_ts = 0;
  std::vector<TruthSegment> segments;
  std::vector<TruthLink> links;
};

// The facts, logged as the model runs (thread ids are the model's).
class LifeLog {
 public:
  // `vcpu_thread`: for a thread of a guest, the parent's thread that runs its CPU (else -1);
  // `is_vcpu`: it runs a vCPU itself; `idle`: an idle task (never logged).
  void add_thread(int id, int machine, int64_t tid, const std::string& name, int vcpu_thread, bool is_vcpu);
  // The thread's state changes at `ts` (a span starts).
  void set(int id, int64_t ts, LifeState state);
  // Switched in at `ts` replacing `prev` (-1: an idle task).
  void switched_in(int id, int64_t ts, int prev);
  // Its blocked span ends at `ts` (sched_waking) for `cause`; it becomes runnable.
  void woken(int id, int64_t ts, const WakeCause& cause);
  // A closed vCPU state interval of the vCPU thread `id`.
  void vcpu_state(int id, int64_t ts, int64_t end, const char* state, int64_t exit_reason);
  // The paths of `chosen`, the run ending at `end`.
  std::vector<TruthPath> paths(const std::vector<int>& chosen, int64_t end) const;

 private:
  struct Span {
    int64_t ts = 0;
    LifeState state = LifeState::untraced;
    WakeCause cause;   // blocked: what ended it
    int ender = -2;    // runnable: the thread switched out when it was switched in (-1 idle)
  };
  struct VcpuSpan {
    int64_t ts = 0, end = 0;
    const char* state = "";
    int64_t exit_reason = -1;
  };
  struct Life {
    int machine = 0;
    int64_t tid = 0;
    std::string name;
    int vcpu_thread = -1;
    bool is_vcpu = false;
    bool known = false;
    std::vector<Span> spans;
    std::vector<VcpuSpan> vcpu;
  };
  std::vector<Life> lives_;

  friend class PathBuilder;
  const Life* life(int id) const {
    return id >= 0 && static_cast<size_t>(id) < lives_.size() && lives_[static_cast<size_t>(id)].known
               ? &lives_[static_cast<size_t>(id)]
               : nullptr;
  }
};

}  // namespace vm::sim
