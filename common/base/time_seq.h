// SPDX-License-Identifier: MIT
#pragma once
// A sequence of timestamps kept compactly: pass 1 of the fuse filter keeps the time of every guest
// event for guest matching (kvm/guest_matching.h), 8 bytes each in a std::vector, the largest
// part of its memory at 10 M events (docs/performance.md). Consecutive events of one CPU are
// close in time, so each is stored as the difference from the one before, zigzag-encoded (a
// trace out of order stays exact) in a base-128 varint: 1 to 3 bytes at the gaps of kernel traces
// (under 2 ms), 10 at most. Every kBlock-th timestamp is kept whole with the byte offset of the
// differences after it, so lower_bound() finds its block by binary search and decodes at most
// one block.
//
// It offers what the window solver reads (kvm_window_sync.cpp): size, front, back, forward
// iteration, lower_bound and appending; no random access or modification.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <vector>

#include "base/types.h"

namespace vm {

class TimeSeq {
 public:
  static constexpr size_t kBlock = 64;
  using value_type = Timestamp;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Timestamp;
    using difference_type = std::ptrdiff_t;
    using pointer = const Timestamp*;
    using reference = const Timestamp&;

    const_iterator() = default;
    const Timestamp& operator*() const { return value_; }
    const_iterator& operator++() {
      if (++index_ < seq_->size_) load();
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const const_iterator& o) const { return index_ == o.index_; }
    bool operator!=(const const_iterator& o) const { return index_ != o.index_; }

   private:
    friend class TimeSeq;
    const_iterator(const TimeSeq* seq, size_t index) : seq_(seq), index_(index) {
      if (index_ < seq_->size_) {
        const Block& block = seq_->blocks_[index_ / kBlock];
        value_ = block.first;
        byte_ = block.offset;
        for (size_t i = index_ - index_ % kBlock; i < index_;) {
          ++i;
          value_ = seq_->decode_after(value_, byte_);
        }
      }
    }
    void load() {
      if (index_ % kBlock == 0) {
        const Block& block = seq_->blocks_[index_ / kBlock];
        value_ = block.first;
        byte_ = block.offset;
      } else {
        value_ = seq_->decode_after(value_, byte_);
      }
    }
    const TimeSeq* seq_ = nullptr;
    size_t index_ = 0;
    size_t byte_ = 0;  // where the next difference starts
    Timestamp value_ = 0;
  };
  using iterator = const_iterator;

  TimeSeq() = default;
  template <typename It>
  TimeSeq(It first, It last) {
    for (; first != last; ++first) push_back(*first);
  }
  TimeSeq(std::initializer_list<Timestamp> items) : TimeSeq(items.begin(), items.end()) {}

  void push_back(Timestamp t) {
    if (size_ % kBlock == 0) {
      blocks_.push_back(Block{t, bytes_.size()});
    } else {
      // The difference in unsigned arithmetic (wraps instead of overflowing), zigzag-encoded.
      const uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(last_);
      uint64_t zigzag = (delta << 1) ^ (0 - (delta >> 63));
      while (zigzag >= 0x80) {
        bytes_.push_back(static_cast<uint8_t>(zigzag | 0x80));
        zigzag >>= 7;
      }
      bytes_.push_back(static_cast<uint8_t>(zigzag));
    }
    last_ = t;
    ++size_;
  }
  void append(const TimeSeq& other) {
    for (const Timestamp t : other) push_back(t);
  }
  // The std::vector spelling, for PerVcpu: appends [first, last).
  template <typename It>
  void insert(const_iterator /*at the end*/, It first, It last) {
    for (; first != last; ++first) push_back(*first);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Timestamp front() const { return blocks_.front().first; }
  Timestamp back() const { return last_; }
  const_iterator begin() const { return const_iterator(this, 0); }
  const_iterator end() const {
    const_iterator it;
    it.seq_ = this;
    it.index_ = size_;
    return it;
  }
  // The first timestamp not before `t`, as std::lower_bound (the sequence in order).
  const_iterator lower_bound(Timestamp t) const {
    // The first block whose first timestamp is >= t; what is not before t may start in the block
    // before it.
    const auto block = std::lower_bound(blocks_.begin(), blocks_.end(), t,
                                        [](const Block& b, Timestamp x) { return b.first < x; });
    size_t index = static_cast<size_t>(block - blocks_.begin());
    index = index > 0 ? (index - 1) * kBlock : 0;
    const_iterator it(this, index);
    while (it.index_ < size_ && *it < t) ++it;
    return it;
  }
  // Bytes held, for the memory figures.
  size_t bytes() const { return bytes_.capacity() + blocks_.capacity() * sizeof(Block); }

  bool operator==(const TimeSeq& o) const { return size_ == o.size_ && std::equal(begin(), end(), o.begin()); }

 private:
  struct Block {
    Timestamp first;
    size_t offset;  // into bytes_: the difference of the block's second timestamp
  };
  Timestamp decode_after(Timestamp previous, size_t& byte) const {
    uint64_t zigzag = 0;
    // A varint of at most 10 bytes, written by push_back: no bound on bytes_ is needed.
    for (unsigned shift = 0;; shift += 7) {
      const uint8_t b = bytes_[byte++];
      zigzag |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    const uint64_t delta = (zigzag >> 1) ^ (0 - (zigzag & 1));
    return static_cast<Timestamp>(static_cast<uint64_t>(previous) + delta);
  }

  std::vector<uint8_t> bytes_;
  std::vector<Block> blocks_;
  size_t size_ = 0;
  Timestamp last_ = 0;
};

}  // namespace vm
