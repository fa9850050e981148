// SPDX-License-Identifier: MIT
#pragma once
// Parameter specifications: one list per component class (fuse/params.h, scenario/params.h,
// sqlite-sink/params.h) gives both the validation table (bt::validate_params() in bt_util.h)
// and the help text that `babeltrace2 help` prints (plugin.cpp). No babeltrace2 header here:
// tests/params/ reads the same lists.
//
// A list is an X-macro: VM_X_PARAMS(X) calls X(name, type, presence, min, max, placeholder, help)
// once per parameter, where
//   name         the key, a string literal;
//   type         string, boolean, signed_integer, unsigned_integer, real or string_array;
//   presence     mandatory or optional;
//   min, max     the allowed range, inclusive (numbers; 0, 0 for the others), as literals: they
//                are printed as written;
//   placeholder  what the help shows after `name=`, e.g. "N" or "\"FILE\"";
//   help         one line, or several separated by VM_PARAM_NL.
// VM_X_PARAMS(VM_PARAM_SPEC) is the initializer list of a std::vector<bt::ParamSpec>;
// VM_X_PARAMS(VM_PARAM_HELP) is one string literal, the "Parameters:" part of the help.

#include <cstdint>

namespace vm::bt {

enum class ParamType { string, boolean, signed_integer, unsigned_integer, real, string_array };

struct ParamSpec {
  const char* name;
  ParamType type;
  bool mandatory;
  // The allowed range, inclusive: the integers' in int_min/int_max, the reals' in real_min/real_max.
  int64_t int_min, int_max;
  double real_min, real_max;
  const char* placeholder;
  const char* help;
};

}  // namespace vm::bt

// A line break inside a parameter's help, indented as the help's first line.
#define VM_PARAM_NL "\n      "

#define VM_PARAM_PRESENCE_mandatory true
#define VM_PARAM_PRESENCE_optional false
#define VM_PARAM_PRESENCE_TEXT_mandatory ", mandatory"
#define VM_PARAM_PRESENCE_TEXT_optional ""

#define VM_PARAM_RANGE_string(min, max) 0, 0, 0.0, 0.0
#define VM_PARAM_RANGE_boolean(min, max) 0, 0, 0.0, 0.0
#define VM_PARAM_RANGE_string_array(min, max) 0, 0, 0.0, 0.0
#define VM_PARAM_RANGE_signed_integer(min, max) min, max, 0.0, 0.0
#define VM_PARAM_RANGE_unsigned_integer(min, max) min, max, 0.0, 0.0
#define VM_PARAM_RANGE_real(min, max) 0, 0, min, max

#define VM_PARAM_TYPE_TEXT_string(min, max) "string"
#define VM_PARAM_TYPE_TEXT_boolean(min, max) "boolean"
#define VM_PARAM_TYPE_TEXT_string_array(min, max) "array of strings"
#define VM_PARAM_TYPE_TEXT_signed_integer(min, max) "integer, " #min " to " #max
#define VM_PARAM_TYPE_TEXT_unsigned_integer(min, max) "integer, " #min " to " #max
#define VM_PARAM_TYPE_TEXT_real(min, max) "number, " #min " to " #max

#define VM_PARAM_SPEC(name, type, presence, min, max, placeholder, help)                      \
  ::vm::bt::ParamSpec{name, ::vm::bt::ParamType::type, VM_PARAM_PRESENCE_##presence,          \
                      VM_PARAM_RANGE_##type(min, max), placeholder, help},

#define VM_PARAM_HELP(name, type, presence, min, max, placeholder, help)                      \
  "  " name "=" placeholder "  (" VM_PARAM_TYPE_TEXT_##type(min, max) VM_PARAM_PRESENCE_TEXT_##presence ")" \
  VM_PARAM_NL help "\n"
