#pragma once
// sink.vm.sqlite: runs the analyses on one time-ordered message stream and writes the database.

#include <babeltrace2/babeltrace.h>

namespace vm::sqlite_sink {

bt_component_class_initialize_method_status initialize(bt_self_component_sink* self,
                                                       bt_self_component_sink_configuration* config,
                                                       const bt_value* params, void* init_data);
void finalize(bt_self_component_sink* self);
bt_component_class_sink_graph_is_configured_method_status graph_is_configured(bt_self_component_sink* self);
bt_component_class_sink_consume_method_status consume(bt_self_component_sink* self);

}  // namespace vm::sqlite_sink
