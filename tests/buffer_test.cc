// Buffer / AllocateAndFill (fanfill/buffer.hpp).
#include "fanfill/buffer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "tests/test_util.h"

namespace fanfill {
namespace {

TEST(BufferTest, ValuesEqualAFillIntoAVector) {
  const StreamKey key{.seed = 11, .stream = 12};
  struct Case { DType dtype; uint64_t count; Distribution dist; uint64_t first; int threads; };
  const Case cases[] = {
      {DType::kF32, (uint64_t{3} << 20) + 5, Distribution::Normal(0, 0.02), 0, 0},
      {DType::kF64, 100001, Distribution::Uniform(-1, 1), 77, 0},
      {DType::kBF16, 4097, Distribution::TruncatedNormal(0, 1, -2, 2), 3, 1},
      {DType::kF16, 1, Distribution::Normal(1, 2), 0, 2},
  };
  for (const Case& c : cases) {
    const size_t bytes = c.count * DTypeSize(c.dtype);
    std::vector<unsigned char> want(bytes);
    const FillOptions opts{.first_index = c.first, .max_threads = c.threads};
    Fill(want.data(), c.dtype, c.count, c.dist, key, opts);
    Buffer b = AllocateAndFill(c.dtype, c.count, c.dist, key, opts);
    ASSERT_EQ(b.size_bytes(), bytes);
    ASSERT_NE(b.data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kBufferAlignment, 0u);
    EXPECT_EQ(0, std::memcmp(b.data(), want.data(), bytes)) << DTypeName(c.dtype);
  }
}

TEST(BufferTest, AlignmentAndMoves) {
  for (size_t bytes : {size_t{1}, size_t{4096}, kBufferAlignment - 1, kBufferAlignment,
                       kBufferAlignment + 1, size_t{5} << 20}) {
    Buffer b = Buffer::Allocate(bytes);
    ASSERT_EQ(b.size_bytes(), bytes);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kBufferAlignment, 0u);
    auto* p = static_cast<unsigned char*>(b.data());
    p[0] = 1;
    p[bytes - 1] = 2;  // whole range writable
    Buffer moved(std::move(b));
    EXPECT_EQ(b.data(), nullptr);
    EXPECT_EQ(b.size_bytes(), 0u);
    EXPECT_EQ(moved.data(), p);
    Buffer assigned = Buffer::Allocate(100);
    assigned = std::move(moved);
    EXPECT_EQ(assigned.data(), p);
    EXPECT_EQ(static_cast<unsigned char*>(assigned.data())[bytes - 1], 2);
  }
}

TEST(BufferTest, ZeroSize) {
  Buffer a = Buffer::Allocate(0);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.data(), nullptr);
  Buffer b = AllocateAndFill(DType::kF32, 0, Distribution::Normal(0, 1), {.seed = 1});
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_TRUE(b.span<float>().empty());
  Buffer c;
  EXPECT_EQ(c.size_bytes(), 0u);
}

TEST(BufferTest, SpanAndErrors) {
  Buffer b = AllocateAndFill(DType::kF64, 10, Distribution::Normal(0, 1), {.seed = 1});
  EXPECT_EQ(b.span<double>().size(), 10u);
  EXPECT_EQ(b.span<float>().size(), 20u);
  Buffer odd = Buffer::Allocate(3);
  test::ExpectThrowsWith([&] { odd.span<float>(); }, {"multiple"});
  test::ExpectThrowsWith(
      [] { AllocateAndFill(DType::kF32, 10, Distribution::Normal(0, -1), {.seed = 1}); },
      {"std"});
  test::ExpectThrowsWith(
      [] {
        AllocateAndFill(DType::kF32, 10, Distribution::Normal(0, 1), {.seed = 1},
                        {.first_index = UINT64_MAX - 3});
      },
      {"overflow"});
}

}  // namespace
}  // namespace fanfill
