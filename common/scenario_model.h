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

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vm {

struct ScenarioConfig {
  uint64_t seed = 1;
  int pcpus = 2;
  int vms = 2;
  int vcpus_per_vm = 2;
  int guest_threads = 3;       // worker threads per guest (and in the nested L2 guest)
  int host_threads = 2;        // host tasks besides the vCPU threads
  double exit_rate = 5000;     // random exits per second of guest mode, per vCPU
  bool nested = false;         // an L2 guest inside VM 1 (its vCPUs are threads of VM 1)
  int nested_vcpus = 1;
  int64_t clock_offset_ns = 300'000'000;  // magnitude of the guests' clock offsets
  double drift_ppm = 20;                  // magnitude of the guests' clock drifts
  int64_t duration_ns = 1'000'000'000;    // of the simulation (when `events` is 0)
  uint64_t events = 0;                    // stop once this many events are recorded (all machines)
  bool old_names = false;                 // kvm_entry/kvm_exit (lttng-modules < 2.7.2) names
  int64_t start_ns = 1'700'000'000'000'000'000;  // host clock at the start
  int64_t time_slice_ns = 3'000'000;
  double host_irq_rate = 500;  // device interrupts per second per physical CPU
  // Weights of the random exits' reasons, e.g. "MSR:3,IO:1,NPF:2,CPUID:0.5" (names: see
  // scenario_exit_names()); empty: the built-in mix (30% EPT_VIOLATION, 20% IO, 20% MSR_WRITE,
  // 10% CPUID, 10% APIC_ACCESS, 10% EPT_MISCONFIG).
  std::string exit_mix;
  // PID-namespace containers in each guest: container c's init is tid 400 + c (vtid 1 in its
  // namespace, inode 4026532000 + 32 * machine + c); an odd c nests inside container c - 1.
  // Guest worker i (odd i) lives in container (i / 2) % containers; the first worker of a
  // container is in the statedump, the others are forked by its init right after it.
  int containers = 0;
  // Statedump layout: lttng-modules 2.12+ (lttng_statedump_process_pid_ns per level, emitted
  // only when `containers` > 0) or <= 2.11 (ns fields in lttng_statedump_process_state, one
  // event per level, deepest first).
  bool statedump_lm211 = false;
  // Guest device interrupts per second per VM (also the nested guest): the parent injects the
  // MSI vector (kvm_x86_inj_virq) and the guest runs its handler (irq_handler_entry/exit), which
  // wakes a thread blocked on that device. Disk: virtio-blk "virtio0-requests", guest irq 25,
  // vector 34; net: virtio-net "virtio1-input.0", guest irq 27, vector 36. With a rate, half of
  // a guest's workers' sleeps become blocking reads (syscall_entry_read) on a device instead.
  double disk_irq_rate = 0;
  double net_irq_rate = 0;
};

// The exit names `exit_mix` accepts, with the Intel VMX basic exit reason each stands for.
const char* scenario_exit_names();
// Parses `exit_mix` into (VMX exit reason, weight) pairs; returns a problem or an empty string.
std::string parse_exit_mix(const std::string& text, std::vector<std::pair<int64_t, double>>& out);

// Returns a problem with the configuration, or an empty string.
std::string validate(const ScenarioConfig& config);

enum class ScenarioEventType : uint8_t {
  sched_switch,       // a0 prev_tid, a1 prev_prio, a2 prev_state, a3 next_tid, a4 next_prio; s0 prev_comm, s1 next_comm
  sched_waking,       // a0 tid, a1 prio, a2 target_cpu; s0 comm
  sched_wakeup,       // same
  sched_process_fork, // a0 parent_tid, a1 parent_pid, a2 child_tid, a3 child_pid, a4 parent_ns_inum,
                      // a5 child_ns_inum, a6 number of vtids, a7.. vtids (root first); s0 parent_comm, s1 child_comm
  statedump_process,  // a0 tid, a1 pid, a2 ppid, a3 type, a4 mode, a5 submode, a6 status, a7 cpu; s0 name;
                      // LM <= 2.11 layout: also a8 vtid, a9 vpid, a10 vppid, a11 ns_level, a12 ns_inum
  kvm_entry,          // a0 vcpu_id, a1 rip, a2 immediate_exit
  kvm_exit,           // a0 exit_reason, a1 guest_rip, a2 isa, a3 info1, a4 info2, a5 intr_info, a6 error_code, a7 vcpu_id
  kvm_inj_virq,       // a0 irq, a1 soft, a2 reinjected
  irq_handler_entry,  // a0 irq; s0 name
  irq_handler_exit,   // a0 irq, a1 ret
  timer_irq_entry,    // x86_irq_vectors_local_timer_entry: a0 vector
  timer_irq_exit,     // x86_irq_vectors_local_timer_exit: a0 vector
  syscall_entry_ioctl,  // a0 fd, a1 cmd, a2 arg
  syscall_exit_ioctl,   // a0 ret, a1 arg
  syscall_entry_nanosleep,  // a0 rqtp, a1 rmtp
  syscall_exit_nanosleep,   // a0 ret, a1 rmtp
  statedump_pid_ns,   // lttng_statedump_process_pid_ns: a0 tid, a1 vtid, a2 vpid, a3 vppid, a4 ns_level, a5 ns_inum
  syscall_entry_read, // a0 fd, a1 buf, a2 count
  syscall_exit_read,  // a0 ret, a1 buf
  count
};
const char* scenario_event_name(ScenarioEventType type, bool old_names);

struct ScenarioEvent {
  int64_t ts = 0;       // in the machine's own clock (ns from the Unix epoch)
  int64_t host_ts = 0;  // the same instant in the host's clock
  int32_t machine = 0;
  int32_t cpu = 0;
  ScenarioEventType type = ScenarioEventType::sched_switch;
  int32_t tid = 0, pid = 0;         // common context: the thread the event happened in
  const char* procname = "";        // owned by the model
  int64_t a[13] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const char* s[2] = {"", ""};      // owned by the model
};

// The true state of a vCPU, in the vocabulary of the `vcpu_state` table.
struct TruthVcpuInterval {
  int64_t ts = 0, dur = 0;  // host clock
  int32_t vm = 0;           // machine index of the VM (a guest)
  int32_t vcpu = 0;
  const char* state = "unknown";  // guest, vmm, preempted, idle
  int64_t pcpu = -1;              // CPU of the parent machine (guest, vmm, preempted)
  int64_t preempting_tid = -1;    // preempted: the thread on that CPU when it was taken or woken
  int64_t exit_reason = -1;       // vmm: the exit being handled
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
  uint64_t event_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vm
