// SPDX-License-Identifier: MIT
#include "analysis/run.h"

#include <algorithm>
#include <map>
#include <utility>

#include "analysis/registry.h"
#include "analysis/run_tables/run_tables.h"

namespace vm {

namespace {

bool enabled(const AnalysisInfo& info, const RunOptions& options) {
  return !info.enabled || info.enabled(options);
}

std::vector<db::SchemaObjects> registered_schema(const RunOptions& options) {
  std::vector<db::SchemaObjects> schema;
  for (const AnalysisInfo* info : registered_analyses())
    if (enabled(*info, options)) schema.push_back(info->schema);
  return schema;
}

}  // namespace

Run::Run(const std::string& path, db::DatabaseOptions options, RunOptions run_options)
    : options_(std::move(run_options)),
      database_(std::make_unique<db::Database>(path, registered_schema(options_), options)) {
  for (const AnalysisInfo* info : registered_analyses()) {
    if (!enabled(*info, options_)) continue;
    analyses_.push_back(info->create(*this));
    Analysis* analysis = analyses_.back().get();
    if (analysis->hooks() & Analysis::kContextHook) context_hooks_.push_back(analysis);
    if (analysis->hooks() & Analysis::kEventHook) event_hooks_.push_back(analysis);
    if (analysis->hooks() & Analysis::kAfterEventHook) after_event_hooks_.push_back(analysis);
  }
}

Run::~Run() {
  analyses_.clear();  // finalizes their statements before the connection closes
}

TracedMachine& Run::add_machine(std::unique_ptr<TracedMachine> owned) {
  TracedMachine& machine = *owned;
  machine.index = machines_.size();
  machines_.push_back(std::move(owned));
  machine_order_.push_back(&machine);
  for (const auto& analysis : analyses_) analysis->on_machine(machine);
  link_fused_guests();
  return machine;
}

// A guest trace fused with its host (filter.vm.fuse upstream) is the VM that the host's QEMU
// process runs. Links every such pair known so far (traces appear in any order).
void Run::link_fused_guests() {
  for (TracedMachine* guest : machine_order_) {
    if (guest->fused_parent.empty() || !guest->has_vm_key || guest->host) continue;
    for (TracedMachine* host : machine_order_)
      if (host != guest && registry_.get(host->id).name == guest->fused_parent) {
        guest->host = host;
        for (const auto& analysis : analyses_) analysis->on_guest_linked(*guest);
      }
  }
}

void Run::on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t cpu, int64_t count) {
  if (begin == kUnknown) begin = machine.last_ts;
  if (end == kUnknown) end = begin;
  machine.sched_.on_lost_events(cpu);
  for (const auto& analysis : analyses_) analysis->on_lost_events(machine, begin, end, cpu, count);
}

void Run::finish() {
  // Fused traces share one clock and end together: every timeline runs to the last event of
  // the machines that share its clock. A top-level machine left in its own clock (own_clock)
  // and its guests end at their own last event.
  end_ = 0;
  fused_ = false;
  std::map<const TracedMachine*, Timestamp> group_end;  // by the machine whose clock it is (nullptr: shared)
  auto clock_group = [](const TracedMachine* machine) -> const TracedMachine* {
    for (size_t depth = 0; machine->host && depth < 64; ++depth) machine = machine->host;  // the top-level host
    return machine->own_clock ? machine : nullptr;
  };
  for (const TracedMachine* machine : machine_order_) {
    end_ = std::max(end_, machine->last_ts);
    fused_ |= machine->fused;
    Timestamp& end = group_end[clock_group(machine)];
    end = std::max(end, machine->last_ts);
  }
  for (TracedMachine* machine : machine_order_)
    for (const auto& analysis : analyses_) analysis->finish_machine(*machine, group_end[clock_group(machine)]);
  for (const auto& analysis : analyses_) analysis->finish(*this);
}

void Run::write() {
  for (const auto& analysis : analyses_) analysis->write(*this);
}

void Run::commit() {
  try {
    get<RunTables>().write_final_rows(*this);
    database_->commit();
  } catch (const std::exception& error) {
    abandon();
    throw std::runtime_error("cannot finish the output database `" + database_->path() + "`: " + error.what());
  }
  clear_analyses();
  database_->close_and_rename();
}

void Run::clear_analyses() {
  context_hooks_.clear();
  event_hooks_.clear();
  after_event_hooks_.clear();
  analyses_.clear();
}

void Run::abandon() {
  clear_analyses();
  database_->abandon();
}

}  // namespace vm
