// FP8 (E4M3 = float8_e4m3fn, E5M2 = float8_e5m2): the scalar conversions of
// dtype.h against an independent derivation (every finite FP8 value decoded
// with ldexp from its fields, the nearest one to the float taken in double,
// ties to the even pattern, and torch 2.13's overflow rule: what would round
// past the largest finite value, and inf, is +-448 for E4M3 (saturation) and
// inf for E5M2; NaN is 0x7F with the sign), a few values
// written out by hand, and the FP8 fills: validation (overflow, underflow,
// scale), the scale's documented arithmetic, the bounds kept after rounding,
// no non-finite output. The full 2^32 comparison with torch is
// scripts/fp8_torch_sweep.py (docs/fp8.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanfill/fanfill.h"
#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.h"
#include "fanfill/schemes.hpp"
#include "src/core/common.h"
#include "src/core/dtype.h"
#include "src/core/fill_params.h"

namespace {

using fanfill::Distribution;
using fanfill::DType;
namespace fi = fanfill::internal;

// ------------------------------------------------ the independent derivation

struct Format {
  int mant_bits, bias;
  bool e4m3;
};
constexpr Format kE4M3{3, 7, true};
constexpr Format kE5M2{2, 15, false};

// The value of a non-negative pattern, from its fields; NaN for NaN and
// +inf for E5M2's infinity.
double Decode(const Format& f, uint32_t pattern) {
  const uint32_t exp = pattern >> f.mant_bits;
  const uint32_t mant = pattern & ((1u << f.mant_bits) - 1);
  const uint32_t max_exp = (0x7Fu >> f.mant_bits);
  if (f.e4m3 && exp == max_exp && mant == (1u << f.mant_bits) - 1) return NAN;
  if (!f.e4m3 && exp == max_exp) return mant ? NAN : INFINITY;
  if (exp == 0) return std::ldexp(static_cast<double>(mant), 1 - f.bias - f.mant_bits);
  return std::ldexp(1.0 + std::ldexp(static_cast<double>(mant), -f.mant_bits),
                    static_cast<int>(exp) - f.bias);
}

// Nearest FP8 pattern to x, ties to the even pattern, as if the next step past
// the largest finite value (480 for E4M3, 2^16 for E5M2) existed; that step
// is then 448 for E4M3 (torch 2.13 saturates) and inf for E5M2.
uint8_t Nearest(const Format& f, float x) {
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  if (std::isnan(x)) return sign | 0x7F;
  const double a = std::fabs(static_cast<double>(x));
  // The finite non-negative patterns in increasing order, and the one past.
  const uint32_t top = f.e4m3 ? 0x7E : 0x7B;
  const double beyond = f.e4m3 ? 480.0 : 65536.0;
  const uint8_t beyond_pattern = f.e4m3 ? 0x7E : 0x7C;
  if (a >= beyond) return sign | beyond_pattern;
  // Largest pattern with value <= a (the values increase with the pattern).
  static std::vector<double> table[2];
  std::vector<double>& t = table[f.e4m3 ? 0 : 1];
  if (t.empty()) {
    for (uint32_t b = 0; b <= top; ++b) t.push_back(Decode(f, b));
  }
  const auto lo = static_cast<uint32_t>(std::upper_bound(t.begin(), t.end(), a) - t.begin() - 1);
  const double vlo = Decode(f, lo);
  const double vhi = lo < top ? Decode(f, lo + 1) : beyond;
  const uint32_t hi_pattern = lo < top ? lo + 1 : beyond_pattern;
  uint32_t r;
  if (a - vlo < vhi - a) {
    r = lo;
  } else if (a - vlo > vhi - a) {
    r = hi_pattern;
  } else {  // a tie: the even pattern (the step past the top is pattern top + 1)
    r = (lo & 1) == 0 ? lo : hi_pattern;
  }
  return static_cast<uint8_t>(sign | r);
}

uint8_t Convert(const Format& f, float x) {
  return f.e4m3 ? fi::FloatToF8E4M3Bits(x) : fi::FloatToF8E5M2Bits(x);
}

TEST(Fp8, DecodeMatchesFields) {
  for (const Format& f : {kE4M3, kE5M2}) {
    for (uint32_t b = 0; b < 256; ++b) {
      const double want = (b & 0x80 ? -1 : 1) * Decode(f, b & 0x7F);
      const float got = f.e4m3 ? fi::F8E4M3BitsToFloat(static_cast<uint8_t>(b))
                               : fi::F8E5M2BitsToFloat(static_cast<uint8_t>(b));
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << b;
      } else {
        EXPECT_EQ(static_cast<double>(got), want) << b;
        EXPECT_EQ(std::signbit(got), (b & 0x80) != 0) << b;
        // Round trip: every FP8 value converts back to its own pattern.
        EXPECT_EQ(Convert(f, got), b) << b;
      }
    }
  }
}

// The rounding table search is slow-ish (up to 127 steps), so the sample is
// 2^16 top halves (sign, exponent and the rounding bits of every format, so
// every exact tie) x 12 low halves, about 8e5 floats per format.
TEST(Fp8, ScalarConversionMatchesNearestSearch) {
  const uint32_t lows[] = {0, 1, 2, 0x5555, 0x7FFF, 0x8000, 0x8001, 0xAAAA, 0xFFFE, 0xFFFF,
                           0x1234, 0xC3A1};
  for (const Format& f : {kE4M3, kE5M2}) {
    int failures = 0;
    for (uint32_t hi = 0; hi < 0x10000u && failures < 5; ++hi) {
      for (uint32_t lo : lows) {
        const uint32_t bits = (hi << 16) | lo;
        const float x = std::bit_cast<float>(bits);
        const uint8_t want = Nearest(f, x), got = Convert(f, x);
        if (want != got) {
          ADD_FAILURE() << (f.e4m3 ? "e4m3" : "e5m2") << " 0x" << std::hex << bits << " ("
                        << x << "): got 0x" << int{got} << ", nearest 0x" << int{want};
          ++failures;
        }
      }
    }
  }
}

// Values written out by hand (the rules in the issue: torch does not saturate).
TEST(Fp8, HandValues) {
  EXPECT_EQ(fi::FloatToF8E4M3Bits(448.0f), 0x7E);
  EXPECT_EQ(fi::FloatToF8E4M3Bits(464.0f), 0x7E);  // tie: 448 (even) wins
  // torch 2.13 saturates E4M3 (older torch gave NaN past 464).
  EXPECT_EQ(fi::FloatToF8E4M3Bits(std::nextafter(464.0f, 1e9f)), 0x7E);
  EXPECT_EQ(fi::FloatToF8E4M3Bits(470.0f), 0x7E);
  EXPECT_EQ(fi::FloatToF8E4M3Bits(-1e6f), 0xFE);
  EXPECT_EQ(fi::FloatToF8E4M3Bits(INFINITY), 0x7E);
  EXPECT_EQ(fi::FloatToF8E4M3Bits(NAN), 0x7F);
  EXPECT_EQ(fi::FloatToF8E4M3Bits(-NAN), 0xFF);
  EXPECT_EQ(fi::FloatToF8E4M3Bits(0x1.0p-6f), 0x08);    // smallest normal
  EXPECT_EQ(fi::FloatToF8E4M3Bits(0x1.0p-9f), 0x01);    // smallest subnormal
  EXPECT_EQ(fi::FloatToF8E4M3Bits(0x1.0p-10f), 0x00);   // tie to 0 (even)
  EXPECT_EQ(fi::FloatToF8E4M3Bits(0x1.8p-9f), 0x02);    // 1.5 steps: tie to 2 (even)
  EXPECT_EQ(fi::FloatToF8E4M3Bits(-0.0f), 0x80);
  EXPECT_EQ(fi::FloatToF8E4M3Bits(1.0625f), 0x38);      // tie 1 vs 1.125: 1 (even)
  EXPECT_EQ(fi::FloatToF8E4M3Bits(1.1875f), 0x3A);      // tie 1.125 vs 1.25: 1.25 (even)
  EXPECT_EQ(fi::FloatToF8E5M2Bits(57344.0f), 0x7B);
  EXPECT_EQ(fi::FloatToF8E5M2Bits(std::nextafter(61440.0f, 0.0f)), 0x7B);
  EXPECT_EQ(fi::FloatToF8E5M2Bits(61440.0f), 0x7C);     // tie rounds to even = inf
  EXPECT_EQ(fi::FloatToF8E5M2Bits(-INFINITY), 0xFC);
  EXPECT_EQ(fi::FloatToF8E5M2Bits(NAN), 0x7F);
  EXPECT_EQ(fi::FloatToF8E5M2Bits(0x1.0p-14f), 0x04);
  EXPECT_EQ(fi::FloatToF8E5M2Bits(0x1.0p-16f), 0x01);
  EXPECT_EQ(fi::FloatToF8E5M2Bits(1.125f), 0x3C);       // tie 1 vs 1.25: 1 (even)
}

// ------------------------------------------------ the fills

std::vector<uint8_t> Fill8(DType dtype, const Distribution& d, uint64_t n, uint64_t first = 0) {
  std::vector<uint8_t> out(n, 0xAB);
  fanfill::Fill(out.data(), dtype, n, d, {11, 3}, {first, 1});
  return out;
}

float Value(DType dtype, uint8_t b) {
  return dtype == DType::kF8E4M3 ? fi::F8E4M3BitsToFloat(b) : fi::F8E5M2BitsToFloat(b);
}

TEST(Fp8, NamesSizesAndParse) {
  EXPECT_EQ(fanfill::DTypeSize(DType::kF8E4M3), 1u);
  EXPECT_EQ(fanfill::DTypeSize(DType::kF8E5M2), 1u);
  EXPECT_STREQ(fanfill::DTypeName(DType::kF8E4M3), "f8e4m3");
  EXPECT_STREQ(fanfill::DTypeName(DType::kF8E5M2), "f8e5m2");
  EXPECT_EQ(fanfill::ParseDType("f8e4m3"), DType::kF8E4M3);
  EXPECT_EQ(fanfill::ParseDType("float8_e4m3fn"), DType::kF8E4M3);
  EXPECT_EQ(fanfill::ParseDType("f8e5m2"), DType::kF8E5M2);
  EXPECT_EQ(fanfill::ParseDType("float8_e5m2"), DType::kF8E5M2);
  EXPECT_EQ(static_cast<int>(DType::kF8E4M3), FANFILL_F8E4M3);
  EXPECT_EQ(static_cast<int>(DType::kF8E5M2), FANFILL_F8E5M2);
}

// The documented arithmetic: parameters divided by the scale in double,
// rounded to float, the value computed in float exactly as the f32 fill of
// those parameters, then rounded to FP8 once.
TEST(Fp8, ScaleIsTheF32FillOfTheDividedParametersRoundedOnce) {
  struct Case {
    Distribution scaled, divided;
  };
  const double s = 3.0;  // not a power of two: the division rounds
  const std::vector<Case> cases = {
      {Distribution::Normal(0.1, 0.7).WithScale(s), Distribution::Normal(0.1 / s, 0.7 / s)},
      {Distribution::Uniform(-0.9, 1.3).WithScale(s), Distribution::Uniform(-0.9 / s, 1.3 / s)},
      {Distribution::TruncatedNormal(0.2, 0.5, -0.6, 0.9).WithScale(s),
       Distribution::TruncatedNormal(0.2 / s, 0.5 / s, -0.6 / s, 0.9 / s)},
  };
  const uint64_t n = 4099;
  for (DType dtype : {DType::kF8E4M3, DType::kF8E5M2}) {
    for (const Case& c : cases) {
      const fi::FillParams a = fi::MakeFillParams(dtype, c.scaled);
      const fi::FillParams b = fi::MakeFillParams(DType::kF32, c.divided);
      EXPECT_EQ(a.f_scale, b.f_scale);
      EXPECT_EQ(a.f_offset, b.f_offset);
      EXPECT_EQ(a.f_pa, b.f_pa);
      EXPECT_EQ(a.f_pspan, b.f_pspan);
      EXPECT_EQ(a.f_qa, b.f_qa);
      std::vector<float> f32(n);
      fanfill::Fill(f32.data(), DType::kF32, n, c.divided, {11, 3}, {5, 1});
      const std::vector<uint8_t> f8 = Fill8(dtype, c.scaled, n, 5);
      // The f32 fill clamps to f32 bounds and the FP8 fill to FP8 bounds
      // (inside the f32 ones); clamping the f32 value to the FP8 bounds again
      // gives the float the FP8 fill rounds.
      const float lo = a.f_lo, hi = a.f_hi;
      for (uint64_t i = 0; i < n; ++i) {
        const float v = std::fmin(std::fmax(f32[i], lo), hi);
        const uint8_t want = dtype == DType::kF8E4M3 ? fi::FloatToF8E4M3Bits(v)
                                                     : fi::FloatToF8E5M2Bits(v);
        ASSERT_EQ(f8[i], want) << fanfill::DTypeName(dtype) << " element " << i;
      }
    }
  }
}

TEST(Fp8, ScaleOneIsThePlainFill) {
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF8E4M3}) {
    const Distribution d = Distribution::Normal(0.0, 1.0);
    std::vector<uint8_t> a(4096), b(4096);
    fanfill::Fill(a.data(), dtype, 4096 / fanfill::DTypeSize(dtype), d, {1, 2});
    fanfill::Fill(b.data(), dtype, 4096 / fanfill::DTypeSize(dtype), d.WithScale(1.0), {1, 2});
    EXPECT_EQ(a, b);
  }
}

TEST(Fp8, BoundsKeptAfterRoundingAndNothingNonFinite) {
  const uint64_t n = 1 << 16;
  for (DType dtype : {DType::kF8E4M3, DType::kF8E5M2}) {
    // Uniform [0.1, 0.3): 0.3 is no FP8 value, 0.296875 / 0.3125 are its
    // E4M3 neighbours; nothing may round up to 0.3125.
    const double max = dtype == DType::kF8E4M3 ? 448 : 57344;
    {
      const std::vector<uint8_t> v = Fill8(dtype, Distribution::Uniform(0.1, 0.3), n);
      for (uint8_t b : v) {
        ASSERT_GE(Value(dtype, b), 0.1f);
        ASSERT_LT(Value(dtype, b), 0.3f);
      }
    }
    {  // [low, high) with high an FP8 value: high itself is never stored.
      const std::vector<uint8_t> v = Fill8(dtype, Distribution::Uniform(-1.0, 1.0), n);
      int top = 0;
      for (uint8_t b : v) {
        ASSERT_GE(Value(dtype, b), -1.0f);
        ASSERT_LT(Value(dtype, b), 1.0f);
        top += Value(dtype, b) == fi::LargestBelow(1.0, dtype);
      }
      EXPECT_GT(top, 0);  // the value just below high is reached
    }
    {
      const std::vector<uint8_t> v =
          Fill8(dtype, Distribution::TruncatedNormal(0.0, 0.5, -1.0, 0.7), n);
      for (uint8_t b : v) {
        ASSERT_GE(Value(dtype, b), -1.0f);
        ASSERT_LE(Value(dtype, b), 0.7f);
      }
    }
    {  // the widest normal allowed: finite everywhere, reaching far out
      const double sd = max / 6.7646;
      const std::vector<uint8_t> v = Fill8(dtype, Distribution::Normal(0.0, sd * 0.999), 1 << 20);
      float biggest = 0;
      for (uint8_t b : v) {
        ASSERT_TRUE(std::isfinite(Value(dtype, b))) << int{b};
        biggest = std::fmax(biggest, std::fabs(Value(dtype, b)));
      }
      EXPECT_GT(biggest, 3.5 * sd);
    }
  }
}

struct Bad {
  std::string what;
  DType dtype;
  Distribution dist;
};

TEST(Fp8, RefusedUpFront) {
  const std::vector<Bad> bad = {
      // overflow: 66.3 * 6.7646 > 448; the advice names the scale that fits
      {"use scale >= 2^1", DType::kF8E4M3, Distribution::Normal(0, 70)},
      {"f8e4m3 range", DType::kF8E4M3, Distribution::Normal(0, 70)},
      {"f8e5m2 range", DType::kF8E5M2, Distribution::Normal(0, 9000)},
      {"f8e4m3 range", DType::kF8E4M3, Distribution::Uniform(0, 449)},
      {"use scale >= 2^2", DType::kF8E4M3, Distribution::Uniform(-1000, 1000)},
      {"f8e5m2 range", DType::kF8E5M2, Distribution::TruncatedNormal(0, 1e4, -6e4, 6e4)},
      {"f8e4m3 range", DType::kF8E4M3, Distribution::Normal(0, 1).WithScale(0x1.0p-7)},
      // Unbounded sides: the advice covers both ends (220 -+ 117.8 * 5.77 reach -459.5 and
      // 899.5: scale 2 would fit the lower only) and, beside a finite bound beyond the range,
      // the infinite side's reach (-1000 and 0 + 400 * 5.77 = 2309: 2^2 would fit only -1000).
      {"can reach 899.48", DType::kF8E4M3, Distribution::TruncatedNormal(220, 117.8, -INFINITY, INFINITY)},
      {"use scale >= 2^2", DType::kF8E4M3, Distribution::TruncatedNormal(220, 117.8, -INFINITY, INFINITY)},
      {"exceed the f8e4m3 range +-448; use scale >= 2^3", DType::kF8E4M3,
       Distribution::TruncatedNormal(0, 400, -1000, INFINITY)},
      // underflow: the spread below the smallest normal; the advice names a scale
      {"smallest f8e4m3 normal 2^-6", DType::kF8E4M3, Distribution::Normal(0, 0.01)},
      {"use scale <= 2^-1", DType::kF8E4M3, Distribution::Normal(0, 0.01)},
      {"use scale <= 2^0", DType::kF8E4M3, Distribution::Normal(0, 0.02).WithScale(2)},
      {"(after scale 2)", DType::kF8E4M3, Distribution::Normal(0, 0.02).WithScale(2)},
      {"smallest f8e5m2 normal 2^-14", DType::kF8E5M2, Distribution::Normal(0, 1e-5)},
      {"smallest f8e4m3 normal", DType::kF8E4M3, Distribution::Uniform(-0.01, 0.01)},
      {"smallest f8e4m3 normal", DType::kF8E4M3,
       Distribution::TruncatedNormal(0, 0.01, -0.02, 0.02)},
      // The truncated spread, not stddev: values within +-0.001 whatever stddev is.
      {"the spread 0.00057735", DType::kF8E4M3, Distribution::TruncatedNormal(0, 1, -1e-3, 1e-3)},
      {"use scale <= 2^-5", DType::kF8E4M3, Distribution::TruncatedNormal(0, 1, -1e-3, 1e-3)},
      {"no scale fits", DType::kF8E4M3, Distribution::Normal(400, 0.001)},
      // the scale itself
      {"scale must be finite and > 0", DType::kF8E4M3, Distribution::Normal(0, 1).WithScale(0)},
      {"scale must be finite and > 0", DType::kF32, Distribution::Normal(0, 1).WithScale(-1)},
      {"scale must be finite and > 0", DType::kF8E5M2,
       Distribution::Uniform(0, 1).WithScale(INFINITY)},
      {"scale must be finite and > 0", DType::kF8E5M2,
       Distribution::TruncatedNormal(0, 1, -1, 1).WithScale(NAN)},
  };
  for (const Bad& b : bad) {
    std::vector<uint8_t> out(64, 0xAB);
    try {
      fanfill::Fill(out.data(), b.dtype, 8, b.dist, {1, 2});
      ADD_FAILURE() << "no error for '" << b.what << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(b.what), std::string::npos)
          << "message '" << e.what() << "' does not mention '" << b.what << "'";
    }
    for (uint8_t x : out) ASSERT_EQ(x, 0xAB) << b.what;
  }
  // The advised scales work.
  std::vector<uint8_t> out(64);
  EXPECT_NO_THROW(
      fanfill::Fill(out.data(), DType::kF8E4M3, 64, Distribution::Normal(0, 70).WithScale(2), {}));
  EXPECT_NO_THROW(fanfill::Fill(
      out.data(), DType::kF8E4M3, 64,
      Distribution::TruncatedNormal(220, 117.8, -INFINITY, INFINITY).WithScale(4), {}));
  EXPECT_NO_THROW(fanfill::Fill(out.data(), DType::kF8E4M3, 64,
                                Distribution::TruncatedNormal(0, 400, -1000, INFINITY).WithScale(8),
                                {}));
  EXPECT_NO_THROW(fanfill::Fill(out.data(), DType::kF8E4M3, 64,
                                Distribution::Normal(0, 0.01).WithScale(0.5), {}));
  EXPECT_NO_THROW(fanfill::Fill(out.data(), DType::kF8E4M3, 64,
                                Distribution::Normal(0, 0.02).WithScale(0x1.0p-6), {}));
  // A constant (stddev 0) has no spread to lose.
  EXPECT_NO_THROW(fanfill::Fill(out.data(), DType::kF8E4M3, 64, Distribution::Normal(0.5, 0), {}));
}

// Following a refusal's advice fixes what it was about: "use scale >= 2^k"
// (the values exceed the range) with scale 2^k gives no range error, "use
// scale <= 2^k" (the spread underflows) with 2^k no spread error. Random
// normal, uniform and truncated normal requests (either side of a truncated
// one unbounded or not) around both edges, with scales that are not powers
// of two, so that the advice must be computed from the unscaled values.
TEST(Fp8, FollowingTheAdviceFits) {
  // The review's case: the finite bound is inside the range, the unbounded
  // side's reach (0 - 75.64 * 5.94 = -449.3) is not; 2^0 would not fit it.
  {
    std::vector<uint8_t> out(64);
    const auto d = Distribution::TruncatedNormal(0, 75.63920205453354, -INFINITY,
                                                 -18.241190204037714);
    try {
      fanfill::Fill(out.data(), DType::kF8E4M3, 64, d.WithScale(0.75), {1, 2});
      ADD_FAILURE() << "no error";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("use scale >= 2^1"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(fanfill::Fill(out.data(), DType::kF8E4M3, 64, d.WithScale(2), {1, 2}));
  }
  std::mt19937_64 rng(20261208);
  auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  // The error message of the fill, "" if it succeeds.
  auto error = [](DType dtype, const Distribution& d) -> std::string {
    std::vector<uint8_t> out(64);
    try {
      fanfill::Fill(out.data(), dtype, 64, d, {3, 4});
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  // k of "<prefix>2^k" in the message; false if absent.
  auto advised = [](const std::string& msg, const std::string& prefix, int* k) {
    const size_t at = msg.find(prefix + "2^");
    if (at == std::string::npos) return false;
    *k = std::stoi(msg.substr(at + prefix.size() + 2));
    return true;
  };
  int range_advice = 0, spread_advice = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const DType dtype = trial % 2 ? DType::kF8E5M2 : DType::kF8E4M3;
    const double max = dtype == DType::kF8E4M3 ? 448.0 : 57344.0;
    const double stddev = max / 6 * std::pow(10.0, uniform(-6, 1));
    const double mean = stddev * uniform(-3, 3);
    Distribution d = Distribution::Normal(mean, stddev);
    if (trial % 3 == 1) {
      const double a = mean + stddev * uniform(-3, 3), b = mean + stddev * uniform(-3, 3);
      d = Distribution::Uniform(std::min(a, b), std::max(a, b) + stddev * 1e-3);
    } else if (trial % 3 == 2) {
      double a = mean + stddev * uniform(-2.5, 2.5), b = mean + stddev * uniform(-2.5, 2.5);
      if (a > b) std::swap(a, b);
      b += stddev * 0.05;
      const int sides = static_cast<int>(rng() % 4);
      d = Distribution::TruncatedNormal(mean, stddev, sides & 1 ? -INFINITY : a,
                                        sides & 2 ? INFINITY : b);
    }
    const double scale = std::pow(10.0, uniform(-1.5, 1.5));
    const std::string msg = error(dtype, d.WithScale(scale));
    int k = 0;
    if (advised(msg, "use scale >= ", &k)) {
      ++range_advice;
      const std::string again = error(dtype, d.WithScale(std::ldexp(1.0, k)));
      EXPECT_EQ(again.find("range"), std::string::npos) << msg << "\n  then: " << again;
    } else if (advised(msg, "use scale <= ", &k)) {
      ++spread_advice;
      const std::string again = error(dtype, d.WithScale(std::ldexp(1.0, k)));
      EXPECT_EQ(again.find("spread"), std::string::npos) << msg << "\n  then: " << again;
    }
  }
  // Both kinds of advice were exercised, often.
  EXPECT_GT(range_advice, 300);
  EXPECT_GT(spread_advice, 300);
}

TEST(Fp8, CApi) {
  std::vector<uint8_t> a(1000), b(1000);
  ASSERT_EQ(fanfill_fill_normal(a.data(), FANFILL_F8E4M3, 1000, 7, 0.0, 1.0, 5, 6), FANFILL_OK);
  fanfill::Fill(b.data(), DType::kF8E4M3, 1000, Distribution::Normal(0, 1), {5, 6}, {7, 0});
  EXPECT_EQ(a, b);
  ASSERT_EQ(fanfill_fill_normal_scaled(a.data(), FANFILL_F8E5M2, 1000, 7, 0.0, 0.02, 1.0 / 64, 5,
                                       6),
            FANFILL_OK);
  fanfill::Fill(b.data(), DType::kF8E5M2, 1000, Distribution::Normal(0, 0.02).WithScale(1.0 / 64),
                {5, 6}, {7, 0});
  EXPECT_EQ(a, b);
  ASSERT_EQ(fanfill_fill_uniform_scaled(a.data(), FANFILL_F8E4M3, 1000, 0, -0.1, 0.1, 0.01, 5, 6),
            FANFILL_OK);
  fanfill::Fill(b.data(), DType::kF8E4M3, 1000, Distribution::Uniform(-0.1, 0.1).WithScale(0.01),
                {5, 6});
  EXPECT_EQ(a, b);
  ASSERT_EQ(fanfill_fill_truncated_normal_scaled(a.data(), FANFILL_F8E4M3, 1000, 0, 0, 0.02, -0.04,
                                                 0.04, 1.0 / 256, 5, 6),
            FANFILL_OK);
  fanfill::Fill(b.data(), DType::kF8E4M3, 1000,
                Distribution::TruncatedNormal(0, 0.02, -0.04, 0.04).WithScale(1.0 / 256), {5, 6});
  EXPECT_EQ(a, b);
  std::vector<uint8_t> untouched(16, 0xAB);
  EXPECT_EQ(fanfill_fill_normal(untouched.data(), FANFILL_F8E4M3, 16, 0, 0.0, 0.001, 5, 6),
            FANFILL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fanfill_last_error()).find("use scale <="), std::string::npos);
  EXPECT_EQ(fanfill_fill_normal_scaled(untouched.data(), FANFILL_F8E4M3, 16, 0, 0.0, 1.0, 0.0, 5,
                                       6),
            FANFILL_ERR_INVALID_ARGUMENT);
  for (uint8_t x : untouched) ASSERT_EQ(x, 0xAB);
}

// The scale is kept as float32 (the CLI's <name>_scale, torch's FP8 scales):
// one that rounds to 0, a subnormal or inf is refused by every entry point.
TEST(Fp8, ScaleMustBeANormalFloat32) {
  const double flt_max = std::numeric_limits<float>::max();
  const double bad[] = {2e-46, 1e-40, 0x1.0p-127, 0x1.0p-126 - 0x1.0p-149, 1e39,
                        flt_max + 0x1.0p103, 1e300};
  const fanfill::StreamKey key{1, 2};
  for (double scale : bad) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kF8E4M3}) {
      std::vector<uint8_t> out(64, 0xAB);
      try {
        fanfill::Fill(out.data(), dtype, 8, Distribution::Normal(0, 1).WithScale(scale), key);
        ADD_FAILURE() << "scale " << scale << " accepted";
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("is not a normal float32"), std::string::npos)
            << e.what();
      }
      for (uint8_t x : out) ASSERT_EQ(x, 0xAB);
      // zeros would store nothing wrong, but the scale itself would be.
      try {
        fanfill::PreparedInit({4, 4}, fanfill::Layout::kOI, fanfill::Scheme::Parse("zeros"), dtype,
                              key, scale);
        ADD_FAILURE() << "PreparedInit: scale " << scale << " accepted";
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("is not a normal float32"), std::string::npos)
            << e.what();
      }
    }
    float c_out[8];
    EXPECT_EQ(fanfill_fill_normal_scaled(c_out, FANFILL_F32, 8, 0, 0.0, 1.0, scale, 1, 2),
              FANFILL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(fanfill_last_error()).find("is not a normal float32"), std::string::npos)
        << fanfill_last_error();
    const std::string spec = std::string(R"({"tensors": [{"name": "w", "shape": [4], )") +
                             R"("scheme": "zeros", "scale": )" + fi::FormatNumber(scale) + "}]}";
    try {
      fanfill::ParseModelSpec(spec);
      ADD_FAILURE() << "model spec: scale " << scale << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("\"scale\": scale"), std::string::npos) << e.what();
    }
    fanfill::ModelSpec model;  // built in code, not parsed: PreparedInit refuses it
    model.tensors.push_back({.name = "w", .shape = {4}, .scheme = "zeros", .scale = scale});
    EXPECT_THROW(fanfill::PrepareModel(model, 1), std::invalid_argument) << scale;
  }
  // The edges: what rounds to 2^-126 or to FLT_MAX is a normal float32.
  for (double scale : {0x1.0p-126, 0x1.0p-126 - 0x1.0p-150, flt_max, flt_max + 0x1.0p103 - 0x1.0p75,
                       1e-30, 1e30}) {
    std::vector<double> out(8);
    EXPECT_NO_THROW(fanfill::Fill(out.data(), DType::kF64, 8,
                                  Distribution::Normal(0, 1).WithScale(scale), key))
        << scale;
    EXPECT_NO_THROW(fanfill::PreparedInit({4}, fanfill::Layout::kOI,
                                          fanfill::Scheme::Parse("zeros"), DType::kF8E4M3, key,
                                          scale))
        << scale;
  }
}

// Orthogonal's values gain * Q have the root mean square gain / sqrt(max(rows,
// cols)); below the smallest normal they are refused like a distribution's
// spread, naming the scale that fixes it.
TEST(Fp8, OrthogonalUnderflowRefused) {
  const fanfill::StreamKey key{3, 4};
  struct Case {
    std::vector<int64_t> shape;
    const char* scheme;
    DType dtype;
    const char* message;
    double fix;
  };
  const Case cases[] = {
      // 1e-6 / sqrt(8) = 3.5e-7 < 2^-6; 2^-16 lifts it to 0.023
      {{8, 8}, "orthogonal(gain=1e-6)", DType::kF8E4M3,
       "orthogonal: the spread 3.5355339059327374e-07 is below the smallest f8e4m3 normal 2^-6",
       0x1.0p-16},
      // wide and tall alike: max(rows, cols) = 64
      {{4, 64}, "orthogonal(gain=0.1)", DType::kF8E4M3, "use scale <= 2^-1", 0x1.0p-1},
      {{64, 2, 2}, "orthogonal(gain=0.1)", DType::kF8E4M3, "use scale <= 2^-1", 0x1.0p-1},
      // 1e-4 / 16 = 2.5e-5 < 2^-14
      {{16, 16}, "orthogonal(gain=1e-4)", DType::kF8E5M2, "smallest f8e5m2 normal 2^-14",
       0x1.0p-2},
  };
  for (const Case& c : cases) {
    try {
      fanfill::PreparedInit(c.shape, fanfill::Layout::kOI, fanfill::Scheme::Parse(c.scheme),
                            c.dtype, key);
      ADD_FAILURE() << c.scheme << ": underflow not refused";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
    // The advised scale works and gives no zero column.
    const fanfill::PreparedInit plan(c.shape, fanfill::Layout::kOI,
                                     fanfill::Scheme::Parse(c.scheme), c.dtype, key, c.fix);
    std::vector<uint8_t> out(plan.bytes());
    plan.Run(out.data());
    EXPECT_GT(std::count_if(out.begin(), out.end(), [](uint8_t b) { return (b & 0x7F) != 0; }),
              static_cast<std::ptrdiff_t>(out.size() / 2))
        << c.scheme;
  }
  // The C API (fanfill_init) and model specs go through the same check.
  const int64_t shape[] = {8, 8};
  std::vector<uint8_t> untouched(64, 0xAB);
  EXPECT_EQ(fanfill_init(untouched.data(), FANFILL_F8E4M3, shape, 2, "oi", "orthogonal(gain=1e-6)",
                         3, 4),
            FANFILL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fanfill_last_error()).find("use scale <= 2^-16"), std::string::npos)
      << fanfill_last_error();
  for (uint8_t x : untouched) ASSERT_EQ(x, 0xAB);
  // fanfill_init_scaled takes the advised scale: the bytes of PreparedInit's.
  ASSERT_EQ(fanfill_init_scaled(untouched.data(), FANFILL_F8E4M3, shape, 2, "oi",
                                "orthogonal(gain=1e-6)", 0x1.0p-16, 3, 4),
            FANFILL_OK)
      << fanfill_last_error();
  std::vector<uint8_t> expected(64);
  fanfill::PreparedInit({8, 8}, fanfill::Layout::kOI, fanfill::Scheme::Parse("orthogonal(gain=1e-6)"),
                        DType::kF8E4M3, {3, 4}, 0x1.0p-16)
      .Run(expected.data());
  EXPECT_EQ(untouched, expected);
  // Scale 1 is fanfill_init; a bad scale is refused with nothing written.
  const int64_t wide[] = {4, 64};
  std::vector<uint8_t> a(256), b(256, 0xCD);
  ASSERT_EQ(fanfill_init(a.data(), FANFILL_F8E4M3, wide, 2, "oi", "uniform(a=-1, b=1)", 5, 6),
            FANFILL_OK);
  ASSERT_EQ(fanfill_init_scaled(b.data(), FANFILL_F8E4M3, wide, 2, "oi", "uniform(a=-1, b=1)", 1.0,
                                5, 6),
            FANFILL_OK);
  EXPECT_EQ(a, b);
  std::vector<uint8_t> c(256, 0xCD);
  EXPECT_EQ(fanfill_init_scaled(c.data(), FANFILL_F8E4M3, wide, 2, "oi", "uniform(a=-1, b=1)", 0.0,
                                5, 6),
            FANFILL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fanfill_last_error()).find("scale"), std::string::npos);
  for (uint8_t x : c) ASSERT_EQ(x, 0xCD);
  EXPECT_THROW(fanfill::PrepareModel(fanfill::ParseModelSpec(R"J({"tensors": [{"name": "q",
      "shape": [8, 8], "scheme": "orthogonal(gain=1e-6)", "dtype": "f8e4m3"}]})J"), 1),
               std::invalid_argument);
  // At the smallest normal (1/sqrt(4096) = 2^-6) orthogonal is accepted, as a
  // distribution's spread of 2^-6 is; f32 is never checked.
  EXPECT_NO_THROW(fanfill::PreparedInit({64, 4096}, fanfill::Layout::kOI,
                                        fanfill::Scheme::Parse("orthogonal"), DType::kF8E4M3, key));
  EXPECT_NO_THROW(fanfill::PreparedInit({8, 8}, fanfill::Layout::kOI,
                                        fanfill::Scheme::Parse("orthogonal(gain=1e-30)"),
                                        DType::kF32, key));
}

// ------------------------------------------------ schemes and model specs

TEST(Fp8, PreparedInitScale) {
  const fanfill::StreamKey key{42, fanfill::StreamId("w")};
  const double s = 0x1.0p-6;
  for (DType dtype : {DType::kF8E4M3, DType::kF8E5M2}) {
    const fanfill::PreparedInit plan({64, 48}, fanfill::Layout::kOI,
                                     fanfill::Scheme::Parse("normal(std=0.02)"), dtype, key, s);
    EXPECT_EQ(plan.scale(), s);
    EXPECT_EQ(plan.description().std, 0.02);  // the description is the unscaled one
    std::vector<uint8_t> a(plan.bytes()), b(plan.bytes());
    plan.Run(a.data());
    fanfill::Fill(b.data(), dtype, b.size(), Distribution::Normal(0, 0.02).WithScale(s), key);
    EXPECT_EQ(a, b);
    // Ranges and blocks of a scaled plan are the same values.
    std::vector<uint8_t> c(100);
    plan.RunRange(c.data(), 1000, 100);
    EXPECT_TRUE(std::equal(c.begin(), c.end(), a.begin() + 1000));
  }
  // Without the scale the spread underflows E4M3; the message says which scale fits.
  try {
    fanfill::PreparedInit({64, 48}, fanfill::Layout::kOI,
                          fanfill::Scheme::Parse("normal(std=0.001)"), DType::kF8E4M3, key);
    ADD_FAILURE() << "underflow not refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("use scale <= 2^-4"), std::string::npos) << e.what();
  }
  // Constants are divided by the scale; zeros stay zero; orthogonal's gain too.
  {
    const fanfill::PreparedInit plan({3, 5}, fanfill::Layout::kOI,
                                     fanfill::Scheme::Parse("constant(value=0.5)"),
                                     DType::kF8E4M3, key, 0.25);
    std::vector<uint8_t> v(15);
    plan.Run(v.data());
    for (uint8_t x : v) EXPECT_EQ(fi::F8E4M3BitsToFloat(x), 2.0f);
  }
  {
    const fanfill::PreparedInit plain({8, 8}, fanfill::Layout::kOI,
                                      fanfill::Scheme::Parse("orthogonal(gain=1)"), DType::kF32,
                                      key);
    const fanfill::PreparedInit scaled({8, 8}, fanfill::Layout::kOI,
                                       fanfill::Scheme::Parse("orthogonal(gain=1)"), DType::kF32,
                                       key, 0.5);
    std::vector<float> a(64), b(64);
    plain.Run(a.data());
    scaled.Run(b.data());
    for (int i = 0; i < 64; ++i) EXPECT_EQ(b[i], 2 * a[i]) << i;  // gain 1 / 0.5, exact
  }
  // A constant beyond E4M3's range (which would saturate) is refused.
  EXPECT_THROW(fanfill::PreparedInit({4}, fanfill::Layout::kOI,
                                     fanfill::Scheme::Parse("constant(value=500)"),
                                     DType::kF8E4M3, key),
               std::invalid_argument);
  EXPECT_NO_THROW(fanfill::PreparedInit({4}, fanfill::Layout::kOI,
                                        fanfill::Scheme::Parse("constant(value=500)"),
                                        DType::kF8E4M3, key, 2.0));
  EXPECT_THROW(fanfill::PreparedInit({4}, fanfill::Layout::kOI, fanfill::Scheme::Parse("ones"),
                                     DType::kF8E4M3, key, 0.0),
               std::invalid_argument);
}

TEST(Fp8, ModelSpecScale) {
  const fanfill::ModelSpec m = fanfill::ParseModelSpec(R"J({"tensors": [
      {"name": "w", "shape": [32, 32], "scheme": "normal(std=0.001)", "dtype": "f8e4m3",
       "scale": 0.0009765625},
      {"name": "b", "shape": [32], "scheme": "zeros", "dtype": "float8_e5m2"}]})J");
  ASSERT_EQ(m.tensors.size(), 2u);
  EXPECT_EQ(m.tensors[0].dtype, DType::kF8E4M3);
  EXPECT_EQ(m.tensors[0].scale, 0.0009765625);
  EXPECT_EQ(m.tensors[1].dtype, DType::kF8E5M2);
  EXPECT_EQ(m.tensors[1].scale, 1.0);
  const fanfill::ModelSpec back = fanfill::ParseModelSpec(fanfill::ModelSpecToJson(m));
  EXPECT_EQ(back.tensors[0].scale, 0.0009765625);
  EXPECT_EQ(back.tensors[1].scale, 1.0);
  const std::vector<fanfill::PreparedInit> plans = fanfill::PrepareModel(m, 7);
  EXPECT_EQ(plans[0].scale(), 0.0009765625);
  std::vector<uint8_t> w(1024), ref(1024);
  plans[0].Run(w.data());
  fanfill::Fill(ref.data(), DType::kF8E4M3, 1024,
                Distribution::Normal(0, 0.001).WithScale(0.0009765625),
                {7, fanfill::StreamId("w")});
  EXPECT_EQ(w, ref);
  for (const char* bad : {"0", "-1", "\"x\"", "true"}) {
    const std::string spec = std::string(R"({"tensors": [{"name": "w", "shape": [4], )") +
                             R"("scheme": "ones", "scale": )" + bad + "}]}";
    try {
      fanfill::ParseModelSpec(spec);
      ADD_FAILURE() << "scale " << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("\"scale\""), std::string::npos) << e.what();
    }
  }
}

}  // namespace
