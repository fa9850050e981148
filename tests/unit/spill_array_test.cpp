// SPDX-License-Identifier: MIT
// SpillArray (common/analysis/graph/spill_array.h): the storage of a long run's execution graph.
// Expected values are the values the tests themselves pushed.

#include "analysis/graph/spill_array.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace vm::graph {
namespace {

struct Item {
  uint64_t a;
  uint32_t b;
};

uint64_t value_of(size_t i) { return i * 7919u + 3u; }

// A fresh empty directory of the test's own.
std::string fresh_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("vm-spill-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

bool empty_dir(const std::string& dir) { return std::filesystem::directory_iterator(dir) == std::filesystem::directory_iterator(); }

// 3,000,000 items of 16 bytes: 48 MB, three chunks of the file; read back after the pages were
// given back, also while new ones are added.
TEST(SpillArray, KeepsEveryValueAcrossReleases) {
  const std::string dir = fresh_dir("values");
  SpillArray<Item> a;
  a.spill_to(dir, 100'000'000);
  ASSERT_TRUE(a.spilled());
  const size_t n = 3'000'000;
  for (size_t i = 0; i < n; ++i) {
    a.push_back(Item{value_of(i), static_cast<uint32_t>(i)});
    if (i % 500'000 == 0) a.release();
  }
  a[17].b = 99;  // written in place, then released
  a.release();
  ASSERT_EQ(a.size(), n);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(a[i].a, value_of(i)) << i;
    ASSERT_EQ(a[i].b, i == 17 ? 99u : static_cast<uint32_t>(i)) << i;
  }
  size_t count = 0;
  for (const Item& x : a) count += x.a == value_of(count);
  EXPECT_EQ(count, n);
  // The file has no name: nothing is left in the directory, during the run or after it.
  EXPECT_TRUE(empty_dir(dir));
  a = SpillArray<Item>();
  EXPECT_TRUE(empty_dir(dir));
  std::filesystem::remove_all(dir);
}

TEST(SpillArray, SpillingCarriesTheElementsOver) {
  const std::string dir = fresh_dir("carry");
  SpillArray<Item> a;
  for (size_t i = 0; i < 1000; ++i) a.push_back(Item{value_of(i), 1});
  EXPECT_FALSE(a.spilled());
  a.spill_to(dir, 1 << 20);
  a.push_back(Item{value_of(1000), 1});
  a.release();
  ASSERT_EQ(a.size(), 1001u);
  for (size_t i = 0; i <= 1000; ++i) ASSERT_EQ(a[i].a, value_of(i)) << i;
  // Once in a file, it stays there: a second spill_to is a caller error, and loses nothing.
  EXPECT_THROW(a.spill_to(dir, 1 << 20), std::logic_error);
  EXPECT_EQ(a.size(), 1001u);
  // A moved array keeps its file; the moved-from one is empty.
  SpillArray<Item> b = std::move(a);
  EXPECT_TRUE(b.spilled());
  EXPECT_EQ(b.back().a, value_of(1000));
  std::filesystem::remove_all(dir);
}

// Past its reservation the array says so instead of writing beyond it.
TEST(SpillArray, RefusesToOutgrowItsReservation) {
  const std::string dir = fresh_dir("full");
  SpillArray<uint64_t> a;
  a.spill_to(dir, 1);  // rounded up to one 16 MiB chunk: 2^21 values
  const size_t room = (size_t{16} << 20) / sizeof(uint64_t);
  for (size_t i = 0; i < room; ++i) a.push_back(i);
  EXPECT_THROW(a.push_back(0), std::runtime_error);
  EXPECT_EQ(a.size(), room);
  EXPECT_EQ(a[room - 1], room - 1);
  std::filesystem::remove_all(dir);
}

TEST(SpillArray, NamesADirectoryItCannotUse) {
  SpillArray<Item> a;
  try {
    a.spill_to("/nonexistent-vm-spill-dir", 10);
    FAIL() << "no error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent-vm-spill-dir"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(a.spilled());
  a.push_back(Item{1, 2});  // still usable, in memory
  EXPECT_EQ(a[0].b, 2u);
}

}  // namespace
}  // namespace vm::graph
