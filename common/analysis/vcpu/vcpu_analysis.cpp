// SPDX-License-Identifier: MIT
#include "analysis/vcpu/vcpu_analysis.h"

#include "analysis/run.h"
#include "analysis/run_tables/run_tables.h"
#include "kvm/exit_reasons.h"

namespace vm {

namespace {

const db::SchemaObject kSchema[] = {
    {db::ObjectKind::table, "vcpu", "each vCPU of each VM: the host thread and process (QEMU) that run it", R"sql(
CREATE TABLE vcpu(
  machine_id INTEGER NOT NULL REFERENCES machine(id),  -- the VM
  vcpu_id INTEGER NOT NULL,
  host_tid INTEGER,              -- the host thread that runs this vCPU
  host_pid INTEGER,              -- its process (QEMU)
  vcpu_id_source TEXT NOT NULL,  -- where vcpu_id came from: kvm_exit.vcpu_id, kvm_entry.vcpu_id, thread_name, first_seen
  PRIMARY KEY(machine_id, vcpu_id, host_tid)
))sql"},
    {db::ObjectKind::table, "vcpu_state",
     "each vCPU's state intervals: guest, vmm (with its exit reason), preempted, idle", R"sql(
CREATE TABLE vcpu_state(
  ts INTEGER NOT NULL,
  dur INTEGER NOT NULL,
  machine_id INTEGER NOT NULL,   -- the VM
  vcpu_id INTEGER NOT NULL,
  state TEXT NOT NULL,           -- 'guest', 'vmm', 'preempted', 'idle', 'unknown'
  exit_reason INTEGER,           -- vmm: the exit being handled
  exit_reason_name TEXT,
  pcpu INTEGER,                  -- guest, vmm: the physical CPU; preempted: the CPU lost or waited for
  preempting_tid INTEGER,        -- preempted: the host thread on that CPU
  begin_event TEXT NOT NULL,     -- the event that began the interval (kvm_exit counts exits)
  guest_status TEXT,             -- fused runs: what the guest's trace says, 'running' or 'idle'
  guest_layer INTEGER,           -- 1: the VM's own code; 2: its nested guest's (guest: whose code runs; vmm: whose
                                 -- exit is handled; preempted, idle: 2 from the nested entry until an exit is
                                 -- reflected to L1); NULL: unknown
  nested_exit_to TEXT,           -- vmm rows handling an exit of the nested guest: 'L0' (handled, back to L2) or 'L1'
  nested_exit_reason INTEGER,    -- that exit's reason (for 'L1': as reflected to L1)
  nested_exit_reason_name TEXT
))sql"},
    {db::ObjectKind::table, "thread", "each thread of each traced machine: process and name", R"sql(
CREATE TABLE thread(
  machine_id INTEGER NOT NULL REFERENCES machine(id),
  tid INTEGER NOT NULL,
  pid INTEGER,
  name TEXT
))sql"},
    {db::ObjectKind::index, "vcpu_state_by_vcpu", "",
     "CREATE INDEX vcpu_state_by_vcpu ON vcpu_state(machine_id, vcpu_id, ts)", db::IndexSet::by_key},
    {db::ObjectKind::index, "vcpu_state_by_ts", "", "CREATE INDEX vcpu_state_by_ts ON vcpu_state(ts)",
     db::IndexSet::by_time},
    {db::ObjectKind::index, "thread_by_tid", "", "CREATE INDEX thread_by_tid ON thread(machine_id, tid)"},
    {db::ObjectKind::view, "exit_stats", "per vCPU and exit reason: the number of exits and the hypervisor time",
     R"sql(
-- Per vCPU and exit reason: the number of exits and the hypervisor time they cost (including
-- the time the vCPU spends in the hypervisor again after being preempted while handling it).
CREATE VIEW exit_stats AS
SELECT machine_id, vcpu_id, exit_reason, exit_reason_name,
       SUM(begin_event = 'kvm_exit') AS exits,
       SUM(dur) AS vmm_ns
FROM vcpu_state
WHERE state = 'vmm' AND exit_reason IS NOT NULL
GROUP BY machine_id, vcpu_id, exit_reason)sql"},
    {db::ObjectKind::view, "nested_vcpu_time",
     "per vCPU of an L1 hypervisor: time in L1 code, L2 code, L0 handling L2's exits, L1 handling L2's exits",
     R"sql(
-- Each vCPU of a VM that runs a nested guest, its time split by whose code runs (from the host's
-- vcpu_state alone): l1_code_ns (L1's own code), l2_code_ns (the nested guest's code),
-- l0_for_l2_ns (L0 handling L2's exits, including reflecting them), l1_for_l2_ns (the L1
-- hypervisor handling L2's exits: layer-1 guest and vmm time from an exit reflected to L1 until
-- the next nested entry), l0_for_l1_ns (L0 handling L1's own exits), other_ns (preempted, idle,
-- or layer unknown). The six sum to total_ns. Rows are taken in time order; the layer-1 rows
-- after a layer-2 row reflected to L1 are L1's hypervisor time.
CREATE VIEW nested_vcpu_time AS
WITH nested AS (SELECT DISTINCT machine_id, vcpu_id FROM vcpu_state WHERE guest_layer = 2),
ordered AS (
  SELECT s.machine_id, s.vcpu_id, s.ts, s.dur, s.state, s.guest_layer, s.nested_exit_to,
         SUM(s.guest_layer IS NOT 1) OVER (PARTITION BY s.machine_id, s.vcpu_id ORDER BY s.ts, s.dur
                                          ROWS UNBOUNDED PRECEDING) AS run
  FROM vcpu_state s JOIN nested USING (machine_id, vcpu_id)),
marked AS (
  SELECT *, FIRST_VALUE(nested_exit_to) OVER (PARTITION BY machine_id, vcpu_id, run ORDER BY ts, dur) AS run_to
  FROM ordered)
SELECT machine_id, vcpu_id,
       (SELECT MIN(id) FROM machine WHERE parent_id = marked.machine_id) AS l2_machine_id,
       SUM(CASE WHEN guest_layer = 1 AND state = 'guest' AND run_to IS NOT 'L1' THEN dur ELSE 0 END) AS l1_code_ns,
       SUM(CASE WHEN guest_layer = 2 AND state = 'guest' THEN dur ELSE 0 END) AS l2_code_ns,
       SUM(CASE WHEN guest_layer = 2 AND state = 'vmm' THEN dur ELSE 0 END) AS l0_for_l2_ns,
       SUM(CASE WHEN guest_layer = 1 AND state IN ('guest', 'vmm') AND run_to IS 'L1' THEN dur ELSE 0 END)
         AS l1_for_l2_ns,
       SUM(CASE WHEN guest_layer = 1 AND state = 'vmm' AND run_to IS NOT 'L1' THEN dur ELSE 0 END) AS l0_for_l1_ns,
       SUM(CASE WHEN state IN ('guest', 'vmm') AND guest_layer IN (1, 2) THEN 0 ELSE dur END) AS other_ns,
       SUM(dur) AS total_ns
FROM marked
GROUP BY machine_id, vcpu_id)sql"},
    {db::ObjectKind::view, "vcpu_state_share", "share of each vCPU's traced time in each state", R"sql(
CREATE VIEW vcpu_state_share AS
SELECT s.machine_id, s.vcpu_id, s.state, SUM(s.dur) AS total_ns,
       ROUND(100.0 * SUM(s.dur) / t.span, 2) AS percent
FROM vcpu_state s
JOIN (SELECT machine_id, vcpu_id, SUM(dur) AS span FROM vcpu_state GROUP BY machine_id, vcpu_id) t
  USING (machine_id, vcpu_id)
GROUP BY s.machine_id, s.vcpu_id, s.state)sql"},
    {db::ObjectKind::view, "vcpu_preemption",
     "time each vCPU lost to preemption, by preempting thread, machine and vCPU", R"sql(
-- The machine of the preempting thread is another VM when that thread is one of its vCPUs, else
-- the host.
CREATE VIEW vcpu_preemption AS
SELECT s.machine_id, s.vcpu_id, s.preempting_tid,
       COALESCE(pv.machine_id, vm.parent_id) AS preempting_machine_id,
       pv.vcpu_id AS preempting_vcpu_id,
       COUNT(*) AS preemptions, SUM(s.dur) AS preempted_ns
FROM vcpu_state s
JOIN machine vm ON vm.id = s.machine_id
LEFT JOIN vcpu pv ON pv.host_tid = s.preempting_tid
  AND (SELECT parent_id FROM machine WHERE id = pv.machine_id) = vm.parent_id
WHERE s.state = 'preempted'
GROUP BY s.machine_id, s.vcpu_id, s.preempting_tid)sql"},
    {db::ObjectKind::view, "noisy_neighbour",
     "for each VM, the VMs whose vCPUs kept its vCPUs off their CPUs, noisiest first", R"sql(
CREATE VIEW noisy_neighbour AS
SELECT machine_id AS vm_id, preempting_machine_id AS neighbour_id,
       SUM(preemptions) AS preemptions, SUM(preempted_ns) AS preempted_ns
FROM vcpu_preemption
WHERE preempting_vcpu_id IS NOT NULL AND preempting_machine_id <> machine_id
GROUP BY machine_id, preempting_machine_id
ORDER BY vm_id, preempted_ns DESC)sql"},
    {db::ObjectKind::view, "preemption_by_thread",
     "time each vCPU lost to preemption, by the host thread that held the CPU", R"sql(
CREATE VIEW preemption_by_thread AS
SELECT s.machine_id, s.vcpu_id, vm.parent_id AS host_machine_id, s.preempting_tid,
       (SELECT th.name FROM thread th WHERE th.machine_id = vm.parent_id AND th.tid = s.preempting_tid LIMIT 1)
         AS preempting_thread_name,
       COUNT(*) AS preemptions, SUM(s.dur) AS preempted_ns
FROM vcpu_state s JOIN machine vm ON vm.id = s.machine_id
WHERE s.state = 'preempted'
GROUP BY s.machine_id, s.vcpu_id, s.preempting_tid)sql"},
};

}  // namespace

const AnalysisInfo VcpuAnalysis::info = {"vcpu", "vCPU states of the VMs each host runs, exits and preemptions",
                                         db::objects_of(kSchema), create_analysis<VcpuAnalysis>};

VcpuAnalysis::VcpuAnalysis(Run& run)
    : run_(run),
      run_tables_(&run.get<RunTables>()),
      insert_vcpu_state_(
          db::prepare_insert(run.database(), "vcpu_state",
                             {"ts", "dur", "machine_id", "vcpu_id", "state", "exit_reason", "exit_reason_name", "pcpu",
                              "preempting_tid", "begin_event", "guest_status", "guest_layer", "nested_exit_to",
                              "nested_exit_reason", "nested_exit_reason_name"})) {}

void VcpuAnalysis::set_observer(VcpuStateObserver* observer) {
  observer_ = observer;
  for (const auto& host : hosts_) host->set_vcpu_observer(observer);
}

void VcpuAnalysis::on_machine(TracedMachine& machine) {
  if (hosts_.size() <= machine.index) hosts_.resize(machine.index + 1);
  hosts_[machine.index] = std::make_unique<HostAnalysis>(run_.registry(), machine.id, machine.sched(), *this);
  hosts_[machine.index]->set_vcpu_observer(observer_);
  hosts_[machine.index]->set_trace_name(machine.trace_name);
}

void VcpuAnalysis::on_guest_linked(TracedMachine& guest) {
  host(*guest.host).adopt_vm(guest.vm_key, guest.id);
}

// A fused guest's scheduler tells its host's vCPU states whether the guest runs a thread.
void VcpuAnalysis::after_event(TracedMachine& machine, const Event& event) {
  if (machine.host && event.kind == EventKind::sched_switch)
    host(*machine.host)
        .on_guest_status(event.ctx.ts, machine.vm_key, event.ctx.cpu, event.as<SchedSwitch>().next_tid != 0);
}

void VcpuAnalysis::on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp, int64_t, int64_t) {
  host(machine).on_lost_events(begin);
}

void VcpuAnalysis::finish_machine(TracedMachine& machine, Timestamp end) {
  if (run_.fused())
    host(machine).finish_at(end);
  else
    host(machine).finish();
  for (int64_t vm : host(machine).vcpus().nested_hypervisors()) add_nested_guest(vm);
}

// The nested guest of a VM that runs one is a machine (layer 2, parent that VM), unless the run
// already shows it: a trace fused in as that VM's guest, or a VM found in that VM's own trace.
void VcpuAnalysis::add_nested_guest(int64_t vm) {
  for (const TracedMachine* traced : run_.machines())
    if (traced->host && traced->host->id == vm) return;
  MachineRegistry& machines = run_.registry();
  for (const Machine& machine : machines.all())
    if (machine.parent_id == vm) return;
  const Machine& l1 = machines.get(vm);
  const std::string name = l1.name + "-l2";
  machines.add(name, MachineRole::guest, vm, l1.layer + 1);
}

void VcpuAnalysis::write(Run& run) {
  for (const TracedMachine* machine : run.machines()) {
    add_threads(machine->id, machine->sched());
    add_vcpus(host(*machine).vcpus().vcpus());
    // A VM that runs a nested guest while the trace lacks the nested exit events: its layers are
    // unknown (the tracker's diagnostic says which events to record).
    for (int64_t vm : host(*machine).vcpus().undecidable_layer_vms()) {
      SqliteStatement update = run.database().prepare(
          "UPDATE vcpu_state SET guest_layer = NULL, nested_exit_to = NULL, nested_exit_reason = NULL, "
          "nested_exit_reason_name = NULL WHERE machine_id = ?");
      update.bind(1, vm);
      update.run();
    }
  }
}

void VcpuAnalysis::on_vcpu_interval(const VcpuInterval& interval) {
  SqliteStatement& insert = insert_vcpu_state_;
  insert.bind_all(1, interval.ts, interval.dur, interval.machine_id, interval.vcpu_id,
                  std::string_view(state_name(interval.state)));
  if (interval.exit_reason >= 0) {
    insert.bind(6, interval.exit_reason);
    const auto reason = static_cast<uint64_t>(interval.exit_reason);
    if (const char* name = exit_reason_name(interval.isa, reason)) {
      insert.bind(7, std::string_view(name));  // static storage
    } else {
      insert.bind_transient(7, exit_reason_label(interval.isa, reason));  // SQLite copies it
    }
  } else {
    insert.bind_null(6);
    insert.bind_null(7);
  }
  insert.bind_all(8, or_null(interval.pcpu), or_null(interval.preempting_tid),
                  std::string_view(begin_event_name(interval.begin_event)),
                  or_null(guest_status_name(interval.guest_status)));
  insert.bind_or_null(12, int64_t{interval.guest_layer > 0 ? interval.guest_layer : kUnknown});
  insert.bind_or_null(13, nested_exit_to_name(interval.nested_exit_to));
  if (interval.nested_exit_to == NestedExitTo::l0 || interval.nested_exit_to == NestedExitTo::l1) {
    insert.bind_or_null(14, interval.nested_exit_reason);
    if (interval.nested_exit_reason >= 0)
      insert.bind_transient(15, exit_reason_label(interval.nested_isa, static_cast<uint64_t>(interval.nested_exit_reason)));
    else
      insert.bind_null(15);
  } else {
    insert.bind_null(14);
    insert.bind_null(15);
  }
  insert.run();
}

void VcpuAnalysis::on_diagnostic(const std::string& message) {
  run_tables_->add_diagnostic("warning", message);
}

void VcpuAnalysis::add_threads(int64_t machine_id, const SchedState& threads) {
  SqliteStatement insert = db::prepare_insert(run_.database(), "thread", {"machine_id", "tid", "pid", "name"});
  for (const auto& [tid, info] : threads.threads()) {
    insert.bind(1, machine_id);
    insert.bind(2, tid);
    insert.bind_or_null(3, info.pid);
    if (info.name.empty())
      insert.bind_null(4);
    else
      insert.bind(4, info.name);
    insert.run();
  }
}

void VcpuAnalysis::add_vcpus(const std::vector<VcpuRecord>& vcpus) {
  SqliteStatement insert =
      db::prepare_insert(run_.database(), "vcpu", {"machine_id", "vcpu_id", "host_tid", "host_pid", "vcpu_id_source"});
  for (const VcpuRecord& vcpu : vcpus) {
    insert.bind(1, vcpu.machine_id);
    insert.bind(2, vcpu.vcpu_id);
    insert.bind_or_null(3, vcpu.host_tid);
    insert.bind_or_null(4, vcpu.host_pid);
    insert.bind(5, std::string_view(vcpu_id_source_name(vcpu.id_source)));
    insert.run();
  }
}

}  // namespace vm
