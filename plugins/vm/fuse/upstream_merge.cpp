// SPDX-License-Identifier: MIT
#include "fuse/upstream_merge.h"

#include <algorithm>
#include <functional>
#include <new>
#include <stdexcept>

namespace vm::fuse {

void Upstream::push(bt::Ref<const bt_message> message, StreamState& state, int64_t out_ns) {
  const Buffered item{message.get(), &state, out_ns, sequence++};
  if (queue_.empty() || !(queue_.back() > item)) {
    queue_.push_back(item);
    message.release();  // the buffer owns it now
    if (queue_.size() > 1) return;  // the head stays
  } else {
    heap_.push_back(item);
    message.release();
    std::push_heap(heap_.begin(), heap_.end(), std::greater<Buffered>());
  }
  find_head();
}

void Upstream::pop(Merged& item) {
  Buffered out;
  if (!head_in_heap_) {
    out = queue_[first_];
    if (++first_ == queue_.size()) {
      queue_.clear();
      first_ = 0;
    } else if (first_ >= 4096 && first_ * 2 >= queue_.size()) {
      // An upstream that never drains (several traces in one): drop the front already out.
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(first_));
      first_ = 0;
    }
  } else {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<Buffered>());
    out = heap_.back();
    heap_.pop_back();
  }
  find_head();
  item.message = bt::Ref<const bt_message>::adopt(out.message);
  item.state = out.state;
  item.out_ns = out.out_ns;
  item.sequence = out.sequence;
}

void Upstream::take_buffer(std::vector<Buffered>& out) {
  out.insert(out.end(), queue_.begin() + static_cast<std::ptrdiff_t>(first_), queue_.end());
  out.insert(out.end(), heap_.begin(), heap_.end());
  queue_.clear();
  first_ = 0;
  heap_.clear();
  find_head();
  last_raw_ns = kNoTime;
  frontier_ns = kNoTime;
  traces.clear();
  sequence = 0;
}

void Upstream::find_head() {
  const bool queued = !queue_.empty();
  head_in_heap_ = !heap_.empty() && (!queued || queue_[first_] > heap_.front());
  has_head_ = queued || head_in_heap_;
  if (has_head_) head_ns_ = head_in_heap_ ? heap_.front().out_ns : queue_[first_].out_ns;
}

void Upstream::drop_buffer() {
  for (size_t i = first_; i < queue_.size(); ++i) bt_message_put_ref(queue_[i].message);
  for (const Buffered& item : heap_) bt_message_put_ref(item.message);
  queue_.clear();
  first_ = 0;
  heap_.clear();
  find_head();
}

void Upstream::reset() {
  if (!traces.empty()) traces_before_seek = traces;
  if (last_stream_name) stream_before_seek = *last_stream_name;
  drop_buffer();
  ended = false;
  saw_event = false;
  last_raw_ns = kNoTime;
  frontier_ns = kNoTime;
  traces.clear();
  last_stream_name = nullptr;
}

int64_t raw_ns(const bt_message* message, bt_message_type type, const bt_stream*& stream) {
  stream = nullptr;
  switch (type) {
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
  refill_all_ = true;
  popped_ = nullptr;
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
  refill_all_ = true;  // a trace new to an upstream can lower its frontier
  for (Upstream& upstream : upstreams_) {
    while (!upstream.ended && !upstream.saw_event) {
      if (read(upstream) == Fill::again) return false;
    }
  }
  return true;
}

std::vector<int64_t> UpstreamMerge::buffered_first_raw(size_t machines) const {
  std::vector<int64_t> first(machines, kNoTime);
  for (const Upstream& upstream : upstreams_) {
    upstream.for_each_buffered([&](const Buffered& item) {
      const bt_stream* stream = nullptr;
      const int64_t raw = raw_ns(item.message, bt_message_get_type(item.message), stream);
      if (raw == kNoTime || !item.state || item.state->machine < 0) return;
      const size_t m = static_cast<size_t>(item.state->machine);
      if (m < machines && (first[m] == kNoTime || raw < first[m])) first[m] = raw;
    });
  }
  return first;
}

// Reads the upstreams whose head could still be preceded, then takes the earliest head.
UpstreamMerge::Fill UpstreamMerge::next(Merged& item) {
  item.message.reset();
  item.state = nullptr;
  item.out_ns = kNoTime;
  if (refill_all_) {
    for (Upstream& upstream : upstreams_) {
      if (refill(upstream) == Fill::again) return Fill::again;
    }
    refill_all_ = false;
  } else if (popped_ && !popped_->ended && !emittable(*popped_) && refill(*popped_) == Fill::again) {
    return Fill::again;
  }
  Upstream* chosen = nullptr;
  int64_t earliest = 0;
  for (Upstream& upstream : upstreams_) {
    if (upstream.empty()) continue;
    if (!chosen || earliest > upstream.head_ns()) {  // ties: the first upstream
      chosen = &upstream;
      earliest = upstream.head_ns();
    }
  }
  if (chosen) {
    chosen->pop(item);
    item.upstream = static_cast<size_t>(chosen - upstreams_.data());
  }  // else every upstream ended
  popped_ = chosen;
  return Fill::ready;
}

void UpstreamMerge::retime(std::vector<Merged>& taken) {
  std::vector<std::vector<Buffered>> arrivals(upstreams_.size());
  for (Merged& item : taken) {
    if (!item.message) continue;
    arrivals.at(item.upstream).push_back(Buffered{item.message.release(), item.state, kNoTime, item.sequence});
  }
  taken.clear();
  for (size_t i = 0; i < upstreams_.size(); ++i) upstreams_[i].take_buffer(arrivals[i]);
  for (auto& [stream, state] : streams_) {
    state.last_out_ns = state.last_event_out_ns = state.packet_begin_out_ns = state.discarded_end_out_ns = kNoTime;
  }
  refill_all_ = true;
  popped_ = nullptr;
  // buffer() takes over each reference, even when it throws; the ones after it are put then.
  for (size_t i = 0; i < upstreams_.size(); ++i) {
    std::vector<Buffered>& items = arrivals[i];
    std::sort(items.begin(), items.end(),
              [](const Buffered& a, const Buffered& b) { return a.sequence < b.sequence; });
    size_t k = 0;
    try {
      for (; k < items.size(); ++k) buffer(upstreams_[i], items[k].message);
    } catch (...) {
      for (++k; k < items.size(); ++k) bt_message_put_ref(items[k].message);
      for (size_t j = i + 1; j < upstreams_.size(); ++j)
        for (const Buffered& item : arrivals[j]) bt_message_put_ref(item.message);
      throw;
    }
  }
}

UpstreamMerge::Fill UpstreamMerge::refill(Upstream& upstream) {
  while (!upstream.ended && !emittable(upstream)) {
    if (read(upstream) == Fill::again) return Fill::again;
  }
  return Fill::ready;
}

int64_t UpstreamMerge::frontier(const Upstream& upstream) const {
  int64_t lowest = std::numeric_limits<int64_t>::max();
  for (int machine : upstream.traces)
    lowest = std::min(lowest, clock_.to_output(machine, upstream.last_raw_ns));
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
      // (Right after a seek, nothing is read yet: what the upstream held before it.)
      throw UpstreamError{upstream.traces.empty() ? upstream.traces_before_seek : upstream.traces,
                          upstream.last_stream_name ? *upstream.last_stream_name : upstream.stream_before_seek};
  }
  // Owned from here on, whatever happens to the ones before them.
  // Owned from here on: buffer() takes over each reference, even when it throws; the ones after
  // it are put then.
  uint64_t i = 0;
  try {
    for (; i < count; ++i) buffer(upstream, messages[i]);
  } catch (...) {
    for (++i; i < count; ++i) bt_message_put_ref(messages[i]);
    throw;
  }
  return Fill::ready;
}

StreamState& UpstreamMerge::find_stream_state(const bt_stream* stream) {
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

void UpstreamMerge::buffer(Upstream& upstream, const bt_message* message) {
  auto owned = bt::Ref<const bt_message>::adopt(message);
  const bt_message_type type = bt_message_get_type(message);
  const bt_stream* stream = nullptr;
  const int64_t raw = raw_ns(message, type, stream);
  if (!stream) return;  // message iterator inactivity: nothing to merge
  StreamState& state = stream_state(stream);
  upstream.last_stream_name = &state.name;
  if (type == BT_MESSAGE_TYPE_EVENT) upstream.saw_event = true;
  if (std::find(upstream.traces.begin(), upstream.traces.end(), state.machine) == upstream.traces.end()) {
    upstream.traces.push_back(state.machine);
    if (upstream.last_raw_ns != kNoTime) upstream.frontier_ns = frontier(upstream);
  }
  if (type == BT_MESSAGE_TYPE_PACKET_BEGINNING)
    state.cpu = bt::packet_cpu(bt_message_packet_beginning_borrow_packet_const(message), state.fields);
  int64_t out = state.last_out_ns;
  if (raw != kNoTime) {
    out = clock_.to_output(state.machine, raw);
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
      state.discarded_end_out_ns = std::max(out, clock_.to_output(state.machine, discarded_end_raw_ns(message)));
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
  upstream.push(std::move(owned), state, out);
}

}  // namespace vm::fuse
