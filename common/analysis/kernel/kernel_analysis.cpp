// SPDX-License-Identifier: MIT
#include "analysis/kernel/kernel_analysis.h"

#include <map>

#include "analysis/run.h"
#include "analysis/vcpu/vcpu_analysis.h"

namespace vm {

namespace {

const db::SchemaObject kSchema[] = {
    {db::ObjectKind::table, "thread_state",
     "each thread's state intervals: running, wait_cpu, blocked, vcpu_preempted, vmm, ...", R"sql(
CREATE TABLE thread_state(
  ts INTEGER NOT NULL,
  dur INTEGER NOT NULL,
  machine_id INTEGER NOT NULL,   -- the machine whose thread this is (host, guest, nested guest)
  tid INTEGER NOT NULL,
  state TEXT NOT NULL,           -- 'running', 'interrupted', 'wait_cpu', 'blocked', 'vcpu_preempted'
                                 -- (on a vCPU the host preempted), 'vmm' (on a vCPU in the
                                 -- hypervisor), 'vcpu_halted' (on a vCPU that halted: a
                                 -- paravirtual lock wait), 'unknown'
  cpu INTEGER                    -- running, interrupted, vcpu_preempted, vmm: its CPU (a vCPU in a guest)
))sql"},
    {db::ObjectKind::table, "container", "the PID namespaces of each machine and their tree (level 0: its root)",
     R"sql(
CREATE TABLE container(
  machine_id INTEGER NOT NULL REFERENCES machine(id),
  ns_inum INTEGER NOT NULL,
  parent_ns_inum INTEGER,        -- NULL for the root
  ns_level INTEGER NOT NULL,
  PRIMARY KEY(machine_id, ns_inum)
))sql"},
    {db::ObjectKind::table, "container_thread",
     "each thread's namespace, vtid, vpid and vppid at every level of its chain", R"sql(
CREATE TABLE container_thread(
  machine_id INTEGER NOT NULL REFERENCES machine(id),
  tid INTEGER NOT NULL,          -- the machine's (root namespace) tid
  ns_level INTEGER NOT NULL,
  ns_inum INTEGER,
  vtid INTEGER,                  -- its tid in that namespace
  vpid INTEGER,
  vppid INTEGER                  -- its parent's pid there (0: the parent is outside)
))sql"},
    {db::ObjectKind::index, "thread_state_by_tid", "",
     "CREATE INDEX thread_state_by_tid ON thread_state(machine_id, tid, ts)", db::IndexSet::by_key},
    {db::ObjectKind::index, "thread_state_by_ts", "", "CREATE INDEX thread_state_by_ts ON thread_state(ts)",
     db::IndexSet::by_time},
    {db::ObjectKind::index, "container_thread_by_tid", "",
     "CREATE INDEX container_thread_by_tid ON container_thread(machine_id, tid)"},
    {db::ObjectKind::view, "thread_delay",
     "each thread's time by state, its vCPU's preemption and hypervisor time included",
     R"sql(
CREATE VIEW thread_delay AS
SELECT ts.machine_id, ts.tid,
       (SELECT th.name FROM thread th WHERE th.machine_id = ts.machine_id AND th.tid = ts.tid LIMIT 1) AS name,
       MIN(ts.ts) AS begin_ts, MAX(ts.ts + ts.dur) AS end_ts,
       SUM(ts.dur) FILTER (WHERE ts.state = 'running') AS running_ns,
       SUM(ts.dur) FILTER (WHERE ts.state = 'interrupted') AS interrupted_ns,
       SUM(ts.dur) FILTER (WHERE ts.state = 'wait_cpu') AS wait_cpu_ns,
       SUM(ts.dur) FILTER (WHERE ts.state = 'blocked') AS blocked_ns,
       SUM(ts.dur) FILTER (WHERE ts.state = 'vcpu_preempted') AS vcpu_preempted_ns,
       SUM(ts.dur) FILTER (WHERE ts.state = 'vmm') AS vmm_ns,
       SUM(ts.dur) FILTER (WHERE ts.state = 'vcpu_halted') AS vcpu_halted_ns,
       SUM(ts.dur) FILTER (WHERE ts.state = 'unknown') AS unknown_ns
FROM thread_state ts
GROUP BY ts.machine_id, ts.tid)sql"},
};

}  // namespace

const AnalysisInfo KernelAnalysis::info = {"kernel", "thread states, CPU modes and PID namespaces of every machine",
                                           db::objects_of(kSchema), create_analysis<KernelAnalysis>};

KernelAnalysis::KernelAnalysis(Run& run)
    : run_(run),
      vcpus_(run.get<VcpuAnalysis>()),
      insert_thread_state_(
          db::prepare_insert(run.database(), "thread_state", {"ts", "dur", "machine_id", "tid", "state", "cpu"})) {
  vcpus_.set_observer(this);
}

void KernelAnalysis::on_machine(TracedMachine& machine) {
  if (models_.size() <= machine.index) models_.resize(machine.index + 1);
  models_[machine.index] = std::make_unique<KernelModel>(machine.id, machine.sched(), *this);
}

// A hypervisor that is itself a guest (L1): its vCPU threads' states reach its guests (L2).
void KernelAnalysis::on_guest_linked(TracedMachine&) {
  for (const TracedMachine* guest : run_.machines())
    if (guest->host && guest->host->host) model(*guest->host).set_observer(this);
}

void KernelAnalysis::on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp, int64_t cpu, int64_t) {
  model(machine).on_lost_events(begin, cpu);
}

void KernelAnalysis::finish_machine(TracedMachine& machine, Timestamp end) {
  model(machine).finish(run_.fused() ? end : machine.last_ts);
}

void KernelAnalysis::write(Run& run) {
  for (const TracedMachine* machine : run.machines()) add_namespaces(machine->id, model(*machine).namespaces());
}

ThreadState guest_thread_state(VcpuState state) {
  switch (state) {
    case VcpuState::vmm: return ThreadState::vmm;
    case VcpuState::preempted: return ThreadState::vcpu_preempted;
    case VcpuState::idle: return ThreadState::vcpu_halted;
    default: return ThreadState::unknown;
  }
}

void KernelAnalysis::on_vcpu_state(int64_t vm_machine_id, int64_t vcpu_id, Timestamp ts, VcpuState state) {
  for (const TracedMachine* machine : run_.machines())
    if (machine->id == vm_machine_id && machine->host)
      model(*machine).on_vcpu_state(ts, vcpu_id, VcpuView::host, guest_thread_state(state));
}

void KernelAnalysis::on_thread_state(int64_t machine_id, int64_t tid, Timestamp ts, ThreadState state) {
  for (const TracedMachine* hypervisor : run_.machines()) {
    if (hypervisor->id != machine_id) continue;
    VcpuTracker::VcpuOfThread vcpu;
    if (!vcpus_.host(*hypervisor).vcpus().describe(tid, vcpu)) return;
    for (const TracedMachine* guest : run_.machines())
      if (guest->host == hypervisor && guest->id == vcpu.machine_id)
        model(*guest).on_vcpu_state(ts, vcpu.vcpu_id, VcpuView::outer, state);
    return;
  }
}

void KernelAnalysis::on_thread_interval(const ThreadInterval& interval) {
  insert_thread_state_.insert(interval.ts, interval.dur, interval.machine_id, interval.tid,
                              std::string_view(thread_state_name(interval.state)), or_null(interval.cpu));
}

void KernelAnalysis::add_namespaces(int64_t machine_id, const std::vector<ThreadNamespaces>& threads) {
  SqliteStatement insert_level = db::prepare_insert(
      run_.database(), "container_thread", {"machine_id", "tid", "ns_level", "ns_inum", "vtid", "vpid", "vppid"});
  // The tree: level k's namespace is a child of level k-1's in every chain that knows both.
  std::map<int64_t, std::pair<int64_t, int64_t>> tree;  // ns_inum -> (parent, level)
  for (const ThreadNamespaces& thread : threads) {
    for (size_t level = 0; level < thread.levels.size(); ++level) {
      const NsLevel& at = thread.levels[level];
      if (at.vtid < 0 && at.ns_inum < 0) continue;
      insert_level.bind(1, machine_id);
      insert_level.bind(2, thread.tid);
      insert_level.bind(3, static_cast<int64_t>(level));
      insert_level.bind_or_null(4, at.ns_inum);
      insert_level.bind_or_null(5, at.vtid);
      insert_level.bind_or_null(6, at.vpid);
      insert_level.bind_or_null(7, at.vppid);
      insert_level.run();
      if (at.ns_inum < 0) continue;
      const int64_t parent = level == 0 ? kUnknown : thread.levels[level - 1].ns_inum;
      auto [it, inserted] = tree.try_emplace(at.ns_inum, parent, static_cast<int64_t>(level));
      if (!inserted && it->second.first < 0) it->second.first = parent;
    }
  }
  SqliteStatement insert =
      db::prepare_insert(run_.database(), "container", {"machine_id", "ns_inum", "parent_ns_inum", "ns_level"});
  for (const auto& [ns, node] : tree) {
    insert.bind(1, machine_id);
    insert.bind(2, ns);
    insert.bind_or_null(3, node.first);
    insert.bind(4, node.second);
    insert.run();
  }
}

}  // namespace vm
