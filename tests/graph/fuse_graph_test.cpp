// SPDX-License-Identifier: MIT
// filter.vm.fuse in real graphs: one source.ctf.fs per trace, every port into the filter.

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>

#include "fuse_fixture.h"

namespace vm::test {
namespace {

std::string env_of(const bt_message* message, const char* key) {
  if (bt_message_get_type(message) != BT_MESSAGE_TYPE_STREAM_BEGINNING) return {};
  const bt_trace* trace = bt_stream_borrow_trace_const(bt_message_stream_beginning_borrow_stream_const(message));
  const bt_value* value = bt_trace_borrow_environment_entry_value_by_name_const(trace, key);
  return value && bt_value_is_string(value) ? bt_value_string_get(value) : std::string();
}

// OneQemuKvm stubs, linked by vmsync (OneQemuKvm test traces of Trace Compass's VM analysis tests): the guest belongs
// to the VM whose vCPU 0 is host thread 31, all 6 exchanges match, and the six points leave the hull loose: a model of
// SyncAlgorithmFullyIncremental.java, in exact rationals, ends ACCURATE with t_host = 319/315 t_guest - 122/63.
TEST(FuseOneQemuKvm, VmsyncLinksTheGuestAndSynchronizesIt) {
  const std::string db = temp_db("fuse-oneqemukvm");
  const GraphResult result = fuse_one_qemu_kvm(db, "");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db,
                      "SELECT g.role, g.layer, h.name, h.role FROM machine g JOIN machine h ON h.id = g.parent_id "
                      "WHERE g.name = 'guest'"),
            "guest|1|host|host");
  EXPECT_EQ(query_one(db,
                      "SELECT s.method, s.quality, s.matches FROM sync s JOIN machine m ON m.id = s.machine "
                      "WHERE m.name = 'guest'"),
            "vmsync|accurate|6");
  const double alpha = std::stod(query_one(db,
                                           "SELECT alpha_text FROM sync s JOIN machine m ON m.id = s.machine "
                                           "WHERE m.name = 'guest'"));
  const double beta = std::stod(query_one(db,
                                          "SELECT beta_text FROM sync s JOIN machine m ON m.id = s.machine "
                                          "WHERE m.name = 'guest'"));
  EXPECT_NEAR(alpha, 319.0 / 315.0, 1e-12);
  EXPECT_NEAR(beta, -122.0 / 63.0, 1e-9);
  // The guest is the VM of host thread 31 (its vCPU 0).
  EXPECT_EQ(query_one(db, "SELECT COUNT(*) FROM vcpu WHERE host_tid = 31 AND vcpu_id = 0"), "1");
  std::remove(db.c_str());
}

// Trace Compass's state oracles assume identical clocks: sync="identity" keeps them.
TEST(FuseOneQemuKvm, IdentitySyncKeepsEveryClock) {
  const std::string db = temp_db("fuse-identity");
  const GraphResult result = fuse_one_qemu_kvm(db, "sync=\"identity\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db,
                      "SELECT s.alpha, s.beta, s.method FROM sync s JOIN machine m ON m.id = s.machine WHERE "
                      "m.name = 'guest'"),
            "1.0|0.0|identity (given)");
  std::remove(db.c_str());
}

// The real host and guest of shared/traces/lab/basic: after synchronization, guest events fall
// inside their vCPU's in-guest windows, checked here independently of the filter's own sync
// code: a test sink follows the host's kvm_x86_entry/exit per vCPU thread (tid context,
// kvm_x86_exit.vcpu_id) and, for each guest event (tagged vm_vcpu), asks whether that vCPU is
// between an entry and its exit at the event's fused time. In both sync modes: one pass keeps
// learning after its lead (learn-ns), so its transform follows the guest's clock as two passes'.
class FuseLabBasicWindows : public ::testing::TestWithParam<const char*> {};

TEST_P(FuseLabBasicWindows, GuestEventsFallInsideTheirVcpuWindows) {
  struct State {
    std::unordered_map<int64_t, int64_t> vcpu_of_tid;  // host tid -> vCPU index (from exits)
    std::unordered_map<int64_t, bool> tid_in_guest;
    std::map<int64_t, int64_t> tid_of_vcpu;
    int64_t host_begin = -1, host_end = -1, last_ns = -1;
    uint64_t events = 0, guest_checked = 0, guest_inside = 0, backwards = 0;
    std::string guest_qemu_pid, guest_method;
    std::map<std::string, std::string> machine_of_trace;
  } state;
  auto member = [](const bt_field* structure, const char* name) -> const bt_field* {
    return structure ? bt_field_structure_borrow_member_field_by_name_const(structure, name) : nullptr;
  };
  auto integer = [](const bt_field* field) -> int64_t {
    if (!field) return -1;
    return bt_field_class_type_is(bt_field_get_class_type(field), BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)
               ? bt_field_integer_signed_get_value(field)
               : static_cast<int64_t>(bt_field_integer_unsigned_get_value(field));
  };
  const MessageCheck check = [&](const bt_message* message) {
    if (bt_message_get_type(message) == BT_MESSAGE_TYPE_STREAM_BEGINNING) {
      if (env_of(message, "vm_role") == "guest") {
        state.guest_qemu_pid = env_of(message, "vm_qemu_pid");
        state.guest_method = env_of(message, "vm_sync_method");
      }
      return;
    }
    if (bt_message_get_type(message) != BT_MESSAGE_TYPE_EVENT) return;
    const int64_t ns = message_ns(message);
    if (ns < state.last_ns) ++state.backwards;
    state.last_ns = ns;
    // The vm_sync stream's events (the transform's pieces, the learned model) are not the traces'.
    if (is_sync_event(message)) return;
    const bt_event* event = bt_message_event_borrow_event_const(message);
    ++state.events;
    const bt_field* common = bt_event_borrow_common_context_field_const(event);
    const std::string machine = bt_field_string_get_value(member(common, "vm_machine"));
    const std::string name = bt_event_class_get_name(bt_event_borrow_class_const(event));
    // Machines are named after their LTTng trace names (the metadata's env `trace_name`).
    if (machine == "host-basic") {
      if (state.host_begin < 0) state.host_begin = ns;
      state.host_end = ns;
      const int64_t tid = integer(member(common, "tid"));
      if (name == "kvm_x86_entry") state.tid_in_guest[tid] = true;
      if (name == "kvm_x86_exit") {
        state.tid_in_guest[tid] = false;
        const int64_t vcpu = integer(member(bt_event_borrow_payload_field_const(event), "vcpu_id"));
        state.vcpu_of_tid[tid] = vcpu;
        state.tid_of_vcpu[vcpu] = tid;
      }
      return;
    }
    const int64_t vcpu = integer(member(common, "vm_vcpu"));
    if (state.host_begin < 0 || state.tid_of_vcpu.count(vcpu) == 0) return;  // before the host trace
    ++state.guest_checked;
    if (state.tid_in_guest[state.tid_of_vcpu[vcpu]]) ++state.guest_inside;
  };
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")}, GetParam(), "", check);
  ASSERT_TRUE(result.ok) << result.error;
  // Counts from shared/traces/lab/README.md: host 936,929 events, guest 249,966.
  EXPECT_EQ(state.events, 936'929u + 249'966u);
  EXPECT_EQ(state.backwards, 0u);
  // basic/README.md: QEMU runs the 2-vCPU guest as pid 204.
  EXPECT_EQ(state.guest_qemu_pid, "204");
  EXPECT_NE(state.guest_method.find("kvm_windows"), std::string::npos) << state.guest_method;
  EXPECT_NE(state.guest_method.find("tcp"), std::string::npos) << state.guest_method;
  const double inside = static_cast<double>(state.guest_inside) / static_cast<double>(state.guest_checked);
  std::printf("lab basic: %llu of %llu checkable guest events inside their vCPU's in-guest window (%.4f%%)\n",
              static_cast<unsigned long long>(state.guest_inside), static_cast<unsigned long long>(state.guest_checked),
              100.0 * inside);
  EXPECT_GE(inside, 0.999);
}

INSTANTIATE_TEST_SUITE_P(SyncMode, FuseLabBasicWindows,
                         ::testing::Values("", "sync-mode=\"one-pass\""));

}  // namespace
}  // namespace vm::test

namespace vm::test {
namespace {

// t_reference = alpha * t + beta from the text columns (full precision), as an offset at `t`.
long double offset_at(const std::string& alpha_beta, long double t) {
  const size_t bar = alpha_beta.find('|');
  const long double alpha = std::stold(alpha_beta.substr(0, bar));
  const long double beta = std::stold(alpha_beta.substr(bar + 1));
  return (alpha - 1) * t + beta;
}

// The real host and guest of shared/traces/lab/basic, fused into the database. Oracles: the lab
// README's TCP bound on the clock offset, host - guest in [0.117075, 0.117863] s (computed by
// tracelab/tcpmatch.py, not by us), and QEMU's pid 204. In both sync modes: one pass, which keeps
// learning after its lead, gives in `sync` and `sync_estimate` the hulls as learned by the end.
class FuseLabBasicModes : public ::testing::TestWithParam<const char*> {};

TEST_P(FuseLabBasicModes, DatabaseHasTheGuestItsVmAndTwoAgreeingTransforms) {
  const std::string db = temp_db(std::string("fuse-lab-basic-") + (*GetParam() ? "one" : "two"));
  std::remove(db.c_str());
  const GraphResult result = run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")},
                                       GetParam(), "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db, "SELECT COUNT(*) FROM machine"), "2");  // the guest trace is the VM: one machine
  EXPECT_EQ(query_one(db, "SELECT g.role, g.layer, h.name FROM machine g JOIN machine h ON h.id = g.parent_id"),
            "guest|1|host-basic");
  EXPECT_EQ(query_one(db,
                      "SELECT m.name, qemu_pid, method, confidence >= 0.999 FROM guest_match "
                      "JOIN machine m ON m.id = guest_match.machine"),
            "guest-basic|204|kvm_windows|1");
  EXPECT_EQ(
      query_one(db, "SELECT COUNT(*) FROM vcpu v JOIN machine m ON m.id = v.machine_id WHERE m.name = 'guest-basic'"),
      "2");
  EXPECT_EQ(query_one(db,
                      "SELECT quality, method LIKE '%tcp%' AND method LIKE '%kvm_windows%' FROM sync "
                      "JOIN machine m ON m.id = sync.machine WHERE m.name = 'guest-basic'"),
            "accurate|1");
  // Each method alone: TCP packets, and KVM windows alone. Both accurate, and they agree within
  // the sum of their error bounds over the guest's time range.
  const std::string tcp =
      query_one(db, "SELECT alpha_text || '|' || beta_text FROM sync_estimate WHERE method = 'tcp'");
  const std::string kvm =
      query_one(db, "SELECT alpha_text || '|' || beta_text FROM sync_estimate WHERE method = 'kvm_windows'");
  const long double tcp_bound = std::stold(query_one(db, "SELECT accuracy_ns FROM sync_estimate WHERE method = 'tcp'"));
  const long double kvm_bound =
      std::stold(query_one(db, "SELECT accuracy_ns FROM sync_estimate WHERE method = 'kvm_windows'"));
  EXPECT_EQ(query_one(db, "SELECT GROUP_CONCAT(quality) FROM sync_estimate WHERE method IN ('tcp', 'kvm_windows')"),
            "accurate,accurate");
  // Injected interrupts (kvm_x86_inj_virq before the guest's x86_irq_vectors_*_entry of the same
  // vector) only bound one side: alone they are incomplete, and they agree with the rest (the
  // combined hull stays accurate).
  EXPECT_EQ(query_one(db, "SELECT quality, matches > 1000 FROM sync_estimate WHERE method = 'kvm_inj_virq'"),
            "incomplete|1");
  const std::string all = query_one(db,
                                    "SELECT alpha_text || '|' || beta_text FROM sync JOIN machine m ON m.id = "
                                    "sync.machine WHERE m.name = 'guest-basic'");
  for (long double guest_ts : {1795451881e9L, 1795451900e9L, 1795451918e9L}) {
    EXPECT_LE(std::fabs(static_cast<double>(offset_at(tcp, guest_ts) - offset_at(kvm, guest_ts))),
              static_cast<double>(tcp_bound + kvm_bound));
    for (const std::string* transform : {&tcp, &kvm, &all}) {
      const double offset = static_cast<double>(offset_at(*transform, guest_ts));
      EXPECT_GE(offset, 117'075'000.0) << *transform;
      EXPECT_LE(offset, 117'863'000.0) << *transform;
    }
  }
  std::remove(db.c_str());
}

INSTANTIATE_TEST_SUITE_P(SyncMode, FuseLabBasicModes, ::testing::Values("", "sync-mode=\"one-pass\""));

// The nested scenario (shared/traces/lab/nested): host (L0), guest (L1, itself a KVM host), l2.
// Oracles from its README: QEMU pids 203 (the guest, on the host) and 201 (l2, in the guest);
// TCP bounds host - guest in [0.732190, 0.733115] s and guest - l2 in [0.853956, 0.859094] s,
// so host - l2 in [1.586146, 1.592209] s.
TEST(FuseLabNested, ThreeLevelsAreSynchronizedL2ThroughL1) {
  const std::string db = temp_db("fuse-lab-nested");
  std::remove(db.c_str());
  const GraphResult result = run_fused(
      {test_data("lab/nested/host/kernel"), test_data("lab/nested/guest/kernel"), test_data("lab/nested/l2/kernel")},
      "", "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db,
                      "SELECT GROUP_CONCAT(name || ':' || role || ':' || layer || ':' || "
                      "COALESCE((SELECT p.name FROM machine p WHERE p.id = machine.parent_id), '-'), ' ') "
                      "FROM (SELECT * FROM machine ORDER BY layer) machine"),
            "host-nested:host:0:- guest-nested:guest:1:host-nested l2-nested:guest:2:guest-nested");
  EXPECT_EQ(query_one(db,
                      "SELECT GROUP_CONCAT(entry, ' ') FROM (SELECT m.name || ':' || qemu_pid AS entry FROM "
                      "guest_match g JOIN machine m ON m.id = g.machine ORDER BY m.name)"),
            "guest-nested:203 l2-nested:201");
  EXPECT_EQ(query_one(db,
                      "SELECT s.quality, s.method LIKE 'tcp+kvm_windows% via guest-nested' FROM sync s JOIN machine m "
                      "ON m.id = s.machine WHERE m.name = 'l2-nested'"),
            "accurate|1");
  const std::string guest = query_one(db,
                                      "SELECT alpha_text || '|' || beta_text FROM sync s JOIN machine m ON m.id = "
                                      "s.machine WHERE m.name = 'guest-nested'");
  const std::string l2 = query_one(db,
                                   "SELECT alpha_text || '|' || beta_text FROM sync s JOIN machine m ON m.id = "
                                   "s.machine WHERE m.name = 'l2-nested'");
  for (long double t : {1795451425e9L, 1795451450e9L, 1795451468e9L}) {
    const double host_minus_guest = static_cast<double>(offset_at(guest, t - 0.733e9L));
    const double host_minus_l2 = static_cast<double>(offset_at(l2, t - 1.59e9L));
    EXPECT_GE(host_minus_guest, 732'190'000.0);
    EXPECT_LE(host_minus_guest, 733'115'000.0);
    EXPECT_GE(host_minus_l2, 1'586'146'000.0);
    EXPECT_LE(host_minus_l2, 1'592'209'000.0);
  }
  // What runs on the host's physical CPUs includes L2's code, placed through L1's vCPUs.
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) > 1000, SUM(dur) > 1e9, MIN(m.layer) FROM cpu_state c JOIN machine m ON "
                      "m.id = c.machine_id WHERE m.name = 'l2-nested' AND c.condition = 'in_vm'"),
            "1|1|2");
  // L2's threads on the physical CPUs: whenever cpu_state places an L2 thread on a host CPU
  // (through an L1 vCPU), L2's own thread_state has that thread running on that L2 vCPU; and L2's
  // thread timelines tile their lifetimes.
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) > 1000, SUM(NOT COALESCE((SELECT t.state IN ('running', 'interrupted') AND "
                      "t.cpu = c.vcpu_id FROM thread_state t WHERE t.machine_id = c.machine_id AND t.tid = c.tid AND "
                      "t.ts <= c.ts AND t.ts + t.dur > c.ts ORDER BY t.ts DESC LIMIT 1), 0)) FROM cpu_state c JOIN "
                      "machine m ON m.id = c.machine_id WHERE m.name = 'l2-nested' AND c.tid > 0"),
            "1|0");
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) FROM (SELECT ts - LAG(ts + dur) OVER (PARTITION BY tid ORDER BY ts) AS gap FROM "
                      "thread_state t JOIN machine m ON m.id = t.machine_id WHERE m.name = 'l2-nested') WHERE gap <> 0"),
            "0");
  // L2 code stops when L0 preempts L1's vCPU or handles its exit, though L1 still sees its L2
  // vCPU in guest mode: then the L2 thread is vcpu_preempted / vmm exactly as the L1 thread that
  // runs that vCPU (the vcpu table's host_tid) is at that moment.
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) > 1000, SUM(NOT COALESCE((SELECT u.state = t.state AND u.ts + u.dur >= t.ts + "
                      "t.dur FROM thread_state u WHERE u.machine_id = vm.parent_id AND u.tid = (SELECT host_tid FROM "
                      "vcpu WHERE machine_id = t.machine_id AND vcpu_id = t.cpu) AND u.ts <= t.ts AND u.ts + u.dur > "
                      "t.ts ORDER BY u.ts DESC LIMIT 1), 0)) FROM thread_state t JOIN machine vm ON vm.id = "
                      "t.machine_id WHERE vm.name = 'l2-nested' AND t.state IN ('vmm', 'vcpu_preempted') AND "
                      "COALESCE((SELECT v.state FROM vcpu_state v WHERE v.machine_id = t.machine_id AND v.vcpu_id = "
                      "t.cpu AND v.ts <= t.ts AND v.ts + v.dur > t.ts ORDER BY v.ts DESC LIMIT 1), '') = 'guest'"),
            "1|0");
  // L2's vCPU runs on L1's vCPU threads: its intervals belong to the l2 machine.
  EXPECT_EQ(query_one(db,
                      "SELECT v.host_tid, v.host_pid FROM vcpu v JOIN machine m ON m.id = v.machine_id WHERE "
                      "m.name = 'l2-nested'"),
            "204|201");
  // Nested guests from the host's events alone (vcpu_state.guest_layer) against the L1 trace's
  // own account of its L2 vCPU, after sync, where the host and L1 traces overlap:
  // - every nanosecond the host shows in layer 2 on its vCPU k lies inside one of L1's guest
  //   windows (kvm_x86_entry to kvm_x86_exit) of the L2 vCPU on L1's CPU k: 10000 per 10000;
  // - L1 sees exactly the exits L0 reflected to it (its kvm_x86_exit count on CPU k = the host's
  //   nested_exit_to = 'L1' exits on vCPU k) and enters L2 once per VMRUN (its kvm_x86_entry count
  //   = the host's VMRUN exits), while the exits L0 handled itself are invisible to L1.
  // L1's windows are longer than the host's layer-2 time: they also hold L1's own path from its
  // kvm_x86_entry to VMRUN and from #VMEXIT to its kvm_x86_exit (with L0 emulating the VMLOAD,
  // VMSAVE and MSR exits on the way), which the host counts as layer 1.
  const std::vector<std::string> inside = query_rows(db,
      "WITH r AS (SELECT MAX(t.begin_ts) AS t0, MIN(t.end_ts) AS t1 FROM trace t JOIN machine m ON m.id = t.machine_id "
      "           WHERE m.name IN ('host-nested', 'guest-nested')), "
      "l2 AS (SELECT id FROM machine WHERE name = 'l2-nested'), "
      "h AS (SELECT v.vcpu_id, MAX(v.ts, r.t0) AS a, MIN(v.ts + v.dur, r.t1) AS b FROM vcpu_state v "
      "      JOIN machine m ON m.id = v.machine_id, r "
      "      WHERE m.name = 'guest-nested' AND v.guest_layer = 2 AND v.ts + v.dur > r.t0 AND v.ts < r.t1), "
      "s AS (SELECT h.*, COALESCE((SELECT l.ts FROM vcpu_state l WHERE l.machine_id = (SELECT id FROM l2) AND l.vcpu_id = 0 "
      "                            AND l.ts <= h.a ORDER BY l.ts DESC LIMIT 1), h.a) AS first FROM h), "
      "o AS (SELECT s.vcpu_id, s.b - s.a AS len, "
      "             (SELECT TOTAL(MAX(0, MIN(s.b, l.ts + l.dur) - MAX(s.a, l.ts))) FROM vcpu_state l "
      "              WHERE l.machine_id = (SELECT id FROM l2) AND l.vcpu_id = 0 AND l.ts >= s.first AND l.ts < s.b "
      "                AND l.state = 'guest' AND l.pcpu = s.vcpu_id) AS inside "
      "      FROM s) "
      "SELECT vcpu_id, SUM(len), CAST(SUM(inside) AS INTEGER), CAST(SUM(inside) * 10000 / SUM(len) AS INTEGER) FROM o GROUP BY vcpu_id ");
  EXPECT_EQ(inside.size(), 2u);
  for (const std::string& row : inside) EXPECT_EQ(row.substr(row.rfind('|')), "|10000") << row;
  for (const std::string& row : query_rows(db, R"sql(
WITH r AS (SELECT MAX(t.begin_ts) AS t0, MIN(t.end_ts) AS t1 FROM trace t JOIN machine m ON m.id = t.machine_id
           WHERE m.name IN ('host-nested', 'guest-nested')),
h AS (SELECT v.* FROM vcpu_state v JOIN machine m ON m.id = v.machine_id, r
      WHERE m.name = 'guest-nested' AND v.begin_event = 'kvm_exit' AND v.ts >= r.t0 AND v.ts < r.t1),
l AS (SELECT v.* FROM vcpu_state v JOIN machine m ON m.id = v.machine_id, r
      WHERE m.name = 'l2-nested' AND v.ts >= r.t0 AND v.ts < r.t1)
SELECT k.vcpu_id,
  (SELECT COUNT(*) FROM h WHERE h.vcpu_id = k.vcpu_id AND h.nested_exit_to = 'L1') -
  (SELECT COUNT(*) FROM l WHERE l.pcpu = k.vcpu_id AND l.begin_event = 'kvm_exit'),
  (SELECT COUNT(*) FROM h WHERE h.vcpu_id = k.vcpu_id AND h.exit_reason_name = 'VMRUN') -
  (SELECT COUNT(*) FROM l WHERE l.pcpu = k.vcpu_id AND l.begin_event = 'kvm_entry'),
  (SELECT COUNT(*) FROM h WHERE h.vcpu_id = k.vcpu_id AND h.nested_exit_to = 'L0') > 100
FROM (SELECT 0 AS vcpu_id UNION ALL SELECT 1) k)sql"))
    EXPECT_EQ(row.substr(row.find('|')), "|0|0|1") << row;
  // The nested guest is the fused l2 trace: no second machine for it.
  EXPECT_EQ(query_one(db, "SELECT COUNT(*) FROM machine WHERE layer = 2"), "1");
  std::remove(db.c_str());
}

// The lab's nested host trace alone (no guest trace): its VM, QEMU process 203 (the README), runs
// its own KVM and the nested guest l2, which becomes machine qemu-203-l2 (layer 2, parent
// qemu-203). Counts from babeltrace2's own count of the trace (host-verify.txt): 33306
// kvm_x86_nested_vmexit_inject = the exits reflected to L1; 33588 kvm_x86_nested_vmexit = every
// exit of L2, so 33588 - 33306 = 282 handled by L0; 33305 kvm_x86_nested_vmenter = L1's VMRUN
// exits. The split of every nested vCPU sums to its whole time.
TEST(NestedFromTheHost, LabNestedHostAloneFindsTheL2MachineUnderItsL1Vm) {
  const std::string db = temp_db("nested-host-only");
  std::remove(db.c_str());
  const GraphResult result = run_sqlite_sink({test_data("lab/nested/host/kernel")}, "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db,
                      "SELECT m.role, m.layer, p.name, p.layer FROM machine m JOIN machine p ON p.id = m.parent_id "
                      "WHERE m.name = 'qemu-203-l2'"),
            "guest|2|qemu-203|1");
  EXPECT_EQ(query_one(db,
                      "SELECT SUM(nested_exit_to = 'L1'), SUM(nested_exit_to = 'L0'), SUM(guest_layer = 2), "
                      "SUM(guest_layer = 1 AND exit_reason_name = 'VMRUN') FROM vcpu_state WHERE begin_event = "
                      "'kvm_exit'"),
            "33306|282|33588|33305");
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*), SUM(l1_code_ns + l2_code_ns + l0_for_l2_ns + l1_for_l2_ns + l0_for_l1_ns + "
                      "other_ns = total_ns), SUM(total_ns = (SELECT SUM(dur) FROM vcpu_state s WHERE s.machine_id = "
                      "n.machine_id AND s.vcpu_id = n.vcpu_id)) FROM nested_vcpu_time n"),
            "2|2|2");
  EXPECT_EQ(query_one(db, "SELECT COUNT(*) FROM diagnostic WHERE message LIKE '%nested%'"), "0");
  std::remove(db.c_str());
}

}  // namespace
}  // namespace vm::test

namespace vm::test {
namespace {

// Output order under randomized input interleavings and clock skews: the lab host and guest
// with a random constant skew added to the guest's clock (source.ctf.fs clock-class-offset-ns),
// source ports connected in a random order, with and without a muxer in front (the `convert`
// shorthand's single pre-muxed input, which the filter re-sorts in a bounded window). Every run
// must emit every event and never go back in time.
class FuseOrdering : public ::testing::TestWithParam<std::tuple<uint32_t, bool>> {};

TEST_P(FuseOrdering, OutputIsMonotonicAndComplete) {
  const auto [seed, premux] = GetParam();
  std::mt19937 random(seed);
  FuseGraphOptions options;
  options.clock_offset_ns = {0, std::uniform_int_distribution<int64_t>(-400'000'000, 400'000'000)(random)};
  options.shuffle_seed = seed;
  options.premux = premux;
  uint64_t events = 0, backwards = 0;
  int64_t last = -1;
  const MessageCheck check = [&](const bt_message* message) {
    const int64_t ns = message_ns(message);
    if (ns < 0) return;
    if (!is_sync_event(message)) ++events;  // (one pass's vm_sync stream: in order too)
    if (ns < last) ++backwards;
    last = ns;
  };
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")}, "", "", check, options);
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(events, 936'929u + 249'966u);
  EXPECT_EQ(backwards, 0u) << "guest skew " << options.clock_offset_ns[1] << " ns";
}

INSTANTIATE_TEST_SUITE_P(RandomSkews, FuseOrdering, ::testing::Combine(::testing::Values(11u, 29u), ::testing::Bool()));

}  // namespace
}  // namespace vm::test

namespace vm::test {
namespace {

// One trace through the filter (one machine: no re-timing): every message with a clock
// snapshot keeps the input's order and every event comes out, on public traces of several
// lttng-modules eras (2.5 to 2.11, shared/traces/README.md gives their event counts).
TEST(FuseRealTraces, OneMachinePassesEveryEventInOrder) {
  const std::vector<std::pair<std::string, uint64_t>> traces = {
      {"real/tviz-wget-k-20180802-115406/kernel", 17'702},
  };
  for (const auto& [path, expected] : traces) {
    uint64_t events = 0, backwards = 0;
    int64_t last = -1;
    const MessageCheck check = [&](const bt_message* message) {
      const bt_clock_snapshot* snapshot = nullptr;
      switch (bt_message_get_type(message)) {
        case BT_MESSAGE_TYPE_EVENT:
          ++events;
          snapshot = bt_message_event_borrow_default_clock_snapshot_const(message);
          break;
        case BT_MESSAGE_TYPE_PACKET_BEGINNING:
          snapshot = bt_message_packet_beginning_borrow_default_clock_snapshot_const(message);
          break;
        case BT_MESSAGE_TYPE_PACKET_END:
          snapshot = bt_message_packet_end_borrow_default_clock_snapshot_const(message);
          break;
        default: return;
      }
      int64_t ns = 0;
      bt_clock_snapshot_get_ns_from_origin(snapshot, &ns);
      if (ns < last) ++backwards;
      last = ns;
    };
    const GraphResult result = run_fused({test_data(path)}, "", "", check);
    ASSERT_TRUE(result.ok) << path << ": " << result.error;
    EXPECT_EQ(events, expected) << path;
    EXPECT_EQ(backwards, 0u) << path;
  }
}

}  // namespace
}  // namespace vm::test

namespace vm::test {
namespace {

// OneQemuKvm host + guest fused with identical clocks (sync="identity": Trace Compass's state
// oracles assume them): vcpu_state, host state and guest status together, reproduces the oracle
// of the Incubator's virtual/resources/VirtualMachineAnalysisTest (its expected intervals), every
// value including running and idle. Trace Compass's value = guest status (RUNNING 2, IDLE 1,
// UNKNOWN 0) | VMM 128 (in the hypervisor: our vmm, and preempted while handling an exit) |
// PREEMPT 256 (our preempted). Adjacent equal values merge, as in its state system; intervals
// are [start, end] inclusive, the last one ending at the run's end.
TEST(FuseOneQemuKvm, VcpuStatusReproducesTraceCompass) {
  const std::string db = temp_db("fuse-vcpu-status");
  const GraphResult result = fuse_one_qemu_kvm(db, "sync=\"identity\"");
  ASSERT_TRUE(result.ok) << result.error;
  std::vector<std::array<int64_t, 3>> merged;  // start, end (exclusive), value
  for (const std::string& row :
       query_rows(db,
                  "SELECT ts, ts + dur, (CASE guest_status WHEN 'running' THEN 2 WHEN 'idle' THEN 1 ELSE 0 END)"
                  " | (CASE state WHEN 'vmm' THEN 128 WHEN 'preempted' THEN 384 ELSE 0 END)"
                  " FROM vcpu_state s JOIN machine m ON m.id = s.machine_id WHERE m.name = 'guest'"
                  " AND vcpu_id = 0 ORDER BY ts")) {
    long long start = 0, end = 0, value = 0;
    ASSERT_EQ(std::sscanf(row.c_str(), "%lld|%lld|%lld", &start, &end, &value), 3) << row;
    if (!merged.empty() && merged.back()[2] == value && merged.back()[1] == start)
      merged.back()[1] = end;
    else
      merged.push_back({start, end, value});
  }
  // The expected vCPU 0 status intervals of that test, verbatim.
  const std::vector<std::array<int64_t, 3>> oracle = {{1, 9, 0},       {10, 44, 2},     {45, 59, 130},   {60, 94, 2},
                                                      {95, 99, 130},   {100, 149, 386}, {150, 154, 130}, {155, 194, 2},
                                                      {195, 209, 130}, {210, 244, 2},   {245, 259, 130}, {260, 294, 2},
                                                      {295, 299, 130}, {300, 349, 386}, {350, 354, 130}, {355, 375, 2}};
  ASSERT_EQ(merged.size(), oracle.size());
  for (size_t i = 0; i < oracle.size(); ++i) {
    const bool last = i + 1 == oracle.size();
    EXPECT_EQ(merged[i][0], oracle[i][0]) << "interval " << i;
    EXPECT_EQ(merged[i][1], last ? oracle[i][1] : oracle[i][1] + 1) << "interval " << i;
    EXPECT_EQ(merged[i][2], oracle[i][2]) << "interval " << i;
  }
  std::remove(db.c_str());
}

}  // namespace
}  // namespace vm::test

namespace vm::test {
namespace {

// OneQemuKvm, fused with identical clocks: what runs on physical CPU 0. From 155 on, the rows are
// the oracle `fused.one_qemukvm` (CPUs/0/Machine_name and CPUs/0/Current_thread, intervals
// [start, end] inclusive; its last instant, 375, is the run's end). Before 155 Trace Compass's
// incremental discovery shows nothing until every role is known (t = 50) and then a stale host
// until the next sched_switch; our model is complete from the start (docs/design.md), so those
// rows follow from the events themselves: host thread 31 from the switch at 1, guest mode at the
// kvm_entry at 5 (guest thread unknown until the guest's first sched_switch at 10: 131, then 130
// at 35), the exits at 45 and 95, the switches 31 -> 30 at 100 and back at 150.
TEST(FuseOneQemuKvm, CpuStateOnCpu0) {
  const std::string db = temp_db("fuse-cpu-state");
  const GraphResult result = fuse_one_qemu_kvm(db, "sync=\"identity\"");
  ASSERT_TRUE(result.ok) << result.error;
  const std::vector<std::string> expected = {
      // Complete model, before the oracle's state catches up (derived above).
      "1|4|host|31", "5|9|guest|NULL", "10|34|guest|131", "35|44|guest|130", "45|59|host|31", "60|74|guest|130",
      "75|94|guest|131", "95|99|host|31", "100|149|host|30", "150|154|host|31",
      // The oracle's intervals (Machine_name and Current_thread change together here).
      "155|174|guest|131", "175|194|guest|130", "195|209|host|31", "210|224|guest|130", "225|244|guest|131",
      "245|259|host|31", "260|274|guest|131", "275|294|guest|130", "295|299|host|31", "300|349|host|30",
      "350|354|host|31", "355|374|guest|130"};
  EXPECT_EQ(query_rows(db,
                       "SELECT ts, ts + dur - 1, m.name, COALESCE(tid, 'NULL') FROM cpu_state c JOIN machine m "
                       "ON m.id = c.machine_id WHERE pcpu = 0 ORDER BY ts"),
            expected);
  std::remove(db.c_str());
}

// Lab host + guest: cpu_state tiles each physical CPU, and each vCPU's guest time in cpu_state
// equals its `guest` time in vcpu_state (both start at kvm_x86_entry and end at the exit).
TEST(FuseLabBasic, CpuStateTilesEachCpuAndAgreesWithVcpuState) {
  const std::string db = temp_db("fuse-lab-cpu");
  std::remove(db.c_str());
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")}, "", "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) FROM (SELECT ts, LAG(ts + dur) OVER (PARTITION BY pcpu ORDER BY ts) AS prev "
                      "FROM cpu_state) WHERE prev IS NOT NULL AND prev <> ts"),
            "0");
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(DISTINCT pcpu) || '|' || COUNT(DISTINCT MIN_TS) || '|' || COUNT(DISTINCT MAX_END) "
                      "FROM (SELECT pcpu, MIN(ts) OVER (PARTITION BY pcpu) AS MIN_TS, "
                      "MAX(ts + dur) OVER (PARTITION BY pcpu) AS MAX_END FROM cpu_state)"),
            "2|1|1");
  EXPECT_EQ(query_rows(db,
                       "SELECT c.vcpu_id, c.t = v.t FROM "
                       "(SELECT vcpu_id, SUM(dur) AS t FROM cpu_state WHERE condition = 'in_vm' GROUP BY vcpu_id) c "
                       "JOIN (SELECT vcpu_id, SUM(dur) AS t FROM vcpu_state WHERE state = 'guest' GROUP BY vcpu_id) v "
                       "USING (vcpu_id) ORDER BY c.vcpu_id"),
            (std::vector<std::string>{"0|1", "1|1"}));
  std::remove(db.c_str());
}

// Numbers in the string parameters are range-checked: a bad one is an error that names the
// parameter and the value (before, the guest-vm case escaped as an std::out_of_range and aborted
// babeltrace2).
TEST(FuseParameters, OutOfRangeNumbersAreCleanErrors) {
  const std::vector<std::string> traces = {source_dir("traces/tc-stubs/OneQemuKvm/host"),
                                           source_dir("traces/tc-stubs/OneQemuKvm/guest")};
  const std::string db = temp_db("fuse-bad-numbers");
  const struct {
    const char* params;
    std::vector<const char*> named;
  } cases[] = {
      {"guest-vm=\"tl-guest=99999999999999999999999\"", {"guest-vm", "99999999999999999999999", "out of range"}},
      {"guest-vm=\"tl-guest=qemu-4294967296\"", {"guest-vm", "4294967296", "out of range"}},
      {"guest-vm=\"tl-guest=-5\"", {"guest-vm", "tl-guest=-5"}},
      {"sync=\"X=1e999999,5\"", {"sync", "1e999999", "out of range"}},
      {"sync=\"X=1,-1e999999\"", {"sync", "-1e999999", "BETA"}},
      {"sync=\"X=1,abc\"", {"sync", "abc", "not a number"}},
  };
  for (const auto& c : cases) {
    const GraphResult result = run_fused(traces, c.params, "path=\"" + db + "\"");
    EXPECT_FALSE(result.ok) << c.params;
    for (const char* word : c.named)
      EXPECT_NE(result.error.find(word), std::string::npos) << c.params << ": " << result.error;
  }
  std::remove(db.c_str());
}

// A valid guest-vm pid at the top of the range is accepted (the guest is linked by vmsync anyway).
TEST(FuseParameters, AGuestVmPidInRangeIsAccepted) {
  const std::string db = temp_db("fuse-good-guest-vm");
  const GraphResult result = fuse_one_qemu_kvm(db, "guest-vm=\"guest=qemu-2147483647\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db, "SELECT method FROM guest_match g JOIN machine m ON m.id = g.machine WHERE m.name = 'guest'"),
            "vmsync");
  std::remove(db.c_str());
}

}  // namespace
}  // namespace vm::test
