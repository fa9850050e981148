// SPDX-License-Identifier: MIT
#pragma once
// sink.vm.sqlite's parameters: the one list that validates them (sqlite_sink.cpp) and that
// `babeltrace2 help sink.vm.sqlite` prints (plugin.cpp). Format: param_spec.h.

#include <vector>

#include "param_spec.h"
#include "schema_help.h"  // generated from the analyses' schemas: VM_SQLITE_SCHEMA_HELP

// clang-format off
#define VM_SQLITE_PARAMS(X) \
  X("path", string, mandatory, 0, 0, "\"FILE\"", \
    "the database to write, checked when the component is created. It appears only when" VM_PARAM_NL \
    "the run succeeds (built in a temporary .vm-XXXXXX beside it, then renamed); an existing" VM_PARAM_NL \
    "file is replaced only then, and is left untouched by a failed or interrupted run") \
  X("writer-thread", boolean, optional, 0, 0, "BOOL", \
    "write the rows to SQLite from a thread of their own, beside the decoding (default" VM_PARAM_NL \
    "true); false writes them in place, one thread for everything") \
  X("indexes", string, optional, 0, 0, "\"time\"|\"key\"|\"both\"", \
    "the indexes of cpu_state, thread_state and vcpu_state. \"time\" (default): on ts" VM_PARAM_NL \
    "(cpu_state_by_ts, thread_state_by_ts, vcpu_state_by_ts), for time-window queries;" VM_PARAM_NL \
    "cheap to keep, as rows come nearly in time order. \"key\": on the machine, then the" VM_PARAM_NL \
    "CPU, thread or vCPU, then ts (cpu_state_by_cpu, thread_state_by_tid," VM_PARAM_NL \
    "vcpu_state_by_vcpu), for repeated per-thread or per-CPU lookups: the run takes" VM_PARAM_NL \
    "longer (1.7x on a 10 M-event scenario). \"both\": the two sets") \
  X("critical-path", string, optional, 0, 0, "\"SELECTOR,...\"", \
    "the threads whose critical path to write (critical_path, critical_path_segment," VM_PARAM_NL \
    "critical_path_link): TID, MACHINE/TID (MACHINE: the `machine` table's name or id) or a" VM_PARAM_NL \
    "command name (every thread of that name), comma-separated. Each path runs from the" VM_PARAM_NL \
    "thread's first to its last vertex of the execution graph, as in Trace Compass. Absent:" VM_PARAM_NL \
    "no execution graph is built") \
  X("exec-graph", boolean, optional, 0, 0, "BOOL", \
    "build the execution graph and store it (exec_graph_worker, exec_graph_vertex," VM_PARAM_NL \
    "exec_graph_link) for vm-critical-path. Default: true when `critical-path` is given," VM_PARAM_NL \
    "else false") \
  X("graph-file", boolean, optional, 0, 0, "BOOL", \
    "keep the execution graph, while the run builds it, in an unnamed temporary file beside" VM_PARAM_NL \
    "`path` rather than in memory, so that memory stays flat on long traces (default true);" VM_PARAM_NL \
    "false keeps it in memory")
// clang-format on

#define VM_SQLITE_HELP                                                                                 \
  "Parameters:\n" VM_SQLITE_PARAMS(VM_PARAM_HELP)                                                      \
  "\n"                                                                                                 \
  "Input: one time-ordered message stream, e.g. the output of filter.utils.muxer or filter.vm.fuse:\n" \
  "  babeltrace2 TRACE -c sink.vm.sqlite -p 'path=\"out.db\"'\n"                                       \
  "\n" VM_SQLITE_SCHEMA_HELP "See the project's README for the columns."

namespace vm::sqlite_sink {

inline const std::vector<bt::ParamSpec>& param_specs() {
  static const std::vector<bt::ParamSpec> specs = {VM_SQLITE_PARAMS(VM_PARAM_SPEC)};
  return specs;
}

}  // namespace vm::sqlite_sink
