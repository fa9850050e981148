// SPDX-License-Identifier: MIT
#pragma once
// The writer thread of the output database: the analyses' rows go through a bounded queue to one
// thread that owns the SQLite work, so that decoding and row inserts overlap on two cores.
//
// The thread that produces rows (the babeltrace2 graph's) binds values into a queued
// SqliteStatement (db/sqlite_db.h) as before; run() copies the bound row into the current batch
// of bytes. A full batch (kBatchBytes) is handed to the writer thread, which binds and steps the
// real prepared statements in the order the rows were produced, inside the run's transaction.
// At most kMaxQueuedBytes of rows wait in the queue: beyond that the producer blocks until the
// writer has caught up (back-pressure), so the queue keeps peak memory bounded whatever the
// trace size.
//
// Errors: the writer thread stops at the first failing row and keeps SQLite's message. The
// producer gets it, as a SqliteError, at its next hand-off or at flush(); the run then fails as
// it did when the insert failed in place, and the database is abandoned (db/database.h).
//
// The rows of an INSERT made by prepare_insert() are inserted kRowsPerInsert at a time by a
// multi-row statement (`INSERT ... VALUES (...), (...), ...`), prepared by the writer thread:
// SQLite then runs one statement per group instead of one per row. Every table gets its rows in
// the order they were produced (and so the same rowids); an UPDATE sees every row produced
// before it.

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace vm {

// One bound parameter of a queued statement. Unbound parameters are NULL, as in SQLite.
struct BoundValue {
  enum Type : uint8_t { null, integer, real, text };
  Type type = null;
  int64_t integer_value = 0;
  double real_value = 0;
  std::string text_value;  // its capacity is kept from row to row

  void set(int64_t value) {
    type = integer;
    integer_value = value;
  }
  void set(double value) {
    type = real;
    real_value = value;
  }
  void set(std::string_view value) {
    type = text;
    text_value.assign(value.data(), value.size());
  }
  void set_null() { type = null; }
};

class RowWriter {
 public:
  static constexpr size_t kBatchBytes = 256 * 1024;
  static constexpr size_t kMaxQueuedBytes = 4 * kBatchBytes;
  static constexpr int kRowsPerInsert = 16;

  // Starts the writer thread on `db` (which must stay open until stop()). The thread blocks the
  // asynchronous signals, so that SIGINT and the others reach the threads that handled them
  // before (db/output_file.h).
  explicit RowWriter(sqlite3* db);
  ~RowWriter();  // stop()
  RowWriter(const RowWriter&) = delete;
  RowWriter& operator=(const RowWriter&) = delete;

  // Producer side. Takes ownership of `statement` (finalized by stop()) and returns its id.
  // `multi_row_sql` is the statement's SQL without its one `(?,...)` group when it is a plain
  // INSERT of that group (kRowsPerInsert groups are then appended to it), else empty. Waits
  // until the writer is idle first.
  uint32_t add_statement(sqlite3_stmt* statement, std::string multi_row_sql);
  // Queues one row of the statement `id`. Throws SqliteError when the writer thread has failed.
  void push(uint32_t id, const std::vector<BoundValue>& values);
  // Waits until every queued row is in the database. Throws SqliteError when one failed.
  void flush();
  // Ends the thread: the rows still queued are dropped (call flush() first to keep them), every
  // statement is finalized. Idempotent; no SQLite call on `db` from the thread afterwards.
  void stop();
  // The SQL of the statement `id`, for error messages.
  std::string sql(uint32_t id);

 private:
  struct Statement {
    sqlite3_stmt* single = nullptr;
    sqlite3_stmt* multi = nullptr;  // kRowsPerInsert rows, prepared on first use
    std::string multi_row_sql;      // empty: no multi-row form
    int parameters = 0;
    std::vector<const unsigned char*> pending;  // the values of rows waiting for a multi-row step
    std::vector<uint32_t> same_table;           // the other multi-row INSERTs into its table
  };
  // Rows in bytes (row_writer.cpp gives the format); not zero-filled.
  struct Batch {
    std::unique_ptr<unsigned char[]> bytes;
    size_t size = 0, capacity = 0;
    void reserve(size_t bytes_needed);  // keeps the content
  };

  void hand_off();            // producer: the filling batch to the queue (may block)
  void throw_failure();       // producer: with mutex_ held and failed_ set
  void work();                // the writer thread
  void execute(const Batch& batch);
  const unsigned char* bind_row(sqlite3_stmt* statement, int first, int parameters, const unsigned char* at);
  void step(sqlite3_stmt* statement, const Statement& of);
  void insert_pending(Statement& statement);
  void insert_all_pending();

  sqlite3* db_;
  std::vector<Statement> statements_;  // grown only while the writer is idle
  Batch filling_;                      // the producer's batch

  std::mutex mutex_;
  std::condition_variable queued_;    // the writer waits for work
  std::condition_variable progress_;  // the producer waits for room, or for the writer to be idle
  std::deque<Batch> queue_;
  std::vector<Batch> spare_;  // emptied batches, reused
  size_t queued_bytes_ = 0;
  bool busy_ = false;  // the writer is executing a batch
  bool stopping_ = false;
  bool failed_ = false;
  std::string error_;
  std::thread thread_;
};

}  // namespace vm
