// SPDX-License-Identifier: MIT
#pragma once
// Guest matching without vmsync: which VM of which host a guest trace is, from stock KVM events
// alone. Every event a guest records on its CPU v happens while the host runs v's thread in guest
// mode, i.e. inside a window [kvm_entry, kvm_exit] of that thread (KvmWindowSync). For each trace
// not linked by vmsync, every VM of every other trace is scored by the share of the trace's
// events its windows explain under drift-tracked offsets (KvmWindowSync::coarse):
//   - the best VM must explain at least kCoarseThreshold (90%) of them,
//   - then, synchronized by KvmWindowSync::solve, at least kSolvedThreshold (99%);
// the confidence of the link is that final share. A `guest-vm` parameter (trace -> QEMU pid)
// restricts the candidates to that VM and links even when the windows cannot synchronize it.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "sync/fuse_model.h"
#include "base/packed_seq.h"
#include "sync/kvm_window_sync.h"
#include "base/types.h"
#include "kvm/vcpu_tracker.h"

namespace vm {

inline constexpr double kCoarseThreshold = 0.9;
inline constexpr double kSolvedThreshold = 0.99;

// What one trace's first pass keeps for guest matching: as a guest, the time of every event per
// CPU and its interrupt handler entries; as a host, the guest-mode windows of every thread and
// the interrupts injected into them. Events are given in time order.
class GuestEvidence {
 public:
  void on_event(int64_t cpu, Timestamp ts);
  // kvm_entry / kvm_exit of host thread `tid` (tid < 0: unknown, ignored).
  void on_kvm_entry(int64_t tid, Timestamp ts);
  void on_kvm_exit(int64_t tid, Timestamp ts);
  // kvm_inj_virq by host thread `tid` (ignored when tid < 0).
  void on_injection(int64_t tid, Timestamp ts, int64_t vector);
  // An interrupt handler entry on the guest's CPU `cpu` (ignored when cpu < 0).
  void on_vector_entry(int64_t cpu, Timestamp ts, int64_t vector);

  // Keeps the long sequences in files of `dir` (PackedBytes::spill_to; `dir` must outlive this
  // object), from now on.
  void spill_to(const std::string* dir) { spill_dir_ = dir; }

  size_t active_cpus() const;  // CPUs with at least one event
  bool has_windows() const { return !windows_.empty(); }

  // Adds the windows and injections of `vcpus` (threads of this trace) as a host, and this
  // trace's events and vector entries as a guest. All of them are read in place
  // (KvmWindowSync::add_windows): this evidence must outlive `sync`.
  void add_host_side(KvmWindowSync& sync, const std::vector<VcpuRecord>& vcpus) const;
  void add_guest_side(KvmWindowSync& sync) const;

 private:
  std::vector<TimeSeq> event_times_;  // per CPU (delta-encoded: the largest part of pass 1)
  std::unordered_map<int64_t, KvmWindowSync::Windows> windows_;  // per host thread (packed)
  std::unordered_map<int64_t, Timestamp> open_entry_;
  std::unordered_map<int64_t, KvmWindowSync::Vectors> injections_;  // per host thread (packed)
  std::vector<KvmWindowSync::Vectors> vector_entries_;              // per CPU (packed)
  const std::string* spill_dir_ = nullptr;
};

// The steps of the decision, for each guest trace, on the scores of the candidate VMs.
// The best VM and the runner-up, as indexes into `scores` (-1: none). A VM must score above 0 and
// strictly above the ones before it to move ahead: among equals the first stays ahead.
struct VmRanking {
  int best = -1, second = -1;
};
VmRanking rank_vms(const std::vector<double>& scores);
// The best VM explains enough of the guest's events to try synchronizing with it.
inline bool explains_coarsely(double score) {
  return score >= kCoarseThreshold;
}
// Synchronized, it explains enough of them to link the guest to it.
inline bool explains_when_synchronized(double fraction) {
  return fraction >= kSolvedThreshold;
}
// The runner-up would have been a coarse match too: the link is doubtful if, synchronized, the
// runner-up also explains 99% (link_by_kvm_windows checks that before it warns).
inline bool is_ambiguous(const std::vector<double>& scores, const VmRanking& ranking) {
  return ranking.second >= 0 && scores[static_cast<size_t>(ranking.second)] > kCoarseThreshold;
}

// Links the guests of `model` that vmsync did not link (FuseModel::link_guest) and adds their
// KVM-window and injected-interrupt sync points. `evidence[i]` and `vcpus[i]` belong to machine
// i (`vcpus`: the vCPU threads pass 1 found on it). `guest_vm`: trace name or hostname -> QEMU
// pid. Returns the diagnostics worth a warning.
std::vector<std::string> link_by_kvm_windows(FuseModel& model, const std::vector<GuestEvidence>& evidence,
                                             const std::vector<std::vector<VcpuRecord>>& vcpus,
                                             const std::map<std::string, int64_t>& guest_vm);

// Guests linked by vmsync whose VM the host knows only by the thread of their exchanges (the
// host's vmsync events carry no pid context): the host thread of each guest's exchanges, found by
// the exchanges' uid. Fed in time order; a guest's last exchange decides, once its host thread
// is known, and the first host thread of a uid stays.
class VmsyncThreads {
 public:
  void on_guest_exchange(int guest, uint64_t uid);
  void on_host_exchange(uint64_t uid, int64_t host_tid);
  // Gives every guest of `model` with a parent but no VM pid its VM key: the process of its
  // exchanges' thread on the parent (`pid_of(parent, tid)`, < 0 when unknown), else the
  // thread's own key (vm_key_of_thread).
  void resolve(FuseModel& model, const std::function<int64_t(int machine, int64_t tid)>& pid_of) const;

 private:
  std::unordered_map<uint64_t, int64_t> thread_by_uid_;
  std::unordered_map<int, uint64_t> guest_uid_;
  std::unordered_map<int, int64_t> guest_thread_;
};

}  // namespace vm
