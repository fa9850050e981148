// SPDX-License-Identifier: MIT
#include "sync/kvm_window_sync.h"

#include "sync/window_count.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace vm {

void KvmWindowSync::add_window(int vcpu, Timestamp entry, Timestamp exit) {
  last_track_.reset();
  if (vcpu < 0 || exit < entry) return;
  windows_.push(static_cast<size_t>(vcpu), Window{entry, exit});
}

void KvmWindowSync::add_guest_event(int vcpu, Timestamp ts) {
  last_track_.reset();
  if (vcpu < 0) return;
  events_.push(static_cast<size_t>(vcpu), ts);
}

void KvmWindowSync::add_windows(int vcpu, const Windows& windows) {
  last_track_.reset();
  if (vcpu < 0) return;
  // add_window() leaves out a window that ends before it begins: such a sequence is copied.
  for (const Window& w : windows)
    if (w.exit < w.entry) {
      for (const Window& x : windows) add_window(vcpu, x.entry, x.exit);
      return;
    }
  windows_.view(static_cast<size_t>(vcpu), windows);
}

void KvmWindowSync::add_guest_events(int vcpu, const TimeSeq& events) {
  last_track_.reset();
  if (vcpu < 0) return;
  events_.view(static_cast<size_t>(vcpu), events);
}

void KvmWindowSync::add_injection(int vcpu, const Vector& injection) {
  if (vcpu >= 0) injections_.push(static_cast<size_t>(vcpu), injection);
}

void KvmWindowSync::add_guest_vector(int vcpu, const Vector& entry) {
  if (vcpu >= 0) guest_vectors_.push(static_cast<size_t>(vcpu), entry);
}

void KvmWindowSync::add_injections(int vcpu, const Vectors& injections) {
  if (vcpu >= 0) injections_.view(static_cast<size_t>(vcpu), injections);
}

void KvmWindowSync::add_guest_vectors(int vcpu, const Vectors& entries) {
  if (vcpu >= 0) guest_vectors_.view(static_cast<size_t>(vcpu), entries);
}

std::vector<std::pair<Timestamp, Timestamp>> KvmWindowSync::injection_pairs(
    const LinearTransform& guest_to_host) const {
  std::vector<std::pair<Timestamp, Timestamp>> pairs;
  for (size_t v = 0; v < injections_.size() && v < windows_.size() && v < guest_vectors_.size(); ++v) {
    const Windows& windows = windows_[v];
    const Vectors& entries = guest_vectors_[v];
    auto next_entry = entries.begin();
    const auto entries_end = entries.end();
    for (const Vector& injection : injections_[v]) {
      // The guest takes the interrupt in the first guest-mode window after the injection.
      const auto window = windows.lower_bound(injection.ts, [](const Window& w, Timestamp t) { return w.entry < t; });
      if (window == windows.end()) break;
      while (next_entry != entries_end && guest_to_host.apply(next_entry->ts) < window->entry) ++next_entry;
      for (auto e = next_entry; e != entries_end && guest_to_host.apply(e->ts) <= window->exit; ++e)
        if (e->vector == injection.vector) {
          pairs.emplace_back(injection.ts, e->ts);
          break;
        }
    }
  }
  return pairs;
}

size_t KvmWindowSync::window_count() const {
  size_t count = 0;
  for (size_t v = 0; v < windows_.size(); ++v) count += windows_[v].size();
  return count;
}

size_t KvmWindowSync::guest_event_count() const {
  size_t count = 0;
  for (size_t v = 0; v < events_.size(); ++v) count += events_[v].size();
  return count;
}

uint64_t KvmWindowSync::count_inside(Timestamp d, Timestamp begin, Timestamp end, uint64_t* in_range,
                                     const Drift& drift) const {
  // t_host = t_guest + d + slope * (t_guest - anchor), the drift term rounded to the ns.
  auto host_of = [&](Timestamp guest) {
    if (drift.slope == 0) return guest + d;
    return guest + d + static_cast<Timestamp>(std::llround(drift.slope * static_cast<double>(guest - drift.anchor)));
  };
  uint64_t inside = 0;
  if (in_range) *in_range = 0;
  const auto [host_begin, host_end] = host_range();
  for (size_t v = 0; v < events_.size() && v < windows_.size(); ++v) {
    const TimeSeq& events = events_[v];
    const Windows& windows = windows_[v];
    auto event = events.lower_bound(begin);
    const auto events_end = events.end();
    const auto windows_end = windows.end();
    if (event == events_end || windows.empty()) continue;
    // First window that can contain the first event: the first whose exit is >= its host time.
    auto window = windows.lower_bound(host_of(*event), [](const Window& w, Timestamp t) { return w.exit < t; });
    for (; event != events_end && *event < end; ++event) {
      const Timestamp host = host_of(*event);
      if (in_range && host >= host_begin && host <= host_end) ++*in_range;
      while (window != windows_end && window->exit < host) ++window;
      if (window == windows_end) continue;
      if (window->entry <= host) ++inside;
    }
  }
  return inside;
}

std::pair<Timestamp, Timestamp> KvmWindowSync::host_range() const {
  Timestamp begin = std::numeric_limits<Timestamp>::max(), end = std::numeric_limits<Timestamp>::min();
  for (size_t v = 0; v < windows_.size(); ++v)
    if (const Windows& windows = windows_[v]; !windows.empty()) {
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
    for (auto it = events_[v].lower_bound(begin), stop = events_[v].end(); it != stop && *it < end; ++it)
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

std::pair<Timestamp, Timestamp> KvmWindowSync::possible_offsets() const {
  const auto [begin, end] = guest_range();
  const auto [host_begin, host_end] = host_range();
  Timestamp lowest = 0, highest = 0, width = 0;
  if (begin >= end || host_begin > host_end || __builtin_sub_overflow(host_begin, end, &lowest) ||
      __builtin_sub_overflow(host_end, begin, &highest) || __builtin_sub_overflow(highest, lowest, &width))
    return {1, 0};
  return {lowest, highest};
}

std::optional<KvmWindowSync::WideOffset> KvmWindowSync::wide_offset() const {
  // The guest's events can meet the host's windows only for offsets in [lowest, highest]: the
  // correlation over that whole interval, in at most about 2000 bins of at least 10 ms.
  const auto [begin, end] = guest_range();
  const auto [lowest, highest] = possible_offsets();
  if (lowest > highest) return std::nullopt;
  const Timestamp width = highest - lowest;
  constexpr Timestamp kMinBin = 10'000'000;
  constexpr Timestamp kMaxBins = 2'000;
  const Timestamp bin = std::max(kMinBin, (width / kMaxBins / kMinBin + 1) * kMinBin);
  const Timestamp center = lowest + width / 2;
  return WideOffset{best_offset(center, width / 2 + bin, bin, begin, end), bin};
}

Timestamp KvmWindowSync::round_to_second(Timestamp t) {
  constexpr Timestamp kSecond = 1'000'000'000;
  const Timestamp down = t / kSecond * kSecond - (t % kSecond < 0 ? kSecond : 0);  // floor
  return t - down >= kSecond / 2 ? down + kSecond : down;
}

Timestamp KvmWindowSync::exact_search(Timestamp center, Timestamp range, Timestamp step, Timestamp begin,
                                      Timestamp end, const Drift& drift, uint64_t* best_inside) const {
  // The slices give count_inside's counts: the same events, the same drift term (t_guest + d + r
  // is t_guest + r + d), and every window a count can reach. A count starts at the first window
  // whose exit is not before its first event's host time, which is at least the lowest shifted
  // time + (center - range); it counts a window only when the window's entry is not after an
  // event's host time, at most the highest shifted time + (center + range), and it cannot pass
  // the first window that begins after that (its exit is after too), which ends the slice.
  std::vector<SearchSlice> slices;
  for (size_t v = 0; v < events_.size() && v < windows_.size(); ++v) {
    const Windows& windows = windows_[v];
    if (windows.empty()) continue;
    SearchSlice slice;
    // The bounds in 128 bits, saturated to int64: t_guest + term may leave the int64 range.
    __extension__ typedef __int128 Wide;
    const Wide beyond = Wide(1) << 65;  // further from 0 than any t_guest + term
    Wide lowest = beyond, highest = -beyond;
    for (auto it = events_[v].lower_bound(begin), stop = events_[v].end(); it != stop && *it < end; ++it) {
      const Timestamp guest = *it;
      const Timestamp term =
          drift.slope == 0 ? 0 : static_cast<Timestamp>(std::llround(drift.slope * static_cast<double>(guest - drift.anchor)));
      slice.shifted.push_back(static_cast<uint64_t>(guest) + static_cast<uint64_t>(term));
      lowest = std::min(lowest, Wide(guest) + term);
      highest = std::max(highest, Wide(guest) + term);
    }
    if (slice.shifted.empty()) continue;
    auto saturated = [](Wide x) {
      return static_cast<Timestamp>(std::clamp<Wide>(x, std::numeric_limits<Timestamp>::min(), std::numeric_limits<Timestamp>::max()));
    };
    const Timestamp host_low = saturated(lowest + (center - range)), host_high = saturated(highest + (center + range));
    for (auto w = windows.lower_bound(host_low, [](const Window& x, Timestamp t) { return x.exit < t; }),
              stop = windows.end();
         w != stop; ++w) {
      slice.windows.push_back(*w);
      if (w->entry > host_high) break;
    }
    slices.push_back(std::move(slice));
  }
  // The counts of the whole grid at once (count_grid), else one offset at a time.
  constexpr uint64_t kMaxGrid = 1 << 16;
  const uint64_t offsets =
      range < 0 || step <= 0 ? 0 : 2 * static_cast<uint64_t>(range) / static_cast<uint64_t>(step) + 1;
  std::vector<uint64_t> counts;
  if (offsets > 0 && offsets <= kMaxGrid) {
    counts.assign(offsets, 0);
    for (const SearchSlice& slice : slices)
      if (!count_grid(slice, center - range, step, counts)) {
        counts.clear();
        break;
      }
  }
  // Most inside wins; among equals the offset nearest `center` (a guest that runs all the time
  // fits many offsets equally: keep the one the previous level or segment found).
  Timestamp best = center;
  uint64_t best_count = 0;
  Timestamp best_distance = std::numeric_limits<Timestamp>::max();
  size_t j = 0;
  for (Timestamp candidate = center - range; candidate <= center + range; candidate += step, ++j) {
    uint64_t count = 0;
    if (j < counts.size()) {
      count = counts[j];
    } else {
      for (const SearchSlice& slice : slices) count += count_in_slice(slice, candidate);
    }
    const Timestamp distance = candidate > center ? candidate - center : center - candidate;
    if (count > best_count || (count == best_count && distance < best_distance)) {
      best_count = count;
      best = candidate;
      best_distance = distance;
    }
  }
  if (best_inside) *best_inside = best_count;
  return best;
}

std::pair<Timestamp, double> KvmWindowSync::drift_search(Timestamp center, Timestamp range, Timestamp step,
                                                         double slope_center, double slope_range, double slope_step,
                                                         Timestamp anchor, Timestamp begin, Timestamp end) const {
  // Most inside wins; among equals the slope nearest `slope_center` (then exact_search's offset
  // nearest `center`).
  std::pair<Timestamp, double> best{center, slope_center};
  uint64_t best_count = 0;
  double best_distance = std::numeric_limits<double>::max();
  const int steps = static_cast<int>(std::ceil(slope_range / slope_step));
  for (int k = -steps; k <= steps; ++k) {
    const double slope = slope_center + k * slope_step;
    uint64_t count = 0;
    const Timestamp offset = exact_search(center, range, step, begin, end, Drift{slope, anchor}, &count);
    const double distance = std::fabs(slope - slope_center);
    if (count > best_count || (count == best_count && distance < best_distance)) {
      best_count = count;
      best = {offset, slope};
      best_distance = distance;
    }
  }
  return best;
}

std::pair<Timestamp, Timestamp> KvmWindowSync::guest_range() const {
  Timestamp begin = std::numeric_limits<Timestamp>::max(), end = std::numeric_limits<Timestamp>::min();
  for (size_t v = 0; v < events_.size(); ++v)
    if (const TimeSeq& events = events_[v]; !events.empty()) {
      begin = std::min(begin, events.front());
      end = std::max(end, events.back() + 1);
    }
  return {begin, end};
}

namespace {

// Weighted least squares of offsets d against guest times t, relative to (t0, d0) so that the
// sums stay small: d = d0 + intercept + slope * (t - t0).
struct OffsetLine {
  Timestamp t0 = 0, d0 = 0;
  long double weight = 0, t = 0, d = 0, tt = 0, td = 0;
  Timestamp first = 0, last = 0;  // guest times of the first and last point

  void add(Timestamp at, Timestamp offset, long double w) {
    const long double x = static_cast<long double>(at - t0), y = static_cast<long double>(offset - d0);
    if (weight == 0) first = at;
    last = at;
    weight += w;
    t += w * x;
    d += w * y;
    tt += w * x * x;
    td += w * x * y;
  }
  // A slope needs points spread over some time; before that, the mean offset.
  bool has_slope(Timestamp min_span) const { return weight > 0 && last - first >= min_span; }
  long double slope(Timestamp min_span) const {
    if (!has_slope(min_span)) return 0;
    const long double denominator = weight * tt - t * t;
    return denominator > 0 ? (weight * td - t * d) / denominator : 0;
  }
  long double offset_at(Timestamp at, Timestamp min_span) const {
    if (weight == 0) return static_cast<long double>(d0);
    const long double b = slope(min_span);
    const long double a = (d - b * t) / weight;
    return static_cast<long double>(d0) + a + b * static_cast<long double>(at - t0);
  }
};

Timestamp nearest(long double value) { return static_cast<Timestamp>(std::llround(value)); }

}  // namespace

bool KvmWindowSync::same_track_options(const Options& a, const Options& b) {
  return a.search_range_ns == b.search_range_ns && a.offset_hint_ns == b.offset_hint_ns && a.lead_ns == b.lead_ns &&
         a.lead_events == b.lead_events && a.max_drift_ppm == b.max_drift_ppm && a.segment_ns == b.segment_ns &&
         a.segment_search_ns == b.segment_search_ns && a.min_segment_events == b.min_segment_events &&
         a.min_segment_inside == b.min_segment_inside;
}

KvmWindowSync::Track KvmWindowSync::track(const Options& options) const {
  if (last_track_ && same_track_options(last_track_->options, options)) return last_track_->track;
  const Track result = track_anew(options);
  last_track_ = LastTrack{options, result};
  return result;
}

KvmWindowSync::Track KvmWindowSync::track_anew(const Options& options) const {
  Track result;
  const auto [begin, end] = guest_range();
  if (guest_event_count() == 0 || window_count() == 0) return result;
  // 1. Rough offset over the whole trace, around the hint; when no offset of the hint's range
  // can put a guest event in the host's time range (clocks hours, days or years apart), around
  // the offset that the search over every possible offset finds.
  const Timestamp range = std::max(options.search_range_ns, Timestamp(20'000'000));
  Timestamp center = options.offset_hint_ns;
  const auto [lowest, highest] = possible_offsets();
  if (lowest > highest) return result;  // clocks further apart than 64-bit nanoseconds can tell
  if (highest < center - range || lowest > center + range) {
    const std::optional<WideOffset> wide = wide_offset();
    if (!wide) return result;
    center = round_to_second(wide->offset);
  }
  Timestamp d = best_offset(center, range, 10'000'000, begin, end);
  d = best_offset(d, 200'000'000, 1'000'000, begin, end);
  // 2. The leading segment: where the host trace begins (guest events before it cannot be
  // checked), long enough to hold `lead_events` events if that takes at most 4 times lead_ns.
  // Many guest events lie within a few us of a window's edge, so even over a short segment the
  // drift matters: offset and slope are searched together.
  const Timestamp host_begin = host_range().first;
  const Timestamp lead_begin = std::max(begin, host_begin - d - 2'000'000);
  Timestamp lead_end = std::min(end, lead_begin + options.lead_ns);
  if (lead_end <= lead_begin) return result;  // no guest event where the host trace is
  for (int doubling = 0; doubling < 2 && lead_end < end; ++doubling) {
    uint64_t in_range = 0;
    count_inside(d, lead_begin, lead_end, &in_range);
    if (in_range >= options.lead_events) break;
    lead_end = std::min(end, lead_begin + (lead_end - lead_begin) * 2);
  }
  d = best_offset(d, 20'000'000, 100'000, lead_begin, lead_end);
  const Timestamp lead_middle = lead_begin + (lead_end - lead_begin) / 2;
  // Slopes by steps that move the segment's ends by 1 us.
  const double slope_step = 2'000.0 / static_cast<double>(std::max(lead_end - lead_begin, Timestamp(1'000'000)));
  const auto [lead_offset, lead_slope] =
      drift_search(d, 200'000, 10'000, 0.0, options.max_drift_ppm * 1e-6, slope_step, lead_middle, lead_begin, lead_end);
  const auto [offset_fine, slope_fine] =
      drift_search(lead_offset, 10'000, 1'000, lead_slope, slope_step, slope_step / 4, lead_middle, lead_begin, lead_end);
  d = offset_fine;
  result.lead_offset = d;
  // 3. Tracking, each segment under the slope known so far. The line needs two segments' span
  // before its own slope replaces the leading segment's.
  OffsetLine line;
  line.t0 = lead_begin;
  line.d0 = d;
  const Timestamp segment_ns = std::max(options.segment_ns, Timestamp(1'000'000));
  const Timestamp min_span = 2 * segment_ns;
  struct Point {
    Timestamp at, offset;
  };
  std::vector<Point> points;  // one per used segment (not per event)
  for (Timestamp segment = lead_begin; segment < end; segment += segment_ns) {
    const Timestamp segment_end = std::min(end, segment + segment_ns);
    const Timestamp middle = segment + (segment_end - segment) / 2;
    const bool own_slope = line.has_slope(min_span);
    const double slope = own_slope ? static_cast<double>(line.slope(min_span)) : slope_fine;
    const Timestamp predicted = own_slope ? nearest(line.offset_at(middle, min_span))
                                          : d + static_cast<Timestamp>(std::llround(slope_fine * static_cast<double>(middle - lead_middle)));
    const Drift drift{slope, middle};
    const Timestamp coarse_step = std::max(Timestamp(1'000), options.segment_search_ns / 8);
    Timestamp offset = exact_search(predicted, options.segment_search_ns, coarse_step, segment, segment_end, drift);
    offset = exact_search(offset, coarse_step, 1'000, segment, segment_end, drift);
    uint64_t in_range = 0;
    const uint64_t inside = count_inside(offset, segment, segment_end, &in_range, drift);
    result.inside += inside;
    result.in_range += in_range;
    if (in_range < options.min_segment_events ||
        static_cast<double>(inside) < options.min_segment_inside * static_cast<double>(in_range)) {
      ++result.skipped_segments;
      continue;
    }
    ++result.used_segments;
    points.push_back({middle, offset});
    line.add(middle, offset, static_cast<long double>(in_range));
  }
  if (!line.has_slope(min_span)) {
    // Too few events to track: the leading segment's line.
    const long double slope = slope_fine;
    result.line = LinearTransform{1.0L + slope, static_cast<long double>(d) - slope * static_cast<long double>(lead_middle)};
    result.found = true;
    return result;
  }
  // t_host = t + d0 + a + b (t - t0) = (1 + b) t + d0 + a - b t0.
  const long double slope = line.slope(min_span);
  const long double at_t0 = line.offset_at(line.t0, min_span);
  result.line = LinearTransform{1.0L + slope, at_t0 - slope * static_cast<long double>(line.t0)};
  for (const Point& p : points) {
    const Timestamp error = std::llabs(p.offset - nearest(line.offset_at(p.at, min_span)));
    result.line_error_ns = std::max(result.line_error_ns, error);
  }
  result.found = true;
  return result;
}

KvmWindowSync::Result KvmWindowSync::result_of(const Track& tracked) {
  Result result;
  if (!tracked.found) return result;
  result.found = true;
  result.coarse_offset_ns = tracked.lead_offset;
  // Guest events outside the host trace's time range cannot be checked: they do not count.
  result.inside_fraction =
      tracked.in_range ? static_cast<double>(tracked.inside) / static_cast<double>(tracked.in_range) : 0.0;
  result.guest_to_host = tracked.line;
  result.used_segments = tracked.used_segments;
  result.skipped_segments = tracked.skipped_segments;
  return result;
}

KvmWindowSync::Result KvmWindowSync::coarse(const Options& options) const { return result_of(track(options)); }

KvmWindowSync::Result KvmWindowSync::solve(const Options& options) const {
  const Track tracked = track(options);
  Result result = result_of(tracked);
  if (!result.found) return result;
  // The line's error: its distance from the segments' offsets, plus the drift within half a
  // segment (a segment's offset fits its middle), plus the 1 us search step.
  const long double drift_per_segment =
      std::fabs(tracked.line.alpha - 1.0L) * static_cast<long double>(options.segment_ns);
  Timestamp tolerance = tracked.line_error_ns + nearest(drift_per_segment / 2) + 2'000;
  LinearTransform estimate = tracked.line;
  size_t previous_count = 0;
  for (int round = 0; round < options.rounds; ++round) {
    // The constraints go to the hull as they are made (no list: they are as many as the windows).
    ConvexHullSync hull;
    size_t count = 0;
    sorted_constraints(
        estimate, tolerance,
        [&](const Result::Constraint& c) {
          hull.add_match(c.host_sends, c.send_ts, c.recv_ts);
          ++count;
        },
        [&] {
          hull = ConvexHullSync();
          count = 0;
        });
    const SyncQuality quality = hull.quality();
    if (quality != SyncQuality::accurate && quality != SyncQuality::approximate) {
      // Contradictory constraints: the first estimate was further off than its tolerance said,
      // so some events went to a neighbouring window. Retry with a wider guard.
      if (result.rounds == 0 && quality == SyncQuality::fail) {
        tolerance *= 4;
        continue;
      }
      break;  // keep the last good estimate
    }
    result.hull = hull;
    result.list_estimate = estimate;  // the list itself is recomputed by constraint_list()
    result.list_tolerance = tolerance;
    result.constraints = count;
    result.rounds = static_cast<uint64_t>(round) + 1;
    estimate = hull.other_to_reference();  // the guest is the hull's "other"
    if (quality != SyncQuality::accurate) continue;
    // The hull's error bound is the next round's guard. Converged when neither the constraints
    // nor the bound change.
    const long double bound = hull.accuracy_ns();
    const Timestamp previous_tolerance = tolerance;
    if (std::isfinite(bound)) tolerance = std::min(tolerance, static_cast<Timestamp>(std::ceil(bound)) + 1);
    if (count == previous_count && tolerance == previous_tolerance) break;
    previous_count = count;
  }
  result.guest_to_host = estimate;
  result.inside_fraction = inside_fraction(result.guest_to_host);
  return result;
}

namespace {

// The constraints of one vCPU in the order constraints() makes them (window by window), one at
// a time: that function's loop, resumable. The windows are read forward, with the one before
// and the one after the scan position at hand (the tolerance test needs both).
class VcpuConstraints {
 public:
  using Constraint = KvmWindowSync::Result::Constraint;
  using Window = KvmWindowSync::Window;
  VcpuConstraints(const KvmWindowSync::Windows& windows, const TimeSeq& events, const LinearTransform& guest_to_host,
                  Timestamp tolerance)
      : window_(windows.begin()), next_window_(windows.begin()), windows_end_(windows.end()),
        event_(events.begin()), events_end_(events.end()), to_host_(guest_to_host), tolerance_(tolerance) {
    if (next_window_ != windows_end_) ++next_window_;
  }

  // The next constraint; false when there is none.
  bool next(Constraint& out) {
    if (next_pending_ < pending_count_) {
      out = pending_[next_pending_++];
      return true;
    }
    if (window_ == windows_end_ || flushed_) return false;
    while (event_ != events_end_) {
      const Timestamp event = *event_;
      const Timestamp host = to_host_.apply(event);
      while (window_ != windows_end_ && window_->exit < host) advance();
      if (window_ == windows_end_) break;
      ++event_;
      if (window_->entry > host) continue;  // outside every window: not a constraint
      // Unambiguous only if no other window is within the estimate's error of it.
      if (window_.index() > 0 && previous_.exit >= host - tolerance_) continue;
      if (next_window_ != windows_end_ && next_window_->entry <= host + tolerance_) continue;
      if (!has_current_ || current_index_ != window_.index()) {
        const bool had = flush();
        has_current_ = true;
        current_index_ = window_.index();
        current_ = *window_;
        first_ = event;
        last_ = event;
        if (had) return next(out);
        continue;
      }
      last_ = event;
    }
    flushed_ = true;
    return flush() && next(out);
  }

 private:
  void advance() {
    previous_ = *window_;
    window_ = next_window_;
    if (next_window_ != windows_end_) ++next_window_;
  }
  // The two constraints of the window whose events were seen, as pending; false when none.
  bool flush() {
    if (!has_current_) return false;
    pending_[0] = {true, current_.entry, first_};  // host enters, then the guest runs
    pending_[1] = {false, last_, current_.exit};   // the guest runs, then the host exits
    pending_count_ = 2;
    next_pending_ = 0;
    has_current_ = false;
    return true;
  }

  KvmWindowSync::Windows::const_iterator window_, next_window_, windows_end_;
  Window previous_{};  // the window before window_ (when its index is not 0)
  TimeSeq::const_iterator event_, events_end_;
  const LinearTransform& to_host_;
  const Timestamp tolerance_;
  bool has_current_ = false;  // the window whose events are being seen
  size_t current_index_ = 0;
  Window current_{};
  Timestamp first_ = 0, last_ = 0;
  Constraint pending_[2] = {};
  int pending_count_ = 0, next_pending_ = 0;
  bool flushed_ = false;
};

Timestamp host_time(const KvmWindowSync::Result::Constraint& c) { return c.host_sends ? c.send_ts : c.recv_ts; }

}  // namespace

std::vector<KvmWindowSync::Result::Constraint> KvmWindowSync::constraints(const LinearTransform& guest_to_host,
                                                                          Timestamp tolerance) const {
  std::vector<Result::Constraint> found;
  for (size_t v = 0; v < events_.size() && v < windows_.size(); ++v) {
    VcpuConstraints vcpu(windows_[v], events_[v], guest_to_host, tolerance);
    for (Result::Constraint c; vcpu.next(c);) found.push_back(c);
  }
  // The hull is incremental: feed it in host-time order (a message's host end). The sort is
  // stable, so that ties keep the order of the vCPUs and of each vCPU's sequence: an order that
  // a merge can give without the list.
  std::stable_sort(found.begin(), found.end(), [&](const Result::Constraint& a, const Result::Constraint& b) {
    return host_time(a) < host_time(b);
  });
  return found;
}

bool KvmWindowSync::merge_constraints(const LinearTransform& guest_to_host, Timestamp tolerance,
                                      const std::function<void(const Result::Constraint&)>& fn) const {
  std::vector<VcpuConstraints> vcpus;
  const size_t n = std::min(events_.size(), windows_.size());
  vcpus.reserve(n);
  std::vector<Result::Constraint> heads(n);
  std::vector<size_t> live;  // the vCPUs with a head, by index
  for (size_t v = 0; v < n; ++v) {
    vcpus.emplace_back(windows_[v], events_[v], guest_to_host, tolerance);
    if (vcpus[v].next(heads[v])) live.push_back(v);
  }
  bool any = false;
  Timestamp previous = 0;
  while (!live.empty()) {
    size_t best = 0;  // into live; the vCPUs are few: a scan is enough
    for (size_t i = 1; i < live.size(); ++i)
      if (host_time(heads[live[i]]) < host_time(heads[live[best]])) best = i;
    const size_t v = live[best];
    const Timestamp t = host_time(heads[v]);
    // A tie goes to the lowest vCPU (the first in live), as in the stable sort. A host time
    // before the one given last means a vCPU's own sequence is out of order: the sort decides.
    if (any && t < previous) return false;
    fn(heads[v]);
    any = true;
    previous = t;
    if (!vcpus[v].next(heads[v])) live.erase(live.begin() + static_cast<std::ptrdiff_t>(best));
  }
  return true;
}

void KvmWindowSync::sorted_constraints(const LinearTransform& guest_to_host, Timestamp tolerance,
                                       const std::function<void(const Result::Constraint&)>& fn,
                                       const std::function<void()>& restart) const {
  if (merge_constraints(guest_to_host, tolerance, fn)) return;
  restart();
  for (const Result::Constraint& c : constraints(guest_to_host, tolerance)) fn(c);
}

std::vector<KvmWindowSync::Result::Constraint> KvmWindowSync::constraint_list(const Result& solved) const {
  if (solved.rounds == 0) return {};
  return constraints(solved.list_estimate, solved.list_tolerance);
}

void KvmWindowSync::for_each_constraint(const Result& solved,
                                        const std::function<void(const Result::Constraint&)>& fn) const {
  if (solved.rounds == 0) return;
  // What is given cannot be taken back: a first merge that gives nothing says whether it holds.
  if (merge_constraints(solved.list_estimate, solved.list_tolerance, [](const Result::Constraint&) {})) {
    merge_constraints(solved.list_estimate, solved.list_tolerance, fn);
    return;
  }
  for (const Result::Constraint& c : constraints(solved.list_estimate, solved.list_tolerance)) fn(c);
}

double KvmWindowSync::inside_fraction(const LinearTransform& guest_to_host) const {
  // Only guest events that map into the host trace's time range can be checked.
  const auto [host_begin, host_end] = host_range();
  uint64_t inside = 0, checked = 0;
  for (size_t v = 0; v < events_.size() && v < windows_.size(); ++v) {
    const Windows& windows = windows_[v];
    auto window = windows.begin();
    const auto windows_end = windows.end();
    for (Timestamp g : events_[v]) {
      const Timestamp host = guest_to_host.apply(g);
      if (host < host_begin || host > host_end) continue;
      ++checked;
      while (window != windows_end && window->exit < host) ++window;
      if (window != windows_end && window->entry <= host) ++inside;
    }
  }
  return checked ? static_cast<double>(inside) / static_cast<double>(checked) : 0.0;
}

}  // namespace vm
