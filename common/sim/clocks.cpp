// SPDX-License-Identifier: MIT
// Guest clocks: t_host = alpha * t_guest + beta, from each guest's offset and drift.

#include <cstdio>
#include <cstdlib>

#include "sim/model_impl.h"

namespace vm {

// The clock of the machine being added (index machines.size()): its transform to the host's
// clock, its clock class offset and its UUID (derived from the seed and the index).
void ScenarioModel::Impl::set_clock(ScenarioMachineInfo& info, int64_t offset, double drift_ppm) const {
  const long double alpha = 1.0L + static_cast<long double>(drift_ppm) * 1e-6L;
  const long double h0 = static_cast<long double>(config.start_ns);
  info.alpha = alpha;
  info.beta = h0 - alpha * (h0 - static_cast<long double>(offset));
  info.clock_offset_s = (config.start_ns - std::abs(offset)) / 1'000'000'000 - 10;
  char uuid[40];
  const uint64_t a = config.seed * 0x9e3779b97f4a7c15ULL + machines.size() * 0xbf58476d1ce4e5b9ULL;
  const uint64_t b = (a ^ (a >> 31)) * 0x94d049bb133111ebULL;
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-4%03x-8%03x-%012llx", unsigned(a >> 32), unsigned(a >> 16) & 0xffff,
                unsigned(a) & 0xfff, unsigned(b >> 52) & 0xfff,
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  info.clock_uuid = uuid;
}

int64_t ScenarioModel::Impl::to_machine_clock(int machine, int64_t host_ts) const {
  const ScenarioMachineInfo& info = machines[static_cast<size_t>(machine)].info;
  if (info.parent < 0) return host_ts;
  const long double g = (static_cast<long double>(host_ts) - info.beta) / info.alpha;
  return static_cast<int64_t>(std::llround(g));
}

}  // namespace vm
