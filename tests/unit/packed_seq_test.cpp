// SPDX-License-Identifier: MIT
// PackedSeq (TimeSeq, KvmWindowSync::Windows) against std::vector and std::lower_bound, the
// sequence it replaces (the oracle).
#include "base/packed_seq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include "sync/kvm_window_sync.h"

namespace vm {
namespace {

void expect_same(const std::vector<Timestamp>& expected, const TimeSeq& seq) {
  ASSERT_EQ(seq.size(), expected.size());
  ASSERT_EQ(seq.empty(), expected.empty());
  if (!expected.empty()) {
    EXPECT_EQ(seq.front(), expected.front());
    EXPECT_EQ(seq.back(), expected.back());
  }
  size_t i = 0;
  for (const Timestamp t : seq) ASSERT_EQ(t, expected[i++]) << i;
  EXPECT_EQ(i, expected.size());
}

TEST(TimeSeq, KeepsEveryValueExactlyInOrderOrNot) {
  // Extremes, differences that overflow int64, a trace out of order, repeats: all exact.
  const Timestamp lo = std::numeric_limits<Timestamp>::min(), hi = std::numeric_limits<Timestamp>::max();
  std::vector<Timestamp> values = {0, hi, lo, lo, -1, 1, hi, 0, 5, 4, 4, 1'795'451'881'000'000'000};
  std::mt19937_64 random(7);
  for (int i = 0; i < 1000; ++i) values.push_back(static_cast<Timestamp>(random()));
  expect_same(values, TimeSeq(values.begin(), values.end()));
  expect_same({}, TimeSeq());
}

TEST(TimeSeq, LowerBoundIsStdLowerBound) {
  // Sorted, with runs of equal values that cross the blocks' boundaries (kBlock = 64): the first
  // element not before t, also when it is in the block before the one whose first value is t.
  std::mt19937_64 random(11);
  for (const size_t n : {size_t(0), size_t(1), size_t(63), size_t(64), size_t(65), size_t(1000)}) {
    std::vector<Timestamp> values;
    Timestamp t = 1'000'000;
    for (size_t i = 0; i < n; ++i) {
      t += static_cast<Timestamp>(random() % 4 == 0 ? 0 : random() % 3000);
      values.push_back(t);
    }
    if (n >= 130) std::fill(values.begin() + 60, values.begin() + 130, values[60]);
    const TimeSeq seq(values.begin(), values.end());
    expect_same(values, seq);
    std::vector<Timestamp> probes = {std::numeric_limits<Timestamp>::min(), 0, t, t + 1,
                                     std::numeric_limits<Timestamp>::max()};
    for (const Timestamp v : values) probes.insert(probes.end(), {v - 1, v, v + 1});
    for (const Timestamp p : probes) {
      const auto expected = std::lower_bound(values.begin(), values.end(), p) - values.begin();
      const auto it = seq.lower_bound(p);
      const auto got = static_cast<std::ptrdiff_t>(std::distance(seq.begin(), it));
      ASSERT_EQ(got, expected) << "n " << n << " probe " << p;
      if (it != seq.end()) {
        ASSERT_EQ(*it, values[static_cast<size_t>(expected)]);
      }
    }
  }
}

TEST(TimeSeq, AppendsAndIsSmallAtKernelTraceGaps) {
  std::vector<Timestamp> values;
  TimeSeq seq, first, second;
  Timestamp t = 1'795'451'881'000'000'000;
  std::mt19937_64 random(3);
  for (int i = 0; i < 100'000; ++i) {
    t += static_cast<Timestamp>(random() % 100'000);  // under 100 us apart: at most 3 bytes each
    values.push_back(t);
    (i < 40'000 ? first : second).push_back(t);
  }
  seq.insert(seq.end(), first.begin(), first.end());
  seq.insert(seq.end(), second.begin(), second.end());
  expect_same(values, seq);
  EXPECT_TRUE(seq == TimeSeq(values.begin(), values.end()));
  // 3 bytes per difference and 16 per 64 values: under a std::vector's 8 bytes per value even at
  // twice the size a vector's growth may leave.
  EXPECT_LT(seq.bytes(), values.size() * sizeof(Timestamp));
}

// Windows: an entry from the previous exit, an exit from its entry. Gaps and lengths of every
// size, a window that ends before it begins and overlapping ones are kept exactly; lower_bound by
// entry (injection_pairs) and by exit (count_inside) are std::lower_bound's.
TEST(PackedSeq, WindowsKeepEveryValueAndSearchAsTheVector) {
  using Window = KvmWindowSync::Window;
  std::mt19937_64 random(5);
  std::vector<Window> windows = {{-5, 7}, {3, 2}, {0, 0}};
  const Timestamp lo = std::numeric_limits<Timestamp>::min(), hi = std::numeric_limits<Timestamp>::max();
  windows.push_back({lo, hi});
  windows.push_back({hi, lo});
  const KvmWindowSync::Windows odd(windows.begin(), windows.end());
  ASSERT_EQ(odd.size(), windows.size());
  size_t i = 0;
  for (const Window& w : odd) ASSERT_TRUE(w == windows[i++]) << i;

  windows.clear();
  Timestamp t = 1'795'451'881'000'000'000;
  for (int k = 0; k < 1000; ++k) {
    const Timestamp entry = t + static_cast<Timestamp>(random() % (k % 7 == 0 ? 5'000'000 : 20'000));
    const Timestamp exit = entry + static_cast<Timestamp>(random() % 300'000);
    windows.push_back({entry, exit});
    t = exit;
  }
  const KvmWindowSync::Windows packed(windows.begin(), windows.end());
  ASSERT_EQ(packed.size(), windows.size());
  EXPECT_TRUE(packed.front() == windows.front());
  EXPECT_TRUE(packed.back() == windows.back());
  i = 0;
  for (const Window& w : packed) ASSERT_TRUE(w == windows[i++]) << i;
  auto by_entry = [](const Window& w, Timestamp x) { return w.entry < x; };
  auto by_exit = [](const Window& w, Timestamp x) { return w.exit < x; };
  for (const Window& w : windows)
    for (const Timestamp p : {w.entry - 1, w.entry, w.entry + 1, w.exit - 1, w.exit, w.exit + 1}) {
      const auto e = std::lower_bound(windows.begin(), windows.end(), p, by_entry) - windows.begin();
      const auto x = std::lower_bound(windows.begin(), windows.end(), p, by_exit) - windows.begin();
      ASSERT_EQ(packed.lower_bound(p, by_entry).index(), static_cast<size_t>(e)) << p;
      ASSERT_EQ(packed.lower_bound(p, by_exit).index(), static_cast<size_t>(x)) << p;
    }
  // Under 16 bytes a window, a vector's growth included.
  EXPECT_LT(packed.bytes(), windows.size() * sizeof(Window));
}

// Interrupt vectors (a time and a vector number) come back exactly: extreme times and numbers,
// times out of order, and a run like a trace's (vector numbers 0 to 255, a few us apart).
TEST(PackedSeq, VectorsKeepEveryValue) {
  using Vector = KvmWindowSync::Vector;
  const Timestamp lo = std::numeric_limits<Timestamp>::min(), hi = std::numeric_limits<Timestamp>::max();
  std::vector<Vector> vectors = {{5, 236}, {3, -1}, {hi, lo}, {lo, hi}, {0, 0}};
  std::mt19937_64 random(9);
  Timestamp t = 1'795'451'881'000'000'000;
  for (int k = 0; k < 1000; ++k) {
    t += static_cast<Timestamp>(random() % 50'000);
    vectors.push_back({t, static_cast<int64_t>(random() % 256)});
  }
  const KvmWindowSync::Vectors packed(vectors.begin(), vectors.end());
  ASSERT_EQ(packed.size(), vectors.size());
  size_t i = 0;
  for (const Vector& v : packed) ASSERT_TRUE(v == vectors[i++]) << i;
  EXPECT_LT(packed.bytes(), vectors.size() * sizeof(Vector));
}

}  // namespace
}  // namespace vm
