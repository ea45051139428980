// The one dtype module: sizes, names, scalar rounding and stores for every
// output dtype. The fills (src/core), the scheme writers (src/schemes) and
// orthogonal all round and store through here; the SIMD kernels have vector
// twins of the 16-bit conversions (ToBF16Bits, ToF16Bits in fill-inl.h) that
// the target tests compare with these. Internal: not installed.
//
// Every function but CheckDType assumes a valid DType (the public edge checks).
#ifndef FANFILL_SRC_CORE_DTYPE_H_
#define FANFILL_SRC_CORE_DTYPE_H_

#include <bit>
#include <cstddef>
#include <cstdint>

#include "fanfill/fanfill.hpp"

namespace fanfill::internal {

// Throws std::invalid_argument "unknown dtype N (expected f32, f64, bf16 or f16)".
void CheckDType(DType dtype);

inline constexpr size_t SizeOf(DType dtype) {
  return dtype == DType::kF64 ? 8 : dtype == DType::kF32 ? 4 : 2;
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

// ---------------------------------------------------------------- values

// Largest finite value of the dtype.
double MaxFinite(DType dtype);

// The dtype's value nearest to x, as the fills store it: f64 as is, f32 by
// one rounding, bf16/f16 through float (so a double may round twice; the
// bound searches below correct for that).
double RoundTo(double x, DType dtype);

// The neighbour of v (a finite value of the dtype) towards +inf or -inf.
double Step(double v, DType dtype, bool up);

// The smallest dtype value >= x, the largest <= x, the largest < x.
double SmallestAtLeast(double x, DType dtype);
double LargestAtMost(double x, DType dtype);
double LargestBelow(double x, DType dtype);

// out[i] = v, and out[0, count) = v, rounded to the dtype as RoundTo.
void StoreAt(void* out, DType dtype, uint64_t i, double v);
void StoreConstant(void* out, DType dtype, uint64_t count, double v);

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_CORE_DTYPE_H_
