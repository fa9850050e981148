#pragma once
// Clock synchronization of a guest with its host from stock KVM events only (no vmsync module,
// no network traffic): every event the guest records on vCPU v happens while v runs guest code,
// i.e. inside one of the host's windows [kvm_x86_entry, next kvm_x86_exit] of v's thread. No
// published tool uses this; it needs nothing but the events a KVM host trace has anyway.
//
// Method:
//   1. Coarse offset: the guest-to-host offset d (t_host = t_guest + d) that best aligns the
//      guest's events with the host's in-guest windows, by correlation at decreasing
//      resolutions (10 ms bins over the search range, then 1 ms, 100 us, 10 us around the best
//      lag); each level scores a lag by the number of guest events whose shifted time falls in
//      guest-mode time of their vCPU.
//   2. Drift: the same fine search per segment of the trace (default 2 s) around the coarse
//      offset, so a slowly drifting clock keeps its events in their windows.
//   3. Constraints: each guest event is assigned to the window that contains it (under the
//      segment's offset); the first event of a window gives "host entry before guest event",
//      the last "guest event before host exit" — two causal messages, fed to the convex hull
//      (ConvexHullSync, host = reference) which estimates offset and drift with an error bound.
// The score at the best offset (the fraction of guest events inside a window) is the
// confidence of the guest-to-VM match: the right VM explains ~100% of the guest's events, a
// wrong one a fraction close to its vCPUs' guest-mode share.

#include <cstdint>
#include <utility>
#include <vector>

#include "convex_hull_sync.h"
#include "types.h"

namespace vm {

class KvmWindowSync {
 public:
  struct Window {
    Timestamp entry, exit;
  };

  // Host side: guest-mode windows of vCPU `vcpu` (host clock), in time order.
  void add_window(int vcpu, Timestamp entry, Timestamp exit);
  // Guest side: an event the guest recorded on its CPU `vcpu` (guest clock), in time order.
  void add_guest_event(int vcpu, Timestamp ts);

  // An interrupt vector: injected by the host (kvm_x86_inj_virq, host clock) or entered by the
  // guest's handler (x86_irq_vectors_*_entry, guest clock).
  struct Vector {
    Timestamp ts;
    int64_t vector;
  };
  void add_injection(int vcpu, const Vector& injection);
  void add_guest_vector(int vcpu, const Vector& entry);
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
    Timestamp segment_ns = 2'000'000'000;       // drift tracking segment
    Timestamp segment_search_ns = 2'000'000;    // per segment: |d - previous segment's d| <= this
    uint64_t min_segment_events = 100;          // fewer checkable events: the segment is skipped
    double min_inside = 0.99;                   // lower share inside windows: the segment is halved
    Timestamp min_segment_ns = 50'000'000;      // ... down to this length, then skipped
  };
  struct Result {
    bool found = false;
    Timestamp coarse_offset_ns = 0;  // best constant offset (t_host = t_guest + offset)
    double inside_fraction = 0;      // checkable guest events inside a window under guest_to_host
    ConvexHullSync hull;             // host = the hull's reference; matches from the constraints
    LinearTransform guest_to_host;   // the hull's transform (or the coarse offset if the hull fails)
    uint64_t constraints = 0;
    // The causal messages fed to the hull, for callers that combine them with other sync
    // points: the host "sends" at a window's entry, the guest at the last event of a window.
    struct Constraint {
      bool host_sends;
      Timestamp send_ts, recv_ts;
    };
    std::vector<Constraint> constraint_list;
    uint64_t used_segments = 0, skipped_segments = 0;
  };
  Result solve(const Options& options) const;
  // Only step 1: the score of the best offset (cheap), to choose among candidate VMs.
  Result coarse(const Options& options) const;

  // Fraction of guest events that fall inside a window of their vCPU under `guest_to_host`.
  double inside_fraction(const LinearTransform& guest_to_host) const;

 private:
  // Number of guest events of [begin, end) (guest clock) inside a window under offset d.
  // `in_range` (optional) receives the number of those events that fall in the host's range.
  uint64_t count_inside(Timestamp d, Timestamp begin, Timestamp end, uint64_t* in_range = nullptr) const;
  std::pair<Timestamp, Timestamp> host_range() const;
  // Best offset by binned correlation over [center - range, center + range] at `bin` resolution,
  // restricted to guest events in [begin, end).
  Timestamp best_offset(Timestamp center, Timestamp range, Timestamp bin, Timestamp begin, Timestamp end) const;
  void add_segment(const Options& options, Timestamp begin, Timestamp end, Timestamp& center, Result& result) const;
  Timestamp exact_search(Timestamp center, Timestamp range, Timestamp step, Timestamp begin, Timestamp end) const;
  Timestamp refine(Timestamp center, Timestamp range, Timestamp begin, Timestamp end) const;

  std::vector<std::vector<Vector>> injections_;     // per vCPU, host clock
  std::vector<std::vector<Vector>> guest_vectors_;  // per vCPU, guest clock
  std::vector<std::vector<Window>> windows_;        // per vCPU
  std::vector<std::vector<Timestamp>> events_;      // per vCPU
};

}  // namespace vm
