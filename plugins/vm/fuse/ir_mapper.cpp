#include "fuse/ir_mapper.h"

#include <stdexcept>
#include <utility>

namespace vm::fuse {

namespace {

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string("cannot copy the trace IR: ") + what);
}

template <typename T>
T* check(T* object, const char* what) {
  if (!object) fail(what);
  return object;
}

// Appending a member or an option fails only when memory runs out.
template <typename Status>
void appended(Status status) {
  if (static_cast<int>(status) != 0) fail("out of memory appending a member or an option");
}

// A setter that can fail (it copies a string or takes a reference) fails only when memory runs out.
template <typename Status>
void set(Status status) {
  if (static_cast<int>(status) != 0) fail("out of memory setting a property");
}

void append_member(bt_field_class* structure, const char* name, bt_field_class* member) {
  appended(bt_field_class_structure_append_member(structure, name, member));
}

// A new object, owned: the reference is put on every path unless released.
template <typename T>
bt::Ref<T> created(T* object, const char* what) {
  return bt::Ref<T>::adopt(check(object, what));
}

// The four input scopes a field path can start from (algorithms: babeltrace2 field paths).
struct Roots {
  const bt_field_class* scope[4] = {nullptr, nullptr, nullptr, nullptr};
};

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

// Field classes are copied into the output trace class of their input trace class; `fields`
// maps every input field class to its copy so that length and selector fields resolve.
struct IrMapper::TraceClassMap {
  bt::Ref<bt_trace_class> owned;
  bt_trace_class* out = nullptr;                                      // owned.get()
  std::unordered_map<const bt_field_class*, bt_field_class*> fields;  // weak values (owned by their parents)

  // A copy of `in`, owned by the caller (children are owned by their parents once appended).
  bt::Ref<bt_field_class> copy(const bt_field_class* in, const Roots& roots) {
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
        const bt::Ref<bt_field_class> child = copy(bt_field_class_structure_member_borrow_field_class_const(member), roots);
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
};

namespace {

void copy_field(const bt_field* in, bt_field* out) {
  const bt_field_class_type type = bt_field_get_class_type(in);
  if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) {
    bt_field_integer_unsigned_set_value(out, bt_field_integer_unsigned_get_value(in));
  } else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) {
    bt_field_integer_signed_set_value(out, bt_field_integer_signed_get_value(in));
  } else if (type == BT_FIELD_CLASS_TYPE_STRING) {
    // Not bt_field_string_clear(): it leaves stale content in 2.0.4 (research notes §1.6).
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

}  // namespace

IrMapper::IrMapper(bt_self_message_iterator* self) : self_(self) {}

IrMapper::~IrMapper() = default;  // the owning handles put every reference

bt_self_component* IrMapper::component() {
  return bt_self_message_iterator_borrow_component(self_);
}

void IrMapper::reset() {
  streams_.clear();
  traces_.clear();
  event_classes_.clear();
  stream_classes_.clear();
  trace_classes_.clear();
  last_event_class_ = nullptr;
  last_out_event_class_ = nullptr;
  last_stream_ = nullptr;
  last_stream_map_ = nullptr;
}

void IrMapper::set_trace_environment(const bt_trace* in_trace,
                                     const std::vector<std::pair<std::string, std::string>>& extra) {
  extra_env_[in_trace] = extra;
}

uint64_t IrMapper::cycles(int64_t ns) {
  // The output clock counts ns from the Unix epoch; it cannot go before it.
  if (ns < 0)
    throw std::runtime_error("a synchronized time falls before the Unix epoch (" + std::to_string(ns) + " ns)");
  return static_cast<uint64_t>(ns);
}

IrMapper::TraceClassMap& IrMapper::trace_class_map(const bt_trace_class* in) {
  auto& slot = trace_classes_[in];
  if (!slot) {
    auto map = std::make_unique<TraceClassMap>();
    map->owned = created(bt_trace_class_create(component()), "a trace class");
    map->out = map->owned.get();
    bt_trace_class_set_assigns_automatic_stream_class_id(map->out, BT_FALSE);
    slot = std::move(map);
  }
  return *slot;
}

IrMapper::StreamClassMap& IrMapper::stream_class_map(const bt_stream_class* in) {
  auto found = stream_classes_.find(in);
  if (found != stream_classes_.end()) return found->second;
  if (!clock_) {
    bt::Ref<bt_clock_class> clock = created(bt_clock_class_create(component()), "the output clock class");
    bt_clock_class_set_name(clock.get(), "vm_reference");
    bt_clock_class_set_description(clock.get(),
                                   "filter.vm.fuse: ns from the Unix epoch in the reference machine's clock");
    bt_clock_class_set_frequency(clock.get(), 1'000'000'000);
    bt_clock_class_set_offset(clock.get(), 0, 0);
    bt_clock_class_set_origin_is_unix_epoch(clock.get(), BT_TRUE);
    clock_ = std::move(clock);
  }
  TraceClassMap& trace_class = trace_class_map(bt_stream_class_borrow_trace_class_const(in));
  StreamClassMap map;
  const bt::Ref<bt_stream_class> out =
      created(bt_stream_class_create_with_id(trace_class.out, bt_stream_class_get_id(in)), "a stream class");
  if (const char* name = bt_stream_class_get_name(in)) bt_stream_class_set_name(out.get(), name);
  bt_stream_class_set_default_clock_class(out.get(), clock_.get());
  bt_stream_class_set_assigns_automatic_event_class_id(out.get(), BT_FALSE);
  bt_stream_class_set_assigns_automatic_stream_id(out.get(), BT_FALSE);
  map.has_packets = bt_stream_class_supports_packets(in);
  bt_stream_class_set_supports_packets(out.get(), bt_stream_class_supports_packets(in),
                                       bt_stream_class_packets_have_beginning_default_clock_snapshot(in),
                                       bt_stream_class_packets_have_end_default_clock_snapshot(in));
  bt_stream_class_set_supports_discarded_events(out.get(), bt_stream_class_supports_discarded_events(in),
                                                bt_stream_class_discarded_events_have_default_clock_snapshots(in));
  bt_stream_class_set_supports_discarded_packets(out.get(), bt_stream_class_supports_discarded_packets(in),
                                                 bt_stream_class_discarded_packets_have_default_clock_snapshots(in));
  Roots roots;
  roots.scope[BT_FIELD_PATH_SCOPE_PACKET_CONTEXT] = bt_stream_class_borrow_packet_context_field_class_const(in);
  roots.scope[BT_FIELD_PATH_SCOPE_EVENT_COMMON_CONTEXT] =
      bt_stream_class_borrow_event_common_context_field_class_const(in);
  if (const bt_field_class* packet = roots.scope[BT_FIELD_PATH_SCOPE_PACKET_CONTEXT])
    set(bt_stream_class_set_packet_context_field_class(out.get(), trace_class.copy(packet, roots).get()));
  bt::Ref<bt_field_class> common;
  if (const bt_field_class* in_common = roots.scope[BT_FIELD_PATH_SCOPE_EVENT_COMMON_CONTEXT]) {
    common = trace_class.copy(in_common, roots);
    map.tag_index = bt_field_class_structure_get_member_count(in_common);
  } else {
    common = created(bt_field_class_structure_create(trace_class.out), "a structure");
  }
  const auto machine = created(bt_field_class_string_create(trace_class.out), "a string field class");
  const auto layer = created(bt_field_class_integer_unsigned_create(trace_class.out), "an integer field class");
  const auto vcpu = created(bt_field_class_integer_signed_create(trace_class.out), "an integer field class");
  const auto pcpu = created(bt_field_class_integer_signed_create(trace_class.out), "an integer field class");
  bt_field_class_integer_set_field_value_range(layer.get(), 8);
  append_member(common.get(), "vm_machine", machine.get());
  append_member(common.get(), "vm_layer", layer.get());
  append_member(common.get(), "vm_vcpu", vcpu.get());
  append_member(common.get(), "vm_pcpu", pcpu.get());
  set(bt_stream_class_set_event_common_context_field_class(out.get(), common.get()));
  map.out = out.get();  // owned by the trace class once `out` is put
  return stream_classes_.emplace(in, map).first->second;
}

bt_event_class* IrMapper::event_class_map(const bt_event_class* in) {
  if (in == last_event_class_) return last_out_event_class_;
  auto found = event_classes_.find(in);
  if (found == event_classes_.end()) {
    const bt_stream_class* in_stream_class = bt_event_class_borrow_stream_class_const(in);
    StreamClassMap& stream_class = stream_class_map(in_stream_class);
    TraceClassMap& trace_class = trace_class_map(bt_stream_class_borrow_trace_class_const(in_stream_class));
    const bt::Ref<bt_event_class> out =
        created(bt_event_class_create_with_id(stream_class.out, bt_event_class_get_id(in)), "an event class");
    if (const char* name = bt_event_class_get_name(in)) bt_event_class_set_name(out.get(), name);
    bt_event_class_log_level level;
    if (bt_event_class_get_log_level(in, &level) == BT_PROPERTY_AVAILABILITY_AVAILABLE)
      bt_event_class_set_log_level(out.get(), level);
    if (const char* uri = bt_event_class_get_emf_uri(in)) bt_event_class_set_emf_uri(out.get(), uri);
    Roots roots;
    roots.scope[BT_FIELD_PATH_SCOPE_PACKET_CONTEXT] =
        bt_stream_class_borrow_packet_context_field_class_const(in_stream_class);
    roots.scope[BT_FIELD_PATH_SCOPE_EVENT_COMMON_CONTEXT] =
        bt_stream_class_borrow_event_common_context_field_class_const(in_stream_class);
    roots.scope[BT_FIELD_PATH_SCOPE_EVENT_SPECIFIC_CONTEXT] =
        bt_event_class_borrow_specific_context_field_class_const(in);
    roots.scope[BT_FIELD_PATH_SCOPE_EVENT_PAYLOAD] = bt_event_class_borrow_payload_field_class_const(in);
    if (const bt_field_class* context = roots.scope[BT_FIELD_PATH_SCOPE_EVENT_SPECIFIC_CONTEXT])
      set(bt_event_class_set_specific_context_field_class(out.get(), trace_class.copy(context, roots).get()));
    if (const bt_field_class* payload = roots.scope[BT_FIELD_PATH_SCOPE_EVENT_PAYLOAD])
      set(bt_event_class_set_payload_field_class(out.get(), trace_class.copy(payload, roots).get()));
    found = event_classes_.emplace(in, EventClassMap{out.get()}).first;  // owned by its stream class
  }
  last_event_class_ = in;
  last_out_event_class_ = found->second.out;
  return found->second.out;
}

bt_trace* IrMapper::trace_map(const bt_trace* in) {
  auto found = traces_.find(in);
  if (found != traces_.end()) return found->second.get();
  TraceClassMap& trace_class = trace_class_map(bt_trace_borrow_class_const(in));
  bt::Ref<bt_trace> out = created(bt_trace_create(trace_class.out), "a trace");
  if (const char* name = bt_trace_get_name(in)) bt_trace_set_name(out.get(), name);
  if (const uint8_t* uuid = bt_trace_get_uuid(in)) bt_trace_set_uuid(out.get(), uuid);
  for (uint64_t i = 0; i < bt_trace_get_environment_entry_count(in); ++i) {
    const char* name = nullptr;
    const bt_value* value = nullptr;
    bt_trace_borrow_environment_entry_by_index_const(in, i, &name, &value);
    if (bt_value_is_string(value))
      set(bt_trace_set_environment_entry_string(out.get(), name, bt_value_string_get(value)));
    else if (bt_value_is_signed_integer(value))
      set(bt_trace_set_environment_entry_integer(out.get(), name, bt_value_integer_signed_get(value)));
  }
  for (const auto& [key, value] : extra_env_[in])
    set(bt_trace_set_environment_entry_string(out.get(), key.c_str(), value.c_str()));
  return traces_.emplace(in, std::move(out)).first->second.get();
}

IrMapper::StreamMap& IrMapper::stream_map(const bt_stream* in) {
  if (in == last_stream_) return *last_stream_map_;
  auto found = streams_.find(in);
  if (found == streams_.end()) {
    StreamMap map;
    map.stream_class = &stream_class_map(bt_stream_borrow_class_const(in));
    map.out = created(bt_stream_create_with_id(map.stream_class->out, trace_map(bt_stream_borrow_trace_const(in)),
                                               bt_stream_get_id(in)),
                      "a stream");
    if (const char* name = bt_stream_get_name(in)) set(bt_stream_set_name(map.out.get(), name));
    found = streams_.emplace(in, std::move(map)).first;
  }
  last_stream_ = in;
  last_stream_map_ = &found->second;
  return found->second;
}

IrMapper::Message IrMapper::stream_beginning(const bt_message* in) {
  StreamMap& stream = stream_map(bt_message_stream_beginning_borrow_stream_const(in));
  return Message::adopt(
      check(bt_message_stream_beginning_create(self_, stream.out.get()), "a stream beginning message"));
}

IrMapper::Message IrMapper::stream_end(const bt_message* in) {
  const bt_stream* in_stream = bt_message_stream_end_borrow_stream_const(in);
  StreamMap& stream = stream_map(in_stream);
  Message out = Message::adopt(check(bt_message_stream_end_create(self_, stream.out.get()), "a stream end message"));
  // The stream is over: let its objects go (they live on in the messages downstream).
  streams_.erase(in_stream);
  last_stream_ = nullptr;
  last_stream_map_ = nullptr;
  return out;
}

IrMapper::Message IrMapper::packet_beginning(const bt_message* in, int64_t out_ns) {
  const bt_packet* in_packet = bt_message_packet_beginning_borrow_packet_const(in);
  StreamMap& stream = stream_map(bt_packet_borrow_stream_const(in_packet));
  stream.packet = created(bt_packet_create(stream.out.get()), "a packet");
  stream.in_packet = in_packet;
  if (const bt_field* context = bt_packet_borrow_context_field_const(in_packet))
    copy_field(context, bt_packet_borrow_context_field(stream.packet.get()));
  if (bt_stream_class_packets_have_beginning_default_clock_snapshot(stream.stream_class->out))
    return Message::adopt(check(bt_message_packet_beginning_create_with_default_clock_snapshot(
                                    self_, stream.packet.get(), cycles(out_ns)),
                                "a packet beginning message"));
  return Message::adopt(
      check(bt_message_packet_beginning_create(self_, stream.packet.get()), "a packet beginning message"));
}

IrMapper::Message IrMapper::packet_end(const bt_message* in, int64_t out_ns) {
  const bt_packet* in_packet = bt_message_packet_end_borrow_packet_const(in);
  StreamMap& stream = stream_map(bt_packet_borrow_stream_const(in_packet));
  if (!stream.packet) fail("a packet ends that never began");
  Message out = Message::adopt(
      bt_stream_class_packets_have_end_default_clock_snapshot(stream.stream_class->out)
          ? bt_message_packet_end_create_with_default_clock_snapshot(self_, stream.packet.get(), cycles(out_ns))
          : bt_message_packet_end_create(self_, stream.packet.get()));
  stream.packet.reset();
  stream.in_packet = nullptr;
  check(out.get(), "a packet end message");
  return out;
}

IrMapper::Message IrMapper::event(const bt_message* in, int64_t out_ns, const EventTags& tags) {
  const bt_event* in_event = bt_message_event_borrow_event_const(in);
  bt_event_class* event_class = event_class_map(bt_event_borrow_class_const(in_event));
  StreamMap& stream = stream_map(bt_event_borrow_stream_const(in_event));
  bt::Ref<bt_message> out = created(
      stream.stream_class->has_packets ? bt_message_event_create_with_packet_and_default_clock_snapshot(
                                             self_, event_class, stream.packet.get(), cycles(out_ns))
                                       : bt_message_event_create_with_default_clock_snapshot(
                                             self_, event_class, stream.out.get(), cycles(out_ns)),
      "an event message");
  bt_event* event = bt_message_event_borrow_event(out.get());
  bt_field* common = bt_event_borrow_common_context_field(event);
  if (const bt_field* in_common = bt_event_borrow_common_context_field_const(in_event)) {
    for (uint64_t i = 0; i < stream.stream_class->tag_index; ++i)
      copy_field(bt_field_structure_borrow_member_field_by_index_const(in_common, i),
                 bt_field_structure_borrow_member_field_by_index(common, i));
  }
  const uint64_t tag = stream.stream_class->tag_index;
  set(bt_field_string_set_value(bt_field_structure_borrow_member_field_by_index(common, tag), tags.machine));
  bt_field_integer_unsigned_set_value(bt_field_structure_borrow_member_field_by_index(common, tag + 1), tags.layer);
  bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(common, tag + 2), tags.vcpu);
  bt_field_integer_signed_set_value(bt_field_structure_borrow_member_field_by_index(common, tag + 3), tags.pcpu);
  if (const bt_field* context = bt_event_borrow_specific_context_field_const(in_event))
    copy_field(context, bt_event_borrow_specific_context_field(event));
  if (const bt_field* payload = bt_event_borrow_payload_field_const(in_event))
    copy_field(payload, bt_event_borrow_payload_field(event));
  return Message::adopt(out.release());
}

IrMapper::Message IrMapper::discarded_events(const bt_message* in, int64_t out_begin_ns, int64_t out_end_ns) {
  StreamMap& stream = stream_map(bt_message_discarded_events_borrow_stream_const(in));
  bt::Ref<bt_message> out =
      created(bt_stream_class_discarded_events_have_default_clock_snapshots(stream.stream_class->out)
                  ? bt_message_discarded_events_create_with_default_clock_snapshots(
                        self_, stream.out.get(), cycles(out_begin_ns), cycles(out_end_ns))
                  : bt_message_discarded_events_create(self_, stream.out.get()),
              "a discarded events message");
  uint64_t count = 0;
  if (bt_message_discarded_events_get_count(in, &count) == BT_PROPERTY_AVAILABILITY_AVAILABLE)
    bt_message_discarded_events_set_count(out.get(), count);
  return Message::adopt(out.release());
}

IrMapper::Message IrMapper::discarded_packets(const bt_message* in, int64_t out_begin_ns, int64_t out_end_ns) {
  StreamMap& stream = stream_map(bt_message_discarded_packets_borrow_stream_const(in));
  bt::Ref<bt_message> out =
      created(bt_stream_class_discarded_packets_have_default_clock_snapshots(stream.stream_class->out)
                  ? bt_message_discarded_packets_create_with_default_clock_snapshots(
                        self_, stream.out.get(), cycles(out_begin_ns), cycles(out_end_ns))
                  : bt_message_discarded_packets_create(self_, stream.out.get()),
              "a discarded packets message");
  uint64_t count = 0;
  if (bt_message_discarded_packets_get_count(in, &count) == BT_PROPERTY_AVAILABILITY_AVAILABLE)
    bt_message_discarded_packets_set_count(out.get(), count);
  return Message::adopt(out.release());
}

}  // namespace vm::fuse
