// SPDX-License-Identifier: MIT
#include "fuse/ir_fields.h"

namespace vm::fuse {

namespace {

const bt_field_class* resolve(const bt_field_path* path, const Roots& roots) {
  const bt_field_class* fc = roots.scope[bt_field_path_get_root_scope(path)];
  for (uint64_t i = 0; fc && i < bt_field_path_get_item_count(path); ++i) {
    const bt_field_path_item* item = bt_field_path_borrow_item_by_index_const(path, i);
    switch (bt_field_path_item_get_type(item)) {
      case BT_FIELD_PATH_ITEM_TYPE_INDEX: {
        const uint64_t index = bt_field_path_item_index_get_index(item);
        if (bt_field_class_get_type(fc) == BT_FIELD_CLASS_TYPE_STRUCTURE)
          fc = bt_field_class_structure_member_borrow_field_class_const(
              bt_field_class_structure_borrow_member_by_index_const(fc, index));
        else
          fc = bt_field_class_variant_option_borrow_field_class_const(
              bt_field_class_variant_borrow_option_by_index_const(fc, index));
        break;
      }
      case BT_FIELD_PATH_ITEM_TYPE_CURRENT_ARRAY_ELEMENT:
        fc = bt_field_class_array_borrow_element_field_class_const(fc);
        break;
      case BT_FIELD_PATH_ITEM_TYPE_CURRENT_OPTION_CONTENT:
        fc = bt_field_class_option_borrow_field_class_const(fc);
        break;
    }
  }
  return fc;
}

}  // namespace

bt::Ref<bt_field_class> TraceClassCopy::copy(const bt_field_class* in, const Roots& roots) {
  bt::Ref<bt_field_class> out_fc;
  const bt_field_class_type type = bt_field_class_get_type(in);
  auto copy_integer = [&](bt_field_class* made, const char* what) {
    bt::Ref<bt_field_class> integer = created(made, what);
    bt_field_class_integer_set_field_value_range(integer.get(), bt_field_class_integer_get_field_value_range(in));
    bt_field_class_integer_set_preferred_display_base(integer.get(),
                                                      bt_field_class_integer_get_preferred_display_base(in));
    return integer;
  };
  auto adopt = [](bt_field_class* made) { return bt::Ref<bt_field_class>::adopt(made); };
  if (type == BT_FIELD_CLASS_TYPE_BOOL) {
    out_fc = adopt(bt_field_class_bool_create(out));
  } else if (type == BT_FIELD_CLASS_TYPE_BIT_ARRAY) {
    out_fc = adopt(bt_field_class_bit_array_create(out, bt_field_class_bit_array_get_length(in)));
  } else if (type == BT_FIELD_CLASS_TYPE_UNSIGNED_ENUMERATION) {
    out_fc = copy_integer(bt_field_class_enumeration_unsigned_create(out), "enumeration");
    for (uint64_t i = 0; i < bt_field_class_enumeration_get_mapping_count(in); ++i) {
      const auto* mapping = bt_field_class_enumeration_unsigned_borrow_mapping_by_index_const(in, i);
      bt_field_class_enumeration_unsigned_add_mapping(
          out_fc.get(),
          bt_field_class_enumeration_mapping_get_label(
              bt_field_class_enumeration_unsigned_mapping_as_mapping_const(mapping)),
          bt_field_class_enumeration_unsigned_mapping_borrow_ranges_const(mapping));
    }
  } else if (type == BT_FIELD_CLASS_TYPE_SIGNED_ENUMERATION) {
    out_fc = copy_integer(bt_field_class_enumeration_signed_create(out), "enumeration");
    for (uint64_t i = 0; i < bt_field_class_enumeration_get_mapping_count(in); ++i) {
      const auto* mapping = bt_field_class_enumeration_signed_borrow_mapping_by_index_const(in, i);
      bt_field_class_enumeration_signed_add_mapping(
          out_fc.get(),
          bt_field_class_enumeration_mapping_get_label(
              bt_field_class_enumeration_signed_mapping_as_mapping_const(mapping)),
          bt_field_class_enumeration_signed_mapping_borrow_ranges_const(mapping));
    }
  } else if (type == BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER) {
    out_fc = copy_integer(bt_field_class_integer_unsigned_create(out), "integer");
  } else if (type == BT_FIELD_CLASS_TYPE_SIGNED_INTEGER) {
    out_fc = copy_integer(bt_field_class_integer_signed_create(out), "integer");
  } else if (type == BT_FIELD_CLASS_TYPE_SINGLE_PRECISION_REAL) {
    out_fc = adopt(bt_field_class_real_single_precision_create(out));
  } else if (type == BT_FIELD_CLASS_TYPE_DOUBLE_PRECISION_REAL) {
    out_fc = adopt(bt_field_class_real_double_precision_create(out));
  } else if (type == BT_FIELD_CLASS_TYPE_STRING) {
    out_fc = adopt(bt_field_class_string_create(out));
  } else if (type == BT_FIELD_CLASS_TYPE_STRUCTURE) {
    out_fc = created(bt_field_class_structure_create(out), "structure");
    for (uint64_t i = 0; i < bt_field_class_structure_get_member_count(in); ++i) {
      const bt_field_class_structure_member* member = bt_field_class_structure_borrow_member_by_index_const(in, i);
      const bt::Ref<bt_field_class> child =
          copy(bt_field_class_structure_member_borrow_field_class_const(member), roots);
      append_member(out_fc.get(), bt_field_class_structure_member_get_name(member), child.get());
    }
  } else if (type == BT_FIELD_CLASS_TYPE_STATIC_ARRAY) {
    const bt::Ref<bt_field_class> element = copy(bt_field_class_array_borrow_element_field_class_const(in), roots);
    out_fc = adopt(bt_field_class_array_static_create(out, element.get(), bt_field_class_array_static_get_length(in)));
  } else if (type == BT_FIELD_CLASS_TYPE_DYNAMIC_ARRAY_WITH_LENGTH_FIELD ||
             type == BT_FIELD_CLASS_TYPE_DYNAMIC_ARRAY_WITHOUT_LENGTH_FIELD) {
    bt_field_class* length = nullptr;
    if (type == BT_FIELD_CLASS_TYPE_DYNAMIC_ARRAY_WITH_LENGTH_FIELD) {
      const bt_field_class* in_length =
          resolve(bt_field_class_array_dynamic_with_length_field_borrow_length_field_path_const(in), roots);
      const auto found = fields.find(in_length);
      if (found == fields.end()) fail("a dynamic array's length field was not copied before it");
      length = found->second;
    }
    const bt::Ref<bt_field_class> element = copy(bt_field_class_array_borrow_element_field_class_const(in), roots);
    out_fc = adopt(bt_field_class_array_dynamic_create(out, element.get(), length));
  } else if (type == BT_FIELD_CLASS_TYPE_OPTION_WITHOUT_SELECTOR_FIELD) {
    const bt::Ref<bt_field_class> content = copy(bt_field_class_option_borrow_field_class_const(in), roots);
    out_fc = adopt(bt_field_class_option_without_selector_create(out, content.get()));
  } else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_VARIANT)) {
    bt_field_class* selector = nullptr;
    if (type != BT_FIELD_CLASS_TYPE_VARIANT_WITHOUT_SELECTOR_FIELD) {
      const bt_field_class* in_selector =
          resolve(bt_field_class_variant_with_selector_field_borrow_selector_field_path_const(in), roots);
      const auto found = fields.find(in_selector);
      if (found == fields.end()) fail("a variant's selector field was not copied before it");
      selector = found->second;
    }
    out_fc = created(bt_field_class_variant_create(out, selector), "variant");
    for (uint64_t i = 0; i < bt_field_class_variant_get_option_count(in); ++i) {
      const bt_field_class_variant_option* option = bt_field_class_variant_borrow_option_by_index_const(in, i);
      const bt::Ref<bt_field_class> child = copy(bt_field_class_variant_option_borrow_field_class_const(option), roots);
      const char* name = bt_field_class_variant_option_get_name(option);
      if (type == BT_FIELD_CLASS_TYPE_VARIANT_WITHOUT_SELECTOR_FIELD) {
        appended(bt_field_class_variant_without_selector_append_option(out_fc.get(), name, child.get()));
      } else if (type == BT_FIELD_CLASS_TYPE_VARIANT_WITH_UNSIGNED_INTEGER_SELECTOR_FIELD) {
        appended(bt_field_class_variant_with_selector_field_integer_unsigned_append_option(
            out_fc.get(), name, child.get(),
            bt_field_class_variant_with_selector_field_integer_unsigned_option_borrow_ranges_const(
                bt_field_class_variant_with_selector_field_integer_unsigned_borrow_option_by_index_const(in, i))));
      } else {
        appended(bt_field_class_variant_with_selector_field_integer_signed_append_option(
            out_fc.get(), name, child.get(),
            bt_field_class_variant_with_selector_field_integer_signed_option_borrow_ranges_const(
                bt_field_class_variant_with_selector_field_integer_signed_borrow_option_by_index_const(in, i))));
      }
    }
  } else {
    fail("a field class kind this filter does not copy (an option with a selector field)");
  }
  check(out_fc.get(), "a field class");
  fields[in] = out_fc.get();
  return out_fc;
}

void copy_field(const bt_field* in, bt_field* out) {
  const bt_field_class_type type = bt_field_get_class_type(in);
  if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) {
    bt_field_integer_unsigned_set_value(out, bt_field_integer_unsigned_get_value(in));
  } else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) {
    bt_field_integer_signed_set_value(out, bt_field_integer_signed_get_value(in));
  } else if (type == BT_FIELD_CLASS_TYPE_STRING) {
    // Not bt_field_string_clear(): it leaves stale content in 2.0.4 (fixed in babeltrace2 2.0.5,
    // commit d321ba031).
    if (bt_field_string_set_value(out, bt_field_string_get_value(in)) != BT_FIELD_STRING_SET_VALUE_STATUS_OK)
      throw std::bad_alloc();
  } else if (type == BT_FIELD_CLASS_TYPE_STRUCTURE) {
    const uint64_t count = bt_field_class_structure_get_member_count(bt_field_borrow_class_const(in));
    for (uint64_t i = 0; i < count; ++i)
      copy_field(bt_field_structure_borrow_member_field_by_index_const(in, i),
                 bt_field_structure_borrow_member_field_by_index(out, i));
  } else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_ARRAY)) {
    const uint64_t length = bt_field_array_get_length(in);
    if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_DYNAMIC_ARRAY) &&
        bt_field_array_dynamic_set_length(out, length) != BT_FIELD_DYNAMIC_ARRAY_SET_LENGTH_STATUS_OK)
      throw std::bad_alloc();
    for (uint64_t i = 0; i < length; ++i)
      copy_field(bt_field_array_borrow_element_field_by_index_const(in, i),
                 bt_field_array_borrow_element_field_by_index(out, i));
  } else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_VARIANT)) {
    const uint64_t index = bt_field_variant_get_selected_option_index(in);
    bt_field_variant_select_option_by_index(out, index);
    copy_field(bt_field_variant_borrow_selected_option_field_const(in),
               bt_field_variant_borrow_selected_option_field(out));
  } else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_OPTION)) {
    const bt_field* content = bt_field_option_borrow_field_const(in);
    bt_field_option_set_has_field(out, content ? BT_TRUE : BT_FALSE);
    if (content) copy_field(content, bt_field_option_borrow_field(out));
  } else if (type == BT_FIELD_CLASS_TYPE_BOOL) {
    bt_field_bool_set_value(out, bt_field_bool_get_value(in));
  } else if (type == BT_FIELD_CLASS_TYPE_BIT_ARRAY) {
    bt_field_bit_array_set_value_as_integer(out, bt_field_bit_array_get_value_as_integer(in));
  } else if (type == BT_FIELD_CLASS_TYPE_SINGLE_PRECISION_REAL) {
    bt_field_real_single_precision_set_value(out, bt_field_real_single_precision_get_value(in));
  } else if (type == BT_FIELD_CLASS_TYPE_DOUBLE_PRECISION_REAL) {
    bt_field_real_double_precision_set_value(out, bt_field_real_double_precision_get_value(in));
  }
}

}  // namespace vm::fuse
