// The event layout table (common/events/): every lttng-modules spelling maps to its kind, and a
// payload decodes into the typed struct in the table's field order.

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "events/events.h"
#include "events/layout.h"

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

}  // namespace
}  // namespace vm
