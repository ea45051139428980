// The exact FMA emulation of the targets without hardware FMA (SSE4, SCALAR;
// src/core/fma_emulation.h and transforms-inl.h) against std::fma: hard
// double-rounding cases (where a multiply-then-add through double, or two
// double roundings, give the wrong answer: each family checks that it does),
// cancellation, tiny and subnormal results, zeros and random inputs, through
// the scalar functions and through every compiled target's vector Fma; and
// the float Horner chains (SSE4's HornerF32x4, and HornerLockedF32x4 over
// every z the kernels can give it) against std::fma chains; the locked
// double chains (SSE4's HornerLockedF64x2, SCALAR's HornerLockedF64) over
// their z ranges, and the partly locked double erfinv chain; FmaNormalResult (SSE4: the midpoint test alone) on the
// cases inside its precondition.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/fma_emulation_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/core/transforms-inl.h"

#ifndef FANFILL_TESTS_FMA_EMULATION_TEST_CHAINS_
#define FANFILL_TESTS_FMA_EMULATION_TEST_CHAINS_
#include <array>
namespace fanfill_test {
// A one-step chain fma(a, z, c) with HardF32's construction (m = 3, k = 0):
// for z = +-(1 - 3 2^-23) the double sum lands on a float midpoint that the
// exact value is not on, so HornerF32x4 must notice and take the exact path.
inline constexpr float kHardU = 0x1.0p-23f;
inline constexpr std::array<float, 2> kHardChain = {0x1.0p-24f * (1.0f + 3.0f * kHardU),
                                                    1.0f + kHardU};
inline constexpr float kHardZ = 1.0f - 3.0f * kHardU;
}  // namespace fanfill_test
#endif

HWY_BEFORE_NAMESPACE();
namespace fanfill_test {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// out[i] = Fma(a[i], b[i], c[i]) with this target's Fma (n a multiple of
// 16); emulated: the vector emulation itself, whichever path Fma would take
// on this CPU (where it has FMA, double and SCALAR call std::fma).
template <class T>
void FmaOnTarget(const T* a, const T* b, const T* c, T* out, size_t n, bool emulated) {
  const hn::ScalableTag<T> d;
  for (size_t i = 0; i < n; i += hn::Lanes(d)) {
    const auto va = hn::LoadU(d, a + i), vb = hn::LoadU(d, b + i), vc = hn::LoadU(d, c + i);
    auto r = fanfill::HWY_NAMESPACE::Fma(d, va, vb, vc);
#if !HWY_NATIVE_FMA && HWY_TARGET != HWY_SCALAR
    if (emulated) {
      namespace fe = fanfill::HWY_NAMESPACE::fma_emulation;
      if constexpr (sizeof(T) == 4) {
        r = fe::F32x4(d, va, vb, vc);
      } else {
        r = fe::F64x2(d, va, vb, vc);
      }
    }
#else
    (void)emulated;
#endif
    hn::StoreU(r, d, out + i);
  }
}
void FmaF32OnTarget(const float* a, const float* b, const float* c, float* out, size_t n,
                    bool emulated) {
  FmaOnTarget(a, b, c, out, n, emulated);
}
void FmaF64OnTarget(const double* a, const double* b, const double* c, double* out, size_t n,
                    bool emulated) {
  FmaOnTarget(a, b, c, out, n, emulated);
}

// out[i] = FmaScale(x[i], scale, offset) on this target (n a multiple of 16),
// with its multiply-only path where PlusZeroOffset allows it.
void FmaScaleOnTarget(const float* x, float scale, float offset, float* out, size_t n) {
  namespace ff = fanfill::HWY_NAMESPACE;
  const hn::ScalableTag<float> d;
  const bool plus_zero = ff::PlusZeroOffset(scale, offset);
  for (size_t i = 0; i < n; i += hn::Lanes(d)) {
    hn::StoreU(ff::FmaScale(d, hn::LoadU(d, x + i), hn::Set(d, scale), hn::Set(d, offset),
                            plus_zero),
               d, out + i);
  }
}

// out[i] = FmaNormalResult(a[i], b[i], c[i]) on this target (n a multiple
// of 16; SSE4: F32x4 with only its midpoint test).
void FmaNormalResultOnTarget(const float* a, const float* b, const float* c, float* out,
                             size_t n) {
  const hn::ScalableTag<float> d;
  for (size_t i = 0; i < n; i += hn::Lanes(d)) {
    hn::StoreU(fanfill::HWY_NAMESPACE::FmaNormalResult(d, hn::LoadU(d, a + i), hn::LoadU(d, b + i),
                                                       hn::LoadU(d, c + i)),
               d, out + i);
  }
}

// out[i] = FmaXzPolyPlusX<kSin, kSinCosZMax>(x[i], z[i]) on this target,
// sin x's last step (n a multiple of 16; SSE4: FmaXzChainPlusX).
void SinStepOnTarget(const float* x, const float* z, float* out, size_t n) {
  using C = fanfill::internal::TransformConstants<float>;
  const hn::ScalableTag<float> d;
  for (size_t i = 0; i < n; i += hn::Lanes(d)) {
    hn::StoreU(fanfill::HWY_NAMESPACE::FmaXzPolyPlusX<C::kSin, C::kSinCosZMax>(
                   d, hn::LoadU(d, x + i), hn::LoadU(d, z + i)),
               d, out + i);
  }
}

// out[i] = the Horner chain `chain` (HornerChain below) at z[i] on this target (n a multiple of 16).
void HornerOnTarget(int chain, const float* z, float* out, size_t n) {
  namespace ff = fanfill::HWY_NAMESPACE;
  using C = fanfill::internal::TransformConstants<float>;
  const hn::ScalableTag<float> d;
  for (size_t i = 0; i < n; i += hn::Lanes(d)) {
    const auto v = hn::LoadU(d, z + i);
    hn::Vec<decltype(d)> r;
    switch (chain) {
      case 0: r = ff::PolyDescending<kHardChain>(d, v); break;
      case 1: r = ff::PolyAscending<C::kLogR>(d, v); break;
      case 2: r = ff::PolyAscending<C::kSin>(d, v); break;
      case 3: r = ff::PolyAscending<C::kCos>(d, v); break;
      case 4: r = ff::PolyDescending<fanfill::internal::kErfinvCentral>(d, v); break;
      case 5: r = ff::PolyDescending<fanfill::internal::kErfinvTail>(d, v); break;
      // The locked chains (SSE4: HornerLockedF32x4), for z in [0, z_max] only.
      case 6: r = ff::PolyAscending<C::kLogR, C::kLogZMax>(d, v); break;
      case 7: r = ff::PolyAscending<C::kSin, C::kSinCosZMax>(d, v); break;
      case 8: r = ff::PolyAscending<C::kCosWithOne, C::kSinCosZMax>(d, v); break;
      // The erfinv central polynomial at z = RN(v - 2.5), v = w (SSE4: partly
      // locked where every lane's z is in its range).
      default: r = ff::ErfinvCentral(d, v); break;
    }
    hn::StoreU(r, d, out + i);
  }
}

// out[i] = the locked double chain `chain` at z[i] on this target (SSE4:
// HornerLockedF64x2): 0 kLogR over [0, kLogZMax], 1 kSin and 2 kCos over
// [0, kSinCosZMax]; 3 the erfinv central polynomial at RN(z[i] - 2.5), z[i]
// = w (SCALAR without FMA: partly locked where z is in range) (n a
// multiple of 16).
void HornerF64OnTarget(int chain, const double* z, double* out, size_t n) {
  namespace ff = fanfill::HWY_NAMESPACE;
  using C = fanfill::internal::TransformConstants<double>;
  const hn::ScalableTag<double> d;
  for (size_t i = 0; i < n; i += hn::Lanes(d)) {
    const auto v = hn::LoadU(d, z + i);
    hn::Vec<decltype(d)> r;
    switch (chain) {
      case 0: r = ff::PolyAscending<C::kLogR, C::kLogZMax>(d, v); break;
      case 1: r = ff::PolyAscending<C::kSin, C::kSinCosZMax>(d, v); break;
      case 2: r = ff::PolyAscending<C::kCos, C::kSinCosZMax>(d, v); break;
      default: r = ff::ErfinvCentral(d, v); break;
    }
    hn::StoreU(r, d, out + i);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace fanfill_test
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "src/core/fill_params.h"
#include "src/core/fma_emulation.h"
#include "src/core/transform_constants.h"

namespace fanfill_test {

HWY_EXPORT(FmaF32OnTarget);
HWY_EXPORT(FmaF64OnTarget);
HWY_EXPORT(HornerOnTarget);
HWY_EXPORT(HornerF64OnTarget);
HWY_EXPORT(FmaScaleOnTarget);
HWY_EXPORT(FmaNormalResultOnTarget);
HWY_EXPORT(SinStepOnTarget);

namespace {

using fanfill::internal::FmaF32;
using fanfill::internal::FmaF64;

template <class T>
struct Cases {
  std::vector<T> a, b, c;
  void Add(T x, T y, T z) {
    a.push_back(x);
    b.push_back(y);
    c.push_back(z);
  }
  size_t size() const { return a.size(); }
  void PadTo16() {
    while (a.size() % 16 != 0) Add(T(1), T(1), T(1));
  }
};

template <class T>
uint64_t Bits(T x) {
  if constexpr (sizeof(T) == 4) {
    return std::bit_cast<uint32_t>(x);
  } else {
    return std::bit_cast<uint64_t>(x);
  }
}

// Every sign combination of (a, b, c), each scaled by 2^e (a and c; the
// product's exponent moves with a's).
template <class T>
void AddSignsAndScales(Cases<T>& cases, T a, T b, T c, const std::vector<int>& exponents) {
  for (int e : exponents) {
    for (int s = 0; s < 8; ++s) {
      cases.Add((s & 1 ? -1 : 1) * std::ldexp(a, e), (s & 2 ? -1 : 1) * b,
                (s & 4 ? -1 : 1) * std::ldexp(c, e));
    }
  }
}

// float: c has an odd last bit, a b = ulp(c) / 2 (1 - m^2 2^-46): a b + c is
// just inside a float rounding interval, but (double)(a b) + c rounds onto the
// midpoint, which ties to the wrong float.
Cases<float> HardF32() {
  Cases<float> cases;
  const float u = 0x1.0p-23f;
  int naive_wrong = 0;
  for (int m = 1; m < 256; ++m) {
    for (int k : {0, 1, 77, 4095, (1 << 22) - 1}) {
      const float c = 1.0f + static_cast<float>(2 * k + 1) * u;
      const float a = 0x1.0p-24f * (1.0f + static_cast<float>(m) * u);
      const float b = 1.0f - static_cast<float>(m) * u;
      const float naive = static_cast<float>(static_cast<double>(a) * b + c);
      naive_wrong += naive != std::fma(a, b, c);
      AddSignsAndScales(cases, a, b, c, {-100, -60, -20, 0, 20, 60, 100});
    }
  }
  EXPECT_EQ(naive_wrong, 255 * 5) << "the hard cases are not hard";
  return cases;
}

// float, results on the subnormal grid (step 2^-149): c = k 2^-149 with k
// odd and near 2^23, a b = 2^-150 (1 - m^2 2^-46), just under half a step:
// the exact sum rounds down to c, but the double sum (53 bits at about 2^-126)
// lands on the midpoint (k + 1/2) 2^-149, which ties to the even k + 1. The
// midpoint test cannot see it (the float grid here is not the 24-bit one);
// the tiny-result branch of FmaF32 and F32x4 must.
Cases<float> HardSubnormalF32() {
  Cases<float> cases;
  const float u = 0x1.0p-23f;
  int naive_wrong = 0, count = 0;
  for (int m = 1; m < 256; m += 2) {
    for (int k : {(1 << 22) + 1, (1 << 22) + 12345, 3 << 21 | 1, (1 << 23) - 1, (1 << 23) - 77}) {
      const float a = 0x1.0p-100f * (1.0f + static_cast<float>(m) * u);
      const float b = 0x1.0p-50f * (1.0f - static_cast<float>(m) * u);
      const float c = std::ldexp(static_cast<float>(k), -149);
      naive_wrong += static_cast<float>(static_cast<double>(a) * b + c) != std::fma(a, b, c);
      ++count;
      // Every sign combination is hard (c - a b sits just above (k - 1/2) 2^-149).
      for (int s = 0; s < 8; ++s) cases.Add(s & 1 ? -a : a, s & 2 ? -b : b, s & 4 ? -c : c);
    }
  }
  EXPECT_GT(naive_wrong, count / 4) << "the subnormal hard cases are not hard";
  return cases;
}

// double: the same construction with u = 2^-52: a b + c rounded twice (the
// product, then the sum) ties to the wrong double.
Cases<double> HardF64() {
  Cases<double> cases;
  const double u = 0x1.0p-52;
  int naive_wrong = 0, count = 0;
  for (int64_t m = 1; m < (int64_t{1} << 25); m = m * 3 + 1) {
    for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{12345}, (int64_t{1} << 51) - 1}) {
      const double c = 1.0 + static_cast<double>(2 * k + 1) * u;
      const double a = 0x1.0p-53 * (1.0 + static_cast<double>(m) * u);
      const double b = 1.0 - static_cast<double>(m) * u;
      const double naive = a * b + c;
      naive_wrong += naive != std::fma(a, b, c);
      ++count;
      AddSignsAndScales(cases, a, b, c, {-600, -300, -50, 0, 50, 300, 600});
    }
  }
  EXPECT_EQ(naive_wrong, count) << "the hard cases are not hard";
  return cases;
}

// Random significands; a, b exponents in [-emax, emax]; c's exponent within
// +-spread of the product's (all alignments, heavy cancellation included), and
// c = -round(a b) (+ a few ulps) so the result is the product's rounding error.
template <class T>
Cases<T> Random(size_t n, int emax, int spread, uint64_t seed) {
  Cases<T> cases;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<T> mant(T(1), T(2));
  std::uniform_int_distribution<int> ea(-emax, emax), ec(-spread, spread), coin(0, 1);
  for (size_t i = 0; i < n; ++i) {
    const T a = (coin(rng) ? -1 : 1) * std::ldexp(mant(rng), ea(rng));
    const T b = (coin(rng) ? -1 : 1) * std::ldexp(mant(rng), ea(rng));
    const int pe = std::ilogb(a) + std::ilogb(b);
    T c;
    if (i % 8 == 0) {
      c = -(a * b);
      if (i % 16 == 0) c = std::nextafter(c, coin(rng) ? T(0) : c * T(2));
    } else {
      c = (coin(rng) ? -1 : 1) * std::ldexp(mant(rng), pe + ec(rng));
    }
    cases.Add(a, b, c);
  }
  return cases;
}

// Zeros, exact results, tiny and (float) subnormal results. (double: FmaF64's
// bounds exclude products below 2^-969, so its smallest value is 2^-400.)
template <class T>
Cases<T> Special() {
  Cases<T> cases;
  if constexpr (sizeof(T) == 4) {
    // Sums in (2^128 - 2^103, 2^128): above the overflow midpoint, below 2^128
    // (infinity, which a clamping double -> float conversion would miss).
    // First, each with three plain lanes (All starts Special at a multiple of
    // 16): a vector holding another flagged lane would go by lane anyway.
    const T big = std::numeric_limits<T>::max();
    for (T c : {std::ldexp(T(1.5), 103), -std::ldexp(T(1.5), 103), std::ldexp(T(1), 103)}) {
      cases.Add(c > 0 ? big : -big, T(1), c);  // 2^103 exactly: the midpoint, ties to inf
      for (int i = 0; i < 3; ++i) cases.Add(T(1), T(1), T(1));
    }
  }
  const T tiny = sizeof(T) == 4 ? std::numeric_limits<T>::min() : std::ldexp(T(1), -400);
  const T tinier = sizeof(T) == 4 ? std::numeric_limits<T>::denorm_min() : std::ldexp(T(1), -450);
  const T values[] = {T(0), -T(0), T(1), T(-1), T(0.5), T(3), std::ldexp(T(1), -60), tiny, tinier};
  for (T a : values) {
    for (T b : values) {
      for (T c : values) cases.Add(a, b, c);
    }
  }
  const T inf = std::numeric_limits<T>::infinity();
  const T big = std::numeric_limits<T>::max();
  cases.Add(inf, T(2), T(1));
  cases.Add(T(2), T(3), -inf);
  cases.Add(-inf, T(0.5), T(3));
  cases.Add(big, T(1), big);                      // overflows to inf
  cases.Add(big, T(2), -big);                     // big
  cases.Add(std::ldexp(T(1), std::numeric_limits<T>::max_exponent - 1), T(2), T(0));  // inf
  if constexpr (sizeof(T) == 8) {
    // Outside FmaF64's envelope (std::fma takes them): scales near 2^997,
    // where Veltkamp's split overflows, and products near 2^-1014, where
    // Dekker's error term is inexact (the review's counterexamples).
    cases.Add(0.5, 1.5e300, 0.0);
    cases.Add(-1.25, 1e305, 0.0);
    cases.Add(0x1.d1fc47c43fp-9, 0x1.c16c5c5253575p-1014, 0.0);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> mant(1.0, 2.0);
    for (int i = 0; i < 20000; ++i) {
      cases.Add(mant(rng), std::ldexp(mant(rng), -1014 + i % 40), std::ldexp(mant(rng), -1030));
      cases.Add(mant(rng), std::ldexp(mant(rng), 990 + i % 30), -std::ldexp(mant(rng), 1000));
      cases.Add(std::ldexp(mant(rng), -481 - i % 3), std::ldexp(mant(rng), 499 + i % 3), 1.0);
    }
  }
  if constexpr (sizeof(T) == 4) {  // float results in the subnormal range
    std::mt19937_64 rng(99);
    std::uniform_real_distribution<float> mant(1.0f, 2.0f);
    for (int i = 0; i < 20000; ++i) {
      const float a = std::ldexp(mant(rng), -60 - i % 30);
      const float b = std::ldexp(mant(rng), -60 - i % 17);
      const float c = (i % 2 ? -1 : 1) * std::ldexp(mant(rng), -135 - i % 12);
      cases.Add(a, b, c);
      cases.Add(a, b, -a * b);
    }
  }
  return cases;
}

template <class T>
Cases<T> All() {
  Cases<T> cases;
  auto append = [&](const Cases<T>& more) {
    for (size_t i = 0; i < more.size(); ++i) cases.Add(more.a[i], more.b[i], more.c[i]);
  };
  if constexpr (sizeof(T) == 4) {
    append(HardF32());
    append(HardSubnormalF32());
    append(Random<float>(1 << 21, 40, 40, 1));
    append(Random<float>(1 << 18, 60, 100, 2));
  } else {
    append(HardF64());
    append(Random<double>(1 << 21, 300, 120, 3));
  }
  cases.PadTo16();
  append(Special<T>());
  cases.PadTo16();
  return cases;
}

template <class T>
T Emulated(T a, T b, T c) {
  if constexpr (sizeof(T) == 4) {
    return FmaF32(a, b, c);
  } else {
    return FmaF64(a, b, c);
  }
}

template <class T>
void ExpectAllEqual(const Cases<T>& cases, const std::vector<T>& got, const std::string& what) {
  size_t bad = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const T want = std::fma(cases.a[i], cases.b[i], cases.c[i]);
    if (Bits(got[i]) != Bits(want) && bad++ < 5) {
      ADD_FAILURE() << what << ": fma(" << cases.a[i] << ", " << cases.b[i] << ", " << cases.c[i]
                    << ") = " << want << ", emulation gave " << got[i];
    }
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << cases.size() << " differ";
}

TEST(FmaEmulation, ScalarF32MatchesStdFma) {
  const Cases<float> cases = All<float>();
  std::vector<float> got(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) got[i] = FmaF32(cases.a[i], cases.b[i], cases.c[i]);
  ExpectAllEqual(cases, got, "FmaF32");
}

TEST(FmaEmulation, ScalarF64MatchesStdFma) {
  const Cases<double> cases = All<double>();
  std::vector<double> got(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) got[i] = FmaF64(cases.a[i], cases.b[i], cases.c[i]);
  ExpectAllEqual(cases, got, "FmaF64");
}

// The same cases through each compiled target this CPU runs: the emulated
// targets' vector code (and its by-lane fallback) and the hardware FMA ones.
template <class T>
void CheckTargets() {
  const Cases<T> cases = All<T>();
  const std::vector<std::string> targets = fanfill::SupportedTargets();
  ASSERT_FALSE(targets.empty());
  for (const std::string& target : targets) {
    fanfill::ForceTarget(target);
    for (bool emulated : {false, true}) {
      std::vector<T> got(cases.size());
      if constexpr (sizeof(T) == 4) {
        HWY_DYNAMIC_DISPATCH(FmaF32OnTarget)(cases.a.data(), cases.b.data(), cases.c.data(),
                                             got.data(), cases.size(), emulated);
      } else {
        HWY_DYNAMIC_DISPATCH(FmaF64OnTarget)(cases.a.data(), cases.b.data(), cases.c.data(),
                                             got.data(), cases.size(), emulated);
      }
      ExpectAllEqual(cases, got, target + (emulated ? " (vector emulation)" : " (Fma)"));
    }
  }
  fanfill::ForceTarget("auto");
}

TEST(FmaEmulation, EveryTargetF32MatchesStdFma) { CheckTargets<float>(); }
TEST(FmaEmulation, EveryTargetF64MatchesStdFma) { CheckTargets<double>(); }

// The chains of HornerOnTarget by std::fma, in float: {coefficients in Horner order}.
std::vector<float> HornerChain(int chain) {
  using C = fanfill::internal::TransformConstants<float>;
  auto reversed = [](const auto& c) { return std::vector<float>(c.rbegin(), c.rend()); };
  auto as_float = [](const auto& c) { return std::vector<float>(c.begin(), c.end()); };
  switch (chain) {
    case 0: return as_float(kHardChain);
    case 1: return reversed(C::kLogR);
    case 2: return reversed(C::kSin);
    case 3: return reversed(C::kCos);
    case 4: return as_float(fanfill::internal::kErfinvCentral);
    case 5: return as_float(fanfill::internal::kErfinvTail);
    case 6: return reversed(C::kLogR);
    case 7: return reversed(C::kSin);
    default: return reversed(C::kCosWithOne);
  }
}

float HornerByStdFma(const std::vector<float>& c, float z) {
  float acc = c[0];
  for (size_t k = 1; k < c.size(); ++k) acc = std::fma(acc, z, c[k]);
  return acc;
}

// z for the chains: the hard pair (in lanes 0-1 and 2-3 of a 4-lane
// vector: both halves of HornerF32x4); random values in [-80, 80] and of every
// magnitude from the subnormals to 2^9; values whose chains overflow to
// infinity; zeros, infinities and NaN.
std::vector<float> HornerInputs() {
  std::vector<float> z = {kHardZ, -kHardZ, 0.0f, -0.0f, 1.0f, 0.5f, kHardZ, -kHardZ, 64.0f, -64.0f, std::nextafter(64.0f, 100.0f),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(), -1e20f, 3e9f, 1e5f};
  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<float> wide(-80.0f, 80.0f), mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> expo(-150, 8), coin(0, 1);
  for (int i = 0; i < (1 << 19); ++i) {
    z.push_back(wide(rng));
    z.push_back((coin(rng) ? -1 : 1) * std::ldexp(mant(rng), expo(rng)));
  }
  while (z.size() % 16 != 0) z.push_back(1.0f);
  return z;
}

// FmaNormalResult against std::fma on every case of All<float>() whose exact
// a b + c is 0 or of magnitude in [2^-125, 2^126] (its precondition, with
// margin): the hard double-rounding families are among them, and SSE4 must
// still catch their midpoints with the range tests left out.
TEST(FmaEmulation, EveryTargetFmaNormalResultMatchesStdFma) {
  const Cases<float> all = All<float>();
  Cases<float> cases;
  size_t hard = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    // The product is exact in long double (64-bit significand); the sum is 0
    // exactly when the exact value is, and otherwise close enough to bound it.
    const long double x = static_cast<long double>(all.a[i]) * all.b[i] + all.c[i];
    const long double m = x < 0 ? -x : x;
    if (!(x == 0 || (m >= 0x1.0p-125L && m <= 0x1.0p126L))) continue;
    cases.Add(all.a[i], all.b[i], all.c[i]);
    const double s = static_cast<double>(all.a[i]) * all.b[i] + static_cast<double>(all.c[i]);
    hard += static_cast<float>(s) != std::fma(all.a[i], all.b[i], all.c[i]);
  }
  cases.PadTo16();
  EXPECT_GT(hard, 100u) << "the normal-range cases should include double-rounding ones";
  for (const std::string& target : fanfill::SupportedTargets()) {
    fanfill::ForceTarget(target);
    std::vector<float> got(cases.size());
    HWY_DYNAMIC_DISPATCH(FmaNormalResultOnTarget)(cases.a.data(), cases.b.data(), cases.c.data(),
                                                  got.data(), cases.size());
    ExpectAllEqual(cases, got, target + " (FmaNormalResult)");
  }
  fanfill::ForceTarget("auto");
}

// The locked chains' plans (src/core/fma_emulation.h): the three the kernels
// use hold over their z ranges; chains that leave a binade or cross zero, or
// ranges beyond what a chain allows, are refused.
TEST(FmaEmulation, LockedChainPlans) {
  using C = fanfill::internal::TransformConstants<float>;
  using fanfill::internal::PlanLockedChain;
  static_assert(PlanLockedChain(C::kLogR, true, C::kLogZMax).ok);
  static_assert(PlanLockedChain(C::kSin, true, C::kSinCosZMax).ok);
  static_assert(PlanLockedChain(C::kCosWithOne, true, C::kSinCosZMax).ok);
  // cos x = 1 - z/2 + ... leaves [1/2, 1] for z a little above 1.
  EXPECT_FALSE(PlanLockedChain(C::kCosWithOne, true, 1.2).ok);
  EXPECT_FALSE(PlanLockedChain(C::kLogR, true, 0.5).ok);
  // The erfinv chains change sign or binade over their ranges.
  EXPECT_FALSE(PlanLockedChain(fanfill::internal::kErfinvCentral, false, 2.5).ok);
  EXPECT_FALSE(PlanLockedChain(fanfill::internal::kErfinvTail, false, 2.5).ok);
  // A one-step chain 1 + z/4 stays in [1, 2] for z <= 4; the plan's bounds
  // are widened outwards, so it takes 3.999 and refuses 4 and beyond.
  static constexpr std::array<float, 2> kEdge = {1.0f, 0.25f};
  EXPECT_TRUE(PlanLockedChain(kEdge, true, 3.999).ok);
  EXPECT_FALSE(PlanLockedChain(kEdge, true, 4.0).ok);
  EXPECT_FALSE(PlanLockedChain(kEdge, true, 4.001).ok);
  // Negative chains lock too (-1 + z/4 in [-1, -3/4]); one that crosses zero
  // (0.1 - z) does not, nor one that leaves its binade (-1 + z/4 beyond z = 2).
  static constexpr std::array<float, 2> kNegative = {-1.0f, 0.25f};
  static constexpr std::array<float, 2> kCrossing = {0.1f, -1.0f};
  EXPECT_TRUE(PlanLockedChain(kNegative, true, 1.0).ok);
  EXPECT_FALSE(PlanLockedChain(kNegative, true, 2.5).ok);
  EXPECT_FALSE(PlanLockedChain(kCrossing, true, 0.2).ok);
  EXPECT_TRUE(PlanLockedChain(kCrossing, true, 0.01).ok);
  // Outside its range a plan's arithmetic is wrong (the comparisons below
  // can fail): cos's chain evaluated for z in [1.2, 1.5), where cos x < 1/2.
  static constexpr auto kCosPlan = PlanLockedChain(C::kCosWithOne, true, C::kSinCosZMax);
  const std::vector<float> cos_chain = HornerChain(8);
  size_t differ = 0;
  for (float z = 1.2f; z < 1.5f; z = std::nextafter(z, 2.0f)) {
    const float locked = fanfill::internal::HornerLocked(kCosPlan, z);
    differ += Bits(locked) != Bits(HornerByStdFma(cos_chain, z));
  }
  EXPECT_GT(differ, 1000u);
}

// The erfinv central chain's plan over its SSE4 range locks steps 1, 4
// and 5 and, z a multiple of 2^-23, finds 2, 3, 6 and 8 exact in double;
// over all of w in [-0.1, 5), z in [-2.6, 2.5], it locks only step 1 and
// finds 2, 3, 5, 6 and 8 exact. Without the multiple no step is exact.
TEST(FmaEmulation, ErfinvCentralPartlyLocked) {
  using fanfill::internal::kErfinvCentral;
  using fanfill::internal::kErfinvCentralWideZMax;
  using fanfill::internal::kErfinvCentralZLsb;
  using fanfill::internal::kErfinvCentralZMax;
  using fanfill::internal::kErfinvCentralZMin;
  using fanfill::internal::PlanChainSteps;
  using Steps = std::array<bool, 9>;
  constexpr auto kPlan = PlanChainSteps(kErfinvCentral, false, kErfinvCentralZMin,
                                        kErfinvCentralZMax, kErfinvCentralZLsb);
  EXPECT_EQ(kPlan.locked, (Steps{false, true, false, false, true, true, false, false, false}));
  EXPECT_EQ(kPlan.exact, (Steps{false, false, true, true, false, false, true, false, true}));
  constexpr auto kWide = PlanChainSteps(kErfinvCentral, false, kErfinvCentralZMin,
                                        kErfinvCentralWideZMax, kErfinvCentralZLsb);
  EXPECT_EQ(kWide.locked, (Steps{false, true, false, false, false, false, false, false, false}));
  EXPECT_EQ(kWide.exact, (Steps{false, false, true, true, false, true, true, false, true}));
  constexpr auto kNoLsb =
      PlanChainSteps(kErfinvCentral, false, kErfinvCentralZMin, kErfinvCentralZMax);
  EXPECT_EQ(kNoLsb.locked, kPlan.locked);
  EXPECT_EQ(kNoLsb.exact, Steps{});
  // ErfinvCentral on every target against the std::fma chain at z =
  // RN(w - 2.5): every 97th float pattern of w in [0, 5] (the central range),
  // every 97th of w in [-0.125, -2^-20] (z = w - 2.5 below -2.5 and past
  // the range's end -2.6): lanes on both sides of both ends; and w just
  // around 2.5 and 0, in every lane.
  std::vector<float> w;
  const uint32_t top = std::bit_cast<uint32_t>(5.0f);
  for (uint32_t b = 0; b <= top; b += 97) w.push_back(std::bit_cast<float>(b));
  // w in [-0.125, 0): z below -2.5, down to the range's end and past it.
  for (uint32_t b = std::bit_cast<uint32_t>(0x1.0p-20f); b <= std::bit_cast<uint32_t>(0.125f);
       b += 97) {
    w.push_back(-std::bit_cast<float>(b));
  }
  for (float v : {0.0f, 2.5f}) {
    float up = v, down = v;
    for (int i = 0; i < 64; ++i) {
      w.push_back(up);
      w.push_back(down);
      up = std::nextafter(up, 3.0f);
      down = std::nextafter(down, -1.0f);
    }
  }
  while (w.size() % 16 != 0) w.push_back(1.0f);
  const std::vector<float> c = HornerChain(4);
  std::vector<float> want_values(w.size());
  for (size_t i = 0; i < w.size(); ++i) want_values[i] = HornerByStdFma(c, w[i] - 2.5f);
  for (const std::string& target : fanfill::SupportedTargets()) {
    fanfill::ForceTarget(target);
    std::vector<float> got(w.size());
    HWY_DYNAMIC_DISPATCH(HornerOnTarget)(9, w.data(), got.data(), w.size());
    size_t bad = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      if (Bits(got[i]) != Bits(want_values[i]) && bad++ < 5) {
        ADD_FAILURE() << target << ": erfinv central at w = " << w[i] << ": want "
                      << want_values[i] << ", got " << got[i];
      }
    }
    EXPECT_EQ(bad, 0u) << target;
  }
  fanfill::ForceTarget("auto");
  EXPECT_GT(w.size(), size_t{11000000});
}

// The exact steps above, checked along the std::fma chain: for every 3rd
// multiple of 2^-23 in (-1, 1) and every 3rd float of magnitude in [1, 2.6]
// (the z that ErfinvCentral can see there: kErfinvCentralZLsb's proof), each
// step the plan for z's range marks exact has acc z + c_k exact in double
// (TwoSum's error 0; acc z is exact, 24 x 24 bits). Steps not marked do
// round (the check has power).
TEST(FmaEmulation, ErfinvCentralExactStepsAreExact) {
  using fanfill::internal::kErfinvCentral;
  using fanfill::internal::kErfinvCentralZLsb;
  using fanfill::internal::PlanChainSteps;
  constexpr auto kNarrow =
      PlanChainSteps(kErfinvCentral, false, fanfill::internal::kErfinvCentralZMin,
                     fanfill::internal::kErfinvCentralZMax, kErfinvCentralZLsb);
  constexpr auto kWide =
      PlanChainSteps(kErfinvCentral, false, fanfill::internal::kErfinvCentralZMin,
                     fanfill::internal::kErfinvCentralWideZMax, kErfinvCentralZLsb);
  std::vector<float> z;
  for (int32_t k = -(1 << 23) + 1; k < (1 << 23); k += 3) {
    z.push_back(static_cast<float>(k) * 0x1.0p-23f);
  }
  for (uint32_t b = std::bit_cast<uint32_t>(1.0f); b <= std::bit_cast<uint32_t>(2.6f); b += 3) {
    const float v = std::bit_cast<float>(b);
    if (v <= fanfill::internal::kErfinvCentralWideZMax) z.push_back(v);
    if (-v >= fanfill::internal::kErfinvCentralZMin) z.push_back(-v);
  }
  size_t exact_checked = 0, inexact = 0, other_rounded = 0;
  for (float zv : z) {
    const auto& plan = zv <= fanfill::internal::kErfinvCentralZMax ? kNarrow : kWide;
    float acc = static_cast<float>(plan.coef[0]);
    for (size_t k = 1; k < plan.coef.size(); ++k) {
      const float ck = static_cast<float>(plan.coef[k]);
      double sum, err;
      fanfill::internal::TwoSum(static_cast<double>(acc) * zv, static_cast<double>(ck), sum, err);
      if (plan.exact[k]) {
        ++exact_checked;
        if (err != 0 && inexact++ < 5) {
          ADD_FAILURE() << "step " << k << " at z = " << zv << " is not exact in double";
        }
      } else {
        other_rounded += err != 0;
      }
      acc = std::fma(acc, zv, ck);
    }
  }
  EXPECT_EQ(inexact, 0u) << "of " << exact_checked;
  EXPECT_GT(exact_checked, size_t{4} * 7000000);
  EXPECT_GT(other_rounded, size_t{1000000});
}

// Every z the f32 sincos can see: z = RN(x^2) for x = RN(n kAngleHi +
// RN(n kAngleLo)), n odd, 0 < n < 2^22 (x is odd in n); and z for the log:
// z = RN(s^2), s = RN(f / (2 + f)) for f = m - 1 over every float m in
// [sqrt(1/2), sqrt(2)) (LogPositive's f), sampled floats of [0, kLogZMax]
// and the range ends.
std::vector<float> SinCosZ() {
  using C = fanfill::internal::TransformConstants<float>;
  std::vector<float> z;
  for (int32_t n = 1; n < (1 << 22); n += 2) {
    const float nf = static_cast<float>(n);
    const float x = std::fma(nf, C::kAngleHi, nf * C::kAngleLo);
    z.push_back(x * x);
  }
  z.push_back(0.0f);
  z.push_back(static_cast<float>(C::kSinCosZMax));
  while (z.size() % 16 != 0) z.push_back(0.5f);
  return z;
}

std::vector<float> LogZ() {
  using C = fanfill::internal::TransformConstants<float>;
  std::vector<float> z;
  const uint32_t lo = std::bit_cast<uint32_t>(0.70710677f);  // sqrt(1/2)
  const uint32_t hi = std::bit_cast<uint32_t>(1.4142135f);   // sqrt(2)
  for (uint32_t b = lo; b <= hi; ++b) {
    const float f = std::bit_cast<float>(b) - 1.0f;
    const float s = f / (2.0f + f);
    z.push_back(s * s);
  }
  const uint32_t top = std::bit_cast<uint32_t>(static_cast<float>(C::kLogZMax));
  for (uint32_t b = 0; b <= top; b += 101) z.push_back(std::bit_cast<float>(b));
  z.push_back(static_cast<float>(C::kLogZMax));
  while (z.size() % 16 != 0) z.push_back(0.0f);
  return z;
}

void ExpectChainMatches(int chain, const std::vector<float>& z) {
  const std::vector<float> c = HornerChain(chain);
  using C = fanfill::internal::TransformConstants<float>;
  using fanfill::internal::HornerLocked;
  using fanfill::internal::CheckedLockedPlan;
  static constexpr auto kLogPlan = CheckedLockedPlan<C::kLogR, true, C::kLogZMax>();
  static constexpr auto kSinPlan = CheckedLockedPlan<C::kSin, true, C::kSinCosZMax>();
  static constexpr auto kCosPlan = CheckedLockedPlan<C::kCosWithOne, true, C::kSinCosZMax>();
  std::vector<float> want(z.size());
  size_t bad = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    want[i] = HornerByStdFma(c, z[i]);
    const float scalar = chain == 6   ? HornerLocked(kLogPlan, z[i])
                         : chain == 7 ? HornerLocked(kSinPlan, z[i])
                                      : HornerLocked(kCosPlan, z[i]);
    if (Bits(scalar) != Bits(want[i]) && bad++ < 5) {
      ADD_FAILURE() << "HornerLocked: chain " << chain << " at z = " << z[i] << ": want "
                    << want[i] << ", got " << scalar;
    }
  }
  EXPECT_EQ(bad, 0u) << "HornerLocked: chain " << chain;
  for (const std::string& target : fanfill::SupportedTargets()) {
    fanfill::ForceTarget(target);
    std::vector<float> got(z.size());
    HWY_DYNAMIC_DISPATCH(HornerOnTarget)(chain, z.data(), got.data(), z.size());
    bad = 0;
    for (size_t i = 0; i < z.size(); ++i) {
      if (Bits(got[i]) != Bits(want[i]) && bad++ < 5) {
        ADD_FAILURE() << target << ": chain " << chain << " at z = " << z[i] << ": want "
                      << want[i] << ", got " << got[i];
      }
    }
    EXPECT_EQ(bad, 0u) << target << ": chain " << chain;
  }
  fanfill::ForceTarget("auto");
}

TEST(FmaEmulation, LockedChainsMatchStdFmaOverTheirDomain) {
  const std::vector<float> sincos = SinCosZ(), log = LogZ();
  ExpectChainMatches(6, log);
  ExpectChainMatches(7, sincos);
  ExpectChainMatches(8, sincos);
}

// sin x's last step, fma(RN(x z), P(z), x) with P the kSin chain, against
// std::fma on every target: every (x, z = RN(x^2)) the f32 sincos can see
// (x = RN(n kAngleHi + RN(n kAngleLo)), n odd, 0 < n < 2^22, both signs), and
// pairs whose double sum is a float midpoint (SSE4's fallback), random pairs
// of any binade with z in [0, kSinCosZMax] (FmaXzPolyPlusX's precondition:
// |z P| < 0.12, so every result is a normal float).
TEST(FmaEmulation, EveryTargetSinStepMatchesStdFma) {
  using C = fanfill::internal::TransformConstants<float>;
  const std::vector<float> p = HornerChain(2);  // kSin
  std::vector<float> x, z;
  for (int32_t n = 1; n < (1 << 22); n += 2) {
    const float nf = static_cast<float>(n);
    const float xn = std::fma(nf, C::kAngleHi, nf * C::kAngleLo);
    for (float v : {xn, -xn}) {
      x.push_back(v);
      z.push_back(v * v);
    }
  }
  // Pairs whose double sum RN(x z) P + x is a float midpoint (SSE4's
  // fallback), found by a search over x in [1, 2) for random z: hard (the
  // exact sum is not the midpoint; rounding the double sum gives the wrong
  // float), then exact midpoints (ties to even). Every binade and both signs;
  // the search result is checked below, so stale pairs fail the test.
  const float kMidpointPairs[][2] = {
      {0x1.cb048p+0f, 0x1.779f0cp-14f},  {0x1.ccac72p+0f, 0x1.030856p-12f},
      {0x1.484138p+0f, 0x1.05b572p-8f},  {0x1.cb8e82p+0f, 0x1.05b572p-8f},
      {0x1.16eb2ap+0f, 0x1.bb34e8p-6f},  {0x1.3f9bcap+0f, 0x1.a51e8cp-13f},
      {0x1.27e428p+0f, 0x1.9c333p-4f},   {0x1.001d68p+0f, 0x1.c52e74p-12f},
      {0x1.9bd968p+0f, 0x1.54b67ep-6f},  {0x1.c8e87ep+0f, 0x1.25bcc8p-9f},
      {0x1.a0a088p+0f, 0x1.a3fa44p-8f},  {0x1.119da6p+0f, 0x1.e0bafep-7f},
      {0x1.82ca6ap+0f, 0x1.a4c9dap-10f}, {0x1.fbb52ap+0f, 0x1.022a1p-1f},
      {0x1.834362p+0f, 0x1.527508p-3f},  {0x1.cd1594p+0f, 0x1.1c44e2p-2f},
      {0x1.86e9b4p+0f, 0x1.4f4c16p-1f},  {0x1.0adbf6p+0f, 0x1.eb2a54p-2f},
      {0x1.a079b2p+0f, 0x1.3ab7ap-1f},   {0x1.368afap+0f, 0x1.37fa7ep-6f},
  };
  int hard = 0, undecided = 0;
  for (const auto& pair : kMidpointPairs) {
    for (int e : {-100, -20, -3, 0, 40, 100}) {
      for (float sign : {1.0f, -1.0f}) {
        const float xv = sign * std::ldexp(pair[0], e), zv = pair[1];
        const float xz = xv * zv, pz = HornerByStdFma(p, zv);
        const double sum = static_cast<double>(xz) * pz + xv;
        undecided += fanfill::internal::IsFloatMidpoint(sum);
        hard += static_cast<float>(sum) != std::fma(xz, pz, xv);
        // In lane 1 and lane 2 of a 4-lane vector (both halves on SSE4).
        for (float v : {1.0f, xv, xv, 1.0f}) x.push_back(v);
        for (float v : {0.5f, zv, zv, 0.5f}) z.push_back(v);
      }
    }
  }
  EXPECT_EQ(undecided, 20 * 12) << "the midpoint pairs no longer reach a float midpoint";
  EXPECT_EQ(hard, 13 * 12) << "the hard pairs are not hard";
  std::mt19937 gen(13);
  std::uniform_real_distribution<float> zdist(0.0f, static_cast<float>(C::kSinCosZMax));
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-120, 120);
  for (int i = 0; i < (1 << 20); ++i) {
    x.push_back((i & 1 ? -1.0f : 1.0f) * std::ldexp(mant(gen), exponent(gen)));
    z.push_back(i % 64 == 0 ? 0.0f : zdist(gen));
  }
  while (x.size() % 16 != 0) {
    x.push_back(1.0f);
    z.push_back(0.5f);
  }
  std::vector<float> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    want[i] = std::fma(x[i] * z[i], HornerByStdFma(p, z[i]), x[i]);
  }
  for (const std::string& target : fanfill::SupportedTargets()) {
    fanfill::ForceTarget(target);
    std::vector<float> got(x.size());
    HWY_DYNAMIC_DISPATCH(SinStepOnTarget)(x.data(), z.data(), got.data(), x.size());
    size_t bad = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (Bits(got[i]) != Bits(want[i]) && bad++ < 5) {
        ADD_FAILURE() << target << ": x = " << x[i] << ", z = " << z[i] << ": want " << want[i]
                      << ", got " << got[i];
      }
    }
    EXPECT_EQ(bad, 0u) << target;
  }
  fanfill::ForceTarget("auto");
}

// FmaScale against std::fma: zeros of both signs (where the product alone
// has the wrong sign), products that underflow to -0 or overflow, infinities,
// NaN, random values; offsets +0 (the multiply-only path), -0 and nonzero.
TEST(FmaEmulation, EveryTargetFmaScaleMatchesStdFma) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, 1e-30f, -1e-30f, 1e30f, -1e30f,
                          std::numeric_limits<float>::denorm_min(), -inf, inf,
                          std::numeric_limits<float>::quiet_NaN()};
  std::mt19937_64 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int i = 0; i < 100000; ++i) x.push_back(normal(rng));
  while (x.size() % 16 != 0) x.push_back(0.0f);
  // Zero, infinite and NaN scales too: PlusZeroOffset must refuse the
  // multiply-only path there (0 * -1 is -0, fma gives +0; inf * 0 is NaN).
  const float scales[] = {0.02f, -1.5f, 1e-20f, 3e25f, 0.0f, -0.0f, inf, -inf,
                          std::numeric_limits<float>::quiet_NaN()};
  const float offsets[] = {0.0f, -0.0f, 0.1f};
  for (const std::string& target : fanfill::SupportedTargets()) {
    fanfill::ForceTarget(target);
    for (float scale : scales) {
      for (float offset : offsets) {
        std::vector<float> got(x.size());
        HWY_DYNAMIC_DISPATCH(FmaScaleOnTarget)(x.data(), scale, offset, got.data(), x.size());
        size_t bad = 0;
        for (size_t i = 0; i < x.size(); ++i) {
          const float want = std::fma(x[i], scale, offset);
          const bool same = Bits(got[i]) == Bits(want) || (std::isnan(got[i]) && std::isnan(want));
          if (!same && bad++ < 3) {
            ADD_FAILURE() << target << ": fma(" << x[i] << ", " << scale << ", " << offset
                          << ") = " << want << ", FmaScale gave " << got[i];
          }
        }
        EXPECT_EQ(bad, 0u) << target << " scale " << scale << " offset " << offset;
      }
    }
  }
  fanfill::ForceTarget("auto");
}

// SinCosAngleF32's FmaExactInDouble: for every odd n, |n| < 2^22, the sum
// n kAngleHi + RN(n kAngleLo) is exact in double (checked in long double,
// 64-bit significand) and rounds to the FMA's float.
TEST(FmaEmulation, AngleSumIsExactInDouble) {
  using C = fanfill::internal::TransformConstants<float>;
  static_assert(std::numeric_limits<long double>::digits >= 64, "x86 long double");
  size_t inexact = 0, wrong = 0;
  for (int32_t r = -(1 << 21); r < (1 << 21); ++r) {
    const float n = static_cast<float>(2 * r + 1);
    const float y = n * C::kAngleLo;
    const double s = static_cast<double>(n) * C::kAngleHi + static_cast<double>(y);
    inexact += static_cast<long double>(s) !=
               static_cast<long double>(n) * C::kAngleHi + static_cast<long double>(y);
    wrong += static_cast<float>(s) != std::fma(n, C::kAngleHi, y);
  }
  EXPECT_EQ(inexact, 0u);
  EXPECT_EQ(wrong, 0u);
}

// The truncated normal's p = u pspan + pa and q = -u pspan + qa in double
// (FillParams::f_pq_exact_in_double): wherever SumsExactInDouble(s, c) holds,
// u s + c is exact in double (TwoSum's error 0) for u = K 2^-24 at the ends
// of K's range and at random K, over random s, c of exponents -60..0, both
// signs, and the zeros; the predicate holds for the usual truncations and
// fails where the exponents are too far apart (a tail's qa near 1).
TEST(FmaEmulation, TruncatedSumsExactInDouble) {
  using fanfill::internal::SumsExactInDouble;
  std::mt19937_64 rng(20261203);
  auto random_float = [&] {
    const uint32_t mant = static_cast<uint32_t>(rng()) & 0x7FFFFF;
    const uint32_t exp = 127 - static_cast<uint32_t>(rng() % 61);
    const uint32_t sign = static_cast<uint32_t>(rng() & 1) << 31;
    return std::bit_cast<float>(sign | exp << 23 | mant);
  };
  std::vector<uint32_t> ks = {1, 2, 3, (1u << 23) - 1, 1u << 23, (1u << 23) + 1, (1u << 24) - 1};
  while (ks.size() < 64) ks.push_back(1 + static_cast<uint32_t>(rng() % ((1u << 24) - 1)));
  size_t exact_pairs = 0, inexact_sums = 0, tested = 0;
  for (int i = 0; i < 20000; ++i) {
    const float s = i == 0 ? 0.0f : random_float();
    const float c = i == 1 ? 0.0f : i == 2 ? -0.0f : random_float();
    if (!SumsExactInDouble(s, c)) continue;
    ++exact_pairs;
    for (uint32_t k : ks) {
      const double u = static_cast<double>(k) * 0x1.0p-24;
      double sum, err;
      fanfill::internal::TwoSum(u * s, c, sum, err);  // u s exact: 24 x 24 bits
      inexact_sums += err != 0;
      ++tested;
    }
  }
  EXPECT_EQ(inexact_sums, 0u) << "of " << tested;
  EXPECT_GT(exact_pairs, 2000u);  // the random pairs reach both answers
  EXPECT_LT(exact_pairs, 18000u);
  auto flag = [](double lo, double hi) {
    return fanfill::internal::MakeFillParams(fanfill::DType::kF32,
                                             fanfill::Distribution::TruncatedNormal(0, 1, lo, hi))
        .f_pq_exact_in_double;
  };
  EXPECT_TRUE(flag(-2, 2));
  EXPECT_TRUE(flag(-1, 3));
  EXPECT_FALSE(flag(-4.9, -3));  // qa = 1 - 4.8e-7 against pspan = 1.3e-3
  EXPECT_FALSE(SumsExactInDouble(1.0f, std::numeric_limits<float>::infinity()));
  EXPECT_FALSE(SumsExactInDouble(0x1.0p-127f, 1.0f));  // subnormal
}

TEST(FmaEmulation, HardChainIsHard) {
  // Rounding the double sum to float gives the wrong float for both signs.
  const double a = kHardChain[0], c = kHardChain[1];
  for (float z : {kHardZ, -kHardZ}) {
    EXPECT_NE(static_cast<float>(a * z + c), std::fma(kHardChain[0], z, kHardChain[1])) << z;
  }
}

TEST(FmaEmulation, EveryTargetHornerChainMatchesStdFma) {
  const std::vector<float> z = HornerInputs();
  for (const std::string& target : fanfill::SupportedTargets()) {
    fanfill::ForceTarget(target);
    for (int chain = 0; chain < 6; ++chain) {  // 6-8 (locked) need z in range: below
      const std::vector<float> c = HornerChain(chain);
      std::vector<float> got(z.size());
      HWY_DYNAMIC_DISPATCH(HornerOnTarget)(chain, z.data(), got.data(), z.size());
      size_t bad = 0;
      for (size_t i = 0; i < z.size(); ++i) {
        const float want = HornerByStdFma(c, z[i]);
        const bool same = Bits(got[i]) == Bits(want) || (std::isnan(got[i]) && std::isnan(want));
        if (!same && bad++ < 5) {
          ADD_FAILURE() << target << ": chain " << chain << " at z = " << z[i] << ": want "
                        << want << ", got " << got[i];
        }
      }
      EXPECT_EQ(bad, 0u) << target << ": chain " << chain;
    }
  }
  fanfill::ForceTarget("auto");
}

// The locked double chains' plans (fma_emulation.h, PlanLockedChainF64):
// the three the SSE4 kernels use hold over their z ranges; chains that
// leave their binade or cross zero are refused.
TEST(FmaEmulation, LockedDoubleChainPlans) {
  using C = fanfill::internal::TransformConstants<double>;
  using fanfill::internal::PlanLockedChainF64;
  static_assert(PlanLockedChainF64(C::kLogR, true, C::kLogZMax).ok);
  static_assert(PlanLockedChainF64(C::kSin, true, C::kSinCosZMax).ok);
  static_assert(PlanLockedChainF64(C::kCos, true, C::kSinCosZMax).ok);
  // The step 2/17 + z (2/19 + 2/21 z) reaches 1/8 a little below z = 0.066.
  EXPECT_TRUE(PlanLockedChainF64(C::kLogR, true, 0.065).ok);
  EXPECT_FALSE(PlanLockedChainF64(C::kLogR, true, 0.066).ok);
  EXPECT_FALSE(PlanLockedChainF64(fanfill::internal::kErfinvCentral, false, 2.5).ok);
  // 1 + z/4 stays in [1, 2] for z <= 4; the bounds are widened outwards.
  static constexpr std::array<double, 2> kEdge = {1.0, 0.25};
  EXPECT_TRUE(PlanLockedChainF64(kEdge, true, 3.999).ok);
  EXPECT_FALSE(PlanLockedChainF64(kEdge, true, 4.0).ok);
  // -1 + z/4 locks up to z = 2 (magnitudes in [1/2, 1]); 0.1 - z crosses zero.
  static constexpr std::array<double, 2> kNegative = {-1.0, 0.25};
  static constexpr std::array<double, 2> kCrossing = {0.1, -1.0};
  EXPECT_TRUE(PlanLockedChainF64(kNegative, true, 1.999).ok);
  EXPECT_FALSE(PlanLockedChainF64(kNegative, true, 2.5).ok);
  EXPECT_FALSE(PlanLockedChainF64(kCrossing, true, 0.2).ok);
  EXPECT_TRUE(PlanLockedChainF64(kCrossing, true, 0.01).ok);
  EXPECT_FALSE(PlanLockedChainF64(kEdge, true, 0.0).ok);  // an empty range
}

// The locked double chains against std::fma chains over their whole z
// range: 2^18 uniform z per chain, a grid across the range and its ends,
// through the scalar twin (HornerLockedF64) and every target's vector chain,
// the latter with std::fma and with the emulation (F64x2) as the tie path.
// The ties must occur (the tested path runs), and where the test is left
// out, s alone must differ from the FMA somewhere (the test is needed).
TEST(FmaEmulation, LockedDoubleChainsMatchStdFma) {
  using C = fanfill::internal::TransformConstants<double>;
  using fanfill::internal::CheckedLockedPlanF64;
  struct Chain {
    const char* name;
    std::vector<double> coef;  // Horner order
    double z_max;
    const fanfill::internal::LockedChainF64<10>* plan10;
    const fanfill::internal::LockedChainF64<8>* plan8;
  };
  static constexpr auto kLogPlan = CheckedLockedPlanF64<C::kLogR, true, C::kLogZMax>();
  static constexpr auto kSinPlan = CheckedLockedPlanF64<C::kSin, true, C::kSinCosZMax>();
  static constexpr auto kCosPlan = CheckedLockedPlanF64<C::kCos, true, C::kSinCosZMax>();
  auto reversed = [](const auto& c) { return std::vector<double>(c.rbegin(), c.rend()); };
  const Chain chains[3] = {{"kLogR", reversed(C::kLogR), C::kLogZMax, &kLogPlan, nullptr},
                           {"kSin", reversed(C::kSin), C::kSinCosZMax, nullptr, &kSinPlan},
                           {"kCos", reversed(C::kCos), C::kSinCosZMax, nullptr, &kCosPlan}};
  std::mt19937_64 rng(20261204);
  for (int index = 0; index < 3; ++index) {
    const Chain& chain = chains[index];
    std::vector<double> z = {0.0, 0x1.0p-1074, 0x1.0p-60, chain.z_max,
                             std::nextafter(chain.z_max, 0.0)};
    std::uniform_real_distribution<double> uniform(0.0, chain.z_max);
    for (int i = 0; i < (1 << 18); ++i) z.push_back(uniform(rng));
    for (int i = 0; i <= 4096; ++i) z.push_back(chain.z_max * i / 4096);
    while (z.size() % 16 != 0) z.push_back(chain.z_max / 2);
    std::vector<double> want(z.size());
    size_t ties = 0, naive_wrong = 0, bad = 0, step_bad = 0;
    // Each step on its own, from the FMA chain's acc: a wrong plan for an
    // early step would mostly be rounded away by the later ones.
    std::vector<size_t> step_ties(chain.coef.size(), 0);
    for (size_t i = 0; i < z.size(); ++i) {
      double acc = chain.coef[0];
      for (size_t k = 1; k < chain.coef.size(); ++k) {
        const double s = acc * z[i] + chain.coef[k];  // two roundings (-ffp-contract=off)
        const double h = chain.plan10 != nullptr ? chain.plan10->half_ulp[k] : chain.plan8->half_ulp[k];
        const double step = fanfill::internal::LockedStepF64(acc, z[i], chain.coef[k], h, &step_ties[k]);
        acc = std::fma(acc, z[i], chain.coef[k]);
        naive_wrong += s != acc;
        if (Bits(step) != Bits(acc) && step_bad++ < 5) {
          ADD_FAILURE() << chain.name << " step " << k << " at z = " << z[i];
        }
      }
      want[i] = acc;
      const double got = chain.plan10 != nullptr
                             ? fanfill::internal::HornerLockedF64(*chain.plan10, z[i], &ties)
                             : fanfill::internal::HornerLockedF64(*chain.plan8, z[i], &ties);
      if (Bits(got) != Bits(want[i]) && bad++ < 5) {
        ADD_FAILURE() << chain.name << " scalar twin at z = " << z[i];
      }
    }
    EXPECT_EQ(bad, 0u) << chain.name;
    EXPECT_EQ(step_bad, 0u) << chain.name;
    EXPECT_GT(ties, 0u) << chain.name;
    for (size_t k = 1; k < chain.coef.size(); ++k) {
      EXPECT_GT(step_ties[k], 0u) << chain.name << " step " << k;
    }
    EXPECT_GT(naive_wrong, 0u) << chain.name;
    const bool saved = fanfill::internal::g_hardware_fma;
    for (bool hardware : {true, false}) {
      fanfill::internal::g_hardware_fma = hardware && saved;
      for (const std::string& target : fanfill::SupportedTargets()) {
        fanfill::ForceTarget(target);
        std::vector<double> got(z.size());
        HWY_DYNAMIC_DISPATCH(HornerF64OnTarget)(index, z.data(), got.data(), z.size());
        size_t wrong = 0;
        for (size_t i = 0; i < z.size(); ++i) {
          if (Bits(got[i]) != Bits(want[i]) && wrong++ < 5) {
            ADD_FAILURE() << target << " " << chain.name << " at z = " << z[i];
          }
        }
        EXPECT_EQ(wrong, 0u) << target << " " << chain.name << " hardware FMA " << hardware;
      }
    }
    fanfill::internal::g_hardware_fma = saved;
  }
  fanfill::ForceTarget("auto");
}


// The erfinv central chain in double over its SSE4 range (z = w - 2.5 in
// [kErfinvCentralZMin, kErfinvCentralZMax]): the same steps lock as in
// float (1, 4 and 5), and ErfinvCentral on every target, with std::fma and
// with the emulation (SCALAR's partly locked path), gives the std::fma
// chain's bits at z = RN(w - 2.5)
// for random w in [0, 5] (in range to w = 2.5, beyond it the generic
// chain), w in [-0.125, 0) (z below -2.5, past the range's end -2.6), and
// runs of neighbours around w = 0 and 2.5 (vectors with both lanes in range
// and vectors across the end). The scalar chain (HornerStepsF64) must meet
// ties (the tested path runs), and the locked steps without the tie test
// must be wrong somewhere (the test is needed).
TEST(FmaEmulation, ErfinvCentralF64PartlyLocked) {
  using fanfill::internal::kErfinvCentral;
  using fanfill::internal::kErfinvCentralZMax;
  using fanfill::internal::kErfinvCentralZMin;
  using fanfill::internal::PlanChainStepsF64;
  static constexpr auto kPlan =
      PlanChainStepsF64(kErfinvCentral, false, kErfinvCentralZMin, kErfinvCentralZMax);
  const std::array<bool, 9> want_locked = {false, true, false, false, true,
                                           true,  false, false, false};
  EXPECT_EQ(kPlan.locked, want_locked);
  EXPECT_FALSE(kPlan.ok);
  constexpr auto kWide = PlanChainStepsF64(kErfinvCentral, false, -2.5, 2.5);
  const std::array<bool, 9> wide = {false, true, false, false, false, false, false, false, false};
  EXPECT_EQ(kWide.locked, wide);
  constexpr auto kEmpty = PlanChainStepsF64(kErfinvCentral, false, 1.0, 0.0);
  EXPECT_EQ(kEmpty.locked, (std::array<bool, 9>{}));

  std::mt19937_64 rng(20261204);
  std::vector<double> w;
  std::uniform_real_distribution<double> central(0.0, 5.0), below(-0.125, 0.0);
  for (int i = 0; i < (1 << 18); ++i) w.push_back(central(rng));
  for (int i = 0; i < (1 << 14); ++i) w.push_back(below(rng));
  for (double v : {0.0, 2.5, -0.1}) {
    double up = v, down = v;
    for (int i = 0; i < 64; ++i) {
      w.push_back(up);
      w.push_back(down);
      up = std::nextafter(up, 3.0);
      down = std::nextafter(down, -1.0);
    }
  }
  while (w.size() % 16 != 0) w.push_back(1.0);
  auto chain = [](double z, bool locked_naive) {
    double acc = kErfinvCentral[0];
    for (size_t k = 1; k < kErfinvCentral.size(); ++k) {
      acc = locked_naive && kPlan.locked[k] ? acc * z + kErfinvCentral[k]  // -ffp-contract=off
                                            : std::fma(acc, z, kErfinvCentral[k]);
    }
    return acc;
  };
  std::vector<double> want(w.size());
  size_t ties = 0, naive_wrong = 0, bad = 0, in_range = 0, step_bad = 0;
  std::array<size_t, 9> step_ties{};
  for (size_t i = 0; i < w.size(); ++i) {
    const double z = w[i] - 2.5;
    want[i] = chain(z, false);
    if (z < kErfinvCentralZMin || z > kErfinvCentralZMax) continue;
    ++in_range;
    // Each locked step on its own, from the FMA chain's acc.
    double acc = kErfinvCentral[0];
    for (size_t k = 1; k < kErfinvCentral.size(); ++k) {
      const double fma = std::fma(acc, z, kErfinvCentral[k]);
      if (kPlan.locked[k]) {
        const double step = fanfill::internal::LockedStepF64(acc, z, kErfinvCentral[k],
                                                             kPlan.half_ulp[k], &step_ties[k]);
        if (Bits(step) != Bits(fma) && step_bad++ < 5) {
          ADD_FAILURE() << "step " << k << " at w = " << w[i];
        }
      }
      acc = fma;
    }
    naive_wrong += Bits(chain(z, true)) != Bits(want[i]);
    if (Bits(fanfill::internal::HornerStepsF64(kPlan, z, &ties)) != Bits(want[i]) && bad++ < 5) {
      ADD_FAILURE() << "scalar twin at w = " << w[i];
    }
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(step_bad, 0u);
  for (size_t k = 1; k < kErfinvCentral.size(); ++k) {
    if (kPlan.locked[k]) EXPECT_GT(step_ties[k], 0u) << "step " << k;
  }
  EXPECT_GT(in_range, w.size() / 3);
  EXPECT_GT(ties, 0u);
  EXPECT_GT(naive_wrong, 0u);
  const bool saved = fanfill::internal::g_hardware_fma;
  for (bool hardware : {true, false}) {
    fanfill::internal::g_hardware_fma = hardware && saved;
    for (const std::string& target : fanfill::SupportedTargets()) {
      fanfill::ForceTarget(target);
      std::vector<double> got(w.size());
      HWY_DYNAMIC_DISPATCH(HornerF64OnTarget)(3, w.data(), got.data(), w.size());
      size_t wrong = 0;
      for (size_t i = 0; i < w.size(); ++i) {
        if (Bits(got[i]) != Bits(want[i]) && wrong++ < 5) {
          ADD_FAILURE() << target << " erfinv central (double) at w = " << w[i];
        }
      }
      EXPECT_EQ(wrong, 0u) << target << " hardware FMA " << hardware;
    }
  }
  fanfill::internal::g_hardware_fma = saved;
  fanfill::ForceTarget("auto");
}

}  // namespace
}  // namespace fanfill_test

#endif  // HWY_ONCE
