// SPDX-License-Identifier: MIT
// The counts behind KvmWindowSync's exact offset search: how many guest events fall inside a
// guest-mode window of their vCPU, for each offset of a search. Apart so that the fast count of
// a whole grid of offsets can be checked against the count of one offset at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sync/kvm_window_sync.h"

namespace vm {

// One vCPU's guest events of a search, each already moved by its drift term, and the windows
// that any offset of the search can put them in (decoded once for all the offsets).
struct SearchSlice {
  // t_guest + the drift term, modulo 2^64: the host time at offset d is shifted + d, also
  // modulo 2^64, which is t_guest + d + term whenever that one is in range, even when
  // t_guest + term alone is not (a guest clock near the top of int64 and a negative offset).
  std::vector<uint64_t> shifted;
  std::vector<GuestModeWindow> windows;  // in time order (by exit)
};

// The host time of a shifted event at offset d (modulo 2^64, as an int64).
inline Timestamp host_at(uint64_t shifted, Timestamp d) {
  return static_cast<Timestamp>(shifted + static_cast<uint64_t>(d));
}

// Events of `slice` inside a window at offset d: each event is checked against the first window
// whose exit is not before the event's host time (the windows are walked forward, once, as the
// events go), and is inside when that window's entry is not after it.
uint64_t count_in_slice(const SearchSlice& slice, Timestamp d);

// count_in_slice at every offset first + j * step, j in [0, counts.size()), added to counts[j];
// the same numbers, in time proportional to the events and the windows each one can reach over
// the grid, not to events times offsets. Returns false, having added nothing, when the grid
// cannot be counted this way: the events' host times go backwards, or an event's host times wrap
// around the 64-bit range within the grid; the caller then counts each offset on its own.
bool count_grid(const SearchSlice& slice, Timestamp first, Timestamp step, std::vector<uint64_t>& counts);

}  // namespace vm
