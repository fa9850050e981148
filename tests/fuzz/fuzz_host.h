// SPDX-License-Identifier: MIT
#pragma once
// One traced host as vm::Run drives it (common/analysis/run.h): each decoded event updates the
// machine's SchedState first, then reaches its HostAnalysis. For the targets that fuzz the host
// analysis and what builds on it.

#include <string>

#include "fuzz_events.h"
#include "kernel/sched_state.h"
#include "kvm/host_analysis.h"

namespace vm::fuzz {

struct Host : VcpuListener {
  Host() : id(machines.add("host", MachineRole::unknown, kUnknown, 0)), analysis(machines, id, sched, *this) {
    analysis.set_trace_name("fuzz");
  }
  void on_vcpu_interval(const VcpuInterval& interval) override { VM_FUZZ_CHECK(interval.dur >= 0); }
  void on_diagnostic(const std::string& message) override { VM_FUZZ_CHECK(!message.empty()); }

  // A guest traced in the same run, a VM of this host: its machine id.
  int64_t add_guest() { return machines.add("guest", MachineRole::unknown, id, 1); }
  void feed(const Event& event) {
    sched.on_context(event.ctx);
    sched.on_event(event);
    analysis.on_event(event.ctx);
    analysis.on_decoded(event);
  }
  // Events lost on `cpu` from `begin` on.
  void lose(Timestamp begin, int64_t cpu) {
    sched.on_lost_events(cpu);
    analysis.on_lost_events(begin);
  }

  MachineRegistry machines;
  int64_t id;
  SchedState sched;
  HostAnalysis analysis;
};

}  // namespace vm::fuzz
