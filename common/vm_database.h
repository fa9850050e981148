#pragma once
// The SQLite database a run writes. It is built in a temporary file beside the output path and
// renamed onto it only when the run succeeds, so a failed run never leaves a half-written
// database at the path (DESIGN.md §3).
//
// Conventions (after Perfetto's trace processor): `ts`/`dur` in ns, half-open intervals; integer
// ids; column and state names are words. `PRAGMA user_version` holds kSchemaVersion.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fused_cpu_model.h"
#include "machine_registry.h"
#include "sqlite_db.h"
#include "thread_table.h"
#include "vcpu_tracker.h"

namespace vm {

inline constexpr int kSchemaVersion = 2;

// What the `run` table says about the run.
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

class VmDatabase final : public VcpuListener, public CpuListener, public ThreadStateListener {
 public:
  // Creates the temporary database beside `path`. Throws std::runtime_error naming the path and
  // the reason when it cannot be created.
  explicit VmDatabase(std::string path);
  ~VmDatabase() override;  // removes the temporary file unless commit() succeeded
  VmDatabase(const VmDatabase&) = delete;
  VmDatabase& operator=(const VmDatabase&) = delete;

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temporary_path_; }

  void on_vcpu_interval(const VcpuInterval& interval) override;
  void on_diagnostic(const std::string& message) override;
  void on_cpu_interval(const CpuInterval& interval) override;
  void on_thread_interval(const ThreadInterval& interval) override;
  const std::vector<std::string>& diagnostics() const { return diagnostics_; }
  void add_diagnostic(const std::string& severity, const std::string& message);

  void add_data_loss(int64_t machine_id, int64_t cpu, Timestamp ts, Timestamp dur, int64_t events);
  void add_event_count(int64_t machine_id, const std::string& event_name, uint64_t count);
  void add_threads(int64_t machine_id, const ThreadTable& threads);
  void add_vcpus(const std::vector<VcpuRecord>& vcpus);
  // A machine's PID namespaces: each thread's level chain (container_thread) and the tree they
  // make (container).
  void add_namespaces(int64_t machine_id, const std::vector<ThreadNamespaces>& threads);
  struct TraceRow {
    int64_t machine_id;
    std::string trace_name, hostname, clock_uuid;
    Timestamp begin_ts = 0, end_ts = 0;  // first and last event
  };
  void add_trace(const TraceRow& row);
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
  // How a guest trace was linked to its VM.
  void add_guest_match(int64_t machine_id, int64_t host_id, int64_t qemu_pid, const std::string& method,
                       double confidence);

  // Writes the machines and the run row, builds indexes and views, closes the file and renames
  // it onto the output path. Throws on failure (the temporary file is then removed).
  void commit(const MachineRegistry& machines, const RunInfo& run);
  // Closes and removes the temporary file (also done by the destructor).
  void abandon();

 private:
  void create_schema();
  void insert_sync_row(const char* table, const SyncRow& row, const int64_t* peer_id);
  void write_final_rows(const MachineRegistry& machines, const RunInfo& run);
  std::string path_;
  std::string temporary_path_;
  std::unique_ptr<SqliteConnection> connection_;
  SqliteStatement insert_vcpu_state_;
  SqliteStatement insert_diagnostic_;
  SqliteStatement insert_cpu_state_;
  SqliteStatement insert_thread_state_;
  std::vector<std::string> diagnostics_;
  bool committed_ = false;
};

}  // namespace vm
