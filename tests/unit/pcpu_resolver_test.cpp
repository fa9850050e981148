// SPDX-License-Identifier: MIT
// PcpuResolver: the L0 CPU under a guest CPU, through one (L1) and two (L2) layers of vCPU
// threads. Hand-built scheduling: L0 (4 CPUs) runs VM 500 (the L1 hypervisor: vCPU 0 = thread
// 501, vCPU 1 = thread 502); L1 runs a process-less vCPU thread 701 as vCPU 0 of the L2 guest.

#include <gtest/gtest.h>

#include "kernel/sched_state.h"
#include "kvm/pcpu_resolver.h"
#include "kvm/vm_key.h"
#include "sched_events.h"

namespace vm {
namespace {

constexpr int kL0 = 0, kL1 = 1, kL2 = 2;

PcpuResolver nested() {
  PcpuResolver resolver;
  resolver.set_machine(kL0, -1, kUnknown);
  resolver.set_machine(kL1, kL0, 500);
  resolver.set_machine(kL2, kL1, vm_key_of_thread(701));
  resolver.add_vcpu(kL0, 500, 0, 501);
  resolver.add_vcpu(kL0, 500, 1, 502);
  resolver.add_vcpu(kL1, vm_key_of_thread(701), 0, 701);
  return resolver;
}

TEST(VmKey, ThreadKeyIsMinusTwoMinusTid) {
  EXPECT_EQ(vm_key_of_thread(0), -2);
  EXPECT_EQ(vm_key_of_thread(701), -703);
  EXPECT_LT(vm_key_of_thread(0), kUnknown);  // never "unknown", never a pid
}

TEST(PcpuResolver, BareMetalCpuIsItself) {
  const PcpuResolver resolver = nested();
  EXPECT_EQ(resolver.physical_cpu(kL0, 2), 2);
}

TEST(PcpuResolver, L1CpuFollowsItsVcpuThread) {
  PcpuResolver resolver = nested();
  EXPECT_EQ(resolver.physical_cpu(kL1, 0), kUnknown);  // thread 501 not seen on a CPU yet
  resolver.on_sched_switch(kL0, 3, 42, 501);
  EXPECT_EQ(resolver.physical_cpu(kL1, 0), 3);
  EXPECT_EQ(resolver.physical_cpu(kL1, 1), kUnknown);  // 502 never ran
  resolver.on_sched_switch(kL0, 3, 501, 42);           // 501 leaves CPU 3
  EXPECT_EQ(resolver.physical_cpu(kL1, 0), kUnknown);
  // A vCPU entry places its thread even without the switch (e.g. the trace began after it).
  resolver.on_vcpu_entry(kL0, 1, 502);
  EXPECT_EQ(resolver.physical_cpu(kL1, 1), 1);
}

// As filter.vm.fuse's pass 2 feeds it: L0's scheduler state resolves the thread of an entry
// without tid context (CPU 2's current thread, 502).
TEST(PcpuResolver, VcpuEntryWithoutTidUsesTheCpusCurrentThread) {
  PcpuResolver resolver = nested();
  SchedState l0;
  l0.on_event(test::sched_switch(10, 2, 42, 0, 502));  // 502 runs on CPU 2
  resolver.on_sched_switch(kL0, 2, 42, 502);
  resolver.on_vcpu_entry(kL0, 0, 501);  // 501 enters guest mode on CPU 0
  EventContext no_tid;
  no_tid.cpu = 2;
  resolver.on_vcpu_entry(kL0, 2, l0.thread_of(no_tid));
  EXPECT_EQ(resolver.physical_cpu(kL1, 0), 0);
  EXPECT_EQ(resolver.physical_cpu(kL1, 1), 2);
}

TEST(PcpuResolver, L2CpuDescendsThroughL1ThenL0) {
  PcpuResolver resolver = nested();
  resolver.on_sched_switch(kL0, 3, 42, 501);  // L1 vCPU 0 on L0 CPU 3
  resolver.on_sched_switch(kL1, 0, 7, 701);   // L2 vCPU 0 on L1 CPU 0
  EXPECT_EQ(resolver.physical_cpu(kL2, 0), 3);
  resolver.on_sched_switch(kL1, 0, 701, 7);  // L2 vCPU 0 off CPU in L1
  EXPECT_EQ(resolver.physical_cpu(kL2, 0), kUnknown);
  resolver.on_sched_switch(kL1, 1, 7, 701);  // now on L1 CPU 1, whose vCPU thread 502 is not on a CPU
  EXPECT_EQ(resolver.physical_cpu(kL2, 0), kUnknown);
  resolver.on_sched_switch(kL0, 1, 42, 502);  // L1 vCPU 1 on L0 CPU 1
  EXPECT_EQ(resolver.physical_cpu(kL2, 0), 1);
  EXPECT_EQ(resolver.physical_cpu(kL2, 5), kUnknown);  // no such vCPU
}

TEST(PcpuResolver, MachinesWithoutVcpusAreNotFollowed) {
  PcpuResolver resolver = nested();
  EXPECT_TRUE(resolver.runs_vcpus(kL0));
  EXPECT_TRUE(resolver.runs_vcpus(kL1));
  EXPECT_FALSE(resolver.runs_vcpus(kL2));
  EXPECT_FALSE(resolver.runs_vcpus(9));
  resolver.on_sched_switch(kL2, 0, 1, 2);  // ignored, no state to grow
  EXPECT_EQ(resolver.physical_cpu(kL2, 0), kUnknown);
}

}  // namespace
}  // namespace vm
