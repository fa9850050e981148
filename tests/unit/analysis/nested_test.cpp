// SPDX-License-Identifier: MIT
// Nested guests from the host alone (common/kvm/nested_layers.cpp): hand-built typed-event streams
// of one vCPU thread of an L1 hypervisor into a vm::Run, the vcpu_state layers, the nested exits'
// fate and the nested_vcpu_time view out. Each expected row is derived in the comment above it.

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "analysis/run.h"
#include "db/sqlite_db.h"
#include "db_check.h"

namespace vm {
namespace {

constexpr int64_t kSvm = 2, kVmx = 1;
constexpr int64_t kVmrun = 0x80, kVmload = 0x82, kMsr = 0x7c, kIoio = 0x7b, kVintr = 0x64, kNpf = 0x400;

Event on_vcpu(Timestamp ts, EventKind kind, EventPayload payload) {
  Event event;
  event.kind = kind;
  event.ctx.ts = ts;
  event.ctx.cpu = 0;
  event.ctx.tid = 1001;  // the vCPU thread of QEMU process 1000 (tid/pid contexts)
  event.ctx.pid = 1000;
  event.ctx.procname = "CPU 0/KVM";
  event.payload = payload;
  return event;
}
Event entry(Timestamp ts) {
  return on_vcpu(ts, EventKind::kvm_entry, KvmEntry{0});
}
Event exit(Timestamp ts, int64_t reason, int64_t isa = kSvm) {
  return on_vcpu(ts, EventKind::kvm_exit, KvmExit{reason, isa, 0});
}
Event vmenter(Timestamp ts) {
  return on_vcpu(ts, EventKind::kvm_nested_vmenter, KvmNestedVmenter{kSvm});
}
Event vmexit(Timestamp ts, int64_t reason) {
  return on_vcpu(ts, EventKind::kvm_nested_vmexit, KvmNestedVmexit{reason, kSvm});
}
Event inject(Timestamp ts, int64_t reason) {
  return on_vcpu(ts, EventKind::kvm_nested_vmexit_inject, KvmNestedVmexit{reason, kSvm});
}
Event switch_out(Timestamp ts, int64_t next_tid) {  // the vCPU thread is preempted (runnable)
  Event event = on_vcpu(ts, EventKind::sched_switch, SchedSwitch{1001, 0, next_tid, "CPU 0/KVM", "other"});
  return event;
}
Event switch_in(Timestamp ts, int64_t prev_tid) {
  Event event = on_vcpu(ts, EventKind::sched_switch, SchedSwitch{prev_tid, 0, 1001, "other", "CPU 0/KVM"});
  event.ctx.tid = prev_tid;
  event.ctx.pid = prev_tid;
  return event;
}

// The events of one host trace into a run's database at `path` (the trace ends at the last event).
void analyse(const std::string& path, const std::vector<Event>& events) {
  vm::Run run(path);
  auto owned = std::make_unique<TracedMachine>();
  owned->id = run.registry().add("host", MachineRole::unknown, kUnknown, 0);
  owned->trace_name = "host";
  TracedMachine& host = run.add_machine(std::move(owned));
  for (Event event : events) {
    run.on_context(host, event.ctx);
    run.on_event(host, event);
  }
  run.finish();
  run.write();
  run.commit();
}

// The vcpu_state rows as "ts dur state layer to reason" (NULL as -1; to: 0 none, 1 L0, 2 L1).
IntRows layer_rows(const std::string& path) {
  return int_rows(path,
                  "SELECT ts, dur, CASE state WHEN 'guest' THEN 1 WHEN 'vmm' THEN 2 WHEN 'preempted' THEN 3 ELSE 0 "
                  "END, COALESCE(guest_layer, -1), CASE nested_exit_to WHEN 'L0' THEN 1 WHEN 'L1' THEN 2 ELSE 0 END, "
                  "COALESCE(nested_exit_reason, -1) FROM vcpu_state ORDER BY ts, dur",
                  6);
}

constexpr int64_t G = 1, V = 2, P = 3, none = 0, L0 = 1, L1 = 2;

// A nested entry, an exit L0 handles, an exit reflected to L1, L1 handling it, back to L2.
//   100 entry: L1 code (its layer is told at 210: only L1 executes VMRUN)
//   200 exit VMRUN (L1's), 210 nested entry, 220 entry: L2 code
//   300 exit MSR, 305 nested exit, 320 entry without reflection: L0 handled it (MSR), back in L2
//   400 exit IOIO, 405 nested exit, 410 reflected (IOIO), 420 entry: L1 handles L2's exit
//   500 exit VMLOAD (L1's own, while handling), 510 entry, 600 exit VMRUN, 610 nested entry,
//   620 entry: L2 again; 700 exit MSR, 705 nested exit, end of the trace: its fate is unknown.
// Four-way split: L1 code 100 (100-200); L2 code 80 + 80 + 80 = 240 (220-300, 320-400, 620-700);
// L0 for L2 20 + 20 + 5 = 45 (300-320, 400-420, 700-705); L1 for L2 80 + 10 + 90 + 20 = 200
// (420-620: guest and vmm of layer 1 from the reflection to the next nested entry); L0 for L1's
// own exits 20 (200-220, before any reflection); nothing else: 100+240+45+200+20 = 605 = 705-100.
TEST(NestedLayers, EntryL0HandledExitReflectedExitL1HandlingBackToL2) {
  const std::string path = temp_db_path("nested-split");
  analyse(path, {entry(100), exit(200, kVmrun), vmenter(210), entry(220), exit(300, kMsr), vmexit(305, kMsr),
                 entry(320), exit(400, kIoio), vmexit(405, kIoio), inject(410, kIoio), entry(420),
                 exit(500, kVmload), entry(510), exit(600, kVmrun), vmenter(610), entry(620), exit(700, kMsr),
                 vmexit(705, kMsr)});
  EXPECT_EQ(layer_rows(path), (IntRows{{100, 100, G, 1, none, -1},
                                       {200, 20, V, 1, none, -1},
                                       {220, 80, G, 2, none, -1},
                                       {300, 20, V, 2, L0, kMsr},
                                       {320, 80, G, 2, none, -1},
                                       {400, 20, V, 2, L1, kIoio},
                                       {420, 80, G, 1, none, -1},
                                       {500, 10, V, 1, none, -1},
                                       {510, 90, G, 1, none, -1},
                                       {600, 20, V, 1, none, -1},
                                       {620, 80, G, 2, none, -1},
                                       {700, 5, V, 2, none, -1}}));
  EXPECT_EQ(int_rows(path,
                     "SELECT l1_code_ns, l2_code_ns, l0_for_l2_ns, l1_for_l2_ns, l0_for_l1_ns, other_ns, total_ns, "
                     "l1_code_ns + l2_code_ns + l0_for_l2_ns + l1_for_l2_ns + l0_for_l1_ns + other_ns FROM "
                     "nested_vcpu_time",
                     8),
            (IntRows{{100, 240, 45, 200, 20, 0, 605, 605}}));
  // The total is the vCPU's whole time in vcpu_state.
  EXPECT_EQ(int_rows(path, "SELECT SUM(dur) FROM vcpu_state", 1), (IntRows{{605}}));
  // The VM runs a nested guest: layer 2, its parent the VM (machine 2, qemu process 1000).
  EXPECT_EQ(int_rows(path, "SELECT id, parent_id, layer FROM machine WHERE role = 'guest' ORDER BY id", 3),
            (IntRows{{2, 1, 1}, {3, 2, 2}}));
  EXPECT_EQ(int_rows(path, "SELECT vms_found, (SELECT COUNT(*) FROM diagnostic WHERE message LIKE '%nested%') FROM run",
                     2),
            (IntRows{{2, 0}}));
  SqliteConnection db(path);
  {
    SqliteStatement names = db.prepare(
        "SELECT name || ' ' || nested_exit_to || ' ' || nested_exit_reason_name FROM vcpu_state JOIN machine ON id = "
        "machine_id WHERE nested_exit_to IS NOT NULL ORDER BY ts");
    ASSERT_TRUE(names.step());
    EXPECT_EQ(names.column_text(0), "qemu-1000 L0 MSR");
    ASSERT_TRUE(names.step());
    EXPECT_EQ(names.column_text(0), "qemu-1000 L1 IOIO");
    SqliteStatement l2 = db.prepare("SELECT name FROM machine WHERE layer = 2");
    ASSERT_TRUE(l2.step());
    EXPECT_EQ(l2.column_text(0), "qemu-1000-l2");
  }
  db.close();
  std::remove(path.c_str());
}

// The trace starts while the vCPU runs L2 (as the lab's nested host trace does): 100 entry, 200
// exit VINTR, 205 nested exit (so 100-200 was L2's code and the exit L2's), 210 reflected, 220
// entry into L1, 300 an exit of L1 (no nested exit follows before the 320 entry), 400 exit.
TEST(NestedLayers, ATraceStartingInL2IsToldByItsFirstNestedExit) {
  const std::string path = temp_db_path("nested-start");
  analyse(path, {entry(100), exit(200, kVintr), vmexit(205, kVintr), inject(210, kVintr), entry(220),
                 exit(300, kMsr), entry(320), exit(400, kMsr)});
  EXPECT_EQ(layer_rows(path), (IntRows{{100, 100, G, 2, none, -1},
                                       {200, 20, V, 2, L1, kVintr},
                                       {220, 80, G, 1, none, -1},
                                       {300, 20, V, 1, none, -1},
                                       {320, 80, G, 1, none, -1}}));
  std::remove(path.c_str());
}

// L0 preempts the vCPU thread while it handles an L2 exit, which it then reflects:
//   100 entry, 200 VMRUN exit, 205 nested entry, 210 entry (L2), 300 NPF exit, 301 nested exit,
//   310 preempted by thread 55 (still in L2: layer 2), 400 back on the CPU, resuming the NPF exit
//   (layer 2, reflected), 410 reflected, 420 entry into L1, 500 exit.
// Split: L1 code 100, L0 for L1 10, L2 code 90, L0 for L2 10 + 20 = 30, preempted 90 (other),
// L1 for L2 80 (420-500): 400 in all.
TEST(NestedLayers, APreemptedNestedExitKeepsItsLayerAndFate) {
  const std::string path = temp_db_path("nested-preempt");
  analyse(path, {entry(100), exit(200, kVmrun), vmenter(205), entry(210), exit(300, kNpf), vmexit(301, kNpf),
                 switch_out(310, 55), switch_in(400, 55), inject(410, kNpf), entry(420), exit(500, kMsr)});
  EXPECT_EQ(layer_rows(path), (IntRows{{100, 100, G, 1, none, -1},
                                       {200, 10, V, 1, none, -1},
                                       {210, 90, G, 2, none, -1},
                                       {300, 10, V, 2, L1, kNpf},
                                       {310, 90, P, 2, none, -1},
                                       {400, 20, V, 2, L1, kNpf},
                                       {420, 80, G, 1, none, -1}}));
  EXPECT_EQ(int_rows(path,
                     "SELECT l1_code_ns, l2_code_ns, l0_for_l2_ns, l1_for_l2_ns, l0_for_l1_ns, other_ns, total_ns "
                     "FROM nested_vcpu_time",
                     7),
            (IntRows{{100, 90, 30, 80, 10, 90, 400}}));
  std::remove(path.c_str());
}

// A VM that never nests: its first exit is followed by an entry without a nested exit, so it was
// in L1 from the start; every row is layer 1, no nested machine, no nested time.
TEST(NestedLayers, AVmWithoutNestingIsLayerOneThroughout) {
  const std::string path = temp_db_path("nested-none");
  analyse(path, {entry(100), exit(200, 12, kVmx), entry(300), exit(400, 30, kVmx), entry(450)});
  EXPECT_EQ(layer_rows(path), (IntRows{{100, 100, G, 1, none, -1},
                                       {200, 100, V, 1, none, -1},
                                       {300, 100, G, 1, none, -1},
                                       {400, 50, V, 1, none, -1}}));
  EXPECT_EQ(int_rows(path, "SELECT COUNT(*) FROM machine WHERE layer = 2", 1), (IntRows{{0}}));
  EXPECT_EQ(int_rows(path, "SELECT COUNT(*) FROM nested_vcpu_time", 1), (IntRows{{0}}));
  std::remove(path.c_str());
}

// VMX without any nested event recorded: VMRESUME exits (24) show that the VM runs a hypervisor,
// but without kvm_x86_nested_vmexit / _inject when L2 runs cannot be told: guest_layer is NULL
// for the VM, and a diagnostic names the lttng command; the nested machine is still found.
TEST(NestedLayers, MissingNestedExitEventsMakeTheLayersUnknownWithTheLttngCommand) {
  const std::string path = temp_db_path("nested-missing");
  analyse(path, {entry(100), exit(200, 24, kVmx), entry(220), exit(300, 32, kVmx), entry(320), exit(400, 24, kVmx)});
  EXPECT_EQ(int_rows(path, "SELECT COUNT(*), COUNT(guest_layer), COUNT(nested_exit_to) FROM vcpu_state", 3),
            (IntRows{{5, 0, 0}}));
  EXPECT_EQ(int_rows(path,
                     "SELECT COUNT(*) FROM diagnostic WHERE message LIKE '%lttng enable-event --kernel "
                     "''kvm_x86_nested_*''%'",
                     1),
            (IntRows{{1}}));
  EXPECT_EQ(int_rows(path, "SELECT parent_id, layer FROM machine WHERE layer = 2", 2), (IntRows{{2, 2}}));
  std::remove(path.c_str());
}

// The older names (lttng-modules < 2.8, and kvm_nested_vmrun before kvm_nested_vmenter) are the
// same kinds.
TEST(NestedLayers, EveryNamingGenerationOfTheNestedEvents) {
  for (const char* name : {"kvm_x86_nested_vmenter", "kvm_x86_nested_vmrun", "kvm_nested_vmenter", "kvm_nested_vmrun"})
    EXPECT_EQ(kind_of(name), EventKind::kvm_nested_vmenter) << name;
  for (const char* name : {"kvm_x86_nested_vmexit", "kvm_nested_vmexit"})
    EXPECT_EQ(kind_of(name), EventKind::kvm_nested_vmexit) << name;
  for (const char* name : {"kvm_x86_nested_vmexit_inject", "kvm_nested_vmexit_inject"})
    EXPECT_EQ(kind_of(name), EventKind::kvm_nested_vmexit_inject) << name;
  EXPECT_EQ(kind_of("kvm_x86_nested_intr_vmexit"), EventKind::kvm_other);
  EXPECT_EQ(kind_of("kvm_x86_nested_intercepts"), EventKind::kvm_other);
}

}  // namespace
}  // namespace vm
