// SPDX-License-Identifier: MIT
// libFuzzer target: the convex hull synchronization (ConvexHullSync, common/sync/) fed matched
// messages: mostly a linear clock relation (an offset of up to about 13 days either way, a rate
// off by up to 1000 ppm, delays of up to 1 ms), sometimes any pair of timestamps, as a hostile
// trace gives.

#include <cmath>

#include "fuzz_events.h"
#include "sync/convex_hull_sync.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vm;
  FuzzedDataProvider in(data, size);
  ConvexHullSync sync;
  const int64_t offset = in.ConsumeIntegralInRange<int64_t>(-(int64_t{1} << 50), int64_t{1} << 50);
  const int64_t ppm = in.ConsumeIntegralInRange<int64_t>(-1000, 1000);
  int64_t t = in.ConsumeIntegralInRange<int64_t>(0, int64_t{1} << 61);
  for (int step = 0; step < fuzz::kMaxSteps && in.remaining_bytes() > 0; ++step) {
    const bool from_reference = in.ConsumeBool();
    int64_t send = 0, recv = 0;
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) {
      send = in.ConsumeIntegralInRange<int64_t>(-(int64_t{1} << 62), int64_t{1} << 62);
      recv = in.ConsumeIntegralInRange<int64_t>(-(int64_t{1} << 62), int64_t{1} << 62);
    } else {
      t += in.ConsumeIntegralInRange<int64_t>(0, 1000000000);
      const int64_t delay = in.ConsumeIntegralInRange<int64_t>(0, 1000000);
      const int64_t other = t + offset + t / 1000000 * ppm;  // the other machine's clock at t
      // From the reference: sent at t (reference clock), received later on the other clock.
      send = from_reference ? t : other;
      recv = from_reference ? other + delay : t + delay;
    }
    sync.add_match(from_reference, send, recv);
  }
  const LinearTransform transform = sync.other_to_reference();
  VM_FUZZ_CHECK(std::isfinite(static_cast<double>(transform.alpha)) && transform.alpha > 0);
  VM_FUZZ_CHECK(std::isfinite(static_cast<double>(transform.beta)));
  (void)transform.apply(sync.min_reference_ts());
  (void)transform.apply(sync.max_reference_ts());
  (void)sync.accuracy_ns();
  (void)sync_quality_name(sync.quality());
  return 0;
}
