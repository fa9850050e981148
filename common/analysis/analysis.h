// SPDX-License-Identifier: MIT
#pragma once
// The analysis registry's interface. A run reads one or more traces, each a machine; every
// decoded event of a machine fans out to the registered analyses, in registration order
// (common/analysis/registry.cpp). Each analysis owns its state, its schema objects (tables,
// views, indexes, each described) and their writer.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "db/database.h"
#include "events/events.h"
#include "base/machine_registry.h"
#include "base/types.h"
#include "kernel/sched_state.h"
#include "analysis/run_options.h"

namespace vm {

class Run;

// One traced machine (one input trace) and what every analysis shares about it.
struct TracedMachine {
  int64_t id = 0;    // in the MachineRegistry and the `machine` table
  size_t index = 0;  // order of appearance in the run
  std::string trace_name, hostname, clock_uuid;
  // Fused runs (filter.vm.fuse upstream): this trace is the VM `vm_key` of its host machine.
  bool fused = false;  // the trace carries the fused machine model
  bool guest = false;  // its fused role is `guest`
  int64_t vm_key = kUnknown;
  bool has_vm_key = false;
  std::string fused_parent;       // the host machine's name
  TracedMachine* host = nullptr;  // the fused host whose VM this is, once linked
  // Fused, but no sync point links it to the reference (sync method `none`): it and its guests
  // keep its clock, unrelated to the others' (two hosts that never talked).
  bool own_clock = false;
  // First and last event, and the number of events.
  Timestamp first_ts = 0, last_ts = 0;
  bool saw_events = false;
  uint64_t events = 0;
  // Event classes seen, by name (for event_stat and the diagnostics), filled at the end.
  struct EventClassCount {
    std::string name;
    EventKind kind;
    uint64_t count;
  };
  std::vector<EventClassCount> event_classes;

  // Its scheduler state: the current thread of each CPU, its threads' processes and names. The
  // run updates it once per event, before any analysis sees the event (lost events too); the
  // analyses only read it.
  const SchedState& sched() const { return sched_; }

 private:
  friend class Run;
  SchedState sched_;
};

class Analysis {
 public:
  virtual ~Analysis() = default;
  // A machine appears (its first stream). Called in registration order.
  virtual void on_machine(TracedMachine&) {}
  // A fused guest was linked to its host (guest.host is set).
  virtual void on_guest_linked(TracedMachine& /*guest*/) {}
  // Which of the per-event hooks below it overrides (the run calls only those, per event).
  enum Hook : unsigned { kContextHook = 1, kEventHook = 2, kAfterEventHook = 4 };
  virtual unsigned hooks() const { return kEventHook; }
  // Every event, whatever its kind, before it is decoded.
  virtual void on_context(TracedMachine&, const EventContext&) {}
  // A decoded event of a known kind (event.tid: the thread it happened in, from the scheduler
  // state before the event; machine.sched(): the state after it).
  virtual void on_event(TracedMachine&, const Event&) {}
  // After every analysis saw the event.
  virtual void after_event(TracedMachine&, const Event&) {}
  // Discarded events or packets on `cpu` (kUnknown: unknown) from `begin` to `end`; `count`
  // is kUnknown when the tracer did not count them. machine.sched() already says the CPU's
  // current thread is unknown (SchedState::current_before_loss(): which thread it was).
  virtual void on_lost_events(TracedMachine&, Timestamp /*begin*/, Timestamp /*end*/, int64_t /*cpu*/,
                              int64_t /*count*/) {}
  // End of the input: close this machine's intervals at `end`.
  virtual void finish_machine(TracedMachine&, Timestamp /*end*/) {}
  // End of the input, after every machine was finished.
  virtual void finish(Run&) {}
  // Writes the final rows (after every finish).
  virtual void write(Run&) {}
};

// How the registry knows an analysis.
struct AnalysisInfo {
  const char* name;
  const char* help;  // one line
  db::SchemaObjects schema;
  std::unique_ptr<Analysis> (*create)(Run& run);
  // Whether a run with these options has it (its tables, its events); nullptr: always.
  bool (*enabled)(const RunOptions& options) = nullptr;
};

// The `create` of an AnalysisInfo for an analysis constructed from its Run:
//   const AnalysisInfo MyAnalysis::info = {"my", "...", db::objects_of(kSchema), create_analysis<MyAnalysis>};
template <typename A>
std::unique_ptr<Analysis> create_analysis(Run& run) {
  return std::make_unique<A>(run);
}

}  // namespace vm
