// The `vm` plugin's descriptor: only the babeltrace2 macros live here (one translation unit,
// as babeltrace2's own plugins do). The component classes are in their folders.

#include <babeltrace2/babeltrace.h>

#include "fuse/fuse_filter.h"
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
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(
    sqlite,
    "Parameters:\n"
    "  path=\"FILE\"   the database to write (mandatory). It appears only when the run succeeds.\n"
    "\n"
    "Input: one time-ordered message stream, e.g. the output of filter.utils.muxer:\n"
    "  babeltrace2 TRACE -c sink.vm.sqlite -p 'path=\"out.db\"'\n"
    "Tables: machine, vcpu, vcpu_state, thread, trace, data_loss, event_stat, diagnostic, run;\n"
    "views: exit_stats, vcpu_state_share, preemption_by_thread. See the project's README.");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(sqlite, vm::sqlite_sink::initialize);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(sqlite, vm::sqlite_sink::finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(sqlite, vm::sqlite_sink::graph_is_configured);

BT_PLUGIN_FILTER_COMPONENT_CLASS(fuse, vm::fuse::iterator_next);
BT_PLUGIN_FILTER_COMPONENT_CLASS_DESCRIPTION(
    fuse, "Fuse and time-synchronize host and guest traces; tag events with machine, layer, vCPU and physical CPU");
BT_PLUGIN_FILTER_COMPONENT_CLASS_HELP(
    fuse,
    "Parameters:\n"
    "  reference=\"NAME\"  the machine whose clock is the reference (hostname or trace name;\n"
    "                     default: the top-level host)\n"
    "  sync=\"auto\"       synchronize from vmsync and TCP sync points (default), or \"identity\"\n"
    "\n"
    "Inputs: any number of streams of any number of traces (connect every source port):\n"
    "  babeltrace2 run -c host:source.ctf.fs -p 'inputs=[\"HOST\"]' -c guest:source.ctf.fs -p 'inputs=[\"GUEST\"]'\n"
    "    -c fuse:filter.vm.fuse -c out:sink.vm.sqlite -p 'path=\"out.db\"'\n"
    "    --connect=host:fuse --connect=guest:fuse --connect=fuse:out\n"
    "Output events carry vm_machine, vm_layer, vm_vcpu and vm_pcpu in their common context; output traces\n"
    "carry the sync transform as environment entries vm_sync_*.");
BT_PLUGIN_FILTER_COMPONENT_CLASS_INITIALIZE_METHOD(fuse, vm::fuse::initialize);
BT_PLUGIN_FILTER_COMPONENT_CLASS_FINALIZE_METHOD(fuse, vm::fuse::finalize);
BT_PLUGIN_FILTER_COMPONENT_CLASS_INPUT_PORT_CONNECTED_METHOD(fuse, vm::fuse::input_port_connected);
BT_PLUGIN_FILTER_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD(fuse, vm::fuse::iterator_initialize);
BT_PLUGIN_FILTER_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_FINALIZE_METHOD(fuse, vm::fuse::iterator_finalize);
BT_PLUGIN_FILTER_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHODS(fuse, vm::fuse::seek_beginning,
                                                                               vm::fuse::can_seek_beginning);
