// SPDX-License-Identifier: MIT
#pragma once
// VcpuTracker's per-VM and per-vCPU records, shared by its two source files (vcpu_tracker.cpp,
// nested_layers.cpp). Not part of the interface.

#include <set>
#include <vector>

#include "kvm/vcpu_tracker.h"

namespace vm {

struct VcpuTracker::Vm {
  int64_t machine_id = 0;
  int64_t pid = kUnknown;
  std::set<int64_t> used_ids;  // sparse: an id comes from a trace field, never size anything by it
  // Nested virtualization: the VM runs its own hypervisor (nested events, or VMRUN /
  // VMLAUNCH / VMRESUME exits), and which nested exit events its vCPUs showed.
  bool hypervisor = false;
  bool saw_nested_exit = false, saw_nested_inject = false;
  bool uses(int64_t id) const { return used_ids.count(id) != 0; }
  void take(int64_t id) { used_ids.insert(id); }
  int64_t first_free() const {
    int64_t id = 0;
    while (uses(id)) ++id;
    return id;
  }
};

// Where a vCPU of an L1 hypervisor is (common/kvm/nested_layers.cpp).
struct NestedVcpu {
  int8_t layer = kLayerUnknown;  // now: 1 or 2; unknown until an event tells (its rows wait)
  bool in_l2_exit = false;       // an exit of layer 2 (or of an unknown layer) awaits its fate
  bool vmrun_exit = false;       // the exit being handled is VMRUN / VMLAUNCH / VMRESUME
  bool entry_events = false;     // this vCPU's trace has nested entry events
  // The exit being handled: its layer, fate and reason (a vmm row resumed after a preemption
  // takes them).
  int8_t handled_layer = kLayerUnknown;
  NestedExitTo handled_to = NestedExitTo::none;
  int64_t exit_reason = kUnknown;
  VirtIsa exit_isa = VirtIsa::unknown;
  int64_t nested_reason = kUnknown;
  VirtIsa nested_isa = VirtIsa::unknown;
};

struct VcpuTracker::Vcpu {
  int64_t tid = kUnknown;
  Vm* vm = nullptr;  // weak; owned by VcpuTracker::vms_
  int64_t vcpu_id = kUnknown;
  VcpuIdSource id_source = VcpuIdSource::none;
  int64_t entry_field = kUnknown;  // first kvm_entry.vcpu_id seen
  bool alive = true;
  VcpuInterval open;                                // the ongoing interval; `dur` unused
  int64_t handled_exit = kUnknown;                  // reason of the exit being handled (cleared by entry)
  GuestStatus guest_status = GuestStatus::unknown;  // from the guest's trace (fused runs)
  VirtIsa handled_isa = VirtIsa::unknown;
  NestedVcpu nested;
  // Closed intervals waiting for vcpu_id, or for their nested layer or exit fate, in order.
  std::vector<VcpuInterval> pending;
};

}  // namespace vm
