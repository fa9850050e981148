// SPDX-License-Identifier: MIT
// The OS execution graph (common/analysis/graph/os_graph_builder.h) of the Trace Compass graph
// stubs against Trace Compass's expected graphs (critical-path-oracles.json, transcribed by
// os_graph_oracles.py into os_graph_oracles.h).
//
// How the events reach the builder: the stubs' CTF conversions (traces/tc-stubs/graph/, made by
// scripts/convert-tc-stubs.sh with scripts/xml2ctf.py) are read by a real babeltrace2 graph,
// source.ctf.fs per trace -> filter.utils.muxer -> a simple sink in this file, and each event is
// decoded by the plugin's own reader (plugins/vm/event_reader.cpp, compiled into this test) into
// the core's Event, exactly as sink.vm.sqlite decodes it. One machine per trace, as Trace Compass's
// experiment has one host per trace. Two test-only events of the stubs have no kernel name
// (stub_event_layout in the oracle file): packet_sent / packet_received are network send /
// receive matched by their `msgid` (Trace Compass's StubEventMatching); the sink gives them to
// OsGraphBuilder::on_packet() with that key, as the plugin would give a TCP key.
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
#include <unordered_map>

#include "analysis/graph/exec_graph.h"
#include "analysis/graph/os_graph_builder.h"
#include "ctf_read.h"
#include "event_reader.h"
#include "fuse_fixture.h"
#include "os_graph_oracles.h"

namespace vm::test {
namespace {

using graph::EdgeState;
using graph::ExecGraph;
using graph::OsGraphBuilder;

struct StubReader {
  std::vector<std::string> stems;  // machine id = index
  ExecGraph graph;
  OsGraphBuilder builder{graph};
  struct Stream {
    int64_t machine;
    bt::StreamFields fields;
  };
  std::unordered_map<const bt_stream*, Stream> streams;
  std::unordered_map<const bt_event_class*, bt::EventFields> classes;
  std::string problem;  // an unexpected input
  Event decoded;

  Stream& stream_of(const bt_stream* stream) {
    auto it = streams.find(stream);
    if (it != streams.end()) return it->second;
    const bt_trace* trace = bt_stream_borrow_trace_const(stream);
    const bt_value* host = bt_trace_borrow_environment_entry_value_by_name_const(trace, "hostname");
    const std::string stem = host ? bt_value_string_get(host) : "";
    const auto pos = std::find(stems.begin(), stems.end(), stem);
    if (pos == stems.end()) problem += "a trace of unknown host `" + stem + "`\n";
    const int64_t machine = pos - stems.begin();
    // The wake-up event choice from the trace's event classes (all declared in its metadata).
    std::vector<std::string> names;
    const bt_trace_class* trace_class = bt_trace_borrow_class_const(trace);
    for (uint64_t s = 0; s < bt_trace_class_get_stream_class_count(trace_class); ++s) {
      const bt_stream_class* sc = bt_trace_class_borrow_stream_class_by_index_const(trace_class, s);
      for (uint64_t e = 0; e < bt_stream_class_get_event_class_count(sc); ++e)
        names.emplace_back(bt_event_class_get_name(bt_stream_class_borrow_event_class_by_index_const(sc, e)));
    }
    builder.set_wakeup_events(machine, graph::wakeup_events_of(names));
    return streams.emplace(stream, Stream{machine, bt::locate_stream_fields(bt_stream_borrow_class_const(stream))})
        .first->second;
  }

  void on_message(const bt_message* message) {
    if (bt_message_get_type(message) != BT_MESSAGE_TYPE_EVENT) return;
    const bt_event* event = bt_message_event_borrow_event_const(message);
    Stream& stream = stream_of(bt_event_borrow_stream_const(event));
    const bt_event_class* event_class = bt_event_borrow_class_const(event);
    auto cls = classes.find(event_class);
    if (cls == classes.end()) cls = classes.emplace(event_class, bt::locate_event_fields(event_class)).first;
    const int64_t cpu = bt::packet_cpu(bt_event_borrow_packet_const(event), stream.fields);
    const EventContext ctx = bt::read_context(event, bt::event_ns(message), cpu, stream.fields);
    const std::string& name = cls->second.name;
    if (name == "packet_sent" || name == "packet_received") {
      const bt_field* msgid = bt::member_by_name(bt_event_borrow_payload_field_const(event), "msgid");
      if (!msgid) problem += name + " without msgid\n";
      builder.on_packet(stream.machine, ctx.ts, cpu, name == "packet_sent",
                        graph::PacketKey{bt::field_int(msgid), 0, 0});
      return;
    }
    if (cls->second.kind == EventKind::other) return;
    bt::decode_event(cls->second, ctx, event, decoded);
    builder.on_event(stream.machine, decoded);
  }
};

// Reads the stubs `stems` (traces/tc-stubs/graph/<stem>) into `reader`'s graph.
GraphResult read_stubs(StubReader& reader, const std::vector<const char*>& stems) {
  std::vector<std::string> dirs;
  for (const char* stem : stems) {
    reader.stems.emplace_back(stem);
    dirs.push_back(source_dir(std::string("traces/tc-stubs/graph/") + stem));
  }
  const MessageCheck check = [&reader](const bt_message* message) { reader.on_message(message); };
  return read_ctf(dirs, check);
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
  StubReader reader;
  const GraphResult result = read_stubs(reader, oracle.traces);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(reader.problem, "");
  const Flat actual = flatten(reader.graph, reader.stems), expected = expected_of(oracle);
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
