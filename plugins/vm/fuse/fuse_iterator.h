// SPDX-License-Identifier: MIT
#pragma once
// filter.vm.fuse, the message iterator: merges the message streams of several traces (a host,
// its guests, nested guests) into one stream in the reference machine's clock, and tags every
// event with where it ran (machine, layer, vCPU, physical CPU).
//
// With more than one input trace it works in two passes: pass 1 (Discovery) reads every input
// once, in time order, to learn the machines, their roles and the sync points; then every
// upstream iterator is sought back to the beginning and pass 2 emits, merging by corrected time
// (UpstreamMerge) and copying each message into the output trace IR (IrMapper). One input trace:
// one pass, no re-timing. sync="FILE": one pass with a previous run's model.
// sync-mode="one-pass": the discovery reads a bounded lead window of every input (lead-ns of
// each input's clock, at most lead-messages messages) and solves the transforms on it. When every
// upstream can seek (lead="auto"), they are sought back and emission reads the lead again: only
// the lead is read twice, and memory holds its sync material, not its messages. Otherwise (an
// input that cannot seek, such as a live one, or lead="hold") the lead's messages are kept and
// buffered again under the transforms (UpstreamMerge::retime), and emission goes on without a
// seek. Either way nothing needs the end of a trace, and an upstream's AGAIN is passed on.
// After the lead, one pass keeps learning (learn-ns): the sync points of what it emits (vmsync,
// TCP, and the KVM windows of the guests that the lead synchronized with them) go on feeding the
// hulls, and every learn-ns of output time the transforms are solved again; a machine whose
// transform changed moves to it continuously (PiecewiseTransform), from a raw time that nothing
// mapped has passed, so the output stays in order. Each machine's pieces go out as
// `vm_sync_segment` events of a `vm_sync` stream of its output trace (sink.vm.sqlite: sync_segment)
// as soon as they can no longer change (a packet after the relearn that found them closed), the
// rest and the learned model at the end.

#include <babeltrace2/babeltrace.h>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bt_ref.h"
#include "event_reader.h"
#include "fuse/discovery.h"
#include "fuse/fuse_component.h"
#include "fuse/ir_mapper.h"
#include "fuse/upstream_merge.h"
#include "sync/fuse_model.h"
#include "sync/kvm_window_sync.h"
#include "sync/piecewise_transform.h"
#include "kvm/machine_env.h"
#include "kvm/pcpu_resolver.h"
#include "kernel/sched_state.h"

namespace vm::fuse {

class FuseIterator final : public MachineClock {
 public:
  FuseIterator(bt_self_message_iterator* self, const Component& component);
  FuseIterator(const FuseIterator&) = delete;
  FuseIterator& operator=(const FuseIterator&) = delete;

  UpstreamMerge& merge() { return merge_; }

  // Fills `messages` with up to `capacity` new references.
  bt_message_iterator_class_next_method_status next(bt_message_array_const messages, uint64_t capacity,
                                                    uint64_t* count);
  // Starts over from scratch: the inputs are read again, pass 1 included.
  void seek_beginning();

  int machine_of(const bt_stream* stream) override;
  int64_t to_output(int machine, int64_t raw) override;
  // " `NAME`, `NAME`" of the traces of these machine indexes, for error messages ("" if none known).
  std::string trace_names(const std::vector<int>& machines) const;

 private:
  enum class Phase { start, lead, emitting, ended };

  void start();
  void start_from_cache();
  void start_single_machine();
  void run_discovery();
  // One pass: reads the lead window (false: an upstream said AGAIN, call again later), then
  // solves it and starts emitting.
  bool run_lead();
  bool lead_covered(int group, int64_t at_ns) const;
  int lead_group(int machine) const;
  static bool learnable(const MachineSync& sync);
  // Inputs whose first messages are within a minute of each other share a clock group in the lead.
  static constexpr uint64_t kSameClockNs = 60'000'000'000;
  void warn_lead_capped() const;
  // The model of a finished discovery: warnings, transforms, the vCPUs' places.
  void adopt_discovery();
  void adopt_discovery(Discovery::Result result);
  std::string unsynchronized(const FuseModel& model) const;
  void rewind();  // upstreams to their beginnings, every per-stream and per-trace state forgotten
  // Refuses, in pass 1, a trace that is filter.vm.fuse's own output, or one already given
  // (`seen`: a trace of the same name and clock UUID).
  void refuse_contradictory_trace(const bt_trace* trace, const std::string& name, const std::string& uuid,
                                  const std::string& folder, int seen) const;
  MachineEnv::Entries environment_of(int machine) const;
  const bt::EventFields& event_fields(const bt_event_class* event_class);

  // Pass 2: the output message for a buffered input message (empty: dropped).
  bt::Ref<const bt_message> map(const Merged& item);
  bt::Ref<const bt_message> map_event(const bt_message* message, const StreamState& state, int64_t out_ns);
  // Pass 2 host state: the scheduler state of each machine that runs vCPUs (its sched_switch
  // events) and, from it, which CPU each vCPU thread runs on.
  void track_host(int machine, const bt::EventFields& fields, const bt_event* event, const StreamState& state);

  // One-pass learning after the lead.
  void start_learning();
  void learn(int machine, const bt::EventFields& fields, const bt_event* event, const StreamState& state, int64_t raw);
  // Every learn-ns of output time: the KVM windows' constraints of the chunk, the transforms
  // again, and the moves of those that changed.
  void relearn(int64_t now_ns);
  // After a relearn(): the pieces of each machine's transform that can no longer change, as
  // vm_sync_segment events (into queued_), so that nothing waits for the end of the inputs.
  // At the end (`last`): the remaining pieces, each machine's model, and the end of the streams.
  void queue_sync_segments(bool last);

  bt_self_message_iterator* self_;  // weak
  const Component& component_;
  UpstreamMerge merge_;
  IrMapper mapper_;
  Phase phase_ = Phase::start;
  std::unique_ptr<Discovery> discovery_;  // until the transforms are known
  bool transforms_ready_ = false;
  FuseModel model_;                          // once the transforms are known
  std::vector<PiecewiseTransform> transforms_;  // per machine
  std::vector<int64_t> min_raw_, max_raw_;        // per machine: the raw times mapped so far
  PcpuResolver pcpus_;
  std::vector<SchedState> scheds_;  // pass 2, per machine that runs vCPUs (others: never fed)
  std::vector<std::string> machine_traces_;  // key (name, UUID) per machine index
  std::vector<std::string> machine_folders_;  // per machine index: the folder of its first stream's file
  std::unordered_map<const bt_trace*, int> machine_of_trace_;
  std::unordered_map<const bt_event_class*, std::unique_ptr<bt::EventFields>> event_classes_;
  // A direct-mapped cache in front of `event_classes_` (looked up once per event in each pass).
  struct ClassSlot {
    const bt_event_class* event_class = nullptr;
    const bt::EventFields* fields = nullptr;
  };
  std::array<ClassSlot, 256> class_slots_{};
  Event decoded_;                               // pass 2: a sched_switch of a host, decoded
  int64_t last_out_ns_ = kNoTime;
  // One pass: the messages of the lead window (given back to the merge once solved) and each
  // machine's first event time in it (in the lead's order: since its origin, below).
  std::vector<Merged> lead_;
  std::vector<int64_t> lead_first_ns_;
  // One pass, while the lead is read: per machine, its origin (clock_group_origins()). The lead merges
  // the inputs by the time since their origin, so that it reads lead-ns of each input's clock
  // whatever the offsets of the clocks (a guest clock hours away from its host's would otherwise
  // be read whole before the host's first event). Empty: by raw time (every clock comparable, or
  // an input holding several traces, such as `convert`'s pre-muxed one, which shows only its
  // first trace's first time).
  std::vector<int64_t> lead_origin_ns_;
  // Per machine, its group of comparable clocks (an index into lead_group_done_); every group
  // covers its own lead-ns. When read again, a covered group's later events are left out of the
  // lead (lead_skipped_), so each group learns what it would alone.
  std::vector<int> lead_group_;
  std::vector<bool> lead_group_done_;
  bool lead_skipped_ = false;
  uint64_t lead_messages_ = 0;  // read in the lead so far
  // The lead window, lead-ns at first; doubled while it leaves a machine unsynchronized, up to
  // lead-ns's own bound (and lead-messages).
  static constexpr uint64_t kMaxLeadNs = 3'600'000'000'000;
  uint64_t lead_ns_;
  bool lead_reread_ = false;  // every input can seek, and lead="auto": the lead is read again, not held
  std::vector<int64_t> lead_last_ns_;  // per machine: its last raw time the lead read (learning starts after)

  // One-pass learning.
  bool learning_ = false;
  int64_t next_learn_ns_ = kNoTime;  // output time of the next relearn()
  int64_t chunk_from_ns_ = kNoTime;  // output time the current chunk began
  struct WindowThread {              // a host's vCPU thread of a guest synchronized by KVM windows
    int guest = -1;
    int vcpu = 0;
    int64_t entry = kNoTime;  // of its open guest-mode window
  };
  std::vector<std::unordered_map<int64_t, WindowThread>> window_threads_;  // per host: tid -> its vCPU
  std::vector<std::unique_ptr<KvmWindowSync>> chunks_;  // per guest synchronized by KVM windows: this chunk's
  struct SegmentsSent {  // per machine: its pieces sent so far, and the next segment's seq
    size_t pieces = 0;
    uint64_t seq = 0;
  };
  std::vector<SegmentsSent> segments_sent_;
  std::vector<bt::Ref<const bt_message>> queued_;  // the vm_sync streams' messages, sent before any other
  size_t queued_next_ = 0;
  bool inputs_ended_ = false;
};

}  // namespace vm::fuse
