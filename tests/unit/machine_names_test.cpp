// SPDX-License-Identifier: MIT
// Machine names (common/base/machine_names.h): the trace name, else the hostname, else the folder;
// machines that share a name are told apart by the first of these (then the clock UUID) that
// differs, never by repeating the name. Every expected name is derived by hand from that rule.
#include <gtest/gtest.h>

#include "base/machine_names.h"

namespace vm {
namespace {

using Names = std::vector<std::string>;

MachineIdentity id(std::string trace_name, std::string hostname, std::string folder, std::string uuid = "") {
  return MachineIdentity{"", std::move(trace_name), std::move(hostname), std::move(folder), std::move(uuid)};
}

// Two guests cloned from one image (issue 10): one hostname, two LTTng trace names. Each is its
// trace name; the hostname is not repeated (it was `tl-guest (tl-guest)`).
TEST(MachineNames, ClonedGuestsAreTheirTraceNames) {
  EXPECT_EQ(unique_machine_names({id("host-twovm", "tl-host", "tl-host"), id("guesta-twovm", "tl-guest", "tl-guest"),
                                  id("guestb-twovm", "tl-guest", "tl-guest")}),
            (Names{"host-twovm", "guesta-twovm", "guestb-twovm"}));
}

// No trace name: the hostname; neither: babeltrace2's trace name (the folder); nothing: "machine".
TEST(MachineNames, FallBackToHostnameThenFolder) {
  EXPECT_EQ(unique_machine_names({id("", "tl-host", "tl-host/kernel"), id("", "", "guest/kernel"), id("", "", "")}),
            (Names{"tl-host", "guest/kernel", "machine"}));
}

// One session name on two machines (`lttng create guest` on both): the hostnames tell them apart.
TEST(MachineNames, SameTraceNameQualifiedByHostname) {
  EXPECT_EQ(unique_machine_names({id("guest", "vm-a", "vm-a"), id("guest", "vm-b", "vm-b")}),
            (Names{"guest (vm-a)", "guest (vm-b)"}));
}

// Same trace name and hostname: the folder; the same folder too: the clock UUID.
TEST(MachineNames, ThenByFolderThenByClock) {
  EXPECT_EQ(unique_machine_names({id("guest", "g", "g/a/kernel"), id("guest", "g", "g/b/kernel")}),
            (Names{"guest (g/a/kernel)", "guest (g/b/kernel)"}));
  EXPECT_EQ(unique_machine_names({id("guest", "g", "g", "u1"), id("guest", "g", "g", "u2")}),
            (Names{"guest (u1)", "guest (u2)"}));
  // Nothing differs at all: their rank.
  EXPECT_EQ(unique_machine_names({id("guest", "g", "g"), id("guest", "g", "g")}), (Names{"guest (1)", "guest (2)"}));
}

// A field that tells only some of them apart: each takes the first field that no other has.
TEST(MachineNames, PerMachineWhenNoFieldTellsAllApart) {
  // a and b share the hostname h and the clock u1, a and c the folder f, c has no clock UUID:
  // no field tells all three apart. a: hostname, folder and clock shared -> its rank 1;
  // b: folder g is its own; c: hostname k is its own.
  EXPECT_EQ(unique_machine_names({id("t", "h", "f", "u1"), id("t", "h", "g", "u1"), id("t", "k", "f", "")}),
            (Names{"t (1)", "t (g)", "t (k)"}));
}

// A name decided before (filter.vm.fuse's vm_machine, read by the sink) is kept.
TEST(MachineNames, GivenNamesAreKept) {
  MachineIdentity fused = id("guest-basic", "tl-guest", "tl-guest");
  fused.given = "tl-guest (x)";
  EXPECT_EQ(unique_machine_names({fused, id("host-basic", "tl-host", "tl-host")}), (Names{"tl-guest (x)", "host-basic"}));
}

// A qualified name that meets another machine's plain name is numbered.
TEST(MachineNames, CollisionWithAQualifiedNameIsNumbered) {
  EXPECT_EQ(unique_machine_names({id("g", "a", "a"), id("g", "b", "b"), id("g (a)", "z", "z")}),
            (Names{"g (a)", "g (b)", "g (a) #2"}));
}

}  // namespace
}  // namespace vm
