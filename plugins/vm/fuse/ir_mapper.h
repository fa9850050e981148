// SPDX-License-Identifier: MIT
#pragma once
// IrMapper: re-creates input messages in a parallel output trace IR (babeltrace2 messages and
// classes are immutable once used), with new timestamps and four tags appended to every event's
// common context. filter.vm.fuse's only copy of the IR (docs/design.md, filter.vm.fuse: copy once, leanly).
//
// Output clock: one clock class for every output stream class, 1 GHz, offset 0, origin the Unix
// epoch, so an output timestamp is the reference clock's ns from the epoch. One output trace per
// input trace (same name, UUID, environment, plus the caller's extra entries).

#include <babeltrace2/babeltrace.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bt_ref.h"

namespace vm::fuse {

// Appended to every output event's common context: vm_machine (string), vm_layer (unsigned),
// vm_vcpu and vm_pcpu (signed, -1 when not a guest event / unknown).
struct EventTags {
  const char* machine;
  uint64_t layer;
  int64_t vcpu;
  int64_t pcpu;
};

class IrMapper {
 public:
  explicit IrMapper(bt_self_message_iterator* self);
  ~IrMapper();
  IrMapper(const IrMapper&) = delete;
  IrMapper& operator=(const IrMapper&) = delete;

  // Extra environment entries of the output trace of `in_trace` (before its first message).
  void set_trace_environment(const bt_trace* in_trace, const std::vector<std::pair<std::string, std::string>>& extra);

  // Each returns the output message, or throws std::runtime_error.
  using Message = bt::Ref<const bt_message>;
  Message stream_beginning(const bt_message* in);
  Message stream_end(const bt_message* in);
  Message packet_beginning(const bt_message* in, int64_t out_ns);
  Message packet_end(const bt_message* in, int64_t out_ns);
  Message event(const bt_message* in, int64_t out_ns, const EventTags& tags);
  Message discarded_events(const bt_message* in, int64_t out_begin_ns, int64_t out_end_ns);
  Message discarded_packets(const bt_message* in, int64_t out_begin_ns, int64_t out_end_ns);

  // One piece of a machine's transform (one-pass learning), for its `vm_sync_segment` event.
  struct SyncSegment {
    uint64_t seq;
    int64_t from_ns, to_ns;  // reference clock
    std::string alpha, beta, accuracy_ns;  // accuracy_ns "" when unbounded
  };
  // One packet of the `vm_sync` stream of the output trace of `in_trace` (one-pass learning):
  // stream class `vm_sync` (packets, the four tags as every output event's common context, no
  // packet context), each packet at `out_ns` with `vm_sync_segment` events (pieces of the
  // machine's transform that will not change any more) then `vm_sync_entry` events (`key`,
  // `value`: the model as learned by then, kvm/machine_env.h). The first call for a trace creates
  // the stream and begins with its stream beginning; `last` ends the stream after the packet.
  std::vector<Message> sync_segments(const bt_trace* in_trace, int64_t out_ns, const EventTags& tags,
                                     const std::vector<SyncSegment>& segments,
                                     const std::vector<std::pair<std::string, std::string>>& entries, bool last);

  // Forgets every mapping (seek to the beginning: the inputs are read again).
  void reset();

 private:
  struct TraceClassMap;
  struct EventClassMap {
    bt_event_class* out = nullptr;  // weak: owned by its stream class
  };
  struct StreamClassMap {
    bt_stream_class* out = nullptr;  // weak: owned by its trace class
    uint64_t tag_index = 0;          // index of vm_machine in the output common context
    bool has_packets = false;
  };
  struct StreamMap {
    bt::Ref<bt_stream> out;
    bt::Ref<bt_packet> packet;               // the current output packet
    const bt_packet* in_packet = nullptr;    // weak
    StreamClassMap* stream_class = nullptr;  // weak
  };

  bt_self_component* component();
  TraceClassMap& trace_class_map(const bt_trace_class* in);
  StreamClassMap& stream_class_map(const bt_stream_class* in);
  bt_event_class* event_class_map(const bt_event_class* in);
  StreamMap& stream_map(const bt_stream* in);
  bt_trace* trace_map(const bt_trace* in);
  static uint64_t cycles(int64_t ns);
  static void append_tag_members(bt_trace_class* trace_class, bt_field_class* common);
  static void set_tags(bt_field* common, uint64_t index, const EventTags& tags);
  struct DiscardedApi;
  // A discarded events or packets message (`api` says which), mapped to the output stream.
  Message discarded(const bt_message* in, int64_t out_begin_ns, int64_t out_end_ns, const DiscardedApi& api);

  bt_self_message_iterator* self_;  // weak
  bt::Ref<bt_clock_class> clock_;
  std::unordered_map<const bt_trace_class*, std::unique_ptr<TraceClassMap>> trace_classes_;
  std::unordered_map<const bt_stream_class*, StreamClassMap> stream_classes_;
  std::unordered_map<const bt_event_class*, EventClassMap> event_classes_;
  std::unordered_map<const bt_trace*, bt::Ref<bt_trace>> traces_;
  std::unordered_map<const bt_trace*, std::vector<std::pair<std::string, std::string>>> extra_env_;
  std::unordered_map<const bt_stream*, StreamMap> streams_;
  struct SyncStream {  // a trace's `vm_sync` stream, while it is open
    bt::Ref<bt_stream> stream;
    bt_event_class* segment_class = nullptr;  // weak: owned by the stream class
    bt_event_class* entry_class = nullptr;
  };
  std::unordered_map<const bt_trace*, SyncStream> sync_streams_;
  // Creates the `vm_sync` stream class (with its two event classes) and stream of `in_trace`'s output trace.
  SyncStream open_sync_stream(const bt_trace* in_trace);
  const bt_event_class* last_event_class_ = nullptr;
  bt_event_class* last_out_event_class_ = nullptr;
  const bt_stream* last_stream_ = nullptr;
  StreamMap* last_stream_map_ = nullptr;
};

}  // namespace vm::fuse
