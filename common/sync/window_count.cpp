// SPDX-License-Identifier: MIT
#include "sync/window_count.h"

#include <algorithm>
#include <limits>

namespace vm {

uint64_t count_in_slice(const SearchSlice& slice, Timestamp d) {
  if (slice.shifted.empty()) return 0;
  uint64_t inside = 0;
  auto window = std::lower_bound(slice.windows.begin(), slice.windows.end(), host_at(slice.shifted.front(), d),
                                 [](const GuestModeWindow& w, Timestamp t) { return w.exit < t; });
  for (const uint64_t shifted : slice.shifted) {
    const Timestamp host = host_at(shifted, d);
    while (window != slice.windows.end() && window->exit < host) ++window;
    if (window == slice.windows.end()) break;  // nothing after is inside
    if (window->entry <= host) ++inside;
  }
  return inside;
}

// Why the grid gives count_in_slice's numbers: while the events' host times do not go backwards,
// the window count_in_slice checks an event against is the first one whose exit is not before the
// event's host time h. So window k is the one checked exactly when exit[k-1] < h <= exit[k] (the
// windows in exit order; no lower limit for the first), and the event is inside when also
// entry[k] <= h: window k holds the host times [max(entry[k], exit[k-1] + 1), exit[k]], and these
// ranges do not overlap. At offset first + j * step an event's host time is h0 + j * step, so each
// range an event can reach over the grid adds 1 to a run of consecutive j, kept as a difference
// array. The host times are compared as count_in_slice compares them, modulo 2^64: the grid is
// refused when an event's times wrap within it, or when the windows are not in exit order.
bool count_grid(const SearchSlice& slice, Timestamp first, Timestamp step, std::vector<uint64_t>& counts) {
  const size_t n = counts.size();
  if (n == 0 || slice.shifted.empty()) return true;
  constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
  if (step <= 0 || n - 1 > static_cast<uint64_t>(kMax / step)) return false;
  const Timestamp span = static_cast<Timestamp>(n - 1) * step;  // <= kMax
  for (size_t k = 1; k < slice.windows.size(); ++k)
    if (slice.windows[k].exit < slice.windows[k - 1].exit) return false;
  std::vector<int64_t> difference(n + 1, 0);
  const auto windows_begin = slice.windows.begin(), windows_end = slice.windows.end();
  auto window = windows_begin;
  Timestamp previous = std::numeric_limits<Timestamp>::min();
  const auto ustep = static_cast<uint64_t>(step);
  for (const uint64_t shifted : slice.shifted) {
    const Timestamp h0 = host_at(shifted, first);
    if (h0 < previous || h0 > kMax - span) return false;  // backwards, or wraps within the grid
    previous = h0;
    const Timestamp last = h0 + span;
    while (window != windows_end && window->exit < h0) ++window;
    if (window == windows_end) break;  // no window reaches this event or a later one
    for (auto k = window; k != windows_end; ++k) {
      const Timestamp hi = k->exit;  // >= h0
      Timestamp lo = k->entry;
      bool empty = lo > hi;
      if (k != windows_begin) {
        const Timestamp before = (k - 1)->exit;  // <= hi
        if (before == hi) empty = true;
        else if (before >= lo) lo = before + 1;
      }
      if (!empty && lo <= last) {
        // The j with lo <= h0 + j * step <= hi, as differences from h0 (both >= 0 when used).
        const uint64_t j_low = lo <= h0 ? 0 : (static_cast<uint64_t>(lo) - static_cast<uint64_t>(h0) + ustep - 1) / ustep;
        const uint64_t j_high =
            std::min<uint64_t>(n - 1, (static_cast<uint64_t>(hi) - static_cast<uint64_t>(h0)) / ustep);
        if (j_low <= j_high) {
          ++difference[j_low];
          --difference[j_high + 1];
        }
      }
      if (hi >= last) break;  // a later window's range begins after this exit: beyond the grid
    }
  }
  int64_t running = 0;
  for (size_t j = 0; j < n; ++j) {
    running += difference[j];
    counts[j] += static_cast<uint64_t>(running);
  }
  return true;
}

}  // namespace vm
