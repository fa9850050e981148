// SPDX-License-Identifier: MIT
#include "graph_fixture.h"

#include <unistd.h>

#include <stdexcept>

namespace vm::test {

// Minimal parser for `key="string"` / `key=true` lists (what the tests pass).
bt_value* parse_params(const std::string& text) {
  bt_value* map = bt_value_map_create();
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t eq = text.find('=', pos);
    if (eq == std::string::npos) break;
    const std::string key = text.substr(pos, eq - pos);
    size_t end;
    if (text[eq + 1] == '"') {
      end = text.find('"', eq + 2);
      bt_value_map_insert_string_entry(map, key.c_str(), text.substr(eq + 2, end - eq - 2).c_str());
      ++end;
    } else {
      end = text.find(',', eq);
      if (end == std::string::npos) end = text.size();
      const std::string value = text.substr(eq + 1, end - eq - 1);
      if (value == "true" || value == "false")
        bt_value_map_insert_bool_entry(map, key.c_str(), value == "true");
      else
        bt_value_map_insert_signed_integer_entry(map, key.c_str(), std::stoll(value));
    }
    pos = end;
    if (pos < text.size() && text[pos] == ',') ++pos;
  }
  return map;
}

std::string take_error() {
  const bt_error* error = bt_current_thread_take_error();
  if (!error) return {};
  std::string text;
  for (uint64_t i = 0; i < bt_error_get_cause_count(error); ++i) {
    text += bt_error_cause_get_message(bt_error_borrow_cause_by_index(error, i));
    text += '\n';
  }
  bt_error_release(error);
  return text;
}

void run_graph(bt_graph* graph, bool built, GraphResult& result) {
  if (built) {
    bt_graph_run_status status;
    do {
      status = bt_graph_run(graph);
    } while (status == BT_GRAPH_RUN_STATUS_AGAIN);
    result.ok = status == BT_GRAPH_RUN_STATUS_OK;
  }
  if (!result.ok) result.error = take_error();
}

const bt_plugin* load_vm_plugin() {
  static const bt_plugin* plugin = [] {
    const bt_plugin_set* set = nullptr;
    if (bt_plugin_find_all_from_file(VM_PLUGIN_PATH, BT_TRUE, &set) != BT_PLUGIN_FIND_ALL_FROM_FILE_STATUS_OK)
      throw std::runtime_error("cannot load " VM_PLUGIN_PATH);
    const bt_plugin* found = bt_plugin_set_borrow_plugin_by_index_const(set, 0);
    bt_plugin_get_ref(found);
    bt_plugin_set_put_ref(set);
    return found;
  }();
  return plugin;
}

const bt_plugin* system_plugin(const char* name) {
  const bt_plugin* plugin = nullptr;
  // Skip $BABELTRACE_PLUGIN_PATH and ~/.local: only the system's plugin.
  if (bt_plugin_find(name, BT_FALSE, BT_FALSE, BT_TRUE, BT_TRUE, BT_TRUE, &plugin) != BT_PLUGIN_FIND_STATUS_OK)
    throw std::runtime_error(std::string("cannot find babeltrace2 plugin ") + name);
  return plugin;
}

GraphResult run_sqlite_sink(const std::vector<std::string>& trace_dirs, const std::string& sink_params) {
  GraphResult result;
  const bt_plugin* ctf = system_plugin("ctf");
  const bt_plugin* utils = system_plugin("utils");
  bt_graph* graph = bt_graph_create(0);
  bt_value* source_params = bt_value_map_create();
  bt_value* inputs = nullptr;
  bt_value_map_insert_empty_array_entry(source_params, "inputs", &inputs);
  for (const std::string& dir : trace_dirs) bt_value_array_append_string_element(inputs, dir.c_str());
  bt_value* params = parse_params(sink_params);
  const bt_component_source* source = nullptr;
  const bt_component_filter* muxer = nullptr;
  const bt_component_sink* sink = nullptr;
  bool built =
      bt_graph_add_source_component(graph, bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs"), "src",
                                    source_params, BT_LOGGING_LEVEL_WARNING,
                                    &source) == BT_GRAPH_ADD_COMPONENT_STATUS_OK &&
      bt_graph_add_filter_component(graph, bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer"), "mux",
                                    nullptr, BT_LOGGING_LEVEL_WARNING, &muxer) == BT_GRAPH_ADD_COMPONENT_STATUS_OK &&
      bt_graph_add_sink_component(graph,
                                  bt_plugin_borrow_sink_component_class_by_name_const(load_vm_plugin(), "sqlite"), "vm",
                                  params, BT_LOGGING_LEVEL_ERROR, &sink) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
  if (built) {
    // ctf.fs has one output port per data stream; the muxer always keeps one free input port.
    for (uint64_t i = 0; i < bt_component_source_get_output_port_count(source); ++i) {
      const uint64_t free_port = bt_component_filter_get_input_port_count(muxer) - 1;
      built &= bt_graph_connect_ports(graph, bt_component_source_borrow_output_port_by_index_const(source, i),
                                      bt_component_filter_borrow_input_port_by_index_const(muxer, free_port),
                                      nullptr) == BT_GRAPH_CONNECT_PORTS_STATUS_OK;
    }
    built &= bt_graph_connect_ports(graph, bt_component_filter_borrow_output_port_by_index_const(muxer, 0),
                                    bt_component_sink_borrow_input_port_by_index_const(sink, 0),
                                    nullptr) == BT_GRAPH_CONNECT_PORTS_STATUS_OK;
  }
  run_graph(graph, built, result);
  bt_value_put_ref(params);
  bt_value_put_ref(source_params);
  bt_graph_put_ref(graph);  // finalizes the components (the sink removes an unfinished database)
  bt_plugin_put_ref(ctf);
  bt_plugin_put_ref(utils);
  return result;
}

std::string test_data(const std::string& relative) {
  return std::string(VM_TEST_DATA_DIR) + "/" + relative;
}
std::string source_dir(const std::string& relative) {
  return std::string(VM_SOURCE_DIR) + "/" + relative;
}
std::string temp_db(const std::string& name) {
  return std::string(VM_TEST_DATA_DIR) + "/" + name + "-" + std::to_string(::getpid()) + ".db";
}
bool file_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

}  // namespace vm::test
