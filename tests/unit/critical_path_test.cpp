// SPDX-License-Identifier: MIT
// The bounded critical path (common/analysis/graph/critical_path.h).
// - CriticalPath.Graph*: the 12 GraphFactory oracles of Trace Compass's TmfCriticalPathAlgoBoundedTest,
//   read from ../shared/research/critical-path-oracles.json at test time: the input graph is built
//   from the file, the path computed from the head of Actor0, and compared vertex by vertex and edge
//   by edge as GraphOps.checkEquality does (conventions.comparison), plus the vertex count.
// - CriticalPathOnExpectedGraph.*: the DistributedCriticalPathTest paths, computed from the
//   expected execution graphs of the same file (the graphs built from the traces are the OS
//   builder's tests).
// - The other tests are hand-built graphs whose expected paths are derived in their comments.

#include "analysis/graph/critical_path.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <set>
#include <string>

#include "oracle_graphs.h"

namespace vm::graph {
namespace {

using test::Json;
using test::OracleGraph;

std::string lines(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& l : v) s += "\n  " + l;
  return s;
}

// The flat form tiles [start_ts, end_ts) in order, and every hand-off of the graph is a link.
void expect_tiling(const CriticalPath& p) {
  uint64_t cursor = p.start_ts;
  for (const PathSegment& s : p.segments) {
    EXPECT_EQ(s.ts, cursor) << "segment of " << s.worker.tid;
    EXPECT_GT(s.dur, 0u);
    cursor = s.ts + s.dur;
  }
  EXPECT_EQ(cursor, p.end_ts);
  size_t verticals = 0;
  for (const Edge& e : p.graph.edges())
    verticals += p.graph.vertex(e.from).worker != p.graph.vertex(e.to).worker;
  EXPECT_EQ(p.links.size(), verticals);
}

// Builds the input graph of one oracle, computes the path of each worker it names, compares.
void check_oracle(std::string_view id, const char* graph_member, bool spilled = false) {
  const Json* t = test::oracle_test(id);
  ASSERT_NE(t, nullptr) << id << " is not in critical-path-oracles.json";
  OracleGraph in;
  if (spilled) in.graph.spill_to(::testing::TempDir());
  std::string problem = test::build_graph((*t)[graph_member], in);
  ASSERT_EQ(problem, "") << id;
  std::vector<const Json*> paths;
  if (!(*t)["critical_path"].is_null()) paths.push_back(&(*t)["critical_path"]);
  for (const Json& p : (*t)["critical_paths"].items) paths.push_back(&p);
  ASSERT_FALSE(paths.empty()) << id;
  for (const Json* cp : paths) {
    WorkerKey k = in.key((*cp)["worker"]["host"], (*cp)["worker"]["tid"]);
    SCOPED_TRACE(std::string(id) + ", path of tid " + std::to_string(k.tid));
    const WorkerId* w = in.graph.find_worker(k);
    ASSERT_NE(w, nullptr);
    CriticalPath path = critical_path_of(in.graph, *w);
    EXPECT_TRUE(path.diagnostics.empty()) << lines(path.diagnostics);
    std::vector<std::string> diffs = test::compare_graph((*cp)["expected"], in, path.graph, true);
    EXPECT_TRUE(diffs.empty()) << lines(diffs);
    expect_tiling(path);
  }
}

void check_graph_factory(std::string_view id) { check_oracle(id, "input_graph"); }

TEST(CriticalPath, GraphBasic) { check_graph_factory("graph_factory.basic"); }
TEST(CriticalPath, GraphWakeupSelf) { check_graph_factory("graph_factory.wakeup_self"); }
TEST(CriticalPath, GraphWakeupMissing) { check_graph_factory("graph_factory.wakeup_missing"); }
TEST(CriticalPath, GraphWakeupUnknown) { check_graph_factory("graph_factory.wakeup_unknown"); }
TEST(CriticalPath, GraphWakeupNew) { check_graph_factory("graph_factory.wakeup_new"); }
TEST(CriticalPath, GraphOpened) { check_graph_factory("graph_factory.opened"); }
TEST(CriticalPath, GraphOpenedDelay) { check_graph_factory("graph_factory.opened_delay"); }
TEST(CriticalPath, GraphWakeupMutual) { check_graph_factory("graph_factory.wakeup_mutual"); }
TEST(CriticalPath, GraphWakeupEmbedded) { check_graph_factory("graph_factory.wakeup_embedded"); }
TEST(CriticalPath, GraphWakeupInterleave) { check_graph_factory("graph_factory.wakeup_interleave"); }
TEST(CriticalPath, GraphNested) { check_graph_factory("graph_factory.nested"); }
TEST(CriticalPath, GraphNet1) { check_graph_factory("graph_factory.net1"); }

// The same 12 oracles with the input graph kept in a temporary file (ExecGraph::spill_to, the
// sink's default): where the graph lives changes no path.
TEST(CriticalPath, GraphFactoryOraclesInASpilledGraph) {
  for (const Json& t : test::oracles()["tests"].items)
    if (t["id"].text.rfind("graph_factory.", 0) == 0) check_oracle(t["id"].text, "input_graph", true);
}

// Every GraphFactory oracle of the file has its test above (a new one in the file fails here).
TEST(CriticalPath, EveryGraphFactoryOracleIsTested) {
  const std::set<std::string> tested = {
      "graph_factory.basic",         "graph_factory.wakeup_self",     "graph_factory.wakeup_missing",
      "graph_factory.wakeup_unknown", "graph_factory.wakeup_new",     "graph_factory.opened",
      "graph_factory.opened_delay",  "graph_factory.wakeup_mutual",   "graph_factory.wakeup_embedded",
      "graph_factory.wakeup_interleave", "graph_factory.nested",      "graph_factory.net1"};
  std::set<std::string> in_file;
  for (const Json& t : test::oracles()["tests"].items)
    if (t["id"].text.rfind("graph_factory.", 0) == 0) in_file.insert(t["id"].text);
  EXPECT_EQ(in_file, tested);
}

// The comparison itself: GRAPH_WAKEUP_SELF's input graph equals its own description, and differs
// from its expected path (BLOCKED 2-3 there, TIMER in the path; the TIMER link is vertical there,
// absent in the path): the checks are not vacuous.
TEST(CriticalPath, OracleComparisonSeesDifferences) {
  const Json* t = test::oracle_test("graph_factory.wakeup_self");
  ASSERT_NE(t, nullptr);
  OracleGraph in;
  ASSERT_EQ(test::build_graph((*t)["input_graph"], in), "");
  EXPECT_TRUE(test::compare_graph((*t)["input_graph"], in, in.graph, true).empty());
  std::vector<std::string> diffs = test::compare_graph((*t)["critical_path"]["expected"], in, in.graph, true);
  // 0@1 out_v, 0@2 out_h, 0@3 in_h and in_v.
  EXPECT_EQ(diffs.size(), 4u) << lines(diffs);
}

// EdgeState's values are Trace Compass's OSEdgeContextEnum codes (conventions.edge_types).
TEST(CriticalPath, EdgeStatesAreTraceCompassCodes) {
  const Json& types = test::oracles()["conventions"]["edge_types"];
  ASSERT_EQ(types.members.size(), 13u);
  for (const auto& [name, code] : types.members) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    EXPECT_EQ(edge_state_name(static_cast<EdgeState>(code.integer)), lower);
  }
}

TEST(CriticalPathOnExpectedGraph, DistributedNetworkExchange) {
  check_oracle("distributed.network_exchange", "expected_graph");
}
TEST(CriticalPathOnExpectedGraph, DistributedNetworkExchangeWithWifi) {
  check_oracle("distributed.network_exchange_with_wifi", "expected_graph");
}
TEST(CriticalPathOnExpectedGraph, DistributedNetworkExchangeOneTrace) {
  check_oracle("distributed.network_exchange_one_trace", "expected_graph");
}
TEST(CriticalPathOnExpectedGraph, DistributedNetworkExchangeOneTraceSoftirq) {
  check_oracle("distributed.network_exchange_one_trace_softirq", "expected_graph");
}

// The flat form of GRAPH_NET1, derived from the oracle's expected path (graph_factory.net1) by
// the flattening rule (each horizontal edge a segment; a hand-off that takes time, a segment of
// the worker it hands to): A0 runs [0,1); A1 is entered at 1 but starts at 3, so [1,3) unknown;
// A1 runs [3,4); its message reaches A2 at 7: [4,7) network on A2; A2 runs [7,8); its message
// reaches A3 at 10: [8,10) network on A3; A3 runs [10,11) and wakes A0, which runs [11,12).
TEST(CriticalPath, FlatFormOfNet1) {
  const Json* t = test::oracle_test("graph_factory.net1");
  ASSERT_NE(t, nullptr);
  OracleGraph in;
  ASSERT_EQ(test::build_graph((*t)["input_graph"], in), "");
  CriticalPath p = critical_path_of(in.graph, 0);
  EXPECT_EQ(p.start_ts, 0u);
  EXPECT_EQ(p.end_ts, 12u);
  struct Seg { uint64_t ts, dur; int64_t tid; EdgeState s; };
  const Seg want[] = {{0, 1, 0, EdgeState::running}, {1, 2, 1, EdgeState::unknown},  {3, 1, 1, EdgeState::running},
                      {4, 3, 2, EdgeState::network}, {7, 1, 2, EdgeState::running},  {8, 2, 3, EdgeState::network},
                      {10, 1, 3, EdgeState::running}, {11, 1, 0, EdgeState::running}};
  ASSERT_EQ(p.segments.size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(p.segments[i].ts, want[i].ts) << i;
    EXPECT_EQ(p.segments[i].dur, want[i].dur) << i;
    EXPECT_EQ(p.segments[i].worker.tid, want[i].tid) << i;
    EXPECT_EQ(p.segments[i].state, want[i].s) << i;
  }
  struct Lnk { uint64_t ts; int64_t from, to; EdgeState s; };
  const Lnk links[] = {{1, 0, 1, EdgeState::deflt}, {4, 1, 2, EdgeState::network},
                       {8, 2, 3, EdgeState::network}, {11, 3, 0, EdgeState::deflt}};
  ASSERT_EQ(p.links.size(), std::size(links));
  for (size_t i = 0; i < std::size(links); ++i) {
    EXPECT_EQ(p.links[i].ts, links[i].ts) << i;
    EXPECT_EQ(p.links[i].from.tid, links[i].from) << i;
    EXPECT_EQ(p.links[i].to.tid, links[i].to) << i;
    EXPECT_EQ(p.links[i].state, links[i].s) << i;
  }
}

WorkerId actor(ExecGraph& g, int64_t tid) { return g.worker(WorkerKey{0, tid, -1}); }

// A worker's chain: a first vertex at `first`, then one per (ts, state of the interval ending
// there). Returns the vertices in order.
std::vector<VertexId> chain(ExecGraph& g, WorkerId w, uint64_t first,
                            std::initializer_list<std::pair<uint64_t, EdgeState>> rest = {}) {
  std::vector<VertexId> v{g.add(w, first)};
  for (const auto& [ts, state] : rest) v.push_back(g.append(w, ts, state));
  return v;
}

void expect_segment(const PathSegment& s, uint64_t ts, uint64_t dur, int64_t tid, EdgeState state) {
  EXPECT_EQ(s.ts, ts);
  EXPECT_EQ(s.dur, dur);
  EXPECT_EQ(s.worker.tid, tid);
  EXPECT_EQ(s.state, state) << edge_state_name(s.state);
}

constexpr EdgeState R = EdgeState::running;

// GRAPH_NESTED (graph_factory.nested) generalised to N workers: worker k < N-1 runs [k, k+1),
// forks worker k+1 at k+1 and is blocked until 2N-2-k, when worker k+1 wakes it, then runs to
// 2N-1-k; worker N-1 runs [N-1, N). As in the oracle's path, every blocked interval is replaced
// by the hand-off to the forked worker: the path is worker 0, 1, ..., N-1, N-2, ..., 0, each for
// 1 ns, RUNNING (2N-1 segments). 20000 nested waits: Trace Compass's recursion depth; here an
// explicit stack.
void check_deep_chain(int64_t n, bool spilled) {
  ExecGraph g;
  if (spilled) g.spill_to(::testing::TempDir());
  std::vector<WorkerId> w;
  for (int64_t k = 0; k < n; ++k) w.push_back(actor(g, k));
  std::vector<VertexId> fork_at(n), woken_at(n);
  for (int64_t k = 0; k < n; ++k) fork_at[k] = chain(g, w[k], k, {{k + 1, R}}).back();
  for (int64_t k = n - 2; k >= 0; --k) {
    woken_at[k] = g.append(w[k], static_cast<uint64_t>(2 * n - 2 - k), EdgeState::blocked);
    g.append(w[k], static_cast<uint64_t>(2 * n - 1 - k), R);
  }
  for (int64_t k = 0; k + 1 < n; ++k) {
    ASSERT_TRUE(g.link(fork_at[k], g.workers()[w[k + 1]].head));
    ASSERT_TRUE(g.link(g.workers()[w[k + 1]].tail, woken_at[k]));
  }
  CriticalPath p = critical_path_of(g, w[0]);
  EXPECT_TRUE(p.diagnostics.empty()) << lines(p.diagnostics);
  ASSERT_EQ(p.segments.size(), static_cast<size_t>(2 * n - 1));
  for (int64_t i = 0; i < 2 * n - 1; ++i) {
    const PathSegment& s = p.segments[static_cast<size_t>(i)];
    ASSERT_TRUE(s.ts == static_cast<uint64_t>(i) && s.dur == 1 && s.state == R) << i;
    ASSERT_EQ(s.worker.tid, i < n ? i : 2 * n - 2 - i);
  }
  EXPECT_EQ(p.links.size(), static_cast<size_t>(2 * (n - 1)));
}

TEST(CriticalPath, DeepChainOfNestedWaits) { check_deep_chain(20000, false); }

// The same in a spilled graph of 200000 workers: 600,000 vertices and 800,000 edges, so the
// graph gives its pages back (every ExecGraph::kReleaseEvery) while it is built and while the
// path walks it, and reads them back from its file.
TEST(CriticalPath, DeepChainOfNestedWaitsInASpilledGraph) {
  ASSERT_GT(3 * 200000, 2 * static_cast<int64_t>(ExecGraph::kReleaseEvery));
  check_deep_chain(200000, true);
}

// A0: 0 -R- 1 -B- 5 =EPS= 5' -R- 7, B: 0 -R- 5, and B@5 wakes A0 at 5' (the second vertex at 5).
// findIncoming (2015) follows the EPS edge from the blocked interval's end to 5' and finds the
// wake-up: the path is A0 [0,1) running, hand-off at 1 to B, B [1,5) running (B's edge 0-5
// starts before the wait: shortened to it), back to A0 at 5, A0 [5,7) running. The current
// Trace Compass code does not follow EPS edges and would leave [1,5) BLOCKED.
TEST(CriticalPath, FindIncomingFollowsEpsChains) {
  ExecGraph g;
  WorkerId a = actor(g, 0), b = actor(g, 1);
  chain(g, a, 0, {{1, R}, {5, EdgeState::blocked}});
  VertexId woken = g.append_eps(a);
  g.append(a, 7, R);
  ASSERT_TRUE(g.link(chain(g, b, 0, {{5, R}}).back(), woken));
  CriticalPath p = critical_path_of(g, a);
  EXPECT_TRUE(p.diagnostics.empty()) << lines(p.diagnostics);
  ASSERT_EQ(p.segments.size(), 3u);
  expect_segment(p.segments[0], 0, 1, 0, R);
  expect_segment(p.segments[1], 1, 4, 1, R);
  expect_segment(p.segments[2], 5, 2, 0, R);
  EXPECT_EQ(p.end_ts, 7u);
}

// A0: 0 -R- 1 -B- 10 -R- 11, woken by B@10; B: 5 -R- 10; B@5 and C@5 link to each other (a
// cycle at one instant, which no trace should give). The backward walk from B@10 reaches B@5,
// jumps to C@5, back to B@5, ... for ever in Trace Compass. Here the step budget ends it: the
// wait stays BLOCKED, with a diagnostic, and the path still tiles [0, 11).
TEST(CriticalPath, CycleOfLinksEndsAtTheStepBudget) {
  ExecGraph g;
  WorkerId a = actor(g, 0), b = actor(g, 1), c = actor(g, 2);
  std::vector<VertexId> av = chain(g, a, 0, {{1, R}, {10, EdgeState::blocked}, {11, R}});
  std::vector<VertexId> bv = chain(g, b, 5, {{10, R}});
  VertexId c5 = g.add(c, 5);
  ASSERT_TRUE(g.link(bv[1], av[2]));
  ASSERT_TRUE(g.link(bv[0], c5));
  ASSERT_TRUE(g.link(c5, bv[0]));
  CriticalPathOptions opt;
  opt.max_steps_per_wait = 10000;
  CriticalPath p = critical_path_of(g, a, opt);
  EXPECT_EQ(p.diagnostics.size(), 1u);
  ASSERT_EQ(p.segments.size(), 3u);
  expect_segment(p.segments[1], 1, 9, 0, EdgeState::blocked);
  expect_tiling(p);
}

// A0: 0 -R- 5, a gap (add) to 8, 8 -R- 10. Bridged: [0,5) running, [5,8) unknown, [8,10)
// running, one diagnostic. Without bridging (Trace Compass), the path stops at 5.
TEST(CriticalPath, GapInTheWorkerIsUnknown) {
  ExecGraph g;
  WorkerId a = actor(g, 0);
  chain(g, a, 0, {{5, R}});
  chain(g, a, 8, {{10, R}});
  CriticalPath p = critical_path_of(g, a);
  EXPECT_EQ(p.diagnostics.size(), 1u);
  ASSERT_EQ(p.segments.size(), 3u);
  expect_segment(p.segments[1], 5, 3, 0, EdgeState::unknown);
  EXPECT_EQ(p.end_ts, 10u);
  expect_tiling(p);
  CriticalPathOptions tc;
  tc.bridge_gaps = false;
  CriticalPath stopped = critical_path_of(g, a, tc);
  EXPECT_EQ(stopped.end_ts, 5u);
  ASSERT_EQ(stopped.segments.size(), 1u);
  expect_tiling(stopped);
}

// A0: 0 -R- 2 -P- 4 -R- 6 with end = the vertex at 4: Trace Compass stops before the first edge
// that reaches the end's timestamp, so the path is [0,2) running and ends at 2. Without end it
// goes to 6; from the vertex at 2, it is [2,4) preempted, [4,6) running.
TEST(CriticalPath, EndVertexStopsBeforeTheEdgeReachingIt) {
  ExecGraph g;
  WorkerId a = actor(g, 0);
  std::vector<VertexId> v = chain(g, a, 0, {{2, R}, {4, EdgeState::preempted}, {6, R}});
  CriticalPath p = critical_path(g, v[0], v[2]);
  EXPECT_EQ(p.end_ts, 2u);
  ASSERT_EQ(p.segments.size(), 1u);
  expect_segment(p.segments[0], 0, 2, 0, R);
  CriticalPath whole = critical_path(g, v[0]);
  EXPECT_EQ(whole.end_ts, 6u);
  EXPECT_EQ(whole.segments.size(), 3u);
  CriticalPath middle = critical_path(g, v[1]);
  EXPECT_EQ(middle.start_ts, 2u);
  ASSERT_EQ(middle.segments.size(), 2u);
  expect_segment(middle.segments[0], 2, 2, 0, EdgeState::preempted);
}

// A guest thread G: 0 -R- 2 -vcpu_preempted- 6 -R- 8; the host thread H that held the CPU runs
// 1 -R- 6 and hands the CPU back at 6 (link H@6 -> G@6). By default the cross-layer states pass
// through: G [0,2) running, [2,6) vcpu_preempted, [6,8) running, no hand-off. With
// vcpu_preempted among the resolved states, it is resolved like BLOCKED: hand-off G@2 -> H@2
// (DEFAULT), H [2,6) running (its edge from 1 cut at the wait's start), H@6 -> G@6, G [6,8).
TEST(CriticalPath, ResolvedStatesChooseWhatIsFollowed) {
  ExecGraph g;
  WorkerId guest = g.worker(WorkerKey{1, 100, -1}), host = g.worker(WorkerKey{0, 7, -1});
  std::vector<VertexId> gv = chain(g, guest, 0, {{2, R}, {6, EdgeState::vcpu_preempted}, {8, R}});
  ASSERT_TRUE(g.link(chain(g, host, 1, {{6, R}}).back(), gv[2]));
  CriticalPath plain = critical_path_of(g, guest);
  ASSERT_EQ(plain.segments.size(), 3u);
  expect_segment(plain.segments[1], 2, 4, 100, EdgeState::vcpu_preempted);
  EXPECT_TRUE(plain.links.empty());
  CriticalPathOptions opt;
  opt.resolved_states |= 1u << static_cast<unsigned>(EdgeState::vcpu_preempted);
  CriticalPath p = critical_path_of(g, guest, opt);
  EXPECT_TRUE(p.diagnostics.empty()) << lines(p.diagnostics);
  ASSERT_EQ(p.segments.size(), 3u);
  expect_segment(p.segments[1], 2, 4, 7, R);
  ASSERT_EQ(p.links.size(), 2u);
  EXPECT_TRUE(p.links[0].ts == 2 && p.links[0].to == (WorkerKey{0, 7, -1}));
  EXPECT_TRUE(p.links[1].ts == 6 && p.links[1].to == (WorkerKey{1, 100, -1}));
  expect_tiling(p);
}

// A horizontal DEFAULT edge (Trace Compass throws) and an EPS edge with a duration are unknown
// on the path, each with a diagnostic; a start that is not a vertex gives an empty path.
TEST(CriticalPath, InvalidStructureIsUnknownNotACrash) {
  ExecGraph g;
  WorkerId a = actor(g, 0);
  chain(g, a, 0, {{3, EdgeState::deflt}, {4, EdgeState::eps}, {6, R}});
  CriticalPath p = critical_path_of(g, a);
  EXPECT_EQ(p.diagnostics.size(), 2u);
  ASSERT_EQ(p.segments.size(), 3u);
  expect_segment(p.segments[0], 0, 3, 0, EdgeState::unknown);
  expect_segment(p.segments[1], 3, 1, 0, EdgeState::unknown);
  expect_segment(p.segments[2], 4, 2, 0, R);
  expect_tiling(p);
  CriticalPath none = critical_path(g, 1000);
  EXPECT_TRUE(none.segments.empty());
  EXPECT_EQ(none.diagnostics.size(), 1u);
  EXPECT_EQ(critical_path_of(g, 7).diagnostics.size(), 1u);
}

}  // namespace
}  // namespace vm::graph
