// SPDX-License-Identifier: MIT
#pragma once
// Progress of a long run on stderr, when stderr is a terminal (nothing otherwise): the trace time
// done (from the first event's time to the current one) and the events per second, at most twice
// a second. The sink does not know where the traces end (babeltrace2 2.0's stream beginning and
// end messages carry no time), so the share is of the trace time read, not of a total.
// The clock is read once every kCheckEvery messages, out of the per-event path.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace vm::sqlite_sink {

class Progress {
 public:
  static constexpr uint64_t kCheckEvery = 16384;  // messages between two looks at the clock

  Progress() : enabled_(::isatty(2) == 1), start_(std::chrono::steady_clock::now()), last_shown_(start_) {}

  // Counts `messages` more; true when it is time to look at the clock (then call show()).
  bool due(uint64_t messages) {
    if (!enabled_) return false;
    messages_ += messages;
    if (messages_ < next_check_) return false;
    next_check_ = messages_ + kCheckEvery;
    return true;
  }

  // `trace_ns`: the time of the latest event (ns from origin), if `known`; `events`: so far.
  void show(int64_t trace_ns, bool known, uint64_t events) {
    if (known && !has_first_) {
      first_ns_ = trace_ns;
      has_first_ = true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_shown_ < std::chrono::milliseconds(500)) return;
    last_shown_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? events / seconds : 0;
    if (known && has_first_)
      std::fprintf(stderr, "\rvm: %.3f s of trace time read, %.1f M events, %.2f M events/s  ",
                   (trace_ns - first_ns_) / 1e9, events / 1e6, rate / 1e6);
    else
      std::fprintf(stderr, "\rvm: %.1f M events, %.2f M events/s  ", events / 1e6, rate / 1e6);
    std::fflush(stderr);
    shown_ = true;
  }

  // Clears the progress line, if one was shown (at the end of the run, before any message).
  void clear() {
    if (!shown_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  bool has_first_ = false;
  int64_t first_ns_ = 0;
  uint64_t messages_ = 0;
  uint64_t next_check_ = 0;  // the first batch gives the first event's time
  std::chrono::steady_clock::time_point start_, last_shown_;
};

}  // namespace vm::sqlite_sink
