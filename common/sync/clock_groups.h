// SPDX-License-Identifier: MIT
#pragma once
// Which input clocks can be compared by raw time before any transform is known (filter.vm.fuse's
// one-pass lead window, docs/design.md "Clock groups").

#include <cstdint>
#include <vector>

namespace vm {

// From each input's first raw time (ns; `unknown` where it has none yet), the origin each input's
// times are counted from while they are merged. Sorted by first time, an input within
// `same_clock_ns` of the one before it joins that one's group (single linkage); a group's origin
// is its earliest first time, so a group is merged by raw time. Empty: one group only (merge by
// raw time), or an input whose first time is unknown.
std::vector<int64_t> clock_group_origins(const std::vector<int64_t>& first, uint64_t same_clock_ns, int64_t unknown);

}  // namespace vm
