// SPDX-License-Identifier: MIT
#pragma once
// The schema objects of the database, described: every analysis lists its tables, views and
// indexes with a one-line description (printed by `babeltrace2 help sink.vm.sqlite`).

#include <cstddef>

namespace vm::db {

enum class ObjectKind { table, view, index };

// The indexes of the large interval tables (cpu_state, thread_state, vcpu_state) come in two
// sets, chosen per run by DatabaseOptions (sink.vm.sqlite's `indexes`): by key (machine, then
// CPU / thread / vCPU, then ts) or by time (ts). Every other index is always built.
enum class IndexSet { always, by_key, by_time };

struct SchemaObject {
  ObjectKind kind;
  const char* name;
  const char* description;  // one line; empty for indexes
  const char* sql;          // CREATE statement. Tables are created first; views and indexes at commit.
  IndexSet index_set = IndexSet::always;  // indexes only
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
