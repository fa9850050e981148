// SPDX-License-Identifier: MIT
// A run's database (common/analysis/run.h, common/db/): the file appears only on commit, and the
// vCPU analysis's views count what the rows say.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "analysis/registry.h"
#include "analysis/run.h"
#include "analysis/vcpu/vcpu_analysis.h"
#include "db_check.h"

namespace vm {
namespace {

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

TEST(RunDatabase, FileAppearsOnlyAfterCommit) {
  const std::string path = temp_db_path("commit");
  std::remove(path.c_str());
  vm::Run run(path);
  MachineRegistry& machines = run.registry();
  machines.add("host", MachineRole::host, kUnknown, 0);
  {
    EXPECT_FALSE(exists(path));
    EXPECT_TRUE(exists(run.database().temporary_path()));
    run.commit();
    EXPECT_TRUE(exists(path));
    EXPECT_FALSE(exists(run.database().temporary_path()));
  }
  EXPECT_TRUE(exists(path));
  std::remove(path.c_str());
}

TEST(RunDatabase, AbandonedRunLeavesNothing) {
  const std::string path = temp_db_path("abandon");
  std::remove(path.c_str());
  std::string temporary;
  {
    vm::Run run(path);
    temporary = run.database().temporary_path();
    run.get<VcpuAnalysis>().on_vcpu_interval(VcpuInterval{});
  }
  EXPECT_FALSE(exists(path));
  EXPECT_FALSE(exists(temporary));
}

TEST(RunDatabase, UnwritablePathIsRefusedWithTheReason) {
  try {
    vm::Run run("/nonexistent-directory/out.db");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("/nonexistent-directory/out.db"), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
}

TEST(RunDatabase, ExitStatsCountsExitsAndHypervisorTime) {
  const std::string path = temp_db_path("views");
  vm::Run run(path);
  const int64_t host = run.registry().add("host", MachineRole::host, kUnknown, 0);
  const int64_t guest = run.registry().add("qemu-1", MachineRole::guest, host, 1);
  {
    auto row = [&](Timestamp ts, Timestamp dur, VcpuState state, int64_t reason, BeginEvent begin) {
      // vCPU 0 of the guest; pcpu and preempting_tid unknown.
      run.get<VcpuAnalysis>().on_vcpu_interval(
          VcpuInterval{ts, dur, guest, 0, state, reason, VirtIsa::vmx, kUnknown, kUnknown, begin});
    };
    // Hand-derived: two HLT exits (12), the second preempted and resumed: 2 exits, 10+5+7 ns.
    row(0, 10, VcpuState::vmm, 12, BeginEvent::kvm_exit);
    row(10, 20, VcpuState::guest, -1, BeginEvent::kvm_entry);
    row(30, 5, VcpuState::vmm, 12, BeginEvent::kvm_exit);
    row(35, 50, VcpuState::preempted, -1, BeginEvent::sched_switch);
    row(85, 7, VcpuState::vmm, 12, BeginEvent::sched_switch);
    run.commit();
  }
  EXPECT_EQ(int_rows(path, "SELECT exit_reason_name = 'HLT', exits, vmm_ns FROM exit_stats", 3), (IntRows{{1, 2, 22}}));
  EXPECT_EQ(int_rows(path, "PRAGMA user_version", 1), (IntRows{{db::kSchemaVersion}}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vm

namespace vm {
namespace {

// Hand-derived: VM A (vCPU 0 on host thread 10) is preempted three times on host H: 40 ns by
// VM B's vCPU 1 (thread 21), 10 ns by B's vCPU 1 again, and 5 ns by host thread 99 (not a vCPU).
// vcpu_preemption attributes them to B / vCPU 1 (2 preemptions, 50 ns) and to H (1, 5 ns);
// noisy_neighbour gives A's neighbour B with 50 ns.
TEST(RunDatabase, PreemptionViewsNameTheNeighbourVm) {
  const std::string path = temp_db_path("neighbour");
  vm::Run run(path);
  const int64_t host = run.registry().add("H", MachineRole::host, kUnknown, 0);
  const int64_t a = run.registry().add("A", MachineRole::guest, host, 1);
  const int64_t b = run.registry().add("B", MachineRole::guest, host, 1);
  {
    run.get<VcpuAnalysis>().add_vcpus({VcpuRecord{a, 0, 10, 1000, VcpuIdSource::kvm_exit_field},
                                       VcpuRecord{b, 1, 21, 2000, VcpuIdSource::kvm_exit_field}});
    auto preempted = [&](Timestamp ts, Timestamp dur, int64_t by) {
      // A's vCPU 0, preempted on CPU 0 by thread `by`.
      run.get<VcpuAnalysis>().on_vcpu_interval(VcpuInterval{ts, dur, a, 0, VcpuState::preempted, kUnknown,
                                                            VirtIsa::unknown, 0, by, BeginEvent::sched_switch});
    };
    preempted(0, 40, 21);
    preempted(100, 10, 21);
    preempted(200, 5, 99);
    run.commit();
  }
  EXPECT_EQ(int_rows(path,
                     "SELECT preempting_machine_id, COALESCE(preempting_vcpu_id, -1), preemptions, preempted_ns "
                     "FROM vcpu_preemption ORDER BY preempted_ns DESC",
                     4),
            (IntRows{{b, 1, 2, 50}, {host, -1, 1, 5}}));
  EXPECT_EQ(int_rows(path, "SELECT vm_id, neighbour_id, preempted_ns FROM noisy_neighbour", 3), (IntRows{{a, b, 50}}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vm

namespace vm {
namespace {

// Every table and view of a committed database belongs to one registered analysis and has a
// one-line description (sink.vm.sqlite's help prints them); nothing is listed that is not there.
// The tables and views of the database at `path`, which is then removed.
std::set<std::string> tables_and_views(const std::string& path) {
  SqliteConnection check(path);
  std::set<std::string> present;
  {
    SqliteStatement query = check.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')");
    while (query.step()) present.insert(query.column_text(0));
  }
  check.close();
  std::remove(path.c_str());
  return present;
}

TEST(RunDatabase, EveryTableAndViewIsDescribedByItsAnalysis) {
  const std::string path = temp_db_path("described");
  // Every analysis enabled: the graph's and the critical paths' are off by default.
  RunOptions all;
  all.exec_graph = all.store_exec_graph = true;
  { vm::Run(path, {}, all).commit(); }
  std::map<std::string, std::string> described;  // name -> description
  for (const AnalysisInfo* analysis : registered_analyses()) {
    EXPECT_NE(std::string(analysis->help), "");
    for (const db::SchemaObject& object : analysis->schema) {
      if (object.kind == db::ObjectKind::index) continue;
      EXPECT_TRUE(described.emplace(object.name, object.description).second) << object.name << " twice";
      EXPECT_NE(std::string(object.description), "") << object.name;
      EXPECT_EQ(std::string(object.description).find('\n'), std::string::npos) << object.name;
    }
  }
  const std::set<std::string> present = tables_and_views(path);
  for (const std::string& name : present) EXPECT_EQ(described.count(name), 1u) << name << " is not described";
  for (const auto& [name, description] : described) EXPECT_EQ(present.count(name), 1u) << name << " is not created";
  // The schema of version 2: 16 tables and 7 views (nested_vcpu_time among them); and the wake
  // analysis's vcpu_halt and 4 views; the fuse filter's sync_segment; with the graph's 3 tables
  // and 1 view and the critical paths' 3 tables and 2 views.
  EXPECT_EQ(present.size(), 29u + 9u);
}

// Without the options that enable them, the graph's and the critical paths' tables are not
// created (the default database is the one before they existed, with sync_segment: 29 tables
// and views).
TEST(RunDatabase, GraphTablesOnlyOnRequest) {
  const std::string path = temp_db_path("default-schema");
  { vm::Run(path).commit(); }
  const std::set<std::string> present = tables_and_views(path);
  EXPECT_EQ(present.size(), 29u);
  for (const char* name : {"critical_path", "critical_path_segment", "exec_graph_vertex", "exec_graph_worker"})
    EXPECT_EQ(present.count(name), 0u) << name;
}

}  // namespace
}  // namespace vm
