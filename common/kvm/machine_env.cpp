// SPDX-License-Identifier: MIT
#include "kvm/machine_env.h"

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace vm {

namespace {

[[noreturn]] void bad(const char* key, const std::string& value, const std::string& why) {
  throw MachineEnvError("trace environment entry `" + std::string(key) + "` = `" + value + "`: " + why);
}

int64_t parse_int(const char* key, const std::string& text, int64_t low, int64_t high) {
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || text.find_first_of(" \t\n") != std::string::npos)
    bad(key, text, "not an integer");
  if (errno == ERANGE || value < low || value > high)
    bad(key, text, "out of range [" + std::to_string(low) + ", " + std::to_string(high) + "]");
  return value;
}

uint64_t parse_count(const char* key, const std::string& text) {
  // Counts go to SQLite's signed 64-bit integers.
  return static_cast<uint64_t>(parse_int(key, text, 0, std::numeric_limits<int64_t>::max()));
}

enum class Real { finite, bound, any };

// `bound`: finite or "inf"; `any`: whatever strtold reads whole (an estimate's bound may be nan).
long double parse_real(const char* key, const std::string& text, Real kind) {
  errno = 0;
  char* end = nullptr;
  const long double value = std::strtold(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || text.find_first_of(" \t\n") != std::string::npos)
    bad(key, text, "not a number");
  if (kind == Real::any) return value;
  if (std::isnan(value)) bad(key, text, "not a number");
  // An overflow reads as an infinity (ERANGE); an underflow as a tiny value, kept.
  if (std::isinf(value) && !(kind == Real::bound && text == "inf")) bad(key, text, "out of range (not finite)");
  return value;
}

std::string count_text(uint64_t value) {
  return std::to_string(static_cast<unsigned long long>(value));
}

}  // namespace

std::string MachineEnv::coefficient_text(long double value) {
  char number[64];
  std::snprintf(number, sizeof number, "%.21Lg", value);
  return number;
}

std::string MachineEnv::accuracy_text(long double value) {
  if (!std::isfinite(static_cast<double>(value))) return "inf";
  char number[64];
  std::snprintf(number, sizeof number, "%.3Lf", value);
  return number;
}

std::string MachineEnv::estimate_accuracy_text(long double value) {
  char number[64];
  std::snprintf(number, sizeof number, "%.3Lf", value);
  return number;
}

MachineEnv::Entries MachineEnv::encode() const {
  Entries env;
  env.emplace_back("vm_machine", machine);
  env.emplace_back("vm_clock_uuid", clock_uuid);
  env.emplace_back("vm_role", role);
  env.emplace_back("vm_layer", std::to_string(layer));
  env.emplace_back("vm_parent", parent);
  if (qemu_pid >= 0) env.emplace_back("vm_qemu_pid", std::to_string(qemu_pid));
  if (vm_key) env.emplace_back("vm_vm_key", std::to_string(*vm_key));
  {
    env.emplace_back("vm_sync_reference", sync_reference);
    env.emplace_back("vm_sync_alpha", coefficient_text(to_reference.alpha));
    env.emplace_back("vm_sync_beta", coefficient_text(to_reference.beta));
    env.emplace_back("vm_sync_method", sync_method);
    env.emplace_back("vm_sync_quality", sync_quality);
    env.emplace_back("vm_sync_matches", count_text(sync_matches));
    env.emplace_back("vm_sync_accuracy_ns", accuracy_text(sync_accuracy_ns));
    std::string lines;
    for (const Estimate& e : estimates) {
      // %.3Lf of an infinite bound prints "inf" as well.
      char line[256];
      std::snprintf(line, sizeof line, "%s %.21Lg %.21Lg %s %llu %.3Lf %s\n", e.method.c_str(), e.to_reference.alpha,
                    e.to_reference.beta, e.quality.c_str(), static_cast<unsigned long long>(e.matches), e.accuracy_ns,
                    e.peer.c_str());
      lines += line;
    }
    env.emplace_back("vm_sync_estimates", lines);
    if (sync_bounded) {
      std::string bound = *sync_bounded ? count_text(sync_bound_terms.size()) + "\n" : "unbounded";
      for (const SyncBoundTerm& term : sync_bound_terms) {
        char line[256];
        std::snprintf(line, sizeof line, "%lld %.21Lg %.21Lg %lld %lld\n", static_cast<long long>(term.t0), term.g0,
                      term.g1, static_cast<long long>(term.lo), static_cast<long long>(term.hi));
        bound += line;
      }
      env.emplace_back("vm_sync_bound", bound);
    }
  }
  if (!match_method.empty()) {
    env.emplace_back("vm_match_method", match_method);
    char number[64];
    std::snprintf(number, sizeof number, "%.6f", match_confidence);
    env.emplace_back("vm_match_confidence", number);
  }
  return env;
}

MachineEnv MachineEnv::decode(const Lookup& lookup) {
  auto text = [&](const char* key) { return lookup(key).value_or(std::string()); };
  auto required = [&](const char* key) {
    std::string value = text(key);
    if (value.empty()) throw MachineEnvError("trace environment entry `" + std::string(key) + "` is missing");
    return value;
  };
  MachineEnv env;
  env.machine = text("vm_machine");
  env.clock_uuid = text("vm_clock_uuid");
  env.role = text("vm_role");
  env.parent = text("vm_parent");
  // The output events' vm_layer field is 8 bits wide.
  if (const std::string layer = text("vm_layer"); !layer.empty()) env.layer = int(parse_int("vm_layer", layer, 0, 255));
  if (const std::string pid = text("vm_qemu_pid"); !pid.empty())
    env.qemu_pid = parse_int("vm_qemu_pid", pid, 0, std::numeric_limits<int64_t>::max());
  if (const std::string key = text("vm_vm_key"); !key.empty())
    env.vm_key = parse_int("vm_vm_key", key, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  env.sync_method = text("vm_sync_method");
  if (!env.sync_method.empty()) {
    env.sync_reference = text("vm_sync_reference");
    env.to_reference.alpha = parse_real("vm_sync_alpha", required("vm_sync_alpha"), Real::finite);
    env.to_reference.beta = parse_real("vm_sync_beta", required("vm_sync_beta"), Real::finite);
    env.sync_quality = text("vm_sync_quality");
    if (const std::string matches = text("vm_sync_matches"); !matches.empty())
      env.sync_matches = parse_count("vm_sync_matches", matches);
    env.sync_accuracy_ns = parse_real("vm_sync_accuracy_ns", required("vm_sync_accuracy_ns"), Real::bound);
    std::istringstream lines(text("vm_sync_estimates"));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      std::istringstream fields(line);
      std::string alpha, beta, matches, accuracy;
      Estimate e;
      if (!(fields >> e.method >> alpha >> beta >> e.quality >> matches >> accuracy))
        bad("vm_sync_estimates", line, "not a line `method alpha beta quality matches accuracy_ns peer`");
      e.to_reference.alpha = parse_real("vm_sync_estimates", alpha, Real::finite);
      e.to_reference.beta = parse_real("vm_sync_estimates", beta, Real::finite);
      e.matches = parse_count("vm_sync_estimates", matches);
      e.accuracy_ns = parse_real("vm_sync_estimates", accuracy, Real::any);
      std::getline(fields >> std::ws, e.peer);
      env.estimates.push_back(std::move(e));
    }
    if (const std::optional<std::string> bound = lookup("vm_sync_bound")) {
      env.sync_bounded = *bound != "unbounded";
      if (*env.sync_bounded) {
        std::istringstream bound_lines(*bound);
        std::string count_line;
        std::getline(bound_lines, count_line);
        const uint64_t count = parse_count("vm_sync_bound", count_line);
        for (uint64_t k = 0; k < count; ++k) {
          std::string t0, g0, g1, lo, hi;
          if (!(bound_lines >> t0 >> g0 >> g1 >> lo >> hi))
            bad("vm_sync_bound", *bound, "not N lines `t0 g0 g1 lo hi` after the count");
          const int64_t low = std::numeric_limits<int64_t>::min(), high = std::numeric_limits<int64_t>::max();
          env.sync_bound_terms.push_back(SyncBoundTerm{parse_int("vm_sync_bound", t0, low, high),
                                                       parse_real("vm_sync_bound", g0, Real::finite),
                                                       parse_real("vm_sync_bound", g1, Real::finite),
                                                       parse_int("vm_sync_bound", lo, low, high),
                                                       parse_int("vm_sync_bound", hi, low, high)});
        }
      }
    }
  }
  env.match_method = text("vm_match_method");
  if (!env.match_method.empty()) {
    const std::string confidence = required("vm_match_confidence");
    const long double value = parse_real("vm_match_confidence", confidence, Real::finite);
    if (value < 0 || value > 1) bad("vm_match_confidence", confidence, "out of range [0, 1]");
    env.match_confidence = std::strtod(confidence.c_str(), nullptr);
  }
  return env;
}

}  // namespace vm
