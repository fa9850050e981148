// SPDX-License-Identifier: MIT
#include "ctf_read.h"

namespace vm::test {

GraphResult read_ctf(const std::vector<std::string>& trace_dirs, const MessageCheck& check) {
  GraphResult result;
  const bt_plugin* ctf = system_plugin("ctf");
  const bt_plugin* utils = system_plugin("utils");
  bt_graph* graph = bt_graph_create(0);
  const bt_component_filter* muxer = nullptr;
  bool built = ctf && utils &&
               bt_graph_add_filter_component(graph, bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer"),
                                             "mux", nullptr, BT_LOGGING_LEVEL_WARNING,
                                             &muxer) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
  for (size_t t = 0; built && t < trace_dirs.size(); ++t) {
    bt_value* params = bt_value_map_create();
    bt_value* inputs = nullptr;
    bt_value_map_insert_empty_array_entry(params, "inputs", &inputs);
    bt_value_array_append_string_element(inputs, trace_dirs[t].c_str());
    const bt_component_source* source = nullptr;
    built = bt_graph_add_source_component(graph, bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs"),
                                          ("src" + std::to_string(t)).c_str(), params, BT_LOGGING_LEVEL_WARNING,
                                          &source) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
    bt_value_put_ref(params);
    // The muxer always has one free input port: its last.
    for (uint64_t i = 0; built && i < bt_component_source_get_output_port_count(source); ++i)
      built = bt_graph_connect_ports(graph, bt_component_source_borrow_output_port_by_index_const(source, i),
                                     bt_component_filter_borrow_input_port_by_index_const(
                                         muxer, bt_component_filter_get_input_port_count(muxer) - 1),
                                     nullptr) == BT_GRAPH_CONNECT_PORTS_STATUS_OK;
  }
  const bt_component_sink* sink = nullptr;
  built = built && bt_graph_add_simple_sink_component(graph, "read", nullptr, consume_with_check, nullptr,
                                                       const_cast<MessageCheck*>(&check),
                                                       &sink) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
  built = built && bt_graph_connect_ports(graph, bt_component_filter_borrow_output_port_by_index_const(muxer, 0),
                                           bt_component_sink_borrow_input_port_by_index_const(sink, 0),
                                           nullptr) == BT_GRAPH_CONNECT_PORTS_STATUS_OK;
  run_graph(graph, built, result);
  bt_graph_put_ref(graph);
  bt_plugin_put_ref(ctf);
  bt_plugin_put_ref(utils);
  return result;
}

}  // namespace vm::test
