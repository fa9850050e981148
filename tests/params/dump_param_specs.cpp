// SPDX-License-Identifier: MIT
// Prints every component class's parameter specifications (plugins/vm/*/params.h), one per
// line: CLASS NAME TYPE PRESENCE MIN MAX, tab-separated, for tests/params/check_params.py.

#include <cstdio>
#include <vector>

#include "fuse/params.h"
#include "scenario/params.h"
#include "sqlite-sink/params.h"

namespace {

const char* type_name(vm::bt::ParamType type) {
  switch (type) {
    case vm::bt::ParamType::string: return "string";
    case vm::bt::ParamType::boolean: return "boolean";
    case vm::bt::ParamType::signed_integer: return "signed_integer";
    case vm::bt::ParamType::unsigned_integer: return "unsigned_integer";
    case vm::bt::ParamType::real: return "real";
    case vm::bt::ParamType::string_array: return "string_array";
  }
  return "?";
}

void print(const char* component_class, const std::vector<vm::bt::ParamSpec>& specs) {
  for (const vm::bt::ParamSpec& spec : specs) {
    const bool real = spec.type == vm::bt::ParamType::real;
    std::printf("%s\t%s\t%s\t%s\t", component_class, spec.name, type_name(spec.type),
                spec.mandatory ? "mandatory" : "optional");
    if (real)
      std::printf("%.17g\t%.17g\n", spec.real_min, spec.real_max);
    else
      std::printf("%lld\t%lld\n", static_cast<long long>(spec.int_min), static_cast<long long>(spec.int_max));
  }
}

}  // namespace

int main() {
  print("filter.vm.fuse", vm::fuse::param_specs());
  print("sink.vm.sqlite", vm::sqlite_sink::param_specs());
  print("source.vm.scenario", vm::scenario::param_specs());
  return 0;
}
