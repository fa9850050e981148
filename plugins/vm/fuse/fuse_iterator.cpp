// SPDX-License-Identifier: MIT
#include "fuse/fuse_iterator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <new>
#include <stdexcept>
#include <utility>

#include "bt_guard.h"
#include "bt_util.h"
#include "fuse/fuse_filter.h"
#include "sync/clock_groups.h"
#include "tcp_header.h"

namespace vm::fuse {
namespace {

int64_t saturated_add(int64_t t, uint64_t ns) {
  if (t < 0) return t + static_cast<int64_t>(std::min<uint64_t>(ns, uint64_t{1} << 62));
  const uint64_t room = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - static_cast<uint64_t>(t);
  return ns >= room ? std::numeric_limits<int64_t>::max() : t + static_cast<int64_t>(ns);
}

int64_t saturated_sub(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!__builtin_sub_overflow(a, b, &out)) return out;
  return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

}  // namespace

FuseIterator::FuseIterator(bt_self_message_iterator* self, const Component& component)
    : self_(self),
      component_(component),
      merge_(*this),
      mapper_(self),
      discovery_(std::make_unique<Discovery>(component)),
      lead_ns_(component.lead_ns) {}

bt_message_iterator_class_next_method_status FuseIterator::next(bt_message_array_const messages, uint64_t capacity,
                                                                uint64_t* count) {
  *count = 0;
  if (phase_ == Phase::start) start();
  // One pass: the inputs are not all seen yet, or the lead window is not read yet (AGAIN).
  if (phase_ == Phase::start || (phase_ == Phase::lead && !run_lead()))
    return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_AGAIN;
  if (phase_ == Phase::ended) return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END;
  // Straight into `messages`: on an exception, the references put there so far are put back.
  uint64_t filled = 0;
  try {
    Merged item;
    while (filled < capacity) {
      if (queued_next_ < queued_.size()) {  // the vm_sync stream's messages, in time order
        messages[filled++] = queued_[queued_next_++].release();
        if (queued_next_ == queued_.size()) {
          queued_.clear();
          queued_next_ = 0;
        }
        continue;
      }
      if (inputs_ended_) {
        phase_ = Phase::ended;
        break;
      }
      if (merge_.next(item) == UpstreamMerge::Fill::again) break;
      if (!item.message) {  // the inputs ended: the rest of the pieces, the model, then the end
        inputs_ended_ = true;
        queue_sync_segments(true);
        continue;
      }
      if (bt::Ref<const bt_message> out = map(item)) messages[filled++] = out.release();
      if (learning_ && last_out_ns_ != kNoTime) {
        if (next_learn_ns_ == kNoTime) {
          chunk_from_ns_ = last_out_ns_;
          next_learn_ns_ = saturated_add(last_out_ns_, component_.learn_ns);
        } else if (last_out_ns_ >= next_learn_ns_) {
          relearn(last_out_ns_);
          next_learn_ns_ = saturated_add(last_out_ns_, component_.learn_ns);
          queue_sync_segments(false);
        }
      }
    }
  } catch (...) {
    for (uint64_t i = 0; i < filled; ++i) bt_message_put_ref(messages[i]);
    throw;
  }
  *count = filled;
  if (*count > 0) return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_OK;
  return phase_ == Phase::ended ? BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END
                                : BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_AGAIN;
}

void FuseIterator::rewind() {
  merge_.seek_beginning();
  mapper_.reset();
  machine_of_trace_.clear();
  scheds_.clear();
  last_out_ns_ = kNoTime;
  lead_.clear();
  lead_first_ns_.clear();
  lead_origin_ns_.clear();
  lead_group_.clear();
  lead_group_done_.clear();
  lead_skipped_ = false;
  lead_messages_ = 0;
  std::fill(min_raw_.begin(), min_raw_.end(), std::numeric_limits<int64_t>::max());
  std::fill(max_raw_.begin(), max_raw_.end(), std::numeric_limits<int64_t>::min());
  queued_.clear();
  queued_next_ = 0;
  inputs_ended_ = false;
  segments_sent_.clear();
}

void FuseIterator::seek_beginning() {
  rewind();
  phase_ = Phase::start;
  discovery_ = std::make_unique<Discovery>(component_);
  transforms_ready_ = false;
  model_ = FuseModel();
  transforms_.clear();
  min_raw_.clear();
  max_raw_.clear();
  pcpus_ = PcpuResolver();
  machine_traces_.clear();
  machine_folders_.clear();
  lead_last_ns_.clear();
  learning_ = false;
  next_learn_ns_ = kNoTime;
  chunk_from_ns_ = kNoTime;
  window_threads_.clear();
  chunks_.clear();
}

void FuseIterator::start() {
  if (!component_.cached.empty()) return start_from_cache();
  // One machine: nothing to synchronize, so one pass. Every upstream is read up to its first
  // event: by then every trace of the run has shown itself.
  const bool all_shown = merge_.read_to_first_events();
  if (all_shown && discovery_->size() == 1) return start_single_machine();
  if (component_.one_pass) {
    if (all_shown) {  // else AGAIN: next() comes back here
      phase_ = Phase::lead;
      // Inputs that can seek (source.ctf.fs) read the lead again instead of holding it: the
      // lead's messages would cost about 1.3 KiB each (babeltrace2's events, and their packets
      // kept alive), the re-read only their decoding once more.
      lead_reread_ = !component_.lead_hold && merge_.can_seek_beginning();
      lead_origin_ns_ = clock_group_origins(merge_.buffered_first_raw(discovery_->size()), kSameClockNs, kNoTime);
      lead_group_.assign(discovery_->size(), 0);
      std::vector<int64_t> origins;  // a group per origin
      for (size_t i = 0; i < lead_origin_ns_.size(); ++i) {
        auto at = std::find(origins.begin(), origins.end(), lead_origin_ns_[i]);
        lead_group_[i] = static_cast<int>(at - origins.begin());
        if (at == origins.end()) origins.push_back(lead_origin_ns_[i]);
      }
      lead_group_done_.assign(std::max<size_t>(1, origins.size()), false);
      if (!lead_origin_ns_.empty()) {  // what is buffered so far goes through the merge again
        std::vector<Merged> none;
        merge_.retime(none);
      }
    }
    return;
  }
  run_discovery();
}

// One pass: the model of a previous run (sync="FILE").
void FuseIterator::start_from_cache() {
  model_.load(component_.cached, component_.sync_path);
  transforms_.assign(model_.size(), PiecewiseTransform());
  min_raw_.assign(model_.size(), std::numeric_limits<int64_t>::max());
  max_raw_.assign(model_.size(), std::numeric_limits<int64_t>::min());
  for (size_t i = 0; i < model_.size(); ++i) {
    const FusedMachine& machine = model_.machine(static_cast<int>(i));
    machine_traces_.push_back(machine.trace_name + "\n" + machine.clock_uuid);
    transforms_[i] = PiecewiseTransform(machine.sync.to_reference);
    for (const FuseModel::CachedVcpu& vcpu : component_.cached[i].vcpus)
      pcpus_.add_vcpu(static_cast<int>(i), vcpu.host_pid, vcpu.vcpu_id, vcpu.host_tid);
    pcpus_.set_machine(static_cast<int>(i), machine.parent, machine.vm_pid);
  }
  discovery_.reset();
  transforms_ready_ = true;
  phase_ = Phase::emitting;
}

void FuseIterator::start_single_machine() {
  model_ = discovery_->take_model();
  discovery_.reset();
  model_.solve_identity(component_.reference);
  transforms_.assign(1, PiecewiseTransform());
  min_raw_.assign(1, std::numeric_limits<int64_t>::max());
  max_raw_.assign(1, std::numeric_limits<int64_t>::min());
  pcpus_.set_machine(0, model_.machine(0).parent, model_.machine(0).vm_pid);
  transforms_ready_ = true;
  for (const auto& [trace, machine] : machine_of_trace_) mapper_.set_trace_environment(trace, environment_of(machine));
  phase_ = Phase::emitting;
}

// Pass 1 when there is more than one trace: read everything, solve, seek back.
void FuseIterator::run_discovery() {
  // Every upstream in merged raw-time order (transforms are all the identity now).
  Merged item;
  while (true) {
    if (merge_.next(item) == UpstreamMerge::Fill::again)
      throw std::runtime_error(
          "an upstream iterator returned AGAIN during the discovery pass; filter.vm.fuse "
          "needs finite, seekable inputs (source.ctf.fs) in its default two-pass mode; for live inputs "
          "give sync-mode=\"one-pass\"");
    if (!item.message) break;
    const bt_message* message = item.message.get();
    if (bt_message_get_type(message) != BT_MESSAGE_TYPE_EVENT) continue;
    const bt_event* event = bt_message_event_borrow_event_const(message);
    const StreamState& state = *item.state;
    discovery_->on_event(message, state.machine, state.cpu, state.fields,
                         event_fields(bt_event_borrow_class_const(event)));
  }
  // Keep what pass 2 needs from pass 1, then start over.
  adopt_discovery();
  rewind();
  phase_ = Phase::emitting;
}

void FuseIterator::adopt_discovery() { adopt_discovery(discovery_->finish()); }

void FuseIterator::adopt_discovery(Discovery::Result result) {
  discovery_.reset();
  const bt_component* component = bt_self_component_as_component(bt_self_message_iterator_borrow_component(self_));
  for (const std::string& message : result.diagnostics) bt::warn(component, message);
  model_ = std::move(result.model);
  pcpus_ = std::move(result.pcpus);
  transforms_.clear();
  for (size_t i = 0; i < model_.size(); ++i) {
    const MachineSync& sync = model_.machine(static_cast<int>(i)).sync;
    transforms_.emplace_back(sync.to_reference, sync.bounded, sync.bound_terms);
  }
  min_raw_.assign(model_.size(), std::numeric_limits<int64_t>::max());
  max_raw_.assign(model_.size(), std::numeric_limits<int64_t>::min());
  transforms_ready_ = true;
}

bool FuseIterator::run_lead() {
  Merged item;
  while (true) {
    bool capped = false, covered = false;
    while (true) {
      if (lead_messages_ >= component_.lead_messages) {
        capped = true;
        break;
      }
      if (merge_.next(item) == UpstreamMerge::Fill::again) return false;  // the lead so far stays
      if (!item.message) break;  // every input ended inside the window
      ++lead_messages_;
      const bt_message* message = item.message.get();
      const int group = bt_message_get_type(message) == BT_MESSAGE_TYPE_EVENT ? lead_group(item.state->machine) : -1;
      // Read again: a group of machines whose window is covered learns nothing more from the
      // lead, as when its traces are fused alone; learning after the lead takes its events.
      if (group >= 0 && lead_reread_ && lead_group_done_[static_cast<size_t>(group)]) {
        lead_skipped_ = true;
      } else if (group >= 0) {
        const bt_event* event = bt_message_event_borrow_event_const(message);
        const StreamState& state = *item.state;
        discovery_->on_event(message, state.machine, state.cpu, state.fields,
                             event_fields(bt_event_borrow_class_const(event)));
        const int64_t raw = bt::event_ns(message);
        if (lead_first_ns_.size() < discovery_->size()) lead_first_ns_.resize(discovery_->size(), kNoTime);
        int64_t& first = lead_first_ns_[static_cast<size_t>(state.machine)];
        if (first == kNoTime) first = item.out_ns;
        if (lead_last_ns_.size() < discovery_->size()) lead_last_ns_.resize(discovery_->size(), kNoTime);
        int64_t& last = lead_last_ns_[static_cast<size_t>(state.machine)];
        last = std::max(last, raw);
        if (lead_covered(group, item.out_ns)) {
          lead_group_done_[static_cast<size_t>(group)] = true;
          covered = std::find(lead_group_done_.begin(), lead_group_done_.end(), false) == lead_group_done_.end();
        }
      }
      if (!lead_reread_) lead_.push_back(std::move(item));
      if (covered) break;
    }
    // The window is solved as it stands; while that leaves a guest unlinked and without a
    // transform (too few KVM windows yet to tell two VMs apart, say), the window doubles and the
    // lead goes on, up to lead-messages. Each try solves again what was read so far.
    Discovery::Result result = discovery_->solve_so_far();
    if (covered && lead_ns_ < kMaxLeadNs && !unsynchronized(result.model).empty()) {
      lead_ns_ = std::min(kMaxLeadNs, 2 * lead_ns_);
      std::fill(lead_group_done_.begin(), lead_group_done_.end(), false);
      if (lead_skipped_) {  // events the lead left out must be read: the lead starts over
        seek_beginning();
        start();
        if (phase_ != Phase::lead) return false;  // AGAIN before every input showed itself
      }
      continue;
    }
    if (capped) warn_lead_capped();
    if (lead_ns_ != component_.lead_ns) {
      const bt_component* component =
          bt_self_component_as_component(bt_self_message_iterator_borrow_component(self_));
      const std::string left = unsynchronized(result.model);
      bt::warn(component, "sync-mode=\"one-pass\": the lead window grew from lead-ns=" +
                              std::to_string(component_.lead_ns) + " to " + std::to_string(lead_ns_) + " ns" +
                              (left.empty() ? " to synchronize every machine"
                                            : " and still leaves" + left + " without a transform") +
                              "; lead-ns=" + std::to_string(lead_ns_) + " starts there");
    }
    adopt_discovery(std::move(result));  // the evidence goes with the discovery
    break;
  }
  if (lead_reread_) {  // emit from the beginning again, as pass 2 does
    rewind();
    start_learning();
    phase_ = Phase::emitting;
    return true;
  }
  for (const auto& [trace, machine] : machine_of_trace_) mapper_.set_trace_environment(trace, environment_of(machine));
  start_learning();
  merge_.retime(lead_);  // the lead's messages go out first, under the transforms
  lead_.shrink_to_fit();
  phase_ = Phase::emitting;
  return true;
}

// The machines that more of the lead could still place (sync="auto"): neither a KVM host nor
// linked to a VM, and without a transform. " `name`, ...", or "" when there are none. A second
// host that no sync point links to the first (and its guests, which share its clock) does not
// count: more of the same traces rarely links two hosts, and the lead would grow to its bound.
std::string FuseIterator::unsynchronized(const FuseModel& model) const {
  if (component_.identity || !component_.formulas.empty()) return "";
  std::string names;
  for (size_t i = 0; i < model.size(); ++i) {
    const FusedMachine& machine = model.machine(static_cast<int>(i));
    if (machine.role() != MachineRole::unknown) continue;
    if (machine.sync.quality == SyncQuality::absent || machine.sync.quality == SyncQuality::incomplete)
      names += (names.empty() ? " `" : ", `") + machine.name + "`";
  }
  return names;
}

int FuseIterator::lead_group(int machine) const {
  return machine >= 0 && static_cast<size_t>(machine) < lead_group_.size() ? lead_group_[static_cast<size_t>(machine)]
                                                                         : 0;
}

// Every input of `group` has events in the lead, and `at_ns` (a time in the lead's order: since
// each machine's origin, or raw) is at least lead-ns past the group's latest first event.
bool FuseIterator::lead_covered(int group, int64_t at_ns) const {
  if (lead_first_ns_.size() < discovery_->size()) return false;
  int64_t latest = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < lead_first_ns_.size(); ++i) {
    if (lead_group(static_cast<int>(i)) != group) continue;
    if (lead_first_ns_[i] == kNoTime) return false;
    latest = std::max(latest, lead_first_ns_[i]);
  }
  // Times come from the traces: compare without the signed overflow that two extreme clock
  // values (say -5e18 and 5e18 ns from the origin) would make of at_ns - latest.
  return at_ns >= latest && static_cast<uint64_t>(at_ns) - static_cast<uint64_t>(latest) >= lead_ns_;
}

void FuseIterator::warn_lead_capped() const {
  std::string short_of;
  for (size_t i = 0; i < machine_traces_.size(); ++i) {
    const std::string& key = machine_traces_[i];
    const int64_t first = i < lead_first_ns_.size() ? lead_first_ns_[i] : kNoTime;
    short_of += (short_of.empty() ? "" : ", ") + ("`" + key.substr(0, key.find('\n')) + "`") +
                (first == kNoTime ? " (no event yet)" : "");
  }
  const bt_component* component = bt_self_component_as_component(bt_self_message_iterator_borrow_component(self_));
  bt::warn(component, "sync-mode=\"one-pass\": the lead window holds its bound of lead-messages=" +
                          std::to_string(component_.lead_messages) + " messages before covering lead-ns=" +
                          std::to_string(lead_ns_) + " ns of every input (" + short_of +
                          "); the machines and the transforms are learned from those messages only. Nothing is "
                          "dropped. Raise lead-messages (memory) or lower lead-ns for a complete lead window.");
}

int64_t FuseIterator::to_output(int machine, int64_t raw) {
  if (!transforms_ready_) {  // the discovery pass, or the lead
    if (machine < 0 || static_cast<size_t>(machine) >= lead_origin_ns_.size()) return raw;
    return saturated_sub(raw, lead_origin_ns_[static_cast<size_t>(machine)]);
  }
  if (machine < 0 || static_cast<size_t>(machine) >= transforms_.size()) return raw;
  const size_t m = static_cast<size_t>(machine);
  if (raw > max_raw_[m]) max_raw_[m] = raw;  // a later move of this machine's transform starts after it
  return transforms_[m].apply(raw);
}

std::string FuseIterator::trace_names(const std::vector<int>& machines) const {
  std::string names;
  for (int machine : machines) {
    if (machine < 0 || static_cast<size_t>(machine) >= machine_traces_.size()) continue;
    const std::string& key = machine_traces_[static_cast<size_t>(machine)];
    names += (names.empty() ? " `" : ", `") + key.substr(0, key.find('\n')) + "`";
  }
  return names;
}

int FuseIterator::machine_of(const bt_stream* stream) {
  const bt_trace* trace = bt_stream_borrow_trace_const(stream);
  auto it = machine_of_trace_.find(trace);
  if (it != machine_of_trace_.end()) return it->second;
  const char* name_or_null = bt_trace_get_name(trace);
  const std::string name = name_or_null ? name_or_null : "";
  const bt_value* hostname = bt_trace_borrow_environment_entry_value_by_name_const(trace, "hostname");
  const bt_value* lttng_name = bt_trace_borrow_environment_entry_value_by_name_const(trace, "trace_name");
  const bt_clock_class* clock = bt_stream_class_borrow_default_clock_class_const(bt_stream_borrow_class_const(stream));
  if (!clock) throw std::runtime_error("trace `" + name + "` has no clock: filter.vm.fuse needs timestamped events");
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
  const std::string key = name + "\n" + uuid;
  auto known = std::find(machine_traces_.begin(), machine_traces_.end(), key);
  if (transforms_ready_ && known != machine_traces_.end()) {
    machine = static_cast<int>(known - machine_traces_.begin());
  } else if (transforms_ready_) {
    if (!component_.cached.empty())
      throw std::runtime_error("trace `" + name + "` (clock " + uuid + ") was not in the run of `" +
                               component_.sync_path + "`: synchronize it with sync=\"auto\" (the default)");
    if (component_.one_pass)
      throw std::runtime_error("trace `" + name + "` (clock " + uuid +
                               ") appeared after the lead window of sync-mode=\"one-pass\": every trace must begin "
                               "within it (give sync-mode=\"two-pass\" for inputs whose streams begin late)");
    throw std::runtime_error("a trace appeared in the second pass that the first pass did not see");
  } else {
    // source.ctf.fs names a stream after its data file: the trace's folder is that file's.
    const char* stream_name = bt_stream_get_name(stream);
    std::string folder = stream_name ? stream_name : "";
    folder = folder.substr(0, folder.find_last_of('/') == std::string::npos ? 0 : folder.find_last_of('/'));
    refuse_contradictory_trace(trace, name, uuid, folder,
                               known == machine_traces_.end() ? -1 : static_cast<int>(known - machine_traces_.begin()));
    machine_folders_.resize(machine_traces_.size());
    machine_folders_.push_back(folder);
    machine = discovery_->add_machine(
        name, hostname && bt_value_is_string(hostname) ? bt_value_string_get(hostname) : "", uuid,
        lttng_name && bt_value_is_string(lttng_name) ? bt_value_string_get(lttng_name) : "");
    machine_traces_.push_back(key);
  }
  machine_of_trace_[trace] = machine;
  if (transforms_ready_) mapper_.set_trace_environment(trace, environment_of(machine));
  return machine;
}

void FuseIterator::refuse_contradictory_trace(const bt_trace* trace, const std::string& name, const std::string& uuid,
                                              const std::string& folder, int seen) const {
  if (bt_trace_borrow_environment_entry_value_by_name_const(trace, "vm_machine"))
    throw std::runtime_error("trace `" + name + "`" + (folder.empty() ? "" : " in `" + folder + "`") +
                             " is an output of filter.vm.fuse (its environment has vm_machine): give "
                             "filter.vm.fuse the original traces, not its own output");
  // The same trace name and clock UUID: the same trace twice, by its path or as a copy.
  if (seen >= 0 && !uuid.empty()) {
    const std::string first =
        static_cast<size_t>(seen) < machine_folders_.size() ? machine_folders_[static_cast<size_t>(seen)] : "";
    const std::string where = first.empty() || folder.empty() ? ""
                              : first == folder             ? " (twice the folder `" + folder + "`)"
                                                            : " (in `" + first + "` and in `" + folder + "`)";
    throw std::runtime_error("trace `" + name + "` (clock " + uuid + ") is given twice" + where +
                             ": the same trace, or a copy of it; give each trace once");
  }
}

MachineEnv::Entries FuseIterator::environment_of(int index) const {
  const FusedMachine& machine = model_.machine(index);
  const MachineSync& sync = machine.sync;
  MachineEnv env;
  env.machine = machine.name;
  // The output clock is the reference's: keep the input trace's own clock identity.
  env.clock_uuid = machine.clock_uuid;
  env.role = role_name(machine.role());
  env.layer = machine.layer;
  env.parent = machine.parent >= 0 ? model_.machine(machine.parent).name : "";
  env.qemu_pid = machine.vm_pid >= 0 ? machine.vm_pid : kUnknown;
  // The host-side key of its VM: the QEMU pid, or vm_key_of_thread() when only the vCPU thread is known.
  if (machine.parent >= 0 && machine.vm_pid != kUnknown) env.vm_key = machine.vm_pid;
  env.sync_reference = model_.machine(model_.reference()).name;
  env.to_reference = sync.to_reference;
  env.sync_method = sync.method;
  env.sync_quality = sync_quality_name(sync.quality);
  env.sync_matches = sync.matches;
  env.sync_accuracy_ns = sync.accuracy_ns;
  for (const MachineSync::Estimate& e : sync.estimates)
    env.estimates.push_back({sync_method_name(e.method), e.to_reference, sync_quality_name(e.quality), e.matches,
                             e.accuracy_ns, model_.machine(e.peer).name});
  env.sync_bounded = sync.bounded;
  env.sync_bound_terms = sync.bound_terms;
  env.match_method = machine.match_method;
  env.match_confidence = machine.match_confidence;
  return env.encode();
}

const bt::EventFields& FuseIterator::event_fields(const bt_event_class* event_class) {
  ClassSlot& cached = class_slots_[(reinterpret_cast<uintptr_t>(event_class) >> 6) % class_slots_.size()];
  if (cached.event_class == event_class) return *cached.fields;
  auto& slot = event_classes_[event_class];
  if (!slot) slot = std::make_unique<bt::EventFields>(bt::locate_event_fields(event_class));
  cached = ClassSlot{event_class, slot.get()};  // the map's entries stay where they are
  return *slot;
}

bt::Ref<const bt_message> FuseIterator::map(const Merged& item) {
  const bt_message* message = item.message.get();
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
    case BT_MESSAGE_TYPE_EVENT: return map_event(message, *item.state, out_ns);
    case BT_MESSAGE_TYPE_STREAM_BEGINNING: return mapper_.stream_beginning(message);
    case BT_MESSAGE_TYPE_STREAM_END: return mapper_.stream_end(message);
    case BT_MESSAGE_TYPE_PACKET_BEGINNING: return mapper_.packet_beginning(message, out_ns);
    case BT_MESSAGE_TYPE_PACKET_END: return mapper_.packet_end(message, out_ns);
    case BT_MESSAGE_TYPE_DISCARDED_EVENTS: {
      // Sorted by its beginning (out_ns); its end is mapped the same way.
      const int64_t end = std::max(out_ns, to_output(item.state->machine, discarded_end_raw_ns(message)));
      return mapper_.discarded_events(message, out_ns, end);
    }
    case BT_MESSAGE_TYPE_DISCARDED_PACKETS: {
      const int64_t end = std::max(out_ns, to_output(item.state->machine, discarded_end_raw_ns(message)));
      return mapper_.discarded_packets(message, out_ns, end);
    }
    default: return {};
  }
}

bt::Ref<const bt_message> FuseIterator::map_event(const bt_message* message, const StreamState& state,
                                                  int64_t out_ns) {
  const bt_event* event = bt_message_event_borrow_event_const(message);
  const bt::EventFields& fields = event_fields(bt_event_borrow_class_const(event));
  const FusedMachine& machine = model_.machine(state.machine);
  track_host(state.machine, fields, event, state);
  if (learning_) learn(state.machine, fields, event, state, bt::event_ns(message));
  EventTags tags{machine.name.c_str(), static_cast<uint64_t>(machine.layer), kUnknown, state.cpu};
  if (machine.parent >= 0) {
    tags.vcpu = state.cpu;
    tags.pcpu = pcpus_.physical_cpu(state.machine, state.cpu);
  }
  return mapper_.event(message, out_ns, tags);
}

void FuseIterator::track_host(int machine, const bt::EventFields& fields, const bt_event* event,
                              const StreamState& state) {
  if (fields.kind != EventKind::sched_switch && fields.kind != EventKind::kvm_entry) return;
  if (!pcpus_.runs_vcpus(machine)) return;
  if (static_cast<size_t>(machine) >= scheds_.size()) scheds_.resize(static_cast<size_t>(machine) + 1);
  SchedState& sched = scheds_[static_cast<size_t>(machine)];
  if (fields.kind == EventKind::sched_switch) {
    EventContext ctx;
    ctx.cpu = state.cpu;
    bt::decode_event(fields, ctx, event, decoded_);
    sched.on_event(decoded_);
    const SchedSwitch& e = decoded_.as<SchedSwitch>();
    pcpus_.on_sched_switch(machine, state.cpu, e.prev_tid, e.next_tid);
    return;
  }
  pcpus_.on_vcpu_entry(machine, state.cpu, sched.thread_of(bt::read_context(event, 0, state.cpu, state.fields)));
}

// One-pass learning. The guests that the lead synchronized with KVM windows keep being: their
// host's vCPU threads' guest-mode windows and their own events are collected chunk by chunk
// (learn-ns of output time), and each chunk gives the constraints that the current estimate
// assigns without doubt (KvmWindowSync::for_each_constraint, with the estimate's bound as the
// guard); vmsync and TCP sync points go to the hulls as they come.
void FuseIterator::start_learning() {
  learning_ = component_.one_pass && component_.learn_ns > 0 && !component_.identity && component_.formulas.empty() &&
              model_.size() > 1;
  next_learn_ns_ = kNoTime;
  chunk_from_ns_ = kNoTime;
  window_threads_.assign(model_.size(), {});
  chunks_.clear();
  chunks_.resize(model_.size());
  lead_last_ns_.resize(model_.size(), kNoTime);
  if (!learning_) return;
  for (size_t g = 0; g < model_.size(); ++g) {
    const FusedMachine& guest = model_.machine(static_cast<int>(g));
    if (guest.parent < 0 || guest.vm_pid == kUnknown) continue;
    const ConvexHullSync* windows = model_.hull(static_cast<int>(g), guest.parent, SyncMethod::kvm_windows);
    if (!windows || windows->matches() == 0) continue;
    chunks_[g] = std::make_unique<KvmWindowSync>();
    for (const PcpuResolver::VcpuThread& thread : pcpus_.vcpu_threads(guest.parent))
      if (thread.vm_key == guest.vm_pid && thread.vcpu_id >= 0 && thread.vcpu_id <= bt::kMaxCpuId)
        window_threads_[static_cast<size_t>(guest.parent)][thread.host_tid] =
            WindowThread{static_cast<int>(g), static_cast<int>(thread.vcpu_id), kNoTime};
  }
}

void FuseIterator::learn(int machine, const bt::EventFields& fields, const bt_event* event, const StreamState& state,
                         int64_t raw) {
  const size_t m = static_cast<size_t>(machine);
  if (raw < min_raw_[m]) min_raw_[m] = raw;
  if (lead_last_ns_[m] != kNoTime && raw <= lead_last_ns_[m]) return;  // the lead's hulls have it
  if (chunks_[m] && state.cpu >= 0 && state.cpu <= bt::kMaxCpuId) chunks_[m]->add_guest_event(static_cast<int>(state.cpu), raw);
  switch (fields.kind) {
    case EventKind::kvm_entry:
    case EventKind::kvm_exit: {
      if (window_threads_[m].empty() || m >= scheds_.size()) break;
      const int64_t tid = scheds_[m].thread_of(bt::read_context(event, raw, state.cpu, state.fields));
      auto found = window_threads_[m].find(tid);
      if (found == window_threads_[m].end()) break;
      WindowThread& thread = found->second;
      if (fields.kind == EventKind::kvm_entry) {
        thread.entry = raw;
      } else if (thread.entry != kNoTime) {
        chunks_[static_cast<size_t>(thread.guest)]->add_window(thread.vcpu, thread.entry, raw);
        thread.entry = kNoTime;
      }
      break;
    }
    case EventKind::kvm_inj_virq: {  // an interrupt the host injects into a vCPU of a window guest
      if (window_threads_[m].empty() || m >= scheds_.size()) break;
      const EventContext ctx = bt::read_context(event, raw, state.cpu, state.fields);
      auto found = window_threads_[m].find(scheds_[m].thread_of(ctx));
      if (found == window_threads_[m].end()) break;
      bt::decode_event(fields, ctx, event, decoded_);
      chunks_[static_cast<size_t>(found->second.guest)]->add_injection(
          found->second.vcpu, InterruptVector{raw, decoded_.as<KvmInjVirq>().irq});
      break;
    }
    case EventKind::irq_vector_entry: {  // the guest's handler of such an interrupt
      if (!chunks_[m] || state.cpu < 0 || state.cpu > bt::kMaxCpuId) break;
      bt::decode_event(fields, bt::read_context(event, raw, state.cpu, state.fields), event, decoded_);
      chunks_[m]->add_guest_vector(static_cast<int>(state.cpu), InterruptVector{raw, decoded_.as<IrqVector>().vector});
      break;
    }
    case EventKind::vmsync_gh_guest:
    case EventKind::vmsync_hg_guest:
    case EventKind::vmsync_gh_host:
    case EventKind::vmsync_hg_host: {
      const EventContext ctx = bt::read_context(event, raw, state.cpu, state.fields);
      bt::decode_event(fields, ctx, event, decoded_);
      const Vmsync& sync = decoded_.as<Vmsync>();
      const bool guest_to_host = fields.kind == EventKind::vmsync_gh_guest || fields.kind == EventKind::vmsync_gh_host;
      if (fields.kind == EventKind::vmsync_gh_guest || fields.kind == EventKind::vmsync_hg_guest)
        model_.on_vmsync_guest(machine, raw, guest_to_host, uint64_t(sync.cnt), uint64_t(sync.vm_uid));
      else
        model_.on_vmsync_host(machine, raw, guest_to_host, uint64_t(sync.cnt), uint64_t(sync.vm_uid), kUnknown);
      break;
    }
    case EventKind::net_send:
    case EventKind::net_receive: {
      TcpKey key;
      if (bt::read_tcp_key(bt_event_borrow_payload_field_const(event), key))
        model_.on_tcp(machine, raw, fields.kind == EventKind::net_send, key);
      break;
    }
    default: break;
  }
}

// A transform learning may move: synchronized (accurate or approximate), or synchronized with the
// root of a group that no sync point links to the reference (quality absent, yet bounded in that
// root's clock).
bool FuseIterator::learnable(const MachineSync& sync) {
  return sync.quality == SyncQuality::accurate || sync.quality == SyncQuality::approximate ||
         (sync.quality == SyncQuality::absent && sync.bounded && sync.method != "none");
}

void FuseIterator::relearn(int64_t now_ns) {
  std::vector<LinearTransform> before;
  for (size_t i = 0; i < model_.size(); ++i) before.push_back(model_.machine(static_cast<int>(i)).sync.to_reference);
  for (size_t g = 0; g < chunks_.size(); ++g) {
    if (!chunks_[g]) continue;
    const int guest = static_cast<int>(g);
    const int host = model_.machine(guest).parent;
    const MachineSync& guest_sync = model_.machine(guest).sync;
    const MachineSync& host_sync = model_.machine(host).sync;
    // The guard: how far the current estimate of the guest in the host's clock may be off, over
    // the chunk: from its start to the guest's last event mapped (not to now, which may be far
    // past it when another group of machines goes on).
    const size_t gm = static_cast<size_t>(guest);
    const int64_t chunk_to =
        max_raw_[gm] == std::numeric_limits<int64_t>::min()
            ? now_ns
            : std::max(chunk_from_ns_, std::min(now_ns, transforms_[gm].apply(max_raw_[gm])));
    // A host that keeps its own clock (the root of a group no sync point links to the reference,
    // method `none`) is exact in the clock its guests are mapped into.
    const long double host_error = host_sync.method == "none" ? 0.0L : host_sync.accuracy_over(chunk_from_ns_, chunk_to);
    const long double guard = guest_sync.accuracy_over(chunk_from_ns_, chunk_to) + host_error;
    if (guard < 1e9L && learnable(guest_sync)) {
      KvmWindowSync::Result estimate;
      estimate.rounds = 1;
      estimate.list_estimate = compose(host_sync.to_reference.inverse(), guest_sync.to_reference);
      estimate.list_tolerance = static_cast<Timestamp>(std::ceil(guard)) + 1;
      chunks_[g]->for_each_constraint(estimate, [&](const KvmWindowSync::Result::Constraint& c) {
        model_.add_constraint(c.host_sends ? host : guest, c.send_ts, c.host_sends ? guest : host, c.recv_ts,
                              SyncMethod::kvm_windows);
      });
      // Injected interrupts: the injection precedes the guest's handler entry (as in pass 1).
      for (const auto& [host_ts, guest_ts] : chunks_[g]->injection_pairs(estimate.list_estimate))
        model_.add_constraint(host, host_ts, guest, guest_ts, SyncMethod::kvm_inj_virq);
    }
    chunks_[g] = std::make_unique<KvmWindowSync>();
  }
  model_.update_transforms();
  // Unmatched halves older than a minute of their machine's clock will not be matched.
  std::vector<Timestamp> forget(model_.size(), std::numeric_limits<Timestamp>::min());
  for (size_t i = 0; i < model_.size(); ++i)
    if (max_raw_[i] != std::numeric_limits<int64_t>::min() && max_raw_[i] > std::numeric_limits<int64_t>::min() + 60'000'000'000)
      forget[i] = max_raw_[i] - 60'000'000'000;
  model_.forget_unmatched(forget);
  for (size_t i = 0; i < model_.size(); ++i) {
    const MachineSync& sync = model_.machine(static_cast<int>(i)).sync;
    if (!learnable(sync)) continue;
    if (sync.to_reference.alpha == before[i].alpha && sync.to_reference.beta == before[i].beta) continue;
    // From one learn-ns ahead of now (raw, under the old estimate), or later if the merge has
    // already mapped further: what went out keeps its time, and where the move starts does not
    // depend on how far the merge happened to read.
    const int64_t planned = before[i].inverse().apply(saturated_add(now_ns, component_.learn_ns));
    transforms_[i].move_to(std::max(max_raw_[i], planned), sync.to_reference, sync.bounded, sync.bound_terms,
                           static_cast<int64_t>(std::min<uint64_t>(component_.learn_ns, kMaxLeadNs)));
  }
  chunk_from_ns_ = now_ns;
}

void FuseIterator::queue_sync_segments(bool last) {
  if (!learning_) return;
  // What was read since the last learning goes into the model too (a move it makes would start
  // past every event: no piece of the output changes).
  if (last && last_out_ns_ != kNoTime) relearn(last_out_ns_);
  const int64_t at = std::max<int64_t>(last_out_ns_, 0);
  std::vector<std::pair<int, const bt_trace*>> traces;  // in machine order: the same output every run
  for (const auto& [trace, machine] : machine_of_trace_) traces.emplace_back(machine, trace);
  std::sort(traces.begin(), traces.end());
  segments_sent_.resize(transforms_.size());
  for (const auto& [machine, trace] : traces) {
    const size_t m = static_cast<size_t>(machine);
    if (min_raw_[m] > max_raw_[m]) continue;  // no event
    const PiecewiseTransform& transform = transforms_[m];
    SegmentsSent& sent = segments_sent_[m];
    std::vector<IrMapper::SyncSegment> segments;
    for (; sent.pieces < transform.pieces().size(); ++sent.pieces) {
      const size_t i = sent.pieces;
      // Before the end, only a piece that can no longer change: the next piece begins at a raw
      // time already mapped, and every later move starts at or after the last one mapped
      // (relearn()), so neither this piece nor where it ends moves again. And only once the output
      // has passed its end: the raw times mapped include what the merge has read ahead, the output
      // time does not, so the packet that carries the piece does not depend on the read-ahead, and
      // goes out at an output time at or past its end.
      if (!last && !(i + 1 < transform.pieces().size() && transform.pieces()[i + 1].from_raw <= max_raw_[m] &&
                     transform.apply(transform.pieces()[i + 1].from_raw) <= at))
        break;
      const PiecewiseTransform::Piece& piece = transform.pieces()[i];
      const int64_t from = std::max(min_raw_[m], piece.from_raw), to = std::min(max_raw_[m], transform.to_raw(i));
      if (from > to) continue;
      // A join as a line: t_ref = slope t + (from_ref - slope from_raw).
      const LinearTransform line =
          piece.join ? LinearTransform{piece.slope, static_cast<long double>(piece.from_ref) -
                                                        piece.slope * static_cast<long double>(piece.from_raw)}
                     : piece.transform;
      segments.push_back(IrMapper::SyncSegment{sent.seq++, transform.apply(from), transform.apply(to),
                                               MachineEnv::coefficient_text(line.alpha),
                                               MachineEnv::coefficient_text(line.beta),
                                               MachineEnv::accuracy_text(transform.accuracy(i, from, to))});
    }
    if (!last && segments.empty()) continue;
    const FusedMachine& fused = model_.machine(machine);
    const EventTags tags{fused.name.c_str(), static_cast<uint64_t>(fused.layer), kUnknown, kUnknown};
    // At the end, the model as learned by then: its transform, method, quality, matches and
    // bound, and each method's estimate, over the whole run (the trace's environment has the lead's).
    const MachineEnv::Entries entries = last ? environment_of(machine) : MachineEnv::Entries{};
    for (IrMapper::Message& message : mapper_.sync_segments(trace, at, tags, segments, entries, last))
      queued_.push_back(std::move(message));
  }
}

// The methods babeltrace2 calls: every exception becomes an error cause.

namespace {

FuseIterator* iterator_of(bt_self_message_iterator* self) {
  return static_cast<FuseIterator*>(bt_self_message_iterator_get_data(self));
}

}  // namespace

bt_message_iterator_class_initialize_method_status iterator_initialize(bt_self_message_iterator* self,
                                                                       bt_self_message_iterator_configuration* config,
                                                                       bt_self_component_port_output*) {
  return bt::guarded(
      self, BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_ERROR,
      BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR, "creating the iterator", [&] {
        const auto* component =
            static_cast<const Component*>(bt_self_component_get_data(bt_self_message_iterator_borrow_component(self)));
        bt_self_component_filter* filter = component->self;
        auto iterator = std::make_unique<FuseIterator>(self, *component);
        bool can_seek_forward = true;
        const uint64_t ports =
            bt_component_filter_get_input_port_count(bt_self_component_filter_as_component_filter(filter));
        for (uint64_t i = 0; i < ports; ++i) {
          bt_self_component_port_input* port = bt_self_component_filter_borrow_input_port_by_index(filter, i);
          if (!bt_port_is_connected(
                  bt_self_component_port_as_port(bt_self_component_port_input_as_self_component_port(port))))
            continue;
          bt_message_iterator* upstream = nullptr;
          const auto status = bt_message_iterator_create_from_message_iterator(self, port, &upstream);
          if (status == BT_MESSAGE_ITERATOR_CREATE_FROM_MESSAGE_ITERATOR_STATUS_MEMORY_ERROR) throw std::bad_alloc();
          if (status != BT_MESSAGE_ITERATOR_CREATE_FROM_MESSAGE_ITERATOR_STATUS_OK)
            throw std::runtime_error("cannot create an upstream iterator");
          auto owned = bt::Ref<bt_message_iterator>::adopt(upstream);
          can_seek_forward = can_seek_forward && bt_message_iterator_can_seek_forward(owned.get());
          iterator->merge().add(std::move(owned));
        }
        if (iterator->merge().empty())
          throw std::runtime_error(
              "no input port is connected: connect the sources (or a muxer) to filter.vm.fuse, e.g. "
              "--connect=host:fuse --connect=guest:fuse");
        bt_self_message_iterator_configuration_set_can_seek_forward(config, can_seek_forward);
        bt_self_message_iterator_set_data(self, iterator.release());
        return BT_MESSAGE_ITERATOR_CLASS_INITIALIZE_METHOD_STATUS_OK;
      });
}

void iterator_finalize(bt_self_message_iterator* self) {
  // Destroying the iterator only puts references and frees memory: nothing throws.
  delete iterator_of(self);
}

bt_message_iterator_class_next_method_status iterator_next(bt_self_message_iterator* self,
                                                           bt_message_array_const messages, uint64_t capacity,
                                                           uint64_t* count) {
  return bt::guarded(self, BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_ERROR,
                     BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_MEMORY_ERROR, "reading the inputs", [&] {
                       try {
                         return iterator_of(self)->next(messages, capacity, count);
                       } catch (const UpstreamMerge::UpstreamError& error) {
                         const std::string names = iterator_of(self)->trace_names(error.machines);
                         const std::string stream =
                             error.stream.empty() ? "" : " (stream `" + error.stream + "` was the last one read)";
                         throw std::runtime_error("reading the input" + (names.empty() ? std::string() : " trace" + names) +
                                                  stream + " failed (causes follow)");
                       }
                     });
}

bt_message_iterator_class_can_seek_beginning_method_status can_seek_beginning(bt_self_message_iterator* self,
                                                                              bt_bool* can_seek) {
  return bt::guarded(self, BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_ERROR,
                     BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_ERROR, "asking the inputs", [&] {
                       try {
                         *can_seek = iterator_of(self)->merge().can_seek_beginning() ? BT_TRUE : BT_FALSE;
                       } catch (const UpstreamMerge::UpstreamError&) {
                         throw std::runtime_error("cannot ask an input whether it can seek");
                       }
                       return BT_MESSAGE_ITERATOR_CLASS_CAN_SEEK_BEGINNING_METHOD_STATUS_OK;
                     });
}

bt_message_iterator_class_seek_beginning_method_status seek_beginning(bt_self_message_iterator* self) {
  return bt::guarded(self, BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_ERROR,
                     BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_MEMORY_ERROR, "seeking the inputs", [&] {
                       iterator_of(self)->seek_beginning();
                       return BT_MESSAGE_ITERATOR_CLASS_SEEK_BEGINNING_METHOD_STATUS_OK;
                     });
}

}  // namespace vm::fuse
