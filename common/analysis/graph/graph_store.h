// SPDX-License-Identifier: MIT
#pragma once
// The execution graph and its critical paths in the database: the schema, the writers and the
// loader shared by sink.vm.sqlite (CriticalPathTables, critical_path_tables.h) and the command
// vm-critical-path (plugins/vm/critical-path/), so that both routes write the same rows.
//
// The graph (docs/design.md, "The execution graph in the database"):
//   exec_graph_worker(id, machine_id, tid, cpu, name)    ExecGraph's workers, by WorkerId;
//   exec_graph_vertex(id, worker_id, ts, state, qualifier)
//       ExecGraph's vertices, by VertexId (creation order; per worker it is time order). `state`
//       and `qualifier` are those of the horizontal edge that ends at the vertex (Trace Compass's
//       convention: the state of the interval before it); NULL for a worker's first vertex and
//       for a vertex after a gap (ExecGraph::add()). A zero-duration `eps` edge joins two
//       vertices of one worker at one timestamp;
//   exec_graph_link(from_vertex_id, to_vertex_id, state, qualifier)  the vertical edges.
// Loading inserts the vertices again in id order, so the loaded graph has the same vertex and
// worker ids, and the same edges.
// No babeltrace2 type here.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/graph/critical_path.h"
#include "analysis/graph/exec_graph.h"
#include "analysis/graph/path_selector.h"
#include "db/schema.h"
#include "db/sqlite_db.h"

namespace vm::graph {

// The tables of the graph, and those of the critical paths (with their views and index).
db::SchemaObjects exec_graph_schema();
db::SchemaObjects critical_path_schema();

// The EdgeState of a stored name (edge_state_name()), if any.
std::optional<EdgeState> edge_state_from_name(std::string_view name);

// An INSERT of some columns of a table (db::prepare_insert() on the sink's database; a plain
// prepared statement on the command's connection).
using PrepareInsert = std::function<SqliteStatement(const char* table, std::initializer_list<const char*> columns)>;
// PrepareInsert on a plain connection: statements that run in place.
PrepareInsert prepare_insert_on(SqliteConnection& db);

void write_exec_graph(const ExecGraph& g, const PrepareInsert& prepare);

// The graph written by write_exec_graph(). Throws std::runtime_error naming the table and row
// that are inconsistent (the database is untrusted input). With `spill_dir`, the graph is kept
// in a temporary file there (ExecGraph::spill_to) instead of memory.
ExecGraph load_exec_graph(SqliteConnection& db, const std::string& spill_dir = {});

// Which part of each selected thread's life the path covers: from its first vertex at or after
// `from` to its last vertex at or before `to` (default: first to last vertex, as Trace Compass).
struct PathRange {
  uint64_t from = 0;
  uint64_t to = std::numeric_limits<uint64_t>::max();
};

// Computes the bounded critical path of every selected worker and writes critical_path (ids from
// `first_id` on, in the selection's order), critical_path_segment and critical_path_link. Returns
// the diagnostics (one sentence each), naming the path they are about.
// The options of the product's paths, the same in the sink and in vm-critical-path: Trace
// Compass's resolved states (blocked, network), plus `vcpu_preempted` (the fused layer's link into
// the host vCPU thread) and `preempted` (only vCPU threads get the preemption links it follows; a
// preempted wait without one stays `preempted`: docs/design.md, "Host-only critical path").
CriticalPathOptions product_path_options();

std::vector<std::string> write_critical_paths(const ExecGraph& g, const std::vector<SelectedWorker>& selected,
                                              int64_t first_id, const PathRange& range,
                                              const PrepareInsert& prepare,
                                              const CriticalPathOptions& options = {});

}  // namespace vm::graph
