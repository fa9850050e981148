// SPDX-License-Identifier: MIT
#pragma once
// The run-level tables: machine, trace, data_loss, event_stat, diagnostic and run.

#include <string>
#include <vector>

#include "analysis/analysis.h"

namespace vm {

// What the `run` table says about the run (the adapter fills the first fields).
struct RunInfo {
  std::string plugin_version;
  std::string babeltrace2_version;
  std::string inputs;      // one line per input trace
  std::string parameters;  // the component's parameters, as given
  uint64_t events = 0;
  uint64_t discarded_events = 0;
  uint64_t discarded_packets = 0;
  int64_t vms_found = 0;
};

class RunTables final : public Analysis {
 public:
  static const AnalysisInfo info;
  unsigned hooks() const override { return 0; }
  explicit RunTables(Run& run);

  RunInfo& run_info() { return run_info_; }
  void add_diagnostic(const std::string& severity, const std::string& message);
  // Every diagnostic message, in order (the adapter also prints them as warnings).
  const std::vector<std::string>& diagnostics() const { return diagnostics_; }

  void on_lost_events(TracedMachine& machine, Timestamp begin, Timestamp end, int64_t cpu, int64_t count) override;
  void finish(Run& run) override;
  void write(Run& run) override;
  // The machines and the run row, last.
  void write_final_rows(Run& run);

 private:
  db::Database& database_;
  SqliteStatement insert_diagnostic_;
  std::vector<std::string> diagnostics_;
  RunInfo run_info_;
};

}  // namespace vm
