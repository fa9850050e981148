// SPDX-License-Identifier: MIT
#pragma once
// The state of one filter.vm.fuse component: its parameters, parsed once by initialize()
// (fuse_component.cpp), read by its message iterators (fuse_iterator.cpp).

#include <babeltrace2/babeltrace.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sync/fuse_model.h"

namespace vm::fuse {

struct Component {
  bt_self_component_filter* self = nullptr;  // weak
  std::string reference;
  bool identity = false;
  // sync="FILE": the machines and transforms of a previous run; the run then takes one pass.
  std::string sync_path;
  std::vector<FuseModel::CachedMachine> cached;
  std::map<std::string, LinearTransform> formulas;  // sync="NAME=ALPHA,BETA;..."
  std::map<std::string, int64_t> guest_vm;          // guest-vm="NAME=PID,...": guest trace -> QEMU pid
  // sync-mode="one-pass": the machines and a first transform from a lead window of each input.
  bool one_pass = true;
  uint64_t lead_ns = 2'000'000'000;
  uint64_t lead_messages = 2'000'000;
  bool lead_hold = false;  // lead="hold": keep the lead's messages even when every input can seek
  uint64_t learn_ns = 2'000'000'000;  // one-pass: solve again this often after the lead (0: never)
  // evidence-dir: where pass 1's guest-matching evidence is spilled ("" for memory).
  std::string evidence_dir;
  uint64_t next_port = 0;
};

}  // namespace vm::fuse
