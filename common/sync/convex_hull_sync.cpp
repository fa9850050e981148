// SPDX-License-Identifier: MIT
// Fully incremental convex-hull clock synchronization. Follows Trace Compass's
// SyncAlgorithmFullyIncremental.ConvexHull (processMatch, removeUselessPoints, adjustBound,
// approximateSync, SyncPoint) in tmf.core/.../synchronization/SyncAlgorithmFullyIncremental.java,
// with two deliberate arithmetic changes:
//   * orientation tests are exact: TC multiplies raw int64 differences in `long`, which
//     overflows as soon as two points are ~100 s apart (1e11 * 1e11 > 9.2e18); here the sign of
//     a*b - c*d is computed exactly on 128-bit magnitudes, for any int64 inputs;
//   * slopes are compared exactly as rationals (TC compares DECIMAL128 quotients, which only
//     differs for slopes closer than 1e-34), and alpha/beta are long double (TC: DECIMAL128).

#include "sync/convex_hull_sync.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vm {
namespace {

// GCC/Clang built-in 128-bit integers; __extension__ keeps -Wpedantic quiet.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

int sign_of(Int128 v) {
  return (v > 0) - (v < 0);
}

UInt128 magnitude(Int128 v) {
  return v < 0 ? static_cast<UInt128>(-v) : static_cast<UInt128>(v);
}

// Exact sign of a*b - c*d for |a|, |b|, |c|, |d| <= 2^64 - 1 (differences of two int64): the
// products can reach 2^128 - 2^65 + 1, beyond Int128 but within UInt128 as magnitudes.
int sign_of_difference_of_products(Int128 a, Int128 b, Int128 c, Int128 d) {
  const int s_ab = sign_of(a) * sign_of(b);
  const int s_cd = sign_of(c) * sign_of(d);
  if (s_ab != s_cd) return s_ab > s_cd ? 1 : -1;
  if (s_ab == 0) return 0;
  const UInt128 m_ab = magnitude(a) * magnitude(b);
  const UInt128 m_cd = magnitude(c) * magnitude(d);
  const int cmp = (m_ab > m_cd) - (m_ab < m_cd);
  return s_ab > 0 ? cmp : -cmp;
}

// A slope dy/dx with dx > 0, exact.
struct Slope {
  Int128 num = 1;
  Int128 den = 1;
  long double value() const { return static_cast<long double>(num) / static_cast<long double>(den); }
};

// True when a > b, exactly (denominators are positive).
bool greater(const Slope& a, const Slope& b) {
  return sign_of_difference_of_products(a.num, b.den, b.num, a.den) > 0;
}

int64_t saturate(bool positive) {
  return positive ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

}  // namespace

const char* sync_quality_name(SyncQuality quality) {
  switch (quality) {
    case SyncQuality::absent: return "absent";
    case SyncQuality::incomplete: return "incomplete";
    case SyncQuality::approximate: return "approximate";
    case SyncQuality::accurate: return "accurate";
    case SyncQuality::fail: return "fail";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// LinearTransform

int64_t LinearTransform::apply(int64_t t) const {
  // The identity (every machine of a one-machine run, the reference) is the common case.
  if (alpha == 1.0L && beta == 0.0L) return t;
  // alpha * t + beta = t + correction. `alpha - 1` is exact for alpha in [0.5, 2] (Sterbenz), and
  // the correction (clock drift times trace age plus offset, typically < 1e15 ns) is computed in
  // long double (64-bit mantissa: error < 1e-3 ns) instead of rounding at 1.8e18 (ulp 0.125 ns),
  // so the rounding to the nearest ns below is decided by the stored alpha/beta. Not std::fma:
  // glibc's long double fma is a software routine that saves and restores the FPU environment,
  // and it was a third of filter.vm.fuse's time (perf, lab traces).
  const long double correction = (alpha - 1.0L) * static_cast<long double>(t) + beta;
  if (std::isnan(correction)) return t;
  // Round half up without the `x + 0.5` double rounding: floor, then compare the exact fraction.
  const long double whole = std::floor(correction);
  const long double rounded = whole + ((correction - whole) >= 0.5L ? 1.0L : 0.0L);
  // 2^63 is exactly representable; anything at or beyond it cannot be added to an int64.
  constexpr long double two_63 = 9223372036854775808.0L;
  if (rounded >= two_63 || rounded < -two_63) return saturate(rounded > 0);
  const int64_t delta = static_cast<int64_t>(rounded);
  int64_t out = 0;
  if (__builtin_add_overflow(t, delta, &out)) return saturate(delta > 0);
  return out;
}

LinearTransform LinearTransform::inverse() const {
  if (alpha == 0.0L) return identity();
  return LinearTransform{1.0L / alpha, -beta / alpha};
}

LinearTransform compose(const LinearTransform& outer, const LinearTransform& inner) {
  return LinearTransform{outer.alpha * inner.alpha, std::fma(outer.alpha, inner.beta, outer.beta)};
}

// ---------------------------------------------------------------------------------------------
// ConvexHullSync

namespace {

// TC SyncPoint.crossProduct(pa, pb) seen from p: > 0 when p, a, b turn counter-clockwise.
template <typename P>
int cross_sign(const P& p, const P& a, const P& b) {
  const Int128 ax = static_cast<Int128>(a.x) - p.x, ay = static_cast<Int128>(a.y) - p.y;
  const Int128 bx = static_cast<Int128>(b.x) - p.x, by = static_cast<Int128>(b.y) - p.y;
  return sign_of_difference_of_products(ax, by, ay, bx);
}

// TC SyncPoint.getAlpha: slope of (p0 -> p1), 1 when p0 is null or the points share x.
template <typename E>
Slope line_slope(const E& end0, const E& end1) {
  if (!end0.set) return Slope{};
  Int128 dx = static_cast<Int128>(end1.p.x) - end0.p.x;
  Int128 dy = static_cast<Int128>(end1.p.y) - end0.p.y;
  if (dx == 0) return Slope{};
  // adjust_bound() keeps end0.x <= end1.x, so dx > 0; normalise anyway to keep den > 0.
  if (dx < 0) {
    dx = -dx;
    dy = -dy;
  }
  return Slope{dy, dx};
}

}  // namespace

std::ptrdiff_t ConvexHullSync::find(const std::vector<Point>& hull, const End& e) {
  if (!e.set) return -1;
  for (size_t i = 0; i < hull.size(); ++i) {
    if (hull[i].id == e.p.id) return static_cast<std::ptrdiff_t>(i);
  }
  return -1;
}

// TC removeUselessPoints: pop the points the new one hides from the other set, then append it.
void ConvexHullSync::push_to_hull(const Point& p, std::vector<Point>& hull, int inversion) {
  while (hull.size() >= 2 && cross_sign(p, hull[hull.size() - 2], hull.back()) * inversion > 0) {
    hull.pop_back();
  }
  hull.push_back(p);
}

// TC adjustBound: walk the opposite hull, from the line's current anchor (or its start if the
// anchor left the hull), to the point that makes `line` a supporting line of both hulls.
// Transcribed literally, including its quirks: when the walk does not run (fewer than two
// points), or runs off the end, the previous anchor is kept.
void ConvexHullSync::adjust_bound(Line& line, const std::vector<Point>& other_hull, int inversion) {
  End min_point;
  bool finished = false;
  std::ptrdiff_t i = std::max<std::ptrdiff_t>(0, find(other_hull, line.end[0]));
  const std::ptrdiff_t last = static_cast<std::ptrdiff_t>(other_hull.size()) - 1;
  while (i < last && !finished) {
    min_point = End{true, other_hull[static_cast<size_t>(i)]};
    const Point& next = other_hull[static_cast<size_t>(i) + 1];
    if (cross_sign(min_point.p, next, line.end[1].p) * inversion > 0) {
      if (next.x < line.end[1].p.x) {
        ++i;
      } else {
        line.end[0] = End{};
        finished = true;
      }
    } else {
      line.end[0] = min_point;
      finished = true;
    }
  }
  if (!line.end[0].set) line.end[0] = min_point;
  // The anchor must not be right of the line's own point (TC: "point 0 before point 1").
  if (line.end[0].set && line.end[0].p.x > line.end[1].p.x) line.end[0] = End{};
}

void ConvexHullSync::add_match(bool from_reference, int64_t send_ts, int64_t recv_ts) {
  const uint64_t id = matches() + 1;
  if (from_reference) {
    ++matches_from_reference_;
  } else {
    ++matches_from_other_;
  }

  // TC: sender host > receiver host (the other machine sent) -> upper list, Lmin, factor +1;
  // otherwise -> lower list, Lmax, factor -1. x is always the reference clock.
  std::vector<Point>& bound = from_reference ? lower_ : upper_;
  std::vector<Point>& other_bound = from_reference ? upper_ : lower_;
  Line& line = from_reference ? lmax_ : lmin_;
  Line& other_line = from_reference ? lmin_ : lmax_;
  const int inversion = from_reference ? -1 : 1;
  const Point p = from_reference ? Point{send_ts, recv_ts, id} : Point{recv_ts, send_ts, id};

  if (id == 1) {
    min_x_ = max_x_ = p.x;
  } else {
    min_x_ = std::min(min_x_, p.x);
    max_x_ = std::max(max_x_, p.x);
  }

  // Does the point tighten its line (lie on the right side of it), or is it redundant?
  bool qualify = false;
  if (!line.end[0].set || !line.end[1].set || cross_sign(p, line.end[0].p, line.end[1].p) * inversion > 0) {
    ++accurate_matches_;
    qualify = true;
    push_to_hull(p, bound, inversion);
    line.end[1] = End{true, p};
  }

  adjust_bound(line, other_bound, inversion);
  // If the other line's anchor was just removed from this hull, re-anchor it.
  if (other_line.end[1].set && find(bound, other_line.end[0]) < 0) {
    adjust_bound(other_line, bound, -inversion);
  }

  if (qualify) approximate_sync();
}

// TC approximateSync. Lmax = alpha_max * t + beta_min, Lmin = alpha_min * t + beta_max.
void ConvexHullSync::approximate_sync() {
  if (lmax_.end[0].set || lmin_.end[0].set) {
    if (quality_ == SyncQuality::fail) return;  // sticky: keep the last good formula
    // An anchored line implies the opposite hull is non-empty, whose first point qualified and
    // set the other line's end[1]: both end[1] are set here (TC would throw otherwise).
    const Slope amax = line_slope(lmax_.end[0], lmax_.end[1]);
    const Slope amin = line_slope(lmin_.end[0], lmin_.end[1]);
    SyncQuality q;
    if (!lmax_.end[0].set || !lmin_.end[0].set) {
      q = SyncQuality::approximate;
    } else if (greater(amax, amin)) {
      q = SyncQuality::accurate;
    } else {
      q = SyncQuality::fail;  // the hulls cross
    }
    if (q != SyncQuality::fail) {
      const Point& pmax = lmax_.end[1].p;
      const Point& pmin = lmin_.end[1].p;
      alpha_max_ = amax.value();
      beta_min_ = std::fma(-alpha_max_, static_cast<long double>(pmax.x), static_cast<long double>(pmax.y));
      alpha_min_ = amin.value();
      beta_max_ = std::fma(-alpha_min_, static_cast<long double>(pmin.x), static_cast<long double>(pmin.y));
      alpha_ = (alpha_max_ + alpha_min_) / 2;
      beta_ = (beta_min_ + beta_max_) / 2;
      lmax_x_ = pmax.x;
      lmax_y_ = pmax.y;
      lmin_x_ = pmin.x;
      lmin_y_ = pmin.y;
      lines_span_x_ = lmax_.end[0].set && lmax_.end[0].p.x != pmax.x && lmin_.end[0].set && lmin_.end[0].p.x != pmin.x;
    }
    quality_ = q;
  } else if ((!lmax_.end[0].set && !lmin_.end[1].set) || (!lmax_.end[1].set && !lmin_.end[0].set)) {
    quality_ = SyncQuality::incomplete;  // no point on one of the two hulls
  }
}

LinearTransform ConvexHullSync::other_to_reference() const {
  if (quality_ == SyncQuality::absent || quality_ == SyncQuality::incomplete) return LinearTransform::identity();
  if (!(alpha_ > 0.0L)) return LinearTransform::identity();
  return tc_formula().inverse();
}

long double ConvexHullSync::accuracy_ns() const {
  if (quality_ != SyncQuality::accurate || !lines_span_x_ || !(alpha_min_ > 0.0L)) {
    return std::numeric_limits<long double>::infinity();
  }
  // Vertical gap Lmax(t) - Lmin(t), each line written from its own anchor point and the anchors'
  // difference taken exactly, so that no ~1.8e18 magnitudes cancel in floating point.
  const long double anchor_gap = static_cast<long double>(static_cast<Int128>(lmax_y_) - lmin_y_);
  auto gap = [&](int64_t t) {
    const long double dmax = static_cast<long double>(static_cast<Int128>(t) - lmax_x_);
    const long double dmin = static_cast<long double>(static_cast<Int128>(t) - lmin_x_);
    return std::fabs(anchor_gap + alpha_max_ * dmax - alpha_min_ * dmin);
  };
  const long double half_width = std::max(gap(min_x_), gap(max_x_)) / 2;
  return half_width / alpha_min_;
}

long double bound_over(const std::vector<SyncBoundTerm>& terms, int64_t from, int64_t to) {
  long double total = 0;
  for (const SyncBoundTerm& term : terms) {
    auto at = [&](int64_t t) {
      return std::fabs(term.g0 + term.g1 * static_cast<long double>(static_cast<Int128>(t) - term.t0));
    };
    total += std::max(at(std::min(from, term.lo)), at(std::max(to, term.hi)));
  }
  return total;
}

long double ConvexHullSync::BoundLine::at(int64_t x) const {
  return std::fabs(g0 + g1 * static_cast<long double>(static_cast<Int128>(x) - x0));
}

bool ConvexHullSync::bound_line(BoundLine& line) const {
  if (quality_ != SyncQuality::accurate || !lines_span_x_ || !(alpha_min_ > 0.0L)) return false;
  // gap(x) = (lmax_y - lmin_y) + alpha_max (x - lmax_x) - alpha_min (x - lmin_x), taken at
  // x0 = lmax_x (exact integer differences), divided by 2 alpha_min as in accuracy_ns().
  line.x0 = lmax_x_;
  const long double anchor_gap = static_cast<long double>(static_cast<Int128>(lmax_y_) - lmin_y_);
  const long double at_x0 = anchor_gap - alpha_min_ * static_cast<long double>(static_cast<Int128>(lmax_x_) - lmin_x_);
  line.g0 = at_x0 / 2 / alpha_min_;
  line.g1 = (alpha_max_ - alpha_min_) / 2 / alpha_min_;
  return true;
}

}  // namespace vm
