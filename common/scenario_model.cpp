#include "scenario_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <queue>
#include <random>
#include <stdexcept>

namespace vm {

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kTimerVector = 236;  // LOCAL_TIMER_VECTOR on x86

// Intel VMX basic exit reasons the model uses.
constexpr int64_t kExitExternalInterrupt = 1;
constexpr int64_t kExitCpuid = 10;
constexpr int64_t kExitHlt = 12;
constexpr int64_t kExitIo = 30;
constexpr int64_t kExitMsrWrite = 32;
constexpr int64_t kExitApicAccess = 44;
constexpr int64_t kExitEptViolation = 48;
constexpr int64_t kExitEptMisconfig = 49;
constexpr int64_t kExitPreemptionTimer = 52;
constexpr int64_t kExitMsrRead = 31;
constexpr int64_t kExitPause = 40;

// exit-mix names: AMD SVM spellings (MSR, IOIO, NPF) and Intel VMX ones, all mapped to the VMX
// codes the scenario's traces use (isa = 1).
struct ExitName {
  const char* name;
  int64_t reason;
};
constexpr ExitName kExitNames[] = {
    {"MSR", kExitMsrWrite},          {"MSR_WRITE", kExitMsrWrite},         {"MSR_READ", kExitMsrRead},
    {"IO", kExitIo},                 {"IOIO", kExitIo},                    {"IO_INSTRUCTION", kExitIo},
    {"NPF", kExitEptViolation},      {"EPT_VIOLATION", kExitEptViolation}, {"EPT_MISCONFIG", kExitEptMisconfig},
    {"CPUID", kExitCpuid},           {"APIC_ACCESS", kExitApicAccess},     {"PAUSE", kExitPause},
};

// sched_switch prev_state: runnable (preempted), TASK_INTERRUPTIBLE or TASK_UNINTERRUPTIBLE.
constexpr int64_t kRunnable = 0;
constexpr int64_t kInterruptible = 1;
constexpr int64_t kUninterruptible = 2;

// Guest devices (ScenarioConfig::disk_irq_rate, net_irq_rate).
struct Device {
  const char* name;
  int64_t irq, vector, fd, sleep_state;
};
constexpr Device kDevices[] = {{"virtio0-requests", 25, 34, 5, kUninterruptible},
                               {"virtio1-input.0", 27, 36, 7, kInterruptible}};

}  // namespace

const char* scenario_event_name(ScenarioEventType type, bool old_names) {
  switch (type) {
    case ScenarioEventType::sched_switch: return "sched_switch";
    case ScenarioEventType::sched_waking: return "sched_waking";
    case ScenarioEventType::sched_wakeup: return "sched_wakeup";
    case ScenarioEventType::sched_process_fork: return "sched_process_fork";
    case ScenarioEventType::statedump_process: return "lttng_statedump_process_state";
    case ScenarioEventType::kvm_entry: return old_names ? "kvm_entry" : "kvm_x86_entry";
    case ScenarioEventType::kvm_exit: return old_names ? "kvm_exit" : "kvm_x86_exit";
    case ScenarioEventType::kvm_inj_virq: return old_names ? "kvm_inj_virq" : "kvm_x86_inj_virq";
    case ScenarioEventType::irq_handler_entry: return "irq_handler_entry";
    case ScenarioEventType::irq_handler_exit: return "irq_handler_exit";
    case ScenarioEventType::timer_irq_entry: return "x86_irq_vectors_local_timer_entry";
    case ScenarioEventType::timer_irq_exit: return "x86_irq_vectors_local_timer_exit";
    case ScenarioEventType::syscall_entry_ioctl: return "syscall_entry_ioctl";
    case ScenarioEventType::syscall_exit_ioctl: return "syscall_exit_ioctl";
    case ScenarioEventType::syscall_entry_nanosleep: return "syscall_entry_nanosleep";
    case ScenarioEventType::syscall_exit_nanosleep: return "syscall_exit_nanosleep";
    case ScenarioEventType::statedump_pid_ns: return "lttng_statedump_process_pid_ns";
    case ScenarioEventType::syscall_entry_read: return "syscall_entry_read";
    case ScenarioEventType::syscall_exit_read: return "syscall_exit_read";
    case ScenarioEventType::count: break;
  }
  return "?";
}

const char* scenario_exit_names() {
  return "MSR (= MSR_WRITE), MSR_READ, IO (= IOIO, IO_INSTRUCTION), NPF (= EPT_VIOLATION), EPT_MISCONFIG, CPUID, "
         "APIC_ACCESS, PAUSE";
}

std::string parse_exit_mix(const std::string& text, std::vector<std::pair<int64_t, double>>& out) {
  out.clear();
  double total = 0;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    at = comma + 1;
    const size_t colon = item.find(':');
    if (colon == std::string::npos)
      return "`exit-mix`: `" + item + "` is not NAME:WEIGHT (e.g. exit-mix=\"MSR:3,IO:1,NPF:2,CPUID:0.5\")";
    std::string name = item.substr(0, colon);
    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    int64_t reason = -1;
    for (const ExitName& known : kExitNames)
      if (name == known.name) reason = known.reason;
    if (reason < 0) return "`exit-mix`: unknown exit `" + name + "` (known: " + scenario_exit_names() + ")";
    const std::string number = item.substr(colon + 1);
    char* rest = nullptr;
    const double weight = std::strtod(number.c_str(), &rest);
    if (number.empty() || *rest != '\0' || !(weight >= 0 && weight <= 1e9))
      return "`exit-mix`: the weight of `" + name + "` must be a number between 0 and 1e9";
    bool merged = false;
    for (auto& [r, w] : out)
      if (r == reason) w += weight, merged = true;
    if (!merged) out.emplace_back(reason, weight);
    total += weight;
  }
  if (!(total > 0)) return "`exit-mix` needs a positive weight";
  return "";
}

std::string validate(const ScenarioConfig& c) {
  if (c.pcpus < 1 || c.pcpus > 256) return "`pcpus` must be between 1 and 256";
  if (c.vms < 0 || c.vms > 64) return "`vms` must be between 0 and 64";
  if (c.vcpus_per_vm < 1 || c.vcpus_per_vm > 64) return "`vcpus-per-vm` must be between 1 and 64";
  if (c.guest_threads < 0 || c.guest_threads > 1000) return "`guest-threads` must be between 0 and 1000";
  if (c.host_threads < 0 || c.host_threads > 1000) return "`host-threads` must be between 0 and 1000";
  if (!(c.exit_rate > 0 && c.exit_rate <= 1e6)) return "`exit-rate` must be in (0, 1000000] exits per second";
  if (c.nested && c.vms < 1) return "`nested=true` needs at least one VM (`vms` >= 1)";
  if (c.nested_vcpus < 1 || c.nested_vcpus > 64) return "`nested-vcpus` must be between 1 and 64";
  if (c.clock_offset_ns < 0 || c.clock_offset_ns > 1'000'000'000)
    return "`clock-offset-ns` must be between 0 and 1000000000 (the KVM-window sync searches +-2 s)";
  if (!(c.drift_ppm >= 0 && c.drift_ppm <= 1000)) return "`drift-ppm` must be between 0 and 1000";
  if (c.duration_ns <= 0 && c.events == 0) return "`duration-ns` must be positive (or give `events`)";
  if (c.time_slice_ns < 10'000) return "`time-slice-ns` must be at least 10000";
  if (!(c.host_irq_rate >= 0 && c.host_irq_rate <= 1e5)) return "`host-irq-rate` must be between 0 and 100000";
  if (!(c.disk_irq_rate >= 0 && c.disk_irq_rate <= 1e5)) return "`disk-irq-rate` must be between 0 and 100000";
  if (!(c.net_irq_rate >= 0 && c.net_irq_rate <= 1e5)) return "`net-irq-rate` must be between 0 and 100000";
  if (c.containers < 0 || c.containers > 16) return "`containers` must be between 0 and 16";
  if (!c.exit_mix.empty()) {
    std::vector<std::pair<int64_t, double>> mix;
    std::string problem = parse_exit_mix(c.exit_mix, mix);
    if (!problem.empty()) return problem;
  }
  return "";
}

struct ScenarioModel::Impl {
  enum class Kind : uint8_t { idle, worker, vcpu, parked };
  enum class State : uint8_t { running, runnable, sleeping };

  struct Thread {
    int machine = 0;
    int tid = 0, pid = 0, ppid = 0;
    std::string comm;
    int prio = 20;
    int home = 0;  // global CPU index
    Kind kind = Kind::worker;
    State state = State::runnable;
    int64_t wake_at = kNever;    // sleeping: host time of its timer
    int64_t phase_end_rt = 0;    // running: run time of its CPU when its phase ends
    int64_t left = 0;            // not running: run time left in its phase
    bool woke_from_sleep = false;
    int io_wait = -1;   // sleeping: the device it waits for (-1: a timer)
    int woke_io = -1;   // woken by that device: its read returns when it runs
    // vCPU threads
    int child_cpu = -1;  // global index of the guest CPU it runs
    bool in_guest = false;
    bool io_pending = false;
    int64_t last_exit_reason = -1;
    TruthVcpuInterval truth;
    bool truth_open = false;
    // PID namespaces (when the traces tell them): levels[0] is the root's.
    std::vector<ScenarioNsLevel> levels;
    bool forked = false;      // not in the statedump: forked by `parent` right after it
    int parent_thread = -1;
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
    int vcpu_thread = -1;  // guest CPU: the thread that runs it on the parent
    TruthCpuInterval truth;
    bool truth_open = false;
  };

  struct Machine {
    ScenarioMachineInfo info;
    int cpu_base = 0;
    bool runs_vms = false;
    bool statedump_done = false;
    std::vector<int> threads;
  };

  enum class ActionKind : uint8_t { local, wake, host_irq, device_irq };
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
  std::vector<std::string> idle_names;  // "swapper/N" per CPU
  std::priority_queue<Action, std::vector<Action>, std::greater<Action>> actions;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> pending;
  uint64_t action_seq = 0, event_seq = 0, emitted = 0;
  int64_t now = 0;
  int64_t end = kNever;
  bool finished = false;
  bool drained = false;
  ScenarioListener* listener = nullptr;  // during step()

  std::vector<std::pair<int64_t, double>> exit_mix;  // cumulative weights; empty: the built-in mix
  bool emit_ns = false;  // the traces tell PID namespaces
  std::vector<ScenarioThreadNamespaces> namespaces;

  explicit Impl(const ScenarioConfig& c) : config(c), rng(c.seed) {
    const std::string problem = validate(c);
    if (!problem.empty()) throw std::invalid_argument(problem);
    if (!c.exit_mix.empty()) {
      parse_exit_mix(c.exit_mix, exit_mix);
      double sum = 0;
      for (auto& entry : exit_mix) entry.second = sum += entry.second;
    }
    build();
  }

  // ---- randomness (portable: no std:: distributions, whose output is implementation-defined)
  double uniform() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
  int64_t exponential(double mean) {
    return std::max<int64_t>(1, static_cast<int64_t>(-std::log(1.0 - uniform()) * mean));
  }
  // A guest kernel text address (stored as int64, written as the unsigned field it is).
  int64_t kernel_rip() { return static_cast<int64_t>(0xffffffff81000000ULL + static_cast<uint64_t>(between(0, 0xfffff))); }
  int64_t between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(uniform() * double(hi - lo + 1)); }

  // ---- construction
  int add_thread(int machine, int tid, int pid, int ppid, std::string comm, int home, Kind kind) {
    Thread t;
    t.machine = machine;
    t.tid = tid;
    t.pid = pid;
    t.ppid = ppid;
    t.comm = std::move(comm);
    t.home = home;
    t.kind = kind;
    threads.push_back(std::move(t));
    const int id = static_cast<int>(threads.size()) - 1;
    machines[static_cast<size_t>(machine)].threads.push_back(id);
    if (home >= 0) cpus[static_cast<size_t>(home)].homed.push_back(id);
    return id;
  }

  int add_machine(const std::string& hostname, int parent, int ncpus, int64_t offset, double drift_ppm) {
    Machine m;
    m.info.hostname = hostname;
    m.info.parent = parent;
    m.info.layer = parent < 0 ? 0 : machines[static_cast<size_t>(parent)].info.layer + 1;
    m.info.cpus = ncpus;
    const long double alpha = 1.0L + static_cast<long double>(drift_ppm) * 1e-6L;
    const long double h0 = static_cast<long double>(config.start_ns);
    m.info.alpha = alpha;
    m.info.beta = h0 - alpha * (h0 - static_cast<long double>(offset));
    m.info.clock_offset_s = (config.start_ns - std::abs(offset)) / 1'000'000'000 - 10;
    char uuid[40];
    const uint64_t a = config.seed * 0x9e3779b97f4a7c15ULL + machines.size() * 0xbf58476d1ce4e5b9ULL;
    const uint64_t b = (a ^ (a >> 31)) * 0x94d049bb133111ebULL;
    std::snprintf(uuid, sizeof uuid, "%08x-%04x-4%03x-8%03x-%012llx", unsigned(a >> 32), unsigned(a >> 16) & 0xffff,
                  unsigned(a) & 0xfff, unsigned(b >> 52) & 0xfff,
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    m.info.clock_uuid = uuid;
    m.cpu_base = static_cast<int>(cpus.size());
    machines.push_back(std::move(m));
    const int index = static_cast<int>(machines.size()) - 1;
    for (int c = 0; c < ncpus; ++c) {
      Cpu cpu;
      cpu.machine = index;
      cpu.index = c;
      cpu.running = parent < 0;
      cpu.resumed_at = config.start_ns;
      cpus.push_back(std::move(cpu));
    }
    for (int c = 0; c < ncpus; ++c) {
      const int id = add_thread(index, 0, 0, 0, "swapper/" + std::to_string(c), -1, Kind::idle);
      Cpu& cpu = cpus[static_cast<size_t>(machines[static_cast<size_t>(index)].cpu_base + c)];
      cpu.idle_thread = cpu.current = id;
      threads[static_cast<size_t>(id)].state = State::running;
      threads[static_cast<size_t>(id)].home = machines[static_cast<size_t>(index)].cpu_base + c;
    }
    return index;
  }

  // A QEMU process on `host` running `guest`'s CPUs; vCPU k lives on the host's CPU home(k).
  void add_vm_threads(int host, int guest, int pid, int first_home) {
    Machine& h = machines[static_cast<size_t>(host)];
    h.runs_vms = true;
    machines[static_cast<size_t>(guest)].info.qemu_pid = pid;
    const int main = add_thread(host, pid, pid, 1, "qemu-system-x86", h.cpu_base, Kind::parked);
    threads[static_cast<size_t>(main)].state = State::sleeping;
    const Machine& g = machines[static_cast<size_t>(guest)];
    for (int k = 0; k < g.info.cpus; ++k) {
      const int home = h.cpu_base + (first_home + k) % h.info.cpus;
      const int id = add_thread(host, pid + 1 + k, pid, 1, "CPU " + std::to_string(k) + "/KVM", home, Kind::vcpu);
      Thread& t = threads[static_cast<size_t>(id)];
      t.child_cpu = g.cpu_base + k;
      t.left = between(1'000, 20'000);
      cpus[static_cast<size_t>(g.cpu_base + k)].vcpu_thread = id;
    }
  }

  void add_workers(int machine, int count, int first_tid, const char* name) {
    const Machine& m = machines[static_cast<size_t>(machine)];
    for (int i = 0; i < count; ++i) {
      const int tid = first_tid + i;
      add_thread(machine, tid, tid, 1, std::string(name) + "-" + std::to_string(i), m.cpu_base + i % m.info.cpus,
                 Kind::worker);
      threads.back().left = exponential(work_mean(machine));
    }
  }

  // Gives thread `id` (a process) the namespace chain `chain` (root first), its parent process
  // being `parent` (-1: outside every container); `next_vtid` counts each namespace's pids.
  void place(int id, const std::vector<int64_t>& chain, int parent, std::map<int64_t, int64_t>& next_vtid) {
    Thread& t = th(id);
    t.parent_thread = parent;
    t.levels.clear();
    for (size_t k = 0; k < chain.size(); ++k) {
      if (k == 0) {
        t.levels.push_back({chain[0], t.tid, t.pid, t.ppid});
        continue;
      }
      const int64_t vtid = next_vtid.try_emplace(chain[k], 1).first->second++;
      const Thread* p = parent >= 0 ? &th(parent) : nullptr;
      const int64_t vppid = p && k < p->levels.size() ? p->levels[k].vpid : 0;
      t.levels.push_back({chain[k], vtid, vtid, vppid});
    }
  }

  // The containers of guest `machine` (see ScenarioConfig::containers).
  void add_containers(int machine) {
    const int cpu_base = machines[static_cast<size_t>(machine)].cpu_base;
    const int ncpus = machines[static_cast<size_t>(machine)].info.cpus;
    const int n = config.containers;
    std::vector<std::vector<int64_t>> chain(static_cast<size_t>(n));
    std::vector<int> init(static_cast<size_t>(n));
    std::map<int64_t, int64_t> next_vtid;
    for (int c = 0; c < n; ++c) {
      const int parent_c = c % 2 == 1 ? c - 1 : -1;
      std::vector<int64_t>& own = chain[static_cast<size_t>(c)];
      own = parent_c >= 0 ? chain[static_cast<size_t>(parent_c)] : std::vector<int64_t>{kScenarioRootPidNs};
      own.push_back(4026532000 + 32 * int64_t{machine} + c);
      const int parent = parent_c >= 0 ? init[static_cast<size_t>(parent_c)] : -1;
      const int id = add_thread(machine, 400 + c, 400 + c, parent >= 0 ? th(parent).tid : 1,
                                "cinit-" + std::to_string(c), cpu_base + c % ncpus, Kind::worker);
      th(id).left = exponential(work_mean(machine));
      place(id, own, parent, next_vtid);
      init[static_cast<size_t>(c)] = id;
    }
    std::vector<int> members(static_cast<size_t>(n), 0);
    const std::vector<int> ids = machines[static_cast<size_t>(machine)].threads;
    for (int id : ids) {
      Thread& t = th(id);
      if (t.kind != Kind::worker || t.tid < 300 || t.tid >= 400 || (t.tid - 300) % 2 == 0) continue;
      const int c = ((t.tid - 300) / 2) % n;
      t.ppid = th(init[static_cast<size_t>(c)]).tid;
      if (members[static_cast<size_t>(c)]++ > 0) {
        // Forked after the statedump, on CPU 0 (whose first events follow the statedump).
        t.forked = true;
        auto& homed = cpus[static_cast<size_t>(t.home)].homed;
        homed.erase(std::find(homed.begin(), homed.end(), id));
        t.home = cpu_base;
        cpus[static_cast<size_t>(cpu_base)].homed.push_back(id);
      }
      place(id, chain[static_cast<size_t>(c)], init[static_cast<size_t>(c)], next_vtid);
    }
  }

  double work_mean(int machine) const { return machine == 0 ? 800'000.0 : 1'500'000.0; }
  double sleep_mean(int machine) const { return machine == 0 ? 2'500'000.0 : 3'000'000.0; }

  void build() {
    const int host = add_machine("host", -1, config.pcpus, 0, 0);
    std::vector<int> guests;
    for (int v = 0; v < config.vms; ++v) {
      const double sign = v % 2 == 0 ? 1.0 : -1.0;
      const int64_t offset =
          static_cast<int64_t>(sign * static_cast<double>(config.clock_offset_ns) * (1.0 + 0.25 * (v % 4)));
      const double drift = config.drift_ppm * (v % 2 == 0 ? 1.0 : -0.6) * (1.0 + 0.1 * (v % 3));
      guests.push_back(add_machine("vm" + std::to_string(v + 1), host, config.vcpus_per_vm, offset, drift));
    }
    int l2 = -1;
    if (config.nested)
      l2 = add_machine("vm1-l2", guests[0], config.nested_vcpus,
                       -static_cast<int64_t>(0.7 * static_cast<double>(config.clock_offset_ns)), config.drift_ppm * 0.5);
    // Host: VM v's QEMU has pid 1000 + 100 v; its vCPU threads are spread over the physical CPUs.
    int next_home = 0;
    for (int v = 0; v < config.vms; ++v) {
      add_vm_threads(host, guests[static_cast<size_t>(v)], 1000 + 100 * v, next_home);
      next_home += config.vcpus_per_vm;
    }
    add_workers(host, config.host_threads, 500, "hostd");
    for (int v = 0; v < config.vms; ++v) add_workers(guests[static_cast<size_t>(v)], config.guest_threads, 300, "app");
    if (l2 >= 0) {
      // L2's vCPU k runs on VM 1's CPU k + 1: not on the host vCPU of the same index.
      add_vm_threads(guests[0], l2, 800, 1);
      add_workers(l2, config.guest_threads, 300, "app");
    }
    emit_ns = config.containers > 0 || config.statedump_lm211;
    if (config.containers > 0)
      for (size_t m = 1; m < machines.size(); ++m) add_containers(static_cast<int>(m));
    if (emit_ns)
      for (const Thread& t : threads) {
        if (t.kind == Kind::idle) continue;
        ScenarioThreadNamespaces entry;
        entry.machine = t.machine;
        entry.tid = t.tid;
        entry.levels = t.levels;
        if (entry.levels.empty()) entry.levels.push_back({kScenarioRootPidNs, t.tid, t.pid, t.ppid});
        threads[static_cast<size_t>(&t - threads.data())].levels = entry.levels;
        namespaces.push_back(std::move(entry));
      }
    for (const Machine& m : machines) infos.push_back(m.info);
    // Every thread starts runnable on its CPU (parked QEMU main threads sleep forever); some
    // workers start asleep. Every CPU starts in its idle task and switches right away.
    for (size_t id = 0; id < threads.size(); ++id) {
      Thread& t = threads[id];
      if (t.kind == Kind::idle || t.kind == Kind::parked) continue;
      if (t.kind == Kind::worker && !t.forked && uniform() < 0.5) {
        t.state = State::sleeping;
        t.wake_at = config.start_ns + exponential(sleep_mean(t.machine));
        push_action(t.wake_at, ActionKind::wake, static_cast<int>(id), static_cast<uint64_t>(t.wake_at));
        continue;
      }
      t.state = State::runnable;
      cpus[static_cast<size_t>(t.home)].runqueue.push_back(static_cast<int>(id));
    }
    for (size_t id = 0; id < threads.size(); ++id) {
      Thread& t = threads[id];
      if (t.kind != Kind::vcpu) continue;
      // Before its first KVM event nothing in the trace tells a vCPU's state; the truth does.
      const Cpu& home = cpus[static_cast<size_t>(t.home)];
      if (t.state == State::runnable)
        set_truth(t, config.start_ns, "preempted", home.index, threads[static_cast<size_t>(home.current)].tid, -1);
    }
    now = config.start_ns;
    // The host's statedump, on its CPU 0 at the start.
    statedump(host, config.start_ns);
    for (size_t c = 0; c < cpus.size(); ++c) {
      Cpu& cpu = cpus[c];
      if (!cpu.running) continue;
      cpu.busy_until = std::max(cpu.busy_until, config.start_ns + 500 * static_cast<int64_t>(cpu.index));
      update_cpu_truth(cpu, config.start_ns);
      reschedule(cpu);
      if (config.host_irq_rate > 0 && cpu.machine == host)
        push_action(config.start_ns + exponential(1e9 / config.host_irq_rate), ActionKind::host_irq,
                    static_cast<int>(c), 0);
    }
    for (size_t m = 1; m < machines.size(); ++m)
      for (int d = 0; d < 2; ++d) {
        const double rate = d == 0 ? config.disk_irq_rate : config.net_irq_rate;
        if (rate > 0)
          push_action(config.start_ns + exponential(1e9 / rate), ActionKind::device_irq, static_cast<int>(m),
                      static_cast<uint64_t>(d));
      }
    if (config.events == 0) end = config.start_ns + config.duration_ns;
  }

  void push_action(int64_t time, ActionKind kind, int target, uint64_t generation) {
    actions.push(Action{time, action_seq++, kind, target, generation});
  }

  // ---- time
  int64_t rt(const Cpu& cpu, int64_t t) const { return cpu.running ? cpu.frozen_rt + (t - cpu.resumed_at) : cpu.frozen_rt; }
  Thread& th(int id) { return threads[static_cast<size_t>(id)]; }
  Cpu& cpu_of(const Thread& t) { return cpus[static_cast<size_t>(t.home)]; }
  bool is_guest_cpu(const Cpu& cpu) const { return machines[static_cast<size_t>(cpu.machine)].info.parent >= 0; }

  // ---- events
  int64_t to_machine_clock(int machine, int64_t host_ts) const {
    const ScenarioMachineInfo& info = machines[static_cast<size_t>(machine)].info;
    if (info.parent < 0) return host_ts;
    const long double g = (static_cast<long double>(host_ts) - info.beta) / info.alpha;
    return static_cast<int64_t>(std::llround(g));
  }

  // Queues an event with its fields.
  void record(Cpu& cpu, int64_t t, ScenarioEventType type, const Thread& context, std::initializer_list<int64_t> a,
              const char* s0 = "", const char* s1 = "") {
    record(cpu, t, type, context, a.begin(), a.size(), s0, s1);
  }
  void record(Cpu& cpu, int64_t t, ScenarioEventType type, const Thread& context, const int64_t* a, size_t count,
              const char* s0 = "", const char* s1 = "") {
    Pending p;
    ScenarioEvent& e = p.event;
    e.host_ts = t;
    e.machine = cpu.machine;
    e.ts = to_machine_clock(cpu.machine, t);
    e.cpu = cpu.index;
    e.type = type;
    e.tid = context.tid;
    e.pid = context.pid;
    e.procname = context.comm.c_str();
    std::copy(a, a + std::min(count, std::size(e.a)), e.a);
    e.s[0] = s0;
    e.s[1] = s1;
    p.seq = event_seq++;
    cpu.busy_until = std::max(cpu.busy_until, t + 1);
    ++emitted;
    pending.push(p);
  }

  void statedump(int machine, int64_t t) {
    Machine& m = machines[static_cast<size_t>(machine)];
    m.statedump_done = true;
    Cpu& cpu0 = cpus[static_cast<size_t>(m.cpu_base)];
    const Thread& context = th(cpu0.current);
    for (int id : m.threads) {
      const Thread& t2 = th(id);
      if (t2.kind == Kind::idle || t2.forked) continue;
      // type 0 = user thread; mode/submode unknown (0); status 5 = WAIT_CPU or 2 = WAIT (sleeping)
      const int64_t status = t2.state == State::sleeping ? 2 : 5;
      const int64_t cpu = cpus[static_cast<size_t>(t2.home)].index;
      if (config.statedump_lm211) {
        // lttng-modules <= 2.11: one event per namespace level, deepest first.
        for (size_t k = t2.levels.size(); k-- > 0;) {
          const ScenarioNsLevel& l = t2.levels[k];
          record(cpu0, t, ScenarioEventType::statedump_process, context,
                 {t2.tid, t2.pid, t2.ppid, 0, 0, 0, status, cpu, l.vtid, l.vpid, l.vppid, static_cast<int64_t>(k),
                  l.ns_inum},
                 t2.comm.c_str());
          t += 150;
        }
        continue;
      }
      record(cpu0, t, ScenarioEventType::statedump_process, context, {t2.tid, t2.pid, t2.ppid, 0, 0, 0, status, cpu},
             t2.comm.c_str());
      t += 150;
      if (!emit_ns) continue;
      for (size_t k = t2.levels.size(); k-- > 0;) {
        const ScenarioNsLevel& l = t2.levels[k];
        record(cpu0, t, ScenarioEventType::statedump_pid_ns, context,
               {t2.tid, l.vtid, l.vpid, l.vppid, static_cast<int64_t>(k), l.ns_inum});
        t += 100;
      }
    }
    // Container processes started after the statedump (sched_process_fork, LM 2.13 layout).
    for (int id : m.threads) {
      const Thread& child = th(id);
      if (!child.forked) continue;
      const Thread& parent = th(child.parent_thread);
      int64_t a[13] = {parent.tid, parent.pid, child.tid, child.pid, parent.levels.back().ns_inum,
                       child.levels.back().ns_inum, static_cast<int64_t>(child.levels.size())};
      for (size_t k = 0; k < child.levels.size() && 7 + k < std::size(a); ++k) a[7 + k] = child.levels[k].vtid;
      record(cpu0, t, ScenarioEventType::sched_process_fork, context, a, std::size(a), parent.comm.c_str(),
             child.comm.c_str());
      t += 200;
    }
  }

  // ---- truth
  void set_truth(Thread& v, int64_t t, const char* state, int64_t pcpu, int64_t preempting, int64_t reason) {
    if (v.truth_open && t > v.truth.ts) {
      TruthVcpuInterval closed = v.truth;
      closed.dur = t - v.truth.ts;
      listener_vcpu(closed);
    }
    if (v.truth_open) t = std::max(t, v.truth.ts);
    const Cpu& guest = cpus[static_cast<size_t>(v.child_cpu)];
    v.truth = TruthVcpuInterval{};
    v.truth.ts = t;
    v.truth.vm = guest.machine;
    v.truth.vcpu = guest.index;
    v.truth.state = state;
    v.truth.pcpu = pcpu;
    v.truth.preempting_tid = preempting;
    v.truth.exit_reason = reason;
    v.truth_open = true;
  }
  // Intervals are clipped to the end of the run (the last actions may record a little later).
  void listener_vcpu(TruthVcpuInterval interval) {
    if (!listener || interval.ts >= end) return;
    interval.dur = std::min(interval.dur, end - interval.ts);
    listener->on_vcpu_interval(interval);
  }

  void update_cpu_truth(Cpu& cpu, int64_t t) {
    if (!machines[static_cast<size_t>(cpu.machine)].runs_vms) return;
    const Thread& cur = th(cpu.current);
    TruthCpuInterval next;
    next.ts = t;
    next.machine = cpu.machine;
    next.cpu = cpu.index;
    next.tid = cur.tid;
    if (cur.kind == Kind::vcpu && cur.in_guest) {
      const Cpu& guest = cpus[static_cast<size_t>(cur.child_cpu)];
      next.vm = guest.machine;
      next.vcpu = guest.index;
    }
    if (cpu.truth_open && cpu.truth.tid == next.tid && cpu.truth.vm == next.vm && cpu.truth.vcpu == next.vcpu) return;
    if (cpu.truth_open && t > cpu.truth.ts && listener && cpu.truth.ts < end) {
      TruthCpuInterval closed = cpu.truth;
      closed.dur = std::min(t, end) - cpu.truth.ts;
      listener->on_cpu_interval(closed);
    }
    cpu.truth = next;
    cpu.truth_open = true;
  }

  // ---- scheduling
  int64_t deadline_rt(const Cpu& cpu) const {
    const Thread& cur = threads[static_cast<size_t>(cpu.current)];
    const int64_t r = rt(cpu, now);
    if (cur.kind == Kind::idle) {
      if (!cpu.runqueue.empty()) return r;
      if (machines[static_cast<size_t>(cpu.machine)].info.parent >= 0 && !has_pending(cpu)) return cpu.halt_rt;
      return kNever;
    }
    int64_t d = cur.phase_end_rt;
    if (!cpu.runqueue.empty()) d = std::min(d, cpu.slice_start_rt + config.time_slice_ns);
    return d;
  }

  void reschedule(Cpu& cpu) {
    ++cpu.generation;
    if (!cpu.running) return;
    const int64_t d = deadline_rt(cpu);
    if (d == kNever) return;
    int64_t t = cpu.resumed_at + (d - cpu.frozen_rt);
    t = std::max({t, cpu.busy_until, now});
    push_action(t, ActionKind::local, static_cast<int>(&cpu - cpus.data()), cpu.generation);
  }

  int64_t deep_busy(const Cpu& cpu) const {
    int64_t b = cpu.busy_until;
    const Thread& cur = threads[static_cast<size_t>(cpu.current)];
    if (cur.kind == Kind::vcpu && cur.in_guest) b = std::max(b, deep_busy(cpus[static_cast<size_t>(cur.child_cpu)]));
    return b;
  }

  void stop(Cpu& cpu, int64_t t) {
    if (!cpu.running) return;
    cpu.frozen_rt = rt(cpu, t);
    cpu.running = false;
    ++cpu.generation;
    const Thread& cur = th(cpu.current);
    if (cur.kind == Kind::vcpu && cur.in_guest) stop(cpus[static_cast<size_t>(cur.child_cpu)], t);
  }

  void resume(Cpu& cpu, int64_t t) {
    cpu.running = true;
    cpu.resumed_at = t;
    cpu.busy_until = std::max(cpu.busy_until, t);
    Machine& m = machines[static_cast<size_t>(cpu.machine)];
    if (!m.statedump_done && cpu.index == 0) statedump(cpu.machine, t);
    if (th(cpu.current).kind == Kind::idle && cpu.runqueue.empty()) cpu.halt_rt = rt(cpu, t) + 1'500;
    for (int d = 0; d < 2; ++d)
      if (cpu.pending_dev & (1u << d)) device_interrupt(cpu, std::max(t + 250, cpu.busy_until), d);
    if (cpu.pending_irq) {
      cpu.pending_irq = false;
      timer_interrupt(cpu, std::max(t + 250, cpu.busy_until));
    }
    const Thread& cur = th(cpu.current);
    if (cur.kind == Kind::vcpu && cur.in_guest) resume(cpus[static_cast<size_t>(cur.child_cpu)], cpu.busy_until + 1);
    reschedule(cpu);
  }

  // Context switch on `cpu` at `t`: the current thread leaves (prev_state), the runqueue's head
  // (or the idle task) comes in.
  int64_t switch_next(Cpu& cpu, int64_t t, int64_t prev_state) {
    Thread& prev = th(cpu.current);
    int next_id = cpu.idle_thread;
    if (!cpu.runqueue.empty()) {
      next_id = cpu.runqueue.front();
      cpu.runqueue.pop_front();
    }
    Thread& next = th(next_id);
    record(cpu, t, ScenarioEventType::sched_switch, prev,
           {prev.tid, prev.kind == Kind::idle ? 120 : prev.prio + 100, prev.kind == Kind::idle ? 0 : prev_state,
            next.tid, next.kind == Kind::idle ? 120 : next.prio + 100},
           prev.comm.c_str(), next.comm.c_str());
    const int64_t r = rt(cpu, t);
    if (prev.kind != Kind::idle) {
      prev.left = std::max<int64_t>(200, prev.phase_end_rt - r);
      if (prev_state == kRunnable) {
        prev.state = State::runnable;
        cpu.runqueue.push_back(cpu.current);
        if (prev.kind == Kind::vcpu) set_truth(prev, t, "preempted", cpu.index, next.tid, -1);
      } else {
        prev.state = State::sleeping;
        if (prev.kind == Kind::vcpu) set_truth(prev, t, "idle", -1, -1, -1);
      }
    }
    cpu.current = next_id;
    cpu.slice_start_rt = r;
    next.state = State::running;
    if (next.kind == Kind::idle) {
      cpu.halt_rt = r + 1'500;
    } else {
      next.phase_end_rt = r + next.left;
      if (next.kind == Kind::vcpu) set_truth(next, t, "vmm", cpu.index, -1, next.last_exit_reason);
      if (next.woke_io >= 0) {
        const int d = next.woke_io;
        next.woke_io = -1;
        t += 400;
        record(cpu, t, ScenarioEventType::syscall_exit_read, next, {4096, 0x7ffd1000 + 0x100 * d});
      } else if (next.woke_from_sleep) {
        next.woke_from_sleep = false;
        t += 400;
        record(cpu, t, ScenarioEventType::syscall_exit_nanosleep, next, {0, 0});
      }
    }
    update_cpu_truth(cpu, t);
    return t;
  }

  int64_t exit_handling(int64_t reason) {
    switch (reason) {
      case kExitIo: return between(15'000, 60'000);
      case kExitEptViolation: return between(2'000, 8'000);
      case kExitEptMisconfig: return between(3'000, 10'000);
      case kExitHlt: return between(1'500, 3'000);
      default: return between(800, 2'500);
    }
  }

  int64_t random_exit_reason() {
    const double u = uniform();
    if (!exit_mix.empty()) {
      const double x = u * exit_mix.back().second;
      for (const auto& [reason, cumulative] : exit_mix)
        if (x < cumulative) return reason;
      return exit_mix.back().first;
    }
    if (u < 0.30) return kExitEptViolation;
    if (u < 0.50) return kExitIo;
    if (u < 0.70) return kExitMsrWrite;
    if (u < 0.80) return kExitCpuid;
    if (u < 0.90) return kExitApicAccess;
    return kExitEptMisconfig;
  }

  // The vCPU thread `v`, in guest mode on `cpu`, exits for `reason` (at `t_req` or as soon as
  // its guest CPU finished what it was recording). Returns the exit's time.
  int64_t kvm_exit(Cpu& cpu, Thread& v, int64_t t_req, int64_t reason) {
    Cpu& guest = cpus[static_cast<size_t>(v.child_cpu)];
    const int64_t te = std::max({t_req, deep_busy(guest) + 1, cpu.busy_until});
    stop(guest, te);
    const bool vmx_info = reason == kExitEptViolation || reason == kExitEptMisconfig;
    record(cpu, te, ScenarioEventType::kvm_exit, v,
           {reason, kernel_rip(), 1, vmx_info ? 0x181 : 0,
            vmx_info ? 0x7f000000 + between(0, 0xffff) : 0, reason == kExitExternalInterrupt ? 0x800000ec : 0, 0,
            guest.index});
    v.in_guest = false;
    v.last_exit_reason = reason;
    set_truth(v, te, "vmm", cpu.index, -1, reason);
    v.phase_end_rt = rt(cpu, te) + exit_handling(reason);
    if (reason == kExitIo) {
      v.io_pending = true;
      record(cpu, te + 300, ScenarioEventType::syscall_exit_ioctl, v, {0, 0});
    }
    update_cpu_truth(cpu, te);
    return te;
  }

  void kvm_entry(Cpu& cpu, Thread& v, int64_t t) {
    Cpu& guest = cpus[static_cast<size_t>(v.child_cpu)];
    if (v.io_pending) {
      v.io_pending = false;
      record(cpu, t, ScenarioEventType::syscall_entry_ioctl, v, {v.pid % 64 + 10, 0xae80 /* KVM_RUN */, 0});
      t += 500;
    }
    if (guest.pending_irq) {
      record(cpu, t, ScenarioEventType::kvm_inj_virq, v, {kTimerVector, 0, 0});
      t += 400;
    }
    for (int d = 0; d < 2; ++d)
      if (guest.pending_dev & (1u << d)) {
        record(cpu, t, ScenarioEventType::kvm_inj_virq, v, {kDevices[d].vector, 0, 0});
        t += 400;
      }
    record(cpu, t, ScenarioEventType::kvm_entry, v, {guest.index, kernel_rip(), 0});
    v.in_guest = true;
    set_truth(v, t, "guest", cpu.index, -1, -1);
    v.phase_end_rt = rt(cpu, t) + exponential(1e9 / config.exit_rate);
    update_cpu_truth(cpu, t);
    resume(guest, t + 1);
  }

  // The thread `id`, homed on `cpu`, wakes up (in an interrupt handler at `t`) and queues.
  // Returns the time after the wakeup.
  int64_t wake(Cpu& cpu, int64_t t, int id) {
    Thread& w = th(id);
    const Thread& context = th(cpu.current);
    record(cpu, t, ScenarioEventType::sched_waking, context, {w.tid, w.prio + 100, cpu.index}, w.comm.c_str());
    if (w.kind == Kind::vcpu) set_truth(w, t, "preempted", cpu.index, context.tid, -1);
    t += 300;
    record(cpu, t, ScenarioEventType::sched_wakeup, context, {w.tid, w.prio + 100, cpu.index}, w.comm.c_str());
    w.state = State::runnable;
    cpu.runqueue.push_back(id);
    return t + 300;
  }

  // A timer interrupt on a running CPU: wakes the threads whose time has come.
  void timer_interrupt(Cpu& cpu, int64_t t) {
    t = std::max(t, cpu.busy_until);
    Thread& cur = th(cpu.current);
    if (cur.kind == Kind::vcpu && cur.in_guest) t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + 300;
    record(cpu, t, ScenarioEventType::timer_irq_entry, th(cpu.current), {kTimerVector});
    t += 600;
    for (int id : cpu.homed) {
      Thread& w = th(id);
      if (w.state != State::sleeping || w.wake_at > t) continue;
      t = wake(cpu, t, id);
      w.wake_at = kNever;
      if (w.kind == Kind::worker) {
        w.left = exponential(work_mean(w.machine));
        w.woke_from_sleep = true;
      } else {
        w.left = between(1'000, 3'000);
      }
    }
    record(cpu, t, ScenarioEventType::timer_irq_exit, th(cpu.current), {kTimerVector});
    t += 300;
    if (th(cpu.current).kind == Kind::idle && !cpu.runqueue.empty()) switch_next(cpu, t, kRunnable);
    reschedule(cpu);
  }

  // A timer of CPU `cpu` fires at `t`.
  void raise_timer(Cpu& cpu, int64_t t) {
    if (!is_guest_cpu(cpu)) return timer_interrupt(cpu, t);
    cpu.pending_irq = true;
    // The guest's timer (VMX preemption timer): exit, then the interrupt is injected.
    kick(cpu, t, kExitPreemptionTimer);
  }

  // An interrupt became pending on the guest CPU `cpu` at `t`: a running vCPU exits for
  // `reason`, a sleeping vCPU thread wakes. Otherwise the vCPU thread waits for its CPU or is in
  // the hypervisor: the interrupt is injected at its next entry.
  void kick(Cpu& cpu, int64_t t, int64_t reason) {
    Thread& v = th(cpu.vcpu_thread);
    Cpu& parent = cpu_of(v);
    if (cpu.running) {
      kvm_exit(parent, v, std::max(t, parent.busy_until), reason);
      v.phase_end_rt = rt(parent, parent.busy_until) + between(800, 2'000);
      reschedule(parent);
    } else if (v.state == State::sleeping) {
      v.wake_at = std::min(v.wake_at, t);
      raise_timer(parent, t);
    }
  }

  // The guest CPU `cpu` has nothing to run: HLT, and its vCPU thread sleeps.
  void halt(Cpu& cpu, int64_t t) {
    Thread& v = th(cpu.vcpu_thread);
    Cpu& parent = cpu_of(v);
    const int64_t te = kvm_exit(parent, v, t, kExitHlt);
    if (!has_pending(cpu)) {
      const int64_t ts = std::max(te + 1'200, parent.busy_until);
      v.phase_end_rt = rt(parent, ts);
      switch_next(parent, ts, kInterruptible);
      v.wake_at = kNever;
    }
    reschedule(parent);
  }

  void on_local(Cpu& cpu, int64_t t) {
    Thread& cur = th(cpu.current);
    const int64_t r = rt(cpu, t);
    if (cur.kind == Kind::idle) {
      if (!cpu.runqueue.empty())
        switch_next(cpu, t, kRunnable);
      else if (is_guest_cpu(cpu) && !has_pending(cpu))
        return halt(cpu, t);
    } else if (!cpu.runqueue.empty() && r >= cpu.slice_start_rt + config.time_slice_ns) {
      if (cur.kind == Kind::vcpu && cur.in_guest) {
        // The host's tick interrupts the guest; the scheduler then switches.
        t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + between(800, 1'500);
      }
      switch_next(cpu, t, kRunnable);
    } else if (cur.kind == Kind::worker && is_guest_cpu(cpu) && device_rate_sum() > 0 && uniform() < 0.5) {
      // A blocking read on a device: its interrupt wakes it.
      const int d = uniform() * device_rate_sum() < config.disk_irq_rate ? 0 : 1;
      record(cpu, t, ScenarioEventType::syscall_entry_read, cur, {kDevices[d].fd, 0x7ffd1000 + 0x100 * d, 4096});
      t += 700;
      cur.io_wait = d;
      cur.wake_at = kNever;
      switch_next(cpu, t, kDevices[d].sleep_state);
    } else if (cur.kind == Kind::worker) {
      record(cpu, t, ScenarioEventType::syscall_entry_nanosleep, cur, {0x7ffd0000, 0});
      t += 700;
      cur.wake_at = t + exponential(sleep_mean(cur.machine));
      push_action(cur.wake_at, ActionKind::wake, cpu.current, static_cast<uint64_t>(cur.wake_at));
      switch_next(cpu, t, kInterruptible);
    } else if (cur.kind == Kind::vcpu) {
      if (cur.in_guest)
        kvm_exit(cpu, cur, t, random_exit_reason());
      else
        kvm_entry(cpu, cur, t);
    }
    reschedule(cpu);
  }

  bool has_pending(const Cpu& cpu) const { return cpu.pending_irq || cpu.pending_dev != 0; }
  double device_rate_sum() const { return config.disk_irq_rate + config.net_irq_rate; }

  // Device `d` of guest `machine` interrupts at `t`: to the CPU of the first thread waiting for
  // it, else to vCPU d % cpus. The vCPU exits (a host interrupt) or its thread wakes; the vector
  // is injected at the next entry.
  void raise_device(int machine, int64_t t, int d) {
    const Machine& m = machines[static_cast<size_t>(machine)];
    int target = m.cpu_base + d % m.info.cpus;
    for (int id : m.threads)
      if (th(id).state == State::sleeping && th(id).io_wait == d) {
        target = th(id).home;
        break;
      }
    Cpu& cpu = cpus[static_cast<size_t>(target)];
    if (cpu.pending_dev & (1u << d)) return;  // already pending: one delivery serves both
    cpu.pending_dev |= 1u << d;
    kick(cpu, t, kExitExternalInterrupt);
  }

  // The guest CPU `cpu` runs device `d`'s handler, which wakes a thread waiting for it.
  void device_interrupt(Cpu& cpu, int64_t t, int d) {
    cpu.pending_dev &= ~(1u << d);
    t = std::max(t, cpu.busy_until);
    Thread& cur = th(cpu.current);
    if (cur.kind == Kind::vcpu && cur.in_guest) t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + 300;
    const Device& device = kDevices[d];
    TruthGuestIrq truth;
    truth.ts = t;
    truth.vm = cpu.machine;
    truth.vcpu = cpu.index;
    truth.irq = device.irq;
    truth.vector = device.vector;
    truth.name = device.name;
    record(cpu, t, ScenarioEventType::irq_handler_entry, th(cpu.current), {device.irq}, device.name);
    t += 500;
    for (int id : cpu.homed) {
      Thread& w = th(id);
      if (w.state != State::sleeping || w.io_wait != d) continue;
      t = wake(cpu, t, id);
      w.io_wait = -1;
      w.woke_io = d;
      w.left = exponential(work_mean(w.machine));
      truth.woken_tid = w.tid;
      break;
    }
    record(cpu, t + between(500, 2'000), ScenarioEventType::irq_handler_exit, th(cpu.current), {device.irq, 1});
    t = cpu.busy_until + 300;
    if (listener && truth.ts < end) listener->on_guest_irq(truth);
    if (th(cpu.current).kind == Kind::idle && !cpu.runqueue.empty()) switch_next(cpu, t, kRunnable);
    reschedule(cpu);
  }

  void on_host_irq(Cpu& cpu, int64_t t) {
    t = std::max(t, cpu.busy_until);
    Thread& cur = th(cpu.current);
    if (cur.kind == Kind::vcpu && cur.in_guest) t = kvm_exit(cpu, cur, t, kExitExternalInterrupt) + 300;
    const int64_t irq = 24 + cpu.index;
    record(cpu, t, ScenarioEventType::irq_handler_entry, th(cpu.current), {irq}, "eth0");
    record(cpu, t + between(1'000, 4'000), ScenarioEventType::irq_handler_exit, th(cpu.current), {irq, 1});
    reschedule(cpu);
  }

  void process(const Action& a) {
    now = a.time;
    switch (a.kind) {
      case ActionKind::local: {
        Cpu& cpu = cpus[static_cast<size_t>(a.target)];
        if (a.generation != cpu.generation || !cpu.running) return;
        on_local(cpu, std::max(a.time, cpu.busy_until));
        break;
      }
      case ActionKind::wake: {
        Thread& t = th(a.target);
        if (t.state != State::sleeping || static_cast<uint64_t>(t.wake_at) != a.generation) return;
        raise_timer(cpu_of(t), a.time);
        break;
      }
      case ActionKind::device_irq: {
        const int d = static_cast<int>(a.generation);
        raise_device(a.target, a.time, d);
        push_action(a.time + exponential(1e9 / (d == 0 ? config.disk_irq_rate : config.net_irq_rate)),
                    ActionKind::device_irq, a.target, a.generation);
        break;
      }
      case ActionKind::host_irq: {
        Cpu& cpu = cpus[static_cast<size_t>(a.target)];
        on_host_irq(cpu, a.time);
        push_action(a.time + exponential(1e9 / config.host_irq_rate), ActionKind::host_irq, a.target, 0);
        break;
      }
    }
  }

  void release(ScenarioListener& out, int64_t before) {
    while (!pending.empty() && pending.top().event.host_ts < before) {
      out.on_event(pending.top().event);
      pending.pop();
    }
  }

  void finish(ScenarioListener& out) {
    finished = true;
    if (end == kNever) end = now + 1;
    for (Thread& t : threads)
      if (t.kind == Kind::vcpu && t.truth_open && end > t.truth.ts) {
        TruthVcpuInterval closed = t.truth;
        closed.dur = end - t.truth.ts;
        out.on_vcpu_interval(closed);
        t.truth_open = false;
      }
    for (Cpu& c : cpus)
      if (c.truth_open && end > c.truth.ts) {
        TruthCpuInterval closed = c.truth;
        closed.dur = end - c.truth.ts;
        out.on_cpu_interval(closed);
        c.truth_open = false;
      }
    release(out, end);
    while (!pending.empty()) pending.pop();  // recorded after the end: not in the trace
  }

  bool step(ScenarioListener& out) {
    if (finished) return false;
    listener = &out;
    for (int batch = 0; batch < 64; ++batch) {
      if (actions.empty() || actions.top().time >= end) {
        finish(out);
        break;
      }
      const Action a = actions.top();
      actions.pop();
      process(a);
      // Enough events: run 1 ms more, so that nothing recorded so far lies past the end.
      if (config.events > 0 && emitted >= config.events && end == kNever) end = now + 1'000'000;
      release(out, now);
    }
    listener = nullptr;
    return true;
  }
};

ScenarioModel::ScenarioModel(const ScenarioConfig& config) : impl_(std::make_unique<Impl>(config)) {}
ScenarioModel::~ScenarioModel() = default;
const std::vector<ScenarioMachineInfo>& ScenarioModel::machines() const { return impl_->infos; }
bool ScenarioModel::step(ScenarioListener& listener) { return impl_->step(listener); }
int64_t ScenarioModel::end_ns() const { return impl_->end; }
const std::vector<ScenarioThreadNamespaces>& ScenarioModel::thread_namespaces() const { return impl_->namespaces; }
uint64_t ScenarioModel::event_count() const { return impl_->emitted; }

}  // namespace vm
