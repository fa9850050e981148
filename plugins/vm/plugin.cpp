// The `vm` plugin's descriptor: only the babeltrace2 macros live here (one translation unit,
// as babeltrace2's own plugins do). The component classes are in their folders.

#include <babeltrace2/babeltrace.h>

#include "fuse/fuse_filter.h"
#include "schema_help.h"  // generated: VM_SQLITE_SCHEMA_HELP
#include "scenario/scenario_source.h"
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
    "\n" VM_SQLITE_SCHEMA_HELP "See the project's README.");
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

BT_PLUGIN_SOURCE_COMPONENT_CLASS(scenario, vm::scenario::iterator_next);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_DESCRIPTION(
    scenario, "A seeded, simulated KVM host with its guests, emitted as the LTTng kernel traces they would record");
BT_PLUGIN_SOURCE_COMPONENT_CLASS_HELP(
    scenario,
    "Parameters (all optional):\n"
    "  seed=N              random seed (default 1): the same seed gives the same traces\n"
    "  pcpus=N             physical CPUs of the host (default 2)\n"
    "  vms=N               VMs on the host, named vm1, vm2, ... (default 2)\n"
    "  vcpus-per-vm=N      vCPUs of each VM (default 2); more vCPUs than pcpus overcommits\n"
    "  guest-threads=N     worker threads in each guest (default 3)\n"
    "  host-threads=N      host tasks besides the vCPU threads (default 2)\n"
    "  exit-rate=X         random VM exits per second of guest mode, per vCPU (default 5000)\n"
    "  host-irq-rate=X     device interrupts per second per physical CPU (default 500)\n"
    "  exit-mix=\"R:W,...\"  weights of the random exits' reasons (default: 30% EPT_VIOLATION, 20% IO,\n"
    "                      20% MSR_WRITE, 10% CPUID, 10% APIC_ACCESS, 10% EPT_MISCONFIG), e.g.\n"
    "                      \"MSR:3,IO:1,NPF:2,CPUID:0.5\"; names (written as VMX codes): MSR (= MSR_WRITE),\n"
    "                      MSR_READ, IO (= IOIO, IO_INSTRUCTION), NPF (= EPT_VIOLATION), EPT_MISCONFIG,\n"
    "                      CPUID, APIC_ACCESS, PAUSE\n"
    "  time-slice-ns=N     scheduler time slice (default 3000000)\n"
    "  nested=BOOL         an L2 guest vm1-l2 inside vm1 (default false)\n"
    "  nested-vcpus=N      vCPUs of the nested guest (default 1)\n"
    "  clock-offset-ns=N   magnitude of the guests' clock offsets (default 300000000, at most 1 s)\n"
    "  drift-ppm=X         magnitude of the guests' clock drifts (default 20)\n"
    "  duration-ns=N       simulated time (default 1000000000)\n"
    "  events=N            instead: stop once about N events are recorded, all traces together\n"
    "  naming=\"new\"|\"old\"  kvm_x86_entry/kvm_x86_exit (default) or kvm_entry/kvm_exit\n"
    "  disk-irq-rate=X     virtio-blk interrupts per second per VM (default 0): the parent injects\n"
    "                      vector 34 (kvm_x86_inj_virq), the guest runs irq 25 \"virtio0-requests\"\n"
    "                      (irq_handler_entry/exit) and wakes a worker blocked in read() on it\n"
    "  net-irq-rate=X      virtio-net interrupts per second per VM (default 0): vector 36, irq 27\n"
    "                      \"virtio1-input.0\"; with either rate, half of the guest workers' sleeps\n"
    "                      become blocking reads (syscall_entry_read) woken by the device\n"
    "  containers=N        PID-namespace containers in each guest (default 0): container c's init is\n"
    "                      tid 400+c (vtid 1, ns_inum 4026532000+32*machine+c; an odd c nests in c-1);\n"
    "                      odd guest workers live in containers, some forked (sched_process_fork with\n"
    "                      vtids, parent_ns_inum, child_ns_inum) right after the statedump\n"
    "  statedump=\"lm212\"|\"lm211\"  namespace levels in lttng_statedump_process_pid_ns (2.12+, default;\n"
    "                      only with containers) or in lttng_statedump_process_state, one event per\n"
    "                      level, deepest first (2.7-2.11)\n"
    "  truth=\"FILE\"       write the truth to this SQLite file: vCPU states (as sink.vm.sqlite's\n"
    "                      vcpu_state), CPUs, guest-to-VM map, clock transforms, parameters; with\n"
    "                      containers: container, container_thread (as sink.vm.sqlite's, by hostname);\n"
    "                      with device interrupts: guest_irq (each handled interrupt, the thread it woke)\n"
    "\n"
    "Output: one port per machine (host, vm1, vm2, ..., vm1-l2), one stream per CPU. As CTF:\n"
    "  babeltrace2 run -c src:source.vm.scenario -p 'vms=2,nested=true' -c mux:filter.utils.muxer\n"
    "    -c out:sink.ctf.fs -p 'path=\"DIR\"' -x src:mux -x mux:out\n"
    "See scripts/make-scenario.sh.");
BT_PLUGIN_SOURCE_COMPONENT_CLASS_INITIALIZE_METHOD(scenario, vm::scenario::initialize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_FINALIZE_METHOD(scenario, vm::scenario::finalize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD(scenario, vm::scenario::iterator_initialize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_FINALIZE_METHOD(scenario, vm::scenario::iterator_finalize);
BT_PLUGIN_SOURCE_COMPONENT_CLASS_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHODS(scenario, vm::scenario::seek_beginning,
                                                                               vm::scenario::can_seek_beginning);
