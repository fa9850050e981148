// SPDX-License-Identifier: MIT
// PackedSeq (TimeSeq, KvmWindowSync::Windows) against std::vector and std::lower_bound, the
// sequence it replaces (the oracle).
#include "base/packed_seq.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
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

// Spilled to a file (PackedBytes::spill_to): 600,000 times, about 1.5 MB of differences, so the
// bytes move to the file at 256 KiB, are released every 1 MiB appended and every 8,192 blocks read,
// and still read back exactly; lower_bound as std::lower_bound; a copy is in memory and equal. No
// file is left in the directory (unnamed files).
TEST(TimeSeq, SpilledToAFileKeepsEveryValue) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("vm-packed-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string dir_name = dir.string();
  std::mt19937_64 random(11);
  std::vector<Timestamp> times;
  TimeSeq seq;
  seq.spill_to(&dir_name);
  Timestamp t = 1'795'451'881'000'000'000;
  for (int i = 0; i < 600'000; ++i) {
    t += static_cast<Timestamp>(random() % 40'000);  // 2 to 3 bytes a difference
    times.push_back(t);
    seq.push_back(t);
    if (i == 1000) {
      EXPECT_FALSE(seq.spilled());
    }
  }
  ASSERT_TRUE(seq.spilled());
  expect_same(times, seq);
  expect_same(times, seq);  // again, after the releases of the first read
  for (size_t i = 0; i < times.size(); i += 997)
    for (const Timestamp p : {times[i] - 1, times[i], times[i] + 1}) {
      const auto expected = std::lower_bound(times.begin(), times.end(), p) - times.begin();
      ASSERT_EQ(seq.lower_bound(p).index(), static_cast<size_t>(expected)) << p;
    }
  const TimeSeq copy = seq;
  EXPECT_FALSE(copy.spilled());
  expect_same(times, copy);
  EXPECT_TRUE(std::filesystem::directory_iterator(dir) == std::filesystem::directory_iterator());
  std::filesystem::remove_all(dir);
}

// A directory that cannot hold the file: the error names the data and the directory, when the
// bytes reach the file.
TEST(TimeSeq, SpillNamesADirectoryItCannotUse) {
  const std::string dir = "/nonexistent-vm-evidence-dir";
  TimeSeq seq;
  seq.spill_to(&dir);
  try {
    for (Timestamp t = 0;; t += 300) seq.push_back(t);  // 2 bytes each: 256 KiB at about 130,000
    FAIL() << "no error";
  } catch (const std::runtime_error& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("guest-matching evidence"), std::string::npos) << what;
    EXPECT_NE(what.find(dir), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace vm
