// SPDX-License-Identifier: MIT
#include "base/spill_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace vm {
namespace {

constexpr size_t kMinReserve = size_t{256} << 20;

// `what`: the data kept ("execution graph"); `action`: what failed.
[[noreturn]] void fail(const std::string& what, const std::string& dir, const std::string& action, int err) {
  throw std::runtime_error(what + ": cannot " + action + " in `" + dir + "`: " + std::strerror(err) +
                           " (it is kept in an unnamed temporary file there: free disk space, or use a directory on "
                           "a local disk)");
}

// An unnamed file of `dir`: O_TMPFILE where the file system has it, else a named one removed at
// once.
int open_unnamed(const std::string& what, const std::string& dir) {
#ifdef O_TMPFILE
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) fail(what, dir, "create its temporary file", errno);
#endif
  std::string path = dir + "/.vm-spill-XXXXXX";
  int fd2 = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd2 < 0) fail(what, dir, "create its temporary file", errno);
  ::unlink(path.c_str());
  return fd2;
}

}  // namespace

SpillRegion::~SpillRegion() {
  if (base_) ::munmap(base_, reserved_);
  if (fd_ >= 0) ::close(fd_);
}

void SpillRegion::open(const std::string& dir, size_t max_bytes, const std::string& what, size_t chunk) {
  if (base_) throw std::logic_error("SpillRegion::open: already open");
  dir_ = dir.empty() ? std::string(".") : dir;
  what_ = what;
  chunk_ = chunk < 4096 ? 4096 : chunk;
  const size_t kChunk = chunk_;
  // Round up to whole chunks, without overflowing.
  reserved_ = max_bytes > SIZE_MAX - kChunk ? SIZE_MAX / kChunk * kChunk : (max_bytes + kChunk - 1) / kChunk * kChunk;
  if (reserved_ == 0) reserved_ = kChunk;
  fd_ = open_unnamed(what_, dir_);
  // Addresses only (no memory): halved while the system refuses (an address-space limit).
  void* p = MAP_FAILED;
  int err = 0;
  for (;;) {
    p = ::mmap(nullptr, reserved_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) break;
    err = errno;
    if (err != ENOMEM || reserved_ / 2 < kMinReserve) break;
    reserved_ = reserved_ / 2 / kChunk * kChunk;
  }
  if (p == MAP_FAILED) {
    ::close(fd_);
    fd_ = -1;
    fail(what_, dir_, "reserve " + std::to_string(reserved_ >> 20) + " MiB of addresses", err);
  }
  base_ = static_cast<std::byte*>(p);
  try {
    grow(1);
  } catch (...) {
    ::munmap(base_, reserved_);
    ::close(fd_);
    base_ = nullptr;
    fd_ = -1;
    reserved_ = mapped_ = 0;
    throw;
  }
}

void SpillRegion::grow(size_t bytes) {
  if (bytes <= mapped_) return;
  const size_t kChunk = chunk_;
  const size_t want = (bytes + kChunk - 1) / kChunk * kChunk;
  if (want > reserved_)
    throw std::runtime_error(what_ + ": more than " + std::to_string(reserved_ >> 20) + " MiB (its reservation)");
  // Allocated, not only sized: a full disk is an error here, not a SIGBUS at a later write.
  if (int err = ::posix_fallocate(fd_, static_cast<off_t>(mapped_), static_cast<off_t>(want - mapped_)))
    fail(what_, dir_, "grow its temporary file", err);
  void* p = ::mmap(base_ + mapped_, want - mapped_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_,
                   static_cast<off_t>(mapped_));
  if (p == MAP_FAILED) {
    const int err = errno;
    // A failed MAP_FIXED may have unmapped part of the reservation already: reserve it again so
    // that nothing else is placed there (and the destructor's munmap stays ours).
    ::mmap(base_ + mapped_, want - mapped_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    fail(what_, dir_, "map its temporary file", err);
  }
  mapped_ = want;
}

void SpillRegion::release() const {
  if (base_ && mapped_) ::madvise(base_, mapped_, MADV_DONTNEED);
}

}  // namespace vm
