// Per-target SIMD kernels: Philox4x32-10, the bits -> value transforms and the
// store loops. Included once per target by fill.cc (and by the target tests)
// through foreach_target.h; see hwy/examples/skeleton-inl.h for the pattern.
//
// Every routine here has a scalar twin in reference.cc that performs the same
// IEEE operations in the same order (std::fma where this code calls Fma), so
// the outputs are bit-identical on every target; tests/targets_test.cc checks it.

// Per-target include guard (toggled by foreach_target.h).
#if defined(FANFILL_SRC_KERNELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FANFILL_SRC_KERNELS_INL_H_
#undef FANFILL_SRC_KERNELS_INL_H_
#else
#define FANFILL_SRC_KERNELS_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "fanfill/philox.h"
#include "fill_params.h"
#include "hwy/highway.h"
#include "transform_constants.h"

HWY_BEFORE_NAMESPACE();
namespace fanfill {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D>
using VecOf = hn::Vec<D>;

// ---------------------------------------------------------------- arithmetic

// a * b + c with a single rounding on every target. Targets without hardware
// FMA (SSE4, SCALAR) call std::fma per lane: exact, hence bit-identical to the
// FMA targets, at a cost in speed on those (rare) machines.
template <class D, class V = VecOf<D>>
HWY_INLINE V Fma(D d, V a, V b, V c) {
#if HWY_NATIVE_FMA
  (void)d;
  return hn::MulAdd(a, b, c);
#else
  using T = hn::TFromD<D>;
  constexpr size_t kMax = HWY_MAX_BYTES / sizeof(T);
  HWY_ALIGN T la[kMax], lb[kMax], lc[kMax];
  hn::Store(a, d, la);
  hn::Store(b, d, lb);
  hn::Store(c, d, lc);
  for (size_t i = 0; i < hn::Lanes(d); ++i) la[i] = std::fma(la[i], lb[i], lc[i]);
  return hn::Load(d, la);
#endif
}

// c[0] + z (c[1] + z (c[2] + ...)): coefficients in ascending powers.
template <class D, class T, size_t N, class V = VecOf<D>>
HWY_INLINE V PolyAscending(D d, V z, const std::array<T, N>& c) {
  V acc = hn::Set(d, static_cast<hn::TFromD<D>>(c[N - 1]));
  for (size_t i = N - 1; i-- > 0;) {
    acc = Fma(d, acc, z, hn::Set(d, static_cast<hn::TFromD<D>>(c[i])));
  }
  return acc;
}

// Same, coefficients from the highest power down.
template <class D, class T, size_t N, class V = VecOf<D>>
HWY_INLINE V PolyDescending(D d, V z, const std::array<T, N>& c) {
  V acc = hn::Set(d, static_cast<hn::TFromD<D>>(c[0]));
  for (size_t i = 1; i < N; ++i) {
    acc = Fma(d, acc, z, hn::Set(d, static_cast<hn::TFromD<D>>(c[i])));
  }
  return acc;
}

// ---------------------------------------------------------------- Philox

// hi:lo = a * m for every 32-bit lane.
template <class DU, class V = VecOf<DU>>
HWY_INLINE void MulHiLo(DU du, V a, uint32_t m, V& hi, V& lo) {
#if HWY_TARGET == HWY_SCALAR
  (void)du;
  const uint64_t p = uint64_t{m} * hn::GetLane(a);
  hi = V(static_cast<uint32_t>(p >> 32));
  lo = V(static_cast<uint32_t>(p));
#else
  const hn::RepartitionToWide<DU> dw;
  const V vm = hn::Set(du, m);
  const auto even = hn::MulEven(a, vm);  // products of lanes 0, 2, ...
  const auto odd = hn::MulEven(hn::BitCast(du, hn::ShiftRight<32>(hn::BitCast(dw, a))), vm);
  hi = hn::OddEven(hn::BitCast(du, odd), hn::BitCast(du, hn::ShiftRight<32>(even)));
  lo = hn::Mul(a, vm);  // the low halves: one 32-bit multiply beats a shift and a blend
#endif
}

// The counters of Lanes(du) consecutive blocks starting at `first_block`:
// PhiloxCounterFor(first_block + j, stream) in lane j.
template <class DU, class V = VecOf<DU>>
HWY_INLINE void CountersFor(DU du, uint64_t stream, uint64_t first_block, V& c0, V& c1, V& c2,
                            V& c3) {
  const PhiloxBlock base = PhiloxCounterFor(first_block, stream);
  c0 = hn::Add(hn::Set(du, base[0]), hn::Iota(du, 0));
  c1 = hn::Set(du, base[1]);
  const uint64_t lanes = hn::Lanes(du);
  if (HWY_UNLIKELY(base[0] > 0xFFFFFFFFu - (lanes - 1))) {
    // The low word wraps inside this vector: lanes from the wrap on carry into word 1.
    const size_t before_wrap = static_cast<size_t>(0x100000000ull - base[0]);
    c1 = hn::IfThenElse(hn::FirstN(du, before_wrap), c1, hn::Set(du, base[1] + 1u));
  }
  c2 = hn::Set(du, base[2]);
  c3 = hn::Set(du, base[3]);
}

// One Philox round (Random123's _philox4x32round) on every lane.
template <class DU, class V = VecOf<DU>>
HWY_INLINE void PhiloxRound(DU du, V& c0, V& c1, V& c2, V& c3, V k0, V k1) {
  V hi0, lo0, hi1, lo1;
  MulHiLo(du, c0, kPhiloxM0, hi0, lo0);
  MulHiLo(du, c2, kPhiloxM1, hi1, lo1);
  c0 = hn::Xor(hn::Xor(hi1, c1), k0);
  c1 = lo1;
  c2 = hn::Xor(hn::Xor(hi0, c3), k1);
  c3 = lo0;
}

// The round keys: key bumped by the Weyl increments before every round but the first.
inline PhiloxKey RoundKey(uint64_t seed, int round) {
  PhiloxKey key = PhiloxKeyFor(seed);
  key[0] += static_cast<uint32_t>(round) * kPhiloxW0;
  key[1] += static_cast<uint32_t>(round) * kPhiloxW1;
  return key;
}

// Words w0..w3 of Lanes(du) consecutive blocks, block first_block + j in lane j.
template <class DU, class V = VecOf<DU>>
HWY_INLINE void PhiloxBlocks(DU du, uint64_t seed, uint64_t stream, uint64_t first_block, V& w0,
                             V& w1, V& w2, V& w3) {
  CountersFor(du, stream, first_block, w0, w1, w2, w3);
  HWY_UNROLL(10)
  for (int round = 0; round < kPhiloxRounds; ++round) {
    const PhiloxKey key = RoundKey(seed, round);
    PhiloxRound(du, w0, w1, w2, w3, hn::Set(du, key[0]), hn::Set(du, key[1]));
  }
}

// Vectors of blocks made per batch. One vector alone is latency-bound (each
// round waits for the previous multiply); interleaving independent vectors in
// the round loop keeps the multipliers busy (4: measured best on AVX2, where
// more spill registers). Sizeless vectors (SVE, RVV) cannot form arrays, and
// HWY_SCALAR gains nothing: one vector there.
#if HWY_HAVE_SCALABLE || HWY_TARGET == HWY_SCALAR
constexpr size_t kPhiloxVectors = 1;
#else
constexpr size_t kPhiloxVectors = 4;

// kPhiloxVectors vectors of blocks at once: block first_block + k Lanes(du) + j
// in lane j of w*[k].
template <class DU, class V = VecOf<DU>>
HWY_INLINE void PhiloxBlocksInterleaved(DU du, uint64_t seed, uint64_t stream,
                                        uint64_t first_block, V (&w0)[kPhiloxVectors],
                                        V (&w1)[kPhiloxVectors], V (&w2)[kPhiloxVectors],
                                        V (&w3)[kPhiloxVectors]) {
  HWY_UNROLL(4)
  for (size_t k = 0; k < kPhiloxVectors; ++k) {
    CountersFor(du, stream, first_block + k * hn::Lanes(du), w0[k], w1[k], w2[k], w3[k]);
  }
  HWY_UNROLL(10)
  for (int round = 0; round < kPhiloxRounds; ++round) {
    const PhiloxKey key = RoundKey(seed, round);
    const V k0 = hn::Set(du, key[0]);
    const V k1 = hn::Set(du, key[1]);
    HWY_UNROLL(4)
    for (size_t k = 0; k < kPhiloxVectors; ++k) PhiloxRound(du, w0[k], w1[k], w2[k], w3[k], k0, k1);
  }
}
#endif

// ---------------------------------------------------------------- log

// ln(2^e (1 + f)) for f in [sqrt(1/2) - 1, sqrt(2) - 1] (an ulp beyond is fine)
// and f exact: fdlibm's log decomposition with the Taylor series of atanh.
// Error: float <= 1 ulp, double <= 1 ulp of the result over that range
// (measured in tests/accuracy_test.cc).
template <class D, class V = VecOf<D>>
HWY_INLINE V LogReduced(D d, V e, V f) {
  using T = hn::TFromD<D>;
  using C = internal::TransformConstants<T>;
  const V s = hn::Div(f, hn::Add(hn::Set(d, T(2)), f));
  const V z = hn::Mul(s, s);
  const V r = hn::Mul(z, PolyAscending(d, z, C::kLogR));
  const V hfsq = hn::Mul(hn::Set(d, T(0.5)), hn::Mul(f, f));
  const V t = Fma(d, s, hn::Add(hfsq, r), hn::Mul(e, hn::Set(d, C::kLn2Lo)));
  return Fma(d, e, hn::Set(d, C::kLn2Hi), hn::Sub(f, hn::Sub(hfsq, t)));
}

// ln x for normal positive x (exact exponent/mantissa split, then LogReduced).
// float: valid for x in [2^-126, 2^128); double: [2^-1022, 2^1024). Max error 1 ulp.
template <class D, class V = VecOf<D>>
HWY_INLINE V LogPositive(D d, V x) {
  using T = hn::TFromD<D>;
  using C = internal::TransformConstants<T>;
  const hn::RebindToSigned<D> di;
  constexpr int kMantBits = sizeof(T) == 4 ? 23 : 52;
  using TI = hn::TFromD<decltype(di)>;
  const auto bits = hn::BitCast(di, x);
  const auto e = hn::ShiftRight<kMantBits>(
      hn::Sub(bits, hn::Set(di, static_cast<TI>(C::kSqrtHalfBits))));
  const V m = hn::BitCast(d, hn::Sub(bits, hn::ShiftLeft<kMantBits>(e)));
  return LogReduced(d, hn::ConvertTo(d, e), hn::Sub(m, hn::Set(d, T(1))));
}

// -2 ln u for the f32 Box-Muller radius u = (w + 1/2) 2^-32, w a 32-bit word,
// without rounding u: u = hi + lo with hi = (w >> 8) 2^-24 and
// lo = (2 (w & 255) + 1) 2^-33 both exact, so 1 + f = u 2^-e is formed exactly
// up to one rounding of f.
template <class DF, class DU>
HWY_INLINE VecOf<DF> MinusTwoLogRadius(DF df, DU du, VecOf<DU> w) {
  using C = internal::TransformConstants<float>;
  const hn::RebindToSigned<DF> di;
  const auto hi = hn::Mul(hn::ConvertTo(df, hn::BitCast(di, hn::ShiftRight<8>(w))),
                          hn::Set(df, 0x1.0p-24f));
  const auto lo_odd = hn::Add(hn::ShiftLeft<1>(hn::And(w, hn::Set(du, 0xFFu))), hn::Set(du, 1u));
  const auto lo = hn::Mul(hn::ConvertTo(df, hn::BitCast(di, lo_odd)), hn::Set(df, 0x1.0p-33f));
  const auto u = hn::Add(hi, lo);  // rounded, but only used to pick the exponent
  const auto e = hn::ShiftRight<23>(
      hn::Sub(hn::BitCast(di, u), hn::Set(di, static_cast<int32_t>(C::kSqrtHalfBits))));
  const auto scale = hn::BitCast(df, hn::ShiftLeft<23>(hn::Sub(hn::Set(di, 127), e)));  // 2^-e
  const auto f = hn::Add(hn::Sub(hn::Mul(hi, scale), hn::Set(df, 1.0f)), hn::Mul(lo, scale));
  return hn::Mul(LogReduced(df, hn::ConvertTo(df, e), f), hn::Set(df, -2.0f));
}

// ---------------------------------------------------------------- sincos

// cos and sin of k pi/2 + x for |x| <= pi/4 (Taylor polynomials; exact range
// reduction happened in integers). k is the quadrant in an unsigned vector of
// the same lane size. Max error 1.5 ulp for float (all 2^24 angles, tests/accuracy_test.cc).
template <class D, class DU, class V = VecOf<D>>
HWY_INLINE void SinCosQuadrant(D d, DU du, V x, VecOf<DU> k, V& cos_out, V& sin_out) {
  using T = hn::TFromD<D>;
  using C = internal::TransformConstants<T>;
  using TU = hn::TFromD<DU>;
  const V z = hn::Mul(x, x);
  const V sin_x = Fma(d, hn::Mul(x, z), PolyAscending(d, z, C::kSin), x);
  const V cos_x = Fma(d, z, PolyAscending(d, z, C::kCos), hn::Set(d, T(1)));
  const auto one = hn::Set(du, TU{1});
  const auto two = hn::Set(du, TU{2});
  const auto swap = hn::RebindMask(d, hn::Eq(hn::And(k, one), one));
  constexpr int kSignShift = sizeof(T) * 8 - 2;  // moves bit 1 to the sign bit
  const V cos_sign = hn::BitCast(d, hn::ShiftLeft<kSignShift>(hn::And(hn::Add(k, one), two)));
  const V sin_sign = hn::BitCast(d, hn::ShiftLeft<kSignShift>(hn::And(k, two)));
  cos_out = hn::Xor(hn::IfThenElse(swap, sin_x, cos_x), cos_sign);
  sin_out = hn::Xor(hn::IfThenElse(swap, cos_x, sin_x), sin_sign);
}

// cos/sin of the f32 angle 2 pi ((w >> 8) + 1/2) 2^-24. The quadrant and the
// remainder come from the integer bits: with t = (w >> 8) + 2^21 mod 2^24,
// k = t >> 22 and the remainder is n = 2 (t mod 2^22 - 2^21) + 1 (odd,
// |n| < 2^22, exact in float) times 2 pi 2^-25.
template <class DF, class DU>
HWY_INLINE void SinCosAngleF32(DF df, DU du, VecOf<DU> w, VecOf<DF>& c, VecOf<DF>& s) {
  using C = internal::TransformConstants<float>;
  const hn::RebindToSigned<DF> di;
  const auto t = hn::And(hn::Add(hn::ShiftRight<8>(w), hn::Set(du, 1u << 21)),
                         hn::Set(du, 0xFFFFFFu));
  const auto k = hn::ShiftRight<22>(t);
  const auto rem = hn::Sub(hn::BitCast(di, hn::And(t, hn::Set(du, 0x3FFFFFu))),
                           hn::Set(di, 1 << 21));
  const auto n = hn::ConvertTo(df, hn::Add(hn::ShiftLeft<1>(rem), hn::Set(di, 1)));
  const auto x = Fma(df, n, hn::Set(df, C::kAngleHi), hn::Mul(n, hn::Set(df, C::kAngleLo)));
  SinCosQuadrant(df, du, x, k, c, s);
}

// Same for the f64 angle 2 pi ((x >> 11) + 1/2) 2^-53, x a 64-bit value.
template <class DD, class DU64>
HWY_INLINE void SinCosAngleF64(DD dd, DU64 du, VecOf<DU64> x64, VecOf<DD>& c, VecOf<DD>& s) {
  using C = internal::TransformConstants<double>;
  const hn::RebindToSigned<DD> di;
  const auto t = hn::And(hn::Add(hn::ShiftRight<11>(x64), hn::Set(du, uint64_t{1} << 50)),
                         hn::Set(du, (uint64_t{1} << 53) - 1));
  const auto k = hn::ShiftRight<51>(t);
  const auto rem = hn::Sub(hn::BitCast(di, hn::And(t, hn::Set(du, (uint64_t{1} << 51) - 1))),
                           hn::Set(di, int64_t{1} << 50));
  const auto n = hn::ConvertTo(dd, hn::Add(hn::ShiftLeft<1>(rem), hn::Set(di, int64_t{1})));
  const auto x = Fma(dd, n, hn::Set(dd, C::kAngleHi), hn::Mul(n, hn::Set(dd, C::kAngleLo)));
  SinCosQuadrant(dd, du, x, k, c, s);
}

// ---------------------------------------------------------------- inverse CDF

// Phi^-1 of p, given p and q = 1 - p (both accurate: the caller forms them
// without cancellation): sqrt(2) erfinv(p - q) with w = -ln(4 p q).
// Valid for p, q >= 2.8e-8 (|z| <= 5.4); error figure in README.md.
template <class D, class V = VecOf<D>>
HWY_INLINE V InverseNormalCdf(D d, V p, V q) {
  using T = hn::TFromD<D>;
  const V w = hn::Neg(LogPositive(d, hn::Mul(hn::Mul(p, q), hn::Set(d, T(4)))));
  const V central = PolyDescending(d, hn::Sub(w, hn::Set(d, T(2.5))), internal::kErfinvCentral);
  const V tail =
      PolyDescending(d, hn::Sub(hn::Sqrt(w), hn::Set(d, T(3))), internal::kErfinvTail);
  const V poly = hn::IfThenElse(hn::Lt(w, hn::Set(d, T(5))), central, tail);
  return hn::Mul(hn::Mul(hn::Sub(p, q), poly), hn::Set(d, static_cast<T>(1.41421356237309504880)));
}

// ---------------------------------------------------------------- transforms

// Scale and clamp: value = clamp(fma(x, scale, offset), lo, hi).
template <class D, class V = VecOf<D>>
HWY_INLINE V ScaleClamp(D d, V x, V scale, V offset, V lo, V hi) {
  return hn::Min(hn::Max(Fma(d, x, scale, offset), lo), hi);
}

// f32 uniform from a word: (w >> 8) 2^-24.
template <class DF, class DU>
HWY_INLINE VecOf<DF> UniformF32(DF df, DU /*du*/, VecOf<DU> w) {
  const hn::RebindToSigned<DF> di;
  return hn::Mul(hn::ConvertTo(df, hn::BitCast(di, hn::ShiftRight<8>(w))),
                 hn::Set(df, 0x1.0p-24f));
}

// f32 truncated-normal uniform: ((w >> 9) + 1/2) 2^-23 = (2 (w >> 9) + 1) 2^-24.
template <class DF, class DU>
HWY_INLINE VecOf<DF> OpenUniformF32(DF df, DU du, VecOf<DU> w) {
  const hn::RebindToSigned<DF> di;
  const auto odd = hn::Or(hn::ShiftLeft<1>(hn::ShiftRight<9>(w)), hn::Set(du, 1u));
  return hn::Mul(hn::ConvertTo(df, hn::BitCast(di, odd)), hn::Set(df, 0x1.0p-24f));
}

// Truncated normal: p = pa + u pspan, q = qa - u pspan, value = Phi^-1(p).
template <class D, class V = VecOf<D>>
HWY_INLINE V TruncatedStandard(D d, V u, V pa, V pspan, V qa) {
  const V p = Fma(d, u, pspan, pa);
  const V q = Fma(d, hn::Neg(u), pspan, qa);
  return InverseNormalCdf(d, p, q);
}

// Round-to-nearest-even conversions of float lanes to 16-bit patterns, in
// 32-bit lanes (the value in the low half).
template <class DF, class DU>
HWY_INLINE VecOf<DU> ToBF16Bits(DF /*df*/, DU du, VecOf<DF> v) {
  const auto bits = hn::BitCast(du, v);
  const auto lsb = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 1u));
  return hn::ShiftRight<16>(hn::Add(bits, hn::Add(hn::Set(du, 0x7FFFu), lsb)));
}

// Finite inputs with |v| <= 65504 (the fill validates its parameters so).
template <class DF, class DU>
HWY_INLINE VecOf<DU> ToF16Bits(DF df, DU du, VecOf<DF> v) {
  const hn::RebindToSigned<DF> di;
  const auto bits = hn::BitCast(du, v);
  const auto sign = hn::And(bits, hn::Set(du, 0x80000000u));
  const auto mag = hn::Xor(bits, sign);
  // |v| < 2^-14: f16 subnormal. Adding 0.5f puts |v| / 2^-24, rounded to
  // nearest even by the FPU, into the low mantissa bits.
  const auto sub = hn::Sub(hn::BitCast(du, hn::Add(hn::BitCast(df, mag), hn::Set(df, 0.5f))),
                           hn::Set(du, 0x3F000000u));
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to even.
  const auto odd = hn::And(hn::ShiftRight<13>(mag), hn::Set(du, 1u));
  const auto normal =
      hn::ShiftRight<13>(hn::Add(hn::Add(mag, hn::Set(du, 0xC8000FFFu)), odd));
  const auto is_sub = hn::RebindMask(du, hn::Lt(hn::BitCast(di, mag), hn::Set(di, 0x38800000)));
  return hn::Or(hn::IfThenElse(is_sub, sub, normal), hn::ShiftRight<16>(sign));
}

// ---------------------------------------------------------------- stores

// Four float vectors (element 4j + m of the batch in lane j of vector m),
// converted to the output type and stored interleaved.
template <internal::Storage kStorage, class DF, class V = VecOf<DF>>
HWY_INLINE void StoreQuad(DF df, V v0, V v1, V v2, V v3, void* out) {
  if constexpr (kStorage == internal::Storage::k32) {
    hn::StoreInterleaved4(v0, v1, v2, v3, df, static_cast<float*>(out));
  } else {
    const hn::RebindToUnsigned<DF> du;
    const hn::RebindToSigned<DF> di;
    const hn::Rebind<uint16_t, DF> d16;
    auto to16 = [&](V v) {
      if constexpr (kStorage == internal::Storage::kBF16) {
        return hn::DemoteTo(d16, hn::BitCast(di, ToBF16Bits(df, du, v)));
      } else {
        return hn::DemoteTo(d16, hn::BitCast(di, ToF16Bits(df, du, v)));
      }
    };
    hn::StoreInterleaved4(to16(v0), to16(v1), to16(v2), to16(v3), d16,
                          static_cast<uint16_t*>(out));
  }
}

// ---------------------------------------------------------------- batches

// A batch is the output of Lanes consecutive Philox blocks, lane j holding
// block first_block + j: 4 elements per block for bits and f32/bf16/f16
// (lanes of u32), 2 per block for f64 (lanes of u64).

template <internal::Kind kKind, internal::Storage kStorage>
struct BatchF32 {
  static constexpr uint64_t kElementsPerBlock = 4;
  using DF = hn::ScalableTag<float>;
  using DU = hn::RebindToUnsigned<DF>;
  using VF = VecOf<DF>;
  using VU = VecOf<DU>;

  DF df;
  DU du;
  const internal::FillParams& p;

  size_t Blocks() const { return kPhiloxVectors * hn::Lanes(du); }

  HWY_INLINE void Make(uint64_t first_block, void* out) const {
#if HWY_HAVE_SCALABLE || HWY_TARGET == HWY_SCALAR
    VU w0, w1, w2, w3;
    PhiloxBlocks(du, p.seed, p.stream, first_block, w0, w1, w2, w3);
    Transform(w0, w1, w2, w3, out);
#else
    VU w0[kPhiloxVectors], w1[kPhiloxVectors], w2[kPhiloxVectors], w3[kPhiloxVectors];
    PhiloxBlocksInterleaved(du, p.seed, p.stream, first_block, w0, w1, w2, w3);
    const size_t stride = 4 * hn::Lanes(du) * internal::StorageBytes(kStorage);
    auto* dst = static_cast<uint8_t*>(out);
    if constexpr (kKind == internal::Kind::kNormal) {
      // In phases across all vectors, so that the long log -> sqrt chains of
      // independent vectors overlap instead of stalling one after another.
      VF radius[2 * kPhiloxVectors];
      HWY_UNROLL(4)
      for (size_t k = 0; k < kPhiloxVectors; ++k) {
        radius[2 * k] = MinusTwoLogRadius(df, du, w0[k]);
        radius[2 * k + 1] = MinusTwoLogRadius(df, du, w2[k]);
      }
      HWY_UNROLL(8)
      for (VF& r : radius) r = hn::Sqrt(r);
      HWY_UNROLL(4)
      for (size_t k = 0; k < kPhiloxVectors; ++k) {
        StoreNormal(radius[2 * k], radius[2 * k + 1], w1[k], w3[k], dst + k * stride);
      }
    } else {
      HWY_UNROLL(4)
      for (size_t k = 0; k < kPhiloxVectors; ++k) {
        Transform(w0[k], w1[k], w2[k], w3[k], dst + k * stride);
      }
    }
#endif
  }

  // Box-Muller outputs of one vector of blocks from its radii and angle words.
  HWY_INLINE void StoreNormal(VF r01, VF r23, VU angle01, VU angle23, void* out) const {
    const VF scale = hn::Set(df, p.f_scale);
    const VF offset = hn::Set(df, p.f_offset);
    VF c01, s01, c23, s23;
    SinCosAngleF32(df, du, angle01, c01, s01);
    SinCosAngleF32(df, du, angle23, c23, s23);
    auto v = [&](VF r, VF trig) { return Fma(df, hn::Mul(r, trig), scale, offset); };
    StoreQuad<kStorage>(df, v(r01, c01), v(r01, s01), v(r23, c23), v(r23, s23), out);
  }

  // One vector of blocks, any kind.
  HWY_INLINE void Transform(VU w0, VU w1, VU w2, VU w3, void* out) const {
    const VF scale = hn::Set(df, p.f_scale);
    const VF offset = hn::Set(df, p.f_offset);
    const VF lo = hn::Set(df, p.f_lo);
    const VF hi = hn::Set(df, p.f_hi);
    if constexpr (kKind == internal::Kind::kBits) {
      hn::StoreInterleaved4(w0, w1, w2, w3, du, static_cast<uint32_t*>(out));
    } else if constexpr (kKind == internal::Kind::kUniform) {
      auto v = [&](VU w) { return ScaleClamp(df, UniformF32(df, du, w), scale, offset, lo, hi); };
      StoreQuad<kStorage>(df, v(w0), v(w1), v(w2), v(w3), out);
    } else if constexpr (kKind == internal::Kind::kNormal) {
      StoreNormal(hn::Sqrt(MinusTwoLogRadius(df, du, w0)), hn::Sqrt(MinusTwoLogRadius(df, du, w2)),
                  w1, w3, out);
    } else {
      const VF pa = hn::Set(df, p.f_pa);
      const VF pspan = hn::Set(df, p.f_pspan);
      const VF qa = hn::Set(df, p.f_qa);
      auto v = [&](VU w) {
        const VF z = TruncatedStandard(df, OpenUniformF32(df, du, w), pa, pspan, qa);
        return ScaleClamp(df, z, scale, offset, lo, hi);
      };
      StoreQuad<kStorage>(df, v(w0), v(w1), v(w2), v(w3), out);
    }
  }
};

template <internal::Kind kKind>
struct BatchF64 {
  static constexpr uint64_t kElementsPerBlock = 2;
  using DD = hn::ScalableTag<double>;
  using DU = hn::RebindToUnsigned<DD>;
  using DI = hn::RebindToSigned<DD>;
  using DU32 = hn::Rebind<uint32_t, DD>;  // Philox runs on as many lanes as there are doubles
  using VD = VecOf<DD>;
  using VU = VecOf<DU>;

  DD dd;
  DU du;
  DI di;
  DU32 du32;
  const internal::FillParams& p;

  size_t Blocks() const { return kPhiloxVectors * hn::Lanes(dd); }

  HWY_INLINE VD Bits53(VU x) const {  // x >> 11 as a double, exact
    return hn::ConvertTo(dd, hn::BitCast(di, hn::ShiftRight<11>(x)));
  }

  HWY_INLINE void Make(uint64_t first_block, void* out) const {
    using VU32 = VecOf<DU32>;
#if HWY_HAVE_SCALABLE || HWY_TARGET == HWY_SCALAR
    VU32 w0, w1, w2, w3;
    PhiloxBlocks(du32, p.seed, p.stream, first_block, w0, w1, w2, w3);
    Transform(w0, w1, w2, w3, out);
#else
    VU32 w0[kPhiloxVectors], w1[kPhiloxVectors], w2[kPhiloxVectors], w3[kPhiloxVectors];
    PhiloxBlocksInterleaved(du32, p.seed, p.stream, first_block, w0, w1, w2, w3);
    HWY_UNROLL(4)
    for (size_t k = 0; k < kPhiloxVectors; ++k) {
      Transform(w0[k], w1[k], w2[k], w3[k], static_cast<double*>(out) + k * 2 * hn::Lanes(dd));
    }
#endif
  }

  template <class VU32>
  HWY_INLINE void Transform(VU32 w0, VU32 w1, VU32 w2, VU32 w3, void* out) const {
    const VU x01 = hn::Or(hn::ShiftLeft<32>(hn::PromoteTo(du, w1)), hn::PromoteTo(du, w0));
    const VU x23 = hn::Or(hn::ShiftLeft<32>(hn::PromoteTo(du, w3)), hn::PromoteTo(du, w2));
    const VD scale = hn::Set(dd, p.d_scale);
    const VD offset = hn::Set(dd, p.d_offset);
    const VD lo = hn::Set(dd, p.d_lo);
    const VD hi = hn::Set(dd, p.d_hi);
    double* dst = static_cast<double*>(out);
    if constexpr (kKind == internal::Kind::kUniform) {
      auto v = [&](VU x) {
        return ScaleClamp(dd, hn::Mul(Bits53(x), hn::Set(dd, 0x1.0p-53)), scale, offset, lo, hi);
      };
      hn::StoreInterleaved2(v(x01), v(x23), dd, dst);
    } else if constexpr (kKind == internal::Kind::kNormal) {
      // Radius u = ((x >> 11) + 1) 2^-53 in (0, 1], exact.
      const VD u = hn::Mul(hn::Add(Bits53(x01), hn::Set(dd, 1.0)), hn::Set(dd, 0x1.0p-53));
      const VD r = hn::Sqrt(hn::Mul(LogPositive(dd, u), hn::Set(dd, -2.0)));
      VD c, s;
      SinCosAngleF64(dd, du, x23, c, s);
      hn::StoreInterleaved2(Fma(dd, hn::Mul(r, c), scale, offset),
                            Fma(dd, hn::Mul(r, s), scale, offset), dd, dst);
    } else {
      static_assert(kKind == internal::Kind::kTruncatedNormal, "no f64 bits fill");
      const VD pa = hn::Set(dd, p.d_pa);
      const VD pspan = hn::Set(dd, p.d_pspan);
      const VD qa = hn::Set(dd, p.d_qa);
      auto v = [&](VU x) {
        // ((x >> 12) + 1/2) 2^-52 = (2 (x >> 12) + 1) 2^-53, exact.
        const VU odd = hn::Or(hn::ShiftLeft<1>(hn::ShiftRight<12>(x)), hn::Set(du, uint64_t{1}));
        const VD u = hn::Mul(hn::ConvertTo(dd, hn::BitCast(di, odd)), hn::Set(dd, 0x1.0p-53));
        return ScaleClamp(dd, TruncatedStandard(dd, u, pa, pspan, qa), scale, offset, lo, hi);
      };
      hn::StoreInterleaved2(v(x01), v(x23), dd, dst);
    }
  }
};

// Elements [first, first + count) of the stream into out[0, count). Whole
// batches are stored in place; a batch cut by either end of the range is made
// in a small aligned buffer and the wanted part copied.
template <class Batch>
HWY_INLINE void FillWithBatches(const Batch& batch, size_t elem_size, void* out, uint64_t first,
                                uint64_t count) {
  constexpr uint64_t kPerBlock = Batch::kElementsPerBlock;
  const uint64_t batch_elems = kPerBlock * batch.Blocks();
  // One batch: 4 elements per 32-bit lane of each Philox vector.
  HWY_ALIGN uint8_t buffer[kPhiloxVectors * 4 * HWY_MAX_BYTES];
  auto* dst = static_cast<uint8_t*>(out);
  uint64_t done = 0;
  while (done < count) {
    const uint64_t index = first + done;
    const uint64_t block = index / kPerBlock;
    const uint64_t skip = index % kPerBlock;
    if (skip == 0 && count - done >= batch_elems) {
      batch.Make(block, dst + done * elem_size);
      done += batch_elems;
    } else {
      batch.Make(block, buffer);
      const uint64_t n = std::min(batch_elems - skip, count - done);
      std::memcpy(dst + done * elem_size, buffer + skip * elem_size, n * elem_size);
      done += n;
    }
  }
}

template <internal::Kind kKind>
HWY_INLINE void FillKind(const internal::FillParams& p, void* out, uint64_t first,
                         uint64_t count) {
  using internal::Storage;
  const size_t size = internal::StorageBytes(p.storage);
  switch (p.storage) {
    case Storage::k32:
      return FillWithBatches(BatchF32<kKind, Storage::k32>{{}, {}, p}, size, out, first, count);
    case Storage::kBF16:
      return FillWithBatches(BatchF32<kKind, Storage::kBF16>{{}, {}, p}, size, out, first, count);
    case Storage::kF16:
      return FillWithBatches(BatchF32<kKind, Storage::kF16>{{}, {}, p}, size, out, first, count);
    case Storage::k64:
      if constexpr (kKind != internal::Kind::kBits) {
        return FillWithBatches(BatchF64<kKind>{{}, {}, {}, {}, p}, size, out, first, count);
      }
      return;
  }
}

// The per-target entry point: out points at element `first` of the stream.
// inline: the target tests compile this file again beside the library.
inline void FillRange(const internal::FillParams& p, void* out, uint64_t first, uint64_t count) {
  switch (p.kind) {
    case internal::Kind::kBits:
      return FillKind<internal::Kind::kBits>(p, out, first, count);
    case internal::Kind::kUniform:
      return FillKind<internal::Kind::kUniform>(p, out, first, count);
    case internal::Kind::kNormal:
      return FillKind<internal::Kind::kNormal>(p, out, first, count);
    case internal::Kind::kTruncatedNormal:
      return FillKind<internal::Kind::kTruncatedNormal>(p, out, first, count);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace fanfill
HWY_AFTER_NAMESPACE();

#endif  // FANFILL_SRC_KERNELS_INL_H_
