// SPDX-License-Identifier: MIT
#pragma once
// The machines a run discovers: traced hosts and guests, and the VMs a host trace reveals.
// Ids are dense, start at 1 and are stable for the run; they are the `machine.id` column.

#include <cstdint>
#include <string>
#include <vector>

#include "base/types.h"

namespace vm {

enum class MachineRole : uint8_t { unknown, host, guest };

inline const char* role_name(MachineRole role) {
  switch (role) {
    case MachineRole::host: return "host";
    case MachineRole::guest: return "guest";
    case MachineRole::unknown: break;
  }
  return "unknown";
}

struct Machine {
  int64_t id = 0;
  std::string name;
  MachineRole role = MachineRole::unknown;
  int64_t parent_id = kUnknown;
  int layer = 0;  // 0 = physical host, 1 = its guests, 2 = nested guests
};

class MachineRegistry {
 public:
  int64_t add(std::string name, MachineRole role, int64_t parent_id, int layer) {
    machines_.push_back(Machine{static_cast<int64_t>(machines_.size()) + 1, std::move(name), role, parent_id, layer});
    return machines_.back().id;
  }
  Machine& get(int64_t id) { return machines_.at(static_cast<size_t>(id - 1)); }
  const std::vector<Machine>& all() const { return machines_; }

 private:
  std::vector<Machine> machines_;
};

}  // namespace vm
