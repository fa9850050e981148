// SPDX-License-Identifier: MIT
// libFuzzer target: the OS execution graph (OsGraphBuilder filling an ExecGraph, common/analysis/
// graph/) fed two machines' decoded events and packet keys, then the bounded critical path of
// its first workers. Checks: the builder never throws or crashes whatever the events, no edge goes
// back in time (a packet matched to a later send is refused), and every path's segments tile
// [start_ts, end_ts) (critical_path.h's contract).

#include <algorithm>

#include "analysis/graph/critical_path.h"
#include "analysis/graph/os_graph_builder.h"
#include "fuzz_events.h"
#include "fuzz_paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vm;
  using namespace vm::graph;
  fuzz::EventSource source(data, size);
  ExecGraph graph;
  OsGraphBuilder builder(graph);
  if (source.in().ConsumeBool())
    builder.set_wakeup_events(1, static_cast<WakeupEvents>(source.in().ConsumeIntegralInRange<int>(0, 3)));
  Event event;
  while (source.more()) {
    const int64_t machine = source.in().ConsumeBool() ? 1 : 2;
    if (source.in().ConsumeIntegralInRange<int>(0, 15) == 0) {
      const Timestamp ts = source.next_ts();  // the input read in this order, whatever the compiler's
      const int64_t cpu = source.cpu();        // order of arguments
      const bool send = source.in().ConsumeBool();
      PacketKey key;
      key.seq = source.integer();
      key.ack_seq = source.integer();
      key.flags = source.integer();
      builder.on_packet(machine, ts, cpu, send, key);
    } else {
      source.next_event(event);
      builder.on_event(machine, event);
    }
  }
  fuzz::check_forward(graph);
  CriticalPathOptions options;
  options.max_steps_per_wait = 1 << 16;
  const size_t workers = std::min<size_t>(graph.workers().size(), 8);
  for (WorkerId w = 0; w < workers; ++w) {
    fuzz::check_tiles(critical_path_of(graph, w, options));
  }
  return 0;
}
