// SPDX-License-Identifier: MIT
#include "sim/truth_writer.h"

#include <unistd.h>

#include <cstdio>
#include <map>
#include <stdexcept>

#include "db/sqlite_db.h"

namespace vm {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE scenario(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE machine(id INTEGER PRIMARY KEY, name TEXT, role TEXT, parent TEXT, layer INTEGER, cpus INTEGER,
                     qemu_pid INTEGER, clock_uuid TEXT, events INTEGER);
CREATE TABLE guest_vm(guest TEXT, host TEXT, qemu_pid INTEGER);
CREATE TABLE clock(machine TEXT, reference TEXT, alpha REAL, beta REAL, alpha_text TEXT, beta_text TEXT);
CREATE TABLE vcpu(vm TEXT, vcpu_id INTEGER, host TEXT, host_tid INTEGER, host_pid INTEGER, first_kvm_ts INTEGER);
CREATE TABLE vcpu_state(ts INTEGER, dur INTEGER, vm TEXT, vcpu_id INTEGER, state TEXT, pcpu INTEGER,
                        preempting_tid INTEGER, exit_reason INTEGER, guest_layer INTEGER, nested_exit_to TEXT);
CREATE TABLE vcpu_halt(ts INTEGER, dur INTEGER, vm TEXT, vcpu_id INTEGER, slept INTEGER, wake_vector INTEGER,
                       wake_reason TEXT, waker_tid INTEGER, waker_vm TEXT, waker_vcpu_id INTEGER, device TEXT);
CREATE TABLE container(machine TEXT, ns_inum INTEGER, parent_ns_inum INTEGER, ns_level INTEGER);
CREATE TABLE container_thread(machine TEXT, tid INTEGER, ns_level INTEGER, ns_inum INTEGER, vtid INTEGER, vpid INTEGER,
                              vppid INTEGER);
CREATE TABLE guest_irq(ts INTEGER, vm TEXT, vcpu_id INTEGER, irq INTEGER, vector INTEGER, name TEXT, woken_tid INTEGER);
CREATE TABLE cpu_state(ts INTEGER, dur INTEGER, machine TEXT, cpu INTEGER, tid INTEGER, vm TEXT, vcpu_id INTEGER);
)sql";

class TruthWriter final : public ScenarioListener {
 public:
  TruthWriter(SqliteConnection& db, const std::vector<ScenarioMachineInfo>& machines)
      : machines_(machines),
        events_(machines.size(), 0),
        vcpu_state_(db.prepare("INSERT INTO vcpu_state VALUES(?,?,?,?,?,?,?,?,?,?)")),
        vcpu_halt_(db.prepare("INSERT INTO vcpu_halt VALUES(?,?,?,?,?,?,?,?,?,?,?)")),
        cpu_state_(db.prepare("INSERT INTO cpu_state VALUES(?,?,?,?,?,?,?)")),
        guest_irq_(db.prepare("INSERT INTO guest_irq VALUES(?,?,?,?,?,?,?)")) {}

  void on_event(const ScenarioEvent& e) override {
    ++events_[static_cast<size_t>(e.machine)];
    if (e.type != ScenarioEventType::kvm_entry && e.type != ScenarioEventType::kvm_exit) return;
    first_kvm_.emplace(std::make_pair(e.machine, e.tid), e.host_ts);
    // vCPU index of this thread (entry: a0, exit: a7).
    threads_[std::make_pair(e.machine, e.tid)] = {e.pid, e.type == ScenarioEventType::kvm_entry ? e.a[0] : e.a[7]};
  }
  void on_vcpu_interval(const TruthVcpuInterval& i) override {
    vcpu_state_.bind_all(1, i.ts, i.dur, machines_[static_cast<size_t>(i.vm)].hostname, int64_t{i.vcpu},
                         std::string_view(i.state), or_null(i.pcpu), or_null(i.preempting_tid), or_null(i.exit_reason),
                         int64_t{i.guest_layer});
    bind_text_or_null(vcpu_state_, 10, i.nested_exit_to ? std::string_view(i.nested_exit_to) : std::string_view());
    vcpu_state_.run();
  }
  void on_vcpu_halt(const TruthHalt& h) override {
    vcpu_halt_.bind_all(1, h.ts, h.dur, machines_[static_cast<size_t>(h.vm)].hostname, int64_t{h.vcpu},
                        int64_t{h.slept}, or_null(h.wake_vector), std::string_view(h.reason), or_null(h.waker_tid));
    bind_text_or_null(vcpu_halt_, 9,
                      h.waker_vm >= 0 ? std::string_view(machines_[static_cast<size_t>(h.waker_vm)].hostname)
                                      : std::string_view());
    vcpu_halt_.bind_or_null(10, h.waker_vcpu);
    bind_text_or_null(vcpu_halt_, 11, h.device);
    vcpu_halt_.run();
  }
  void on_cpu_interval(const TruthCpuInterval& i) override {
    cpu_state_.bind_all(1, i.ts, i.dur, machines_[static_cast<size_t>(i.machine)].hostname, int64_t{i.cpu}, i.tid);
    if (i.vm >= 0)
      cpu_state_.bind(6, machines_[static_cast<size_t>(i.vm)].hostname);
    else
      cpu_state_.bind_null(6);
    cpu_state_.bind_or_null(7, int64_t{i.vcpu});
    cpu_state_.run();
  }
  void on_guest_irq(const TruthGuestIrq& i) override {
    guest_irq_.insert(i.ts, machines_[static_cast<size_t>(i.vm)].hostname, int64_t{i.vcpu}, i.irq, i.vector,
                      std::string_view(i.name), or_null(i.woken_tid));
  }
  void finish() {
    guest_irq_ = SqliteStatement();
    vcpu_state_ = SqliteStatement();
    vcpu_halt_ = SqliteStatement();
    cpu_state_ = SqliteStatement();
  }

  const std::vector<uint64_t>& events() const { return events_; }
  // (machine, tid) -> first KVM event's host time, and (pid, vCPU index).
  std::map<std::pair<int, int>, int64_t> first_kvm_;
  std::map<std::pair<int, int>, std::pair<int64_t, int64_t>> threads_;

 private:
  const std::vector<ScenarioMachineInfo>& machines_;
  std::vector<uint64_t> events_;
  static void bind_text_or_null(SqliteStatement& s, int column, std::string_view text) {
    if (text.empty())
      s.bind_null(column);
    else
      s.bind(column, text);
  }
  SqliteStatement vcpu_state_, vcpu_halt_, cpu_state_, guest_irq_;
};

// `requests`: the true critical paths (sim/critical_truth.h), in the product's three tables
// (sink.vm.sqlite's critical_path*), machines by the truth's machine.id.
constexpr const char* kCriticalPathSchema = R"sql(
CREATE TABLE critical_path(id INTEGER PRIMARY KEY, machine_id INTEGER, tid INTEGER, name TEXT, start_ts INTEGER,
  end_ts INTEGER);
CREATE TABLE critical_path_segment(path_id INTEGER, seq INTEGER, ts INTEGER, dur INTEGER, machine_id INTEGER,
  tid INTEGER, state TEXT, qualifier TEXT);
CREATE TABLE critical_path_link(path_id INTEGER, seq INTEGER, ts INTEGER, from_machine_id INTEGER, from_tid INTEGER,
  to_machine_id INTEGER, to_tid INTEGER, state TEXT);
)sql";

void write_critical_paths(SqliteConnection& db, const std::vector<sim::TruthPath>& paths) {
  db.exec(kCriticalPathSchema);
  SqliteStatement put_path = db.prepare("INSERT INTO critical_path VALUES(?,?,?,?,?,?)");
  SqliteStatement put_segment = db.prepare("INSERT INTO critical_path_segment VALUES(?,?,?,?,?,?,?,?)");
  SqliteStatement put_link = db.prepare("INSERT INTO critical_path_link VALUES(?,?,?,?,?,?,?,?)");
  int64_t id = 0;
  for (const sim::TruthPath& p : paths) {
    ++id;
    put_path.insert(id, int64_t{p.machine}, p.tid, std::string_view(p.name), p.start_ts, p.end_ts);
    int64_t seq = 0;
    for (const sim::TruthSegment& s : p.segments) {
      put_segment.bind_all(1, id, seq++, s.ts, s.dur, int64_t{s.machine}, s.tid, std::string_view(s.state));
      if (s.qualifier.empty())
        put_segment.bind_null(8);
      else
        put_segment.bind(8, std::string_view(s.qualifier));
      put_segment.run();
    }
    seq = 0;
    for (const sim::TruthLink& l : p.links)
      put_link.insert(id, seq++, l.ts, int64_t{l.from_machine}, l.from_tid, int64_t{l.to_machine}, l.to_tid,
                      std::string_view(l.state));
  }
  db.exec("CREATE INDEX critical_path_segment_by_path ON critical_path_segment(path_id, seq)");
}

std::string long_double_text(long double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.21Lg", value);
  return text;
}

}  // namespace

void write_scenario_truth(const ScenarioConfig& config, const std::string& path) {
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  std::remove(temporary.c_str());
  try {
    ScenarioModel model(config);
    const std::vector<ScenarioMachineInfo>& machines = model.machines();
    {
      SqliteConnection db(temporary);
      db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;");
      db.exec(kSchema);
      db.exec("BEGIN");
      TruthWriter writer(db, machines);
      model.run(writer);
      writer.finish();
      if (config.requests) write_critical_paths(db, model.critical_paths());
      {
        SqliteStatement put = db.prepare("INSERT INTO scenario VALUES(?,?)");
        auto add = [&](const char* key, const std::string& value) {
          put.bind(1, std::string_view(key));
          put.bind_transient(2, value);
          put.run();
        };
        add("seed", std::to_string(config.seed));
        add("pcpus", std::to_string(config.pcpus));
        add("vms", std::to_string(config.vms));
        add("vcpus-per-vm", std::to_string(config.vcpus_per_vm));
        add("guest-threads", std::to_string(config.guest_threads));
        add("host-threads", std::to_string(config.host_threads));
        add("exit-rate", std::to_string(config.exit_rate));
        add("nested", config.nested ? "true" : "false");
        add("nested-vcpus", std::to_string(config.nested_vcpus));
        add("clock-offset-ns", std::to_string(config.clock_offset_ns));
        add("drift-ppm", std::to_string(config.drift_ppm));
        add("duration-ns", std::to_string(config.duration_ns));
        add("events", std::to_string(config.events));
        add("naming", config.old_names ? "old" : "new");
        add("exit-mix", config.exit_mix);
        add("containers", std::to_string(config.containers));
        add("disk-irq-rate", std::to_string(config.disk_irq_rate));
        add("net-irq-rate", std::to_string(config.net_irq_rate));
        add("statedump", config.statedump_lm211 ? "lm211" : "lm212");
        add("wake-causes", config.wake_causes ? "true" : "false");
        add("nested-events", config.nested_events ? "true" : "false");
        if (config.requests) add("requests", "true");
        add("start-ns", std::to_string(config.start_ns));
        add("end-ns", std::to_string(model.end_ns()));
        add("total-events", std::to_string(model.event_count()));
      }
      {
        SqliteStatement put_machine = db.prepare("INSERT INTO machine VALUES(?,?,?,?,?,?,?,?,?)");
        SqliteStatement put_guest = db.prepare("INSERT INTO guest_vm VALUES(?,?,?)");
        SqliteStatement put_clock = db.prepare("INSERT INTO clock VALUES(?,?,?,?,?,?)");
        for (size_t m = 0; m < machines.size(); ++m) {
          const ScenarioMachineInfo& info = machines[m];
          bool runs_vms = false;
          for (const ScenarioMachineInfo& other : machines) runs_vms = runs_vms || other.parent == int(m);
          const std::string parent = info.parent >= 0 ? machines[static_cast<size_t>(info.parent)].hostname : "";
          put_machine.bind(1, static_cast<int64_t>(m));
          put_machine.bind(2, info.hostname);
          put_machine.bind(3, std::string_view(info.parent < 0 ? "host" : "guest"));
          if (info.parent >= 0)
            put_machine.bind(4, parent);
          else
            put_machine.bind_null(4);
          put_machine.bind(5, int64_t{info.layer});
          put_machine.bind(6, int64_t{info.cpus});
          put_machine.bind_or_null(7, info.qemu_pid);
          put_machine.bind(8, info.clock_uuid);
          put_machine.bind(9, static_cast<int64_t>(writer.events()[m]));
          put_machine.run();
          if (info.parent >= 0) {
            put_guest.bind(1, info.hostname);
            put_guest.bind(2, parent);
            put_guest.bind(3, info.qemu_pid);
            put_guest.run();
          }
          const std::string alpha = long_double_text(info.alpha), beta = long_double_text(info.beta);
          put_clock.bind(1, info.hostname);
          put_clock.bind(2, std::string_view(machines[0].hostname));
          put_clock.bind(3, static_cast<double>(info.alpha));
          put_clock.bind(4, static_cast<double>(info.beta));
          put_clock.bind(5, alpha);
          put_clock.bind(6, beta);
          put_clock.run();
        }
        SqliteStatement put_vcpu = db.prepare("INSERT INTO vcpu VALUES(?,?,?,?,?,?)");
        for (const auto& [key, first] : writer.first_kvm_) {
          const auto [pid, vcpu] = writer.threads_.at(key);
          for (const ScenarioMachineInfo& guest : machines) {
            if (guest.parent != key.first || guest.qemu_pid != pid) continue;
            put_vcpu.bind(1, guest.hostname);
            put_vcpu.bind(2, vcpu);
            put_vcpu.bind(3, machines[static_cast<size_t>(key.first)].hostname);
            put_vcpu.bind(4, int64_t{key.second});
            put_vcpu.bind(5, pid);
            put_vcpu.bind(6, first);
            put_vcpu.run();
          }
        }
      }
      {
        // PID namespaces (as sink.vm.sqlite's container and container_thread, by hostname).
        SqliteStatement put_level = db.prepare("INSERT INTO container_thread VALUES(?,?,?,?,?,?,?)");
        SqliteStatement put_ns = db.prepare("INSERT INTO container VALUES(?,?,?,?)");
        std::map<std::pair<int, int64_t>, std::pair<int64_t, int64_t>> tree;  // (machine, ns) -> (parent, level)
        for (const ScenarioThreadNamespaces& thread : model.thread_namespaces()) {
          const std::string& machine = machines[static_cast<size_t>(thread.machine)].hostname;
          for (size_t k = 0; k < thread.levels.size(); ++k) {
            const ScenarioNsLevel& level = thread.levels[k];
            const int64_t values[] = {thread.tid, static_cast<int64_t>(k), level.ns_inum, level.vtid, level.vpid,
                                      level.vppid};
            put_level.bind(1, machine);
            for (int column = 0; column < 6; ++column) put_level.bind(column + 2, values[column]);
            put_level.run();
            tree.try_emplace({thread.machine, level.ns_inum}, k == 0 ? -1 : thread.levels[k - 1].ns_inum,
                             static_cast<int64_t>(k));
          }
        }
        for (const auto& [key, node] : tree) {
          put_ns.bind(1, machines[static_cast<size_t>(key.first)].hostname);
          put_ns.bind(2, key.second);
          put_ns.bind_or_null(3, node.first);
          put_ns.bind(4, node.second);
          put_ns.run();
        }
      }
      db.exec("CREATE INDEX vcpu_state_by_vcpu ON vcpu_state(vm, vcpu_id, ts); "
              "CREATE INDEX vcpu_halt_by_vcpu ON vcpu_halt(vm, vcpu_id, ts); COMMIT");
      db.close();
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0)
      throw std::runtime_error("cannot rename it into place");
  } catch (const std::exception& error) {
    std::remove(temporary.c_str());
    throw std::runtime_error("cannot write the scenario truth `" + path + "`: " + error.what());
  }
}

}  // namespace vm
