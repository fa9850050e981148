// SPDX-License-Identifier: MIT
#include "analysis/run_tables/run_tables.h"

#include <algorithm>

#include "analysis/run.h"

namespace vm {

namespace {

const db::SchemaObject kSchema[] = {
    {db::ObjectKind::table, "machine", "each traced machine and each VM found: name, role, parent, layer", R"sql(
CREATE TABLE machine(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,            -- 'host', 'guest' or 'unknown'
  parent_id INTEGER REFERENCES machine(id),
  layer INTEGER NOT NULL         -- 0 = physical host, 1 = guest, 2 = nested guest
))sql"},
    {db::ObjectKind::table, "trace", "each input trace: its machine, hostname, clock and first and last event",
     R"sql(
CREATE TABLE trace(
  machine_id INTEGER NOT NULL REFERENCES machine(id),
  name TEXT,
  hostname TEXT,
  clock_uuid TEXT,
  begin_ts INTEGER,              -- first event
  end_ts INTEGER                 -- last event
))sql"},
    {db::ObjectKind::table, "data_loss", "events the tracer discarded, per machine and CPU", R"sql(
CREATE TABLE data_loss(
  machine_id INTEGER NOT NULL,
  cpu INTEGER,
  ts INTEGER,
  dur INTEGER,
  events INTEGER                 -- NULL when the tracer did not count them
))sql"},
    {db::ObjectKind::table, "event_stat", "the number of events of each name, per machine", R"sql(
CREATE TABLE event_stat(
  machine_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  count INTEGER NOT NULL
))sql"},
    {db::ObjectKind::table, "diagnostic", "warnings about the input: missing events, implausible fields", R"sql(
CREATE TABLE diagnostic(
  severity TEXT NOT NULL,        -- 'warning' or 'info'
  message TEXT NOT NULL
))sql"},
    {db::ObjectKind::table, "run", "the run: plugin and babeltrace2 versions, inputs, parameters, event counts",
     R"sql(
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
))sql"},
};

}  // namespace

const AnalysisInfo RunTables::info = {"run", "the machines, traces, lost events, event counts, diagnostics and the run",
                                      db::objects_of(kSchema), create_analysis<RunTables>};

RunTables::RunTables(Run& run)
    : database_(run.database()),
      insert_diagnostic_(db::prepare_insert(database_, "diagnostic", {"severity", "message"})) {}

void RunTables::add_diagnostic(const std::string& severity, const std::string& message) {
  diagnostics_.push_back(message);
  insert_diagnostic_.bind(1, severity);
  insert_diagnostic_.bind(2, message);
  insert_diagnostic_.run();
}

void RunTables::on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t cpu, int64_t count) {
  SqliteStatement insert = db::prepare_insert(database_, "data_loss", {"machine_id", "cpu", "ts", "dur", "events"});
  insert.bind(1, machine.id);
  insert.bind_or_null(2, cpu);
  insert.bind(3, begin);
  insert.bind(4, end - begin);
  insert.bind_or_null(5, count);
  insert.run();
}

void RunTables::finish(Run& run) {
  for (const TracedMachine* machine : run.machines()) run_info_.events += machine->events;
  int64_t vms = 0;
  for (const vm::Machine& machine : run.registry().all())
    if (machine.role == MachineRole::guest) ++vms;
  run_info_.vms_found = vms;
}

void RunTables::write(Run& run) {
  SqliteStatement insert_trace =
      db::prepare_insert(database_, "trace", {"machine_id", "name", "hostname", "clock_uuid", "begin_ts", "end_ts"});
  SqliteStatement insert_count = db::prepare_insert(database_, "event_stat", {"machine_id", "name", "count"});
  for (const TracedMachine* machine : run.machines()) {
    insert_trace.bind(1, machine->id);
    insert_trace.bind(2, machine->trace_name);
    insert_trace.bind(3, machine->hostname);
    insert_trace.bind(4, machine->clock_uuid);
    insert_trace.bind(5, machine->first_ts);
    insert_trace.bind(6, machine->last_ts);
    insert_trace.run();
    bool has_entry = false, has_exit = false, has_sched = false;
    for (const TracedMachine::EventClassCount& event_class : machine->event_classes) {
      has_entry |= event_class.kind == EventKind::kvm_entry;
      has_exit |= event_class.kind == EventKind::kvm_exit;
      has_sched |= event_class.kind == EventKind::sched_switch;
    }
    const bool has_kvm = has_entry || has_exit;
    const std::string who =
        "trace `" + machine->trace_name + "` (machine `" + run.registry().get(machine->id).name + "`)";
    if (!has_kvm && !machine->guest)
      add_diagnostic("warning", who +
                                    " has no KVM events (kvm_x86_entry and kvm_x86_exit): no VM was found in it. If it "
                                    "is a KVM host, record them with: lttng enable-event --kernel 'kvm_x86_*'  "
                                    "(lttng-modules < 2.8 names them kvm_*: lttng enable-event --kernel 'kvm_*')");
    if (has_entry != has_exit) {
      const std::string missing = has_entry ? "kvm_x86_exit" : "kvm_x86_entry";
      add_diagnostic("warning", who + " has " + (has_entry ? "kvm_x86_entry" : "kvm_x86_exit") + " events but no " +
                                    missing + " (kvm_" + (has_entry ? "exit" : "entry") +
                                    ") events: when a vCPU " + (has_entry ? "leaves" : "enters") +
                                    " guest mode is unknown, so its time in the guest and in the hypervisor cannot "
                                    "be told apart. Record them with: lttng enable-event --kernel " + missing);
    }
    if (!has_sched)
      add_diagnostic("warning", who +
                                    " has no sched_switch events: vCPU preemption and idle time cannot be seen. Record "
                                    "them with: lttng enable-event --kernel sched_switch,sched_waking,sched_wakeup,"
                                    "sched_process_fork,sched_process_exit");
  }
  // By name (then count), so that two runs write the same rows in the same order (the sink
  // collects the classes in a hash map of their addresses).
  for (const TracedMachine* machine : run.machines()) {
    std::vector<const TracedMachine::EventClassCount*> classes;
    for (const TracedMachine::EventClassCount& event_class : machine->event_classes) classes.push_back(&event_class);
    std::sort(classes.begin(), classes.end(), [](const auto* a, const auto* b) {
      return a->name != b->name ? a->name < b->name : a->count < b->count;
    });
    for (const TracedMachine::EventClassCount* event_class : classes) {
      insert_count.bind(1, machine->id);
      insert_count.bind(2, event_class->name);
      insert_count.bind(3, static_cast<int64_t>(event_class->count));
      insert_count.run();
    }
  }
  if (run_info_.vms_found == 0) add_diagnostic("warning", "no VM was found in the input");
}

// Statements live only inside this function: SQLite cannot close with unfinalized statements.
void RunTables::write_final_rows(Run& run) {
  SqliteStatement insert_machine =
      db::prepare_insert(database_, "machine", {"id", "name", "role", "parent_id", "layer"});
  for (const vm::Machine& machine : run.registry().all()) {
    insert_machine.bind(1, machine.id);
    insert_machine.bind(2, machine.name);
    insert_machine.bind(3, std::string_view(role_name(machine.role)));
    insert_machine.bind_or_null(4, machine.parent_id);
    insert_machine.bind(5, static_cast<int64_t>(machine.layer));
    insert_machine.run();
  }
  SqliteStatement insert_run = database_.prepare(
      "INSERT INTO run(plugin_version, babeltrace2_version, sqlite_version, schema_version, inputs, parameters,"
      " events, discarded_events, discarded_packets, vms_found, finished_at)"
      " VALUES(?,?,sqlite_version(),?,?,?,?,?,?,?,datetime('now'))");
  const RunInfo& info = run_info_;
  insert_run.bind(1, info.plugin_version);
  insert_run.bind(2, info.babeltrace2_version);
  insert_run.bind(3, static_cast<int64_t>(db::kSchemaVersion));
  insert_run.bind(4, info.inputs);
  insert_run.bind(5, info.parameters);
  insert_run.bind(6, static_cast<int64_t>(info.events));
  insert_run.bind(7, static_cast<int64_t>(info.discarded_events));
  insert_run.bind(8, static_cast<int64_t>(info.discarded_packets));
  insert_run.bind(9, info.vms_found);
  insert_run.run();
}

}  // namespace vm
