// SPDX-License-Identifier: MIT
#pragma once
// A growable array of plain values that can live in a file instead of the process's memory: the
// storage of a long run's execution graph (issue 12, "memory stays flat").
//
// In memory (the default) it is a std::vector. After spill_to(dir), its elements are in an
// unnamed temporary file of `dir` (O_TMPFILE: it has no name, so a killed run leaves nothing
// behind), mapped into one reserved range of addresses that never moves, so an element's address
// is stable and indexing is a plain load. release() gives the mapped pages back to the kernel
// (madvise MADV_DONTNEED on a shared file mapping): the process's resident memory drops, the data
// stays in the file (the page cache writes it back), and a later access reads it back in. The
// owner calls release() every so many elements added or visited, which bounds the resident part
// of the array whatever its length.
//
// No babeltrace2 type here.

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/spill_region.h"

namespace vm::graph {

using vm::SpillRegion;

template <class T>
class SpillArray {
  static_assert(std::is_trivially_copyable_v<T>, "SpillArray holds plain values");

 public:
  SpillArray() = default;
  SpillArray(const SpillArray&) = delete;
  SpillArray& operator=(const SpillArray&) = delete;
  SpillArray(SpillArray&&) noexcept = default;
  SpillArray& operator=(SpillArray&&) noexcept = default;

  // Moves the array (empty, or whatever it holds) into a temporary file of `dir`, room for
  // `max_size` elements. Throws std::runtime_error naming the directory and the reason.
  void spill_to(const std::string& dir, size_t max_size) {
    if (spilled()) throw std::logic_error("SpillArray::spill_to: already in a file");
    if (max_size > SIZE_MAX / sizeof(T)) max_size = SIZE_MAX / sizeof(T);
    SpillRegion region;
    region.open(dir, max_size * sizeof(T));
    region.grow(memory_.size() * sizeof(T));
    if (!memory_.empty()) std::memcpy(region.data(), memory_.data(), memory_.size() * sizeof(T));
    size_ = memory_.size();
    std::vector<T>().swap(memory_);
    region_ = std::move(region);
    data_ = reinterpret_cast<T*>(region_.data());
  }
  bool spilled() const { return region_.is_open(); }

  size_t size() const { return spilled() ? size_ : memory_.size(); }
  bool empty() const { return size() == 0; }
  T& operator[](size_t i) {
    assert(i < size());  // past size() is mapped but not the array's: ASan cannot see it
    return spilled() ? data_[i] : memory_[i];
  }
  const T& operator[](size_t i) const {
    assert(i < size());
    return spilled() ? data_[i] : memory_[i];
  }
  T& back() { return (*this)[size() - 1]; }
  const T* begin() const { return spilled() ? data_ : memory_.data(); }
  const T* end() const { return begin() + size(); }

  void push_back(const T& x) {
    if (!spilled()) {
      memory_.push_back(x);
      return;
    }
    if ((size_ + 1) * sizeof(T) > region_.mapped()) region_.grow((size_ + 1) * sizeof(T));
    data_[size_++] = x;
  }

  // Gives the resident pages back to the kernel; nothing when in memory.
  void release() const {
    if (spilled()) region_.release();
  }

 private:
  std::vector<T> memory_;
  SpillRegion region_;
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vm::graph
