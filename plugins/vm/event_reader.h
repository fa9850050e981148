#pragma once
// Reads LTTng kernel events into the core's calls. Shared by the component classes: the fields
// an analysis needs are located once per event class (EventFields) and per stream class
// (StreamFields); reading an event is then indexed member accesses only.

#include <babeltrace2/babeltrace.h>

#include <string>

#include "bt_util.h"
#include "event_layout.h"
#include "host_analysis.h"
#include "kernel_model.h"
#include "types.h"

namespace vm::bt {

struct EventFields {
  EventKind kind = EventKind::other;
  std::string name;
  FieldRef f[10];  // meaning depends on `kind`, see locate_event_fields()
};

// Locates the payload members of `event_class`'s kind. A layout we cannot read (a member missing
// or of an unexpected type) makes the kind `other`: better ignore the event than misread it.
EventFields locate_event_fields(const bt_event_class* event_class);

struct StreamFields {
  FieldRef packet_cpu;  // packet context `cpu_id`
  FieldRef ctx_tid, ctx_pid, ctx_procname;
};
StreamFields locate_stream_fields(const bt_stream_class* stream_class);

// The CPU of a packet (kUnknown without `cpu_id`).
int64_t packet_cpu(const bt_packet* packet, const StreamFields& fields);

// ns from origin of a snapshot; throws when it overflows.
int64_t snapshot_ns(const bt_clock_snapshot* snapshot);
// ns from origin of an event message (its default clock snapshot).
inline int64_t event_ns(const bt_message* message) {
  return snapshot_ns(bt_message_event_borrow_default_clock_snapshot_const(message));
}

// The event's context (time, CPU, tid/pid/procname contexts when recorded).
EventContext read_context(const bt_event* event, int64_t ns, int64_t cpu, const StreamFields& fields);

// Feeds a host-side analysis with one event of a kind it handles (scheduler, process, KVM).
void feed_host_analysis(HostAnalysis& analysis, const EventFields& fields, const EventContext& ctx,
                        const bt_event* event);

// Feeds a machine's kernel model (CPU modes, thread states, namespaces) with one event of a kind
// it handles. `tid` is the thread the event happened in. Returns true when the event may have
// changed what the event's CPU does (then ask KernelModel::cpu_status()).
bool feed_kernel_model(KernelModel& model, const EventFields& fields, const EventContext& ctx, int64_t tid,
                       const bt_event* event);

}  // namespace vm::bt
