// SPDX-License-Identifier: MIT
#pragma once
// In-process babeltrace2 graphs for the tests: our plugin is loaded from its exact build file
// (VM_PLUGIN_PATH), the system's ctf and utils plugins by name (no search path can shadow them).

#include <babeltrace2/babeltrace.h>

#include <string>
#include <vector>

namespace vm::test {

struct GraphResult {
  bool ok = false;
  std::string error;  // every cause message, innermost last, one per line
};

// source.ctf.fs(inputs) -> filter.utils.muxer -> sink.vm.sqlite(params), run to the end.
// `sink_params` is a babeltrace2 parameter string as the CLI's --params takes it, e.g. path="x".
GraphResult run_sqlite_sink(const std::vector<std::string>& trace_dirs, const std::string& sink_params);

// Building blocks for other graphs.
bt_value* parse_params(const std::string& text);   // new reference
std::string take_error();                          // the current thread's error causes, cleared
const bt_plugin* load_vm_plugin();                 // borrowed, loaded once
const bt_plugin* system_plugin(const char* name);  // new reference
// Runs `graph` to the end when `built`; sets result.ok, and result.error from the error causes.
void run_graph(bt_graph* graph, bool built, GraphResult& result);

// The path of a trace the tests unpacked (tests/CMakeLists.txt: unpack_test_traces).
std::string test_data(const std::string& relative);
std::string source_dir(const std::string& relative);
std::string temp_db(const std::string& name);
bool file_exists(const std::string& path);

}  // namespace vm::test
