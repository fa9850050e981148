// SPDX-License-Identifier: MIT
#include "analysis/sync/sync_tables.h"

#include "analysis/run.h"

namespace vm {

namespace {

const db::SchemaObject kSchema[] = {
    {db::ObjectKind::table, "sync", "each machine's clock transform into the reference machine's, and its quality",
     R"sql(
CREATE TABLE sync(
  machine INTEGER NOT NULL REFERENCES machine(id),
  reference INTEGER REFERENCES machine(id),  -- t_reference = alpha * t_machine + beta
  alpha REAL NOT NULL,
  beta REAL NOT NULL,
  method TEXT NOT NULL,          -- sync points used: 'vmsync', 'tcp', 'vmsync+tcp', 'reference', 'identity (given)', 'none'
  quality TEXT NOT NULL,         -- 'absent', 'incomplete', 'approximate', 'accurate', 'fail'
  matches INTEGER NOT NULL,      -- matched messages on the path to the reference
  accuracy_ns REAL,              -- bound of the error over the observed range; NULL when unbounded
  alpha_text TEXT NOT NULL,      -- alpha and beta with every digit
  beta_text TEXT NOT NULL
))sql"},
    {db::ObjectKind::table, "sync_estimate", "what each sync method alone gives, per machine and link", R"sql(
CREATE TABLE sync_estimate(
  machine INTEGER NOT NULL REFERENCES machine(id),
  reference INTEGER REFERENCES machine(id),
  peer INTEGER REFERENCES machine(id),       -- the other end of the link the method measured
  method TEXT NOT NULL,          -- one method alone: 'vmsync', 'tcp', 'kvm_windows'
  alpha REAL NOT NULL,           -- t_reference = alpha * t_machine + beta, from that method alone
  beta REAL NOT NULL,
  quality TEXT NOT NULL,
  matches INTEGER NOT NULL,
  accuracy_ns REAL,
  alpha_text TEXT NOT NULL,
  beta_text TEXT NOT NULL
))sql"},
    {db::ObjectKind::table, "sync_segment",
     "each machine's transform segment by segment, over the time its events span, and its error bound there",
     R"sql(
CREATE TABLE sync_segment(
  machine INTEGER NOT NULL REFERENCES machine(id),
  reference INTEGER REFERENCES machine(id),
  seq INTEGER NOT NULL,          -- the segment's rank for its machine, 0 first
  from_ts INTEGER NOT NULL,      -- the segment covers the machine's events in [from_ts, to_ts] (reference clock)
  to_ts INTEGER NOT NULL,
  alpha REAL NOT NULL,           -- slope and offset: t_reference = alpha * t_machine + beta
  beta REAL NOT NULL,
  accuracy_ns REAL,              -- bound of the transform's error over [from_ts, to_ts]; NULL when unbounded or unknown
  alpha_text TEXT NOT NULL,
  beta_text TEXT NOT NULL
))sql"},
    {db::ObjectKind::table, "guest_match", "how each guest trace was linked to its VM on the host, and how surely",
     R"sql(
CREATE TABLE guest_match(
  machine INTEGER NOT NULL REFERENCES machine(id),  -- the guest trace's machine
  host INTEGER REFERENCES machine(id),
  qemu_pid INTEGER,              -- its VM on the host
  method TEXT NOT NULL,          -- 'vmsync' (vm_uid) or 'kvm_windows' (automatic)
  confidence REAL NOT NULL       -- kvm_windows: share of its events inside that VM's guest-mode windows
))sql"},
};

}  // namespace

const AnalysisInfo SyncTables::info = {"sync", "clock transforms and guest matching from filter.vm.fuse",
                                       db::objects_of(kSchema), create_analysis<SyncTables>};

// sync and sync_estimate share their columns but `peer`.
void SyncTables::insert_sync_row(const char* table, const SyncRow& row, const int64_t* peer_id) {
  const std::string sql = std::string("INSERT INTO ") + table +
                          "(machine, reference, method, alpha, beta, quality, matches, accuracy_ns, alpha_text, "
                          "beta_text" +
                          (peer_id ? ", peer" : "") + ") VALUES(?,?,?,?,?,?,?,?,?,?" + (peer_id ? ",?" : "") + ")";
  SqliteStatement insert = run_.database().prepare(sql);
  const std::string alpha = row.alpha.empty() ? "1" : row.alpha;
  const std::string beta = row.beta.empty() ? "0" : row.beta;
  insert.bind(1, row.machine_id);
  insert.bind_or_null(2, row.reference_id);
  insert.bind(3, row.method);
  insert.bind(4, std::stod(alpha));
  insert.bind(5, std::stod(beta));
  insert.bind(6, row.quality);
  insert.bind(7, row.matches);
  if (row.accuracy_ns.empty() || row.accuracy_ns == "inf")
    insert.bind_null(8);
  else
    insert.bind(8, std::stod(row.accuracy_ns));
  insert.bind(9, alpha);
  insert.bind(10, beta);
  if (peer_id) insert.bind_or_null(11, *peer_id);
  insert.run();
}

void SyncTables::add_sync(const SyncRow& row) {
  insert_sync_row("sync", row, nullptr);
}

void SyncTables::add_sync_estimate(const SyncRow& row, int64_t peer_id) {
  insert_sync_row("sync_estimate", row, &peer_id);
}

void SyncTables::add_sync_segment(const SyncSegmentRow& row) {
  SqliteStatement insert = db::prepare_insert(
      run_.database(), "sync_segment",
      {"machine", "reference", "seq", "from_ts", "to_ts", "alpha", "beta", "accuracy_ns", "alpha_text", "beta_text"});
  insert.bind(1, row.machine_id);
  insert.bind_or_null(2, row.reference_id);
  insert.bind(3, row.seq);
  insert.bind(4, row.from_ts);
  insert.bind(5, row.to_ts);
  insert.bind(6, std::stod(row.alpha));
  insert.bind(7, std::stod(row.beta));
  if (row.accuracy_ns.empty() || row.accuracy_ns == "inf")
    insert.bind_null(8);
  else
    insert.bind(8, std::stod(row.accuracy_ns));
  insert.bind(9, row.alpha);
  insert.bind(10, row.beta);
  insert.run();
}

void SyncTables::add_guest_match(int64_t machine_id, int64_t host_id, int64_t qemu_pid, const std::string& method,
                                 double confidence) {
  SqliteStatement insert =
      db::prepare_insert(run_.database(), "guest_match", {"machine", "host", "qemu_pid", "method", "confidence"});
  insert.bind(1, machine_id);
  insert.bind_or_null(2, host_id);
  insert.bind_or_null(3, qemu_pid);
  insert.bind(4, method);
  insert.bind(5, confidence);
  insert.run();
}

}  // namespace vm
