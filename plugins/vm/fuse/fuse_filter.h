#pragma once
// filter.vm.fuse: fuses and time-synchronizes host and guest message streams, and tags every
// event with its machine, layer, vCPU and physical CPU. The component methods are in
// fuse_component.cpp, the message iterator methods in fuse_iterator.cpp.

#include <babeltrace2/babeltrace.h>

namespace vm::fuse {

bt_component_class_initialize_method_status initialize(bt_self_component_filter* self,
                                                       bt_self_component_filter_configuration* config,
                                                       const bt_value* params, void* init_data);
void finalize(bt_self_component_filter* self);
bt_component_class_port_connected_method_status input_port_connected(bt_self_component_filter* self,
                                                                     bt_self_component_port_input* port,
                                                                     const bt_port_output* other);
bt_message_iterator_class_initialize_method_status iterator_initialize(bt_self_message_iterator* self,
                                                                       bt_self_message_iterator_configuration* config,
                                                                       bt_self_component_port_output* port);
void iterator_finalize(bt_self_message_iterator* self);
bt_message_iterator_class_next_method_status iterator_next(bt_self_message_iterator* self,
                                                           bt_message_array_const messages, uint64_t capacity,
                                                           uint64_t* count);
bt_message_iterator_class_can_seek_beginning_method_status can_seek_beginning(bt_self_message_iterator* self,
                                                                              bt_bool* can_seek);
bt_message_iterator_class_seek_beginning_method_status seek_beginning(bt_self_message_iterator* self);

}  // namespace vm::fuse
