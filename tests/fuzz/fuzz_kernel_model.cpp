// SPDX-License-Identifier: MIT
// libFuzzer target: one machine's kernel model (KernelModel, common/kernel/) fed decoded events,
// lost events and the states a fused run adds (the host's view of its vCPUs, the outer layer's
// vCPU threads).

#include "fuzz_events.h"
#include "kernel/kernel_model.h"
#include "kernel/sched_state.h"

namespace {

struct Listener : vm::ThreadStateListener {
  void on_thread_interval(const vm::ThreadInterval& interval) override { VM_FUZZ_CHECK(interval.dur >= 0); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vm;
  fuzz::EventSource source(data, size);
  Listener listener;
  SchedState sched;  // updated before the model, as vm::Run does (common/analysis/run.h)
  KernelModel model(1, sched, listener);
  Event event;
  while (source.more()) {
    switch (source.in().ConsumeIntegralInRange<int>(0, 15)) {
      case 0: {
        const Timestamp ts = source.next_ts();
        const int64_t cpu = source.cpu();
        sched.on_lost_events(cpu);
        model.on_lost_events(ts, cpu);
        break;
      }
      case 1:
      case 2: {
        const VcpuView view = source.in().ConsumeBool() ? VcpuView::host : VcpuView::outer;
        const Timestamp ts = source.next_ts();  // the input read in this order, whatever the compiler's
        const int64_t cpu = source.cpu();        // order of arguments
        model.on_vcpu_state(ts, cpu, view, static_cast<ThreadState>(source.in().ConsumeIntegralInRange<int>(0, 7)));
        break;
      }
      case 3: model.on_kernel_mode(source.next_ts(), source.integer()); break;
      default:
        source.next_event(event);
        sched.on_context(event.ctx);
        sched.on_event(event);
        if (model.on_decoded(event)) (void)cpu_status_name(model.cpu_status(event.ctx.cpu));
        break;
    }
  }
  model.finish(source.next_ts());
  for (const ThreadNamespaces& thread : model.namespaces()) VM_FUZZ_CHECK(thread.levels.size() < (size_t{1} << 20));
  return 0;
}
