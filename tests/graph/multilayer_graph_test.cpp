// SPDX-License-Identifier: MIT
// The fused multilayer model in SQLite (thread_state, cpu_state status, containers) on real
// graphs: Trace Compass's oracles on its stub traces, and invariants on the lab traces.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "fuse_fixture.h"

namespace vm::test {
namespace {

// OneQemuKvm host + guest fused with identical clocks. A guest thread on a vCPU that the host
// preempted is `vcpu_preempted`, on a vCPU in the hypervisor `vmm`. Oracles
// (the Incubator's tests): overhead/OneQemuKvmTestCase gives thread 130's VMM and "VCPU
// Preempted" intervals; virtual/resources/VirtualMachineAnalysisTest's thread intervals give each
// thread's PREEMPT intervals (130 and 131) and its status (2 on a CPU, 1 waiting). Thread 131's
// split into vmm and preempted follows from the vCPU 0 oracle (130 = VMM at 95-99, 150-154 and
// 245-259; 386 = preempted at 100-149) since 131 runs on vCPU 0 then. Intervals are [start, end]
// inclusive; the run ends at 375.
TEST(MultilayerOneQemuKvm, GuestThreadsFollowTheirVcpuIntoTheHypervisorAndPreemption) {
  const std::string db = temp_db("multilayer-oneqemukvm");
  const GraphResult result = fuse_one_qemu_kvm(db, "sync=\"identity\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_rows(db,
                       "SELECT tid, ts, ts + dur - 1, state FROM thread_state t JOIN machine m ON m.id = t.machine_id "
                       "WHERE m.name = 'guest' AND state IN ('vmm', 'vcpu_preempted') ORDER BY tid, ts"),
            (std::vector<std::string>{"130|45|59|vmm", "130|195|209|vmm", "130|295|299|vmm",
                                      "130|300|349|vcpu_preempted", "130|350|354|vmm", "131|95|99|vmm",
                                      "131|100|149|vcpu_preempted", "131|150|154|vmm", "131|245|259|vmm"}));
  // The status bit of the same oracle: on a CPU (2) or waiting (1), merged.
  EXPECT_EQ(query_rows(db,
                       "SELECT tid, MIN(ts), MAX(ts + dur) - 1, on_cpu FROM (SELECT tid, ts, dur, on_cpu, "
                       "SUM(change) OVER (PARTITION BY tid ORDER BY ts) AS run FROM (SELECT tid, ts, dur, "
                       "state IN ('running', 'interrupted', 'vmm', 'vcpu_preempted') AS on_cpu, "
                       "COALESCE(state IN ('running', 'interrupted', 'vmm', 'vcpu_preempted') <> LAG(state IN "
                       "('running', 'interrupted', 'vmm', 'vcpu_preempted')) OVER (PARTITION BY tid ORDER BY ts), 1) "
                       "AS change FROM thread_state t JOIN machine m ON m.id = t.machine_id WHERE m.name = 'guest')) "
                       "GROUP BY tid, run ORDER BY tid, MIN(ts)"),
            (std::vector<std::string>{"130|10|34|0", "130|35|74|1", "130|75|174|0", "130|175|224|1", "130|225|274|0",
                                      "130|275|374|1", "131|10|34|1", "131|35|74|0", "131|75|174|1", "131|175|224|0",
                                      "131|225|274|1", "131|275|374|0"}));
  std::remove(db.c_str());
}

// Trace Compass's withContainers stub (the Incubator's fused/SimpleContainersTestCase):
// PID namespaces 4026531836 (root) > 654321 > 987654, threads 40-42 from the statedump, 43 and 44
// forked inside 987654. The same stub in lttng-modules >= 2.12's layout (namespace fields in
// lttng_statedump_process_pid_ns, scripts/xml2ctf.py --statedump=lm212) must give the same.
class MultilayerContainers : public ::testing::TestWithParam<const char*> {};

TEST_P(MultilayerContainers, ReproduceTraceCompassSimpleContainers) {
  const std::string db = temp_db(std::string("multilayer-containers-") +
                                 (std::string(GetParam()).find("lm212") != std::string::npos ? "lm212" : "lm211"));
  std::remove(db.c_str());
  const GraphResult result = run_fused({source_dir(GetParam())}, "", "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  // The tree (oracle container_tree: Parent -1 for the root).
  EXPECT_EQ(query_rows(db, "SELECT ns_inum, COALESCE(parent_ns_inum, -1), ns_level FROM container ORDER BY ns_level"),
            (std::vector<std::string>{"4026531836|-1|0", "654321|4026531836|1", "987654|654321|2"}));
  // Containers/<ns>/Threads/<tid> = vtid.
  EXPECT_EQ(query_rows(db,
                       "SELECT ns_inum, GROUP_CONCAT(tid || '=' || vtid, ' ') FROM (SELECT * FROM container_thread "
                       "ORDER BY tid) GROUP BY ns_inum ORDER BY ns_inum"),
            (std::vector<std::string>{"654321|40=1 41=2 42=3 43=4 44=5", "987654|42=1 43=2 44=3",
                                      "4026531836|40=40 41=41 42=42 43=43 44=44"}));
  // Threads/<tid>: ns_max_level, and VPPID at each level below the root.
  EXPECT_EQ(query_rows(db,
                       "SELECT tid, COUNT(*), GROUP_CONCAT(CASE WHEN ns_level > 0 THEN ns_level || ':' || vppid END, "
                       "' ') FROM (SELECT * FROM container_thread ORDER BY tid, ns_level) GROUP BY tid ORDER BY tid"),
            (std::vector<std::string>{"40|2|1:0", "41|2|1:1", "42|3|1:2 2:0", "43|3|1:3 2:1", "44|3|1:3 2:1"}));
  // Current_thread of each CPU ([start, end] inclusive; the run ends at 35, where 44 starts).
  EXPECT_EQ(
      query_rows(db, "SELECT pcpu, ts, ts + dur - 1, COALESCE(tid, 'NULL') FROM cpu_state ORDER BY pcpu, ts"),
      (std::vector<std::string>{"0|1|29|31", "0|30|34|43", "1|1|3|NULL", "1|4|16|42", "1|17|23|41", "1|24|34|42"}));
  // Containers/<ns>/pCPUs: both child namespaces ran on CPUs 0 and 1.
  EXPECT_EQ(
      query_rows(db,
                 "SELECT ns_inum, GROUP_CONCAT(pcpu) FROM (SELECT DISTINCT ct.ns_inum, c.pcpu FROM cpu_state c JOIN "
                 "container_thread ct ON ct.machine_id = c.machine_id AND ct.tid = c.tid WHERE ct.ns_level > 0 "
                 "ORDER BY 1, 2) GROUP BY ns_inum ORDER BY ns_inum"),
      (std::vector<std::string>{"654321|0,1", "987654|0,1"}));
  std::remove(db.c_str());
}

INSTANTIATE_TEST_SUITE_P(BothStatedumpLayouts, MultilayerContainers,
                         ::testing::Values("traces/tc-stubs/Containers/withContainers",
                                           "traces/tc-stubs/Containers-lm212/withContainers"));

// Lab host + guest, fused (sync found from the traces):
// - each thread's thread_state tiles its lifetime: no gap, no overlap, durations add up;
// - a guest thread's vcpu_preempted / vmm interval lies inside a `preempted` / `vmm` interval of
//   the vCPU it runs on (vcpu_state, computed from the host trace alone);
// - every `preempted` vCPU interval names a preempting thread that the host trace shows on that
//   CPU when the interval starts: running there (thread_state), or, for tid 0, the CPU idle.
TEST(MultilayerLabBasic, ThreadStatesTileLifetimesAndFollowTheHost) {
  const std::string db = temp_db("multilayer-lab");
  std::remove(db.c_str());
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")}, "", "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) FROM (SELECT ts - LAG(ts + dur) OVER (PARTITION BY machine_id, tid ORDER BY ts) "
                      "AS gap FROM thread_state) WHERE gap <> 0"),
            "0");
  EXPECT_EQ(query_rows(db,
                       "SELECT m.name, COUNT(*) > 100, SUM(life = total) = COUNT(*) FROM (SELECT machine_id, tid, "
                       "MAX(ts + dur) - MIN(ts) AS life, SUM(dur) AS total FROM thread_state GROUP BY 1, 2) t JOIN "
                       "machine m ON m.id = t.machine_id GROUP BY m.name ORDER BY m.name"),
            (std::vector<std::string>{"guest-basic|1|1", "host-basic|1|1"}));
  // (Each check looks up the one interval that holds the instant.)
  EXPECT_EQ(query_rows(db,
                       "SELECT t.state, COUNT(*) > 100, SUM(NOT COALESCE((SELECT v.state = (CASE t.state WHEN 'vmm' "
                       "THEN 'vmm' ELSE 'preempted' END) AND v.ts + v.dur >= t.ts + t.dur FROM vcpu_state v WHERE "
                       "v.machine_id = t.machine_id AND v.vcpu_id = t.cpu AND v.ts <= t.ts AND v.ts + v.dur > t.ts "
                       "ORDER BY v.ts DESC LIMIT 1), 0)) FROM thread_state t JOIN machine m ON m.id = t.machine_id "
                       "WHERE m.name = 'guest-basic' AND t.state IN ('vmm', 'vcpu_preempted') GROUP BY t.state "
                       "ORDER BY t.state"),
            (std::vector<std::string>{"vcpu_preempted|1|0", "vmm|1|0"}));
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) > 1000, SUM(NOT COALESCE((SELECT (t.cpu = v.pcpu AND t.state IN ('running', "
                      "'interrupted')) FROM thread_state t WHERE t.machine_id = vm.parent_id AND t.tid = "
                      "v.preempting_tid AND t.ts <= v.ts AND t.ts + t.dur > v.ts ORDER BY t.ts DESC LIMIT 1), 0) AND "
                      "NOT (v.preempting_tid = 0 AND COALESCE((SELECT c.machine_id = vm.parent_id AND c.tid = 0 FROM "
                      "cpu_state c WHERE c.host_machine_id = vm.parent_id AND c.pcpu = v.pcpu AND c.ts <= v.ts AND "
                      "c.ts + c.dur > v.ts ORDER BY c.ts DESC LIMIT 1), 0))) FROM vcpu_state v JOIN machine vm ON "
                      "vm.id = v.machine_id WHERE v.state = 'preempted'"),
            "1|0");
  // cpu_state says what the CPU does: the guest's own statuses appear inside the VM.
  EXPECT_EQ(query_one(db,
                      "SELECT GROUP_CONCAT(status) FROM (SELECT DISTINCT status FROM cpu_state c JOIN machine m ON "
                      "m.id = c.machine_id WHERE m.name = 'guest-basic' ORDER BY status)"),
            "idle,irq,kernel,running,softirq,user");
  std::remove(db.c_str());
}

}  // namespace
}  // namespace vm::test

namespace vm::test {
namespace {

// The lab host trace, with 1000 lost events reported on CPU 0 between two packets
// (tests/data/lost-events/mark-lost.py; babeltrace2 sends one discarded-events message whose
// range starts at the end of the previous packet, B). Lost events make every interval they may
// have changed unknown from B: each vCPU (its thread may have switched or exited unseen), what
// runs on CPU 0 until the next event that tells (a sched_switch, a kvm_x86_entry, an interrupt
// entry; found independently by reading the trace), and the thread that was on CPU 0. Nothing is
// fabricated: no state continues across B on CPU 0.
TEST(MultilayerLostEvents, IntervalsAfterTheLossAreUnknown) {
  const std::string db = temp_db("multilayer-lost");
  std::remove(db.c_str());
  const GraphResult result = run_fused({test_data("lost/host")}, "", "path=\"" + db + "\"");
  ASSERT_TRUE(result.ok) << result.error;
  const std::string loss = query_one(db, "SELECT cpu || '|' || events || '|' || ts FROM data_loss");
  ASSERT_EQ(loss.substr(0, 7), "0|1000|") << loss;
  const int64_t begin = std::stoll(loss.substr(7));

  // The first such event on CPU 0 at or after B, from the trace itself.
  int64_t next_switch = INT64_MAX;
  const GraphResult scan = run_fused({test_data("lost/host")}, "", "", [&](const bt_message* message) {
    if (bt_message_get_type(message) != BT_MESSAGE_TYPE_EVENT) return;
    const bt_event* event = bt_message_event_borrow_event_const(message);
    const std::string name = bt_event_class_get_name(bt_event_borrow_class_const(event));
    const bool tells =
        name == "sched_switch" || name == "kvm_x86_entry" || name == "irq_handler_entry" ||
        name == "irq_softirq_entry" ||
        (name.rfind("x86_irq_vectors_", 0) == 0 && name.size() > 6 && name.compare(name.size() - 6, 6, "_entry") == 0);
    if (!tells) return;
    const bt_field* context = bt_packet_borrow_context_field_const(bt_event_borrow_packet_const(event));
    const bt_field* cpu = bt_field_structure_borrow_member_field_by_name_const(context, "cpu_id");
    const int64_t ts = message_ns(message);
    if (bt_field_integer_unsigned_get_value(cpu) == 0 && ts >= begin && ts < next_switch) next_switch = ts;
  });
  ASSERT_TRUE(scan.ok) << scan.error;
  ASSERT_NE(next_switch, INT64_MAX);

  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) FROM vcpu_state WHERE state = 'unknown' AND begin_event = 'lost_events' AND "
                      "ts = " +
                          std::to_string(begin)),
            "2");
  EXPECT_EQ(query_one(db,
                      "SELECT COALESCE(tid, 'NULL') || '|' || COALESCE(status, 'NULL') || '|' || (ts + dur) "
                      "FROM cpu_state WHERE pcpu = 0 AND ts = " +
                          std::to_string(begin)),
            "NULL|NULL|" + std::to_string(next_switch));
  EXPECT_EQ(query_one(db, "SELECT COUNT(*) FROM cpu_state WHERE pcpu = 0 AND ts < " + std::to_string(begin) +
                              " AND ts + dur > " + std::to_string(begin)),
            "0");
  // The thread that ran on CPU 0 until B (the lab host is busy there) is unknown from B.
  EXPECT_EQ(query_one(db,
                      "SELECT t.tid > 0, u.state FROM thread_state t JOIN thread_state u ON u.machine_id = "
                      "t.machine_id AND u.tid = t.tid AND u.ts = t.ts + t.dur WHERE t.cpu = 0 AND t.state IN "
                      "('running', 'interrupted') AND t.ts + t.dur = " +
                          std::to_string(begin)),
            "1|unknown");
  std::remove(db.c_str());
}

}  // namespace
}  // namespace vm::test
