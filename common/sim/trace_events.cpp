// SPDX-License-Identifier: MIT
// What the scenario model records: one function per event kind, whose parameters are the
// event's LTTng payload fields, written into the slots of ScenarioEvent that
// common/sim/scenario_event.h lists (and plugins/vm/scenario/event_layout.cpp reads back).
// Also the statedump each machine records when its tracing starts.

#include <iterator>

#include "sim/model_impl.h"
#include "sim/vmx.h"

namespace vm {

using Type = ScenarioEventType;

// ---- one function per event kind

void ScenarioModel::Impl::emit_sched_switch(Cpu& cpu, int64_t t, const Thread& context, const char* prev_comm,
                                            int64_t prev_tid, int64_t prev_prio, int64_t prev_state,
                                            const char* next_comm, int64_t next_tid, int64_t next_prio) {
  record(cpu, t, Type::sched_switch, context, {prev_tid, prev_prio, prev_state, next_tid, next_prio}, prev_comm,
         next_comm);
}

void ScenarioModel::Impl::emit_sched_waking(Cpu& cpu, int64_t t, const Thread& context, const char* comm, int64_t tid,
                                            int64_t prio, int64_t target_cpu) {
  record(cpu, t, Type::sched_waking, context, {tid, prio, target_cpu}, comm);
}

void ScenarioModel::Impl::emit_sched_wakeup(Cpu& cpu, int64_t t, const Thread& context, const char* comm, int64_t tid,
                                            int64_t prio, int64_t target_cpu) {
  record(cpu, t, Type::sched_wakeup, context, {tid, prio, target_cpu}, comm);
}

void ScenarioModel::Impl::emit_sched_process_fork(Cpu& cpu, int64_t t, const Thread& context, const char* parent_comm,
                                                  int64_t parent_tid, int64_t parent_pid, int64_t parent_ns_inum,
                                                  const char* child_comm, int64_t child_tid, int64_t child_pid,
                                                  int64_t child_ns_inum, const std::vector<int64_t>& vtids) {
  int64_t a[13] = {
      parent_tid, parent_pid, child_tid, child_pid, parent_ns_inum, child_ns_inum, static_cast<int64_t>(vtids.size())};
  for (size_t k = 0; k < vtids.size() && 7 + k < std::size(a); ++k) a[7 + k] = vtids[k];
  record(cpu, t, Type::sched_process_fork, context, a, std::size(a), parent_comm, child_comm);
}

void ScenarioModel::Impl::emit_statedump_process(Cpu& cpu, int64_t t, const Thread& context, int64_t tid, int64_t pid,
                                                 int64_t ppid, const char* name, int64_t type, int64_t mode,
                                                 int64_t submode, int64_t status, int64_t cpu_id,
                                                 const ScenarioNsLevel* level, int64_t ns_level) {
  if (level)
    record(cpu, t, Type::statedump_process, context,
           {tid, pid, ppid, type, mode, submode, status, cpu_id, level->vtid, level->vpid, level->vppid, ns_level,
            level->ns_inum},
           name);
  else
    record(cpu, t, Type::statedump_process, context, {tid, pid, ppid, type, mode, submode, status, cpu_id}, name);
}

void ScenarioModel::Impl::emit_statedump_pid_ns(Cpu& cpu, int64_t t, const Thread& context, int64_t tid, int64_t vtid,
                                                int64_t vpid, int64_t vppid, int64_t ns_level, int64_t ns_inum) {
  record(cpu, t, Type::statedump_pid_ns, context, {tid, vtid, vpid, vppid, ns_level, ns_inum});
}

void ScenarioModel::Impl::emit_kvm_entry(Cpu& cpu, int64_t t, const Thread& context, int64_t vcpu_id, int64_t rip,
                                         int64_t immediate_exit) {
  record(cpu, t, Type::kvm_entry, context, {vcpu_id, rip, immediate_exit});
}

void ScenarioModel::Impl::emit_kvm_exit(Cpu& cpu, int64_t t, const Thread& context, int64_t exit_reason,
                                        int64_t guest_rip, int64_t isa, int64_t info1, int64_t info2, int64_t intr_info,
                                        int64_t error_code, int64_t vcpu_id) {
  record(cpu, t, Type::kvm_exit, context, {exit_reason, guest_rip, isa, info1, info2, intr_info, error_code, vcpu_id});
}

void ScenarioModel::Impl::emit_kvm_inj_virq(Cpu& cpu, int64_t t, const Thread& context, int64_t irq, int64_t soft,
                                            int64_t reinjected) {
  record(cpu, t, Type::kvm_inj_virq, context, {irq, soft, reinjected});
}

void ScenarioModel::Impl::emit_kvm_apic_ipi(Cpu& cpu, int64_t t, const Thread& context, int64_t icr_low,
                                            int64_t dest_id) {
  record(cpu, t, Type::kvm_apic_ipi, context, {icr_low, dest_id});
}

void ScenarioModel::Impl::emit_kvm_apic_accept_irq(Cpu& cpu, int64_t t, const Thread& context, int64_t apicid,
                                                   int64_t dm, int64_t tm, int64_t vec, int64_t coalesced) {
  record(cpu, t, Type::kvm_apic_accept_irq, context, {apicid, dm, tm, vec, coalesced});
}

void ScenarioModel::Impl::emit_kvm_msi_set_irq(Cpu& cpu, int64_t t, const Thread& context, int64_t address,
                                               int64_t data) {
  record(cpu, t, Type::kvm_msi_set_irq, context, {address, data});
}

void ScenarioModel::Impl::emit_resched_irq(Cpu& cpu, int64_t t, const Thread& context, bool entry) {
  record(cpu, t, entry ? Type::resched_irq_entry : Type::resched_irq_exit, context, {sim::kReschedVector});
}

void ScenarioModel::Impl::emit_kvm_nested_vmenter(Cpu& cpu, int64_t t, const Thread& context, int64_t rip,
                                                  int64_t vmcb, int64_t nested_rip, int64_t int_ctl,
                                                  int64_t event_inj, int64_t npt, int64_t isa) {
  record(cpu, t, Type::kvm_nested_vmenter, context, {rip, vmcb, nested_rip, int_ctl, event_inj, npt, isa});
}

void ScenarioModel::Impl::emit_kvm_nested_vmexit(Cpu& cpu, int64_t t, const Thread& context, int64_t rip,
                                                 int64_t exit_code, int64_t exit_info1, int64_t exit_info2,
                                                 int64_t exit_int_info, int64_t exit_int_info_err, int64_t isa) {
  record(cpu, t, Type::kvm_nested_vmexit, context,
         {rip, exit_code, exit_info1, exit_info2, exit_int_info, exit_int_info_err, isa});
}

void ScenarioModel::Impl::emit_kvm_nested_vmexit_inject(Cpu& cpu, int64_t t, const Thread& context, int64_t exit_code,
                                                        int64_t exit_info1, int64_t exit_info2, int64_t exit_int_info,
                                                        int64_t exit_int_info_err, int64_t isa) {
  record(cpu, t, Type::kvm_nested_vmexit_inject, context,
         {exit_code, exit_info1, exit_info2, exit_int_info, exit_int_info_err, isa});
}

void ScenarioModel::Impl::emit_irq_handler_entry(Cpu& cpu, int64_t t, const Thread& context, int64_t irq,
                                                 const char* name) {
  record(cpu, t, Type::irq_handler_entry, context, {irq}, name);
}

void ScenarioModel::Impl::emit_irq_handler_exit(Cpu& cpu, int64_t t, const Thread& context, int64_t irq, int64_t ret) {
  record(cpu, t, Type::irq_handler_exit, context, {irq, ret});
}

void ScenarioModel::Impl::emit_timer_irq_entry(Cpu& cpu, int64_t t, const Thread& context, int64_t vector) {
  record(cpu, t, Type::timer_irq_entry, context, {vector});
}

void ScenarioModel::Impl::emit_timer_irq_exit(Cpu& cpu, int64_t t, const Thread& context, int64_t vector) {
  record(cpu, t, Type::timer_irq_exit, context, {vector});
}

void ScenarioModel::Impl::emit_syscall_entry_ioctl(Cpu& cpu, int64_t t, const Thread& context, int64_t fd, int64_t cmd,
                                                   int64_t arg) {
  record(cpu, t, Type::syscall_entry_ioctl, context, {fd, cmd, arg});
}

void ScenarioModel::Impl::emit_syscall_exit_ioctl(Cpu& cpu, int64_t t, const Thread& context, int64_t ret,
                                                  int64_t arg) {
  record(cpu, t, Type::syscall_exit_ioctl, context, {ret, arg});
}

void ScenarioModel::Impl::emit_syscall_entry_nanosleep(Cpu& cpu, int64_t t, const Thread& context, int64_t rqtp,
                                                       int64_t rmtp) {
  record(cpu, t, Type::syscall_entry_nanosleep, context, {rqtp, rmtp});
}

void ScenarioModel::Impl::emit_syscall_exit_nanosleep(Cpu& cpu, int64_t t, const Thread& context, int64_t ret,
                                                      int64_t rmtp) {
  record(cpu, t, Type::syscall_exit_nanosleep, context, {ret, rmtp});
}

void ScenarioModel::Impl::emit_syscall_entry_read(Cpu& cpu, int64_t t, const Thread& context, int64_t fd, int64_t buf,
                                                  int64_t count) {
  record(cpu, t, Type::syscall_entry_read, context, {fd, buf, count});
}

void ScenarioModel::Impl::emit_syscall_exit_read(Cpu& cpu, int64_t t, const Thread& context, int64_t ret, int64_t buf) {
  record(cpu, t, Type::syscall_exit_read, context, {ret, buf});
}

// ---- the queue of recorded events

void ScenarioModel::Impl::record(Cpu& cpu, int64_t t, ScenarioEventType type, const Thread& context,
                                 std::initializer_list<int64_t> a, const char* s0, const char* s1) {
  record(cpu, t, type, context, a.begin(), a.size(), s0, s1);
}

void ScenarioModel::Impl::record(Cpu& cpu, int64_t t, ScenarioEventType type, const Thread& context, const int64_t* a,
                                 size_t count, const char* s0, const char* s1) {
  Pending p;
  ScenarioEvent& e = p.event;
  e.host_ts = t;
  e.machine = cpu.machine;
  e.ts = to_machine_clock(cpu.machine, t);
  e.cpu = cpu.index;
  e.type = type;
  e.tid = context.tid;
  e.pid = context.pid;
  e.procname = context.comm.c_str();
  std::copy(a, a + std::min(count, std::size(e.a)), e.a);
  e.s[0] = s0;
  e.s[1] = s1;
  p.seq = event_seq++;
  cpu.busy_until = std::max(cpu.busy_until, t + 1);
  ++emitted;
  pending.push(p);
}

// ---- the statedump

void ScenarioModel::Impl::statedump(int machine, int64_t t) {
  Machine& m = machines[static_cast<size_t>(machine)];
  m.statedump_done = true;
  Cpu& cpu0 = cpus[static_cast<size_t>(m.cpu_base)];
  const Thread& context = th(cpu0.current);
  for (int id : m.threads) {
    const Thread& t2 = th(id);
    if (t2.kind == Kind::idle || t2.forked) continue;
    // type 0 = user thread; mode/submode unknown (0). lttng-modules' enum lttng_process_status
    // (lttng-statedump-impl.c): a TASK_RUNNING task, on a CPU or not, is 2 (LTTNG_WAIT_CPU: "the
    // viewer will sort out if the task was really running"), a sleeping one 5 (LTTNG_WAIT).
    const int64_t status = t2.state == State::sleeping ? 5 : 2;
    const int64_t cpu = cpus[static_cast<size_t>(t2.home)].index;
    if (config.statedump_lm211) {
      // lttng-modules <= 2.11: one event per namespace level, deepest first.
      for (size_t k = t2.levels.size(); k-- > 0;) {
        emit_statedump_process(cpu0, t, context, t2.tid, t2.pid, t2.ppid, t2.comm.c_str(), 0, 0, 0, status, cpu,
                               &t2.levels[k], static_cast<int64_t>(k));
        t += 150;
      }
      continue;
    }
    emit_statedump_process(cpu0, t, context, t2.tid, t2.pid, t2.ppid, t2.comm.c_str(), 0, 0, 0, status, cpu);
    t += 150;
    if (!emit_ns) continue;
    for (size_t k = t2.levels.size(); k-- > 0;) {
      const ScenarioNsLevel& l = t2.levels[k];
      emit_statedump_pid_ns(cpu0, t, context, t2.tid, l.vtid, l.vpid, l.vppid, static_cast<int64_t>(k), l.ns_inum);
      t += 100;
    }
  }
  // Container processes started after the statedump (sched_process_fork, LM 2.13 layout).
  for (int id : m.threads) {
    const Thread& child = th(id);
    if (!child.forked) continue;
    const Thread& parent = th(child.parent_thread);
    std::vector<int64_t> vtids;
    for (const ScenarioNsLevel& level : child.levels) vtids.push_back(level.vtid);
    emit_sched_process_fork(cpu0, t, context, parent.comm.c_str(), parent.tid, parent.pid, parent.levels.back().ns_inum,
                            child.comm.c_str(), child.tid, child.pid, child.levels.back().ns_inum, vtids);
    t += 200;
  }
}

}  // namespace vm
