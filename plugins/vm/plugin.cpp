// SPDX-License-Identifier: MIT
// The `vm` plugin's descriptor: only the babeltrace2 macros live here (one translation unit,
// as babeltrace2's own plugins do). The component classes are in their folders; each class's help
// is built from its parameter list (`params.h` in its folder).

#include <babeltrace2/babeltrace.h>

#include "fuse/fuse_filter.h"
#include "fuse/params.h"
#include "scenario/params.h"
#include "scenario/scenario_source.h"
#include "sqlite-sink/params.h"
#include "sqlite-sink/sqlite_sink.h"

// BT_PLUGIN_MODULE() defines the __bt_get_* getters babeltrace2 looks up with dlsym(). Under
// hidden visibility they would not be exported and dlsym() would find libbabeltrace2's own
// (empty) getters instead: the plugin would silently vanish (babeltrace2 2.0.4; fixed in 2.1).
#pragma GCC visibility push(default)
BT_PLUGIN_MODULE();
#pragma GCC visibility pop

BT_PLUGIN(vm);
BT_PLUGIN_DESCRIPTION("Analyses of KVM virtual machines from LTTng kernel traces: vCPU states, exits, preemption");
BT_PLUGIN_AUTHOR("The vm project");
BT_PLUGIN_LICENSE("MIT");
BT_PLUGIN_VERSION(0, 1, 0, "");

BT_PLUGIN_SINK_COMPONENT_CLASS(sqlite, vm::sqlite_sink::consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(sqlite,
                                           "Write vCPU state intervals, exits and preemptions to an SQLite database");
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(sqlite, VM_SQLITE_HELP);
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(sqlite, vm::sqlite_sink::initialize);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(sqlite, vm::sqlite_sink::finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(sqlite, vm::sqlite_sink::graph_is_configured);

BT_PLUGIN_FILTER_COMPONENT_CLASS(fuse, vm::fuse::iterator_next);
BT_PLUGIN_FILTER_COMPONENT_CLASS_DESCRIPTION(
    fuse, "Fuse and time-synchronize host and guest traces; tag events with machine, layer, vCPU and physical CPU");
BT_PLUGIN_FILTER_COMPONENT_CLASS_HELP(fuse, VM_FUSE_HELP);
BT_PLUGIN_FILTER_COMPONENT_CLASS_INITIALIZE_METHOD(fuse, vm::fuse::initialize);
BT_PLUGIN_FILTER_COMPONENT_CLASS_FINALIZE_METHOD(fuse, vm::fuse::finalize);
BT_PLUGIN_FILTER_COMPONENT_CLASS_INPUT_PORT_CONNECTED_METHOD(fuse, vm::fuse::input_port_connected);
BT_PLUGIN_FILTER_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD(fuse, vm::fuse::iterator_initialize);
BT_PLUGIN_FILTER_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_FINALIZE_METHOD(fuse, vm::fuse::iterator_finalize);
BT_PLUGIN_FILTER_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHODS(fuse, vm::fuse::seek_beginning,
                                                                               vm::fuse::can_seek_beginning);

BT_PLUGIN_SOURCE_COMPONENT_CLASS(scenario, vm::scenario::iterator_next);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_DESCRIPTION(
    scenario, "A seeded, simulated KVM host with its guests, emitted as the LTTng kernel traces they would record");
BT_PLUGIN_SOURCE_COMPONENT_CLASS_HELP(scenario, VM_SCENARIO_HELP);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_INITIALIZE_METHOD(scenario, vm::scenario::initialize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_FINALIZE_METHOD(scenario, vm::scenario::finalize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD(scenario, vm::scenario::iterator_initialize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_FINALIZE_METHOD(scenario, vm::scenario::iterator_finalize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHODS(scenario, vm::scenario::seek_beginning,
                                                                               vm::scenario::can_seek_beginning);
