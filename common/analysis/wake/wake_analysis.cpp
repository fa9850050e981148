// SPDX-License-Identifier: MIT
#include "analysis/wake/wake_analysis.h"

#include <string>

#include "analysis/run.h"
#include "analysis/run_tables/run_tables.h"
#include "analysis/vcpu/vcpu_analysis.h"

namespace vm {

namespace {

const db::SchemaObject kSchema[] = {
    {db::ObjectKind::table, "vcpu_halt",
     "each HLT exit of a vCPU to its next entry: whether it slept, what woke it (timer, ipi, disk, net, device, "
     "none, unknown), who, and how long the wake-up took",
     R"sql(
CREATE TABLE vcpu_halt(
  ts INTEGER NOT NULL,            -- the HLT exit
  dur INTEGER NOT NULL,           -- to the vCPU's next kvm_x86_entry
  machine_id INTEGER NOT NULL,    -- the VM
  vcpu_id INTEGER NOT NULL,
  slept INTEGER NOT NULL,         -- 1 if the vCPU thread blocked (was scheduled out sleeping)
  wake_vector INTEGER,            -- the first vector injected during the halt (kvm_x86_inj_virq)
  wake_reason TEXT NOT NULL,      -- 'timer', 'ipi', 'disk', 'net', 'device', 'none', 'unknown'
  waker_tid INTEGER,              -- the host thread that woke the vCPU thread, from task context
  waker_machine_id INTEGER,       -- ipi: the VM and vCPU that sent it; none: whose thread woke it (a kick)
  waker_vcpu_id INTEGER,
  device TEXT,                    -- device vector: the host thread that signalled it, or the guest's handler
  device_tid INTEGER,             -- device vector: that host thread
  inject_ts INTEGER,              -- the injection of wake_vector
  cause_ts INTEGER,               -- its cause: the IPI send, the device signal, the timer's wakeup
  wait_cpu_dur INTEGER,           -- of cause_ts .. ts + dur: runnable, waiting for a host CPU
  vmm_dur INTEGER,                -- of cause_ts .. ts + dur: the rest (KVM and the host on the vCPU's behalf)
  guest_handler TEXT,             -- fused runs: the guest's first interrupt handler on that vCPU after the wake
  host_tid INTEGER                -- the vCPU thread
))sql"},
    {db::ObjectKind::index, "vcpu_halt_by_vcpu", "",
     "CREATE INDEX vcpu_halt_by_vcpu ON vcpu_halt(machine_id, vcpu_id, ts)"},
    {db::ObjectKind::view, "halt_by_reason", "per vCPU and wake reason: halts and halted time", R"sql(
CREATE VIEW halt_by_reason AS
SELECT h.machine_id, h.vcpu_id, h.wake_reason, COUNT(*) AS halts, SUM(h.dur) AS halted_ns,
       ROUND(100.0 * SUM(h.dur) / t.total, 2) AS percent
FROM vcpu_halt h
JOIN (SELECT machine_id, vcpu_id, SUM(dur) AS total FROM vcpu_halt GROUP BY machine_id, vcpu_id) t
  USING (machine_id, vcpu_id)
GROUP BY h.machine_id, h.vcpu_id, h.wake_reason)sql"},
    {db::ObjectKind::view, "vm_halt_by_reason", "per VM and wake reason: halts and halted time of all its vCPUs",
     R"sql(
CREATE VIEW vm_halt_by_reason AS
SELECT h.machine_id, h.wake_reason, COUNT(*) AS halts, SUM(h.dur) AS halted_ns,
       ROUND(100.0 * SUM(h.dur) / t.total, 2) AS percent
FROM vcpu_halt h
JOIN (SELECT machine_id, SUM(dur) AS total FROM vcpu_halt GROUP BY machine_id) t USING (machine_id)
GROUP BY h.machine_id, h.wake_reason)sql"},
    {db::ObjectKind::view, "ipi_matrix",
     "which vCPU woke which by IPI, how often, and the latency from the send to the target's entry", R"sql(
CREATE VIEW ipi_matrix AS
SELECT waker_machine_id, waker_vcpu_id, machine_id, vcpu_id, COUNT(*) AS wakes,
       CAST(AVG(ts + dur - cause_ts) AS INTEGER) AS avg_latency_ns, MAX(ts + dur - cause_ts) AS max_latency_ns,
       CAST(AVG(wait_cpu_dur) AS INTEGER) AS avg_wait_cpu_ns
FROM vcpu_halt
WHERE wake_reason = 'ipi' AND waker_vcpu_id IS NOT NULL
GROUP BY waker_machine_id, waker_vcpu_id, machine_id, vcpu_id)sql"},
    {db::ObjectKind::view, "wake_latency",
     "per vCPU and wake reason: the time from the wake's cause to guest entry, split into waiting for a CPU and "
     "hypervisor time",
     R"sql(
CREATE VIEW wake_latency AS
SELECT machine_id, vcpu_id, wake_reason, COUNT(*) AS halts,
       CAST(AVG(ts + dur - cause_ts) AS INTEGER) AS avg_latency_ns,
       CAST(AVG(wait_cpu_dur) AS INTEGER) AS avg_wait_cpu_ns, CAST(AVG(vmm_dur) AS INTEGER) AS avg_vmm_ns,
       MAX(ts + dur - cause_ts) AS max_latency_ns
FROM vcpu_halt
WHERE cause_ts IS NOT NULL
GROUP BY machine_id, vcpu_id, wake_reason)sql"},
};

}  // namespace

const AnalysisInfo WakeAnalysis::info = {"wake", "why each halted vCPU woke up: timer, IPI, device; who and how fast",
                                         db::objects_of(kSchema), create_analysis<WakeAnalysis>};

WakeAnalysis::WakeAnalysis(Run& run)
    : run_(run),
      run_tables_(&run.get<RunTables>()),
      vcpu_(&run.get<VcpuAnalysis>()),
      insert_(db::prepare_insert(run.database(), "vcpu_halt",
                                 {"ts", "dur", "machine_id", "vcpu_id", "slept", "wake_vector", "wake_reason",
                                  "waker_tid", "waker_machine_id", "waker_vcpu_id", "device", "device_tid", "inject_ts",
                                  "cause_ts", "wait_cpu_dur", "vmm_dur", "guest_handler", "host_tid"})) {}

void WakeAnalysis::on_machine(TracedMachine& machine) {
  if (models_.size() <= machine.index) {
    models_.resize(machine.index + 1);
    vms_.resize(machine.index + 1);
  }
  const HostAnalysis& host = vcpu_->host(machine);
  const size_t index = machine.index;
  models_[index] = std::make_unique<WakeModel>(host.vcpus(), machine.sched(), [this, index](HaltRecord& row) {
    vms_[index].insert(row.machine_id);
    insert(row);
  });
}

void WakeAnalysis::on_guest_linked(TracedMachine& guest) {
  model(*guest.host).await_guest(guest.vm_key);
}

void WakeAnalysis::on_event(TracedMachine& machine, const Event& event) {
  // A fused guest's first interrupt handler after a halt tells what woke it.
  if (machine.host && event.ctx.cpu >= 0) {
    WakeModel& host = model(*machine.host);
    if (event.kind == EventKind::irq_vector_entry) {
      host.on_guest_handler(machine.vm_key, event.ctx.cpu, event.ctx.ts,
                            GuestHandler{event.name, event.as<IrqVector>().vector, false});
    } else if (event.kind == EventKind::irq_entry) {
      const Irq& irq = event.as<Irq>();
      host.on_guest_handler(machine.vm_key, event.ctx.cpu, event.ctx.ts, GuestHandler{irq.name, irq.irq, true});
    }
  }
  model(machine).on_event(event);
}

void WakeAnalysis::on_lost_events(TracedMachine& machine, Timestamp, Timestamp, int64_t cpu, int64_t) {
  model(machine).on_lost_events(cpu);
}

void WakeAnalysis::finish_machine(TracedMachine& machine, Timestamp end) {
  model(machine).finish(run_.fused() ? end : machine.last_ts);
}

void WakeAnalysis::insert(const HaltRecord& row) {
  SqliteStatement& s = insert_;
  s.bind_all(1, row.ts, row.dur, row.machine_id, row.vcpu_id, int64_t(row.slept), or_null(row.wake_vector),
             std::string_view(wake_reason_name(row.reason)), or_null(row.waker_tid), or_null(row.waker_machine_id),
             or_null(row.waker_vcpu_id));
  if (row.device.empty())
    s.bind_null(11);
  else
    s.bind(11, std::string_view(row.device));
  s.bind_all(12, or_null(row.device_tid), or_null(row.inject_ts), or_null(row.cause_ts), or_null(row.wait_cpu_dur),
             or_null(row.vmm_dur));
  if (row.guest_handler.empty())
    s.bind_null(17);
  else
    s.bind(17, std::string_view(row.guest_handler));
  s.bind_or_null(18, row.host_tid);
  s.run();
}

// Features whose events are missing: said once per host, with the line that records them; the
// wake reasons that cannot be known become `unknown`, never guessed.
void WakeAnalysis::write(Run& run) {
  // A guest trace that ended before a wake says nothing of it.
  for (const TracedMachine* machine : run.machines())
    if (machine->host)
      run.database().connection().exec(
          "UPDATE vcpu_halt SET guest_handler = NULL WHERE guest_handler = '" + std::string(WakeModel::kNoHandler) +
          "' AND machine_id = " + std::to_string(machine->id) + " AND ts + dur > " + std::to_string(machine->last_ts));
  for (const TracedMachine* machine : run.machines()) {
    const WakeModel& wake = model(*machine);
    if (wake.halts() == 0) continue;
    const std::string who = "trace `" + machine->trace_name + "`";
    if (wake.seen(EventKind::kvm_inj_virq) == 0) {
      run_tables_->add_diagnostic(
          "warning", who +
                         " has HLT exits but no kvm_x86_inj_virq (kvm_inj_virq) events: what woke each halted vCPU "
                         "is unknown (vcpu_halt.wake_reason = 'unknown'). Record them with: lttng enable-event "
                         "--kernel 'kvm_x86_inj_virq,kvm_x86_apic_ipi,kvm_x86_apic_accept_irq,kvm_msi_set_irq,"
                         "kvm_set_irq'");
      std::string ids;
      for (int64_t id : vms_[machine->index]) ids += (ids.empty() ? "" : ",") + std::to_string(id);
      if (!ids.empty())
        run.database().connection().exec(
            "UPDATE vcpu_halt SET wake_reason = 'unknown' WHERE wake_reason = 'none' "
            "AND machine_id IN (" +
            ids + ")");
      continue;
    }
    if (wake.ipi_wakes() > 0 && wake.seen(EventKind::kvm_apic_ipi) == 0)
      run_tables_->add_diagnostic("warning", who +
                                                 " has no kvm_x86_apic_ipi (kvm_apic_ipi) events: the vCPU that "
                                                 "sent each waking IPI is unknown (vcpu_halt.waker_vcpu_id). Record "
                                                 "them with: lttng enable-event --kernel kvm_x86_apic_ipi");
    if (wake.device_wakes() > 0 && wake.seen(EventKind::kvm_msi_set_irq) + wake.seen(EventKind::kvm_set_irq) == 0)
      run_tables_->add_diagnostic("warning", who +
                                                 " has no kvm_msi_set_irq or kvm_set_irq events: the host thread "
                                                 "that signalled each device vector is unknown (vcpu_halt.device). "
                                                 "Record them with: lttng enable-event --kernel "
                                                 "kvm_msi_set_irq,kvm_set_irq,kvm_x86_apic_accept_irq");
    if (wake.seen(EventKind::kvm_set_irq) > 0 && wake.seen(EventKind::kvm_apic_accept_irq) == 0)
      run_tables_->add_diagnostic("warning", who +
                                                 " has kvm_set_irq but no kvm_x86_apic_accept_irq "
                                                 "(kvm_apic_accept_irq) events: the vectors of interrupt lines are "
                                                 "unknown, so their device wakes have no device (vcpu_halt.device). "
                                                 "Record them with: lttng enable-event --kernel "
                                                 "kvm_x86_apic_accept_irq");
  }
}

}  // namespace vm
