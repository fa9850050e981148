// SPDX-License-Identifier: MIT
#pragma once
// source.vm.scenario's parameters: the one list that validates them (scenario_source.cpp) and
// that `babeltrace2 help source.vm.scenario` prints (plugin.cpp). Format: param_spec.h.
//
// The ranges are those the model handles (validate() in common/sim/scenario_config.cpp checks the
// same bounds and the combinations): the sizes bound the tables the model allocates, the clock
// offsets stay inside the +-2 s the KVM-window sync searches, and a run ends within a simulated
// day or 10^10 events (at the default rates, ~50k events per simulated second).

#include <vector>

#include "param_spec.h"

// clang-format off
#define VM_SCENARIO_PARAMS(X) \
  X("seed", unsigned_integer, optional, 0, 9223372036854775807, "N", \
    "random seed (default 1): the same seed gives the same traces") \
  X("pcpus", signed_integer, optional, 1, 256, "N", "physical CPUs of the host (default 2)") \
  X("vms", signed_integer, optional, 0, 64, "N", "VMs on the host, named vm1, vm2, ... (default 2)") \
  X("vcpus-per-vm", signed_integer, optional, 1, 64, "N", \
    "vCPUs of each VM (default 2); more vCPUs than pcpus overcommits") \
  X("guest-threads", signed_integer, optional, 0, 1000, "N", "worker threads in each guest (default 3)") \
  X("host-threads", signed_integer, optional, 0, 1000, "N", "host tasks besides the vCPU threads (default 2)") \
  X("exit-rate", real, optional, 0, 1000000, "X", \
    "random VM exits per second of guest mode, per vCPU (default 5000; must be above 0)") \
  X("host-irq-rate", real, optional, 0, 100000, "X", "device interrupts per second per physical CPU (default 500)") \
  X("exit-mix", string, optional, 0, 0, "\"R:W,...\"", \
    "weights of the random exits' reasons (default: 30% EPT_VIOLATION, 20% IO, 20% MSR_WRITE," VM_PARAM_NL \
    "10% CPUID, 10% APIC_ACCESS, 10% EPT_MISCONFIG), e.g. \"MSR:3,IO:1,NPF:2,CPUID:0.5\";" VM_PARAM_NL \
    "names (written as VMX codes): MSR (= MSR_WRITE), MSR_READ, IO (= IOIO, IO_INSTRUCTION)," VM_PARAM_NL \
    "NPF (= EPT_VIOLATION), EPT_MISCONFIG, CPUID, APIC_ACCESS, PAUSE") \
  X("time-slice-ns", signed_integer, optional, 10000, 86400000000000, "N", "scheduler time slice (default 3000000)") \
  X("nested", boolean, optional, 0, 0, "BOOL", "an L2 guest vm1-l2 inside vm1 (default false)") \
  X("nested-vcpus", signed_integer, optional, 1, 64, "N", "vCPUs of the nested guest (default 1)") \
  X("clock-offset-ns", signed_integer, optional, 0, 1000000000, "N", \
    "magnitude of the guests' clock offsets (default 300000000)") \
  X("drift-ppm", real, optional, 0, 1000, "X", "magnitude of the guests' clock drifts (default 20)") \
  X("duration-ns", signed_integer, optional, 1, 86400000000000, "N", "simulated time (default 1000000000)") \
  X("events", unsigned_integer, optional, 0, 10000000000, "N", \
    "instead: stop once about N events are recorded, all traces together (default 0: use duration-ns)") \
  X("naming", string, optional, 0, 0, "\"new\"|\"old\"", \
    "kvm_x86_entry/kvm_x86_exit (default) or kvm_entry/kvm_exit") \
  X("disk-irq-rate", real, optional, 0, 100000, "X", \
    "virtio-blk interrupts per second per VM (default 0): the parent injects vector 34" VM_PARAM_NL \
    "(kvm_x86_inj_virq), the guest runs irq 25 \"virtio0-requests\" (irq_handler_entry/exit)" VM_PARAM_NL \
    "and wakes a worker blocked in read() on it") \
  X("net-irq-rate", real, optional, 0, 100000, "X", \
    "virtio-net interrupts per second per VM (default 0): vector 36, irq 27 \"virtio1-input.0\";" VM_PARAM_NL \
    "with either rate, half of the guest workers' sleeps become blocking reads" VM_PARAM_NL \
    "(syscall_entry_read) woken by the device") \
  X("containers", signed_integer, optional, 0, 16, "N", \
    "PID-namespace containers in each guest (default 0): container c's init is tid 400+c" VM_PARAM_NL \
    "(vtid 1, ns_inum 4026532000+32*machine+c; an odd c nests in c-1); odd guest workers live" VM_PARAM_NL \
    "in containers, some forked (sched_process_fork with vtids, parent_ns_inum, child_ns_inum)" VM_PARAM_NL \
    "right after the statedump") \
  X("statedump", string, optional, 0, 0, "\"lm212\"|\"lm211\"", \
    "namespace levels in lttng_statedump_process_pid_ns (2.12+, default; only with containers)" VM_PARAM_NL \
    "or in lttng_statedump_process_state, one event per level, deepest first (2.7-2.11)") \
  X("wake-causes", boolean, optional, 0, 0, "BOOL", \
    "who wakes halted vCPUs, as the host records it (default false): reschedule IPIs between" VM_PARAM_NL \
    "vCPUs (kvm_x86_apic_ipi, vector 253), paravirtual kicks (VMCALL, nothing injected), device" VM_PARAM_NL \
    "interrupts signalled by \"IO iothread0\" (disk) and \"vhost-<QEMU pid>\" (net) threads" VM_PARAM_NL \
    "(kvm_msi_set_irq, kvm_x86_apic_accept_irq), each waking a sleeping vCPU thread") \
  X("nested-events", boolean, optional, 0, 0, "BOOL", \
    "with nested: the host records KVM's nested VMX for vm1-l2 (default false): VMRESUME exits," VM_PARAM_NL \
    "kvm_x86_nested_vmenter, kvm_x86_nested_vmexit, kvm_x86_nested_vmexit_inject (exits reflected" VM_PARAM_NL \
    "to L1; old naming: kvm_nested_vmrun, kvm_nested_vmexit, kvm_nested_vmexit_inject)") \
  X("requests", boolean, optional, 0, 0, "BOOL", \
    "with wake-causes and disk-irq-rate=0: a request thread \"request-0\" (tid 600) in each VM of" VM_PARAM_NL \
    "the host whose waits chain across layers (woken by a worker of another vCPU through an IPI;" VM_PARAM_NL \
    "read() -> virtio notify exit -> \"IO iothread0\" -> host disk (softirq BLOCK) -> MSI -> guest" VM_PARAM_NL \
    "IRQ); the truth then holds their critical paths (critical_path, critical_path_segment," VM_PARAM_NL \
    "critical_path_link; default false)") \
  X("truth", string, optional, 0, 0, "\"FILE\"", \
    "write the truth to this SQLite file: vCPU states (as sink.vm.sqlite's vcpu_state), CPUs," VM_PARAM_NL \
    "guest-to-VM map, clock transforms, parameters; with containers: container, container_thread" VM_PARAM_NL \
    "(as sink.vm.sqlite's, by hostname); with device interrupts: guest_irq (each handled" VM_PARAM_NL \
    "interrupt, the thread it woke); vcpu_halt (each halt and what woke it, as sink.vm.sqlite's)")
// clang-format on

#define VM_SCENARIO_HELP                                                                               \
  "Parameters (all optional):\n" VM_SCENARIO_PARAMS(VM_PARAM_HELP)                                     \
  "\n"                                                                                                 \
  "Output: one port per machine (host, vm1, vm2, ..., vm1-l2), one stream per CPU. As CTF:\n"          \
  "  babeltrace2 run -c src:source.vm.scenario -p 'vms=2,nested=true' -c mux:filter.utils.muxer\n"     \
  "    -c out:sink.ctf.fs -p 'path=\"DIR\"' -x src:mux -x mux:out\n"                                    \
  "See scripts/make-scenario.sh."

namespace vm::scenario {

inline const std::vector<bt::ParamSpec>& param_specs() {
  static const std::vector<bt::ParamSpec> specs = {VM_SCENARIO_PARAMS(VM_PARAM_SPEC)};
  return specs;
}

}  // namespace vm::scenario
