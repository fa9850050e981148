// SPDX-License-Identifier: MIT
// count_grid (every offset of a search at once) against count_in_slice (one offset at a time,
// the count KvmWindowSync's search used before): the same numbers on random slices, including
// windows that overlap or share an exit, events that share a time, host times near both ends of
// the 64-bit range, and a grid refused (times that go backwards, windows out of exit order, times
// that wrap within the grid). The oracle is count_in_slice; each case states what it exercises.

#include "sync/window_count.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

namespace vm {
namespace {

constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();

// count_in_slice at each offset of the grid: the oracle.
std::vector<uint64_t> one_at_a_time(const SearchSlice& slice, Timestamp first, Timestamp step, size_t n) {
  std::vector<uint64_t> counts(n);
  for (size_t j = 0; j < n; ++j) counts[j] = count_in_slice(slice, first + static_cast<Timestamp>(j) * step);
  return counts;
}

// A vCPU's events and windows from `base`: windows of 1 ns to 300 us after gaps of up to 80 us,
// some beginning before their predecessor (`overlap`) or sharing its exit; events sorted, some
// slices with runs of equal times.
SearchSlice random_slice(std::mt19937_64& rng, Timestamp base, bool overlap) {
  SearchSlice slice;
  std::uniform_int_distribution<Timestamp> length(1, 300'000), gap(0, 80'000), pick(0, 9);
  Timestamp t = base;
  const int windows = std::uniform_int_distribution<int>(0, 60)(rng);
  for (int i = 0; i < windows; ++i) {
    Timestamp entry = t + gap(rng);
    if (overlap && pick(rng) == 0 && !slice.windows.empty()) entry = slice.windows.back().entry - gap(rng);
    Timestamp exit = std::max(entry + length(rng), slice.windows.empty() ? entry : slice.windows.back().exit);
    if (pick(rng) == 0 && !slice.windows.empty()) exit = slice.windows.back().exit;  // a shared exit
    slice.windows.push_back({entry, exit});
    t = std::max(t, exit);
  }
  const int events = std::uniform_int_distribution<int>(1, 200)(rng);
  std::uniform_int_distribution<Timestamp> at(base - 100'000, t + 100'000);
  std::vector<Timestamp> times;
  for (int i = 0; i < events; ++i) times.push_back(at(rng));
  std::sort(times.begin(), times.end());
  if (pick(rng) < 3)
    for (size_t i = 1; i < times.size(); i += 2) times[i] = times[i - 1];  // equal times
  for (const Timestamp time : times) slice.shifted.push_back(static_cast<uint64_t>(time));
  return slice;
}

TEST(WindowCount, GridGivesEachOffsetsCount) {
  std::mt19937_64 rng(20261203);
  for (int round = 0; round < 3000; ++round) {
    const bool overlap = round % 3 == 0;
    const SearchSlice slice = random_slice(rng, 1'700'000'000'000'000'000 + round * 1'000'000'000LL, overlap);
    // Offsets that move the events over the windows: steps of 1 ns to 50 us, 1 to 80 offsets.
    const Timestamp step = std::uniform_int_distribution<Timestamp>(1, 50'000)(rng);
    const size_t n = std::uniform_int_distribution<size_t>(1, 80)(rng);
    const Timestamp first = std::uniform_int_distribution<Timestamp>(-400'000, 100'000)(rng);
    std::vector<uint64_t> grid(n, 0);
    ASSERT_TRUE(count_grid(slice, first, step, grid)) << "round " << round;
    ASSERT_EQ(grid, one_at_a_time(slice, first, step, n)) << "round " << round;
  }
}

TEST(WindowCount, GridAddsToWhatIsThere) {
  // Two vCPUs' slices counted into the same grid of offsets 0, 5, 10, 15 (by hand: event 100 is
  // inside [100, 105] at offsets 0 to 5, event 95 inside [104, 110] at offsets 9 to 15).
  SearchSlice a{{100}, {{100, 105}}};
  SearchSlice b{{95}, {{104, 110}}};
  std::vector<uint64_t> grid(4, 0);
  ASSERT_TRUE(count_grid(a, 0, 5, grid));
  ASSERT_TRUE(count_grid(b, 0, 5, grid));
  EXPECT_EQ(grid, (std::vector<uint64_t>{1, 1, 1, 1}));
}

TEST(WindowCount, TouchingWindowsCountAnEventOnce) {
  // Windows [10, 20] and [20, 30]: an event at host time 20 is checked against the first only
  // (count_in_slice stops at the first window whose exit is not before it), so at offset 0 the
  // events 15, 20 and 25 are 3 inside, not 4.
  SearchSlice slice{{15, 20, 25}, {{10, 20}, {20, 30}}};
  std::vector<uint64_t> grid(21, 0);  // offsets -10..10
  ASSERT_TRUE(count_grid(slice, -10, 1, grid));
  EXPECT_EQ(grid[10], 3u);
  EXPECT_EQ(grid, one_at_a_time(slice, -10, 1, 21));
}

TEST(WindowCount, NearTheEndsOfTheRange) {
  // Host times near the top and the bottom of int64: the grid stays exact up to the last
  // representable time, and refuses a grid that would wrap (count_in_slice compares wrapped
  // times there; the caller counts one offset at a time).
  SearchSlice top{{static_cast<uint64_t>(kMax - 50), static_cast<uint64_t>(kMax - 10)},
                  {{kMax - 60, kMax - 40}, {kMax - 20, kMax}}};
  std::vector<uint64_t> grid(11, 0);  // offsets 0..10
  ASSERT_TRUE(count_grid(top, 0, 1, grid));
  EXPECT_EQ(grid, one_at_a_time(top, 0, 1, 11));
  std::vector<uint64_t> wraps(12, 0);  // offset 11 takes kMax - 10 past the top
  EXPECT_FALSE(count_grid(top, 0, 1, wraps));
  EXPECT_EQ(wraps, std::vector<uint64_t>(12, 0));  // nothing added

  SearchSlice bottom{{static_cast<uint64_t>(kMin + 5)}, {{kMin, kMin + 7}, {kMin + 9, kMin + 12}}};
  std::vector<uint64_t> low(9, 0);  // offsets -5..3
  ASSERT_TRUE(count_grid(bottom, -5, 1, low));
  EXPECT_EQ(low, one_at_a_time(bottom, -5, 1, 9));
}

TEST(WindowCount, RefusesWhatItCannotCount) {
  std::vector<uint64_t> grid(3, 0);
  SearchSlice backwards{{200, 100}, {{90, 210}}};  // host times go backwards
  EXPECT_FALSE(count_grid(backwards, 0, 1, grid));
  SearchSlice unordered{{100}, {{50, 120}, {60, 80}}};  // the second window exits first
  EXPECT_FALSE(count_grid(unordered, 0, 1, grid));
  EXPECT_FALSE(count_grid(SearchSlice{{100}, {{90, 110}}}, 0, 0, grid));  // no step
  EXPECT_EQ(grid, std::vector<uint64_t>(3, 0));
  // Nothing to count: accepted, nothing added.
  EXPECT_TRUE(count_grid(SearchSlice{{}, {{90, 110}}}, 0, 1, grid));
  EXPECT_TRUE(count_grid(SearchSlice{{100}, {}}, 0, 1, grid));
  EXPECT_EQ(grid, std::vector<uint64_t>(3, 0));
}

}  // namespace
}  // namespace vm
