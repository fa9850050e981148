// SPDX-License-Identifier: MIT
// Guest matching by KVM windows (common/kvm/guest_matching.h): the decision rules on given
// scores, then whole matches on a hand-built host. The host runs two 2-vCPU VMs: VM 100's vCPU
// threads are in guest mode most of the time (windows of 100-300 us, gaps of 10-40 us), VM 200's
// rarely (windows of 5-15 us every 300-500 us). The guest trace records events only inside VM
// 100's windows, in the host's clock: by construction every one of them is explained by VM 100
// under the identity transform.

#include <gtest/gtest.h>

#include <stdexcept>

#include <cmath>
#include <random>

#include "kvm/guest_matching.h"

namespace vm {
namespace {

TEST(GuestMatchingRules, TheVmThatExplainsMostEventsLeads) {
  // 95% of the guest's events inside VM A's windows, 10% inside B's.
  const std::vector<double> scores = {0.95, 0.10};
  const VmRanking ranking = rank_vms(scores);
  EXPECT_EQ(ranking.best, 0);
  EXPECT_EQ(ranking.second, 1);
  EXPECT_TRUE(explains_coarsely(scores[0]));
  EXPECT_FALSE(is_ambiguous(scores, ranking));
  const VmRanking reversed = rank_vms({0.10, 0.95});
  EXPECT_EQ(reversed.best, 1);
  EXPECT_EQ(reversed.second, 0);
}

TEST(GuestMatchingRules, ThresholdEdges) {
  EXPECT_TRUE(explains_coarsely(0.9));
  EXPECT_FALSE(explains_coarsely(std::nextafter(0.9, 0.0)));
  EXPECT_TRUE(explains_when_synchronized(0.99));
  EXPECT_FALSE(explains_when_synchronized(std::nextafter(0.99, 0.0)));
  // 95% inside is a candidate, but not a link: synchronized, 99% must be inside.
  EXPECT_TRUE(explains_coarsely(0.95));
  EXPECT_FALSE(explains_when_synchronized(0.95));
}

TEST(GuestMatchingRules, TwoVmsAboveTheThresholdAreAmbiguous) {
  const std::vector<double> scores = {0.93, 0.97};
  const VmRanking ranking = rank_vms(scores);
  EXPECT_EQ(ranking.best, 1);
  EXPECT_TRUE(is_ambiguous(scores, ranking));
  // Exactly at the threshold, the runner-up is not a match on its own.
  EXPECT_FALSE(is_ambiguous({0.97, 0.9}, rank_vms({0.97, 0.9})));
}

TEST(GuestMatchingRules, EqualScoresKeepTheFirstAndZeroScoresNoOne) {
  const VmRanking tie = rank_vms({0.95, 0.95});
  EXPECT_EQ(tie.best, 0);
  EXPECT_EQ(tie.second, 1);
  const VmRanking none = rank_vms({0.0, 0.0});
  EXPECT_EQ(none.best, -1);
  EXPECT_EQ(none.second, -1);
  EXPECT_EQ(rank_vms({}).best, -1);
}

constexpr Timestamp kStart = 1'795'451'881'000'000'000;  // ns since the epoch, as LTTng's
constexpr Timestamp kDuration = 3'000'000'000;

struct World {
  FuseModel model;
  std::vector<GuestEvidence> evidence;
  std::vector<std::vector<VcpuRecord>> vcpus;
  int host = 0, guest = 1;
};

// `guest_cpus` CPUs record events; the ones beyond VM 100's two vCPUs record at the same times
// as CPU 0 (they exist, they cannot be explained).
World make_world(int guest_cpus) {
  World world;
  world.host = world.model.add_machine("host", "host", "uuid-host");
  world.guest = world.model.add_machine("guest", "guest", "uuid-guest");
  world.evidence.resize(2);
  world.vcpus.resize(2);
  GuestEvidence& host = world.evidence[0];
  GuestEvidence& guest = world.evidence[1];
  std::mt19937_64 random(11);
  struct Vm {
    int64_t pid;
    Timestamp window_min, window_max, gap_min, gap_max;
  };
  for (const Vm& vm : {Vm{100, 100'000, 300'000, 10'000, 40'000}, Vm{200, 5'000, 15'000, 300'000, 500'000}}) {
    for (int vcpu = 0; vcpu < 2; ++vcpu) {
      const int64_t tid = vm.pid + 1 + vcpu;
      world.vcpus[0].push_back(VcpuRecord{0, vcpu, tid, vm.pid, VcpuIdSource::none});
      std::uniform_int_distribution<Timestamp> window(vm.window_min, vm.window_max), gap(vm.gap_min, vm.gap_max);
      for (Timestamp t = kStart + vcpu * 3'000; t < kStart + kDuration;) {
        const Timestamp entry = t, exit = t + window(random);
        host.on_kvm_entry(tid, entry);
        host.on_kvm_exit(tid, exit);
        if (vm.pid == 100) {
          for (Timestamp e = entry + 2'000; e < exit - 2'000; e += 25'000) {
            guest.on_event(vcpu, e);
            if (vcpu == 0)
              for (int extra = 2; extra < guest_cpus; ++extra) guest.on_event(extra, e);
          }
        }
        t = exit + gap(random);
      }
    }
  }
  return world;
}

TEST(GuestMatching, LinksTheGuestToTheVmWhoseWindowsHoldItsEvents) {
  World world = make_world(2);
  const auto diagnostics = link_by_kvm_windows(world.model, world.evidence, world.vcpus, {});
  const FusedMachine& guest = world.model.machine(world.guest);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.front();
  EXPECT_EQ(guest.parent, world.host);
  EXPECT_EQ(guest.vm_pid, 100);
  EXPECT_EQ(guest.match_method, "kvm_windows");
  EXPECT_GE(guest.match_confidence, 0.99);
  // The host is no one's guest: it has no windows to be explained by.
  EXPECT_EQ(world.model.machine(world.host).parent, -1);
}

TEST(GuestMatching, AGuestWithMoreCpusThanAnyVmHasVcpusIsNotLinked) {
  World world = make_world(3);
  const auto diagnostics = link_by_kvm_windows(world.model, world.evidence, world.vcpus, {});
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(world.model.machine(world.guest).parent, -1);
  EXPECT_TRUE(world.model.machine(world.guest).match_method.empty());
}

TEST(GuestMatching, TheGuestVmParameterLinksEvenWhenTheWindowsDisagree) {
  World world = make_world(2);
  // VM 200 explains few of the guest's events (its vCPUs are rarely in guest mode): below 90%,
  // the user's word is taken, with that share as the confidence.
  const auto diagnostics = link_by_kvm_windows(world.model, world.evidence, world.vcpus, {{"guest", 200}});
  const FusedMachine& guest = world.model.machine(world.guest);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(guest.parent, world.host);
  EXPECT_EQ(guest.vm_pid, 200);
  EXPECT_EQ(guest.match_method, "parameter");
  EXPECT_GT(guest.match_confidence, 0.0);
  EXPECT_LT(guest.match_confidence, 0.9);
}

TEST(GuestMatching, TheGuestVmParameterForTheRightVmSynchronizesIt) {
  World world = make_world(2);
  link_by_kvm_windows(world.model, world.evidence, world.vcpus, {{"guest", 100}});
  const FusedMachine& guest = world.model.machine(world.guest);
  EXPECT_EQ(guest.vm_pid, 100);
  EXPECT_EQ(guest.match_method, "parameter");
  EXPECT_GE(guest.match_confidence, 0.99);
}

TEST(GuestMatching, AGuestVmParameterNamingNoVmIsRefused) {
  World world = make_world(2);
  try {
    link_by_kvm_windows(world.model, world.evidence, world.vcpus, {{"guest", 999}});
    FAIL() << "a guest-vm pid that no host runs must be refused";
  } catch (const std::invalid_argument& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find("parameter `guest-vm`: no host trace runs a VM with QEMU pid 999"), std::string::npos) << text;
  }
  EXPECT_EQ(world.model.machine(world.guest).parent, -1);
}

// guest-vm naming no trace, or the host (no other trace runs a VM), is refused.
TEST(GuestMatching, AGuestVmParameterNamingNoTraceOrTheHostIsRefused) {
  World world = make_world(2);
  EXPECT_THROW(link_by_kvm_windows(world.model, world.evidence, world.vcpus, {{"nosuch", 1}}), std::invalid_argument);
  const std::string host = world.model.machine(world.host).trace_name;
  EXPECT_THROW(link_by_kvm_windows(world.model, world.evidence, world.vcpus, {{host, 1}}), std::invalid_argument);
}

// vmsync guests whose host exchanges carry no pid: host thread 31 of process 30 answers the
// guest's exchanges of uid 7.
TEST(VmsyncThreads, TheExchangesThreadGivesTheGuestsVm) {
  FuseModel model;
  const int host = model.add_machine("host", "host", "u0");
  const int guest = model.add_machine("guest", "guest", "u1");
  const int other = model.add_machine("other", "other", "u2");
  model.link_guest(guest, host, kUnknown, "vmsync", 1.0);
  model.link_guest(other, host, 4000, "vmsync", 1.0);  // its VM is known: left alone
  VmsyncThreads threads;
  threads.on_guest_exchange(guest, 7);  // the guest's event may come first...
  threads.on_host_exchange(7, 31);      // ... then the host's
  threads.on_host_exchange(7, 99);      // the first thread of a uid stays
  threads.on_guest_exchange(other, 7);
  threads.resolve(model, [&](int machine, int64_t tid) -> int64_t {
    EXPECT_EQ(machine, host);
    return tid == 31 ? 30 : kUnknown;
  });
  EXPECT_EQ(model.machine(guest).vm_pid, 30);
  EXPECT_EQ(model.machine(other).vm_pid, 4000);
  EXPECT_EQ(model.machine(host).vm_pid, kUnknown);  // no parent
}

TEST(VmsyncThreads, AThreadOfUnknownProcessIsItsOwnVm) {
  FuseModel model;
  const int host = model.add_machine("host", "host", "u0");
  const int guest = model.add_machine("guest", "guest", "u1");
  model.link_guest(guest, host, kUnknown, "vmsync", 1.0);
  VmsyncThreads threads;
  threads.on_host_exchange(7, 31);
  threads.on_guest_exchange(guest, 7);
  threads.on_guest_exchange(guest, 8);  // no host thread for uid 8: the one of uid 7 stays
  threads.on_host_exchange(9, -1);      // no thread known: ignored
  threads.resolve(model, [](int, int64_t) -> int64_t { return kUnknown; });
  EXPECT_EQ(model.machine(guest).vm_pid, -2 - 31);
}

}  // namespace
}  // namespace vm
