// SPDX-License-Identifier: MIT
// FusedCpuModel: what runs on a physical CPU, from hand-derived scenarios.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "analysis/cpu_state/fused_cpu_model.h"
#include "sched_events.h"

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

// A sched_switch to `next_tid` as a run delivers it: the machine's scheduler state first, then
// the model.
void switch_to(FusedCpuModel& model, int layer, SchedState& sched, Timestamp ts, int64_t cpu, int64_t next_tid) {
  sched.on_event(test::sched_switch(ts, cpu, kUnknown, 0, next_tid));
  model.on_switch(layer, ts, cpu, CpuStatus::running);
}

// Host machine 1 runs VM machine 2 (QEMU pid 500) whose guest trace is fused in. Host CPU 0:
// thread 7 until 10, then vCPU thread 501 (kvm_entry at 20 for vCPU 0), exit at 50. The guest's
// vCPU 0 runs its thread 42 from 30. Hand-derived rows: [0,10) host/7, [10,20) host/501,
// [20,30) guest vCPU 0 thread unknown, [30,50) guest/42, [50,60) host/501.
TEST(FusedCpuModel, HostCpuShowsTheGuestThreadInsideTheVm) {
  Rows rows;
  FusedCpuModel model(rows);
  SchedState host_sched, guest_sched;
  const int host = model.add_layer(1, host_sched);
  const int guest = model.add_layer(2, guest_sched);
  model.set_guest_of(guest, host, 500);
  switch_to(model, host, host_sched, 0, 0, 7);
  switch_to(model, host, host_sched, 10, 0, 501);
  model.on_kvm_entry(host, 20, 0, 500, 2, 0);
  switch_to(model, guest, guest_sched, 30, 0, 42);
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
  SchedState sched;
  const int host = model.add_layer(1, sched);
  switch_to(model, host, sched, 0, 1, 501);
  model.on_kvm_entry(host, 5, 1, 500, 3, 2);
  model.finish(9);
  EXPECT_EQ(rows.rows, (std::vector<std::string>{"0+5 cpu1 m1 v-1 t501 out", "5+4 cpu1 m3 v2 t-1 in"}));
}

// Lost events on a CPU: what ran there is unknown (thread -1, out of any VM) until its next
// sched_switch says; nothing is fabricated across the gap.
TEST(FusedCpuModel, LostEventsMakeTheCpuUnknownUntilTheNextSwitch) {
  Rows rows;
  FusedCpuModel model(rows);
  SchedState sched;
  const int host = model.add_layer(1, sched);
  switch_to(model, host, sched, 0, 0, 501);
  model.on_kvm_entry(host, 10, 0, 500, 2, 0);
  sched.on_lost_events(0);  // as Run::on_lost_events: the state first, then the analyses
  model.on_lost_events(host, 30, 0);
  switch_to(model, host, sched, 40, 0, 8);
  model.finish(50);
  EXPECT_EQ(rows.rows, (std::vector<std::string>{"0+10 cpu0 m1 v-1 t501 out", "10+20 cpu0 m2 v0 t-1 in",
                                                 "30+10 cpu0 m1 v-1 t-1 out", "40+10 cpu0 m1 v-1 t8 out"}));
}

}  // namespace
}  // namespace vm
