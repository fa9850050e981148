// SPDX-License-Identifier: MIT
// libFuzzer target: the host analysis of one machine (HostAnalysis: its vCPU tracker, over the
// machine's SchedState, common/kvm/) fed decoded events, lost events and guest statuses.

#include "fuzz_events.h"
#include "kernel/sched_state.h"
#include "kvm/host_analysis.h"

namespace {

struct Listener : vm::VcpuListener {
  void on_vcpu_interval(const vm::VcpuInterval& interval) override { VM_FUZZ_CHECK(interval.dur >= 0); }
  void on_diagnostic(const std::string& message) override { VM_FUZZ_CHECK(!message.empty()); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vm;
  fuzz::EventSource source(data, size);
  MachineRegistry machines;
  const int64_t host_id = machines.add("host", MachineRole::unknown, kUnknown, 0);
  Listener listener;
  SchedState sched;  // updated before the analysis, as vm::Run does (common/analysis/run.h)
  HostAnalysis host(machines, host_id, sched, listener);
  host.set_trace_name("fuzz");
  if (source.in().ConsumeBool())  // a guest traced in the same run, before any KVM event
    host.adopt_vm(source.integer(), machines.add("guest", MachineRole::unknown, host_id, 1));
  Event event;
  while (source.more()) {
    switch (source.in().ConsumeIntegralInRange<int>(0, 15)) {
      case 0: {
        const Timestamp begin = source.ts();
        (void)source.next_ts();
        sched.on_lost_events(source.cpu());
        host.on_lost_events(begin);
        break;
      }
      case 1:
        host.on_guest_status(source.next_ts(), source.integer(), source.integer(), source.in().ConsumeBool());
        break;
      default:
        source.next_event(event);
        sched.on_context(event.ctx);
        sched.on_event(event);
        host.on_event(event.ctx);
        host.on_decoded(event);
        break;
    }
  }
  host.finish();
  for (const VcpuRecord& vcpu : host.vcpus().vcpus()) VM_FUZZ_CHECK(vcpu.vcpu_id >= 0);
  return 0;
}
