// The one dtype module: sizes, names, scalar rounding and stores for every
// output dtype. The fills (src/core), the scheme writers (src/schemes) and
// orthogonal all round and store through here; the SIMD kernels have vector
// twins of the 16-bit and 8-bit conversions (ToBF16BitsHigh, ToF16Bits, ToF8Bits
// in fill-inl.h) that the target tests compare with these. Internal: not
// installed.
//
// Every function but CheckDType assumes a valid DType (the public edge checks).
#ifndef FANFILL_SRC_CORE_DTYPE_H_
#define FANFILL_SRC_CORE_DTYPE_H_

#include <bit>
#include <cstddef>
#include <cstdint>

#include "fanfill/fanfill.hpp"

namespace fanfill::internal {

// Throws std::invalid_argument "unknown dtype N (expected f32, f64, bf16, f16,
// f8e4m3 or f8e5m2)".
void CheckDType(DType dtype);

inline constexpr size_t SizeOf(DType dtype) {
  return dtype == DType::kF64                                 ? 8
         : dtype == DType::kF32                               ? 4
         : dtype == DType::kF8E4M3 || dtype == DType::kF8E5M2 ? 1
                                                              : 2;
}

inline constexpr bool IsF8(DType dtype) {
  return dtype == DType::kF8E4M3 || dtype == DType::kF8E5M2;
}

// Elements per Philox block: f64 uses two words per element, the rest one.
inline constexpr uint64_t ElementsPerBlock(DType dtype) { return dtype == DType::kF64 ? 2 : 4; }

// ---------------------------------------------------------------- 16-bit floats
// float <-> bfloat16 / IEEE binary16 bit patterns, round to nearest even.

inline uint16_t FloatToBF16Bits(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  return static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

inline float BF16BitsToFloat(uint16_t h) { return std::bit_cast<float>(uint32_t{h} << 16); }

// Finite |f| <= 65504 (larger magnitudes give infinity).
inline uint16_t FloatToF16Bits(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint32_t sign = bits & 0x80000000u;
  const uint32_t mag = bits ^ sign;
  uint32_t h;
  if (mag < 0x38800000u) {  // below 2^-14: subnormal; the FPU rounds |f| / 2^-24
    h = std::bit_cast<uint32_t>(std::bit_cast<float>(mag) + 0.5f) - 0x3F000000u;
  } else if (mag >= 0x477FF000u) {  // rounds to 65520 or more
    h = 0x7C00u;
  } else {
    h = (mag + 0xC8000FFFu + ((mag >> 13) & 1u)) >> 13;
  }
  return static_cast<uint16_t>(h | (sign >> 16));
}

inline float F16BitsToFloat(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  float mag;
  if (exp == 0) {
    mag = static_cast<float>(mant) * 0x1.0p-24f;
  } else if (exp == 31) {
    mag = mant ? __builtin_nanf("") : __builtin_inff();
  } else {
    mag = std::bit_cast<float>(((exp + 112u) << 23) | (mant << 13));
  }
  return std::bit_cast<float>(std::bit_cast<uint32_t>(mag) | sign);
}

// ---------------------------------------------------------------- 8-bit floats
// float -> FP8 bit patterns exactly as PyTorch 2.13 rounds (torch/headeronly
// fp8e4m3fn_from_fp32_value / fp8e5m2_from_fp32_value, what
// torch.Tensor.to(torch.float8_e4m3fn / float8_e5m2) does on the CPU): round
// to nearest even, for every float32 input (tests/fp8_test.cc against an
// independent nearest-value search; scripts/fp8_torch_sweep.py against torch
// over all 2^32 patterns, docs/fp8.md).
//   E4M3 (float8_e4m3fn): bias 7, no infinities, max 448 (0x7E), NaN 0x7F.
//     torch 2.13 SATURATES: |f| > 464 (what would round to 480 or more) and
//     +-inf -> 0x7E | sign (+-448); NaN -> 0x7F | sign. (Older torch gave NaN
//     for |f| > 464; the fills never get there: they refuse such parameters.)
//   E5M2 (float8_e5m2): bias 15, IEEE-like, max 57344 (0x7B), inf 0x7C; no
//     saturation: |f| >= 61440 -> 0x7C | sign (inf), NaN -> 0x7F | sign.
// Below the smallest normal (2^-6, 2^-14) the FPU's round-to-nearest-even
// addition of 2^14 (2^7), whose ulp is the FP8 subnormal step 2^-9 (2^-16),
// puts the rounded subnormal count into the low bits.

// kMantBits = 3 (E4M3) or 2 (E5M2); the constants of the two formats.
template <int kMantBits>
struct F8Format {
  static constexpr int kBias = kMantBits == 3 ? 7 : 15;
  static constexpr int kShift = 23 - kMantBits;  // float mantissa bits dropped
  // |f| bits at or above which the normal path is not taken: 480 (E4M3:
  // saturated to 448, or NaN) or 2^16 (E5M2: inf or NaN).
  static constexpr uint32_t kOverflowBits = kMantBits == 3 ? 0x43F00000u : 0x47800000u;
  // |f| bits below which the result is subnormal: 2^-6 or 2^-14.
  static constexpr uint32_t kMinNormalBits = uint32_t(127 - kBias + 1) << 23;
  // 2^14 or 2^7: a float whose ulp is the FP8 subnormal step.
  static constexpr uint32_t kDenormMagicBits = uint32_t(127 + 24 - kBias - kMantBits) << 23;
  static_assert(kMantBits != 3 || kDenormMagicBits == 141u << 23);
  static_assert(kMantBits != 2 || kDenormMagicBits == 134u << 23);
  // Added to the float bits to rebias the exponent and round (part 1).
  static constexpr uint32_t kRebias =
      (uint32_t(kBias - 127) << 23) + ((uint32_t{1} << (kShift - 1)) - 1);
  // The fills' conversion (F8FillBits in fill-inl.h): the exponent field of
  // the smallest normal, and what turns it into the rounding constant
  // C = 1.5 * 2^(e + kShift), whose ulp 2^(e - kMantBits) is the FP8 step of
  // binade e; kFillBias is what (bits(|v| + C) & 0xFFFF) + (bits(|v| + C) >>
  // kShift) exceeds the FP8 pattern by: 2^kMantBits * (exponent field of
  // kDenormMagicBits) + 2^(kMantBits - 1).
  static constexpr uint32_t kRoundMagicOffset = (uint32_t{kShift} << 23) | 0x00400000u;
  static constexpr uint32_t kFillBias =
      ((kDenormMagicBits >> 23) << kMantBits) + (uint32_t{1} << (kMantBits - 1));
  static_assert(kMantBits != 3 || kFillBias == 1132);
  static_assert(kMantBits != 2 || kFillBias == 538);
};

template <int kMantBits>
inline uint8_t FloatToF8Bits(float f) {
  using F = F8Format<kMantBits>;
  uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint32_t sign = bits & 0x80000000u;
  bits ^= sign;
  uint8_t result;
  if (bits >= F::kOverflowBits) {
    result = bits > 0x7F800000u ? 0x7F : kMantBits == 3 ? 0x7E : 0x7C;
  } else if (bits < F::kMinNormalBits) {
    const float magic = std::bit_cast<float>(F::kDenormMagicBits);
    result = static_cast<uint8_t>(std::bit_cast<uint32_t>(std::bit_cast<float>(bits) + magic) -
                                  F::kDenormMagicBits);
  } else {
    const uint32_t odd = (bits >> F::kShift) & 1u;
    result = static_cast<uint8_t>((bits + F::kRebias + odd) >> F::kShift);
    if (kMantBits == 3 && result == 0x7F) result = 0x7E;  // rounded up to 480: saturate
  }
  return static_cast<uint8_t>(result | (sign >> 24));
}

template <int kMantBits>
inline float F8BitsToFloat(uint8_t h) {
  using F = F8Format<kMantBits>;
  const uint32_t sign = uint32_t{h & 0x80u} << 24;
  const uint32_t exp = (h & 0x7Fu) >> kMantBits;
  const uint32_t mant = h & ((1u << kMantBits) - 1);
  float mag;
  if (exp == 0) {
    mag = static_cast<float>(mant) * std::bit_cast<float>(uint32_t(127 - F::kBias + 1 - kMantBits) << 23);
  } else if (kMantBits == 3 && exp == 15 && mant == 7) {
    mag = __builtin_nanf("");
  } else if (kMantBits == 2 && exp == 31) {
    mag = mant ? __builtin_nanf("") : __builtin_inff();
  } else {
    mag = std::bit_cast<float>(((exp + 127u - F::kBias) << 23) | (mant << F::kShift));
  }
  return std::bit_cast<float>(std::bit_cast<uint32_t>(mag) | sign);
}

inline uint8_t FloatToF8E4M3Bits(float f) { return FloatToF8Bits<3>(f); }
inline uint8_t FloatToF8E5M2Bits(float f) { return FloatToF8Bits<2>(f); }
inline float F8E4M3BitsToFloat(uint8_t h) { return F8BitsToFloat<3>(h); }
inline float F8E5M2BitsToFloat(uint8_t h) { return F8BitsToFloat<2>(h); }

// ---------------------------------------------------------------- values

// Largest finite value of the dtype.
double MaxFinite(DType dtype);

// Smallest positive normal value: the fills refuse a stddev below it for
// FP8 (2^-6 E4M3, 2^-14 E5M2); defined for every dtype.
double MinNormal(DType dtype);

// The dtype's value nearest to x, as the fills store it: f64 as is, f32 by
// one rounding, bf16/f16/FP8 through float (so a double may round twice; the
// bound searches below correct for that).
double RoundTo(double x, DType dtype);

// Whether storing v overflows the dtype: it rounds to an infinity or NaN, or
// (E4M3, whose conversion saturates) to 480 or more before saturation.
bool Overflows(double v, DType dtype);

// The neighbour of v (a finite value of the dtype) towards +inf or -inf.
double Step(double v, DType dtype, bool up);

// The smallest dtype value >= x, the largest <= x, the largest < x.
double SmallestAtLeast(double x, DType dtype);
double LargestAtMost(double x, DType dtype);
double LargestBelow(double x, DType dtype);

// out[i] = v, and out[0, count) = v, rounded to the dtype as RoundTo.
void StoreAt(void* out, DType dtype, uint64_t i, double v);
void StoreConstant(void* out, DType dtype, uint64_t count, double v);
// out[i] = values[i] for i < count, each rounded as StoreAt (one loop per dtype).
void StoreAll(void* out, DType dtype, const double* values, uint64_t count);

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_CORE_DTYPE_H_
