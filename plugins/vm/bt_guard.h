// SPDX-License-Identifier: MIT
#pragma once
// The exception guard of every method babeltrace2 calls (component and message iterator methods
// of source.vm.scenario, filter.vm.fuse and sink.vm.sqlite): no exception goes back into
// babeltrace2's C code. Each becomes an error cause with its message and an error status.

#include <babeltrace2/babeltrace.h>

#include <exception>
#include <new>

namespace vm::bt {

namespace guard_detail {

inline void append_cause(bt_self_component* self, const char* prefix, const char* message) {
  BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self, "%s%s", prefix, message);
}

inline void append_cause(bt_self_message_iterator* self, const char* prefix, const char* message) {
  BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "%s%s", prefix, message);
}

}  // namespace guard_detail

// Runs `body`, a method babeltrace2 calls on a component or a message iterator (`self`), and
// returns its status. An exception becomes an error cause and the `error` status: std::bad_alloc
// says "out of memory" and returns `memory`; a std::exception gives its message; anything else
// says "unexpected error <doing>" (e.g. doing = "while initializing").
template <typename Self, typename Status, typename Body>
Status guarded(Self* self, Status error, Status memory, const char* doing, Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    guard_detail::append_cause(self, "", "out of memory");
    return memory;
  } catch (const std::exception& exception) {
    guard_detail::append_cause(self, "", exception.what());
  } catch (...) {
    guard_detail::append_cause(self, "unexpected error ", doing);
  }
  return error;
}

}  // namespace vm::bt
