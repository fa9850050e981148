// SPDX-License-Identifier: MIT
#include "kvm/exit_reasons.h"

#include <cstdio>

namespace vm {

namespace {

// Intel SDM Vol. 3, Appendix C "VMX Basic Exit Reasons"; spellings as Linux's
// arch/x86/include/uapi/asm/vmx.h (EXIT_REASON_*, prefix dropped). Gaps are reserved numbers.
constexpr const char* kVmxReasons[] = {
    "EXCEPTION_NMI",        // 0
    "EXTERNAL_INTERRUPT",   // 1
    "TRIPLE_FAULT",         // 2
    "INIT_SIGNAL",          // 3
    "SIPI_SIGNAL",          // 4
    "IO_SMI",               // 5
    "OTHER_SMI",            // 6
    "INTERRUPT_WINDOW",     // 7
    "NMI_WINDOW",           // 8
    "TASK_SWITCH",          // 9
    "CPUID",                // 10
    "GETSEC",               // 11
    "HLT",                  // 12
    "INVD",                 // 13
    "INVLPG",               // 14
    "RDPMC",                // 15
    "RDTSC",                // 16
    "RSM",                  // 17
    "VMCALL",               // 18
    "VMCLEAR",              // 19
    "VMLAUNCH",             // 20
    "VMPTRLD",              // 21
    "VMPTRST",              // 22
    "VMREAD",               // 23
    "VMRESUME",             // 24
    "VMWRITE",              // 25
    "VMOFF",                // 26
    "VMON",                 // 27
    "CR_ACCESS",            // 28
    "DR_ACCESS",            // 29
    "IO_INSTRUCTION",       // 30
    "MSR_READ",             // 31
    "MSR_WRITE",            // 32
    "INVALID_STATE",        // 33
    "MSR_LOAD_FAIL",        // 34
    nullptr,                // 35
    "MWAIT_INSTRUCTION",    // 36
    "MONITOR_TRAP_FLAG",    // 37
    nullptr,                // 38
    "MONITOR_INSTRUCTION",  // 39
    "PAUSE_INSTRUCTION",    // 40
    "MCE_DURING_VMENTRY",   // 41
    nullptr,                // 42
    "TPR_BELOW_THRESHOLD",  // 43
    "APIC_ACCESS",          // 44
    "EOI_INDUCED",          // 45
    "GDTR_IDTR",            // 46
    "LDTR_TR",              // 47
    "EPT_VIOLATION",        // 48
    "EPT_MISCONFIG",        // 49
    "INVEPT",               // 50
    "RDTSCP",               // 51
    "PREEMPTION_TIMER",     // 52
    "INVVPID",              // 53
    "WBINVD",               // 54
    "XSETBV",               // 55
    "APIC_WRITE",           // 56
    "RDRAND",               // 57
    "INVPCID",              // 58
    "VMFUNC",               // 59
    "ENCLS",                // 60
    "RDSEED",               // 61
    "PML_FULL",             // 62
    "XSAVES",               // 63
    "XRSTORS",              // 64
    nullptr,                // 65
    "SPP",                  // 66 (sub-page write protection)
    "UMWAIT",               // 67
    "TPAUSE",               // 68
    "LOADIWKEY",            // 69
    "ENCLV",                // 70
    nullptr,                // 71
    "ENQCMD_PASID_FAIL",    // 72
    "ENQCMDS_PASID_FAIL",   // 73
    "BUS_LOCK",             // 74
    "NOTIFY",               // 75
    "SEAMCALL",             // 76
    "TDCALL",               // 77
};
constexpr uint64_t kVmxEntryFailed = 0x80000000u;

// ENTRY_FAILED_ names, one per basic reason, built once (static storage for the API).
const char* vmx_entry_failed_name(uint64_t basic) {
  constexpr size_t count = sizeof kVmxReasons / sizeof kVmxReasons[0];
  static std::string names[count];
  static bool built = [] {
    for (size_t i = 0; i < count; ++i)
      if (kVmxReasons[i]) names[i] = std::string("ENTRY_FAILED_") + kVmxReasons[i];
    return true;
  }();
  (void)built;
  return basic < count && kVmxReasons[basic] ? names[basic].c_str() : nullptr;
}

// AMD APM Vol. 2, Appendix C "SVM Intercept Exit Codes"; spellings as Linux's
// arch/x86/include/uapi/asm/svm.h (SVM_EXIT_*, prefix dropped), 0x060 to 0x0a6.
constexpr const char* kSvmFrom0x60[] = {
    "INTR",             // 0x060
    "NMI",              // 0x061
    "SMI",              // 0x062
    "INIT",             // 0x063
    "VINTR",            // 0x064
    "CR0_SEL_WRITE",    // 0x065
    "IDTR_READ",        // 0x066
    "GDTR_READ",        // 0x067
    "LDTR_READ",        // 0x068
    "TR_READ",          // 0x069
    "IDTR_WRITE",       // 0x06a
    "GDTR_WRITE",       // 0x06b
    "LDTR_WRITE",       // 0x06c
    "TR_WRITE",         // 0x06d
    "RDTSC",            // 0x06e
    "RDPMC",            // 0x06f
    "PUSHF",            // 0x070
    "POPF",             // 0x071
    "CPUID",            // 0x072
    "RSM",              // 0x073
    "IRET",             // 0x074
    "SWINT",            // 0x075
    "INVD",             // 0x076
    "PAUSE",            // 0x077
    "HLT",              // 0x078
    "INVLPG",           // 0x079
    "INVLPGA",          // 0x07a
    "IOIO",             // 0x07b
    "MSR",              // 0x07c
    "TASK_SWITCH",      // 0x07d
    "FERR_FREEZE",      // 0x07e
    "SHUTDOWN",         // 0x07f
    "VMRUN",            // 0x080
    "VMMCALL",          // 0x081
    "VMLOAD",           // 0x082
    "VMSAVE",           // 0x083
    "STGI",             // 0x084
    "CLGI",             // 0x085
    "SKINIT",           // 0x086
    "RDTSCP",           // 0x087
    "ICEBP",            // 0x088
    "WBINVD",           // 0x089
    "MONITOR",          // 0x08a
    "MWAIT",            // 0x08b
    "MWAIT_COND",       // 0x08c
    "XSETBV",           // 0x08d
    "RDPRU",            // 0x08e
    "EFER_WRITE_TRAP",  // 0x08f
    "CR0_WRITE_TRAP",   // 0x090
    "CR1_WRITE_TRAP",   // 0x091
    "CR2_WRITE_TRAP",   // 0x092
    "CR3_WRITE_TRAP",   // 0x093
    "CR4_WRITE_TRAP",   // 0x094
    "CR5_WRITE_TRAP",   // 0x095
    "CR6_WRITE_TRAP",   // 0x096
    "CR7_WRITE_TRAP",   // 0x097
    "CR8_WRITE_TRAP",   // 0x098
    "CR9_WRITE_TRAP",   // 0x099
    "CR10_WRITE_TRAP",  // 0x09a
    "CR11_WRITE_TRAP",  // 0x09b
    "CR12_WRITE_TRAP",  // 0x09c
    "CR13_WRITE_TRAP",  // 0x09d
    "CR14_WRITE_TRAP",  // 0x09e
    "CR15_WRITE_TRAP",  // 0x09f
    "INVLPGB",          // 0x0a0
    "INVLPGB_ILLEGAL",  // 0x0a1
    "INVPCID",          // 0x0a2
    "MCOMMIT",          // 0x0a3
    "TLBSYNC",          // 0x0a4
    "BUS_LOCK",         // 0x0a5
    "IDLE_HLT",         // 0x0a6
};

// Exception vectors (SDM Vol. 3 §6.3 / APM Vol. 2 §8.2) for SVM's EXCP_BASE + vector codes.
constexpr const char* kExceptionVectors[32] = {
    "DE",    "DB",    "NMI",   "BP",    "OF",    "BR",    "UD", "NM", "DF", "CSO",   "TS",
    "NP",    "SS",    "GP",    "PF",    nullptr, "MF",    "AC", "MC", "XM", "VE",    "CP",
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, "HV", "VC", "SX", nullptr,
};

// CRn/DRn access intercepts, 0x000-0x03f: READ_CRn, WRITE_CRn, READ_DRn, WRITE_DRn.
const char* svm_register_name(uint64_t code) {
  static std::string names[0x60];
  static bool built = [] {
    const char* kinds[] = {"READ_CR", "WRITE_CR", "READ_DR", "WRITE_DR"};
    for (uint64_t c = 0; c < 0x40; ++c) names[c] = kinds[c / 16] + std::to_string(c % 16);
    for (uint64_t v = 0; v < 32; ++v)
      if (kExceptionVectors[v]) names[0x40 + v] = std::string("EXCP_") + kExceptionVectors[v];
    return true;
  }();
  (void)built;
  return code < 0x60 && !names[code].empty() ? names[code].c_str() : nullptr;
}

const char* svm_name(uint64_t code) {
  // The field is 32 or 64 bits wide depending on the kernel; SVM_EXIT_ERR is -1 in either.
  if (code == 0xffffffffu || code == ~uint64_t{0}) return "ERR";
  if (code < 0x60) return svm_register_name(code);
  if (code < 0x60 + sizeof kSvmFrom0x60 / sizeof kSvmFrom0x60[0]) return kSvmFrom0x60[code - 0x60];
  switch (code) {
    case 0x400: return "NPF";
    case 0x401: return "AVIC_INCOMPLETE_IPI";
    case 0x402: return "AVIC_UNACCELERATED_ACCESS";
    case 0x403: return "VMGEXIT";
    default: return nullptr;
  }
}

const char* vmx_name(uint64_t code) {
  const uint64_t basic = code & 0xffff;
  if (code & kVmxEntryFailed) return vmx_entry_failed_name(basic);
  if (code > 0xffff) return nullptr;  // other high bits: not a basic reason we know
  return basic < sizeof kVmxReasons / sizeof kVmxReasons[0] ? kVmxReasons[basic] : nullptr;
}

}  // namespace

VirtIsa isa_from_field(uint64_t isa_field) {
  switch (isa_field) {
    case 1: return VirtIsa::vmx;
    case 2: return VirtIsa::svm;
    default: return VirtIsa::unknown;
  }
}

const char* exit_reason_name(VirtIsa isa, uint64_t exit_reason) {
  switch (isa) {
    case VirtIsa::vmx: return vmx_name(exit_reason);
    case VirtIsa::svm: return svm_name(exit_reason);
    case VirtIsa::unknown: break;
  }
  return nullptr;
}

std::string exit_reason_label(VirtIsa isa, uint64_t exit_reason) {
  if (const char* name = exit_reason_name(isa, exit_reason)) return name;
  char text[40];
  const char* prefix = isa == VirtIsa::vmx ? "VMX" : isa == VirtIsa::svm ? "SVM" : "UNKNOWN";
  std::snprintf(text, sizeof text, "%s_0x%llx", prefix, static_cast<unsigned long long>(exit_reason));
  return text;
}

}  // namespace vm
