// SPDX-License-Identifier: MIT
#pragma once
// Reading CTF traces in-process for the tests that drive the core themselves: one source.ctf.fs
// per directory -> filter.utils.muxer -> a simple sink calling `check` on every message, in time
// order across the traces.

#include <string>
#include <vector>

#include "fuse_fixture.h"

namespace vm::test {

GraphResult read_ctf(const std::vector<std::string>& trace_dirs, const MessageCheck& check);

}  // namespace vm::test
