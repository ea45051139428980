// Scalar float <-> bfloat16 / IEEE binary16 conversions (round to nearest
// even), and stepping to neighbouring representable values. The SIMD kernels
// have vector twins (ToBF16Bits, ToF16Bits in kernels-inl.h).
#ifndef FANFILL_SRC_HALF_H_
#define FANFILL_SRC_HALF_H_

#include <bit>
#include <cstdint>

namespace fanfill::internal {

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

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_HALF_H_
