// SPDX-License-Identifier: MIT
#pragma once
// An owning handle for one babeltrace2 reference: the reference is put when the handle dies, so
// no path (an early return, an exception) can leak or double-put it. Shared objects (messages,
// classes, iterators) are counted by babeltrace2 itself; this only pairs each get with one put.
//
//   bt::Ref<bt_trace_class> tc = bt::Ref<bt_trace_class>::adopt(bt_trace_class_create(self));
//   bt::Ref<const bt_message> copy = bt::Ref<const bt_message>::share(message);  // takes a new reference
//   return tc.release();  // hands the reference over to a caller that owns it from now on

#include <babeltrace2/babeltrace.h>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace vm::bt {

template <typename T>
struct RefTraits;

#define VM_BT_REF_TRAITS(type)                                     \
  template <>                                                      \
  struct RefTraits<type> {                                         \
    static void get(const type* object) { type##_get_ref(object); } \
    static void put(const type* object) { type##_put_ref(object); } \
  };

VM_BT_REF_TRAITS(bt_clock_class)
VM_BT_REF_TRAITS(bt_event_class)
VM_BT_REF_TRAITS(bt_field_class)
VM_BT_REF_TRAITS(bt_message)
VM_BT_REF_TRAITS(bt_message_iterator)
VM_BT_REF_TRAITS(bt_packet)
VM_BT_REF_TRAITS(bt_stream)
VM_BT_REF_TRAITS(bt_stream_class)
VM_BT_REF_TRAITS(bt_trace)
VM_BT_REF_TRAITS(bt_trace_class)
VM_BT_REF_TRAITS(bt_value)
#undef VM_BT_REF_TRAITS

template <typename T>
class Ref {
  using Bare = std::remove_const_t<T>;

 public:
  Ref() = default;
  ~Ref() { reset(); }
  Ref(const Ref& other) : object_(other.object_) {
    if (object_) RefTraits<Bare>::get(object_);
  }
  Ref(Ref&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Ref& operator=(const Ref& other) {
    T* const object = other.object_;  // read first: `other` may be *this
    if (object) RefTraits<Bare>::get(object);
    reset();
    object_ = object;
    return *this;
  }
  // A move hands the reference over: no get, and a put only of what this held before.
  Ref& operator=(Ref&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }

  // Takes over a reference the caller owns (a *_create() result, a message babeltrace2 handed us).
  static Ref adopt(T* object) {
    Ref ref;
    ref.object_ = object;
    return ref;
  }
  // Adopts a *_create() result; throws when babeltrace2 could not make the object.
  static Ref adopt_created(T* object, const char* what) {
    if (!object) throw std::runtime_error(std::string("babeltrace2 could not create ") + what);
    return adopt(object);
  }
  // Takes a new reference on an object someone else owns.
  static Ref share(T* object) {
    if (object) RefTraits<Bare>::get(object);
    return adopt(object);
  }

  T* get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }
  // Gives up ownership without putting the reference.
  T* release() { return std::exchange(object_, nullptr); }
  void reset() {
    if (object_) RefTraits<Bare>::put(std::exchange(object_, nullptr));
  }

 private:
  T* object_ = nullptr;
};

}  // namespace vm::bt
