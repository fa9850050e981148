// SPDX-License-Identifier: MIT
#pragma once
// The field part of IrMapper's copy of the trace IR: field classes copied into an output trace
// class (with an in->out map, so that dynamic-array lengths and variant selectors resolve), field
// values copied into output fields, and the checks around babeltrace2's create and set calls.

#include <babeltrace2/babeltrace.h>

#include <stdexcept>
#include <string>
#include <unordered_map>

#include "bt_ref.h"

namespace vm::fuse {

[[noreturn]] inline void fail(const char* what) {
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

inline void append_member(bt_field_class* structure, const char* name, bt_field_class* member) {
  appended(bt_field_class_structure_append_member(structure, name, member));
}

// A new object, owned: the reference is put on every path unless released.
template <typename T>
bt::Ref<T> created(T* object, const char* what) {
  return bt::Ref<T>::adopt(check(object, what));
}

// The four input scopes a babeltrace2 field path can start from (bt_field_path_scope).
struct Roots {
  const bt_field_class* scope[4] = {nullptr, nullptr, nullptr, nullptr};
};

// Field classes are copied into the output trace class of their input trace class; `fields`
// maps every input field class to its copy so that length and selector fields resolve.
struct TraceClassCopy {
  bt::Ref<bt_trace_class> owned;
  bt_trace_class* out = nullptr;                                      // owned.get()
  std::unordered_map<const bt_field_class*, bt_field_class*> fields;  // weak values (owned by their parents)

  // A copy of `in`, owned by the caller (children are owned by their parents once appended).
  bt::Ref<bt_field_class> copy(const bt_field_class* in, const Roots& roots);
};

// Copies the value of `in` into `out`, a field of the copied class.
void copy_field(const bt_field* in, bt_field* out);

}  // namespace vm::fuse
