// SPDX-License-Identifier: MIT
// sink.vm.sqlite in real babeltrace2 graphs (source.ctf.fs -> filter.utils.muxer -> our sink),
// loaded from the exact plugin file, then checked with SQL.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "graph_fixture.h"

namespace vm::test {
namespace {

class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      ADD_FAILURE() << "cannot open " << path;
  }
  ~Db() { sqlite3_close(db_); }
  // Every row of `sql`, each column as text ("NULL" for null), joined with '|'.
  std::vector<std::string> rows(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_) << " in " << sql;
      return out;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        if (i) row += '|';
        const unsigned char* text = sqlite3_column_text(stmt, i);
        row += text ? reinterpret_cast<const char*>(text) : "NULL";
      }
      out.push_back(row);
    }
    sqlite3_finalize(stmt);
    return out;
  }
  std::string one(const std::string& sql) {
    auto all = rows(sql);
    return all.empty() ? "<no row>" : all[0];
  }

 private:
  sqlite3* db_ = nullptr;
};

// Expected rows for the OneQemuKvm host stub; derivation in tests/unit/vcpu_tracker_test.cpp
// (OneQemuKvmHostStubMatchesTraceCompassVmmAndPreemptBits): the expected vCPU 0
// status of the Incubator's virtual/resources/VirtualMachineAnalysisTest, VMM bit -> vmm, PREEMPT bit -> preempted, RUNNING -> guest; the
// rows before 45 follow from the host events alone (the oracle's boundary at 10 is a guest event).
const std::vector<std::string> kOneQemuKvmHostRows = {
    "1|4|unknown|NULL|NULL|NULL|NULL", "5|40|guest|NULL|NULL|0|NULL",     "45|15|vmm|32|MSR_WRITE|0|NULL",
    "60|35|guest|NULL|NULL|0|NULL",    "95|5|vmm|32|MSR_WRITE|0|NULL",    "100|50|preempted|NULL|NULL|0|30",
    "150|5|vmm|32|MSR_WRITE|0|NULL",   "155|40|guest|NULL|NULL|0|NULL",   "195|15|vmm|32|MSR_WRITE|0|NULL",
    "210|35|guest|NULL|NULL|0|NULL",   "245|15|vmm|32|MSR_WRITE|0|NULL",  "260|35|guest|NULL|NULL|0|NULL",
    "295|5|vmm|32|MSR_WRITE|0|NULL",   "300|50|preempted|NULL|NULL|0|30", "350|5|vmm|32|MSR_WRITE|0|NULL",
};

class OneQemuKvmHost : public ::testing::TestWithParam<const char*> {};

TEST_P(OneQemuKvmHost, VcpuTimelineMatchesTraceCompass) {
  const std::string db_path = temp_db("oneqemukvm-" + std::to_string(std::hash<std::string>{}(GetParam())));
  std::remove(db_path.c_str());
  const GraphResult result = run_sqlite_sink({source_dir(GetParam())}, "path=\"" + db_path + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  Db db(db_path);
  EXPECT_EQ(db.rows("SELECT ts, dur, state, exit_reason, exit_reason_name, pcpu, preempting_tid FROM vcpu_state "
                    "WHERE machine_id = 2 AND vcpu_id = 0 ORDER BY ts"),
            kOneQemuKvmHostRows);
  EXPECT_EQ(db.rows("SELECT id, name, role, parent_id, layer FROM machine ORDER BY id"),
            (std::vector<std::string>{"1|host|host|NULL|0", "2|qemu-tid31|guest|1|1"}));
  EXPECT_EQ(db.one("SELECT machine_id, vcpu_id, host_tid, vcpu_id_source FROM vcpu"), "2|0|31|kvm_entry.vcpu_id");
  // vmm rows: 15 + 5 + 5 + 15 + 15 + 5 + 5 ns (the two after preemptions resume exit 32).
  EXPECT_EQ(db.one("SELECT exits, vmm_ns FROM exit_stats"), "5|65");
  EXPECT_EQ(db.one("SELECT events, discarded_events, vms_found FROM run"), "22|0|1");
  std::remove(db_path.c_str());
}

// Both spellings: the stub's kvm_entry/kvm_exit and lttng-modules' kvm_x86_entry/kvm_x86_exit.
INSTANTIATE_TEST_SUITE_P(BothEventSpellings, OneQemuKvmHost,
                         ::testing::Values("traces/tc-stubs/OneQemuKvm/host", "traces/tc-stubs/OneQemuKvm-lttng/host"),
                         [](const auto& info) { return info.index == 0 ? "kvm_entry" : "kvm_x86_entry"; });

TEST(SqliteSinkErrors, MistypedParameterIsNamedWithTheFix) {
  const std::string db_path = temp_db("mistyped");
  const GraphResult result =
      run_sqlite_sink({source_dir("traces/tc-stubs/OneQemuKvm/host")}, "pth=\"" + db_path + "\"");
  ASSERT_FALSE(result.ok);
  EXPECT_NE(result.error.find("unknown parameter `pth`; did you mean `path`?"), std::string::npos) << result.error;
  EXPECT_FALSE(file_exists(db_path));
}

TEST(SqliteSinkErrors, UnwritableOutputIsNamedAndNothingIsWritten) {
  const GraphResult result =
      run_sqlite_sink({source_dir("traces/tc-stubs/OneQemuKvm/host")}, "path=\"/nonexistent-dir/out.db\"");
  ASSERT_FALSE(result.ok);
  EXPECT_NE(result.error.find("the folder `/nonexistent-dir` of the output path `/nonexistent-dir/out.db` cannot be "
                              "used (No such file or directory)"),
            std::string::npos)
      << result.error;
  EXPECT_NE(result.error.find("Create it first (mkdir -p '/nonexistent-dir')"), std::string::npos) << result.error;
}

TEST(SqliteSinkErrors, WrongParameterTypeIsNamed) {
  const GraphResult result = run_sqlite_sink({source_dir("traces/tc-stubs/OneQemuKvm/host")}, "path=3");
  ASSERT_FALSE(result.ok);
  EXPECT_NE(result.error.find("parameter `path` must be a string"), std::string::npos) << result.error;
}

// A kernel trace without KVM events (a public trace of a desktop): the run succeeds, and the
// database says that no VM was found and how to record the events.
TEST(SqliteSinkNoKvm, RunSucceedsAndSaysNoVmWasFound) {
  const std::string db_path = temp_db("nokvm");
  const GraphResult result =
      run_sqlite_sink({test_data("real/tviz-wget-k-20180802-115406/kernel")}, "path=\"" + db_path + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  Db db(db_path);
  EXPECT_EQ(db.one("SELECT vms_found, events FROM run"), "0|17702");  // 17,702 events: traces/README.md
  EXPECT_EQ(db.one("SELECT COUNT(*) FROM vcpu_state"), "0");
  EXPECT_EQ(db.one("SELECT role FROM machine"), "unknown");
  const auto messages = db.rows("SELECT message FROM diagnostic");
  bool names_fix = false, says_no_vm = false;
  for (const std::string& m : messages) {
    names_fix |= m.find("lttng enable-event --kernel 'kvm_x86_*'") != std::string::npos;
    says_no_vm |= m.find("no VM was found") != std::string::npos;
  }
  EXPECT_TRUE(names_fix);
  EXPECT_TRUE(says_no_vm);
  std::remove(db_path.c_str());
}

// The real KVM host of shared/traces/lab/basic: each vCPU's rows tile its time.
class LabHost : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_path = new std::string(temp_db("lab-basic-host"));
    std::remove(db_path->c_str());
    const GraphResult result = run_sqlite_sink({test_data("lab/basic/host/kernel")}, "path=\"" + *db_path + "\"");
    ASSERT_TRUE(result.ok) << result.error;
  }
  static void TearDownTestSuite() {
    std::remove(db_path->c_str());
    delete db_path;
  }
  static std::string* db_path;
};
std::string* LabHost::db_path = nullptr;

TEST_F(LabHost, FindsOneVmWithTwoVcpus) {
  Db db(*db_path);
  // basic/README: one 2-vCPU guest; its QEMU process runs both vCPU threads.
  EXPECT_EQ(db.one("SELECT COUNT(*) FROM machine WHERE role = 'guest'"), "1");
  EXPECT_EQ(db.rows("SELECT vcpu_id, vcpu_id_source FROM vcpu ORDER BY vcpu_id"),
            (std::vector<std::string>{"0|kvm_exit.vcpu_id", "1|kvm_exit.vcpu_id"}));
  EXPECT_EQ(db.one("SELECT COUNT(DISTINCT host_pid) FROM vcpu"), "1");
}

TEST_F(LabHost, EachVcpuTimelineTilesTheTraceWithoutGapsOrOverlaps) {
  Db db(*db_path);
  // Gaps or overlaps: a row that does not start where the previous one of its vCPU ended.
  EXPECT_EQ(db.one("SELECT COUNT(*) FROM (SELECT ts, LAG(ts + dur) OVER w AS prev_end FROM vcpu_state "
                   "WINDOW w AS (PARTITION BY machine_id, vcpu_id ORDER BY ts, dur)) WHERE prev_end IS NOT NULL AND "
                   "prev_end <> ts"),
            "0");
  EXPECT_EQ(db.one("SELECT COUNT(*) FROM vcpu_state WHERE dur < 0"), "0");
  // Every timeline starts with the trace and ends when its thread exits. From babeltrace2's text
  // output of the trace: first event at 16:38:01.062777297, last at 16:38:45.060117309 (UTC,
  // 2026-11-23); sched_process_exit of the vCPU threads: tid 207 at 16:38:43.673765972, tid 208
  // at 16:38:43.674232281 (the VM shuts down before the trace ends).
  EXPECT_EQ(db.one("SELECT begin_ts || '|' || end_ts FROM trace"), "1795451881062777297|1795451925060117309");
  EXPECT_EQ(db.rows("SELECT v.host_tid, MIN(s.ts), MAX(s.ts + s.dur) FROM vcpu_state s JOIN vcpu v USING (machine_id, "
                    "vcpu_id) GROUP BY v.host_tid ORDER BY v.host_tid"),
            (std::vector<std::string>{"207|1795451881062777297|1795451923673765972",
                                      "208|1795451881062777297|1795451923674232281"}));
  // Only the trace start is unknown (no lost events in this trace).
  EXPECT_EQ(db.one("SELECT COUNT(*) FROM vcpu_state WHERE state = 'unknown' AND begin_event <> 'trace_start'"), "0");
}

TEST_F(LabHost, EveryPreemptionNamesTheThreadOnTheCpu) {
  Db db(*db_path);
  EXPECT_EQ(db.one("SELECT COUNT(*) FROM vcpu_state WHERE state = 'preempted' AND preempting_tid IS NULL"), "0");
  EXPECT_EQ(db.one("SELECT COUNT(*) FROM vcpu_state WHERE state IN ('guest', 'vmm') AND pcpu IS NULL "
                   "AND begin_event <> 'trace_start'"),
            "0");
  // AMD host (isa 2): exit names come from the SVM table.
  EXPECT_EQ(db.one("SELECT COUNT(*) FROM vcpu_state WHERE state = 'vmm' AND exit_reason = 1024 AND "
                   "exit_reason_name <> 'NPF'"),
            "0");
}

}  // namespace
}  // namespace vm::test
