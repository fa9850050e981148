// SPDX-License-Identifier: MIT
// The host-only vCPU layer of the execution graph (common/analysis/graph/host_only_graph.h) and
// the OS builder's preemption links, on hand-built host events. Every expectation is derived in
// the comment above its test from the rules stated in host_only_graph.h, os_graph_builder.h and
// algorithms.md §7.2-7.3 (the bounded critical path).
//
// The host in every test (as in wake_test.cpp): QEMU process 1000 runs vCPU 0 as thread 1001 and
// vCPU 1 as thread 1002 (kvm_x86_exit.vcpu_id says which); thread 1000 is QEMU's main loop
// ("qemu-system-x86": a device raiser), 2000 a vhost worker of that VM ("vhost-1000": net), 3000
// another host task ("bash"). AMD SVM exits (isa 2): HLT is 0x78 = 120. The events go through a
// vm::Run (its scheduler state, vCPU and wake analyses) and then to an OsGraphAnalysis, on_event
// then after_event, as a registered analysis after them would get them.

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "analysis/graph/critical_path.h"
#include "analysis/graph/os_graph_analysis.h"
#include "analysis/run.h"
#include "db_check.h"
#include "host_events.h"

namespace vm {
namespace {

using graph::EdgeState;
using graph::HostOnlyGraph;
using graph::VertexId;

constexpr int64_t kNpf = 0x400;  // a nested page fault (SVM)

Event test_switch(Timestamp ts, int64_t cpu, int64_t prev, int64_t prev_state, int64_t next) {
  Event e;
  e.kind = EventKind::sched_switch;
  e.ctx.ts = ts;
  e.ctx.cpu = cpu;
  e.payload = SchedSwitch{prev, prev_state, next, {}, {}};
  return e;
}

struct Host : HostKvmEvents<Host> {
  explicit Host(const char* name) : db(temp_db_path(name)), run(db), analysis(run) {
    auto owned = std::make_unique<TracedMachine>();
    owned->id = run.registry().add("host", MachineRole::unknown, kUnknown, 0);
    owned->trace_name = "host";
    machine = &run.add_machine(std::move(owned));
    analysis.on_machine(*machine);
  }
  ~Host() {
    run.abandon();
    std::remove(db.c_str());
  }
  void event(Timestamp ts, int64_t cpu, int64_t tid, EventKind kind, EventPayload payload) {
    Event e = host_event(ts, cpu, tid, kind, payload);
    run.on_context(*machine, e.ctx);
    run.on_event(*machine, e);
    analysis.on_event(*machine, e);
    analysis.after_event(*machine, e);
    if (HostOnlyGraph* layer = analysis.host_only_layer(machine->id); layer && !observed) {
      layer->set_observer(
          [this](const HaltRecord& row, HostOnlyGraph::Resolution r, VertexId wake) {
            halts.push_back(Halt{row, r, wake == graph::kNoVertex ? -1 : int64_t(graph().vertex(wake).ts)});
          });
      observed = true;
    }
  }
  // prev_state 1 (blocked) or 0 (runnable: preempted).
  void sw(Timestamp ts, int64_t cpu, int64_t prev, int64_t prev_state, int64_t next) {
    event(ts, cpu, prev, EventKind::sched_switch, SchedSwitch{prev, prev_state, next, {}, {}});
  }
  void wake(Timestamp ts, int64_t cpu, int64_t waker, int64_t wakee) {
    event(ts, cpu, waker, EventKind::sched_wakeup, SchedWakeup{wakee, cpu});
  }
  // vCPU 1 (1002, CPU 1) sends vector 251 (call-function-single, fixed delivery) to APIC 0 at
  // `ts`, its APIC accepting it at ts + 1.
  void ipi_to_vcpu0(Timestamp ts) {
    event(ts, 1, 1002, EventKind::kvm_apic_ipi, KvmApicIpi{251, 0});
    accept(ts + 1, 1, 1002, 0, 251);
  }

  const graph::ExecGraph& graph() const { return analysis.graph(); }
  graph::WorkerId worker(int64_t tid) const { return *graph().find_worker(graph::WorkerKey{machine->id, tid, -1}); }
  graph::CriticalPath path(int64_t tid, bool resolve_preempted = false) const {
    graph::CriticalPathOptions options;
    if (resolve_preempted) options.resolved_states |= 1u << static_cast<unsigned>(EdgeState::preempted);
    return graph::critical_path_of(graph(), worker(tid), options);
  }
  // The state of `tid`'s horizontal edge ending at `ts` (no_edge when none).
  EdgeState state_into(int64_t tid, uint64_t ts, std::string* qualifier = nullptr) const {
    for (VertexId v = graph().workers()[worker(tid)].head; v != graph::kNoVertex; v = graph().next_vertex(v))
      if (graph().vertex(v).ts == ts)
        if (const graph::Edge* e = graph().in_h(v)) {
          if (qualifier) *qualifier = std::string(graph().qualifier(e->qualifier));
          return e->state;
        }
    return EdgeState::no_edge;
  }

  struct Halt {
    HaltRecord row;
    HostOnlyGraph::Resolution resolution;
    int64_t wake_ts;
  };
  std::string db;
  Run run;
  graph::OsGraphAnalysis analysis;
  TracedMachine* machine = nullptr;
  std::vector<Halt> halts;
  bool observed = false;
};

// Segments as (tid, ts, dur, state) for comparison.
struct Seg {
  int64_t tid;
  uint64_t ts, dur;
  EdgeState state;
  bool operator==(const Seg& o) const { return tid == o.tid && ts == o.ts && dur == o.dur && state == o.state; }
};
std::vector<Seg> segments(const graph::CriticalPath& p) {
  std::vector<Seg> out;
  for (const graph::PathSegment& s : p.segments) out.push_back(Seg{s.worker.tid, s.ts, s.dur, s.state});
  return out;
}
void PrintTo(const Seg& s, std::ostream* os) {
  *os << "{" << s.tid << " " << s.ts << "+" << s.dur << " " << graph::edge_state_name(s.state) << "}";
}

// Preemption links, on the builder alone. Thread 1 runs on CPU 0 from 10; at 20 it is switched
// out runnable (prev_state 0) for thread 2; at 30 thread 2 is switched out runnable and thread 1
// back in; at 40 thread 1 blocks (for the idle task). Thread 2 is not resumed. Off by default:
// no vertical edge at all (Trace Compass's graph). With the predicate for thread 1: one link,
// state preempted, from thread 2's vertex at 30 (the prev of the resume) to thread 1's at 30;
// none for thread 2 (not asked for, and never resumed).
TEST(PreemptionLinks, OffByDefaultOnForTheThreadsAsked) {
  for (bool on : {false, true}) {
    graph::ExecGraph g;
    graph::OsGraphBuilder b(g);
    if (on) b.set_preemption_links([](int64_t, int64_t tid) { return tid == 1; });
    b.on_event(0, test_switch(10, 0, 0, 1, 1));
    b.on_event(0, test_switch(20, 0, 1, 0, 2));
    b.on_event(0, test_switch(30, 0, 2, 0, 1));
    b.on_event(0, test_switch(40, 0, 1, 1, 0));
    size_t vertical = 0;
    for (VertexId v = 0; v < g.vertices().size(); ++v)
      if (const graph::Edge* e = g.in_v(v)) {
        ++vertical;
        EXPECT_EQ(g.worker_of(e->from).key.tid, 2);
        EXPECT_EQ(g.worker_of(v).key.tid, 1);
        EXPECT_EQ(g.vertex(v).ts, 30u);
        EXPECT_EQ(g.vertex(e->from).ts, 30u);
        EXPECT_EQ(e->state, EdgeState::preempted);
      }
    EXPECT_EQ(vertical, on ? 1u : 0u);
    EXPECT_EQ(b.preemption_links(), on ? 1u : 0u);
  }
}

// A wait for a CPU after a wake-up: thread 1 blocks at 20 (prev_state 1), thread 2 wakes it at 25
// from task context (the OS graph's DEFAULT link 2@25 -> 1@25), and switches to it at 30
// (prev_state 0). Thread 1 waited for the CPU 2 held from 25 to 30: a preemption link 2@30 -> 1@30
// (the critical path follows 2 over that wait). Then a resume from the idle task: thread 1 is
// switched out runnable at 50 for tid 0, which switches back to it at 60: nobody held the CPU, no
// link.
TEST(PreemptionLinks, AfterAWakeUpButNotFromTheIdleTask) {
  graph::ExecGraph g;
  graph::OsGraphBuilder b(g);
  b.set_preemption_links([](int64_t, int64_t tid) { return tid == 1; });
  b.on_event(0, test_switch(10, 0, 0, 0, 1));
  b.on_event(0, test_switch(20, 0, 1, 1, 2));
  Event w;
  w.kind = EventKind::sched_wakeup;
  w.ctx.ts = 25;
  w.ctx.cpu = 0;
  w.payload = SchedWakeup{1, 0};
  b.on_event(0, w);
  b.on_event(0, test_switch(30, 0, 2, 0, 1));
  b.on_event(0, test_switch(50, 0, 1, 0, 0));
  b.on_event(0, test_switch(60, 0, 0, 0, 1));
  EXPECT_EQ(b.preemption_links(), 1u);
  std::vector<std::string> vertical;
  for (VertexId v = 0; v < g.vertices().size(); ++v)
    if (const graph::Edge* e = g.in_v(v))
      vertical.push_back(std::to_string(g.worker_of(e->from).key.tid) + "@" + std::to_string(g.vertex(e->from).ts) +
                         ">" + std::to_string(g.worker_of(v).key.tid) + "@" + std::to_string(g.vertex(v).ts) + " " +
                         std::string(graph::edge_state_name(e->state)));
  EXPECT_EQ(vertical, (std::vector<std::string>{"2@25>1@25 default", "2@30>1@30 preempted"}));
}

// A vCPU thread preempted, through the host-only run. 1001 is switched in on CPU 0 at 50 and
// enters the guest at 100 (a vCPU thread from then on); at 200 bash (3000) preempts it (1001
// switched out runnable); at 300 bash is switched out runnable and 1001 back in; at 400 1001
// blocks. The layer's predicate (a vCPU thread) switches the link on: 3000@300 -> 1001@300,
// preempted. The path of 1001 from 50 to 400 with `preempted` resolved: running [50, 200) on
// 1001; the wait [200, 300) resolved backwards from 3000@300 to the bound 200: bash ran
// [200, 300); then 1001 running [300, 400). Without resolving `preempted`: 1001 preempted
// [200, 300) stays on the path.
TEST(HostOnlyGraph, PreemptedVcpuHandsOffToThePreemptingThread) {
  Host host("host-only-preempt");
  host.sw(50, 0, 0, 0, 1001);
  host.entry(100, 0, 1001);
  host.sw(200, 0, 1001, 0, 3000);
  host.sw(300, 0, 3000, 0, 1001);
  host.sw(400, 0, 1001, 1, 0);
  EXPECT_EQ(host.analysis.builder().preemption_links(), 1u);
  EXPECT_EQ(segments(host.path(1001, true)),
            (std::vector<Seg>{{1001, 50, 150, EdgeState::running},
                              {3000, 200, 100, EdgeState::running},
                              {1001, 300, 100, EdgeState::running}}));
  EXPECT_EQ(segments(host.path(1001, false)),
            (std::vector<Seg>{{1001, 50, 150, EdgeState::running},
                              {1001, 200, 100, EdgeState::preempted},
                              {1001, 300, 100, EdgeState::running}}));
}

// The start every halt test shares: 1001 (vCPU 0) runs on CPU 0 from 50 and 1002 (vCPU 1) on
// CPU 1 from 50, both entering the guest at 100; 1001 halts at 200 (HLT exit); 1002 exits at 290
// (a nested page fault: it is in the hypervisor when it sends its IPI).
void start(Host& host) {
  host.sw(50, 0, 0, 0, 1001);
  host.sw(50, 1, 0, 0, 1002);
  host.entry(100, 0, 1001);
  host.entry(100, 1, 1002);
  host.exit(200, 0, 1001);
  host.exit(290, 1, 1002, kNpf);
}

// An IPI whose wake-up the OS graph already links from the sender. start(); 1001 sleeps at 210
// (switched out blocked for the idle task); 1002 sends 251 to APIC 0 at 300 (accepted at 301)
// and wakes 1001 at 302 from task context: the OS graph's DEFAULT link 1002@302 -> 1001@302 and
// `blocked` [210, 302). 1001 is switched in at 320, injects 251 at 330, enters at 340: the wake
// model's row is ipi from vCPU 1. The link comes from the cause's thread (1002): kept; the wait
// [210, 302) stays `blocked`, qualifier "halt:ipi"; the wake vertex is 302.
TEST(HostOnlyGraph, IpiWakeUpLinkFromTheSenderIsKept) {
  Host host("host-only-ipi-kept");
  start(host);
  host.sw(210, 0, 1001, 1, 0);
  host.ipi_to_vcpu0(300);
  host.wake(302, 1, 1002, 1001);
  host.sw(320, 0, 0, 0, 1001);
  host.inject(330, 0, 1001, 251);
  host.entry(340, 0, 1001);
  ASSERT_EQ(host.halts.size(), 1u);
  EXPECT_EQ(host.halts[0].row.reason, WakeReason::ipi);
  EXPECT_EQ(host.halts[0].resolution, HostOnlyGraph::Resolution::kept);
  EXPECT_EQ(host.halts[0].wake_ts, 302);
  std::string q;
  EXPECT_EQ(host.state_into(1001, 302, &q), EdgeState::blocked);
  EXPECT_EQ(q, "halt:ipi");
}

// An IPI whose wake-up comes from interrupt context. start(); 1001 sleeps at 210; 1002 sends 251
// to APIC 0 at 300 (accepted at 301); at 302 the idle task of CPU 2, inside an x86 vector
// handler (IPI context), wakes 1001: the OS graph labels [210, 302) `ipi` and links nothing.
// 1001 runs at 320, injects 251 at 330, enters at 340. The wake model says ipi from vCPU 1:
// linked from the sender's vertex at its kvm_x86_apic_ipi (1002@300) to 1001@302, link state
// `ipi`, the wait [210, 302) `blocked` "halt:ipi". The path of 1001 (default options): running
// [50, 200) and [200, 210) (the HLT exit splits it), the wait resolved backwards from 1002@300 to
// the bound 210: 1002 running [210, 300), the IPI in flight [300, 302) on 1001 (a hand-off that
// takes time is a segment of the worker handed to, in the link's state), then 1001 preempted
// [302, 320) (waiting for a CPU after its wake-up) and running [320, 340).
TEST(HostOnlyGraph, IpiFromInterruptContextIsLinkedFromTheSender) {
  Host host("host-only-ipi-linked");
  start(host);
  host.sw(210, 0, 1001, 1, 0);
  host.ipi_to_vcpu0(300);
  host.event(301, 2, 0, EventKind::irq_vector_entry, IrqVector{0xf2});
  host.wake(302, 2, 0, 1001);
  host.event(303, 2, 0, EventKind::irq_vector_exit, IrqVector{0xf2});
  host.sw(320, 0, 0, 0, 1001);
  host.inject(330, 0, 1001, 251);
  host.entry(340, 0, 1001);
  ASSERT_EQ(host.halts.size(), 1u);
  EXPECT_EQ(host.halts[0].resolution, HostOnlyGraph::Resolution::linked);
  EXPECT_EQ(host.halts[0].wake_ts, 302);
  std::string q;
  EXPECT_EQ(host.state_into(1001, 302, &q), EdgeState::blocked);
  EXPECT_EQ(q, "halt:ipi");
  const graph::CriticalPath p = host.path(1001);
  EXPECT_EQ(segments(p), (std::vector<Seg>{{1001, 50, 150, EdgeState::running},
                                           {1001, 200, 10, EdgeState::running},
                                           {1002, 210, 90, EdgeState::running},
                                           {1001, 300, 2, EdgeState::ipi},
                                           {1001, 302, 18, EdgeState::preempted},
                                           {1001, 320, 20, EdgeState::running}}));
}

// A device interrupt whose wake-up the OS graph links from another thread. start(); 1001 sleeps
// at 210; the vhost worker 2000 (CPU 3) signals an MSI at 300 (address 0xfee00000: APIC 0, data
// 40: vector 40) and its APIC accepts 40 for APIC 0 at 301; bash (3000, CPU 2) wakes 1001 at 302
// from task context: the OS link 3000@302 -> 1001@302. 1001 runs at 320, injects 40, enters at
// 340. The wake model: a device vector signalled by "vhost-1000": net. The OS link disagrees:
// replaced by 2000@300 -> 1001@302, state `network` (a network device's hand-off), the wait
// "halt:net"; bash's vertex at 302 has no outgoing link left.
TEST(HostOnlyGraph, DeviceWakeIsLinkedFromTheRaisingThread) {
  Host host("host-only-device");
  start(host);
  host.sw(210, 0, 1001, 1, 0);
  host.sw(250, 2, 0, 0, 3000);
  host.sw(250, 3, 0, 0, 2000);
  host.event(300, 3, 2000, EventKind::kvm_msi_set_irq, KvmMsiSetIrq{0xfee00000, 40});
  host.accept(301, 3, 2000, 0, 40);
  host.wake(302, 2, 3000, 1001);
  host.sw(320, 0, 0, 0, 1001);
  host.inject(330, 0, 1001, 40);
  host.entry(340, 0, 1001);
  ASSERT_EQ(host.halts.size(), 1u);
  EXPECT_EQ(host.halts[0].row.reason, WakeReason::net);
  EXPECT_EQ(host.halts[0].resolution, HostOnlyGraph::Resolution::linked);
  std::string q;
  EXPECT_EQ(host.state_into(1001, 302, &q), EdgeState::blocked);
  EXPECT_EQ(q, "halt:net");
  size_t links_from_bash = 0;
  for (const graph::PathLink& l : host.path(1001).links) {
    if (l.to.tid == 1001 && l.to_ts == 302) {
      EXPECT_EQ(l.from.tid, 2000);
      EXPECT_EQ(l.ts, 300u);
      EXPECT_EQ(l.state, EdgeState::network);
    }
    links_from_bash += l.from.tid == 3000;
  }
  EXPECT_EQ(links_from_bash, 0u);
}

// A timer wake that the OS graph links from a thread. start(); 1001 sleeps at 210; the idle task
// of CPU 0 wakes it at 400 with no interrupt context recorded (the trace lacks the timer's
// events): the OS graph links swapper@400 -> 1001@400, `blocked`. 1001 runs at 450, accepts and
// injects 236 (the local timer) at 460/470 and enters at 500: the wake model says timer. The
// wait [210, 400) becomes `timer` "halt:timer": the path (default options) does not follow the
// link: 1001 timer [210, 400), preempted [400, 450), running [450, 500).
TEST(HostOnlyGraph, TimerWakeIsATimerEdge) {
  Host host("host-only-timer");
  start(host);
  host.sw(210, 0, 1001, 1, 0);
  host.wake(400, 0, 0, 1001);
  host.sw(450, 0, 0, 0, 1001);
  host.accept(460, 0, 1001, 0, 236);
  host.inject(470, 0, 1001, 236);
  host.entry(500, 0, 1001);
  ASSERT_EQ(host.halts.size(), 1u);
  EXPECT_EQ(host.halts[0].row.reason, WakeReason::timer);
  EXPECT_EQ(host.halts[0].resolution, HostOnlyGraph::Resolution::timer);
  EXPECT_EQ(host.halts[0].wake_ts, 400);
  EXPECT_EQ(segments(host.path(1001)), (std::vector<Seg>{{1001, 50, 150, EdgeState::running},
                                                          {1001, 200, 10, EdgeState::running},
                                                          {1001, 210, 190, EdgeState::timer},
                                                          {1001, 400, 50, EdgeState::preempted},
                                                          {1001, 450, 50, EdgeState::running}}));
}

// A halt polled through (the thread never leaves its CPU: KVM's halt polling). start(); 1002
// sends 251 to APIC 0 at 300 (accepted at 301); 1001 injects it at 330 and enters at 340 without
// having slept. The wait ends at the entry: [200, 340) `blocked` "halt:ipi", linked from 1002@300
// to 1001@340, state ipi. The path: 1001 running [50, 200), then backwards from 1002@300 to the
// bound 200: 1002 running [200, 300), the IPI in flight [300, 340) on 1001.
TEST(HostOnlyGraph, PolledHaltWaitsUntilTheEntry) {
  Host host("host-only-polled");
  start(host);
  host.ipi_to_vcpu0(300);
  host.inject(330, 0, 1001, 251);
  host.entry(340, 0, 1001);
  ASSERT_EQ(host.halts.size(), 1u);
  EXPECT_EQ(host.halts[0].row.slept, false);
  EXPECT_EQ(host.halts[0].resolution, HostOnlyGraph::Resolution::linked);
  EXPECT_EQ(host.halts[0].wake_ts, 340);
  EXPECT_EQ(segments(host.path(1001)), (std::vector<Seg>{{1001, 50, 150, EdgeState::running},
                                                          {1002, 200, 100, EdgeState::running},
                                                          {1001, 300, 40, EdgeState::ipi}}));
}


// A kick the OS graph does not link. start(); 1001 sleeps at 210; at 300 vCPU 1's thread (1002,
// CPU 1), inside an hrtimer handler (timer_hrtimer_expire_entry at 299), wakes 1001: the OS graph
// labels [210, 300) `timer` (hrtimer context) and links nothing; the wake model counts only IRQ,
// vector and softirq handlers as interrupt context, so its waker_tid is 1002. 1001 runs at 320
// and enters at 340 with no vector injected: reason none, waker vCPU 1 (a kick). The wake model
// decides: linked from 1002's vertex at its wake-up (300) to 1001@300, state default; the wait
// [210, 300) `blocked` "halt:none". The path: 1001 running [50, 200) and [200, 210); the wait
// resolved backwards from 1002@300 to 210: 1002 running [210, 300); then 1001 preempted
// [300, 320) and running [320, 340).
TEST(HostOnlyGraph, KickIsLinkedFromTheWakingVcpu) {
  Host host("host-only-kick");
  start(host);
  host.sw(210, 0, 1001, 1, 0);
  host.event(299, 1, 1002, EventKind::hrtimer_entry, std::monostate{});
  host.wake(300, 1, 1002, 1001);
  host.event(301, 1, 1002, EventKind::hrtimer_exit, std::monostate{});
  host.sw(320, 0, 0, 0, 1001);
  host.entry(340, 0, 1001);
  ASSERT_EQ(host.halts.size(), 1u);
  EXPECT_EQ(host.halts[0].row.reason, WakeReason::none);
  EXPECT_EQ(host.halts[0].row.waker_tid, 1002);
  EXPECT_EQ(host.halts[0].resolution, HostOnlyGraph::Resolution::linked);
  EXPECT_EQ(host.halts[0].wake_ts, 300);
  std::string q;
  EXPECT_EQ(host.state_into(1001, 300, &q), EdgeState::blocked);
  EXPECT_EQ(q, "halt:none");
  EXPECT_EQ(segments(host.path(1001)), (std::vector<Seg>{{1001, 50, 150, EdgeState::running},
                                                          {1001, 200, 10, EdgeState::running},
                                                          {1002, 210, 90, EdgeState::running},
                                                          {1001, 300, 20, EdgeState::preempted},
                                                          {1001, 320, 20, EdgeState::running}}));
}

// ExecGraph's after-the-fact edits. Workers a (vertices 10, 20) and b (vertices 5, 15, 18):
// a@10 -> a@20 `running`. link b@15 -> a@20 (default). relabel_in_h(a@20) sets that edge's state
// and qualifier; a head vertex (a@10) has no incoming horizontal edge: false. relink(b@5, a@20,
// ipi) moves the existing edge (one edge still, now from b@5, b@15 left without outgoing link);
// relink b@18 -> a@10 is refused (it would go back in time); relink from a vertex that already links elsewhere (b@5 -> a@10 while b@5
// links a@20) is refused. Each refusal counts in refused_links() and changes nothing.
TEST(ExecGraphEdits, RelabelAndRelink) {
  graph::ExecGraph g;
  const graph::WorkerId a = g.worker({0, 1, -1}), b = g.worker({0, 2, -1});
  const VertexId a10 = g.append(a, 10, EdgeState::unknown), a20 = g.append(a, 20, EdgeState::running);
  const VertexId b5 = g.append(b, 5, EdgeState::unknown), b15 = g.append(b, 15, EdgeState::running),
                 b18 = g.append(b, 18, EdgeState::running);
  ASSERT_TRUE(g.link(b15, a20));
  EXPECT_TRUE(g.relabel_in_h(a20, EdgeState::blocked, "halt:ipi"));
  EXPECT_EQ(g.in_h(a20)->state, EdgeState::blocked);
  EXPECT_EQ(g.qualifier(g.in_h(a20)->qualifier), "halt:ipi");
  EXPECT_FALSE(g.relabel_in_h(a10, EdgeState::blocked));
  const size_t edges = g.edges().size();
  EXPECT_TRUE(g.relink(b5, a20, EdgeState::ipi));
  EXPECT_EQ(g.edges().size(), edges);
  EXPECT_EQ(g.in_v(a20)->from, b5);
  EXPECT_EQ(g.in_v(a20)->state, EdgeState::ipi);
  EXPECT_EQ(g.out_v(b15), nullptr);
  EXPECT_EQ(g.out_v(b5), g.in_v(a20));
  EXPECT_FALSE(g.relink(b18, a10, EdgeState::ipi));
  EXPECT_FALSE(g.relink(b5, a10, EdgeState::ipi));
  EXPECT_EQ(g.refused_links(), 2u);
  EXPECT_EQ(g.in_v(a10), nullptr);
}

// A waker's own unexplained `preempted` wait, with `preempted` resolved (the host-only path's
// option). A: running [0, 10), blocked [10, 50) ended by a link from B@50. B: running [0, 20),
// preempted [20, 40) (a wait for a CPU after a wake-up: no link at 40), running [40, 50). The
// path of A resolves [10, 50) backwards from B@50 to the bound 10: B running [40, 50), B's
// preempted [20, 40) (resolved, but nothing ends it: kept as it is, as Trace Compass keeps an
// unexplained NETWORK edge), B running [10, 20) (cut at the bound). Segments: A running [0, 10),
// B running [10, 20), B preempted [20, 40), B running [40, 50).
TEST(HostOnlyCriticalPath, UnexplainedPreemptedWaitOfAWakerStaysPreempted) {
  graph::ExecGraph g;
  const graph::WorkerId a = g.worker({0, 1, -1}), b = g.worker({0, 2, -1});
  g.append(a, 0, EdgeState::unknown);
  g.append(a, 10, EdgeState::running);
  const VertexId a50 = g.append(a, 50, EdgeState::blocked);
  g.append(b, 0, EdgeState::unknown);
  g.append(b, 20, EdgeState::running);
  g.append(b, 40, EdgeState::preempted);
  const VertexId b50 = g.append(b, 50, EdgeState::running);
  ASSERT_TRUE(g.link(b50, a50));
  graph::CriticalPathOptions options;
  options.resolved_states |= 1u << static_cast<unsigned>(EdgeState::preempted);
  EXPECT_EQ(segments(graph::critical_path_of(g, a, options)),
            (std::vector<Seg>{{1, 0, 10, EdgeState::running},
                              {2, 10, 10, EdgeState::running},
                              {2, 20, 20, EdgeState::preempted},
                              {2, 40, 10, EdgeState::running}}));
}

}  // namespace
}  // namespace vm
