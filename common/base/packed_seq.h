// SPDX-License-Identifier: MIT
#pragma once
// Sequences of timestamps, or of [entry, exit] windows, kept compactly. Pass 1 of the fuse filter
// keeps, for guest matching (kvm/guest_matching.h), the time of every guest event and every KVM
// guest-mode window of the host: at 8 and 16 bytes each in std::vectors they were the largest
// part of its memory (docs/performance.md). Neighbouring items are close in time, so each is
// stored as differences from the one before, zigzag-encoded (a trace out of order stays exact,
// as do differences that overflow: the arithmetic wraps) in base-128 varints: 1 to 3 bytes at
// the gaps of kernel traces, 10 at most. Every kBlock-th item is kept whole with the byte offset
// of the differences after it, so lower_bound() finds its block by binary search and decodes at
// most one block.
//
// The codec names the differences: TimeCodec, a time from the time before; a window codec
// (sync/kvm_window_sync.h), an entry from the previous exit and an exit from its entry. It
// offers what the window solver reads: size, front, back, forward iteration, lower_bound and
// appending; no random access or modification.
//
// The bytes can live in a file (PackedBytes::spill_to): pass 1 then keeps about 1 MiB of each
// sequence resident, whatever the trace's length.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <vector>

#include "base/spill_region.h"
#include "base/types.h"

namespace vm {

// The bytes of a PackedSeq: a std::vector, or, after spill_to(dir) and once they reach
// kSpillAt, an unnamed temporary file of `dir` (base/spill_region.h) mapped into memory. Every
// kReleaseEvery bytes appended, and every kReleaseBlocks blocks read, a spilled sequence gives
// its resident pages back to the kernel, so that a long trace's evidence is not resident memory.
// A copy is always in memory (and not spilled).
class PackedBytes {
 public:
  static constexpr size_t kSpillAt = size_t{256} << 10;
  static constexpr size_t kReleaseEvery = size_t{1} << 20;
  static constexpr size_t kReleaseBlocks = size_t{1} << 13;
  // The file's room: addresses only, reserved once.
  static constexpr size_t kMaxSpilled = size_t{16} << 30;

  PackedBytes() = default;
  PackedBytes(const PackedBytes& o) : memory_(o.data_, o.data_ + o.size_) { sync_memory(); }
  PackedBytes& operator=(const PackedBytes& o) {
    if (this != &o) *this = PackedBytes(o);
    return *this;
  }
  PackedBytes(PackedBytes&& o) noexcept { swap(o); }
  PackedBytes& operator=(PackedBytes&& o) noexcept {
    PackedBytes tmp(std::move(o));
    swap(tmp);
    return *this;
  }

  // Spill to a file of `dir` (which must outlive this object) once kSpillAt bytes are held.
  void spill_to(const std::string* dir) {
    dir_ = dir;
    if (dir_ && !spilled() && size_ >= kSpillAt) spill();
  }
  bool spilled() const { return region_.is_open(); }

  void push_back(uint8_t b) {
    if (spilled()) {
      if (size_ == region_.mapped()) {
        region_.grow(size_ + 1);
        data_ = reinterpret_cast<uint8_t*>(region_.data());
      }
      data_[size_++] = b;
      if (++unreleased_ >= kReleaseEvery) release();
      return;
    }
    memory_.push_back(b);
    sync_memory();
    if (dir_ && size_ >= kSpillAt) spill();
  }
  uint8_t operator[](size_t i) const { return data_[i]; }
  size_t size() const { return size_; }
  // Bytes of memory held (a spilled sequence's are in its file).
  size_t capacity() const { return spilled() ? 0 : memory_.capacity(); }
  // A reader's note: one more block read.
  void read_block() const {
    if (spilled() && ++blocks_read_ >= kReleaseBlocks) release();
  }

 private:
  void sync_memory() {
    data_ = memory_.data();
    size_ = memory_.size();
  }
  void spill() {
    SpillRegion region;
    region.open(*dir_, kMaxSpilled, "pass 1's guest-matching evidence (filter.vm.fuse evidence-dir)", size_t{1} << 20);
    region.grow(size_);
    std::copy(memory_.begin(), memory_.end(), reinterpret_cast<uint8_t*>(region.data()));
    std::vector<uint8_t>().swap(memory_);
    region_ = std::move(region);
    data_ = reinterpret_cast<uint8_t*>(region_.data());
    release();
  }
  void release() const {
    region_.release();
    unreleased_ = 0;
    blocks_read_ = 0;
  }
  void swap(PackedBytes& o) noexcept {
    memory_.swap(o.memory_);
    std::swap(region_, o.region_);
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(dir_, o.dir_);
    std::swap(unreleased_, o.unreleased_);
    std::swap(blocks_read_, o.blocks_read_);
  }

  std::vector<uint8_t> memory_;
  SpillRegion region_;
  uint8_t* data_ = nullptr;  // memory_'s or region_'s
  size_t size_ = 0;
  const std::string* dir_ = nullptr;
  mutable size_t unreleased_ = 0, blocks_read_ = 0;
};

// The varint coding the codecs share.
struct Varint {
  static void put(PackedBytes& bytes, Timestamp previous, Timestamp value) {
    // The difference in unsigned arithmetic (wraps instead of overflowing), zigzag-encoded.
    const uint64_t delta = static_cast<uint64_t>(value) - static_cast<uint64_t>(previous);
    uint64_t zigzag = (delta << 1) ^ (0 - (delta >> 63));
    while (zigzag >= 0x80) {
      bytes.push_back(static_cast<uint8_t>(zigzag | 0x80));
      zigzag >>= 7;
    }
    bytes.push_back(static_cast<uint8_t>(zigzag));
  }
  // A varint of at most 10 bytes, written by put(): no bound on `bytes` is needed.
  static Timestamp get(const PackedBytes& bytes, size_t& byte, Timestamp previous) {
    uint64_t zigzag = 0;
    for (unsigned shift = 0;; shift += 7) {
      const uint8_t b = bytes[byte++];
      zigzag |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    const uint64_t delta = (zigzag >> 1) ^ (0 - (zigzag & 1));
    return static_cast<Timestamp>(static_cast<uint64_t>(previous) + delta);
  }
};

struct TimeCodec {
  static void put(PackedBytes& bytes, Timestamp previous, Timestamp value) {
    Varint::put(bytes, previous, value);
  }
  static Timestamp get(const PackedBytes& bytes, size_t& byte, Timestamp previous) {
    return Varint::get(bytes, byte, previous);
  }
};

template <typename T, typename Codec>
class PackedSeq {
 public:
  static constexpr size_t kBlock = 64;
  using value_type = T;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    const_iterator() = default;
    const T& operator*() const { return value_; }
    const T* operator->() const { return &value_; }
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
    size_t index() const { return index_; }

   private:
    friend class PackedSeq;
    const_iterator(const PackedSeq* seq, size_t index) : seq_(seq), index_(index) {
      if (index_ < seq_->size_) {
        const Block& block = seq_->blocks_[index_ / kBlock];
        seq_->bytes_.read_block();
        value_ = block.first;
        byte_ = block.offset;
        for (size_t i = index_ - index_ % kBlock; i < index_; ++i) value_ = Codec::get(seq_->bytes_, byte_, value_);
      }
    }
    void load() {
      if (index_ % kBlock == 0) {
        const Block& block = seq_->blocks_[index_ / kBlock];
        seq_->bytes_.read_block();
        value_ = block.first;
        byte_ = block.offset;
      } else {
        value_ = Codec::get(seq_->bytes_, byte_, value_);
      }
    }
    const PackedSeq* seq_ = nullptr;
    size_t index_ = 0;
    size_t byte_ = 0;  // where the next item's differences start
    T value_{};
  };
  using iterator = const_iterator;

  PackedSeq() = default;
  template <typename It>
  PackedSeq(It first, It last) {
    for (; first != last; ++first) push_back(*first);
  }
  PackedSeq(std::initializer_list<T> items) : PackedSeq(items.begin(), items.end()) {}

  void push_back(const T& item) {
    if (size_ % kBlock == 0)
      blocks_.push_back(Block{item, bytes_.size()});
    else
      Codec::put(bytes_, last_, item);
    last_ = item;
    ++size_;
  }
  // The std::vector spelling, for PerVcpu: appends [first, last).
  template <typename It>
  void insert(const_iterator /*at the end*/, It first, It last) {
    for (; first != last; ++first) push_back(*first);
  }

  // Keeps the bytes in a file of `dir` once they are long (PackedBytes::spill_to).
  void spill_to(const std::string* dir) { bytes_.spill_to(dir); }
  bool spilled() const { return bytes_.spilled(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& front() const { return blocks_.front().first; }
  const T& back() const { return last_; }
  const_iterator begin() const { return const_iterator(this, 0); }
  const_iterator end() const {
    const_iterator it;
    it.seq_ = this;
    it.index_ = size_;
    return it;
  }
  // The first item for which less(item, key) is false, as std::lower_bound (the sequence
  // ordered by `less`).
  template <typename Key, typename Less>
  const_iterator lower_bound(const Key& key, Less less) const {
    // The first block whose first item is not less than key; what is not less may start in the
    // block before it.
    const auto block = std::lower_bound(blocks_.begin(), blocks_.end(), key,
                                        [&](const Block& b, const Key& k) { return less(b.first, k); });
    size_t index = static_cast<size_t>(block - blocks_.begin());
    index = index > 0 ? (index - 1) * kBlock : 0;
    const_iterator it(this, index);
    while (it.index_ < size_ && less(*it, key)) ++it;
    return it;
  }
  template <typename Key>
  const_iterator lower_bound(const Key& key) const {
    return lower_bound(key, [](const T& item, const Key& k) { return item < k; });
  }
  // Bytes held, for the memory figures.
  size_t bytes() const { return bytes_.capacity() + blocks_.capacity() * sizeof(Block); }

  bool operator==(const PackedSeq& o) const { return size_ == o.size_ && std::equal(begin(), end(), o.begin()); }

 private:
  struct Block {
    T first;
    size_t offset;  // into bytes_: the differences of the block's second item
  };

  PackedBytes bytes_;
  std::vector<Block> blocks_;
  size_t size_ = 0;
  T last_{};
};

// The times of a guest CPU's events.
using TimeSeq = PackedSeq<Timestamp, TimeCodec>;

}  // namespace vm
