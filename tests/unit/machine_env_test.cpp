// SPDX-License-Identifier: MIT
// MachineEnv: the environment entries between filter.vm.fuse and sink.vm.sqlite. Encoded texts
// are derived by hand from the formats (%.21Lg for transform coefficients, %.3Lf for bounds,
// %.6f for a match confidence); decoding must give back every value and name a bad entry.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "kvm/machine_env.h"

namespace vm {
namespace {

using Entries = std::map<std::string, std::string>;

Entries as_map(const MachineEnv::Entries& entries) {
  return Entries(entries.begin(), entries.end());
}

MachineEnv decode(const Entries& entries) {
  return MachineEnv::decode([&](const char* key) -> std::optional<std::string> {
    const auto it = entries.find(key);
    if (it == entries.end()) return std::nullopt;
    return it->second;
  });
}

MachineEnv guest() {
  MachineEnv env;
  env.machine = "web1";
  env.clock_uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  env.role = "guest";
  env.layer = 1;
  env.parent = "host";
  env.qemu_pid = 2231;
  env.vm_key = 2231;
  env.sync_reference = "host";
  env.to_reference = LinearTransform{1.0L, -350000000.0L};
  env.sync_method = "vmsync+tcp";
  env.sync_quality = "accurate";
  env.sync_matches = 1204;
  env.sync_accuracy_ns = 12.5L;
  env.estimates.push_back({"vmsync", LinearTransform{1.0L, -350000001.0L}, "accurate", 1000, 3.25L, "host"});
  env.estimates.push_back({"tcp", LinearTransform{1.0L, -349999990.0L}, "approximate", 204,
                           std::numeric_limits<long double>::infinity(), "the host (2)"});
  env.match_method = "vmsync";
  env.match_confidence = 0.995;
  return env;
}

// The error message of decoding `entries`, or "" when it decodes.
std::string decode_error(const Entries& entries) {
  try {
    decode(entries);
    return "";
  } catch (const MachineEnvError& error) {
    return error.what();
  }
}

TEST(MachineEnv, EncodesEveryEntryInItsFormat) {
  const Entries env = as_map(guest().encode());
  EXPECT_EQ(env.at("vm_machine"), "web1");
  EXPECT_EQ(env.at("vm_role"), "guest");
  EXPECT_EQ(env.at("vm_layer"), "1");
  EXPECT_EQ(env.at("vm_parent"), "host");
  EXPECT_EQ(env.at("vm_qemu_pid"), "2231");
  EXPECT_EQ(env.at("vm_vm_key"), "2231");
  EXPECT_EQ(env.at("vm_sync_alpha"), "1");
  EXPECT_EQ(env.at("vm_sync_beta"), "-350000000");
  EXPECT_EQ(env.at("vm_sync_matches"), "1204");
  EXPECT_EQ(env.at("vm_sync_accuracy_ns"), "12.500");
  EXPECT_EQ(env.at("vm_sync_estimates"),
            "vmsync 1 -350000001 accurate 1000 3.250 host\n"
            "tcp 1 -349999990 approximate 204 inf the host (2)\n");
  EXPECT_EQ(env.at("vm_match_method"), "vmsync");
  EXPECT_EQ(env.at("vm_match_confidence"), "0.995000");
}

TEST(MachineEnv, RoundTripGivesBackEveryValueAndTheSameTexts) {
  const MachineEnv original = guest();
  const MachineEnv decoded = decode(as_map(original.encode()));
  EXPECT_EQ(decoded.machine, "web1");
  EXPECT_EQ(decoded.clock_uuid, original.clock_uuid);
  EXPECT_EQ(decoded.layer, 1);
  EXPECT_EQ(decoded.qemu_pid, 2231);
  ASSERT_TRUE(decoded.vm_key.has_value());
  EXPECT_EQ(*decoded.vm_key, 2231);
  EXPECT_EQ(decoded.to_reference.beta, -350000000.0L);
  EXPECT_EQ(decoded.sync_matches, 1204u);
  EXPECT_EQ(decoded.sync_accuracy_ns, 12.5L);
  ASSERT_EQ(decoded.estimates.size(), 2u);
  EXPECT_EQ(decoded.estimates[1].peer, "the host (2)");  // the rest of the line, spaces included
  EXPECT_TRUE(std::isinf(decoded.estimates[1].accuracy_ns));
  EXPECT_DOUBLE_EQ(decoded.match_confidence, 0.995);
  EXPECT_EQ(decoded.encode(), original.encode());
}

TEST(MachineEnv, CoefficientsKeepEveryDigitOfALongDouble) {
  // 1 + 2^-60 needs the whole 64-bit mantissa: %.21Lg must give it back exactly.
  MachineEnv env = guest();
  env.to_reference.alpha = 1.0L + std::ldexp(1.0L, -60);
  const MachineEnv decoded = decode(as_map(env.encode()));
  EXPECT_EQ(decoded.to_reference.alpha, env.to_reference.alpha);
  EXPECT_EQ(MachineEnv::coefficient_text(decoded.to_reference.alpha), as_map(env.encode()).at("vm_sync_alpha"));
}

TEST(MachineEnv, ATraceWithoutEntriesIsNotFused) {
  const MachineEnv env = decode({{"hostname", "box"}});
  EXPECT_TRUE(env.machine.empty());
  EXPECT_EQ(env.layer, -1);
  EXPECT_EQ(env.qemu_pid, kUnknown);
  EXPECT_FALSE(env.vm_key.has_value());
  EXPECT_TRUE(env.sync_method.empty());
  EXPECT_TRUE(env.match_method.empty());
}

TEST(MachineEnv, AProcessLessVmKeyIsNegative) {
  MachineEnv env = guest();
  env.qemu_pid = kUnknown;
  env.vm_key = -2 - 4242;
  const Entries entries = as_map(env.encode());
  EXPECT_EQ(entries.count("vm_qemu_pid"), 0u);
  EXPECT_EQ(entries.at("vm_vm_key"), "-4244");
  EXPECT_EQ(*decode(entries).vm_key, -4244);
}

TEST(MachineEnv, BadEntriesAreNamedWithTheirValue) {
  const Entries good = as_map(guest().encode());
  auto with = [&](const std::string& key, const std::string& value) {
    Entries entries = good;
    entries[key] = value;
    return decode_error(entries);
  };
  EXPECT_EQ(decode_error(good), "");
  std::string error = with("vm_qemu_pid", "99999999999999999999999");
  EXPECT_NE(error.find("vm_qemu_pid"), std::string::npos) << error;
  EXPECT_NE(error.find("99999999999999999999999"), std::string::npos) << error;
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  error = with("vm_layer", "256");  // the output's vm_layer field has 8 bits
  EXPECT_NE(error.find("vm_layer"), std::string::npos) << error;
  EXPECT_EQ(with("vm_layer", "255"), "");
  EXPECT_NE(with("vm_layer", "-1").find("out of range"), std::string::npos);
  EXPECT_NE(with("vm_layer", "1x").find("not an integer"), std::string::npos);
  EXPECT_NE(with("vm_sync_alpha", "1e999999").find("vm_sync_alpha"), std::string::npos);
  EXPECT_NE(with("vm_sync_beta", "nan").find("vm_sync_beta"), std::string::npos);
  EXPECT_NE(with("vm_sync_beta", "").find("missing"), std::string::npos);
  EXPECT_NE(with("vm_sync_matches", "-3").find("vm_sync_matches"), std::string::npos);
  EXPECT_NE(with("vm_sync_matches", "9223372036854775808").find("out of range"), std::string::npos);
  EXPECT_EQ(with("vm_sync_matches", "9223372036854775807"), "");
  EXPECT_NE(with("vm_sync_accuracy_ns", "fast").find("vm_sync_accuracy_ns"), std::string::npos);
  EXPECT_NE(with("vm_match_confidence", "1.5").find("vm_match_confidence"), std::string::npos);
  EXPECT_EQ(with("vm_match_confidence", "1.000000"), "");
  EXPECT_NE(with("vm_sync_estimates", "tcp 1 0 accurate\n").find("vm_sync_estimates"), std::string::npos);
  EXPECT_NE(with("vm_sync_estimates", "tcp 1 0 accurate many 1.0 host\n").find("many"), std::string::npos);
}

}  // namespace
}  // namespace vm
