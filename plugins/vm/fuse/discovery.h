// SPDX-License-Identifier: MIT
#pragma once
// Pass 1 of filter.vm.fuse, as a step of its own: it consumes every input message once, in raw
// time order, and learns the machines (their roles and the VMs they run), how the guests link to
// their VMs (vmsync, KVM windows, the guest-vm parameter) and the sync points; finish() solves
// the clock transforms and yields the model and what pass 2 needs to place vCPUs.
//
// One input trace, or a previous run's model (sync="FILE"), needs no pass 1: take_model() then
// hands over the machines as met.

#include <babeltrace2/babeltrace.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "event_reader.h"
#include "fuse/fuse_component.h"
#include "sync/fuse_model.h"
#include "kvm/host_analysis.h"
#include "kvm/guest_matching.h"
#include "kvm/pcpu_resolver.h"
#include "base/machine_registry.h"
#include "kernel/sched_state.h"

namespace vm::fuse {

class Discovery {
 public:
  explicit Discovery(const Component& component) : component_(component) {}
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // A trace met for the first time: its machine index.
  // `lttng_trace_name`: its `trace_name` environment entry.
  int add_machine(const std::string& trace_name, const std::string& hostname, const std::string& clock_uuid,
                  const std::string& lttng_trace_name);
  size_t size() const { return model_.size(); }

  // One event message of pass 1 (in raw time order), of machine `machine`.
  void on_event(const bt_message* message, int machine, int64_t cpu, const bt::StreamFields& stream,
                const bt::EventFields& fields);

  struct Result {
    FuseModel model;                       // solved: links, layers, transforms
    PcpuResolver pcpus;                    // every host's vCPU threads, every machine's place
    std::vector<std::string> diagnostics;  // worth a warning, in order
  };
  // After the last message: guest matching, then the transforms (parameters `sync`, `reference`).
  Result finish();
  // The same on what was read so far, which stays: more events may come (one-pass's lead window,
  // to see whether it is long enough).
  Result solve_so_far() const;
  // The machines met so far, unsolved.
  FuseModel take_model() { return std::move(model_); }

 private:
  // Discards vCPU intervals: pass 1 only needs the vCPU records (tid -> VM, index).
  class NullListener final : public VcpuListener {
   public:
    void on_vcpu_interval(const VcpuInterval&) override {}
    void on_diagnostic(const std::string&) override {}
  };

  // One machine: its scheduler state (updated here, once per event) and its vCPU analysis.
  struct Machine {
    Machine(MachineRegistry& registry, int64_t id, VcpuListener& listener) : host(registry, id, sched, listener) {}
    SchedState sched;
    HostAnalysis host;
  };

  std::vector<std::string> link_guests(FuseModel& model) const;  // by KVM windows; diagnostics
  Result solve(FuseModel model, std::vector<std::string> diagnostics) const;  // the transforms
  // `tid`: the thread the event happened in.
  void record_evidence(int machine, const Event& event, int64_t tid);

  const Component& component_;
  FuseModel model_;
  MachineRegistry registry_;  // HostAnalysis bookkeeping
  NullListener null_listener_;
  std::vector<std::unique_ptr<Machine>> machines_;       // per machine: threads and vCPU records
  std::vector<GuestEvidence> evidence_;                  // per machine
  VmsyncThreads vmsync_threads_;                         // host thread of each guest's vmsync exchanges
  Event decoded_;                                        // the event being read, decoded once
};

}  // namespace vm::fuse
