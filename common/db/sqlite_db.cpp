// SPDX-License-Identifier: MIT
#include "db/sqlite_db.h"

#include <utility>

namespace vm {

SqliteStatement::SqliteStatement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
    throw SqliteError("SQLite cannot prepare `" + std::string(sql) + "`: " + sqlite3_errmsg(db));
}

SqliteStatement::SqliteStatement(std::shared_ptr<RowWriter> writer, uint32_t id, int parameters)
    : writer_(std::move(writer)), id_(id), values_(static_cast<size_t>(parameters)) {}

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(stmt_);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(other.db_),
      writer_(std::move(other.writer_)),
      id_(other.id_),
      values_(std::move(other.values_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
    writer_ = std::move(other.writer_);
    id_ = other.id_;
    values_ = std::move(other.values_);
  }
  return *this;
}

void SqliteStatement::out_of_range(int index) {
  throw SqliteError("SQLite error: column index out of range (parameter " + std::to_string(index) + " of " +
                    std::to_string(values_.size()) + ") in `" + writer_->sql(id_) + "`");
}

void SqliteStatement::check(int rc) {
  if (rc != SQLITE_OK)
    throw SqliteError(std::string("SQLite error: ") + sqlite3_errmsg(db_) + " in `" +
                      (stmt_ ? sqlite3_sql(stmt_) : "?") + "`");
}

void SqliteStatement::run() {
  if (writer_) {
    writer_->push(id_, values_);
    return;
  }
  const int rc = sqlite3_step(stmt_);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    const std::string message = sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    throw SqliteError("SQLite error: " + message + " in `" + sqlite3_sql(stmt_) + "`");
  }
  sqlite3_reset(stmt_);
}

bool SqliteStatement::step() {
  if (writer_) throw std::logic_error("a queued statement is not a query: prepare queries on the connection");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw SqliteError("SQLite error: " + std::string(sqlite3_errmsg(db_)) + " in `" + sqlite3_sql(stmt_) + "`");
}

void SqliteStatement::reset() {
  if (writer_) return;
  sqlite3_reset(stmt_);
}

std::string SqliteStatement::column_text(int index) {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  return text ? std::string(reinterpret_cast<const char*>(text)) : std::string();
}

SqliteConnection::SqliteConnection(const std::string& path) {
  // SQLITE_OPEN_NOMUTEX: no lock around every bind and step (14 % of the writer thread's time with
  // it, which bounds the run's wall time in pass 2: docs/performance.md). A connection is used by
  // one thread at a time: the output database's by its writer thread (db/row_writer.h), or by the
  // producing thread after RowWriter::flush(), which waits for the writer to be idle, and before
  // the producer hands it the next batch (the hand-offs are ordered by the queue's mutex).
  const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    const std::string reason = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw SqliteError(reason);
  }
}

SqliteConnection::~SqliteConnection() {
  sqlite3_close_v2(db_);
}

void SqliteConnection::exec(std::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw SqliteError("SQLite error: " + message + " in `" + text.substr(0, 200) + "`");
  }
}

void SqliteConnection::close() {
  if (!db_) return;
  if (sqlite3_close(db_) != SQLITE_OK) throw SqliteError(std::string("SQLite cannot close: ") + sqlite3_errmsg(db_));
  db_ = nullptr;
}

}  // namespace vm
