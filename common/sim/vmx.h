// SPDX-License-Identifier: MIT
#pragma once
// The x86 numbers the scenario model puts in its KVM events (internal to common/sim/).

#include <cstdint>
#include <string>

namespace vm::sim {

inline constexpr int64_t kTimerVector = 236;  // LOCAL_TIMER_VECTOR on x86

// Intel VMX basic exit reasons the model uses.
inline constexpr int64_t kExitExternalInterrupt = 1;
inline constexpr int64_t kExitCpuid = 10;
inline constexpr int64_t kExitHlt = 12;
inline constexpr int64_t kExitIo = 30;
inline constexpr int64_t kExitMsrWrite = 32;
inline constexpr int64_t kExitApicAccess = 44;
inline constexpr int64_t kExitEptViolation = 48;
inline constexpr int64_t kExitEptMisconfig = 49;
inline constexpr int64_t kExitPreemptionTimer = 52;
inline constexpr int64_t kExitMsrRead = 31;
inline constexpr int64_t kExitPause = 40;
inline constexpr int64_t kExitVmcall = 18;    // a hypercall (the paravirtual kick, KVM_HC_KICK_CPU)
inline constexpr int64_t kExitVmresume = 24;  // L1 enters its nested guest

// The name Linux gives each of those (arch/x86/include/uapi/asm/vmx.h, VMX_EXIT_REASONS), for the
// truth's `vmm` qualifiers; the decimal code for any other.
inline std::string vmx_exit_name(int64_t reason) {
  switch (reason) {
    case kExitExternalInterrupt: return "EXTERNAL_INTERRUPT";
    case kExitCpuid: return "CPUID";
    case kExitHlt: return "HLT";
    case kExitIo: return "IO_INSTRUCTION";
    case kExitMsrWrite: return "MSR_WRITE";
    case kExitApicAccess: return "APIC_ACCESS";
    case kExitEptViolation: return "EPT_VIOLATION";
    case kExitEptMisconfig: return "EPT_MISCONFIG";
    case kExitPreemptionTimer: return "PREEMPTION_TIMER";
    case kExitMsrRead: return "MSR_READ";
    case kExitPause: return "PAUSE_INSTRUCTION";
    case kExitVmcall: return "VMCALL";
    case kExitVmresume: return "VMRESUME";
    default: return std::to_string(reason);
  }
}

// `wake-causes`: RESCHEDULE_VECTOR (0xfd), sent as a fixed, physical-destination IPI.
inline constexpr int64_t kReschedVector = 253;

}  // namespace vm::sim
