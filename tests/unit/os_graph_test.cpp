// SPDX-License-Identifier: MIT
// Hand-derived cases of the OS execution graph's rules (common/analysis/graph/os_graph_builder.h;
// algorithms.md §7.2, Trace Compass's TraceEventHandlerSched.java, EventContextHandler.java and
// TraceEventHandlerExecutionGraph.java). Each test states how its expectation follows from the
// rules. The Trace Compass stubs' expected graphs are checked in tests/graph/os_graph_stub_test.cpp.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "analysis/graph/exec_graph.h"
#include "analysis/graph/os_graph_analysis.h"
#include "analysis/graph/os_graph_builder.h"
#include "analysis/run.h"
#include "sched_events.h"

namespace vm::test {
namespace {

using graph::EdgeState;
using graph::ExecGraph;
using graph::OsGraphBuilder;
using graph::VertexId;
using graph::WorkerKey;

Event wakeup(Timestamp ts, int64_t cpu, int64_t tid, std::string_view name = "sched_wakeup") {
  return at(ts, cpu, EventKind::sched_wakeup, SchedWakeup{tid, cpu}, name);
}

// A graph and its builder, with accessors for the tests.
struct Model {
  ExecGraph graph;
  OsGraphBuilder builder{graph};

  void feed(const Event& event, int64_t machine = 0) { builder.on_event(machine, event); }

  const graph::Worker* worker(int64_t tid, int64_t machine = 0, int64_t cpu = -1) const {
    const graph::WorkerId* w = graph.find_worker(WorkerKey{machine, tid, cpu});
    return w ? &graph.workers()[*w] : nullptr;
  }
  std::vector<uint64_t> vertices(int64_t tid, int64_t machine = 0, int64_t cpu = -1) const {
    std::vector<uint64_t> out;
    const graph::Worker* w = worker(tid, machine, cpu);
    for (VertexId v = w ? w->head : graph::kNoVertex; v != graph::kNoVertex;) {
      out.push_back(graph.vertex(v).ts);
      const graph::Edge* e = graph.out_h(v);
      if (!e) break;  // the tests' chains have no gap unless they say so
      v = e->to;
    }
    return out;
  }
  // The vertex of `tid` at `ts` (kNoVertex when none).
  VertexId vertex(int64_t tid, uint64_t ts, int64_t machine = 0, int64_t cpu = -1) const {
    const graph::WorkerId* w = graph.find_worker(WorkerKey{machine, tid, cpu});
    if (!w) return graph::kNoVertex;
    for (VertexId v = 0; v < graph.vertices().size(); ++v)
      if (graph.vertex(v).worker == *w && graph.vertex(v).ts == ts) return v;
    return graph::kNoVertex;
  }
  // The state of the horizontal edge that ends at tid@ts.
  EdgeState state_into(int64_t tid, uint64_t ts) const {
    const VertexId v = vertex(tid, ts);
    const graph::Edge* e = v == graph::kNoVertex ? nullptr : graph.in_h(v);
    return e ? e->state : EdgeState::no_edge;
  }
  std::string qualifier_into(int64_t tid, uint64_t ts) const {
    const graph::Edge* e = graph.in_h(vertex(tid, ts));
    return e ? std::string(graph.qualifier(e->qualifier)) : "<no edge>";
  }
  // The vertical edge into tid@ts, as "<machine>/<tid>@<ts> <state>" ("none" when absent).
  std::string link_into(int64_t tid, uint64_t ts, int64_t machine = 0) const {
    const VertexId v = vertex(tid, ts, machine);
    const graph::Edge* e = v == graph::kNoVertex ? nullptr : graph.in_v(v);
    if (!e) return "none";
    const graph::Vertex& from = graph.vertex(e->from);
    const WorkerKey& key = graph.workers()[from.worker].key;
    return std::to_string(key.machine_id) + "/" + std::to_string(key.tid) + "@" + std::to_string(from.ts) + " " +
           std::string(graph::edge_state_name(e->state));
  }
  size_t vertical_count() const {
    size_t n = 0;
    for (const graph::Vertex& v : graph.vertices()) n += v.out_v != graph::Vertex::kNoEdge;
    return n;
  }
  // Thread 1 runs on CPU 0 from 5 until 10, where it blocks (prev_state 1 = TASK_INTERRUPTIBLE)
  // and 2 runs.
  void block_thread_1() {
    feed(sched_switch(5, 0, 3, 0, 1, "c", "blocker"));
    feed(sched_switch(10, 0, 1, 1, 2, "blocker", "waker"));
  }
};
struct OsGraph : ::testing::Test, Model {};

struct OsGraphBlocked : OsGraph {
  void SetUp() override { block_thread_1(); }
};

// Spurious wake-ups (TraceEventHandlerSched.handleSchedWakeup): a wake-up of a thread that already
// waits for a CPU, or of the CPU's current thread, changes no status. Trace Compass's graph step
// would still read the stale oldStatus (WAIT_BLOCKED) and add a vertex; here it changes nothing.
// Derivation: 1 blocks at 10; woken at 20 from task context (2 runs): 1 gets 10->20 BLOCKED and
// the link 2@20 -> 1@20 (DEFAULT). The wake-ups at 25 (1 waits for the CPU) and 30 (2, the
// current thread) are spurious: no vertex. At 40, 2 is preempted (prev_state 0) and 1 runs:
// 1 gets 20->40 PREEMPTED (WAIT_CPU), 2 gets 20->40 RUNNING.
TEST_F(OsGraphBlocked, SpuriousWakeupsAddNothing) {
  feed(wakeup(20, 0, 1));
  feed(wakeup(25, 0, 1));
  feed(wakeup(30, 0, 2));
  feed(sched_switch(40, 0, 2, 0, 1));
  EXPECT_EQ(vertices(1), (std::vector<uint64_t>{5, 10, 20, 40}));
  EXPECT_EQ(vertices(2), (std::vector<uint64_t>{10, 20, 40}));
  EXPECT_EQ(state_into(1, 20), EdgeState::blocked);
  EXPECT_EQ(state_into(1, 40), EdgeState::preempted);
  EXPECT_EQ(state_into(2, 40), EdgeState::running);
  EXPECT_EQ(link_into(1, 20), "0/2@20 default");
  EXPECT_EQ(vertical_count(), 1u);
  EXPECT_EQ(builder.status(0, 1), graph::ProcStatus::run);
}

// Fork (TraceEventHandlerSched.handleSchedProcessFork, then waitFork): 100 runs from 5, forks 101
// at 10 (101: WAIT_FORK, no vertex), wakes it at 12 (sched_wakeup_new): 100 is extended to 12
// (RUNNING), 101 gets its first vertex at 12 and the link 100@12 -> 101@12 (DEFAULT). At 20, 100
// blocks and 101 runs: 100 gets 12->20 RUNNING, 101 gets 12->20 PREEMPTED (it waited for the CPU).
TEST_F(OsGraph, ForkLinksParentToChild) {
  feed(sched_switch(5, 0, 1, 0, 100, "a", "parent"));
  feed(process_fork(10, 0, 100, 100, 101, 101, "child"));
  EXPECT_EQ(builder.status(0, 101), graph::ProcStatus::wait_fork);
  EXPECT_EQ(worker(101), nullptr);
  feed(wakeup(12, 0, 101, "sched_wakeup_new"));
  feed(sched_switch(20, 0, 100, 1, 101));
  EXPECT_EQ(vertices(100), (std::vector<uint64_t>{5, 12, 20}));
  EXPECT_EQ(vertices(101), (std::vector<uint64_t>{12, 20}));
  EXPECT_EQ(state_into(100, 12), EdgeState::running);
  EXPECT_EQ(state_into(100, 20), EdgeState::running);
  EXPECT_EQ(state_into(101, 12), EdgeState::no_edge);
  EXPECT_EQ(state_into(101, 20), EdgeState::preempted);
  EXPECT_EQ(link_into(101, 12), "0/100@12 default");
}

// Wake-ups from interrupt context (waitBlocked): the blocked interval 10->20 of thread 1 is
// labelled by the context on top of CPU 0's stack (pushed at 15), and nothing links the current
// thread (2) to it: 2 has no vertex at 20. The labels, from resolveIRQ / resolveSoftirq:
//   - HRTIMER -> TIMER;
//   - IRQ 0 (IRQ_TIMER) -> INTERRUPTED; any other IRQ -> BLOCKED, named by the IRQ handler (Trace
//     Compass means to name it but never does, algorithms.md §7.2's known bug: not copied);
//   - do_IRQ (COMPLETE_IRQ) carries no IRQ line: resolveIRQ(null) -> UNKNOWN;
//   - x86_irq_vectors_*_entry -> IPI;
//   - softirqs by vector: TIMER(1) and HRTIMER(8) -> TIMER, BLOCK(4) and BLOCK_IOPOLL(5) ->
//     BLOCK_DEVICE, SCHED(7) -> INTERRUPTED, TASKLET(6) -> BLOCKED (any other), NET_RX(3) ->
//     NETWORK (its entry also gives the CPU's kernel worker, tid -1, a vertex).
struct ContextCase {
  const char* what;
  EventKind kind;
  EventPayload payload;
  EdgeState state;
  std::string qualifier;
};

TEST(OsGraphContexts, WakeupFromEachInterruptContext) {
  const ContextCase cases[] = {
      {"hrtimer", EventKind::hrtimer_entry, std::monostate{}, EdgeState::timer, ""},
      {"timer irq", EventKind::irq_entry, Irq{0, "timer"}, EdgeState::interrupted, ""},
      {"device irq", EventKind::irq_entry, Irq{11, "eth0"}, EdgeState::blocked, "eth0"},
      {"do_IRQ", EventKind::irq_complete_entry, std::monostate{}, EdgeState::unknown, ""},
      {"ipi", EventKind::irq_vector_entry, IrqVector{0xfd}, EdgeState::ipi, ""},
      {"softirq timer", EventKind::softirq_entry, Softirq{1}, EdgeState::timer, ""},
      {"softirq hrtimer", EventKind::softirq_entry, Softirq{8}, EdgeState::timer, ""},
      {"softirq block", EventKind::softirq_entry, Softirq{4}, EdgeState::block_device, ""},
      {"softirq block_iopoll", EventKind::softirq_entry, Softirq{5}, EdgeState::block_device, ""},
      {"softirq sched", EventKind::softirq_entry, Softirq{7}, EdgeState::interrupted, ""},
      {"softirq tasklet", EventKind::softirq_entry, Softirq{6}, EdgeState::blocked, ""},
      {"softirq net_rx", EventKind::softirq_entry, Softirq{3}, EdgeState::network, ""},
  };
  for (const ContextCase& c : cases) {
    Model m;
    m.block_thread_1();
    m.feed(at(15, 0, c.kind, c.payload));
    m.feed(wakeup(20, 0, 1));
    EXPECT_EQ(m.vertices(1), (std::vector<uint64_t>{5, 10, 20})) << c.what;
    EXPECT_EQ(m.state_into(1, 20), c.state) << c.what;
    EXPECT_EQ(m.qualifier_into(1, 20), c.qualifier) << c.what;
    EXPECT_EQ(m.vertex(2, 20), graph::kNoVertex) << c.what;
    EXPECT_EQ(m.vertical_count(), 0u) << c.what;
    if (c.kind == EventKind::softirq_entry && c.state == EdgeState::network) {
      EXPECT_EQ(m.vertices(-1, 0, 0), (std::vector<uint64_t>{15}));
    }
  }
}

// The stack: pop only when the top has the exit's kind (EventContextHandler.popInterruptContext).
// A softirq runs, an irq_handler_exit without entry pops nothing, the wake-up is the softirq's
// (TIMER); after the softirq's exit the stack is empty and a wake-up is from task context.
TEST_F(OsGraphBlocked, PopOnlyTheSameKind) {
  feed(at(14, 0, EventKind::softirq_entry, Softirq{1}));
  feed(at(15, 0, EventKind::irq_exit, Irq{11, {}}));
  feed(wakeup(20, 0, 1));
  EXPECT_EQ(state_into(1, 20), EdgeState::timer);
  feed(at(21, 0, EventKind::softirq_exit, Softirq{1}));
  EXPECT_EQ(builder.context(0, 0), graph::IrqContext::none);
}

// From task context (NONE): stateChange(target) then the waker is extended and linked.
// 1 gets 10->20 BLOCKED, 2 gets 10->20 RUNNING, and 2@20 -> 1@20 DEFAULT.
TEST_F(OsGraphBlocked, FromTaskContextLinksTheWaker) {
  feed(at(15, 0, EventKind::irq_entry, Irq{11, "eth0"}));
  feed(at(16, 0, EventKind::irq_exit, Irq{11, {}}));
  feed(wakeup(20, 0, 1));
  EXPECT_EQ(state_into(1, 20), EdgeState::blocked);
  EXPECT_EQ(state_into(2, 20), EdgeState::running);
  EXPECT_EQ(link_into(1, 20), "0/2@20 default");
}

// The wake-up event choice (BaseHandler): with sched_waking in the trace, sched_wakeup is not a
// wake-up of the graph; sched_wakeup_new still is. 1 blocked at 10: the sched_wakeup at 20 adds
// nothing, the sched_waking at 25 wakes it.
TEST_F(OsGraphBlocked, WakingTraceIgnoresSchedWakeup) {
  EXPECT_EQ(graph::wakeup_events_of({"sched_switch", "sched_waking", "sched_wakeup", "sched_wakeup_new"}),
            graph::WakeupEvents::waking);
  EXPECT_EQ(graph::wakeup_events_of({"sched_ttwu", "sched_waking"}), graph::WakeupEvents::ttwu);
  EXPECT_EQ(graph::wakeup_events_of({"sched_wakeup", "sched_wakeup_new"}), graph::WakeupEvents::wakeup);
  builder.set_wakeup_events(0, graph::WakeupEvents::waking);
  feed(wakeup(20, 0, 1, "sched_wakeup"));
  EXPECT_EQ(vertex(1, 20), graph::kNoVertex);
  feed(wakeup(25, 0, 1, "sched_waking"));
  EXPECT_EQ(state_into(1, 25), EdgeState::blocked);
}

// Network, re-routed (softIrq + replaceIncomingNetworkEdge): machine 0's thread 10 sends packet K
// at 5 (10 runs since 1: a vertex at 5, RUNNING). On machine 1, 20 blocked at 2; a NET_RX softirq
// on CPU 0 at 6 (kernel/0: a vertex at 6), the packet received at 7 (kernel/0: 6->7 RUNNING; the
// match K: the link 10@5 -> kernel/0@7 waits), 20 woken at 8 in the softirq: 20 gets 2->8
// NETWORK, and the waiting link goes from the sender to the wake-up: 10@5 -> 20@8, NETWORK.
// kernel/0@7 gets no link.
TEST_F(OsGraph, NetworkLinkReroutedToTheWokenThread) {
  feed(sched_switch(1, 0, 9, 0, 10), 0);
  builder.on_packet(0, 5, 0, true, graph::PacketKey{1000, 2000, 0x18});
  feed(sched_switch(2, 0, 20, 1, 21), 1);  // 20 blocks at 2, 21 runs
  feed(at(6, 0, EventKind::softirq_entry, Softirq{3}), 1);
  builder.on_packet(1, 7, 0, false, graph::PacketKey{1000, 2000, 0x18});
  EXPECT_EQ(builder.stats().packets_matched, 1u);
  feed(wakeup(8, 0, 20), 1);
  EXPECT_EQ(vertices(10, 0), (std::vector<uint64_t>{1, 5}));
  EXPECT_EQ(vertices(-1, 1, 0), (std::vector<uint64_t>{6, 7}));
  const graph::WorkerId* w20 = graph.find_worker(WorkerKey{1, 20, -1});
  ASSERT_NE(w20, nullptr);
  const VertexId woken = graph.workers()[*w20].tail;
  EXPECT_EQ(graph.vertex(woken).ts, 8u);
  ASSERT_NE(graph.in_h(woken), nullptr);
  EXPECT_EQ(graph.in_h(woken)->state, EdgeState::network);
  EXPECT_EQ(graph.vertex(graph.in_h(woken)->from).ts, 2u);
  EXPECT_EQ(link_into(20, 8, 1), "0/10@5 network");
  EXPECT_EQ(graph.in_v(vertex(-1, 7, 1, 0)), nullptr);
  EXPECT_EQ(vertical_count(), 1u);
}

// Network, not re-routed (appendInGraph): 21 receives K in task context at 7 (21 runs since 1:
// 1->7 RUNNING) and wakes nobody; the matched link waits for 21's next vertex: at 9, 21 is
// switched out, and before its 7->9 edge the link 10@5 -> 21@7 (NETWORK) is added.
TEST_F(OsGraph, NetworkLinkToTheReceiverAtItsNextVertex) {
  feed(sched_switch(1, 0, 9, 0, 10), 0);
  builder.on_packet(0, 5, 0, true, graph::PacketKey{7, 8, 0x10});
  feed(sched_switch(1, 0, 20, 0, 21), 1);
  builder.on_packet(1, 7, 0, false, graph::PacketKey{7, 8, 0x10});
  EXPECT_EQ(vertical_count(), 0u);
  feed(sched_switch(9, 0, 21, 1, 20), 1);
  EXPECT_EQ(vertices(21, 1), (std::vector<uint64_t>{1, 7, 9}));
  EXPECT_EQ(link_into(21, 7, 1), "0/10@5 network");
}

// A packet received before it was sent (machines whose clocks disagree, or a corrupt trace; a
// fuzzer's finding): 21 on machine 1 receives K at 7 in task context, 10 on machine 0 sends K at
// 12. The keys match (packets_matched 1), but the link 10@12 -> 21@7 would go back in time and make
// the critical path walk backwards: it is refused and counted (backward_links), and 21's next
// vertex at 15 gets no incoming edge.
TEST_F(OsGraph, NetworkLinkBackInTimeIsRefused) {
  feed(sched_switch(1, 0, 20, 0, 21), 1);
  builder.on_packet(1, 7, 0, false, graph::PacketKey{7, 8, 0x10});
  feed(sched_switch(1, 0, 9, 0, 10), 0);
  builder.on_packet(0, 12, 0, true, graph::PacketKey{7, 8, 0x10});
  feed(sched_switch(15, 0, 21, 1, 20), 1);
  EXPECT_EQ(vertices(21, 1), (std::vector<uint64_t>{1, 7, 15}));
  EXPECT_EQ(builder.stats().packets_matched, 1u);
  EXPECT_EQ(builder.stats().backward_links, 1u);
  EXPECT_EQ(vertical_count(), 0u);
}

// Packets whose keys differ are not matched (TCP: seq, ack_seq and flags all count).
TEST_F(OsGraph, NetworkKeysMustBeEqual) {
  feed(sched_switch(1, 0, 9, 0, 10), 0);
  builder.on_packet(0, 5, 0, true, graph::PacketKey{7, 8, 0x10});
  feed(sched_switch(1, 0, 20, 0, 21), 1);
  builder.on_packet(1, 7, 0, false, graph::PacketKey{7, 8, 0x18});
  feed(sched_switch(9, 0, 21, 1, 20), 1);
  EXPECT_EQ(builder.stats().packets_matched, 0u);
  EXPECT_EQ(vertical_count(), 0u);
}

// A network event without a TCP key (e.g. an old lttng-modules netif_receive_skb with no
// headers) still extends its endpoint, as Trace Compass's handleInetSockLocalIn/Out do before
// they try to match: 10 runs since 1 and sends a keyless packet at 5 in task context: 10 gets a
// vertex at 5 (1->5 RUNNING); a keyless reception at 6 in a NET_RX softirq (entered at 6) extends
// kernel/0 (the softirq's vertex at 6 is its tail: nothing added). Nothing is matched.
TEST_F(OsGraph, KeylessNetworkEventsExtendTheirEndpoint) {
  feed(sched_switch(1, 0, 9, 0, 10));
  feed(at(5, 0, EventKind::net_send, NetPacket{0, 0, 0, false}));
  EXPECT_EQ(vertices(10), (std::vector<uint64_t>{1, 5}));
  EXPECT_EQ(state_into(10, 5), EdgeState::running);
  feed(at(6, 0, EventKind::softirq_entry, Softirq{3}));
  feed(at(6, 0, EventKind::net_receive, NetPacket{0, 0, 0, false}));
  feed(at(8, 0, EventKind::net_receive, NetPacket{0, 0, 0, false}));
  EXPECT_EQ(vertices(-1, 0, 0), (std::vector<uint64_t>{6, 8}));
  EXPECT_EQ(builder.stats().no_tcp_key, 3u);
  EXPECT_EQ(builder.stats().packets_matched, 0u);
  EXPECT_EQ(vertical_count(), 0u);
}

// Untrusted input: a wake-up without a CPU, a negative tid and a vertex back in time are counted,
// not added (the graph stays time-ordered per worker).
TEST_F(OsGraphBlocked, BadInputIsCountedNotAdded) {
  feed(wakeup(20, kUnknown, 1));
  feed(wakeup(20, 0, -5));
  feed(sched_switch(8, 0, 2, 0, 1));  // before 2's and 1's vertices at 10
  EXPECT_EQ(builder.stats().no_cpu, 1u);
  EXPECT_EQ(builder.stats().bad_tid, 1u);
  EXPECT_EQ(builder.stats().out_of_order, 2u);
  EXPECT_EQ(vertices(1), (std::vector<uint64_t>{5, 10}));
}

// ProcessStatus.getStatusFromStatedump (LinuxValues: 0 unnamed, 1 wait-fork, 2 wait-cpu, 3 exit,
// 4 zombie, 5 wait, 6 run, 7 dead) and resolveProcessStatus, as algorithms.md §7.2 lists them.
TEST(OsGraphStatus, StatedumpAndResolve) {
  using graph::ProcStatus;
  const ProcStatus expected[] = {ProcStatus::unknown, ProcStatus::wait_fork, ProcStatus::wait_cpu,
                                 ProcStatus::exit,    ProcStatus::zombie,    ProcStatus::wait_unknown,
                                 ProcStatus::run,     ProcStatus::not_alive};
  for (int64_t s = 0; s < 8; ++s) EXPECT_EQ(graph::status_from_statedump(s), expected[s]) << s;
  EXPECT_EQ(graph::status_from_statedump(99), ProcStatus::unknown);
  EXPECT_EQ(graph::resolve_status(ProcStatus::run), EdgeState::running);
  EXPECT_EQ(graph::resolve_status(ProcStatus::exit), EdgeState::running);
  EXPECT_EQ(graph::resolve_status(ProcStatus::wait_blocked), EdgeState::blocked);
  EXPECT_EQ(graph::resolve_status(ProcStatus::wait_cpu), EdgeState::preempted);
  EXPECT_EQ(graph::resolve_status(ProcStatus::wait_fork), EdgeState::preempted);
  EXPECT_EQ(graph::resolve_status(ProcStatus::wait_unknown), EdgeState::preempted);
  EXPECT_EQ(graph::resolve_status(ProcStatus::zombie), EdgeState::unknown);
  EXPECT_EQ(graph::resolve_status(ProcStatus::unknown), EdgeState::unknown);
}

// A statedump status is the thread's status before its first event: a thread dumped waiting
// (5 -> WAIT_UNKNOWN) and switched in at 10, then out at 20, gets 10->20 RUNNING. Derivation: the
// statedump sets its status; at 10 the switch makes 8 RUN (old WAIT_UNKNOWN): its first vertex,
// no edge; at 20 its old status is RUN.
TEST_F(OsGraph, StatedumpStatus) {
  feed(statedump_process(1, 7, 7, "dumped"));
  EXPECT_EQ(builder.status(0, 7), graph::ProcStatus::unknown);  // the helper's status: -1, not a value
  Event dump = statedump_process(1, 8, 8, "waiting");
  std::get<StatedumpProcess>(dump.payload).status = 5;
  feed(dump);
  EXPECT_EQ(builder.status(0, 8), graph::ProcStatus::wait_unknown);
  feed(sched_switch(10, 0, 9, 0, 8));
  feed(sched_switch(20, 0, 8, 0, 9));
  EXPECT_EQ(vertices(8), (std::vector<uint64_t>{10, 20}));
  EXPECT_EQ(state_into(8, 20), EdgeState::running);
}

// The layered builders' API. Thread 1 runs on CPU 0 from 10 (switch 0 -> 1). A layered builder
// closes its interval at 15 as vcpu_preempted (overriding "running"), then extends it at 18 in
// its status (running), and links thread 7 of machine 1 (unseen: created, status unknown, so its
// interval to 18 is unknown) to it. A second link into the same vertex is refused.
TEST_F(OsGraph, LayeredCloseExtendAndLink) {
  feed(sched_switch(10, 0, 0, 0, 1, "swapper/0", "t1"));
  EXPECT_EQ(builder.running_tid(0, 0), 1);
  EXPECT_EQ(builder.running_tid(0, 1), kUnknown);
  const VertexId a = builder.close_thread(0, 1, 0, 15, EdgeState::vcpu_preempted, "x");
  const VertexId b = builder.extend_thread(0, 1, 0, 18);
  ASSERT_NE(a, graph::kNoVertex);
  ASSERT_NE(b, graph::kNoVertex);
  EXPECT_EQ(vertices(1), (std::vector<uint64_t>{10, 15, 18}));
  EXPECT_EQ(state_into(1, 15), EdgeState::vcpu_preempted);
  EXPECT_EQ(state_into(1, 18), EdgeState::running);
  builder.extend_thread(1, 7, -1, 12);
  const VertexId c = builder.extend_thread(1, 7, -1, 18);
  const graph::Edge* into_c = graph.in_h(c);
  ASSERT_NE(into_c, nullptr);
  EXPECT_EQ(into_c->state, EdgeState::unknown);
  EXPECT_TRUE(builder.link_vertices(c, b, EdgeState::deflt));
  EXPECT_FALSE(builder.link_vertices(a, b, EdgeState::deflt));
  EXPECT_EQ(builder.stats().link_conflicts, 1u);
  EXPECT_EQ(builder.close_thread(0, 1, 0, 17, EdgeState::running), graph::kNoVertex);  // before 18
  EXPECT_EQ(builder.extend_thread(0, -4, 0, 20), graph::kNoVertex);
}

// The Analysis wrapper (not registered): a machine's events reach the builder under its id.
// sched_only's first switch (1 -> 2 at 10) gives each thread a vertex at 10 on machine 3.
TEST(OsGraphAnalysis, FeedsTheBuilderPerMachine) {
  vm::Run run(::testing::TempDir() + "os_graph_analysis.db");
  graph::OsGraphAnalysis analysis(run);
  TracedMachine machine;
  machine.id = 3;
  analysis.on_event(machine, sched_switch(10, 0, 1, 0, 2, "proc1", "proc2"));
  ASSERT_EQ(analysis.graph().workers().size(), 2u);
  for (const graph::Worker& w : analysis.graph().workers()) {
    EXPECT_EQ(w.key.machine_id, 3);
    EXPECT_EQ(analysis.graph().vertex(w.head).ts, 10u);
  }
}

}  // namespace
}  // namespace vm::test
