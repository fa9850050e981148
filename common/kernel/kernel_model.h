// SPDX-License-Identifier: MIT
#pragma once
// The kernel state of one traced machine (a host, a guest or a nested guest): what each of its
// CPUs does (user, kernel, irq, softirq, idle), the state of each of its threads over time, and
// its PID namespaces (containers). Babeltrace-free: the adapters call one method per event.
//
// Thread states (Trace Compass's process statuses, as the Incubator's fused analysis writes them, with the two
// fused ones):
//   running         on a CPU
//   interrupted     on a CPU that is handling an interrupt or a softirq
//   wait_cpu        runnable, not on a CPU (preempted, or woken up and not yet scheduled)
//   blocked         sleeping (sched_switch prev_state interruptible, uninterruptible, idle, parked)
//   vcpu_preempted  a guest thread on a CPU whose vCPU the host has preempted (fused runs)
//   vmm             a guest thread on a CPU whose vCPU is in the hypervisor (fused runs)
//   vcpu_halted     a guest thread (not the idle task) on a CPU whose vCPU halted: it waits
//                   inside the guest kernel (typically a paravirtual spinlock, until a kick)
//   unknown         not known yet, or after lost events until the next event that tells
//
// A thread's timeline starts at the first event that names it and ends when it dies (sched_switch
// with an EXIT_DEAD/EXIT_ZOMBIE prev_state, or sched_process_free), or at the end of the run.
//
// Namespaces (the Incubator's StateDumpContainerHandler.java and ProcessForkContainerHandler.java): lttng_statedump_process_state carries them with lttng-modules
// 2.7–2.11 (one event per PID-namespace level, deepest first), lttng_statedump_process_pid_ns
// with 2.12 and later; sched_process_fork gives a new thread's `vtids` (one per level) and the
// inode of its deepest namespace.

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "base/types.h"
#include "events/events.h"
#include "kernel/sched_state.h"

namespace vm {

// What a CPU does. `running`: a thread runs but the trace cannot tell user from kernel mode (no
// syscall events seen for it yet).
enum class CpuStatus : uint8_t { unknown, idle, user, kernel, running, irq, softirq };
const char* cpu_status_name(CpuStatus status);  // nullptr for unknown

enum class ThreadState : uint8_t { unknown, running, interrupted, wait_cpu, blocked, vcpu_preempted, vmm, vcpu_halted };
const char* thread_state_name(ThreadState state);

struct ThreadInterval {
  Timestamp ts = 0, dur = 0;
  int64_t machine_id = 0;
  int64_t tid = 0;
  ThreadState state = ThreadState::unknown;
  int64_t cpu = kUnknown;  // running, interrupted, vcpu_preempted, vmm: the CPU of this machine
};

class ThreadStateListener {
 public:
  virtual ~ThreadStateListener() = default;
  virtual void on_thread_interval(const ThreadInterval& interval) = 0;
};

// Told when a thread's state changes, as it happens (KernelModel::set_observer). Nested runs: the
// L1 thread that runs an L2 vCPU is vcpu_preempted or vmm when L0 holds L1's vCPU, and so is the
// L2 code it runs.
class ThreadStateObserver {
 public:
  virtual ~ThreadStateObserver() = default;
  virtual void on_thread_state(int64_t machine_id, int64_t tid, Timestamp ts, ThreadState state) = 0;
};

// A thread's place in one PID-namespace level (level 0 = the machine's root namespace).
struct NsLevel {
  int64_t ns_inum = kUnknown;
  int64_t vtid = kUnknown, vpid = kUnknown, vppid = kUnknown;
};

struct ThreadNamespaces {
  int64_t tid = 0;
  std::vector<NsLevel> levels;
};

// Linux's root PID namespace inode (PROC_PID_INIT_INO), as Trace Compass's ROOT_NAMESPACE.
inline constexpr int64_t kRootPidNamespace = 4026531836;

// Who tells a guest's model what its vCPUs do (KernelModel::on_vcpu_state).
enum class VcpuView : uint8_t {
  host,   // the host's vCPU tracker: vmm, vcpu_preempted, vcpu_halted (else unknown: no say)
  outer,  // nested runs: the state of the L1 thread that runs an L2 vCPU (vcpu_preempted, vmm)
};

class KernelModel {
 public:
  // `sched`: the machine's scheduler state, read only (its owner updates it before each event
  // reaches this model, lost events included).
  KernelModel(int64_t machine_id, const SchedState& sched, ThreadStateListener& listener)
      : machine_id_(machine_id), sched_(sched), listener_(listener) {}

  int64_t machine_id() const { return machine_id_; }
  void set_observer(ThreadStateObserver* observer) { observer_ = observer; }

  // A decoded event of a kind it follows (event.tid: the thread it happened in). Returns true
  // when the event may have changed what the event's CPU does (then ask cpu_status()).
  bool on_decoded(const Event& event);

  void on_switch(Timestamp ts, int64_t cpu, int64_t prev_tid, int64_t prev_state, int64_t next_tid);
  void on_wakeup(Timestamp ts, int64_t tid);
  // `vtids` (may be empty): the child's tid at each namespace level, vtids[0] being the global one.
  void on_fork(Timestamp ts, int64_t parent_tid, int64_t parent_pid, int64_t child_tid, int64_t child_pid,
               const std::vector<int64_t>& vtids, int64_t parent_ns_inum, int64_t child_ns_inum);
  void on_thread_free(Timestamp ts, int64_t tid);
  // Syscall entry or exit of `tid` (the thread the event happened in) on `cpu`.
  void on_syscall(Timestamp ts, int64_t cpu, int64_t tid, bool entry);
  void on_irq(Timestamp ts, int64_t cpu, bool entry);
  void on_softirq(Timestamp ts, int64_t cpu, bool entry);
  // lttng_statedump_process_state: `type` 1 is a kernel thread; `status` LTTng's (2: waiting for a
  // CPU, 5: waiting). kUnknown when the layout lacks the field.
  void on_statedump_process(Timestamp ts, int64_t tid, int64_t type, int64_t status);
  // One namespace level of a thread (statedump, either layout).
  void on_pid_ns(Timestamp ts, int64_t tid, int64_t ns_level, int64_t ns_inum, int64_t vtid, int64_t vpid,
                 int64_t vppid);
  // Lost events on `cpu`: what runs there, and the state of the thread that ran there
  // (SchedState::current_before_loss()), are unknown until the next sched_switch on it.
  void on_lost_events(Timestamp ts, int64_t cpu);
  // Fused runs, for a guest: what `view` says its vCPU `cpu` does; a running thread there takes
  // that state when it is vmm, vcpu_preempted or vcpu_halted (host view) or vcpu_preempted or vmm
  // (outer view: L1's own vCPU preempted, or in L0's hypervisor), the outer view first.
  void on_vcpu_state(Timestamp ts, int64_t cpu, VcpuView view, ThreadState state);
  // An event that only the kernel emits for `tid` (a KVM entry or exit): it is in kernel mode.
  void on_kernel_mode(Timestamp ts, int64_t tid);
  // Closes every thread's timeline at `end`.
  void finish(Timestamp end);

  CpuStatus cpu_status(int64_t cpu) const;
  // Every thread's namespaces, the dead ones included (call after finish()).
  std::vector<ThreadNamespaces> namespaces() const;

 private:
  enum class Mode : uint8_t { unknown, user, kernel };
  struct Thread {
    ThreadState base = ThreadState::unknown;  // unknown, running, wait_cpu or blocked
    int64_t cpu = kUnknown;                   // while running
    Mode mode = Mode::unknown;
    bool kernel_thread = false;
    bool open = false;  // has an ongoing interval
    Timestamp open_ts = 0;
    ThreadState open_state = ThreadState::unknown;
    int64_t open_cpu = kUnknown;
    std::vector<NsLevel> levels;
  };
  struct Cpu {
    int irq_depth = 0, softirq_depth = 0;
    ThreadState host_state = ThreadState::unknown;   // VcpuView::host
    ThreadState outer_state = ThreadState::unknown;  // VcpuView::outer
  };

  Cpu& cpu_of(int64_t cpu);
  Thread& thread(Timestamp ts, int64_t tid);
  void update(Timestamp ts, int64_t tid, Thread& t);
  // Re-evaluates the state of the thread `tid` (the one on `cpu`).
  void update_running(Timestamp ts, int64_t tid);
  void close(Timestamp ts, int64_t tid, Thread& t);
  void retire(Timestamp ts, int64_t tid);

  int64_t machine_id_;
  const SchedState& sched_;
  ThreadStateListener& listener_;
  ThreadStateObserver* observer_ = nullptr;  // weak
  std::vector<Cpu> cpus_;
  std::unordered_map<int64_t, Thread> threads_;
  std::vector<ThreadNamespaces> retired_namespaces_;  // threads that died, with namespaces known
};

}  // namespace vm
