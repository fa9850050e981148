// SPDX-License-Identifier: MIT
#pragma once
// Names of KVM exit reasons as lttng-modules' kvm_x86_exit records them: `exit_reason` is the
// Intel VMX basic exit reason or the AMD SVM exit code, and `isa` says which (KVM_ISA_VMX = 1,
// KVM_ISA_SVM = 2, from Linux's arch/x86/kvm/trace.h). The two numberings are unrelated: 0x78 is
// HLT on SVM and 120 is unused on VMX, 12 is HLT on VMX and READ_CR12 on SVM.

#include <cstdint>
#include <string>

namespace vm {

enum class VirtIsa : uint8_t { unknown = 0, vmx = 1, svm = 2 };

// Converts the kvm_x86_exit `isa` field value (anything but 1 or 2 is unknown).
VirtIsa isa_from_field(uint64_t isa_field);

// The name of an exit reason (static storage, e.g. "HLT", "EPT_VIOLATION", "NPF", "IOIO"), or
// nullptr when unknown. VMX: the basic reason is the low 16 bits; a VM-entry failure (bit 31)
// is named "ENTRY_FAILED_<basic reason>" (e.g. ENTRY_FAILED_INVALID_STATE). With an unknown isa
// no name is guessed: the numberings overlap.
const char* exit_reason_name(VirtIsa isa, uint64_t exit_reason);

// Same, never empty: falls back to "VMX_0x..", "SVM_0x.." or "UNKNOWN_0x..".
std::string exit_reason_label(VirtIsa isa, uint64_t exit_reason);

}  // namespace vm
