// SPDX-License-Identifier: MIT
#pragma once
// Small helpers over the babeltrace2 C API shared by the component classes: parameter
// validation, error causes, warnings, and reading fields by a precomputed index.

#include <babeltrace2/babeltrace.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "param_spec.h"

namespace vm::bt {

// Checks `params` against `specs` (param_spec.h): unknown keys (with a "did you mean"
// suggestion), wrong types, numbers outside their range (named, with the value and the range)
// and missing mandatory keys. Returns the problem, or an empty string.
std::string validate_params(const bt_value* params, const std::vector<ParamSpec>& specs);

// A validated parameter's value, or `fallback` when it is absent. Integers: either of
// babeltrace2's integer kinds (the CLI writes `3` as signed and `+3` as unsigned); reals: a real
// or an integer.
int64_t param_int(const bt_value* params, const char* name, int64_t fallback);
double param_real(const bt_value* params, const char* name, double fallback);
bool param_bool(const bt_value* params, const char* name, bool fallback);
std::string param_string(const bt_value* params, const char* name, const std::string& fallback);

// Renders a parameter map as `key=value, ...` (for the run table and messages).
std::string params_to_string(const bt_value* params);

// Prints a warning on stderr unless the component's log level hides warnings.
void warn(const bt_component* component, const std::string& message);

// A payload or context member located once per class: its index and how to read it.
struct FieldRef {
  int64_t index = -1;
  bool is_signed = false;
  bool is_string = false;
  bool present() const { return index >= 0; }
};

// Finds member `name` (or `_name`, LTTng's CTF spelling of context fields) in a structure field
// class; absent when `structure` is null or has no such member.
FieldRef find_member(const bt_field_class* structure, std::string_view name);

// Finds member `name` when it is an array (static or dynamic) of integers.
FieldRef find_int_array_member(const bt_field_class* structure, std::string_view name);
// Reads an array of integers located by find_int_array_member() into `out` (empty if absent).
void read_int_array(const bt_field* structure, const FieldRef& ref, std::vector<int64_t>& out);

// Reads an integer member (`fallback` when absent or not an integer).
inline int64_t read_int(const bt_field* structure, const FieldRef& ref, int64_t fallback = -1) {
  if (ref.index < 0 || ref.is_string) return fallback;
  const bt_field* field =
      bt_field_structure_borrow_member_field_by_index_const(structure, static_cast<uint64_t>(ref.index));
  return ref.is_signed ? bt_field_integer_signed_get_value(field)
                       : static_cast<int64_t>(bt_field_integer_unsigned_get_value(field));
}

inline std::string_view read_string(const bt_field* structure, const FieldRef& ref) {
  if (ref.index < 0 || !ref.is_string) return {};
  const bt_field* field =
      bt_field_structure_borrow_member_field_by_index_const(structure, static_cast<uint64_t>(ref.index));
  return std::string_view(bt_field_string_get_value(field), bt_field_string_get_length(field));
}

}  // namespace vm::bt

namespace vm::bt {

// Slow-path accessors by name, for the rare events whose layout varies per event (variants):
// network headers. Null-safe: a null or mismatching field gives null / 0.
const bt_field* member_by_name(const bt_field* structure, const char* name);
// The selected option of a variant (or the field itself if it is not a variant); structures
// with a single member are looked through (LTTng wraps variant options in a structure).
const bt_field* select_variant(const bt_field* field);
// An integer or enumeration field's value (0 if not an integer).
int64_t field_int(const bt_field* field);
// A 4-byte array of unsigned integers (an IPv4 address) as a host-order integer.
uint32_t field_ipv4(const bt_field* field);

}  // namespace vm::bt
