// SPDX-License-Identifier: MIT
#pragma once
// source.vm.scenario's message iterator: one per output port, that is per machine. It runs its
// own copy of the (deterministic) scenario model and keeps its machine's events, so that
// iterators never wait for each other and seeking back is a restart.

#include <babeltrace2/babeltrace.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "bt_ref.h"
#include "scenario/trace_ir.h"
#include "sim/scenario_model.h"

namespace vm::scenario {

// The component's data: the parsed configuration and the machines it simulates.
struct Component {
  ScenarioConfig config;
  std::vector<ScenarioMachineInfo> machines;
};

class ScenarioIterator final : public ScenarioListener {
 public:
  // Builds the machine's trace IR and starts the model. Throws (and then owns nothing).
  ScenarioIterator(bt_self_message_iterator* self, const Component& component, int machine);
  ScenarioIterator(const ScenarioIterator&) = delete;
  ScenarioIterator& operator=(const ScenarioIterator&) = delete;

  void on_event(const ScenarioEvent& event) override;

  // Back to the beginning: a new model, every stream before its beginning.
  void restart();
  // Fills `messages` (babeltrace2 owns those it gets, even when this throws).
  bt_message_iterator_class_next_method_status next(bt_message_array_const messages, uint64_t capacity,
                                                    uint64_t* count);

 private:
  using Message = bt::Ref<const bt_message>;
  enum class Phase { stream_beginnings, events, closing, done };
  struct StreamState {
    bt::Ref<bt_stream> stream;
    bt::Ref<bt_packet> packet;
    uint64_t events = 0;
    bool had_packet = false;
  };

  uint64_t cycles(int64_t ts);
  Message open_packet(StreamState& s, int cpu, uint64_t at);
  Message close_packet(StreamState& s);
  // The next message, or a null one when this step produced none.
  Message produce();
  Message make_event(const ScenarioEvent& e, StreamState& s, uint64_t at);

  bt_self_message_iterator* self_;
  const Component& component_;
  int machine_;
  const ScenarioMachineInfo& info_;
  MachineIr ir_;
  std::vector<StreamState> streams_;
  std::unique_ptr<ScenarioModel> model_;
  bool model_running_ = true;
  std::deque<ScenarioEvent> queue_;
  Phase phase_ = Phase::stream_beginnings;
  size_t index_ = 0;
  int closing_ = -1;
  uint64_t last_cycles_ = 0;
};

}  // namespace vm::scenario
