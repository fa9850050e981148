// SPDX-License-Identifier: MIT
// source.vm.scenario in-process: its message iterator seeks back to the beginning (a restart
// of the deterministic model), and bad parameters end in an error with a message.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "graph_fixture.h"

namespace vm::test {
namespace {

// What the test sink saw: one line per message (its type, clock snapshot and event name), for
// the first pass and for the pass after seeking the beginning.
struct Passes {
  bool could_seek = false;
  std::vector<std::string> first, second;
};

std::string describe(const bt_message* message) {
  const bt_message_type type = bt_message_get_type(message);
  std::string text = std::to_string(static_cast<int>(type));
  const bt_clock_snapshot* snapshot = nullptr;
  if (type == BT_MESSAGE_TYPE_EVENT) {
    snapshot = bt_message_event_borrow_default_clock_snapshot_const(message);
    text += std::string(" ") +
            bt_event_class_get_name(bt_event_borrow_class_const(bt_message_event_borrow_event_const(message)));
  } else if (type == BT_MESSAGE_TYPE_PACKET_BEGINNING) {
    snapshot = bt_message_packet_beginning_borrow_default_clock_snapshot_const(message);
  } else if (type == BT_MESSAGE_TYPE_PACKET_END) {
    snapshot = bt_message_packet_end_borrow_default_clock_snapshot_const(message);
  }
  if (snapshot) text += " @" + std::to_string(bt_clock_snapshot_get_value(snapshot));
  return text;
}

// Reads `iterator` to its end into `out`; false on an error.
bool drain(bt_message_iterator* iterator, std::vector<std::string>& out) {
  for (;;) {
    bt_message_array_const messages;
    uint64_t count = 0;
    const bt_message_iterator_next_status status = bt_message_iterator_next(iterator, &messages, &count);
    if (status == BT_MESSAGE_ITERATOR_NEXT_STATUS_END) return true;
    if (status == BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN) continue;
    if (status != BT_MESSAGE_ITERATOR_NEXT_STATUS_OK) return false;
    for (uint64_t i = 0; i < count; ++i) {
      out.push_back(describe(messages[i]));
      bt_message_put_ref(messages[i]);
    }
  }
}

bt_component_class_sink_consume_method_status consume(bt_self_component_sink* self) {
  auto* passes = static_cast<Passes*>(bt_self_component_get_data(bt_self_component_sink_as_self_component(self)));
  bt_message_iterator* iterator = nullptr;
  if (bt_message_iterator_create_from_sink_component(self, bt_self_component_sink_borrow_input_port_by_index(self, 0),
                                                     &iterator) !=
      BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK)
    return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
  bool ok = drain(iterator, passes->first);
  bt_bool can_seek = BT_FALSE;
  ok = ok &&
       bt_message_iterator_can_seek_beginning(iterator, &can_seek) == BT_MESSAGE_ITERATOR_CAN_SEEK_BEGINNING_STATUS_OK;
  passes->could_seek = can_seek;
  if (ok && can_seek)
    ok = bt_message_iterator_seek_beginning(iterator) == BT_MESSAGE_ITERATOR_SEEK_BEGINNING_STATUS_OK &&
         drain(iterator, passes->second);
  bt_message_iterator_put_ref(iterator);
  return ok ? BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END : BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
}

bt_component_class_initialize_method_status initialize(bt_self_component_sink* self,
                                                       bt_self_component_sink_configuration*, const bt_value*,
                                                       void* data) {
  bt_self_component_set_data(bt_self_component_sink_as_self_component(self), data);
  if (bt_self_component_sink_add_input_port(self, "in", nullptr, nullptr) != BT_SELF_COMPONENT_ADD_PORT_STATUS_OK)
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
  return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

// source.vm.scenario(params), its port `machine` into the test sink, run to the end.
GraphResult run_scenario(const std::string& params, const char* machine, Passes& passes) {
  GraphResult result;
  bt_component_class_sink* sink_class = bt_component_class_sink_create("seek-test", consume);
  bt_component_class_sink_set_initialize_method(sink_class, initialize);
  bt_graph* graph = bt_graph_create(0);
  bt_value* source_params = parse_params(params);
  const bt_component_source* source = nullptr;
  const bt_component_sink* sink = nullptr;
  bool built = bt_graph_add_source_component(
                   graph, bt_plugin_borrow_source_component_class_by_name_const(load_vm_plugin(), "scenario"), "src",
                   source_params, BT_LOGGING_LEVEL_ERROR, &source) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
  built = built && bt_graph_add_sink_component_with_initialize_method_data(graph, sink_class, "sink", nullptr, &passes,
                                                                           BT_LOGGING_LEVEL_ERROR,
                                                                           &sink) == BT_GRAPH_ADD_COMPONENT_STATUS_OK;
  const bt_port_output* port = built ? bt_component_source_borrow_output_port_by_name_const(source, machine) : nullptr;
  built = built && port &&
          bt_graph_connect_ports(graph, port, bt_component_sink_borrow_input_port_by_index_const(sink, 0), nullptr) ==
              BT_GRAPH_CONNECT_PORTS_STATUS_OK;
  run_graph(graph, built, result);
  bt_value_put_ref(source_params);
  bt_graph_put_ref(graph);
  bt_component_class_sink_put_ref(sink_class);
  return result;
}

size_t count_type(const std::vector<std::string>& lines, bt_message_type type) {
  size_t n = 0;
  for (const std::string& line : lines) n += line.substr(0, line.find(' ')) == std::to_string(static_cast<int>(type));
  return n;
}

// Seeking the beginning restarts the model: the second pass is the first one again, message by
// message. Each of vm1's 3 CPUs (vcpus-per-vm=3) is one stream, begun and ended once per pass.
TEST(ScenarioSource, SeekBeginningReplaysTheSameMessages) {
  Passes passes;
  const GraphResult result =
      run_scenario("seed=3,vms=1,pcpus=2,vcpus-per-vm=3,containers=1,events=4000", "vm1", passes);
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_TRUE(passes.could_seek);
  EXPECT_EQ(count_type(passes.first, BT_MESSAGE_TYPE_STREAM_BEGINNING), 3u);
  EXPECT_EQ(count_type(passes.first, BT_MESSAGE_TYPE_STREAM_END), 3u);
  EXPECT_GT(count_type(passes.first, BT_MESSAGE_TYPE_EVENT), 100u);
  EXPECT_EQ(passes.second, passes.first);
}

// Bad parameters: the component does not initialize, and the error says which parameter.
TEST(ScenarioSource, BadParametersEndInAnErrorNamingTheParameter) {
  for (const char* params : {"pcpus=0", "vms=99", "no-such-parameter=1", "naming=\"older\""}) {
    Passes passes;
    const GraphResult result = run_scenario(params, "host", passes);
    EXPECT_FALSE(result.ok) << params;
    const std::string key = std::string(params).substr(0, std::string(params).find('='));
    EXPECT_NE(result.error.find(key), std::string::npos) << params << ": " << result.error;
  }
}

}  // namespace
}  // namespace vm::test
