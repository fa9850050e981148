// SPDX-License-Identifier: MIT
#pragma once
// The execution-graph oracles of ../shared/research/critical-path-oracles.json, read at test time
// (so the tests cannot drift from the file): a small JSON reader for that file alone, the
// building of an ExecGraph from a {workers, horizontal_edges, vertical_edges} object, and the
// comparison of Trace Compass's GraphOps.checkEquality (the JSON's conventions.comparison).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "analysis/graph/exec_graph.h"

namespace vm::graph::test {

// A JSON value (numbers are the file's integers; a fraction is kept in `real`).
struct Json {
  enum class Kind { null, boolean, number, string, array, object } kind = Kind::null;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  bool is_null() const { return kind == Kind::null; }
  // The member `key`, or a null value.
  const Json& operator[](std::string_view key) const;
};

// Parses `text`; throws std::runtime_error with the offset on malformed input.
Json parse_json(std::string_view text);
// The oracle file (VM_SHARED_DIR/research/critical-path-oracles.json), read once; throws when
// it cannot be read.
const Json& oracles();
// The test of the oracle file with this id, or nullptr.
const Json* oracle_test(std::string_view id);

// An ExecGraph built from one oracle graph object, with its vertices by (host, tid, ts).
struct OracleGraph {
  ExecGraph graph;
  std::map<std::string, int64_t> machine_of_host;  // host string ("" for null) -> machine id
  std::map<std::tuple<int64_t, int64_t, uint64_t>, VertexId> vertex_at;  // (machine, tid, ts)
  WorkerKey key(const Json& host, const Json& tid);
};
// Builds `g` from the oracle's object; a problem (an edge between vertices it does not list, a
// refused link) is returned as text, empty when none.
std::string build_graph(const Json& object, OracleGraph& g);

// GraphOps.checkEquality(expected, actual): the differences, one line each (empty: equal).
// `strict_vertex_count` also compares the number of vertices of each worker.
std::vector<std::string> compare_graph(const Json& expected, OracleGraph& names, const ExecGraph& actual,
                                       bool strict_vertex_count);

}  // namespace vm::graph::test
