// SPDX-License-Identifier: MIT
#pragma once
// In-process graphs around filter.vm.fuse: one source.ctf.fs per trace, every port into the fuse
// filter, then sink.vm.sqlite or a test-written sink.

#include <functional>
#include <string>
#include <vector>

#include "graph_fixture.h"

namespace vm::test {

// Called for every message the fuse filter emits (the message is borrowed).
using MessageCheck = std::function<void(const bt_message*)>;

// A simple sink's consume function calling the MessageCheck `data` points to on every message.
bt_graph_simple_sink_component_consume_func_status consume_with_check(bt_message_iterator* iterator, void* data);

// Variations of the graph, for the ordering tests.
struct FuseGraphOptions {
  std::vector<int64_t> clock_offset_ns;  // per trace: source.ctf.fs clock-class-offset-ns (a clock skew)
  uint32_t shuffle_seed = 0;             // != 0: connect the source ports in a random order
  bool premux = false;                   // every source into filter.utils.muxer, then one port into the
                                         // fuse filter (what the `convert` shorthand builds)
  bool live_like = false;                // every source port through a relay that cannot seek and says
                                         // AGAIN every second call (relay_filter.h), as a live input
};

// `traces`: one source.ctf.fs per entry. `fuse_params` / `sqlite_params`: parameter strings.
// With `check`, the sink is a test sink calling it; otherwise sink.vm.sqlite(sqlite_params).
GraphResult run_fused(const std::vector<std::string>& traces, const std::string& fuse_params,
                      const std::string& sqlite_params, const MessageCheck& check = {},
                      const FuseGraphOptions& options = {});

// The OneQemuKvm host and guest stubs (traces/tc-stubs/OneQemuKvm) through filter.vm.fuse
// (`fuse_params`) into sink.vm.sqlite writing `db`, which is removed first.
GraphResult fuse_one_qemu_kvm(const std::string& db, const std::string& fuse_params);

// The rows of a query on a database, columns joined by '|', NULL as "NULL" (an SQL error gives one
// row "SQL error: ..."); query_one() gives the first row, or "<no row>".
std::vector<std::string> query_rows(const std::string& db_path, const std::string& sql);
// The same with a second database attached read-only under `alias` (an error: one "SQL error" row).
std::vector<std::string> query_rows_attached(const std::string& db_path, const std::string& other_path,
                                             const std::string& alias, const std::string& sql);
std::string query_one(const std::string& db_path, const std::string& sql);

// ns from origin of a message's default clock snapshot (events only; -1 otherwise).
int64_t message_ns(const bt_message* message);
// An event of filter.vm.fuse's vm_sync stream (vm_sync_segment, vm_sync_entry: one pass), not of
// a trace (the message must be an event).
bool is_sync_event(const bt_message* message);

}  // namespace vm::test
