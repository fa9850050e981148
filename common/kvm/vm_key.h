// SPDX-License-Identifier: MIT
#pragma once
// The host-side key of a VM: its QEMU process id when the vCPU threads' process is known, else
// the key of the vCPU thread alone. Keys of the second kind are -2 - tid: below kUnknown (-1), so
// they never collide with a pid or with "unknown". `tid` must be a Linux thread id (0 to
// PID_MAX_LIMIT): VcpuTracker::usable_tid() refuses any other before a vCPU is made of it.

#include <cstdint>

#include "base/types.h"

namespace vm {

// Linux's PID_MAX_LIMIT (include/linux/threads.h, 64-bit): no thread id is above it.
inline constexpr int64_t kMaxThreadId = 4194304;

// A value that is no thread id (a corrupt trace's; found by tests/fuzz/fuzz_wake_model) keys no
// VM: kUnknown.
inline int64_t vm_key_of_thread(int64_t tid) {
  if (tid < 0 || tid > kMaxThreadId) return kUnknown;
  return -2 - tid;
}

}  // namespace vm
