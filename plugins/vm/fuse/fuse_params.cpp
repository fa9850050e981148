// SPDX-License-Identifier: MIT
#include "fuse/fuse_params.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace vm::fuse {

namespace {

// A real number, the whole of `text` (blanks around it allowed), finite.
long double parse_finite(const std::string& text, const std::string& what, const std::string& item) {
  const std::string problem = "parameter `sync`: " + what + " `" + text + "` in `" + item + "` ";
  const size_t first = text.find_first_not_of(" \t"), last = text.find_last_not_of(" \t");
  if (first == std::string::npos) throw std::invalid_argument(problem + "is not a number");
  const std::string number = text.substr(first, last - first + 1);
  errno = 0;
  char* end = nullptr;
  const long double value = std::strtold(number.c_str(), &end);
  if (end != number.c_str() + number.size() || std::isnan(value))
    throw std::invalid_argument(problem + "is not a number (MACHINE=ALPHA,BETA: t_reference = ALPHA * t + BETA)");
  if (std::isinf(value)) throw std::invalid_argument(problem + "is out of range (not a finite number)");
  return value;
}

// A clock's slope against another is positive and close to 1 (real clocks differ by parts per
// million; a declared rate is already converted to ns), and a transform must keep 64-bit
// nanoseconds: |BETA| up to 2^62 ns (146 years), ALPHA in (0, 1000].
void check_sync_transform(const std::string& machine, const LinearTransform& t, const std::string& item) {
  const std::string where = "parameter `sync`: in `" + item + "` (machine `" + machine + "`), ";
  if (!(t.alpha > 0))
    throw std::invalid_argument(where + "ALPHA must be > 0 (a clock that stands still or runs backwards); for a "
                                "clock at the reference's rate give ALPHA=1");
  if (t.alpha > 1000)
    throw std::invalid_argument(where + "ALPHA is out of range (at most 1000; a clock's rate against another is "
                                "about 1)");
  if (std::fabs(t.beta) > static_cast<long double>(int64_t(1) << 62))
    throw std::invalid_argument(where + "BETA is out of range (at most 2^62 ns, about 146 years, in magnitude)");
}

}  // namespace

std::map<std::string, LinearTransform> parse_sync_formulas(const std::string& text) {
  std::map<std::string, LinearTransform> formulas;
  std::istringstream items(text);
  std::string item;
  while (std::getline(items, item, ';')) {
    const size_t eq = item.find('='), comma = item.find(',', eq);
    if (eq == std::string::npos || comma == std::string::npos)
      throw std::invalid_argument("parameter `sync`: `" + item +
                                  "` is not a formula MACHINE=ALPHA,BETA (t_reference = ALPHA * t + BETA)");
    const std::string machine = item.substr(0, eq);
    const LinearTransform transform{parse_finite(item.substr(eq + 1, comma - eq - 1), "ALPHA", item),
                                    parse_finite(item.substr(comma + 1), "BETA", item)};
    check_sync_transform(machine, transform, item);
    if (!formulas.emplace(machine, transform).second)
      throw std::invalid_argument("parameter `sync`: two transforms for machine `" + machine +
                                  "`: give one MACHINE=ALPHA,BETA per machine");
  }
  return formulas;
}

std::map<std::string, int64_t> parse_guest_vm(const std::string& text) {
  std::map<std::string, int64_t> guest_vm;
  std::istringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    const size_t eq = item.find('=');
    std::string pid = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (pid.rfind("qemu-", 0) == 0) pid = pid.substr(5);
    if (eq == std::string::npos || pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument("parameter `guest-vm`: `" + item +
                                  "` is not GUEST=PID (a guest trace's name or hostname, and the "
                                  "QEMU process id of its VM on the host, e.g. guest-vm=\"web1=2231\")");
    errno = 0;
    const unsigned long long value = std::strtoull(pid.c_str(), nullptr, 10);
    if (errno == ERANGE || value > static_cast<unsigned long long>(std::numeric_limits<int32_t>::max()))
      throw std::invalid_argument("parameter `guest-vm`: the process id `" + pid + "` in `" + item +
                                  "` is out of range (a pid is at most " +
                                  std::to_string(std::numeric_limits<int32_t>::max()) + ")");
    guest_vm[item.substr(0, eq)] = static_cast<int64_t>(value);
  }
  return guest_vm;
}

}  // namespace vm::fuse
