// SPDX-License-Identifier: MIT
// The critical paths of Trace Compass's DistributedCriticalPathTest (critical-path-oracles.json,
// the distributed.* tests' `critical_path` / `critical_paths`) computed on the OS execution graph
// *built from the converted stub traces* (traces/tc-stubs/graph/, read through babeltrace2 and the
// plugin's event reader: os_graph_reader.h), not on the transcribed expected graphs (that is
// CriticalPathOnExpectedGraph.* in tests/unit/critical_path_test.cpp). The oracle file is read at
// test time (tests/unit/oracle_graphs.h) and each path is compared with Trace Compass's
// GraphOps.checkEquality, made stricter (the vertex count of each worker too).
//
// Names: Oracles/OsGraphStubCriticalPath.<oracle id>; OsGraphStubCriticalPathOracles.AllCovered
// checks that every stub test of the file with a critical path is one of them.

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "analysis/graph/critical_path.h"
#include "oracle_graphs.h"
#include "os_graph_reader.h"

namespace vm::test {
namespace {

using graph::test::Json;

const char* const kPathOracles[] = {
    "distributed.network_exchange",
    "distributed.network_exchange_with_wifi",
    "distributed.network_exchange_one_trace",
    "distributed.network_exchange_one_trace_softirq",
};

std::string file_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

class OsGraphStubCriticalPath : public ::testing::TestWithParam<const char*> {};

TEST_P(OsGraphStubCriticalPath, MatchesTraceCompass) {
  const Json* t = graph::test::oracle_test(GetParam());
  ASSERT_NE(t, nullptr) << GetParam() << " is not in critical-path-oracles.json";
  // Machine i is the i-th trace of the experiment; the oracle names hosts by the stub's file name
  // (conventions.worker), the CTF conversion by its stem (its `hostname`).
  OsGraphReader reader;
  reader.fixed_hosts = true;
  graph::test::OracleGraph names;
  std::vector<std::string> dirs;
  for (const Json& trace : (*t)["traces"].items) {
    const std::string file = file_name(trace.text);
    ASSERT_EQ(file.substr(file.size() - 4), ".xml");
    const std::string stem = file.substr(0, file.size() - 4);
    names.machine_of_host[file] = int64_t(reader.hosts.size());
    reader.hosts.push_back(stem);
    dirs.push_back(source_dir("traces/tc-stubs/graph/" + stem));
  }
  const GraphResult result = read_traces(reader, dirs);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(reader.problem, "");
  std::vector<const Json*> paths;
  if (!(*t)["critical_path"].is_null()) paths.push_back(&(*t)["critical_path"]);
  for (const Json& p : (*t)["critical_paths"].items) paths.push_back(&p);
  ASSERT_FALSE(paths.empty());
  for (const Json* cp : paths) {
    const graph::WorkerKey key = names.key((*cp)["worker"]["host"], (*cp)["worker"]["tid"]);
    SCOPED_TRACE(std::string(GetParam()) + ", path of tid " + std::to_string(key.tid));
    const graph::WorkerId* worker = reader.graph.find_worker(key);
    ASSERT_NE(worker, nullptr);
    const graph::CriticalPath path = graph::critical_path_of(reader.graph, *worker);
    std::string text;
    for (const std::string& d : path.diagnostics) text += "\n  " + d;
    EXPECT_TRUE(path.diagnostics.empty()) << text;
    text.clear();
    for (const std::string& d : graph::test::compare_graph((*cp)["expected"], names, path.graph, true))
      text += "\n  " + d;
    EXPECT_EQ(text, "");
  }
}

INSTANTIATE_TEST_SUITE_P(Oracles, OsGraphStubCriticalPath, ::testing::ValuesIn(kPathOracles),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = std::string(info.param).substr(std::string("distributed.").size());
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// Every test of the oracle file on the graph stubs that gives a critical path is checked above.
TEST(OsGraphStubCriticalPathOracles, AllCovered) {
  std::set<std::string> listed(std::begin(kPathOracles), std::end(kPathOracles)), in_file;
  for (const Json& t : graph::test::oracles()["tests"].items) {
    bool stubs = !t["traces"].items.empty();
    for (const Json& trace : t["traces"].items) stubs &= trace.text.rfind("traces/tc-stubs/graph/", 0) == 0;
    if (stubs && (!t["critical_path"].is_null() || !t["critical_paths"].items.empty())) in_file.insert(t["id"].text);
  }
  EXPECT_EQ(in_file, listed);
}

}  // namespace
}  // namespace vm::test
