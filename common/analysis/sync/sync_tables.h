// SPDX-License-Identifier: MIT
#pragma once
// The clock synchronization and guest matching that filter.vm.fuse computed (its environment
// entries, read by the adapter): tables sync, sync_estimate, sync_segment, guest_match.

#include <string>

#include "analysis/analysis.h"

namespace vm {

class SyncTables final : public Analysis {
 public:
  static const AnalysisInfo info;
  unsigned hooks() const override { return 0; }
  explicit SyncTables(Run& run) : run_(run) {}

  // One machine's clock transform into the reference's: t_reference = alpha * t + beta.
  struct SyncRow {
    int64_t machine_id = 0, reference_id = kUnknown;
    std::string alpha, beta;  // as written by the fuse filter (full long double precision)
    std::string method, quality;
    int64_t matches = 0;
    std::string accuracy_ns;  // "inf" when unbounded
  };
  void add_sync(const SyncRow& row);
  // What one sync method alone gives for a machine (row.method), on its link with `peer_id`.
  void add_sync_estimate(const SyncRow& row, int64_t peer_id);
  // One segment of a machine's transform (filter.vm.fuse's one-pass mode may have several; the
  // two-pass mode has one) over the reference times [from_ts, to_ts] of its events.
  struct SyncSegmentRow {
    int64_t machine_id = 0, reference_id = kUnknown, seq = 0;
    int64_t from_ts = 0, to_ts = 0;
    std::string alpha, beta;  // every digit
    std::string accuracy_ns;  // "" or "inf": unbounded or unknown
  };
  void add_sync_segment(const SyncSegmentRow& row);
  // How a guest trace was linked to its VM.
  void add_guest_match(int64_t machine_id, int64_t host_id, int64_t qemu_pid, const std::string& method,
                       double confidence);

 private:
  void insert_sync_row(const char* table, const SyncRow& row, const int64_t* peer_id);
  Run& run_;
};

}  // namespace vm
