#pragma once
// sink.vm.sqlite's parameters: the one list that validates them (sqlite_sink.cpp) and that
// `babeltrace2 help sink.vm.sqlite` prints (plugin.cpp). Format: param_spec.h.

#include <vector>

#include "param_spec.h"

// clang-format off
#define VM_SQLITE_PARAMS(X) \
  X("path", string, mandatory, 0, 0, "\"FILE\"", \
    "the database to write. It appears only when the run succeeds (built in FILE.tmp-PID," VM_PARAM_NL \
    "then renamed); an existing file is replaced")
// clang-format on

// The tables and views of the database (common/vm_database.cpp's schema), one line each; the
// test tests/params/check_sink_tables.py checks this list against a real run's database.
#define VM_SQLITE_TABLES_HELP                                                                          \
  "Tables:\n"                                                                                          \
  "  machine           each traced machine and each VM found on it (role, parent, layer)\n"            \
  "  trace             each input trace: machine, name, hostname, clock, first and last event\n"       \
  "  vcpu              each vCPU: its VM, index, host thread and QEMU process\n"                       \
  "  vcpu_state        intervals of each vCPU in one state (guest, vmm, preempted, idle, unknown)\n"   \
  "  cpu_state         intervals of each physical CPU: which machine, vCPU and thread runs there\n"   \
  "  thread            each thread seen in a trace\n"                                                  \
  "  thread_state      intervals of each thread of any machine in one state, across layers\n"          \
  "  container         the PID namespaces of each machine, with their parents\n"                      \
  "  container_thread  each thread's tid, pid and parent pid at every level of its namespaces\n"       \
  "  sync              fused runs: each machine's clock transform into the reference's\n"             \
  "  sync_estimate     fused runs: what each sync method alone gives\n"                               \
  "  guest_match       fused runs: how each guest trace was linked to its VM\n"                       \
  "  data_loss         each discarded-events or discarded-packets record\n"                            \
  "  event_stat        each event name, with its count\n"                                              \
  "  diagnostic        warnings about the input\n"                                                     \
  "  run               the run: versions, inputs, parameters, counts\n"                                \
  "Views:\n"                                                                                           \
  "  exit_stats            per vCPU and exit reason: exits and the hypervisor time they cost\n"       \
  "  vcpu_state_share      where each vCPU's time went\n"                                             \
  "  preemption_by_thread  who kept each vCPU off its CPU\n"                                          \
  "  vcpu_preemption       the same by preempting machine (another VM's vCPU, or the host)\n"         \
  "  noisy_neighbour       for each VM, the other VMs whose vCPUs took its CPUs\n"                    \
  "  thread_delay          a thread's time broken down by state, including its vCPU's losses\n"

#define VM_SQLITE_HELP                                                                                 \
  "Parameters:\n" VM_SQLITE_PARAMS(VM_PARAM_HELP)                                                      \
  "\n"                                                                                                 \
  "Input: one time-ordered message stream, e.g. the output of filter.utils.muxer or filter.vm.fuse:\n" \
  "  babeltrace2 TRACE -c sink.vm.sqlite -p 'path=\"out.db\"'\n"                                       \
  "\n" VM_SQLITE_TABLES_HELP "See the project's README for the columns."

namespace vm::sqlite_sink {

inline const std::vector<bt::ParamSpec>& param_specs() {
  static const std::vector<bt::ParamSpec> specs = {VM_SQLITE_PARAMS(VM_PARAM_SPEC)};
  return specs;
}

}  // namespace vm::sqlite_sink
