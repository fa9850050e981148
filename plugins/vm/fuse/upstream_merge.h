// SPDX-License-Identifier: MIT
#pragma once
// The upstream side of filter.vm.fuse, as babeltrace2's muxer keeps its upstream message
// iterators apart (src/plugins/utils/muxer/msg-iter.c): a k-way merge over the upstream
// iterators by corrected time.
//
// Within one upstream (the `convert` shorthand gives a single pre-muxed input holding every
// trace) messages are re-sorted in a bounded window: a buffered message is emitted only once no
// later message of that upstream can map to an earlier time, i.e. when its corrected time is <=
// min over the upstream's traces T of T(last raw time read) (corrected transforms are increasing,
// and the upstream is sorted by raw time).

#include <babeltrace2/babeltrace.h>

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "bt_ref.h"
#include "sync/convex_hull_sync.h"
#include "event_reader.h"

namespace vm::fuse {

inline constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();

// What the merge asks of the rest of the filter.
class MachineClock {
 public:
  virtual ~MachineClock() = default;
  // The machine index of a stream's trace, met for the first time.
  virtual int machine_of(const bt_stream* stream) = 0;
  // A machine's raw time in the output clock. The transform increases; it may change for raw
  // times later than every one asked so far (filter.vm.fuse's one-pass learning), never for those.
  virtual int64_t to_output(int machine, int64_t raw) = 0;
};

// Per stream: its machine, its CPU and how far its output times went.
struct StreamState {
  int machine = 0;
  int64_t cpu = kUnknown;
  int64_t last_out_ns = kNoTime;  // for messages without a clock snapshot
  int64_t last_event_out_ns = kNoTime;
  int64_t packet_begin_out_ns = kNoTime;
  // A discarded-items message spans from the end of the previous packet to the end of the next
  // one (CTF, and what sink.ctf.fs checks): the end of that next packet, once mapped.
  int64_t discarded_end_out_ns = kNoTime;
  bt::StreamFields fields;
  std::string name;  // the stream's name: source.ctf.fs names it after its data file's path
};

// A message waiting in an upstream's buffer. The buffer owns its reference (Upstream puts it
// when the message leaves as a Merged or is dropped), so the heap moves plain values: no
// reference counting while it sifts.
struct Buffered {
  const bt_message* message = nullptr;  // owned by the Upstream that buffers it
  StreamState* state = nullptr;         // of its stream (in UpstreamMerge's streams)
  int64_t out_ns = kNoTime;
  uint64_t sequence = 0;  // arrival order: ties keep it
  bool operator>(const Buffered& other) const {
    return out_ns != other.out_ns ? out_ns > other.out_ns : sequence > other.sequence;
  }
};

// A message out of the merge, in corrected time order.
struct Merged {
  bt::Ref<const bt_message> message;  // empty: every upstream ended
  StreamState* state = nullptr;       // of its stream, valid until the next seek
  int64_t out_ns = kNoTime;
  size_t upstream = 0;    // the index of the upstream it came from
  uint64_t sequence = 0;  // its arrival order in that upstream
};

// One upstream iterator and the messages read from it but not emitted yet. Move-only: it owns
// the iterator and the messages.
class Upstream {
 public:
  explicit Upstream(bt::Ref<bt_message_iterator> iterator) : iterator_(std::move(iterator)) {}
  ~Upstream() { drop_buffer(); }
  Upstream(Upstream&&) noexcept = default;  // the moved-from buffer is left empty
  Upstream& operator=(Upstream&&) = delete;
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  bt_message_iterator* iterator() const { return iterator_.get(); }
  bool empty() const { return !has_head_; }
  // The corrected time of the buffered message first in (out_ns, sequence) order (the buffer
  // must not be empty).
  int64_t head_ns() const { return head_ns_; }
  // Takes over `message`'s reference.
  void push(bt::Ref<const bt_message> message, StreamState& state, int64_t out_ns);
  // The head, out of the buffer (the buffer must not be empty).
  void pop(Merged& item);
  void reset();  // drops the buffer, forgets what was read
  // Hands the buffered messages (and their references) over to `out`, in no particular order,
  // and forgets the upstream's read position: UpstreamMerge::retime() buffers them again.
  void take_buffer(std::vector<Buffered>& out);
  // Calls f(const Buffered&) for each buffered message, in no particular order.
  template <class F>
  void for_each_buffered(F f) const {
    for (size_t i = first_; i < queue_.size(); ++i) f(queue_[i]);
    for (const Buffered& item : heap_) f(item);
  }

  bool ended = false;
  bool saw_event = false;  // an event message was read
  int64_t last_raw_ns = kNoTime;
  int64_t frontier_ns = kNoTime;  // lower bound of the corrected time of its later messages
  std::vector<int> traces;        // machine indexes seen in this upstream
  const std::string* last_stream_name = nullptr;  // of the last message read (in UpstreamMerge's streams)
  // What traces and last_stream_name said before the last reset(), to name the input when it
  // fails before giving a message again.
  std::vector<int> traces_before_seek;
  std::string stream_before_seek;
  uint64_t sequence = 0;

 private:
  void drop_buffer();  // puts every buffered message
  void find_head();    // sets has_head_, head_in_heap_ and head_ns_

  bt::Ref<bt_message_iterator> iterator_;
  // The buffer, which owns its messages, in two parts: the messages that came in order (each
  // after the one before in (out_ns, sequence) order: most of them, as an upstream is sorted by
  // raw time and the transforms increase) wait in `queue_` from `first_` on, a FIFO; the others
  // in `heap_`, a min-heap. The head is the first of the two fronts, so the order out is a
  // single heap's, for a push and a pop in O(1) when messages come in order.
  std::vector<Buffered> queue_;
  size_t first_ = 0;  // queue_'s front (queue_ is empty, or first_ < queue_.size())
  std::vector<Buffered> heap_;
  bool has_head_ = false;
  bool head_in_heap_ = false;  // the head is heap_'s front (else queue_'s)
  int64_t head_ns_ = kNoTime;
};

// Raw time of a message of type `type` (kNoTime when it has no clock snapshot) and its stream
// (nullptr: none).
int64_t raw_ns(const bt_message* message, bt_message_type type, const bt_stream*& stream);
// The raw end time of a discarded-items message (0 when it has no clock snapshots).
int64_t discarded_end_raw_ns(const bt_message* message);

class UpstreamMerge {
 public:
  explicit UpstreamMerge(MachineClock& clock) : clock_(clock) {}

  void add(bt::Ref<bt_message_iterator> iterator) {
    upstreams_.emplace_back(std::move(iterator));
    refill_all_ = true;
    popped_ = nullptr;  // pointed into upstreams_
  }
  bool empty() const { return upstreams_.empty(); }
  bool can_seek_beginning() const;
  // Seeks every upstream to its beginning and forgets every stream.
  void seek_beginning();

  // Reads every upstream up to its first event: stream beginnings come first (a muxed input too,
  // they carry no time), so by then every trace has shown itself. False: an upstream said AGAIN.
  bool read_to_first_events();
  // Per machine index (below `machines`), the earliest raw time of the messages buffered now
  // (kNoTime: none with a time). After read_to_first_events(), each upstream's first event and
  // what came before it.
  std::vector<int64_t> buffered_first_raw(size_t machines) const;

  enum class Fill { ready, again };
  // The next message in corrected time order into `item` (its message empty: every upstream
  // ended). What `item` held before is put.
  Fill next(Merged& item);

  // The transforms changed (filter.vm.fuse's one-pass mode, once its lead window is solved):
  // `taken` (every message next() gave since the last seek, in any order; their references are
  // taken over) and every buffered message are buffered again, upstream by upstream in their
  // arrival order, under the new transforms, as if they were read only now.
  void retime(std::vector<Merged>& taken);

  StreamState& stream_state(const bt_stream* stream) {
    return stream == last_stream_ ? *last_stream_state_ : find_stream_state(stream);
  }

  struct UpstreamError {  // an upstream iterator failed (its causes are set)
    std::vector<int> machines;  // the machine indexes read from it so far
    std::string stream;         // the name of the stream read last ("" if none)
  };

 private:
  // Reads `upstream` until its head can go out (or it ended).
  Fill refill(Upstream& upstream);
  bool emittable(const Upstream& upstream) const {
    return !upstream.empty() && upstream.head_ns() <= upstream.frontier_ns;
  }
  int64_t frontier(const Upstream& upstream) const;
  StreamState& find_stream_state(const bt_stream* stream);  // stream_state() past its one-entry cache
  Fill read(Upstream& upstream);
  void buffer(Upstream& upstream, const bt_message* owned);  // takes over the reference

  MachineClock& clock_;
  std::vector<Upstream> upstreams_;
  // next() reads only the upstream that gave the last message: the others' heads stay
  // emittable (their frontiers move only when they are read). Every upstream after a seek, or
  // when an upstream said AGAIN.
  bool refill_all_ = true;
  Upstream* popped_ = nullptr;
  std::unordered_map<const bt_stream*, StreamState> streams_;
  const bt_stream* last_stream_ = nullptr;  // one-entry cache in front of `streams_`
  StreamState* last_stream_state_ = nullptr;
};

}  // namespace vm::fuse
