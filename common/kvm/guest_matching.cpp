// SPDX-License-Identifier: MIT
#include "kvm/guest_matching.h"

#include <memory>
#include <set>
#include <stdexcept>
#include <utility>

#include "kvm/vm_key.h"

namespace vm {

namespace {

// A new sequence keeps its bytes in a file of `dir` once they are long (PackedBytes).
template <typename Seq>
Seq& slot(std::vector<Seq>& per_cpu, int64_t cpu, const std::string* dir) {
  if (static_cast<size_t>(cpu) >= per_cpu.size()) {
    const size_t old = per_cpu.size();
    per_cpu.resize(size_t(cpu) + 1);
    for (size_t i = old; i < per_cpu.size(); ++i) per_cpu[i].spill_to(dir);
  }
  return per_cpu[static_cast<size_t>(cpu)];
}
template <typename Seq>
Seq& slot(std::unordered_map<int64_t, Seq>& per_thread, int64_t tid, const std::string* dir) {
  const auto [it, added] = per_thread.try_emplace(tid);
  if (added) it->second.spill_to(dir);
  return it->second;
}

struct Candidate {
  int host = -1;
  int64_t pid = kUnknown;
};

}  // namespace

void GuestEvidence::on_event(int64_t cpu, Timestamp ts) {
  if (cpu >= 0) slot(event_times_, cpu, spill_dir_).push_back(ts);
}

void GuestEvidence::on_kvm_entry(int64_t tid, Timestamp ts) {
  if (tid >= 0) open_entry_[tid] = ts;
}

void GuestEvidence::on_kvm_exit(int64_t tid, Timestamp ts) {
  if (tid < 0) return;
  if (auto open = open_entry_.find(tid); open != open_entry_.end()) {
    slot(windows_, tid, spill_dir_).push_back(KvmWindowSync::Window{open->second, ts});
    open_entry_.erase(open);
  }
}

void GuestEvidence::on_injection(int64_t tid, Timestamp ts, int64_t vector) {
  if (tid >= 0) slot(injections_, tid, spill_dir_).push_back({ts, vector});
}

void GuestEvidence::on_vector_entry(int64_t cpu, Timestamp ts, int64_t vector) {
  if (cpu >= 0) slot(vector_entries_, cpu, spill_dir_).push_back({ts, vector});
}

size_t GuestEvidence::active_cpus() const {
  size_t cpus = 0;
  for (const auto& times : event_times_) cpus += times.empty() ? 0 : 1;
  return cpus;
}

void GuestEvidence::add_host_side(KvmWindowSync& sync, const std::vector<VcpuRecord>& vcpus) const {
  for (const VcpuRecord& vcpu : vcpus) {
    const auto windows = windows_.find(vcpu.host_tid);
    if (windows == windows_.end()) continue;
    sync.add_windows(int(vcpu.vcpu_id), windows->second);  // read in place, not copied
  }
  for (const VcpuRecord& vcpu : vcpus)
    if (const auto it = injections_.find(vcpu.host_tid); it != injections_.end())
      sync.add_injections(int(vcpu.vcpu_id), it->second);
}

void GuestEvidence::add_guest_side(KvmWindowSync& sync) const {
  for (size_t cpu = 0; cpu < event_times_.size(); ++cpu)
    sync.add_guest_events(int(cpu), event_times_[cpu]);
  for (size_t cpu = 0; cpu < vector_entries_.size(); ++cpu) sync.add_guest_vectors(int(cpu), vector_entries_[cpu]);
}

VmRanking rank_vms(const std::vector<double>& scores) {
  VmRanking ranking;
  auto score_of = [&](int index) { return index >= 0 ? scores[static_cast<size_t>(index)] : 0.0; };
  for (int i = 0; i < static_cast<int>(scores.size()); ++i) {
    if (scores[static_cast<size_t>(i)] > score_of(ranking.best)) {
      ranking.second = ranking.best;
      ranking.best = i;
    } else if (scores[static_cast<size_t>(i)] > score_of(ranking.second)) {
      ranking.second = i;
    }
  }
  return ranking;
}

namespace {

// The QEMU pids of the VMs that the other traces run, for a message: "QEMU pids: 205 on `host`".
std::string vm_pids_text(const FuseModel& model, const std::vector<std::vector<VcpuRecord>>& vcpus, size_t guest) {
  std::string text;
  for (size_t h = 0; h < vcpus.size() && h < model.size(); ++h) {
    if (h == guest) continue;
    std::set<int64_t> pids;
    for (const VcpuRecord& vcpu : vcpus[h])
      if (vcpu.host_pid >= 0) pids.insert(vcpu.host_pid);
    for (const int64_t pid : pids)
      text += (text.empty() ? "" : ", ") + std::to_string(pid) + " on `" + model.machine(int(h)).trace_name + "`";
  }
  return text.empty() ? "no trace runs a VM" : "QEMU pids: " + text;
}

// Every GUEST of `guest-vm` names a trace (by trace name or hostname) that can be a guest: one
// of the other traces runs VMs.
void check_guest_vm(const FuseModel& model, const std::vector<GuestEvidence>& evidence,
                    const std::map<std::string, int64_t>& guest_vm) {
  for (const auto& [name, pid] : guest_vm) {
    std::string names;
    bool found = false;
    for (size_t t = 0; t < model.size(); ++t) {
      const FusedMachine& machine = model.machine(int(t));
      names += (names.empty() ? "`" : ", `") + machine.trace_name + "`";
      if (machine.hostname != name && machine.trace_name != name && machine.lttng_trace_name != name) continue;
      found = true;
      bool other_host = false;
      for (size_t h = 0; h < model.size() && h < evidence.size(); ++h) other_host |= h != t && evidence[h].has_windows();
      if (!other_host)
        throw std::invalid_argument("parameter `guest-vm`: `" + name + "=" + std::to_string(pid) + "` names `" +
                                    machine.trace_name +
                                    "`, but no other trace runs a VM: give the guest trace's name, not the host's");
    }
    if (!found)
      throw std::invalid_argument("parameter `guest-vm`: no trace is named `" + name + "` (by trace name or " +
                                  "hostname; the traces: " + names + ")");
  }
}

}  // namespace

std::vector<std::string> link_by_kvm_windows(FuseModel& model, const std::vector<GuestEvidence>& evidence,
                                             const std::vector<std::vector<VcpuRecord>>& vcpus,
                                             const std::map<std::string, int64_t>& guest_vm) {
  check_guest_vm(model, evidence, guest_vm);
  std::vector<std::string> diagnostics;
  std::map<std::pair<int, int64_t>, size_t> linked;  // (host, QEMU pid) -> the guest linked to it
  auto link = [&](size_t guest, const Candidate& vm, const std::string& method, double confidence) {
    const auto [it, added] = linked.emplace(std::make_pair(vm.host, vm.pid), guest);
    if (!added && vm.pid != kUnknown)
      throw std::invalid_argument("traces `" + model.machine(int(it->second)).trace_name + "` and `" +
                                  model.machine(int(guest)).trace_name + "` both match the VM of QEMU pid " +
                                  std::to_string(vm.pid) + " on `" + model.machine(vm.host).trace_name +
                                  "`: one guest cannot be two traces (give each trace once, or name each guest's "
                                  "VM with guest-vm=\"GUEST=PID,...\")");
    model.link_guest(int(guest), vm.host, vm.pid, method, confidence);
  };
  for (size_t t = 0; t < model.size(); ++t) {
    const FusedMachine& candidate = model.machine(static_cast<int>(t));
    if (candidate.is_vmsync_guest) continue;
    int64_t wanted_pid = kUnknown;  // from the guest-vm parameter; the trace names win over the hostname
    for (const std::string& key : {candidate.hostname, candidate.trace_name, candidate.lttng_trace_name})
      if (auto found = guest_vm.find(key); found != guest_vm.end()) wanted_pid = found->second;
    const GuestEvidence& guest = evidence[t];
    const size_t guest_cpus = guest.active_cpus();
    if (guest_cpus == 0) continue;
    // The runner-up is a doubt only if it too, synchronized, keeps 99% of the guest's events in
    // its windows: a busy VM of another host explains most events of any trace at some offset.
    auto runner_up_explains = [&](const Candidate& vm) {
      std::vector<VcpuRecord> vm_vcpus;
      for (const VcpuRecord& vcpu : vcpus[static_cast<size_t>(vm.host)])
        if (vcpu.host_pid == vm.pid) vm_vcpus.push_back(vcpu);
      KvmWindowSync sync;
      evidence[static_cast<size_t>(vm.host)].add_host_side(sync, vm_vcpus);
      guest.add_guest_side(sync);
      return explains_when_synchronized(sync.solve(KvmWindowSync::Options{}).inside_fraction);
    };
    std::vector<Candidate> candidates;
    std::vector<double> scores;
    std::unique_ptr<KvmWindowSync> best_sync;  // only the leader's material is kept
    for (size_t h = 0; h < model.size(); ++h) {
      if (h == t || !evidence[h].has_windows() || h >= vcpus.size()) continue;
      std::map<int64_t, std::vector<VcpuRecord>> vms;  // by QEMU pid (kUnknown: process-less threads)
      for (const VcpuRecord& vcpu : vcpus[h]) vms[vcpu.host_pid].push_back(vcpu);
      for (const auto& [pid, vm_vcpus] : vms) {
        // A VM with fewer vCPUs than the guest has CPUs cannot be it.
        if (wanted_pid != kUnknown ? pid != wanted_pid : vm_vcpus.size() < guest_cpus) continue;
        auto sync = std::make_unique<KvmWindowSync>();
        evidence[h].add_host_side(*sync, vm_vcpus);
        guest.add_guest_side(*sync);
        scores.push_back(sync->coarse(KvmWindowSync::Options{}).inside_fraction);
        candidates.push_back(Candidate{int(h), pid});
        if (rank_vms(scores).best == static_cast<int>(scores.size()) - 1) best_sync = std::move(sync);
      }
    }
    VmRanking ranking = rank_vms(scores);
    if (wanted_pid != kUnknown && candidates.empty())
      throw std::invalid_argument("parameter `guest-vm`: no host trace runs a VM with QEMU pid " +
                                  std::to_string(wanted_pid) + " for trace `" + candidate.trace_name +
                                  "`: give the pid of its QEMU process (" + vm_pids_text(model, vcpus, t) + ")");
    if (wanted_pid != kUnknown && ranking.best < 0) ranking.best = 0;  // the user said so
    if (ranking.best < 0) continue;
    const Candidate& best = candidates[static_cast<size_t>(ranking.best)];
    const double best_score = scores[static_cast<size_t>(ranking.best)];
    if (wanted_pid != kUnknown && !explains_coarsely(best_score)) {
      // The user said so: link, even if the KVM windows cannot synchronize it.
      link(t, best, "parameter", best_score);
      continue;
    }
    if (!explains_coarsely(best_score)) continue;
    const KvmWindowSync::Result result = best_sync->solve(KvmWindowSync::Options{});
    if (wanted_pid != kUnknown && !explains_when_synchronized(result.inside_fraction)) {
      link(t, best, "parameter", best_score);
      continue;
    }
    if (!explains_when_synchronized(result.inside_fraction)) {
      diagnostics.push_back("trace `" + candidate.trace_name + "` looks like a guest of VM " +
                            std::to_string(best.pid) + " on `" + model.machine(best.host).trace_name + "` (" +
                            std::to_string(int(best_score * 1000) / 10.0) +
                            "% of its events in that VM's guest-mode windows), but no clock transform keeps 99% "
                            "of them there: not linked.");
      continue;
    }
    link(t, best, wanted_pid != kUnknown ? "parameter" : "kvm_windows", result.inside_fraction);
    best_sync->for_each_constraint(result, [&](const KvmWindowSync::Result::Constraint& c) {
      if (c.host_sends)
        model.add_constraint(best.host, c.send_ts, int(t), c.recv_ts, SyncMethod::kvm_windows);
      else
        model.add_constraint(int(t), c.send_ts, best.host, c.recv_ts, SyncMethod::kvm_windows);
    });
    // Injected interrupts: kvm_x86_inj_virq on the host precedes the guest's handler entry.
    for (const auto& [host_ts, guest_ts] : best_sync->injection_pairs(result.guest_to_host))
      model.add_constraint(best.host, host_ts, int(t), guest_ts, SyncMethod::kvm_inj_virq);
    if (is_ambiguous(scores, ranking) && runner_up_explains(candidates[static_cast<size_t>(ranking.second)]))
      diagnostics.push_back("trace `" + candidate.trace_name + "`: two VMs explain its events (" +
                            std::to_string(best_score) + " and " +
                            std::to_string(scores[static_cast<size_t>(ranking.second)]) + "); the first was chosen.");
  }
  return diagnostics;
}

void VmsyncThreads::on_guest_exchange(int guest, uint64_t uid) {
  guest_uid_[guest] = uid;
  if (const auto it = thread_by_uid_.find(uid); it != thread_by_uid_.end()) guest_thread_[guest] = it->second;
}

void VmsyncThreads::on_host_exchange(uint64_t uid, int64_t host_tid) {
  if (host_tid < 0 || !thread_by_uid_.emplace(uid, host_tid).second) return;
  for (const auto& [guest, guest_uid] : guest_uid_)
    if (guest_uid == uid) guest_thread_[guest] = host_tid;
}

void VmsyncThreads::resolve(FuseModel& model, const std::function<int64_t(int, int64_t)>& pid_of) const {
  for (size_t i = 0; i < model.size(); ++i) {
    FusedMachine& machine = model.machine(static_cast<int>(i));
    if (machine.parent < 0 || machine.vm_pid >= 0) continue;
    const auto thread = guest_thread_.find(static_cast<int>(i));
    if (thread == guest_thread_.end()) continue;
    const int64_t pid = pid_of(machine.parent, thread->second);
    machine.vm_pid = pid >= 0 ? pid : vm_key_of_thread(thread->second);
  }
}

}  // namespace vm
