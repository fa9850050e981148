// SPDX-License-Identifier: MIT
#pragma once
// Why each halted vCPU woke up (WakeModel, one per traced machine): the vcpu_halt table and
// its views (halted time by wake reason, the IPI matrix, the wake-up latency split).

#include <memory>
#include <set>
#include <vector>

#include "analysis/analysis.h"
#include "analysis/wake/wake_model.h"

namespace vm {

class RunTables;
class VcpuAnalysis;

class WakeAnalysis final : public Analysis {
 public:
  static const AnalysisInfo info;
  explicit WakeAnalysis(Run& run);

  void on_machine(TracedMachine& machine) override;
  void on_guest_linked(TracedMachine& guest) override;
  unsigned hooks() const override { return kEventHook; }
  void on_event(TracedMachine& machine, const Event& event) override;
  void on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t cpu, int64_t count) override;
  void finish_machine(TracedMachine& machine, Timestamp end) override;
  void write(Run& run) override;

 private:
  void insert(const HaltRecord& row);
  WakeModel& model(const TracedMachine& machine) { return *models_[machine.index]; }

  Run& run_;
  RunTables* run_tables_;
  VcpuAnalysis* vcpu_;
  std::vector<std::unique_ptr<WakeModel>> models_;  // by machine index
  std::vector<std::set<int64_t>> vms_;              // by machine index: the VMs its halts were in
  SqliteStatement insert_;
};

}  // namespace vm
