// SPDX-License-Identifier: MIT
// libFuzzer target: the fused per-physical-CPU model (FusedCpuModel,
// common/analysis/cpu_state/) over three layers (a host, its guest, the guest's nested guest),
// driven as CpuStateAnalysis drives it: each layer's decoded events go through its kernel model
// and its host analysis, which tell the fused model what each CPU does and which vCPU a KVM entry
// runs; the host's vCPU states reach the guest's kernel model.

#include <memory>

#include "analysis/cpu_state/fused_cpu_model.h"
#include "analysis/kernel/kernel_analysis.h"
#include "fuzz_events.h"
#include "kvm/host_analysis.h"

namespace {

using namespace vm;

struct Listeners : VcpuListener, ThreadStateListener, CpuListener {
  void on_vcpu_interval(const VcpuInterval& interval) override { VM_FUZZ_CHECK(interval.dur >= 0); }
  void on_diagnostic(const std::string&) override {}
  void on_thread_interval(const ThreadInterval& interval) override { VM_FUZZ_CHECK(interval.dur >= 0); }
  void on_cpu_interval(const CpuInterval& interval) override { VM_FUZZ_CHECK(interval.dur >= 0); }
};

constexpr int kLayers = 3;

// The host's vCPU states, told to the kernel model of the guest that is that VM.
struct VcpuToGuest : VcpuStateObserver {
  int64_t guest_machine_id = 0;
  KernelModel* guest = nullptr;
  void on_vcpu_state(int64_t vm_machine_id, int64_t vcpu_id, Timestamp ts, VcpuState state) override {
    if (vm_machine_id != guest_machine_id) return;
    // As KernelAnalysis relays it (common/analysis/kernel/).
    guest->on_vcpu_state(ts, vcpu_id, VcpuView::host, guest_thread_state(state));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::EventSource source(data, size);
  Listeners listeners;
  MachineRegistry machines;
  FusedCpuModel cpus(listeners);
  SchedState scheds[kLayers];  // each machine's, updated first, as vm::Run does
  std::unique_ptr<HostAnalysis> hosts[kLayers];
  std::unique_ptr<KernelModel> kernels[kLayers];
  VcpuToGuest to_guest[kLayers];
  int layers[kLayers];
  int64_t parent = kUnknown;
  for (int l = 0; l < kLayers; ++l) {
    const int64_t id = machines.add("m" + std::to_string(l), MachineRole::unknown, parent, l);
    hosts[l] = std::make_unique<HostAnalysis>(machines, id, scheds[l], listeners);
    kernels[l] = std::make_unique<KernelModel>(id, scheds[l], listeners);
    layers[l] = cpus.add_layer(id, scheds[l]);
    if (l > 0) {  // layer l is a VM of layer l - 1, its QEMU pid from the input
      const int64_t vm_key = source.integer();
      hosts[l - 1]->adopt_vm(vm_key, id);
      cpus.set_guest_of(layers[l], layers[l - 1], vm_key);
      to_guest[l - 1].guest_machine_id = id;
      to_guest[l - 1].guest = kernels[l].get();
      hosts[l - 1]->set_vcpu_observer(&to_guest[l - 1]);
    }
    parent = id;
  }
  cpus.set_start(0);
  Event event;
  while (source.more()) {
    const int l = source.in().ConsumeIntegralInRange<int>(0, kLayers - 1);
    if (source.in().ConsumeIntegralInRange<int>(0, 15) == 0) {
      const Timestamp begin = source.ts();
      const int64_t cpu = source.cpu();
      (void)source.next_ts();
      scheds[l].on_lost_events(cpu);
      hosts[l]->on_lost_events(begin);
      kernels[l]->on_lost_events(begin, cpu);
      cpus.on_lost_events(layers[l], begin, cpu);
      continue;
    }
    source.next_event(event);
    const EventContext& ctx = event.ctx;
    scheds[l].on_context(ctx);
    scheds[l].on_event(event);
    hosts[l]->on_event(ctx);
    hosts[l]->on_decoded(event);
    const bool changed = kernels[l]->on_decoded(event);
    if (changed && event.kind != EventKind::sched_switch)
      cpus.on_status(layers[l], ctx.ts, ctx.cpu, kernels[l]->cpu_status(ctx.cpu));
    switch (event.kind) {
      case EventKind::sched_switch:
        cpus.on_switch(layers[l], ctx.ts, ctx.cpu, kernels[l]->cpu_status(ctx.cpu));
        break;
      case EventKind::kvm_entry: {
        VcpuTracker::VcpuOfThread vcpu;
        if (hosts[l]->vcpus().describe(event.tid, vcpu))
          cpus.on_kvm_entry(layers[l], ctx.ts, ctx.cpu, vcpu.vm_key, vcpu.machine_id, vcpu.vcpu_id);
        break;
      }
      case EventKind::kvm_exit: cpus.on_kvm_exit(layers[l], ctx.ts, ctx.cpu); break;
      default: break;
    }
  }
  const Timestamp end = source.next_ts();
  for (int l = 0; l < kLayers; ++l) {
    hosts[l]->finish_at(end);
    kernels[l]->finish(end);
  }
  cpus.finish(end);
  return 0;
}
