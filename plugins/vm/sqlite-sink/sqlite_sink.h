// SPDX-License-Identifier: MIT
#pragma once
// sink.vm.sqlite: runs the analyses on one time-ordered message stream and writes the database.

#include "bt_method.h"

namespace vm::sqlite_sink {

bt::Method<bt_component_class_sink_initialize_method> initialize;
bt::Method<bt_component_class_sink_finalize_method> finalize;
bt::Method<bt_component_class_sink_graph_is_configured_method> graph_is_configured;
bt::Method<bt_component_class_sink_consume_method> consume;

}  // namespace vm::sqlite_sink
