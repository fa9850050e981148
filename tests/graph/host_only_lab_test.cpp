// SPDX-License-Identifier: MIT
// The host-only critical path of a vCPU on the lab basic host trace (shared/traces/lab/basic, the
// host alone, no fuse filter): every halt on the path resolves as its vcpu_halt row says.
//
// How: the host trace is read in-process (source.ctf.fs -> muxer, tests/graph/ctf_read.h), each
// event decoded by the plugin's own reader (plugins/vm/event_reader.cpp) as sink.vm.sqlite decodes
// it, into a vm::Run (its registered analyses: the vCPU analysis, the wake analysis that writes
// vcpu_halt, ...) and then into an OsGraphAnalysis (the OS graph and its host-only layer), which
// the registry does not list yet. The run writes its database: its vcpu_halt rows are the oracle.
//
// The oracle is the wake model's own account of each halt (vcpu_halt, written by WakeAnalysis in
// this same run), which is validated elsewhere against independent truth: the guest's own
// interrupt handlers (tests/graph/wake_graph_test.cpp, LabBasicWake) and the scenario generator's
// truth. What this test checks is the graph layer and the critical path: that each halt's wait on
// the vCPU's path hands off to the thread the row names (ipi: the sending vCPU's thread; disk,
// net, device: device_tid; none with a waker vCPU: that thread), or is a `timer` interval (timer),
// inside the halt [ts, ts + dur].

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>

#include "analysis/graph/critical_path.h"
#include "analysis/graph/os_graph_analysis.h"
#include "analysis/run.h"
#include "ctf_read.h"
#include "event_reader.h"
#include "fuse_fixture.h"

namespace vm::test {
namespace {

using graph::EdgeState;
using graph::HostOnlyGraph;

struct HostOnlyRun {
  explicit HostOnlyRun(const std::string& db) : run(db), analysis(run) {
    auto owned = std::make_unique<TracedMachine>();
    owned->id = run.registry().add("host", MachineRole::unknown, kUnknown, 0);
    owned->trace_name = "host";
    machine = &run.add_machine(std::move(owned));
    analysis.on_machine(*machine);
  }

  void on_message(const bt_message* message) {
    const bt_message_type type = bt_message_get_type(message);
    if (type == BT_MESSAGE_TYPE_DISCARDED_EVENTS) {
      // The CPU is the stream's (a kernel trace has one stream per CPU), as the sink tells it.
      const bt_stream* stream = bt_message_discarded_events_borrow_stream_const(message);
      const int64_t cpu = last_cpu.count(stream) ? last_cpu[stream] : kUnknown;
      run.on_lost_events(*machine, kUnknown, kUnknown, cpu, kUnknown);
      analysis.on_lost_events(*machine, kUnknown, kUnknown, cpu, kUnknown);
      return;
    }
    if (type != BT_MESSAGE_TYPE_EVENT) return;
    const bt_event* event = bt_message_event_borrow_event_const(message);
    const bt_stream* stream = bt_event_borrow_stream_const(event);
    auto s = streams.find(stream);
    if (s == streams.end())
      s = streams.emplace(stream, bt::locate_stream_fields(bt_stream_borrow_class_const(stream))).first;
    const bt_event_class* event_class = bt_event_borrow_class_const(event);
    auto c = classes.find(event_class);
    if (c == classes.end()) c = classes.emplace(event_class, bt::locate_event_fields(event_class)).first;
    const int64_t cpu = bt::packet_cpu(bt_event_borrow_packet_const(event), s->second);
    last_cpu[stream] = cpu;
    const EventContext ctx = bt::read_context(event, bt::event_ns(message), cpu, s->second);
    run.on_context(*machine, ctx);
    if (c->second.kind == EventKind::other) return;
    bt::decode_event(c->second, ctx, event, decoded);
    run.on_event(*machine, decoded);
    analysis.on_event(*machine, decoded);
    analysis.after_event(*machine, decoded);
  }

  void finish() {
    run.finish();
    analysis.finish_machine(*machine, machine->last_ts);
    run.write();
    run.commit();
  }

  Run run;
  graph::OsGraphAnalysis analysis;
  TracedMachine* machine = nullptr;
  std::unordered_map<const bt_stream*, bt::StreamFields> streams;
  std::unordered_map<const bt_stream*, int64_t> last_cpu;
  std::unordered_map<const bt_event_class*, bt::EventFields> classes;
  Event decoded;
};

class LabBasicHostOnlyPath : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db = new std::string(temp_db("host-only-lab"));
    std::remove(db->c_str());
    host = new HostOnlyRun(*db);
    const MessageCheck check = [](const bt_message* message) { host->on_message(message); };
    const GraphResult result = read_ctf({test_data("lab/basic/host/kernel")}, check);
    ok = new bool(result.ok);
    error = new std::string(result.error);
    if (result.ok) host->finish();
  }
  static void TearDownTestSuite() {
    std::remove(db->c_str());
    delete host;
    delete db;
    delete ok;
    delete error;
  }
  static std::string* db;
  static HostOnlyRun* host;
  static bool* ok;
  static std::string* error;
};
std::string* LabBasicHostOnlyPath::db = nullptr;
HostOnlyRun* LabBasicHostOnlyPath::host = nullptr;
bool* LabBasicHostOnlyPath::ok = nullptr;
std::string* LabBasicHostOnlyPath::error = nullptr;

int64_t integer(const std::string& text) { return text == "NULL" ? kUnknown : std::stoll(text); }

// For each vCPU thread of the trace (207 and 208: vCPUs 0 and 1 of qemu-204): its host-only path
// (preempted waits resolved too, as the host-only configuration runs it) from its first to its
// last vertex; then every vcpu_halt row of that thread that lies on the path and names a thread
// to hand off to (or a timer) is checked against the path.
TEST_F(LabBasicHostOnlyPath, EveryHaltResolvesAsVcpuHaltSays) {
  ASSERT_TRUE(*ok) << *error;
  const graph::ExecGraph& g = host->analysis.graph();
  // (VM, vCPU) -> its host thread, from the run's own vcpu table.
  std::map<std::pair<int64_t, int64_t>, int64_t> vcpu_thread;
  for (const std::string& row : query_rows(*db, "SELECT machine_id, vcpu_id, host_tid FROM vcpu")) {
    std::istringstream in(row);
    std::string a, b, c;
    std::getline(in, a, '|');
    std::getline(in, b, '|');
    std::getline(in, c, '|');
    vcpu_thread[{integer(a), integer(b)}] = integer(c);
  }
  ASSERT_EQ(vcpu_thread.size(), 2u);
  std::map<std::string, int> checked;
  for (const auto& [key, tid] : vcpu_thread) {
    const graph::WorkerId* worker = g.find_worker(graph::WorkerKey{host->machine->id, tid, -1});
    ASSERT_NE(worker, nullptr) << "vCPU thread " << tid;
    graph::CriticalPathOptions options;
    options.resolved_states |= 1u << static_cast<unsigned>(EdgeState::preempted);
    const graph::CriticalPath path = graph::critical_path_of(g, *worker, options);
    ASSERT_FALSE(path.segments.empty());
    // The path's time by thread and state (the test's figures, not checked).
    std::map<std::pair<int64_t, std::string>, uint64_t> by_state;
    for (const graph::PathSegment& seg : path.segments)
      by_state[{seg.worker.tid, std::string(graph::edge_state_name(seg.state))}] += seg.dur;
    std::printf("host-only path of %lld: [%llu, %llu), %zu segments, %zu links, %zu diagnostics\n", (long long)tid,
                (unsigned long long)path.start_ts, (unsigned long long)path.end_ts, path.segments.size(),
                path.links.size(), path.diagnostics.size());
    for (size_t i = 0; i < path.diagnostics.size() && i < 3; ++i) std::printf("  %s\n", path.diagnostics[i].c_str());
    for (const auto& [key, ns] : by_state)
      if (ns * 100 >= path.end_ts - path.start_ts)  // 1 % or more
        std::printf("  tid %lld %s: %llu ns\n", (long long)key.first, key.second.c_str(), (unsigned long long)ns);
    const std::vector<std::string> rows = query_rows(
        *db, "SELECT ts, dur, wake_reason, waker_machine_id, waker_vcpu_id, device_tid, waker_tid FROM vcpu_halt "
             "WHERE host_tid = " + std::to_string(tid) + " ORDER BY ts");
    ASSERT_FALSE(rows.empty());
    for (const std::string& row : rows) {
      std::istringstream in(row);
      std::string f[7];
      for (std::string& field : f) std::getline(in, field, '|');
      const uint64_t begin = uint64_t(integer(f[0])), end = begin + uint64_t(integer(f[1]));
      if (begin < path.start_ts || end > path.end_ts) continue;
      const std::string& reason = f[2];
      int64_t expected = kUnknown;
      if (reason == "ipi")
        expected = vcpu_thread.count({integer(f[3]), integer(f[4])}) ? vcpu_thread[{integer(f[3]), integer(f[4])}] : kUnknown;
      else if (reason == "disk" || reason == "net" || reason == "device")
        expected = integer(f[5]);
      else if (reason == "none" && f[4] != "NULL")
        expected = integer(f[6]);
      else if (reason != "timer")
        continue;  // none without waker, unknown: nothing to hand off to
      if (reason == "timer") {
        bool found = false;
        for (const graph::PathSegment& s : path.segments)
          found |= s.worker.tid == tid && s.state == EdgeState::timer && s.qualifier == "halt:timer" && s.ts >= begin &&
                   s.ts + s.dur <= end;
        EXPECT_TRUE(found) << "vCPU thread " << tid << ": timer halt at " << begin << " has no timer interval";
      } else {
        ASSERT_NE(expected, kUnknown) << row;
        bool found = false;
        std::string seen;
        for (const graph::PathLink& l : path.links)
          if (l.to.tid == tid && l.to_ts > begin && l.to_ts <= end) {
            found |= l.from.tid == expected && l.from.machine_id == host->machine->id;
            seen += " " + std::to_string(l.from.tid) + "@" + std::to_string(l.ts);
          }
        EXPECT_TRUE(found) << "vCPU thread " << tid << ": " << reason << " halt at " << begin << " (" << row
                           << ") is not handed off to thread " << expected << "; links into it:" << seen;
      }
      ++checked[reason];
    }
  }
  // What was checked (the test's figures; every reason the trace has is there).
  for (const auto& [reason, n] : checked) std::printf("host-only path: %d %s halts checked\n", n, reason.c_str());
  const HostOnlyGraph* layer = host->analysis.host_only_layer(host->machine->id);
  ASSERT_NE(layer, nullptr);
  const HostOnlyGraph::Stats& stats = layer->stats();
  std::printf("host-only layer: %llu halts: %llu timer, %llu kept, %llu linked, %llu unresolved, %llu untouched; "
              "%llu preemption links\n",
              (unsigned long long)stats.halts, (unsigned long long)stats.by_resolution[0],
              (unsigned long long)stats.by_resolution[1], (unsigned long long)stats.by_resolution[2],
              (unsigned long long)stats.by_resolution[3], (unsigned long long)stats.by_resolution[4],
              (unsigned long long)host->analysis.builder().preemption_links());
  // Every halt that names a thread (or a timer) found its vertex: none left as the OS graph said.
  EXPECT_EQ(stats.by_resolution[static_cast<size_t>(HostOnlyGraph::Resolution::unresolved)], 0u);
  EXPECT_GT(checked["ipi"], 0);
  EXPECT_GT(checked["timer"], 0);
  EXPECT_GT(checked["device"], 0);
}

}  // namespace
}  // namespace vm::test
