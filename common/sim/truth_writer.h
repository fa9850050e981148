// SPDX-License-Identifier: MIT
#pragma once
// The truth of a scenario (common/sim/scenario_model.h) as an SQLite side file, in the vocabulary
// of sink.vm.sqlite's tables, so that tests can compare an analysis with it in SQL:
//
//   scenario(key, value)                      the parameters
//   machine(id, name, role, parent, layer, cpus, qemu_pid, clock_uuid, events)
//   guest_vm(guest, host, qemu_pid)           which guest trace is which VM (QEMU process)
//   clock(machine, reference, alpha, beta, alpha_text, beta_text)
//                                             t_reference = alpha * t_machine + beta
//   vcpu(vm, vcpu_id, host, host_tid, host_pid, first_kvm_ts)
//                                             first_kvm_ts: the first KVM event of its thread
//                                             (before it, no trace tells the vCPU's state)
//   vcpu_state(ts, dur, vm, vcpu_id, state, pcpu, preempting_tid, exit_reason, guest_layer, nested_exit_to)
//                                             host clock; the rows of a vCPU tile the run
//   vcpu_halt(ts, dur, vm, vcpu_id, slept, wake_vector, wake_reason, waker_tid, waker_vm, waker_vcpu_id, device)
//                                             each halt ended by an entry before the end (as
//                                             sink.vm.sqlite's vcpu_halt, VMs by hostname)
//   cpu_state(ts, dur, machine, cpu, tid, vm, vcpu_id)
//                                             what runs on each CPU of a machine running VMs
//   critical_path(id, machine_id, tid, name, start_ts, end_ts)
//   critical_path_segment(path_id, seq, ts, dur, machine_id, tid, state, qualifier)
//   critical_path_link(path_id, seq, ts, from_machine_id, from_tid, to_machine_id, to_tid, state)
//                                             `requests`: the true critical path of every request
//                                             thread (sim/critical_truth.h), host clock, machines
//                                             by machine.id
//
// The file appears only when complete (written as PATH.tmp-PID, then renamed).

#include <string>

#include "sim/scenario_model.h"

namespace vm {

// Runs the scenario to its end and writes its truth to `path`. Throws std::runtime_error.
void write_scenario_truth(const ScenarioConfig& config, const std::string& path);

}  // namespace vm
