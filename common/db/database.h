// SPDX-License-Identifier: MIT
#pragma once
// The SQLite database a run writes. The output path is checked when it is created; the database
// is built in a temporary file beside the output path (db/output_file.h) and renamed onto it only
// when the run succeeds, so a failed or interrupted run never leaves a half-written database at
// the path, nor touches a database already there.
//
// Conventions (after Perfetto's trace processor): `ts`/`dur` in ns, half-open intervals; integer
// ids; column and state names are words. `PRAGMA user_version` holds kSchemaVersion.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "db/schema.h"
#include "db/sqlite_db.h"

namespace vm::db {

inline constexpr int kSchemaVersion = 2;

struct DatabaseOptions {
  // The rows are written by a thread of their own (db/row_writer.h), when SQLite is built
  // thread-safe. false: in place, on the caller's thread (for debugging and measurement).
  bool writer_thread = true;
  // Which indexes of the large interval tables to build (db/schema.h, IndexSet): by time (ts) is
  // the default; by key (machine, then CPU / thread / vCPU, then ts) costs more (sink.vm.sqlite's
  // `indexes` parameter; docs/performance.md, "The interval tables indexed by time").
  bool key_indexes = false;
  bool time_indexes = true;
};

class Database {
 public:
  // Creates the temporary database beside `path` with the tables of `schema` and opens the
  // run's transaction. Throws std::runtime_error naming the path and the reason on failure.
  Database(std::string path, const std::vector<SchemaObjects>& schema, DatabaseOptions options = {});
  ~Database();  // removes the temporary file unless commit() succeeded
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temporary_path_; }
  // The connection, once every queued row is written (throws the writer's error if one
  // failed). Use it on this thread between rows, not while statements of it are queued.
  SqliteConnection& connection();
  // With the writer thread, an INSERT or UPDATE is queued (db/sqlite_db.h): its rows are written
  // in order, by the writer thread, after run() returns; its errors surface at a later run() or
  // at commit(). A query is prepared in place (it sees the rows queued before only after
  // connection() was called). `multi_row_sql`: the INSERT's SQL up to its one VALUES group,
  // which the writer may then repeat to insert consecutive rows in one step (prepare_insert()).
  // Preparing the same queued SQL again gives a handle on the statement the writer already has
  // (one per distinct SQL for the run, whatever the number of calls).
  SqliteStatement prepare(std::string_view sql, std::string multi_row_sql = {});
  bool writer_thread() const { return writer_ != nullptr; }
  // The writer's statements (0 without the writer thread): one per distinct SQL queued.
  size_t queued_statements() const { return queued_.size(); }

  // Creates the indexes (unless the writer thread keeps them) and views of the schema and
  // commits the transaction. Throws on failure (call abandon() then, once every statement is
  // finalized).
  void commit();
  // Closes the file and renames it onto the output path. Throws on failure (the temporary file
  // is then removed).
  void close_and_rename();
  // Closes and removes the temporary file (also done by the destructor).
  void abandon();

 private:
  std::string path_;
  std::string temporary_path_;
  std::vector<SchemaObjects> schema_;
  std::unique_ptr<SqliteConnection> connection_;
  void create_objects(ObjectKind kind);
  bool wanted(const SchemaObject& object) const;  // the options' choice of indexes

  std::shared_ptr<RowWriter> writer_;  // shared with the queued statements; stopped before the connection closes
  struct Queued {
    uint32_t id;
    int parameters;
  };
  // The writer's statements by SQL: a statement prepared for each row (a data_loss row per
  // discarded-events message, a sync_segment row per piece) registered a new writer statement
  // each time, each linked to every other of its table: quadratic (8 MiB of links for the
  // 2,059 sync segments of a 30 M-event scenario run), and a writer flush per row.
  std::unordered_map<std::string, Queued> queued_;
  bool committed_ = false;
  bool indexes_created_ = false;
  DatabaseOptions options_;
};

// An INSERT of some columns of one table, prepared once: bind 1..N in the columns' order, run().
SqliteStatement prepare_insert(Database& database, const char* table, std::initializer_list<const char*> columns);

}  // namespace vm::db
