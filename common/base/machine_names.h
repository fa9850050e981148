// SPDX-License-Identifier: MIT
#pragma once
// The display names of a run's machines (the `machine.name` column, filter.vm.fuse's
// `vm_machine`), decided in one place for the filter and the sink.
//
// A machine is named after its trace name (LTTng's `trace_name` environment entry, the session
// name, which differs between two guests cloned from one image), else its hostname, else its
// folder (babeltrace2's trace name: src.ctf.fs builds it from the hostname and the trace's path
// below the common prefix of its inputs). Machines that still share a name are told apart by the
// first of these (then the clock UUID) that differs between them, never by repeating the name:
// `guest (tl-a)`, `guest (tl-b)`.

#include <string>
#include <vector>

namespace vm {

struct MachineIdentity {
  std::string given;             // a name decided before (filter.vm.fuse's vm_machine), used first
  std::string lttng_trace_name;  // the `trace_name` environment entry
  std::string hostname;          // the `hostname` environment entry
  std::string folder;            // babeltrace2's trace name
  std::string clock_uuid;
};

// One unique, non-empty name per machine, in the same order.
std::vector<std::string> unique_machine_names(const std::vector<MachineIdentity>& machines);

}  // namespace vm
