// SPDX-License-Identifier: MIT
#pragma once
// What filter.vm.fuse learns in its first pass over all inputs: the machines (one per input
// trace), their roles (KVM events make a host, vmsync guest events a guest, both a nested L1
// hypervisor), which guest is which VM of which host, and the clock transforms that bring every
// machine into the reference machine's clock (the Incubator's QemuKvmVmModel.java, the vmsync addon's lttng-vmsync-{host,guest}.c, Trace
// Compass's SyncAlgorithmFullyIncremental.java). Babeltrace-free.
//
// Sync points come from matched messages between two machines, each a causality constraint
// "sent before received":
//   - vmsync hypercall exchanges (Trace Compass's vmsync addon events, key (vm_uid, cnt));
//   - TCP packets: lttng-modules' net_dev_queue on the sender, net_if_receive_skb on the
//     receiver, key (addresses, ports, seq, ack_seq, flags), as Trace Compass's
//     TcpLttngEventMatching.
// One convex hull per pair of machines takes every match (ConvexHullSync); per-method hulls are
// kept too, to report and compare what each method alone gives. A spanning tree from the
// reference machine composes the pair transforms (Trace Compass's SyncSpanningTree.java).

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sync/convex_hull_sync.h"
#include "base/machine_registry.h"
#include "base/types.h"

namespace vm {

struct TcpKey {
  uint32_t saddr = 0, daddr = 0;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack_seq = 0;
  uint16_t flags = 0;
  bool operator==(const TcpKey& o) const {
    return saddr == o.saddr && daddr == o.daddr && sport == o.sport && dport == o.dport && seq == o.seq &&
           ack_seq == o.ack_seq && flags == o.flags;
  }
};

struct TcpKeyHash {
  size_t operator()(const TcpKey& k) const {
    uint64_t h = (uint64_t{k.saddr} << 32) ^ k.daddr;
    h = h * 0x9e3779b97f4a7c15ULL ^ ((uint64_t{k.sport} << 16) | k.dport);
    h = h * 0x9e3779b97f4a7c15ULL ^ ((uint64_t{k.seq} << 32) | k.ack_seq);
    h = h * 0x9e3779b97f4a7c15ULL ^ k.flags;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

enum class SyncMethod : uint8_t { vmsync, tcp, kvm_windows, kvm_inj_virq, count };
const char* sync_method_name(SyncMethod method);

// The result for one machine.
struct MachineSync {
  LinearTransform to_reference;  // t_reference = alpha * t + beta
  int reference = 0;             // index of the reference machine
  std::string method;            // e.g. "tcp", "vmsync+tcp", "reference", "identity (given)", "none"
  SyncQuality quality = SyncQuality::absent;
  uint64_t matches = 0;         // on the path to the reference
  long double accuracy_ns = 0;  // bound of |error| in ns over the observed range (inf if unknown)
  // What each sync method alone gives on the link to the parent in the spanning tree, composed
  // into the reference's clock: to compare methods (e.g. TCP against KVM windows).
  struct Estimate {
    SyncMethod method;
    int peer = -1;  // the other end of the link
    LinearTransform to_reference;
    SyncQuality quality = SyncQuality::absent;
    uint64_t matches = 0;
    long double accuracy_ns = 0;
  };
  std::vector<Estimate> estimates;
  // The error bound of to_reference over any range of reference times, link by link along the
  // path to the reference (ConvexHullSync::BoundLine, moved into the reference clock): over
  // [a, b] the error is at most the sum, over the terms, of the larger of |g0 + g1 (t - t0)| at
  // t = min(a, lo) and t = max(b, hi). Empty with `bounded`: exact (the reference); unbounded:
  // no bound (a link's quality is not accurate).
  std::vector<SyncBoundTerm> bound_terms;
  bool bounded = false;
  // The bound over [from, to] from the terms (+infinity when not bounded).
  long double accuracy_over(int64_t from, int64_t to) const {
    return bounded ? bound_over(bound_terms, from, to) : std::numeric_limits<long double>::infinity();
  }
};

struct FusedMachine {
  std::string trace_name, hostname, clock_uuid;  // trace_name: babeltrace2's (hostname and folder)
  std::string lttng_trace_name;                   // LTTng's `trace_name` environment entry
  std::string name;  // unique display name (base/machine_names.h)
  bool has_kvm = false;
  bool is_vmsync_guest = false;
  bool is_guest = false;  // linked to a VM of a host (vmsync, KVM windows or a parameter)
  uint64_t vm_uid = 0;
  std::string match_method;     // how it was linked to its VM: "vmsync", "kvm_windows", "parameter"
  double match_confidence = 0;  // kvm_windows: share of its events inside its VM's guest-mode windows
  int parent = -1;              // index of the host machine, -1 if none or unknown
  int layer = 0;
  int64_t vm_pid = kUnknown;  // on the parent host: the QEMU process running this guest
  MachineRole role() const {
    if (is_guest || is_vmsync_guest) return MachineRole::guest;  // with KVM events too: a nested hypervisor
    if (has_kvm) return MachineRole::host;
    return MachineRole::unknown;
  }
  MachineSync sync;
};

class FuseModel {
 public:
  int add_machine(std::string trace_name, std::string hostname, std::string clock_uuid,
                  std::string lttng_trace_name = {});
  size_t size() const { return machines_.size(); }
  const FusedMachine& machine(int index) const { return machines_.at(static_cast<size_t>(index)); }
  FusedMachine& machine(int index) { return machines_.at(static_cast<size_t>(index)); }

  void on_kvm_event(int machine) { machines_[static_cast<size_t>(machine)].has_kvm = true; }
  // vmsync_gh_guest / vmsync_hg_guest (`guest_to_host` = gh), on a guest.
  void on_vmsync_guest(int machine, Timestamp ts, bool guest_to_host, uint64_t cnt, uint64_t vm_uid);
  // vmsync_gh_host / vmsync_hg_host on a host, in the vCPU thread of process `vm_pid` (or unknown).
  void on_vmsync_host(int machine, Timestamp ts, bool guest_to_host, uint64_t cnt, uint64_t vm_uid, int64_t vm_pid);
  // net_dev_queue (`send`) or net_if_receive_skb of a TCP segment.
  void on_tcp(int machine, Timestamp ts, bool send, const TcpKey& key);

  // A guest found by other means than vmsync (KVM windows, a parameter): its host and VM.
  void link_guest(int guest, int host, int64_t vm_pid, const std::string& method, double confidence);
  // A causal message between two machines found by another component (KVM windows).
  void add_constraint(int sender, Timestamp send_ts, int receiver, Timestamp recv_ts, SyncMethod method) {
    add_match(sender, send_ts, receiver, recv_ts, method);
  }

  // Decides roles, parents, layers and names, then the transforms. `reference` names the
  // reference machine (display name, LTTng trace name, hostname or babeltrace2 trace name); empty: the top-level host (the
  // first machine if there is none). Throws std::invalid_argument for an unknown reference.
  void solve(const std::string& reference);
  // The transforms again from the hulls as they are now (more sync points came since solve()),
  // the structure (roles, parents, reference) kept; no new diagnostic.
  void update_transforms();
  // Forgets the unmatched halves (vmsync, TCP) that machine i recorded before before[i] (its own
  // clock): a message whose other half has not come by then never will, and a long one-pass run
  // must not keep them all.
  void forget_unmatched(const std::vector<Timestamp>& before);
  // The user's transforms (t_reference = alpha * t + beta), by machine name, hostname or trace
  // name; the others keep their clock. Throws std::invalid_argument for an unknown name.
  void solve_given(const std::string& reference, const std::map<std::string, LinearTransform>& formulas);
  // Every machine keeps its own clock (the `sync="identity"` parameter).
  void solve_identity(const std::string& reference);
  int reference() const { return reference_; }

  // Reuses the machines and transforms of a previous run's database (written by sink.vm.sqlite
  // after filter.vm.fuse), so that this run takes one pass. Machines are matched to the previous
  // ones by trace name and clock UUID. Throws std::runtime_error naming the file and the problem.
  struct CachedVcpu {
    int64_t host_pid, vcpu_id, host_tid;
  };
  struct CachedMachine {
    std::string trace_name, clock_uuid, hostname, name, role, parent_name;
    int layer = 0;
    int64_t qemu_pid = kUnknown;
    LinearTransform to_reference;
    std::string method, quality;
    uint64_t matches = 0;
    long double accuracy_ns = 0;
    std::string match_method;  // guest_match: how the previous run linked the guest ("" if not)
    double match_confidence = 0;
    std::vector<CachedVcpu> vcpus;  // VMs this machine runs
  };
  static std::vector<CachedMachine> read_previous_run(const std::string& path);
  // Adds the cached machines and their transforms (the reference is the one with method
  // "reference"); returns their indexes in the same order.
  void load(const std::vector<CachedMachine>& cached, const std::string& path);
  // Problems worth a warning (a guest with no host, machines with no sync point...).
  const std::vector<std::string>& diagnostics() const { return diagnostics_; }

  // The hull of a pair, all methods together (nullptr if no match), and per method (kvm_inj_virq's
  // stays empty: see PairHulls).
  const ConvexHullSync* hull(int a, int b) const;
  const ConvexHullSync* hull(int a, int b, SyncMethod method) const;

 private:
  struct PairHulls {
    int reference = -1;  // the machine on the hull's x axis (hull_reference())
    ConvexHullSync all;
    ConvexHullSync by_method[static_cast<int>(SyncMethod::count)];
    // kvm_inj_virq goes one way (the host injects, the guest's handler follows): alone its
    // estimate is incomplete whatever its points, since no line can be anchored on an empty
    // opposite hull. (Two traces that each show the other as their guest give injections both
    // ways: they are counted alike.) Its matches are counted, not kept in by_method: with no line to test them
    // against every point qualifies, and a one-sided hull keeps its collinear points, so it grew
    // with the trace (65,536 points, 6 MiB, by 10 M scenario events). `all` has them.
    uint64_t one_way_matches = 0;
    uint64_t matches(int method) const {
      return method == static_cast<int>(SyncMethod::kvm_inj_virq) ? one_way_matches : by_method[method].matches();
    }
  };
  struct Pending {
    int machine;
    Timestamp ts;
  };
  int hull_reference(int a, int b) const;
  void match_vmsync(int machine, Timestamp ts, bool guest_to_host, uint64_t cnt, uint64_t vm_uid, bool is_sender);
  void add_match(int sender, Timestamp send_ts, int receiver, Timestamp recv_ts, SyncMethod method);
  void decide_structure(const std::string& reference);
  void compose_transforms();
  void grow_component(int root, std::vector<int>& component);
  static void add_bound_terms(const ConvexHullSync& hull, const LinearTransform& x_to_reference, long double scale,
                              const MachineSync& parent, MachineSync& sync);
  void report_unsynchronized(int root, bool one_way, const std::vector<std::string>& members);
  static uint64_t pair_key(int a, int b) {
    return (uint64_t(uint32_t(std::min(a, b))) << 32) | uint32_t(std::max(a, b));
  }

  std::vector<FusedMachine> machines_;
  std::map<uint64_t, PairHulls> hulls_;  // key: pair_key(a, b)
  // Unmatched halves. vmsync: key (uid, cnt, direction); TCP: key and direction.
  std::map<std::tuple<uint64_t, uint64_t, bool, bool>, Pending> vmsync_pending_;  // (uid, cnt, gh, is_sender)
  std::unordered_map<TcpKey, Pending, TcpKeyHash> tcp_sends_, tcp_receives_;
  std::map<uint64_t, std::pair<int, int64_t>> vm_uid_hosts_;  // uid -> (host machine, QEMU pid)
  std::vector<std::string> diagnostics_;
  int reference_ = 0;
};

}  // namespace vm
