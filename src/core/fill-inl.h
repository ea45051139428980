// The per-target fill kernels: batches of Philox blocks (philox-inl.h) turned
// into values (transforms-inl.h), converted to the output dtype and stored.
// Included once per target by src/core/dispatch.cc (and by the target tests)
// through foreach_target.h; see hwy/examples/skeleton-inl.h for the pattern.
// Parameters arrive validated (src/core/fill.cc); nothing here checks them.

// Per-target include guard (toggled by foreach_target.h).
#if defined(FANFILL_SRC_CORE_FILL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FANFILL_SRC_CORE_FILL_INL_H_
#undef FANFILL_SRC_CORE_FILL_INL_H_
#else
#define FANFILL_SRC_CORE_FILL_INL_H_
#endif

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "src/core/dtype.h"
#include "src/core/fill_params.h"
#include "src/core/transforms-inl.h"

HWY_BEFORE_NAMESPACE();
namespace fanfill {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Round-to-nearest-even conversions of float lanes to 16-bit patterns, in
// 32-bit lanes. bf16: the pattern in the high half (the low half is left
// over from the rounding; the store takes the half it needs).
template <class DF, class DU>
HWY_INLINE VecOf<DU> ToBF16BitsHigh(DF /*df*/, DU du, VecOf<DF> v) {
  const auto bits = hn::BitCast(du, v);
  const auto lsb = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 1u));
  return hn::Add(bits, hn::Add(hn::Set(du, 0x7FFFu), lsb));
}

// f16: the pattern in the low half. Finite inputs with |v| <= 65504 (the fill validates its parameters so).
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

// float lanes -> FP8 patterns (kMantBits 3: E4M3, 2: E5M2) in 32-bit lanes
// (the value in the low byte, the rest zero): the vector twin of
// internal::FloatToF8Bits, the same result on every input, NaN, infinities
// and overflow included (torch 2.13's rounding: see dtype.h). The fills
// store through F8FillBits below instead.
template <int kMantBits, class DF, class DU>
HWY_INLINE VecOf<DU> ToF8Bits(DF df, DU du, VecOf<DF> v) {
  using F = internal::F8Format<kMantBits>;
  const hn::RebindToSigned<DF> di;
  const auto bits = hn::BitCast(du, v);
  const auto sign = hn::And(bits, hn::Set(du, 0x80000000u));
  const auto mag = hn::Xor(bits, sign);
  const auto imag = hn::BitCast(di, mag);
  // Below the smallest normal: the FPU rounds |v| to a multiple of the
  // subnormal step when it adds 2^14 (E4M3) / 2^7 (E5M2).
  const auto sub = hn::Sub(
      hn::BitCast(du, hn::Add(hn::BitCast(df, mag),
                              hn::BitCast(df, hn::Set(du, F::kDenormMagicBits)))),
      hn::Set(du, F::kDenormMagicBits));
  // Normal: rebias the exponent and round the dropped bits to even.
  const auto odd = hn::And(hn::ShiftRight<F::kShift>(mag), hn::Set(du, 1u));
  const auto normal =
      hn::ShiftRight<F::kShift>(hn::Add(hn::Add(mag, hn::Set(du, F::kRebias)), odd));
  const auto is_sub =
      hn::RebindMask(du, hn::Lt(imag, hn::Set(di, static_cast<int32_t>(F::kMinNormalBits))));
  auto r = hn::IfThenElse(is_sub, sub, normal);
  const auto nan = hn::RebindMask(du, hn::Gt(imag, hn::Set(di, 0x7F800000)));
  if constexpr (kMantBits == 3) {
    // Saturate: what rounds to 480 or more (0x7F and up; the normal path's
    // result grows with |v|, +inf included) is 448 (0x7E); NaN stays NaN.
    r = hn::IfThenElse(nan, hn::Set(du, 0x7Fu), hn::Min(r, hn::Set(du, 0x7Eu)));
  } else {
    // At or above 2^16: inf (0x7C), NaN (0x7F). (Highway 1.0 has no integer
    // Ge: mag >= T is mag > T - 1.)
    const auto over = hn::RebindMask(
        du, hn::Gt(imag, hn::Set(di, static_cast<int32_t>(F::kOverflowBits - 1))));
    r = hn::IfThenElse(over, hn::IfThenElse(nan, hn::Set(du, 0x7Fu), hn::Set(du, 0x7Cu)), r);
  }
  return hn::Or(r, hn::ShiftRight<24>(sign));
}

// The fills' FP8 rounding, for finite lanes with |v| <= 464 (E4M3) /
// |v| < 61440 (E5M2): what the fills store (they refuse parameters whose
// values could exceed the largest finite value, 448 / 57344, and a float
// rounding of such a value stays far below these bounds), where neither
// saturation nor overflow can happen. Lane j of the result is
// (FP8 pattern of v_j + F::kFillBias) << kF8FillUnitShift, the pattern
// internal::FloatToF8Bits gives (on x86 without its sign bit, which
// StoreQuad merges apart: F8SignBytes); StoreQuad sums four such vectors
// shifted into their bytes and subtracts the biases once (exact modulo 2^32).
//
// One rounding, done by the FPU, for normal and subnormal results alike:
// with e = max(exponent of |v|, the smallest normal's e_min = 1 - bias), the
// constant C = 1.5 * 2^(e + kShift) has ulp 2^(e - kMantBits), the FP8 step of
// binade e (below e_min: the subnormal step). |v| < 2^(e+1) keeps
// |v| + C inside C's binade, so t = RN(|v| + C) = C + k ulp, k = |v| / ulp
// rounded to nearest, ties to even (C's mantissa field 0x400000 is even in
// ulps, so t's last bit is k's, and so is the FP8 mantissa's), 0 <= k <=
// 2^(kMantBits+1): bits(t) = bits(C) + k with no carry out of the low 16
// bits. The pattern is 2^kMantBits (e - e_min) + k (k = 2^(kMantBits+1), a
// rounding up into the next binade, is that binade's first pattern), and
// bits(t) >> kShift = 2^kMantBits E + 2^(kMantBits-1), E = C's exponent
// field = e + 127 + kShift; so (bits(t) & 0xFFFF) + (bits(t) >> kShift) =
// pattern + kFillBias (elsewhere than x86 the sign, put at bit 7 of the low
// half first, adds its 128). On x86 one pmaddwd forms that sum (times 2^8:
// the low half times 256, the high half, < 2^15, times 2^(24 - kShift)).
// With an FMA instruction t = fma(2^e, 1.5 * 2^kShift, |v|): the product is
// C exactly, so the one rounding is the same. Nothing here is subnormal but
// possibly |v| itself, which rounds to k = 0 whether or not the FPU treats
// it as zero, so MXCSR's FTZ/DAZ do not change the result.
#undef FANFILL_F8_PMADDWD  // defined once per target
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2 || \
    HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
#define FANFILL_F8_PMADDWD 1
#else
#define FANFILL_F8_PMADDWD 0
#endif
constexpr int kF8FillUnitShift = FANFILL_F8_PMADDWD ? 8 : 0;

template <int kMantBits, class DF, class DU>
HWY_INLINE VecOf<DU> F8FillBits(DF df, DU du, VecOf<DF> v) {
  using F = internal::F8Format<kMantBits>;
  const hn::RebindToSigned<DF> di;
  const auto bits = hn::BitCast(du, v);
  const auto mag = hn::And(bits, hn::Set(du, 0x7FFFFFFFu));
  const auto e = hn::BitCast(du, hn::Max(hn::BitCast(di, hn::And(bits, hn::Set(du, 0x7F800000u))),
                                         hn::Set(di, static_cast<int32_t>(F::kMinNormalBits))));
#if HWY_NATIVE_FMA
  static_assert(F::kRoundMagicOffset == ((uint32_t{F::kShift} << 23) | 0x00400000u));
  constexpr float kC = 1.5f * static_cast<float>(uint32_t{1} << F::kShift);  // C / 2^e
  const auto t = hn::BitCast(du, hn::MulAdd(hn::BitCast(df, e), hn::Set(df, kC),
                                            hn::BitCast(df, mag)));
#else
  const auto c = hn::Add(e, hn::Set(du, F::kRoundMagicOffset));
  const auto t = hn::BitCast(du, hn::Add(hn::BitCast(df, mag), hn::BitCast(df, c)));
#endif
#if FANFILL_F8_PMADDWD
  constexpr uint32_t kWeights = (uint32_t{1} << (24 - F::kShift)) << 16 | 256u;
  const auto w = hn::Set(du, kWeights);
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return VecOf<DU>{_mm512_madd_epi16(t.raw, w.raw)};
#elif HWY_TARGET == HWY_AVX2
  return VecOf<DU>{_mm256_madd_epi16(t.raw, w.raw)};
#else
  return VecOf<DU>{_mm_madd_epi16(t.raw, w.raw)};
#endif
#else
  const auto ts = hn::OrAnd(t, hn::ShiftRight<24>(bits), hn::Set(du, 0x80u));
  return hn::Add(hn::And(ts, hn::Set(du, 0xFFFFu)), hn::ShiftRight<F::kShift>(ts));
#endif
}

#if FANFILL_F8_PMADDWD
// The sign bits of four float vectors, each at bit 7 of its element's byte
// in StoreQuad's order (element 4j + m, from lane j of vector m, is byte m of
// 32-bit lane j), the other bits arbitrary. Signed saturation keeps each
// sign: the 32-bit patterns of negative finite floats are below -2^15, so
// they pack to 0x8000 and then to 0x80, the positive ones to 0..0x7F. In
// each 128-bit block the two packs leave byte 4m + j = vector m's lane j;
// one byte shuffle transposes that 4x4 into byte 4j + m. (Instead of a
// shift, an and and an or per vector: AVX2 normal f8e4m3 12.82 -> 12.60
// instructions per value, 1.12x -> 1.07x f32.)
template <class DU, class V = VecOf<DU>>
HWY_INLINE V F8SignBytes(DU du, V b0, V b1, V b2, V b3) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  const V packed{_mm512_packs_epi16(_mm512_packs_epi32(b0.raw, b1.raw),
                                    _mm512_packs_epi32(b2.raw, b3.raw))};
#elif HWY_TARGET == HWY_AVX2
  const V packed{_mm256_packs_epi16(_mm256_packs_epi32(b0.raw, b1.raw),
                                    _mm256_packs_epi32(b2.raw, b3.raw))};
#else
  const V packed{_mm_packs_epi16(_mm_packs_epi32(b0.raw, b1.raw), _mm_packs_epi32(b2.raw, b3.raw))};
#endif
  const hn::Repartition<uint8_t, DU> d8;
  alignas(16) static constexpr uint8_t kTranspose[16] = {0, 4, 8,  12, 1, 5, 9,  13,
                                                         2, 6, 10, 14, 3, 7, 11, 15};
  return hn::BitCast(du, hn::TableLookupBytes(hn::BitCast(d8, packed),
                                              hn::LoadDup128(d8, kTranspose)));
}
#endif

// x << kBits for kBits >= 0, x >> -kBits otherwise.
template <int kBits, class V>
HWY_INLINE V ShiftBy(V x) {
  if constexpr (kBits > 0) return hn::ShiftLeft<kBits>(x);
  if constexpr (kBits < 0) return hn::ShiftRight<-kBits>(x);
  return x;
}

// ---------------------------------------------------------------- stores

// Four float vectors (element 4j + m of the batch in lane j of vector m),
// converted to the output type and stored interleaved.
template <DType kDType, class DF, class V = VecOf<DF>>
HWY_INLINE void StoreQuad(DF df, V v0, V v1, V v2, V v3, void* out) {
  if constexpr (kDType == DType::kF32) {
    hn::StoreInterleaved4(v0, v1, v2, v3, df, static_cast<float*>(out));
  } else if constexpr (kDType == DType::kF8E4M3 || kDType == DType::kF8E5M2) {
    // Elements 4j..4j+3 are bytes 0..3 of 32-bit lane j (little-endian): the
    // four byte vectors merged by shifts are already in memory order.
    static_assert(std::endian::native == std::endian::little, "FP8 stores assume little-endian");
    // Each byte's bias (F8FillBits) is subtracted once for the four.
    constexpr int kMant = kDType == DType::kF8E4M3 ? 3 : 2;
    constexpr int kUnit = kF8FillUnitShift;
    const hn::RebindToUnsigned<DF> du;
    auto f8 = [&](V v) { return F8FillBits<kMant>(df, du, v); };
    const auto s01 = hn::Add(ShiftBy<-kUnit>(f8(v0)), ShiftBy<8 - kUnit>(f8(v1)));
    const auto s23 = hn::Add(ShiftBy<16 - kUnit>(f8(v2)), ShiftBy<24 - kUnit>(f8(v3)));
    const auto bias = hn::Set(du, internal::F8Format<kMant>::kFillBias * 0x01010101u);
    auto merged = hn::Sub(hn::Add(s01, s23), bias);
#if FANFILL_F8_PMADDWD
    const auto sign = F8SignBytes(du, hn::BitCast(du, v0), hn::BitCast(du, v1),
                                  hn::BitCast(du, v2), hn::BitCast(du, v3));
    merged = hn::OrAnd(merged, sign, hn::Set(du, 0x80808080u));
#endif
    hn::StoreU(merged, du, static_cast<uint32_t*>(out));
  } else if constexpr (kDType == DType::kBF16) {
    // Elements 4j, 4j+1 are the low and high halves of 32-bit lane j of
    // p01 (little-endian), 4j+2, 4j+3 of p23: the rounded words' top halves
    // need no shift into the high half, and two 32-bit vectors interleave
    // with fewer shuffles than four 16-bit ones.
    static_assert(std::endian::native == std::endian::little, "bf16 stores assume little-endian");
    const hn::RebindToUnsigned<DF> du;
    const auto top = hn::Set(du, 0xFFFF0000u);
    auto pair = [&](V lo, V hi) {
      return hn::Or(hn::ShiftRight<16>(ToBF16BitsHigh(df, du, lo)),
                    hn::And(ToBF16BitsHigh(df, du, hi), top));
    };
    const auto p01 = pair(v0, v1);
    const auto p23 = pair(v2, v3);
    hn::StoreInterleaved2(p01, p23, du, static_cast<uint32_t*>(out));
  } else {
    static_assert(kDType == DType::kF16, "f16");
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2 && !defined(HWY_DISABLE_F16C)
    // F16C's vcvtps2ph (round to nearest even, subnormals exact): the bits of
    // ToF16Bits on the values fills make (finite, |v| < 65520).
    const hn::Rebind<uint16_t, DF> d16;
    const hn::Rebind<hwy::float16_t, DF> df16;
    auto to16 = [&](V v) { return hn::BitCast(d16, hn::DemoteTo(df16, v)); };
    hn::StoreInterleaved4(to16(v0), to16(v1), to16(v2), to16(v3), d16,
                          static_cast<uint16_t*>(out));
#else
    // Pairs in 32-bit lanes, as bf16 above.
    static_assert(std::endian::native == std::endian::little, "f16 stores assume little-endian");
    const hn::RebindToUnsigned<DF> du;
    const auto p01 = hn::Or(ToF16Bits(df, du, v0), hn::ShiftLeft<16>(ToF16Bits(df, du, v1)));
    const auto p23 = hn::Or(ToF16Bits(df, du, v2), hn::ShiftLeft<16>(ToF16Bits(df, du, v3)));
    hn::StoreInterleaved2(p01, p23, du, static_cast<uint32_t*>(out));
#endif
  }
}

// ---------------------------------------------------------------- batches

// A batch is the output of Lanes consecutive Philox blocks, lane j holding
// block first_block + j: 4 elements per block for bits and f32/bf16/f16
// (lanes of u32), 2 per block for f64 (lanes of u64).

// Philox vectors whose truncated-normal values BatchF32 and BatchF64 form
// together (4 vectors of values each, TruncatedStandardN), so that the
// log -> polynomial chains of more independent vectors overlap. Measured on
// the 2026-12-05 Intel AVX-512 machine (docs/benchmarks.md), truncated normal
// 1M against 1: f32 0.86-0.97x on AVX3 and 0.83-0.93x on AVX2 with 2; f64
// 0.90-0.95x on AVX3 and 0.95x on AVX2. 4 gave no more (f32 AVX3 0.99x of 2,
// AVX2 1.04x; f64 1.04x and 1.02x: 16 registers on AVX2, spills). On SSE4,
// 2 gave f32 0.995x (noise) for twice the inlined code, so 1 there. The same
// operations on each lane in any grouping: the same bits.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2
inline constexpr size_t kTruncatedGroup = 2;
#else
inline constexpr size_t kTruncatedGroup = 1;
#endif

template <bool kBits, Distribution::Kind kKind, DType kDType>
struct BatchF32 {
  static constexpr uint64_t kElementsPerBlock = 4;
  using DF = hn::ScalableTag<float>;
  using DU = hn::RebindToUnsigned<DF>;
  using VF = VecOf<DF>;
  using VU = VecOf<DU>;

  DF df;
  DU du;
  const internal::FillParams& p;
  const StreamKey key;
  // Once per fill, not per batch (a batch's loads cannot be hoisted past its
  // stores): FmaScale's test, and Philox's round keys (RoundKeyVectors).
  const bool plus_zero = PlusZeroOffset(p.f_scale, p.f_offset);
#if !HWY_HAVE_SCALABLE
  const RoundKeyVectors<DU> round_keys{du, key.seed};
#endif

  size_t Blocks() const { return kPhiloxVectors * hn::Lanes(du); }

  HWY_INLINE void Make(uint64_t first_block, void* out) const {
#if HWY_HAVE_SCALABLE || HWY_TARGET == HWY_SCALAR
    VU w0, w1, w2, w3;
#if HWY_HAVE_SCALABLE
    PhiloxBlocks(du, key.seed, key.stream, first_block, w0, w1, w2, w3);
#else
    PhiloxBlocks(du, round_keys, key.stream, first_block, w0, w1, w2, w3);
#endif
    Transform(w0, w1, w2, w3, out);
#else
    VU w0[kPhiloxVectors], w1[kPhiloxVectors], w2[kPhiloxVectors], w3[kPhiloxVectors];
    PhiloxBlocksInterleaved(du, round_keys, key.stream, first_block, w0, w1, w2, w3);
    const size_t stride = 4 * hn::Lanes(du) * internal::SizeOf(kDType);
    auto* dst = static_cast<uint8_t*>(out);
    if constexpr (!kBits && kKind == Distribution::Kind::kNormal) {
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
    } else if constexpr (!kBits && kKind == Distribution::Kind::kTruncatedNormal) {
      // The four vectors of kTruncatedGroup Philox vectors together
      // (TruncatedStandardN).
      const VF pa = hn::Set(df, p.f_pa);
      const VF pspan = hn::Set(df, p.f_pspan);
      const VF qa = hn::Set(df, p.f_qa);
      static_assert(kPhiloxVectors % kTruncatedGroup == 0);
      HWY_UNROLL(4)
      for (size_t k = 0; k < kPhiloxVectors; k += kTruncatedGroup) {
        VF z[4 * kTruncatedGroup];
        HWY_UNROLL(4)
        for (size_t g = 0; g < kTruncatedGroup; ++g) {
          z[4 * g] = OpenUniformF32(df, du, w0[k + g]);
          z[4 * g + 1] = OpenUniformF32(df, du, w1[k + g]);
          z[4 * g + 2] = OpenUniformF32(df, du, w2[k + g]);
          z[4 * g + 3] = OpenUniformF32(df, du, w3[k + g]);
        }
        TruncatedStandardN(df, z, pa, pspan, qa, p.f_pq_exact_in_double);
        HWY_UNROLL(4)
        for (size_t g = 0; g < kTruncatedGroup; ++g) {
          StoreScaled(z[4 * g], z[4 * g + 1], z[4 * g + 2], z[4 * g + 3],
                      dst + (k + g) * stride);
        }
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
    // r >= 2^-17 (u <= 1 - 2^-33, and -2 ln u is within an ulp) and |trig| >=
    // 2^-23 (SinCosQuadrant's |x| >= 2 pi 2^-25; cos x >= cos(pi/4)): r trig
    // is never 0 (FmaScale's kXNonzero).
    auto v = [&](VF r, VF trig) {
      return FmaScale</*kXNonzero=*/true>(df, hn::Mul(r, trig), scale, offset, plus_zero);
    };
    StoreQuad<kDType>(df, v(r01, c01), v(r01, s01), v(r23, c23), v(r23, s23), out);
  }

  // Four standard values, scaled, clamped, stored.
  HWY_INLINE void StoreScaled(VF z0, VF z1, VF z2, VF z3, void* out) const {
    const VF scale = hn::Set(df, p.f_scale);
    const VF offset = hn::Set(df, p.f_offset);
    const VF lo = hn::Set(df, p.f_lo);
    const VF hi = hn::Set(df, p.f_hi);
    auto v = [&](VF z) { return ScaleClamp(df, z, scale, offset, lo, hi, plus_zero); };
    StoreQuad<kDType>(df, v(z0), v(z1), v(z2), v(z3), out);
  }

  // One vector of blocks, any kind.
  HWY_INLINE void Transform(VU w0, VU w1, VU w2, VU w3, void* out) const {
    if constexpr (kBits) {
      hn::StoreInterleaved4(w0, w1, w2, w3, du, static_cast<uint32_t*>(out));
    } else if constexpr (kKind == Distribution::Kind::kUniform) {
      StoreScaled(UniformF32(df, du, w0), UniformF32(df, du, w1), UniformF32(df, du, w2),
                  UniformF32(df, du, w3), out);
    } else if constexpr (kKind == Distribution::Kind::kNormal) {
      StoreNormal(hn::Sqrt(MinusTwoLogRadius(df, du, w0)), hn::Sqrt(MinusTwoLogRadius(df, du, w2)),
                  w1, w3, out);
    } else {
      const VF pa = hn::Set(df, p.f_pa);
      const VF pspan = hn::Set(df, p.f_pspan);
      const VF qa = hn::Set(df, p.f_qa);
      const bool exact = p.f_pq_exact_in_double;
      auto z = [&](VU w) {
        return TruncatedStandard(df, OpenUniformF32(df, du, w), pa, pspan, qa, exact);
      };
      StoreScaled(z(w0), z(w1), z(w2), z(w3), out);
    }
  }

};

template <Distribution::Kind kKind>
struct BatchF64 {
  static constexpr uint64_t kElementsPerBlock = 2;
  using DD = hn::ScalableTag<double>;
  using DU = hn::RebindToUnsigned<DD>;
  using DI = hn::RebindToSigned<DD>;
#if HWY_HAVE_SCALABLE || HWY_TARGET == HWY_SCALAR
  // As many Philox lanes as there are doubles (one vector, no halves).
  using DU32 = hn::Rebind<uint32_t, DD>;
  static constexpr size_t kBlocksPerDoubleLane = 1;
#else
  // Philox at full width: 2 Lanes(dd) blocks per vector, whose lower and upper
  // halves each feed one vector of doubles (a Rebind<uint32_t, DD> vector is
  // half a register: Philox ran at half its throughput).
  using DU32 = hn::Repartition<uint32_t, DD>;
  static constexpr size_t kBlocksPerDoubleLane = 2;
  // PairWords's unpacked layout: vectors of at most two 128-bit blocks.
  static constexpr bool kUnpackedPairs = DD::kPrivateN <= 4;
#endif
  using VD = VecOf<DD>;
  using VU = VecOf<DU>;

  DD dd;
  DU du;
  DI di;
  DU32 du32;
  const internal::FillParams& p;
  const StreamKey key;
  const bool plus_zero = PlusZeroOffset(p.d_scale, p.d_offset);  // as BatchF32's
#if !HWY_HAVE_SCALABLE
  const RoundKeyVectors<DU32> round_keys{du32, key.seed};  // as BatchF32's
#endif

  size_t Blocks() const { return kPhiloxVectors * kBlocksPerDoubleLane * hn::Lanes(dd); }

  // ((x >> 11) + kAdd) 2^-53 for kAdd 0 or 1, exact (a multiple of 2^-53 in
  // [0, 1]).
  template <int kAdd>
  HWY_INLINE VD Unit53(VU x) const {
    static_assert(kAdd == 0 || kAdd == 1);
    if constexpr (kX86WithoutInt64Convert) {
      // With h = x >> 12 and b = bit 11 of x, (x >> 11) + kAdd = 2 h + b +
      // kAdd, and the value is (1 + h 2^-52) - (1 - (b + kAdd) 2^-53): the
      // first term is OnePlusTop52, the second's pattern that of 1 (kAdd = 0)
      // or of 1 - 2^-53 (kAdd = 1), minus b (one ulp, 2^-53, down in
      // [1/2, 1)), and the difference is exact, as the exact value is a double.
      const VU b = hn::And(hn::ShiftRight<11>(x), hn::Set(du, uint64_t{1}));
      constexpr uint64_t kOneMinus = kAdd == 0 ? 0x3FF0000000000000 : 0x3FEFFFFFFFFFFFFF;
      return hn::Sub(OnePlusTop52(dd, du, x), hn::BitCast(dd, hn::Sub(hn::Set(du, kOneMinus), b)));
    } else {
      const VD v = hn::ConvertTo(dd, hn::BitCast(di, hn::ShiftRight<11>(x)));
      return hn::Mul(kAdd == 0 ? v : hn::Add(v, hn::Set(dd, 1.0)), hn::Set(dd, 0x1.0p-53));
    }
  }

  HWY_INLINE void Make(uint64_t first_block, void* out) const {
    using VU32 = VecOf<DU32>;
    double* dst = static_cast<double*>(out);
#if HWY_HAVE_SCALABLE || HWY_TARGET == HWY_SCALAR
    VU32 w0, w1, w2, w3;
#if HWY_HAVE_SCALABLE
    PhiloxBlocks(du32, key.seed, key.stream, first_block, w0, w1, w2, w3);
#else
    PhiloxBlocks(du32, round_keys, key.stream, first_block, w0, w1, w2, w3);
#endif
    VU x01, x23;
    Words(w0, w1, w2, w3, x01, x23);
    if constexpr (kKind == Distribution::Kind::kUniform) {
      hn::StoreInterleaved2(Uniform(x01), Uniform(x23), dd, dst);
    } else if constexpr (kKind == Distribution::Kind::kNormal) {
      VD v0, v1;
      NormalValues(hn::Sqrt(MinusTwoLogRadius(x01)), x23, v0, v1);
      hn::StoreInterleaved2(v0, v1, dd, dst);
    } else {
      // One vector at a time (SVE vectors cannot be array elements).
      static_assert(kKind == Distribution::Kind::kTruncatedNormal, "f64: uniform, normal or truncated normal");
      const VD pa = hn::Set(dd, p.d_pa);
      const VD pspan = hn::Set(dd, p.d_pspan);
      const VD qa = hn::Set(dd, p.d_qa);
      auto v = [&](VU x) {
        return ScaleClampD(TruncatedStandard(dd, OpenUniformF64(dd, du, x), pa, pspan, qa));
      };
      hn::StoreInterleaved2(v(x01), v(x23), dd, dst);
    }
#else
    VU32 w0[kPhiloxVectors], w1[kPhiloxVectors], w2[kPhiloxVectors], w3[kPhiloxVectors];
    PhiloxBlocksInterleaved(du32, round_keys, key.stream, first_block, w0, w1, w2, w3);
    // Vectors 2k and 2k + 1 of doubles hold the 2 Lanes(dd) blocks of Philox
    // vector k (words: PairWords), stored at dst + 4 Lanes(dd) k (StorePair).
    constexpr size_t kN = 2 * kPhiloxVectors;
    const size_t stride = 4 * hn::Lanes(dd);
    if constexpr (kKind == Distribution::Kind::kUniform) {
      HWY_UNROLL(4)
      for (size_t k = 0; k < kPhiloxVectors; ++k) {
        VU x[4];
        PairWords(w0[k], w1[k], w2[k], w3[k], x);
        StorePair(Uniform(x[0]), Uniform(x[1]), Uniform(x[2]), Uniform(x[3]), dst + k * stride);
      }
    } else if constexpr (kKind == Distribution::Kind::kNormal) {
      // In phases across all vectors, as BatchF32 does: every radius's log
      // and sqrt chain first, then the angles, so that the chains overlap.
      VD radius[kN];
      VU angle[kN];
      HWY_UNROLL(4)
      for (size_t k = 0; k < kPhiloxVectors; ++k) {
        VU x[4];
        PairWords(w0[k], w1[k], w2[k], w3[k], x);
        radius[2 * k] = MinusTwoLogRadius(x[0]);
        angle[2 * k] = x[1];
        radius[2 * k + 1] = MinusTwoLogRadius(x[2]);
        angle[2 * k + 1] = x[3];
      }
      HWY_UNROLL(8)
      for (VD& r : radius) r = hn::Sqrt(r);
      HWY_UNROLL(4)
      for (size_t k = 0; k < kPhiloxVectors; ++k) {
        VD a0, a1, b0, b1;
        NormalValues(radius[2 * k], angle[2 * k], a0, a1);
        NormalValues(radius[2 * k + 1], angle[2 * k + 1], b0, b1);
        StorePair(a0, a1, b0, b1, dst + k * stride);
      }
    } else {
      // The four uniforms of kTruncatedGroup Philox vectors together
      // (TruncatedStandardN).
      static_assert(kPhiloxVectors % kTruncatedGroup == 0);
      HWY_UNROLL(4)
      for (size_t k = 0; k < kPhiloxVectors; k += kTruncatedGroup) {
        VD z[4 * kTruncatedGroup];
        HWY_UNROLL(4)
        for (size_t g = 0; g < kTruncatedGroup; ++g) {
          VU x[4];
          PairWords(w0[k + g], w1[k + g], w2[k + g], w3[k + g], x);
          for (size_t j = 0; j < 4; ++j) z[4 * g + j] = OpenUniformF64(dd, du, x[j]);
        }
        TruncatedStandardN(dd, z, hn::Set(dd, p.d_pa), hn::Set(dd, p.d_pspan),
                           hn::Set(dd, p.d_qa));
        HWY_UNROLL(4)
        for (size_t g = 0; g < kTruncatedGroup; ++g) {
          StorePair(ScaleClampD(z[4 * g]), ScaleClampD(z[4 * g + 1]), ScaleClampD(z[4 * g + 2]),
                    ScaleClampD(z[4 * g + 3]), dst + (k + g) * stride);
        }
      }
    }
#endif
  }

#if !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR
  // The 64-bit words of one Philox vector's 2 Lanes(dd) blocks, in two
  // vectors of doubles' lanes: x[0] = w1:w0 and x[1] = w3:w2 of blocks "a",
  // x[2], x[3] of blocks "b". Where vectors have at most two 128-bit blocks
  // (SSE4, AVX2) these are the 64-bit interleavings of the Philox words
  // (one unpack per vector instead of PromoteTo, shift and or): in each
  // 128-bit block j, a holds blocks 4j, 4j + 1 and b blocks 4j + 2, 4j + 3
  // (StorePair puts each value in its place). Elsewhere a is the lower half
  // of the blocks and b the upper one (Words).
  template <class VU32>
  HWY_INLINE void PairWords(VU32 w0, VU32 w1, VU32 w2, VU32 w3, VU (&x)[4]) const {
    if constexpr (kUnpackedPairs) {
      x[0] = hn::BitCast(du, hn::InterleaveLower(du32, w0, w1));
      x[1] = hn::BitCast(du, hn::InterleaveLower(du32, w2, w3));
      x[2] = hn::BitCast(du, hn::InterleaveUpper(du32, w0, w1));
      x[3] = hn::BitCast(du, hn::InterleaveUpper(du32, w2, w3));
    } else {
      const hn::Half<DU32> dh;
      Words(hn::LowerHalf(dh, w0), hn::LowerHalf(dh, w1), hn::LowerHalf(dh, w2),
            hn::LowerHalf(dh, w3), x[0], x[1]);
      Words(hn::UpperHalf(dh, w0), hn::UpperHalf(dh, w1), hn::UpperHalf(dh, w2),
            hn::UpperHalf(dh, w3), x[2], x[3]);
    }
  }

  // The values of PairWords's x (a0 from x[0], a1 from x[1], b0, b1 from
  // x[2], x[3]), each block's two at dst + 2 (block - first block).
  HWY_INLINE void StorePair(VD a0, VD a1, VD b0, VD b1, double* dst) const {
    const size_t n = hn::Lanes(dd);
    if constexpr (kUnpackedPairs && DD::kPrivateN == 4) {
      // Each 128-bit half of lo_a, hi_a, lo_b, hi_b is one block's two values:
      // blocks 0, 4 | 1, 5 | 2, 6 | 3, 7.
      const VD lo_a = hn::InterleaveLower(dd, a0, a1);
      const VD hi_a = hn::InterleaveUpper(dd, a0, a1);
      const VD lo_b = hn::InterleaveLower(dd, b0, b1);
      const VD hi_b = hn::InterleaveUpper(dd, b0, b1);
      hn::StoreU(hn::ConcatLowerLower(dd, hi_a, lo_a), dd, dst);
      hn::StoreU(hn::ConcatLowerLower(dd, hi_b, lo_b), dd, dst + n);
      hn::StoreU(hn::ConcatUpperUpper(dd, hi_a, lo_a), dd, dst + 2 * n);
      hn::StoreU(hn::ConcatUpperUpper(dd, hi_b, lo_b), dd, dst + 3 * n);
    } else {
      // One 128-bit block (kUnpackedPairs) or halves: a's blocks, then b's.
      hn::StoreInterleaved2(a0, a1, dd, dst);
      hn::StoreInterleaved2(b0, b1, dd, dst + 2 * n);
    }
  }
#endif

  // The 64-bit words of the blocks: x01 = w1:w0, x23 = w3:w2.
  template <class VU32>
  HWY_INLINE void Words(VU32 w0, VU32 w1, VU32 w2, VU32 w3, VU& x01, VU& x23) const {
    x01 = hn::Or(hn::ShiftLeft<32>(hn::PromoteTo(du, w1)), hn::PromoteTo(du, w0));
    x23 = hn::Or(hn::ShiftLeft<32>(hn::PromoteTo(du, w3)), hn::PromoteTo(du, w2));
  }

  // kPlusZeroTest: FmaScale's multiply-only path where plus_zero.
  template <bool kPlusZeroTest = true>
  HWY_INLINE VD ScaleClampD(VD z) const {
    return ScaleClamp(dd, z, hn::Set(dd, p.d_scale), hn::Set(dd, p.d_offset), hn::Set(dd, p.d_lo),
                      hn::Set(dd, p.d_hi), kPlusZeroTest && plus_zero);
  }

  // Uniform: (x >> 11) 2^-53 for each word, scaled and clamped. Without the
  // plus-zero test: SSE4's emulated uniform measured 1.06x slower with it.
  HWY_INLINE VD Uniform(VU x) const { return ScaleClampD<false>(Unit53<0>(x)); }

  // -2 ln u of the radius u = ((x >> 11) + 1) 2^-53 in (0, 1], exact.
  HWY_INLINE VD MinusTwoLogRadius(VU x) const {
    return hn::Mul(LogPositive(dd, Unit53<1>(x)), hn::Set(dd, -2.0));
  }

  // The two Box-Muller outputs of each block (lane) from its radius and angle word.
  HWY_INLINE void NormalValues(VD r, VU angle, VD& v0, VD& v1) const {
    const VD scale = hn::Set(dd, p.d_scale);
    const VD offset = hn::Set(dd, p.d_offset);
    VD c, s;
    SinCosAngleF64(dd, du, angle, c, s);
    // r is 0 where u = 1: FmaScale's zero test stays.
    v0 = FmaScale(dd, hn::Mul(r, c), scale, offset, plus_zero);
    v1 = FmaScale(dd, hn::Mul(r, s), scale, offset, plus_zero);
  }
};

// Elements [first, first + count) of the stream into out[0, count). Whole
// batches are stored in place; a batch cut by either end of the range is made
// in a small aligned buffer and the wanted part copied.
// Not inlined: each (kind, dtype) loop is its own function, so that its code
// does not depend on how many other dtypes FillRange dispatches to.
template <class Batch>
HWY_NOINLINE void FillWithBatches(const Batch& batch, size_t elem_size, void* out, uint64_t first,
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

template <Distribution::Kind kKind>
HWY_INLINE void FillKind(const internal::KernelArgs& a, void* out, uint64_t first,
                         uint64_t count) {
  const size_t size = internal::SizeOf(a.p.dtype);
  switch (a.p.dtype) {
    case DType::kF32:
      return FillWithBatches(BatchF32<false, kKind, DType::kF32>{{}, {}, a.p, a.key}, size, out, first,
                             count);
    case DType::kBF16:
      return FillWithBatches(BatchF32<false, kKind, DType::kBF16>{{}, {}, a.p, a.key}, size, out,
                             first, count);
    case DType::kF16:
      return FillWithBatches(BatchF32<false, kKind, DType::kF16>{{}, {}, a.p, a.key}, size, out,
                             first, count);
    case DType::kF8E4M3:
      return FillWithBatches(BatchF32<false, kKind, DType::kF8E4M3>{{}, {}, a.p, a.key}, size, out,
                             first, count);
    case DType::kF8E5M2:
      return FillWithBatches(BatchF32<false, kKind, DType::kF8E5M2>{{}, {}, a.p, a.key}, size, out,
                             first, count);
    case DType::kF64:
      return FillWithBatches(BatchF64<kKind>{{}, {}, {}, {}, a.p, a.key}, size, out, first, count);
  }
}

// The per-target entry point: elements [first, first + count) of stream
// a.key filled with a.p into out[0, count). inline: the target tests compile
// this file again beside the library.
inline void FillRange(const internal::KernelArgs& a, void* out, uint64_t first, uint64_t count) {
  const internal::FillParams& p = a.p;
  if (p.bits) {
    using Bits = BatchF32<true, Distribution::Kind::kUniform, DType::kF32>;
    return FillWithBatches(Bits{{}, {}, a.p, a.key}, 4, out, first, count);
  }
  switch (p.kind) {
    case Distribution::Kind::kUniform:
      return FillKind<Distribution::Kind::kUniform>(a, out, first, count);
    case Distribution::Kind::kNormal:
      return FillKind<Distribution::Kind::kNormal>(a, out, first, count);
    case Distribution::Kind::kTruncatedNormal:
      return FillKind<Distribution::Kind::kTruncatedNormal>(a, out, first, count);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace fanfill
HWY_AFTER_NAMESPACE();

#endif  // FANFILL_SRC_CORE_FILL_INL_H_
