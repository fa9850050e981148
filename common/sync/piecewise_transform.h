// SPDX-License-Identifier: MIT
#pragma once
// A machine's clock transform as the one-pass mode keeps learning it (issue 13, docs/design.md):
// linear pieces joined continuously, so that the output stays monotonic while the estimate
// changes under it. Babeltrace-free.
//
// The first piece is the lead window's estimate, from the earliest raw time on. When a better
// estimate E comes, at a raw time `at` that no mapped time has passed yet (the caller's
// frontier), the transform does not jump: a join piece goes from (at, T(at)) to
// (at + H, E(at + H)), then E itself from at + H on. The join's slope stays within
// [alpha_E / 2, 3 alpha_E / 2] (H is made long enough), so every piece increases and the whole
// stays continuous and increasing: a stream sorted by raw time stays sorted once mapped.
//
// Error bound of each piece, in reference-clock ns, when the true relation is linear
// (t_ref = a t_raw + b, the model of every estimate here):
//   * an estimate's piece has the bound of that estimate (its SyncBoundTerm lines, evaluated
//     over the piece's reference times, bound_over());
//   * a join J is linear, so J - truth is linear on [at, at + H] and |J - truth| is at most the
//     interpolation of its two ends' errors (|.| of a linear function is convex); at `at` the
//     error is the previous piece's there, at at + H the error is E's there.
// A piece without a bound (an estimate with none, or a join touching one) is unbounded.

#include <cstdint>
#include <vector>

#include "sync/convex_hull_sync.h"

namespace vm {

class PiecewiseTransform {
 public:
  struct Piece {
    int64_t from_raw = 0;  // the first raw time it maps (INT64_MIN for the first piece)
    // An estimate's line (join == false), t_ref = transform.apply(t_raw), or a join from
    // (from_raw, from_ref) towards (end_raw, end_ref), where the next piece takes over (or where
    // a later move_to() cut it): t_ref = from_ref + round(slope (t_raw - from_raw)).
    bool join = false;
    LinearTransform transform;
    int64_t end_raw = 0, from_ref = 0, end_ref = 0;
    long double slope = 1.0L;
    // The bound: an estimate's lines, or a join's errors at its two ends.
    bool bounded = false;
    std::vector<SyncBoundTerm> terms;
    long double error_from = 0, error_to = 0;
  };

  explicit PiecewiseTransform(const LinearTransform& first = LinearTransform::identity(), bool bounded = false,
                              std::vector<SyncBoundTerm> terms = {});

  int64_t apply(int64_t raw) const;
  // The raw times mapped from here on follow `next`, reached continuously over at least
  // `horizon_ns` (raw) from `at`. Every piece beginning after `at` is replaced. Nothing mapped
  // before may be later than `at` (the caller's frontier): what was mapped keeps its time.
  void move_to(int64_t at, const LinearTransform& next, bool bounded, std::vector<SyncBoundTerm> terms,
               int64_t horizon_ns);

  const std::vector<Piece>& pieces() const { return pieces_; }
  // The last raw time piece `i` maps (INT64_MAX for the last piece).
  int64_t to_raw(size_t i) const;
  // The bound of piece `i`'s error over the raw times [from_raw, to_raw] (clamped to the piece);
  // +infinity when unbounded.
  long double accuracy(size_t i, int64_t from_raw, int64_t to_raw) const;

 private:
  size_t piece_of(int64_t raw) const;
  // The bound of the error at one raw time, by its piece.
  long double error_at(size_t i, int64_t raw) const;

  std::vector<Piece> pieces_;
};

}  // namespace vm
