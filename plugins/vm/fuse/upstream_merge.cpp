// SPDX-License-Identifier: MIT
#include "fuse/upstream_merge.h"

#include <algorithm>
#include <functional>
#include <new>
#include <stdexcept>

namespace vm::fuse {

void Upstream::push(Buffered item) {
  buffer_.push_back(std::move(item));
  std::push_heap(buffer_.begin(), buffer_.end(), std::greater<Buffered>());
}

Buffered Upstream::pop() {
  std::pop_heap(buffer_.begin(), buffer_.end(), std::greater<Buffered>());
  Buffered item = std::move(buffer_.back());
  buffer_.pop_back();
  return item;
}

void Upstream::reset() {
  buffer_.clear();
  ended = false;
  saw_event = false;
  last_raw_ns = kNoTime;
  frontier_ns = kNoTime;
  traces.clear();
  last_stream_name = nullptr;
}

int64_t raw_ns(const bt_message* message, const bt_stream*& stream) {
  stream = nullptr;
  switch (bt_message_get_type(message)) {
    case BT_MESSAGE_TYPE_EVENT:
      stream = bt_event_borrow_stream_const(bt_message_event_borrow_event_const(message));
      return bt::event_ns(message);
    case BT_MESSAGE_TYPE_PACKET_BEGINNING: {
      const bt_packet* packet = bt_message_packet_beginning_borrow_packet_const(message);
      stream = bt_packet_borrow_stream_const(packet);
      if (!bt_stream_class_packets_have_beginning_default_clock_snapshot(bt_stream_borrow_class_const(stream)))
        return kNoTime;
      return bt::snapshot_ns(bt_message_packet_beginning_borrow_default_clock_snapshot_const(message));
    }
    case BT_MESSAGE_TYPE_PACKET_END: {
      const bt_packet* packet = bt_message_packet_end_borrow_packet_const(message);
      stream = bt_packet_borrow_stream_const(packet);
      if (!bt_stream_class_packets_have_end_default_clock_snapshot(bt_stream_borrow_class_const(stream)))
        return kNoTime;
      return bt::snapshot_ns(bt_message_packet_end_borrow_default_clock_snapshot_const(message));
    }
    case BT_MESSAGE_TYPE_STREAM_BEGINNING:
      stream = bt_message_stream_beginning_borrow_stream_const(message);
      return kNoTime;
    case BT_MESSAGE_TYPE_STREAM_END: stream = bt_message_stream_end_borrow_stream_const(message); return kNoTime;
    case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
      stream = bt_message_discarded_events_borrow_stream_const(message);
      if (!bt_stream_class_discarded_events_have_default_clock_snapshots(bt_stream_borrow_class_const(stream)))
        return kNoTime;
      // Ordered by where the loss begins, as filter.utils.muxer does: the analyses downstream
      // mark what the loss may have changed unknown from there on.
      return bt::snapshot_ns(bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(message));
    case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
      stream = bt_message_discarded_packets_borrow_stream_const(message);
      if (!bt_stream_class_discarded_packets_have_default_clock_snapshots(bt_stream_borrow_class_const(stream)))
        return kNoTime;
      return bt::snapshot_ns(bt_message_discarded_packets_borrow_beginning_default_clock_snapshot_const(message));
    default: return kNoTime;
  }
}

int64_t discarded_end_raw_ns(const bt_message* message) {
  if (bt_message_get_type(message) == BT_MESSAGE_TYPE_DISCARDED_EVENTS) {
    const bt_stream* stream = bt_message_discarded_events_borrow_stream_const(message);
    if (!bt_stream_class_discarded_events_have_default_clock_snapshots(bt_stream_borrow_class_const(stream))) return 0;
    return bt::snapshot_ns(bt_message_discarded_events_borrow_end_default_clock_snapshot_const(message));
  }
  const bt_stream* stream = bt_message_discarded_packets_borrow_stream_const(message);
  if (!bt_stream_class_discarded_packets_have_default_clock_snapshots(bt_stream_borrow_class_const(stream))) return 0;
  return bt::snapshot_ns(bt_message_discarded_packets_borrow_end_default_clock_snapshot_const(message));
}

bool UpstreamMerge::can_seek_beginning() const {
  for (const Upstream& upstream : upstreams_) {
    bt_bool can = BT_FALSE;
    if (bt_message_iterator_can_seek_beginning(upstream.iterator(), &can) !=
        BT_MESSAGE_ITERATOR_CAN_SEEK_BEGINNING_STATUS_OK)
      throw UpstreamError();
    if (!can) return false;
  }
  return true;
}

void UpstreamMerge::seek_beginning() {
  for (Upstream& upstream : upstreams_) {
    if (bt_message_iterator_seek_beginning(upstream.iterator()) != BT_MESSAGE_ITERATOR_SEEK_BEGINNING_STATUS_OK)
      throw std::runtime_error("cannot seek an upstream iterator to the beginning");
    upstream.reset();
  }
  streams_.clear();
  last_stream_ = nullptr;  // pointed into streams_
  last_stream_state_ = nullptr;
}

bool UpstreamMerge::read_to_first_events() {
  for (Upstream& upstream : upstreams_) {
    while (!upstream.ended && !upstream.saw_event) {
      if (read(upstream) == Fill::again) return false;
    }
  }
  return true;
}

UpstreamMerge::Fill UpstreamMerge::next(std::optional<Buffered>& item) {
  item.reset();
  Upstream* upstream = nullptr;
  if (fill(upstream) == Fill::again) return Fill::again;
  if (upstream) item = upstream->pop();
  return Fill::ready;
}

// Makes sure the upstream with the earliest emit-able message is known: reads upstreams whose
// head could still be preceded. Sets `chosen` to it, or nullptr when everything ended.
UpstreamMerge::Fill UpstreamMerge::fill(Upstream*& chosen) {
  chosen = nullptr;
  for (Upstream& upstream : upstreams_) {
    while (!upstream.ended && !emittable(upstream)) {
      if (read(upstream) == Fill::again) return Fill::again;
    }
  }
  for (Upstream& upstream : upstreams_) {
    if (upstream.empty()) continue;
    if (!chosen || chosen->head().out_ns > upstream.head().out_ns) chosen = &upstream;
  }
  return Fill::ready;
}

int64_t UpstreamMerge::frontier(const Upstream& upstream) const {
  int64_t lowest = std::numeric_limits<int64_t>::max();
  for (int machine : upstream.traces)
    lowest = std::min(lowest, clock_.transform_of(machine).apply(upstream.last_raw_ns));
  return lowest;
}

UpstreamMerge::Fill UpstreamMerge::read(Upstream& upstream) {
  bt_message_array_const messages;
  uint64_t count = 0;
  switch (bt_message_iterator_next(upstream.iterator(), &messages, &count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK: break;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END: upstream.ended = true; return Fill::ready;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN: return Fill::again;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR: throw std::bad_alloc();
    default:
      throw UpstreamError{upstream.traces, upstream.last_stream_name ? *upstream.last_stream_name : std::string()};
  }
  // Owned from here on, whatever happens to the ones before them.
  std::vector<bt::Ref<const bt_message>> batch(count);
  for (uint64_t i = 0; i < count; ++i) batch[i] = bt::Ref<const bt_message>::adopt(messages[i]);
  for (bt::Ref<const bt_message>& message : batch) buffer(upstream, std::move(message));
  return Fill::ready;
}

StreamState& UpstreamMerge::stream_state(const bt_stream* stream) {
  if (stream == last_stream_) return *last_stream_state_;
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    StreamState state;
    state.machine = clock_.machine_of(stream);
    state.fields = bt::locate_stream_fields(bt_stream_borrow_class_const(stream));
    const char* name = bt_stream_get_name(stream);
    state.name = name ? name : "";
    it = streams_.emplace(stream, state).first;
  }
  last_stream_ = stream;
  last_stream_state_ = &it->second;
  return it->second;
}

void UpstreamMerge::buffer(Upstream& upstream, bt::Ref<const bt_message> owned) {
  const bt_message* message = owned.get();
  const bt_stream* stream = nullptr;
  const int64_t raw = raw_ns(message, stream);
  if (!stream) return;  // message iterator inactivity: nothing to merge
  StreamState& state = stream_state(stream);
  upstream.last_stream_name = &state.name;
  const bt_message_type type = bt_message_get_type(message);
  if (type == BT_MESSAGE_TYPE_EVENT) upstream.saw_event = true;
  if (std::find(upstream.traces.begin(), upstream.traces.end(), state.machine) == upstream.traces.end()) {
    upstream.traces.push_back(state.machine);
    if (upstream.last_raw_ns != kNoTime) upstream.frontier_ns = frontier(upstream);
  }
  if (type == BT_MESSAGE_TYPE_PACKET_BEGINNING)
    state.cpu = bt::packet_cpu(bt_message_packet_beginning_borrow_packet_const(message), state.fields);
  int64_t out = state.last_out_ns;
  if (raw != kNoTime) {
    const LinearTransform& transform = clock_.transform_of(state.machine);
    out = transform.apply(raw);
    // Older lttng-modules traces can end a packet after the next one begins (event times stay
    // monotonic): a packet end keeps the time of its last event, a packet beginning never goes
    // before what its stream already emitted, so every stream stays in order.
    const bool discarded = type == BT_MESSAGE_TYPE_DISCARDED_EVENTS || type == BT_MESSAGE_TYPE_DISCARDED_PACKETS;
    // (Never below the upstream's frontier: messages up to it may already be out.)
    if (type == BT_MESSAGE_TYPE_PACKET_END && state.discarded_end_out_ns != kNoTime) {
      out = state.discarded_end_out_ns;  // the end of the preceding discarded-items message
      state.discarded_end_out_ns = kNoTime;
    } else if (type == BT_MESSAGE_TYPE_PACKET_END && state.last_event_out_ns != kNoTime) {
      out = std::min(out, std::max({state.last_event_out_ns, state.packet_begin_out_ns, upstream.frontier_ns}));
    }
    if (discarded) {
      // It begins where the previous packet ended (as mapped), and ends with the next one.
      if (state.last_out_ns != kNoTime) out = std::max(state.last_out_ns, upstream.frontier_ns);
      state.discarded_end_out_ns = std::max(out, transform.apply(discarded_end_raw_ns(message)));
    }
    if (state.last_out_ns != kNoTime) out = std::max(out, state.last_out_ns);
    if (type == BT_MESSAGE_TYPE_EVENT) state.last_event_out_ns = out;
    if (type == BT_MESSAGE_TYPE_PACKET_BEGINNING) state.packet_begin_out_ns = out;
    state.last_out_ns = out;
    if (raw > upstream.last_raw_ns) {
      upstream.last_raw_ns = raw;
      // No later message of this upstream maps earlier than this (its input is sorted by raw
      // time and the transforms increase).
      upstream.frontier_ns = upstream.traces.size() == 1 ? out : frontier(upstream);
    }
  }
  upstream.push(Buffered{std::move(owned), out, upstream.sequence++});
}

}  // namespace vm::fuse
