// SPDX-License-Identifier: MIT
#pragma once
// An expected execution graph, in the terms of critical-path-oracles.json's `conventions`:
// workers (host = the stub's file stem, tid; -1 = the CPU's kernel worker) with their vertex
// timestamps in order, horizontal edges (the state of the interval ending at `to`), vertical edges.

#include <cstdint>
#include <vector>

namespace vm::test {

struct OracleWorker {
  const char* host;
  int64_t tid;
  std::vector<uint64_t> vertices;
};
struct OracleHEdge {
  const char* host;
  int64_t tid;
  uint64_t from, to;
  const char* type;       // OSEdgeContextEnum name, upper case
  const char* qualifier;  // nullptr: none
};
struct OracleVEdge {
  const char* from_host;
  int64_t from_tid;
  uint64_t from;
  const char* to_host;
  int64_t to_tid;
  uint64_t to;
  const char* type;
  const char* qualifier;
};
struct OracleGraph {
  const char* id;
  std::vector<const char*> traces;  // stems under traces/tc-stubs/graph/, in the experiment's order
  std::vector<OracleWorker> workers;
  std::vector<OracleHEdge> horizontal;
  std::vector<OracleVEdge> vertical;
};

}  // namespace vm::test
