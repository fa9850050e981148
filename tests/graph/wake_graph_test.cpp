// SPDX-License-Identifier: MIT
// The wake analysis (vcpu_halt) on the real lab traces (shared/traces/lab/basic): the host trace
// alone, and the host fused with its guest, whose own interrupt handlers are the oracle.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "fuse_fixture.h"

namespace vm::test {
namespace {

// The rows of `sql` on database `main_db` with `other_db` attached as `host`.
std::vector<std::string> attached_rows(const std::string& main_db, const std::string& other_db,
                                       const std::string& sql) {
  return query_rows_attached(main_db, other_db, "host", sql);
}

class LabBasicWake : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    host_db = new std::string(temp_db("wake-lab-host"));
    fused_db = new std::string(temp_db("wake-lab-fused"));
    std::remove(host_db->c_str());
    std::remove(fused_db->c_str());
    GraphResult result = run_sqlite_sink({test_data("lab/basic/host/kernel")}, "path=\"" + *host_db + "\"");
    ASSERT_TRUE(result.ok) << result.error;
    result = run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")}, "",
                       "path=\"" + *fused_db + "\"");
    ASSERT_TRUE(result.ok) << result.error;
  }
  static void TearDownTestSuite() {
    std::remove(host_db->c_str());
    std::remove(fused_db->c_str());
    delete host_db;
    delete fused_db;
  }
  static std::string* host_db;
  static std::string* fused_db;
};
std::string* LabBasicWake::host_db = nullptr;
std::string* LabBasicWake::fused_db = nullptr;

// One row per HLT exit: the vCPU analysis counts the exits (SVM 0x78 = 120) independently, from
// vcpu_state's kvm_exit rows. Rows are halts: they end at an entry or at the thread's exit.
TEST_F(LabBasicWake, OneRowPerHltExit) {
  for (const std::string* db : {host_db, fused_db}) {
    EXPECT_EQ(query_one(*db, "SELECT COUNT(*) FROM vcpu_halt"),
              query_one(*db, "SELECT SUM(exits) FROM exit_stats WHERE exit_reason = 120"));
    EXPECT_EQ(query_one(*db, "SELECT COUNT(*) FROM vcpu_halt WHERE dur < 0 OR wait_cpu_dur < 0 OR vmm_dur < 0"), "0");
    // A vCPU's halts do not overlap.
    EXPECT_EQ(query_one(*db,
                        "SELECT COUNT(*) FROM (SELECT ts, LAG(ts + dur) OVER (PARTITION BY machine_id, vcpu_id "
                        "ORDER BY ts) AS prev_end FROM vcpu_halt) WHERE prev_end > ts"),
              "0");
  }
}

// The guest's own account of each halt's wake: its first interrupt handler on that vCPU after
// the HLT exit (guest_handler, from the guest trace of the fused run). Local timer -> timer;
// reschedule, call-function(-single) -> ipi; virtio-blk queues (virtioN-req.M) -> disk;
// virtio-net queues (virtioN-input/output.M) -> net; any other IRQ line -> device; no handler
// before the host injected another vector (`(none)`: a paravirtual kick) -> none. The host-only
// wake_reason (the host trace alone, a separate run) agrees when it is the same, or when it is
// `device` for a device the host could not identify (the lab's QEMU serves disk and network from
// its main thread, no vhost: basic/README.md). Halts are matched by their HLT exit time: the
// host is the fused run's reference clock, so its timestamps are the same in both runs.
TEST_F(LabBasicWake, HostOnlyWakeReasonAgreesWithTheGuestsHandlers) {
  const std::string account =
      "CASE WHEN f.guest_handler = 'local_timer' THEN 'timer' "
      "WHEN f.guest_handler IN ('reschedule', 'call_function', 'call_function_single') THEN 'ipi' "
      "WHEN f.guest_handler LIKE 'virtio%-req%' THEN 'disk' "
      "WHEN f.guest_handler LIKE 'virtio%-input%' OR f.guest_handler LIKE 'virtio%-output%' THEN 'net' "
      "WHEN f.guest_handler = '(none)' THEN 'none' ELSE 'device' END";
  const std::string joined =
      "FROM main.vcpu_halt f JOIN host.vcpu_halt h ON h.ts = f.ts AND h.vcpu_id = f.vcpu_id "
      "AND h.host_tid = f.host_tid WHERE f.guest_handler IS NOT NULL";
  const std::string agree = "(h.wake_reason = " + account + " OR (h.wake_reason = 'device' AND " + account +
                            " IN ('disk', 'net', 'device')))";
  const std::vector<std::string> matrix = attached_rows(
      *fused_db, *host_db,
      "SELECT h.wake_reason, " + account + " AS guest, COUNT(*) " + joined + " GROUP BY 1, 2 ORDER BY 1, 2");
  std::printf("lab basic: host-only wake_reason | the guest's first handler's class | halts\n");
  for (const std::string& row : matrix) std::printf("  %s\n", row.c_str());
  const std::string totals = attached_rows(*fused_db, *host_db, "SELECT COUNT(*), SUM(" + agree + ") " + joined).at(0);
  std::printf("lab basic: halts with a guest handler | agreeing: %s\n", totals.c_str());
  const long total = std::stol(totals.substr(0, totals.find('|')));
  const long agreeing = std::stol(totals.substr(totals.find('|') + 1));
  ASSERT_GT(total, 1000);
  EXPECT_GE(agreeing * 100, total * 99) << agreeing << " of " << total;
  // Every host halt of the fused run was matched in the host-only run.
  EXPECT_EQ(attached_rows(*fused_db, *host_db,
                          "SELECT COUNT(*) FROM main.vcpu_halt f LEFT JOIN host.vcpu_halt h ON h.ts = f.ts AND "
                          "h.host_tid = f.host_tid WHERE h.ts IS NULL")
                .at(0),
            "0");
}

}  // namespace
}  // namespace vm::test
