// SPDX-License-Identifier: MIT
#pragma once
// The parameters of a scenario (source.vm.scenario's, see plugins/vm/scenario/) and their checks.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vm {

struct ScenarioConfig {
  uint64_t seed = 1;
  int pcpus = 2;
  int vms = 2;
  int vcpus_per_vm = 2;
  int guest_threads = 3;       // worker threads per guest (and in the nested L2 guest)
  int host_threads = 2;        // host tasks besides the vCPU threads
  double exit_rate = 5000;     // random exits per second of guest mode, per vCPU
  bool nested = false;         // an L2 guest inside VM 1 (its vCPUs are threads of VM 1)
  int nested_vcpus = 1;
  int64_t clock_offset_ns = 300'000'000;  // magnitude of the guests' clock offsets
  double drift_ppm = 20;                  // magnitude of the guests' clock drifts
  int64_t duration_ns = 1'000'000'000;    // of the simulation (when `events` is 0)
  uint64_t events = 0;                    // stop once this many events are recorded (all machines)
  bool old_names = false;                 // kvm_entry/kvm_exit (lttng-modules < 2.7.2) names
  int64_t start_ns = 1'700'000'000'000'000'000;  // host clock at the start
  int64_t time_slice_ns = 3'000'000;
  double host_irq_rate = 500;  // device interrupts per second per physical CPU
  // Weights of the random exits' reasons, e.g. "MSR:3,IO:1,NPF:2,CPUID:0.5" (names: see
  // scenario_exit_names()); empty: the built-in mix (30% EPT_VIOLATION, 20% IO, 20% MSR_WRITE,
  // 10% CPUID, 10% APIC_ACCESS, 10% EPT_MISCONFIG).
  std::string exit_mix;
  // PID-namespace containers in each guest: container c's init is tid 400 + c (vtid 1 in its
  // namespace, inode 4026532000 + 32 * machine + c); an odd c nests inside container c - 1.
  // Guest worker i (odd i) lives in container (i / 2) % containers; the first worker of a
  // container is in the statedump, the others are forked by its init right after it.
  int containers = 0;
  // Statedump layout: lttng-modules 2.12+ (lttng_statedump_process_pid_ns per level, emitted
  // only when `containers` > 0) or <= 2.11 (ns fields in lttng_statedump_process_state, one
  // event per level, deepest first).
  bool statedump_lm211 = false;
  // Guest device interrupts per second per VM (also the nested guest): the parent injects the
  // MSI vector (kvm_x86_inj_virq) and the guest runs its handler (irq_handler_entry/exit), which
  // wakes a thread blocked on that device. Disk: virtio-blk "virtio0-requests", guest irq 25,
  // vector 34; net: virtio-net "virtio1-input.0", guest irq 27, vector 36. With a rate, half of
  // a guest's workers' sleeps become blocking reads (syscall_entry_read) on a device instead.
  double disk_irq_rate = 0;
  double net_irq_rate = 0;
  // Where the wakes of halted vCPUs come from, as the host records them: guest workers wake
  // workers of another vCPU (a reschedule IPI, vector 253: kvm_x86_apic_ipi and
  // kvm_x86_apic_accept_irq in the sender's vCPU thread, which wakes a sleeping target; or, one
  // time in four, a paravirtual kick: a VMCALL exit and the wakeup, nothing injected), and each
  // VM's device interrupts are signalled by a host thread of its parent (disk: QEMU's iothread
  // "IO iothread0", net: the vhost worker "vhost-<QEMU pid>"; kvm_msi_set_irq and
  // kvm_x86_apic_accept_irq, then the wakeup of a sleeping target from that thread).
  bool wake_causes = false;
  // With `nested`: the host records KVM's emulation of VM 1's VMX for its nested guest: L1's
  // VMRESUME exits followed by kvm_x86_nested_vmenter, every exit of the nested guest followed by
  // kvm_x86_nested_vmexit, and kvm_x86_nested_vmexit_inject when it is reflected to L1 (the exits
  // L1 records for its nested guest), else handled by L0 (the host's own exits meanwhile).
  bool nested_events = false;
  // Request threads whose waits chain across layers (common/sim/requests.cpp; needs
  // `wake_causes`, and `disk_irq_rate` 0 so that only requests use the disk): in every VM of the
  // host, "request-0" (tid 600, on vCPU 1 % vCPUs) waits for work, is woken by a worker of
  // another vCPU (a reschedule IPI to its vCPU), reads from its virtio disk (a notify exit, QEMU's
  // "IO iothread0" submits to the host disk, sleeps until the host disk's interrupt (softirq
  // BLOCK), then signals the MSI), computes and waits again. The truth database then holds the
  // true critical path of every request thread (common/sim/critical_truth.h).
  bool requests = false;
};

// The exit names `exit_mix` accepts, with the Intel VMX basic exit reason each stands for.
const char* scenario_exit_names();
// Parses `exit_mix` into (VMX exit reason, weight) pairs; returns a problem or an empty string.
std::string parse_exit_mix(const std::string& text, std::vector<std::pair<int64_t, double>>& out);

// Returns a problem with the configuration, or an empty string.
std::string validate(const ScenarioConfig& config);

}  // namespace vm
