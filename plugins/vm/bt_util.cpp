// SPDX-License-Identifier: MIT
#include "bt_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vm::bt {

namespace {

const char* type_word(ParamType type) {
  switch (type) {
    case ParamType::string: return "a string";
    case ParamType::boolean: return "a boolean";
    case ParamType::signed_integer:
    case ParamType::unsigned_integer: return "an integer";
    case ParamType::real: return "a number";
    case ParamType::string_array: return "an array of strings";
  }
  return "?";
}

const char* type_example(ParamType type) {
  switch (type) {
    case ParamType::string: return "=\"...\"";
    case ParamType::boolean: return "=true";
    case ParamType::signed_integer:
    case ParamType::unsigned_integer: return "=1";
    case ParamType::real: return "=2.5";
    case ParamType::string_array: return "=[\"...\"]";
  }
  return "";
}

bool is_integer(const bt_value* value) {
  return bt_value_is_signed_integer(value) || bt_value_is_unsigned_integer(value);
}

bool has_type(const bt_value* value, ParamType type) {
  switch (type) {
    case ParamType::string: return bt_value_is_string(value);
    case ParamType::boolean: return bt_value_is_bool(value);
    // The CLI writes `3` as signed and `+3` as unsigned: accept both.
    case ParamType::signed_integer:
    case ParamType::unsigned_integer: return is_integer(value);
    case ParamType::real: return bt_value_is_real(value) || is_integer(value);
    case ParamType::string_array: {
      if (!bt_value_is_array(value)) return false;
      for (uint64_t i = 0; i < bt_value_array_get_length(value); ++i)
        if (!bt_value_is_string(bt_value_array_borrow_element_by_index_const(value, i))) return false;
      return true;
    }
  }
  return false;
}

// A real as printed in messages: the shortest form that reads back as the same number.
std::string real_text(double x) {
  char buffer[64];
  if (std::fabs(x) < 1e15 && x == std::floor(x)) {  // an integer: as the help prints it
    std::snprintf(buffer, sizeof buffer, "%.0f", x);
    return buffer;
  }
  for (int digits = 6; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, x);
    if (std::strtod(buffer, nullptr) == x || std::isnan(x)) break;
  }
  return buffer;
}

// The problem with a number outside `spec`'s range, or an empty string.
std::string range_problem(const ParamSpec& spec, const bt_value* value) {
  std::string shown, range;
  bool inside = true;
  if (spec.type == ParamType::signed_integer || spec.type == ParamType::unsigned_integer) {
    range = std::to_string(spec.int_min) + " to " + std::to_string(spec.int_max);
    if (bt_value_is_unsigned_integer(value)) {
      const uint64_t x = bt_value_integer_unsigned_get(value);
      shown = std::to_string(x);
      inside = x <= static_cast<uint64_t>(INT64_MAX) && static_cast<int64_t>(x) >= spec.int_min &&
               static_cast<int64_t>(x) <= spec.int_max;
    } else {
      const int64_t x = bt_value_integer_signed_get(value);
      shown = std::to_string(x);
      inside = x >= spec.int_min && x <= spec.int_max;
    }
  } else if (spec.type == ParamType::real) {
    range = real_text(spec.real_min) + " to " + real_text(spec.real_max);
    double x = 0;
    if (bt_value_is_real(value)) {
      x = bt_value_real_get(value);
      shown = real_text(x);
    } else if (bt_value_is_unsigned_integer(value)) {
      x = static_cast<double>(bt_value_integer_unsigned_get(value));
      shown = std::to_string(bt_value_integer_unsigned_get(value));
    } else {
      x = static_cast<double>(bt_value_integer_signed_get(value));
      shown = std::to_string(bt_value_integer_signed_get(value));
    }
    inside = x >= spec.real_min && x <= spec.real_max;  // false for NaN
  }
  if (inside) return {};
  return "parameter `" + std::string(spec.name) + "` is " + shown + ", out of its range: it must be " +
         type_word(spec.type) + " from " + range;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

void append_value(std::string& out, const bt_value* value) {
  char buffer[64];
  switch (bt_value_get_type(value)) {
    case BT_VALUE_TYPE_NULL: out += "null"; break;
    case BT_VALUE_TYPE_BOOL: out += bt_value_bool_get(value) ? "true" : "false"; break;
    case BT_VALUE_TYPE_UNSIGNED_INTEGER: out += std::to_string(bt_value_integer_unsigned_get(value)); break;
    case BT_VALUE_TYPE_SIGNED_INTEGER: out += std::to_string(bt_value_integer_signed_get(value)); break;
    case BT_VALUE_TYPE_REAL:
      std::snprintf(buffer, sizeof buffer, "%g", bt_value_real_get(value));
      out += buffer;
      break;
    case BT_VALUE_TYPE_STRING: out += '"' + std::string(bt_value_string_get(value)) + '"'; break;
    case BT_VALUE_TYPE_ARRAY:
      out += '[';
      for (uint64_t i = 0; i < bt_value_array_get_length(value); ++i) {
        if (i) out += ", ";
        append_value(out, bt_value_array_borrow_element_by_index_const(value, i));
      }
      out += ']';
      break;
    case BT_VALUE_TYPE_MAP:
      out += '{';
      out += params_to_string(value);
      out += '}';
      break;
    default: out += "?"; break;
  }
}

// The keys of the map `params`, in the map's order.
std::vector<std::string> map_keys(const bt_value* params) {
  std::vector<std::string> keys;
  bt_value_map_foreach_entry_const(
      params,
      [](const char* key, const bt_value*, void* data) {
        static_cast<std::vector<std::string>*>(data)->emplace_back(key);
        return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;
      },
      &keys);
  return keys;
}

}  // namespace

std::string validate_params(const bt_value* params, const std::vector<ParamSpec>& specs) {
  if (!params || !bt_value_is_map(params)) return "parameters must be a map";
  // Walk the keys outside the foreach callback (map_keys): an error cause may only be appended by
  // the caller, after this returns (babeltrace2 aborts on a cause appended inside a callback that
  // then returns OK).
  const std::vector<std::string> keys = map_keys(params);
  std::string known;
  for (const ParamSpec& spec : specs) known += (known.empty() ? "" : ", ") + std::string(spec.name);
  for (const std::string& key : keys) {
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return key == s.name; });
    if (spec == specs.end()) {
      std::string message = "unknown parameter `" + key + "`";
      const ParamSpec* closest = nullptr;
      size_t best = 3;  // suggest only close spellings
      for (const ParamSpec& candidate : specs) {
        const size_t distance = edit_distance(key, candidate.name);
        if (distance < best) {
          best = distance;
          closest = &candidate;
        }
      }
      if (closest) message += "; did you mean `" + std::string(closest->name) + "`?";
      return message + " (known parameters: " + known + ")";
    }
    const bt_value* value = bt_value_map_borrow_entry_value_const(params, key.c_str());
    if (!has_type(value, spec->type))
      return "parameter `" + key + "` must be " + type_word(spec->type) + ", e.g. " + key + type_example(spec->type);
    std::string problem = range_problem(*spec, value);
    if (!problem.empty()) return problem;
  }
  for (const ParamSpec& spec : specs)
    if (spec.mandatory && !bt_value_map_has_entry(params, spec.name))
      return "missing mandatory parameter `" + std::string(spec.name) + "` (" + type_word(spec.type) + ")";
  return {};
}

namespace {

const bt_value* entry(const bt_value* params, const char* name) {
  return params && bt_value_is_map(params) ? bt_value_map_borrow_entry_value_const(params, name) : nullptr;
}

}  // namespace

int64_t param_int(const bt_value* params, const char* name, int64_t fallback) {
  const bt_value* value = entry(params, name);
  if (!value) return fallback;
  if (bt_value_is_unsigned_integer(value)) return static_cast<int64_t>(bt_value_integer_unsigned_get(value));
  if (bt_value_is_signed_integer(value)) return bt_value_integer_signed_get(value);
  return fallback;
}

double param_real(const bt_value* params, const char* name, double fallback) {
  const bt_value* value = entry(params, name);
  if (!value) return fallback;
  if (bt_value_is_real(value)) return bt_value_real_get(value);
  if (bt_value_is_unsigned_integer(value)) return static_cast<double>(bt_value_integer_unsigned_get(value));
  if (bt_value_is_signed_integer(value)) return static_cast<double>(bt_value_integer_signed_get(value));
  return fallback;
}

bool param_bool(const bt_value* params, const char* name, bool fallback) {
  const bt_value* value = entry(params, name);
  return value && bt_value_is_bool(value) ? bt_value_bool_get(value) : fallback;
}

std::string param_string(const bt_value* params, const char* name, const std::string& fallback) {
  const bt_value* value = entry(params, name);
  return value && bt_value_is_string(value) ? bt_value_string_get(value) : fallback;
}

std::string params_to_string(const bt_value* params) {
  std::string out;
  if (!params || !bt_value_is_map(params)) return out;
  std::vector<std::string> keys = map_keys(params);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    if (!out.empty()) out += ", ";
    out += key + "=";
    append_value(out, bt_value_map_borrow_entry_value_const(params, key.c_str()));
  }
  return out;
}

void warn(const bt_component* component, const std::string& message) {
  if (bt_component_get_logging_level(component) > BT_LOGGING_LEVEL_WARNING) return;
  std::fprintf(stderr, "WARNING: [%s] %s\n", bt_component_get_name(component), message.c_str());
}

FieldRef find_int_array_member(const bt_field_class* structure, std::string_view name) {
  FieldRef ref;
  if (!structure) return ref;
  const bt_field_class_structure_member* member =
      bt_field_class_structure_borrow_member_by_name_const(structure, std::string(name).c_str());
  if (!member) return ref;
  const bt_field_class* type = bt_field_class_structure_member_borrow_field_class_const(member);
  if (!bt_field_class_type_is(bt_field_class_get_type(type), BT_FIELD_CLASS_TYPE_ARRAY)) return ref;
  const bt_field_class* element = bt_field_class_array_borrow_element_field_class_const(type);
  const bt_field_class_type element_kind = bt_field_class_get_type(element);
  if (bt_field_class_type_is(element_kind, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER))
    ref.is_signed = true;
  else if (!bt_field_class_type_is(element_kind, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
    return ref;
  const uint64_t count = bt_field_class_structure_get_member_count(structure);
  for (uint64_t i = 0; i < count; ++i)
    if (bt_field_class_structure_borrow_member_by_index_const(structure, i) == member)
      ref.index = static_cast<int64_t>(i);
  return ref;
}

void read_int_array(const bt_field* structure, const FieldRef& ref, std::vector<int64_t>& out) {
  out.clear();
  if (ref.index < 0) return;
  const bt_field* array =
      bt_field_structure_borrow_member_field_by_index_const(structure, static_cast<uint64_t>(ref.index));
  const uint64_t length = bt_field_array_get_length(array);
  for (uint64_t i = 0; i < length; ++i) {
    const bt_field* element = bt_field_array_borrow_element_field_by_index_const(array, i);
    out.push_back(ref.is_signed ? bt_field_integer_signed_get_value(element)
                                : static_cast<int64_t>(bt_field_integer_unsigned_get_value(element)));
  }
}

FieldRef find_member(const bt_field_class* structure, std::string_view name) {
  FieldRef ref;
  if (!structure) return ref;
  const uint64_t count = bt_field_class_structure_get_member_count(structure);
  for (int pass = 0; pass < 2 && ref.index < 0; ++pass) {
    const std::string wanted = pass == 0 ? std::string(name) : "_" + std::string(name);
    for (uint64_t i = 0; i < count; ++i) {
      const bt_field_class_structure_member* member =
          bt_field_class_structure_borrow_member_by_index_const(structure, i);
      if (wanted != bt_field_class_structure_member_get_name(member)) continue;
      const bt_field_class* type = bt_field_class_structure_member_borrow_field_class_const(member);
      const bt_field_class_type kind = bt_field_class_get_type(type);
      if (bt_field_class_type_is(kind, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) {
        ref.is_signed = true;
      } else if (bt_field_class_type_is(kind, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) {
        ref.is_signed = false;
      } else if (kind == BT_FIELD_CLASS_TYPE_STRING) {
        ref.is_string = true;
      } else {
        break;  // a member we cannot read as a scalar: treat as absent
      }
      ref.index = static_cast<int64_t>(i);
      break;
    }
  }
  return ref;
}

}  // namespace vm::bt

namespace vm::bt {

const bt_field* member_by_name(const bt_field* structure, const char* name) {
  if (!structure || bt_field_get_class_type(structure) != BT_FIELD_CLASS_TYPE_STRUCTURE) return nullptr;
  return bt_field_structure_borrow_member_field_by_name_const(structure, name);
}

const bt_field* select_variant(const bt_field* field) {
  if (!field) return nullptr;
  if (bt_field_class_type_is(bt_field_get_class_type(field), BT_FIELD_CLASS_TYPE_VARIANT))
    field = bt_field_variant_borrow_selected_option_field_const(field);
  return field;
}

int64_t field_int(const bt_field* field) {
  if (!field) return 0;
  const bt_field_class_type type = bt_field_get_class_type(field);
  if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) return bt_field_integer_signed_get_value(field);
  if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
    return static_cast<int64_t>(bt_field_integer_unsigned_get_value(field));
  return 0;
}

uint32_t field_ipv4(const bt_field* field) {
  if (!field || !bt_field_class_type_is(bt_field_get_class_type(field), BT_FIELD_CLASS_TYPE_ARRAY) ||
      bt_field_array_get_length(field) != 4)
    return 0;
  uint32_t address = 0;
  for (uint64_t i = 0; i < 4; ++i)
    address = (address << 8) |
              (static_cast<uint32_t>(field_int(bt_field_array_borrow_element_field_by_index_const(field, i))) & 0xff);
  return address;
}

}  // namespace vm::bt
