// SPDX-License-Identifier: MIT
// The true critical path by construction (the definition: critical_truth.h).

#include "sim/critical_truth.h"

#include "sim/vmx.h"

#include <algorithm>
#include <limits>

namespace vm::sim {

void LifeLog::add_thread(int id, int machine, int64_t tid, const std::string& name, int vcpu_thread, bool is_vcpu) {
  if (id < 0) return;
  if (lives_.size() <= static_cast<size_t>(id)) lives_.resize(static_cast<size_t>(id) + 1);
  Life& l = lives_[static_cast<size_t>(id)];
  l.machine = machine;
  l.tid = tid;
  l.name = name;
  l.vcpu_thread = vcpu_thread;
  l.is_vcpu = is_vcpu;
  l.known = true;
}

void LifeLog::set(int id, int64_t ts, LifeState state) {
  if (!life(id)) return;
  std::vector<Span>& spans = lives_[static_cast<size_t>(id)].spans;
  if (!spans.empty() && spans.back().ts >= ts) {
    // A change at (or, never in the model, before) the last one's instant: that span has no length.
    spans.back().state = state;
    spans.back().cause = WakeCause{};
    spans.back().ender = -2;
    return;
  }
  Span s;
  s.ts = ts;
  s.state = state;
  spans.push_back(s);
}

void LifeLog::switched_in(int id, int64_t ts, int prev) {
  if (!life(id)) return;
  std::vector<Span>& spans = lives_[static_cast<size_t>(id)].spans;
  if (!spans.empty() && spans.back().state == LifeState::runnable) spans.back().ender = prev;
  set(id, ts, LifeState::running);
}

void LifeLog::woken(int id, int64_t ts, const WakeCause& cause) {
  if (!life(id)) return;
  std::vector<Span>& spans = lives_[static_cast<size_t>(id)].spans;
  if (!spans.empty() && spans.back().state == LifeState::blocked) spans.back().cause = cause;
  set(id, ts, LifeState::runnable);
}

void LifeLog::vcpu_state(int id, int64_t ts, int64_t end, const char* state, int64_t exit_reason) {
  if (!life(id) || end <= ts) return;
  lives_[static_cast<size_t>(id)].vcpu.push_back(VcpuSpan{ts, end, state, exit_reason});
}

// Builds one path: the recursive rules of critical_truth.h.
class PathBuilder {
 public:
  PathBuilder(const LifeLog& log, int64_t end) : log_(log), end_(end) {}

  TruthPath build(int id) {
    TruthPath p;
    const LifeLog::Life* l = log_.life(id);
    if (!l) return p;
    p.machine = l->machine;
    p.tid = l->tid;
    p.name = l->name;
    // From the first state change to the last one before the end.
    int64_t first = -1, last = -1;
    for (const LifeLog::Span& s : l->spans) {
      if (s.ts >= end_) break;
      if (s.state != LifeState::untraced && first < 0) first = s.ts;
      if (s.state != LifeState::untraced) last = s.ts;
    }
    if (first < 0 || last <= first) return p;
    p.start_ts = first;
    p.end_ts = last;
    path_ = &p;
    walk(id, first, last, 0);
    return p;
  }

 private:
  static constexpr int kMaxDepth = 4096;

  const LifeLog& log_;
  int64_t end_;
  TruthPath* path_ = nullptr;

  int64_t span_end(const LifeLog::Life& l, size_t i) const {
    return i + 1 < l.spans.size() ? std::min(l.spans[i + 1].ts, end_) : end_;
  }

  void segment(int id, int64_t from, int64_t to, const char* state, const std::string& qualifier = {}) {
    if (to <= from) return;
    const LifeLog::Life& l = *log_.life(id);
    std::vector<TruthSegment>& segs = path_->segments;
    if (!segs.empty()) {
      TruthSegment& back = segs.back();
      if (back.machine == l.machine && back.tid == l.tid && back.state == state && back.qualifier == qualifier &&
          back.ts + back.dur == from) {
        back.dur = to - back.ts;
        return;
      }
    }
    segs.push_back(TruthSegment{from, to - from, l.machine, l.tid, state, qualifier});
  }

  void link(int64_t ts, int from, int to, const char* state = "default") {
    const LifeLog::Life& a = *log_.life(from);
    const LifeLog::Life& b = *log_.life(to);
    path_->links.push_back(TruthLink{ts, a.machine, a.tid, b.machine, b.tid, state});
  }

  // Hands [u, v) of `from` over to `to`'s path, and back at v.
  void hand_off(int from, int to, int64_t u, int64_t v, int depth) {
    link(u, from, to);
    walk(to, u, v, depth + 1);
    link(v, to, from);
  }

  // path(X, [a, b)).
  void walk(int id, int64_t a, int64_t b, int depth) {
    const LifeLog::Life* l = log_.life(id);
    if (!l || b <= a) return;
    if (depth > kMaxDepth) {
      segment(id, a, b, "unknown");
      return;
    }
    const std::vector<LifeLog::Span>& spans = l->spans;
    // The first span that ends after a.
    size_t i = static_cast<size_t>(
        std::upper_bound(spans.begin(), spans.end(), a, [](int64_t t, const LifeLog::Span& s) { return t < s.ts; }) -
        spans.begin());
    i = i > 0 ? i - 1 : 0;
    int64_t covered = a;
    if (spans.empty() || spans[0].ts > a) {
      // Before its first logged span: nothing is known.
      const int64_t first = spans.empty() ? b : std::min(spans[0].ts, b);
      segment(id, a, first, "unknown");
      covered = first;
    }
    for (; i < spans.size() && covered < b; ++i) {
      const LifeLog::Span& s = spans[i];
      const int64_t e = span_end(*l, i);
      const int64_t u = std::max(covered, s.ts), v = std::min(b, e);
      if (u >= v) continue;
      covered = v;
      switch (s.state) {
        case LifeState::untraced: segment(id, u, v, "unknown"); break;
        case LifeState::running: running(*l, id, u, v, depth); break;
        case LifeState::runnable:
          if (l->is_vcpu && v == e && s.ender >= 0 && log_.life(s.ender))
            hand_off(id, s.ender, u, v, depth);
          else
            segment(id, u, v, "preempted");
          break;
        case LifeState::blocked: blocked(id, s, u, v, v == e, depth); break;
      }
    }
    if (covered < b) segment(id, covered, b, "unknown");
  }

  void blocked(int id, const LifeLog::Span& s, int64_t u, int64_t v, bool ended, int depth) {
    if (!ended) return segment(id, u, v, "blocked");
    const WakeCause& c = s.cause;
    switch (c.kind) {
      case WakeKind::task:
        if (log_.life(c.waker)) return hand_off(id, c.waker, u, v, depth);
        return segment(id, u, v, "blocked");
      case WakeKind::guest_device:
        if (c.raise_ts > u && c.raise_ts <= v && log_.life(c.waker)) {
          link(u, id, c.waker);
          walk(c.waker, u, c.raise_ts, depth + 1);
          link(c.raise_ts, c.waker, id, "interrupted");
          return segment(id, c.raise_ts, v, "interrupted", c.irq_name);
        }
        return segment(id, u, v, "interrupted", c.irq_name);
      case WakeKind::device: return segment(id, u, v, "blocked", c.irq_name);
      case WakeKind::softirq_block: return segment(id, u, v, "block_device");
      case WakeKind::vector: return segment(id, u, v, "ipi");
      case WakeKind::none: return segment(id, u, v, "blocked");
    }
  }

  // A running span of a guest thread is cut by its vCPU's state.
  void running(const LifeLog::Life& l, int id, int64_t u, int64_t v, int depth) {
    const LifeLog::Life* vcpu = log_.life(l.vcpu_thread);
    if (!vcpu) return segment(id, u, v, "running");
    const std::vector<LifeLog::VcpuSpan>& states = vcpu->vcpu;
    auto it = std::upper_bound(states.begin(), states.end(), u,
                               [](int64_t t, const LifeLog::VcpuSpan& s) { return t < s.ts; });
    if (it != states.begin()) --it;
    int64_t at = u;
    for (; it != states.end() && at < v; ++it) {
      const int64_t p = std::max(at, it->ts), q = std::min(v, it->end);
      if (p >= q) continue;
      if (p > at) segment(id, at, p, "running");  // no vCPU state known: as it looks
      const std::string_view state = it->state;
      if (state == "vmm")
        segment(id, p, q, "vmm", it->exit_reason >= 0 ? sim::vmx_exit_name(it->exit_reason) : std::string());
      else if (state == "idle")
        segment(id, p, q, "vcpu_halted");
      else if (state == "preempted")
        hand_off(id, l.vcpu_thread, p, q, depth);
      else
        segment(id, p, q, "running");
      at = q;
    }
    if (at < v) segment(id, at, v, "running");
  }
};

std::vector<TruthPath> LifeLog::paths(const std::vector<int>& chosen, int64_t end) const {
  std::vector<TruthPath> out;
  for (int id : chosen) {
    PathBuilder builder(*this, end);
    TruthPath p = builder.build(id);
    if (p.end_ts > p.start_ts) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace vm::sim
