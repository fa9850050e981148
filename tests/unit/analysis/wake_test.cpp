// SPDX-License-Identifier: MIT
// The wake analysis through the registry: hand-built typed host events into a vm::Run, the
// vcpu_halt rows out. Every expected value is derived in the comment above its test.
//
// The host in every test: QEMU process 1000 runs vCPU 0 as thread 1001 and vCPU 1 as thread
// 1002 (kvm_x86_exit.vcpu_id says which); thread 1000 is QEMU's main loop, 2000 a vhost worker
// of that VM ("vhost-1000"), 3000 another host task. AMD SVM exits (isa 2): HLT is 0x78 = 120.

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "analysis/run.h"
#include "analysis/wake/wake_vectors.h"
#include "db_check.h"
#include "host_events.h"

namespace vm {
namespace {

constexpr int64_t kNpf = 0x400;  // a nested page fault (SVM)

struct Host : HostKvmEvents<Host> {
  explicit Host(const std::string& path) : run(path) {
    auto owned = std::make_unique<TracedMachine>();
    owned->id = run.registry().add("host", MachineRole::unknown, kUnknown, 0);
    owned->trace_name = "host";
    machine = &run.add_machine(std::move(owned));
  }
  // One event in thread `tid` (its pid and name from `tid`) on `cpu`.
  void event(Timestamp ts, int64_t cpu, int64_t tid, EventKind kind, EventPayload payload) {
    Event e = host_event(ts, cpu, tid, kind, payload);
    run.on_context(*machine, e.ctx);
    run.on_event(*machine, e);
  }
  void sleep(Timestamp ts, int64_t cpu, int64_t tid, int64_t next) {
    event(ts, cpu, tid, EventKind::sched_switch, SchedSwitch{tid, 1, next, {}, {}});  // prev_state 1: blocked
  }
  void wake(Timestamp ts, int64_t cpu, int64_t waker, int64_t wakee) {
    event(ts, cpu, waker, EventKind::sched_wakeup, SchedWakeup{wakee, 0});
  }
  void switch_in(Timestamp ts, int64_t cpu, int64_t prev, int64_t next) {
    event(ts, cpu, prev, EventKind::sched_switch, SchedSwitch{prev, 0, next, {}, {}});
  }
  void done() {
    run.finish();
    run.write();
    run.commit();
  }
  vm::Run run;
  TracedMachine* machine = nullptr;
};

const char* kColumns =
    "SELECT ts, dur, vcpu_id, slept, COALESCE(wake_vector, -1), COALESCE(waker_tid, -1), "
    "COALESCE(waker_vcpu_id, -1), COALESCE(cause_ts, -1), COALESCE(wait_cpu_dur, -1), COALESCE(vmm_dur, -1) "
    "FROM vcpu_halt ORDER BY ts";

std::string text(const std::string& path, const char* sql) {
  SqliteConnection db(path);
  std::string out;
  {
    SqliteStatement query = db.prepare(sql);
    while (query.step()) out += (out.empty() ? "" : ",") + query.column_text(0);
  }
  db.close();
  return out;
}

// A timer wake. vCPU 0 halts at 200 (HLT exit), sleeps at 210 (switched out blocked, CPU 0 to
// the idle task); at 400 the idle task, inside the local timer interrupt (x86 vector entry on
// CPU 0: interrupt context), wakes it (the hrtimer of its lapic timer); it is switched in at
// 450, accepts vector 236 in its own thread at 460, injects it at 470 and enters at 500.
// => one halt [200, 500): dur 300, slept 1, wake_vector 236, reason timer; no waker_tid (the
// wakeup came from interrupt context); the cause is the wakeup at 400 (no IPI or device signal):
// latency 500 - 400 = 100, of which 450 - 400 = 50 runnable waiting for CPU 0, 50 hypervisor.
TEST(WakeAnalysis, TimerWakeFromInterruptContext) {
  const std::string path = temp_db_path("wake-timer");
  {
    Host host(path);
    host.entry(100, 0, 1001);
    host.exit(200, 0, 1001);
    host.sleep(210, 0, 1001, 0);
    host.event(399, 0, 0, EventKind::irq_vector_entry, IrqVector{236});
    host.wake(400, 0, 0, 1001);
    host.event(401, 0, 0, EventKind::irq_vector_exit, IrqVector{236});
    host.switch_in(450, 0, 0, 1001);
    host.accept(460, 0, 1001, 0, 236);
    host.inject(470, 0, 1001, 236);
    host.entry(500, 0, 1001);
    host.done();
  }
  EXPECT_EQ(int_rows(path, kColumns, 10), (IntRows{{200, 300, 0, 1, 236, -1, -1, 400, 50, 50}}));
  EXPECT_EQ(text(path, "SELECT wake_reason FROM vcpu_halt"), "timer");
  EXPECT_EQ(text(path, "SELECT wake_reason || ':' || halts || ':' || halted_ns FROM halt_by_reason"), "timer:1:300");
  std::remove(path.c_str());
}

// An IPI from vCPU 1. vCPU 0 halts at 200 and sleeps at 210. vCPU 1 (thread 1002, on CPU 1, in
// the hypervisor after an exit at 290) sends vector 251 to APIC id 0 at 300 (kvm_x86_apic_ipi,
// icr_low = 251: fixed delivery, no shorthand), its APIC accepts it for APIC 0 at 301, and it
// wakes thread 1001 at 302 from task context. vCPU 0 runs at 320, injects 251 at 330, enters at
// 340. => waker_tid 1002, waker_vcpu_id 1 (the sender's thread is vCPU 1), reason ipi, cause the
// send at 300: latency 40, runnable 302..320 = 18 waiting for a CPU, 22 hypervisor. The IPI
// matrix has one wake 1 -> 0 with latency 40.
TEST(WakeAnalysis, IpiFromAnotherVcpu) {
  const std::string path = temp_db_path("wake-ipi");
  {
    Host host(path);
    host.entry(100, 0, 1001);
    host.entry(100, 1, 1002);
    host.exit(200, 0, 1001);
    host.sleep(210, 0, 1001, 0);
    host.exit(290, 1, 1002, kNpf);
    host.event(300, 1, 1002, EventKind::kvm_apic_ipi, KvmApicIpi{251, 0});
    host.accept(301, 1, 1002, 0, 251);
    host.wake(302, 1, 1002, 1001);
    host.switch_in(320, 0, 0, 1001);
    host.inject(330, 0, 1001, 251);
    host.entry(340, 0, 1001);
    host.done();
  }
  EXPECT_EQ(int_rows(path, kColumns, 10), (IntRows{{200, 140, 0, 1, 251, 1002, 1, 300, 18, 22}}));
  EXPECT_EQ(text(path, "SELECT wake_reason FROM vcpu_halt"), "ipi");
  EXPECT_EQ(int_rows(path, "SELECT waker_vcpu_id, vcpu_id, wakes, avg_latency_ns FROM ipi_matrix", 4),
            (IntRows{{1, 0, 1, 40}}));
  std::remove(path.c_str());
}

// A device vector raised by a named host thread. vCPU 1 halts at 200 and sleeps at 205. The vhost
// worker "vhost-1000" (thread 2000, on CPU 0) signals an MSI at 300: address 0xfee01000 (bits
// 12-19: APIC id 1), data 0x22 (vector 34); its APIC accepts 34 for APIC 1 at 301; it wakes
// thread 1002 at 302. vCPU 1 runs at 310, injects 34 at 315, enters at 330. => a device vector
// (34 < 236) raised by a vhost worker: net; device = "vhost-1000", device_tid 2000; waker 2000;
// cause 300: latency 30, 302..310 = 8 waiting for a CPU, 22 hypervisor.
// Then QEMU's main thread (1000) signals vector 35 to vCPU 1 during its second halt (400..480,
// injected at 470, no sleep): its name says nothing of the device: `device`.
TEST(WakeAnalysis, DeviceVectorRaisedByANamedHostThread) {
  const std::string path = temp_db_path("wake-device");
  {
    Host host(path);
    host.entry(100, 1, 1002);
    host.exit(200, 1, 1002);
    host.sleep(205, 1, 1002, 0);
    host.event(300, 0, 2000, EventKind::kvm_msi_set_irq, KvmMsiSetIrq{0xfee01000, 0x22});
    host.accept(301, 0, 2000, 1, 34);
    host.wake(302, 0, 2000, 1002);
    host.switch_in(310, 1, 0, 1002);
    host.inject(315, 1, 1002, 34);
    host.entry(330, 1, 1002);
    host.exit(400, 1, 1002);
    host.event(450, 0, 1000, EventKind::kvm_msi_set_irq, KvmMsiSetIrq{0xfee01000, 35});
    host.accept(451, 0, 1000, 1, 35);
    host.inject(470, 1, 1002, 35);
    host.entry(480, 1, 1002);
    host.done();
  }
  EXPECT_EQ(int_rows(path, kColumns, 10),
            (IntRows{{200, 130, 1, 1, 34, 2000, -1, 300, 8, 22}, {400, 80, 1, 0, 35, -1, -1, 450, 0, 30}}));
  EXPECT_EQ(text(path, "SELECT wake_reason || ':' || device || ':' || device_tid FROM vcpu_halt ORDER BY ts"),
            "net:vhost-1000:2000,device:qemu-system-x86:1000");
  std::remove(path.c_str());
}

// Nothing injected, and a thread that did not sleep. vCPU 0 halts at 200 and re-enters at 250
// with no injection and no scheduler event between (KVM's halt polling found nothing, or a
// spurious wake). => reason none, wake_vector NULL, slept 0, no cause, so no latency split.
TEST(WakeAnalysis, HaltWithNothingInjectedAndNoSleep) {
  const std::string path = temp_db_path("wake-none");
  {
    Host host(path);
    host.entry(100, 0, 1001);
    host.exit(200, 0, 1001);
    host.entry(250, 0, 1001);
    host.inject(260, 0, 1001, 236);  // after the halt: not its wake
    host.done();
  }
  EXPECT_EQ(int_rows(path, kColumns, 10), (IntRows{{200, 50, 0, 0, -1, -1, -1, -1, -1, -1}}));
  EXPECT_EQ(text(path, "SELECT wake_reason FROM vcpu_halt"), "none");
  std::remove(path.c_str());
}

// A paravirtual kick. vCPU 1 halts at 200 and sleeps at 205; vCPU 0 (thread 1001, task context
// on CPU 0) wakes its thread at 300 (KVM_HC_KICK_CPU: nothing is injected); vCPU 1 runs at 320
// and enters at 330. => reason none (no vector), slept 1, waker_tid 1001, and the waking thread
// is vCPU 0's: waker_vcpu_id 0. No cause, so no latency split.
TEST(WakeAnalysis, KickFromAnotherVcpuInjectsNothing) {
  const std::string path = temp_db_path("wake-kick");
  {
    Host host(path);
    host.entry(100, 0, 1001);
    host.entry(100, 1, 1002);
    host.exit(200, 1, 1002);
    host.sleep(205, 1, 1002, 0);
    host.exit(290, 0, 1001, kNpf);
    host.wake(300, 0, 1001, 1002);
    host.switch_in(320, 1, 0, 1002);
    host.entry(330, 1, 1002);
    host.inject(340, 0, 1001, 236);  // another vCPU's injection: nothing of vCPU 1's halt
    host.done();
  }
  EXPECT_EQ(int_rows(path, kColumns, 10), (IntRows{{200, 130, 1, 1, -1, 1001, 0, -1, -1, -1}}));
  EXPECT_EQ(text(path, "SELECT wake_reason FROM vcpu_halt"), "none");
  std::remove(path.c_str());
}

// Lost events inside a halt. vCPU 0 halts at 200 and sleeps at 210; events are lost on CPU 1
// from 300 to 350; it is woken at 400 (from bash, tid 3000, task context), switched in at 410,
// injects 236 at 420, enters at 430. => the injection seen is not known to be the first: reason
// unknown, though the halt [200, 430) and its sleep are kept. A second halt after the loss
// (500..600, timer, no sleep) is known again.
TEST(WakeAnalysis, LostEventsInsideAHaltMakeItUnknown) {
  const std::string path = temp_db_path("wake-lost");
  {
    Host host(path);
    host.entry(100, 0, 1001);
    host.exit(200, 0, 1001);
    host.sleep(210, 0, 1001, 0);
    host.run.on_lost_events(*host.machine, 300, 350, 1, 10);
    host.wake(400, 0, 3000, 1001);
    host.switch_in(410, 0, 0, 1001);
    host.inject(420, 0, 1001, 236);
    host.entry(430, 0, 1001);
    host.exit(500, 0, 1001);
    host.inject(590, 0, 1001, 236);
    host.entry(600, 0, 1001);
    host.done();
  }
  EXPECT_EQ(text(path, "SELECT wake_reason || ':' || slept || ':' || dur FROM vcpu_halt ORDER BY ts"),
            "unknown:1:230,timer:0:100");
  std::remove(path.c_str());
}

// A trace without kvm_x86_inj_virq events: the halt's reason cannot be known, so it is `unknown`
// (not `none`), and a diagnostic names the lttng line.
TEST(WakeAnalysis, MissingInjectionEventsGiveUnknownAndADiagnostic) {
  const std::string path = temp_db_path("wake-noinj");
  {
    Host host(path);
    host.entry(100, 0, 1001);
    host.exit(200, 0, 1001);
    host.entry(300, 0, 1001);
    host.done();
  }
  EXPECT_EQ(text(path, "SELECT wake_reason FROM vcpu_halt"), "unknown");
  EXPECT_EQ(text(path,
                 "SELECT COUNT(*) FROM diagnostic WHERE message LIKE '%lttng enable-event --kernel "
                 "''kvm_x86_inj_virq,%'"),
            "1");
  std::remove(path.c_str());
}

// The names the guest gives its handlers, and the host's thread names (derivations in
// common/analysis/wake/wake_vectors.cpp: Linux's virtio_pci_common.c queue names, vhost.c's
// worker name, QEMU's iothread names).
TEST(WakeVectors, NamesTellTheDevice) {
  EXPECT_EQ(reason_of_handler("virtio1-req.0"), WakeReason::disk);
  EXPECT_EQ(reason_of_handler("virtio0-requests"), WakeReason::disk);
  EXPECT_EQ(reason_of_handler("virtio0-input.0"), WakeReason::net);
  EXPECT_EQ(reason_of_handler("virtio3-output.1"), WakeReason::net);
  EXPECT_EQ(reason_of_handler("ttyS0"), WakeReason::device);
  EXPECT_EQ(reason_of_raiser("vhost-204"), WakeReason::net);
  EXPECT_EQ(reason_of_raiser("IO iothread0"), WakeReason::disk);
  EXPECT_EQ(reason_of_raiser("qemu-system-x86"), WakeReason::device);
  EXPECT_EQ(reason_of_vector(236), WakeReason::timer);
  EXPECT_EQ(reason_of_vector(239), WakeReason::timer);
  EXPECT_EQ(reason_of_vector(252), WakeReason::ipi);
  EXPECT_EQ(reason_of_vector(39), WakeReason::device);
  EXPECT_EQ(reason_of_vector(246), WakeReason::unknown);
  EXPECT_EQ(vector_handler_name("x86_irq_vectors_call_function_single_entry", 251), "call_function_single");
  EXPECT_EQ(vector_handler_name("", 253), "reschedule");
}

}  // namespace
}  // namespace vm
