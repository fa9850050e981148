// SPDX-License-Identifier: MIT
// Invariants of the scenario model (common/sim/scenario_model.h): what source.vm.scenario emits
// must be a trace LTTng could have recorded, and its truth must be a tiling of time.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "sim/scenario_model.h"

namespace vm {
namespace {

struct Recorder : ScenarioListener {
  std::vector<ScenarioEvent> events;
  std::vector<TruthVcpuInterval> vcpu;
  std::vector<TruthCpuInterval> cpu;
  std::vector<TruthHalt> halts;
  void on_event(const ScenarioEvent& e) override { events.push_back(e); }
  void on_vcpu_halt(const TruthHalt& h) override { halts.push_back(h); }
  void on_vcpu_interval(const TruthVcpuInterval& i) override { vcpu.push_back(i); }
  void on_cpu_interval(const TruthCpuInterval& i) override { cpu.push_back(i); }
};

ScenarioConfig small_config() {
  ScenarioConfig config;
  config.seed = 7;
  config.pcpus = 2;
  config.vms = 2;
  config.vcpus_per_vm = 2;
  config.nested = true;
  config.duration_ns = 200'000'000;
  return config;
}

Recorder run(const ScenarioConfig& config) {
  Recorder recorder;
  ScenarioModel model(config);
  model.run(recorder);
  return recorder;
}

TEST(ScenarioModel, EventsAreTimeOrderedPerMachineAndInHostTime) {
  const Recorder r = run(small_config());
  ASSERT_GT(r.events.size(), 5000u);
  std::map<int, int64_t> last;
  int64_t last_host = 0;
  for (const ScenarioEvent& e : r.events) {
    ASSERT_GE(e.host_ts, last_host);
    last_host = e.host_ts;
    auto it = last.find(e.machine);
    if (it != last.end()) {
      ASSERT_GE(e.ts, it->second) << "machine " << e.machine;
    }
    last[e.machine] = e.ts;
  }
  EXPECT_EQ(last.size(), 4u);  // host, two VMs, the nested guest
}

TEST(ScenarioModel, SameSeedSameTraceOtherSeedOtherTrace) {
  const Recorder a = run(small_config());
  const Recorder b = run(small_config());
  ASSERT_EQ(a.events.size(), b.events.size());
  for (size_t i = 0; i < a.events.size(); ++i) {
    ASSERT_EQ(a.events[i].host_ts, b.events[i].host_ts) << i;
    ASSERT_EQ(a.events[i].type, b.events[i].type) << i;
    ASSERT_EQ(a.events[i].tid, b.events[i].tid) << i;
  }
  ASSERT_EQ(a.vcpu.size(), b.vcpu.size());
  ScenarioConfig other = small_config();
  other.seed = 8;
  const Recorder c = run(other);
  EXPECT_TRUE(c.events.size() != a.events.size() || c.events[1000].host_ts != a.events[1000].host_ts);
}

TEST(ScenarioModel, VcpuTruthTilesTheRun) {
  const ScenarioConfig config = small_config();
  Recorder r;
  ScenarioModel model(config);
  model.run(r);
  std::map<std::pair<int, int>, std::vector<TruthVcpuInterval>> by_vcpu;
  for (const TruthVcpuInterval& i : r.vcpu) by_vcpu[{i.vm, i.vcpu}].push_back(i);
  EXPECT_EQ(by_vcpu.size(), 2u * 2u + 1u);
  for (auto& [key, intervals] : by_vcpu) {
    std::sort(intervals.begin(), intervals.end(),
              [](const TruthVcpuInterval& x, const TruthVcpuInterval& y) { return x.ts < y.ts; });
    EXPECT_EQ(intervals.front().ts, config.start_ns);
    for (size_t k = 1; k < intervals.size(); ++k)
      ASSERT_EQ(intervals[k].ts, intervals[k - 1].ts + intervals[k - 1].dur) << "vm " << key.first << " vcpu " << key.second;
    EXPECT_EQ(intervals.back().ts + intervals.back().dur, model.end_ns());
    std::map<std::string, int64_t> share;
    for (const TruthVcpuInterval& i : intervals) {
      ASSERT_GT(i.dur, 0);
      share[i.state] += i.dur;
    }
    EXPECT_GT(share["guest"], 0) << "vm " << key.first;
    EXPECT_GT(share["vmm"], 0);
  }
  // Overcommit (4 vCPUs and host tasks on 2 CPUs): vCPUs wait for their CPU.
  int64_t preempted = 0;
  for (const TruthVcpuInterval& i : r.vcpu)
    if (std::string(i.state) == "preempted") preempted += i.dur;
  EXPECT_GT(preempted, 0);
}

class GuestWindows : public ::testing::TestWithParam<int> {};

// Also with guest device interrupts, containers and an exit mix (parameter 1), and with the wake
// causes and L0's nested events (parameter 2), and with the request threads (parameter 3).
TEST_P(GuestWindows, GuestEventsLieInsideTheirVcpuGuestModeWindows) {
  ScenarioConfig config = small_config();
  if (GetParam() == 3) {
    config.net_irq_rate = 300;
    config.wake_causes = true;
    config.nested_events = true;
    config.requests = true;
  }
  if (GetParam() == 2) {
    config.disk_irq_rate = 400;
    config.net_irq_rate = 300;
    config.wake_causes = true;
    config.nested_events = true;
  }
  if (GetParam() == 1) {
    config.disk_irq_rate = 400;
    config.net_irq_rate = 300;
    config.containers = 2;
    config.guest_threads = 8;
    config.statedump_lm211 = true;
    config.exit_mix = "NPF:2,MSR:3,IO:1,CPUID:0.5";
  }
  ScenarioModel model(config);
  Recorder r;
  model.run(r);
  const auto& machines = model.machines();
  // (host machine, vCPU thread tid) -> in guest mode; guest CPU -> its vCPU thread.
  std::map<std::pair<int, int>, bool> in_guest;
  std::map<std::pair<int, int>, int> vcpu_thread_of;  // (guest machine, cpu) -> tid
  size_t checked = 0;
  for (const ScenarioEvent& e : r.events) {
    if (e.type == ScenarioEventType::kvm_entry || e.type == ScenarioEventType::kvm_exit) {
      in_guest[{e.machine, e.tid}] = e.type == ScenarioEventType::kvm_entry;
      for (size_t g = 0; g < machines.size(); ++g)
        if (machines[g].parent == e.machine && machines[g].qemu_pid == e.pid) {
          const int vcpu = int(e.type == ScenarioEventType::kvm_entry ? e.a[0] : e.a[7]);
          vcpu_thread_of[{int(g), vcpu}] = e.tid;
        }
      continue;
    }
    const int parent = machines[size_t(e.machine)].parent;
    if (parent < 0) continue;
    const auto thread = vcpu_thread_of.find({e.machine, e.cpu});
    ASSERT_NE(thread, vcpu_thread_of.end()) << "guest event before its vCPU ever entered";
    const bool inside = in_guest[std::make_pair(parent, thread->second)];
    ASSERT_TRUE(inside)
        << machines[size_t(e.machine)].hostname << " cpu " << e.cpu << " event at host " << e.host_ts;
    ++checked;
  }
  EXPECT_GT(checked, 1000u);
}
INSTANTIATE_TEST_SUITE_P(Scenario, GuestWindows, ::testing::Values(0, 1, 2, 3));

TEST(ScenarioModel, GuestClockFollowsTheTrueTransform) {
  ScenarioModel model(small_config());
  Recorder r;
  model.run(r);
  const auto& machines = model.machines();
  for (const ScenarioEvent& e : r.events) {
    const ScenarioMachineInfo& m = machines[size_t(e.machine)];
    const long double host = m.alpha * static_cast<long double>(e.ts) + m.beta;
    ASSERT_NEAR(static_cast<double>(host - static_cast<long double>(e.host_ts)), 0.0, 1.01);
  }
  EXPECT_NE(machines[1].alpha, 1.0L);
}

TEST(ScenarioModel, EventTargetStopsTheRun) {
  ScenarioConfig config = small_config();
  config.events = 50'000;
  Recorder r;
  ScenarioModel model(config);
  model.run(r);
  EXPECT_GE(r.events.size(), 45'000u);
  EXPECT_LE(r.events.size(), 60'000u);
}

TEST(ScenarioModel, RejectsBadConfigurations) {
  ScenarioConfig config;
  config.pcpus = 0;
  EXPECT_NE(validate(config), "");
  EXPECT_THROW(ScenarioModel{config}, std::invalid_argument);
  config = ScenarioConfig{};
  config.vms = 0;
  config.nested = true;
  EXPECT_NE(validate(config).find("nested"), std::string::npos);
  config = ScenarioConfig{};
  config.requests = true;
  EXPECT_NE(validate(config).find("wake-causes"), std::string::npos);
  config.wake_causes = true;
  EXPECT_EQ(validate(config), "");
  config.disk_irq_rate = 1;
  EXPECT_NE(validate(config).find("disk-irq-rate"), std::string::npos);
}

// `requests`: the events stay in time order per machine, and each VM of the host has a true
// critical path of its request thread whose segments tile [start_ts, end_ts) (the definition's
// first invariant; tests/scenario/critical_path_truth.py checks the others).
TEST(ScenarioModel, RequestsKeepTheOrderAndHaveTruePaths) {
  ScenarioConfig config = small_config();
  config.wake_causes = true;
  config.requests = true;
  ScenarioModel model(config);
  Recorder r;
  EXPECT_TRUE(model.critical_paths().empty());  // not before the end
  model.run(r);
  std::map<int, int64_t> last;
  for (const ScenarioEvent& e : r.events) {
    auto it = last.find(e.machine);
    if (it != last.end()) {
      ASSERT_GE(e.ts, it->second) << "machine " << e.machine;
    }
    last[e.machine] = e.ts;
  }
  const std::vector<sim::TruthPath> paths = model.critical_paths();
  ASSERT_EQ(paths.size(), 2u);  // vm1 and vm2 (not the nested guest)
  for (const sim::TruthPath& p : paths) {
    EXPECT_EQ(p.tid, 600);
    EXPECT_EQ(p.name, "request-0");
    ASSERT_FALSE(p.segments.empty());
    int64_t at = p.start_ts;
    for (const sim::TruthSegment& s : p.segments) {
      EXPECT_EQ(s.ts, at);
      EXPECT_GT(s.dur, 0);
      at = s.ts + s.dur;
    }
    EXPECT_EQ(at, p.end_ts);
  }
}

// exit-mix: only the named reasons (and the model's own EXTERNAL_INTERRUPT, HLT,
// PREEMPTION_TIMER) occur, roughly in the given proportions; a bad mix is rejected.
TEST(ScenarioModel, ExitMixWeighsTheRandomExits) {
  ScenarioConfig config = small_config();
  config.exit_mix = "MSR:3,io:1,NPF:0";
  std::map<int64_t, int> count;
  for (const ScenarioEvent& e : run(config).events)
    if (e.type == ScenarioEventType::kvm_exit) ++count[e.a[0]];
  for (const auto& [reason, n] : count)
    EXPECT_TRUE(reason == 32 || reason == 30 || reason == 1 || reason == 12 || reason == 52) << reason << " x" << n;
  ASSERT_GT(count[30], 50);
  EXPECT_GT(count[32], 2 * count[30]);
  EXPECT_LT(count[32], 4 * count[30]);
  config.exit_mix = "MSR:3,BOGUS:1";
  EXPECT_NE(validate(config).find("BOGUS"), std::string::npos);
  config.exit_mix = "MSR:0";
  EXPECT_NE(validate(config), "");
  config.exit_mix = "MSR=3";
  EXPECT_NE(validate(config), "");
}

// Guest device interrupts: the handlers run in the guests with the documented irq numbers and
// names, the parent injects the vectors, and the woken readers return from read().
TEST(ScenarioModel, GuestDeviceInterruptsWakeTheirReaders) {
  ScenarioConfig config = small_config();
  config.disk_irq_rate = 500;
  config.net_irq_rate = 200;
  struct IrqRecorder : Recorder {
    std::vector<TruthGuestIrq> irqs;
    void on_guest_irq(const TruthGuestIrq& i) override { irqs.push_back(i); }
  } r;
  ScenarioModel model(config);
  model.run(r);
  std::map<std::string, int> handlers;
  int injected = 0, reads_entered = 0, reads_returned = 0;
  for (const ScenarioEvent& e : r.events) {
    if (e.type == ScenarioEventType::irq_handler_entry && model.machines()[size_t(e.machine)].parent >= 0) {
      ++handlers[e.s[0]];
      EXPECT_EQ(e.a[0], std::string(e.s[0]) == "virtio0-requests" ? 25 : 27);
    }
    if (e.type == ScenarioEventType::kvm_inj_virq && (e.a[0] == 34 || e.a[0] == 36)) ++injected;
    if (e.type == ScenarioEventType::syscall_entry_read) ++reads_entered;
    if (e.type == ScenarioEventType::syscall_exit_read) ++reads_returned;
  }
  EXPECT_GT(handlers["virtio0-requests"], handlers["virtio1-input.0"]);  // 500/s against 200/s
  EXPECT_GT(handlers["virtio1-input.0"], 20);
  EXPECT_EQ(handlers.size(), 2u);
  EXPECT_EQ(r.irqs.size(), size_t(handlers["virtio0-requests"] + handlers["virtio1-input.0"]));
  EXPECT_GT(injected, 0);
  EXPECT_GT(reads_returned, 20);
  EXPECT_LE(reads_returned, reads_entered);
  int woke = 0;
  for (const TruthGuestIrq& i : r.irqs) woke += i.woken_tid >= 0;
  EXPECT_GE(woke, reads_returned);
  // Off by default: no device events at all.
  for (const ScenarioEvent& e : run(small_config()).events)
    ASSERT_NE(e.type, ScenarioEventType::syscall_entry_read);
}

// containers: every container's init has vtid 1; each forked thread's vtids are its levels;
// the LM <= 2.11 statedump gives one process_state per level, deepest first.
TEST(ScenarioModel, ContainersTellTheirNamespaces) {
  ScenarioConfig config = small_config();
  config.containers = 2;
  config.guest_threads = 8;
  config.duration_ns = 50'000'000;
  for (bool lm211 : {false, true}) {
    config.statedump_lm211 = lm211;
    ScenarioModel model(config);
    Recorder r;
    model.run(r);
    std::map<std::pair<int, int64_t>, std::vector<ScenarioNsLevel>> levels;
    for (const ScenarioThreadNamespaces& t : model.thread_namespaces()) levels[{t.machine, t.tid}] = t.levels;
    ASSERT_FALSE(levels.empty());
    EXPECT_EQ(levels.at({1, 400}).size(), 2u);
    EXPECT_EQ(levels.at({1, 400}).back().vtid, 1);
    EXPECT_EQ(levels.at({1, 401}).size(), 3u);  // container 1 nests in container 0
    EXPECT_EQ(levels.at({1, 401}).back().vtid, 1);
    EXPECT_EQ(levels.at({0, 500}).size(), 1u);  // the host has no containers
    int forks = 0, pid_ns = 0, per_level = 0;
    for (const ScenarioEvent& e : r.events) {
      if (e.type == ScenarioEventType::sched_process_fork) {
        ++forks;
        const auto& chain = levels.at({e.machine, e.a[2]});
        ASSERT_EQ(e.a[6], static_cast<int64_t>(chain.size()));
        for (size_t k = 0; k < chain.size(); ++k) EXPECT_EQ(e.a[7 + k], chain[k].vtid);
        EXPECT_EQ(e.a[5], chain.back().ns_inum);
      }
      if (e.type == ScenarioEventType::statedump_pid_ns) ++pid_ns;
      if (e.type == ScenarioEventType::statedump_process && e.a[11] > 0) {
        ++per_level;
        EXPECT_EQ(levels.at({e.machine, e.a[0]})[static_cast<size_t>(e.a[11])].vtid, e.a[8]);
      }
    }
    EXPECT_GT(forks, 0);
    EXPECT_EQ(pid_ns > 0, !lm211);
    EXPECT_EQ(per_level > 0, lm211);
  }
}

// `wake-causes`, `nested-events`: each halt's truth lies between its vCPU thread's HLT exit and
// the entry that ends it, halts of a vCPU do not overlap, every cause occurs, and only VM 1's
// vCPUs (the nested guest's hypervisor) are ever in layer 2, with exits handled by L0 and by L1.
TEST(ScenarioModel, HaltsAndLayersHaveTheirTruth) {
  ScenarioConfig config = small_config();
  config.disk_irq_rate = 400;
  config.net_irq_rate = 300;
  config.wake_causes = true;
  config.nested_events = true;
  const Recorder r = run(config);
  std::map<std::string, int> reasons;
  std::map<std::pair<int, int>, int64_t> last_end;
  for (const TruthHalt& h : r.halts) {
    ASSERT_GT(h.dur, 0);
    auto& end = last_end[{h.vm, h.vcpu}];
    ASSERT_GE(h.ts, end) << "overlapping halts of vm " << h.vm << " vcpu " << h.vcpu;
    end = h.ts + h.dur;
    ++reasons[h.reason];
    const std::string reason = h.reason;
    if (reason == "ipi") {
      EXPECT_EQ(h.waker_vm, h.vm);
    }
    if (reason == "disk") {
      EXPECT_EQ(h.device, "IO iothread0");
    }
    if (reason == "net") {
      EXPECT_EQ(h.device.rfind("vhost-", 0), 0u);
    }
  }
  for (const char* reason : {"timer", "ipi", "disk", "net", "none"}) EXPECT_GT(reasons[reason], 0) << reason;
  std::map<std::string, int64_t> l2_exits;
  for (const TruthVcpuInterval& i : r.vcpu) {
    if (i.guest_layer == 2) {
      EXPECT_EQ(i.vm, 1);
    }
    if (i.nested_exit_to) ++l2_exits[i.nested_exit_to];
  }
  EXPECT_GT(l2_exits["L0"], 0);
  EXPECT_GT(l2_exits["L1"], 0);
  size_t nested_events = 0;
  for (const ScenarioEvent& e : r.events)
    if (e.type == ScenarioEventType::kvm_nested_vmenter || e.type == ScenarioEventType::kvm_nested_vmexit_inject) {
      EXPECT_EQ(e.machine, 0);  // only L0 records them
      ++nested_events;
    }
  EXPECT_GT(nested_events, 100u);
}

}  // namespace
}  // namespace vm
