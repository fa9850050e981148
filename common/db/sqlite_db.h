// SPDX-License-Identifier: MIT
#pragma once
// Thin RAII over the sqlite3 C API: a connection and prepared statements. Errors throw
// SqliteError with SQLite's message and the statement that failed.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "db/row_writer.h"

namespace vm {

class SqliteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value that SqliteStatement::bind_all() and insert() bind with bind_or_null(): NULL when the
// value is unknown (< 0, or a null string).
template <typename T>
struct OrNull {
  T value;
};
template <typename T>
OrNull<T> or_null(T value) {
  return {value};
}

// A statement runs in place, or is queued: prepared by a Database with a writer thread
// (db/database.h), an INSERT or UPDATE keeps its bound values here, and run() queues them as one
// row for the writer thread (db/row_writer.h). The interface is the same; a queued statement
// cannot be stepped as a query.
class SqliteStatement {
 public:
  SqliteStatement() = default;
  SqliteStatement(sqlite3* db, std::string_view sql);
  // A queued statement: its parameters are bound here, its rows executed by `writer`.
  SqliteStatement(std::shared_ptr<RowWriter> writer, uint32_t id, int parameters);
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are 1-based, as in SQLite.
  void bind(int index, int64_t value) {
    if (writer_)
      slot(index).set(value);
    else
      check(sqlite3_bind_int64(stmt_, index, value));
  }
  void bind(int index, double value) {
    if (writer_)
      slot(index).set(value);
    else
      check(sqlite3_bind_double(stmt_, index, value));
  }
  // The text must stay valid until step(): static strings and strings owned by the caller. (A
  // queued statement copies it.)
  void bind(int index, std::string_view text) {
    if (writer_)
      slot(index).set(text);
    else
      check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
  }
  void bind_transient(int index, std::string_view text) {
    if (writer_)
      slot(index).set(text);
    else
      check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
  }
  void bind_null(int index) {
    if (writer_)
      slot(index).set_null();
    else
      check(sqlite3_bind_null(stmt_, index));
  }
  // Binds NULL when `value` < 0 (the core's "unknown").
  void bind_or_null(int index, int64_t value) {
    if (value < 0)
      bind_null(index);
    else
      bind(index, value);
  }
  void bind_or_null(int index, const char* text) {
    if (!text)
      bind_null(index);
    else
      bind(index, std::string_view(text));
  }

  // Binds `values` to the parameters first, first + 1, ... with bind() (bind_or_null() for an
  // OrNull), in order.
  template <typename... Values>
  void bind_all(int first, const Values&... values) {
    int index = first;
    (bind_one(index++, values), ...);
  }
  // One row: binds `values` to the parameters 1..N (bind_all()), then run().
  template <typename... Values>
  void insert(const Values&... values) {
    bind_all(1, values...);
    run();
  }

  // Runs an insert or update to completion and resets the statement for the next row.
  void run();
  // Steps a query: true while a row is available.
  bool step();
  void reset();
  int64_t column_int(int index) { return sqlite3_column_int64(stmt_, index); }
  std::string column_text(int index);
  bool column_is_null(int index) { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

 private:
  template <typename T>
  void bind_one(int index, const T& value) {
    bind(index, value);
  }
  template <typename T>
  void bind_one(int index, const OrNull<T>& value) {
    bind_or_null(index, value.value);
  }
  void check(int rc);
  BoundValue& slot(int index) {
    if (index < 1 || index > static_cast<int>(values_.size())) out_of_range(index);
    return values_[static_cast<size_t>(index - 1)];
  }
  [[noreturn]] void out_of_range(int index);
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  // Queued: the writer that owns the prepared statement `id_`, and the values bound so far (kept
  // from row to row, as SQLite keeps bindings).
  std::shared_ptr<RowWriter> writer_;
  uint32_t id_ = 0;
  std::vector<BoundValue> values_;
};

class SqliteConnection {
 public:
  // Opens (creating) the file. Throws with SQLite's reason.
  explicit SqliteConnection(const std::string& path);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  void exec(std::string_view sql);
  SqliteStatement prepare(std::string_view sql) { return SqliteStatement(db_, sql); }
  sqlite3* handle() { return db_; }
  // Closes now (also done by the destructor); throws if SQLite cannot close cleanly.
  void close();

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace vm
