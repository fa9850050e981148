// SPDX-License-Identifier: MIT
// libFuzzer target: one machine's kernel model (KernelModel, common/kernel/) fed decoded events,
// lost events and the states a fused run adds (the host's view of its vCPUs, the outer layer's
// vCPU threads).

#include "fuzz_events.h"
#include "kernel/kernel_model.h"

namespace {

struct Listener : vm::ThreadStateListener {
  void on_thread_interval(const vm::ThreadInterval& interval) override { VM_FUZZ_CHECK(interval.dur >= 0); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vm;
  fuzz::EventSource source(data, size);
  Listener listener;
  KernelModel model(1, listener);
  Event event;
  while (source.more()) {
    switch (source.in().ConsumeIntegralInRange<int>(0, 15)) {
      case 0: model.on_lost_events(source.next_ts(), source.cpu()); break;
      case 1:
        model.on_host_vcpu_state(source.next_ts(), source.cpu(),
                                 static_cast<VcpuState>(source.in().ConsumeIntegralInRange<int>(0, 4)));
        break;
      case 2:
        model.on_outer_vcpu_thread_state(source.next_ts(), source.cpu(),
                                         static_cast<ThreadState>(source.in().ConsumeIntegralInRange<int>(0, 7)));
        break;
      case 3: model.on_kernel_mode(source.next_ts(), source.integer()); break;
      default:
        source.next_event(event);
        if (model.on_decoded(event)) (void)cpu_status_name(model.cpu_status(event.ctx.cpu));
        break;
    }
  }
  model.finish(source.next_ts());
  for (const ThreadNamespaces& thread : model.namespaces()) VM_FUZZ_CHECK(thread.levels.size() < (size_t{1} << 20));
  return 0;
}
