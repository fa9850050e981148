// SPDX-License-Identifier: MIT
// The event layout table (common/events/): every lttng-modules spelling maps to its kind, a
// payload decodes into the typed struct by field name, and the rows that source.vm.scenario
// writes carry what the analyses read.

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "events/events.h"
#include "events/layout.h"
#include "sim/scenario_event.h"

namespace vm {
namespace {

TEST(EventLayout, EveryNamingGenerationMapsToOneKind) {
  EXPECT_EQ(kind_of("sched_switch"), EventKind::sched_switch);
  for (const char* name : {"sched_waking", "sched_wakeup", "sched_wakeup_new"})
    EXPECT_EQ(kind_of(name), EventKind::sched_wakeup) << name;
  EXPECT_EQ(kind_of("kvm_x86_entry"), EventKind::kvm_entry);
  EXPECT_EQ(kind_of("kvm_entry"), EventKind::kvm_entry);
  EXPECT_EQ(kind_of("kvm_x86_exit"), EventKind::kvm_exit);
  EXPECT_EQ(kind_of("kvm_exit"), EventKind::kvm_exit);
  EXPECT_EQ(kind_of("kvm_x86_inj_virq"), EventKind::kvm_inj_virq);
  EXPECT_EQ(kind_of("kvm_inj_virq"), EventKind::kvm_inj_virq);
  EXPECT_EQ(kind_of("kvm_x86_hypercall"), EventKind::kvm_other);
  EXPECT_EQ(kind_of("x86_irq_vectors_local_timer_entry"), EventKind::irq_vector_entry);
  EXPECT_EQ(kind_of("x86_irq_vectors_local_timer_exit"), EventKind::irq_vector_exit);
  EXPECT_EQ(kind_of("x86_irq_vectors__entry"), EventKind::other);  // no vector name
  EXPECT_EQ(kind_of("syscall_entry_read"), EventKind::syscall_entry);
  EXPECT_EQ(kind_of("compat_syscall_entry_read"), EventKind::syscall_entry);
  EXPECT_EQ(kind_of("sys_read"), EventKind::syscall_entry);
  EXPECT_EQ(kind_of("syscall_exit_read"), EventKind::syscall_exit);
  EXPECT_EQ(kind_of("compat_syscall_exit_read"), EventKind::syscall_exit);
  EXPECT_EQ(kind_of("exit_syscall"), EventKind::syscall_exit);
  EXPECT_EQ(kind_of("irq_softirq_entry"), EventKind::softirq_entry);
  EXPECT_EQ(kind_of("softirq_exit"), EventKind::softirq_exit);
  EXPECT_EQ(kind_of("net_if_receive_skb"), EventKind::net_receive);
  EXPECT_EQ(kind_of("netif_receive_skb"), EventKind::net_receive);
  EXPECT_EQ(kind_of("inet_sock_local_out"), EventKind::net_send);
  EXPECT_EQ(kind_of("lttng_statedump_process_pid_ns"), EventKind::statedump_pid_ns);
  EXPECT_EQ(kind_of("sched_stat_runtime"), EventKind::other);
}

const FieldSpec* field_of(const EventLayout& layout, const char* name) {
  for (size_t i = 0; i < layout.field_count(); ++i)
    if (std::string(layout.fields[i].name) == name) return &layout.fields[i];
  return nullptr;
}

TEST(EventLayout, TableIsConsistent) {
  for (size_t i = 0; i < event_layout_count(); ++i) {
    const EventLayout& row = event_layouts()[i];
    EXPECT_NE(row.names[0], nullptr);
    EXPECT_NE(row.description, nullptr);
    // Every listed name maps back to this kind.
    for (const char* name : row.names) {
      if (name && std::string(name).find('*') == std::string::npos) {
        EXPECT_EQ(kind_of(name), row.kind) << name;
      }
    }
    // Every read field of every row is in its kind's reader view, read the same way.
    const EventLayout* view = layout_of(row.kind);
    ASSERT_NE(view, nullptr) << row.names[0];
    EXPECT_EQ(view->incomplete_kind, row.incomplete_kind) << row.names[0];
    ASSERT_LE(view->field_count(), kMaxEventFields) << row.names[0];
    for (size_t f = 0; f < row.field_count(); ++f) {
      const FieldSpec& field = row.fields[f];
      const FieldSpec* read = field_of(*view, field.name);
      EXPECT_EQ(read != nullptr, field.read) << row.names[0] << "." << field.name;
      if (read && field.read) {
        EXPECT_EQ(read->type, field.type) << row.names[0] << "." << field.name;
        EXPECT_EQ(read->required, field.required) << row.names[0] << "." << field.name;
        EXPECT_EQ(read->fallback, field.fallback) << row.names[0] << "." << field.name;
      }
    }
  }
  EXPECT_EQ(layout_of(EventKind::other), nullptr);
  ASSERT_NE(layout_of(EventKind::kvm_exit), nullptr);
  EXPECT_STREQ(layout_of(EventKind::kvm_exit)->fields[0].name, "exit_reason");
  // Without exit_reason an exit still ends the guest interval: only the reason is unknown.
  EXPECT_FALSE(layout_of(EventKind::kvm_exit)->fields[0].required);
  EXPECT_NE(missing_field_effect(EventKind::kvm_exit, "exit_reason"), nullptr);
  EXPECT_EQ(missing_field_effect(EventKind::kvm_exit, "isa"), nullptr);
  EXPECT_EQ(missing_field_effect(EventKind::kvm_entry, "vcpu_id"), nullptr);
}

// The reader's view holds the read fields only, from every generation's row: sched_switch's
// priorities are written, not read; statedump_process reads the 2.7-2.11 namespace fields that
// only one of its two rows has; kvm_exit reads vcpu_id, which only kvm_x86_exit has.
TEST(EventLayout, ReaderViewIsTheReadFieldsOfEveryRow) {
  const EventLayout& sw = *layout_of(EventKind::sched_switch);
  EXPECT_EQ(field_of(sw, "prev_prio"), nullptr);
  ASSERT_NE(field_of(sw, "prev_state"), nullptr);
  EXPECT_TRUE(field_of(sw, "prev_state")->required);
  EXPECT_EQ(field_of(sw, "prev_state")->fallback, 0);
  EXPECT_EQ(sw.field_count(), 5u);  // prev_comm, prev_tid, prev_state, next_comm, next_tid
  const EventLayout& statedump = *layout_of(EventKind::statedump_process);
  EXPECT_NE(field_of(statedump, "ns_level"), nullptr);
  EXPECT_EQ(field_of(statedump, "cpu"), nullptr);
  EXPECT_EQ(statedump.field_count(), 10u);
  EXPECT_NE(field_of(*layout_of(EventKind::kvm_exit), "vcpu_id"), nullptr);
  EXPECT_EQ(layout_of(EventKind::syscall_entry)->field_count(), 0u);
  // The view says nothing of how one generation writes a field.
  for (size_t f = 0; f < sw.field_count(); ++f) EXPECT_EQ(sw.fields[f].wire.type, WireType::none);
}

// A row written as the analyses alone need it (no WireSpec) is read, never written: how a row of
// a kind that the scenario does not emit is written.
TEST(EventLayout, AReaderOnlyRowIsNotWritten) {
  constexpr EventLayout row{EventKind::kvm_other,
                            {"kvm_x86_apic_ipi", "kvm_apic_ipi"},
                            {{"icr_low", FieldType::integer, false, -1}, {"dest_id", FieldType::integer, false, -1}},
                            EventKind::other,
                            "an example"};
  EXPECT_EQ(row.field_count(), 2u);
  EXPECT_TRUE(row.fields[1].read);
  EXPECT_FALSE(row.written());
  EXPECT_EQ(row.naming, Naming::any);
  EXPECT_EQ(written_layout(EventKind::process_exit, Naming::any, NsLayout::any), nullptr);
  EXPECT_EQ(written_layout(EventKind::net_send, Naming::any, NsLayout::any), nullptr);
}

// Fills raw fields by name, as an adapter would from the reader's view.
RawFields raw_of(EventKind kind, std::initializer_list<std::pair<const char*, int64_t>> values,
                 std::initializer_list<std::pair<const char*, const char*>> texts = {}) {
  RawFields raw{};
  const EventLayout& layout = *layout_of(kind);
  for (size_t i = 0; i < layout.field_count(); ++i) {
    raw.value[i] = layout.fields[i].fallback;
    raw.present[i] = false;
    raw.text[i] = {nullptr, 0};
    for (const auto& [name, value] : values)
      if (std::string(name) == layout.fields[i].name) {
        raw.value[i] = value;
        raw.present[i] = true;
      }
    for (const auto& [name, text] : texts)
      if (std::string(name) == layout.fields[i].name) {
        raw.text[i] = {text, std::string_view(text).size()};
        raw.present[i] = true;
      }
  }
  return raw;
}

TEST(EventLayout, PayloadsDecodeByFieldName) {
  const RawFields raw = raw_of(EventKind::sched_switch, {{"prev_tid", 10}, {"prev_state", 1}, {"next_tid", 20}},
                               {{"prev_comm", "a"}, {"next_comm", "b"}});
  const auto sw = std::get<SchedSwitch>(make_payload(EventKind::sched_switch, raw));
  EXPECT_EQ(sw.prev_tid, 10);
  EXPECT_EQ(sw.prev_state, 1);
  EXPECT_EQ(sw.next_tid, 20);
  EXPECT_EQ(sw.prev_comm, "a");
  EXPECT_EQ(sw.next_comm, "b");

  const auto exit = std::get<KvmExit>(
      make_payload(EventKind::kvm_exit, raw_of(EventKind::kvm_exit, {{"exit_reason", 30}, {"vcpu_id", 2}})));
  EXPECT_EQ(exit.exit_reason, 30);
  EXPECT_EQ(exit.isa, kUnknown);
  EXPECT_EQ(exit.vcpu_id, 2);

  const auto fork = std::get<ProcessFork>(
      make_payload(EventKind::process_fork, raw_of(EventKind::process_fork,
                                                   {{"child_tid", 5},
                                                    {"child_pid", 6},
                                                    {"parent_pid", 1},
                                                    {"parent_ns_inum", 4026531835},
                                                    {"child_ns_inum", 4026531836}},
                                                   {{"child_comm", "c"}})));
  EXPECT_EQ(fork.child_tid, 5);
  EXPECT_EQ(fork.child_pid, 6);
  EXPECT_EQ(fork.child_comm, "c");
  EXPECT_EQ(fork.parent_pid, 1);
  EXPECT_EQ(fork.parent_tid, kUnknown);
  EXPECT_EQ(fork.parent_ns_inum, 4026531835);
  EXPECT_EQ(fork.child_ns_inum, 4026531836);
  ASSERT_NE(fork.vtids, nullptr);
  EXPECT_TRUE(fork.vtids->empty());

  // 2.7-2.11 statedump: namespace members in the process event.
  const auto old = std::get<StatedumpProcess>(make_payload(
      EventKind::statedump_process, raw_of(EventKind::statedump_process,
                                           {{"tid", 7},
                                            {"pid", 6},
                                            {"type", 1},
                                            {"status", 5},
                                            {"ns_level", 1},
                                            {"ns_inum", 4026532000},
                                            {"vtid", 3},
                                            {"vppid", 2}},
                                           {{"name", "n"}})));
  EXPECT_EQ(old.tid, 7);
  EXPECT_EQ(old.pid, 6);
  EXPECT_EQ(old.name, "n");
  EXPECT_EQ(old.type, 1);
  EXPECT_EQ(old.status, 5);
  EXPECT_TRUE(old.has_ns);
  EXPECT_EQ(old.ns.ns_level, 1);
  EXPECT_EQ(old.ns.ns_inum, 4026532000);
  EXPECT_EQ(old.ns.vtid, 3);
  EXPECT_EQ(old.ns.vpid, kUnknown);
  EXPECT_EQ(old.ns.vppid, 2);
  // >= 2.12: no namespace field in the process event.
  EXPECT_FALSE(std::get<StatedumpProcess>(
                   make_payload(EventKind::statedump_process, raw_of(EventKind::statedump_process, {{"tid", 7}})))
                   .has_ns);
  const auto pid_ns = std::get<StatedumpPidNs>(make_payload(
      EventKind::statedump_pid_ns,
      raw_of(EventKind::statedump_pid_ns,
             {{"tid", 7}, {"ns_level", 0}, {"ns_inum", 11}, {"vtid", 12}, {"vpid", 13}, {"vppid", 9}})));
  EXPECT_EQ(pid_ns.tid, 7);
  EXPECT_EQ(pid_ns.ns.ns_level, 0);
  EXPECT_EQ(pid_ns.ns.ns_inum, 11);
  EXPECT_EQ(pid_ns.ns.vtid, 12);
  EXPECT_EQ(pid_ns.ns.vpid, 13);
  EXPECT_EQ(pid_ns.ns.vppid, 9);
  const auto wakeup = std::get<SchedWakeup>(make_payload(
      EventKind::sched_wakeup, raw_of(EventKind::sched_wakeup, {{"tid", 3}, {"target_cpu", 1}})));
  EXPECT_EQ(wakeup.tid, 3);
  EXPECT_EQ(wakeup.target_cpu, 1);

  const auto vmsync = std::get<Vmsync>(
      make_payload(EventKind::vmsync_gh_host, raw_of(EventKind::vmsync_gh_host, {{"cnt", 4}, {"vm_uid", 8}})));
  EXPECT_EQ(vmsync.cnt, 4);
  EXPECT_EQ(vmsync.vm_uid, 8);
}

bool same_type(FieldType read, WireType written) {
  switch (read) {
    case FieldType::string: return written == WireType::string;
    case FieldType::int_array: return written == WireType::sint_array;
    case FieldType::integer:
      return written != WireType::none && written != WireType::string && written != WireType::sint_array;
  }
  return false;
}

// Every written row is an event of its kind, and carries every required field of that kind; each
// field's declared type is the one the analyses read; an array follows its length.
TEST(WrittenLayout, CarriesWhatTheAnalysesRead) {
  size_t written = 0;
  for (size_t i = 0; i < event_layout_count(); ++i) {
    const EventLayout& row = event_layouts()[i];
    if (!row.written()) continue;
    ++written;
    const EventLayout& view = *layout_of(row.kind);
    for (size_t f = 0; f < view.field_count(); ++f)
      if (view.fields[f].required) {
        EXPECT_NE(field_of(row, view.fields[f].name), nullptr) << row.names[0] << "." << view.fields[f].name;
      }
    for (size_t f = 0; f < row.field_count(); ++f) {
      const FieldSpec& field = row.fields[f];
      EXPECT_TRUE(same_type(field.type, field.wire.type)) << row.names[0] << "." << field.name;
      if (field.wire.type == WireType::sint_array) {
        ASSERT_GT(f, 0u);
        EXPECT_EQ(row.fields[f - 1].wire.type, WireType::length) << row.names[0] << "." << field.name;
      }
      EXPECT_EQ(field.wire.bits == 0, field.wire.type == WireType::string) << row.names[0] << "." << field.name;
    }
  }
  // One per exact event and generation that source.vm.scenario can write: 22, and 11 for its
  // wake causes (kvm_apic_ipi, kvm_apic_accept_irq in two namings, kvm_msi_set_irq) and L0's nested
  // events (kvm_nested_vmenter, kvm_nested_vmexit, kvm_nested_vmexit_inject in two namings), and 2
  // for its request threads' host disk (irq_softirq_entry, irq_softirq_exit).
  EXPECT_EQ(written, 35u);
}

// The generations as lttng-modules wrote them: kvm_x86_* carry the vCPU id in kvm_exit, the
// older kvm_exit does not; 2.7-2.11 statedumps carry the namespace level in the process event.
TEST(WrittenLayout, NamingGenerations) {
  const EventLayout* newer = written_layout(EventKind::kvm_exit, Naming::newer, NsLayout::any);
  const EventLayout* older = written_layout(EventKind::kvm_exit, Naming::older, NsLayout::any);
  ASSERT_TRUE(newer && older);
  EXPECT_STREQ(newer->names[0], "kvm_x86_exit");
  EXPECT_STREQ(older->names[0], "kvm_exit");
  EXPECT_NE(field_of(*newer, "vcpu_id"), nullptr);
  EXPECT_EQ(field_of(*older, "vcpu_id"), nullptr);
  EXPECT_EQ(field_of(*newer, "guest_rip")->wire.type, WireType::hex);
  EXPECT_FALSE(field_of(*newer, "guest_rip")->read);
  EXPECT_STREQ(written_layout(EventKind::kvm_entry, Naming::older, NsLayout::any)->names[0], "kvm_entry");
  EXPECT_STREQ(written_layout(EventKind::kvm_inj_virq, Naming::newer, NsLayout::any)->names[0], "kvm_x86_inj_virq");
  const EventLayout* per_level = written_layout(EventKind::statedump_process, Naming::any, NsLayout::per_level);
  const EventLayout* separate = written_layout(EventKind::statedump_process, Naming::any, NsLayout::separate);
  ASSERT_TRUE(per_level && separate);
  EXPECT_NE(field_of(*per_level, "ns_level"), nullptr);
  EXPECT_EQ(field_of(*separate, "ns_level"), nullptr);
  EXPECT_STREQ(written_layout(EventKind::syscall_entry, Naming::any, NsLayout::any, "syscall_entry_read")->names[0],
               "syscall_entry_read");
  EXPECT_EQ(written_layout(EventKind::syscall_entry, Naming::any, NsLayout::any, "syscall_entry_nope"), nullptr);
  // A family sharing one payload: the exact name picks the row of its pattern.
  EXPECT_STREQ(written_layout(EventKind::irq_vector_entry, Naming::any, NsLayout::any,
                              "x86_irq_vectors_local_timer_entry")->names[0],
               "x86_irq_vectors_*_entry");
}

// Every scenario event type has a written row in every generation the scenario can write.
TEST(WrittenLayout, EveryScenarioEventHasALayout) {
  for (int t = 0; t < int(ScenarioEventType::count); ++t)
    for (bool old_names : {false, true})
      for (bool lm211 : {false, true}) {
        const WrittenEvent event = scenario_written_event(ScenarioEventType(t), old_names, lm211);
        ASSERT_NE(event.layout, nullptr);
        EXPECT_TRUE(event.layout->written()) << event.name;
        EXPECT_EQ(std::string(event.name).find('*'), std::string::npos) << event.name;
        EXPECT_EQ(kind_of(event.name), event.layout->kind) << event.name;
      }
  EXPECT_STREQ(scenario_written_event(ScenarioEventType::kvm_entry, true, false).name, "kvm_entry");
  EXPECT_STREQ(scenario_written_event(ScenarioEventType::kvm_entry, false, false).name, "kvm_x86_entry");
  EXPECT_STREQ(scenario_written_event(ScenarioEventType::sched_waking, false, false).name, "sched_waking");
  EXPECT_STREQ(scenario_written_event(ScenarioEventType::sched_wakeup, false, false).name, "sched_wakeup");
  EXPECT_STREQ(scenario_written_event(ScenarioEventType::timer_irq_exit, false, false).name,
               "x86_irq_vectors_local_timer_exit");
}

}  // namespace
}  // namespace vm
