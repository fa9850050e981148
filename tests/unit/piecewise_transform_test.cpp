// SPDX-License-Identifier: MIT
// PiecewiseTransform: continuous joins between estimates, monotonic mapping, and each piece's
// error bound. Every expected value is derived by hand in the comment above it.

#include "sync/piecewise_transform.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace vm {
namespace {

// A bound that is `ns` everywhere: one term, flat line.
std::vector<SyncBoundTerm> flat(long double ns) { return {SyncBoundTerm{0, ns, 0, 0, 0}}; }

// Identity, then t_ref = t + 100 from raw 1000 with a 1000 ns horizon. At 1000 the identity
// gives 1000 and the new line 1100: a gap of 100, which needs a horizon of at least 2 * 100 / 1
// = 200, so the given 1000 stands. The join goes from (1000, 1000) to (2000, 2100): slope 1.1,
// so 1500 -> 1000 + 550 = 1550. From 2000 on, t + 100.
TEST(PiecewiseTransform, JoinsTheNewEstimateContinuouslyOverTheHorizon) {
  PiecewiseTransform t;
  t.move_to(1000, LinearTransform{1.0L, 100.0L}, false, {}, 1000);
  ASSERT_EQ(t.pieces().size(), 3u);
  EXPECT_EQ(t.apply(999), 999);
  EXPECT_EQ(t.apply(1000), 1000);
  EXPECT_EQ(t.apply(1500), 1550);
  EXPECT_EQ(t.apply(1999), 2099);  // 1000 + round(1.1 * 999 = 1098.9)
  EXPECT_EQ(t.apply(2000), 2100);
  EXPECT_EQ(t.apply(3000), 3100);
  EXPECT_EQ(t.to_raw(0), 999);
  EXPECT_EQ(t.to_raw(1), 1999);
  EXPECT_EQ(t.to_raw(2), std::numeric_limits<int64_t>::max());
}

// A new estimate 5000 ns behind: at 1000 it gives -4000 against 1000. The horizon grows to
// 2 * 5000 / 1 = 10000 so that the join still rises at half the slope: from (1000, 1000) to
// (11000, 6000), slope 0.5. Mapped times never go back.
TEST(PiecewiseTransform, ABackwardEstimateIsReachedWithoutGoingBack) {
  PiecewiseTransform t;
  t.move_to(1000, LinearTransform{1.0L, -5000.0L}, false, {}, 1000);
  EXPECT_EQ(t.apply(11000), 6000);
  EXPECT_EQ(t.apply(6000), 3500);  // 1000 + 0.5 * 5000
  EXPECT_EQ(t.apply(12000), 7000);
  int64_t last = std::numeric_limits<int64_t>::min();
  for (int64_t raw = 0; raw < 20000; ++raw) {
    const int64_t out = t.apply(raw);
    ASSERT_GE(out, last) << raw;
    last = out;
  }
}

// t_ref = 2 t - 1000 meets the identity at 1000 (2000 - 1000): no join is needed.
TEST(PiecewiseTransform, NoJoinWhereTheEstimatesMeet) {
  PiecewiseTransform t;
  t.move_to(1000, LinearTransform{2.0L, -1000.0L}, false, {}, 1000);
  ASSERT_EQ(t.pieces().size(), 2u);
  EXPECT_EQ(t.apply(1000), 1000);
  EXPECT_EQ(t.apply(1001), 1002);
}

// A move inside a join cuts it: after the first test's join, t + 50 at 1500, where the join
// gives 1550 and t + 50 too: the join ends at 1499 and t + 50 maps from 1500 on.
TEST(PiecewiseTransform, AMoveInsideAJoinCutsIt) {
  PiecewiseTransform t;
  t.move_to(1000, LinearTransform{1.0L, 100.0L}, false, {}, 1000);
  t.move_to(1500, LinearTransform{1.0L, 50.0L}, false, {}, 1000);
  ASSERT_EQ(t.pieces().size(), 3u);
  EXPECT_EQ(t.to_raw(1), 1499);
  EXPECT_EQ(t.apply(1499), 1549);  // 1000 + round(1.1 * 499 = 548.9)
  EXPECT_EQ(t.apply(1600), 1650);
  EXPECT_EQ(t.apply(2500), 2550);
}

// A move at the start of a later piece replaces it: 2 t - 1000 from 1000 (no join, as above),
// then the identity again from 1000, where both give 1000: two pieces, the identity's.
TEST(PiecewiseTransform, AMoveBeforeALaterPieceReplacesIt) {
  PiecewiseTransform t;
  t.move_to(1000, LinearTransform{2.0L, -1000.0L}, false, {}, 1000);
  t.move_to(1000, LinearTransform{1.0L, 0.0L}, false, {}, 1000);
  ASSERT_EQ(t.pieces().size(), 2u);
  EXPECT_FALSE(t.pieces()[1].join);
  EXPECT_EQ(t.pieces()[1].from_raw, 1000);
  EXPECT_EQ(t.apply(1500), 1500);
  EXPECT_EQ(t.apply(5000), 5000);
}

// Errors: the identity within 10 ns everywhere, the new line within 2. The join's error is 10
// at 1000 and 2 at 2000 (its ends), and in between at most their interpolation: 6 at 1500.
// Over the whole join, 10; over the new line, 2. An unbounded piece makes its join unbounded.
TEST(PiecewiseTransform, EachPieceHasTheBoundOfItsEnds) {
  PiecewiseTransform t(LinearTransform::identity(), true, flat(10));
  t.move_to(1000, LinearTransform{1.0L, 100.0L}, true, flat(2), 1000);
  EXPECT_DOUBLE_EQ(static_cast<double>(t.accuracy(0, 0, 999)), 10.0);
  EXPECT_DOUBLE_EQ(static_cast<double>(t.accuracy(1, 1000, 1999)), 10.0);
  EXPECT_DOUBLE_EQ(static_cast<double>(t.accuracy(1, 1500, 1500)), 6.0);
  EXPECT_DOUBLE_EQ(static_cast<double>(t.accuracy(2, 2000, 9000)), 2.0);

  PiecewiseTransform unbounded;
  unbounded.move_to(1000, LinearTransform{1.0L, 100.0L}, true, flat(2), 1000);
  EXPECT_TRUE(std::isinf(unbounded.accuracy(1, 1000, 1999)));
  EXPECT_DOUBLE_EQ(static_cast<double>(unbounded.accuracy(2, 2000, 9000)), 2.0);
}

// Against a truth: t_ref = 1.00002 t + 5000 (20 ppm). The lead's estimate has the slope of
// 10 ppm: its error is 1e-5 t exactly, so the bound line g0 = 0, g1 = 1e-5 from t0 = 0 over
// [0, 1e9] bounds it. At 1e9 (error 10000 ns) the exact truth takes over (bound 0) with a 1e8
// horizon. Every mapped time, on the join too, is within its piece's bound of the truth (+ 1 ns
// for the rounding of each side).
TEST(PiecewiseTransform, EveryPieceIsWithinItsBoundOfTheTruth) {
  const LinearTransform truth{1.00002L, 5000.0L};
  PiecewiseTransform t(LinearTransform{1.00001L, 5000.0L}, true,
                       {SyncBoundTerm{0, 0.0L, 1e-5L, 0, 1'000'000'000}});
  t.move_to(1'000'000'000, truth, true, {SyncBoundTerm{0, 0.0L, 0.0L, 0, 0}}, 100'000'000);
  ASSERT_EQ(t.pieces().size(), 3u);
  for (int64_t raw = 0; raw <= 1'300'000'000; raw += 1'000'003) {
    size_t piece = 0;
    while (piece + 1 < t.pieces().size() && t.pieces()[piece + 1].from_raw <= raw) ++piece;
    const long double error = std::fabs(static_cast<long double>(t.apply(raw) - truth.apply(raw)));
    ASSERT_LE(error, t.accuracy(piece, raw, raw) + 1.0L) << raw;
  }
  EXPECT_EQ(t.apply(1'100'000'000), truth.apply(1'100'000'000));
}

// Random estimates (slopes 0.9-1.1, offsets within 1 ms) at increasing times: the mapping never
// goes back, and each move keeps what was mapped before it.
TEST(PiecewiseTransform, RandomMovesKeepTheMappingIncreasingAndThePast) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> slope(0.9, 1.1), offset(-1e6, 1e6);
  std::uniform_int_distribution<int64_t> step(1, 200'000), horizon(1, 300'000);
  PiecewiseTransform t;
  int64_t at = 0;
  for (int round = 0; round < 200; ++round) {
    at += step(random);
    std::vector<int64_t> before;
    for (int64_t raw = at - 50'000; raw <= at; raw += 997) before.push_back(t.apply(raw));
    t.move_to(at, LinearTransform{slope(random), offset(random)}, false, {}, horizon(random));
    size_t k = 0;
    for (int64_t raw = at - 50'000; raw <= at; raw += 997) ASSERT_EQ(t.apply(raw), before[k++]) << raw;
  }
  int64_t last = std::numeric_limits<int64_t>::min();
  for (int64_t raw = 0; raw <= at + 1'000'000; raw += 101) {
    const int64_t out = t.apply(raw);
    ASSERT_GE(out, last) << raw;
    last = out;
  }
}

// Extreme times: a move at the very first time replaces everything; a horizon past the end
// of int64 leaves a join to the end of time.
TEST(PiecewiseTransform, ExtremeTimesSaturate) {
  const int64_t min = std::numeric_limits<int64_t>::min(), max = std::numeric_limits<int64_t>::max();
  PiecewiseTransform t;
  t.move_to(min, LinearTransform{1.0L, 10.0L}, false, {}, 1);
  EXPECT_EQ(t.apply(0), 10);
  t.move_to(max - 5, LinearTransform{1.0L, -100.0L}, false, {}, max);
  EXPECT_EQ(t.pieces().back().end_raw, max);
  EXPECT_LE(t.apply(max - 5), t.apply(max));
}

}  // namespace
}  // namespace vm
