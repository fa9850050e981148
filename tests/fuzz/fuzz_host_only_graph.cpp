// SPDX-License-Identifier: MIT
// libFuzzer target: the host-only vCPU layer (HostOnlyGraph, common/analysis/graph/
// host_only_graph.h) over the OS execution graph of one host, driven as OsGraphAnalysis drives
// it: each decoded event reaches the host's SchedState and HostAnalysis (its vCPU tracker), the
// OS builder (with the preemption links on for the vCPU threads), then the layer; lost events.
// Checks: nothing throws or crashes whatever the events; every edge, after the after-the-fact
// edits, goes forward in time; every vCPU path's segments tile [start_ts, end_ts).

#include <algorithm>

#include "analysis/graph/critical_path.h"
#include "analysis/graph/host_only_graph.h"
#include "fuzz_host.h"
#include "fuzz_paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vm;
  using namespace vm::graph;
  fuzz::EventSource source(data, size);
  fuzz::Host host;
  ExecGraph graph;
  OsGraphBuilder builder(graph);
  HostOnlyGraph layer(graph, builder, host.id, host.analysis.vcpus(), host.sched);
  builder.set_preemption_links([&layer](int64_t, int64_t tid) { return layer.is_vcpu(tid); });
  Event event;
  while (source.more()) {
    if (source.in().ConsumeIntegralInRange<int>(0, 31) == 0) {
      const Timestamp begin = source.ts();
      const int64_t cpu = source.cpu();
      (void)source.next_ts();
      host.lose(begin, cpu);
      layer.on_lost_events(cpu);
      continue;
    }
    source.next_event(event);
    host.feed(event);
    builder.on_event(host.id, event);
    layer.on_event(event);
  }
  layer.finish(source.next_ts());
  fuzz::check_forward(graph);
  CriticalPathOptions options;
  options.max_steps_per_wait = 1 << 16;
  options.resolved_states |= 1u << static_cast<unsigned>(EdgeState::preempted);
  const size_t workers = std::min<size_t>(graph.workers().size(), 8);
  for (WorkerId w = 0; w < workers; ++w) {
    if (!layer.is_vcpu(graph.workers()[w].key.tid)) continue;
    fuzz::check_tiles(critical_path_of(graph, w, options));
  }
  return 0;
}
