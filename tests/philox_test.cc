// Philox4x32-10 known-answer tests and bit equality with Random123 (the oracle).
#include <Random123/philox.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "fanfill/fanfill.h"
#include "fanfill/fanfill.hpp"
#include "fanfill/philox.h"

namespace {

using fanfill::PhiloxBlock;

// Random123's published vectors (tests/kat_vectors, philox4x32 10 rounds).
TEST(Philox, KnownAnswers) {
  EXPECT_EQ(fanfill::Philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxBlock{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(fanfill::Philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                                   {0xffffffffu, 0xffffffffu}),
            (PhiloxBlock{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(fanfill::Philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                                   {0xa4093822u, 0x299f31d0u}),
            (PhiloxBlock{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
  static_assert(fanfill::Philox4x32_10({0, 0, 0, 0}, {0, 0})[0] == 0x6627e8d5u);
}

PhiloxBlock Oracle(const PhiloxBlock& ctr, const fanfill::PhiloxKey& key) {
  r123::Philox4x32_R<10> gen;
  const r123::Philox4x32_R<10>::ctr_type c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
  const r123::Philox4x32_R<10>::key_type k = {{key[0], key[1]}};
  const auto r = gen(c, k);
  return {r[0], r[1], r[2], r[3]};
}

TEST(Philox, MatchesRandom123OnRandomCounters) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t a = rng(), b = rng(), c = rng();
    const PhiloxBlock ctr = {uint32_t(a), uint32_t(a >> 32), uint32_t(b), uint32_t(b >> 32)};
    const fanfill::PhiloxKey key = {uint32_t(c), uint32_t(c >> 32)};
    ASSERT_EQ(fanfill::Philox4x32_10(ctr, key), Oracle(ctr, key)) << "iteration " << i;
  }
}

// The fill path (SIMD, dispatched) against Random123, across a block index
// that crosses 2^32 (the counter's low word wraps inside a vector).
TEST(Philox, FillBitsMatchesRandom123AcrossWordCarry) {
  const uint64_t seed = 0x0123456789abcdefull, stream = 0xfedcba9876543210ull;
  const uint64_t first_block = (uint64_t{1} << 32) - 37;
  const uint64_t first = first_block * 4 + 1;  // not block aligned either
  std::vector<uint32_t> out(100000 + 3);
  fanfill::FillBits(out.data(), out.size(), {seed, stream}, {first, 0});
  for (size_t k = 0; k < out.size(); ++k) {
    const uint64_t i = first + k;
    const PhiloxBlock w = Oracle(fanfill::PhiloxCounterFor(i / 4, stream), fanfill::PhiloxKeyFor(seed));
    ASSERT_EQ(out[k], w[i % 4]) << "element " << i;
  }
}

TEST(Philox, CApiBlock) {
  const uint32_t ctr[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
  const uint32_t key[2] = {0xa4093822u, 0x299f31d0u};
  uint32_t out[4] = {};
  ASSERT_EQ(fanfill_philox4x32_10(ctr, key, out), 0);
  EXPECT_EQ(out[0], 0xd16cfe09u);
  EXPECT_EQ(out[3], 0x24126ea1u);
  EXPECT_EQ(fanfill_philox4x32_10(nullptr, key, out), FANFILL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(fanfill_last_error()).find("null"), std::string::npos);
}

}  // namespace
