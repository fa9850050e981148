// SPDX-License-Identifier: MIT
#include "sync/clock_groups.h"

#include <algorithm>

namespace vm {

std::vector<int64_t> clock_group_origins(const std::vector<int64_t>& first, uint64_t same_clock_ns, int64_t unknown) {
  std::vector<size_t> order(first.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (first[i] == unknown) return {};
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return first[a] < first[b]; });
  std::vector<int64_t> origin(first.size());
  bool several = false;
  int64_t group_origin = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const int64_t at = first[order[k]];
    // Times come from traces: the gap in unsigned arithmetic (the two are sorted), no overflow.
    if (k == 0 || static_cast<uint64_t>(at) - static_cast<uint64_t>(first[order[k - 1]]) > same_clock_ns) {
      several = several || k > 0;
      group_origin = at;
    }
    origin[order[k]] = group_origin;
  }
  if (!several) return {};
  return origin;
}

}  // namespace vm
