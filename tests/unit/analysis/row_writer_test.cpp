// SPDX-License-Identifier: MIT
// The writer thread of the output database (common/db/row_writer.h): the rows it writes are the
// rows bound, in their order, as written in place; a failing row fails the run with SQLite's
// message and leaves no file; the queue's back-pressure lets a producer far ahead of it go on;
// a signal sent to the process still removes the temporary file.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "db/database.h"
#include "db/output_file.h"
#include "db_check.h"

namespace vm::db {
namespace {

const SchemaObject kObjects[] = {
    {ObjectKind::table, "item", "", "CREATE TABLE item(n INTEGER NOT NULL, x REAL, label TEXT, tag TEXT)"},
    {ObjectKind::table, "other", "", "CREATE TABLE other(n INTEGER)"},
    {ObjectKind::index, "item_n", "", "CREATE INDEX item_n ON item(n)"},
};
const std::vector<SchemaObjects> kSchema = {objects_of(kObjects)};

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Row i of `item`: n = i, x = i / 4 (NULL for every 7th), label "row i" (a string gone after
// the row), tag bound at every 100th row only ("tag i"): SQLite keeps a binding from row to row. An `other` row after every 5th and 16th `item` row cuts the runs of rows that the
// writer may group.
void write_rows(Database& database, int rows) {
  SqliteStatement item = prepare_insert(database, "item", {"n", "x", "label", "tag"});
  SqliteStatement other = prepare_insert(database, "other", {"n"});
  std::string tag;
  for (int i = 0; i < rows; ++i) {
    if (i % 100 == 0) {
      tag = "tag " + std::to_string(i);
      item.bind(4, std::string_view(tag));  // in place, SQLite reads `tag` until it is bound again
    }
    if (i % 7 == 0)
      item.bind_null(2);
    else
      item.bind(2, i / 4.0);
    const std::string label = "row " + std::to_string(i);  // gone after run(): a queued row copies it
    item.bind(3, std::string_view(label));
    item.bind(1, int64_t{i});
    item.run();
    if (i % 5 == 0 || i % 16 == 0) other.insert(int64_t{-i});
  }
}

// The rows expected from write_rows(), in rowid order, as "n|x|label|tag" lines.
std::string expected_rows(int rows) {
  std::string text;
  char x[64];
  for (int i = 0; i < rows; ++i) {
    std::snprintf(x, sizeof x, "%.17g", i / 4.0);
    text += std::to_string(i) + "|" + (i % 7 == 0 ? "NULL" : x) + "|row " + std::to_string(i) + "|tag " +
            std::to_string(i / 100 * 100) + "\n";
  }
  return text;
}

std::string item_rows(const std::string& path) {
  SqliteConnection db(path);
  std::string text;
  {
    SqliteStatement query =
        db.prepare("SELECT n, CASE WHEN x IS NULL THEN 'NULL' ELSE printf('%.17g', x) END, label, tag FROM item "
                   "ORDER BY rowid");
    while (query.step())
      text += query.column_text(0) + "|" + query.column_text(1) + "|" + query.column_text(2) + "|" +
              query.column_text(3) + "\n";
  }
  db.close();
  return text;
}

TEST(RowWriter, RowsAreTheRowsBoundInTheirOrderInBothModes) {
  for (bool threaded : {true, false}) {
    const std::string path = temp_db_path(threaded ? "rows-threaded" : "rows-in-place");
    std::remove(path.c_str());
    {
      Database database(path, kSchema, DatabaseOptions{threaded});
      EXPECT_EQ(database.writer_thread(), threaded);
      // 20011 rows: several batches, runs of 16 and shorter ones, and a partial last run.
      write_rows(database, 20011);
      database.commit();
      database.close_and_rename();
    }
    EXPECT_EQ(item_rows(path), expected_rows(20011)) << (threaded ? "threaded" : "in place");
    // Every 5th or 16th of 20011: 4003 + 1251 - 251 (both, every 80th) = 5003 rows.
    EXPECT_EQ(int_rows(path, "SELECT count(*) FROM other", 1), (IntRows{{5003}}));
    // The page size the database sets took effect (SQLite ignores it once a table exists).
    EXPECT_EQ(int_rows(path, "PRAGMA page_size", 1), (IntRows{{16384}}));
    std::remove(path.c_str());
  }
}

TEST(RowWriter, AnUpdateSeesTheRowsQueuedBeforeIt) {
  const std::string path = temp_db_path("rows-update");
  std::remove(path.c_str());
  {
    Database database(path, kSchema);
    write_rows(database, 50);
    SqliteStatement update = database.prepare("UPDATE item SET n = n + 1000 WHERE n < ?");
    update.bind(1, int64_t{10});
    update.run();
    database.connection().exec("UPDATE item SET n = n + 2000 WHERE n >= 1000");
    write_rows(database, 3);
    database.commit();
    database.close_and_rename();
  }
  // Hand-derived: rows 0..9 got +1000 then +2000; 10..49 kept n; three more rows 0, 1, 2.
  EXPECT_EQ(int_rows(path, "SELECT count(*) FROM item WHERE n >= 3000", 1), (IntRows{{10}}));
  EXPECT_EQ(int_rows(path, "SELECT n FROM item WHERE rowid > 50 ORDER BY rowid", 1), (IntRows{{0}, {1}, {2}}));
  std::remove(path.c_str());
}

TEST(RowWriter, TwoInsertsIntoOneTableKeepTheirRowsInterleaved) {
  const std::string path = temp_db_path("rows-same-table");
  std::remove(path.c_str());
  {
    Database database(path, kSchema);
    SqliteStatement by_label = prepare_insert(database, "item", {"n", "label"});
    SqliteStatement by_x = prepare_insert(database, "item", {"n", "x"});
    // n = 0..999 in order, through one statement or the other in irregular runs (1 to 37 rows).
    int n = 0;
    for (int run = 1; n < 1000; run = run % 37 + 1)
      for (int i = 0; i < run && n < 1000; ++i, ++n) {
        if (run % 2)
          by_label.insert(int64_t{n}, std::string_view("label"));
        else
          by_x.insert(int64_t{n}, 0.5);
      }
    database.commit();
    database.close_and_rename();
  }
  IntRows expected;
  for (int n = 0; n < 1000; ++n) expected.push_back({n});
  EXPECT_EQ(int_rows(path, "SELECT n FROM item ORDER BY rowid", 1), expected);
  std::remove(path.c_str());
}

// A statement prepared anew for every row (as a data_loss row per discarded-events message is):
// the writer keeps one statement per distinct SQL, not one per call (each used to be linked to
// every other of its table: quadratic), and the rows are still the rows bound, in order,
// interleaved with another table's statement prepared per row too. Hand-derived: item n =
// 0..4999 in order; `other` -n for every 3rd n, 1667 rows, then -1 and -2.
TEST(RowWriter, AStatementPreparedForEachRowIsOneStatement) {
  const std::string path = temp_db_path("rows-prepared-per-row");
  std::remove(path.c_str());
  {
    Database database(path, kSchema);
    ASSERT_TRUE(database.writer_thread());
    for (int n = 0; n < 5000; ++n) {
      prepare_insert(database, "item", {"n", "label"}).insert(int64_t{n}, std::string_view("label"));
      if (n % 3 == 0) prepare_insert(database, "other", {"n"}).insert(int64_t{-n});
    }
    EXPECT_EQ(database.queued_statements(), 2u);
    // prepare_insert()'s SQL without its multi-row form is another statement (it must not be
    // repeated as multi-row), and prepared again, that same one.
    database.prepare("INSERT INTO other(n) VALUES(?)").insert(int64_t{-1});
    database.prepare("INSERT INTO other(n) VALUES(?)").insert(int64_t{-2});
    EXPECT_EQ(database.queued_statements(), 3u);
    database.commit();
    database.close_and_rename();
  }
  IntRows expected;
  for (int n = 0; n < 5000; ++n) expected.push_back({n});
  EXPECT_EQ(int_rows(path, "SELECT n FROM item ORDER BY rowid", 1), expected);
  EXPECT_EQ(int_rows(path, "SELECT count(*), min(n), max(n) FROM other", 3), (IntRows{{1669, -4998, 0}}));
  std::remove(path.c_str());
}

TEST(RowWriter, AFailingRowFailsTheRunWithSqlitesMessageAndLeavesNoFile) {
  for (int rows_after : {0, 1000000}) {  // the error at commit, or at a later run()
    const std::string path = temp_db_path("rows-failing");
    std::remove(path.c_str());
    std::string temporary, message;
    {
      Database database(path, kSchema);
      temporary = database.temporary_path();
      SqliteStatement item = prepare_insert(database, "item", {"n", "label"});
      item.insert(int64_t{1}, std::string_view("fine"));
      item.bind_null(1);  // n is NOT NULL
      item.run();
      item.bind(1, int64_t{2});
      try {
        // 1 M rows of ~40 bytes are far more than the queue holds: the producer must not block
        // forever behind the failed writer.
        for (int i = 0; i < rows_after; ++i) item.run();
        database.commit();
        database.close_and_rename();
      } catch (const SqliteError& error) {
        message = error.what();
        database.abandon();
      }
    }
    EXPECT_NE(message.find("NOT NULL constraint failed: item.n"), std::string::npos) << message;
    EXPECT_NE(message.find("INSERT INTO item"), std::string::npos) << message;
    EXPECT_FALSE(exists(path));
    EXPECT_FALSE(exists(temporary));
  }
}

TEST(RowWriter, AnOutOfRangeParameterIsRefusedAsSqliteDoes) {
  const std::string path = temp_db_path("rows-range");
  Database database(path, kSchema);
  SqliteStatement other = prepare_insert(database, "other", {"n"});
  EXPECT_THROW(other.bind(2, int64_t{1}), SqliteError);
  EXPECT_THROW(other.bind(0, int64_t{1}), SqliteError);
}

TEST(RowWriter, ASignalToTheProcessWhileRowsAreQueuedLeavesNothing) {
  const std::string path = temp_db_path("rows-signal");
  std::remove(path.c_str());
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_fds[0]);
    Database database(path, kSchema);
    const std::string temporary = database.temporary_path() + "\n";
    (void)!::write(pipe_fds[1], temporary.data(), temporary.size());
    ::close(pipe_fds[1]);
    // Rows until the signal ends the process (the parent sends it to the process, not to a thread).
    for (;;) write_rows(database, 1000);
  }
  ::close(pipe_fds[1]);
  std::string temporary;
  char c;
  while (::read(pipe_fds[0], &c, 1) == 1 && c != '\n') temporary += c;
  ::close(pipe_fds[0]);
  ::usleep(200 * 1000);  // rows in flight
  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_FALSE(temporary.empty());
  EXPECT_FALSE(exists(temporary));
  EXPECT_FALSE(exists(path));
}

}  // namespace
}  // namespace vm::db
