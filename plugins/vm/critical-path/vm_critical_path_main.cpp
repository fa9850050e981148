// SPDX-License-Identifier: MIT
// vm-critical-path: the critical paths of some threads, computed from a database that
// sink.vm.sqlite wrote with its execution graph (`critical-path` or `exec-graph=true`), without
// the trace. It writes the same tables as the sink (critical_path, critical_path_segment,
// critical_path_link) with the same code (common/analysis/graph/graph_store.h), replacing the
// paths of the threads it selects, in one transaction: a failed run leaves the database as it was.
//
// usage: vm-critical-path DB SELECTOR... [--from TS] [--to TS]

#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "analysis/graph/fused_graph.h"
#include "analysis/graph/graph_store.h"
#include "analysis/graph/path_selector.h"
#include "db/output_file.h"
#include "db/sqlite_db.h"

namespace {

using namespace vm;
using namespace vm::graph;

constexpr const char* kUsage =
    "usage: vm-critical-path DB SELECTOR... [--from TS] [--to TS]\n"
    "  DB        a database written by sink.vm.sqlite with `critical-path` or `exec-graph=true`\n"
    "  SELECTOR  TID, MACHINE/TID (MACHINE: the `machine` table's name or id) or a command name\n"
    "            (every thread of that name); several per argument with commas\n"
    "  --from TS, --to TS  the path covers the thread's vertices in [FROM, TO] (ns, the\n"
    "            database's clock); default: from its first to its last vertex, as the sink\n"
    "Writes critical_path, critical_path_segment and critical_path_link, replacing the paths of\n"
    "the threads selected.\n";

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

uint64_t parse_ts(const std::string& option, const std::string& text) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    throw Usage(option + " `" + text + "`: give a timestamp in ns, a non-negative integer");
  return std::stoull(text);
}

bool has_table(SqliteConnection& db, const char* name) {
  SqliteStatement q = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.bind(1, std::string_view(name));
  return q.step();
}

// The schema objects' CREATE statements, made idempotent.
void create_if_missing(SqliteConnection& db, db::SchemaObjects schema) {
  for (const db::SchemaObject& object : schema) {
    std::string sql = object.sql;
    for (const char* kind : {"CREATE TABLE ", "CREATE VIEW ", "CREATE INDEX "}) {
      const std::string k = kind;
      if (sql.find(k) != std::string::npos) sql.replace(sql.find(k), k.size(), k + "IF NOT EXISTS ");
    }
    db.exec(sql);
  }
}

int run(int argc, char** argv) {
  std::string path;
  std::vector<PathSelector> selectors;
  PathRange range;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--from" || arg == "--to") {
      if (i + 1 >= argc) throw Usage(arg + " needs a timestamp");
      (arg == "--from" ? range.from : range.to) = parse_ts(arg, argv[++i]);
    } else if (arg.size() > 1 && arg[0] == '-' && arg[1] == '-') {
      throw Usage("unknown option `" + arg + "`");
    } else if (path.empty()) {
      path = arg;
    } else {
      try {
        for (PathSelector& s : parse_selector_list(arg)) selectors.push_back(std::move(s));
      } catch (const std::invalid_argument& error) {
        throw Usage(error.what());
      }
    }
  }
  if (path.empty() || selectors.empty()) throw Usage("give a database and at least one selector");
  if (range.from > range.to) throw Usage("--from is after --to");

  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw std::runtime_error("no database at `" + path + "`: give the file sink.vm.sqlite wrote (its `path`)");
  SqliteConnection db(path);
  try {
    has_table(db, "machine");
  } catch (const SqliteError& error) {
    throw std::runtime_error("`" + path + "` is not a database sink.vm.sqlite wrote (" + error.what() + ")");
  }
  for (const char* table : {"exec_graph_worker", "exec_graph_vertex", "exec_graph_link"})
    if (!has_table(db, table))
      throw std::runtime_error("`" + path + "` has no execution graph (no table " + table +
                               "): write the database again with sink.vm.sqlite's parameter "
                               "`critical-path=\"SELECTOR\"` or `exec-graph=true`");
  // The graph of a long run is not loaded into memory: it is kept in a temporary file beside
  // the database (ExecGraph::spill_to), so the command's memory stays flat whatever its size.
  const ExecGraph g = load_exec_graph(db, db::directory_of(path));

  std::vector<MachineName> machines;
  if (has_table(db, "machine")) {
    SqliteStatement q = db.prepare("SELECT id, name FROM machine ORDER BY id");
    while (q.step()) machines.push_back(MachineName{q.column_int(0), q.column_text(1)});
  }
  std::vector<std::string> unmatched;
  const std::vector<SelectedWorker> selected = select_workers(g, selectors, machines, &unmatched);
  if (!unmatched.empty()) {
    std::string text;
    for (const std::string& m : unmatched) text += (text.empty() ? "" : "; ") + m;
    throw std::runtime_error(text + ". The threads are in exec_graph_worker (machine_id, tid, name); nothing was written");
  }

  db.exec("BEGIN IMMEDIATE");
  try {
    create_if_missing(db, critical_path_schema());
    SqliteStatement old = db.prepare(
        "SELECT id FROM critical_path WHERE machine_id = ? AND tid = ? AND cpu IS ?");
    std::vector<int64_t> replaced;
    for (const SelectedWorker& s : selected) {
      const WorkerKey& k = g.workers()[s.worker].key;
      old.bind(1, k.machine_id);
      old.bind(2, k.tid);
      old.bind_or_null(3, k.cpu);
      while (old.step()) replaced.push_back(old.column_int(0));
      old.reset();
    }
    for (const char* sql : {"DELETE FROM critical_path_segment WHERE path_id = ?",
                            "DELETE FROM critical_path_link WHERE path_id = ?", "DELETE FROM critical_path WHERE id = ?"}) {
      SqliteStatement del = db.prepare(sql);
      for (int64_t id : replaced) del.insert(id);
    }
    SqliteStatement next = db.prepare("SELECT COALESCE(MAX(id), 0) + 1 FROM critical_path");
    next.step();
    const int64_t first_id = next.column_int(0);
    next.reset();
    for (const std::string& d : write_critical_paths(g, selected, first_id, range, prepare_insert_on(db), product_path_options()))
      std::cerr << "vm-critical-path: " << d << "\n";
    db.exec("COMMIT");
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (const std::exception&) {
    }
    throw;
  }
  std::cerr << "vm-critical-path: " << selected.size() << " critical path" << (selected.size() == 1 ? "" : "s")
            << " written to `" << path << "`\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Usage& error) {
    std::cerr << "vm-critical-path: " << error.what() << "\n" << kUsage;
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "vm-critical-path: " << error.what() << "\n";
    return 1;
  }
}
