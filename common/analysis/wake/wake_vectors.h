// SPDX-License-Identifier: MIT
#pragma once
// What an x86 interrupt vector, a guest IRQ handler's name or a host thread's name tells of a
// halted vCPU's wake (common/analysis/wake/wake_model.h).

#include <cstdint>
#include <string>
#include <string_view>

namespace vm {

enum class WakeReason : uint8_t { none, timer, ipi, disk, net, device, unknown };
const char* wake_reason_name(WakeReason reason);
// The class of a vector by Linux's fixed x86 vectors: timer, ipi, device (32-235) or unknown.
WakeReason reason_of_vector(int64_t vector);
// A guest IRQ handler's name: virtio-blk queues ("virtio1-req.0", "virtio0-requests") are disk,
// virtio-net queues ("virtio0-input.0", "virtio0-output.0") net, anything else device.
WakeReason reason_of_handler(std::string_view name);
// The guest handler name of an x86 vector event (x86_irq_vectors_<name>_entry): <name>, or the
// name of the fixed vector when the event's name is not known.
std::string vector_handler_name(std::string_view event_name, int64_t vector);
// A guest interrupt handler as its event gives it; the text is built only by text(), when a
// halt takes it (most handlers find no halt waiting for one).
struct GuestHandler {
  std::string_view name;  // irq_line: the handler's name ("" if unknown); else the event's name
  int64_t number;         // the IRQ line, or the vector
  bool irq_line;          // an IRQ line's handler (irq_handler_entry), else an x86 vector's
  // The name (irq_line: else "irq N"), or vector_handler_name(name, number).
  std::string text() const;
};
// A host thread that signals a device vector, by its name: net (a vhost worker), disk (a QEMU
// iothread) or device (QEMU's main loop, anything else).
WakeReason reason_of_raiser(std::string_view name);

}  // namespace vm
