// SPDX-License-Identifier: MIT
#include "base/machine_names.h"

#include <array>
#include <map>
#include <set>

namespace vm {

namespace {

constexpr size_t kFields = 5;  // given, trace name, hostname, folder, clock UUID: the order of preference

std::array<const std::string*, kFields> fields_of(const MachineIdentity& m) {
  return {&m.given, &m.lttng_trace_name, &m.hostname, &m.folder, &m.clock_uuid};
}

std::string primary_name(const MachineIdentity& m) {
  const auto fields = fields_of(m);
  for (size_t f = 0; f + 1 < kFields; ++f)
    if (!fields[f]->empty()) return *fields[f];
  return "machine";
}

// The qualifiers of machines that share `name`: the first field whose values tell every one of
// them apart; failing that, per machine, the first field whose value no other of them has; failing
// that, its rank among them.
std::vector<std::string> qualifiers(const std::vector<const MachineIdentity*>& group, const std::string& name) {
  std::vector<std::string> result(group.size());
  for (size_t f = 0; f < kFields; ++f) {
    std::set<std::string> values;
    for (const MachineIdentity* m : group) {
      const std::string& value = *fields_of(*m)[f];
      if (value.empty() || value == name || !values.insert(value).second) break;
    }
    if (values.size() != group.size()) continue;
    for (size_t i = 0; i < group.size(); ++i) result[i] = *fields_of(*group[i])[f];
    return result;
  }
  for (size_t i = 0; i < group.size(); ++i) {
    for (size_t f = 0; f < kFields && result[i].empty(); ++f) {
      const std::string& value = *fields_of(*group[i])[f];
      if (value.empty() || value == name) continue;
      bool shared = false;
      for (size_t j = 0; j < group.size(); ++j)
        if (j != i && *fields_of(*group[j])[f] == value) shared = true;
      if (!shared) result[i] = value;
    }
    if (result[i].empty()) result[i] = std::to_string(i + 1);
  }
  return result;
}

}  // namespace

std::vector<std::string> unique_machine_names(const std::vector<MachineIdentity>& machines) {
  std::vector<std::string> names(machines.size());
  std::map<std::string, std::vector<size_t>> by_name;
  for (size_t i = 0; i < machines.size(); ++i) by_name[primary_name(machines[i])].push_back(i);
  for (const auto& [name, members] : by_name) {
    if (members.size() == 1) {
      names[members[0]] = name;
      continue;
    }
    std::vector<const MachineIdentity*> group;
    for (size_t i : members) group.push_back(&machines[i]);
    const std::vector<std::string> qualifier = qualifiers(group, name);
    for (size_t k = 0; k < members.size(); ++k) names[members[k]] = name + " (" + qualifier[k] + ")";
  }
  // A qualified name may still meet another machine's name: number the later one.
  std::set<std::string> taken;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string base = names[i];
    for (size_t n = 2; !taken.insert(names[i]).second; ++n) names[i] = base + " #" + std::to_string(n);
  }
  return names;
}

}  // namespace vm
