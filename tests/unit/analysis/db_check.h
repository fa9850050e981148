// SPDX-License-Identifier: MIT
#pragma once
// What the analysis tests share: a temporary database path, and the integer rows of a query on
// a committed database, to compare with hand-derived rows in one EXPECT_EQ.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "db/sqlite_db.h"

namespace vm {

using IntRows = std::vector<std::vector<int64_t>>;

// A database path in gtest's temporary folder, unique to this process.
inline std::string temp_db_path(const char* name) {
  return std::string(::testing::TempDir()) + "/" + name + "-" + std::to_string(::getpid()) + ".db";
}

// Every row of `sql` on the database at `path`, its first `columns` columns as integers.
inline IntRows int_rows(const std::string& path, const char* sql, int columns) {
  SqliteConnection db(path);
  IntRows rows;
  {
    SqliteStatement query = db.prepare(sql);
    while (query.step()) {
      rows.emplace_back();
      for (int c = 0; c < columns; ++c) rows.back().push_back(query.column_int(c));
    }
  }
  db.close();
  return rows;
}

}  // namespace vm
