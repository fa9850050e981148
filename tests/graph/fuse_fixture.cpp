// SPDX-License-Identifier: MIT
#include "fuse_fixture.h"

#include "relay_filter.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <stdexcept>

namespace vm::test {

bt_graph_simple_sink_component_consume_func_status consume_with_check(bt_message_iterator* iterator, void* data) {
  const auto& check = *static_cast<const MessageCheck*>(data);
  bt_message_array_const messages;
  uint64_t count = 0;
  switch (bt_message_iterator_next(iterator, &messages, &count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK: break;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END: return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN: return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
    default: return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
  }
  for (uint64_t i = 0; i < count; ++i) {
    check(messages[i]);
    bt_message_put_ref(messages[i]);
  }
  return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

int64_t message_ns(const bt_message* message) {
  if (bt_message_get_type(message) != BT_MESSAGE_TYPE_EVENT) return -1;
  int64_t ns = 0;
  bt_clock_snapshot_get_ns_from_origin(bt_message_event_borrow_default_clock_snapshot_const(message), &ns);
  return ns;
}

bool is_sync_event(const bt_message* message) {
  const bt_event_class* event_class = bt_event_borrow_class_const(bt_message_event_borrow_event_const(message));
  return std::string(bt_event_class_get_name(event_class)).rfind("vm_sync_", 0) == 0;
}

GraphResult run_fused(const std::vector<std::string>& traces, const std::string& fuse_params,
                      const std::string& sqlite_params, const MessageCheck& check, const FuseGraphOptions& options) {
  GraphResult result;
  const bt_plugin* ctf = system_plugin("ctf");
  bt_graph* graph = bt_graph_create(0);
  bool built = true;
  const bt_component_filter* fuse = nullptr;
  bt_value* fuse_values = parse_params(fuse_params);
  built &= bt_graph_add_filter_component(
               graph, bt_plugin_borrow_filter_component_class_by_name_const(load_vm_plugin(), "fuse"), "fuse",
               fuse_values, BT_LOGGING_LEVEL_ERROR, &fuse) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
  std::vector<const bt_port_output*> ports;
  for (size_t t = 0; built && t < traces.size(); ++t) {
    bt_value* params = bt_value_map_create();
    bt_value* inputs = nullptr;
    bt_value_map_insert_empty_array_entry(params, "inputs", &inputs);
    bt_value_array_append_string_element(inputs, traces[t].c_str());
    if (t < options.clock_offset_ns.size())
      bt_value_map_insert_signed_integer_entry(params, "clock-class-offset-ns", options.clock_offset_ns[t]);
    const bt_component_source* source = nullptr;
    built &= bt_graph_add_source_component(graph, bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs"),
                                           ("src" + std::to_string(t)).c_str(), params, BT_LOGGING_LEVEL_WARNING,
                                           &source) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
    bt_value_put_ref(params);
    for (uint64_t i = 0; built && i < bt_component_source_get_output_port_count(source); ++i)
      ports.push_back(bt_component_source_borrow_output_port_by_index_const(source, i));
  }
  if (options.shuffle_seed) std::shuffle(ports.begin(), ports.end(), std::mt19937(options.shuffle_seed));
  for (size_t p = 0; built && options.live_like && p < ports.size(); ++p) {
    const bt_component_filter* relay = nullptr;
    built &= bt_graph_add_filter_component(graph, relay_filter_class(), ("relay" + std::to_string(p)).c_str(), nullptr,
                                           BT_LOGGING_LEVEL_WARNING, &relay) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
    built &= built && bt_graph_connect_ports(graph, ports[p], bt_component_filter_borrow_input_port_by_index_const(relay, 0),
                                             nullptr) == BT_GRAPH_CONNECT_PORTS_STATUS_OK;
    if (built) ports[p] = bt_component_filter_borrow_output_port_by_index_const(relay, 0);
  }
  const bt_component_filter* target = fuse;
  if (built && options.premux) {
    const bt_plugin* utils = system_plugin("utils");
    const bt_component_filter* muxer = nullptr;
    built &= bt_graph_add_filter_component(graph, bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer"),
                                           "mux", nullptr, BT_LOGGING_LEVEL_WARNING,
                                           &muxer) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
    bt_plugin_put_ref(utils);
    built &= bt_graph_connect_ports(graph, bt_component_filter_borrow_output_port_by_index_const(muxer, 0),
                                    bt_component_filter_borrow_input_port_by_index_const(fuse, 0),
                                    nullptr) == BT_GRAPH_CONNECT_PORTS_STATUS_OK;
    target = muxer;
  }
  for (const bt_port_output* port : ports) {
    if (!built) break;
    const uint64_t free_port = bt_component_filter_get_input_port_count(target) - 1;
    built &=
        bt_graph_connect_ports(graph, port, bt_component_filter_borrow_input_port_by_index_const(target, free_port),
                               nullptr) == BT_GRAPH_CONNECT_PORTS_STATUS_OK;
  }
  const bt_port_input* sink_port = nullptr;
  bt_value* sink_values = nullptr;
  if (built && check) {
    const bt_component_sink* sink = nullptr;
    built &= bt_graph_add_simple_sink_component(graph, "check", nullptr, consume_with_check, nullptr,
                                                const_cast<MessageCheck*>(&check),
                                                &sink) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
    if (built) sink_port = bt_component_sink_borrow_input_port_by_index_const(sink, 0);
  } else if (built) {
    sink_values = parse_params(sqlite_params);
    const bt_component_sink* sink = nullptr;
    built &= bt_graph_add_sink_component(
                 graph, bt_plugin_borrow_sink_component_class_by_name_const(load_vm_plugin(), "sqlite"), "vm",
                 sink_values, BT_LOGGING_LEVEL_ERROR, &sink) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
    if (built) sink_port = bt_component_sink_borrow_input_port_by_index_const(sink, 0);
  }
  if (built)
    built &= bt_graph_connect_ports(graph, bt_component_filter_borrow_output_port_by_index_const(fuse, 0), sink_port,
                                    nullptr) == BT_GRAPH_CONNECT_PORTS_STATUS_OK;
  run_graph(graph, built, result);
  bt_value_put_ref(fuse_values);
  bt_value_put_ref(sink_values);
  bt_graph_put_ref(graph);
  bt_plugin_put_ref(ctf);
  return result;
}

GraphResult fuse_one_qemu_kvm(const std::string& db, const std::string& fuse_params) {
  std::remove(db.c_str());
  return run_fused({source_dir("traces/tc-stubs/OneQemuKvm/host"), source_dir("traces/tc-stubs/OneQemuKvm/guest")},
                   fuse_params, "path=\"" + db + "\"");
}

namespace {
// The rows of `sql` on an open database, columns joined by '|' (an SQL error: one row "SQL error: ...").
std::vector<std::string> rows_of(sqlite3* db, const std::string& sql) {
  std::vector<std::string> rows;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* text = sqlite3_column_text(stmt, i);
        row += (i ? "|" : "") + std::string(text ? reinterpret_cast<const char*>(text) : "NULL");
      }
      rows.push_back(row);
    }
  } else {
    rows.push_back(std::string("SQL error: ") + sqlite3_errmsg(db));
  }
  sqlite3_finalize(stmt);
  return rows;
}
}  // namespace

std::vector<std::string> query_rows(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return {};
  }
  std::vector<std::string> rows = rows_of(db, sql);
  sqlite3_close(db);
  return rows;
}

std::vector<std::string> query_rows_attached(const std::string& db_path, const std::string& other_path,
                                             const std::string& alias, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return {"SQL error: cannot open " + db_path};
  }
  std::vector<std::string> rows = rows_of(db, "ATTACH DATABASE 'file:" + other_path + "?mode=ro' AS " + alias);
  if (rows.empty()) rows = rows_of(db, sql);
  sqlite3_close(db);
  return rows;
}

std::string query_one(const std::string& db_path, const std::string& sql) {
  const std::vector<std::string> rows = query_rows(db_path, sql);
  return rows.empty() ? "<no row>" : rows.front();
}

}  // namespace vm::test
