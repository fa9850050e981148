// SPDX-License-Identifier: MIT
// Convex-hull clock synchronization against its oracles:
//   * Trace Compass SyncTest (tmf/org.eclipse.tracecompass.tmf.core.tests/src/org/eclipse/
//     tracecompass/tmf/core/tests/synchronization/SyncTest.java): hosts "t1" (reference, the smaller id) and "t2",
//     timestamps in seconds used as raw values; alpha/beta are TC's, i.e. t2 = alpha * t1 + beta;
//   * the vmsync exchange of the OneQemuKvm test traces of Trace Compass's VM analysis tests
//     (exact model result);
//   * synthetic traces with a known transform at ns-since-epoch magnitudes.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>

#include "sync/convex_hull_sync.h"

namespace vm {
namespace {

// The SyncTest values are short decimals; long double results of (a + b) / 2 and y - alpha * x
// on them are within a few ulps (~1e-19).
constexpr long double kTight = 1e-17L;

// TC's addSyncMatch(algo, sender, sendTs, receiver, receiveTs) with t1 as the reference.
enum class Host { t1, t2 };
void add_sync_match(ConvexHullSync& sync, Host sender, int64_t send_ts, Host receiver, int64_t recv_ts) {
  ASSERT_NE(sender, receiver);
  sync.add_match(sender == Host::t1, send_ts, recv_ts);
}

void expect_formula(const ConvexHullSync& sync, long double alpha, long double beta) {
  EXPECT_NEAR(sync.tc_formula().alpha, alpha, kTight);
  EXPECT_NEAR(sync.tc_formula().beta, beta, kTight);
}

// One step of a SyncTest sequence: a match, then the quality and formula Trace Compass expects.
void step(ConvexHullSync& sync, Host sender, int64_t send_ts, Host receiver, int64_t recv_ts, SyncQuality quality,
          long double alpha, long double beta) {
  SCOPED_TRACE("after the match sent at " + std::to_string(send_ts));
  add_sync_match(sync, sender, send_ts, receiver, recv_ts);
  EXPECT_EQ(sync.quality(), quality);
  expect_formula(sync, alpha, beta);
}

// The first four matches of SyncTest's `testOneHull` and `testDisjoint`, all t1 -> t2: the
// quality stays incomplete after each and the formula the identity.
void add_t1_to_t2_matches(ConvexHullSync& sync) {
  EXPECT_EQ(sync.quality(), SyncQuality::absent);
  const int64_t sent[] = {1, 2, 3, 4}, received[] = {3, 5, 5, 7};
  for (int i = 0; i < 4; ++i) {
    add_sync_match(sync, Host::t1, sent[i], Host::t2, received[i]);
    EXPECT_EQ(sync.quality(), SyncQuality::incomplete) << "after match " << i + 1;
  }
  expect_formula(sync, 1, 0);
}

// SyncTest.java `testFullyIncremental`: every step's quality and "[ alpha A beta B ]".
TEST(ConvexHullSync, TraceCompassSyncTestFullyIncremental) {
  ConvexHullSync sync;
  EXPECT_EQ(sync.quality(), SyncQuality::absent);
  EXPECT_TRUE(sync.other_to_reference().is_identity());

  step(sync, Host::t2, 1, Host::t1, 1, SyncQuality::incomplete, 1, 0);
  EXPECT_TRUE(sync.other_to_reference().is_identity());  // TC: identity while incomplete

  step(sync, Host::t1, 1, Host::t2, 3, SyncQuality::incomplete, 1, 0);
  step(sync, Host::t2, 2, Host::t1, 3, SyncQuality::approximate, 1, 0.5L);
  EXPECT_EQ(sync.accuracy_ns(), std::numeric_limits<long double>::infinity());

  step(sync, Host::t1, 3, Host::t2, 5, SyncQuality::accurate, 0.75L, 1.25L);
  step(sync, Host::t1, 4, Host::t2, 8, SyncQuality::accurate, 0.75L, 1.25L);
  step(sync, Host::t2, 4, Host::t1, 5, SyncQuality::accurate, 1.125L, 0.875L);
  step(sync, Host::t2, 4, Host::t1, 6, SyncQuality::accurate, 1.125L, 0.875L);
  step(sync, Host::t1, 6, Host::t2, 7, SyncQuality::accurate, 0.725L, 1.275L);
  // TC: t1 (reference) keeps the identity, t2 gets a linear transform, the inverse formula.
  LinearTransform t2_transform = sync.other_to_reference();
  EXPECT_FALSE(t2_transform.is_identity());
  EXPECT_NEAR(t2_transform.alpha, 1 / 0.725L, kTight);
  EXPECT_NEAR(t2_transform.beta, -1.275L / 0.725L, kTight);

  // "Make the two hulls intersect, and make sure the last good formula is kept after failure."
  step(sync, Host::t1, 7, Host::t2, 4, SyncQuality::accurate, 0.375L, 1.625L);
  t2_transform = sync.other_to_reference();  // last good synchronization
  EXPECT_FALSE(t2_transform.is_identity());
  const long double last_good_alpha_max = sync.alpha_max();
  const long double last_good_alpha_min = sync.alpha_min();

  step(sync, Host::t2, 7, Host::t1, 3, SyncQuality::fail, 0.375L, 1.625L);
  EXPECT_EQ(sync.other_to_reference().alpha, t2_transform.alpha);
  EXPECT_EQ(sync.other_to_reference().beta, t2_transform.beta);
  EXPECT_EQ(sync.alpha_max(), last_good_alpha_max);
  EXPECT_EQ(sync.alpha_min(), last_good_alpha_min);
  EXPECT_EQ(sync.accuracy_ns(), std::numeric_limits<long double>::infinity());

  EXPECT_EQ(sync.matches(), 10u);
  EXPECT_EQ(sync.matches_from_reference(), 5u);
  EXPECT_EQ(sync.matches_from_other(), 5u);
  EXPECT_EQ(sync.hull_points(), sync.upper_hull_points() + sync.lower_hull_points());

  // Sticky: nothing brings it back, not even a perfectly consistent point.
  step(sync, Host::t1, 20, Host::t2, 30, SyncQuality::fail, 0.375L, 1.625L);
}

// SyncTest.java `testOneHull`: t1 -> t2 only.
TEST(ConvexHullSync, TraceCompassSyncTestOneHull) {
  ConvexHullSync sync;
  add_t1_to_t2_matches(sync);
  EXPECT_TRUE(sync.other_to_reference().is_identity());

  // (2,5) lies above the chord (1,3)-(3,5): it is not on the hull facing the other set.
  EXPECT_EQ(sync.lower_hull_points(), 3u);
  EXPECT_EQ(sync.upper_hull_points(), 0u);
  EXPECT_EQ(sync.matches_from_reference(), 4u);
  EXPECT_EQ(sync.matches_from_other(), 0u);
}

// SyncTest.java `testDisjoint`: all t1 -> t2 messages before all t2 -> t1 ones.
TEST(ConvexHullSync, TraceCompassSyncTestDisjoint) {
  ConvexHullSync sync;
  add_t1_to_t2_matches(sync);

  add_sync_match(sync, Host::t2, 7, Host::t1, 6);
  EXPECT_EQ(sync.quality(), SyncQuality::approximate);
  add_sync_match(sync, Host::t2, 8, Host::t1, 6);
  EXPECT_EQ(sync.quality(), SyncQuality::approximate);
  step(sync, Host::t2, 10, Host::t1, 8, SyncQuality::approximate, 1, 2.5L);
  EXPECT_FALSE(sync.other_to_reference().is_identity());  // TC: linear when approximate
  EXPECT_EQ(sync.accuracy_ns(), std::numeric_limits<long double>::infinity());
}

// The vmsync exchange of the OneQemuKvm test traces (Trace Compass's VM analysis tests), reference = guest.xml (the
// smaller host id). gh = guest -> host (sent by the reference), hg = host -> guest. Matches arrive in the order
// TmfEventMatching.java produces them (guest trace order, whichever trace is read first). Expected from an
// exact-rational model of SyncAlgorithmFullyIncremental.java on these points: accurate, host = 319/315 * guest -
// 122/63.
TEST(ConvexHullSync, OneQemuKvmVmsync) {
  ConvexHullSync sync;
  sync.add_match(true, 40, 50);     // gh_guest(1) -> gh_host(1)
  sync.add_match(false, 55, 65);    // hg_host(2) -> hg_guest(2)
  sync.add_match(true, 190, 200);   // gh 3
  sync.add_match(false, 205, 215);  // hg 4
  sync.add_match(true, 240, 250);   // gh 5
  sync.add_match(false, 255, 265);  // hg 6
  EXPECT_EQ(sync.quality(), SyncQuality::accurate);
  expect_formula(sync, 319.0L / 315.0L, -122.0L / 63.0L);
  // Inverse, host -> guest: guest = 315/319 * host + 610/319.
  const LinearTransform host_to_guest = sync.other_to_reference();
  EXPECT_NEAR(host_to_guest.alpha, 315.0L / 319.0L, kTight);
  EXPECT_NEAR(host_to_guest.beta, 610.0L / 319.0L, 1e-16L);
  EXPECT_EQ(sync.matches_from_reference(), 3u);
  EXPECT_EQ(sync.matches_from_other(), 3u);
  // The true relation (identical clocks, 10 ns each way) is within the reported bound.
  // Lmax joins hg (65,55) to gh (240,250): slope 39/35; Lmin joins gh (40,50) to hg (265,255):
  // slope 41/45 (their mean is 319/315). The vertical gap is 160/7 at both ends (x = 40, 265),
  // so the bound is (80/7) / (41/45) = 3600/287 ns.
  EXPECT_NEAR(sync.alpha_max(), 39.0L / 35.0L, kTight);
  EXPECT_NEAR(sync.alpha_min(), 41.0L / 45.0L, kTight);
  EXPECT_NEAR(sync.accuracy_ns(), 3600.0L / 287.0L, 1e-15L);
  for (int64_t t = 40; t <= 265; t += 5) {
    EXPECT_LE(std::fabs(static_cast<long double>(host_to_guest.apply(t) - t)), sync.accuracy_ns() + 1) << t;
  }
}

// Known transform at ns-since-epoch magnitudes: t_ref = A * t_other + B with A = 1 + 50e-6 and
// B = 0.3 s, messages every 10 ms for 200 s, alternating directions, the same random delay
// distribution both ways (20 us + U[0, 80 us)). Differences reach 2e11 ns, so TC's int64 cross
// products (~4e22) would overflow (SyncPoint.crossProduct in SyncAlgorithmFullyIncremental.java).
TEST(ConvexHullSync, KnownTransformAtEpochMagnitudes) {
  __extension__ typedef __int128 Int128;
  constexpr int64_t kNum = 20001, kDen = 20000;  // A = 1 + 50e-6, exactly
  constexpr int64_t kB = 300'000'000;
  constexpr int64_t kStartRef = 1'800'000'000'000'000'000;
  constexpr int64_t kStep = 10'000'000;
  constexpr int kCount = 20'000;
  // Exact ref time of an other-clock instant, and the other-clock tick at or before a ref time.
  auto ref_of_other = [&](Int128 o) { return Int128(o) * kNum / kDen + kB; };  // floor (o > 0)
  auto other_of_ref = [&](Int128 r) { return (r - kB) * kDen / kNum; };        // floor (r > kB)

  std::mt19937_64 rng(20240611);  // fixed seed: deterministic
  auto delay = [&] { return int64_t{20'000} + static_cast<int64_t>(rng() % 80'000); };

  ConvexHullSync sync;
  for (int i = 0; i < kCount; ++i) {
    const int64_t real = kStartRef + int64_t{i} * kStep;
    const int64_t d = delay();
    if (i % 2 == 0) {
      // Reference sends at `real`; the other receives at real + d (its clock, rounded down: it
      // stays more than d - 1 ns after the send, so causality holds).
      sync.add_match(true, real, static_cast<int64_t>(other_of_ref(Int128(real) + d)));
    } else {
      // The other sends at its tick `o` (true ref time ref_of_other(o) + a fraction < 1 ns);
      // the reference receives d ns later, rounded up.
      const int64_t o = static_cast<int64_t>(other_of_ref(real));
      sync.add_match(false, o, static_cast<int64_t>(ref_of_other(o)) + 1 + d);
    }
  }
  ASSERT_EQ(sync.quality(), SyncQuality::accurate);
  EXPECT_EQ(sync.matches(), static_cast<uint64_t>(kCount));
  EXPECT_EQ(sync.accurate_matches() <= sync.matches(), true);
  const long double span = static_cast<long double>(sync.max_reference_ts() - sync.min_reference_ts());
  EXPECT_GT(span * span, static_cast<long double>(std::numeric_limits<int64_t>::max()));  // overflow regime

  // The true slope (TC orientation, t_other = t_ref / A + ...) lies between alpha_min and
  // alpha_max, so the bisector is within half the slope accuracy of it.
  const long double true_tc_alpha = static_cast<long double>(kDen) / kNum;
  EXPECT_LE(sync.alpha_min(), true_tc_alpha);
  EXPECT_GE(sync.alpha_max(), true_tc_alpha);
  EXPECT_LE(std::fabs(sync.tc_formula().alpha - true_tc_alpha), sync.slope_accuracy() / 2);

  // The bound is about the minimum one-way delay (20 us), and it holds over the whole range.
  const long double bound = sync.accuracy_ns();
  EXPECT_GT(bound, 0);
  EXPECT_LT(bound, 25'000);
  const LinearTransform to_ref = sync.other_to_reference();
  // Inverted slope: d(1/a) = -da / a^2, and a^2 > alpha_min^2.
  EXPECT_LE(std::fabs(to_ref.alpha - static_cast<long double>(kNum) / kDen),
            sync.slope_accuracy() / 2 / (sync.alpha_min() * sync.alpha_min()));
  const int64_t first_other = static_cast<int64_t>(other_of_ref(sync.min_reference_ts())) + 1;
  const int64_t last_other = static_cast<int64_t>(other_of_ref(sync.max_reference_ts()));
  long double worst = 0;
  for (int64_t t = first_other; t <= last_other; t += (last_other - first_other) / 1000) {
    const long double truth = static_cast<long double>(Int128(t) * kNum % kDen) / kDen +
                              static_cast<long double>(ref_of_other(t) - kStartRef);
    const long double error = std::fabs(static_cast<long double>(to_ref.apply(t) - kStartRef) - truth);
    worst = std::max(worst, error);
    ASSERT_LE(error, bound + 1) << "t_other " << t;  // + 1: rounding to whole ns
  }
  // Symmetric delays: the bisector is far better than the bound.
  EXPECT_LT(worst, 2'000);
  std::printf("  accuracy bound %.1Lf ns, worst error %.1Lf ns, slope accuracy %.3Le, hull points %zu\n", bound, worst,
              sync.slope_accuracy(), sync.hull_points());
  // Round trip through the inverse.
  EXPECT_NEAR(static_cast<double>(to_ref.apply_inverse(to_ref.apply(first_other)) - first_other), 0, 1);
}

// Orientation tests must be exact for any int64 coordinates: here the differences reach 1.8e19
// (beyond int64) and their products 3e38 (beyond __int128). Identical clocks shifted by 1000 ns,
// 10 ns delays each way.
TEST(ConvexHullSync, FullInt64RangeCrossProducts) {
  constexpr int64_t kOffset = 1000;  // t_other = t_ref + 1000
  ConvexHullSync sync;
  for (int64_t r : {int64_t{-9'000'000'000'000'000'000}, int64_t{-3'000'000'000'000'000'000}, int64_t{0},
                    int64_t{3'000'000'000'000'000'000}, int64_t{9'000'000'000'000'000'000}}) {
    sync.add_match(true, r, r + kOffset + 10);             // ref -> other
    sync.add_match(false, r + kOffset + 50, r + 50 + 10);  // other -> ref
  }
  ASSERT_EQ(sync.quality(), SyncQuality::accurate);
  EXPECT_LE(sync.alpha_min(), 1.0L);
  EXPECT_GE(sync.alpha_max(), 1.0L);
  EXPECT_NEAR(sync.tc_formula().alpha, 1.0L, 1e-17L);
  EXPECT_NEAR(sync.tc_formula().beta, kOffset, 10);
  const LinearTransform to_ref = sync.other_to_reference();
  EXPECT_NEAR(static_cast<long double>(to_ref.apply(kOffset)), 0, 10);
}

TEST(LinearTransform, ApplyRoundsHalfUpWithoutOverflow) {
  EXPECT_EQ(LinearTransform::identity().apply(1'800'000'000'000'000'123), 1'800'000'000'000'000'123);
  EXPECT_EQ((LinearTransform{1, 0.5L}).apply(10), 11);
  EXPECT_EQ((LinearTransform{1, -0.5L}).apply(10), 10);
  EXPECT_EQ((LinearTransform{1, -0.5L}).apply(-10), -10);
  EXPECT_EQ((LinearTransform{1, -0.6L}).apply(-10), -11);
  EXPECT_EQ((LinearTransform{0.5L, 0}).apply(3), 2);    // 1.5 -> 2
  EXPECT_EQ((LinearTransform{0.5L, 0}).apply(-3), -1);  // -1.5 -> -1
  // ns-since-epoch: alpha = 1 + 50 ppm, beta = 0.3 s; exact result 1.8e18 + 9e13 + 3e8.
  const LinearTransform drift{1 + 50e-6L, 300'000'000};
  EXPECT_NEAR(static_cast<double>(drift.apply(1'800'000'000'000'000'000) - 1'800'090'000'300'000'000), 0, 1);
  // Saturation instead of wrap-around.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ((LinearTransform{1, 100}).apply(kMax - 10), kMax);
  EXPECT_EQ((LinearTransform{1, -100}).apply(kMin + 10), kMin);
  EXPECT_EQ((LinearTransform{4, 0}).apply(kMax / 2), kMax);
}

TEST(LinearTransform, InverseAndComposition) {
  const LinearTransform f{1.000123L, -4'567'890};
  const LinearTransform g = f.inverse();
  EXPECT_NEAR(g.alpha, 1 / 1.000123L, 1e-18L);
  for (int64_t t : {int64_t{0}, int64_t{1'000'000'007}, int64_t{1'800'000'000'000'000'000}}) {
    EXPECT_NEAR(static_cast<double>(f.apply_inverse(f.apply(t)) - t), 0, 1) << t;
    EXPECT_NEAR(static_cast<double>(compose(g, f).apply(t) - t), 0, 1) << t;
  }
  const LinearTransform h = compose(LinearTransform{2, 3}, LinearTransform{5, 7});  // 2(5t+7)+3
  EXPECT_EQ(h.alpha, 10);
  EXPECT_EQ(h.beta, 17);
  EXPECT_TRUE((LinearTransform{0, 5}).inverse().is_identity());
}

TEST(ConvexHullSync, QualityNames) {
  EXPECT_STREQ(sync_quality_name(SyncQuality::absent), "absent");
  EXPECT_STREQ(sync_quality_name(SyncQuality::incomplete), "incomplete");
  EXPECT_STREQ(sync_quality_name(SyncQuality::approximate), "approximate");
  EXPECT_STREQ(sync_quality_name(SyncQuality::accurate), "accurate");
  EXPECT_STREQ(sync_quality_name(SyncQuality::fail), "fail");
}

}  // namespace
}  // namespace vm
