// SPDX-License-Identifier: MIT
// The OS execution graph and critical path on real LTTng traces, read through babeltrace2 and the
// plugin's event reader (os_graph_reader.h).
//
// - RealTraceCriticalPath.WestonBug446190: Trace Compass's only check of a critical path on a real
//   trace, the SWTBot CriticalPathTest.testFull on tracecompass-test-traces' ARM_64_BIT_HEADER
//   (traces/real/tctt-bug446190; critical-path-oracles.json, ui_checks_on_real_traces, and its
//   `implies`). Timestamps are ns from the Unix epoch: babeltrace2's ns from origin, the CTF clock
//   offset applied.

#include <gtest/gtest.h>

#include <string>

#include "analysis/graph/critical_path.h"
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

}  // namespace
}  // namespace vm::test
