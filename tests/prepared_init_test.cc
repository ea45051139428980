// PreparedInit (schemes.hpp): prepare once, run whole / ranges / blocks, from
// any threads; the plan's runs equal Init, InitBlock and InitModel bit for bit.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fanfill/blocks.hpp"
#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "tests/test_util.h"

namespace fanfill {
namespace {

using Shape = std::vector<int64_t>;
using test::ExpectThrowsWith;

constexpr StreamKey kKey{.seed = 0x1234, .stream = 77};

std::vector<uint8_t> InitBytes(const Shape& shape, const char* spec, DType dtype) {
  std::vector<uint8_t> out(ElementCount(shape) * DTypeSize(dtype));
  Init(out.data(), dtype, shape, Layout::kOI, Scheme::Parse(spec), kKey);
  return out;
}

TEST(PreparedInit, RunEqualsInitForEverySchemeKindAndDtype) {
  const std::pair<const char*, Shape> cases[] = {
      {"kaiming_normal", {96, 40}},         {"xavier_uniform", {33, 7, 3}},
      {"trunc_normal(std=0.02)", {64, 65}}, {"constant(0.5)", {5, 9}},
      {"orthogonal", {24, 40}},             {"sparse(0.3)", {20, 11}},
      {"eye", {7, 9}},                      {"dirac", {6, 4, 3, 3}},
  };
  for (const auto& [spec, shape] : cases) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16, DType::kF16}) {
      const PreparedInit plan(shape, Layout::kOI, Scheme::Parse(spec), dtype, kKey);
      std::vector<uint8_t> out(plan.bytes(), 0xA5);
      plan.Run(out.data());
      EXPECT_EQ(out, InitBytes(shape, spec, dtype)) << spec << " " << DTypeName(dtype);
      EXPECT_EQ(plan.count(), ElementCount(shape));
      EXPECT_EQ(plan.bytes(), ElementCount(shape) * DTypeSize(dtype));
      const Description d = Describe(shape, Layout::kOI, Scheme::Parse(spec));
      EXPECT_EQ(plan.description().scheme, d.scheme);
      EXPECT_EQ(plan.description().kind, d.kind);
      EXPECT_EQ(plan.description().std, d.std);
      const bool pointwise = d.kind == Description::Kind::kUniform ||
                             d.kind == Description::Kind::kNormal ||
                             d.kind == Description::Kind::kTruncatedNormal ||
                             d.kind == Description::Kind::kConstant;
      EXPECT_EQ(plan.is_pointwise(), pointwise) << spec;
      // Runs are repeatable: the plan keeps nothing between them.
      std::vector<uint8_t> again(plan.bytes(), 0x5A);
      plan.Run(again.data(), {.max_threads = 1});
      EXPECT_EQ(again, out) << spec;
    }
  }
}

TEST(PreparedInit, RangesTileTheWholeTensor) {
  for (const char* spec : {"kaiming_uniform", "normal(std=0.02)", "trunc_normal", "ones"}) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      const Shape shape = {37, 53};
      const PreparedInit plan(shape, Layout::kOI, Scheme::Parse(spec), dtype, kKey);
      const size_t size = DTypeSize(dtype);
      const std::vector<uint8_t> whole = InitBytes(shape, spec, dtype);
      std::vector<uint8_t> pieces(whole.size(), 0xA5);
      // Uneven pieces that start and end off Philox blocks.
      const uint64_t cuts[] = {0, 1, 6, 7, 400, 1001, 1960, plan.count()};
      for (size_t c = 0; c + 1 < std::size(cuts); ++c) {
        plan.RunRange(pieces.data() + cuts[c] * size, cuts[c], cuts[c + 1] - cuts[c],
                      {.max_threads = c % 2 ? 1 : 0});
      }
      EXPECT_EQ(pieces, whole) << spec << " " << DTypeName(dtype);
    }
  }
}

TEST(PreparedInit, BlocksEqualInitBlockAndTheSliceOfTheWhole) {
  const Shape shape = {12, 10, 3};
  const Block block{{2, 3, 0}, {5, 4, 3}};
  for (const char* spec : {"kaiming_normal(mode=fan_out)", "uniform(-2, 3)", "zeros"}) {
    const PreparedInit plan(shape, Layout::kOI, Scheme::Parse(spec), DType::kF32, kKey);
    std::vector<float> got(BlockElementCount(block), -1.0f), viaInitBlock(got.size(), -2.0f);
    plan.RunBlock(got.data(), block);
    InitBlock(viaInitBlock.data(), DType::kF32, shape, Layout::kOI, block, Scheme::Parse(spec),
              kKey);
    std::vector<float> whole(ElementCount(shape));
    plan.Run(whole.data());
    size_t k = 0;
    for (int64_t i = 2; i < 7; ++i) {
      for (int64_t j = 3; j < 7; ++j) {
        for (int64_t l = 0; l < 3; ++l, ++k) {
          ASSERT_EQ(std::memcmp(&got[k], &whole[(i * 10 + j) * 3 + l], sizeof(float)), 0)
              << spec << " at " << i << "," << j << "," << l;
        }
      }
    }
    EXPECT_EQ(std::memcmp(got.data(), viaInitBlock.data(), got.size() * sizeof(float)), 0);
  }
}

TEST(PreparedInit, ConcurrentRunsFromManyThreads) {
  const PreparedInit plan({256, 512}, Layout::kOI, Scheme::Parse("kaiming_normal"), DType::kBF16,
                          kKey);
  std::vector<uint16_t> whole(plan.count());
  plan.Run(whole.data());
  constexpr int kThreads = 8;
  std::vector<std::vector<uint16_t>> parts(kThreads);
  std::vector<std::thread> threads;
  const uint64_t per = plan.count() / kThreads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      parts[t].resize(per);
      plan.RunRange(parts[t].data(), t * per, per, {.max_threads = t % 3});
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(std::equal(parts[t].begin(), parts[t].end(), whole.begin() + t * per)) << t;
  }
}

TEST(PreparedInit, NonPointwiseSchemesRefuseRangesAndBlocks) {
  std::vector<float> out(64, 7.0f);
  for (const char* spec : {"orthogonal", "sparse(0.1)", "eye", "dirac"}) {
    const Shape shape = std::string(spec) == "dirac" ? Shape{4, 4, 2} : Shape{4, 8};
    const PreparedInit plan(shape, Layout::kOI, Scheme::Parse(spec), DType::kF32, kKey);
    EXPECT_FALSE(plan.is_pointwise());
    ExpectThrowsWith([&] { plan.RunRange(out.data(), 0, 4); },
                     {std::string(spec).substr(0, 4), "range fill is not supported"});
    ExpectThrowsWith([&] { plan.RunBlock(out.data(), Shard(shape, 0, 0, 2)); },
                     {std::string(spec).substr(0, 4), "blockwise fill is not supported"});
  }
  for (float v : out) ASSERT_EQ(v, 7.0f);
}

TEST(PreparedInit, BadInputIsRefusedAndNothingWritten) {
  std::vector<float> out(64, 7.0f);
  const Scheme kaiming = Scheme::Parse("kaiming_normal");
  // Construction: the one validation of a request.
  ExpectThrowsWith([&] { PreparedInit({4, -1}, Layout::kOI, kaiming, DType::kF32, kKey); },
                   {"dimension 1 is -1"});
  ExpectThrowsWith([&] { PreparedInit({8}, Layout::kOI, kaiming, DType::kF32, kKey); },
                   {"needs fan_in"});
  ExpectThrowsWith(
      [&] { PreparedInit({4, 4}, static_cast<Layout>(5), kaiming, DType::kF32, kKey); },
      {"unknown layout 5"});
  ExpectThrowsWith(
      [&] { PreparedInit({4, 4}, Layout::kOI, kaiming, static_cast<DType>(9), kKey); },
      {"unknown dtype 9"});
  ExpectThrowsWith([&] {
    PreparedInit({4, 4}, Layout::kOI, Scheme::Parse("normal(mean=1e6)"), DType::kF16, kKey);
  }, {"normal(mean=1e+06", "f16"});
  // Runs: their own range, block and output.
  const PreparedInit plan({4, 8}, Layout::kOI, kaiming, DType::kF32, kKey);
  ExpectThrowsWith([&] { plan.RunRange(out.data(), 30, 3); }, {"outside the tensor's 32"});
  ExpectThrowsWith([&] { plan.RunRange(out.data(), ~uint64_t{0}, 2); }, {"outside"});
  ExpectThrowsWith([&] { plan.RunRange(nullptr, 0, 3); }, {"out is null"});
  ExpectThrowsWith([&] { plan.Run(nullptr); }, {"out is null"});
  ExpectThrowsWith([&] { plan.Run(out.data(), {.max_threads = -1}); }, {"max_threads"});
  ExpectThrowsWith([&] { plan.RunBlock(out.data(), Block{{0}, {2}}); }, {"rank mismatch"});
  ExpectThrowsWith([&] { plan.RunBlock(out.data(), Block{{3, 0}, {2, 8}}); }, {"out of range"});
  ExpectThrowsWith([&] { plan.RunBlock(nullptr, Block{{0, 0}, {2, 8}}); }, {"out is null"});
  for (float v : out) ASSERT_EQ(v, 7.0f);
  plan.RunRange(nullptr, 32, 0);  // empty ranges are fine, even at the end
}

TEST(PreparedInit, ZeroElementTensorsAreValidAndWriteNothing) {
  // No fans (a zero dimension): still a valid plan, as Init.
  const PreparedInit plan({0, 5}, Layout::kOI, Scheme::Parse("kaiming_normal(mode=fan_out)"),
                          DType::kF32, kKey);
  EXPECT_EQ(plan.count(), 0u);
  EXPECT_EQ(plan.bytes(), 0u);
  EXPECT_TRUE(plan.is_pointwise());
  plan.Run(nullptr);
  plan.RunRange(nullptr, 0, 0);
  plan.RunBlock(nullptr, Block{{0, 1}, {0, 3}});
}

TEST(PreparedInit, PrepareModelMatchesInitModelAndDescribeModel) {
  ModelSpec model;
  model.tensors.push_back({.name = "w", .shape = {16, 8}, .scheme = "kaiming_uniform"});
  model.tensors.push_back(
      {.name = "b", .shape = {16}, .scheme = "torch_default_bias", .fans_from = "w"});
  model.tensors.push_back({.name = "q", .shape = {8, 8}, .scheme = "orthogonal",
                           .dtype = DType::kBF16, .stream = 99});
  const std::vector<PreparedInit> plans = PrepareModel(model, 5);
  ASSERT_EQ(plans.size(), 3u);
  EXPECT_EQ(plans[0].key().stream, StreamId("w"));
  EXPECT_EQ(plans[2].key().stream, 99u);
  EXPECT_EQ(plans[1].description().fan_in, 8.0);  // fans_from applied
  std::vector<std::vector<uint8_t>> a, b;
  std::vector<void*> outs;
  for (const PreparedInit& p : plans) a.emplace_back(p.bytes(), 0), b.emplace_back(p.bytes(), 1);
  for (auto& v : b) outs.push_back(v.data());
  InitModel(model, outs, 5);
  for (size_t i = 0; i < plans.size(); ++i) {
    plans[i].Run(a[i].data());
    EXPECT_EQ(a[i], b[i]) << model.tensors[i].name;
  }
  const std::vector<TensorDescription> d1 = DescribeModel(model), d2 = DescribeModel(model, plans);
  ASSERT_EQ(d1.size(), d2.size());
  for (size_t i = 0; i < d1.size(); ++i) {
    EXPECT_EQ(d1[i].name, d2[i].name);
    EXPECT_EQ(d1[i].stream, d2[i].stream);
    EXPECT_EQ(d1[i].bytes, d2[i].bytes);
    EXPECT_EQ(d1[i].description.scheme, d2[i].description.scheme);
  }
  ExpectThrowsWith([&] { DescribeModel(model, std::span(plans).first(2)); },
                   {"2 plans for 3 tensors"});
  model.tensors[0].dtype = DType::kF16;
  model.tensors[0].scheme = "constant(1e6)";
  ExpectThrowsWith([&] { PrepareModel(model, 5); }, {"tensor #0 'w'", "overflows f16"});
}

}  // namespace
}  // namespace fanfill
