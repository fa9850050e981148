// SPDX-License-Identifier: MIT
#pragma once
// The string parameters of filter.vm.fuse, parsed with range checks: a bad value ends in an
// std::invalid_argument that names the parameter and the value, never in a raw std::stoll error.

#include <cstdint>
#include <map>
#include <string>

#include "sync/convex_hull_sync.h"

namespace vm::fuse {

// sync="NAME=ALPHA,BETA;NAME=ALPHA,BETA" (t_reference = ALPHA * t + BETA, both finite).
std::map<std::string, LinearTransform> parse_sync_formulas(const std::string& text);

// guest-vm="GUEST=PID,GUEST=qemu-PID": guest trace name or hostname -> QEMU process id.
std::map<std::string, int64_t> parse_guest_vm(const std::string& text);

}  // namespace vm::fuse
