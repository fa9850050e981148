// SPDX-License-Identifier: MIT
// Nested virtualization seen from the L0 host alone: which layer's code a vCPU of an L1
// hypervisor runs, and what becomes of each exit of its nested (L2) guest.
//
// KVM emulates nested SVM and VMX on L0 (Linux's arch/x86/kvm/svm/nested.c, vmx/nested.c; event
// layouts of lttng-modules' instrumentation/events/arch/x86/kvm/trace.h):
//   L1 executes VMRUN (SVM) or VMLAUNCH/VMRESUME (VMX): kvm_x86_exit with that reason, then
//     kvm_x86_nested_vmenter (kvm_nested_vmrun on older kernels, SVM only), then kvm_x86_entry
//     enters L2;
//   L2 exits: kvm_x86_exit (its reason), then kvm_x86_nested_vmexit; either L0 handles it and the
//     next kvm_x86_entry re-enters L2, or L0 reflects it: kvm_x86_nested_vmexit_inject (the reason
//     L1 receives), and the next kvm_x86_entry enters L1.
// So a row's layer is told by the nested events, and what is not told yet waits: from the trace
// start (or lost events) until the first nested entry (then it was L1), nested exit or reflection
// (then it was L2), or an exit followed by an entry without a nested exit (then it was L1); and an
// exit of L2 waits until its reflection (L1) or the next entry (L0). Both waits end within one
// exit of the vCPU, so few rows wait.

#include <algorithm>
#include <string>
#include <vector>

#include "kvm/vcpu_tracker_internal.h"

namespace vm {

namespace {

// L1 enters its nested guest with this exit (SVM: VMRUN, 0x80; VMX: VMLAUNCH 20, VMRESUME 24).
bool is_nested_entry_exit(int64_t reason, VirtIsa isa) {
  return (isa == VirtIsa::svm && reason == 0x80) || (isa == VirtIsa::vmx && (reason == 20 || reason == 24));
}

}  // namespace

const char* nested_exit_to_name(NestedExitTo to) {
  switch (to) {
    case NestedExitTo::l0: return "L0";
    case NestedExitTo::l1: return "L1";
    case NestedExitTo::none:
    case NestedExitTo::undecided: break;
  }
  return nullptr;
}

void VcpuTracker::release(Vcpu& vcpu) {
  if (vcpu.vcpu_id < 0) return;
  size_t done = 0;
  for (; done < vcpu.pending.size(); ++done) {
    VcpuInterval& interval = vcpu.pending[done];
    if (interval.guest_layer == kLayerUndecided || interval.nested_exit_to == NestedExitTo::undecided) break;
    interval.vcpu_id = vcpu.vcpu_id;
    listener_.on_vcpu_interval(interval);
  }
  vcpu.pending.erase(vcpu.pending.begin(), vcpu.pending.begin() + static_cast<std::ptrdiff_t>(done));
  if (vcpu.pending.empty()) vcpu.pending.shrink_to_fit();
}

void VcpuTracker::decide_layer(Vcpu& vcpu, int8_t layer) {
  for (VcpuInterval& interval : vcpu.pending)
    if (interval.guest_layer == kLayerUndecided) interval.guest_layer = layer;
  if (vcpu.open.guest_layer == kLayerUndecided) vcpu.open.guest_layer = layer;
  if (vcpu.nested.handled_layer == kLayerUndecided) vcpu.nested.handled_layer = layer;
  vcpu.nested.layer = layer;
}

void VcpuTracker::decide_exit(Vcpu& vcpu, NestedExitTo to, int64_t reason, VirtIsa isa) {
  auto decide = [&](VcpuInterval& interval) {
    if (interval.nested_exit_to != NestedExitTo::undecided) return;
    interval.nested_exit_to = to;
    interval.nested_exit_reason = to == NestedExitTo::none ? kUnknown : reason;
    interval.nested_isa = to == NestedExitTo::none ? VirtIsa::unknown : isa;
  };
  for (VcpuInterval& interval : vcpu.pending) decide(interval);
  decide(vcpu.open);
  NestedVcpu& nested = vcpu.nested;
  if (nested.handled_to == NestedExitTo::undecided) {
    nested.handled_to = to;
    nested.nested_reason = to == NestedExitTo::none ? kUnknown : reason;
    nested.nested_isa = to == NestedExitTo::none ? VirtIsa::unknown : isa;
  }
  nested.in_l2_exit = false;
}

// Lost events, the thread's end or the trace's: what was not told stays unknown.
void VcpuTracker::forget_nested(Vcpu& vcpu) {
  decide_layer(vcpu, kLayerUnknown);
  decide_exit(vcpu, NestedExitTo::none, kUnknown, VirtIsa::unknown);
  vcpu.nested.vmrun_exit = false;
  vcpu.nested.handled_layer = kLayerUnknown;
  vcpu.nested.handled_to = NestedExitTo::none;
  release(vcpu);
}

void VcpuTracker::nested_at_exit(Vcpu& vcpu, int64_t exit_reason, VirtIsa isa) {
  NestedVcpu& nested = vcpu.nested;
  VcpuInterval& open = vcpu.open;  // the vmm row this exit began; its layer is the exiting one
  if (nested.layer != 1) {
    // An exit of L2, or of a layer not told yet: L0 handles it, or reflects it to L1.
    open.nested_exit_to = NestedExitTo::undecided;
    nested.in_l2_exit = true;
  }
  nested.handled_layer = open.guest_layer;
  nested.handled_to = open.nested_exit_to;
  nested.nested_reason = kUnknown;
  nested.nested_isa = VirtIsa::unknown;
  nested.exit_reason = exit_reason;
  nested.exit_isa = isa;
  nested.vmrun_exit = is_nested_entry_exit(exit_reason, isa);
  if (nested.vmrun_exit) vcpu.vm->hypervisor = true;
}

void VcpuTracker::nested_resume(Vcpu& vcpu) {
  // Back on a CPU, the thread resumes the exit it was handling: that exit's layer and fate.
  const NestedVcpu& nested = vcpu.nested;
  vcpu.open.guest_layer = nested.handled_layer == kLayerUnknown && nested.layer != kLayerUnknown
                              ? nested.layer
                              : nested.handled_layer;
  if (vcpu.open.guest_layer == kLayerUnknown) vcpu.open.guest_layer = kLayerUndecided;
  vcpu.open.nested_exit_to = nested.handled_to;
  vcpu.open.nested_exit_reason = nested.nested_reason;
  vcpu.open.nested_isa = nested.nested_isa;
}

void VcpuTracker::nested_at_entry(Vcpu& vcpu) {
  NestedVcpu& nested = vcpu.nested;
  if (nested.in_l2_exit) {
    if (nested.layer == kLayerUnknown) {
      // An exit of L2 is followed by kvm_x86_nested_vmexit before any entry: this one was L1's.
      decide_layer(vcpu, 1);
      decide_exit(vcpu, NestedExitTo::none, kUnknown, VirtIsa::unknown);
    } else {
      // Not reflected: L0 handled it and re-enters L2.
      decide_exit(vcpu, NestedExitTo::l0, nested.exit_reason, nested.exit_isa);
    }
  }
  // Without nested entry events (VMX kernels before kvm_nested_vmenter), the entry that follows
  // L1's VMLAUNCH / VMRESUME enters L2.
  if (nested.vmrun_exit && !nested.entry_events && nested.layer == 1) nested.layer = 2;
  nested.vmrun_exit = false;
  nested.handled_layer = kLayerUnknown;
  nested.handled_to = NestedExitTo::none;
  release(vcpu);
}

void VcpuTracker::on_nested_vmenter(Timestamp, int64_t tid) {
  Vcpu* vcpu = find(tid);
  if (!vcpu) return;  // the thread's first entry or exit tells the rest
  NestedVcpu& nested = vcpu->nested;
  vcpu->vm->hypervisor = true;
  nested.entry_events = true;
  if (nested.layer == kLayerUnknown) decide_layer(*vcpu, 1);  // only L1 enters L2
  // The exit being handled is L1's (its VMRUN / VMRESUME), whatever was believed.
  if (nested.in_l2_exit) decide_exit(*vcpu, NestedExitTo::none, kUnknown, VirtIsa::unknown);
  nested.layer = 2;
  nested.vmrun_exit = false;
  release(*vcpu);
}

void VcpuTracker::on_nested_vmexit(Timestamp, int64_t tid, int64_t exit_code, VirtIsa isa) {
  Vcpu* vcpu = find(tid);
  if (!vcpu) return;
  NestedVcpu& nested = vcpu->nested;
  vcpu->vm->hypervisor = true;
  vcpu->vm->saw_nested_exit = true;
  if (nested.layer == kLayerUnknown) decide_layer(*vcpu, 2);
  if (nested.layer == 1 && vcpu->open.state == VcpuState::vmm && vcpu->open.begin_event == BeginEvent::kvm_exit) {
    // The nested entry was missed (lost, or not recorded): this exit is L2's after all.
    diagnose_once("nested-exit-in-l1-" + std::to_string(vcpu->vm->machine_id),
                  "a nested guest's exit (kvm_x86_nested_vmexit) on VM machine " +
                      std::to_string(vcpu->vm->machine_id) +
                      " came while its vCPU was believed in L1: a nested entry was not recorded. Record them "
                      "with: lttng enable-event --kernel 'kvm_x86_nested_*'");
    nested.layer = 2;
    vcpu->open.guest_layer = 2;
    vcpu->open.nested_exit_to = NestedExitTo::undecided;
    nested.handled_layer = 2;
    nested.handled_to = NestedExitTo::undecided;
    nested.in_l2_exit = true;
  }
  // kvm_x86_exit already gave the reason (the same hardware exit); the nested event's fields are
  // garbage with some lttng-modules/kernel pairs (a stale probe prototype), so they only fill in.
  if (nested.exit_reason < 0 && exit_code >= 0 && isa != VirtIsa::unknown) {
    nested.exit_reason = exit_code;
    nested.exit_isa = isa;
  }
}

void VcpuTracker::on_nested_vmexit_inject(Timestamp, int64_t tid, int64_t exit_code, VirtIsa isa) {
  Vcpu* vcpu = find(tid);
  if (!vcpu) return;
  NestedVcpu& nested = vcpu->nested;
  vcpu->vm->hypervisor = true;
  vcpu->vm->saw_nested_inject = true;
  if (nested.layer == kLayerUnknown) decide_layer(*vcpu, 2);
  // The reason L1 receives (KVM may synthesize one, e.g. an external interrupt for L1).
  const int64_t reason = exit_code >= 0 ? exit_code : nested.exit_reason;
  const VirtIsa named = isa != VirtIsa::unknown ? isa : nested.exit_isa;
  if (nested.in_l2_exit) decide_exit(*vcpu, NestedExitTo::l1, reason, named);
  nested.layer = 1;
  nested.vmrun_exit = false;
  release(*vcpu);
}

// The VMs that run a nested guest, and those among them whose layers the trace cannot tell.
void VcpuTracker::finish_nested() {
  undecidable_layer_vms_.clear();
  nested_hypervisors_.clear();
  std::vector<const Vm*> hypervisors;
  for (const auto& entry : vms_)
    if (entry.second->hypervisor) hypervisors.push_back(entry.second.get());
  std::sort(hypervisors.begin(), hypervisors.end(),
            [](const Vm* a, const Vm* b) { return a->machine_id < b->machine_id; });
  for (const Vm* vm : hypervisors) {
    nested_hypervisors_.push_back(vm->machine_id);
    if (vm->saw_nested_exit && vm->saw_nested_inject) continue;
    undecidable_layer_vms_.push_back(vm->machine_id);
    std::string missing = vm->saw_nested_exit ? "kvm_x86_nested_vmexit_inject"
                          : vm->saw_nested_inject ? "kvm_x86_nested_vmexit"
                                                  : "kvm_x86_nested_vmexit and kvm_x86_nested_vmexit_inject";
    listener_.on_diagnostic("VM machine " + std::to_string(vm->machine_id) +
                            " runs its own hypervisor (a nested guest), but the trace has no " + missing +
                            " events: when its vCPUs run the nested guest is unknown, so vcpu_state.guest_layer "
                            "is NULL for it. Record them with: lttng enable-event --kernel 'kvm_x86_nested_*'  "
                            "(lttng-modules < 2.8 names them kvm_nested_*: lttng enable-event --kernel "
                            "'kvm_nested_*')");
  }
}

}  // namespace vm
