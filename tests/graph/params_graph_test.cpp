// SPDX-License-Identifier: MIT
// Parameter values the CLI cannot write (NaN, infinities) and values at the edges of a range,
// given to source.vm.scenario in-process: a clean error naming the parameter, its value and the
// range from scenario/params.h, or success. The expected messages are written by hand from
// that list and bt_util.cpp's wording.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "graph_fixture.h"

namespace vm::test {
namespace {

// Adds source.vm.scenario with `params` (a reference taken) to a new graph: "" when it
// initializes, else its error causes.
std::string add_scenario(bt_value* params) {
  bt_graph* graph = bt_graph_create(0);
  const bt_component_source* component = nullptr;
  const bt_graph_add_component_status status = bt_graph_add_source_component(
      graph, bt_plugin_borrow_source_component_class_by_name_const(load_vm_plugin(), "scenario"), "src", params,
      BT_LOGGING_LEVEL_NONE, &component);
  const std::string error = status == BT_GRAPH_ADD_COMPONENT_STATUS_OK ? "" : take_error();
  bt_graph_put_ref(graph);
  bt_value_put_ref(params);
  return status == BT_GRAPH_ADD_COMPONENT_STATUS_OK ? "" : (error.empty() ? "failed without a cause" : error);
}

bt_value* with_real(const char* name, double value) {
  bt_value* params = bt_value_map_create();
  bt_value_map_insert_real_entry(params, name, value);
  return params;
}

TEST(ScenarioParams, NanIsOutOfEveryRange) {
  const std::string error = add_scenario(with_real("drift-ppm", std::nan("")));
  EXPECT_NE(error.find("parameter `drift-ppm` is nan, out of its range: it must be a number from 0 to 1000"),
            std::string::npos)
      << error;
}

TEST(ScenarioParams, InfinityIsOutOfRange) {
  const std::string error = add_scenario(with_real("host-irq-rate", std::numeric_limits<double>::infinity()));
  EXPECT_NE(error.find("parameter `host-irq-rate` is inf, out of its range: it must be a number from 0 to 100000"),
            std::string::npos)
      << error;
}

TEST(ScenarioParams, RealsJustOutsideTheRangeAreShownExactly) {
  const std::string error = add_scenario(with_real("drift-ppm", 1000.5));
  EXPECT_NE(error.find("parameter `drift-ppm` is 1000.5, out of its range"), std::string::npos) << error;
  const std::string negative = add_scenario(with_real("net-irq-rate", -0.25));
  EXPECT_NE(negative.find("parameter `net-irq-rate` is -0.25, out of its range"), std::string::npos) << negative;
}

TEST(ScenarioParams, TheRangesEdgesAreAccepted) {
  bt_value* params = bt_value_map_create();
  bt_value_map_insert_real_entry(params, "drift-ppm", 1000);
  bt_value_map_insert_signed_integer_entry(params, "clock-offset-ns", 1000000000);
  bt_value_map_insert_signed_integer_entry(params, "pcpus", 1);
  bt_value_map_insert_signed_integer_entry(params, "vms", 0);
  bt_value_map_insert_unsigned_integer_entry(params, "seed", 9223372036854775807ULL);
  EXPECT_EQ(add_scenario(params), "");
}

TEST(ScenarioParams, UnsignedIntegersBeyondInt64AreOutOfRange) {
  bt_value* params = bt_value_map_create();
  bt_value_map_insert_unsigned_integer_entry(params, "seed", 9223372036854775808ULL);
  const std::string error = add_scenario(params);
  EXPECT_NE(error.find("parameter `seed` is 9223372036854775808, out of its range: it must be an integer from 0 to "
                       "9223372036854775807"),
            std::string::npos)
      << error;
}

TEST(ScenarioParams, AnIntegerIsANumber) {
  bt_value* params = bt_value_map_create();
  bt_value_map_insert_signed_integer_entry(params, "exit-rate", 2000);
  EXPECT_EQ(add_scenario(params), "");
}

}  // namespace
}  // namespace vm::test
