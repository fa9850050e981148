// SPDX-License-Identifier: MIT
// Exit reason names against the vendors' manuals: Intel SDM Vol. 3 Appendix C (VMX basic exit
// reasons) and AMD APM Vol. 2 Appendix C (SVM exit codes), as Linux's uapi vmx.h/svm.h spell them.

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "kvm/exit_reasons.h"

namespace vm {
namespace {

TEST(ExitReasons, IsaFieldValues) {
  EXPECT_EQ(isa_from_field(1), VirtIsa::vmx);  // KVM_ISA_VMX
  EXPECT_EQ(isa_from_field(2), VirtIsa::svm);  // KVM_ISA_SVM
  EXPECT_EQ(isa_from_field(0), VirtIsa::unknown);
  EXPECT_EQ(isa_from_field(7), VirtIsa::unknown);
}

TEST(ExitReasons, IntelVmxBasicReasons) {
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 0), "EXCEPTION_NMI");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 1), "EXTERNAL_INTERRUPT");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 12), "HLT");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 18), "VMCALL");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 20), "VMLAUNCH");  // Intel SDM vol. 3, appendix C
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 24), "VMRESUME");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 30), "IO_INSTRUCTION");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 32), "MSR_WRITE");  // the Trace Compass stub's exit
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 48), "EPT_VIOLATION");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 49), "EPT_MISCONFIG");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 52), "PREEMPTION_TIMER");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 74), "BUS_LOCK");
  EXPECT_EQ(exit_reason_name(VirtIsa::vmx, 35), nullptr);  // reserved
  EXPECT_EQ(exit_reason_name(VirtIsa::vmx, 200), nullptr);
}

TEST(ExitReasons, VmxEntryFailureBit) {
  // Bit 31 of the exit reason: VM-entry failure; 33 = invalid guest state.
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 0x80000000u | 33), "ENTRY_FAILED_INVALID_STATE");
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 0x80000000u | 34), "ENTRY_FAILED_MSR_LOAD_FAIL");
}

TEST(ExitReasons, AmdSvmExitCodes) {
  const std::pair<uint64_t, const char*> named[] = {
      // The codes seen in the lab traces.
      {0x060, "INTR"},
      {0x064, "VINTR"},
      {0x072, "CPUID"},
      {0x078, "HLT"},
      {0x07b, "IOIO"},
      {0x07c, "MSR"},
      {0x080, "VMRUN"},
      {0x400, "NPF"},
      {0x403, "VMGEXIT"},
      // Others (AMD APM Vol. 2 Appendix C).
      {0x000, "READ_CR0"},
      {0x013, "WRITE_CR3"},
      {0x027, "READ_DR7"},
      {0x04e, "EXCP_PF"},  // EXCP_BASE 0x40 + #PF 14
      {0x041, "EXCP_DB"},
      {0x09f, "CR15_WRITE_TRAP"},
      {0xffffffffu, "ERR"},
  };
  for (const auto& [code, name] : named) EXPECT_STREQ(exit_reason_name(VirtIsa::svm, code), name) << code;
  EXPECT_STREQ(exit_reason_name(VirtIsa::svm, ~uint64_t{0}), "ERR");
  EXPECT_EQ(exit_reason_name(VirtIsa::svm, 0x04f), nullptr);  // vector 15 is reserved
  EXPECT_EQ(exit_reason_name(VirtIsa::svm, 0x300), nullptr);
}

TEST(ExitReasons, NumberingsDiffer) {
  EXPECT_STREQ(exit_reason_name(VirtIsa::vmx, 12), "HLT");
  EXPECT_STREQ(exit_reason_name(VirtIsa::svm, 12), "READ_CR12");
  EXPECT_EQ(exit_reason_name(VirtIsa::unknown, 12), nullptr);  // never guessed
}

TEST(ExitReasons, LabelsNeverEmpty) {
  EXPECT_EQ(exit_reason_label(VirtIsa::svm, 0x78), "HLT");
  EXPECT_EQ(exit_reason_label(VirtIsa::vmx, 200), "VMX_0xc8");
  EXPECT_EQ(exit_reason_label(VirtIsa::svm, 0x300), "SVM_0x300");
  EXPECT_EQ(exit_reason_label(VirtIsa::unknown, 0x78), "UNKNOWN_0x78");
}

}  // namespace
}  // namespace vm
