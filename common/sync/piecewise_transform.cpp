// SPDX-License-Identifier: MIT
#include "sync/piecewise_transform.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace vm {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr long double kUnbounded = std::numeric_limits<long double>::infinity();

__extension__ typedef __int128 Int128;

int64_t saturated(Int128 v) {
  return v > kMax ? kMax : v < kMin ? kMin : static_cast<int64_t>(v);
}

// A join's value: from_ref + slope (raw - from_raw), rounded to the nearest ns (halves up), as
// LinearTransform::apply rounds.
int64_t join_apply(const PiecewiseTransform::Piece& piece, int64_t raw) {
  const long double step = piece.slope * static_cast<long double>(static_cast<Int128>(raw) - piece.from_raw);
  return saturated(static_cast<Int128>(piece.from_ref) + static_cast<Int128>(std::floor(step + 0.5L)));
}

int64_t piece_apply(const PiecewiseTransform::Piece& piece, int64_t raw) {
  return piece.join ? join_apply(piece, raw) : piece.transform.apply(raw);
}

}  // namespace

PiecewiseTransform::PiecewiseTransform(const LinearTransform& first, bool bounded, std::vector<SyncBoundTerm> terms) {
  Piece piece;
  piece.from_raw = kMin;
  piece.transform = first;
  piece.bounded = bounded;
  piece.terms = std::move(terms);
  pieces_.push_back(std::move(piece));
}

size_t PiecewiseTransform::piece_of(int64_t raw) const {
  // Most times fall in the last piece: the caller maps in (nearly) increasing raw time.
  if (raw >= pieces_.back().from_raw) return pieces_.size() - 1;
  auto after = std::upper_bound(pieces_.begin(), pieces_.end(), raw,
                                [](int64_t t, const Piece& piece) { return t < piece.from_raw; });
  return after == pieces_.begin() ? 0 : static_cast<size_t>(after - pieces_.begin()) - 1;
}

int64_t PiecewiseTransform::apply(int64_t raw) const { return piece_apply(pieces_[piece_of(raw)], raw); }

int64_t PiecewiseTransform::to_raw(size_t i) const {
  return i + 1 < pieces_.size() ? pieces_[i + 1].from_raw - 1 : kMax;
}

long double PiecewiseTransform::error_at(size_t i, int64_t raw) const {
  const Piece& piece = pieces_[i];
  if (!piece.bounded) return kUnbounded;
  if (!piece.join) {
    const int64_t ref = piece.transform.apply(raw);
    return bound_over(piece.terms, ref, ref);
  }
  // Between the errors at its ends, from_raw and end_raw.
  const long double span = static_cast<long double>(static_cast<Int128>(piece.end_raw) - piece.from_raw);
  if (!(span > 0)) return std::max(piece.error_from, piece.error_to);
  long double share = static_cast<long double>(static_cast<Int128>(raw) - piece.from_raw) / span;
  share = std::clamp(share, 0.0L, 1.0L);
  return piece.error_from + (piece.error_to - piece.error_from) * share;
}

long double PiecewiseTransform::accuracy(size_t i, int64_t from_raw, int64_t to_raw) const {
  const Piece& piece = pieces_[i];
  if (!piece.bounded) return kUnbounded;
  const int64_t from = std::max(from_raw, piece.from_raw);
  const int64_t to = std::max(from, std::min(to_raw, this->to_raw(i)));
  if (!piece.join) return bound_over(piece.terms, piece.transform.apply(from), piece.transform.apply(to));
  return std::max(error_at(i, from), error_at(i, to));  // the bound is linear in between
}

void PiecewiseTransform::move_to(int64_t at, const LinearTransform& next, bool bounded,
                                 std::vector<SyncBoundTerm> terms, int64_t horizon_ns) {
  if (!(next.alpha > 0.0L) || !std::isfinite(next.alpha) || !std::isfinite(next.beta))
    return;  // not an increasing transform: keep the one we have
  const size_t i = piece_of(at);
  const int64_t from_ref = piece_apply(pieces_[i], at);
  const long double error_from = error_at(i, at);
  const bool bounded_from = pieces_[i].bounded;
  // What begins at `at` or later is replaced; a join that `at` cuts ends there.
  if (pieces_[i].from_raw >= at && i > 0) {
    pieces_.resize(i);
  } else {
    pieces_.resize(i + 1);
    Piece& cut = pieces_[i];
    if (cut.join) {
      cut.error_to = error_from;
      cut.end_raw = at;
      cut.end_ref = from_ref;
    }
  }
  if (pieces_.size() == 1 && pieces_[0].from_raw >= at) pieces_.clear();  // `at` is the very first time

  Piece line;
  line.transform = next;
  line.bounded = bounded;
  line.terms = std::move(terms);
  const int64_t next_at = next.apply(at);
  if (next_at == from_ref) {  // already continuous at `at`: no join
    line.from_raw = at;
    pieces_.push_back(std::move(line));
    return;
  }
  // Long enough that the join's slope stays within [alpha / 2, 3 alpha / 2]: it rises by
  // alpha H + (next(at) - from_ref), with |next(at) - from_ref| <= alpha H / 2.
  const long double gap = std::fabs(static_cast<long double>(static_cast<Int128>(next_at) - from_ref));
  const long double needed = std::ceil(2.0L * gap / next.alpha);
  const int64_t horizon =
      std::max<int64_t>(std::max<int64_t>(horizon_ns, 1), needed >= 9.0e18L ? kMax : static_cast<int64_t>(needed));
  const int64_t end = saturated(static_cast<Int128>(at) + horizon);
  const int64_t end_ref = std::max(from_ref, next.apply(end));

  Piece join;
  join.join = true;
  join.from_raw = at;
  join.from_ref = from_ref;
  join.end_raw = end;
  join.end_ref = end_ref;
  join.slope = static_cast<long double>(static_cast<Int128>(end_ref) - from_ref) /
               static_cast<long double>(static_cast<Int128>(end) - at);
  join.bounded = bounded_from && bounded;
  join.error_from = error_from;
  join.error_to = bounded ? bound_over(line.terms, end_ref, end_ref) : kUnbounded;
  pieces_.push_back(std::move(join));
  if (end == kMax) return;  // the join reaches the end of time
  line.from_raw = end;
  pieces_.push_back(std::move(line));
}

}  // namespace vm
