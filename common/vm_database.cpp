#include "vm_database.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "exit_reasons.h"

namespace vm {

namespace {

// The schema, version kSchemaVersion. Indexes and views are created at commit, after the bulk
// inserts (faster than maintaining them row by row).
constexpr const char* kSchema = R"sql(
CREATE TABLE machine(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,            -- 'host', 'guest' or 'unknown'
  parent_id INTEGER REFERENCES machine(id),
  layer INTEGER NOT NULL         -- 0 = physical host, 1 = guest, 2 = nested guest
);
CREATE TABLE trace(
  machine_id INTEGER NOT NULL REFERENCES machine(id),
  name TEXT,
  hostname TEXT,
  clock_uuid TEXT,
  begin_ts INTEGER,              -- first event
  end_ts INTEGER                 -- last event
);
CREATE TABLE vcpu(
  machine_id INTEGER NOT NULL REFERENCES machine(id),  -- the VM
  vcpu_id INTEGER NOT NULL,
  host_tid INTEGER,              -- the host thread that runs this vCPU
  host_pid INTEGER,              -- its process (QEMU)
  vcpu_id_source TEXT NOT NULL,  -- where vcpu_id came from: kvm_exit.vcpu_id, kvm_entry.vcpu_id, thread_name, first_seen
  PRIMARY KEY(machine_id, vcpu_id, host_tid)
);
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
  guest_status TEXT              -- fused runs: what the guest's trace says, 'running' or 'idle'
);
CREATE TABLE sync(
  machine INTEGER NOT NULL REFERENCES machine(id),
  reference INTEGER REFERENCES machine(id),  -- t_reference = alpha * t_machine + beta
  alpha REAL NOT NULL,
  beta REAL NOT NULL,
  method TEXT NOT NULL,          -- sync points used: 'vmsync', 'tcp', 'vmsync+tcp', 'reference', 'identity (given)', 'none'
  quality TEXT NOT NULL,         -- 'absent', 'incomplete', 'approximate', 'accurate', 'fail'
  matches INTEGER NOT NULL,      -- matched messages on the path to the reference
  accuracy_ns REAL,              -- bound of the error over the observed range; NULL when unbounded
  alpha_text TEXT NOT NULL,      -- alpha and beta with every digit
  beta_text TEXT NOT NULL
);
CREATE TABLE sync_estimate(
  machine INTEGER NOT NULL REFERENCES machine(id),
  reference INTEGER REFERENCES machine(id),
  peer INTEGER REFERENCES machine(id),       -- the other end of the link the method measured
  method TEXT NOT NULL,          -- one method alone: 'vmsync', 'tcp', 'kvm_windows'
  alpha REAL NOT NULL,           -- t_reference = alpha * t_machine + beta, from that method alone
  beta REAL NOT NULL,
  quality TEXT NOT NULL,
  matches INTEGER NOT NULL,
  accuracy_ns REAL,
  alpha_text TEXT NOT NULL,
  beta_text TEXT NOT NULL
);
CREATE TABLE guest_match(
  machine INTEGER NOT NULL REFERENCES machine(id),  -- the guest trace's machine
  host INTEGER REFERENCES machine(id),
  qemu_pid INTEGER,              -- its VM on the host
  method TEXT NOT NULL,          -- 'vmsync' (vm_uid) or 'kvm_windows' (automatic)
  confidence REAL NOT NULL       -- kvm_windows: share of its events inside that VM's guest-mode windows
);
CREATE TABLE cpu_state(
  ts INTEGER NOT NULL,
  dur INTEGER NOT NULL,
  host_machine_id INTEGER NOT NULL,  -- the physical host
  pcpu INTEGER NOT NULL,             -- its CPU
  machine_id INTEGER NOT NULL,       -- whose code runs there: the host, a VM, a nested VM
  vcpu_id INTEGER,                   -- in a VM: the vCPU
  tid INTEGER,                       -- the thread of that machine (NULL: not traced / not known)
  status TEXT,                       -- 'user', 'kernel' (syscall or kernel thread), 'irq', 'softirq',
                                     -- 'idle' (its idle task), 'running' (user/kernel not traced),
                                     -- NULL when not known
  condition TEXT NOT NULL            -- 'in_vm' or 'out_vm'
);
CREATE TABLE thread(
  machine_id INTEGER NOT NULL REFERENCES machine(id),
  tid INTEGER NOT NULL,
  pid INTEGER,
  name TEXT
);
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
);
CREATE TABLE container(          -- the PID namespaces of each machine (level 0: its root)
  machine_id INTEGER NOT NULL REFERENCES machine(id),
  ns_inum INTEGER NOT NULL,
  parent_ns_inum INTEGER,        -- NULL for the root
  ns_level INTEGER NOT NULL,
  PRIMARY KEY(machine_id, ns_inum)
);
CREATE TABLE container_thread(   -- each thread's place at every level of its namespace chain
  machine_id INTEGER NOT NULL REFERENCES machine(id),
  tid INTEGER NOT NULL,          -- the machine's (root namespace) tid
  ns_level INTEGER NOT NULL,
  ns_inum INTEGER,
  vtid INTEGER,                  -- its tid in that namespace
  vpid INTEGER,
  vppid INTEGER                  -- its parent's pid there (0: the parent is outside)
);
CREATE TABLE data_loss(
  machine_id INTEGER NOT NULL,
  cpu INTEGER,
  ts INTEGER,
  dur INTEGER,
  events INTEGER                 -- NULL when the tracer did not count them
);
CREATE TABLE event_stat(
  machine_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  count INTEGER NOT NULL
);
CREATE TABLE diagnostic(
  severity TEXT NOT NULL,        -- 'warning' or 'info'
  message TEXT NOT NULL
);
CREATE TABLE run(
  plugin_version TEXT NOT NULL,
  babeltrace2_version TEXT,
  sqlite_version TEXT,
  schema_version INTEGER NOT NULL,
  inputs TEXT,
  parameters TEXT,
  events INTEGER NOT NULL,
  discarded_events INTEGER NOT NULL,
  discarded_packets INTEGER NOT NULL,
  vms_found INTEGER NOT NULL,
  finished_at TEXT NOT NULL
);
)sql";

constexpr const char* kIndexesAndViews = R"sql(
CREATE INDEX vcpu_state_by_vcpu ON vcpu_state(machine_id, vcpu_id, ts);
CREATE INDEX thread_by_tid ON thread(machine_id, tid);
CREATE INDEX cpu_state_by_cpu ON cpu_state(host_machine_id, pcpu, ts);
CREATE INDEX thread_state_by_tid ON thread_state(machine_id, tid, ts);
CREATE INDEX container_thread_by_tid ON container_thread(machine_id, tid);

-- Each thread's time by state: its own blocking and waiting, and, for a guest thread, the time
-- its vCPU was preempted by the host or in the hypervisor while it ran.
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
GROUP BY ts.machine_id, ts.tid;

-- Per vCPU and exit reason: the number of exits and the hypervisor time they cost (including
-- the time the vCPU spends in the hypervisor again after being preempted while handling it).
CREATE VIEW exit_stats AS
SELECT machine_id, vcpu_id, exit_reason, exit_reason_name,
       SUM(begin_event = 'kvm_exit') AS exits,
       SUM(dur) AS vmm_ns
FROM vcpu_state
WHERE state = 'vmm' AND exit_reason IS NOT NULL
GROUP BY machine_id, vcpu_id, exit_reason;

-- Share of each vCPU's traced time in each state.
CREATE VIEW vcpu_state_share AS
SELECT s.machine_id, s.vcpu_id, s.state, SUM(s.dur) AS total_ns,
       ROUND(100.0 * SUM(s.dur) / t.span, 2) AS percent
FROM vcpu_state s
JOIN (SELECT machine_id, vcpu_id, SUM(dur) AS span FROM vcpu_state GROUP BY machine_id, vcpu_id) t
  USING (machine_id, vcpu_id)
GROUP BY s.machine_id, s.vcpu_id, s.state;

-- Time each vCPU lost to preemption, by what preempted it: the host thread that held the CPU,
-- the machine it belongs to (another VM when that thread is one of its vCPUs, else the host)
-- and that vCPU.
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
GROUP BY s.machine_id, s.vcpu_id, s.preempting_tid;

-- For each VM, the other VMs whose vCPUs kept its vCPUs off their CPUs, noisiest first.
CREATE VIEW noisy_neighbour AS
SELECT machine_id AS vm_id, preempting_machine_id AS neighbour_id,
       SUM(preemptions) AS preemptions, SUM(preempted_ns) AS preempted_ns
FROM vcpu_preemption
WHERE preempting_vcpu_id IS NOT NULL AND preempting_machine_id <> machine_id
GROUP BY machine_id, preempting_machine_id
ORDER BY vm_id, preempted_ns DESC;

-- Time each vCPU lost to preemption, by the host thread that held the CPU.
CREATE VIEW preemption_by_thread AS
SELECT s.machine_id, s.vcpu_id, vm.parent_id AS host_machine_id, s.preempting_tid,
       (SELECT th.name FROM thread th WHERE th.machine_id = vm.parent_id AND th.tid = s.preempting_tid LIMIT 1)
         AS preempting_thread_name,
       COUNT(*) AS preemptions, SUM(s.dur) AS preempted_ns
FROM vcpu_state s JOIN machine vm ON vm.id = s.machine_id
WHERE s.state = 'preempted'
GROUP BY s.machine_id, s.vcpu_id, s.preempting_tid;
)sql";

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

VmDatabase::VmDatabase(std::string path) : path_(std::move(path)) {
  temporary_path_ = path_ + ".tmp-" + std::to_string(::getpid());
  // Refuse early, with the OS's reason, when the output cannot be written at all.
  if (FILE* probe = std::fopen(temporary_path_.c_str(), "wb")) {
    std::fclose(probe);
  } else {
    throw std::runtime_error("cannot write the output database `" + path_ + "`: " + errno_text());
  }
  try {
    connection_ = std::make_unique<SqliteConnection>(temporary_path_);
    // The temporary file is renamed only after a complete run: durability of intermediate
    // states buys nothing, so skip the journal and the syncs. The page cache is capped and the
    // index sorts at commit spill to temporary files, so that peak memory does not grow with the
    // trace (measured on scenario traces: 49 MiB at 1M events, 53 MiB at 10M; with a 64 MiB
    // in-memory temp store it was 111 and 391 MiB, for 15-25% less time).
    connection_->exec(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE;"
        "PRAGMA cache_size=-16384;");
    create_schema();
    connection_->exec("BEGIN");
  } catch (const std::exception& error) {
    abandon();
    throw std::runtime_error("cannot create the output database `" + path_ + "`: " + error.what());
  }
}

VmDatabase::~VmDatabase() {
  if (!committed_) abandon();
}

void VmDatabase::create_schema() {
  connection_->exec(kSchema);
  connection_->exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
  insert_vcpu_state_ = connection_->prepare(
      "INSERT INTO vcpu_state(ts, dur, machine_id, vcpu_id, state, exit_reason, exit_reason_name, pcpu,"
      " preempting_tid, begin_event, guest_status) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  insert_diagnostic_ = connection_->prepare("INSERT INTO diagnostic(severity, message) VALUES(?,?)");
  insert_cpu_state_ = connection_->prepare(
      "INSERT INTO cpu_state(ts, dur, host_machine_id, pcpu, machine_id, vcpu_id, tid, status, condition)"
      " VALUES(?,?,?,?,?,?,?,?,?)");
  insert_thread_state_ =
      connection_->prepare("INSERT INTO thread_state(ts, dur, machine_id, tid, state, cpu) VALUES(?,?,?,?,?,?)");
}

void VmDatabase::on_vcpu_interval(const VcpuInterval& interval) {
  SqliteStatement& insert = insert_vcpu_state_;
  insert.bind(1, interval.ts);
  insert.bind(2, interval.dur);
  insert.bind(3, interval.machine_id);
  insert.bind(4, interval.vcpu_id);
  insert.bind(5, std::string_view(state_name(interval.state)));
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
  insert.bind_or_null(8, interval.pcpu);
  insert.bind_or_null(9, interval.preempting_tid);
  insert.bind(10, std::string_view(begin_event_name(interval.begin_event)));
  insert.bind_or_null(11, guest_status_name(interval.guest_status));
  insert.run();
}

void VmDatabase::on_diagnostic(const std::string& message) {
  add_diagnostic("warning", message);
}

void VmDatabase::on_cpu_interval(const CpuInterval& interval) {
  SqliteStatement& insert = insert_cpu_state_;
  insert.bind(1, interval.ts);
  insert.bind(2, interval.dur);
  insert.bind(3, interval.host_machine_id);
  insert.bind(4, interval.pcpu);
  insert.bind(5, interval.machine_id);
  insert.bind_or_null(6, interval.vcpu_id);
  insert.bind_or_null(7, interval.tid);
  insert.bind_or_null(8, cpu_status_name(interval.status));
  insert.bind(9, std::string_view(interval.in_vm ? "in_vm" : "out_vm"));
  insert.run();
}

void VmDatabase::on_thread_interval(const ThreadInterval& interval) {
  SqliteStatement& insert = insert_thread_state_;
  insert.bind(1, interval.ts);
  insert.bind(2, interval.dur);
  insert.bind(3, interval.machine_id);
  insert.bind(4, interval.tid);
  insert.bind(5, std::string_view(thread_state_name(interval.state)));
  insert.bind_or_null(6, interval.cpu);
  insert.run();
}

void VmDatabase::add_diagnostic(const std::string& severity, const std::string& message) {
  diagnostics_.push_back(message);
  insert_diagnostic_.bind(1, severity);
  insert_diagnostic_.bind(2, message);
  insert_diagnostic_.run();
}

void VmDatabase::add_data_loss(int64_t machine_id, int64_t cpu, Timestamp ts, Timestamp dur, int64_t events) {
  SqliteStatement insert =
      connection_->prepare("INSERT INTO data_loss(machine_id, cpu, ts, dur, events) VALUES(?,?,?,?,?)");
  insert.bind(1, machine_id);
  insert.bind_or_null(2, cpu);
  insert.bind(3, ts);
  insert.bind(4, dur);
  insert.bind_or_null(5, events);
  insert.run();
}

void VmDatabase::add_event_count(int64_t machine_id, const std::string& event_name, uint64_t count) {
  SqliteStatement insert = connection_->prepare("INSERT INTO event_stat(machine_id, name, count) VALUES(?,?,?)");
  insert.bind(1, machine_id);
  insert.bind(2, event_name);
  insert.bind(3, static_cast<int64_t>(count));
  insert.run();
}

void VmDatabase::add_threads(int64_t machine_id, const ThreadTable& threads) {
  SqliteStatement insert = connection_->prepare("INSERT INTO thread(machine_id, tid, pid, name) VALUES(?,?,?,?)");
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

void VmDatabase::add_namespaces(int64_t machine_id, const std::vector<ThreadNamespaces>& threads) {
  SqliteStatement insert_level = connection_->prepare(
      "INSERT INTO container_thread(machine_id, tid, ns_level, ns_inum, vtid, vpid, vppid) VALUES(?,?,?,?,?,?,?)");
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
  SqliteStatement insert = connection_->prepare(
      "INSERT INTO container(machine_id, ns_inum, parent_ns_inum, ns_level) VALUES(?,?,?,?)");
  for (const auto& [ns, node] : tree) {
    insert.bind(1, machine_id);
    insert.bind(2, ns);
    insert.bind_or_null(3, node.first);
    insert.bind(4, node.second);
    insert.run();
  }
}

void VmDatabase::add_vcpus(const std::vector<VcpuRecord>& vcpus) {
  SqliteStatement insert = connection_->prepare(
      "INSERT INTO vcpu(machine_id, vcpu_id, host_tid, host_pid, vcpu_id_source) VALUES(?,?,?,?,?)");
  for (const VcpuRecord& vcpu : vcpus) {
    insert.bind(1, vcpu.machine_id);
    insert.bind(2, vcpu.vcpu_id);
    insert.bind_or_null(3, vcpu.host_tid);
    insert.bind_or_null(4, vcpu.host_pid);
    insert.bind(5, std::string_view(vcpu_id_source_name(vcpu.id_source)));
    insert.run();
  }
}

void VmDatabase::add_trace(const TraceRow& row) {
  SqliteStatement insert = connection_->prepare(
      "INSERT INTO trace(machine_id, name, hostname, clock_uuid, begin_ts, end_ts) VALUES(?,?,?,?,?,?)");
  insert.bind(1, row.machine_id);
  insert.bind(2, row.trace_name);
  insert.bind(3, row.hostname);
  insert.bind(4, row.clock_uuid);
  insert.bind(5, row.begin_ts);
  insert.bind(6, row.end_ts);
  insert.run();
}

// sync and sync_estimate share their columns but `peer`.
void VmDatabase::insert_sync_row(const char* table, const SyncRow& row, const int64_t* peer_id) {
  const std::string sql = std::string("INSERT INTO ") + table +
                          "(machine, reference, method, alpha, beta, quality, matches, accuracy_ns, alpha_text, "
                          "beta_text" +
                          (peer_id ? ", peer" : "") + ") VALUES(?,?,?,?,?,?,?,?,?,?" + (peer_id ? ",?" : "") + ")";
  SqliteStatement insert = connection_->prepare(sql);
  const std::string alpha = row.alpha.empty() ? "1" : row.alpha;
  const std::string beta = row.beta.empty() ? "0" : row.beta;
  insert.bind(1, row.machine_id);
  insert.bind_or_null(2, row.reference_id);
  insert.bind(3, row.method);
  insert.bind(4, std::stod(alpha));
  insert.bind(5, std::stod(beta));
  insert.bind(6, row.quality);
  insert.bind(7, row.matches);
  if (row.accuracy_ns.empty() || row.accuracy_ns == "inf")
    insert.bind_null(8);
  else
    insert.bind(8, std::stod(row.accuracy_ns));
  insert.bind(9, alpha);
  insert.bind(10, beta);
  if (peer_id) insert.bind_or_null(11, *peer_id);
  insert.run();
}

void VmDatabase::add_sync(const SyncRow& row) {
  insert_sync_row("sync", row, nullptr);
}

void VmDatabase::add_sync_estimate(const SyncRow& row, int64_t peer_id) {
  insert_sync_row("sync_estimate", row, &peer_id);
}

void VmDatabase::add_guest_match(int64_t machine_id, int64_t host_id, int64_t qemu_pid, const std::string& method,
                                 double confidence) {
  SqliteStatement insert =
      connection_->prepare("INSERT INTO guest_match(machine, host, qemu_pid, method, confidence) VALUES(?,?,?,?,?)");
  insert.bind(1, machine_id);
  insert.bind_or_null(2, host_id);
  insert.bind_or_null(3, qemu_pid);
  insert.bind(4, method);
  insert.bind(5, confidence);
  insert.run();
}

void VmDatabase::commit(const MachineRegistry& machines, const RunInfo& run) {
  try {
    write_final_rows(machines, run);
    connection_->exec(kIndexesAndViews);
    connection_->exec("COMMIT");
    insert_vcpu_state_ = SqliteStatement();
    insert_diagnostic_ = SqliteStatement();
    insert_cpu_state_ = SqliteStatement();
  insert_thread_state_ = SqliteStatement();
    insert_thread_state_ = SqliteStatement();
    connection_->close();
    connection_.reset();
  } catch (const std::exception& error) {
    abandon();
    throw std::runtime_error("cannot finish the output database `" + path_ + "`: " + error.what());
  }
  if (std::rename(temporary_path_.c_str(), path_.c_str()) != 0) {
    const std::string reason = errno_text();
    abandon();
    throw std::runtime_error("cannot move the finished database to `" + path_ + "`: " + reason);
  }
  committed_ = true;
}

// Statements live only inside this function: SQLite cannot close with unfinalized statements.
void VmDatabase::write_final_rows(const MachineRegistry& machines, const RunInfo& run) {
  SqliteStatement insert_machine =
      connection_->prepare("INSERT INTO machine(id, name, role, parent_id, layer) VALUES(?,?,?,?,?)");
  for (const Machine& machine : machines.all()) {
    insert_machine.bind(1, machine.id);
    insert_machine.bind(2, machine.name);
    insert_machine.bind(3, std::string_view(role_name(machine.role)));
    insert_machine.bind_or_null(4, machine.parent_id);
    insert_machine.bind(5, static_cast<int64_t>(machine.layer));
    insert_machine.run();
  }
  SqliteStatement insert_run = connection_->prepare(
      "INSERT INTO run(plugin_version, babeltrace2_version, sqlite_version, schema_version, inputs, parameters,"
      " events, discarded_events, discarded_packets, vms_found, finished_at)"
      " VALUES(?,?,sqlite_version(),?,?,?,?,?,?,?,datetime('now'))");
  insert_run.bind(1, run.plugin_version);
  insert_run.bind(2, run.babeltrace2_version);
  insert_run.bind(3, static_cast<int64_t>(kSchemaVersion));
  insert_run.bind(4, run.inputs);
  insert_run.bind(5, run.parameters);
  insert_run.bind(6, static_cast<int64_t>(run.events));
  insert_run.bind(7, static_cast<int64_t>(run.discarded_events));
  insert_run.bind(8, static_cast<int64_t>(run.discarded_packets));
  insert_run.bind(9, run.vms_found);
  insert_run.run();
}

void VmDatabase::abandon() {
  insert_vcpu_state_ = SqliteStatement();
  insert_diagnostic_ = SqliteStatement();
  insert_cpu_state_ = SqliteStatement();
  insert_thread_state_ = SqliteStatement();
  connection_.reset();
  if (!temporary_path_.empty()) std::remove(temporary_path_.c_str());
}

}  // namespace vm
