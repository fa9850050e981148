// SPDX-License-Identifier: MIT
#pragma once
// The function type behind one of babeltrace2's method pointer types, to declare a component
// class method with exactly the signature babeltrace2 expects:
//   bt::Method<bt_message_iterator_class_next_method> iterator_next;
// declares `iterator_next` as a function; a definition with another signature does not link
// with plugin.cpp's registration.

#include <babeltrace2/babeltrace.h>

#include <type_traits>

namespace vm::bt {

template <typename MethodPointer>
using Method = std::remove_pointer_t<MethodPointer>;

}  // namespace vm::bt

// The message iterator methods of a source or filter component class (plugin.cpp registers them),
// declared in the namespace where this stands.
#define VM_BT_ITERATOR_METHODS                                                        \
  bt::Method<bt_message_iterator_class_initialize_method> iterator_initialize;        \
  bt::Method<bt_message_iterator_class_finalize_method> iterator_finalize;            \
  bt::Method<bt_message_iterator_class_next_method> iterator_next;                    \
  bt::Method<bt_message_iterator_class_can_seek_beginning_method> can_seek_beginning; \
  bt::Method<bt_message_iterator_class_seek_beginning_method> seek_beginning
