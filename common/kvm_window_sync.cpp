#include "kvm_window_sync.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vm {

void KvmWindowSync::add_window(int vcpu, Timestamp entry, Timestamp exit) {
  if (vcpu < 0 || exit < entry) return;
  if (static_cast<size_t>(vcpu) >= windows_.size()) windows_.resize(static_cast<size_t>(vcpu) + 1);
  windows_[static_cast<size_t>(vcpu)].push_back(Window{entry, exit});
}

void KvmWindowSync::add_guest_event(int vcpu, Timestamp ts) {
  if (vcpu < 0) return;
  if (static_cast<size_t>(vcpu) >= events_.size()) events_.resize(static_cast<size_t>(vcpu) + 1);
  events_[static_cast<size_t>(vcpu)].push_back(ts);
}

void KvmWindowSync::add_injection(int vcpu, const Vector& injection) {
  if (vcpu < 0) return;
  if (static_cast<size_t>(vcpu) >= injections_.size()) injections_.resize(static_cast<size_t>(vcpu) + 1);
  injections_[static_cast<size_t>(vcpu)].push_back(injection);
}

void KvmWindowSync::add_guest_vector(int vcpu, const Vector& entry) {
  if (vcpu < 0) return;
  if (static_cast<size_t>(vcpu) >= guest_vectors_.size()) guest_vectors_.resize(static_cast<size_t>(vcpu) + 1);
  guest_vectors_[static_cast<size_t>(vcpu)].push_back(entry);
}

std::vector<std::pair<Timestamp, Timestamp>> KvmWindowSync::injection_pairs(
    const LinearTransform& guest_to_host) const {
  std::vector<std::pair<Timestamp, Timestamp>> pairs;
  for (size_t v = 0; v < injections_.size() && v < windows_.size() && v < guest_vectors_.size(); ++v) {
    const std::vector<Window>& windows = windows_[v];
    const std::vector<Vector>& entries = guest_vectors_[v];
    size_t next_entry = 0;
    for (const Vector& injection : injections_[v]) {
      // The guest takes the interrupt in the first guest-mode window after the injection.
      const auto window = std::lower_bound(windows.begin(), windows.end(), injection.ts,
                                           [](const Window& w, Timestamp t) { return w.entry < t; });
      if (window == windows.end()) break;
      while (next_entry < entries.size() && guest_to_host.apply(entries[next_entry].ts) < window->entry) ++next_entry;
      for (size_t e = next_entry; e < entries.size() && guest_to_host.apply(entries[e].ts) <= window->exit; ++e)
        if (entries[e].vector == injection.vector) {
          pairs.emplace_back(injection.ts, entries[e].ts);
          break;
        }
    }
  }
  return pairs;
}

size_t KvmWindowSync::window_count() const {
  size_t count = 0;
  for (const auto& w : windows_) count += w.size();
  return count;
}

size_t KvmWindowSync::guest_event_count() const {
  size_t count = 0;
  for (const auto& e : events_) count += e.size();
  return count;
}

uint64_t KvmWindowSync::count_inside(Timestamp d, Timestamp begin, Timestamp end, uint64_t* in_range) const {
  uint64_t inside = 0;
  if (in_range) *in_range = 0;
  const auto [host_begin, host_end] = host_range();
  for (size_t v = 0; v < events_.size() && v < windows_.size(); ++v) {
    const std::vector<Timestamp>& events = events_[v];
    const std::vector<Window>& windows = windows_[v];
    auto event = std::lower_bound(events.begin(), events.end(), begin);
    if (event == events.end() || windows.empty()) continue;
    // First window that can contain the first event: the first whose exit is >= its host time.
    auto window = std::lower_bound(windows.begin(), windows.end(), *event + d,
                                   [](const Window& w, Timestamp t) { return w.exit < t; });
    for (; event != events.end() && *event < end; ++event) {
      const Timestamp host = *event + d;
      if (in_range && host >= host_begin && host <= host_end) ++*in_range;
      while (window != windows.end() && window->exit < host) ++window;
      if (window == windows.end()) continue;
      if (window->entry <= host) ++inside;
    }
  }
  return inside;
}

std::pair<Timestamp, Timestamp> KvmWindowSync::host_range() const {
  Timestamp begin = std::numeric_limits<Timestamp>::max(), end = std::numeric_limits<Timestamp>::min();
  for (const auto& windows : windows_)
    if (!windows.empty()) {
      begin = std::min(begin, windows.front().entry);
      end = std::max(end, windows.back().exit);
    }
  return {begin, end};
}

Timestamp KvmWindowSync::best_offset(Timestamp center, Timestamp range, Timestamp bin, Timestamp begin,
                                     Timestamp end) const {
  const int64_t lags = range / bin;
  const Timestamp host_begin = begin + center - range;
  const Timestamp host_end = end + center + range + bin;
  const size_t host_bins = static_cast<size_t>((host_end - host_begin) / bin + 1);
  const size_t guest_bins = static_cast<size_t>((end - begin) / bin + 1);
  std::vector<double> score(static_cast<size_t>(2 * lags + 1), 0.0);
  std::vector<double> coverage(host_bins);
  std::vector<uint32_t> histogram(guest_bins);
  for (size_t v = 0; v < events_.size() && v < windows_.size(); ++v) {
    // Guest-mode share of each host bin.
    std::fill(coverage.begin(), coverage.end(), 0.0);
    for (const Window& w : windows_[v]) {
      if (w.exit < host_begin || w.entry >= host_end) continue;
      Timestamp from = std::max(w.entry, host_begin);
      const Timestamp to = std::min(w.exit, host_end - 1);
      while (from <= to) {
        const size_t k = static_cast<size_t>((from - host_begin) / bin);
        const Timestamp bin_end = host_begin + static_cast<Timestamp>(k + 1) * bin;
        const Timestamp piece = std::min(to + 1, bin_end) - from;
        coverage[k] += static_cast<double>(piece) / static_cast<double>(bin);
        from = bin_end;
      }
    }
    // Guest events per guest bin.
    std::fill(histogram.begin(), histogram.end(), 0);
    for (auto it = std::lower_bound(events_[v].begin(), events_[v].end(), begin); it != events_[v].end() && *it < end;
         ++it)
      ++histogram[static_cast<size_t>((*it - begin) / bin)];
    // A guest bin k maps, at lag j, to host bin k + j (host_begin = begin + center - lags * bin).
    for (size_t k = 0; k < guest_bins; ++k) {
      if (!histogram[k]) continue;
      for (int64_t j = 0; j <= 2 * lags; ++j) {
        const size_t h = k + static_cast<size_t>(j);
        if (h < host_bins) score[static_cast<size_t>(j)] += histogram[k] * coverage[h];
      }
    }
  }
  const auto best = std::max_element(score.begin(), score.end());
  return center - lags * bin + static_cast<Timestamp>(best - score.begin()) * bin;
}

Timestamp KvmWindowSync::exact_search(Timestamp center, Timestamp range, Timestamp step, Timestamp begin,
                                      Timestamp end) const {
  // Most inside wins; among equals the offset nearest `center` (a guest that runs all the time
  // fits many offsets equally: keep the one the previous level or segment found).
  Timestamp best = center;
  uint64_t best_count = 0;
  Timestamp best_distance = std::numeric_limits<Timestamp>::max();
  for (Timestamp candidate = center - range; candidate <= center + range; candidate += step) {
    const uint64_t count = count_inside(candidate, begin, end);
    const Timestamp distance = candidate > center ? candidate - center : center - candidate;
    if (count > best_count || (count == best_count && distance < best_distance)) {
      best_count = count;
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

Timestamp KvmWindowSync::refine(Timestamp center, Timestamp range, Timestamp begin, Timestamp end) const {
  // Binned correlation down to 100 us bins, then exact counts at 10 us and 1 us steps.
  Timestamp d = center;
  Timestamp r = range;
  for (Timestamp bin : {Timestamp(10'000'000), Timestamp(1'000'000), Timestamp(100'000)}) {
    if (r < 4 * bin && bin != 100'000) continue;  // range already finer than this level
    d = best_offset(d, std::max(r, 2 * bin), bin, begin, end);
    r = 20 * bin;
  }
  d = exact_search(d, 200'000, 10'000, begin, end);
  return exact_search(d, 10'000, 1'000, begin, end);
}

KvmWindowSync::Result KvmWindowSync::coarse(const Options& options) const {
  Result result;
  Timestamp begin = std::numeric_limits<Timestamp>::max(), end = std::numeric_limits<Timestamp>::min();
  for (const auto& events : events_)
    if (!events.empty()) {
      begin = std::min(begin, events.front());
      end = std::max(end, events.back() + 1);
    }
  const size_t total = guest_event_count();
  if (total == 0 || window_count() == 0) return result;
  result.coarse_offset_ns = refine(options.offset_hint_ns, options.search_range_ns, begin, end);
  uint64_t in_range = 0;
  const uint64_t inside = count_inside(result.coarse_offset_ns, begin, end, &in_range);
  // Guest events outside the host trace's time range cannot be checked: they do not count.
  result.inside_fraction = in_range ? static_cast<double>(inside) / static_cast<double>(in_range) : 0.0;
  result.guest_to_host = LinearTransform{1.0L, static_cast<long double>(result.coarse_offset_ns)};
  result.found = true;
  return result;
}

KvmWindowSync::Result KvmWindowSync::solve(const Options& options) const {
  Result result = coarse(options);
  if (!result.found) return result;
  Timestamp begin = std::numeric_limits<Timestamp>::max(), end = std::numeric_limits<Timestamp>::min();
  for (const auto& events : events_)
    if (!events.empty()) {
      begin = std::min(begin, events.front());
      end = std::max(end, events.back() + 1);
    }
  // Per segment: the offset that keeps its events in their windows (tracks drift), then the
  // first and last event of each window become two causal constraints. A segment whose best
  // offset leaves events outside the windows (too few events, or before the host trace) gives
  // no constraint: a wrong assignment would give a false one.
  Timestamp center = result.coarse_offset_ns;
  for (Timestamp segment = begin; segment < end; segment += options.segment_ns)
    add_segment(options, segment, std::min(end, segment + options.segment_ns), center, result);
  const SyncQuality quality = result.hull.quality();
  if (quality == SyncQuality::accurate || quality == SyncQuality::approximate)
    result.guest_to_host = result.hull.other_to_reference();  // the guest is the hull's "other"
  result.inside_fraction = inside_fraction(result.guest_to_host);
  return result;
}

void KvmWindowSync::add_segment(const Options& options, Timestamp segment, Timestamp segment_end, Timestamp& center,
                                Result& result) const {
  // The offset moves little from one segment to the next: exact counts near the previous one
  // first, a wider search only if that does not fit.
  Timestamp d =
      exact_search(exact_search(center, 200'000, 5'000, segment, segment_end), 5'000, 1'000, segment, segment_end);
  uint64_t in_range = 0;
  uint64_t fitting = count_inside(d, segment, segment_end, &in_range);
  if (static_cast<double>(fitting) < options.min_inside * static_cast<double>(in_range)) {
    d = exact_search(exact_search(center, options.segment_search_ns, 20'000, segment, segment_end), 20'000, 1'000,
                     segment, segment_end);
  }
  const uint64_t inside = count_inside(d, segment, segment_end, &in_range);
  if (in_range < options.min_segment_events) {
    ++result.skipped_segments;
    return;
  }
  if (static_cast<double>(inside) < options.min_inside * static_cast<double>(in_range)) {
    // A drifting clock moves events out of their windows within a long segment: halve it.
    if (segment_end - segment > options.min_segment_ns) {
      const Timestamp middle = segment + (segment_end - segment) / 2;
      add_segment(options, segment, middle, center, result);
      add_segment(options, middle, segment_end, center, result);
    } else {
      ++result.skipped_segments;
    }
    return;
  }
  ++result.used_segments;
  center = d;
  for (size_t v = 0; v < events_.size() && v < windows_.size(); ++v) {
    const std::vector<Timestamp>& events = events_[v];
    const std::vector<Window>& windows = windows_[v];
    auto event = std::lower_bound(events.begin(), events.end(), segment);
    if (event == events.end() || windows.empty()) continue;
    auto window = std::lower_bound(windows.begin(), windows.end(), *event + d,
                                   [](const Window& w, Timestamp t) { return w.exit < t; });
    const Window* current = nullptr;
    Timestamp first = 0, last = 0;
    auto flush = [&] {
      if (!current) return;
      result.hull.add_match(true, current->entry, first);  // host enters, then the guest runs
      result.hull.add_match(false, last, current->exit);   // the guest runs, then the host exits
      result.constraint_list.push_back({true, current->entry, first});
      result.constraint_list.push_back({false, last, current->exit});
      result.constraints += 2;
      current = nullptr;
    };
    for (; event != events.end() && *event < segment_end; ++event) {
      const Timestamp host = *event + d;
      while (window != windows.end() && window->exit < host) ++window;
      if (window == windows.end()) break;
      if (window->entry > host) continue;  // outside every window: not a constraint
      if (current != &*window) {
        flush();
        current = &*window;
        first = *event;
      }
      last = *event;
    }
    flush();
  }
}

double KvmWindowSync::inside_fraction(const LinearTransform& guest_to_host) const {
  // Only guest events that map into the host trace's time range can be checked.
  const auto [host_begin, host_end] = host_range();
  uint64_t inside = 0, checked = 0;
  for (size_t v = 0; v < events_.size() && v < windows_.size(); ++v) {
    const std::vector<Window>& windows = windows_[v];
    auto window = windows.begin();
    for (Timestamp g : events_[v]) {
      const Timestamp host = guest_to_host.apply(g);
      if (host < host_begin || host > host_end) continue;
      ++checked;
      while (window != windows.end() && window->exit < host) ++window;
      if (window != windows.end() && window->entry <= host) ++inside;
    }
  }
  return checked ? static_cast<double>(inside) / static_cast<double>(checked) : 0.0;
}

}  // namespace vm
