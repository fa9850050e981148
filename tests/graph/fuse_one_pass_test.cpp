// SPDX-License-Identifier: MIT
// filter.vm.fuse in sync-mode="one-pass" on the real lab traces: the machines and transforms are
// learned from a lead window, then everything is emitted in one pass.
// Oracles: the lab READMEs (shared/traces/lab/basic, lab/nested; the basic pair's): its event counts (host 936,929, guest
// 249,966), QEMU's pid 204, and the TCP bound on the clock offset, host - guest in
// [0.117075, 0.117863] s (computed by tracelab/tcpmatch.py over the whole traces, not by us).

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <vector>
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
  // The guest's transform, piece by piece (the lead's, then what learning after it moved to):
  // at both ends of every piece it is inside the TCP bound, and its reported accuracy is finite.
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

// The two ways of keeping the lead window: lead="auto" reads it again (every input here can
// seek), lead="hold" keeps its messages and buffers them again under the solved transforms.
class FuseOnePassLead : public ::testing::TestWithParam<const char*> {
 protected:
  std::string params(const std::string& more = "") const {
    return std::string(kOnePass) + ",lead=\"" + GetParam() + "\"" + more;
  }
};

// The output is in time order, and holds every event of the inputs once (no loss in the lead
// window or at its junction with the rest). The pieces of each machine's transform go out as
// vm_sync_segment events while the traces still flow, not at their end (a live input has no end
// to wait for): each piece once its end has gone out (the design: a piece is sent when the next
// one begins at a time already mapped, so its end is before the packet that carries it), in seq
// order, each beginning 1 ns after the previous one's end (the pieces tile the machine's span).
// The guest's learning every 2 s (learn-ns) over its 44 s of events (first to last, as babeltrace2
// prints them) closes pieces all along, each sent within 2 learn-ns of its end.
TEST_P(FuseOnePassLead, LabBasicOutputIsOrderedAndComplete) {
  uint64_t events = 0, segments = 0, events_after_first_segment = 0;
  int64_t last = INT64_MIN;
  uint64_t backwards = 0;
  struct Piece {
    uint64_t seq;
    int64_t from_ts, to_ts, sent_ns;
  };
  std::map<std::string, std::vector<Piece>> pieces;  // by vm_machine
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")}, params(), "",
                [&](const bt_message* message) {
                  if (bt_message_get_type(message) != BT_MESSAGE_TYPE_EVENT) return;
                  int64_t ns = 0;
                  bt_clock_snapshot_get_ns_from_origin(bt_message_event_borrow_default_clock_snapshot_const(message),
                                                       &ns);
                  if (ns < last) ++backwards;
                  last = ns;
                  if (!is_sync_event(message)) {
                    ++events;
                    if (segments > 0) ++events_after_first_segment;
                    return;
                  }
                  const bt_event* event = bt_message_event_borrow_event_const(message);
                  if (std::string(bt_event_class_get_name(bt_event_borrow_class_const(event))) != "vm_sync_segment")
                    return;
                  ++segments;
                  const bt_field* payload = bt_event_borrow_payload_field_const(event);
                  const bt_field* context = bt_event_borrow_common_context_field_const(event);
                  auto member = [](const bt_field* structure, const char* name) {
                    return bt_field_structure_borrow_member_field_by_name_const(structure, name);
                  };
                  pieces[bt_field_string_get_value(member(context, "vm_machine"))].push_back(
                      Piece{bt_field_integer_unsigned_get_value(member(payload, "seq")),
                            bt_field_integer_signed_get_value(member(payload, "from_ts")),
                            bt_field_integer_signed_get_value(member(payload, "to_ts")), ns});
                });
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(events, 936'929u + 249'966u);
  EXPECT_EQ(backwards, 0u);
  ASSERT_EQ(pieces.count("host-basic"), 1u);
  ASSERT_EQ(pieces.count("guest-basic"), 1u);
  const std::vector<Piece>& guest = pieces["guest-basic"];
  ASSERT_GE(guest.size(), 10u);
  // Most of the trace went out after the first piece (it was not held back to the end).
  EXPECT_GT(events_after_first_segment, (936'929u + 249'966u) / 2);
  uint64_t sent_early = 0;
  for (size_t i = 0; i < guest.size(); ++i) {
    EXPECT_EQ(guest[i].seq, i);
    if (i + 1 < guest.size()) {
      EXPECT_EQ(guest[i].to_ts + 1, guest[i + 1].from_ts) << "piece " << i;
      // Sent once the output time has passed the next piece's start (to_ts + 1): at or after to_ts.
      EXPECT_LE(guest[i].to_ts, guest[i].sent_ns) << "piece " << i;
      // Found at the first relearn after its end went out: they come every learn-ns (2 s) of
      // output time, so a closed piece waits less than one of them (and twice that is a bound
      // with room for a relearn that falls just before the end).
      EXPECT_LE(guest[i].sent_ns - guest[i].to_ts, 4'000'000'000) << "piece " << i;
    }
    if (guest[i].sent_ns < guest.back().sent_ns) ++sent_early;
  }
  EXPECT_GE(sent_early, guest.size() - 2) << "the guest's pieces waited for the end of the traces";
}

// The lead window's bound is a warning, not a loss: with lead-messages=1000 (far below the 2 s of
// both traces) every event still goes out.
TEST_P(FuseOnePassLead, CappedLeadWindowLosesNothing) {
  uint64_t events = 0;
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")},
                params(",lead-messages=1000"), "", [&](const bt_message* message) {
                  if (bt_message_get_type(message) == BT_MESSAGE_TYPE_EVENT && !is_sync_event(message)) ++events;
                });
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(events, 936'929u + 249'966u);
}

INSTANTIATE_TEST_SUITE_P(Lead, FuseOnePassLead, ::testing::Values("auto", "hold"));

// learn-ns=0: the lead's transforms for the whole run, as before learning existed: no vm_sync
// stream, one sync_segment row per machine, with the transform of table sync.
TEST(FuseOnePass, LearningOffKeepsTheLeadsTransform) {
  const std::string db = temp_db("fuse-one-pass-learn-off");
  std::remove(db.c_str());
  uint64_t segments = 0;
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")},
                std::string(kOnePass) + ",learn-ns=0", "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  const GraphResult events =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")},
                std::string(kOnePass) + ",learn-ns=0", "", [&](const bt_message* message) {
                  if (bt_message_get_type(message) == BT_MESSAGE_TYPE_EVENT && is_sync_event(message)) ++segments;
                });
  ASSERT_TRUE(events.ok) << events.error;
  EXPECT_EQ(segments, 0u);
  EXPECT_EQ(query_rows(db, "SELECT machine, COUNT(*) FROM sync_segment GROUP BY machine ORDER BY machine"),
            (std::vector<std::string>{"1|1", "2|1"}));
  EXPECT_EQ(query_one(db, "SELECT COUNT(*) FROM sync_segment g JOIN sync s ON s.machine = g.machine AND "
                          "s.alpha_text = g.alpha_text AND s.beta_text = g.beta_text"),
            "2");
  std::remove(db.c_str());
}

// One run's output folded into a digest (FNV-1a) of its sequence of (event class, time,
// vm_machine, vm_layer, vm_vcpu, vm_pcpu), with the count of messages of each type.
struct Digest {
  uint64_t hash = 1469598103934665603ull;
  uint64_t by_type[16] = {};
  uint64_t segments = 0;                    // vm_sync events
  uint64_t events_after_first_segment = 0;  // trace events after the first vm_sync event
  void add(uint64_t value) {
    for (int i = 0; i < 8; ++i) {
      hash ^= (value >> (8 * i)) & 0xff;
      hash *= 1099511628211ull;
    }
  }
};

GraphResult digest_lab_basic(const char* lead, Digest& digest, const FuseGraphOptions& options = {}) {
  return run_fused(
      {test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")},
      std::string(kOnePass) + ",lead=\"" + lead + "\"", "",
      [&](const bt_message* message) {
        const bt_message_type type = bt_message_get_type(message);
        for (int bit = 0; bit < 16; ++bit)
          if (type == (1 << bit)) ++digest.by_type[bit];
        if (type != BT_MESSAGE_TYPE_EVENT) return;
        if (is_sync_event(message))
          ++digest.segments;
        else if (digest.segments > 0)
          ++digest.events_after_first_segment;
        const bt_event* event = bt_message_event_borrow_event_const(message);
        int64_t ns = 0;
        bt_clock_snapshot_get_ns_from_origin(bt_message_event_borrow_default_clock_snapshot_const(message), &ns);
        digest.add(static_cast<uint64_t>(ns));
        for (const char* c = bt_event_class_get_name(bt_event_borrow_class_const(event)); c && *c; ++c)
          digest.add(static_cast<unsigned char>(*c));
        const bt_field* context = bt_event_borrow_common_context_field_const(event);
        for (const char* name : {"vm_machine", "vm_layer", "vm_vcpu", "vm_pcpu"}) {
          const bt_field* field = context ? bt_field_structure_borrow_member_field_by_name_const(context, name) : nullptr;
          if (!field) continue;
          const bt_field_class_type field_type = bt_field_get_class_type(field);
          if (bt_field_class_type_is(field_type, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER))
            digest.add(static_cast<uint64_t>(bt_field_integer_signed_get_value(field)));
          else if (bt_field_class_type_is(field_type, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
            digest.add(bt_field_integer_unsigned_get_value(field));
          else if (field_type == BT_FIELD_CLASS_TYPE_STRING)
            for (const char* c = bt_field_string_get_value(field); *c; ++c) digest.add(static_cast<unsigned char>(*c));
        }
      },
      options);
}

// Reading the lead again or holding it changes where the messages wait, not what goes out: the
// same transforms are solved on the same lead, and learning after it moves them at the same
// points (relearn() starts a move one learn-ns ahead, not where the merge happened to read), so
// both runs emit the same events, in the same order, at the same times, with the same tags: the
// digests and the counts of messages of each type are equal.
TEST(FuseOnePass, LeadReadAgainOrHeldGivesTheSameOutput) {
  Digest again, held;
  const GraphResult first = digest_lab_basic("auto", again);
  ASSERT_TRUE(first.ok) << first.error;
  const GraphResult second = digest_lab_basic("hold", held);
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_EQ(again.by_type[2] - again.segments, 936'929u + 249'966u);  // BT_MESSAGE_TYPE_EVENT is 1 << 2
  EXPECT_GE(again.segments, 2u);
  for (int bit = 0; bit < 16; ++bit) EXPECT_EQ(again.by_type[bit], held.by_type[bit]) << "message type 1 << " << bit;
  EXPECT_EQ(again.hash, held.hash);
}

// Inputs as a live session gives them (source.ctf.lttng-live): they cannot seek, and they say
// AGAIN on every second call and give a few messages at a time (relay_filter.h). lead="auto"
// then keeps the lead instead of reading it again, every AGAIN is passed on and the run resumes
// where it was, and nothing waits for an end of the inputs: the output is the one of the
// seekable inputs above, message for message (digest), and the transform's pieces go out while
// the traces flow.
TEST(FuseOnePass, LiveLikeInputsGiveTheSameOutput) {
  Digest seekable, live;
  const GraphResult first = digest_lab_basic("auto", seekable);
  ASSERT_TRUE(first.ok) << first.error;
  FuseGraphOptions options;
  options.live_like = true;
  const GraphResult second = digest_lab_basic("auto", live, options);
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_EQ(live.by_type[2] - live.segments, 936'929u + 249'966u);  // BT_MESSAGE_TYPE_EVENT is 1 << 2
  for (int bit = 0; bit < 16; ++bit) EXPECT_EQ(seekable.by_type[bit], live.by_type[bit]) << "message type 1 << " << bit;
  EXPECT_EQ(seekable.hash, live.hash);
  EXPECT_GT(live.events_after_first_segment, (936'929u + 249'966u) / 2);
}

}  // namespace
}  // namespace vm::test
