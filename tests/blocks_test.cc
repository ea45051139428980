// Block fills (fanfill/blocks.hpp): every block equals, byte for byte, the
// same slice of the whole tensor filled in one piece; shard helpers cover the
// tensor exactly once; errors write nothing.
#include "fanfill/blocks.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "tests/test_util.h"

namespace fanfill {
namespace {

using Shape = std::vector<int64_t>;

uint64_t Count(const Shape& s) {
  uint64_t n = 1;
  for (int64_t d : s) n *= static_cast<uint64_t>(d);
  return n;
}

// Global linear index of each block element, in block row-major order.
std::vector<uint64_t> BlockIndices(const Shape& shape, const Block& b) {
  std::vector<uint64_t> out;
  const size_t rank = shape.size();
  const uint64_t n = Count(b.extent);
  out.reserve(n);
  std::vector<int64_t> i(rank, 0);
  for (uint64_t e = 0; e < n; ++e) {
    uint64_t g = 0;
    for (size_t d = 0; d < rank; ++d) g = g * static_cast<uint64_t>(shape[d]) + static_cast<uint64_t>(b.offset[d] + i[d]);
    out.push_back(g);
    for (size_t d = rank; d-- > 0;) {
      if (++i[d] < b.extent[d]) break;
      i[d] = 0;
    }
  }
  return out;
}

std::vector<unsigned char> Slice(const std::vector<unsigned char>& full, size_t elem,
                                 const Shape& shape, const Block& b) {
  std::vector<unsigned char> out;
  for (uint64_t g : BlockIndices(shape, b)) {
    out.insert(out.end(), full.begin() + static_cast<ptrdiff_t>(g * elem),
               full.begin() + static_cast<ptrdiff_t>((g + 1) * elem));
  }
  return out;
}

Block RandomBlock(const Shape& shape, std::mt19937_64& rng) {
  Block b;
  for (int64_t s : shape) {
    const int64_t o = std::uniform_int_distribution<int64_t>(0, s)(rng);
    int64_t e = std::uniform_int_distribution<int64_t>(0, s - o)(rng);
    if (rng() % 3 == 0) e = s - o;              // often reach the end
    if (rng() % 4 == 0) { b.offset.push_back(0); b.extent.push_back(s); continue; }  // full dim
    if (e == 0 && rng() % 4 != 0) e = s - o;   // empty blocks now and then only
    b.offset.push_back(o);
    b.extent.push_back(e);
  }
  return b;
}

Shape RandomShape(std::mt19937_64& rng, int min_rank) {
  const int rank = std::uniform_int_distribution<int>(min_rank, 4)(rng);
  Shape s;
  for (int d = 0; d < rank; ++d) s.push_back(std::uniform_int_distribution<int64_t>(1, rank <= 2 ? 70 : 13)(rng));
  return s;
}

const DType kDTypes[] = {DType::kF32, DType::kF64, DType::kBF16, DType::kF16};

TEST(BlocksTest, RandomBlocksOfDistributionsEqualTheSlice) {
  std::mt19937_64 rng(1234);
  const Distribution dists[] = {Distribution::Normal(0.5, 2.0), Distribution::Uniform(-3, 1),
                                Distribution::TruncatedNormal(0, 1, -0.5, 2)};
  int nonempty = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const Shape shape = RandomShape(rng, 1);
    for (DType dt : kDTypes) {
      for (const Distribution& dist : dists) {
        const size_t elem = DTypeSize(dt);
        const StreamKey key{.seed = rng(), .stream = rng()};
        std::vector<unsigned char> full(Count(shape) * elem);
        Fill(full.data(), dt, Count(shape), dist, key);
        for (int k = 0; k < 3; ++k) {
          const Block b = RandomBlock(shape, rng);
          const std::vector<unsigned char> want = Slice(full, elem, shape, b);
          std::vector<unsigned char> got(want.size() + elem, 0xAB);
          FillBlock(got.data(), dt, shape, b, dist, key, {.max_threads = k % 2 == 0 ? 0 : 1});
          // (memcmp with a null pointer is undefined even for size 0: UBSan)
          ASSERT_TRUE(want.empty() || std::memcmp(got.data(), want.data(), want.size()) == 0)
              << "dtype " << DTypeName(dt) << " trial " << trial;
          for (size_t j = want.size(); j < got.size(); ++j) ASSERT_EQ(got[j], 0xAB);
          nonempty += want.empty() ? 0 : 1;
        }
      }
    }
  }
  EXPECT_GT(nonempty, 2000);
}

TEST(BlocksTest, LongRunsAndManyShortRuns) {
  const StreamKey key{.seed = 7, .stream = 9};
  const Distribution dist = Distribution::Normal(0, 1);
  struct Case { Shape shape; Block b; };
  const Case cases[] = {
      {{3, 40000}, {{1, 0}, {2, 40000}}},          // merged into one run of 80000
      {{3, 100000}, {{0, 10}, {3, 90000}}},        // three long runs
      {{2000, 64}, {{0, 5}, {2000, 32}}},          // 2000 short runs, parallel
      {{40, 30, 20}, {{3, 0, 0}, {30, 30, 20}}},   // merged trailing dims
      {{40, 30, 20}, {{3, 4, 1}, {30, 20, 18}}},
  };
  for (const Case& c : cases) {
    std::vector<float> full(Count(c.shape));
    Fill(std::span<float>(full), dist, key);
    std::vector<float> got(Count(c.b.extent));
    for (int threads : {0, 1, 2}) {
      FillBlock(std::span<float>(got), c.shape, c.b, dist, key, {.max_threads = threads});
      const std::vector<uint64_t> idx = BlockIndices(c.shape, c.b);
      for (size_t i = 0; i < idx.size(); ++i) {
        ASSERT_EQ(0, std::memcmp(&got[i], &full[idx[i]], sizeof(float))) << i;
      }
    }
  }
}

TEST(BlocksTest, RankZero) {
  const Shape shape;
  const Block b;
  double full = 0, got = 1;
  Fill(&full, DType::kF64, 1, Distribution::Normal(0, 1), {.seed = 3});
  FillBlock(&got, DType::kF64, shape, b, Distribution::Normal(0, 1), {.seed = 3});
  EXPECT_EQ(0, std::memcmp(&full, &got, sizeof(double)));
}

TEST(BlocksTest, RandomBlocksOfSchemesEqualTheSlice) {
  std::mt19937_64 rng(99);
  const char* specs[] = {"kaiming_normal", "kaiming_normal(mode=fan_out, nonlinearity=relu)",
                         "xavier_uniform", "trunc_normal(std=0.02, a=-0.04, b=0.04)",
                         "glorot_normal", "zeros", "constant(0.1)"};
  for (int trial = 0; trial < 80; ++trial) {
    const Shape shape = RandomShape(rng, 2);
    for (Layout layout : {Layout::kOI, Layout::kIO}) {
      for (const char* spec : specs) {
        const Scheme scheme = Scheme::Parse(spec);
        for (DType dt : kDTypes) {
          const size_t elem = DTypeSize(dt);
          const StreamKey key{.seed = rng(), .stream = rng()};
          std::vector<unsigned char> full(Count(shape) * elem);
          Init(full.data(), dt, shape, layout, scheme, key);
          const Block b = RandomBlock(shape, rng);
          const std::vector<unsigned char> want = Slice(full, elem, shape, b);
          std::vector<unsigned char> got(want.size());
          InitBlock(got.data(), dt, shape, layout, b, scheme, key);
          ASSERT_EQ(got, want) << spec << " " << DTypeName(dt) << " trial " << trial;
        }
      }
    }
  }
}

TEST(BlocksTest, ShardsCoverTheTensorExactlyOnceAndMatch) {
  const Scheme scheme = Scheme::Parse("kaiming_uniform");
  const StreamKey key{.seed = 5, .stream = 6};
  const Shape shapes2d[] = {{10, 7}, {7, 10}, {3, 5}, {1, 1}, {64, 33}};
  const Shape conv[] = {{10, 3, 3, 3}, {7, 2, 5}, {3, 4}};
  auto check = [&](const Shape& shape, auto make, int n) {
    std::vector<float> full(Count(shape));
    Init(std::span<float>(full), shape, Layout::kOI, scheme, key);
    std::vector<int> hits(full.size(), 0);
    std::vector<float> assembled(full.size(), -1.0f);
    for (int k = 0; k < n; ++k) {
      const Block b = make(shape, k, n);
      std::vector<float> part(BlockElementCount(b));
      InitBlock(std::span<float>(part), shape, Layout::kOI, b, scheme, key);
      const std::vector<uint64_t> idx = BlockIndices(shape, b);
      for (size_t i = 0; i < idx.size(); ++i) {
        ++hits[idx[i]];
        assembled[idx[i]] = part[i];
      }
    }
    for (int h : hits) ASSERT_EQ(h, 1);
    ASSERT_EQ(0, std::memcmp(assembled.data(), full.data(), full.size() * sizeof(float)));
  };
  for (const Shape& s : shapes2d) {
    for (int n = 1; n <= 6; ++n) {
      check(s, [](const Shape& sh, int64_t k, int64_t m) { return RowShard(sh, k, m); }, n);
      check(s, [](const Shape& sh, int64_t k, int64_t m) { return ColumnShard(sh, k, m); }, n);
    }
  }
  for (const Shape& s : conv) {
    for (int n = 1; n <= 4; ++n) {
      check(s, [](const Shape& sh, int64_t k, int64_t m) { return OutChannelShard(sh, k, m); }, n);
    }
  }
  // Uneven split: the first (rows % n) shards get one extra row.
  const Shape s = {10, 4};
  EXPECT_EQ(RowShard(s, 0, 4).extent, (Shape{3, 4}));
  EXPECT_EQ(RowShard(s, 1, 4).offset, (Shape{3, 0}));
  EXPECT_EQ(RowShard(s, 1, 4).extent, (Shape{3, 4}));
  EXPECT_EQ(RowShard(s, 2, 4).offset, (Shape{6, 0}));
  EXPECT_EQ(RowShard(s, 2, 4).extent, (Shape{2, 4}));
  EXPECT_EQ(RowShard(s, 3, 4).offset, (Shape{8, 0}));
  EXPECT_EQ(ColumnShard(s, 1, 3).offset, (Shape{0, 2}));
  EXPECT_EQ(ColumnShard(s, 1, 3).extent, (Shape{10, 1}));
  EXPECT_EQ(OutChannelShard(Shape{5}, 6, 8).extent, (Shape{0}));
  EXPECT_EQ(OutChannelShard(Shape{5}, 4, 8).extent, (Shape{1}));
}

TEST(BlocksTest, Errors) {
  using test::ExpectThrowsWith;
  const Shape shape = {4, 6};
  const Distribution dist = Distribution::Normal(0, 1);
  const StreamKey key{.seed = 1};
  std::vector<float> out(64, 7.0f);
  auto untouched = [&] {
    for (float v : out) ASSERT_EQ(v, 7.0f);
  };
  ExpectThrowsWith([&] { FillBlock(out.data(), DType::kF32, shape, Block{{0}, {4}}, dist, key); },
                   {"rank mismatch"});
  ExpectThrowsWith(
      [&] { FillBlock(out.data(), DType::kF32, shape, Block{{1, 0}, {4, 6}}, dist, key); },
      {"out of range", "dimension 0"});
  ExpectThrowsWith(
      [&] { FillBlock(out.data(), DType::kF32, shape, Block{{0, -1}, {1, 2}}, dist, key); },
      {"out of range", "dimension 1"});
  ExpectThrowsWith(
      [&] { FillBlock(out.data(), DType::kF32, shape, Block{{0, 0}, {1, -2}}, dist, key); },
      {"negative"});
  const Shape huge = {int64_t{1} << 40, int64_t{1} << 40};
  ExpectThrowsWith(
      [&] { FillBlock(out.data(), DType::kF32, huge, Block{{0, 0}, {1, 2}}, dist, key); },
      {"2^64"});
  ExpectThrowsWith(
      [&] { FillBlock(nullptr, DType::kF32, shape, Block{{0, 0}, {1, 2}}, dist, key); },
      {"null"});
  ExpectThrowsWith([&] {
    FillBlock(out.data(), DType::kF32, shape, Block{{0, 0}, {1, 2}}, Distribution::Normal(0, -1),
              key);
  }, {"std"});
  ExpectThrowsWith([&] {
    FillBlock(std::span<float>(out), shape, Block{{0, 0}, {1, 2}}, dist, key);
  }, {"elements"});
  FillBlock(nullptr, DType::kF32, shape, Block{{2, 6}, {2, 0}}, dist, key);  // empty: fine
  for (const char* spec : {"orthogonal", "sparse(sparsity=0.1)", "eye", "dirac"}) {
    const Shape s = std::string(spec) == "dirac" ? Shape{4, 4, 3} : shape;
    Block b = Shard(s, 0, 0, 2);
    ExpectThrowsWith([&] {
      InitBlock(out.data(), DType::kF32, s, Layout::kOI, b, Scheme::Parse(spec), key);
    }, {std::string(spec).substr(0, 4), "blockwise fill is not supported"});
  }
  ExpectThrowsWith([&] {
    InitBlock(out.data(), DType::kF16, shape, Layout::kOI, Block{{0, 0}, {1, 2}},
              Scheme::Parse("normal(mean=1e6)"), key);
  }, {"InitBlock"});
  ExpectThrowsWith([&] { RowShard(Shape{4, 4, 4}, 0, 2); }, {"2-D"});
  ExpectThrowsWith([&] { ColumnShard(shape, 2, 2); }, {"0 <= k < n"});
  ExpectThrowsWith([&] { Shard(shape, 2, 0, 1); }, {"dimension 2"});
  ExpectThrowsWith([&] { OutChannelShard(Shape{}, 0, 1); }, {"rank"});
  untouched();
}

}  // namespace
}  // namespace fanfill
