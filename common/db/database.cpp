// SPDX-License-Identifier: MIT
#include "db/database.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "db/output_file.h"

namespace vm::db {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

Database::Database(std::string path, const std::vector<SchemaObjects>& schema, DatabaseOptions options)
    : path_(std::move(path)), schema_(schema), options_(options) {
  // Refuse early, before any analysis, when the output cannot be written at all.
  check_output_path(path_);
  temporary_path_ = create_temporary_beside(path_);
  try {
    connection_ = std::make_unique<SqliteConnection>(temporary_path_);
    // The temporary file is renamed only after a complete run: durability of intermediate
    // states buys nothing, so skip the journal and the syncs. The page cache is capped and the
    // index sorts at commit spill to temporary files, so that peak memory does not grow with the
    // trace (measured on scenario traces: 49 MiB at 1M events, 53 MiB at 10M; with a 64 MiB
    // in-memory temp store it was 111 and 391 MiB, for 15-25% less time). 8 MiB of cache rather
    // than 16: 9 MiB less peak RSS in one-pass fuse + SQLite at 1M, 3M and 10M events, for no
    // more time (docs/performance.md, "SQLite's page cache at 8 MiB"). Pages of 16 KiB rather
    // than 4: fewer B-tree pages to split and balance as the rows come, 12 % less time on a
    // 10 M-event scenario for the same peak RSS ("SQLite pages of 16 KiB"). The cache size is set
    // after the page size: SQLite turns a size in KiB into a number of pages of the page size of the
    // time, and a later page size keeps that number: 8 MiB worth of 4 KiB pages, 32 MiB of 16 KiB.
    connection_->exec(
        "PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE;"
        "PRAGMA cache_size=-8192;");
    create_objects(ObjectKind::table);
    connection_->exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
    connection_->exec("BEGIN");
    // SQLite built without threads (SQLITE_THREADSAFE=0) cannot be used from two threads.
    if (options.writer_thread && sqlite3_threadsafe() != 0) {
      // With a writer thread, the indexes are kept up to date by that thread as the rows come,
      // beside the decoding, instead of being sorted at commit on the decoding thread, when
      // nothing else runs. It costs no more in all (measured on the lab host's cpu_state,
      // thread_state and vcpu_state rows, 1x and 8x: 0.56 s against 0.67 s, 4.50 s against
      // 4.54 s of CPU). An index by time costs far less than one by key: the rows come nearly in
      // time order, so most of its entries go on its last page, where SQLite inserts without a
      // descent from the root; an index by key takes a descent and about 30 record comparisons
      // per row (10 M-event scenario: 11 s of the writer's CPU for the three key indexes).
      create_objects(ObjectKind::index);
      writer_ = std::make_shared<RowWriter>(connection_->handle());
    }
  } catch (const std::exception& error) {
    abandon();
    throw std::runtime_error("cannot create the output database `" + path_ + "`: " + error.what());
  }
}

Database::~Database() {
  if (!committed_) abandon();
}

SqliteConnection& Database::connection() {
  if (writer_) writer_->flush();
  return *connection_;
}

SqliteStatement Database::prepare(std::string_view sql, std::string multi_row_sql) {
  if (!writer_) return connection_->prepare(sql);
  // The same SQL with another multi-row form is another writer statement.
  std::string key(sql);
  key.push_back('\0');
  key += multi_row_sql;
  if (const auto known = queued_.find(key); known != queued_.end())
    return SqliteStatement(writer_, known->second.id, known->second.parameters);
  writer_->flush();  // the writer is idle while the statement is prepared on this thread
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(connection_->handle(), sql.data(), static_cast<int>(sql.size()), &statement, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(statement);
    throw SqliteError("SQLite cannot prepare `" + std::string(sql) + "`: " + sqlite3_errmsg(connection_->handle()));
  }
  if (!statement || sqlite3_stmt_readonly(statement)) {  // a query (or nothing): in place
    sqlite3_finalize(statement);
    return connection_->prepare(sql);
  }
  const int parameters = sqlite3_bind_parameter_count(statement);
  const uint32_t id = writer_->add_statement(statement, std::move(multi_row_sql));
  queued_.emplace(std::move(key), Queued{id, parameters});
  return SqliteStatement(writer_, id, parameters);
}

// Without the writer thread, indexes are created after the bulk inserts (faster than
// maintaining them row by row on the one thread); views are created at the end.
void Database::commit() {
  if (writer_) {  // every row first
    writer_->flush();
    writer_->stop();
  }
  if (!indexes_created_) create_objects(ObjectKind::index);
  create_objects(ObjectKind::view);
  connection_->exec("COMMIT");
}

void Database::create_objects(ObjectKind kind) {
  for (const SchemaObjects& objects : schema_)
    for (const SchemaObject& object : objects)
      if (object.kind == kind && wanted(object)) connection_->exec(object.sql);
  if (kind == ObjectKind::index) indexes_created_ = true;
}

bool Database::wanted(const SchemaObject& object) const {
  switch (object.index_set) {
    case IndexSet::always:
      return true;
    case IndexSet::by_key:
      return options_.key_indexes;
    case IndexSet::by_time:
      return options_.time_indexes;
  }
  return true;
}

void Database::close_and_rename() {
  try {
    if (writer_) writer_->stop();
    connection_->close();
    connection_.reset();
  } catch (const std::exception& error) {
    abandon();
    throw std::runtime_error("cannot finish the output database `" + path_ + "`: " + error.what());
  }
  if (interrupted()) {  // the signal handler has removed the temporary file already
    abandon();
    throw std::runtime_error("the run was interrupted by a signal: no database was written at `" + path_ + "`");
  }
  if (std::rename(temporary_path_.c_str(), path_.c_str()) != 0) {
    const std::string reason = errno_text();
    abandon();
    throw std::runtime_error("cannot move the finished database to `" + path_ + "`: " + reason);
  }
  forget_temporary(temporary_path_);
  committed_ = true;
}

void Database::abandon() {
  if (writer_) writer_->stop();  // drops the queued rows; no SQLite call from it afterwards
  connection_.reset();
  if (!temporary_path_.empty()) remove_temporary(temporary_path_);
  temporary_path_.clear();
}

SqliteStatement prepare_insert(Database& database, const char* table, std::initializer_list<const char*> columns) {
  std::string sql = std::string("INSERT INTO ") + table + "(", values;
  for (const char* column : columns) {
    sql += (values.empty() ? "" : ", ") + std::string(column);
    values += values.empty() ? "?" : ",?";
  }
  return database.prepare(sql + ") VALUES(" + values + ")", sql + ") VALUES");
}

}  // namespace vm::db
