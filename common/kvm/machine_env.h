// SPDX-License-Identifier: MIT
#pragma once
// The environment entries by which filter.vm.fuse hands each output trace's place in the fused
// machine model and its clock transform to sink.vm.sqlite: one codec for both sides.
//
//   vm_machine, vm_clock_uuid, vm_role, vm_layer, vm_parent    the machine and where it sits
//   vm_qemu_pid (a pid >= 0), vm_vm_key (its VM's key on the parent: pid or -2 - tid)
//   vm_sync_reference, vm_sync_alpha, vm_sync_beta             t_reference = alpha * t + beta
//   vm_sync_method, vm_sync_quality, vm_sync_matches, vm_sync_accuracy_ns ("inf": unbounded)
//   vm_sync_estimates   one line per sync method alone: method alpha beta quality matches accuracy_ns peer
//   vm_match_method, vm_match_confidence                        how a guest was linked to its VM
//   vm_sync_bound   the error bound of the transform over any time range (SyncBoundTerm):
//                   "unbounded", or a line "N" then N lines `t0 g0 g1 lo hi`
//
// Every value is a string. alpha and beta carry every digit of a long double (%.21Lg), so that
// decoding and encoding again gives the same text.

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sync/convex_hull_sync.h"
#include "base/types.h"

namespace vm {

// A bad entry: the message names the entry and the value.
class MachineEnvError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MachineEnv {
  struct Estimate {
    std::string method;
    LinearTransform to_reference;
    std::string quality;
    uint64_t matches = 0;
    long double accuracy_ns = 0;
    std::string peer;  // the machine at the other end of the measured link
  };

  std::string machine;  // empty: not written by filter.vm.fuse
  std::string clock_uuid, role, parent;
  int layer = -1;                 // -1: absent
  int64_t qemu_pid = kUnknown;    // written when >= 0
  std::optional<int64_t> vm_key;  // written for guests whose VM is known
  std::string sync_reference;
  std::string sync_method;  // empty: no sync (the other vm_sync_* entries are not decoded)
  LinearTransform to_reference;
  std::string sync_quality;
  uint64_t sync_matches = 0;
  long double sync_accuracy_ns = 0;
  std::vector<Estimate> estimates;
  // vm_sync_bound: absent (nullopt: an older filter.vm.fuse), or the terms (bounded) or not.
  std::optional<bool> sync_bounded;
  std::vector<SyncBoundTerm> sync_bound_terms;
  std::string match_method;  // empty: no vm_match_* entries
  double match_confidence = 0;

  using Entries = std::vector<std::pair<std::string, std::string>>;
  // The entries, in the order filter.vm.fuse writes them.
  Entries encode() const;
  // `lookup(key)`: the entry's string value, or nullopt when the trace has none. Throws
  // MachineEnvError naming the entry when a value is malformed or out of range.
  using Lookup = std::function<std::optional<std::string>(const char* key)>;
  static MachineEnv decode(const Lookup& lookup);

  // The text of a transform coefficient (every digit) and of an accuracy bound ("%.3Lf", "inf").
  static std::string coefficient_text(long double value);
  static std::string accuracy_text(long double value);
  // An estimate's bound, as its line carries it ("%.3Lf": "inf", "nan" as they come).
  static std::string estimate_accuracy_text(long double value);
};

}  // namespace vm
