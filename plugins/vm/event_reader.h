// SPDX-License-Identifier: MIT
#pragma once
// Reads LTTng kernel events into the core's typed events (common/events/). The payload fields of
// an event class's layout are located once (EventFields) and the context fields once per stream
// class (StreamFields); decoding an event is then indexed member reads only, once per event.

#include <babeltrace2/babeltrace.h>

#include <string>
#include <vector>

#include "bt_util.h"
#include "events/events.h"
#include "events/layout.h"
#include "base/types.h"

namespace vm::bt {

class EventFields;
// Locates the payload fields of `event_class`'s layout. A required field missing makes the kind
// the layout's incomplete kind (usually `other`): better ignore the event than misread it.
EventFields locate_event_fields(const bt_event_class* event_class);

// One event class, located: its kind and name. Its payload is read through decode_event() only.
class EventFields {
 public:
  EventKind kind = EventKind::other;
  std::string name;
  // A warning when a field that matters is absent or mistyped (empty when none): the field, what
  // becomes unknown, and the lttng command that records it.
  std::string missing;

 private:
  friend EventFields locate_event_fields(const bt_event_class* event_class);
  friend void decode_event(const EventFields& fields, const EventContext& ctx, const bt_event* event, Event& out);

  const EventLayout* layout_ = nullptr;  // of `kind`; null for `other`
  uint8_t field_count_ = 0;              // the layout's
  FieldRef located_[kMaxEventFields];    // the layout's fields, in its order (common/events/layout.cpp)
};

struct StreamFields {
  FieldRef packet_cpu;  // packet context `cpu_id`
  FieldRef ctx_tid, ctx_pid, ctx_procname;
};
StreamFields locate_stream_fields(const bt_stream_class* stream_class);

// The largest CPU id taken from a packet's `cpu_id`. Linux's NR_CPUS is at most 8192 (x86-64
// MAXSMP); CPU ids index per-CPU state in the models, so a larger value is corruption, not a CPU.
constexpr int64_t kMaxCpuId = 8191;

// The CPU of a packet (kUnknown without `cpu_id`). A value outside [0, kMaxCpuId] gives kUnknown
// and is stored in `*implausible` (when given) for the caller's diagnostic.
int64_t packet_cpu(const bt_packet* packet, const StreamFields& fields, int64_t* implausible = nullptr);

// ns from origin of a snapshot; throws when it overflows.
int64_t snapshot_ns(const bt_clock_snapshot* snapshot);
// ns from origin of an event message (its default clock snapshot).
inline int64_t event_ns(const bt_message* message) {
  return snapshot_ns(bt_message_event_borrow_default_clock_snapshot_const(message));
}

// The event's context (time, CPU, tid/pid/procname contexts when recorded).
EventContext read_context(const bt_event* event, int64_t ns, int64_t cpu, const StreamFields& fields);

// Decodes `event` into `out` (kind, context, typed payload), once. Strings point into the event
// and the fork's `vtids` into a buffer of this thread: valid until the next decode.
void decode_event(const EventFields& fields, const EventContext& ctx, const bt_event* event, Event& out);

}  // namespace vm::bt
