// SPDX-License-Identifier: MIT
// libFuzzer target: the wake analysis of one host (WakeModel, common/analysis/wake/) over its host
// analysis (HostAnalysis, whose vCPU tracker says which thread is which vCPU), driven as
// WakeAnalysis drives it: each decoded event reaches the machine's SchedState, then the host
// analysis, then the wake model; lost events; and, for a VM whose guest trace is fused in, the
// guest's interrupt handlers (on_guest_handler).

#include "analysis/wake/wake_model.h"
#include "fuzz_host.h"

namespace {

// What a vcpu_halt row must satisfy: a halt never ends before it starts, and its wake-up latency
// (cause_ts .. ts + dur) splits into two non-negative parts.
void check(const vm::HaltRecord& row) {
  VM_FUZZ_CHECK(row.dur >= 0);
  if (row.cause_ts == vm::kUnknown) return;
  VM_FUZZ_CHECK(row.cause_ts <= row.ts + row.dur);
  VM_FUZZ_CHECK(row.wait_cpu_dur >= 0 && row.vmm_dur >= 0);
  VM_FUZZ_CHECK(row.wait_cpu_dur + row.vmm_dur == row.ts + row.dur - row.cause_ts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vm;
  fuzz::EventSource source(data, size);
  fuzz::Host host;  // the wake model reads its vCPU tracker and its SchedState
  WakeModel wake(host.analysis.vcpus(), host.sched, [](HaltRecord& row) { check(row); });
  // A guest traced in the same run (fused), its QEMU pid from the input.
  const bool fused = source.in().ConsumeBool();
  const int64_t vm_key = fused ? source.integer() : kUnknown;
  if (fused) {
    host.analysis.adopt_vm(vm_key, host.add_guest());
    wake.await_guest(vm_key);
  }
  Event event;
  while (source.more()) {
    switch (source.in().ConsumeIntegralInRange<int>(0, 15)) {
      case 0: {
        const Timestamp begin = source.ts();
        const int64_t cpu = source.cpu();
        (void)source.next_ts();
        host.lose(begin, cpu);
        wake.on_lost_events(cpu);
        break;
      }
      case 1:
        if (fused) {  // the guest's handler on its CPU (a vCPU index)
          const int64_t vcpu = source.cpu();
          const bool irq_line = source.in().ConsumeBool();
          const Timestamp ts = source.next_ts();
          wake.on_guest_handler(vm_key, vcpu, ts, source.text(), irq_line);
        }
        break;
      default:
        source.next_event(event);
        host.feed(event);
        wake.on_event(event);
        break;
    }
  }
  const Timestamp end = source.next_ts();
  host.analysis.finish_at(end);
  wake.finish(end);
  return 0;
}
