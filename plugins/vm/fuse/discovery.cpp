// SPDX-License-Identifier: MIT
#include "fuse/discovery.h"

#include <map>
#include <utility>

#include "kvm/vm_key.h"
#include "tcp_header.h"

namespace vm::fuse {

int Discovery::add_machine(const std::string& trace_name, const std::string& hostname, const std::string& clock_uuid,
                           const std::string& lttng_trace_name) {
  const int machine = model_.add_machine(trace_name, hostname, clock_uuid, lttng_trace_name);
  evidence_.resize(model_.size());
  if (!component_.evidence_dir.empty()) evidence_.back().spill_to(&component_.evidence_dir);
  machines_.resize(model_.size());
  machines_.back() =
      std::make_unique<Machine>(registry_, registry_.add(trace_name, MachineRole::unknown, kUnknown, 0), null_listener_);
  return machine;
}

void Discovery::on_event(const bt_message* message, int machine, int64_t cpu, const bt::StreamFields& stream,
                         const bt::EventFields& fields) {
  const bt_event* event = bt_message_event_borrow_event_const(message);
  const EventContext ctx = bt::read_context(event, bt::event_ns(message), cpu, stream);
  Machine& m = *machines_[static_cast<size_t>(machine)];
  m.sched.on_context(ctx);
  m.host.on_event(ctx);
  bt::decode_event(fields, ctx, event, decoded_);
  const int64_t tid = m.sched.thread_of(ctx);  // before the event changes the scheduler state
  m.sched.on_event(decoded_);
  m.host.on_decoded(decoded_);
  record_evidence(machine, decoded_, tid);
  switch (decoded_.kind) {
    case EventKind::kvm_entry:
    case EventKind::kvm_exit:
    case EventKind::kvm_other:
    case EventKind::kvm_apic_ipi:
    case EventKind::kvm_apic_accept_irq:
    case EventKind::kvm_msi_set_irq:
    case EventKind::kvm_set_irq:
    case EventKind::kvm_nested_vmenter:
    case EventKind::kvm_nested_vmexit:
    case EventKind::kvm_nested_vmexit_inject: model_.on_kvm_event(machine); break;
    case EventKind::vmsync_gh_guest:
    case EventKind::vmsync_hg_guest: {
      const Vmsync& sync = decoded_.as<Vmsync>();
      const uint64_t uid = uint64_t(sync.vm_uid);
      model_.on_vmsync_guest(machine, ctx.ts, decoded_.kind == EventKind::vmsync_gh_guest, uint64_t(sync.cnt), uid);
      // Remember, per guest machine, its vmsync exchanges: their host thread is its vCPU thread.
      vmsync_threads_.on_guest_exchange(machine, uid);
      break;
    }
    case EventKind::vmsync_gh_host:
    case EventKind::vmsync_hg_host: {
      const Vmsync& sync = decoded_.as<Vmsync>();
      const uint64_t uid = uint64_t(sync.vm_uid);
      model_.on_vmsync_host(machine, ctx.ts, decoded_.kind == EventKind::vmsync_gh_host, uint64_t(sync.cnt), uid,
                            kUnknown);
      vmsync_threads_.on_host_exchange(uid, tid);
      break;
    }
    case EventKind::net_send:
    case EventKind::net_receive: {
      // Network headers are variants, read by name (the layout table locates no field of them).
      TcpKey key;
      if (bt::read_tcp_key(bt_event_borrow_payload_field_const(event), key))
        model_.on_tcp(machine, ctx.ts, decoded_.kind == EventKind::net_send, key);
      break;
    }
    default: break;
  }
}

// The material of the KVM-window sync: every event's time per (machine, CPU), as any trace may
// be a guest, and the guest-mode windows and injected interrupts of every thread of every host.
void Discovery::record_evidence(int machine, const Event& event, int64_t tid) {
  const EventContext& ctx = event.ctx;
  GuestEvidence& evidence = evidence_[static_cast<size_t>(machine)];
  evidence.on_event(ctx.cpu, ctx.ts);
  const EventKind kind = event.kind;
  if (kind != EventKind::kvm_entry && kind != EventKind::kvm_exit && kind != EventKind::kvm_inj_virq &&
      kind != EventKind::irq_vector_entry)
    return;
  if (kind == EventKind::irq_vector_entry) {
    evidence.on_vector_entry(ctx.cpu, ctx.ts, event.as<IrqVector>().vector);
    return;
  }
  if (kind == EventKind::kvm_entry)
    evidence.on_kvm_entry(tid, ctx.ts);
  else if (kind == EventKind::kvm_exit)
    evidence.on_kvm_exit(tid, ctx.ts);
  else
    evidence.on_injection(tid, ctx.ts, event.as<KvmInjVirq>().irq);
}

Discovery::Result Discovery::finish() {
  std::vector<std::string> diagnostics = link_guests(model_);
  evidence_.clear();  // the windows and event times are no longer needed
  return solve(std::move(model_), std::move(diagnostics));
}

Discovery::Result Discovery::solve_so_far() const {
  FuseModel model = model_;
  std::vector<std::string> diagnostics = link_guests(model);
  return solve(std::move(model), std::move(diagnostics));
}

// The guest-to-VM links hold whatever the transforms (sync="identity" too).
std::vector<std::string> Discovery::link_guests(FuseModel& model) const {
  std::vector<std::vector<VcpuRecord>> vcpus(model.size());
  for (size_t i = 0; i < model.size(); ++i) vcpus[i] = machines_[i]->host.vcpus().vcpus();
  return link_by_kvm_windows(model, evidence_, vcpus, component_.guest_vm);
}

Discovery::Result Discovery::solve(FuseModel model, std::vector<std::string> diagnostics) const {
  Result result;
  result.diagnostics = std::move(diagnostics);
  if (!component_.formulas.empty())
    model.solve_given(component_.reference, component_.formulas);
  else if (component_.identity)
    model.solve_identity(component_.reference);
  else
    model.solve(component_.reference);
  for (const std::string& message : model.diagnostics()) result.diagnostics.push_back(message);
  // Guests whose VM is known only through the host thread of the vmsync exchange (no pid
  // context): the thread's process, from pass 1's thread table.
  vmsync_threads_.resolve(
      model, [this](int host, int64_t tid) { return machines_[static_cast<size_t>(host)]->sched.pid_of(tid); });
  for (size_t i = 0; i < model.size(); ++i) {
    for (const VcpuRecord& vcpu : machines_[i]->host.vcpus().vcpus()) {
      // A vCPU thread of an unknown process is its own VM (VcpuTracker's key).
      const int64_t vm_key = vcpu.host_pid >= 0 ? vcpu.host_pid : vm_key_of_thread(vcpu.host_tid);
      result.pcpus.add_vcpu(static_cast<int>(i), vm_key, vcpu.vcpu_id, vcpu.host_tid);
    }
  }
  for (size_t i = 0; i < model.size(); ++i) {
    const FusedMachine& machine = model.machine(static_cast<int>(i));
    result.pcpus.set_machine(static_cast<int>(i), machine.parent, machine.vm_pid);
  }
  result.model = std::move(model);
  return result;
}

}  // namespace vm::fuse
