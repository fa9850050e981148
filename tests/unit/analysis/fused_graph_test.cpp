// SPDX-License-Identifier: MIT
// The cross-layer edges of a fused run's execution graph (common/analysis/graph/fused_graph.h):
// synthetic host and guest events, in one clock, through the OS graph analysis with its fused
// layer enabled. Each expectation is derived by hand from the rules in fused_graph.h's header
// (vCPU states as the vCPU tracker decides them, common/kvm/vcpu_tracker.h), Trace Compass's OS
// graph rules (algorithms.md §7.2) and its bounded critical path (§7.3); the derivation is in
// each test's comment.
//
// Machines: the host is 1, the guest 2. Host threads: 100 and 101 are the vCPU threads of the
// guest's vCPUs 0 and 1, 200 another VM's vCPU thread (a hog), 300 the QEMU I/O thread. Guest
// threads: 7 (a reader), 8, and the swappers (tid 0, one per vCPU).

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/graph/critical_path.h"
#include "analysis/graph/fused_graph.h"
#include "analysis/graph/os_graph_analysis.h"
#include "analysis/run.h"
#include "kvm/exit_reasons.h"
#include "kvm/host_analysis.h"
#include "../sched_events.h"

namespace vm::test {
namespace {

using graph::EdgeState;
using graph::VertexId;
using graph::WorkerKey;

constexpr int64_t kHost = 1, kGuest = 2;
constexpr int64_t kVmx = 1;  // kvm_x86_exit.isa: KVM_ISA_VMX
constexpr int64_t kExtInt = 1, kHlt = 12, kIoInstruction = 30, kMsrWrite = 32;  // VMX basic exit reasons

struct Fused : ::testing::Test {
  vm::Run run{::testing::TempDir() + "fused_graph.db"};
  graph::OsGraphAnalysis analysis{run};
  TracedMachine host, guest;
  graph::FusedGraphBuilder* fused = nullptr;
  // Every sched_switch fed, for the independent check of the links' sources.
  struct Switch {
    int64_t machine;
    Timestamp ts;
    int64_t cpu, next;
  };
  std::vector<Switch> switches;
  // The host's vCPU tracker, when a test uses the production resolver (tracker_resolver()).
  struct NoRows : VcpuListener {
    void on_vcpu_interval(const VcpuInterval&) override {}
    void on_diagnostic(const std::string&) override {}
  } no_rows;
  MachineRegistry machines;
  SchedState sched;
  std::unique_ptr<HostAnalysis> tracker;

  void SetUp() override {
    host.id = kHost;
    guest.id = kGuest;
    fused = &analysis.enable_fused();
    fused->set_resolver(kHost, [](int64_t, int64_t tid, graph::VcpuRef& out) {
      if (tid != 100 && tid != 101) return false;
      out = graph::VcpuRef{kGuest, tid - 100};
      return true;
    });
  }
  void feed(TracedMachine& m, const Event& event) {
    if (event.kind == EventKind::sched_switch)
      switches.push_back({m.id, event.ctx.ts, event.ctx.cpu, event.as<SchedSwitch>().next_tid});
    analysis.on_event(m, event);
  }
  void h(const Event& e) {
    if (!tracker) return feed(host, e);
    // As a run delivers a host event: its scheduler state, then the vCPU tracker (registered
    // before the graph), then the graph.
    Event copy = e;
    sched.on_context(copy.ctx);
    tracker->on_event(copy.ctx);
    copy.tid = sched.thread_of(copy.ctx);
    sched.on_event(copy);
    tracker->on_decoded(copy);
    feed(host, copy);
  }
  void g(const Event& e) { feed(guest, e); }
  static Event entry(Timestamp ts, int64_t cpu) { return at(ts, cpu, EventKind::kvm_entry, KvmEntry{kUnknown}); }
  static Event exit(Timestamp ts, int64_t cpu, int64_t reason) {
    return at(ts, cpu, EventKind::kvm_exit, KvmExit{reason, kVmx, kUnknown});
  }
  static Event wakeup(Timestamp ts, int64_t cpu, int64_t tid) {
    return at(ts, cpu, EventKind::sched_wakeup, SchedWakeup{tid, cpu}, "sched_wakeup");
  }
  // `e` with lttng's pid and procname contexts (the process of the thread, and its name).
  static Event in_process(Event e, int64_t pid, std::string_view procname = {}) {
    e.ctx.pid = pid;
    e.ctx.procname = procname;
    return e;
  }

  // The thread current on host CPU `cpu` raises an MSI at `ts` (pid context `pid`, procname
  // `name`), accepted by APIC 0 with `vector` at ts + 1.
  void raise_msi(Timestamp ts, int64_t cpu, int64_t vector, int64_t pid = kUnknown, std::string_view name = {}) {
    h(in_process(at(ts, cpu, EventKind::kvm_msi_set_irq, KvmMsiSetIrq{0xfee00000, vector}), pid, name));
    h(in_process(at(ts + 1, cpu, EventKind::kvm_apic_accept_irq, KvmApicAcceptIrq{0, vector}), pid, name));
  }
  // vCPU 0 (host CPU 0, in guest mode) exits (EXTERNAL_INTERRUPT) at `ts`; KVM injects `vectors`
  // at ts + 1, ts + 2, ...; the vCPU enters right after.
  void inject(Timestamp ts, const std::vector<int64_t>& vectors) {
    h(exit(ts, 0, kExtInt));
    for (int64_t v : vectors) h(at(++ts, 0, EventKind::kvm_inj_virq, KvmInjVirq{v}));
    h(entry(ts + 1, 0));
  }
  // The guest's handler of IRQ `line` (`name`) on vCPU 0 from `ts` to ts + 4, waking `tid` at ts + 2.
  void guest_irq(Timestamp ts, int64_t line, std::string_view name, int64_t tid) {
    g(at(ts, 0, EventKind::irq_entry, Irq{line, name}));
    g(wakeup(ts + 2, 0, tid));
    g(at(ts + 4, 0, EventKind::irq_exit, Irq{line, {}}));
  }
  // vCPU 0 (host thread 100 on host CPU 0) runs from 10 and enters guest mode at 20; the guest
  // runs 7 on it from 25; the vCPU exits (IO_INSTRUCTION) at 40.
  void reader_until_exit() {
    h(sched_switch(10, 0, 0, 0, 100, "swapper/0", "CPU 0/KVM"));
    h(entry(20, 0));
    g(sched_switch(25, 0, 0, 0, 7, "swapper/0", "reader"));
    h(exit(40, 0, kIoInstruction));
  }
  // Both vCPUs (100 on host CPU 0, 101 on host CPU 1) in guest mode from 20; the guest runs 7 on
  // vCPU 0 and 8 on vCPU 1 from 20.
  void two_vcpus() {
    h(sched_switch(10, 0, 0, 0, 100, "swapper/0", "CPU 0/KVM"));
    h(sched_switch(10, 1, 0, 0, 101, "swapper/1", "CPU 1/KVM"));
    h(entry(20, 0));
    h(entry(20, 1));
    g(sched_switch(20, 0, 0, 0, 7, "swapper/0", "reader"));
    g(sched_switch(20, 1, 0, 0, 8, "swapper/1", "sender"));
  }
  // vCPU 1 exits (MSR_WRITE: the x2APIC ICR) at 150, sends an IPI at 152 that APIC 0 accepts
  // (vector 251, call-function-single) at 153.
  void ipi_from_vcpu1() {
    h(exit(150, 1, kMsrWrite));
    h(at(152, 1, EventKind::kvm_apic_ipi, KvmApicIpi{0x40fb, 0}));
    h(at(153, 1, EventKind::kvm_apic_accept_irq, KvmApicAcceptIrq{0, 251}));
  }

  const graph::ExecGraph& graph() const { return analysis.graph(); }
  static WorkerKey key(int64_t machine, int64_t tid, int64_t cpu = -1) {
    return WorkerKey{machine, tid, tid <= 0 ? cpu : -1};
  }
  VertexId vertex(const WorkerKey& k, uint64_t ts) const {
    const graph::WorkerId* w = graph().find_worker(k);
    for (VertexId v = w ? graph().workers()[*w].head : graph::kNoVertex; v != graph::kNoVertex;
         v = graph().next_vertex(v))
      if (graph().vertex(v).ts == ts) return v;
    return graph::kNoVertex;
  }
  // The worker's chain as "ts:state(qualifier)" after its head, e.g. "40:running 50:vmm(HLT)".
  std::string chain(const WorkerKey& k) const {
    const graph::WorkerId* w = graph().find_worker(k);
    std::string out;
    if (!w) return "<none>";
    for (VertexId v = graph().workers()[*w].head; v != graph::kNoVertex; v = graph().next_vertex(v)) {
      const graph::Edge* e = graph().in_h(v);
      if (!e) continue;
      if (!out.empty()) out += ' ';
      out += std::to_string(graph().vertex(v).ts) + ":" + std::string(graph::edge_state_name(e->state));
      if (e->qualifier) out += "(" + std::string(graph().qualifier(e->qualifier)) + ")";
    }
    return out;
  }
  // The vertical edge into k@ts as "<machine>/<tid>@<ts> <state>", or "none".
  std::string link_into(const WorkerKey& k, uint64_t ts) const {
    const VertexId v = vertex(k, ts);
    const graph::Edge* e = v == graph::kNoVertex ? nullptr : graph().in_v(v);
    if (!e) return "none";
    const WorkerKey& from = graph().worker_of(e->from).key;
    return std::to_string(from.machine_id) + "/" + std::to_string(from.tid) + "@" +
           std::to_string(graph().vertex(e->from).ts) + " " + std::string(graph::edge_state_name(e->state));
  }
  // The qualifier of the vertical edge into k@ts ("" when it has none, "none" without an edge).
  std::string link_qualifier(const WorkerKey& k, uint64_t ts) const {
    const VertexId v = vertex(k, ts);
    const graph::Edge* e = v == graph::kNoVertex ? nullptr : graph().in_v(v);
    return e ? std::string(graph().qualifier(e->qualifier)) : "none";
  }
  // The path as "ts+dur machine/tid state" segments and "ts machine/tid>machine/tid state" links.
  static std::vector<std::string> segments(const graph::CriticalPath& p) {
    std::vector<std::string> out;
    for (const graph::PathSegment& s : p.segments)
      out.push_back(std::to_string(s.ts) + "+" + std::to_string(s.dur) + " " + std::to_string(s.worker.machine_id) +
                    "/" + std::to_string(s.worker.tid) + " " + std::string(graph::edge_state_name(s.state)));
    return out;
  }
  static std::vector<std::string> links(const graph::CriticalPath& p) {
    std::vector<std::string> out;
    for (const graph::PathLink& l : p.links)
      out.push_back(std::to_string(l.ts) + " " + std::to_string(l.from.machine_id) + "/" + std::to_string(l.from.tid) +
                    ">" + std::to_string(l.to.machine_id) + "/" + std::to_string(l.to.tid) + " " +
                    std::string(graph::edge_state_name(l.state)));
    return out;
  }
  graph::CriticalPath path_of(const WorkerKey& k, const graph::CriticalPathOptions& options) const {
    return graph::critical_path_of(graph(), *graph().find_worker(k), options);
  }
  // Independent of the builders: was `tid` the current thread of one of `machine`'s CPUs at `ts`
  // (after the events at `ts`), by the sched_switch events fed?
  bool running_at(int64_t machine, int64_t tid, Timestamp ts) const {
    std::map<int64_t, int64_t> current;  // cpu -> tid
    for (const Switch& s : switches)
      if (s.machine == machine && s.ts <= ts) current[s.cpu] = s.next;
    for (const auto& [cpu, t] : current)
      if (t == tid) return true;
    return false;
  }
  // Every vertical edge between machines, or made by the fused layer inside the guest (ipi),
  // leaves a thread that was running at that time (its raise or send happened in it).
  void expect_links_from_running_threads(size_t expected_links) const {
    size_t checked = 0;
    for (const graph::Edge& e : graph().edges()) {
      if (e.from == e.to || graph().vertex(e.from).worker == graph().vertex(e.to).worker) continue;
      const WorkerKey& from = graph().worker_of(e.from).key;
      const WorkerKey& to = graph().worker_of(e.to).key;
      const bool is_vertical = graph().in_v(e.to) == &e;
      if (!is_vertical || (from.machine_id == to.machine_id && e.state != EdgeState::ipi)) continue;
      ++checked;
      const Timestamp ts = static_cast<Timestamp>(graph().vertex(e.from).ts);
      EXPECT_TRUE(running_at(from.machine_id, from.tid, ts))
          << from.machine_id << "/" << from.tid << " linked at " << ts << " was not running";
    }
    EXPECT_EQ(checked, expected_links);
  }
};

// Point 1 and 3 of fused_graph.h, on vCPU 0 (host thread 100 on host CPU 0):
//   host 10 switch 0->100 (unknown -> vmm), 20 entry (guest); guest 25 switch 0->7 on vCPU 0;
//   host 40 exit IO_INSTRUCTION (guest -> vmm): 7's interval [25,40) closed in its status: running;
//   host 50 switch 100->200 runnable (vmm -> preempted): [40,50) vmm(IO_INSTRUCTION);
//   host 80 switch 200->100 (preempted -> vmm): [50,80) vcpu_preempted, linked from 100@80;
//   host 90 entry (vmm -> guest): [80,90) vmm(IO_INSTRUCTION);
//   guest 100 switch 7->0 blocking: [90,100) running (the OS builder), the swapper 0 runs;
//   host 110 exit HLT: swapper [100,110) running; 120 switch 100->0 blocking (halted):
//   [110,120) vmm(HLT); 150 wake-up of 100 (halted -> preempted): [120,150) vcpu_halted;
//   160 switch 0->100 (-> vmm): [150,160) vcpu_preempted linked from 100@160; 170 entry: [160,170)
//   vmm(HLT).
struct FusedVcpu0 : Fused {
  void SetUp() override {
    Fused::SetUp();
    reader_until_exit();
    h(sched_switch(50, 0, 100, 0, 200, "CPU 0/KVM", "hog"));
    h(sched_switch(80, 0, 200, 0, 100, "hog", "CPU 0/KVM"));
    h(entry(90, 0));
    g(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
    h(exit(110, 0, kHlt));
    h(sched_switch(120, 0, 100, 1, 0, "CPU 0/KVM", "swapper/0"));
    h(wakeup(150, 0, 100));
    h(sched_switch(160, 0, 0, 0, 100, "swapper/0", "CPU 0/KVM"));
    h(entry(170, 0));
  }
};

// The production resolver: the host's vCPU tracker (HostAnalysis) knows 100 as vCPU 0 of QEMU
// process 99 (the guest, machine 2) from its first exit on (at 40; its index from the thread name
// "CPU 0/KVM"), which is where FusedVcpu0's first refinement begins: the same chain.
TEST_F(Fused, TrackerResolverGivesTheSameChain) {
  ASSERT_EQ(machines.add("host", MachineRole::host, kUnknown, 0), kHost);
  ASSERT_EQ(machines.add("guest", MachineRole::guest, kHost, 1), kGuest);
  tracker = std::make_unique<HostAnalysis>(machines, kHost, sched, no_rows);
  tracker->adopt_vm(99, kGuest);
  fused->set_resolver(kHost, graph::tracker_resolver(tracker->vcpus()));
  h(statedump_process(0, 100, 99, "CPU 0/KVM"));
  reader_until_exit();
  h(sched_switch(50, 0, 100, 0, 200, "CPU 0/KVM", "hog"));
  h(sched_switch(80, 0, 200, 0, 100, "hog", "CPU 0/KVM"));
  h(entry(90, 0));
  g(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
  EXPECT_EQ(chain(key(kGuest, 7)),
            "40:running 50:vmm(IO_INSTRUCTION) 80:vcpu_preempted 90:vmm(IO_INSTRUCTION) 100:running");
  EXPECT_EQ(link_into(key(kGuest, 7), 80), "1/100@80 vcpu_preempted");
}

TEST_F(FusedVcpu0, GuestRunningSplitByTheVcpuHostState) {
  EXPECT_EQ(chain(key(kGuest, 7)),
            "40:running 50:vmm(IO_INSTRUCTION) 80:vcpu_preempted 90:vmm(IO_INSTRUCTION) 100:running");
  // The swapper's chain begins at 25 (switched out: unknown before, as the OS builder has it).
  EXPECT_EQ(chain(key(kGuest, 0, 0)),
            "100:preempted 110:running 120:vmm(HLT) 150:vcpu_halted 160:vcpu_preempted 170:vmm(HLT)");
  EXPECT_EQ(link_into(key(kGuest, 7), 80), "1/100@80 vcpu_preempted");
  EXPECT_EQ(link_into(key(kGuest, 0, 0), 160), "1/100@160 vcpu_preempted");
  EXPECT_EQ(fused->stats().preempt_links, 2u);
  EXPECT_EQ(fused->stats().refined, 7u);  // 50, 80, 90 on 7; 120, 150, 160, 170 on the swapper
  EXPECT_EQ(fused->state(kGuest, 0), graph::VcpuHostState::guest);
  expect_links_from_running_threads(2);
}

// The path of 7 (head 25, tail 100) with fused_path_options(): [50,80) vcpu_preempted is
// resolved through the link from 100@80; the backward walk from 100@80 takes 100's own
// [50,80) `preempted` edge (not resolved) and stops at 100@50, the wait's start. Hence a hand-off
// 7->100 at 50 and back at 80. Trace Compass's options keep the guest's own label.
TEST_F(FusedVcpu0, PreemptedVcpuPathFollowsTheHostThread) {
  const graph::CriticalPath p = path_of(key(kGuest, 7), graph::fused_path_options());
  EXPECT_TRUE(p.diagnostics.empty()) << p.diagnostics.front();
  EXPECT_EQ(segments(p), (std::vector<std::string>{"25+15 2/7 running", "40+10 2/7 vmm", "50+30 1/100 preempted",
                                                   "80+10 2/7 vmm", "90+10 2/7 running"}));
  EXPECT_EQ(links(p), (std::vector<std::string>{"50 2/7>1/100 default", "80 1/100>2/7 vcpu_preempted"}));
  const graph::CriticalPath plain = path_of(key(kGuest, 7), graph::CriticalPathOptions{});
  EXPECT_EQ(segments(plain), (std::vector<std::string>{"25+15 2/7 running", "40+10 2/7 vmm", "50+30 2/7 vcpu_preempted",
                                                       "80+10 2/7 vmm", "90+10 2/7 running"}));
}

// A guest event while the vCPU is in the hypervisor (a sync residue): the guest switches 7 out at
// 45, inside the vmm interval begun at 40. 7's [40,45) is vmm (closed before the OS builder's
// vertex), and thread 8, current from 45, gets [45,50) vmm at the host's switch at 50.
TEST_F(Fused, GuestEventInsideVmmClosesInTheVcpuState) {
  reader_until_exit();
  g(sched_switch(45, 0, 7, 0, 8, "reader", "worker"));
  h(sched_switch(50, 0, 100, 0, 200, "CPU 0/KVM", "hog"));
  EXPECT_EQ(chain(key(kGuest, 7)), "40:running 45:vmm(IO_INSTRUCTION)");
  EXPECT_EQ(chain(key(kGuest, 8)), "50:vmm(IO_INSTRUCTION)");
}

// Lost events on the host make the vCPU's state unknown: nothing after is refined until the next
// KVM or scheduler event of its thread. 7 runs from 25; exit at 40 (closes running [25,40)); the
// loss at 45 closes [40,45) vmm; the switch-out at 50 makes the state known again (preempted):
// 7's [45,50) keeps the OS builder's label, running.
TEST_F(Fused, LostEventsStopTheRefinement) {
  reader_until_exit();
  analysis.on_lost_events(host, 45, 46, 0, 3);
  h(sched_switch(50, 0, 100, 0, 200, "CPU 0/KVM", "hog"));
  EXPECT_EQ(chain(key(kGuest, 7)), "40:running 45:vmm(IO_INSTRUCTION) 50:running");
  EXPECT_EQ(fused->state(kGuest, 0), graph::VcpuHostState::preempted);
}

// Point 4 of fused_graph.h: the guest's read waits on the host's I/O thread.
//   vCPU 0 (host thread 100) in guest mode from 20 on host CPU 0; guest 7 runs from 20 on vCPU 0
//   and blocks at 100 (the read); the swapper runs. The vCPU halts: exit HLT 120, switched out
//   blocking at 125.
//   Host CPU 1: the I/O thread 300 runs from 95 and blocks on the disk at 110; the disk's block
//   softirq wakes it at 200 (block_device on the host); it runs from 210, raises an MSI at 220
//   (300 gets a vertex there) delivered to APIC 0 (vector 34) at 221, and wakes vCPU thread 100
//   at 222 (halted -> preempted). 100 runs on CPU 0 from 230 (vmm), enters at 240.
//   Guest vCPU 0: IRQ 11 (virtio0) at 250 wakes 7 at 255 (its wait began at 100 <= 220): 7's
//   [100,255) is closed `blocked` (qualifier: the raiser's name) and linked from 300@220 with the
//   state `interrupted` (the delivery of an injected interrupt; qualifier: the guest handler's
//   name, virtio0). 7 runs at 270: [255,270) preempted.
struct FusedDevice : Fused {
  void SetUp() override {
    Fused::SetUp();
    h(sched_switch(10, 0, 0, 0, 100, "swapper/0", "CPU 0/KVM"));
    g(sched_switch(20, 0, 0, 0, 7, "swapper/0", "reader"));
    h(entry(20, 0));
    h(sched_switch(95, 1, 0, 0, 300, "swapper/1", "qemu-io"));
    g(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
    h(sched_switch(110, 1, 300, 2, 0, "qemu-io", "swapper/1"));
    h(exit(120, 0, kHlt));
    h(sched_switch(125, 0, 100, 1, 0, "CPU 0/KVM", "swapper/0"));
    h(at(199, 1, EventKind::softirq_entry, Softirq{4}));
    h(wakeup(200, 1, 300));
    h(at(201, 1, EventKind::softirq_exit, Softirq{4}));
    h(sched_switch(210, 1, 0, 0, 300, "swapper/1", "qemu-io"));
    h(at(220, 1, EventKind::kvm_msi_set_irq, KvmMsiSetIrq{0xfee00000, 34}));
    h(at(221, 1, EventKind::kvm_apic_accept_irq, KvmApicAcceptIrq{0, 34}));
    h(wakeup(222, 1, 100));
    h(sched_switch(230, 0, 0, 0, 100, "swapper/0", "CPU 0/KVM"));
    h(entry(240, 0));
    g(at(250, 0, EventKind::irq_entry, Irq{11, "virtio0"}));
    g(wakeup(255, 0, 7));
    g(at(260, 0, EventKind::irq_exit, Irq{11, {}}));
    g(sched_switch(270, 0, 0, 0, 7, "swapper/0", "reader"));
  }
};

TEST_F(FusedDevice, DeviceWakeupHandsOffToTheRaisingHostThread) {
  EXPECT_EQ(chain(key(kGuest, 7)), "100:running 255:blocked(qemu-io) 270:preempted");
  EXPECT_EQ(link_into(key(kGuest, 7), 255), "1/300@220 interrupted");
  EXPECT_EQ(fused->stats().device_links, 1u);
  // The vCPU's swapper: [100,120) running, [120,125) vmm(HLT), [125,222) halted, [222,230)
  // preempted (linked from 100@230), [230,240) vmm(HLT), [240,270) running (in guest mode until
  // the guest switches to 7).
  EXPECT_EQ(chain(key(kGuest, 0, 0)),
            "100:preempted 120:running 125:vmm(HLT) 222:vcpu_halted 230:vcpu_preempted 240:vmm(HLT) 270:running");
  expect_links_from_running_threads(2);  // 300@220 -> 7, 100@230 -> swapper
}

// The path of 7 (head 20, tail 270): [100,255) blocked is resolved through the link from
// 300@220; the walk back from 300@220 takes 300's running [210,220), preempted [200,210),
// block_device [110,200) (not resolved: kept) and running [95,110), and stops at 300@95, before
// the wait's start (100). The path hands off to 300 at 100 (its running then cut to [100,110))
// and back at 220 with the link's time [220,255) on 7 (the link's state, interrupted), then 7's own
// [255,270) preempted.
TEST_F(FusedDevice, PathContinuesIntoTheHostDiskWait) {
  const graph::CriticalPath p = path_of(key(kGuest, 7), graph::fused_path_options());
  EXPECT_EQ(segments(p), (std::vector<std::string>{"20+80 2/7 running", "100+10 1/300 running",
                                                   "110+90 1/300 block_device", "200+10 1/300 preempted",
                                                   "210+10 1/300 running", "220+35 2/7 interrupted",
                                                   "255+15 2/7 preempted"}));
  EXPECT_EQ(links(p), (std::vector<std::string>{"100 2/7>1/300 default", "220 1/300>2/7 interrupted"}));
}

// Point 4's link state and qualifier, in FusedDevice: the wake-up at 255 happens in the guest's
// IRQ handler of line 11, entered at 250 as "virtio0": the link 300@220 -> 7@255 is `interrupted`
// with the qualifier "virtio0" (not the raiser's name, which qualifies 7's blocked interval). The
// critical path copies the link with its state and qualifier, and its time [220,255) is a segment
// of 7 in that state and qualifier (the flat path: a link that takes time is a segment of the
// worker it hands to).
TEST_F(FusedDevice, DeviceLinkIsInterruptedNamedByTheGuestHandler) {
  EXPECT_EQ(link_qualifier(key(kGuest, 7), 255), "virtio0");
  const graph::CriticalPath p = path_of(key(kGuest, 7), graph::fused_path_options());
  ASSERT_EQ(p.links.size(), 2u);
  EXPECT_EQ(p.links[1].state, EdgeState::interrupted);
  EXPECT_EQ(p.links[1].qualifier, "virtio0");
  ASSERT_EQ(p.segments.size(), 7u);
  EXPECT_EQ(p.segments[5].ts, 220u);
  EXPECT_EQ(p.segments[5].state, EdgeState::interrupted);
  EXPECT_EQ(p.segments[5].qualifier, "virtio0");
}

// Two vectors injected at one entry, the local timer's first (Linux's LOCAL_TIMER_VECTOR, 0xec =
// 236) and a device's (34): the device IRQ handler pairs with 34.
//   vCPU 0 (100) in guest mode from 20 on host CPU 0; guest 7 runs from 20, blocks at 100.
//   Host CPU 1: the I/O thread 300 runs from 190, raises an MSI at 200, accepted by APIC 0 (vector
//   34) at 201. vCPU 0 exits (EXTERNAL_INTERRUPT) at 210, KVM injects 236 at 211 and 34 at 212
//   (both pending on vCPU 0), entry at 213.
//   Guest vCPU 0: IRQ 11 (virtio0) at 220, before any x86 vector handler: of the pending [236, 34]
//   only 34 is a device vector (32 <= v < 0xec), so the handler is 34's; 7 woken at 222 (wait
//   began at 100 <= 200) is linked from the thread that raised 34: 300@200, `interrupted`.
//   Were 236 taken (the oldest pending), no host thread delivered it: no link.
TEST_F(Fused, TimerVectorInjectedWithTheDeviceIsNotTheDevices) {
  h(sched_switch(10, 0, 0, 0, 100, "swapper/0", "CPU 0/KVM"));
  h(entry(20, 0));
  g(sched_switch(20, 0, 0, 0, 7, "swapper/0", "reader"));
  g(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
  h(sched_switch(190, 1, 0, 0, 300, "swapper/1", "qemu-io"));
  raise_msi(200, 1, 34);
  inject(210, {236, 34});
  guest_irq(220, 11, "virtio0", 7);
  EXPECT_EQ(chain(key(kGuest, 7)), "100:running 222:blocked(qemu-io)");
  EXPECT_EQ(link_into(key(kGuest, 7), 222), "1/300@200 interrupted");
  EXPECT_EQ(link_qualifier(key(kGuest, 7), 222), "virtio0");
  EXPECT_EQ(fused->stats().device_links, 1u);
}

// Two devices' vectors injected at one entry (34 then 36): each guest handler pairs with its
// device's vector, the line's vector being learned when the line was first seen alone.
//   vCPU 0 (100) in guest mode from 20 on host CPU 0. Guest vCPU 0: 8 runs from 20, blocks at 50;
//   7 runs from 50, blocks at 100; the swapper runs.
//   Learning: the block device's thread 300 ("blk-io", host CPU 1 from 105) raises at 110,
//   accepted by APIC 0 (vector 36) at 111; vCPU 0 exits at 112, KVM injects 36 at 113, entry at
//   114; the guest's IRQ 12 (virtio1) at 115 sees one pending device vector: line 12 -> 36.
//   Then the network's thread 301 ("net-io", host CPU 2 from 190) raises at 200 (APIC 0, vector
//   34, accepted at 201), and 300 raises again at 205 (vector 36, accepted at 206). vCPU 0 exits
//   at 210, KVM injects 34 at 211 and 36 at 212, entry at 213: pending [34, 36].
//   IRQ 12 (virtio1) at 220: its learned vector 36 is pending, so it is 36's handler (not the
//   oldest, 34): 7 woken at 222 (wait began at 100 <= 205) is linked from 36's raiser 300@205.
//   IRQ 11 (virtio0) at 226: pending [34], one device vector: 34's handler (and 11 -> 34 is
//   learned); 8 woken at 228 (wait began at 50 <= 200) is linked from 301@200. Both links are
//   `interrupted`, named by their handler.
TEST_F(Fused, LearnedLinePicksItsVectorAmongTwoDevices) {
  h(sched_switch(10, 0, 0, 0, 100, "swapper/0", "CPU 0/KVM"));
  h(entry(20, 0));
  g(sched_switch(20, 0, 0, 0, 8, "swapper/0", "writer"));
  g(sched_switch(50, 0, 8, 1, 7, "writer", "reader"));
  g(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
  h(sched_switch(105, 1, 0, 0, 300, "swapper/1", "blk-io"));
  raise_msi(110, 1, 36);
  inject(112, {36});
  g(at(115, 0, EventKind::irq_entry, Irq{12, "virtio1"}));
  g(at(116, 0, EventKind::irq_exit, Irq{12, {}}));
  h(sched_switch(190, 2, 0, 0, 301, "swapper/2", "net-io"));
  raise_msi(200, 2, 34);
  raise_msi(205, 1, 36);
  inject(210, {34, 36});
  guest_irq(220, 12, "virtio1", 7);
  guest_irq(226, 11, "virtio0", 8);
  EXPECT_EQ(chain(key(kGuest, 7)), "100:running 222:blocked(blk-io)");
  EXPECT_EQ(link_into(key(kGuest, 7), 222), "1/300@205 interrupted");
  EXPECT_EQ(link_qualifier(key(kGuest, 7), 222), "virtio1");
  EXPECT_EQ(chain(key(kGuest, 8)), "50:running 228:blocked(net-io)");
  EXPECT_EQ(link_into(key(kGuest, 8), 228), "1/301@200 interrupted");
  EXPECT_EQ(link_qualifier(key(kGuest, 8), 228), "virtio0");
  EXPECT_EQ(fused->stats().device_links, 2u);
  expect_links_from_running_threads(2);
}

// Point 4 with two VMs on one host, each with a vCPU 0 (APIC id 0) and a device on vector 34.
// VM A is machine 2 (QEMU pid 99, vCPU thread 100 on host CPU 0, in guest mode from 20); VM B
// machine 3 (QEMU pid 98, vCPU thread 400 on host CPU 2). Their KVM events carry their pid
// context, so the fused layer knows each VM's QEMU pid.
//   VM B: 400 enters at 20; B's guest runs 7 on vCPU 0 from 20, 7 blocks at 100; 400 exits (HLT)
//   at 120 and is switched out blocking at 125 (halted).
//   B's raiser (host CPU 3, from 190) raises at 200, accepted by APIC 0 (vector 34) at 201, and
//   wakes 400 at 202. A's raiser (host CPU 1, from 190) raises the same vector for APIC 0 at 210,
//   accepted at 211: the latest delivery of (APIC 0, vector 34) on the host is A's.
//   400 runs at 230 (vmm), KVM injects 34 at 235 (when `with_injection`), entry at 240. B's guest: IRQ 11
//   (virtio0) at 250 wakes 7 at 255 (wait began at 100 <= 200).
// The raiser serving B's process (pid 98) is the cause: 7 is linked from B's raiser @200.
struct FusedTwoVms : Fused {
  static constexpr int64_t kGuestB = 3;
  TracedMachine guest_b;
  void SetUp() override {
    Fused::SetUp();
    guest_b.id = kGuestB;
    fused->set_resolver(kHost, [](int64_t, int64_t tid, graph::VcpuRef& out) {
      if (tid != 100 && tid != 400) return false;
      out = graph::VcpuRef{tid == 100 ? kGuest : kGuestB, 0};
      return true;
    });
  }
  void gb(const Event& e) { feed(guest_b, e); }
  // B's raiser is host thread b_tid (pid context b_pid, name b_name), A's a_tid (a_pid, a_name).
  void run(int64_t b_tid, int64_t b_pid, std::string_view b_name, int64_t a_tid, int64_t a_pid, std::string_view a_name,
           bool with_injection) {
    h(sched_switch(10, 0, 0, 0, 100, "swapper/0", "CPU 0/KVM"));
    h(sched_switch(10, 2, 0, 0, 400, "swapper/2", "CPU 0/KVM"));
    h(in_process(entry(20, 0), 99, "CPU 0/KVM"));
    h(in_process(entry(20, 2), 98, "CPU 0/KVM"));
    gb(sched_switch(20, 0, 0, 0, 7, "swapper/0", "reader"));
    gb(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
    h(in_process(exit(120, 2, kHlt), 98, "CPU 0/KVM"));
    h(sched_switch(125, 2, 400, 1, 0, "CPU 0/KVM", "swapper/2"));
    h(sched_switch(190, 3, 0, 0, b_tid, "swapper/3", b_name));
    h(sched_switch(190, 1, 0, 0, a_tid, "swapper/1", a_name));
    raise_msi(200, 3, 34, b_pid, b_name);
    h(in_process(wakeup(202, 3, 400), b_pid, b_name));
    raise_msi(210, 1, 34, a_pid, a_name);
    h(sched_switch(230, 2, 0, 0, 400, "swapper/2", "CPU 0/KVM"));
    if (with_injection) h(in_process(at(235, 2, EventKind::kvm_inj_virq, KvmInjVirq{34}), 98, "CPU 0/KVM"));
    h(in_process(entry(240, 2), 98, "CPU 0/KVM"));
    gb(at(250, 0, EventKind::irq_entry, Irq{11, "virtio0"}));
    gb(wakeup(255, 0, 7));
    gb(at(260, 0, EventKind::irq_exit, Irq{11, {}}));
  }
};

// The raisers are QEMU threads: B's 500 (pid 98), A's 300 (pid 99).
TEST_F(FusedTwoVms, DeviceLinkComesFromTheWokenGuestsVm) {
  run(500, 98, "qemu-b-io", 300, 99, "qemu-a-io", true);
  EXPECT_EQ(chain(key(kGuestB, 7)), "100:running 255:blocked(qemu-b-io)");
  EXPECT_EQ(link_into(key(kGuestB, 7), 255), "1/500@200 interrupted");
  EXPECT_EQ(fused->stats().device_links, 1u);
}

// The raisers are the kernel's vhost workers, whose pid context is their own tid: B's 600
// ("vhost-98", serving pid 98), A's 601 ("vhost-99"). The name gives the process served: 600.
TEST_F(FusedTwoVms, VhostWorkerServesThePidInItsName) {
  run(600, 600, "vhost-98", 601, 601, "vhost-99", true);
  EXPECT_EQ(chain(key(kGuestB, 7)), "100:running 255:blocked(vhost-98)");
  EXPECT_EQ(link_into(key(kGuestB, 7), 255), "1/600@200 interrupted");
}

// Without kvm_inj_virq (with posted interrupts KVM injects nothing itself), the vector is the
// latest accepted by APIC 0, and the VM is still told by the raiser's process: B's 500.
TEST_F(FusedTwoVms, WithoutInjectionTheVmStillChooses) {
  run(500, 98, "qemu-b-io", 300, 99, "qemu-a-io", false);
  EXPECT_EQ(link_into(key(kGuestB, 7), 255), "1/500@200 interrupted");
}

// Point 5 of fused_graph.h: an IPI from vCPU 1 wakes 7 on vCPU 0.
//   vCPU 0 (100) in guest mode from 20 on host CPU 0, vCPU 1 (101) from 20 on host CPU 1. Guest:
//   7 runs on vCPU 0 from 20 and blocks at 100; 8 runs on vCPU 1 from 20.
//   Host CPU 1: 101 exits (MSR_WRITE, x2APIC ICR) at 150: 8's [20,150) running; sends an IPI at
//   152 (8 gets a vertex: [150,152) vmm(MSR_WRITE)), accepted by APIC 0 (vector 251) at 153;
//   enters at 160 ([152,160) vmm).
//   Guest vCPU 0: call-function-single vector at 170 wakes 7 at 172 (wait began at 100 <= 152):
//   [100,172) closed `blocked`, linked from 8@152 as `ipi`. 7 runs at 180.
struct FusedIpi : Fused {
  void SetUp() override {
    Fused::SetUp();
    two_vcpus();
    g(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
    ipi_from_vcpu1();
    h(entry(160, 1));
    g(at(170, 0, EventKind::irq_vector_entry, IrqVector{251}, "x86_irq_vectors_call_function_single_entry"));
    g(wakeup(172, 0, 7));
    g(at(175, 0, EventKind::irq_vector_exit, IrqVector{251}, "x86_irq_vectors_call_function_single_exit"));
    g(sched_switch(180, 0, 0, 0, 7, "swapper/0", "reader"));
  }
};

TEST_F(FusedIpi, IpiWakeupHandsOffToTheSendersGuestThread) {
  EXPECT_EQ(chain(key(kGuest, 7)), "100:running 172:blocked 180:preempted");
  EXPECT_EQ(chain(key(kGuest, 8)), "150:running 152:vmm(MSR_WRITE) 160:vmm(MSR_WRITE)");
  EXPECT_EQ(link_into(key(kGuest, 7), 172), "2/8@152 ipi");
  EXPECT_EQ(fused->stats().ipi_links, 1u);
  expect_links_from_running_threads(1);
}

// The path of 7 (head 20, tail 180): [100,172) resolved through 8@152; the walk takes 8's
// vmm [150,152) and running [20,150) and stops at 8@20 (before 100): hand-off to 8 at 100,
// [100,150) running and [150,152) vmm on 8, the IPI's delivery [152,172) on 7, then preempted.
TEST_F(FusedIpi, PathFollowsTheSender) {
  const graph::CriticalPath p = path_of(key(kGuest, 7), graph::fused_path_options());
  EXPECT_EQ(segments(p), (std::vector<std::string>{"20+80 2/7 running", "100+50 2/8 running", "150+2 2/8 vmm",
                                                   "152+20 2/7 ipi", "172+8 2/7 preempted"}));
  EXPECT_EQ(links(p), (std::vector<std::string>{"100 2/7>2/8 default", "152 2/8>2/7 ipi"}));
}

// A cause older than the wait is not its cause: 7 blocks at 160, after the IPI sent at 152;
// the wake-up at 172 keeps the OS builder's `ipi` label and gets no link.
TEST_F(Fused, CauseBeforeTheWaitIsNotLinked) {
  two_vcpus();
  ipi_from_vcpu1();
  g(sched_switch(160, 0, 7, 1, 0, "reader", "swapper/0"));
  g(at(170, 0, EventKind::irq_vector_entry, IrqVector{251}));
  g(wakeup(172, 0, 7));
  EXPECT_EQ(chain(key(kGuest, 7)), "160:running 172:ipi");
  EXPECT_EQ(link_into(key(kGuest, 7), 172), "none");
  EXPECT_EQ(fused->stats().cause_too_early, 1u);
}

// The local timer's vector (236) is an x86 vector too (an IPI context for the OS builder), but
// not the one sent (251): the wake-up at 172 is not linked to the IPI and keeps its label.
TEST_F(Fused, OtherVectorIsNotTheIpi) {
  two_vcpus();
  g(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
  ipi_from_vcpu1();
  g(at(170, 0, EventKind::irq_vector_entry, IrqVector{236}, "x86_irq_vectors_local_timer_entry"));
  g(wakeup(172, 0, 7));
  EXPECT_EQ(chain(key(kGuest, 7)), "100:running 172:ipi");
  EXPECT_EQ(fused->stats().ipi_links, 0u);
}

// Untrusted input: negative or unknown tids and CPUs, an APIC id past KVM's limit, timestamps
// going back, lost events without a time. Nothing throws; the bad APIC id delivers nothing, so
// the wake-up at 172 is not linked.
TEST_F(Fused, BadInputIsIgnored) {
  two_vcpus();
  g(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
  h(exit(150, 1, kMsrWrite));
  h(at(152, 1, EventKind::kvm_apic_ipi, KvmApicIpi{0x40fb, 0}));
  h(at(153, 1, EventKind::kvm_apic_accept_irq, KvmApicAcceptIrq{int64_t{1} << 40, 251}));
  h(at(154, kUnknown, EventKind::kvm_apic_accept_irq, KvmApicAcceptIrq{-3, 251}));
  h(at(155, 7, EventKind::kvm_exit, KvmExit{-1, -1, -1}));
  h(sched_switch(156, 1, -5, 0, 101));
  h(at(120, 1, EventKind::kvm_entry, KvmEntry{kUnknown}));  // back in time
  analysis.on_lost_events(host, kUnknown, kUnknown, kUnknown, kUnknown);
  g(at(170, 0, EventKind::irq_vector_entry, IrqVector{251}));
  g(wakeup(172, 0, 7));
  g(wakeup(173, 0, -9));
  EXPECT_EQ(link_into(key(kGuest, 7), 172), "none");
  EXPECT_EQ(fused->state(kGuest, 1), graph::VcpuHostState::unknown);
}

// A raise is forgotten when its thread enters the guest: an accept after that (the vCPU's own APIC
// timer, vector 236, at 165) has no cause, and the later IPI-context wake-up at 172 (vector 236)
// is not linked to the IPI sent at 152.
TEST_F(Fused, AcceptAfterTheEntryHasNoCause) {
  two_vcpus();
  g(sched_switch(100, 0, 7, 1, 0, "reader", "swapper/0"));
  ipi_from_vcpu1();
  h(entry(160, 1));
  h(at(165, 1, EventKind::kvm_apic_accept_irq, KvmApicAcceptIrq{0, 236}));
  g(at(170, 0, EventKind::irq_vector_entry, IrqVector{236}));
  g(wakeup(172, 0, 7));
  EXPECT_EQ(link_into(key(kGuest, 7), 172), "none");
}

// Point 6 of fused_graph.h, nested: L0 is machine 1, L1 machine 2 (its vCPU 0 is L0's thread
// 100), L2 machine 3 (its vCPU 0 is L1's thread 50).
//   L0: 10 switch 0->100, 20 entry (L1 in guest mode). L1 CPU 0: 25 switch 0->50, 30 kvm_entry
//   (L1 believes L2 runs). L2 CPU 0: 35 switch 0->9.
//   L0: 55 exit IO_INSTRUCTION: 50's [25,55) running, and (nested: 50 is L2's vCPU thread in guest
//   mode) 9's [35,55) running; 60 switch 100->200 runnable: both [.,60) vmm(IO_INSTRUCTION);
//   90 switch 200->100: both [60,90) vcpu_preempted, linked 100@90 -> 50@90 -> 9@90; 95 entry:
//   both [90,95) vmm(IO_INSTRUCTION). L2: 100 switch 9->0 blocking: 9's [95,100) running.
// The path of 9 resolves [60,90) through 50@90, whose own [60,90) vcpu_preempted resolves
// through 100@90 back to 100's preempted [60,90): L2 -> L1 vCPU thread -> L0.
TEST_F(Fused, NestedGuestFollowsItsVcpuThreadIntoL0) {
  constexpr int64_t kL2 = 3;
  TracedMachine l2;
  l2.id = kL2;
  fused->set_resolver(kGuest, [](int64_t, int64_t tid, graph::VcpuRef& out) {
    if (tid != 50) return false;
    out = graph::VcpuRef{kL2, 0};
    return true;
  });
  h(sched_switch(10, 0, 0, 0, 100, "swapper/0", "CPU 0/KVM"));
  h(entry(20, 0));
  g(sched_switch(25, 0, 0, 0, 50, "swapper/0", "CPU 0/KVM"));
  g(entry(30, 0));
  feed(l2, sched_switch(35, 0, 0, 0, 9, "swapper/0", "l2-reader"));
  h(exit(55, 0, kIoInstruction));
  h(sched_switch(60, 0, 100, 0, 200, "CPU 0/KVM", "hog"));
  h(sched_switch(90, 0, 200, 0, 100, "hog", "CPU 0/KVM"));
  h(entry(95, 0));
  feed(l2, sched_switch(100, 0, 9, 1, 0, "l2-reader", "swapper/0"));
  EXPECT_EQ(chain(key(kGuest, 50)), "55:running 60:vmm(IO_INSTRUCTION) 90:vcpu_preempted 95:vmm(IO_INSTRUCTION)");
  EXPECT_EQ(chain(key(kL2, 9)),
            "55:running 60:vmm(IO_INSTRUCTION) 90:vcpu_preempted 95:vmm(IO_INSTRUCTION) 100:running");
  EXPECT_EQ(link_into(key(kGuest, 50), 90), "1/100@90 vcpu_preempted");
  EXPECT_EQ(link_into(key(kL2, 9), 90), "2/50@90 vcpu_preempted");
  expect_links_from_running_threads(2);
  const graph::CriticalPath p = path_of(key(kL2, 9), graph::fused_path_options());
  EXPECT_EQ(segments(p), (std::vector<std::string>{"35+20 3/9 running", "55+5 3/9 vmm", "60+30 1/100 preempted",
                                                   "90+5 3/9 vmm", "95+5 3/9 running"}));
  EXPECT_EQ(links(p), (std::vector<std::string>{"60 3/9>1/100 default", "90 1/100>2/50 vcpu_preempted",
                                                "90 2/50>3/9 vcpu_preempted"}));
}

}  // namespace
}  // namespace vm::test
