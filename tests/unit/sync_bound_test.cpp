// SPDX-License-Identifier: MIT
// The error bound of a transform extrapolated beyond its sync points (ConvexHullSync::bound_line,
// FuseModel's SyncBoundTerm composition), which filter.vm.fuse's one-pass mode reports per
// segment. Oracle: the generator's truth. Messages are drawn from a known linear relation between
// two clocks, t_other = a * t_ref + b, each with a positive delay; the transform learned from a
// short window must stay within the reported bound of the truth far outside that window (the
// bound claims this for any range), and that bound must be finite and grow with the distance.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "sync/convex_hull_sync.h"
#include "sync/fuse_model.h"

namespace vm {
namespace {

constexpr int64_t kOrigin = 1'700'000'000'000'000'000;  // ns since the epoch, as LTTng's clocks

struct Truth {
  long double a, b;  // t_other = a * t_ref + b
  int64_t other(int64_t ref) const { return static_cast<int64_t>(std::llround(a * (ref - kOrigin) + b)) + kOrigin; }
};

// A deterministic delay in [20, 80] us (a 64-bit LCG).
struct Delays {
  uint64_t state = 12345;
  int64_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return 20'000 + static_cast<int64_t>((state >> 33) % 60'001);
  }
};

// Messages every ms over [kOrigin, kOrigin + span), alternately ref -> other and other -> ref.
template <typename Add>
void exchange(const Truth& truth, int64_t span, Add add) {
  Delays delays;
  for (int64_t t = kOrigin; t < kOrigin + span; t += 1'000'000) {
    const int64_t d = delays.next();
    if ((t / 1'000'000) % 2 == 0)
      add(/*from_reference=*/true, t, truth.other(t + d));  // received on the other clock
    else
      add(/*from_reference=*/false, truth.other(t), t + d);
  }
}

// The true reference time of reference time `t` mapped through other -> reference: the error.
long double error_at(const LinearTransform& other_to_ref, const Truth& truth, int64_t t) {
  return std::fabs(static_cast<long double>(other_to_ref.apply(truth.other(t)) - t));
}

TEST(SyncBound, HullLineBoundsTheTruthFarOutsideItsWindow) {
  for (const long double ppm : {0.0L, 1.0L, 20.0L, -50.0L}) {
    const Truth truth{1.0L + ppm * 1e-6L, 3'456'789.0L};
    ConvexHullSync hull;
    exchange(truth, 2'000'000'000, [&](bool from_ref, int64_t send, int64_t recv) { hull.add_match(from_ref, send, recv); });
    ASSERT_EQ(hull.quality(), SyncQuality::accurate) << ppm;
    ConvexHullSync::BoundLine line;
    ASSERT_TRUE(hull.bound_line(line));
    // Inside the window the line's ends give accuracy_ns() (both are the half-gap / alpha_min).
    EXPECT_NEAR(static_cast<double>(std::max(line.at(hull.min_reference_ts()), line.at(hull.max_reference_ts()))),
                static_cast<double>(hull.accuracy_ns()), 1e-6);
    // Far outside it (1 h after, 10 s before) the truth stays within the bound (+1 ns: apply() rounds).
    const LinearTransform estimate = hull.other_to_reference();
    for (const int64_t t : {kOrigin - 10'000'000'000, kOrigin + 1'000'000'000, kOrigin + 60'000'000'000,
                            kOrigin + 3'600'000'000'000}) {
      const long double bound = std::max(line.at(std::min(t, hull.min_reference_ts())),
                                         line.at(std::max(t, hull.max_reference_ts())));
      EXPECT_LE(error_at(estimate, truth, t), bound + 1) << "ppm " << static_cast<double>(ppm) << " at " << t;
    }
    // The bound grows away from the window.
    EXPECT_GT(line.at(kOrigin + 3'600'000'000'000), line.at(kOrigin + 60'000'000'000));
  }
}

// The same through FuseModel (spanning tree, terms moved into the reference clock), with the hull's
// x axis on either machine (Trace Compass's smaller clock UUID is the hull's reference).
TEST(SyncBound, ModelTermsBoundTheComposedTransform) {
  for (const bool guest_is_hull_reference : {false, true}) {
    const Truth truth{1.0L + 37e-6L, -2'000'000.0L};  // guest = a * host + b
    FuseModel model;
    const int host = model.add_machine("host", "host", guest_is_hull_reference ? "bbbb" : "aaaa");
    const int guest = model.add_machine("guest", "guest", guest_is_hull_reference ? "aaaa" : "bbbb");
    exchange(truth, 2'000'000'000, [&](bool host_sends, int64_t send, int64_t recv) {
      if (host_sends)
        model.add_constraint(host, send, guest, recv, SyncMethod::tcp);
      else
        model.add_constraint(guest, send, host, recv, SyncMethod::tcp);
    });
    model.solve("host");
    const MachineSync& sync = model.machine(guest).sync;
    ASSERT_TRUE(sync.bounded);
    ASSERT_EQ(sync.bound_terms.size(), 1u);
    EXPECT_EQ(model.machine(host).sync.accuracy_over(kOrigin, kOrigin + 1), 0);  // the reference: exact
    // Over the sync points' own range the bound is the sync table's accuracy (up to the
    // conversion of the range into reference time).
    EXPECT_NEAR(static_cast<double>(sync.accuracy_over(kOrigin + 1'000'000, kOrigin + 1'000'000)),
                static_cast<double>(sync.accuracy_ns), 1e-3);
    for (const int64_t t : {kOrigin - 5'000'000'000, kOrigin + 500'000'000, kOrigin + 100'000'000'000}) {
      EXPECT_LE(error_at(sync.to_reference, truth, t), sync.accuracy_over(t, t) + 1)
          << "hull reference " << (guest_is_hull_reference ? "guest" : "host") << " at " << t;
    }
  }
}

}  // namespace
}  // namespace vm
