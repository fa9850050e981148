// VmDatabase: the file appears only on commit, and the views count what the rows say.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "vm_database.h"

namespace vm {
namespace {

std::string temp_path(const char* name) {
  return std::string(::testing::TempDir()) + "/" + name + "-" + std::to_string(::getpid()) + ".db";
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

TEST(VmDatabase, FileAppearsOnlyAfterCommit) {
  const std::string path = temp_path("commit");
  std::remove(path.c_str());
  MachineRegistry machines;
  machines.add("host", MachineRole::host, kUnknown, 0);
  {
    VmDatabase db(path);
    EXPECT_FALSE(exists(path));
    EXPECT_TRUE(exists(db.temporary_path()));
    db.commit(machines, RunInfo{});
    EXPECT_TRUE(exists(path));
    EXPECT_FALSE(exists(db.temporary_path()));
  }
  EXPECT_TRUE(exists(path));
  std::remove(path.c_str());
}

TEST(VmDatabase, AbandonedRunLeavesNothing) {
  const std::string path = temp_path("abandon");
  std::remove(path.c_str());
  std::string temporary;
  {
    VmDatabase db(path);
    temporary = db.temporary_path();
    db.on_vcpu_interval(VcpuInterval{});
  }
  EXPECT_FALSE(exists(path));
  EXPECT_FALSE(exists(temporary));
}

TEST(VmDatabase, UnwritablePathIsRefusedWithTheReason) {
  try {
    VmDatabase db("/nonexistent-directory/out.db");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("/nonexistent-directory/out.db"), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
}

TEST(VmDatabase, ExitStatsCountsExitsAndHypervisorTime) {
  const std::string path = temp_path("views");
  MachineRegistry machines;
  const int64_t host = machines.add("host", MachineRole::host, kUnknown, 0);
  const int64_t guest = machines.add("qemu-1", MachineRole::guest, host, 1);
  {
    VmDatabase db(path);
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
      db.on_vcpu_interval(interval);
    };
    // Hand-derived: two HLT exits (12), the second preempted and resumed: 2 exits, 10+5+7 ns.
    row(0, 10, VcpuState::vmm, 12, BeginEvent::kvm_exit);
    row(10, 20, VcpuState::guest, -1, BeginEvent::kvm_entry);
    row(30, 5, VcpuState::vmm, 12, BeginEvent::kvm_exit);
    row(35, 50, VcpuState::preempted, -1, BeginEvent::sched_switch);
    row(85, 7, VcpuState::vmm, 12, BeginEvent::sched_switch);
    db.commit(machines, RunInfo{});
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
  EXPECT_EQ(version.column_int(0), kSchemaVersion);
  query = SqliteStatement();
  version = SqliteStatement();
  check.close();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vm
