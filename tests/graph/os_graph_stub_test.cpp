// SPDX-License-Identifier: MIT
// The OS execution graph (common/analysis/graph/os_graph_builder.h) of the Trace Compass graph
// stubs against Trace Compass's expected graphs (critical-path-oracles.json, transcribed by
// os_graph_oracles.py into os_graph_oracles.h).
//
// How the events reach the builder: the stubs' CTF conversions (traces/tc-stubs/graph/, made by
// scripts/convert-tc-stubs.sh with scripts/xml2ctf.py) are read by a real babeltrace2 graph,
// source.ctf.fs per trace -> filter.utils.muxer -> OsGraphReader (os_graph_reader.h: the plugin's
// own event reader, the stubs' msgid packets). One machine per trace, as Trace Compass's
// experiment has one host per trace.
//
// The comparison is Trace Compass's GraphOps.checkEquality, made stricter: the same workers
// (host, tid), the same vertex timestamps per worker (also their count), the same horizontal edges
// (worker, from, to, state, qualifier) and the same vertical edges.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "analysis/graph/exec_graph.h"
#include "analysis/graph/os_graph_builder.h"
#include "os_graph_reader.h"
#include "os_graph_oracles.h"

namespace vm::test {
namespace {

using graph::EdgeState;
using graph::ExecGraph;

// Reads the stubs `stems` (traces/tc-stubs/graph/<stem>) into `reader`'s graph, machine i = stems[i].
GraphResult read_stubs(OsGraphReader& reader, const std::vector<const char*>& stems) {
  std::vector<std::string> dirs;
  for (const char* stem : stems) {
    reader.hosts.emplace_back(stem);
    dirs.push_back(source_dir(std::string("traces/tc-stubs/graph/") + stem));
  }
  reader.fixed_hosts = true;
  return read_traces(reader, dirs);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

using WorkerName = std::pair<std::string, int64_t>;  // host stem, tid
using HEdge = std::tuple<std::string, int64_t, uint64_t, uint64_t, std::string, std::string>;
using VEdge = std::tuple<std::string, int64_t, uint64_t, std::string, int64_t, uint64_t, std::string, std::string>;

// The graph in the oracle's terms.
struct Flat {
  std::map<WorkerName, std::vector<uint64_t>> workers;
  std::set<HEdge> horizontal;
  std::set<VEdge> vertical;
};

Flat flatten(const ExecGraph& g, const std::vector<std::string>& stems) {
  Flat flat;
  auto name_of = [&](graph::WorkerId w) {
    const graph::Worker& worker = g.workers()[w];
    return WorkerName{stems.at(static_cast<size_t>(worker.key.machine_id)), worker.key.tid};
  };
  // A worker's vertices are added in time order: their index order is the chain's.
  for (const graph::Vertex& v : g.vertices()) flat.workers[name_of(v.worker)].push_back(v.ts);
  for (const graph::Edge& e : g.edges()) {
    const WorkerName from = name_of(g.vertex(e.from).worker), to = name_of(g.vertex(e.to).worker);
    const std::string state = upper(graph::edge_state_name(e.state)), q(g.qualifier(e.qualifier));
    const bool horizontal = g.vertex(e.from).out_h != graph::Vertex::kNoEdge &&
                            &g.edges()[g.vertex(e.from).out_h] == &e;
    if (horizontal)
      flat.horizontal.emplace(from.first, from.second, g.vertex(e.from).ts, g.vertex(e.to).ts, state, q);
    else
      flat.vertical.emplace(from.first, from.second, g.vertex(e.from).ts, to.first, to.second, g.vertex(e.to).ts,
                            state, q);
  }
  return flat;
}

Flat expected_of(const OracleGraph& oracle) {
  Flat flat;
  for (const OracleWorker& w : oracle.workers) flat.workers[{w.host, w.tid}] = w.vertices;
  for (const OracleHEdge& e : oracle.horizontal)
    flat.horizontal.emplace(e.host, e.tid, e.from, e.to, e.type, e.qualifier ? e.qualifier : "");
  for (const OracleVEdge& e : oracle.vertical)
    flat.vertical.emplace(e.from_host, e.from_tid, e.from, e.to_host, e.to_tid, e.to, e.type,
                          e.qualifier ? e.qualifier : "");
  return flat;
}

std::string text(const Flat& f) {
  std::string out;
  for (const auto& [w, vs] : f.workers) {
    out += "worker " + w.first + "/" + std::to_string(w.second) + ":";
    for (uint64_t v : vs) out += " " + std::to_string(v);
    out += "\n";
  }
  for (const auto& [h, t, a, b, s, q] : f.horizontal)
    out += "h " + h + "/" + std::to_string(t) + " " + std::to_string(a) + "->" + std::to_string(b) + " " + s + " " +
           q + "\n";
  for (const auto& [h, t, a, h2, t2, b, s, q] : f.vertical)
    out += "v " + h + "/" + std::to_string(t) + "@" + std::to_string(a) + " -> " + h2 + "/" + std::to_string(t2) +
           "@" + std::to_string(b) + " " + s + " " + q + "\n";
  return out;
}

class OsGraphStub : public ::testing::TestWithParam<size_t> {};

TEST_P(OsGraphStub, MatchesTraceCompassExpectedGraph) {
  const OracleGraph& oracle = os_graph_oracles().at(GetParam());
  OsGraphReader reader;
  const GraphResult result = read_stubs(reader, oracle.traces);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(reader.problem, "");
  const Flat actual = flatten(reader.graph, reader.hosts), expected = expected_of(oracle);
  EXPECT_EQ(text(actual), text(expected)) << oracle.id;
  EXPECT_EQ(reader.builder.stats().out_of_order, 0u);
  EXPECT_EQ(reader.builder.stats().link_conflicts, 0u);
}

// The oracle file was found and gives the five graph-stub cases (sched_only, the two distributed
// exchanges and their one-trace halves).
TEST(OsGraphStubOracles, Present) {
  EXPECT_EQ(os_graph_oracles().size(), 5u);
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OsGraphStub);
INSTANTIATE_TEST_SUITE_P(Oracles, OsGraphStub, ::testing::Range<size_t>(0, os_graph_oracles().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string name = os_graph_oracles().at(info.param).id;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace vm::test
