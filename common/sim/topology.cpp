// SPDX-License-Identifier: MIT
// The scenario model's topology: machines, their CPUs and threads (vCPU threads of the QEMU
// processes, workers, container processes), and the initial state of the run.

#include "sim/model_impl.h"

namespace vm {

int ScenarioModel::Impl::add_thread(int machine, int tid, int pid, int ppid, std::string comm, int home, Kind kind) {
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

int ScenarioModel::Impl::add_machine(const std::string& hostname, int parent, int ncpus, int64_t offset,
                                     double drift_ppm) {
  Machine m;
  m.info.hostname = hostname;
  m.info.parent = parent;
  m.info.layer = parent < 0 ? 0 : machines[static_cast<size_t>(parent)].info.layer + 1;
  m.info.cpus = ncpus;
  set_clock(m.info, offset, drift_ppm);
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
void ScenarioModel::Impl::add_vm_threads(int host, int guest, int pid, int first_home) {
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

void ScenarioModel::Impl::add_workers(int machine, int count, int first_tid, const char* name) {
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
void ScenarioModel::Impl::place(int id, const std::vector<int64_t>& chain, int parent,
                                std::map<int64_t, int64_t>& next_vtid) {
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
void ScenarioModel::Impl::add_containers(int machine) {
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

void ScenarioModel::Impl::build() {
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
  if (config.wake_causes)
    for (size_t m = 1; m < machines.size(); ++m) add_raisers(machines[m].info.parent, static_cast<int>(m));
  if (config.requests) add_requests();
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
    if (t.kind == Kind::idle || t.kind == Kind::parked || t.kind == Kind::raiser) continue;
    if (t.kind == Kind::worker && !t.forked && uniform() < 0.5) {
      t.state = State::sleeping;
      t.wake_at = config.start_ns + exponential(sleep_mean(t.machine));
      push_action(t.wake_at, ActionKind::wake, static_cast<int>(id), static_cast<uint64_t>(t.wake_at));
      continue;
    }
    t.state = State::runnable;
    cpus[static_cast<size_t>(t.home)].runqueue.push_back(static_cast<int>(id));
  }
  if (config.requests) log_states();
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

}  // namespace vm
