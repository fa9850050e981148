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

namespace vm {
namespace {

std::string temp_path(const char* name) {
  return std::string(::testing::TempDir()) + "/" + name + "-" + std::to_string(::getpid()) + ".db";
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

TEST(RunDatabase, FileAppearsOnlyAfterCommit) {
  const std::string path = temp_path("commit");
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
  const std::string path = temp_path("abandon");
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
  const std::string path = temp_path("views");
  vm::Run run(path);
  MachineRegistry& machines = run.registry();
  const int64_t host = machines.add("host", MachineRole::host, kUnknown, 0);
  const int64_t guest = machines.add("qemu-1", MachineRole::guest, host, 1);
  {
    auto row = [&](Timestamp ts, Timestamp dur, VcpuState state, int64_t reason, BeginEvent begin) {
      VcpuInterval interval;
      interval.ts = ts;
      interval.dur = dur;
      interval.machine_id = guest;
      interval.vcpu_id = 0;
      interval.state = state;
      interval.exit_reason = reason;
      interval.isa = VirtIsa::vmx;
      interval.begin_event = begin;
      run.get<VcpuAnalysis>().on_vcpu_interval(interval);
    };
    // Hand-derived: two HLT exits (12), the second preempted and resumed: 2 exits, 10+5+7 ns.
    row(0, 10, VcpuState::vmm, 12, BeginEvent::kvm_exit);
    row(10, 20, VcpuState::guest, -1, BeginEvent::kvm_entry);
    row(30, 5, VcpuState::vmm, 12, BeginEvent::kvm_exit);
    row(35, 50, VcpuState::preempted, -1, BeginEvent::sched_switch);
    row(85, 7, VcpuState::vmm, 12, BeginEvent::sched_switch);
    run.commit();
  }
  SqliteConnection check(path);
  SqliteStatement query = check.prepare("SELECT exit_reason_name, exits, vmm_ns FROM exit_stats");
  ASSERT_TRUE(query.step());
  EXPECT_EQ(query.column_text(0), "HLT");
  EXPECT_EQ(query.column_int(1), 2);
  EXPECT_EQ(query.column_int(2), 22);
  EXPECT_FALSE(query.step());
  SqliteStatement version = check.prepare("PRAGMA user_version");
  ASSERT_TRUE(version.step());
  EXPECT_EQ(version.column_int(0), db::kSchemaVersion);
  query = SqliteStatement();
  version = SqliteStatement();
  check.close();
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
  const std::string path = temp_path("neighbour");
  vm::Run run(path);
  MachineRegistry& machines = run.registry();
  const int64_t host = machines.add("H", MachineRole::host, kUnknown, 0);
  const int64_t a = machines.add("A", MachineRole::guest, host, 1);
  const int64_t b = machines.add("B", MachineRole::guest, host, 1);
  {
    run.get<VcpuAnalysis>().add_vcpus({VcpuRecord{a, 0, 10, 1000, VcpuIdSource::kvm_exit_field},
                                       VcpuRecord{b, 1, 21, 2000, VcpuIdSource::kvm_exit_field}});
    auto preempted = [&](Timestamp ts, Timestamp dur, int64_t by) {
      VcpuInterval interval;
      interval.ts = ts;
      interval.dur = dur;
      interval.machine_id = a;
      interval.vcpu_id = 0;
      interval.state = VcpuState::preempted;
      interval.pcpu = 0;
      interval.preempting_tid = by;
      interval.begin_event = BeginEvent::sched_switch;
      run.get<VcpuAnalysis>().on_vcpu_interval(interval);
    };
    preempted(0, 40, 21);
    preempted(100, 10, 21);
    preempted(200, 5, 99);
    run.commit();
  }
  SqliteConnection check(path);
  {
    SqliteStatement query = check.prepare(
        "SELECT preempting_machine_id, COALESCE(preempting_vcpu_id, -1), preemptions, preempted_ns FROM "
        "vcpu_preemption "
        "ORDER BY preempted_ns DESC");
    ASSERT_TRUE(query.step());
    EXPECT_EQ(query.column_int(0), b);
    EXPECT_EQ(query.column_int(1), 1);
    EXPECT_EQ(query.column_int(2), 2);
    EXPECT_EQ(query.column_int(3), 50);
    ASSERT_TRUE(query.step());
    EXPECT_EQ(query.column_int(0), host);
    EXPECT_EQ(query.column_int(1), -1);
    EXPECT_EQ(query.column_int(3), 5);
    EXPECT_FALSE(query.step());
    SqliteStatement neighbours = check.prepare("SELECT vm_id, neighbour_id, preempted_ns FROM noisy_neighbour");
    ASSERT_TRUE(neighbours.step());
    EXPECT_EQ(neighbours.column_int(0), a);
    EXPECT_EQ(neighbours.column_int(1), b);
    EXPECT_EQ(neighbours.column_int(2), 50);
    EXPECT_FALSE(neighbours.step());
  }
  check.close();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vm

namespace vm {
namespace {

// Every table and view of a committed database belongs to one registered analysis and has a
// one-line description (sink.vm.sqlite's help prints them); nothing is listed that is not there.
TEST(RunDatabase, EveryTableAndViewIsDescribedByItsAnalysis) {
  const std::string path = temp_path("described");
  { vm::Run(path).commit(); }
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
  SqliteConnection check(path);
  std::set<std::string> present;
  {
    SqliteStatement query = check.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')");
    while (query.step()) present.insert(query.column_text(0));
  }
  check.close();
  std::remove(path.c_str());
  for (const std::string& name : present) EXPECT_EQ(described.count(name), 1u) << name << " is not described";
  for (const auto& [name, description] : described) EXPECT_EQ(present.count(name), 1u) << name << " is not created";
  EXPECT_EQ(present.size(), 22u);  // the schema of version 2: 16 tables and 6 views
}

}  // namespace
}  // namespace vm
