// filter.vm.fuse: merges the message streams of several traces (a host, its guests, nested
// guests) into one stream in the reference machine's clock, and tags every event with where it
// ran (machine, layer, vCPU, physical CPU).
//
// With more than one input trace it works in two passes (DESIGN.md §3): pass 1 reads every
// input once, in time order, to learn the machines, their roles and the sync points
// (FuseModel); then it seeks every upstream iterator back to the beginning and pass 2 emits,
// merging by corrected time. One input trace: one pass, no re-timing.
//
// The merge is a k-way merge over the upstream iterators. Within one upstream (the `convert`
// shorthand gives a single pre-muxed input holding every trace) messages are re-sorted in a
// bounded window: a buffered message is emitted only once no later message of that upstream
// can map to an earlier time, i.e. when its corrected time is <= min over the upstream's traces
// T of T(last raw time read) (corrected transforms are increasing, and the upstream is sorted by
// raw time).

#include "fuse/fuse_filter.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <queue>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bt_util.h"
#include "event_reader.h"
#include "fuse/ir_mapper.h"
#include "fuse/params.h"
#include "fuse_model.h"
#include "host_analysis.h"
#include "kvm_window_sync.h"

namespace vm::fuse {

namespace {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();

struct Component {
  bt_self_component_filter* self = nullptr;  // weak
  std::string reference;
  bool identity = false;
  // sync="FILE": the machines and transforms of a previous run; the run then takes one pass.
  std::string sync_path;
  std::vector<FuseModel::CachedMachine> cached;
  std::map<std::string, LinearTransform> formulas;  // sync="NAME=ALPHA,BETA;..."
  std::map<std::string, int64_t> guest_vm;          // guest-vm="NAME=PID,...": guest trace -> QEMU pid
  uint64_t next_port = 0;
};

// Discards vCPU intervals: pass 1 only needs the vCPU records (tid -> VM, index).
class NullListener final : public VcpuListener {
 public:
  void on_vcpu_interval(const VcpuInterval&) override {}
  void on_diagnostic(const std::string&) override {}
};

struct Buffered {
  const bt_message* message;  // owned
  int64_t out_ns;
  uint64_t sequence;  // arrival order: ties keep it
  bool operator>(const Buffered& other) const {
    return out_ns != other.out_ns ? out_ns > other.out_ns : sequence > other.sequence;
  }
};

struct Upstream {
  bt_message_iterator* iterator = nullptr;                                              // owned
  std::priority_queue<Buffered, std::vector<Buffered>, std::greater<Buffered>> buffer;  // owns its messages
  bool ended = false;
  bool saw_event = false;  // an event message was read (see single_machine())
  int64_t last_raw_ns = kNoTime;
  int64_t frontier_ns = kNoTime;  // lower bound of the corrected time of its later messages
  std::vector<int> traces;        // machine indexes seen in this upstream
  uint64_t sequence = 0;
};

// Per stream: its machine and the fields to read.
struct StreamState {
  int machine = 0;
  int64_t cpu = kUnknown;
  int64_t last_out_ns = kNoTime;  // for messages without a clock snapshot
  int64_t last_event_out_ns = kNoTime;
  int64_t packet_begin_out_ns = kNoTime;
  // A discarded-items message spans from the end of the previous packet to the end of the next
  // one (CTF, and what sink.ctf.fs checks): the end of that next packet, once mapped.
  int64_t discarded_end_out_ns = kNoTime;
  bt::StreamFields fields;
};

// Per machine, pass 2: enough host state to place vCPUs on physical CPUs.
struct MachineRuntime {
  std::unique_ptr<HostAnalysis> analysis;             // pass 1: threads and vCPU records
  std::unordered_map<int64_t, int64_t> vcpu_cpu;      // host vCPU thread -> CPU it runs on (kUnknown: off CPU)
  std::unordered_map<uint64_t, int64_t> vcpu_thread;  // (QEMU pid, vCPU index) -> host tid
  std::vector<int64_t> current_tid;                   // per CPU, from sched_switch (events without tid context)
  LinearTransform transform;
  std::string layer_text;
};

uint64_t vcpu_key(int64_t pid, int64_t vcpu) {
  return (uint64_t(uint32_t(pid)) << 32) | uint32_t(vcpu);
}

class FuseIterator {
 public:
  FuseIterator(bt_self_message_iterator* self, Component& component)
      : self_(self), component_(component), mapper_(self) {}
  ~FuseIterator() {
    for (Upstream& upstream : upstreams_) {
      drop_buffer(upstream);
      bt_message_iterator_put_ref(upstream.iterator);
    }
  }

  std::vector<Upstream>& upstreams() { return upstreams_; }

  // Fills `messages`; returns false at the end.
  bt_message_iterator_class_next_method_status next(bt_message_array_const messages, uint64_t capacity,
                                                    uint64_t* count) {
    *count = 0;
    if (phase_ == Phase::start) start();
    if (phase_ == Phase::ended) return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END;
    while (*count < capacity) {
      Upstream* upstream = nullptr;
      const auto status = fill(upstream);
      if (status == Fill::again) break;
      if (!upstream) {
        phase_ = Phase::ended;
        break;
      }
      Buffered item = upstream->buffer.top();
      upstream->buffer.pop();
      const bt_message* out = map(item);
      bt_message_put_ref(item.message);
      if (out) messages[(*count)++] = out;
    }
    if (*count > 0) return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_OK;
    return phase_ == Phase::ended ? BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END
                                  : BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_AGAIN;
  }

  void seek_beginning() {
    for (Upstream& upstream : upstreams_) {
      if (bt_message_iterator_seek_beginning(upstream.iterator) != BT_MESSAGE_ITERATOR_SEEK_BEGINNING_STATUS_OK)
        throw std::runtime_error("cannot seek an upstream iterator to the beginning");
      reset_upstream(upstream);
    }
    mapper_.reset();
    machine_of_trace_.clear();
    streams_.clear();
    last_stream_ = nullptr;  // pointed into streams_
    last_stream_state_ = nullptr;
    model_ = FuseModel();
    runtimes_.clear();
    phase_ = Phase::start;
    last_out_ns_ = kNoTime;
  }

 private:
  enum class Phase { start, emitting, ended };
  enum class Fill { ready, again };
  struct PassOneRecord {
    std::vector<std::vector<Timestamp>> event_times;                          // per CPU
    std::unordered_map<int64_t, std::vector<KvmWindowSync::Window>> windows;  // per host thread
    std::unordered_map<int64_t, Timestamp> open_entry;
    std::unordered_map<int64_t, std::vector<KvmWindowSync::Vector>> injections;  // per host thread
    std::vector<std::vector<KvmWindowSync::Vector>> vector_entries;              // per CPU
  };

  void drop_buffer(Upstream& upstream) {
    while (!upstream.buffer.empty()) {
      bt_message_put_ref(upstream.buffer.top().message);
      upstream.buffer.pop();
    }
  }
  void reset_upstream(Upstream& upstream) {
    drop_buffer(upstream);
    upstream.ended = false;
    upstream.saw_event = false;
    upstream.last_raw_ns = kNoTime;
    upstream.frontier_ns = kNoTime;
    upstream.traces.clear();
  }

  // One pass: the model of a previous run (sync="FILE").
  void start_from_cache() {
    model_.load(component_.cached, component_.sync_path);
    runtimes_.clear();
    runtimes_.resize(model_.size());
    for (size_t i = 0; i < model_.size(); ++i) {
      const FusedMachine& machine = model_.machine(static_cast<int>(i));
      machine_traces_.push_back(machine.trace_name + "\n" + machine.clock_uuid);
      MachineRuntime& runtime = runtimes_[i];
      runtime.transform = machine.sync.to_reference;
      runtime.layer_text = std::to_string(machine.layer);
      for (const FuseModel::CachedVcpu& vcpu : component_.cached[i].vcpus) {
        runtime.vcpu_thread[vcpu_key(vcpu.host_pid, vcpu.vcpu_id)] = vcpu.host_tid;
        runtime.vcpu_cpu[vcpu.host_tid] = kUnknown;
      }
    }
    transforms_ready_ = true;
    phase_ = Phase::emitting;
  }

  // Pass 1 when there is more than one trace: read everything, solve, seek back.
  // One machine: nothing to synchronize, so one pass (DESIGN.md §3). Every upstream is read up
  // to its first event: stream beginnings come first (a muxed input too, they carry no time), so
  // by then every trace of the run has shown itself.
  bool single_machine() {
    for (Upstream& upstream : upstreams_) {
      while (!upstream.ended && !upstream.saw_event) {
        if (read(upstream) == Fill::again) return false;
      }
    }
    return model_.size() == 1;
  }

  void start_single_machine() {
    model_.solve_identity(component_.reference);
    runtimes_[0].transform = LinearTransform::identity();
    runtimes_[0].layer_text = "0";
    transforms_ready_ = true;
    for (const auto& [trace, machine] : machine_of_trace_)
      mapper_.set_trace_environment(trace, environment_of(machine));
    phase_ = Phase::emitting;
  }

  void start() {
    if (!component_.cached.empty()) return start_from_cache();
    if (single_machine()) return start_single_machine();
    discovering_ = true;
    // Drain every upstream in merged raw-time order (transforms are all the identity now).
    while (true) {
      Upstream* upstream = nullptr;
      if (fill(upstream) == Fill::again)
        throw std::runtime_error(
            "an upstream iterator returned AGAIN during the discovery pass; filter.vm.fuse "
            "needs finite, seekable inputs (source.ctf.fs), not live ones");
      if (!upstream) break;
      Buffered item = upstream->buffer.top();
      upstream->buffer.pop();
      discover(item.message);
      bt_message_put_ref(item.message);
    }
    discovering_ = false;
    if (model_.size() <= 1) {
      // One machine: nothing to synchronize. Re-read it once more is the price of not knowing
      // the number of traces in advance; it keeps the code to one path.
    }
    link_by_kvm_windows();
    records_.clear();  // the windows and event times are no longer needed
    if (!component_.formulas.empty())
      model_.solve_given(component_.reference, component_.formulas);
    else if (component_.identity)
      model_.solve_identity(component_.reference);
    else
      model_.solve(component_.reference);
    for (const std::string& message : diagnostics_)
      bt::warn(bt_self_component_as_component(bt_self_message_iterator_borrow_component(self_)), message);
    for (const std::string& message : model_.diagnostics())
      bt::warn(bt_self_component_as_component(bt_self_message_iterator_borrow_component(self_)), message);
    // Keep what pass 2 needs from pass 1, then start over.
    std::vector<MachineRuntime> learned(model_.size());
    for (size_t i = 0; i < model_.size(); ++i) {
      MachineRuntime& runtime = learned[i];
      runtime.transform = model_.machine(static_cast<int>(i)).sync.to_reference;
      if (i < runtimes_.size() && runtimes_[i].analysis) {
        for (const VcpuRecord& vcpu : runtimes_[i].analysis->vcpus().vcpus()) {
          // A vCPU thread of an unknown process is its own VM, keyed -2 - tid (VcpuTracker's key).
          const int64_t vm_key = vcpu.host_pid >= 0 ? vcpu.host_pid : -2 - vcpu.host_tid;
          runtime.vcpu_thread[vcpu_key(vm_key, vcpu.vcpu_id)] = vcpu.host_tid;
          runtime.vcpu_cpu[vcpu.host_tid] = kUnknown;
        }
      }
    }
    // Guests whose VM is known only through the host thread of the vmsync exchange (no pid
    // context): resolve the thread's process with pass 1's thread table.
    for (size_t i = 0; i < model_.size(); ++i) {
      FusedMachine& machine = model_.machine(static_cast<int>(i));
      if (machine.parent < 0 || machine.vm_pid >= 0) continue;
      const auto& host = runtimes_[static_cast<size_t>(machine.parent)];
      if (host.analysis && vmsync_thread_.count(i)) {
        const int64_t tid = vmsync_thread_[i];
        const int64_t pid = host.analysis->threads().pid_of(tid);
        machine.vm_pid = pid >= 0 ? pid : -2 - tid;  // the tracker's key for a process-less vCPU thread
      }
    }
    FuseModel solved = std::move(model_);
    const auto traces = machine_traces_;
    seek_beginning();
    model_ = std::move(solved);
    machine_traces_ = traces;
    runtimes_ = std::move(learned);
    for (size_t i = 0; i < model_.size(); ++i) runtimes_[i].layer_text = std::to_string(model_.machine(int(i)).layer);
    transforms_ready_ = true;
    phase_ = Phase::emitting;
  }

  // Makes sure the upstream with the earliest emit-able message is known: reads upstreams whose
  // head could still be preceded. Sets `chosen` to it, or nullptr when everything ended.
  Fill fill(Upstream*& chosen) {
    chosen = nullptr;
    for (Upstream& upstream : upstreams_) {
      while (!upstream.ended && !emittable(upstream)) {
        if (read(upstream) == Fill::again) return Fill::again;
      }
    }
    for (Upstream& upstream : upstreams_) {
      if (upstream.buffer.empty()) continue;
      if (!chosen || chosen->buffer.top().out_ns > upstream.buffer.top().out_ns) chosen = &upstream;
    }
    return Fill::ready;
  }

  bool emittable(const Upstream& upstream) const {
    return !upstream.buffer.empty() && upstream.buffer.top().out_ns <= upstream.frontier_ns;
  }

  int64_t frontier(const Upstream& upstream) const {
    int64_t lowest = std::numeric_limits<int64_t>::max();
    for (int machine : upstream.traces) lowest = std::min(lowest, transform_of(machine).apply(upstream.last_raw_ns));
    return lowest;
  }

  const LinearTransform& transform_of(int machine) const {
    static const LinearTransform identity;
    return transforms_ready_ && static_cast<size_t>(machine) < runtimes_.size()
               ? runtimes_[static_cast<size_t>(machine)].transform
               : identity;
  }

  Fill read(Upstream& upstream) {
    bt_message_array_const messages;
    uint64_t count = 0;
    switch (bt_message_iterator_next(upstream.iterator, &messages, &count)) {
      case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK: break;
      case BT_MESSAGE_ITERATOR_NEXT_STATUS_END: upstream.ended = true; return Fill::ready;
      case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN: return Fill::again;
      case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR: throw std::bad_alloc();
      default: throw UpstreamError();
    }
    for (uint64_t i = 0; i < count; ++i) {
      const bt_message* message = messages[i];
      try {
        buffer(upstream, message);
      } catch (...) {
        for (uint64_t j = i; j < count; ++j) bt_message_put_ref(messages[j]);
        throw;
      }
    }
    return Fill::ready;
  }

  StreamState& stream_state(const bt_stream* stream) {
    if (stream == last_stream_) return *last_stream_state_;
    auto it = streams_.find(stream);
    if (it == streams_.end()) {
      StreamState state;
      state.machine = machine_of(bt_stream_borrow_trace_const(stream), stream);
      state.fields = bt::locate_stream_fields(bt_stream_borrow_class_const(stream));
      it = streams_.emplace(stream, state).first;
    }
    last_stream_ = stream;
    last_stream_state_ = &it->second;
    return it->second;
  }

  int machine_of(const bt_trace* trace, const bt_stream* stream) {
    auto it = machine_of_trace_.find(trace);
    if (it != machine_of_trace_.end()) return it->second;
    const char* name = bt_trace_get_name(trace);
    const bt_value* hostname = bt_trace_borrow_environment_entry_value_by_name_const(trace, "hostname");
    const bt_clock_class* clock =
        bt_stream_class_borrow_default_clock_class_const(bt_stream_borrow_class_const(stream));
    if (!clock)
      throw std::runtime_error("trace `" + std::string(name ? name : "") +
                               "` has no clock: filter.vm.fuse needs timestamped events");
    std::string uuid;
    if (const uint8_t* bytes = bt_clock_class_get_uuid(clock)) {
      char text[40];
      std::snprintf(text, sizeof text, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                    bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10],
                    bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
      uuid = text;
    }
    int machine;
    // Pass 2 meets the traces again: same machine indexes, by trace identity (name, UUID).
    const std::string key = std::string(name ? name : "") + "\n" + uuid;
    auto known = std::find(machine_traces_.begin(), machine_traces_.end(), key);
    if (transforms_ready_ && known != machine_traces_.end()) {
      machine = static_cast<int>(known - machine_traces_.begin());
    } else if (transforms_ready_) {
      if (!component_.cached.empty())
        throw std::runtime_error("trace `" + std::string(name ? name : "") + "` (clock " + uuid +
                                 ") was not in the run of `" + component_.sync_path +
                                 "`: synchronize it with sync=\"auto\" (the default)");
      throw std::runtime_error("a trace appeared in the second pass that the first pass did not see");
    } else {
      machine = model_.add_machine(name ? name : "",
                                   hostname && bt_value_is_string(hostname) ? bt_value_string_get(hostname) : "", uuid);
      machine_traces_.push_back(key);
      runtimes_.resize(model_.size());
      records_.resize(model_.size());
      runtimes_.back().analysis = std::make_unique<HostAnalysis>(
          registry_, registry_.add(name ? name : "", MachineRole::unknown, kUnknown, 0), null_listener_);
    }
    machine_of_trace_[trace] = machine;
    if (transforms_ready_) mapper_.set_trace_environment(trace, environment_of(machine));
    return machine;
  }

  std::vector<std::pair<std::string, std::string>> environment_of(int index) const {
    const FusedMachine& machine = model_.machine(index);
    const MachineSync& sync = machine.sync;
    char number[64];
    std::vector<std::pair<std::string, std::string>> env;
    env.emplace_back("vm_machine", machine.name);
    // The output clock is the reference's: keep the input trace's own clock identity.
    env.emplace_back("vm_clock_uuid", machine.clock_uuid);
    env.emplace_back("vm_role", role_name(machine.role()));
    env.emplace_back("vm_layer", std::to_string(machine.layer));
    env.emplace_back("vm_parent", machine.parent >= 0 ? model_.machine(machine.parent).name : "");
    if (machine.vm_pid >= 0) env.emplace_back("vm_qemu_pid", std::to_string(machine.vm_pid));
    // The host-side key of its VM: the QEMU pid, or -2 - tid when only the vCPU thread is known.
    if (machine.parent >= 0 && machine.vm_pid != kUnknown)
      env.emplace_back("vm_vm_key", std::to_string(machine.vm_pid));
    env.emplace_back("vm_sync_reference", model_.machine(model_.reference()).name);
    std::snprintf(number, sizeof number, "%.21Lg", sync.to_reference.alpha);
    env.emplace_back("vm_sync_alpha", number);
    std::snprintf(number, sizeof number, "%.21Lg", sync.to_reference.beta);
    env.emplace_back("vm_sync_beta", number);
    env.emplace_back("vm_sync_method", sync.method);
    env.emplace_back("vm_sync_quality", sync_quality_name(sync.quality));
    env.emplace_back("vm_sync_matches", std::to_string(sync.matches));
    std::snprintf(number, sizeof number, "%.3Lf", sync.accuracy_ns);
    env.emplace_back("vm_sync_accuracy_ns", std::isfinite(static_cast<double>(sync.accuracy_ns)) ? number : "inf");
    // One line per sync method alone: method alpha beta quality matches accuracy_ns peer.
    std::string estimates;
    for (const MachineSync::Estimate& e : sync.estimates) {
      char line[256];
      std::snprintf(line, sizeof line, "%s %.21Lg %.21Lg %s %llu %.3Lf %s\n", sync_method_name(e.method),
                    e.to_reference.alpha, e.to_reference.beta, sync_quality_name(e.quality),
                    static_cast<unsigned long long>(e.matches), e.accuracy_ns, model_.machine(e.peer).name.c_str());
      estimates += line;
    }
    env.emplace_back("vm_sync_estimates", estimates);
    if (!machine.match_method.empty()) {
      env.emplace_back("vm_match_method", machine.match_method);
      std::snprintf(number, sizeof number, "%.6f", machine.match_confidence);
      env.emplace_back("vm_match_confidence", number);
    }
    return env;
  }

  // Raw time of a message, or kNoTime when it has no clock snapshot.
  static int64_t raw_ns(const bt_message* message, const bt_stream*& stream) {
    stream = nullptr;
    switch (bt_message_get_type(message)) {
      case BT_MESSAGE_TYPE_EVENT:
        stream = bt_event_borrow_stream_const(bt_message_event_borrow_event_const(message));
        return bt::event_ns(message);
      case BT_MESSAGE_TYPE_PACKET_BEGINNING: {
        const bt_packet* packet = bt_message_packet_beginning_borrow_packet_const(message);
        stream = bt_packet_borrow_stream_const(packet);
        if (!bt_stream_class_packets_have_beginning_default_clock_snapshot(bt_stream_borrow_class_const(stream)))
          return kNoTime;
        return bt::snapshot_ns(bt_message_packet_beginning_borrow_default_clock_snapshot_const(message));
      }
      case BT_MESSAGE_TYPE_PACKET_END: {
        const bt_packet* packet = bt_message_packet_end_borrow_packet_const(message);
        stream = bt_packet_borrow_stream_const(packet);
        if (!bt_stream_class_packets_have_end_default_clock_snapshot(bt_stream_borrow_class_const(stream)))
          return kNoTime;
        return bt::snapshot_ns(bt_message_packet_end_borrow_default_clock_snapshot_const(message));
      }
      case BT_MESSAGE_TYPE_STREAM_BEGINNING:
        stream = bt_message_stream_beginning_borrow_stream_const(message);
        return kNoTime;
      case BT_MESSAGE_TYPE_STREAM_END: stream = bt_message_stream_end_borrow_stream_const(message); return kNoTime;
      case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
        stream = bt_message_discarded_events_borrow_stream_const(message);
        if (!bt_stream_class_discarded_events_have_default_clock_snapshots(bt_stream_borrow_class_const(stream)))
          return kNoTime;
        // Ordered by where the loss begins, as filter.utils.muxer does: the analyses downstream
        // mark what the loss may have changed unknown from there on.
        return bt::snapshot_ns(bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(message));
      case BT_MESSAGE_TYPE_DISCARDED_PACKETS:
        stream = bt_message_discarded_packets_borrow_stream_const(message);
        if (!bt_stream_class_discarded_packets_have_default_clock_snapshots(bt_stream_borrow_class_const(stream)))
          return kNoTime;
        return bt::snapshot_ns(bt_message_discarded_packets_borrow_beginning_default_clock_snapshot_const(message));
      default: return kNoTime;
    }
  }

  // The raw end time of a discarded-items message (0 when it has no clock snapshots).
  static int64_t discarded_end_raw_ns(const bt_message* message) {
    if (bt_message_get_type(message) == BT_MESSAGE_TYPE_DISCARDED_EVENTS) {
      const bt_stream* stream = bt_message_discarded_events_borrow_stream_const(message);
      if (!bt_stream_class_discarded_events_have_default_clock_snapshots(bt_stream_borrow_class_const(stream)))
        return 0;
      return bt::snapshot_ns(bt_message_discarded_events_borrow_end_default_clock_snapshot_const(message));
    }
    const bt_stream* stream = bt_message_discarded_packets_borrow_stream_const(message);
    if (!bt_stream_class_discarded_packets_have_default_clock_snapshots(bt_stream_borrow_class_const(stream))) return 0;
    return bt::snapshot_ns(bt_message_discarded_packets_borrow_end_default_clock_snapshot_const(message));
  }

  void buffer(Upstream& upstream, const bt_message* message) {
    const bt_stream* stream = nullptr;
    const int64_t raw = raw_ns(message, stream);
    if (!stream) {  // message iterator inactivity: nothing to merge
      bt_message_put_ref(message);
      return;
    }
    StreamState& state = stream_state(stream);
    if (bt_message_get_type(message) == BT_MESSAGE_TYPE_EVENT) upstream.saw_event = true;
    if (std::find(upstream.traces.begin(), upstream.traces.end(), state.machine) == upstream.traces.end()) {
      upstream.traces.push_back(state.machine);
      if (upstream.last_raw_ns != kNoTime) upstream.frontier_ns = frontier(upstream);
    }
    if (bt_message_get_type(message) == BT_MESSAGE_TYPE_PACKET_BEGINNING)
      state.cpu = bt::packet_cpu(bt_message_packet_beginning_borrow_packet_const(message), state.fields);
    int64_t out = state.last_out_ns;
    if (raw != kNoTime) {
      out = transform_of(state.machine).apply(raw);
      // Older lttng-modules traces can end a packet after the next one begins (event times stay
      // monotonic): a packet end keeps the time of its last event, a packet beginning never goes
      // before what its stream already emitted, so every stream stays in order.
      const bt_message_type type = bt_message_get_type(message);
      const bool discarded = type == BT_MESSAGE_TYPE_DISCARDED_EVENTS || type == BT_MESSAGE_TYPE_DISCARDED_PACKETS;
      // (Never below the upstream's frontier: messages up to it may already be out.)
      if (type == BT_MESSAGE_TYPE_PACKET_END && state.discarded_end_out_ns != kNoTime) {
        out = state.discarded_end_out_ns;  // the end of the preceding discarded-items message
        state.discarded_end_out_ns = kNoTime;
      } else if (type == BT_MESSAGE_TYPE_PACKET_END && state.last_event_out_ns != kNoTime) {
        out = std::min(out, std::max({state.last_event_out_ns, state.packet_begin_out_ns, upstream.frontier_ns}));
      }
      if (discarded) {
        // It begins where the previous packet ended (as mapped), and ends with the next one.
        if (state.last_out_ns != kNoTime) out = std::max(state.last_out_ns, upstream.frontier_ns);
        state.discarded_end_out_ns = std::max(out, transform_of(state.machine).apply(discarded_end_raw_ns(message)));
      }
      if (state.last_out_ns != kNoTime) out = std::max(out, state.last_out_ns);
      if (type == BT_MESSAGE_TYPE_EVENT) state.last_event_out_ns = out;
      if (type == BT_MESSAGE_TYPE_PACKET_BEGINNING) state.packet_begin_out_ns = out;
      state.last_out_ns = out;
      if (raw > upstream.last_raw_ns) {
        upstream.last_raw_ns = raw;
        // No later message of this upstream maps earlier than this (its input is sorted by raw
        // time and the transforms increase).
        upstream.frontier_ns = upstream.traces.size() == 1 ? out : frontier(upstream);
      }
    }
    upstream.buffer.push(Buffered{message, out, upstream.sequence++});
  }

  // Pass 1: learn from one message (in raw time order).
  void discover(const bt_message* message) {
    if (bt_message_get_type(message) != BT_MESSAGE_TYPE_EVENT) return;
    const bt_event* event = bt_message_event_borrow_event_const(message);
    StreamState& state = stream_state(bt_event_borrow_stream_const(event));
    const bt::EventFields& fields = event_fields(bt_event_borrow_class_const(event));
    const EventContext ctx = bt::read_context(event, bt::event_ns(message), state.cpu, state.fields);
    HostAnalysis& analysis = *runtimes_[static_cast<size_t>(state.machine)].analysis;
    analysis.on_event(ctx);
    bt::feed_host_analysis(analysis, fields, ctx, event);
    record_for_kvm_windows(state.machine, fields.kind, ctx, analysis);
    if (fields.kind == EventKind::kvm_inj_virq || fields.kind == EventKind::irq_vector_entry)
      record_irq(state.machine, fields, ctx, bt_event_borrow_payload_field_const(event), analysis);
    const bt_field* payload = bt_event_borrow_payload_field_const(event);
    switch (fields.kind) {
      case EventKind::kvm_entry:
      case EventKind::kvm_exit:
      case EventKind::kvm_other: model_.on_kvm_event(state.machine); break;
      case EventKind::vmsync_gh_guest:
      case EventKind::vmsync_hg_guest:
        model_.on_vmsync_guest(state.machine, ctx.ts, fields.kind == EventKind::vmsync_gh_guest,
                               uint64_t(bt::read_int(payload, fields.f[0])),
                               uint64_t(bt::read_int(payload, fields.f[1])));
        break;
      case EventKind::vmsync_gh_host:
      case EventKind::vmsync_hg_host: {
        const int64_t tid = ctx.tid >= 0 ? ctx.tid : analysis.threads().current(ctx.cpu);
        const uint64_t uid = uint64_t(bt::read_int(payload, fields.f[1]));
        model_.on_vmsync_host(state.machine, ctx.ts, fields.kind == EventKind::vmsync_gh_host,
                              uint64_t(bt::read_int(payload, fields.f[0])), uid, kUnknown);
        if (tid >= 0) vmsync_threads_by_uid_.emplace(uid, tid);
        break;
      }
      case EventKind::net_send:
      case EventKind::net_receive: {
        TcpKey key;
        if (read_tcp_key(payload, key)) model_.on_tcp(state.machine, ctx.ts, fields.kind == EventKind::net_send, key);
        break;
      }
      default: break;
    }
    // Remember, per guest machine, the host thread of its vmsync exchanges (its vCPU thread).
    if (fields.kind == EventKind::vmsync_gh_guest || fields.kind == EventKind::vmsync_hg_guest) {
      const uint64_t uid = uint64_t(bt::read_int(payload, fields.f[1]));
      guest_uid_[static_cast<size_t>(state.machine)] = uid;
    }
    finish_vmsync_threads();
  }

  // Pass 1 material of the KVM-window sync: every event's time per (machine, CPU) — any trace
  // may be a guest — and the guest-mode windows of every vCPU thread of every host.
  void record_for_kvm_windows(int machine, EventKind kind, const EventContext& ctx, const HostAnalysis& analysis) {
    if (component_.identity) return;
    PassOneRecord& record = records_[static_cast<size_t>(machine)];
    if (ctx.cpu >= 0) {
      if (static_cast<size_t>(ctx.cpu) >= record.event_times.size()) record.event_times.resize(size_t(ctx.cpu) + 1);
      record.event_times[static_cast<size_t>(ctx.cpu)].push_back(ctx.ts);
    }
    if (kind != EventKind::kvm_entry && kind != EventKind::kvm_exit) return;
    record_kvm_window(record, kind, ctx, analysis);
  }

  void record_irq(int machine, const bt::EventFields& fields, const EventContext& ctx, const bt_field* payload,
                  const HostAnalysis& analysis) {
    if (component_.identity) return;
    PassOneRecord& record = records_[static_cast<size_t>(machine)];
    const int64_t vector = bt::read_int(payload, fields.f[0]);
    if (fields.kind == EventKind::kvm_inj_virq) {
      const int64_t tid = ctx.tid >= 0 ? ctx.tid : analysis.threads().current(ctx.cpu);
      if (tid >= 0) record.injections[tid].push_back({ctx.ts, vector});
    } else if (ctx.cpu >= 0) {
      if (static_cast<size_t>(ctx.cpu) >= record.vector_entries.size())
        record.vector_entries.resize(size_t(ctx.cpu) + 1);
      record.vector_entries[static_cast<size_t>(ctx.cpu)].push_back({ctx.ts, vector});
    }
  }

  void record_kvm_window(PassOneRecord& record, EventKind kind, const EventContext& ctx, const HostAnalysis& analysis) {
    const int64_t tid = ctx.tid >= 0 ? ctx.tid : analysis.threads().current(ctx.cpu);
    if (tid < 0) return;
    if (kind == EventKind::kvm_entry) {
      record.open_entry[tid] = ctx.ts;
    } else if (auto open = record.open_entry.find(tid); open != record.open_entry.end()) {
      record.windows[tid].push_back(KvmWindowSync::Window{open->second, ctx.ts});
      record.open_entry.erase(open);
    }
  }

  // Guests without vmsync: for each trace, the VM whose vCPUs' guest-mode windows contain its
  // events (KvmWindowSync). The best VM must explain >= 90% of the trace's events under its
  // drift-tracked offsets (KvmWindowSync::coarse), then >= 99% once synchronized; the
  // confidence is that final share.
  void link_by_kvm_windows() {
    if (component_.identity) return;
    for (size_t t = 0; t < model_.size(); ++t) {
      const FusedMachine& candidate = model_.machine(static_cast<int>(t));
      if (candidate.is_vmsync_guest) continue;
      int64_t wanted_pid = kUnknown;  // from the guest-vm parameter
      for (const std::string& key : {candidate.hostname, candidate.trace_name})
        if (auto found = component_.guest_vm.find(key); found != component_.guest_vm.end()) wanted_pid = found->second;
      const PassOneRecord& guest = records_[t];
      size_t guest_cpus = 0;
      for (const auto& times : guest.event_times) guest_cpus += times.empty() ? 0 : 1;
      if (guest_cpus == 0) continue;
      struct Candidate {
        int host = -1;
        int64_t pid = kUnknown;
        double score = 0;
        std::unique_ptr<KvmWindowSync> sync;
      };
      Candidate best, second;
      for (size_t h = 0; h < model_.size(); ++h) {
        if (h == t || records_[h].windows.empty() || !runtimes_[h].analysis) continue;
        std::map<int64_t, std::vector<VcpuRecord>> vms;
        for (const VcpuRecord& vcpu : runtimes_[h].analysis->vcpus().vcpus()) vms[vcpu.host_pid].push_back(vcpu);
        for (const auto& [pid, vcpus] : vms) {
          if (wanted_pid != kUnknown ? pid != wanted_pid : vcpus.size() < guest_cpus) continue;
          auto sync = std::make_unique<KvmWindowSync>();
          for (const VcpuRecord& vcpu : vcpus) {
            const auto windows = records_[h].windows.find(vcpu.host_tid);
            if (windows == records_[h].windows.end()) continue;
            for (const KvmWindowSync::Window& w : windows->second) sync->add_window(int(vcpu.vcpu_id), w.entry, w.exit);
          }
          for (size_t cpu = 0; cpu < guest.event_times.size(); ++cpu)
            for (Timestamp ts : guest.event_times[cpu]) sync->add_guest_event(int(cpu), ts);
          for (const VcpuRecord& vcpu : vcpus)
            if (const auto it = records_[h].injections.find(vcpu.host_tid); it != records_[h].injections.end())
              for (const KvmWindowSync::Vector& injection : it->second)
                sync->add_injection(int(vcpu.vcpu_id), injection);
          for (size_t cpu = 0; cpu < guest.vector_entries.size(); ++cpu)
            for (const KvmWindowSync::Vector& entry : guest.vector_entries[cpu])
              sync->add_guest_vector(int(cpu), entry);
          const double score = sync->coarse(KvmWindowSync::Options{}).inside_fraction;
          Candidate found{int(h), pid, score, std::move(sync)};
          if (found.score > best.score) {
            second = std::move(best);
            best = std::move(found);
          } else if (found.score > second.score) {
            second = std::move(found);
          }
        }
      }
      if (wanted_pid != kUnknown && !best.sync) {
        diagnostics_.push_back("parameter `guest-vm`: no host trace runs a VM with QEMU pid " +
                               std::to_string(wanted_pid) + " for trace `" + candidate.trace_name + "`");
        continue;
      }
      if (wanted_pid != kUnknown && best.score < 0.9) {
        // The user said so: link, even if the KVM windows cannot synchronize it.
        model_.link_guest(int(t), best.host, best.pid, "parameter", best.score);
        continue;
      }
      if (!best.sync || best.score < 0.9) continue;
      const KvmWindowSync::Result result = best.sync->solve(KvmWindowSync::Options{});
      if (result.inside_fraction < 0.99) {
        diagnostics_.push_back("trace `" + candidate.trace_name + "` looks like a guest of VM " +
                               std::to_string(best.pid) + " on `" + model_.machine(best.host).trace_name + "` (" +
                               std::to_string(int(best.score * 1000) / 10.0) +
                               "% of its events in that VM's guest-mode windows), but no clock transform keeps 99% "
                               "of them there: not linked.");
        continue;
      }
      model_.link_guest(int(t), best.host, best.pid, wanted_pid != kUnknown ? "parameter" : "kvm_windows",
                        result.inside_fraction);
      for (const auto& c : result.constraint_list) {
        if (c.host_sends)
          model_.add_constraint(best.host, c.send_ts, int(t), c.recv_ts, SyncMethod::kvm_windows);
        else
          model_.add_constraint(int(t), c.send_ts, best.host, c.recv_ts, SyncMethod::kvm_windows);
      }
      // Injected interrupts: kvm_x86_inj_virq on the host precedes the guest's handler entry.
      for (const auto& [host_ts, guest_ts] : best.sync->injection_pairs(result.guest_to_host))
        model_.add_constraint(best.host, host_ts, int(t), guest_ts, SyncMethod::kvm_inj_virq);
      if (second.sync && second.score > 0.9)
        diagnostics_.push_back("trace `" + candidate.trace_name + "`: two VMs explain its events (" +
                               std::to_string(best.score) + " and " + std::to_string(second.score) +
                               "); the first was chosen.");
    }
  }

  void finish_vmsync_threads() {
    for (const auto& [machine, uid] : guest_uid_) {
      const auto it = vmsync_threads_by_uid_.find(uid);
      if (it != vmsync_threads_by_uid_.end()) vmsync_thread_[machine] = it->second;
    }
  }

  // TCP key of a net_dev_queue / net_if_receive_skb event (lttng-modules >= 2.9 layout:
  // network_header variant -> ipv4 structure -> transport_header variant -> tcp structure).
  static bool read_tcp_key(const bt_field* payload, TcpKey& key) {
    // inet_sock_local_in/out (addon events): seq, ack_seq and flags at the top level, no addresses.
    if (const bt_field* seq = bt::member_by_name(payload, "seq");
        seq && !bt::member_by_name(payload, "network_header")) {
      key.seq = uint32_t(bt::field_int(seq));
      key.ack_seq = uint32_t(bt::field_int(bt::member_by_name(payload, "ack_seq")));
      key.flags = uint16_t(bt::field_int(bt::member_by_name(payload, "flags")));
      return true;
    }
    const bt_field* ip = bt::member_by_name(payload, "network_header");
    ip = bt::select_variant(ip);
    if (!ip || !bt::member_by_name(ip, "saddr")) return false;
    const bt_field* protocol = bt::member_by_name(ip, "protocol");
    if (protocol && bt::field_int(protocol) != 6) return false;  // not TCP
    const bt_field* tcp = bt::select_variant(bt::member_by_name(ip, "transport_header"));
    if (!tcp || !bt::member_by_name(tcp, "seq")) return false;
    key.saddr = uint32_t(bt::field_ipv4(bt::member_by_name(ip, "saddr")));
    key.daddr = uint32_t(bt::field_ipv4(bt::member_by_name(ip, "daddr")));
    key.sport = uint16_t(bt::field_int(bt::member_by_name(tcp, "source_port")));
    key.dport = uint16_t(bt::field_int(bt::member_by_name(tcp, "dest_port")));
    key.seq = uint32_t(bt::field_int(bt::member_by_name(tcp, "seq")));
    key.ack_seq = uint32_t(bt::field_int(bt::member_by_name(tcp, "ack_seq")));
    key.flags = uint16_t(bt::field_int(bt::member_by_name(tcp, "flags")));
    return true;
  }

  const bt::EventFields& event_fields(const bt_event_class* event_class) {
    auto& slot = event_classes_[event_class];
    if (!slot) slot = std::make_unique<bt::EventFields>(bt::locate_event_fields(event_class));
    return *slot;
  }

  // Pass 2: the output message for a buffered input message (nullptr: dropped).
  const bt_message* map(const Buffered& item) {
    const bt_message* message = item.message;
    if (item.out_ns != kNoTime) {
      if (item.out_ns < last_out_ns_)
        throw std::runtime_error(
            "message times go backwards after synchronization (" + std::to_string(item.out_ns) + " < " +
            std::to_string(last_out_ns_) +
            "): with the `convert` shorthand a trace that starts late cannot be re-sorted. Use the run command "
            "instead, e.g.: babeltrace2 run --component=host:source.ctf.fs --params='inputs=[\"HOST\"]' "
            "--component=guest:source.ctf.fs --params='inputs=[\"GUEST\"]' --component=fuse:filter.vm.fuse "
            "--component=out:sink.vm.sqlite --params='path=\"out.db\"' --connect=host:fuse --connect=guest:fuse "
            "--connect=fuse:out");
      last_out_ns_ = item.out_ns;
    }
    const int64_t out_ns = item.out_ns == kNoTime ? std::max<int64_t>(last_out_ns_, 0) : item.out_ns;
    switch (bt_message_get_type(message)) {
      case BT_MESSAGE_TYPE_EVENT: return map_event(message, out_ns);
      case BT_MESSAGE_TYPE_STREAM_BEGINNING: return mapper_.stream_beginning(message);
      case BT_MESSAGE_TYPE_STREAM_END: return mapper_.stream_end(message);
      case BT_MESSAGE_TYPE_PACKET_BEGINNING: return mapper_.packet_beginning(message, out_ns);
      case BT_MESSAGE_TYPE_PACKET_END: return mapper_.packet_end(message, out_ns);
      case BT_MESSAGE_TYPE_DISCARDED_EVENTS: {
        const bt_stream* stream = bt_message_discarded_events_borrow_stream_const(message);
        // Sorted by its beginning (out_ns); its end is mapped the same way.
        const int64_t end =
            std::max(out_ns, transform_of(stream_state(stream).machine).apply(discarded_end_raw_ns(message)));
        return mapper_.discarded_events(message, out_ns, end);
      }
      case BT_MESSAGE_TYPE_DISCARDED_PACKETS: {
        const bt_stream* stream = bt_message_discarded_packets_borrow_stream_const(message);
        const int64_t end =
            std::max(out_ns, transform_of(stream_state(stream).machine).apply(discarded_end_raw_ns(message)));
        return mapper_.discarded_packets(message, out_ns, end);
      }
      default: return nullptr;
    }
  }

  const bt_message* map_event(const bt_message* message, int64_t out_ns) {
    const bt_event* event = bt_message_event_borrow_event_const(message);
    StreamState& state = stream_state(bt_event_borrow_stream_const(event));
    const bt::EventFields& fields = event_fields(bt_event_borrow_class_const(event));
    MachineRuntime& runtime = runtimes_[static_cast<size_t>(state.machine)];
    const FusedMachine& machine = model_.machine(state.machine);
    track_host(runtime, fields, event, state);
    EventTags tags{machine.name.c_str(), static_cast<uint64_t>(machine.layer), kUnknown, state.cpu};
    if (machine.parent >= 0) {
      tags.vcpu = state.cpu;
      tags.pcpu = physical_cpu(state.machine, state.cpu);
    }
    return mapper_.event(message, out_ns, tags);
  }

  // Pass 2 host state: which CPU each vCPU thread runs on.
  void track_host(MachineRuntime& runtime, const bt::EventFields& fields, const bt_event* event,
                  const StreamState& state) {
    if (runtime.vcpu_cpu.empty()) return;
    if (fields.kind != EventKind::sched_switch && fields.kind != EventKind::kvm_entry) return;
    const bt_field* payload = bt_event_borrow_payload_field_const(event);
    const int64_t cpu = state.cpu;
    if (fields.kind == EventKind::sched_switch) {
      const int64_t prev = bt::read_int(payload, fields.f[0]);
      const int64_t next = bt::read_int(payload, fields.f[2]);
      if (auto it = runtime.vcpu_cpu.find(prev); it != runtime.vcpu_cpu.end()) it->second = kUnknown;
      if (auto it = runtime.vcpu_cpu.find(next); it != runtime.vcpu_cpu.end()) it->second = cpu;
      if (cpu >= 0) {
        if (static_cast<size_t>(cpu) >= runtime.current_tid.size())
          runtime.current_tid.resize(size_t(cpu) + 1, kUnknown);
        runtime.current_tid[static_cast<size_t>(cpu)] = next;
      }
      return;
    }
    int64_t tid = bt::read_context(event, 0, cpu, state.fields).tid;
    if (tid < 0 && cpu >= 0 && static_cast<size_t>(cpu) < runtime.current_tid.size())
      tid = runtime.current_tid[static_cast<size_t>(cpu)];
    if (auto it = runtime.vcpu_cpu.find(tid); it != runtime.vcpu_cpu.end()) it->second = cpu;
  }

  // The physical CPU under CPU `cpu` of machine `index`: through each parent's vCPU threads down
  // to the host (an L2 vCPU runs on an L1 vCPU, which runs on an L0 CPU).
  int64_t physical_cpu(int index, int64_t cpu) const {
    for (int depth = 0; depth < 8 && cpu >= 0; ++depth) {
      const FusedMachine& machine = model_.machine(index);
      if (machine.parent < 0) return cpu;
      const MachineRuntime& host = runtimes_[static_cast<size_t>(machine.parent)];
      const auto thread = host.vcpu_thread.find(vcpu_key(machine.vm_pid, cpu));
      if (thread == host.vcpu_thread.end()) return kUnknown;
      const auto where = host.vcpu_cpu.find(thread->second);
      cpu = where == host.vcpu_cpu.end() ? kUnknown : where->second;
      index = machine.parent;
    }
    return kUnknown;
  }

  bt_self_message_iterator* self_;  // weak
  Component& component_;
  std::vector<Upstream> upstreams_;
  Phase phase_ = Phase::start;
  bool discovering_ = false;
  bool transforms_ready_ = false;
  FuseModel model_;
  MachineRegistry registry_;  // pass 1 HostAnalysis bookkeeping
  NullListener null_listener_;
  std::vector<MachineRuntime> runtimes_;
  std::vector<std::string> machine_traces_;  // key (name, UUID) per machine index
  std::unordered_map<const bt_trace*, int> machine_of_trace_;
  std::unordered_map<const bt_stream*, StreamState> streams_;
  const bt_stream* last_stream_ = nullptr;
  StreamState* last_stream_state_ = nullptr;
  std::unordered_map<const bt_event_class*, std::unique_ptr<bt::EventFields>> event_classes_;
  std::unordered_map<uint64_t, int64_t> vmsync_threads_by_uid_;
  std::unordered_map<size_t, uint64_t> guest_uid_;
  std::unordered_map<size_t, int64_t> vmsync_thread_;
  std::vector<PassOneRecord> records_;  // per machine, pass 1 only
  std::vector<std::string> diagnostics_;
  IrMapper mapper_;
  int64_t last_out_ns_ = kNoTime;

 public:
  struct UpstreamError {};
};

Component* component_of(bt_self_message_iterator* self) {
  return static_cast<Component*>(bt_self_component_get_data(bt_self_message_iterator_borrow_component(self)));
}

}  // namespace

bt_component_class_initialize_method_status initialize(bt_self_component_filter* self,
                                                       bt_self_component_filter_configuration*, const bt_value* params,
                                                       void*) {
  bt_self_component* self_component = bt_self_component_filter_as_self_component(self);
  try {
    std::string problem = bt::validate_params(params, param_specs());
    std::string sync = "auto";
    if (problem.empty() && bt_value_map_has_entry(params, "sync")) {
      sync = bt_value_string_get(bt_value_map_borrow_entry_value_const(params, "sync"));
      if (sync != "auto" && sync != "identity" && sync.find('=') == std::string::npos &&
          ::access(sync.c_str(), R_OK) != 0)
        problem =
            "parameter `sync` must be \"auto\" (synchronize from the traces), \"identity\" (keep every "
            "machine's clock) or the database of a previous run to reuse its synchronization; `" +
            sync + "` is none of these (no readable file by that name)";
    }
    if (!problem.empty()) {
      BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
          self_component, "%s. Usage: -c filter.vm.fuse [-p 'reference=\"HOST\",sync=\"auto\"']", problem.c_str());
      return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    auto component = std::make_unique<Component>();
    if (problem.empty() && sync.find('=') != std::string::npos) {
      // Formulas: NAME=ALPHA,BETA;NAME=ALPHA,BETA (t_reference = ALPHA * t + BETA).
      std::istringstream items(sync);
      std::string item;
      while (problem.empty() && std::getline(items, item, ';')) {
        const size_t eq = item.find('='), comma = item.find(',', eq);
        try {
          if (eq == std::string::npos || comma == std::string::npos) throw std::invalid_argument(item);
          component->formulas[item.substr(0, eq)] =
              LinearTransform{std::stold(item.substr(eq + 1, comma - eq - 1)), std::stold(item.substr(comma + 1))};
        } catch (const std::exception&) {
          problem =
              "parameter `sync`: `" + item + "` is not a formula MACHINE=ALPHA,BETA (t_reference = ALPHA * t + BETA)";
        }
      }
    }
    if (problem.empty() && bt_value_map_has_entry(params, "guest-vm")) {
      std::istringstream items(bt_value_string_get(bt_value_map_borrow_entry_value_const(params, "guest-vm")));
      std::string item;
      while (problem.empty() && std::getline(items, item, ',')) {
        const size_t eq = item.find('=');
        std::string pid = eq == std::string::npos ? "" : item.substr(eq + 1);
        if (pid.rfind("qemu-", 0) == 0) pid = pid.substr(5);
        if (eq == std::string::npos || pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos)
          problem = "parameter `guest-vm`: `" + item +
                    "` is not GUEST=PID (a guest trace's name or hostname, and the "
                    "QEMU process id of its VM on the host, e.g. guest-vm=\"web1=2231\")";
        else
          component->guest_vm[item.substr(0, eq)] = std::stoll(pid);
      }
    }
    if (!problem.empty()) {
      BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "%s", problem.c_str());
      return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    component->self = self;
    component->identity = sync == "identity";
    if (sync != "auto" && sync != "identity" && component->formulas.empty()) {
      try {
        component->cached = FuseModel::read_previous_run(sync);
        component->sync_path = sync;
      } catch (const std::exception& error) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "%s", error.what());
        return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
      }
    }
    if (bt_value_map_has_entry(params, "reference"))
      component->reference = bt_value_string_get(bt_value_map_borrow_entry_value_const(params, "reference"));
    if (bt_self_component_filter_add_input_port(self, "in0", nullptr, nullptr) !=
            BT_SELF_COMPONENT_ADD_PORT_STATUS_OK ||
        bt_self_component_filter_add_output_port(self, "out", nullptr, nullptr) !=
            BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
      BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(self_component, "cannot add ports");
      return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    component->next_port = 1;
    bt_self_component_set_data(self_component, component.release());
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
  } catch (const std::bad_alloc&) {
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  }
}

void finalize(bt_self_component_filter* self) {
  delete static_cast<Component*>(bt_self_component_get_data(bt_self_component_filter_as_self_component(self)));
}

bt_component_class_port_connected_method_status input_port_connected(bt_self_component_filter* self,
                                                                     bt_self_component_port_input*,
                                                                     const bt_port_output*) {
  // Keep one free input port, as filter.utils.muxer does, so that each --connect takes the next.
  auto* component =
      static_cast<Component*>(bt_self_component_get_data(bt_self_component_filter_as_self_component(self)));
  const std::string name = "in" + std::to_string(component->next_port++);
  if (bt_self_component_filter_add_input_port(self, name.c_str(), nullptr, nullptr) !=
      BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(bt_self_component_filter_as_self_component(self),
                                                        "cannot add input port %s", name.c_str());
    return BT_COMPONENT_CLASS_PORT_CONNECTED_METHOD_STATUS_ERROR;
  }
  return BT_COMPONENT_CLASS_PORT_CONNECTED_METHOD_STATUS_OK;
}

bt_message_iterator_class_initialize_method_status iterator_initialize(bt_self_message_iterator* self,
                                                                       bt_self_message_iterator_configuration* config,
                                                                       bt_self_component_port_output*) {
  Component* component = component_of(self);
  bt_self_component_filter* filter = component->self;
  try {
    auto iterator = std::make_unique<FuseIterator>(self, *component);
    bool can_seek_forward = true;
    for (uint64_t i = 0;
         i < bt_component_filter_get_input_port_count(bt_self_component_filter_as_component_filter(filter)); ++i) {
      bt_self_component_port_input* port = bt_self_component_filter_borrow_input_port_by_index(filter, i);
      if (!bt_port_is_connected(
              bt_self_component_port_as_port(bt_self_component_port_input_as_self_component_port(port))))
        continue;
      Upstream upstream;
      if (bt_message_iterator_create_from_message_iterator(self, port, &upstream.iterator) !=
          BT_MESSAGE_ITERATOR_CREATE_FROM_MESSAGE_ITERATOR_STATUS_OK) {
        BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "cannot create an upstream iterator");
        return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
      }
      can_seek_forward = can_seek_forward && bt_message_iterator_can_seek_forward(upstream.iterator);
      iterator->upstreams().push_back(std::move(upstream));
    }
    if (iterator->upstreams().empty()) {
      BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(
          self,
          "no input port is connected: connect the sources (or a muxer) to filter.vm.fuse, e.g. "
          "--connect=host:fuse --connect=guest:fuse");
      return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
    }
    bt_self_message_iterator_configuration_set_can_seek_forward(config, can_seek_forward);
    bt_self_message_iterator_set_data(self, iterator.release());
    return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_OK;
  } catch (const std::bad_alloc&) {
    return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  }
}

void iterator_finalize(bt_self_message_iterator* self) {
  delete static_cast<FuseIterator*>(bt_self_message_iterator_get_data(self));
}

bt_message_iterator_class_next_method_status iterator_next(bt_self_message_iterator* self,
                                                           bt_message_array_const messages, uint64_t capacity,
                                                           uint64_t* count) {
  auto* iterator = static_cast<FuseIterator*>(bt_self_message_iterator_get_data(self));
  try {
    return iterator->next(messages, capacity, count);
  } catch (const std::bad_alloc&) {
    return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_MEMORY_ERROR;
  } catch (const FuseIterator::UpstreamError&) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "reading an input failed (causes follow)");
    return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR;
  } catch (const std::exception& error) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "%s", error.what());
    return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR;
  }
}

bt_message_iterator_class_can_seek_beginning_method_status can_seek_beginning(bt_self_message_iterator* self,
                                                                              bt_bool* can_seek) {
  auto* iterator = static_cast<FuseIterator*>(bt_self_message_iterator_get_data(self));
  *can_seek = BT_TRUE;
  for (Upstream& upstream : iterator->upstreams()) {
    bt_bool can = BT_FALSE;
    if (bt_message_iterator_can_seek_beginning(upstream.iterator, &can) !=
        BT_MESSAGE_ITERATOR_CAN_SEEK_BEGINNING_STATUS_OK)
      return BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_ERROR;
    if (!can) *can_seek = BT_FALSE;
  }
  return BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_OK;
}

bt_message_iterator_class_seek_beginning_method_status seek_beginning(bt_self_message_iterator* self) {
  auto* iterator = static_cast<FuseIterator*>(bt_self_message_iterator_get_data(self));
  try {
    iterator->seek_beginning();
    return BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_OK;
  } catch (const std::exception& error) {
    BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_MESSAGE_ITERATOR(self, "%s", error.what());
    return BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_ERROR;
  }
}

}  // namespace vm::fuse
