// Layer 1, bits: Philox4x32-10 on vectors of 32-bit lanes, one block per
// lane (counter = (block low, block high, stream low, stream high), key =
// (seed low, seed high)), bit-identical to fanfill/philox.h. Per-target code
// (hwy/examples/skeleton-inl.h pattern), included through transforms-inl.h.

// Per-target include guard (toggled by foreach_target.h).
#if defined(FANFILL_SRC_CORE_PHILOX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FANFILL_SRC_CORE_PHILOX_INL_H_
#undef FANFILL_SRC_CORE_PHILOX_INL_H_
#else
#define FANFILL_SRC_CORE_PHILOX_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "fanfill/philox.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace fanfill {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D>
using VecOf = hn::Vec<D>;

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
  const V vm = hn::Set(du, m);
  // MulEven reads the even lanes only: the odd lanes reach them by a swap of
  // each lane pair (Shuffle2301), which is a copying shuffle where SSE4's
  // 64-bit shift overwrites its operand (an extra register copy per use).
  const auto even = hn::MulEven(a, vm);  // products of lanes 0, 2, ...
  const auto odd = hn::MulEven(hn::Shuffle2301(a), vm);
  hi = hn::OddEven(hn::BitCast(du, odd), hn::Shuffle2301(hn::BitCast(du, even)));
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
#endif

// The round keys of one seed, each already broadcast to a vector's lanes,
// in memory: a fill forms them once, and the rounds xor them straight from
// there (a memory operand on x86). Formed in every batch instead, each key
// cost a scalar add, a move to a vector register and a broadcast (about one
// operation per value on SSE4, half of one on AVX2). HWY_SCALAR too: keys
// formed from the seed in every block cost GCC 12 an add per key and
// spilled loop state (SCALAR bits: 159 -> 138 instructions per block in
// callgrind, 3.68 -> 3.13 ns per word on a Zen 3). Sizeless vectors (SVE,
// RVV) have no constant lane count.
#if !HWY_HAVE_SCALABLE
template <class DU>
struct RoundKeyVectors {
  static constexpr size_t kLanes = hn::MaxLanes(DU());
  HWY_ALIGN uint32_t lanes[kPhiloxRounds][2][kLanes];

  RoundKeyVectors(DU du, uint64_t seed) {
    for (int round = 0; round < kPhiloxRounds; ++round) {
      const PhiloxKey key = RoundKey(seed, round);
      hn::Store(hn::Set(du, key[0]), du, lanes[round][0]);
      hn::Store(hn::Set(du, key[1]), du, lanes[round][1]);
    }
  }
};

// One vector of blocks with the round keys from memory (HWY_SCALAR's batch).
template <class DU, class V = VecOf<DU>>
HWY_INLINE void PhiloxBlocks(DU du, const RoundKeyVectors<DU>& keys, uint64_t stream,
                             uint64_t first_block, V& w0, V& w1, V& w2, V& w3) {
  CountersFor(du, stream, first_block, w0, w1, w2, w3);
  HWY_UNROLL(10)
  for (int round = 0; round < kPhiloxRounds; ++round) {
    PhiloxRound(du, w0, w1, w2, w3, hn::Load(du, keys.lanes[round][0]),
                hn::Load(du, keys.lanes[round][1]));
  }
}
#endif

#if !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR
// kPhiloxVectors vectors of blocks at once: block first_block + k Lanes(du) + j
// in lane j of w*[k].
template <class DU, class V = VecOf<DU>>
HWY_INLINE void PhiloxBlocksInterleaved(DU du, const RoundKeyVectors<DU>& keys, uint64_t stream,
                                        uint64_t first_block, V (&w0)[kPhiloxVectors],
                                        V (&w1)[kPhiloxVectors], V (&w2)[kPhiloxVectors],
                                        V (&w3)[kPhiloxVectors]) {
  HWY_UNROLL(4)
  for (size_t k = 0; k < kPhiloxVectors; ++k) {
    CountersFor(du, stream, first_block + k * hn::Lanes(du), w0[k], w1[k], w2[k], w3[k]);
  }
  HWY_UNROLL(10)
  for (int round = 0; round < kPhiloxRounds; ++round) {
    const V k0 = hn::Load(du, keys.lanes[round][0]);
    const V k1 = hn::Load(du, keys.lanes[round][1]);
    HWY_UNROLL(4)
    for (size_t k = 0; k < kPhiloxVectors; ++k) PhiloxRound(du, w0[k], w1[k], w2[k], w3[k], k0, k1);
  }
}
#endif

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace fanfill
HWY_AFTER_NAMESPACE();

#endif  // FANFILL_SRC_CORE_PHILOX_INL_H_
