// SPDX-License-Identifier: MIT
#pragma once
// No babeltrace2 type here.

#include <cstddef>
#include <string>
#include <utility>

namespace vm {

// File-backed storage: bytes in a reserved address range, mapped from an unnamed temporary file
// (O_TMPFILE: a killed run leaves nothing behind) chunk by chunk as it grows. Under the
// execution graph's SpillArray (analysis/graph/spill_array.h) and pass 1's packed evidence
// (base/packed_seq.h). release() gives the resident pages back to the kernel (madvise
// MADV_DONTNEED on a shared file mapping): the data stays in the file, whose pages the kernel
// writes back, and a later access reads them back in.
class SpillRegion {
 public:
  SpillRegion() = default;
  SpillRegion(const SpillRegion&) = delete;
  SpillRegion& operator=(const SpillRegion&) = delete;
  SpillRegion(SpillRegion&& o) noexcept { swap(o); }
  SpillRegion& operator=(SpillRegion&& o) noexcept {
    SpillRegion tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  ~SpillRegion();

  // Reserves up to `max_bytes` of addresses (less when the system refuses that much: at least
  // 256 MiB), creates the file in `dir` and maps its first chunk, so that a directory or file
  // system that cannot hold it fails here, not later. The file grows by `chunk` bytes (a power of
  // two, at least a page). Throws std::runtime_error naming `what` (the data kept: "execution
  // graph"), the directory and the reason.
  void open(const std::string& dir, size_t max_bytes, const std::string& what = "execution graph",
            size_t chunk = size_t{16} << 20);
  bool is_open() const { return base_ != nullptr; }
  std::byte* data() const { return base_; }
  size_t mapped() const { return mapped_; }
  // Maps at least `bytes` (grows the file). Throws std::runtime_error when the reservation or the
  // file cannot hold them (the disk is full, the array outgrew its reservation).
  void grow(size_t bytes);
  // Drops the resident pages of the mapping (the data stays in the file).
  void release() const;

 private:
  void swap(SpillRegion& o) noexcept {
    std::swap(base_, o.base_);
    std::swap(reserved_, o.reserved_);
    std::swap(mapped_, o.mapped_);
    std::swap(fd_, o.fd_);
    std::swap(dir_, o.dir_);
    std::swap(what_, o.what_);
    std::swap(chunk_, o.chunk_);
  }
  std::byte* base_ = nullptr;
  size_t reserved_ = 0, mapped_ = 0;
  int fd_ = -1;
  std::string dir_, what_;
  size_t chunk_ = 0;
};

}  // namespace vm
