#pragma once
// source.vm.scenario: a deterministic, seeded KVM host with its guests (common/sim/scenario_model.h),
// emitted as the LTTng kernel traces they would record: one trace per machine, one output port
// per trace, one stream per CPU.

#include <babeltrace2/babeltrace.h>

namespace vm::scenario {

bt_component_class_initialize_method_status initialize(bt_self_component_source* self,
                                                       bt_self_component_source_configuration* config,
                                                       const bt_value* params, void* init_data);
void finalize(bt_self_component_source* self);

bt_message_iterator_class_initialize_method_status iterator_initialize(
    bt_self_message_iterator* self, bt_self_message_iterator_configuration* config,
    bt_self_component_port_output* port);
void iterator_finalize(bt_self_message_iterator* self);
bt_message_iterator_class_next_method_status iterator_next(bt_self_message_iterator* self,
                                                           bt_message_array_const messages, uint64_t capacity,
                                                           uint64_t* count);
bt_message_iterator_class_seek_beginning_method_status seek_beginning(bt_self_message_iterator* self);
bt_message_iterator_class_can_seek_beginning_method_status can_seek_beginning(bt_self_message_iterator* self,
                                                                               bt_bool* can_seek);

}  // namespace vm::scenario
