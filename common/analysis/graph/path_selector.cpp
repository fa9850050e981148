// SPDX-License-Identifier: MIT
#include "analysis/graph/path_selector.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace vm::graph {

namespace {

constexpr const char* kForms = "write TID, MACHINE/TID or a command name, e.g. 1234, host/1234 or qemu-system-x86";

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void bad(std::string_view text, const std::string& what) {
  throw std::invalid_argument("critical-path selector `" + std::string(text) + "`: " + what + "; " + kForms);
}

// A tid in decimal, at most kMaxTid.
int64_t parse_tid(std::string_view selector, std::string_view digits) {
  if (digits.size() > 10) bad(selector, "the tid is out of range (at most " + std::to_string(kMaxTid) + ")");
  int64_t v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  if (v > kMaxTid) bad(selector, "the tid is out of range (at most " + std::to_string(kMaxTid) + ")");
  return v;
}

}  // namespace

PathSelector parse_selector(std::string_view raw) {
  const std::string_view text = trim(raw);
  if (text.empty()) bad(raw, "it is empty");
  if (text.size() > kMaxSelectorLength)
    bad(text.substr(0, 40), "it is longer than " + std::to_string(kMaxSelectorLength) + " characters");
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) bad(text, "it contains a control character");
  PathSelector s;
  s.text = std::string(text);
  if (text.front() == '-' && all_digits(text.substr(1))) bad(text, "a tid is not negative");
  if (all_digits(text)) {
    s.kind = PathSelector::Kind::tid;
    s.tid = parse_tid(text, text);
    return s;
  }
  const size_t slash = text.rfind('/');
  if (slash != std::string_view::npos) {
    const std::string_view machine = trim(text.substr(0, slash)), tid = trim(text.substr(slash + 1));
    if (all_digits(tid) || tid.empty() || (tid.front() == '-' && all_digits(tid.substr(1)))) {
      if (tid.empty()) bad(text, "the tid after `/` is missing");
      if (tid.front() == '-') bad(text, "a tid is not negative");
      if (machine.empty()) bad(text, "the machine before `/` is missing");
      s.kind = PathSelector::Kind::machine_tid;
      s.machine = std::string(machine);
      s.tid = parse_tid(text, tid);
      return s;
    }
  }
  s.kind = PathSelector::Kind::name;
  return s;
}

std::vector<PathSelector> parse_selector_list(std::string_view list) {
  std::vector<PathSelector> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = list.find(',', start);
    const std::string_view item = list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
    if (out.size() == kMaxSelectors)
      throw std::invalid_argument("critical-path: more than " + std::to_string(kMaxSelectors) +
                                  " selectors; select fewer threads, e.g. by command name");
    if (trim(item).empty())
      throw std::invalid_argument("critical-path: selector " + std::to_string(out.size() + 1) + " of `" +
                                  std::string(list.substr(0, 200)) + "` is empty; " + kForms +
                                  ", separated by commas");
    out.push_back(parse_selector(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<SelectedWorker> select_workers(const ExecGraph& g, const std::vector<PathSelector>& selectors,
                                           const std::vector<MachineName>& machines,
                                           std::vector<std::string>* unmatched) {
  std::vector<SelectedWorker> out;
  std::vector<bool> taken(g.workers().size(), false);
  auto machine_ids = [&](const std::string& text) {
    std::vector<int64_t> ids;
    for (const MachineName& m : machines)
      if (m.name == text || (all_digits(text) && text.size() < 19 && std::to_string(m.id) == text)) ids.push_back(m.id);
    return ids;
  };
  for (const PathSelector& s : selectors) {
    std::vector<WorkerId> found;
    const std::vector<int64_t> ids =
        s.kind == PathSelector::Kind::machine_tid ? machine_ids(s.machine) : std::vector<int64_t>{};
    for (WorkerId w = 0; w < g.workers().size(); ++w) {
      const Worker& worker = g.workers()[w];
      if (worker.key.tid < 0 || worker.head == kNoVertex) continue;
      bool match = false;
      switch (s.kind) {
        case PathSelector::Kind::tid: match = worker.key.tid == s.tid; break;
        case PathSelector::Kind::machine_tid:
          match = ids.empty() ? worker.name == s.text
                              : worker.key.tid == s.tid &&
                                    std::find(ids.begin(), ids.end(), worker.key.machine_id) != ids.end();
          break;
        case PathSelector::Kind::name: match = worker.name == s.text; break;
      }
      if (match) found.push_back(w);
    }
    if (found.empty() && unmatched) {
      std::string why = s.kind == PathSelector::Kind::machine_tid && machine_ids(s.machine).empty()
                            ? "no machine is named `" + s.machine + "` (the `machine` table) and no thread `" + s.text + "`"
                            : "no thread of the execution graph matches it";
      unmatched->push_back("critical-path selector `" + s.text + "` selects nothing: " + why);
    }
    std::sort(found.begin(), found.end(), [&](WorkerId a, WorkerId b) {
      const WorkerKey &x = g.workers()[a].key, &y = g.workers()[b].key;
      return std::tie(x.machine_id, x.tid, x.cpu) < std::tie(y.machine_id, y.tid, y.cpu);
    });
    for (WorkerId w : found)
      if (!taken[w]) {
        taken[w] = true;
        out.push_back(SelectedWorker{w, s.text});
      }
  }
  return out;
}

}  // namespace vm::graph
