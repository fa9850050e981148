// SPDX-License-Identifier: MIT
// The critical-path selectors (path_selector.h) and the execution graph in the database
// (graph_store.h): parsing, selection, the graph's round trip through its tables, and the rows of
// one critical path. Each expected value is derived by hand in the comments.

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "analysis/graph/graph_store.h"
#include "analysis/graph/path_selector.h"
#include "db/sqlite_db.h"

namespace vm::graph {
namespace {

// The three forms (path_selector.h): all digits = a tid; TEXT/DIGITS = machine/tid; anything
// else = a command name. Blanks around a selector are dropped.
TEST(PathSelector, ParsesTheThreeForms) {
  PathSelector s = parse_selector(" 1234 ");
  EXPECT_EQ(s.kind, PathSelector::Kind::tid);
  EXPECT_EQ(s.tid, 1234);
  EXPECT_EQ(s.text, "1234");
  s = parse_selector("host/42");
  EXPECT_EQ(s.kind, PathSelector::Kind::machine_tid);
  EXPECT_EQ(s.machine, "host");
  EXPECT_EQ(s.tid, 42);
  s = parse_selector("2/0");
  EXPECT_EQ(s.kind, PathSelector::Kind::machine_tid);
  EXPECT_EQ(s.machine, "2");
  EXPECT_EQ(s.tid, 0);
  s = parse_selector("qemu-system-x86");
  EXPECT_EQ(s.kind, PathSelector::Kind::name);
  EXPECT_EQ(s.text, "qemu-system-x86");
  s = parse_selector("kworker/0:1");  // after the last `/` is not all digits: a name
  EXPECT_EQ(s.kind, PathSelector::Kind::name);
  // The largest pid_t is accepted.
  EXPECT_EQ(parse_selector("2147483647").tid, 2147483647);
}

TEST(PathSelector, RejectsMalformedSelectors) {
  for (const char* bad : {"", "   ", "-5", "host/", "/5", "host/-3", "2147483648", "99999999999999999999",
                          "a\tb\x01"}) {
    EXPECT_THROW(parse_selector(bad), std::invalid_argument) << "`" << bad << "`";
  }
  EXPECT_THROW(parse_selector(std::string(300, 'x')), std::invalid_argument);
  try {
    parse_selector("host/");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("host/"), std::string::npos);  // names the selector
    EXPECT_NE(std::string(e.what()).find("MACHINE/TID"), std::string::npos);  // and the forms
  }
}

TEST(PathSelector, ParsesCommaSeparatedLists) {
  std::vector<PathSelector> list = parse_selector_list("1, host/2,bash");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].kind, PathSelector::Kind::tid);
  EXPECT_EQ(list[1].kind, PathSelector::Kind::machine_tid);
  EXPECT_EQ(list[2].text, "bash");
  EXPECT_THROW(parse_selector_list("1,,2"), std::invalid_argument);
  EXPECT_THROW(parse_selector_list(""), std::invalid_argument);
  EXPECT_THROW(parse_selector_list("1,"), std::invalid_argument);
  std::string many;
  for (size_t i = 0; i <= kMaxSelectors; ++i) many += (i ? "," : "") + std::to_string(i + 1);
  EXPECT_THROW(parse_selector_list(many), std::invalid_argument);
}

// Workers: machine 1 "host" tid 10 bash, tid 20 ksoftirqd/0, swappers tid 0 on cpus 1 and 0,
// kernel/0 (tid -1); machine 2 "guest" tid 10 bash; machine 2 tid 30 without any vertex.
struct Fixture {
  ExecGraph g;
  WorkerId host_bash, host_ksoft, swap1, swap0, kernel0, guest_bash, empty;
  Fixture() {
    host_bash = g.worker({1, 10, -1}, "bash");
    host_ksoft = g.worker({1, 20, -1}, "ksoftirqd/0");
    swap1 = g.worker({1, 0, 1}, "swapper/1");
    swap0 = g.worker({1, 0, 0}, "swapper/0");
    kernel0 = g.worker({1, -1, 0}, "kernel/0");
    guest_bash = g.worker({2, 10, -1}, "bash");
    empty = g.worker({2, 30, -1}, "idle");
    for (WorkerId w : {host_bash, host_ksoft, swap1, swap0, kernel0, guest_bash}) g.add(w, 5);
  }
  const std::vector<MachineName> machines{{1, "host"}, {2, "guest"}};
};

std::vector<WorkerId> ids(const std::vector<SelectedWorker>& s) {
  std::vector<WorkerId> out;
  for (const SelectedWorker& x : s) out.push_back(x.worker);
  return out;
}

TEST(PathSelector, SelectsWorkers) {
  Fixture f;
  std::vector<std::string> unmatched;
  // tid 10: both machines, by machine id. tid 0: both swappers, cpu 0 first. Kernel workers never.
  auto got = select_workers(f.g, parse_selector_list("10,0,host/10,2/10"), f.machines, &unmatched);
  EXPECT_EQ(ids(got), (std::vector<WorkerId>{f.host_bash, f.guest_bash, f.swap0, f.swap1}));
  EXPECT_EQ(got[0].selector, "10");
  EXPECT_TRUE(unmatched.empty());
  // A name selects every thread of that name; the machine's name or its id.
  EXPECT_EQ(ids(select_workers(f.g, parse_selector_list("guest/10,bash"), f.machines, &unmatched)),
            (std::vector<WorkerId>{f.guest_bash, f.host_bash}));
  // `ksoftirqd/0`: no machine `ksoftirqd`, so the thread of that whole name.
  EXPECT_EQ(ids(select_workers(f.g, parse_selector_list("ksoftirqd/0"), f.machines, &unmatched)),
            (std::vector<WorkerId>{f.host_ksoft}));
  EXPECT_TRUE(unmatched.empty());
  // Nothing: an unknown tid, a thread without vertex, a machine without that tid, tid -1 never.
  EXPECT_TRUE(select_workers(f.g, parse_selector_list("77,30,idle,host/30,nomachine/10"), f.machines, &unmatched)
                  .empty());
  ASSERT_EQ(unmatched.size(), 5u);
  EXPECT_NE(unmatched[4].find("no machine is named `nomachine`"), std::string::npos);
}

// Edges of a graph as comparable tuples: (from, to, state, qualifier, vertical).
std::vector<std::tuple<VertexId, VertexId, int, std::string, bool>> edge_set(const ExecGraph& g) {
  std::vector<std::tuple<VertexId, VertexId, int, std::string, bool>> out;
  for (uint32_t i = 0; i < g.edges().size(); ++i) {
    const Edge& e = g.edges()[i];
    out.emplace_back(e.from, e.to, static_cast<int>(e.state), std::string(g.qualifier(e.qualifier)),
                     g.vertex(e.from).out_v == i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void create(SqliteConnection& db, db::SchemaObjects schema) {
  for (const db::SchemaObject& o : schema) db.exec(o.sql);
}

// A graph with every kind of vertex and edge: horizontal edges with and without qualifier, a gap
// (add()), a zero-duration EPS edge, vertical links between workers and on one worker, a kernel
// worker. graph -> tables -> graph gives the same workers, the same vertices under the same ids,
// and the same edges (compared as sets, with which are vertical).
TEST(GraphStore, RoundTrip) {
  ExecGraph g;
  const WorkerId a = g.worker({1, 100, -1}, "a"), b = g.worker({2, 200, -1}, "b"), k = g.worker({1, -1, 3}, "kernel/3");
  const VertexId a0 = g.add(a, 10);
  const VertexId b0 = g.add(b, 12);
  const VertexId a1 = g.append(a, 20, EdgeState::blocked);
  const VertexId b1 = g.append(b, 20, EdgeState::running, "irq 5");
  ASSERT_TRUE(g.link(b1, a1, EdgeState::deflt));
  const VertexId a2 = g.append_eps(a);  // a second vertex at 20
  const VertexId k0 = g.add(k, 21);
  ASSERT_TRUE(g.link(k0, a2, EdgeState::network, "tcp"));
  const VertexId b2 = g.add(b, 40);  // a gap on b
  const VertexId b3 = g.append(b, 50, EdgeState::vcpu_preempted);
  ASSERT_TRUE(g.link(b2, b3, EdgeState::ipi));  // a link on one worker
  (void)a0, (void)b0;

  SqliteConnection db(":memory:");
  create(db, exec_graph_schema());
  write_exec_graph(g, prepare_insert_on(db));
  const ExecGraph h = load_exec_graph(db);

  ASSERT_EQ(h.workers().size(), g.workers().size());
  for (size_t i = 0; i < g.workers().size(); ++i) {
    EXPECT_EQ(h.workers()[i].key, g.workers()[i].key);
    EXPECT_EQ(h.workers()[i].name, g.workers()[i].name);
    EXPECT_EQ(h.workers()[i].head, g.workers()[i].head);
    EXPECT_EQ(h.workers()[i].tail, g.workers()[i].tail);
  }
  ASSERT_EQ(h.vertices().size(), g.vertices().size());
  for (VertexId v = 0; v < g.vertices().size(); ++v) {
    EXPECT_EQ(h.vertex(v).ts, g.vertex(v).ts);
    EXPECT_EQ(h.vertex(v).worker, g.vertex(v).worker);
    EXPECT_EQ(h.next_vertex(v), g.next_vertex(v)) << v;  // the gap is kept
  }
  EXPECT_EQ(edge_set(h), edge_set(g));
  EXPECT_EQ(h.in_v(a2)->from, k0);
  EXPECT_EQ(h.next_vertex(b1), b2);

  // The interval view: b's running [12, 20) with its qualifier, then none across the gap.
  SqliteStatement q = db.prepare(
      "SELECT ts, dur, state, qualifier FROM exec_graph_interval WHERE worker_id = 1 ORDER BY ts");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int(0), 12);
  EXPECT_EQ(q.column_int(1), 8);
  EXPECT_EQ(q.column_text(2), "running");
  EXPECT_EQ(q.column_text(3), "irq 5");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_int(0), 40);
  EXPECT_EQ(q.column_text(2), "vcpu_preempted");
  EXPECT_FALSE(q.step());
}

// A database that is not a graph written by write_exec_graph() is refused with the row named.
TEST(GraphStore, RefusesInconsistentTables) {
  for (const char* rows : {
           "INSERT INTO exec_graph_worker VALUES(1, 1, 5, NULL, 'x')",                        // ids from 1
           "INSERT INTO exec_graph_worker VALUES(0, 1, 5, NULL, 'x');"
           "INSERT INTO exec_graph_vertex VALUES(0, 3, 10, NULL, NULL)",                      // no worker 3
           "INSERT INTO exec_graph_worker VALUES(0, 1, 5, NULL, 'x');"
           "INSERT INTO exec_graph_vertex VALUES(0, 0, 10, 'running', NULL)",                 // state on a head
           "INSERT INTO exec_graph_worker VALUES(0, 1, 5, NULL, 'x');"
           "INSERT INTO exec_graph_vertex VALUES(0, 0, 10, NULL, NULL);"
           "INSERT INTO exec_graph_vertex VALUES(1, 0, 5, 'running', NULL)",                  // back in time
           "INSERT INTO exec_graph_worker VALUES(0, 1, 5, NULL, 'x');"
           "INSERT INTO exec_graph_vertex VALUES(0, 0, 10, NULL, NULL);"
           "INSERT INTO exec_graph_vertex VALUES(1, 0, 20, 'sleeping', NULL)",                // unknown state
           "INSERT INTO exec_graph_worker VALUES(0, 1, 5, NULL, 'x');"
           "INSERT INTO exec_graph_vertex VALUES(0, 0, 10, NULL, NULL);"
           "INSERT INTO exec_graph_link VALUES(0, 7, 'default', NULL)",                       // no vertex 7
       }) {
    SqliteConnection db(":memory:");
    create(db, exec_graph_schema());
    db.exec(rows);
    EXPECT_THROW(load_exec_graph(db), std::runtime_error) << rows;
  }
}

// One path's rows. A runs [0, 10), blocks [10, 20) and is woken at 20 by B, which ran from 5 to
// 20. The bounded path (algorithms.md §7.3): A running [0, 10); the wait resolves through the
// link B@20 -> A@20 to B's running edge 5 -> 20, bounded at 10, so the path hands off to B at 10
// (a `default` link A@10 -> B@10), B running [10, 20), and back to A at 20 (the wake-up link).
TEST(GraphStore, WritesOnePathsRows) {
  ExecGraph g;
  const WorkerId a = g.worker({1, 100, -1}, "a"), b = g.worker({1, 200, -1}, "b");
  g.add(a, 0);
  g.add(b, 5);
  g.append(a, 10, EdgeState::running);
  const VertexId a2 = g.append(a, 20, EdgeState::blocked);
  const VertexId b1 = g.append(b, 20, EdgeState::running);
  ASSERT_TRUE(g.link(b1, a2));

  SqliteConnection db(":memory:");
  create(db, critical_path_schema());
  const std::vector<std::string> diagnostics =
      write_critical_paths(g, {SelectedWorker{a, "100"}}, 7, PathRange{}, prepare_insert_on(db));
  EXPECT_TRUE(diagnostics.empty());
  SqliteStatement p = db.prepare("SELECT id, machine_id, tid, name, start_ts, end_ts, cpu, selector FROM critical_path");
  ASSERT_TRUE(p.step());
  EXPECT_EQ(p.column_int(0), 7);
  EXPECT_EQ(p.column_int(2), 100);
  EXPECT_EQ(p.column_text(3), "a");
  EXPECT_EQ(p.column_int(4), 0);
  EXPECT_EQ(p.column_int(5), 20);
  EXPECT_TRUE(p.column_is_null(6));
  EXPECT_EQ(p.column_text(7), "100");
  EXPECT_FALSE(p.step());
  SqliteStatement s = db.prepare(
      "SELECT group_concat(seq || ':' || ts || '+' || dur || ':' || tid || ':' || state, ' ') "
      "FROM (SELECT * FROM critical_path_segment WHERE path_id = 7 ORDER BY seq)");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.column_text(0), "0:0+10:100:running 1:10+10:200:running");
  SqliteStatement l = db.prepare(
      "SELECT group_concat(seq || ':' || ts || ':' || from_tid || '>' || to_tid || ':' || state, ' ') "
      "FROM (SELECT * FROM critical_path_link WHERE path_id = 7 ORDER BY seq)");
  ASSERT_TRUE(l.step());
  EXPECT_EQ(l.column_text(0), "0:10:100>200:default 1:20:200>100:default");
  SqliteStatement v = db.prepare("SELECT tid, state, dur, percent FROM critical_path_summary ORDER BY tid");
  ASSERT_TRUE(v.step());
  EXPECT_EQ(v.column_int(0), 100);
  EXPECT_EQ(v.column_int(2), 10);
  EXPECT_EQ(v.column_text(3), "50.0");

  // --to 15: the path stops before A's first edge that ends after 15: A running [0, 10) only.
  SqliteConnection db2(":memory:");
  create(db2, critical_path_schema());
  write_critical_paths(g, {SelectedWorker{a, "100"}}, 1, PathRange{0, 15}, prepare_insert_on(db2));
  SqliteStatement p2 = db2.prepare("SELECT start_ts, end_ts, (SELECT COUNT(*) FROM critical_path_segment) FROM critical_path");
  ASSERT_TRUE(p2.step());
  EXPECT_EQ(p2.column_int(0), 0);
  EXPECT_EQ(p2.column_int(1), 10);
  EXPECT_EQ(p2.column_int(2), 1);
}

}  // namespace
}  // namespace vm::graph
