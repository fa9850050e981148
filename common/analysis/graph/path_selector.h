// SPDX-License-Identifier: MIT
#pragma once
// The threads whose critical path is asked for: the sink parameter `critical-path` and the
// command vm-critical-path take the same selectors, comma-separated (sink) or one per argument:
//   TID           every thread of that tid, on any machine (tid 0: every CPU's swapper);
//   MACHINE/TID   the thread of that tid on the machine of that name (the `machine` table's
//                 name) or id;
//   NAME          every thread of that command name (its latest name in the graph).
// A selector of the form `TEXT/DIGITS` whose TEXT names no machine is taken as a command name
// when a thread has that whole name (kernel threads such as `ksoftirqd/0`).
// No babeltrace2 type here.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/graph/exec_graph.h"

namespace vm::graph {

struct PathSelector {
  enum class Kind { tid, machine_tid, name };
  Kind kind = Kind::name;
  std::string text;     // as given (trimmed): the command name for Kind::name
  std::string machine;  // machine_tid: the machine's name or id
  int64_t tid = -1;     // tid, machine_tid
};

inline constexpr size_t kMaxSelectors = 1024;
inline constexpr size_t kMaxSelectorLength = 256;
inline constexpr int64_t kMaxTid = (int64_t{1} << 31) - 1;  // Linux's pid_t is a 32-bit int

// One selector. Throws std::invalid_argument naming the selector, what is wrong and the fix.
PathSelector parse_selector(std::string_view text);
// A comma-separated list (the sink parameter); at least one selector. Throws like parse_selector.
std::vector<PathSelector> parse_selector_list(std::string_view list);

// A machine of the run: its id and name (the `machine` table).
struct MachineName {
  int64_t id = 0;
  std::string name;
};

struct SelectedWorker {
  WorkerId worker = 0;
  std::string selector;  // the first selector that chose it
};

// The workers of `g` the selectors choose, each once, in the selectors' order and, for one
// selector, by (machine id, tid, cpu). Kernel workers (tid < 0) and workers without vertices
// are never chosen. `unmatched` gets one sentence per selector that chose nothing.
std::vector<SelectedWorker> select_workers(const ExecGraph& g, const std::vector<PathSelector>& selectors,
                                           const std::vector<MachineName>& machines,
                                           std::vector<std::string>* unmatched);

}  // namespace vm::graph
