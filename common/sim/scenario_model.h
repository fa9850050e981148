// SPDX-License-Identifier: MIT
#pragma once
// A deterministic, seeded discrete-event model of a KVM host and its guests (and a nested L2
// guest inside the first VM), producing what LTTng's kernel tracer would record on every
// machine, plus the truth: every vCPU's state at every instant, what runs on every physical
// CPU, which guest is which VM, and each guest clock's transform into the host's.
// Babeltrace-free: source.vm.scenario turns its events into messages.
//
// The model, in host time (ns from the Unix epoch):
//   - every machine has CPUs (physical on the host, virtual in a guest) and threads; each
//     thread lives on one CPU (its home: no migration), each CPU schedules its threads
//     round robin with a time slice; a CPU with nothing runnable runs its idle task (tid 0);
//   - a guest CPU runs only while its vCPU thread on the parent machine is in guest mode
//     (between kvm_x86_entry and kvm_x86_exit): every CPU-local duration (work, slices, time
//     in guest mode) is counted in the CPU's own run time, which stands still meanwhile;
//   - a vCPU thread on its CPU alternates hypervisor handling (`vmm`) and guest mode; it exits
//     at random (exit_rate), for a host interrupt or slice end on its CPU (EXTERNAL_INTERRUPT),
//     for its guest's timer (PREEMPTION_TIMER), or HLT when its guest CPU goes idle, after
//     which it sleeps until its guest needs it again (a timer: sched_waking on the host);
//   - a guest's pending timer interrupt is injected (kvm_x86_inj_virq) at the next entry, and
//     the guest then runs its local_timer handler, which wakes its threads.
// Guest events carry guest clock timestamps: t_host = alpha * t_guest + beta (the truth).
//
// Invariants (tests/unit/scenario_model_test.cpp): per machine the events come in
// non-decreasing time; per vCPU the truth intervals tile [start, end); a guest CPU's events
// lie inside its vCPU's guest-mode windows; the same seed gives the same output.

// Where each part lives (common/sim/): the parameters in scenario_config.{h,cpp}, the event
// records in scenario_event.{h,cpp}; the model's private state in model_impl.h, built by
// topology.cpp (machines, CPUs, threads, containers), run by scheduler.cpp (the event loop, run
// time, context switches, timers), kvm.cpp (entries, exits, injection), devices.cpp (host and
// guest device interrupts), clocks.cpp (guest clock transforms), trace_events.cpp (one function
// per recorded event kind, the statedump) and truth.cpp (the truth intervals); truth_writer.h
// writes the truth as SQLite.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/critical_truth.h"
#include "sim/scenario_config.h"
#include "sim/scenario_event.h"

namespace vm {

// The true state of a vCPU, in the vocabulary of the `vcpu_state` table.
struct TruthVcpuInterval {
  int64_t ts = 0, dur = 0;  // host clock
  int32_t vm = 0;           // machine index of the VM (a guest)
  int32_t vcpu = 0;
  const char* state = "unknown";  // guest, vmm, preempted, idle
  int64_t pcpu = -1;              // CPU of the parent machine (guest, vmm, preempted)
  int64_t preempting_tid = -1;    // preempted: the thread on that CPU when it was taken or woken
  int64_t exit_reason = -1;       // vmm: the exit being handled
  // Nested virtualization (as sink.vm.sqlite's vcpu_state): 1 the VM's own code, 2 its nested
  // guest's (guest: whose code runs; vmm: whose exit is handled; preempted, idle: 2 from the
  // nested entry until an exit is reflected to L1); vmm rows handling an exit of the nested
  // guest: "L0" (handled, back to L2) or "L1" (reflected), else nullptr.
  int8_t guest_layer = 1;
  const char* nested_exit_to = nullptr;
};

// One halt of a vCPU (as sink.vm.sqlite's vcpu_halt): from its HLT exit to its next entry.
struct TruthHalt {
  int64_t ts = 0, dur = 0;  // host clock
  int32_t vm = 0;           // machine index of the VM
  int32_t vcpu = 0;
  bool slept = false;             // its thread was switched out sleeping
  int64_t wake_vector = -1;       // the first vector injected at the entry that ends it
  const char* reason = "none";    // timer, ipi, disk, net, device, none
  int64_t waker_tid = -1;         // the thread that woke its thread from task context
  int32_t waker_vm = -1;          // ipi: the sender; none: the vCPU whose thread woke it (a kick)
  int64_t waker_vcpu = -1;
  std::string device;             // disk, net: the host thread that signalled the vector
};

// What runs on a CPU of a machine that runs VMs (the host, or VM 1 when nested).
struct TruthCpuInterval {
  int64_t ts = 0, dur = 0;  // host clock
  int32_t machine = 0;
  int32_t cpu = 0;
  int64_t tid = 0;       // the thread on the CPU (0: idle)
  int32_t vm = -1;       // machine index of the VM whose code runs (guest mode), else -1
  int32_t vcpu = -1;
};

// A thread's place in one level of its PID-namespace chain (level 0: the machine's root).
struct ScenarioNsLevel {
  int64_t ns_inum = 0, vtid = 0, vpid = 0, vppid = 0;
};
struct ScenarioThreadNamespaces {
  int32_t machine = 0;
  int64_t tid = 0;
  std::vector<ScenarioNsLevel> levels;
};
constexpr int64_t kScenarioRootPidNs = 4026531836;

// A device interrupt a guest handled.
struct TruthGuestIrq {
  int64_t ts = 0;        // host clock, of its irq_handler_entry
  int32_t vm = 0;        // machine index of the guest
  int32_t vcpu = 0;
  int64_t irq = 0, vector = 0;
  const char* name = "";
  int64_t woken_tid = -1;  // the thread blocked on the device that it woke, or -1
};

class ScenarioListener {
 public:
  virtual ~ScenarioListener() = default;
  virtual void on_event(const ScenarioEvent& event) = 0;
  virtual void on_vcpu_interval(const TruthVcpuInterval&) {}
  virtual void on_cpu_interval(const TruthCpuInterval&) {}
  virtual void on_guest_irq(const TruthGuestIrq&) {}
  virtual void on_vcpu_halt(const TruthHalt&) {}
};

struct ScenarioMachineInfo {
  std::string hostname;  // also the trace name
  int parent = -1;       // machine index of the machine that runs it
  int layer = 0;
  int cpus = 0;
  int64_t qemu_pid = -1;  // on the parent: the process whose threads are its vCPUs
  // t_host = alpha * t_guest + beta (identity for the host).
  long double alpha = 1, beta = 0;
  std::string clock_uuid;  // 36 characters
  int64_t clock_offset_s = 0;  // the clock class offset: cycles = ts - offset_s * 1e9 (>= 0)
};

class ScenarioModel {
 public:
  explicit ScenarioModel(const ScenarioConfig& config);
  ~ScenarioModel();
  ScenarioModel(const ScenarioModel&) = delete;
  ScenarioModel& operator=(const ScenarioModel&) = delete;

  const std::vector<ScenarioMachineInfo>& machines() const;
  // Runs the simulation further and hands out, in host-time order, the events that are final
  // (and truth intervals as they close). Returns false once everything was handed out.
  bool step(ScenarioListener& listener);
  // Runs to the end.
  void run(ScenarioListener& listener) {
    while (step(listener)) {
    }
  }
  // Every non-idle thread's namespace levels, when the traces tell them (`containers` > 0 or
  // the LM <= 2.11 statedump); else empty.
  const std::vector<ScenarioThreadNamespaces>& thread_namespaces() const;
  int64_t end_ns() const;  // host clock; known once step() returned false
  // `requests`: the true critical path of every request thread (sim/critical_truth.h); known
  // once step() returned false, else empty.
  std::vector<sim::TruthPath> critical_paths() const;
  uint64_t event_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vm
