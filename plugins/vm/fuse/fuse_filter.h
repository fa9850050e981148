// SPDX-License-Identifier: MIT
#pragma once
// filter.vm.fuse: fuses and time-synchronizes host and guest message streams, and tags every
// event with its machine, layer, vCPU and physical CPU. The component methods are in
// fuse_component.cpp, the message iterator methods in fuse_iterator.cpp.

#include "bt_method.h"

namespace vm::fuse {

bt::Method<bt_component_class_filter_initialize_method> initialize;
bt::Method<bt_component_class_filter_finalize_method> finalize;
bt::Method<bt_component_class_filter_input_port_connected_method> input_port_connected;
VM_BT_ITERATOR_METHODS;

}  // namespace vm::fuse
