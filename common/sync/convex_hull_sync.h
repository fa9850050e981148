// SPDX-License-Identifier: MIT
#pragma once
// Clock synchronization of two traced machines from matched messages: Trace Compass's "fully
// incremental convex hull" (Duda et al.; Poirier, Roy & Dagenais; Jabbarifar, Dagenais &
// Shameli-Sendi, "Streaming Mode Incremental Clock Synchronization"), as implemented by Trace
// Compass in tmf.core/.../internal/tmf/core/synchronization/SyncAlgorithmFullyIncremental.java
// (class ConvexHull). Babeltrace-free.
//
// Geometry (SyncAlgorithmFullyIncremental.java). Every match becomes a point P = (x, y) with x = the timestamp
// on the reference machine and y = the timestamp on the other machine, whichever sent:
//   reference -> other: P = (send, recv), "lower" set: lies above the true line y = a x + b;
//   other -> reference: P = (recv, send), "upper" set: lies below it.
// The facing hulls of the two sets are kept incrementally; Lmax / Lmin are the separating
// lines of maximal / minimal slope, and the estimate is their bisector.
//
// DIRECTION OF alpha/beta — two conventions, both exposed, never mixed:
//   * tc_formula(): Trace Compass's fAlpha/fBeta, the model  t_other = alpha * t_ref + beta.
//     These are the numbers SyncTest prints ("Between t1 and t2 [ alpha 0.75 beta 1.25 ]",
//     t1 = reference) and tests/unit/convex_hull_sync_test.cpp checks.
//   * other_to_reference(): the transform to apply to the other machine's timestamps,
//     t_ref = alpha * t_other + beta, i.e. the inverse of tc_formula(): alpha = 1 / a_tc,
//     beta = -b_tc / a_tc. This is TC's ConvexHull.getTimestampTransform(otherHost)
//     (createLinear(1/fAlpha, -fBeta/fAlpha)); the reference machine keeps the identity.
//
// Which machine is the reference is the caller's choice; Trace Compass takes the
// lexicographically smaller host id (SyncAlgorithmFullyIncremental.java), e.g. "guest.xml" before "host.xml".

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vm {

// y = alpha * x + beta, on int64 nanosecond timestamps.
struct LinearTransform {
  long double alpha = 1.0L;
  long double beta = 0.0L;

  static LinearTransform identity() { return LinearTransform{}; }
  bool is_identity() const { return alpha == 1.0L && beta == 0.0L; }

  // alpha * t + beta rounded to the nearest ns (halves round up), saturated to the int64 range.
  // Computed as t + ((alpha - 1) * t + beta) so that the 1.8e18 magnitude of ns-since-epoch
  // timestamps never goes through a rounding step: only the small correction term is rounded
  // (long double, 64-bit mantissa). Up to +-1 ns from Trace Compass, which truncates in fixed
  // point (Trace Compass's TmfTimestampTransformLinearFast.java).
  int64_t apply(int64_t t) const;

  // x = (y - beta) / alpha. Precondition alpha != 0 (the identity is returned otherwise).
  LinearTransform inverse() const;
  int64_t apply_inverse(int64_t t) const { return inverse().apply(t); }
};

// outer(inner(t)): alpha = a_o * a_i, beta = a_o * b_i + b_o (TmfTimestampTransformLinear
// composeWith in Trace Compass's TmfTimestampTransformLinear.java), for chaining guest -> host -> ... along a spanning tree.
LinearTransform compose(const LinearTransform& outer, const LinearTransform& inner);

// One link's share of the error bound of a composed transform, in the reference clock: over the
// reference times [a, b] the link adds at most the larger of |g0 + g1 (t - t0)| at t = min(a, lo)
// and t = max(b, hi), [lo, hi] being the times of its sync points (ConvexHullSync::BoundLine).
struct SyncBoundTerm {
  int64_t t0 = 0;
  long double g0 = 0, g1 = 0;
  int64_t lo = 0, hi = 0;
};
// The sum of the terms' bounds over [from, to].
long double bound_over(const std::vector<SyncBoundTerm>& terms, int64_t from, int64_t to);

// TC's SynchronizationAlgorithm.SyncQuality, with its definitions (SyncAlgorithmFullyIncremental.java):
//   absent       no match yet;
//   incomplete   matches in one direction only (no hull faces the other);
//   approximate  both directions seen but only one of Lmax / Lmin has both ends, so the
//                slope is not bounded on both sides;
//   accurate     both lines defined and alpha_max > alpha_min;
//   fail         the lines cross (alpha_max <= alpha_min): contradictory points. Sticky: the
//                formula stays the last good one (SyncTest.testFullyIncremental).
enum class SyncQuality : uint8_t { absent, incomplete, approximate, accurate, fail };
const char* sync_quality_name(SyncQuality quality);

class ConvexHullSync {
 public:
  ConvexHullSync() = default;

  // One matched message: sent by one machine at `send_ts` (sender's clock) and received by the
  // other at `recv_ts` (receiver's clock). `from_reference` says whether the reference machine
  // sent it. TC processMatch(), step for step.
  void add_match(bool from_reference, int64_t send_ts, int64_t recv_ts);

  SyncQuality quality() const { return quality_; }

  // TC's model t_other = alpha * t_ref + beta (fAlpha, fBeta): the bisector of Lmax and Lmin.
  // alpha = 1, beta = 0 until the first approximate/accurate estimate; unchanged after fail.
  LinearTransform tc_formula() const { return LinearTransform{alpha_, beta_}; }

  // The transform for the other machine's timestamps: t_ref = alpha * t_other + beta, the
  // inverse of tc_formula(). As TC's getTimestampTransform(other): the identity while the
  // quality is absent or incomplete; the (last good) estimate when approximate, accurate or
  // fail. Also the identity if the estimated slope is not positive (pathological input that TC's
  // LinearFast would reject).
  LinearTransform other_to_reference() const;

  // TC getAccuracy(): alpha_max - alpha_min of the last good estimate (0 before any).
  long double slope_accuracy() const { return alpha_max_ - alpha_min_; }

  // Error bound, in reference-clock ns, of other_to_reference().apply() (before its rounding)
  // for reference times within the observed range [min_reference_ts(), max_reference_ts()]:
  // max(gap(min_reference_ts()), gap(max_reference_ts())) / 2 / alpha_min, where gap(t) is the
  // vertical distance between Lmax and Lmin at t. Our sharpening of the [inferred] half-width
  // remark in SyncAlgorithmFullyIncremental.java's accuracy; valid whenever every message has a non-negative delay and the
  // clocks are truly linear, t_other = a * t_ref + b:
  //   * Lmax joins an upper point u (truth above it) to a lower point l (truth below) with
  //     x_u < x_l, hence a <= alpha_max, and the truth is below Lmax right of x_l and above it
  //     left of x_u; symmetrically a >= alpha_min, and the truth is above Lmin right of its
  //     right point, below it left of its left point. So at both ends of the observed range the
  //     truth is between the lines and |bisector - truth| <= gap / 2.
  //   * bisector - truth is linear in t, so its largest magnitude on the range is at an end.
  //   * The vertical (other-clock) error becomes a reference-clock error divided by the true
  //     slope a >= alpha_min.
  // This needs no extremality of the lines, and indeed TC's incremental lines are not always the
  // extreme separating lines (they can be steeper/flatter: a looser but still valid bracket).
  // Uses the lines of the last accurate estimate. +infinity unless the quality is accurate, or
  // when a line joins two points with the same x (TC then takes slope 1, which bounds nothing).
  long double accuracy_ns() const;

  // The same bound as a line, to evaluate it over any range of reference times (the one-pass
  // mode extrapolates a transform beyond the sync points it was learned from): for reference
  // time x, the error of other_to_reference() is at most |g0 + g1 * (x - x0)| when x is outside
  // [min_reference_ts(), max_reference_ts()], and over an interval [a, b] at most that line's
  // largest magnitude at min(a, min_reference_ts()) and max(b, max_reference_ts()). Why: left
  // and right of every anchor of Lmax and Lmin the truth lies between the two lines (the
  // argument of accuracy_ns()), the bisector's error is linear in x, and the gap between the
  // lines is |linear| in x. False (and nothing set) when accuracy_ns() is infinite.
  struct BoundLine {
    int64_t x0 = 0;
    long double g0 = 0, g1 = 0;
    long double at(int64_t x) const;
  };
  bool bound_line(BoundLine& line) const;

  // The bounding lines of the last good estimate, in TC's orientation (t_other as a function of
  // t_ref): Lmax = alpha_max * t + beta_min, Lmin = alpha_min * t + beta_max.
  long double alpha_max() const { return alpha_max_; }
  long double alpha_min() const { return alpha_min_; }
  long double beta_min() const { return beta_min_; }
  long double beta_max() const { return beta_max_; }

  uint64_t matches() const { return matches_from_reference_ + matches_from_other_; }
  uint64_t matches_from_reference() const { return matches_from_reference_; }
  uint64_t matches_from_other() const { return matches_from_other_; }
  // TC fNbAccurateMatches: matches that qualified for their hull when they arrived.
  uint64_t accurate_matches() const { return accurate_matches_; }
  // Points currently on the hulls (TC's "upper bound" / "lower bound" list sizes).
  size_t upper_hull_points() const { return upper_.size(); }
  size_t lower_hull_points() const { return lower_.size(); }
  size_t hull_points() const { return upper_.size() + lower_.size(); }

  // Range of reference-clock timestamps over all matches (0, 0 while absent).
  int64_t min_reference_ts() const { return min_x_; }
  int64_t max_reference_ts() const { return max_x_; }

 private:
  struct Point {
    int64_t x = 0;    // reference clock
    int64_t y = 0;    // other clock
    uint64_t id = 0;  // match ordinal: stands for Java object identity (see find())
  };
  // One end of Lmax / Lmin; TC's SyncPoint reference, `null` when !set.
  struct End {
    bool set = false;
    Point p;
  };
  struct Line {
    End end[2];  // [0] on the opposite hull, [1] the last qualifying point of its own hull
  };

  // Index of `e` in `hull`, or -1 (also when `e` is null): TC's LinkedList.indexOf/contains on
  // SyncPoint, which compares identities (SyncAlgorithmFullyIncremental.java).
  static std::ptrdiff_t find(const std::vector<Point>& hull, const End& e);
  void push_to_hull(const Point& p, std::vector<Point>& hull, int inversion);
  static void adjust_bound(Line& line, const std::vector<Point>& other_hull, int inversion);
  void approximate_sync();

  std::vector<Point> upper_;  // other -> reference messages (TC fUpperBoundList)
  std::vector<Point> lower_;  // reference -> other messages (TC fLowerBoundList)
  Line lmax_;                 // fed by the lower hull, anchored on the upper one
  Line lmin_;                 // fed by the upper hull, anchored on the lower one

  SyncQuality quality_ = SyncQuality::absent;
  long double alpha_ = 1.0L, beta_ = 0.0L;
  long double alpha_max_ = 1.0L, beta_min_ = 0.0L, alpha_min_ = 1.0L, beta_max_ = 0.0L;
  // Anchors of the last good Lmax / Lmin (their [1] points), for accuracy_ns().
  int64_t lmax_x_ = 0, lmax_y_ = 0, lmin_x_ = 0, lmin_y_ = 0;
  // Both last good lines join two points at distinct x (not TC's "slope 1" placeholder).
  bool lines_span_x_ = false;

  uint64_t matches_from_reference_ = 0;
  uint64_t matches_from_other_ = 0;
  uint64_t accurate_matches_ = 0;
  int64_t min_x_ = 0, max_x_ = 0;
};

}  // namespace vm
