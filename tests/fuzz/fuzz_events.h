// SPDX-License-Identifier: MIT
#pragma once
// The fuzz input as a sequence of decoded events (tests/fuzz/README section of README.md): each
// event is built the way the babeltrace2 adapter builds it (plugins/vm/event_reader.cpp): a kind,
// the raw fields of its reader view (common/events/layout.h), then make_payload(). Every value is
// bounded as the adapter bounds it: CPU ids in [0, 8191] or unknown, timestamps never going back
// (the muxer orders them). Other integers (tids, vCPU ids, vectors, states) stay untrusted: mostly
// small, sometimes any 64-bit value.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "base/types.h"
#include "events/events.h"
#include "events/layout.h"

namespace vm::fuzz {

inline constexpr int64_t kMaxCpu = 8191;  // bt::kMaxCpuId (plugins/vm/event_reader.h)
// At most this many steps (events, lost events, other calls) per input, whatever its length:
// a run's cost stays bounded and alike across targets.
inline constexpr int kMaxSteps = 2048;

// The kinds a model follows, all of the layout table's but `other`.
inline const std::vector<EventKind>& decoded_kinds() {
  static const std::vector<EventKind> kinds = [] {
    std::vector<EventKind> out;
    for (size_t i = 0; i < event_layout_count(); ++i) {
      const EventKind kind = event_layouts()[i].kind;
      bool seen = false;
      for (EventKind k : out) seen = seen || k == kind;
      if (!seen) out.push_back(kind);
    }
    return out;
  }();
  return kinds;
}

class EventSource {
 public:
  EventSource(const uint8_t* data, size_t size) : in_(data, size) {}

  // Whether the loop may take one more step (each call counts one).
  bool more() { return in_.remaining_bytes() > 0 && steps_++ < kMaxSteps; }
  FuzzedDataProvider& in() { return in_; }

  // An untrusted integer: mostly a small id, sometimes a boundary or any 64-bit value. With
  // VM_FUZZ_INT32 set in the environment, within the 32-bit range that lttng-modules declares for
  // ids (tid, pid, vcpu_id, vector: a tampered trace may declare 64 bits): to look past the
  // findings that only 64-bit values reach.
  int64_t integer() {
    static const bool int32_only = std::getenv("VM_FUZZ_INT32") != nullptr;
    switch (in_.ConsumeIntegralInRange<int>(0, 15)) {
      case 0: return kUnknown;
      case 1: return int32_only ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
      case 2: return int32_only ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
      case 3: return int32_only ? in_.ConsumeIntegral<int32_t>() : in_.ConsumeIntegral<int64_t>();
      case 4: return in_.ConsumeIntegralInRange<int64_t>(0, 0xffff);
      default: return in_.ConsumeIntegralInRange<int64_t>(0, 24);
    }
  }
  int64_t cpu() {
    const int pick = in_.ConsumeIntegralInRange<int>(0, 15);
    if (pick == 0) return kUnknown;
    if (pick == 1) return in_.ConsumeIntegralInRange<int64_t>(0, kMaxCpu);
    return in_.ConsumeIntegralInRange<int64_t>(0, 3);
  }
  // Never going back; mostly small steps, sometimes a large one (bounded so that a run of them
  // stays far from overflowing).
  Timestamp next_ts() {
    const bool jump = in_.ConsumeIntegralInRange<int>(0, 31) == 0;
    ts_ += jump ? in_.ConsumeIntegralInRange<int64_t>(0, int64_t{1} << 40) : in_.ConsumeIntegralInRange<int64_t>(0, 1000);
    return ts_;
  }
  Timestamp ts() const { return ts_; }

  // The next decoded event (its context, kind and typed payload), as the adapter decodes it.
  void next_event(Event& out) {
    const std::vector<EventKind>& kinds = decoded_kinds();
    out.kind = kinds[in_.ConsumeIntegralInRange<size_t>(0, kinds.size() - 1)];
    out.ctx.ts = next_ts();
    out.ctx.cpu = cpu();
    const bool has_tid_context = in_.ConsumeBool();
    out.ctx.tid = has_tid_context ? integer() : kUnknown;
    out.ctx.pid = has_tid_context ? integer() : kUnknown;
    procname_ = text();
    out.ctx.procname = procname_;
    out.tid = has_tid_context ? out.ctx.tid : integer();  // the machine's thread of the event
    RawFields raw{};
    raw.array = nullptr;
    const EventLayout* layout = layout_of(out.kind);
    size_t count = layout ? layout->field_count() : 0;
    for (size_t i = 0; i < count; ++i) raw.present[i] = in_.ConsumeIntegralInRange<int>(0, 7) != 0;
    // A required field missing: the adapter gives the event its layout's incomplete kind, with no
    // field (bt::locate_event_fields()).
    for (size_t i = 0; i < count; ++i)
      if (layout->fields[i].required && !raw.present[i]) {
        out.kind = layout->incomplete_kind;
        count = 0;
      }
    for (size_t i = 0; i < count; ++i) {
      const FieldSpec& spec = layout->fields[i];
      raw.value[i] = raw.present[i] && spec.type == FieldType::integer ? integer() : spec.fallback;
      raw.text[i] = {nullptr, 0};
      if (raw.present[i] && spec.type == FieldType::string) {
        texts_[i] = text();
        raw.text[i] = {texts_[i].data(), texts_[i].size()};
      }
      if (raw.present[i] && spec.type == FieldType::int_array) {
        array_.clear();
        const size_t length = in_.ConsumeIntegralInRange<size_t>(0, 6);
        for (size_t k = 0; k < length; ++k) array_.push_back(integer());
        raw.array = &array_;
      }
    }
    out.payload = make_payload(out.kind, raw);
  }

  // A name: a thread's, a device's or a handler's (mostly a known one).
  std::string text() {
    static const char* const kNames[] = {"", "qemu-system-x86", "CPU 0/KVM", "CPU 1/KVM", "swapper/0", "bash"};
    const int pick = in_.ConsumeIntegralInRange<int>(0, 6);
    if (pick < 6) return kNames[pick];
    return in_.ConsumeRandomLengthString(32);
  }

 private:
  FuzzedDataProvider in_;
  int steps_ = 0;
  Timestamp ts_ = 0;
  std::string procname_;
  std::string texts_[kMaxEventFields];
  std::vector<int64_t> array_;
};

// Stops the fuzzer on a broken invariant (libFuzzer reports it as a crash with its input).
#define VM_FUZZ_CHECK(condition) \
  do {                           \
    if (!(condition)) __builtin_trap(); \
  } while (0)

}  // namespace vm::fuzz
