// SPDX-License-Identifier: MIT
#pragma once
// The OS execution graph of real traces, in process: babeltrace2 event messages (from
// source.ctf.fs, or from filter.vm.fuse in a fused run) decoded by the plugin's own reader
// (plugins/vm/event_reader.cpp, compiled into the tests) into the core's Event, exactly as
// sink.vm.sqlite decodes them, and given to an OsGraphBuilder. One machine per trace, told apart by
// the trace's `hostname` environment entry.
//
// Two test-only events of the Trace Compass XML stubs have no kernel name (stub_event_layout in
// critical-path-oracles.json): packet_sent / packet_received are a network send / receive matched
// by their `msgid` (Trace Compass's StubEventMatching); they go to OsGraphBuilder::on_packet() with
// that key, as a TCP key would.

#include <babeltrace2/babeltrace.h>

#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/graph/exec_graph.h"
#include "analysis/graph/os_graph_builder.h"
#include "event_reader.h"
#include "graph_fixture.h"

namespace vm::test {

struct OsGraphReader {
  // Machine id = index in `hosts`. With `fixed_hosts`, a trace of another host is a problem;
  // otherwise a new host is appended.
  std::vector<std::string> hosts;
  bool fixed_hosts = false;
  graph::ExecGraph graph;
  graph::OsGraphBuilder builder{graph};
  std::string problem;  // an unexpected input, one line each
  // Called after the builder for every event of a known kind (tests that look at the events too).
  std::function<void(int64_t machine, const bt_event* event, const Event& decoded)> on_decoded;
  // Per machine, the trace's string environment entries (read when its first event arrives).
  std::vector<std::map<std::string, std::string>> environments;

  void on_message(const bt_message* message);

 private:
  struct Stream {
    int64_t machine;
    bt::StreamFields fields;
  };
  Stream& stream_of(const bt_stream* stream);
  std::unordered_map<const bt_stream*, Stream> streams_;
  std::unordered_map<const bt_event_class*, bt::EventFields> classes_;
  Event decoded_;
};

// source.ctf.fs per trace folder -> filter.utils.muxer -> `reader`, run to the end.
GraphResult read_traces(OsGraphReader& reader, const std::vector<std::string>& trace_dirs);

}  // namespace vm::test
