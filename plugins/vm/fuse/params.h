// SPDX-License-Identifier: MIT
#pragma once
// filter.vm.fuse's parameters: the one list that validates them (fuse_component.cpp) and that
// `babeltrace2 help filter.vm.fuse` prints (plugin.cpp). Format: param_spec.h.

#include <vector>

#include "param_spec.h"

// clang-format off
#define VM_FUSE_PARAMS(X) \
  X("reference", string, optional, 0, 0, "\"NAME\"", \
    "the machine whose clock is the reference (hostname, trace name or display name;" VM_PARAM_NL \
    "default: the top-level host)") \
  X("sync", string, optional, 0, 0, "\"auto\"|\"identity\"|\"MACHINE=ALPHA,BETA;...\"|\"FILE\"", \
    "\"auto\" (default): synchronize from vmsync and TCP sync points and the host's KVM windows;" VM_PARAM_NL \
    "\"identity\": keep every machine's clock;" VM_PARAM_NL \
    "\"MACHINE=ALPHA,BETA;...\": your transforms, t_reference = ALPHA * t + BETA (BETA in ns);" VM_PARAM_NL \
    "\"FILE\": the database of a previous run, to reuse its machines and transforms in one pass") \
  X("guest-vm", string, optional, 0, 0, "\"GUEST=PID,...\"", \
    "the guest trace GUEST (trace name or hostname) runs as the VM of QEMU process PID" VM_PARAM_NL \
    "on its host (instead of the automatic matching), e.g. guest-vm=\"web1=2231\"") \
  X("sync-mode", string, optional, 0, 0, "\"one-pass\"|\"two-pass\"", \
    "\"one-pass\" (default): learn the machines and sync points from a lead window of each input" VM_PARAM_NL \
    "(lead-ns, lead-messages), then emit while reading and keep learning (learn-ns): nothing" VM_PARAM_NL \
    "needs a trace's end; \"two-pass\": read every input to its end first, then seek back and emit") \
  X("lead-ns", unsigned_integer, optional, 1000000, 3600000000000, "NS", \
    "one-pass: the lead window, in ns of each input's own clock (default 2000000000)") \
  X("lead-messages", unsigned_integer, optional, 1000, 100000000, "N", \
    "one-pass: the most messages the lead window holds, all inputs together (default 2000000)") \
  X("lead", string, optional, 0, 0, "\"auto\"|\"hold\"", \
    "one-pass: \"auto\" (default): once the lead window is solved, seek back and read it again when" VM_PARAM_NL \
    "every input can seek (memory: the sync material only), else hold its messages in memory;" VM_PARAM_NL \
    "\"hold\": always hold them (what a live input, which cannot seek, gets)") \
  X("learn-ns", unsigned_integer, optional, 0, 3600000000000, "NS", \
    "one-pass: after the lead, solve the transforms again every NS of output time from the sync" VM_PARAM_NL \
    "points read since, each moving to its new estimate continuously (default 2000000000);" VM_PARAM_NL \
    "0 keeps the lead's transforms for the whole run") \
  X("evidence-dir", string, optional, 0, 0, "\"DIR\"", \
    "two-pass: where pass 1 keeps the guest-matching evidence (a few bytes per event) in unnamed" VM_PARAM_NL \
    "temporary files, so that it is not resident memory (default: $TMPDIR, else /tmp);" VM_PARAM_NL \
    "\"\" keeps it in memory")
// clang-format on

#define VM_FUSE_HELP                                                                                         \
  "Parameters (all optional):\n" VM_FUSE_PARAMS(VM_PARAM_HELP)                                               \
  "\n"                                                                                                       \
  "Inputs: any number of streams of any number of traces (connect every source port):\n"                     \
  "  babeltrace2 run -c host:source.ctf.fs -p 'inputs=[\"HOST\"]' -c guest:source.ctf.fs -p 'inputs=[\"GUEST\"]'\n" \
  "    -c fuse:filter.vm.fuse -c out:sink.vm.sqlite -p 'path=\"out.db\"'\n"                                   \
  "    --connect=host:fuse --connect=guest:fuse --connect=fuse:out\n"                                        \
  "Output events carry vm_machine, vm_layer, vm_vcpu and vm_pcpu in their common context; output traces\n"   \
  "carry the machine model and the sync transform as environment entries vm_*."

namespace vm::fuse {

inline const std::vector<bt::ParamSpec>& param_specs() {
  static const std::vector<bt::ParamSpec> specs = {VM_FUSE_PARAMS(VM_PARAM_SPEC)};
  return specs;
}

}  // namespace vm::fuse
