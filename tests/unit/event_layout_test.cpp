// SPDX-License-Identifier: MIT
// The event layout table (common/events/): every lttng-modules spelling maps to its kind, and a
// payload decodes into the typed struct in the table's field order.

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "events/events.h"
#include "events/layout.h"
#include "events/wire_layout.h"
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

TEST(EventLayout, TableIsConsistent) {
  std::set<EventKind> kinds;
  for (size_t i = 0; i < event_layout_count(); ++i) {
    const EventLayout& layout = event_layouts()[i];
    EXPECT_TRUE(kinds.insert(layout.kind).second) << "two layouts for one kind";
    EXPECT_NE(layout.names[0], nullptr);
    EXPECT_NE(layout.description, nullptr);
    // Every listed name maps back to this kind.
    for (const char* name : layout.names) {
      if (name && std::string(name).find('*') == std::string::npos) {
        EXPECT_EQ(kind_of(name), layout.kind) << name;
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

// Fills raw fields by name, as an adapter would from the table.
RawFields raw_of(EventKind kind, std::initializer_list<std::pair<const char*, int64_t>> values) {
  RawFields raw{};
  const EventLayout& layout = *layout_of(kind);
  for (size_t i = 0; i < layout.field_count(); ++i) {
    raw.value[i] = layout.fields[i].fallback;
    raw.present[i] = false;
    for (const auto& [name, value] : values)
      if (std::string(name) == layout.fields[i].name) {
        raw.value[i] = value;
        raw.present[i] = true;
      }
  }
  return raw;
}

TEST(EventLayout, PayloadsDecodeByFieldName) {
  RawFields raw = raw_of(EventKind::sched_switch, {{"prev_tid", 10}, {"prev_state", 1}, {"next_tid", 20}});
  raw.text[3] = {"a", 1};
  raw.text[4] = {"b", 1};
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

  const auto fork = std::get<ProcessFork>(make_payload(
      EventKind::process_fork,
      raw_of(EventKind::process_fork, {{"child_tid", 5}, {"parent_pid", 1}, {"child_ns_inum", 4026531836}})));
  EXPECT_EQ(fork.child_tid, 5);
  EXPECT_EQ(fork.parent_pid, 1);
  EXPECT_EQ(fork.parent_tid, kUnknown);
  EXPECT_EQ(fork.child_ns_inum, 4026531836);
  ASSERT_NE(fork.vtids, nullptr);
  EXPECT_TRUE(fork.vtids->empty());

  // 2.7-2.11 statedump: namespace members in the process event.
  const auto old = std::get<StatedumpProcess>(
      make_payload(EventKind::statedump_process,
                   raw_of(EventKind::statedump_process, {{"tid", 7}, {"type", 1}, {"ns_level", 1}, {"vtid", 3}})));
  EXPECT_TRUE(old.has_ns);
  EXPECT_EQ(old.ns.ns_level, 1);
  EXPECT_EQ(old.ns.vtid, 3);
  EXPECT_EQ(old.ns.vpid, kUnknown);
  const auto pid_ns = std::get<StatedumpPidNs>(make_payload(
      EventKind::statedump_pid_ns, raw_of(EventKind::statedump_pid_ns, {{"tid", 7}, {"ns_level", 0}, {"vppid", 9}})));
  EXPECT_EQ(pid_ns.tid, 7);
  EXPECT_EQ(pid_ns.ns.ns_level, 0);
  EXPECT_EQ(pid_ns.ns.vppid, 9);

  const auto vmsync = std::get<Vmsync>(
      make_payload(EventKind::vmsync_gh_host, raw_of(EventKind::vmsync_gh_host, {{"cnt", 4}, {"vm_uid", 8}})));
  EXPECT_EQ(vmsync.cnt, 4);
  EXPECT_EQ(vmsync.vm_uid, 8);
}

const WireField* wire_field(const WireLayout& layout, const char* name) {
  for (size_t i = 0; i < layout.field_count(); ++i)
    if (std::string(layout.fields[i].name) == name) return &layout.fields[i];
  return nullptr;
}

bool same_type(FieldType read, WireType written) {
  switch (read) {
    case FieldType::string: return written == WireType::string;
    case FieldType::int_array: return written == WireType::sint_array;
    case FieldType::integer: return written != WireType::string && written != WireType::sint_array;
  }
  return false;
}

// Every written layout is an event of its kind, and carries every required field of that kind
// with the type the analyses read; optional fields, where written, have that type too.
TEST(WireLayout, AgreesWithTheAnalysisLayouts) {
  for (size_t i = 0; i < wire_layout_count(); ++i) {
    const WireLayout& wire = wire_layouts()[i];
    EXPECT_EQ(kind_of(wire.name), wire.kind) << wire.name;
    const EventLayout* layout = layout_of(wire.kind);
    ASSERT_NE(layout, nullptr) << wire.name;
    for (size_t f = 0; f < layout->field_count(); ++f) {
      const FieldSpec& spec = layout->fields[f];
      const WireField* field = wire_field(wire, spec.name);
      if (spec.required) {
        EXPECT_NE(field, nullptr) << wire.name << "." << spec.name;
      }
      if (field) {
        EXPECT_TRUE(same_type(spec.type, field->type)) << wire.name << "." << spec.name;
      }
    }
    for (size_t f = 0; f < wire.field_count(); ++f) {
      const WireField& field = wire.fields[f];
      if (field.type == WireType::sint_array) {
        ASSERT_GT(f, 0u);
        EXPECT_EQ(wire.fields[f - 1].type, WireType::length) << wire.name << "." << field.name;
      }
      EXPECT_EQ(field.bits == 0, field.type == WireType::string) << wire.name << "." << field.name;
    }
  }
}

// The generations as lttng-modules wrote them: kvm_x86_* carry the vCPU id in kvm_exit, the
// older kvm_exit does not; 2.7-2.11 statedumps carry the namespace level in the process event.
TEST(WireLayout, NamingGenerations) {
  const WireLayout* newer = wire_layout(EventKind::kvm_exit, Naming::newer, NsLayout::any);
  const WireLayout* older = wire_layout(EventKind::kvm_exit, Naming::older, NsLayout::any);
  ASSERT_TRUE(newer && older);
  EXPECT_STREQ(newer->name, "kvm_x86_exit");
  EXPECT_STREQ(older->name, "kvm_exit");
  EXPECT_NE(wire_field(*newer, "vcpu_id"), nullptr);
  EXPECT_EQ(wire_field(*older, "vcpu_id"), nullptr);
  EXPECT_STREQ(wire_layout(EventKind::kvm_entry, Naming::older, NsLayout::any)->name, "kvm_entry");
  EXPECT_STREQ(wire_layout(EventKind::kvm_inj_virq, Naming::newer, NsLayout::any)->name, "kvm_x86_inj_virq");
  const WireLayout* per_level = wire_layout(EventKind::statedump_process, Naming::any, NsLayout::per_level);
  const WireLayout* separate = wire_layout(EventKind::statedump_process, Naming::any, NsLayout::separate);
  ASSERT_TRUE(per_level && separate);
  EXPECT_NE(wire_field(*per_level, "ns_level"), nullptr);
  EXPECT_EQ(wire_field(*separate, "ns_level"), nullptr);
  EXPECT_STREQ(wire_layout(EventKind::syscall_entry, Naming::any, NsLayout::any, "syscall_entry_read")->name,
               "syscall_entry_read");
  EXPECT_EQ(wire_layout(EventKind::syscall_entry, Naming::any, NsLayout::any, "syscall_entry_nope"), nullptr);
}

// Every scenario event type has a layout in every generation the scenario can write.
TEST(WireLayout, EveryScenarioEventHasALayout) {
  for (int t = 0; t < int(ScenarioEventType::count); ++t)
    for (bool old_names : {false, true})
      for (bool lm211 : {false, true}) {
        const WireLayout& layout = scenario_wire_layout(ScenarioEventType(t), old_names, lm211);
        EXPECT_GT(layout.field_count(), 0u) << layout.name;
      }
  EXPECT_STREQ(scenario_wire_layout(ScenarioEventType::kvm_entry, true, false).name, "kvm_entry");
  EXPECT_STREQ(scenario_wire_layout(ScenarioEventType::kvm_entry, false, false).name, "kvm_x86_entry");
  EXPECT_STREQ(scenario_wire_layout(ScenarioEventType::sched_waking, false, false).name, "sched_waking");
  EXPECT_STREQ(scenario_wire_layout(ScenarioEventType::timer_irq_exit, false, false).name,
               "x86_irq_vectors_local_timer_exit");
}

}  // namespace
}  // namespace vm
