// SPDX-License-Identifier: MIT
#pragma once
// One decoded event: its context and its payload as a typed struct of its kind. The fields of
// each struct are the read fields of its kind's layout rows (common/events/layout.cpp); an absent
// integer field holds its layout's fallback (kUnknown unless said), an absent string is empty.

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "events/layout.h"
#include "base/types.h"

namespace vm {

struct SchedSwitch {
  int64_t prev_tid, prev_state, next_tid;
  std::string_view prev_comm, next_comm;
};
struct SchedWakeup {
  int64_t tid, target_cpu;
  std::string_view comm = {};  // the woken thread's name (the OS execution graph names new threads with it)
};
struct ProcessFork {
  int64_t child_tid, child_pid;
  std::string_view child_comm;
  int64_t parent_tid, parent_pid;
  const std::vector<int64_t>* vtids;  // never null; empty without the field
  int64_t parent_ns_inum, child_ns_inum;
};
struct ThreadEnd {  // sched_process_exit, sched_process_free
  int64_t tid;
};
// One PID-namespace level of a thread.
struct PidNsLevel {
  int64_t ns_level, ns_inum, vtid, vpid, vppid;
};
struct StatedumpProcess {
  int64_t tid, pid;
  std::string_view name;
  int64_t type, status;
  PidNsLevel ns;
  bool has_ns;  // the 2.7-2.11 layout: one event per namespace level
};
struct StatedumpPidNs {
  int64_t tid;
  PidNsLevel ns;
};
struct KvmEntry {
  int64_t vcpu_id;
};
struct KvmExit {
  int64_t exit_reason, isa, vcpu_id;
};
struct Vmsync {
  int64_t cnt, vm_uid;
};
struct KvmInjVirq {
  int64_t irq;
};
struct IrqVector {  // x86_irq_vectors_*_entry and _exit
  int64_t vector;
};
struct Syscall {};  // entry or exit: the name says which call, no field is read
struct Irq {        // irq_handler_entry and _exit
  int64_t irq;
  std::string_view name;  // irq_handler_entry: the handler's name (e.g. "virtio0-input.0")
};
struct Softirq {
  int64_t vec;
};
struct KvmApicIpi {
  int64_t icr_low, dest_id;
};
struct KvmApicAcceptIrq {
  int64_t apicid, vec;
};
struct KvmMsiSetIrq {
  int64_t address, data;
};
struct KvmSetIrq {
  int64_t gsi, level;
};
struct KvmNestedVmenter {
  int64_t isa;
};
struct KvmNestedVmexit {  // kvm_nested_vmexit and kvm_nested_vmexit_inject
  int64_t exit_code, isa;
};

struct ProcessExec {
  std::string_view filename;
  int64_t tid;
};
// net_send / net_receive: the TCP key (seq, ack_seq, flags: Trace Compass's TcpEventKey) when the
// event carries one, at the top level (inet_sock_local_in/out) or nested in lttng-modules'
// network_header (net_dev_queue, net_if_receive_skb: the plugin reads it, plugins/vm/tcp_header.h);
// `has_tcp` false otherwise.
struct NetPacket {
  int64_t seq, ack_seq, flags;
  bool has_tcp;
};

using EventPayload =
    std::variant<std::monostate, SchedSwitch, SchedWakeup, ProcessFork, ThreadEnd, StatedumpProcess, StatedumpPidNs,
                 KvmEntry, KvmExit, Vmsync, KvmInjVirq, IrqVector, Syscall, Irq, Softirq, KvmApicIpi,
                 KvmApicAcceptIrq, KvmMsiSetIrq, KvmSetIrq, KvmNestedVmenter,
                 KvmNestedVmexit, ProcessExec, NetPacket>;

struct Event {
  EventKind kind = EventKind::other;
  EventContext ctx;
  EventPayload payload;
  // The thread the event happened in (its tid context, else the CPU's current thread before a
  // sched_switch changes it); set by the machine before the analyses see the event.
  int64_t tid = kUnknown;
  // The event class's name (empty when the producer did not set it); valid during the call.
  std::string_view name;

  template <typename T>
  const T& as() const {
    return *std::get_if<T>(&payload);
  }
};

// A string field as read (no default initialization: RawFields is filled per event).
struct RawText {
  const char* data;
  size_t size;
  operator std::string_view() const { return data ? std::string_view(data, size) : std::string_view(); }
};

// The payload fields of one event, in the order of its kind's reader view (layout_of()), as the
// adapter read them. Only the view's fields are set.
struct RawFields {
  int64_t value[kMaxEventFields];
  RawText text[kMaxEventFields];
  const std::vector<int64_t>* array = nullptr;  // the int_array field, if any
  bool present[kMaxEventFields];
};

// Builds the typed payload of `kind` from its raw fields.
EventPayload make_payload(EventKind kind, const RawFields& raw);

}  // namespace vm
