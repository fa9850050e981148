// SPDX-License-Identifier: MIT
#include "relay_filter.h"

#include <deque>
#include <new>

namespace vm::test {
namespace {

struct Relay {
  bt_message_iterator* upstream = nullptr;
  std::deque<const bt_message*> buffer;  // references taken from upstream, not yet given
  uint64_t calls = 0;
  bool ended = false;
};

bt_component_class_initialize_method_status relay_initialize(bt_self_component_filter* self,
                                                              bt_self_component_filter_configuration*,
                                                              const bt_value*, void*) {
  if (bt_self_component_filter_add_input_port(self, "in", nullptr, nullptr) != BT_SELF_COMPONENT_ADD_PORT_STATUS_OK ||
      bt_self_component_filter_add_output_port(self, "out", nullptr, nullptr) != BT_SELF_COMPONENT_ADD_PORT_STATUS_OK)
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
  // The iterators need the filter: a self component is its self filter component (babeltrace2's
  // C API has no conversion that way), so keep the filter's own pointer.
  bt_self_component_set_data(bt_self_component_filter_as_self_component(self), self);
  return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

bt_message_iterator_class_initialize_method_status relay_iterator_initialize(bt_self_message_iterator* self,
                                                                           bt_self_message_iterator_configuration*,
                                                                           bt_self_component_port_output*) {
  auto* filter = static_cast<bt_self_component_filter*>(
      bt_self_component_get_data(bt_self_message_iterator_borrow_component(self)));
  auto* relay = new (std::nothrow) Relay;
  if (!relay) return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  if (bt_message_iterator_create_from_message_iterator(
          self, bt_self_component_filter_borrow_input_port_by_name(filter, "in"), &relay->upstream) !=
      BT_MESSAGE_ITERATOR_CREATE_FROM_MESSAGE_ITERATOR_STATUS_OK) {
    delete relay;
    return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
  }
  bt_self_message_iterator_set_data(self, relay);
  return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

void relay_iterator_finalize(bt_self_message_iterator* self) {
  auto* relay = static_cast<Relay*>(bt_self_message_iterator_get_data(self));
  for (const bt_message* message : relay->buffer) bt_message_put_ref(message);
  bt_message_iterator_put_ref(relay->upstream);
  delete relay;
}

// Every second call says AGAIN (nothing yet), the others give at most 5 messages: the pace of a
// live source, whatever the consumer's capacity.
bt_message_iterator_class_next_method_status relay_iterator_next(bt_self_message_iterator* self,
                                                                 bt_message_array_const messages, uint64_t capacity,
                                                                 uint64_t* count) {
  auto* relay = static_cast<Relay*>(bt_self_message_iterator_get_data(self));
  *count = 0;
  if (++relay->calls % 2 == 1) return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_AGAIN;
  while (relay->buffer.empty() && !relay->ended) {
    bt_message_array_const upstream_messages;
    uint64_t upstream_count = 0;
    switch (bt_message_iterator_next(relay->upstream, &upstream_messages, &upstream_count)) {
      case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
        for (uint64_t i = 0; i < upstream_count; ++i) relay->buffer.push_back(upstream_messages[i]);
        break;
      case BT_MESSAGE_ITERATOR_NEXT_STATUS_END: relay->ended = true; break;
      case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN: return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_AGAIN;
      case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR: return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_MEMORY_ERROR;
      default: return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR;
    }
  }
  if (relay->buffer.empty()) return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END;
  while (*count < capacity && *count < 5 && !relay->buffer.empty()) {
    messages[(*count)++] = relay->buffer.front();
    relay->buffer.pop_front();
  }
  return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_OK;
}

}  // namespace

const bt_component_class_filter* relay_filter_class() {
  static bt_component_class_filter* const filter_class = [] {
    bt_message_iterator_class* iterator_class = bt_message_iterator_class_create(relay_iterator_next);
    bt_message_iterator_class_set_initialize_method(iterator_class, relay_iterator_initialize);
    bt_message_iterator_class_set_finalize_method(iterator_class, relay_iterator_finalize);
    bt_component_class_filter* created = bt_component_class_filter_create("live-like-relay", iterator_class);
    bt_component_class_filter_set_initialize_method(created, relay_initialize);
    bt_message_iterator_class_put_ref(iterator_class);  // the component class holds it
    return created;
  }();
  return filter_class;
}

}  // namespace vm::test
