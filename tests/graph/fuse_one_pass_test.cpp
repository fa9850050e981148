// SPDX-License-Identifier: MIT
// filter.vm.fuse in sync-mode="one-pass" on the real lab traces: the machines and transforms are
// learned from a lead window, then everything is emitted in one pass.
// Oracles: the lab READMEs (shared/traces/lab/basic, lab/nested; the basic pair's): its event counts (host 936,929, guest
// 249,966), QEMU's pid 204, and the TCP bound on the clock offset, host - guest in
// [0.117075, 0.117863] s (computed by tracelab/tcpmatch.py over the whole traces, not by us).

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "fuse_fixture.h"

namespace vm::test {
namespace {

const char kOnePass[] = "sync-mode=\"one-pass\"";

TEST(FuseOnePass, LabBasicSegmentsFallInsideTheTcpBound) {
  const std::string db = temp_db("fuse-one-pass-lab-basic");
  std::remove(db.c_str());
  const GraphResult result = run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")},
                                       kOnePass, "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db, "SELECT g.role, g.layer, h.name FROM machine g JOIN machine h ON h.id = g.parent_id"),
            "guest|1|host-basic");
  EXPECT_EQ(query_one(db,
                      "SELECT m.name, qemu_pid, method FROM guest_match JOIN machine m ON m.id = guest_match.machine"),
            "guest-basic|204|kvm_windows");
  // One segment per machine; the guest's transform at both ends of its segment (the guest's first
  // and last events) is inside the TCP bound, and its reported accuracy is finite.
  const std::vector<std::string> segments = query_rows(
      db,
      "SELECT alpha_text, beta_text, from_ts, to_ts, accuracy_ns IS NOT NULL FROM sync_segment JOIN machine m ON "
      "m.id = sync_segment.machine WHERE m.name = 'guest-basic' ORDER BY seq");
  ASSERT_FALSE(segments.empty());
  for (const std::string& row : segments) {
    char alpha_text[64], beta_text[64];
    long long from_ts = 0, to_ts = 0;
    int bounded = 0;
    ASSERT_EQ(std::sscanf(row.c_str(), "%63[^|]|%63[^|]|%lld|%lld|%d", alpha_text, beta_text, &from_ts, &to_ts,
                          &bounded),
              5)
        << row;
    EXPECT_EQ(bounded, 1) << row;
    const long double alpha = std::stold(alpha_text), beta = std::stold(beta_text);
    for (const long long reference_ts : {from_ts, to_ts}) {
      // t_reference = alpha * t_guest + beta: the offset host - guest at that instant.
      const long double guest_ts = (static_cast<long double>(reference_ts) - beta) / alpha;
      const double offset = static_cast<double>(static_cast<long double>(reference_ts) - guest_ts);
      EXPECT_GE(offset, 117'075'000.0) << row;
      EXPECT_LE(offset, 117'863'000.0) << row;
    }
  }
  // Every event of both traces went through once.
  EXPECT_EQ(query_one(db, "SELECT SUM(count) FROM event_stat"), "1186895");
  std::remove(db.c_str());
}

// The nested lab traces (shared/traces/lab/nested) in one pass. Oracles from its README: QEMU pids
// 203 (the guest, on the host) and 201 (l2, in the guest); TCP bounds host - guest in
// [0.732190, 0.733115] s and guest - l2 in [0.853956, 0.859094] s, so host - l2 in
// [1.586146, 1.592209] s. Each segment's offset at both its ends lies inside.
TEST(FuseOnePass, LabNestedSegmentsFallInsideTheTcpBounds) {
  const std::string db = temp_db("fuse-one-pass-lab-nested");
  std::remove(db.c_str());
  const GraphResult result = run_fused(
      {test_data("lab/nested/host/kernel"), test_data("lab/nested/guest/kernel"), test_data("lab/nested/l2/kernel")},
      kOnePass, "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db,
                      "SELECT GROUP_CONCAT(entry, ' ') FROM (SELECT m.name || ':' || qemu_pid AS entry FROM "
                      "guest_match JOIN machine m ON m.id = guest_match.machine ORDER BY m.name)"),
            "guest-nested:203 l2-nested:201");
  const struct {
    const char* machine;
    double low_ns, high_ns;
  } bounds[] = {{"guest-nested", 732'190'000.0, 733'115'000.0}, {"l2-nested", 1'586'146'000.0, 1'592'209'000.0}};
  for (const auto& bound : bounds) {
    const std::vector<std::string> segments =
        query_rows(db, std::string("SELECT alpha_text, beta_text, from_ts, to_ts FROM sync_segment JOIN machine m ON "
                                   "m.id = sync_segment.machine WHERE m.name = '") +
                           bound.machine + "'");
    ASSERT_FALSE(segments.empty()) << bound.machine;
    for (const std::string& row : segments) {
      char alpha_text[64], beta_text[64];
      long long from_ts = 0, to_ts = 0;
      ASSERT_EQ(std::sscanf(row.c_str(), "%63[^|]|%63[^|]|%lld|%lld", alpha_text, beta_text, &from_ts, &to_ts), 4);
      const long double alpha = std::stold(alpha_text), beta = std::stold(beta_text);
      for (const long long reference_ts : {from_ts, to_ts}) {
        const long double machine_ts = (static_cast<long double>(reference_ts) - beta) / alpha;
        const double offset = static_cast<double>(static_cast<long double>(reference_ts) - machine_ts);
        EXPECT_GE(offset, bound.low_ns) << bound.machine << " " << row;
        EXPECT_LE(offset, bound.high_ns) << bound.machine << " " << row;
      }
    }
  }
  std::remove(db.c_str());
}

// The output is in time order, and holds every event of the inputs once (no loss in the lead
// window or at its junction with the rest).
TEST(FuseOnePass, LabBasicOutputIsOrderedAndComplete) {
  uint64_t events = 0;
  int64_t last = INT64_MIN;
  uint64_t backwards = 0;
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")}, kOnePass, "",
                [&](const bt_message* message) {
                  if (bt_message_get_type(message) != BT_MESSAGE_TYPE_EVENT) return;
                  ++events;
                  int64_t ns = 0;
                  bt_clock_snapshot_get_ns_from_origin(bt_message_event_borrow_default_clock_snapshot_const(message),
                                                       &ns);
                  if (ns < last) ++backwards;
                  last = ns;
                });
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(events, 936'929u + 249'966u);
  EXPECT_EQ(backwards, 0u);
}

// The lead window's bound is a warning, not a loss: with lead-messages=1000 (far below the 2 s of
// both traces) every event still goes out.
TEST(FuseOnePass, CappedLeadWindowLosesNothing) {
  uint64_t events = 0;
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")},
                std::string(kOnePass) + ",lead-messages=1000", "", [&](const bt_message* message) {
                  if (bt_message_get_type(message) == BT_MESSAGE_TYPE_EVENT) ++events;
                });
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(events, 936'929u + 249'966u);
}

}  // namespace
}  // namespace vm::test
