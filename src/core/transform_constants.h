// Constants of the bits -> value transforms, shared by the SIMD kernels
// (transforms-inl.h) and their scalar twins (reference.cc), so that both evaluate
// the same polynomials with the same coefficients in the same order.
#ifndef FANFILL_SRC_CORE_TRANSFORM_CONSTANTS_H_
#define FANFILL_SRC_CORE_TRANSFORM_CONSTANTS_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace fanfill::internal {

// Taylor coefficients 1/n!, evaluated in double and rounded once to T.
template <class T, size_t N>
constexpr std::array<T, N> TaylorSeries(int first_power, int step, int sign) {
  std::array<T, N> c{};
  double factorial = 1.0;
  int n = 1;
  for (size_t i = 0; i < N; ++i) {
    const int power = first_power + static_cast<int>(i) * step;
    while (n < power) factorial *= ++n;
    c[i] = static_cast<T>((i % 2 == 0 ? sign : -sign) / factorial);
  }
  return c;
}

// log1p(f) = f - (f^2/2 - s (f^2/2 + R(z))), s = f / (2 + f), z = s^2 (the
// fdlibm decomposition), R(z) = sum_k 2 z^k / (2k + 1), k >= 1 (the Taylor
// series of 2 atanh(s) - 2s, over s). |s| <= 0.1716 for f in
// [sqrt(1/2) - 1, sqrt(2) - 1], so z <= 0.0295: float needs 4 terms (next term
// 2e-9 relative), double 10 (next term 6e-19 relative).
template <class T, size_t N>
constexpr std::array<T, N> AtanhSeries() {
  std::array<T, N> c{};
  for (size_t k = 1; k <= N; ++k) c[k - 1] = static_cast<T>(2.0 / (2.0 * k + 1.0));
  return c;
}

// floor(log2 x) for finite x > 0 (a constant expression).
constexpr int FloorLog2(double x) {
  int e = 0;
  while (x >= 2) x /= 2, ++e;
  while (x < 1) x *= 2, --e;
  return e;
}

// "No bound on z": the default of the kernels' polynomial helpers
// (transforms-inl.h), whose SSE4 and scalar code takes locked chains only
// for a positive bound.
inline constexpr double kNoZBound = 0.0;

template <class T>
struct TransformConstants;

template <>
struct TransformConstants<float> {
  // R(z) / z = 2/3 + 2/5 z + 2/7 z^2 + 2/9 z^3 (ascending powers).
  static constexpr auto kLogR = AtanhSeries<float, 4>();
  // ln 2 split so that e * kLn2Hi is exact for |e| < 2^15.
  static constexpr float kLn2Hi = 6.93359375e-01f;
  static constexpr float kLn2Lo = -2.12194440e-04f;
  static constexpr uint32_t kSqrtHalfBits = 0x3F3504F3u;  // sqrt(1/2)
  // A bound on LogReduced's z = s^2 (<= 0.0295, above) with a wide margin
  // (|s| <= 0.5): the range over which SSE4 evaluates kLogR as a locked chain
  // (fma_emulation.h, PlanLockedChain; it holds up to z ~ 0.28).
  static constexpr double kLogZMax = 0.25;
  // sin x = x + x z (s1 + s2 z + ...), cos x = 1 + z (c1 + c2 z + ...), z = x^2,
  // |x| <= pi/4: Taylor terms up to x^9 (sin; next term 2.5e-9 relative) and
  // x^10 (cos; next 1.6e-10).
  static constexpr auto kSin = TaylorSeries<float, 4>(3, 2, -1);  // -1/3!, 1/5!, ...
  static constexpr auto kCos = TaylorSeries<float, 5>(2, 2, -1);  // -1/2!, 1/4!, ...
  // cos x = 1 + z (kCos[0] + z (kCos[1] + ...)) as one chain (its last step is
  // fma(P, z, 1), the same value as cos's fma(z, P, 1)), for SSE4's locked chains.
  static constexpr auto kCosWithOne = TaylorSeries<float, 6>(0, 2, 1);  // 1, -1/2!, 1/4!, ...
  // A bound on SinCosQuadrant's z = x^2 (|x| <= pi/4: z <= 0.6169) with margin
  // (|x| <= 0.83): the range of the locked kSin and kCosWithOne chains (they
  // hold up to z ~ 2.6 and ~ 1.0).
  static constexpr double kSinCosZMax = 0.7;
  // 2 pi 2^-25 split in two: the angle is n * (kAngleHi + kAngleLo), n odd, |n| < 2^22.
  static constexpr double kAngleStep = 6.283185307179586476925 / 33554432.0;
  static constexpr float kAngleHi = static_cast<float>(kAngleStep);
  static constexpr float kAngleLo = static_cast<float>(kAngleStep - static_cast<double>(kAngleHi));
  // The angle's sum S = n kAngleHi + y, y = RN_float(n kAngleLo), is exact in
  // double (FmaExactInDouble): with 2^h <= kAngleHi < 2^(h+1), 2^l <= |kAngleLo|
  // and 2^m <= |n| < 2^(m+1), m <= 21: n kAngleHi is a multiple of 2^(h-23),
  // |y| >= 2^(m+l) makes y one of 2^(m+l-23), and h >= m + l (h - l >= 24:
  // |kAngleLo| <= ulp(kAngleHi) / 2), so S is a multiple of 2^(m+l-23) with
  // |S| < 2^(m+h+2): fewer than 2^(h-l+25) multiples, within 2^53 for h - l <= 28.
  static constexpr bool kAngleSumExactInDouble =
      FloorLog2(kAngleHi) - FloorLog2(kAngleLo < 0 ? -kAngleLo : kAngleLo) <= 28;
};

// kCosWithOne is 1 followed by kCos, coefficient for coefficient.
constexpr bool CosWithOneExtendsCos() {
  const auto& c = TransformConstants<float>::kCos;
  const auto& c1 = TransformConstants<float>::kCosWithOne;
  if (c1.size() != c.size() + 1 || c1[0] != 1.0f) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c1[i + 1] != c[i]) return false;
  }
  return true;
}
static_assert(CosWithOneExtendsCos());

template <>
struct TransformConstants<double> {
  static constexpr auto kLogR = AtanhSeries<double, 10>();
  // 32 significant bits, so that e * kLn2Hi is exact for |e| < 2^21.
  static constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3FE62E42FEE00000
  static constexpr double kLn2Lo = 1.90821492927058770002e-10;
  static constexpr uint64_t kSqrtHalfBits = 0x3FE6A09E667F3BCDull;
  // |x| <= pi/4: sin up to x^17 (next term 1.2e-19 relative), cos up to x^16 (2.7e-18).
  static constexpr auto kSin = TaylorSeries<double, 8>(3, 2, -1);
  static constexpr auto kCos = TaylorSeries<double, 8>(2, 2, -1);
  // Bounds on LogReduced's z (<= 0.0295, as for float) and SinCosQuadrant's
  // (<= 0.6169), with margin: the ranges over which SSE4 evaluates kLogR,
  // kSin and kCos as locked double chains (fma_emulation.h,
  // PlanLockedChainF64). kLogR's chain is locked up to z ~ 0.066 only (its
  // step 2/17 + z (2/19 + 2/21 z) reaches 1/8 there); the Taylor chains up to
  // z ~ 2.6 (kSin) and 6 (kCos).
  static constexpr double kLogZMax = 0.04;
  static constexpr double kSinCosZMax = 0.7;
  // 2 pi 2^-54 split in two (2 pi = kTwoPiHi + kTwoPiLo to 106 bits): n odd, |n| < 2^51.
  static constexpr double kTwoPiHi = 6.28318530717958623200e+00;
  static constexpr double kTwoPiLo = 2.44929359829470635445e-16;
  static constexpr double kAngleHi = kTwoPiHi / 18014398509481984.0;  // exact: / 2^54
  static constexpr double kAngleLo = kTwoPiLo / 18014398509481984.0;
};

// Inverse normal CDF via erfinv (M. Giles, "Approximating the erfinv function",
// GPU Computing Gems, 2011; single-precision coefficients):
//   erfinv(x) = x P(w), w = -ln((1 - x)(1 + x)),
//   P = central(w - 2.5) for w < 5, tail(sqrt(w) - 3) otherwise.
// Coefficients from highest power to lowest (Horner order).
inline constexpr std::array<double, 9> kErfinvCentral = {
    2.81022636e-08,  3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
    -0.00125372503, -0.00417768164,  0.246640727,    1.50140941};
// z = w - 2.5 for w in [-0.1, 2.5] (|x| below about 2; w = -ln(4 p q) is
// never far below 0): over it steps 1, 4 and 5 of the central chain stay in
// one binade (fma_emulation.h, PlanChainSteps), which SSE4 uses
// (ErfinvCentral, HornerPartlyLockedF32x4), and 2, 3, 6 and 8 are exact in
// double given kErfinvCentralZLsb below.
inline constexpr double kErfinvCentralZMin = -2.6;
inline constexpr double kErfinvCentralZMax = 0.0;
// Every float z = RN(w - 2.5), w any float, is a multiple of 2^-23: for
// |z| >= 1 its binade's spacing is at least that; for |z| < 1, w is in
// (1.5, 3.5), the subtraction is exact (Sterbenz) and both w (at or above
// 1) and 2.5 are multiples of 2^-23. Over the range above, it makes steps
// 2, 3, 6 and 8 of the central chain exact in double (PlanChainSteps).
inline constexpr double kErfinvCentralZLsb = 0x1.0p-23;
// z for w in [-0.1, 5], the whole central range: there step 1 stays in one
// binade and 2, 3, 5, 6 and 8 are exact in double (SSE4's path for a vector
// with a lane beyond kErfinvCentralZMax, ErfinvCentralChainCall).
inline constexpr double kErfinvCentralWideZMax = 2.5;
inline constexpr std::array<double, 9> kErfinvTail = {
    -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
    -0.0076224613,   0.00943887047,  1.00167406,    2.83297682};

// Largest |z| a Box-Muller output can reach: sqrt(-2 ln u_min).
inline constexpr double kMaxAbsNormalF32 = 6.7646;  // u_min = 2^-33
inline constexpr double kMaxAbsNormalF64 = 8.5747;  // u_min = 2^-53

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_CORE_TRANSFORM_CONSTANTS_H_
