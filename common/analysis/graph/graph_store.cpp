// SPDX-License-Identifier: MIT
#include "analysis/graph/graph_store.h"

#include "analysis/graph/fused_graph.h"

#include <stdexcept>

namespace vm::graph {

namespace {

const db::SchemaObject kExecGraphSchema[] = {
    {db::ObjectKind::table, "exec_graph_worker",
     "the execution graph's workers: one per thread, per CPU's kernel context (tid -1) and swapper (tid 0)", R"sql(
CREATE TABLE exec_graph_worker(
  id INTEGER PRIMARY KEY,         -- 0, 1, ...
  machine_id INTEGER NOT NULL,
  tid INTEGER NOT NULL,           -- -1: the CPU's kernel context (kernel/<cpu>)
  cpu INTEGER,                    -- kernel contexts and swappers; NULL for other threads
  name TEXT
))sql"},
    {db::ObjectKind::table, "exec_graph_vertex",
     "the execution graph's vertices, each with the state of the horizontal edge that ends at it", R"sql(
CREATE TABLE exec_graph_vertex(
  id INTEGER PRIMARY KEY,         -- 0, 1, ... in creation order (time order on each worker)
  worker_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  state TEXT,                     -- the interval from the worker's previous vertex to this one; NULL: none
  qualifier TEXT
))sql"},
    {db::ObjectKind::table, "exec_graph_link", "the execution graph's vertical edges: wake-ups, forks, packets, hand-offs",
     R"sql(
CREATE TABLE exec_graph_link(
  from_vertex_id INTEGER NOT NULL,
  to_vertex_id INTEGER NOT NULL,
  state TEXT NOT NULL,
  qualifier TEXT
))sql"},
    {db::ObjectKind::view, "exec_graph_interval", "the execution graph's horizontal edges as intervals of a worker",
     R"sql(
CREATE VIEW exec_graph_interval AS
SELECT worker_id, from_vertex_id, id AS to_vertex_id, from_ts AS ts, ts - from_ts AS dur, state, qualifier
FROM (SELECT id, worker_id, ts, state, qualifier, LAG(id) OVER w AS from_vertex_id, LAG(ts) OVER w AS from_ts
      FROM exec_graph_vertex WINDOW w AS (PARTITION BY worker_id ORDER BY id))
WHERE state IS NOT NULL)sql"},
};

const db::SchemaObject kCriticalPathSchema[] = {
    {db::ObjectKind::table, "critical_path", "each critical path computed: the thread and the range it covers", R"sql(
CREATE TABLE critical_path(
  id INTEGER PRIMARY KEY,
  machine_id INTEGER NOT NULL,
  tid INTEGER NOT NULL,
  name TEXT,                      -- the thread's command name
  start_ts INTEGER NOT NULL,
  end_ts INTEGER NOT NULL,
  cpu INTEGER,                    -- swappers (tid 0) only
  selector TEXT                   -- the selector that chose the thread
))sql"},
    {db::ObjectKind::table, "critical_path_segment",
     "each path's intervals in order, tiling [start_ts, end_ts): who the path is on and why", R"sql(
CREATE TABLE critical_path_segment(
  path_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,           -- 0, 1, ... in time order
  ts INTEGER NOT NULL,
  dur INTEGER NOT NULL,
  machine_id INTEGER NOT NULL,
  tid INTEGER NOT NULL,           -- -1: a CPU's kernel context
  state TEXT NOT NULL,            -- running, preempted, blocked, timer, network, block_device, ipi, ...
  qualifier TEXT,
  cpu INTEGER                     -- kernel contexts and swappers only
))sql"},
    {db::ObjectKind::table, "critical_path_link", "each path's hand-offs from one thread to another", R"sql(
CREATE TABLE critical_path_link(
  path_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,           -- 0, 1, ... in path order
  ts INTEGER NOT NULL,            -- when it leaves from_tid
  from_machine_id INTEGER NOT NULL,
  from_tid INTEGER NOT NULL,
  to_machine_id INTEGER NOT NULL,
  to_tid INTEGER NOT NULL,
  state TEXT NOT NULL,            -- default (a wake-up or fork), network, ...
  to_ts INTEGER NOT NULL,         -- when it reaches to_tid (later for a packet in flight)
  from_cpu INTEGER,
  to_cpu INTEGER,
  qualifier TEXT
))sql"},
    {db::ObjectKind::index, "critical_path_segment_by_path", "",
     "CREATE INDEX critical_path_segment_by_path ON critical_path_segment(path_id, seq)"},
    {db::ObjectKind::view, "critical_path_summary",
     "time on each path by machine, thread and state, and its share of the path", R"sql(
CREATE VIEW critical_path_summary AS
SELECT s.path_id, s.machine_id, s.tid, s.state, COUNT(*) AS segments, SUM(s.dur) AS dur,
       ROUND(100.0 * SUM(s.dur) / NULLIF(p.end_ts - p.start_ts, 0), 2) AS percent
FROM critical_path_segment s JOIN critical_path p ON p.id = s.path_id
GROUP BY s.path_id, s.machine_id, s.tid, s.state)sql"},
    {db::ObjectKind::view, "critical_path_by_machine",
     "time on each path by machine (layer) and state, and its share of the path", R"sql(
CREATE VIEW critical_path_by_machine AS
SELECT s.path_id, s.machine_id, s.state, COUNT(*) AS segments, SUM(s.dur) AS dur,
       ROUND(100.0 * SUM(s.dur) / NULLIF(p.end_ts - p.start_ts, 0), 2) AS percent
FROM critical_path_segment s JOIN critical_path p ON p.id = s.path_id
GROUP BY s.path_id, s.machine_id, s.state)sql"},
};

int64_t as_int(uint64_t ts) {
  if (ts > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw std::runtime_error("execution graph: a timestamp beyond the database's range: " + std::to_string(ts));
  return static_cast<int64_t>(ts);
}

void bind_text_or_null(SqliteStatement& s, int index, std::string_view text) {
  if (text.empty()) s.bind_null(index);
  else s.bind_transient(index, text);
}

[[noreturn]] void corrupt(const std::string& what) {
  throw std::runtime_error("the execution graph in the database is inconsistent: " + what +
                           ". Write it again with sink.vm.sqlite's `critical-path` parameter");
}

}  // namespace

db::SchemaObjects exec_graph_schema() { return db::objects_of(kExecGraphSchema); }
db::SchemaObjects critical_path_schema() { return db::objects_of(kCriticalPathSchema); }

std::optional<EdgeState> edge_state_from_name(std::string_view name) {
  for (unsigned i = 0; i < 256; ++i) {
    const EdgeState s = static_cast<EdgeState>(i);
    if (edge_state_name(s) == name && (i == static_cast<unsigned>(EdgeState::unknown) || name != "unknown"))
      return s;
  }
  return std::nullopt;
}

PrepareInsert prepare_insert_on(SqliteConnection& db) {
  return [&db](const char* table, std::initializer_list<const char*> columns) {
    std::string sql = std::string("INSERT INTO ") + table + "(", values;
    for (const char* column : columns) {
      sql += (values.empty() ? "" : ", ") + std::string(column);
      values += values.empty() ? "?" : ",?";
    }
    return db.prepare(sql + ") VALUES(" + values + ")");
  };
}

void write_exec_graph(const ExecGraph& g, const PrepareInsert& prepare) {
  SqliteStatement worker = prepare("exec_graph_worker", {"id", "machine_id", "tid", "cpu", "name"});
  for (WorkerId w = 0; w < g.workers().size(); ++w) {
    const Worker& x = g.workers()[w];
    worker.bind(1, static_cast<int64_t>(w));
    worker.bind(2, x.key.machine_id);
    worker.bind(3, x.key.tid);
    worker.bind_or_null(4, x.key.cpu);
    worker.bind_transient(5, x.name);
    worker.run();
  }
  SqliteStatement vertex = prepare("exec_graph_vertex", {"id", "worker_id", "ts", "state", "qualifier"});
  SqliteStatement link = prepare("exec_graph_link", {"from_vertex_id", "to_vertex_id", "state", "qualifier"});
  for (VertexId v = 0; v < g.vertices().size(); ++v) {
    if (v % ExecGraph::kReleaseEvery == 0) g.release();
    const Vertex& x = g.vertex(v);
    vertex.bind(1, static_cast<int64_t>(v));
    vertex.bind(2, static_cast<int64_t>(x.worker));
    vertex.bind(3, as_int(x.ts));
    if (const Edge* e = g.in_h(v)) {
      vertex.bind(4, edge_state_name(e->state));
      bind_text_or_null(vertex, 5, g.qualifier(e->qualifier));
    } else {
      vertex.bind_null(4);
      vertex.bind_null(5);
    }
    vertex.run();
  }
  for (uint32_t i = 0; i < g.edges().size(); ++i) {
    if (i % ExecGraph::kReleaseEveryVisit == 0) g.release();  // e.from: anywhere in the graph
    const Edge& e = g.edges()[i];
    if (g.vertex(e.from).out_v != i) continue;  // a horizontal edge: in exec_graph_vertex
    link.bind(1, static_cast<int64_t>(e.from));
    link.bind(2, static_cast<int64_t>(e.to));
    link.bind(3, edge_state_name(e.state));
    bind_text_or_null(link, 4, g.qualifier(e.qualifier));
    link.run();
  }
}

ExecGraph load_exec_graph(SqliteConnection& db, const std::string& spill_dir) {
  ExecGraph g;
  if (!spill_dir.empty()) g.spill_to(spill_dir);
  SqliteStatement workers = db.prepare("SELECT id, machine_id, tid, cpu, name FROM exec_graph_worker ORDER BY id");
  for (int64_t expected = 0; workers.step(); ++expected) {
    if (workers.column_int(0) != expected)
      corrupt("exec_graph_worker ids are not 0, 1, ... (id " + std::to_string(workers.column_int(0)) + ")");
    WorkerKey key{workers.column_int(1), workers.column_int(2), -1};
    key.cpu = workers.column_is_null(3) ? -1 : workers.column_int(3);
    const std::string name = workers.column_text(4);
    if (g.find_worker(key)) corrupt("exec_graph_worker " + std::to_string(expected) + " repeats a worker");
    g.worker(key, name);
  }
  SqliteStatement vertices =
      db.prepare("SELECT id, worker_id, ts, state, qualifier FROM exec_graph_vertex ORDER BY id");
  for (int64_t expected = 0; vertices.step(); ++expected) {
    const std::string where = "exec_graph_vertex " + std::to_string(vertices.column_int(0));
    if (vertices.column_int(0) != expected) corrupt("exec_graph_vertex ids are not 0, 1, ... (" + where + ")");
    if (expected > static_cast<int64_t>(kNoVertex) - 1) corrupt("exec_graph_vertex has too many rows");
    const int64_t w = vertices.column_int(1), ts = vertices.column_int(2);
    if (w < 0 || w >= static_cast<int64_t>(g.workers().size())) corrupt(where + " has no worker " + std::to_string(w));
    if (ts < 0) corrupt(where + " has a negative ts");
    const WorkerId worker = static_cast<WorkerId>(w);
    const VertexId tail = g.workers()[worker].tail;
    const uint64_t t = static_cast<uint64_t>(ts);
    const bool has_state = !vertices.column_is_null(3);
    VertexId v = kNoVertex;
    if (tail != kNoVertex && g.vertex(tail).ts > t) corrupt(where + " is before its worker's previous vertex");
    if (!has_state) {
      if (tail != kNoVertex && g.vertex(tail).ts == t) corrupt(where + " repeats its worker's previous timestamp");
      v = g.add(worker, t);
    } else {
      const std::string name = vertices.column_text(3);
      const std::optional<EdgeState> state = edge_state_from_name(name);
      if (!state) corrupt(where + " has an unknown state `" + name + "`");
      if (tail == kNoVertex) corrupt(where + " has a state but is its worker's first vertex");
      if (*state == EdgeState::eps) {
        if (g.vertex(tail).ts != t) corrupt(where + " ends an eps edge that takes time");
        v = g.append_eps(worker);
      } else {
        if (g.vertex(tail).ts == t) corrupt(where + " repeats its worker's previous timestamp");
        v = g.append(worker, t, *state, vertices.column_is_null(4) ? std::string() : vertices.column_text(4));
      }
    }
    if (v != static_cast<VertexId>(expected)) corrupt(where + " could not be placed");
  }
  SqliteStatement links =
      db.prepare("SELECT from_vertex_id, to_vertex_id, state, qualifier FROM exec_graph_link ORDER BY rowid");
  for (int64_t row = 1; links.step(); ++row) {
    if (row % ExecGraph::kReleaseEveryVisit == 0) g.release();  // a link touches two vertices anywhere
    const std::string where = "exec_graph_link row " + std::to_string(row);
    const int64_t from = links.column_int(0), to = links.column_int(1);
    const int64_t n = static_cast<int64_t>(g.vertices().size());
    if (from < 0 || from >= n || to < 0 || to >= n) corrupt(where + " names a vertex that does not exist");
    const std::string name = links.column_text(2);
    const std::optional<EdgeState> state = edge_state_from_name(name);
    if (!state) corrupt(where + " has an unknown state `" + name + "`");
    if (!g.link(static_cast<VertexId>(from), static_cast<VertexId>(to), *state,
                links.column_is_null(3) ? std::string() : links.column_text(3)))
      corrupt(where + " is a second vertical edge on a vertex");
  }
  return g;
}

namespace {

void bind_worker(SqliteStatement& s, int machine, int tid, int cpu, const WorkerKey& k) {
  s.bind(machine, k.machine_id);
  s.bind(tid, k.tid);
  s.bind_or_null(cpu, k.cpu);
}

// A segment's or link's first four columns: its path, its rank and two times.
void bind_head(SqliteStatement& s, int64_t path_id, int64_t seq, uint64_t ts, uint64_t second) {
  s.bind(1, path_id);
  s.bind(2, seq);
  s.bind(3, as_int(ts));
  s.bind(4, as_int(second));
}

// The first vertex of a worker at or after `from`, or kNoVertex.
VertexId first_vertex_from(const ExecGraph& g, WorkerId w, uint64_t from) {
  VertexId v = g.workers()[w].head;
  for (uint64_t n = 1; v != kNoVertex && g.vertex(v).ts < from; ++n) {
    v = g.next_vertex(v);
    if (n % ExecGraph::kReleaseEveryVisit == 0) g.release();  // one worker's vertices: spread out
  }
  return v;
}

}  // namespace

CriticalPathOptions product_path_options() {
  CriticalPathOptions options = fused_path_options();
  options.resolved_states |= 1u << static_cast<unsigned>(EdgeState::preempted);
  options.unknown_before_waker = true;
  return options;
}

std::vector<std::string> write_critical_paths(const ExecGraph& g, const std::vector<SelectedWorker>& selected,
                                              int64_t first_id, const PathRange& range,
                                              const PrepareInsert& prepare, const CriticalPathOptions& options) {
  std::vector<std::string> diagnostics;
  SqliteStatement path =
      prepare("critical_path", {"id", "machine_id", "tid", "cpu", "name", "start_ts", "end_ts", "selector"});
  SqliteStatement segment = prepare("critical_path_segment", {"path_id", "seq", "ts", "dur", "machine_id", "tid",
                                                              "cpu", "state", "qualifier"});
  SqliteStatement link =
      prepare("critical_path_link", {"path_id", "seq", "ts", "to_ts", "from_machine_id", "from_tid", "from_cpu",
                                     "to_machine_id", "to_tid", "to_cpu", "state", "qualifier"});
  const uint64_t end_ts = range.to == std::numeric_limits<uint64_t>::max() ? range.to : range.to + 1;
  int64_t id = first_id;
  for (const SelectedWorker& s : selected) {
    const Worker& worker = g.workers()[s.worker];
    const std::string who = "the critical path of " + worker.name + " (machine " +
                            std::to_string(worker.key.machine_id) + " tid " + std::to_string(worker.key.tid) +
                            (worker.key.cpu >= 0 ? " cpu " + std::to_string(worker.key.cpu) : std::string()) + ")";
    const VertexId start = first_vertex_from(g, s.worker, range.from);
    if (start == kNoVertex || g.vertex(start).ts > range.to) {
      diagnostics.push_back(who + ": the thread has no vertex in the range asked for");
      continue;
    }
    // The rows are written as the path is found (the path of a long-lived thread is not held
    // whole in memory), then the path's own row.
    struct Rows : PathEmitter {
      SqliteStatement &segment_rows, &link_rows;
      int64_t id, segments = 0, links = 0;
      Rows(SqliteStatement& s, SqliteStatement& l, int64_t path_id) : segment_rows(s), link_rows(l), id(path_id) {}
      void segment(const PathSegment& x) override {
        bind_head(segment_rows, id, segments++, x.ts, x.dur);
        bind_worker(segment_rows, 5, 6, 7, x.worker);
        segment_rows.bind(8, edge_state_name(x.state));
        bind_text_or_null(segment_rows, 9, x.qualifier);
        segment_rows.run();
      }
      void link(const PathLink& x) override {
        bind_head(link_rows, id, links++, x.ts, x.to_ts);
        bind_worker(link_rows, 5, 6, 7, x.from);
        bind_worker(link_rows, 8, 9, 10, x.to);
        link_rows.bind(11, edge_state_name(x.state));
        bind_text_or_null(link_rows, 12, x.qualifier);
        link_rows.run();
      }
    } rows(segment, link, id);
    const CriticalPath cp = critical_path_until(g, start, end_ts, options, rows);
    constexpr size_t kMaxDiagnosticsPerPath = 20;
    for (size_t i = 0; i < cp.diagnostics.size() && i < kMaxDiagnosticsPerPath; ++i)
      diagnostics.push_back(who + ", path " + std::to_string(id) + ": " + cp.diagnostics[i]);
    if (cp.diagnostics.size() + cp.more_diagnostics > kMaxDiagnosticsPerPath)
      diagnostics.push_back(who + ", path " + std::to_string(id) + ": " +
                            std::to_string(cp.diagnostics.size() + cp.more_diagnostics - kMaxDiagnosticsPerPath) +
                            " more diagnostics");
    path.bind(1, id);
    bind_worker(path, 2, 3, 4, worker.key);
    path.bind_transient(5, worker.name);
    path.bind(6, as_int(cp.start_ts));
    path.bind(7, as_int(cp.end_ts));
    path.bind_transient(8, s.selector);
    path.run();
    ++id;
  }
  return diagnostics;
}

}  // namespace vm::graph
