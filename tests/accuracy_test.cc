// Accuracy of the transforms, measured against long-double formulas on the
// same inputs, and the exactness of the bounds. The figures printed here are
// the ones documented in fanfill.hpp and README.md; the assertions are the
// documented limits (a regression beyond them fails).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "src/core/dtype.h"
#include "src/core/reference.h"

namespace {

constexpr long double kTwoPi = 6.283185307179586476925286766559L;

// Error of `got` in units of the last place of the type at the exact value.
template <class T>
double UlpError(T got, long double exact) {
  const int digits = std::numeric_limits<T>::digits;  // 24 or 53
  const int min_exp = std::numeric_limits<T>::min_exponent - 1;
  const int e = exact == 0 ? min_exp : std::max(std::ilogb(exact), min_exp);
  const long double ulp = std::ldexp(1.0L, e - (digits - 1));
  return static_cast<double>(std::fabs(static_cast<long double>(got) - exact) / ulp);
}

// cos or sin of 2 pi (j + 1/2) 2^-bits in long double, reduced exactly to
// |x| <= pi/4 first (j + 1/2 is exact in long double for bits <= 63), so the
// reference keeps full relative accuracy near the zeros of cos and sin.
long double CosSinOfTurn(uint64_t j, int bits, bool want_sin) {
  const long double turn = std::ldexp(static_cast<long double>(j) + 0.5L, -bits);  // exact
  const long double k = std::nearbyint(4.0L * turn);
  const long double x = kTwoPi * (turn - k / 4.0L);  // turn - k/4 is exact
  const int quadrant = static_cast<int>(static_cast<int64_t>(k) & 3);
  const long double c = std::cos(x), s = std::sin(x);
  const long double cos_theta[4] = {c, -s, -c, s};
  const long double sin_theta[4] = {s, c, -s, -c};
  return want_sin ? sin_theta[quadrant] : cos_theta[quadrant];
}

struct ErrorStats {
  double max = 0, sum = 0;
  uint64_t n = 0;
  void Add(double err) {
    max = std::max(max, err);
    sum += err;
    ++n;
  }
  double Mean() const { return n ? sum / n : 0.0; }
};

// f32 normal, end to end through the public fill: every output against a
// long-double Box-Muller on the same two Philox words (fanfill.hpp's map).
TEST(Accuracy, NormalF32EndToEndWithin4Ulp) {
  constexpr uint64_t kN = 1u << 24;  // 1.7e7 samples
  const fanfill::StreamKey key{2024, 11};
  std::vector<uint32_t> words(kN);
  std::vector<float> z(kN);
  fanfill::FillBits(words.data(), kN, key);
  fanfill::FillNormal(std::span<float>(z), 0.0, 1.0, key);
  ErrorStats stats;
  for (uint64_t i = 0; i < kN; ++i) {
    const uint64_t pair = i & ~uint64_t{1};
    const uint32_t radius_word = words[pair];
    const uint32_t angle_word = words[pair + 1];
    const long double u = (radius_word + 0.5L) * 0x1p-32L;
    const long double r = std::sqrt(-2.0L * std::log(u));
    const long double exact = r * CosSinOfTurn(angle_word >> 8, 24, i & 1);
    stats.Add(UlpError(z[i], exact));
  }
  std::printf("f32 normal vs long-double Box-Muller: max %.3f ulp, mean %.4f ulp over %llu\n",
              stats.max, stats.Mean(), static_cast<unsigned long long>(stats.n));
  EXPECT_LE(stats.max, 4.0);
}

TEST(Accuracy, NormalF64EndToEndWithin4Ulp) {
  constexpr uint64_t kN = 1u << 22;
  const fanfill::StreamKey key{7, 3};
  std::vector<uint32_t> words(2 * kN);
  std::vector<double> z(kN);
  fanfill::FillBits(words.data(), words.size(), key);
  fanfill::FillNormal(std::span<double>(z), 0.0, 1.0, key);
  ErrorStats stats;
  for (uint64_t i = 0; i < kN; ++i) {
    const uint64_t b = (i / 2) * 4;  // block i/2: words b..b+3
    const uint64_t x01 = (uint64_t{words[b + 1]} << 32) | words[b];
    const uint64_t x23 = (uint64_t{words[b + 3]} << 32) | words[b + 2];
    const long double u = (static_cast<long double>(x01 >> 11) + 1.0L) * 0x1p-53L;
    const long double r = std::sqrt(-2.0L * std::log(u));
    const long double exact = r * CosSinOfTurn(x23 >> 11, 53, i & 1);
    stats.Add(UlpError(z[i], exact));
  }
  std::printf("f64 normal vs long-double Box-Muller: max %.3f ulp, mean %.4f ulp over %llu\n",
              stats.max, stats.Mean(), static_cast<unsigned long long>(stats.n));
  EXPECT_LE(stats.max, 4.0);
}

// The radius transform over words spread across all 2^32 values, including
// the extremes (w = 0 gives the largest radius, w = 2^32 - 1 the smallest).
TEST(Accuracy, LogRadiusF32) {
  ErrorStats stats;
  auto check = [&](uint32_t w) {
    const long double exact = -2.0L * std::log((w + 0.5L) * 0x1p-32L);
    stats.Add(UlpError(fanfill::internal::RefMinusTwoLogRadius(w), exact));
  };
  for (uint32_t w = 0; w < 70000; ++w) check(w);
  for (uint32_t w = 0; w < 70000; ++w) check(0xFFFFFFFFu - w);
  for (uint64_t w = 0; w < (uint64_t{1} << 32); w += 251) check(static_cast<uint32_t>(w));
  std::printf("f32 -2 ln(u) radius: max %.3f ulp, mean %.4f ulp over %llu\n", stats.max,
              stats.Mean(), static_cast<unsigned long long>(stats.n));
  EXPECT_LE(stats.max, 2.0);
}

// Every one of the 2^24 f32 angles.
TEST(Accuracy, SinCosAngleF32AllAngles) {
  ErrorStats cos_stats, sin_stats;
  for (uint32_t j = 0; j < (1u << 24); ++j) {
    float c, s;
    fanfill::internal::RefSinCosAngleF32(j << 8, c, s);
    cos_stats.Add(UlpError(c, CosSinOfTurn(j, 24, false)));
    sin_stats.Add(UlpError(s, CosSinOfTurn(j, 24, true)));
  }
  std::printf("f32 cos(2 pi u): max %.3f ulp, mean %.4f; sin: max %.3f ulp, mean %.4f\n",
              cos_stats.max, cos_stats.Mean(), sin_stats.max, sin_stats.Mean());
  EXPECT_LE(std::max(cos_stats.max, sin_stats.max), 1.5);
}

TEST(Accuracy, LogF32AndF64) {
  ErrorStats f32, f64;
  for (uint32_t bits = 0x00800000u; bits < 0x7F800000u; bits += 97) {
    const float x = std::bit_cast<float>(bits);
    f32.Add(UlpError(fanfill::internal::RefLog(x), std::log(static_cast<long double>(x))));
  }
  for (uint64_t i = 1; i < 5000000; ++i) {
    const double x = std::ldexp(1.0 + (i * 0x1.3c6ef372fe94fp-23 - std::floor(i * 0x1.3c6ef372fe94fp-23)),
                                static_cast<int>(i % 2000) - 1000);
    f64.Add(UlpError(fanfill::internal::RefLog(x), std::log(static_cast<long double>(x))));
  }
  std::printf("log f32: max %.3f ulp, mean %.4f; log f64: max %.3f ulp, mean %.4f\n", f32.max,
              f32.Mean(), f64.max, f64.Mean());
  EXPECT_LE(f32.max, 1.5);
  EXPECT_LE(f64.max, 1.5);
}

// Exact standard normal quantile in long double: Newton on erfc from a good start.
long double ExactQuantile(long double p) {
  long double x = fanfill::internal::RefInverseNormalCdf(static_cast<double>(p),
                                                          static_cast<double>(1 - p));
  for (int it = 0; it < 4; ++it) {
    const long double cdf = 0.5L * std::erfc(-x / std::sqrt(2.0L));
    const long double pdf = std::exp(-0.5L * x * x) / std::sqrt(kTwoPi);
    x -= (cdf - p) / pdf;
  }
  return x;
}

// The inverse normal CDF (Giles' single-precision erfinv) over the quantiles
// truncated-normal sampling uses: p in [3e-8, 0.5] (the sampler mirrors the
// upper half). Its input is the pair (p, q ~ 1 - p), each rounded, so near
// p = 1/2 the error floor is absolute (|p + q - 1| ~ 2^-25): the figures are
// the maximum absolute error, and the relative error where |z| >= 0.1.
TEST(Accuracy, InverseNormalCdf) {
  ErrorStats f32_abs, f32_rel, f64_abs, f64_rel;
  for (double lp = std::log(3e-8); lp < std::log(0.5); lp += 1e-5) {
    const float p = static_cast<float>(std::exp(lp));
    const float q = static_cast<float>(1.0L - p);
    const long double exact = ExactQuantile(p);
    const float got = fanfill::internal::RefInverseNormalCdf(p, q);
    f32_abs.Add(static_cast<double>(std::fabs(got - exact)));
    if (std::fabs(exact) >= 0.1L) f32_rel.Add(static_cast<double>(std::fabs((got - exact) / exact)));
    const double pd = std::exp(lp);
    const long double exact_d = ExactQuantile(pd);
    const double gd = fanfill::internal::RefInverseNormalCdf(pd, 1.0 - pd);
    f64_abs.Add(static_cast<double>(std::fabs(gd - exact_d)));
    if (std::fabs(exact_d) >= 0.1L) f64_rel.Add(static_cast<double>(std::fabs((gd - exact_d) / exact_d)));
  }
  std::printf("inverse normal CDF, f32: max abs %.3g, max rel (|z|>=0.1) %.3g; "
              "f64 path: max abs %.3g, max rel %.3g\n",
              f32_abs.max, f32_rel.max, f64_abs.max, f64_rel.max);
  EXPECT_LE(f32_abs.max, 2e-6);
  EXPECT_LE(f32_rel.max, 6e-7);  // measured 5.27e-7
  EXPECT_LE(f64_abs.max, 1e-6);
  EXPECT_LE(f64_rel.max, 2e-7);
}

template <class T>
float AsFloat(T v) {
  if constexpr (std::is_same_v<T, fanfill::BFloat16>) return fanfill::internal::BF16BitsToFloat(v.bits);
  else if constexpr (std::is_same_v<T, fanfill::Float16>) return fanfill::internal::F16BitsToFloat(v.bits);
  else if constexpr (std::is_same_v<T, fanfill::Float8E4M3>) return fanfill::internal::F8E4M3BitsToFloat(v.bits);
  else if constexpr (std::is_same_v<T, fanfill::Float8E5M2>) return fanfill::internal::F8E5M2BitsToFloat(v.bits);
  else return static_cast<float>(v);
}

// Uniform never reaches high, even where rounding low + span u would.
template <class T>
void CheckUniformHalfOpen(double low, double high, size_t n) {
  std::vector<T> v(n);
  fanfill::FillUniform(std::span<T>(v), low, high, {5, 6});
  double min = HUGE_VAL, max = -HUGE_VAL;
  for (const T& x : v) {
    min = std::min<double>(min, AsFloat(x));
    max = std::max<double>(max, AsFloat(x));
  }
  EXPECT_GE(min, low) << fanfill::DTypeName(fanfill::kDTypeOf<T>) << " [" << low << ", " << high << ")";
  EXPECT_LT(max, high) << fanfill::DTypeName(fanfill::kDTypeOf<T>) << " [" << low << ", " << high << ")";
}

TEST(Bounds, UniformNeverReachesHigh) {
  CheckUniformHalfOpen<float>(1e7, 1e7 + 3, 1 << 20);  // f32 spacing 1 there: 3 values
  CheckUniformHalfOpen<float>(-1.0, 1.0, 1 << 20);
  CheckUniformHalfOpen<float>(0.1, 0.1 + 1e-7, 1 << 18);
  CheckUniformHalfOpen<fanfill::BFloat16>(1.0, 1.01, 1 << 18);  // two bf16 values
  CheckUniformHalfOpen<fanfill::BFloat16>(-0.3, 0.7, 1 << 18);
  CheckUniformHalfOpen<fanfill::Float16>(0.1, 0.1001, 1 << 18);
  CheckUniformHalfOpen<fanfill::Float16>(-65504.0, 65504.0, 1 << 18);
  CheckUniformHalfOpen<double>(1.0, 1.0 + 1e-15, 1 << 18);
}

template <class T>
void CheckTruncatedClosed(double mean, double stddev, double low, double high) {
  std::vector<T> v(1 << 20);
  fanfill::FillTruncatedNormal(std::span<T>(v), mean, stddev, low, high, {8, 9});
  for (const T& x : v) {
    const double f = AsFloat(x);
    ASSERT_GE(f, low);
    ASSERT_LE(f, high);
  }
}

TEST(Bounds, TruncatedNormalStaysInside) {
  CheckTruncatedClosed<float>(0.0, 1.0, -2.0, 2.0);
  CheckTruncatedClosed<float>(0.0, 1.0, 1.9999, 2.0);
  CheckTruncatedClosed<float>(0.0, 0.02, -0.04, 0.04);
  CheckTruncatedClosed<double>(3.0, 2.0, -1.0, 0.0);
  CheckTruncatedClosed<fanfill::BFloat16>(0.0, 1.0, -0.3, 0.31);
  CheckTruncatedClosed<fanfill::Float16>(0.0, 0.01, -0.02, 0.02);
}

// The narrowest accepted intervals (MakeFillParams refuses fewer than 2^12
// levels of p where the dtype has more values there): still many distinct
// values, spread over the whole interval.
template <class T>
void CheckNarrowTruncated(double stddev, double low, double high, size_t min_distinct) {
  std::vector<T> v(1 << 20);
  fanfill::FillTruncatedNormal(std::span<T>(v), 0.0, stddev, low, high, {8, 9});
  std::vector<double> f(v.size());
  for (size_t i = 0; i < v.size(); ++i) f[i] = AsFloat(v[i]);
  std::sort(f.begin(), f.end());
  const size_t distinct = std::unique(f.begin(), f.end()) - f.begin();
  EXPECT_GE(distinct, min_distinct) << "stddev " << stddev << " [" << low << ", " << high << "]";
  EXPECT_LT(f.front(), low + 0.01 * (high - low));
  EXPECT_GT(f[distinct - 1], high - 0.01 * (high - low));
}

TEST(Bounds, NarrowTruncatedNormalKeepsItsLevels) {
  // f32: p near 1/2 steps by 2^-24; [-1e-3, 1e-3] in stddevs holds ~13400 steps.
  CheckNarrowTruncated<float>(1.0, -1e-3, 1e-3, 8192);
  CheckNarrowTruncated<float>(1000.0, -1.0, 1.0, 8192);
  // f64: [-1, 1] at stddev 1e10 holds ~7e5 steps of 2^-53.
  CheckNarrowTruncated<double>(1e10, -1.0, 1.0, 500000);
  // Fewer than 2^12 levels of p, but fewer f32 values still (the interval
  // holds about 420 of them): accepted.
  CheckNarrowTruncated<float>(1.0, 1.9999, 2.0, 400);
}

// One-sided and untruncated intervals (a bound at +-inf): the fills' setup
// bounds where the values reach by |z| < sqrt(-2 ln(u_min (pb - pa))) (u_min
// the kernels' smallest uniform, 2^-24 on the float path and 2^-53 for f64),
// the tail bound Phi(-t) < exp(-t^2 / 2). Checked against the inverse CDF the
// kernels evaluate (the scalar reference: targets_test holds every target to
// it) over u from u_min to 1 - u_min (a log grid towards both ends), for
// mirrored lower spans pb from 1 (no truncation) down to Phi(-5), the
// narrowest one-sided interval accepted. On the float path the bound is
// within 10% of the largest |z| (it refuses little the dtype could hold). The
// f64 path evaluates the same single-precision erfinv polynomial, which
// flattens below p ~ 1e-9 (|z| at most ~7.5 however small p: see README,
// Known limits), so there the bound is loose (8.6-10.2) but still a bound.
template <class T>
T MaxAbsTruncatedZ(double pb, int log2_umin) {
  const T span = static_cast<T>(pb);
  T zmax = 0;
  auto at = [&](T u) {
    const T z = fanfill::internal::RefInverseNormalCdf(std::fma(u, span, T(0)), std::fma(-u, span, T(1)));
    zmax = std::max(zmax, std::fabs(z));
  };
  for (double e = log2_umin; e < -1; e += 0.01) {
    const T u = static_cast<T>(std::exp2(e));
    at(u);
    at(T(1) - u);
  }
  at(std::ldexp(T(1), log2_umin));
  at(T(1) - std::ldexp(T(1), log2_umin));
  return zmax;
}

TEST(Bounds, InfiniteBoundReachCoversTheInverseCdf) {
  for (const double b : {8.0, 2.0, 0.0, -1.0, -3.0, -4.0, -5.0}) {
    const double pb = 0.5 * std::erfc(-b / std::sqrt(2.0));
    const float z32 = MaxAbsTruncatedZ<float>(pb, -24);
    const double bound32 = std::sqrt(-2.0 * std::log(std::ldexp(pb, -24)));
    EXPECT_LT(z32, bound32) << "f32, b = " << b;
    EXPECT_GT(z32 * 1.1, bound32) << "f32, b = " << b;
    const double z64 = MaxAbsTruncatedZ<double>(pb, -53);
    const double bound64 = std::sqrt(-2.0 * std::log(std::ldexp(pb, -53)));
    EXPECT_LT(z64, bound64) << "f64, b = " << b;
    std::printf("pb = Phi(%g): max |z| f32 %.4f (bound %.4f), f64 %.4f (bound %.4f)\n", b, z32,
                bound32, z64, bound64);
  }
}

// An infinite bound is one the values never reach: the fill equals the one
// with the dtype's largest value as the bound, bit for bit, on every dtype.
// Those bounds lie beyond 39 stddevs, where Phi is exactly 0 or 1 in double and
// so the kernels' parameters are the same, except the f16 half-normal's
// (6.55 stddevs): there the stored values agree because f16's rounding absorbs
// the difference of Phi(-6.55) ~ 3e-11 (checked on these 65536 elements).
template <class T>
void CheckInfiniteBoundIsUnreachedBound(double mean, double stddev, double low, double high) {
  const double max = fanfill::internal::MaxFinite(fanfill::kDTypeOf<T>);
  std::vector<T> a(1 << 16), b(1 << 16);
  fanfill::FillTruncatedNormal(std::span<T>(a), mean, stddev, low, high, {8, 10});
  fanfill::FillTruncatedNormal(std::span<T>(b), mean, stddev, std::max(low, -max),
                               std::min(high, max), {8, 10});
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(T)), 0)
      << fanfill::DTypeName(fanfill::kDTypeOf<T>) << " [" << low << ", " << high << "]";
  for (const T& x : a) {
    ASSERT_GE(AsFloat(x), low);
    ASSERT_LE(AsFloat(x), high);
  }
}

TEST(Bounds, InfiniteBoundIsABoundNeverReached) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  CheckInfiniteBoundIsUnreachedBound<float>(0.0, 1.0, 0.0, kInf);
  CheckInfiniteBoundIsUnreachedBound<float>(0.5, 2.0, -kInf, 0.0);
  CheckInfiniteBoundIsUnreachedBound<float>(1.0, 3.0, -kInf, kInf);
  CheckInfiniteBoundIsUnreachedBound<double>(0.0, 1.0, -kInf, 1.0);
  CheckInfiniteBoundIsUnreachedBound<double>(0.0, 1.0, -kInf, kInf);
  CheckInfiniteBoundIsUnreachedBound<fanfill::BFloat16>(0.0, 0.02, -0.04, kInf);
  CheckInfiniteBoundIsUnreachedBound<fanfill::Float16>(0.0, 1e4, 0.0, kInf);  // reach 5.5e4
  // Only the infinite side's reach counts: these reach -5.4e4 and -342 above,
  // inside the range, though |mean| + stddev zmax lies beyond it.
  CheckInfiniteBoundIsUnreachedBound<fanfill::Float16>(-6e4, 1e3, -65504.0, kInf);
  CheckInfiniteBoundIsUnreachedBound<fanfill::Float8E4M3>(-400.0, 10.0, -448.0, kInf);
  CheckInfiniteBoundIsUnreachedBound<fanfill::Float8E5M2>(5e4, 1e3, -kInf, 57344.0);
}

}  // namespace
