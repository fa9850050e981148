// SPDX-License-Identifier: MIT
#include "scenario/scenario_iterator.h"

#include <algorithm>
#include <new>
#include <stdexcept>

namespace vm::scenario {

namespace {

// Events per packet (LTTng's packets hold a sub-buffer: thousands of events).
constexpr uint64_t kPacketEvents = 4096;

bt::Ref<const bt_message> created(const bt_message* message) {
  if (!message) throw std::bad_alloc();
  return bt::Ref<const bt_message>::adopt(message);
}

}  // namespace

ScenarioIterator::ScenarioIterator(bt_self_message_iterator* self, const Component& component, int machine)
    : self_(self),
      component_(component),
      machine_(machine),
      info_(component.machines[static_cast<size_t>(machine)]),
      ir_(build_machine_ir(bt_self_message_iterator_borrow_component(self), component.config, info_)) {
  for (const bt::Ref<bt_stream>& stream : ir_.streams) {
    StreamState s;
    s.stream = stream;
    streams_.push_back(std::move(s));
  }
  restart();
}

void ScenarioIterator::on_event(const ScenarioEvent& event) {
  if (event.machine == machine_) queue_.push_back(event);
}

void ScenarioIterator::restart() {
  queue_.clear();
  for (StreamState& s : streams_) {
    s.packet.reset();
    s.events = 0;
    s.had_packet = false;
  }
  model_ = std::make_unique<ScenarioModel>(component_.config);
  model_running_ = true;
  phase_ = Phase::stream_beginnings;
  index_ = 0;
  closing_ = -1;
  last_cycles_ = 0;
}

bt_message_iterator_class_next_method_status ScenarioIterator::next(bt_message_array_const messages, uint64_t capacity,
                                                                    uint64_t* count) {
  *count = 0;
  while (*count < capacity && phase_ != Phase::done) {
    Message message = produce();
    if (message) messages[(*count)++] = message.release();
  }
  if (*count > 0) return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_OK;
  return BT_MESSAGE_ITERATOR_CLASS_NEXT_METHOD_STATUS_END;
}

uint64_t ScenarioIterator::cycles(int64_t ts) {
  const int64_t value = ts - info_.clock_offset_s * 1'000'000'000;
  if (value < 0) throw std::runtime_error("an event precedes its clock's offset");
  last_cycles_ = std::max(last_cycles_, static_cast<uint64_t>(value));
  return static_cast<uint64_t>(value);
}

ScenarioIterator::Message ScenarioIterator::open_packet(StreamState& s, int cpu, uint64_t at) {
  s.packet = bt::Ref<bt_packet>::adopt(bt_packet_create(s.stream.get()));
  if (!s.packet) throw std::bad_alloc();
  bt_field* context = bt_packet_borrow_context_field(s.packet.get());
  bt_field_integer_unsigned_set_value(bt_field_structure_borrow_member_field_by_index(context, 0),
                                      static_cast<uint64_t>(cpu));
  s.events = 0;
  s.had_packet = true;
  return created(bt_message_packet_beginning_create_with_default_clock_snapshot(self_, s.packet.get(), at));
}

ScenarioIterator::Message ScenarioIterator::close_packet(StreamState& s) {
  Message message =
      created(bt_message_packet_end_create_with_default_clock_snapshot(self_, s.packet.get(), last_cycles_));
  s.packet.reset();
  return message;
}

ScenarioIterator::Message ScenarioIterator::produce() {
  switch (phase_) {
    case Phase::stream_beginnings: {
      Message message = created(bt_message_stream_beginning_create(self_, streams_[index_].stream.get()));
      if (++index_ == streams_.size()) phase_ = Phase::events;
      return message;
    }
    case Phase::events: {
      if (closing_ >= 0) {
        StreamState& s = streams_[static_cast<size_t>(closing_)];
        closing_ = -1;
        return close_packet(s);
      }
      while (queue_.empty() && model_running_) model_running_ = model_->step(*this);
      if (queue_.empty()) {
        phase_ = Phase::closing;
        index_ = 0;
        return Message();
      }
      const ScenarioEvent& e = queue_.front();
      StreamState& s = streams_.at(static_cast<size_t>(e.cpu));
      const uint64_t at = cycles(e.ts);
      if (!s.packet) return open_packet(s, e.cpu, at);
      Message message = make_event(e, s, at);
      const int cpu = e.cpu;
      queue_.pop_front();  // `e` is gone
      if (++s.events >= kPacketEvents) closing_ = cpu;
      return message;
    }
    case Phase::closing: {
      // Per stream: (packet beginning if it never had one,) packet end, stream end.
      if (index_ >= streams_.size()) {
        phase_ = Phase::done;
        return Message();
      }
      StreamState& s = streams_[index_];
      if (!s.had_packet) return open_packet(s, static_cast<int>(index_), last_cycles_);
      if (s.packet) return close_packet(s);
      Message message = created(bt_message_stream_end_create(self_, s.stream.get()));
      ++index_;
      return message;
    }
    case Phase::done: break;
  }
  return Message();
}

ScenarioIterator::Message ScenarioIterator::make_event(const ScenarioEvent& e, StreamState& s, uint64_t at) {
  const EventClassIr& ec = ir_.event_classes[static_cast<size_t>(e.type)];
  if (!ec.event_class) throw std::runtime_error("no event class for a scenario event");
  auto message = bt::Ref<bt_message>::adopt(
      bt_message_event_create_with_packet_and_default_clock_snapshot(self_, ec.event_class.get(), s.packet.get(), at));
  if (!message) throw std::bad_alloc();
  fill_event(bt_message_event_borrow_event(message.get()), ec, e);
  return Message::adopt(message.release());
}

}  // namespace vm::scenario
