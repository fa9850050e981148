// SPDX-License-Identifier: MIT
// FusedCpuModel: what runs on a physical CPU, from hand-derived scenarios.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "analysis/cpu_state/fused_cpu_model.h"

namespace vm {
namespace {

class Rows : public CpuListener {
 public:
  void on_cpu_interval(const CpuInterval& i) override {
    rows.push_back(std::to_string(i.ts) + "+" + std::to_string(i.dur) + " cpu" + std::to_string(i.pcpu) + " m" +
                   std::to_string(i.machine_id) + " v" + std::to_string(i.vcpu_id) + " t" + std::to_string(i.tid) +
                   (i.in_vm ? " in" : " out"));
  }
  std::vector<std::string> rows;
};

// Host machine 1 runs VM machine 2 (QEMU pid 500) whose guest trace is fused in. Host CPU 0:
// thread 7 until 10, then vCPU thread 501 (kvm_entry at 20 for vCPU 0), exit at 50. The guest's
// vCPU 0 runs its thread 42 from 30. Hand-derived rows: [0,10) host/7, [10,20) host/501,
// [20,30) guest vCPU 0 thread unknown, [30,50) guest/42, [50,60) host/501.
TEST(FusedCpuModel, HostCpuShowsTheGuestThreadInsideTheVm) {
  Rows rows;
  FusedCpuModel model(rows);
  const int host = model.add_layer(1);
  const int guest = model.add_layer(2);
  model.set_guest_of(guest, host, 500);
  model.on_switch(host, 0, 0, 7, CpuStatus::running);
  model.on_switch(host, 10, 0, 501, CpuStatus::running);
  model.on_kvm_entry(host, 20, 0, 500, 2, 0);
  model.on_switch(guest, 30, 0, 42, CpuStatus::running);
  model.on_kvm_exit(host, 50, 0);
  model.finish(60);
  const std::vector<std::string> expected = {"0+10 cpu0 m1 v-1 t7 out", "10+10 cpu0 m1 v-1 t501 out",
                                             "20+10 cpu0 m2 v0 t-1 in", "30+20 cpu0 m2 v0 t42 in",
                                             "50+10 cpu0 m1 v-1 t501 out"};
  EXPECT_EQ(rows.rows, expected);
}

// Without the guest's trace, inside the VM only the VM and vCPU are known.
TEST(FusedCpuModel, UntracedVmShowsItsVcpuOnly) {
  Rows rows;
  FusedCpuModel model(rows);
  const int host = model.add_layer(1);
  model.on_switch(host, 0, 1, 501, CpuStatus::running);
  model.on_kvm_entry(host, 5, 1, 500, 3, 2);
  model.finish(9);
  EXPECT_EQ(rows.rows, (std::vector<std::string>{"0+5 cpu1 m1 v-1 t501 out", "5+4 cpu1 m3 v2 t-1 in"}));
}

// Lost events on a CPU: what ran there is unknown (thread -1, out of any VM) until its next
// sched_switch says; nothing is fabricated across the gap.
TEST(FusedCpuModel, LostEventsMakeTheCpuUnknownUntilTheNextSwitch) {
  Rows rows;
  FusedCpuModel model(rows);
  const int host = model.add_layer(1);
  model.on_switch(host, 0, 0, 501, CpuStatus::running);
  model.on_kvm_entry(host, 10, 0, 500, 2, 0);
  model.on_lost_events(host, 30, 0);
  model.on_switch(host, 40, 0, 8, CpuStatus::running);
  model.finish(50);
  EXPECT_EQ(rows.rows, (std::vector<std::string>{"0+10 cpu0 m1 v-1 t501 out", "10+20 cpu0 m2 v0 t-1 in",
                                                 "30+10 cpu0 m1 v-1 t-1 out", "40+10 cpu0 m1 v-1 t8 out"}));
}

}  // namespace
}  // namespace vm
