// SPDX-License-Identifier: MIT
#include "analysis/graph/critical_path_tables.h"

#include "analysis/graph/graph_store.h"
#include "analysis/graph/os_graph_analysis.h"
#include "analysis/graph/path_selector.h"
#include "analysis/run.h"
#include "analysis/run_tables/run_tables.h"
#include "analysis/vcpu/vcpu_analysis.h"

namespace vm::graph {

namespace {

bool graph_stored(const RunOptions& options) { return options.store_exec_graph; }
bool graph_built(const RunOptions& options) { return options.exec_graph; }

PrepareInsert prepare_on(Run& run) {
  return [&run](const char* table, std::initializer_list<const char*> columns) {
    return db::prepare_insert(run.database(), table, columns);
  };
}

}  // namespace

const AnalysisInfo OsGraphAnalysis::info = {
    "exec_graph_build", "the OS execution graph of every machine (built only with `critical-path` or `exec-graph`)",
    db::SchemaObjects{nullptr, nullptr}, create_analysis<OsGraphAnalysis>, graph_built};

const AnalysisInfo ExecGraphTables::info = {
    "exec_graph", "the execution graph: workers, vertices, edges (with `critical-path` or `exec-graph=true`)",
    exec_graph_schema(), create_analysis<ExecGraphTables>, graph_stored};

const AnalysisInfo CriticalPathTables::info = {
    "critical_path", "the critical paths of the threads `critical-path` selects, and where their time went",
    critical_path_schema(), create_analysis<CriticalPathTables>, graph_built};

void OsGraphAnalysis::on_machine(TracedMachine& machine) {
  if (!machine.fused) return;
  const VcpuTracker& vcpus = run_.get<VcpuAnalysis>().host(machine).vcpus();
  enable_fused().set_resolver(machine.id, tracker_resolver(vcpus));
  preemption_links_for(machine.id, [&vcpus](int64_t tid) {
    VcpuTracker::VcpuOfThread of;
    return tid > 0 && vcpus.describe(tid, of);
  });
}

void ExecGraphTables::write(Run& run) { write_exec_graph(run.get<OsGraphAnalysis>().graph(), prepare_on(run)); }

void CriticalPathTables::write(Run& run) {
  RunTables& tables = run.get<RunTables>();
  OsGraphAnalysis& analysis = run.get<OsGraphAnalysis>();
  const OsGraphBuilder::Stats& stats = analysis.builder().stats();
  if (stats.out_of_order || stats.link_conflicts || stats.backward_links || stats.bad_tid || stats.no_cpu)
    tables.add_diagnostic("info", "execution graph: left out " + std::to_string(stats.out_of_order) +
                                      " vertices before their thread's last one, " +
                                      std::to_string(stats.link_conflicts) + " second hand-offs on a vertex, " +
                                      std::to_string(stats.backward_links) +
                                      " hand-offs received before they were made (clocks out of sync?), " +
                                      std::to_string(stats.bad_tid) + " events with a bad tid, " +
                                      std::to_string(stats.no_cpu) + " events without their CPU");
  if (run.options().critical_path.empty()) return;
  std::vector<PathSelector> selectors;
  for (const std::string& text : run.options().critical_path) selectors.push_back(parse_selector(text));
  std::vector<MachineName> machines;
  for (const Machine& m : run.registry().all()) machines.push_back(MachineName{m.id, m.name});
  std::vector<std::string> unmatched;
  const ExecGraph& g = analysis.graph();
  const std::vector<SelectedWorker> selected = select_workers(g, selectors, machines, &unmatched);
  for (const std::string& message : unmatched) tables.add_diagnostic("warning", message);
  for (const std::string& message : write_critical_paths(g, selected, 1, PathRange{}, prepare_on(run), product_path_options()))
    tables.add_diagnostic("warning", message);
}

}  // namespace vm::graph
