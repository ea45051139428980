// fanfill/philox.h: the scalar Philox4x32-10 reference and the index -> counter map.
//
// Philox4x32-10 is the counter-based generator of Salmon, Moraes, Dror and Shaw,
// "Parallel random numbers: as easy as 1, 2, 3" (SC'11), with the constants and
// round structure of Random123's philox.h. It is a pure function
// (counter[4], key[2]) -> block[4] of 32-bit words; there is no hidden state.
//
// This header is also where fanfill's reproducibility contract maps a logical
// element index to a Philox call (PhiloxCounterFor / PhiloxKeyFor); the SIMD
// kernels and the scalar reference both use these two functions, nothing else.
//
// Example:
//   constexpr fanfill::PhiloxBlock b = fanfill::Philox4x32_10({0, 0, 0, 0}, {0, 0});
//   static_assert(b[0] == 0x6627e8d5u);
//
// Stability: everything here is part of the public contract and never changes.
#ifndef FANFILL_PHILOX_H_
#define FANFILL_PHILOX_H_

#include <array>
#include <cstdint>

namespace fanfill {

using PhiloxBlock = std::array<uint32_t, 4>;  // also the counter type
using PhiloxKey = std::array<uint32_t, 2>;

// Multipliers and Weyl key increments (Random123 PHILOX_M4x32_*, PHILOX_W32_*).
inline constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
inline constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;
inline constexpr int kPhiloxRounds = 10;

// One Philox4x32-10 evaluation, exactly as Random123's philox4x32 (10 rounds;
// the key is bumped before every round but the first).
constexpr PhiloxBlock Philox4x32_10(PhiloxBlock ctr, PhiloxKey key) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round != 0) {
      key[0] += kPhiloxW0;
      key[1] += kPhiloxW1;
    }
    const uint64_t p0 = uint64_t{kPhiloxM0} * ctr[0];
    const uint64_t p1 = uint64_t{kPhiloxM1} * ctr[2];
    ctr = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<uint32_t>(p1),
           static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<uint32_t>(p0)};
  }
  return ctr;
}

// The reproducibility contract, part 1: which Philox call makes a block.
// key = the 64-bit seed split into (low word, high word);
// counter = (block low, block high, stream low, stream high).
constexpr PhiloxKey PhiloxKeyFor(uint64_t seed) {
  return {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
}
constexpr PhiloxBlock PhiloxCounterFor(uint64_t block, uint64_t stream) {
  return {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
          static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)};
}

// Block `block` of stream `stream` under `seed`.
constexpr PhiloxBlock PhiloxBlockAt(uint64_t seed, uint64_t stream, uint64_t block) {
  return Philox4x32_10(PhiloxCounterFor(block, stream), PhiloxKeyFor(seed));
}

}  // namespace fanfill

#endif  // FANFILL_PHILOX_H_
