// SPDX-License-Identifier: MIT
#include "analysis/registry.h"

#include "analysis/cpu_state/cpu_state_analysis.h"
#include "analysis/graph/critical_path_tables.h"
#include "analysis/graph/os_graph_analysis.h"
#include "analysis/kernel/kernel_analysis.h"
#include "analysis/run_tables/run_tables.h"
#include "analysis/sync/sync_tables.h"
#include "analysis/vcpu/vcpu_analysis.h"
#include "analysis/wake/wake_analysis.h"

namespace vm {

// One line per analysis. Order matters: an analysis sees an event after those above it (the
// kernel analysis observes the vCPU analysis, cpu_state reads the kernel model's status). Every
// one reads the machine's scheduler state, which the run updates before the first of them.
const std::vector<const AnalysisInfo*>& registered_analyses() {
  static const std::vector<const AnalysisInfo*> analyses = {
      &RunTables::info,         // machine, trace, run, data_loss, event_stat, diagnostic
      &VcpuAnalysis::info,      // vcpu, vcpu_state, thread and the vCPU views
      &WakeAnalysis::info,      // vcpu_halt and its views (reads the vCPU analysis's vCPUs)
      &KernelAnalysis::info,    // thread_state, container, container_thread, thread_delay
      &CpuStateAnalysis::info,  // cpu_state
      &SyncTables::info,        // sync, sync_estimate, guest_match (from filter.vm.fuse)
      &graph::OsGraphAnalysis::info,     // the execution graph (only with critical-path / exec-graph)
      &graph::ExecGraphTables::info,     // exec_graph_* (only with critical-path / exec-graph)
      &graph::CriticalPathTables::info,  // critical_path* (only with critical-path / exec-graph)
  };
  return analyses;
}

}  // namespace vm
