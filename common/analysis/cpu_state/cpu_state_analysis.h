// SPDX-License-Identifier: MIT
#pragma once
// What runs on each physical CPU, descending into the VMs whose guest traces are fused in
// (FusedCpuModel): the cpu_state table.

#include <vector>

#include "analysis/analysis.h"
#include "analysis/cpu_state/fused_cpu_model.h"

namespace vm {

class KernelAnalysis;
class VcpuAnalysis;

class CpuStateAnalysis final : public Analysis, public CpuListener {
 public:
  static const AnalysisInfo info;
  explicit CpuStateAnalysis(Run& run);

  void on_machine(TracedMachine& machine) override;
  void on_guest_linked(TracedMachine& guest) override;
  void on_event(TracedMachine& machine, const Event& event) override;
  void on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t cpu, int64_t count) override;
  void finish(Run& run) override;

  // CpuListener: the cpu_state rows.
  void on_cpu_interval(const CpuInterval& interval) override;

 private:
  KernelAnalysis& kernel_;
  VcpuAnalysis& vcpus_;
  FusedCpuModel cpus_;
  std::vector<int> layers_;  // by machine index
  SqliteStatement insert_cpu_state_;
};

}  // namespace vm
