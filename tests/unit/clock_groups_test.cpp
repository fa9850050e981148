// SPDX-License-Identifier: MIT
// clock_group_origins: which inputs the one-pass lead merges by raw time. Expected values are
// derived by hand in the comments; times are those of the shipped lab traces where named.

#include "sync/clock_groups.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace vm {
namespace {

constexpr uint64_t kMinute = 60'000'000'000;
constexpr int64_t kUnknown = std::numeric_limits<int64_t>::min();
const std::vector<int64_t> kRaw;  // one group: merge by raw time

// The lab basic pair: the guest's first event at 1795451874.450138721 s, the host's at
// 1795451881.062777297 s, 6.6 s later: one group, raw time order (as two passes read them).
TEST(ClockGroups, TracesStartedSecondsApartShareTheirClock) {
  EXPECT_EQ(clock_group_origins({1795451881062777297, 1795451874450138721}, kMinute, kUnknown), kRaw);
}

// The container slice's guest clock moved by +3 h (tests/clocks, case shift): host at
// 1795451707.901027295 s, guest at 1795451707.900009916 s + 10800 s. Two groups, each its own
// origin: the lead reads lead-ns of each from its first event.
TEST(ClockGroups, AClockHoursOffIsItsOwnGroup) {
  const int64_t host = 1795451707901027295, guest = 1795451707900009916 + 10'800'000'000'000;
  EXPECT_EQ(clock_group_origins({host, guest}, kMinute, kUnknown), (std::vector<int64_t>{host, guest}));
}

// Two recordings 167 s apart (tests/clocks, case two-hosts): the container pair (host first at
// 707.901 s, guest at 707.900 s) and the basic pair (881.063 s, 874.450 s). Each pair is a group
// whose origin is its earlier first time.
TEST(ClockGroups, TwoRecordingsMinutesApartAreTwoGroups) {
  const int64_t basic_host = 1795451881062777297, basic_guest = 1795451874450138721;
  const int64_t c_host = 1795451707901027295, c_guest = 1795451707900009916;
  EXPECT_EQ(clock_group_origins({basic_host, basic_guest, c_host, c_guest}, kMinute, kUnknown),
            (std::vector<int64_t>{basic_guest, basic_guest, c_guest, c_guest}));
}

// Single linkage: 0, 50 s and 100 s are each within a minute of the one before, so one group
// although the ends are 100 s apart; a fourth input at 161 s (61 s after 100 s) starts a group.
TEST(ClockGroups, GroupsLinkThroughNeighbours) {
  EXPECT_EQ(clock_group_origins({0, 50'000'000'000, 100'000'000'000}, kMinute, kUnknown), kRaw);
  EXPECT_EQ(clock_group_origins({100'000'000'000, 0, 161'000'000'000, 50'000'000'000}, kMinute, kUnknown),
            (std::vector<int64_t>{0, 0, 161'000'000'000, 0}));
  // Exactly a minute apart still links; a minute and a nanosecond does not.
  EXPECT_EQ(clock_group_origins({0, 60'000'000'000}, kMinute, kUnknown), kRaw);
  EXPECT_EQ(clock_group_origins({0, 60'000'000'001}, kMinute, kUnknown),
            (std::vector<int64_t>{0, 60'000'000'001}));
}

// An input without a first time yet (a pre-muxed input shows only its first trace's), or a single
// input: raw time order.
TEST(ClockGroups, UnknownFirstTimeOrOneInputMergesByRawTime) {
  EXPECT_EQ(clock_group_origins({0, kUnknown, 10'800'000'000'000}, kMinute, kUnknown), kRaw);
  EXPECT_EQ(clock_group_origins({42}, kMinute, kUnknown), kRaw);
  EXPECT_EQ(clock_group_origins({}, kMinute, kUnknown), kRaw);
}

// Times from a trace are untrusted: the extremes of int64 give two groups, no overflow (UBSan).
TEST(ClockGroups, ExtremeTimesDoNotOverflow) {
  const int64_t low = std::numeric_limits<int64_t>::min() + 1, high = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(clock_group_origins({high, low}, kMinute, kUnknown), (std::vector<int64_t>{high, low}));
}

}  // namespace
}  // namespace vm
