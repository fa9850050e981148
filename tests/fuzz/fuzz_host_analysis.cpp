// SPDX-License-Identifier: MIT
// libFuzzer target: the host analysis of one machine (HostAnalysis: its vCPU tracker, over the
// machine's SchedState, common/kvm/) fed decoded events, lost events and guest statuses.

#include "fuzz_host.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vm;
  fuzz::EventSource source(data, size);
  fuzz::Host host;
  if (source.in().ConsumeBool())  // a guest traced in the same run, before any KVM event
    host.analysis.adopt_vm(source.integer(), host.add_guest());
  Event event;
  while (source.more()) {
    switch (source.in().ConsumeIntegralInRange<int>(0, 15)) {
      case 0: {
        const Timestamp begin = source.ts();
        (void)source.next_ts();
        host.lose(begin, source.cpu());
        break;
      }
      case 1: {  // the input read in this order, whatever the compiler's order of arguments
        const Timestamp ts = source.next_ts();
        const int64_t vm_key = source.integer(), vcpu = source.integer();
        host.analysis.on_guest_status(ts, vm_key, vcpu, source.in().ConsumeBool());
        break;
      }
      default:
        source.next_event(event);
        host.feed(event);
        break;
    }
  }
  host.analysis.finish();
  for (const VcpuRecord& vcpu : host.analysis.vcpus().vcpus()) VM_FUZZ_CHECK(vcpu.vcpu_id >= 0);
  return 0;
}
