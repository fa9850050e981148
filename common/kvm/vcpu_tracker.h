// SPDX-License-Identifier: MIT
#pragma once
// Host-side vCPU state machine (Gebai's states, host-only as in Nemati's analysis): from one
// host's KVM and scheduler events, the state of every vCPU thread at every instant.
//
//   guest      between kvm_x86_entry and the next kvm_x86_exit of the vCPU thread
//   vmm        in the hypervisor after an exit (KVM in the kernel, or QEMU in user space),
//              with the reason of the exit being handled
//   preempted  the thread is runnable but not on a CPU; `preempting_tid` is the host thread
//              that took (or holds) the CPU
//   idle       the thread sleeps (typically after a HLT exit)
//   unknown    before the first event that tells, and after lost events until the next one
//
// A vCPU thread is recognised by the KVM events it emits. Its VM is its process (the QEMU pid).
// Its vCPU index comes, in order of trust, from kvm_x86_exit.vcpu_id, kvm_x86_entry.vcpu_id
// (garbage with lttng-modules <= 2.13 on kernels >= 5.10: a stale probe prototype records the
// low bits of a pointer), the QEMU thread name "CPU n/KVM", or the order of first appearance.
// Intervals wait in a tiny per-vCPU buffer until the index is decided (at the vCPU's first exit).

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kvm/exit_reasons.h"
#include "base/machine_registry.h"
#include "kernel/sched_state.h"
#include "base/types.h"

namespace vm {

enum class VcpuState : uint8_t { unknown, guest, vmm, preempted, idle };
const char* state_name(VcpuState state);

// What the guest's own trace says of the vCPU (fused runs): its scheduler runs a thread
// (`running`) or its idle task (`idle`). Combined with the host's state this is Gebai's vCPU
// status: e.g. vmm + running = "the guest believed it was running, but the vCPU was in the
// hypervisor".
enum class GuestStatus : uint8_t { unknown, running, idle };
const char* guest_status_name(GuestStatus status);  // nullptr for unknown

// The event that began an interval. Lets SQL count exits (`vmm` rows begun by `kvm_exit`) apart
// from the hypervisor time that resumes after a preemption.
enum class BeginEvent : uint8_t {
  trace_start,
  kvm_entry,
  kvm_exit,
  sched_switch,
  sched_wakeup,
  lost_events,
  guest_switch
};
const char* begin_event_name(BeginEvent event);

enum class VcpuIdSource : uint8_t { none, kvm_exit_field, kvm_entry_field, thread_name, first_seen };
const char* vcpu_id_source_name(VcpuIdSource source);

// Nested virtualization (common/kvm/nested_layers.cpp): whose code a vCPU of an L1 hypervisor runs.
// `guest_layer` of a row: 1 the VM's own code, 2 its nested guest's; kLayerUnknown is NULL.
constexpr int8_t kLayerUnknown = 0;
constexpr int8_t kLayerUndecided = -1;  // not told yet: the row waits (never written)
// What became of an exit of the nested guest: L0 handled it and re-entered the nested guest, or
// reflected it to the L1 hypervisor.
enum class NestedExitTo : uint8_t { none, undecided, l0, l1 };
const char* nested_exit_to_name(NestedExitTo to);  // "L0", "L1", nullptr

struct VcpuInterval {
  Timestamp ts = 0;
  Timestamp dur = 0;
  int64_t machine_id = 0;  // the VM
  int64_t vcpu_id = 0;
  VcpuState state = VcpuState::unknown;
  int64_t exit_reason = kUnknown;  // vmm only
  VirtIsa isa = VirtIsa::unknown;
  int64_t pcpu = kUnknown;  // guest/vmm: the CPU it runs on; preempted: the CPU it lost or waits for
  int64_t preempting_tid = kUnknown;
  BeginEvent begin_event = BeginEvent::trace_start;
  GuestStatus guest_status = GuestStatus::unknown;
  // Nested virtualization. guest rows: the layer whose code runs; vmm rows: the layer whose exit
  // is handled; preempted and idle rows: the layer the vCPU is in (2 from the nested VM entry
  // until an exit is reflected to L1); unknown rows: kLayerUnknown.
  int8_t guest_layer = kLayerUnknown;
  NestedExitTo nested_exit_to = NestedExitTo::none;  // vmm rows handling an exit of layer 2
  int64_t nested_exit_reason = kUnknown;             // that exit's reason (as reflected, for L1)
  VirtIsa nested_isa = VirtIsa::unknown;
};

struct VcpuRecord {
  int64_t machine_id = 0;
  int64_t vcpu_id = kUnknown;
  int64_t host_tid = kUnknown;
  int64_t host_pid = kUnknown;
  VcpuIdSource id_source = VcpuIdSource::none;
};

class VcpuListener {
 public:
  virtual ~VcpuListener() = default;
  virtual void on_vcpu_interval(const VcpuInterval& interval) = 0;
  // A problem worth telling the user (once per kind), e.g. an implausible vcpu_id field.
  virtual void on_diagnostic(const std::string& message) = 0;
};

// Told of every vCPU state change as it happens (fused runs: a guest's threads follow the host's
// state of the vCPU they run on). `vm_machine_id` is the VM's machine.
class VcpuStateObserver {
 public:
  virtual ~VcpuStateObserver() = default;
  virtual void on_vcpu_state(int64_t vm_machine_id, int64_t vcpu_id, Timestamp ts, VcpuState state) = 0;
};

class VcpuTracker {
 public:
  // `host_machine_id` is the traced host; VMs found are registered in `machines` as its children.
  VcpuTracker(MachineRegistry& machines, int64_t host_machine_id, const SchedState& threads, VcpuListener& listener);
  ~VcpuTracker();
  VcpuTracker(const VcpuTracker&) = delete;
  VcpuTracker& operator=(const VcpuTracker&) = delete;

  // The VM run by process `pid` is the machine `machine_id` (a guest traced in the same run):
  // its vCPU intervals carry that id instead of a new "qemu-PID" machine. Call before its first
  // KVM event.
  void adopt_vm(int64_t pid, int64_t machine_id);

  void set_observer(VcpuStateObserver* observer) { observer_ = observer; }

  // `trace_start` is when the host trace begins: the first `unknown` interval starts there.
  void set_trace_start(Timestamp ts) { trace_start_ = ts; }
  // The input trace's name, which the diagnostics name (none when empty).
  void set_trace_name(std::string name) { trace_name_ = std::move(name); }

  // `vcpu_id_field` is kUnknown when the event class has no such field.
  void on_kvm_entry(Timestamp ts, int64_t cpu, int64_t tid, int64_t vcpu_id_field);
  void on_kvm_exit(Timestamp ts, int64_t cpu, int64_t tid, int64_t exit_reason, VirtIsa isa, int64_t vcpu_id_field);
  void on_sched_switch(Timestamp ts, int64_t cpu, int64_t prev_tid, bool prev_runnable, int64_t next_tid);
  // `waker_cpu_tid`: the thread on the CPU the woken thread will run on (kUnknown if unknown).
  void on_wakeup(Timestamp ts, int64_t tid, int64_t target_cpu, int64_t target_cpu_tid);
  void on_thread_exit(Timestamp ts, int64_t tid);
  // Nested virtualization, on the vCPU thread of an L1 hypervisor: L0 emulates L1's entry into its
  // nested guest; an exit of the nested guest (`exit_code` kUnknown when the field is absent); that
  // exit reflected to L1.
  void on_nested_vmenter(Timestamp ts, int64_t tid);
  void on_nested_vmexit(Timestamp ts, int64_t tid, int64_t exit_code, VirtIsa isa);
  void on_nested_vmexit_inject(Timestamp ts, int64_t tid, int64_t exit_code, VirtIsa isa);
  // The guest of VM `vm_key` (QEMU pid, or vm_key_of_thread(tid) for a vCPU thread of unknown process)
  // switched, on its CPU `vcpu_id`, to a thread (`running`) or to its idle task.
  void on_guest_status(Timestamp ts, int64_t vm_key, int64_t vcpu_id, bool running);
  // Lost events make every vCPU of this host unknown from `begin` (or from its current state's
  // start, if later) until its next event.
  void on_lost_events(Timestamp begin);
  // Closes every open interval at `end` and decides the vCPU indexes still pending.
  void finish(Timestamp end);

  bool any_vcpu() const { return !vcpus_.empty(); }
  // The VM and vCPU index of a vCPU thread (the index is the entry field while the exit has not
  // decided it yet); false if `tid` is not a vCPU thread.
  struct VcpuOfThread {
    int64_t vm_key = kUnknown, machine_id = kUnknown, vcpu_id = kUnknown;
  };
  bool describe(int64_t tid, VcpuOfThread& out) const;
  std::vector<VcpuRecord> vcpus() const;
  // After finish(): the VMs that run their own hypervisor but whose layers the trace cannot tell
  // (it lacks the nested exit events): their rows' guest_layer is to be NULL.
  const std::vector<int64_t>& undecidable_layer_vms() const { return undecidable_layer_vms_; }
  // After finish(): the VMs (machine ids) that run their own hypervisor, i.e. a nested guest.
  const std::vector<int64_t>& nested_hypervisors() const { return nested_hypervisors_; }
  uint64_t exit_count() const { return exit_count_; }
  uint64_t entry_count() const { return entry_count_; }

 private:
  struct Vcpu;
  struct Vm;
  Vcpu* find(int64_t tid);
  Vcpu& find_or_create(Timestamp ts, int64_t tid);
  Vm& vm_for_pid(int64_t pid, int64_t tid);
  void transition(Vcpu& vcpu, Timestamp ts, VcpuState state, BeginEvent begin);
  void emit(Vcpu& vcpu, const VcpuInterval& interval);
  void notify(const Vcpu& vcpu, Timestamp ts, VcpuState state);
  void resolve_id(Vcpu& vcpu, int64_t exit_vcpu_id_field);
  bool usable_tid(int64_t tid);
  void diagnose_once(const std::string& key, const std::string& message);
  // Nested layers (common/kvm/nested_layers.cpp).
  void nested_at_entry(Vcpu& vcpu);
  void nested_at_exit(Vcpu& vcpu, int64_t exit_reason, VirtIsa isa);
  void nested_resume(Vcpu& vcpu);
  void decide_layer(Vcpu& vcpu, int8_t layer);
  void decide_exit(Vcpu& vcpu, NestedExitTo to, int64_t reason, VirtIsa isa);
  void forget_nested(Vcpu& vcpu);
  void release(Vcpu& vcpu);
  void finish_nested();

  MachineRegistry& machines_;
  int64_t host_machine_id_;
  const SchedState& threads_;
  VcpuListener& listener_;
  Timestamp trace_start_ = 0;
  std::string trace_name_;
  std::unordered_map<int64_t, std::unique_ptr<Vcpu>> vcpus_;  // live vCPU threads, key: host tid
  std::vector<std::unique_ptr<Vcpu>> retired_;                // vCPU threads that exited
  std::vector<Vcpu*> vcpu_order_;                             // creation order (weak)
  std::unordered_map<int64_t, std::unique_ptr<Vm>> vms_;      // key: QEMU pid (or -tid if unknown)
  std::unordered_map<std::string, bool> diagnosed_;
  std::vector<int64_t> undecidable_layer_vms_, nested_hypervisors_;
  uint64_t exit_count_ = 0;
  uint64_t entry_count_ = 0;
  VcpuStateObserver* observer_ = nullptr;  // weak
};

// Parses QEMU's vCPU thread name "CPU 3/KVM" (QEMU with -name ...,debug-threads=on).
int64_t vcpu_index_from_thread_name(std::string_view name);

}  // namespace vm
