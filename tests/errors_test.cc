// Bad input through the C++ and C APIs: a clear error, and nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanfill/fanfill.h"
#include "fanfill/fanfill.hpp"

namespace {

using fanfill::Distribution;
using fanfill::DType;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

struct BadCall {
  std::string what;  // a fragment the message must contain
  DType dtype;
  Distribution dist;
  uint64_t count = 64;
  uint64_t first = 0;
  int max_threads = 0;
};

std::vector<BadCall> BadCalls() {
  return {
      {"stddev", DType::kF32, Distribution::Normal(0, -1)},
      {"stddev", DType::kF32, Distribution::Normal(0, kNaN)},
      {"stddev", DType::kF64, Distribution::Normal(0, kInf)},
      {"mean", DType::kF32, Distribution::Normal(kNaN, 1)},
      {"mean", DType::kF32, Distribution::Normal(-kInf, 1)},
      {"f16 range", DType::kF16, Distribution::Normal(0, 1e4)},
      {"f32 range", DType::kF32, Distribution::Normal(0, 1e38)},
      {"low must be < high", DType::kF32, Distribution::Uniform(1, 1)},
      {"low must be < high", DType::kF32, Distribution::Uniform(2, 1)},
      {"finite", DType::kF64, Distribution::Uniform(kNaN, 1)},
      {"finite", DType::kF32, Distribution::Uniform(0, kInf)},
      {"f16 range", DType::kF16, Distribution::Uniform(0, 1e5)},
      {"bf16 range", DType::kBF16, Distribution::Uniform(-1e39, 0)},
      {"overflows", DType::kF32, Distribution::Uniform(-3e38, 3e38)},
      {"no f16 value", DType::kF16, Distribution::Uniform(0.1, 0.10001)},
      {"stddev must be > 0", DType::kF32, Distribution::TruncatedNormal(0, 0, -1, 1)},
      {"low must be < high", DType::kF32, Distribution::TruncatedNormal(0, 1, 1, -1)},
      {"beyond 5 stddev", DType::kF32, Distribution::TruncatedNormal(0, 1, 6, 7)},
      {"beyond 5 stddev", DType::kF64, Distribution::TruncatedNormal(0, 1, -9, -5.5)},
      {"no bf16 value", DType::kBF16, Distribution::TruncatedNormal(1, 1, 1.001, 1.002)},
      // An interval much narrower than stddev: a few distinct levels of p.
      {"too narrow for stddev 1e+07", DType::kF32, Distribution::TruncatedNormal(0, 1e7, -1, 1)},
      {"too narrow", DType::kBF16, Distribution::TruncatedNormal(0, 1e20, -1, 1)},
      // Bounds at the dtype's largest value (whose step up is inf) are no exception.
      {"too narrow for stddev 1e+30", DType::kF16,
       Distribution::TruncatedNormal(0, 1e30, -65504, 65504)},
      {"too narrow for stddev 1e+30", DType::kF8E5M2,
       Distribution::TruncatedNormal(0, 1e30, -57344, 57344)},
      {"too narrow for stddev 1e+30", DType::kF8E4M3, Distribution::TruncatedNormal(0, 1e30, 0, 448)},
      {"steps of the double", DType::kF64, Distribution::TruncatedNormal(0, 1e16, -1, 1)},
      {"too narrow", DType::kF64, Distribution::TruncatedNormal(0, 1e300, -1, 1)},
      // Wide enough in stddevs, but mean or stddev beyond what float arithmetic holds.
      {"float range", DType::kF32, Distribution::TruncatedNormal(0, 1e39, -3e38, 3e38)},
      {"float range", DType::kBF16, Distribution::TruncatedNormal(1e39, 1e39, -3e38, 3e38)},
      {"float range", DType::kF16, Distribution::TruncatedNormal(0, 1e39, -6e4, 6e4)},
      {"collapse to [-0, 0]: the scale is too large", DType::kF64,
       Distribution::Uniform(-1e-300, 1e-300).WithScale(1e30)},
      {"/ scale 1e+30 collapse", DType::kF64,
       Distribution::TruncatedNormal(0, 1, -1e-300, 1e-300).WithScale(1e30)},
      {"float range", DType::kF32, Distribution::TruncatedNormal(1e39, 1e39, -1, 1)},
      {"(bound - mean) / stddev overflows", DType::kF64,
       Distribution::TruncatedNormal(0, 1e-310, -1, 1)},
      // An infinite bound is no bound; NaN never is.
      {"bounds must be numbers or +-inf, got [nan, 1]", DType::kF32,
       Distribution::TruncatedNormal(0, 1, kNaN, 1)},
      {"low must be < high", DType::kF32, Distribution::TruncatedNormal(0, 1, kInf, kInf)},
      {"low must be < high", DType::kF64, Distribution::TruncatedNormal(0, 1, -kInf, -kInf)},
      {"beyond 5 stddev", DType::kF32, Distribution::TruncatedNormal(0, 1, -kInf, -6)},
      {"exceed the f16 range", DType::kF16, Distribution::TruncatedNormal(0, 1, -7e4, kInf)},
      // Where the values reach without a bound: mean + 1.2e4 * 5.77 > 65504.
      {"on [0, inf] can reach 7", DType::kF16, Distribution::TruncatedNormal(0, 1.2e4, 0, kInf)},
      // Each infinite side by its own reach, the advice by that side's end:
      // -400 - 10 * 5.77 = -457.7 below, so scale >= 2 (the upper side is 448).
      {"can reach -457.68", DType::kF8E4M3, Distribution::TruncatedNormal(-400, 10, -kInf, 448)},
      {"beyond the f8e4m3 range +-448; use scale >= 2", DType::kF8E4M3,
       Distribution::TruncatedNormal(-400, 10, -kInf, 448)},
      {"can reach 6", DType::kF16, Distribution::TruncatedNormal(6e4, 1e3, -65504, kInf)},
      {"beyond the f8e4m3 range +-448; use scale >= 2", DType::kF8E4M3,
       Distribution::TruncatedNormal(0, 100, -kInf, 0)},
      {"can reach", DType::kF32, Distribution::TruncatedNormal(0, 1e38, -kInf, kInf)},
      {"unknown dtype", static_cast<DType>(7), Distribution::Normal(0, 1)},
      {"unknown distribution", DType::kF32,
       Distribution{static_cast<Distribution::Kind>(9), 0, 1, 0, 1}},
      {"overflows the 2^64", DType::kF32, Distribution::Normal(0, 1), 2, kMax},
      {"overflows the 2^64", DType::kF32, Distribution::Normal(0, 1), kMax, 2},
      {"max_threads", DType::kF32, Distribution::Normal(0, 1), 64, 0, -1},
  };
}

TEST(Errors, CppThrowsAndWritesNothing) {
  for (const BadCall& call : BadCalls()) {
    std::vector<uint8_t> out(64 * 8, 0xAB);
    try {
      fanfill::Fill(out.data(), call.dtype, call.count, call.dist, {1, 2},
                    {call.first, call.max_threads});
      ADD_FAILURE() << "no error for a call that should fail with '" << call.what << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(call.what), std::string::npos)
          << "message '" << e.what() << "' does not mention '" << call.what << "'";
    }
    for (uint8_t b : out) ASSERT_EQ(b, 0xAB) << call.what << ": output was written";
  }
}

TEST(Errors, NullOutput) {
  EXPECT_THROW(fanfill::Fill(nullptr, DType::kF32, 1, Distribution::Normal(0, 1), {}),
               std::invalid_argument);
  EXPECT_THROW(fanfill::FillBits(nullptr, 5, {}), std::invalid_argument);
  // count 0 writes nothing and needs no buffer.
  EXPECT_NO_THROW(fanfill::Fill(nullptr, DType::kF32, 0, Distribution::Normal(0, 1), {}));
  // The last element of the index space is reachable.
  float last;
  EXPECT_NO_THROW(fanfill::Fill(&last, DType::kF32, 1, Distribution::Normal(0, 1), {}, {kMax, 0}));
}

TEST(Errors, TargetsByName) {
  EXPECT_THROW(fanfill::ForceTarget("NEON_WITHOUT_A_CPU"), std::invalid_argument);
  const std::vector<std::string> supported = fanfill::SupportedTargets();
  for (const std::string& t : supported) {
    fanfill::ForceTarget(t);
    EXPECT_EQ(fanfill::ActiveTarget(), t);
    // Forcing changes what runs, not what the CPU supports.
    EXPECT_EQ(fanfill::SupportedTargets(), supported);
  }
  fanfill::ForceTarget("auto");
  EXPECT_EQ(fanfill::ActiveTarget(), fanfill::SupportedTargets().front());
}

fanfill_dtype CDType(DType d) { return static_cast<fanfill_dtype>(static_cast<int>(d)); }

TEST(Errors, CApiReturnsCodeMessageAndWritesNothing) {
  for (const BadCall& call : BadCalls()) {
    if (call.max_threads != 0) continue;  // the C API sets threads separately
    std::vector<uint8_t> out(64 * 8, 0xAB);
    const Distribution& d = call.dist;
    int rc = 0;
    switch (d.kind) {
      // The *_scaled forms (scale 1 is the plain fill, bit for bit).
      case Distribution::Kind::kUniform:
        rc = fanfill_fill_uniform_scaled(out.data(), CDType(call.dtype), call.count, call.first,
                                         d.low, d.high, d.scale, 1, 2);
        break;
      case Distribution::Kind::kNormal:
        rc = fanfill_fill_normal_scaled(out.data(), CDType(call.dtype), call.count, call.first,
                                        d.mean, d.stddev, d.scale, 1, 2);
        break;
      case Distribution::Kind::kTruncatedNormal:
        rc = fanfill_fill_truncated_normal_scaled(out.data(), CDType(call.dtype), call.count,
                                                  call.first, d.mean, d.stddev, d.low, d.high,
                                                  d.scale, 1, 2);
        break;
      default:
        continue;  // not expressible through the C API
    }
    EXPECT_EQ(rc, FANFILL_ERR_INVALID_ARGUMENT) << call.what;
    const std::string message = fanfill_last_error();
    EXPECT_NE(message.find(call.what), std::string::npos)
        << "message '" << message << "' does not mention '" << call.what << "'";
    for (uint8_t b : out) ASSERT_EQ(b, 0xAB) << call.what << ": output was written";
  }
  EXPECT_EQ(fanfill_fill_bits(nullptr, 3, 0, 1, 2), FANFILL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fanfill_last_error()).find("null"), std::string::npos);
  EXPECT_EQ(fanfill_fill_normal(nullptr, FANFILL_F32, 1, 0, 0, 1, 1, 2),
            FANFILL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fanfill_set_max_threads(-2), FANFILL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fanfill_last_error()).find("max_threads"), std::string::npos);
  // Success clears the message.
  float v[3];
  EXPECT_EQ(fanfill_fill_normal(v, FANFILL_F32, 3, 0, 0, 1, 1, 2), FANFILL_OK);
  EXPECT_STREQ(fanfill_last_error(), "");
  EXPECT_EQ(fanfill_set_max_threads(1), FANFILL_OK);
  EXPECT_EQ(fanfill_set_max_threads(0), FANFILL_OK);
  EXPECT_STRNE(fanfill_version(), "");
  EXPECT_EQ(std::string(fanfill_target()), fanfill::ActiveTarget());
}

}  // namespace
