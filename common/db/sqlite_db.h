// SPDX-License-Identifier: MIT
#pragma once
// Thin RAII over the sqlite3 C API: a connection and prepared statements. Errors throw
// SqliteError with SQLite's message and the statement that failed.

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

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

class SqliteStatement {
 public:
  SqliteStatement() = default;
  SqliteStatement(sqlite3* db, std::string_view sql);
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are 1-based, as in SQLite.
  void bind(int index, int64_t value) { check(sqlite3_bind_int64(stmt_, index, value)); }
  void bind(int index, double value) { check(sqlite3_bind_double(stmt_, index, value)); }
  // The text must stay valid until step(): static strings and strings owned by the caller.
  void bind(int index, std::string_view text) {
    check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
  }
  void bind_transient(int index, std::string_view text) {
    check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
  }
  void bind_null(int index) { check(sqlite3_bind_null(stmt_, index)); }
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
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
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
