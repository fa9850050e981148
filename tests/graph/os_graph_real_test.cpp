// SPDX-License-Identifier: MIT
// The OS execution graph and critical path on real LTTng traces, read through babeltrace2 and the
// plugin's event reader (os_graph_reader.h).
//
// - RealTraceCriticalPath.WestonBug446190: Trace Compass's only check of a critical path on a real
//   trace, the SWTBot CriticalPathTest.testFull on tracecompass-test-traces' ARM_64_BIT_HEADER
//   (traces/real/tctt-bug446190; critical-path-oracles.json, ui_checks_on_real_traces, and its
//   `implies`). Timestamps are ns from the Unix epoch: babeltrace2's ns from origin, the CTF clock
//   offset applied.
// - FusedNetworkEdges.LabBasicPair: the real lab host and guest (shared/traces/lab/basic; the guest
//   runs TCP echoes and a bulk transfer to the host, the host connects to the guest's echo server
//   every second) through filter.vm.fuse, so in the reference clock. The graph's NETWORK vertical
//   edges between the two machines are checked against the trace itself: each leaves a send
//   (net_dev_queue) on one machine whose TCP header (seq, ack_seq, flags, read here straight from
//   the payload, not by the plugin) was received (net_if_receive_skb) on the other no later than
//   the edge's end, and never goes back in time by more than the sync accuracy the run reports.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "analysis/graph/critical_path.h"
#include "fuse_fixture.h"
#include "os_graph_reader.h"

namespace vm::test {
namespace {

using graph::CriticalPath;
using graph::ExecGraph;

// The path's worker of `tid` on machine 0 (a thread: cpu -1), or nullptr.
const graph::WorkerId* path_worker(const CriticalPath& path, int64_t tid) {
  return path.graph.find_worker(graph::WorkerKey{0, tid, -1});
}

TEST(RealTraceCriticalPath, WestonBug446190) {
  OsGraphReader reader;
  const GraphResult result = read_traces(reader, {test_data("real/tctt-bug446190")});
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(reader.problem, "");
  ASSERT_EQ(reader.hosts.size(), 1u);
  const ExecGraph& g = reader.graph;

  // "the Critical Path view of thread weston, tid 338": the path from its first to its last vertex.
  const graph::WorkerId* weston = g.find_worker(graph::WorkerKey{0, 338, -1});
  ASSERT_NE(weston, nullptr);
  EXPECT_EQ(g.workers()[*weston].name, "weston");
  const CriticalPath path = graph::critical_path_of(g, *weston);
  const graph::WorkerId* on_path = path_worker(path, 338);
  ASSERT_NE(on_path, nullptr);

  // "with t = 1412670963793647239 selected on [weston,338], Follow critical path forward moves to
  // 1412670963793673139 on [weston,338]": the path's edge of 338 that contains t ends there.
  constexpr uint64_t t = 1412670963793647239u, handoff = 1412670963793673139u;
  graph::VertexId end = graph::kNoVertex;
  for (graph::VertexId v = path.graph.workers()[*on_path].head; v != graph::kNoVertex; v = path.graph.next_vertex(v)) {
    const graph::Edge* e = path.graph.out_h(v);
    if (e && path.graph.vertex(v).ts <= t && t < path.graph.vertex(e->to).ts) end = e->to;
  }
  ASSERT_NE(end, graph::kNoVertex) << "no edge of 338 on the path contains " << t;
  EXPECT_EQ(path.graph.vertex(end).ts, handoff);

  // "a second Follow critical path forward (the arrow) selects [kworker/u16:0,6] at
  // 1412670963793673139": a vertical hand-off from 338 to tid 6 there.
  const graph::Edge* arrow = path.graph.out_v(end);
  ASSERT_NE(arrow, nullptr) << "no hand-off leaves 338 at " << handoff;
  const graph::Worker& to = path.graph.worker_of(arrow->to);
  EXPECT_EQ(to.key.tid, 6);
  EXPECT_EQ(to.name, "kworker/u16:0");
  EXPECT_EQ(path.graph.vertex(arrow->to).ts, handoff);
  bool linked = false;
  for (const graph::PathLink& l : path.links)
    linked |= l.ts == handoff && l.from.tid == 338 && l.to.tid == 6;
  EXPECT_TRUE(linked) << "the flat form has no link 338 -> 6 at " << handoff;

  // "following thread weston-desktop-, tid 340, shows the entry [weston-desktop-,340] first".
  const graph::WorkerId* desktop = g.find_worker(graph::WorkerKey{0, 340, -1});
  ASSERT_NE(desktop, nullptr);
  const CriticalPath path340 = graph::critical_path_of(g, *desktop);
  ASSERT_FALSE(path340.segments.empty());
  EXPECT_EQ(path340.segments.front().worker.tid, 340);
  ASSERT_FALSE(path340.graph.workers().empty());
  EXPECT_EQ(path340.graph.workers().front().key.tid, 340);
  EXPECT_EQ(path340.graph.workers().front().name, "weston-desktop-");
}

// The test's own reading of a TCP header (lttng-modules net.h): payload member network_header,
// its selected option, member transport_header, its selected option, members seq, ack_seq, flags.
// Unsigned fields; false when any step is missing (no IP header, UDP, ...).
bool tcp_header_of(const bt_field* payload, std::tuple<uint64_t, uint64_t, uint64_t>& key) {
  auto member = [](const bt_field* f, const char* name) -> const bt_field* {
    if (!f || bt_field_get_class_type(f) != BT_FIELD_CLASS_TYPE_STRUCTURE) return nullptr;
    return bt_field_structure_borrow_member_field_by_name_const(f, name);
  };
  auto option = [](const bt_field* f) -> const bt_field* {
    if (!f || !bt_field_class_type_is(bt_field_get_class_type(f), BT_FIELD_CLASS_TYPE_VARIANT)) return nullptr;
    return bt_field_variant_borrow_selected_option_field_const(f);
  };
  const bt_field* tcp = option(member(option(member(payload, "network_header")), "transport_header"));
  const bt_field *seq = member(tcp, "seq"), *ack = member(tcp, "ack_seq"), *flags = member(tcp, "flags");
  if (!seq || !ack || !flags) return false;
  key = {bt_field_integer_unsigned_get_value(seq), bt_field_integer_unsigned_get_value(ack),
         bt_field_integer_unsigned_get_value(flags)};
  return true;
}

TEST(FusedNetworkEdges, LabBasicPair) {
  using Key = std::tuple<uint64_t, uint64_t, uint64_t>;
  OsGraphReader reader;
  std::map<std::pair<int64_t, uint64_t>, std::set<Key>> sent;  // (machine, ts) -> keys sent then
  std::map<std::pair<int64_t, Key>, std::vector<uint64_t>> received;  // (machine, key) -> times
  reader.on_decoded = [&](int64_t machine, const bt_event* event, const Event& decoded) {
    if (decoded.kind != EventKind::net_send && decoded.kind != EventKind::net_receive) return;
    Key key;
    if (!tcp_header_of(bt_event_borrow_payload_field_const(event), key)) return;
    if (decoded.kind == EventKind::net_send)
      sent[{machine, uint64_t(decoded.ctx.ts)}].insert(key);
    else
      received[{machine, key}].push_back(uint64_t(decoded.ctx.ts));
  };
  const MessageCheck check = [&reader](const bt_message* message) { reader.on_message(message); };
  const GraphResult result =
      run_fused({test_data("lab/basic/host/kernel"), test_data("lab/basic/guest/kernel")}, "", "", check);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(reader.problem, "");
  ASSERT_EQ(reader.hosts.size(), 2u);
  // The guest's sync to the host (the reference), as the run reports it.
  int64_t guest = -1;
  for (size_t m = 0; m < reader.environments.size(); ++m)
    if (reader.environments[m]["vm_role"] == "guest") guest = int64_t(m);
  ASSERT_GE(guest, 0);
  const std::string accuracy_text = reader.environments[size_t(guest)]["vm_sync_accuracy_ns"];
  ASSERT_FALSE(accuracy_text.empty());
  const long double accuracy = std::strtold(accuracy_text.c_str(), nullptr);
  ASSERT_TRUE(std::isfinite(double(accuracy))) << accuracy_text;

  const graph::ExecGraph& g = reader.graph;
  size_t edges[2] = {0, 0};  // host -> guest, guest -> host
  long double shortest = 0;  // the smallest end - start of an edge (negative: back in time)
  for (const graph::Edge& e : g.edges()) {
    const graph::Vertex &from = g.vertex(e.from), &to = g.vertex(e.to);
    const int64_t a = g.workers()[from.worker].key.machine_id, b = g.workers()[to.worker].key.machine_id;
    if (e.state != graph::EdgeState::network || a == b || g.out_v(e.from) != &e) continue;
    ++edges[a == guest];
    SCOPED_TRACE("edge " + std::to_string(a) + "@" + std::to_string(from.ts) + " -> " + std::to_string(b) + "@" +
                 std::to_string(to.ts));
    auto keys = sent.find({a, from.ts});
    ASSERT_NE(keys, sent.end()) << "no TCP send on the edge's machine at its start";
    bool received_before_end = false;
    for (const Key& key : keys->second) {
      auto times = received.find({b, key});
      if (times == received.end()) continue;
      for (uint64_t r : times->second) received_before_end |= r <= to.ts;
    }
    EXPECT_TRUE(received_before_end) << "no reception of the sent key on the other machine before the edge's end";
    const long double span = (long double)to.ts - (long double)from.ts;
    EXPECT_GE(span, -accuracy);
    if (edges[0] + edges[1] == 1 || span < shortest) shortest = span;
  }
  EXPECT_GT(edges[0], 0u) << "no network edge from the host to the guest";
  EXPECT_GT(edges[1], 0u) << "no network edge from the guest to the host";
  std::printf("network edges host->guest %zu, guest->host %zu, shortest %.0Lf ns, sync accuracy %s ns, "
              "packets matched %llu\n", edges[0], edges[1], shortest, accuracy_text.c_str(),
              static_cast<unsigned long long>(reader.builder.stats().packets_matched));
}

}  // namespace
}  // namespace vm::test
