// SPDX-License-Identifier: MIT
#pragma once
// Clock synchronization of a guest with its host from stock KVM events only (no vmsync module,
// no network traffic): every event the guest records on vCPU v happens while v runs guest code,
// i.e. inside one of the host's windows [kvm_x86_entry, next kvm_x86_exit] of v's thread. No
// published tool uses this; it needs nothing but the events a KVM host trace has anyway.
//
// Method (robust to clock drift: a guest's clock typically drifts by a few to tens of ppm
// against its host's, NTP slews up to 500 ppm, and many guest events lie within a few us, even
// 1 ns, of a window's edge, so no constant offset keeps them all inside over seconds):
//   1. Rough offset: the guest-to-host offset d (t_host = t_guest + d) that best aligns the
//      guest's events with the host's in-guest windows, by correlation over the whole trace at
//      10 ms then 1 ms resolution (a drift of up to about a millisecond over the trace does not
//      matter at these resolutions); each level scores a lag by the guest events whose shifted
//      time falls in guest-mode time of their vCPU.
//   2. Leading segment: the same at 100 us, then offset and slope together (exact counts, offsets
//      by 10 us then 1 us, slopes within +-max_drift_ppm) on a short segment where the host
//      trace begins: even over 200 ms, 50 ppm moves events by 10 us, out of their windows.
//   3. Tracking: short segments one after the other, each searched (exact counts, under the
//      slope known so far) around the offset predicted by a least-squares line through the
//      previous segments' offsets. The line through all segments is the drift-aware first
//      estimate; the share of events inside a window, each segment under its own offset, is the
//      match score (coarse()).
//   4. Constraints: under the current estimate, each guest event is assigned to the window that
//      contains it, unless a window of its vCPU other than that one lies within the estimate's
//      error bound (then it is skipped: a wrong assignment would be a false constraint); the
//      first event of a window gives "host entry before guest event", the last "guest event
//      before host exit": two causal messages, fed in host-time order to the convex hull
//      (ConvexHullSync, host = reference), which estimates offset and drift with an error bound.
//      The hull's transform and bound give the next estimate; a few rounds converge.
// The score (the fraction of guest events inside a window) is the
// confidence of the guest-to-VM match: the right VM explains ~100% of the guest's events, a
// wrong one a fraction close to its vCPUs' guest-mode share.

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "sync/convex_hull_sync.h"
#include "base/packed_seq.h"
#include "base/types.h"

namespace vm {

// A guest-mode window of a vCPU thread on the host: from kvm_entry to kvm_exit (host clock).
struct GuestModeWindow {
  Timestamp entry, exit;
  bool operator==(const GuestModeWindow& o) const { return entry == o.entry && exit == o.exit; }
};
// Packed (base/packed_seq.h): the entry as a difference from the previous window's exit, the
// exit as a difference from its entry. Both are short: 2 to 3 bytes each at kernel-trace gaps.
struct WindowCodec {
  static void put(PackedBytes& bytes, const GuestModeWindow& previous, const GuestModeWindow& w) {
    Varint::put(bytes, previous.exit, w.entry);
    Varint::put(bytes, w.entry, w.exit);
  }
  static GuestModeWindow get(const PackedBytes& bytes, size_t& byte, const GuestModeWindow& previous) {
    GuestModeWindow w;
    w.entry = Varint::get(bytes, byte, previous.exit);
    w.exit = Varint::get(bytes, byte, w.entry);
    return w;
  }
};

// An interrupt vector: injected by the host (kvm_x86_inj_virq, host clock) or entered by the
// guest's handler (x86_irq_vectors_*_entry, guest clock).
struct InterruptVector {
  Timestamp ts;
  int64_t vector;
  bool operator==(const InterruptVector& o) const { return ts == o.ts && vector == o.vector; }
};
// Packed: the time as a difference from the one before, the vector number on its own (from 0:
// one or two bytes).
struct VectorCodec {
  static void put(PackedBytes& bytes, const InterruptVector& previous, const InterruptVector& v) {
    Varint::put(bytes, previous.ts, v.ts);
    Varint::put(bytes, 0, v.vector);
  }
  static InterruptVector get(const PackedBytes& bytes, size_t& byte, const InterruptVector& previous) {
    InterruptVector v;
    v.ts = Varint::get(bytes, byte, previous.ts);
    v.vector = Varint::get(bytes, byte, 0);
    return v;
  }
};

// Per vCPU, a sequence (a std::vector or a PackedSeq) that is either a view of a caller's (which
// must outlive the owner: GuestEvidence's, in guest matching, so that every candidate VM's sync
// does not copy the whole pass-1 evidence) or one of its own (add_*(), or a second source for
// one vCPU).
template <class T, class Seq = std::vector<T>>
class PerVcpu {
 public:
  size_t size() const { return slots_.size(); }
  const Seq& operator[](size_t v) const { return slots_[v].view ? *slots_[v].view : slots_[v].own; }
  void push(size_t v, const T& x) { own(v).push_back(x); }
  // `items` in place when the vCPU has nothing yet, else appended to a copy.
  void view(size_t v, const Seq& items) {
    grow(v);
    Slot& s = slots_[v];
    if (!s.view && s.own.empty()) s.view = &items;
    else own(v).insert(s.own.end(), items.begin(), items.end());
  }

 private:
  struct Slot {
    const Seq* view = nullptr;
    Seq own;
  };
  void grow(size_t v) {
    if (v >= slots_.size()) slots_.resize(v + 1);
  }
  Seq& own(size_t v) {
    grow(v);
    Slot& s = slots_[v];
    if (s.view) {
      s.own = *s.view;
      s.view = nullptr;
    }
    return s.own;
  }
  std::vector<Slot> slots_;
};

class KvmWindowSync {
 public:
  using Window = GuestModeWindow;
  // A vCPU's windows: one for every guest entry of the host trace, all kept by pass 1.
  using Windows = PackedSeq<Window, WindowCodec>;

  // Host side: guest-mode windows of vCPU `vcpu` (host clock), in time order.
  void add_window(int vcpu, Timestamp entry, Timestamp exit);
  // Guest side: an event the guest recorded on its CPU `vcpu` (guest clock), in time order.
  void add_guest_event(int vcpu, Timestamp ts);
  // The same for a whole vector, read in place (not copied) when the vCPU has nothing yet: the
  // vector must outlive this object and not change.
  void add_windows(int vcpu, const Windows& windows);
  void add_guest_events(int vcpu, const TimeSeq& events);

  using Vector = InterruptVector;
  // A vCPU's vectors, in time order, as pass 1 keeps them.
  using Vectors = PackedSeq<Vector, VectorCodec>;
  void add_injection(int vcpu, const Vector& injection);
  void add_guest_vector(int vcpu, const Vector& entry);
  // The same for a whole sequence, read in place as add_windows().
  void add_injections(int vcpu, const Vectors& injections);
  void add_guest_vectors(int vcpu, const Vectors& entries);
  // Host-before-guest constraints from injected interrupts: each injection is matched to the
  // guest's first handler entry of the same vector inside the first guest-mode window that starts
  // after it (under `guest_to_host`, e.g. solve()'s result). One direction only: on their own
  // they bound the offset from one side.
  std::vector<std::pair<Timestamp, Timestamp>> injection_pairs(const LinearTransform& guest_to_host) const;

  size_t window_count() const;
  size_t guest_event_count() const;

  struct Options {
    Timestamp search_range_ns = 2'000'000'000;  // |d| <= this around `offset_hint_ns`
    Timestamp offset_hint_ns = 0;               // e.g. the difference of the clocks' origins
    Timestamp lead_ns = 200'000'000;            // leading segment, doubled (twice at most) ...
    uint64_t lead_events = 1'000;               // ... until it has this many checkable events
    double max_drift_ppm = 500;                 // leading segment: |alpha - 1| <= this (NTP's largest slew)
    Timestamp segment_ns = 100'000'000;         // drift tracking segment
    Timestamp segment_search_ns = 32'000;       // per segment: |d - predicted d| <= this
    uint64_t min_segment_events = 100;          // fewer checkable events: the segment does not move the line
    double min_segment_inside = 0.9;            // lower share inside windows: the segment does not move the line
    int rounds = 10;                            // at most this many assignment + hull rounds
  };
  struct Result {
    bool found = false;
    Timestamp coarse_offset_ns = 0;  // best constant offset on the leading segment (t_host = t_guest + offset)
    // coarse(): checkable guest events inside a window, each segment under its own offset;
    // solve(): under guest_to_host.
    double inside_fraction = 0;
    ConvexHullSync hull;             // host = the hull's reference; matches from the constraints
    // solve(): the hull's transform (the tracked line if the hull fails); coarse(): the line.
    LinearTransform guest_to_host;
    uint64_t constraints = 0;
    // The causal messages fed to the hull, for callers that combine them with other sync
    // points: the host "sends" at a window's entry, the guest at the last event of a window.
    struct Constraint {
      bool host_sends;
      Timestamp send_ts, recv_ts;
    };
    // constraint_list(result) gives them (recomputed: they are as many as the windows, so the
    // result does not keep them).
    LinearTransform list_estimate;
    Timestamp list_tolerance = 0;
    uint64_t used_segments = 0, skipped_segments = 0;  // tracking segments that moved the line, or not
    uint64_t rounds = 0;                               // assignment + hull rounds that gave the result
  };
  Result solve(const Options& options) const;
  // The constraints that gave solve()'s hull (none when it found none), in host-time order.
  std::vector<Result::Constraint> constraint_list(const Result& solved) const;
  // The same, one at a time, in the same order, without building the list.
  void for_each_constraint(const Result& solved, const std::function<void(const Result::Constraint&)>& fn) const;
  // Steps 1 to 3: the drift-tracked score, to choose among candidate VMs (no hull).
  Result coarse(const Options& options) const;

  // Fraction of guest events that fall inside a window of their vCPU under `guest_to_host`.
  double inside_fraction(const LinearTransform& guest_to_host) const;

 private:
  // Steps 1-3: the tracked offsets' line and the score.
  struct Track {
    bool found = false;
    Timestamp lead_offset = 0;  // at the leading segment's middle
    LinearTransform line;              // t_host = line.apply(t_guest)
    Timestamp line_error_ns = 0;       // largest distance of a used segment's offset from the line
    uint64_t inside = 0, in_range = 0;  // over all segments, each under its own offset
    uint64_t used_segments = 0, skipped_segments = 0;
  };
  Track track(const Options& options) const;  // the last one again when nothing changed
  Track track_anew(const Options& options) const;
  static Result result_of(const Track& tracked);
  // Guest clock range [begin, end) of the guest events.
  std::pair<Timestamp, Timestamp> guest_range() const;
  // Step 4: the causal messages of the windows under `guest_to_host`, in host-time order, ties
  // in the order of the vCPUs and then of each vCPU's sequence; an event is used only if no
  // other window of its vCPU is within `tolerance` of its host time.
  std::vector<Result::Constraint> constraints(const LinearTransform& guest_to_host, Timestamp tolerance) const;
  // The same constraints given to `fn` in the same order as a merge of the vCPUs' own
  // sequences, without a list: a merge that takes the lowest vCPU on a tie gives the stable
  // sort's order whenever each vCPU's sequence is in host-time order. Returns false, having
  // stopped, at the first host time before the one given last (a vCPU's sequence out of
  // order): the caller then starts over from constraints().
  bool merge_constraints(const LinearTransform& guest_to_host, Timestamp tolerance,
                         const std::function<void(const Result::Constraint&)>& fn) const;
  // Every constraint, merged when possible, else from the sorted list; `restart` is called
  // before the list is given after a merge that stopped.
  void sorted_constraints(const LinearTransform& guest_to_host, Timestamp tolerance,
                          const std::function<void(const Result::Constraint&)>& fn,
                          const std::function<void()>& restart) const;
  // A clock drift to apply on top of an offset: t_host = t_guest + d + slope * (t_guest - anchor).
  struct Drift {
    double slope;
    Timestamp anchor;
  };
  // Number of guest events of [begin, end) (guest clock) inside a window under offset d (and
  // `drift`). `in_range` (optional) receives the number of those events in the host's range.
  uint64_t count_inside(Timestamp d, Timestamp begin, Timestamp end, uint64_t* in_range = nullptr,
                        const Drift& drift = Drift{0, 0}) const;
  std::pair<Timestamp, Timestamp> host_range() const;
  // Best offset by binned correlation over [center - range, center + range] at `bin` resolution,
  // restricted to guest events in [begin, end).
  Timestamp best_offset(Timestamp center, Timestamp range, Timestamp bin, Timestamp begin, Timestamp end) const;
  // The coarse offset over every offset at which guest events can fall into host windows at all
  // (any distance between the clocks), and the bin it was found at; none when either side is
  // empty or the clocks are too far apart for 64-bit nanoseconds.
  struct WideOffset {
    Timestamp offset, bin;
  };
  std::optional<WideOffset> wide_offset() const;
  // [lowest, highest]: the offsets that put at least one guest event in the host's time range
  // (lowest > highest: no guest event or window, or the clocks are too far apart).
  std::pair<Timestamp, Timestamp> possible_offsets() const;
  // `t` rounded to the nearest whole second (halves up).
  static Timestamp round_to_second(Timestamp t);
  // Most events inside over [center - range, center + range] by `step`; ties: nearest `center`.
  Timestamp exact_search(Timestamp center, Timestamp range, Timestamp step, Timestamp begin, Timestamp end,
                         const Drift& drift = Drift{0, 0}, uint64_t* best_inside = nullptr) const;
  // The offset and slope (at `anchor`) with most events of [begin, end) inside: slopes within
  // +-slope_range by slope_step, offsets within +-range of `center` by `step`; ties: nearest.
  std::pair<Timestamp, double> drift_search(Timestamp center, Timestamp range, Timestamp step, double slope_center,
                                            double slope_range, double slope_step, Timestamp anchor, Timestamp begin,
                                            Timestamp end) const;

  // The last track() and its options: coarse() scores each candidate VM, and solve() for the
  // chosen one tracks the same evidence under the same options again. Cleared when windows or
  // guest events are added (all that track() reads).
  struct LastTrack {
    Options options;
    Track track;
  };
  mutable std::optional<LastTrack> last_track_;
  static bool same_track_options(const Options& a, const Options& b);

  PerVcpu<Vector, Vectors> injections_;     // per vCPU, host clock
  PerVcpu<Vector, Vectors> guest_vectors_;  // per vCPU, guest clock
  PerVcpu<Window, Windows> windows_;  // per vCPU
  PerVcpu<Timestamp, TimeSeq> events_;  // per vCPU
};

}  // namespace vm
