// SPDX-License-Identifier: MIT
#include "db/row_writer.h"

#include <signal.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <utility>

#include "db/sqlite_db.h"

namespace vm {

namespace {

// A queued row: [uint32 statement id][uint32 size of the values] then each value as
// [uint8 type][payload]: none for a NULL, 8 bytes for an integer or a real, [uint32 size][bytes]
// for a text.
template <typename T>
void put(unsigned char*& out, const T& value) {
  std::memcpy(out, &value, sizeof value);
  out += sizeof value;
}

template <typename T>
T read(const unsigned char*& at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  at += sizeof value;
  return value;
}

}  // namespace

void RowWriter::Batch::reserve(size_t bytes_needed) {
  if (bytes_needed <= capacity) return;
  const size_t grown = std::max(bytes_needed, kBatchBytes + kBatchBytes / 4);
  std::unique_ptr<unsigned char[]> more(new unsigned char[grown]);
  if (size) std::memcpy(more.get(), bytes.get(), size);
  bytes = std::move(more);
  capacity = grown;
}

RowWriter::RowWriter(sqlite3* db) : db_(db) {
  filling_.reserve(kBatchBytes);
  // The new thread inherits this thread's signal mask: block the asynchronous signals for it,
  // then restore ours. The signals of faults stay deliverable (a sanitizer's report).
  sigset_t all, saved;
  sigfillset(&all);
  for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&all, fault);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  try {
    thread_ = std::thread([this] { work(); });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
}

RowWriter::~RowWriter() {
  stop();
}

uint32_t RowWriter::add_statement(sqlite3_stmt* statement, std::string multi_row_sql) {
  try {
    flush();
  } catch (...) {
    sqlite3_finalize(statement);
    throw;
  }
  Statement entry;
  entry.single = statement;
  entry.parameters = sqlite3_bind_parameter_count(statement);
  if (entry.parameters * kRowsPerInsert <= sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, -1))
    entry.multi_row_sql = std::move(multi_row_sql);
  entry.pending.reserve(kRowsPerInsert);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto id = static_cast<uint32_t>(statements_.size());
  for (uint32_t other = 0; other < id; ++other) {
    // Another statement into the same table: prepare_insert()'s SQL names it up to the `(`.
    const std::string& sql = statements_[other].multi_row_sql;
    if (entry.multi_row_sql.empty() || sql.empty()) continue;
    if (sql.compare(0, sql.find('('), entry.multi_row_sql, 0, entry.multi_row_sql.find('(')) != 0) continue;
    entry.same_table.push_back(other);
    statements_[other].same_table.push_back(id);
  }
  statements_.push_back(std::move(entry));
  return id;
}

void RowWriter::push(uint32_t id, const std::vector<BoundValue>& values) {
  size_t size = 0;
  for (const BoundValue& value : values)
    size += value.type == BoundValue::null ? 1 : value.type == BoundValue::text ? 5 + value.text_value.size() : 9;
  if (size > UINT32_MAX - 8) throw SqliteError("SQLite error: string or blob too big in `" + sql(id) + "`");
  filling_.reserve(filling_.size + 8 + size);
  unsigned char* out = filling_.bytes.get() + filling_.size;
  put(out, id);
  put(out, static_cast<uint32_t>(size));
  for (const BoundValue& value : values) {
    *out++ = static_cast<unsigned char>(value.type);
    switch (value.type) {
      case BoundValue::integer: put(out, value.integer_value); break;
      case BoundValue::real: put(out, value.real_value); break;
      case BoundValue::text:
        put(out, static_cast<uint32_t>(value.text_value.size()));
        std::memcpy(out, value.text_value.data(), value.text_value.size());
        out += value.text_value.size();
        break;
      case BoundValue::null: break;
    }
  }
  filling_.size += 8 + size;
  if (filling_.size >= kBatchBytes) hand_off();
}

void RowWriter::hand_off() {
  std::unique_lock<std::mutex> lock(mutex_);
  progress_.wait(lock, [&] { return failed_ || stopping_ || queued_bytes_ + filling_.size <= kMaxQueuedBytes; });
  if (failed_) throw_failure();
  if (stopping_) throw SqliteError("SQLite error: the database was closed while rows were written");
  queued_bytes_ += filling_.size;
  queue_.push_back(std::move(filling_));
  if (!spare_.empty()) {
    filling_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    filling_ = Batch();
    filling_.reserve(kBatchBytes);
  }
  lock.unlock();
  queued_.notify_one();
}

void RowWriter::throw_failure() {
  filling_.size = 0;
  throw SqliteError(error_);
}

void RowWriter::flush() {
  if (!thread_.joinable()) return;
  if (filling_.size) hand_off();
  std::unique_lock<std::mutex> lock(mutex_);
  progress_.wait(lock, [&] { return failed_ || stopping_ || (queue_.empty() && !busy_); });
  if (failed_) throw_failure();
}

void RowWriter::stop() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    queued_.notify_one();
    progress_.notify_all();
    thread_.join();
  }
  for (Statement& statement : statements_) {
    sqlite3_finalize(statement.single);
    sqlite3_finalize(statement.multi);
    statement.single = statement.multi = nullptr;
  }
  queue_.clear();
  spare_.clear();
  filling_ = Batch();
}

std::string RowWriter::sql(uint32_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const char* text = id < statements_.size() && statements_[id].single ? sqlite3_sql(statements_[id].single) : nullptr;
  return text ? text : "?";
}

void RowWriter::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    std::string error;
    try {
      if (!failed_) execute(batch);  // failed_ is only written by this thread
    } catch (const std::exception& failure) {
      error = failure.what();
    }
    lock.lock();
    if (!error.empty()) {
      failed_ = true;
      error_ = std::move(error);
    }
    queued_bytes_ -= batch.size;
    batch.size = 0;
    if (spare_.size() < 2) spare_.push_back(std::move(batch));
    busy_ = false;
    progress_.notify_all();
  }
}

const unsigned char* RowWriter::bind_row(sqlite3_stmt* statement, int first, int parameters,
                                         const unsigned char* at) {
  for (int i = 0; i < parameters; ++i) {
    const int index = first + i;
    int rc = SQLITE_OK;
    switch (read<uint8_t>(at)) {
      case BoundValue::integer: rc = sqlite3_bind_int64(statement, index, read<int64_t>(at)); break;
      case BoundValue::real: rc = sqlite3_bind_double(statement, index, read<double>(at)); break;
      case BoundValue::text: {
        const auto size = read<uint32_t>(at);
        // The batch outlives the step that reads the text.
        rc = sqlite3_bind_text(statement, index, reinterpret_cast<const char*>(at), static_cast<int>(size),
                               SQLITE_STATIC);
        at += size;
        break;
      }
      default: rc = sqlite3_bind_null(statement, index); break;
    }
    if (rc != SQLITE_OK)
      throw SqliteError(std::string("SQLite error: ") + sqlite3_errmsg(db_) + " in `" + sqlite3_sql(statement) + "`");
  }
  return at;
}

void RowWriter::step(sqlite3_stmt* statement, const Statement& of) {
  const int rc = sqlite3_step(statement);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    const std::string message = sqlite3_errmsg(db_);
    sqlite3_reset(statement);
    throw SqliteError("SQLite error: " + message + " in `" + sqlite3_sql(of.single) + "`");
  }
  sqlite3_reset(statement);
}

void RowWriter::insert_pending(Statement& statement) {
  if (statement.pending.size() == static_cast<size_t>(kRowsPerInsert)) {
    if (!statement.multi) {
      std::string sql = statement.multi_row_sql;
      std::string values_sql = "(";
      for (int i = 0; i < statement.parameters; ++i) values_sql += i ? ",?" : "?";
      values_sql += ")";
      for (int i = 0; i < kRowsPerInsert; ++i) sql += (i ? "," : "") + values_sql;
      if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &statement.multi, nullptr) != SQLITE_OK)
        throw SqliteError("SQLite cannot prepare `" + sql + "`: " + sqlite3_errmsg(db_));
    }
    for (int i = 0; i < kRowsPerInsert; ++i)
      bind_row(statement.multi, 1 + i * statement.parameters, statement.parameters, statement.pending[i]);
    step(statement.multi, statement);
  } else {
    for (const unsigned char* values : statement.pending) {
      bind_row(statement.single, 1, statement.parameters, values);
      step(statement.single, statement);
    }
  }
  statement.pending.clear();
}

void RowWriter::insert_all_pending() {
  for (Statement& statement : statements_)
    if (!statement.pending.empty()) insert_pending(statement);
}

// The rows of each multi-row INSERT wait until kRowsPerInsert of them are there, then go in one
// step. Each table still gets its rows in the order they were produced (and so the same
// rowids): the rows of another statement into the same table first insert the waiting ones.
// Any other statement (an UPDATE) first inserts every waiting row, and so does the end of the
// batch (the rows' texts are in it).
void RowWriter::execute(const Batch& batch) {
  const unsigned char* at = batch.bytes.get();
  const unsigned char* const end = at + batch.size;
  while (at < end) {
    const auto id = read<uint32_t>(at);
    const auto size = read<uint32_t>(at);
    const unsigned char* values = at;
    at += size;
    Statement& statement = statements_[id];
    if (statement.multi_row_sql.empty()) {
      insert_all_pending();
      bind_row(statement.single, 1, statement.parameters, values);
      step(statement.single, statement);
      continue;
    }
    for (uint32_t other : statement.same_table)
      if (!statements_[other].pending.empty()) insert_pending(statements_[other]);
    statement.pending.push_back(values);
    if (statement.pending.size() == static_cast<size_t>(kRowsPerInsert)) insert_pending(statement);
  }
  insert_all_pending();
}

}  // namespace vm
