// SPDX-License-Identifier: MIT
#include "sim/scenario_config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "sim/vmx.h"

namespace vm {

namespace {

using namespace sim;

// exit-mix names: AMD SVM spellings (MSR, IOIO, NPF) and Intel VMX ones, all mapped to the VMX
// codes the scenario's traces use (isa = 1).
struct ExitName {
  const char* name;
  int64_t reason;
};
constexpr ExitName kExitNames[] = {
    {"MSR", kExitMsrWrite},          {"MSR_WRITE", kExitMsrWrite},         {"MSR_READ", kExitMsrRead},
    {"IO", kExitIo},                 {"IOIO", kExitIo},                    {"IO_INSTRUCTION", kExitIo},
    {"NPF", kExitEptViolation},      {"EPT_VIOLATION", kExitEptViolation}, {"EPT_MISCONFIG", kExitEptMisconfig},
    {"CPUID", kExitCpuid},           {"APIC_ACCESS", kExitApicAccess},     {"PAUSE", kExitPause},
};

}  // namespace

const char* scenario_exit_names() {
  return "MSR (= MSR_WRITE), MSR_READ, IO (= IOIO, IO_INSTRUCTION), NPF (= EPT_VIOLATION), EPT_MISCONFIG, CPUID, "
         "APIC_ACCESS, PAUSE";
}

std::string parse_exit_mix(const std::string& text, std::vector<std::pair<int64_t, double>>& out) {
  out.clear();
  double total = 0;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    at = comma + 1;
    const size_t colon = item.find(':');
    if (colon == std::string::npos)
      return "`exit-mix`: `" + item + "` is not NAME:WEIGHT (e.g. exit-mix=\"MSR:3,IO:1,NPF:2,CPUID:0.5\")";
    std::string name = item.substr(0, colon);
    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    int64_t reason = -1;
    for (const ExitName& known : kExitNames)
      if (name == known.name) reason = known.reason;
    if (reason < 0) return "`exit-mix`: unknown exit `" + name + "` (known: " + scenario_exit_names() + ")";
    const std::string number = item.substr(colon + 1);
    char* rest = nullptr;
    const double weight = std::strtod(number.c_str(), &rest);
    if (number.empty() || *rest != '\0' || !(weight >= 0 && weight <= 1e9))
      return "`exit-mix`: the weight of `" + name + "` must be a number between 0 and 1e9";
    bool merged = false;
    for (auto& [r, w] : out)
      if (r == reason) w += weight, merged = true;
    if (!merged) out.emplace_back(reason, weight);
    total += weight;
  }
  if (!(total > 0)) return "`exit-mix` needs a positive weight";
  return "";
}

std::string validate(const ScenarioConfig& c) {
  if (c.pcpus < 1 || c.pcpus > 256) return "`pcpus` must be between 1 and 256";
  if (c.vms < 0 || c.vms > 64) return "`vms` must be between 0 and 64";
  if (c.vcpus_per_vm < 1 || c.vcpus_per_vm > 64) return "`vcpus-per-vm` must be between 1 and 64";
  if (c.guest_threads < 0 || c.guest_threads > 1000) return "`guest-threads` must be between 0 and 1000";
  if (c.host_threads < 0 || c.host_threads > 1000) return "`host-threads` must be between 0 and 1000";
  if (!(c.exit_rate > 0 && c.exit_rate <= 1e6)) return "`exit-rate` must be in (0, 1000000] exits per second";
  if (c.nested && c.vms < 1) return "`nested=true` needs at least one VM (`vms` >= 1)";
  if (c.nested_vcpus < 1 || c.nested_vcpus > 64) return "`nested-vcpus` must be between 1 and 64";
  if (c.clock_offset_ns < 0 || c.clock_offset_ns > 1'000'000'000)
    return "`clock-offset-ns` must be between 0 and 1000000000 (the KVM-window sync searches +-2 s)";
  if (!(c.drift_ppm >= 0 && c.drift_ppm <= 1000)) return "`drift-ppm` must be between 0 and 1000";
  if (c.duration_ns <= 0 && c.events == 0) return "`duration-ns` must be positive (or give `events`)";
  if (c.time_slice_ns < 10'000) return "`time-slice-ns` must be at least 10000";
  if (!(c.host_irq_rate >= 0 && c.host_irq_rate <= 1e5)) return "`host-irq-rate` must be between 0 and 100000";
  if (!(c.disk_irq_rate >= 0 && c.disk_irq_rate <= 1e5)) return "`disk-irq-rate` must be between 0 and 100000";
  if (!(c.net_irq_rate >= 0 && c.net_irq_rate <= 1e5)) return "`net-irq-rate` must be between 0 and 100000";
  if (c.nested_events && !c.nested) return "`nested-events=true` needs `nested=true`";
  if (c.requests && !c.wake_causes) return "`requests=true` needs `wake-causes=true` (its I/O thread and IPIs)";
  if (c.requests && c.disk_irq_rate > 0) return "`requests=true` needs `disk-irq-rate=0` (the requests use the disk)";
  if (c.containers < 0 || c.containers > 16) return "`containers` must be between 0 and 16";
  if (!c.exit_mix.empty()) {
    std::vector<std::pair<int64_t, double>> mix;
    std::string problem = parse_exit_mix(c.exit_mix, mix);
    if (!problem.empty()) return problem;
  }
  return "";
}

}  // namespace vm
