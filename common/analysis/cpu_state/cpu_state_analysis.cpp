// SPDX-License-Identifier: MIT
#include "analysis/cpu_state/cpu_state_analysis.h"

#include "analysis/kernel/kernel_analysis.h"
#include "analysis/run.h"
#include "analysis/vcpu/vcpu_analysis.h"

namespace vm {

namespace {

const db::SchemaObject kSchema[] = {
    {db::ObjectKind::table, "cpu_state",
     "what runs on each physical CPU: machine (host, VM, nested VM), vCPU, thread, status",
     R"sql(
CREATE TABLE cpu_state(
  ts INTEGER NOT NULL,
  dur INTEGER NOT NULL,
  host_machine_id INTEGER NOT NULL,  -- the physical host
  pcpu INTEGER NOT NULL,             -- its CPU
  machine_id INTEGER NOT NULL,       -- whose code runs there: the host, a VM, a nested VM
  vcpu_id INTEGER,                   -- in a VM: the vCPU
  tid INTEGER,                       -- the thread of that machine (NULL: not traced / not known)
  status TEXT,                       -- 'user', 'kernel' (syscall or kernel thread), 'irq', 'softirq',
                                     -- 'idle' (its idle task), 'running' (user/kernel not traced),
                                     -- NULL when not known
  condition TEXT NOT NULL            -- 'in_vm' or 'out_vm'
))sql"},
    {db::ObjectKind::index, "cpu_state_by_cpu", "",
     "CREATE INDEX cpu_state_by_cpu ON cpu_state(host_machine_id, pcpu, ts)", db::IndexSet::by_key},
    {db::ObjectKind::index, "cpu_state_by_ts", "", "CREATE INDEX cpu_state_by_ts ON cpu_state(ts)",
     db::IndexSet::by_time},
};

}  // namespace

const AnalysisInfo CpuStateAnalysis::info = {"cpu_state", "what runs on each physical CPU, across the VM layers",
                                             db::objects_of(kSchema), create_analysis<CpuStateAnalysis>};

CpuStateAnalysis::CpuStateAnalysis(Run& run)
    : kernel_(run.get<KernelAnalysis>()),
      vcpus_(run.get<VcpuAnalysis>()),
      cpus_(*this),
      insert_cpu_state_(db::prepare_insert(
          run.database(), "cpu_state",
          {"ts", "dur", "host_machine_id", "pcpu", "machine_id", "vcpu_id", "tid", "status", "condition"})) {}

void CpuStateAnalysis::on_machine(TracedMachine& machine) {
  if (layers_.size() <= machine.index) layers_.resize(machine.index + 1);
  layers_[machine.index] = cpus_.add_layer(machine.id, machine.sched());
}

void CpuStateAnalysis::on_guest_linked(TracedMachine& guest) {
  cpus_.set_guest_of(layers_[guest.index], layers_[guest.host->index], guest.vm_key);
}

void CpuStateAnalysis::on_event(TracedMachine& machine, const Event& event) {
  const int layer = layers_[machine.index];
  const EventContext& ctx = event.ctx;
  if (kernel_.status_changed() && event.kind != EventKind::sched_switch)
    cpus_.on_status(layer, ctx.ts, ctx.cpu, kernel_.model(machine).cpu_status(ctx.cpu));
  switch (event.kind) {
    case EventKind::sched_switch:
      cpus_.on_switch(layer, ctx.ts, ctx.cpu, kernel_.model(machine).cpu_status(ctx.cpu));
      break;
    case EventKind::kvm_entry: {
      VcpuTracker::VcpuOfThread vcpu;
      if (vcpus_.host(machine).vcpus().describe(event.tid, vcpu))
        cpus_.on_kvm_entry(layer, ctx.ts, ctx.cpu, vcpu.vm_key, vcpu.machine_id, vcpu.vcpu_id);
      break;
    }
    case EventKind::kvm_exit: cpus_.on_kvm_exit(layer, ctx.ts, ctx.cpu); break;
    default: break;
  }
}

void CpuStateAnalysis::on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp, int64_t cpu, int64_t) {
  cpus_.on_lost_events(layers_[machine.index], begin, cpu);
}

void CpuStateAnalysis::finish(Run& run) {
  cpus_.finish(run.end());
}

void CpuStateAnalysis::on_cpu_interval(const CpuInterval& interval) {
  insert_cpu_state_.insert(interval.ts, interval.dur, interval.host_machine_id, interval.pcpu, interval.machine_id,
                           or_null(interval.vcpu_id), or_null(interval.tid), or_null(cpu_status_name(interval.status)),
                           std::string_view(interval.in_vm ? "in_vm" : "out_vm"));
}

}  // namespace vm
