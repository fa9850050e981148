// SPDX-License-Identifier: MIT
#include "sync/fuse_model.h"

#include "base/machine_names.h"
#include "db/sqlite_db.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <limits>
#include <set>
#include <stdexcept>

namespace vm {

const char* sync_method_name(SyncMethod method) {
  switch (method) {
    case SyncMethod::vmsync: return "vmsync";
    case SyncMethod::tcp: return "tcp";
    case SyncMethod::kvm_windows: return "kvm_windows";
    case SyncMethod::kvm_inj_virq: return "kvm_inj_virq";
    case SyncMethod::count: break;
  }
  return "?";
}

int FuseModel::hull_reference(int a, int b) const {
  // Trace Compass's choice (SyncAlgorithmFullyIncremental.java): the lexicographically smaller host id, which is
  // the clock UUID (the trace name when there is none). The convex hull estimate is not symmetric,
  // so the same choice reproduces its results.
  auto host_id = [&](int m) {
    const FusedMachine& machine = machines_[static_cast<size_t>(m)];
    return machine.clock_uuid.empty() ? machine.trace_name : machine.clock_uuid;
  };
  const std::string id_a = host_id(a), id_b = host_id(b);
  if (id_a != id_b) return id_a < id_b ? a : b;
  return std::min(a, b);
}

int FuseModel::add_machine(std::string trace_name, std::string hostname, std::string clock_uuid,
                           std::string lttng_trace_name) {
  FusedMachine machine;
  machine.lttng_trace_name = std::move(lttng_trace_name);
  machine.trace_name = std::move(trace_name);
  machine.hostname = std::move(hostname);
  machine.clock_uuid = std::move(clock_uuid);
  machines_.push_back(std::move(machine));
  return static_cast<int>(machines_.size()) - 1;
}

void FuseModel::add_match(int sender, Timestamp send_ts, int receiver, Timestamp recv_ts, SyncMethod method) {
  if (sender == receiver) return;
  PairHulls& pair = hulls_[pair_key(sender, receiver)];
  if (pair.reference < 0) pair.reference = hull_reference(sender, receiver);
  const bool from_reference = sender == pair.reference;
  pair.all.add_match(from_reference, send_ts, recv_ts);
  if (method == SyncMethod::kvm_inj_virq) {
    // Counted only (PairHulls). Whichever machine injects: a pair of traces that each show the
    // other as their guest gives injections both ways; they are counted all the same, and `all`
    // has each with its direction.
    ++pair.one_way_matches;
  } else {
    pair.by_method[static_cast<int>(method)].add_match(from_reference, send_ts, recv_ts);
  }
}

void FuseModel::on_vmsync_guest(int machine, Timestamp ts, bool guest_to_host, uint64_t cnt, uint64_t vm_uid) {
  FusedMachine& guest = machines_[static_cast<size_t>(machine)];
  guest.is_vmsync_guest = true;
  guest.vm_uid = vm_uid;
  // gh: the guest sends; hg: the guest receives.
  match_vmsync(machine, ts, guest_to_host, cnt, vm_uid, /*is_sender=*/guest_to_host);
}

void FuseModel::link_guest(int guest, int host, int64_t vm_pid, const std::string& method, double confidence) {
  FusedMachine& machine = machines_[static_cast<size_t>(guest)];
  machine.is_guest = true;
  machine.parent = host;
  machine.vm_pid = vm_pid;
  machine.match_method = method;
  machine.match_confidence = confidence;
}

void FuseModel::on_vmsync_host(int machine, Timestamp ts, bool guest_to_host, uint64_t cnt, uint64_t vm_uid,
                               int64_t vm_pid) {
  machines_[static_cast<size_t>(machine)].has_kvm = true;
  if (vm_uid_hosts_.find(vm_uid) == vm_uid_hosts_.end()) vm_uid_hosts_[vm_uid] = {machine, vm_pid};
  // gh: the host receives; hg: the host sends.
  match_vmsync(machine, ts, guest_to_host, cnt, vm_uid, /*is_sender=*/!guest_to_host);
}

// One half of a vmsync message, keyed (vm_uid, cnt, direction): matched with the other half,
// whichever trace shows it first.
void FuseModel::match_vmsync(int machine, Timestamp ts, bool guest_to_host, uint64_t cnt, uint64_t vm_uid,
                             bool is_sender) {
  const auto other = vmsync_pending_.find({vm_uid, cnt, guest_to_host, !is_sender});
  if (other == vmsync_pending_.end()) {
    vmsync_pending_[{vm_uid, cnt, guest_to_host, is_sender}] = Pending{machine, ts};
    return;
  }
  if (is_sender)
    add_match(machine, ts, other->second.machine, other->second.ts, SyncMethod::vmsync);
  else
    add_match(other->second.machine, other->second.ts, machine, ts, SyncMethod::vmsync);
  vmsync_pending_.erase(other);
}

void FuseModel::on_tcp(int machine, Timestamp ts, bool send, const TcpKey& key) {
  auto& own = send ? tcp_sends_ : tcp_receives_;
  auto& opposite = send ? tcp_receives_ : tcp_sends_;
  const auto other = opposite.find(key);
  if (other != opposite.end() && other->second.machine != machine) {
    if (send)
      add_match(machine, ts, other->second.machine, other->second.ts, SyncMethod::tcp);
    else
      add_match(other->second.machine, other->second.ts, machine, ts, SyncMethod::tcp);
    opposite.erase(other);
    return;
  }
  // First occurrence wins: a forwarded copy of a packet (bridge, tap) is seen later.
  own.emplace(key, Pending{machine, ts});
}

const ConvexHullSync* FuseModel::hull(int a, int b) const {
  const auto it = hulls_.find(pair_key(a, b));
  return it == hulls_.end() ? nullptr : &it->second.all;
}

const ConvexHullSync* FuseModel::hull(int a, int b, SyncMethod method) const {
  const auto it = hulls_.find(pair_key(a, b));
  return it == hulls_.end() ? nullptr : &it->second.by_method[static_cast<int>(method)];
}

void FuseModel::decide_structure(const std::string& reference) {
  // Parents: a vmsync guest belongs to the host that saw its vm_uid.
  for (size_t i = 0; i < machines_.size(); ++i) {
    FusedMachine& m = machines_[i];
    if (!m.is_vmsync_guest) continue;
    const auto host = vm_uid_hosts_.find(m.vm_uid);
    if (host != vm_uid_hosts_.end() && host->second.first != static_cast<int>(i)) {
      m.parent = host->second.first;
      if (m.vm_pid < 0) m.vm_pid = host->second.second;
      m.is_guest = true;
      m.match_method = "vmsync";
      m.match_confidence = 1;
    } else if (m.parent < 0) {
      diagnostics_.push_back("guest trace `" + m.trace_name + "` (vm_uid " + std::to_string(m.vm_uid) +
                             ") has no host among the inputs: no host trace shows its vmsync hypercalls. Add the host "
                             "trace, recorded with the vmsync addon or with kvm_x86_hypercall enabled.");
    }
  }
  // Layers from the parent chain (guarding against cycles).
  for (FusedMachine& m : machines_) {
    int layer = 0;
    std::set<int> seen;
    for (int p = m.parent; p >= 0 && seen.insert(p).second; p = machines_[static_cast<size_t>(p)].parent) ++layer;
    m.layer = layer;
  }
  // Unique display names (base/machine_names.h).
  std::vector<MachineIdentity> identities;
  for (const FusedMachine& m : machines_)
    identities.push_back(MachineIdentity{"", m.lttng_trace_name, m.hostname, m.trace_name, m.clock_uuid});
  const std::vector<std::string> names = unique_machine_names(identities);
  for (size_t i = 0; i < machines_.size(); ++i) machines_[i].name = names[i];
  if (!reference.empty()) {
    reference_ = -1;
    for (size_t i = 0; i < machines_.size() && reference_ < 0; ++i) {
      const FusedMachine& m = machines_[i];
      if (reference == m.name || reference == m.lttng_trace_name || reference == m.hostname ||
          reference == m.trace_name)
        reference_ = static_cast<int>(i);
    }
    if (reference_ < 0) {
      std::string names;
      for (const FusedMachine& m : machines_) names += (names.empty() ? "" : ", ") + m.name;
      throw std::invalid_argument("parameter `reference`: no machine is named `" + reference + "` (machines: " + names +
                                  ")");
    }
  } else {
    // The top-level host; without one, the first machine that is not a guest.
    reference_ = -1;
    for (size_t i = 0; i < machines_.size() && reference_ < 0; ++i)
      if (machines_[i].role() == MachineRole::host && machines_[i].parent < 0) reference_ = static_cast<int>(i);
    for (size_t i = 0; i < machines_.size() && reference_ < 0; ++i)
      if (machines_[i].role() != MachineRole::guest) reference_ = static_cast<int>(i);
    if (reference_ < 0) reference_ = 0;
  }
}

void FuseModel::solve_identity(const std::string& reference) {
  decide_structure(reference);
  for (size_t i = 0; i < machines_.size(); ++i) {
    MachineSync& sync = machines_[i].sync;
    sync = MachineSync{};
    sync.reference = reference_;
    sync.method = static_cast<int>(i) == reference_ ? "reference" : "identity (given)";
    sync.quality = static_cast<int>(i) == reference_ ? SyncQuality::accurate : SyncQuality::absent;
  }
}

void FuseModel::solve_given(const std::string& reference, const std::map<std::string, LinearTransform>& formulas) {
  decide_structure(reference);
  std::map<std::string, LinearTransform> unused = formulas;
  for (size_t i = 0; i < machines_.size(); ++i) {
    FusedMachine& m = machines_[i];
    MachineSync& sync = m.sync;
    sync = MachineSync{};
    sync.reference = reference_;
    sync.method = static_cast<int>(i) == reference_ ? "reference" : "identity (given)";
    sync.quality = static_cast<int>(i) == reference_ ? SyncQuality::accurate : SyncQuality::absent;
    for (const std::string& key : {m.name, m.lttng_trace_name, m.hostname, m.trace_name}) {
      if (key.empty()) continue;
      const auto found = formulas.find(key);
      if (found == formulas.end()) continue;
      sync.to_reference = found->second;
      sync.method = "formula (given)";
      sync.quality = SyncQuality::accurate;
      sync.accuracy_ns = std::numeric_limits<long double>::infinity();  // unknown: the user's
      unused.erase(key);
      break;
    }
  }
  for (const auto& [name, transform] : unused)
    throw std::invalid_argument("parameter `sync`: no machine is named `" + name + "`");
}

void FuseModel::solve(const std::string& reference) {
  decide_structure(reference);
  compose_transforms();
}

void FuseModel::update_transforms() {
  const size_t said = diagnostics_.size();
  compose_transforms();
  diagnostics_.resize(said);  // said once, by solve()
}

void FuseModel::forget_unmatched(const std::vector<Timestamp>& before) {
  auto old = [&](const Pending& p) {
    return p.machine >= 0 && static_cast<size_t>(p.machine) < before.size() &&
           p.ts < before[static_cast<size_t>(p.machine)];
  };
  for (auto it = vmsync_pending_.begin(); it != vmsync_pending_.end();) it = old(it->second) ? vmsync_pending_.erase(it) : std::next(it);
  for (auto* pending : {&tcp_sends_, &tcp_receives_})
    for (auto it = pending->begin(); it != pending->end();) it = old(it->second) ? pending->erase(it) : std::next(it);
}

void FuseModel::compose_transforms() {
  const size_t n = machines_.size();
  for (FusedMachine& m : machines_) m.sync = MachineSync{};
  std::vector<int> component(n, -1);  // the root each machine is reached from
  MachineSync& root = machines_[static_cast<size_t>(reference_)].sync;
  root.reference = reference_;
  root.method = "reference";
  root.quality = SyncQuality::accurate;
  root.bounded = true;
  grow_component(reference_, component);
  // Machines that no chain of sync points links to the reference: each group that sync points
  // link together (a second host and its guests) keeps the clock of its root, its top-level
  // host, unsynchronized with the reference (quality absent, or incomplete when sync points go
  // one way only); its guests are synchronized with their host all the same.
  for (;;) {
    int next = -1;
    for (size_t i = 0; i < n && next < 0; ++i)
      if (component[i] < 0 && machines_[i].role() == MachineRole::host && machines_[i].parent < 0) next = int(i);
    for (size_t i = 0; i < n && next < 0; ++i)
      if (component[i] < 0) next = int(i);
    if (next < 0) break;
    MachineSync& sync = machines_[static_cast<size_t>(next)].sync;
    sync.reference = reference_;
    sync.method = "none";
    sync.accuracy_ns = std::numeric_limits<long double>::infinity();
    sync.quality = SyncQuality::absent;
    // Its members' error bounds are taken in its clock, the one they are mapped into: the root
    // is exact in it while its group grows, then unbounded against the reference again.
    sync.bounded = true;
    grow_component(next, component);
    sync.bounded = false;
    bool any_match = false;  // a sync point between this group and another
    std::vector<std::string> members;
    for (size_t i = 0; i < n; ++i) {
      if (component[i] != next) continue;
      if (static_cast<int>(i) != next) members.push_back(machines_[i].name);
      for (size_t j = 0; j < n; ++j)
        if (component[j] != next && hull(static_cast<int>(i), static_cast<int>(j))) any_match = true;
    }
    if (any_match) sync.quality = SyncQuality::incomplete;
    for (size_t i = 0; i < n; ++i)
      if (component[i] == next && static_cast<int>(i) != next)
        machines_[i].sync.quality = std::min(machines_[i].sync.quality, sync.quality);
    report_unsynchronized(next, any_match, members);
  }
}

// Breadth-first from `root` over pairs whose hull gives a transform (Trace Compass's
// SyncSpanningTree.java), composing each machine's transform with its parent's in the tree.
void FuseModel::grow_component(int root, std::vector<int>& component) {
  const size_t n = machines_.size();
  component[static_cast<size_t>(root)] = root;
  std::deque<int> queue{root};
  while (!queue.empty()) {
    const int u = queue.front();
    queue.pop_front();
    for (int v = 0; v < static_cast<int>(n); ++v) {
      if (component[static_cast<size_t>(v)] >= 0) continue;
      const auto it = hulls_.find(pair_key(u, v));
      if (it == hulls_.end()) continue;
      const ConvexHullSync& hull = it->second.all;
      const SyncQuality q = hull.quality();
      if (q != SyncQuality::approximate && q != SyncQuality::accurate && q != SyncQuality::fail) continue;
      // The hull maps its "other" machine onto its reference machine.
      const LinearTransform other_to_reference = hull.other_to_reference();
      const bool v_is_other = it->second.reference == u;
      const LinearTransform v_to_u = v_is_other ? other_to_reference : other_to_reference.inverse();
      const MachineSync& parent = machines_[static_cast<size_t>(u)].sync;
      MachineSync& sync = machines_[static_cast<size_t>(v)].sync;
      sync.to_reference = compose(parent.to_reference, v_to_u);
      sync.reference = reference_;
      std::string methods;
      for (int k = 0; k < static_cast<int>(SyncMethod::count); ++k)
        if (it->second.matches(k) > 0)
          methods += (methods.empty() ? "" : "+") + std::string(sync_method_name(static_cast<SyncMethod>(k)));
      sync.method = u == reference_ ? methods : methods + " via " + machines_[static_cast<size_t>(u)].name;
      // A chain is as good as its worst link; its error bounds add up (scaled into the
      // reference clock by the parent's slope).
      sync.quality = u == reference_ ? q : std::min(q, parent.quality);
      if (q == SyncQuality::fail || parent.quality == SyncQuality::fail) sync.quality = SyncQuality::fail;
      sync.matches = hull.matches() + (u == reference_ ? 0 : parent.matches);
      long double edge = hull.accuracy_ns();
      if (!v_is_other) edge *= std::fabs(static_cast<double>(v_to_u.alpha));  // the bound is in v's clock
      sync.accuracy_ns = parent.accuracy_ns + std::fabs(static_cast<double>(parent.to_reference.alpha)) * edge;
      add_bound_terms(hull, it->second.reference == u ? parent.to_reference : sync.to_reference,
                      (v_is_other ? 1.0L : std::fabs(static_cast<double>(v_to_u.alpha))) *
                          std::fabs(static_cast<double>(parent.to_reference.alpha)),
                      parent, sync);
      for (int k = 0; k < static_cast<int>(SyncMethod::count); ++k) {
        const ConvexHullSync& alone = it->second.by_method[k];
        if (it->second.matches(k) == 0) continue;
        MachineSync::Estimate estimate;
        estimate.method = static_cast<SyncMethod>(k);
        estimate.peer = u;
        // A one-way method (PairHulls): what its hull would say, incomplete; `alone` is empty, so
        // its transform is the identity and its bound infinite, as an incomplete hull's.
        const bool one_way = k == static_cast<int>(SyncMethod::kvm_inj_virq);
        estimate.quality = one_way ? SyncQuality::incomplete : alone.quality();
        estimate.matches = it->second.matches(k);
        const LinearTransform link = v_is_other ? alone.other_to_reference() : alone.other_to_reference().inverse();
        estimate.to_reference = compose(parent.to_reference, link);
        long double bound = alone.accuracy_ns();
        if (!v_is_other) bound *= std::fabs(static_cast<double>(link.alpha));
        estimate.accuracy_ns = parent.accuracy_ns + std::fabs(static_cast<double>(parent.to_reference.alpha)) * bound;
        sync.estimates.push_back(estimate);
      }
      component[static_cast<size_t>(v)] = root;
      queue.push_back(v);
    }
  }
}

// `sync`'s bound terms: its parent's, and the link's bound line (in the clock of the hull's
// reference machine, whose transform into the reference clock is `x_to_reference`) scaled by
// `scale` into the reference clock as accuracy_ns is in grow_component().
void FuseModel::add_bound_terms(const ConvexHullSync& hull, const LinearTransform& x_to_reference, long double scale,
                                const MachineSync& parent, MachineSync& sync) {
  ConvexHullSync::BoundLine line;
  sync.bounded = parent.bounded && hull.bound_line(line) && x_to_reference.alpha > 0;
  sync.bound_terms.clear();
  if (!sync.bounded) return;
  sync.bound_terms = parent.bound_terms;
  SyncBoundTerm term;
  // x = x0 + (t - T(x0)) / A for reference time t, T = x_to_reference (A its slope).
  term.t0 = x_to_reference.apply(line.x0);
  const long double shift = (static_cast<long double>(term.t0) - (x_to_reference.alpha * line.x0 + x_to_reference.beta)) /
                            x_to_reference.alpha;
  term.g0 = scale * (line.g0 + line.g1 * shift);
  term.g1 = scale * line.g1 / x_to_reference.alpha;
  term.lo = x_to_reference.apply(hull.min_reference_ts());
  term.hi = x_to_reference.apply(hull.max_reference_ts());
  sync.bound_terms.push_back(term);
}

// The warning for a group of machines left in its root's clock: two hosts that never talked
// are named both, with what to record to link them.
void FuseModel::report_unsynchronized(int root, bool one_way, const std::vector<std::string>& members) {
  const FusedMachine& m = machines_[static_cast<size_t>(root)];
  const FusedMachine& reference = machines_[static_cast<size_t>(reference_)];
  const std::string why = one_way ? "their sync points go one way only" : "no sync point links them";
  if (m.role() != MachineRole::host || reference.role() != MachineRole::host) {
    diagnostics_.push_back("machine `" + m.name + "` could not be synchronized with `" + reference.name + "`: " + why +
                           ". Its events keep their own clock (quality " + sync_quality_name(m.sync.quality) +
                           "). Record TCP traffic between the machines (net_dev_queue, net_if_receive_skb) or the "
                           "vmsync events.");
    return;
  }
  std::string guests;
  for (const std::string& name : members) guests += (guests.empty() ? "`" : "`, `") + name;
  if (!guests.empty()) guests += "`";
  diagnostics_.push_back(
      "hosts `" + m.name + "` and `" + reference.name + "` (the reference) could not be synchronized: " + why +
      " (no TCP packet that both traces show). `" + m.name + "`" +
      (guests.empty() ? "" : " and its guests (" + guests + ")") + " keep `" + m.name +
      "`'s clock, unsynchronized with `" + reference.name + "` (sync quality " + sync_quality_name(m.sync.quality) +
      "). To link them, trace both hosts while they exchange TCP traffic, recording the packets on each: "
      "`lttng enable-event -k net_dev_queue,net_if_receive_skb`.");
}

namespace {

// A number of a previous run's database, the whole text and finite (a tampered file is refused
// with the column and the machine named).
long double cached_number(const std::string& text, const char* column, const std::string& machine) {
  char* end = nullptr;
  const long double value = std::strtold(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value))
    throw std::runtime_error(std::string(column) + " of machine `" + machine + "` is `" + text +
                             "`, not a finite number");
  return value;
}

}  // namespace

std::vector<FuseModel::CachedMachine> FuseModel::read_previous_run(const std::string& path) {
  std::vector<CachedMachine> machines;
  try {
    SqliteConnection db(path);
    SqliteStatement query = db.prepare(
        "SELECT t.name, t.clock_uuid, t.hostname, m.name, m.role, COALESCE(p.name, ''), m.layer,"
        " COALESCE(g.qemu_pid, -1), s.alpha_text, s.beta_text, s.method, s.quality, s.matches,"
        " COALESCE(s.accuracy_ns, -1), m.id, COALESCE(g.method, ''), COALESCE(g.confidence, 0)"
        " FROM trace t JOIN machine m ON m.id = t.machine_id LEFT JOIN machine p ON p.id = m.parent_id"
        " JOIN sync s ON s.machine = m.id LEFT JOIN guest_match g ON g.machine = m.id ORDER BY m.id");
    std::vector<int64_t> ids;
    while (query.step()) {
      CachedMachine machine;
      machine.trace_name = query.column_text(0);
      machine.clock_uuid = query.column_text(1);
      machine.hostname = query.column_text(2);
      machine.name = query.column_text(3);
      machine.role = query.column_text(4);
      machine.parent_name = query.column_text(5);
      machine.layer = static_cast<int>(query.column_int(6));
      machine.qemu_pid = query.column_int(7);
      machine.to_reference = LinearTransform{cached_number(query.column_text(8), "sync.alpha_text", machine.name),
                                             cached_number(query.column_text(9), "sync.beta_text", machine.name)};
      if (!(machine.to_reference.alpha > 0))
        throw std::runtime_error("sync.alpha_text of machine `" + machine.name + "` is not > 0");
      machine.method = query.column_text(10);
      machine.quality = query.column_text(11);
      machine.matches = static_cast<uint64_t>(query.column_int(12));
      const std::string accuracy = query.column_text(13);
      machine.accuracy_ns = cached_number(accuracy, "sync.accuracy_ns", machine.name);
      if (machine.accuracy_ns < 0) machine.accuracy_ns = std::numeric_limits<long double>::infinity();
      ids.push_back(query.column_int(14));
      machine.match_method = query.column_text(15);
      machine.match_confidence = static_cast<double>(cached_number(query.column_text(16), "guest_match.confidence",
                                                                   machine.name));
      machines.push_back(std::move(machine));
    }
    query = SqliteStatement();
    SqliteStatement vcpus = db.prepare(
        "SELECT h.machine_id, v.host_pid, v.vcpu_id, v.host_tid FROM vcpu v JOIN machine vm ON vm.id = v.machine_id"
        " JOIN trace h ON h.machine_id = vm.parent_id WHERE v.host_pid IS NOT NULL");
    while (vcpus.step()) {
      const auto at = std::find(ids.begin(), ids.end(), vcpus.column_int(0));
      if (at != ids.end())
        machines[static_cast<size_t>(at - ids.begin())].vcpus.push_back(
            CachedVcpu{vcpus.column_int(1), vcpus.column_int(2), vcpus.column_int(3)});
    }
    vcpus = SqliteStatement();
    db.close();
  } catch (const std::exception& error) {
    throw std::runtime_error("parameter `sync`: cannot reuse the synchronization of `" + path +
                             "` (a database written by sink.vm.sqlite after filter.vm.fuse): " + error.what());
  }
  if (machines.empty())
    throw std::runtime_error("parameter `sync`: `" + path +
                             "` holds no synchronized machine (its run had no filter.vm.fuse upstream)");
  return machines;
}

void FuseModel::load(const std::vector<CachedMachine>& cached, const std::string& path) {
  for (const CachedMachine& c : cached) {
    const int index = add_machine(c.trace_name, c.hostname, c.clock_uuid);
    FusedMachine& m = machines_[static_cast<size_t>(index)];
    m.name = c.name;
    m.layer = c.layer;
    m.has_kvm = c.role == "host";
    m.is_guest = c.role == "guest";
    m.vm_pid = c.qemu_pid;
    m.match_method = c.match_method;
    m.match_confidence = c.match_confidence;
    m.sync.to_reference = c.to_reference;
    // "none": left in its own clock (compose_transforms), which sink.vm.sqlite needs to know.
    m.sync.method = c.method == "reference" || c.method == "none" ? c.method : "reused from " + path;
    m.sync.quality = c.quality == "accurate"      ? SyncQuality::accurate
                     : c.quality == "approximate" ? SyncQuality::approximate
                     : c.quality == "fail"        ? SyncQuality::fail
                     : c.quality == "incomplete"  ? SyncQuality::incomplete
                                                  : SyncQuality::absent;
    m.sync.matches = c.matches;
    m.sync.accuracy_ns = c.accuracy_ns;
    if (c.method == "reference") reference_ = index;
  }
  for (size_t i = 0; i < cached.size(); ++i) {
    for (size_t j = 0; j < cached.size(); ++j)
      if (!cached[i].parent_name.empty() && cached[j].name == cached[i].parent_name) machines_[i].parent = int(j);
    machines_[i].sync.reference = reference_;
  }
}

}  // namespace vm
