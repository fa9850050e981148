// SPDX-License-Identifier: MIT
#pragma once
// The schema objects of the database, described: every analysis lists its tables, views and
// indexes with a one-line description (printed by `babeltrace2 help sink.vm.sqlite`).

#include <cstddef>

namespace vm::db {

enum class ObjectKind { table, view, index };

struct SchemaObject {
  ObjectKind kind;
  const char* name;
  const char* description;  // one line; empty for indexes
  const char* sql;          // CREATE statement. Tables are created first; views and indexes at commit.
};

struct SchemaObjects {
  const SchemaObject* begin_;
  const SchemaObject* end_;
  const SchemaObject* begin() const { return begin_; }
  const SchemaObject* end() const { return end_; }
};

template <size_t N>
constexpr SchemaObjects objects_of(const SchemaObject (&objects)[N]) {
  return {objects, objects + N};
}

}  // namespace vm::db
