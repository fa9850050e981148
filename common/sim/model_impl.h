// SPDX-License-Identifier: MIT
#pragma once
// The private state of the scenario model (common/sim/scenario_model.h), internal to common/sim/.
// One struct, its methods defined by concern: topology.cpp, scheduler.cpp, kvm.cpp, devices.cpp,
// clocks.cpp, trace_events.cpp, truth.cpp, model.cpp.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sim/critical_truth.h"
#include "sim/scenario_model.h"

namespace vm {

namespace sim {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// sched_switch prev_state: runnable (preempted), TASK_INTERRUPTIBLE or TASK_UNINTERRUPTIBLE.
inline constexpr int64_t kRunnable = 0;
inline constexpr int64_t kInterruptible = 1;
inline constexpr int64_t kUninterruptible = 2;

// Guest devices (ScenarioConfig::disk_irq_rate, net_irq_rate).
struct Device {
  const char* name;
  int64_t irq, vector, fd, sleep_state;
};
inline constexpr Device kDevices[] = {{"virtio0-requests", 25, 34, 5, kUninterruptible},
                                      {"virtio1-input.0", 27, 36, 7, kInterruptible}};

}  // namespace sim

struct ScenarioModel::Impl {
  static constexpr int64_t kNever = sim::kNever;

  enum class Kind : uint8_t { idle, worker, vcpu, parked, raiser, request };
  enum class State : uint8_t { running, runnable, sleeping };

  struct Thread {
    int machine = 0;
    int tid = 0, pid = 0, ppid = 0;
    std::string comm;
    int prio = 20;
    int home = 0;  // global CPU index
    Kind kind = Kind::worker;
    State state = State::runnable;
    int64_t wake_at = kNever;  // sleeping: host time of its timer
    int64_t phase_end_rt = 0;  // running: run time of its CPU when its phase ends
    int64_t left = 0;          // not running: run time left in its phase
    bool woke_from_sleep = false;
    int io_wait = -1;  // sleeping: the device it waits for (-1: a timer)
    int woke_io = -1;  // woken by that device: its read returns when it runs
    // vCPU threads
    int child_cpu = -1;  // global index of the guest CPU it runs
    bool in_guest = false;
    bool io_pending = false;
    int64_t last_exit_reason = -1;
    TruthVcpuInterval truth;
    bool truth_open = false;
    // PID namespaces (when the traces tell them): levels[0] is the root's.
    std::vector<ScenarioNsLevel> levels;
    bool forked = false;  // not in the statedump: forked by `parent` right after it
    int parent_thread = -1;
    // `wake-causes`: a worker already woke a peer before this sleep; a raiser's pending signals
    // (bit d: device d of its VM)
    bool peer_woken = false;
    unsigned jobs = 0;
    int served_machine = -1;
    // the halt in progress (vCPU threads)
    bool halt_open = false, halt_woken = false;
    int halt_waker = -1;  // the thread that woke it from task context
    TruthHalt halt;
    // `nested-events`, on the host's vCPU threads of VM 1: the layer it runs (1, or 2 from the
    // nested entry until an exit is reflected), the layer of the exit it handles and its fate
    int8_t layer = 1, handled_layer = 1;
    const char* handled_to = nullptr;
    bool polling = false;   // halted, polling before it sleeps (`wake-causes`)
    bool vmresume = false;  // its exit being handled is L1's VMRESUME: the next entry enters L2
    // `requests` (requests.cpp), a request thread: 0 computing, 1 its read was notified, 2
    // computing after the read, 3 waiting for work; its read completed before it blocked
    int req_stage = 0;
    bool req_done = false;
  };

  struct Cpu {
    int machine = 0, index = 0;
    int idle_thread = 0;
    int current = 0;
    std::deque<int> runqueue;
    std::vector<int> homed;  // threads living here
    bool running = false;
    int64_t resumed_at = 0, frozen_rt = 0;
    int64_t slice_start_rt = 0;
    int64_t halt_rt = kNever;
    int64_t busy_until = 0;
    uint64_t generation = 0;
    bool pending_irq = false;
    unsigned pending_dev = 0;  // device interrupts to deliver (bit d: kDevices[d])
    int dev_raiser[2] = {-1, -1};  // `wake-causes`: the host thread that signalled device d
    bool pending_ipi = false;      // `wake-causes`: a reschedule IPI to deliver
    int ipi_from = -1;             // its sender (the guest CPU index)
    int64_t dev_raise_ts[2] = {-1, -1};  // `requests`: when dev_raiser signalled device d (its MSI)
    int vcpu_thread = -1;      // guest CPU: the thread that runs it on the parent
    TruthCpuInterval truth;
    bool truth_open = false;
  };

  struct Machine {
    ScenarioMachineInfo info;
    int cpu_base = 0;
    bool runs_vms = false;
    bool statedump_done = false;
    std::vector<int> threads;
    int raiser[2] = {-1, -1};  // `wake-causes`: the parent's threads that signal its devices
    int request = -1;          // `requests`: its request thread
  };

  enum class ActionKind : uint8_t { local, wake, host_irq, device_irq, host_disk };
  struct Action {
    int64_t time;
    uint64_t seq;
    ActionKind kind;
    int target;
    uint64_t generation;  // local: the CPU's; wake: the thread's wake_at
    bool operator>(const Action& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };
  struct Pending {
    ScenarioEvent event;
    uint64_t seq;
    bool operator>(const Pending& o) const {
      return event.host_ts != o.event.host_ts ? event.host_ts > o.event.host_ts : seq > o.seq;
    }
  };

  ScenarioConfig config;
  std::mt19937_64 rng;
  std::vector<Machine> machines;
  std::vector<ScenarioMachineInfo> infos;
  std::vector<Thread> threads;
  std::vector<Cpu> cpus;
  std::priority_queue<Action, std::vector<Action>, std::greater<Action>> actions;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> pending;
  uint64_t action_seq = 0, event_seq = 0, emitted = 0;
  int64_t now = 0;
  int64_t end = kNever;
  bool finished = false;
  ScenarioListener* listener = nullptr;  // during step()

  std::vector<std::pair<int64_t, double>> exit_mix;  // cumulative weights; empty: the built-in mix
  bool emit_ns = false;                              // the traces tell PID namespaces
  std::vector<ScenarioThreadNamespaces> namespaces;
  sim::LifeLog life;  // `requests`: the facts behind the true critical paths

  explicit Impl(const ScenarioConfig& c);

  // ---- randomness (portable: no std:: distributions, whose output is implementation-defined)
  double uniform() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
  int64_t exponential(double mean) {
    return std::max<int64_t>(1, static_cast<int64_t>(-std::log(1.0 - uniform()) * mean));
  }
  // A guest kernel text address (stored as int64, written as the unsigned field it is).
  int64_t kernel_rip() {
    return static_cast<int64_t>(0xffffffff81000000ULL + static_cast<uint64_t>(between(0, 0xfffff)));
  }
  int64_t between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(uniform() * double(hi - lo + 1)); }

  // ---- lookups
  // Run time of `cpu` at host time `t`: it stands still while the CPU does not run.
  int64_t rt(const Cpu& cpu, int64_t t) const {
    return cpu.running ? cpu.frozen_rt + (t - cpu.resumed_at) : cpu.frozen_rt;
  }
  Thread& th(int id) { return threads[static_cast<size_t>(id)]; }
  Cpu& cpu_of(const Thread& t) { return cpus[static_cast<size_t>(t.home)]; }
  bool is_guest_cpu(const Cpu& cpu) const { return machines[static_cast<size_t>(cpu.machine)].info.parent >= 0; }
  bool has_pending(const Cpu& cpu) const { return cpu.pending_irq || cpu.pending_dev != 0 || cpu.pending_ipi; }
  double device_rate_sum() const { return config.disk_irq_rate + config.net_irq_rate; }
  double work_mean(int machine) const { return machine == 0 ? 800'000.0 : 1'500'000.0; }
  double sleep_mean(int machine) const { return machine == 0 ? 2'500'000.0 : 3'000'000.0; }

  // ---- topology (topology.cpp): machines, CPUs, threads, containers; the initial state
  int add_thread(int machine, int tid, int pid, int ppid, std::string comm, int home, Kind kind);
  int add_machine(const std::string& hostname, int parent, int ncpus, int64_t offset, double drift_ppm);
  void add_vm_threads(int host, int guest, int pid, int first_home);
  void add_workers(int machine, int count, int first_tid, const char* name);
  void place(int id, const std::vector<int64_t>& chain, int parent, std::map<int64_t, int64_t>& next_vtid);
  void add_containers(int machine);
  void build();

  // ---- clocks (clocks.cpp)
  void set_clock(ScenarioMachineInfo& info, int64_t offset, double drift_ppm) const;
  int64_t to_machine_clock(int machine, int64_t host_ts) const;

  // ---- the event loop (model.cpp)
  void push_action(int64_t time, ActionKind kind, int target, uint64_t generation);
  void process(const Action& a);
  void release(ScenarioListener& out, int64_t before);
  void finish(ScenarioListener& out);
  bool step(ScenarioListener& out);

  // ---- scheduling (scheduler.cpp)
  int64_t deadline_rt(const Cpu& cpu) const;
  void reschedule(Cpu& cpu);
  int64_t deep_busy(const Cpu& cpu) const;
  void stop(Cpu& cpu, int64_t t);
  void resume(Cpu& cpu, int64_t t);
  int64_t switch_next(Cpu& cpu, int64_t t, int64_t prev_state);
  int64_t wake(Cpu& cpu, int64_t t, int id, const sim::WakeCause& cause);
  void timer_interrupt(Cpu& cpu, int64_t t);
  void raise_timer(Cpu& cpu, int64_t t);
  void on_local(Cpu& cpu, int64_t t);

  // ---- KVM (kvm.cpp)
  int64_t exit_handling(int64_t reason);
  int64_t random_exit_reason();
  int64_t kvm_exit(Cpu& cpu, Thread& v, int64_t t_req, int64_t reason, bool reflected = false);
  void kvm_entry(Cpu& cpu, Thread& v, int64_t t);
  void enter_guest_mode(Cpu& cpu, Thread& v, int64_t t, int8_t layer);
  void kick(Cpu& cpu, int64_t t, int64_t reason);
  void halt(Cpu& cpu, int64_t t);
  bool poll_done(Cpu& cpu, Thread& v, int64_t t);

  // ---- nested VMX as L0 records it (`nested-events`, nested_l0.cpp)
  bool runs_l2(const Thread& v) const;
  void l1_enters_l2(Cpu& l1_cpu, int64_t t);
  int64_t reflect_exit(Cpu& l1_cpu, int64_t t, int64_t reason);

  // ---- wake causes (`wake-causes`, wake_causes.cpp)
  void add_raisers(int host, int guest);
  bool try_wake_peer(Cpu& cpu, int64_t t, Thread& worker);
  int64_t remote_wake(Cpu& cpu, int64_t t, const Thread& waker, int id);
  void ipi_wake(Cpu& cpu, int64_t t, Thread& worker, int peer);
  void raise_by_thread(int machine, int64_t t, int d);
  void serve_devices(Cpu& cpu, int64_t t, Thread& raiser);
  void resched_interrupt(Cpu& cpu, int64_t t);
  int device_target(int machine, int d);

  // ---- request threads (`requests`, requests.cpp)
  int id_of(const Thread& t) const { return static_cast<int>(&t - threads.data()); }
  void add_requests();
  void log_states();
  void request_step(Cpu& cpu, int64_t t, Thread& r);
  bool try_dispatch(Cpu& cpu, int64_t t, Thread& worker);
  bool submit_io(Cpu& cpu, int64_t t, Thread& io);
  void host_disk_done(int io, int64_t t);
  void log_set(const Thread& t, int64_t ts, sim::LifeState state);
  void log_woken(const Thread& t, int64_t ts, const sim::WakeCause& cause);
  void emit_softirq(Cpu& cpu, int64_t t, const Thread& context, int64_t vec, bool entry);

  // ---- devices (devices.cpp)
  void raise_device(int machine, int64_t t, int d);
  void device_interrupt(Cpu& cpu, int64_t t, int d);
  void on_host_irq(Cpu& cpu, int64_t t);

  // ---- recorded events (trace_events.cpp): one function per event kind, whose parameters are
  // the event's LTTng payload fields; `context` is the thread it happens in (pid, tid, procname).
  void emit_sched_switch(Cpu& cpu, int64_t t, const Thread& context, const char* prev_comm, int64_t prev_tid,
                         int64_t prev_prio, int64_t prev_state, const char* next_comm, int64_t next_tid,
                         int64_t next_prio);
  void emit_sched_waking(Cpu& cpu, int64_t t, const Thread& context, const char* comm, int64_t tid, int64_t prio,
                         int64_t target_cpu);
  void emit_sched_wakeup(Cpu& cpu, int64_t t, const Thread& context, const char* comm, int64_t tid, int64_t prio,
                         int64_t target_cpu);
  void emit_sched_process_fork(Cpu& cpu, int64_t t, const Thread& context, const char* parent_comm, int64_t parent_tid,
                               int64_t parent_pid, int64_t parent_ns_inum, const char* child_comm, int64_t child_tid,
                               int64_t child_pid, int64_t child_ns_inum, const std::vector<int64_t>& vtids);
  // `level`: the LM <= 2.11 layout's namespace fields (level `ns_level` of the thread's chain).
  void emit_statedump_process(Cpu& cpu, int64_t t, const Thread& context, int64_t tid, int64_t pid, int64_t ppid,
                              const char* name, int64_t type, int64_t mode, int64_t submode, int64_t status,
                              int64_t cpu_id, const ScenarioNsLevel* level = nullptr, int64_t ns_level = 0);
  void emit_statedump_pid_ns(Cpu& cpu, int64_t t, const Thread& context, int64_t tid, int64_t vtid, int64_t vpid,
                             int64_t vppid, int64_t ns_level, int64_t ns_inum);
  void emit_kvm_entry(Cpu& cpu, int64_t t, const Thread& context, int64_t vcpu_id, int64_t rip, int64_t immediate_exit);
  void emit_kvm_exit(Cpu& cpu, int64_t t, const Thread& context, int64_t exit_reason, int64_t guest_rip, int64_t isa,
                     int64_t info1, int64_t info2, int64_t intr_info, int64_t error_code, int64_t vcpu_id);
  void emit_kvm_inj_virq(Cpu& cpu, int64_t t, const Thread& context, int64_t irq, int64_t soft, int64_t reinjected);
  void emit_irq_handler_entry(Cpu& cpu, int64_t t, const Thread& context, int64_t irq, const char* name);
  void emit_irq_handler_exit(Cpu& cpu, int64_t t, const Thread& context, int64_t irq, int64_t ret);
  void emit_kvm_apic_ipi(Cpu& cpu, int64_t t, const Thread& context, int64_t icr_low, int64_t dest_id);
  void emit_kvm_apic_accept_irq(Cpu& cpu, int64_t t, const Thread& context, int64_t apicid, int64_t dm, int64_t tm,
                                int64_t vec, int64_t coalesced);
  void emit_kvm_msi_set_irq(Cpu& cpu, int64_t t, const Thread& context, int64_t address, int64_t data);
  void emit_resched_irq(Cpu& cpu, int64_t t, const Thread& context, bool entry);
  void emit_kvm_nested_vmenter(Cpu& cpu, int64_t t, const Thread& context, int64_t rip, int64_t vmcb,
                               int64_t nested_rip, int64_t int_ctl, int64_t event_inj, int64_t npt, int64_t isa);
  void emit_kvm_nested_vmexit(Cpu& cpu, int64_t t, const Thread& context, int64_t rip, int64_t exit_code,
                              int64_t exit_info1, int64_t exit_info2, int64_t exit_int_info,
                              int64_t exit_int_info_err, int64_t isa);
  void emit_kvm_nested_vmexit_inject(Cpu& cpu, int64_t t, const Thread& context, int64_t exit_code,
                                     int64_t exit_info1, int64_t exit_info2, int64_t exit_int_info,
                                     int64_t exit_int_info_err, int64_t isa);
  void emit_timer_irq_entry(Cpu& cpu, int64_t t, const Thread& context, int64_t vector);
  void emit_timer_irq_exit(Cpu& cpu, int64_t t, const Thread& context, int64_t vector);
  void emit_syscall_entry_ioctl(Cpu& cpu, int64_t t, const Thread& context, int64_t fd, int64_t cmd, int64_t arg);
  void emit_syscall_exit_ioctl(Cpu& cpu, int64_t t, const Thread& context, int64_t ret, int64_t arg);
  void emit_syscall_entry_nanosleep(Cpu& cpu, int64_t t, const Thread& context, int64_t rqtp, int64_t rmtp);
  void emit_syscall_exit_nanosleep(Cpu& cpu, int64_t t, const Thread& context, int64_t ret, int64_t rmtp);
  void emit_syscall_entry_read(Cpu& cpu, int64_t t, const Thread& context, int64_t fd, int64_t buf, int64_t count);
  void emit_syscall_exit_read(Cpu& cpu, int64_t t, const Thread& context, int64_t ret, int64_t buf);
  // Queues an event with its fields (slots of ScenarioEvent::a and ::s).
  void record(Cpu& cpu, int64_t t, ScenarioEventType type, const Thread& context, std::initializer_list<int64_t> a,
              const char* s0 = "", const char* s1 = "");
  void record(Cpu& cpu, int64_t t, ScenarioEventType type, const Thread& context, const int64_t* a, size_t count,
              const char* s0 = "", const char* s1 = "");
  void statedump(int machine, int64_t t);

  // ---- truth (truth.cpp)
  void set_truth(Thread& v, int64_t t, const char* state, int64_t pcpu, int64_t preempting, int64_t reason);
  void listener_vcpu(TruthVcpuInterval interval);
  void update_cpu_truth(Cpu& cpu, int64_t t);
  void open_halt(Thread& v, int64_t t);
  void close_halt(Thread& v, int64_t t, int64_t vector, const Cpu& guest);
};

}  // namespace vm
