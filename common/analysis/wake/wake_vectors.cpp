// SPDX-License-Identifier: MIT
#include "analysis/wake/wake_vectors.h"

namespace vm {

namespace {

// Linux's fixed x86 vectors (arch/x86/include/asm/irq_vectors.h): LOCAL_TIMER_VECTOR 0xec (0xef
// before Linux 4.15), CALL_FUNCTION_SINGLE_VECTOR 0xfb, CALL_FUNCTION_VECTOR 0xfc,
// RESCHEDULE_VECTOR 0xfd; device vectors lie in [FIRST_EXTERNAL_VECTOR 0x20, 0xec).
constexpr int64_t kTimerVector = 236, kOldTimerVector = 239;
constexpr int64_t kFirstIpiVector = 251, kLastIpiVector = 253;
constexpr int64_t kFirstDeviceVector = 32;

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace

// A host thread that signals a device vector, by its name: a vhost worker ("vhost-<QEMU pid>",
// Linux's drivers/vhost/vhost.c) serves virtio-net; a QEMU iothread ("IO <id>", QEMU's
// iothread.c with debug-threads=on) serves only block devices (virtio-blk, virtio-scsi); QEMU's
// main loop serves both, so it says nothing.
WakeReason reason_of_raiser(std::string_view name) {
  if (starts_with(name, "vhost-")) return WakeReason::net;
  if (starts_with(name, "IO ")) return WakeReason::disk;
  return WakeReason::device;
}

const char* wake_reason_name(WakeReason reason) {
  switch (reason) {
    case WakeReason::none: return "none";
    case WakeReason::timer: return "timer";
    case WakeReason::ipi: return "ipi";
    case WakeReason::disk: return "disk";
    case WakeReason::net: return "net";
    case WakeReason::device: return "device";
    case WakeReason::unknown: break;
  }
  return "unknown";
}

WakeReason reason_of_vector(int64_t vector) {
  if (vector == kTimerVector || vector == kOldTimerVector) return WakeReason::timer;
  if (vector >= kFirstIpiVector && vector <= kLastIpiVector) return WakeReason::ipi;
  if (vector >= kFirstDeviceVector && vector < kTimerVector) return WakeReason::device;
  return WakeReason::unknown;
}

WakeReason reason_of_handler(std::string_view name) {
  // Linux's drivers/virtio/virtio_pci_common.c names a queue's vector "<device>-<queue>";
  // virtio-blk's queues are "req.N" (older "requests"), virtio-net's "input.N" and "output.N".
  if (starts_with(name, "virtio") && (contains(name, "-req"))) return WakeReason::disk;
  if (starts_with(name, "virtio") && (contains(name, "-input") || contains(name, "-output"))) return WakeReason::net;
  return WakeReason::device;
}

std::string vector_handler_name(std::string_view event_name, int64_t vector) {
  constexpr std::string_view prefix = "x86_irq_vectors_", suffix = "_entry";
  if (event_name.size() > prefix.size() + suffix.size() && starts_with(event_name, prefix))
    return std::string(event_name.substr(prefix.size(), event_name.size() - prefix.size() - suffix.size()));
  switch (vector) {
    case kTimerVector: return "local_timer";
    case kFirstIpiVector: return "call_function_single";
    case kFirstIpiVector + 1: return "call_function";
    case kLastIpiVector: return "reschedule";
    default: return "vector " + std::to_string(vector);
  }
}

std::string GuestHandler::text() const {
  if (!irq_line) return vector_handler_name(name, number);
  return name.empty() ? "irq " + std::to_string(number) : std::string(name);
}

}  // namespace vm
