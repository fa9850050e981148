// SPDX-License-Identifier: MIT
#pragma once
// One run of the analyses: its machines, the registered analyses and the output database. The
// babeltrace2 adapter (plugins/vm/sqlite-sink/) turns messages into these calls.

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "analysis/analysis.h"
#include "db/database.h"
#include "base/machine_registry.h"

namespace vm {

class Run {
 public:
  // Creates the temporary database at `path` with every registered analysis's tables. Throws
  // std::runtime_error naming the path and the reason.
  // Only the analyses that `run_options` enables are created (AnalysisInfo::enabled).
  explicit Run(const std::string& path, db::DatabaseOptions options = {}, RunOptions run_options = {});
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  MachineRegistry& registry() { return registry_; }
  db::Database& database() { return *database_; }
  const RunOptions& options() const { return options_; }
  const std::vector<TracedMachine*>& machines() const { return machine_order_; }

  // A new machine (its fields set by the caller, `id` from registry()). Links fused guests.
  TracedMachine& add_machine(std::unique_ptr<TracedMachine> machine);

  // Every event: first the context, then (for a known kind) the decoded event. The machine's
  // scheduler state is updated once per event here, before any analysis sees it.
  void on_context(TracedMachine& machine, const EventContext& ctx) {
    if (!machine.saw_events) {
      machine.saw_events = true;
      machine.first_ts = ctx.ts;
    }
    machine.last_ts = ctx.ts;
    ++machine.events;
    machine.sched_.on_context(ctx);
    for (Analysis* analysis : context_hooks_) analysis->on_context(machine, ctx);
  }
  void on_event(TracedMachine& machine, Event& event) {
    event.tid = machine.sched_.thread_of(event.ctx);  // before the event changes the state
    machine.sched_.on_event(event);
    for (Analysis* analysis : event_hooks_) analysis->on_event(machine, event);
    for (Analysis* analysis : after_event_hooks_) analysis->after_event(machine, event);
  }
  // `begin`/`end` kUnknown: not known (the machine's last event then). The CPU's current thread
  // becomes unknown in the scheduler state first, then every analysis is told.
  void on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t cpu, int64_t count);

  // End of input: closes every timeline (fused runs: all at the run's last event).
  void finish();
  bool fused() const { return fused_; }
  Timestamp end() const { return end_; }
  // Writes every analysis's final rows.
  void write();
  // Writes the machines and the run row, builds indexes and views, closes the file and renames
  // it onto the output path. Throws on failure (the temporary file is then removed).
  void commit();
  // Closes and removes the temporary file.
  void abandon();

  // The registered analysis of type T.
  template <typename T>
  T& get() {
    for (const auto& analysis : analyses_)
      if (auto* found = dynamic_cast<T*>(analysis.get())) return *found;
    throw std::logic_error("analysis not registered");
  }

 private:
  void link_fused_guests();
  void clear_analyses();

  MachineRegistry registry_;
  RunOptions options_;
  std::unique_ptr<db::Database> database_;  // declared before the analyses: they hold statements
  std::vector<std::unique_ptr<Analysis>> analyses_;
  // The analyses that want each hook, in registration order (the per-event path).
  std::vector<Analysis*> context_hooks_, event_hooks_, after_event_hooks_;
  std::vector<std::unique_ptr<TracedMachine>> machines_;
  std::vector<TracedMachine*> machine_order_;
  bool fused_ = false;
  Timestamp end_ = 0;
};

}  // namespace vm
