// Every compiled SIMD target against the scalar reference, bit for bit, for
// every distribution and dtype, over ranges that start and end off block and
// vector boundaries and cross the counter's 2^32 word carry.
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/targets_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/aligned_allocator.h"
#include "hwy/highway.h"
#include "hwy/tests/hwy_gtest.h"
#include "src/core/fill-inl.h"
#include "src/core/reference.h"

// Configurations shared by all targets (defined once).
#ifndef FANFILL_TARGETS_TEST_CONFIGS_
#define FANFILL_TARGETS_TEST_CONFIGS_
namespace fanfill::test {

struct Config {
  std::string name;
  internal::FillParams params;
  StreamKey key;
};

inline std::vector<Config> AllConfigs() {
  using fanfill::Distribution;
  const StreamKey key{0x9e3779b97f4a7c15ull, 0x0123456789abcdefull};
  const std::vector<std::pair<std::string, Distribution>> dists = {
      {"uniform01", Distribution::Uniform(0.0, 1.0)},
      {"uniform", Distribution::Uniform(-1.5, 2.5)},
      {"normal01", Distribution::Normal(0.0, 1.0)},
      {"normal", Distribution::Normal(0.25, 3.0)},
      {"trunc", Distribution::TruncatedNormal(0.0, 1.0, -2.0, 2.0)},
      {"trunc_mirrored", Distribution::TruncatedNormal(1.0, 0.5, 0.2, 3.0)},
      {"trunc_tail", Distribution::TruncatedNormal(0.0, 1.0, -4.9, -3.0)},
      // torch's trunc_normal_(std=0.02): bounds at 100 sigma, about 1 lane in
      // 300 in the tail, so the kernels' groups of vectors mix both polynomials.
      {"trunc_wide", Distribution::TruncatedNormal(0.0, 0.02, -2.0, 2.0)},
  };
  std::vector<Config> configs = {{"bits", internal::BitsParams(), key}};
  for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16, DType::kF16, DType::kF8E4M3,
                      DType::kF8E5M2}) {
    for (const auto& [name, dist] : dists) {
      configs.push_back({name + "/" + DTypeName(dtype), internal::MakeFillParams(dtype, dist), key});
    }
  }
  // FP8 with a per-tensor scale (folded into the parameters), and values
  // that reach the top of the E4M3 range and E5M2's subnormals.
  const std::vector<std::pair<std::string, Distribution>> scaled = {
      {"normal_scale", Distribution::Normal(0.001, 0.02).WithScale(0x1.0p-8)},
      {"normal_scale3", Distribution::Normal(-0.5, 2.0).WithScale(3.0)},
      {"normal_wide", Distribution::Normal(0.0, 60.0)},
      {"uniform_scale", Distribution::Uniform(-0.05, 0.05).WithScale(1.0 / 1024)},
      {"uniform_edge", Distribution::Uniform(-448.0, 448.0)},
      {"trunc_scale", Distribution::TruncatedNormal(0.0, 0.02, -0.04, 0.04).WithScale(1.0 / 512)},
  };
  for (DType dtype : {DType::kF8E4M3, DType::kF8E5M2}) {
    for (const auto& [name, dist] : scaled) {
      configs.push_back({name + "/" + DTypeName(dtype), internal::MakeFillParams(dtype, dist), key});
    }
  }
  configs.push_back({"normal_sub/f8e5m2",
                     internal::MakeFillParams(DType::kF8E5M2, Distribution::Normal(0.0, 0x1.0p-13)),
                     key});
  return configs;
}

// (first index, count): misaligned starts and ends, a 2^32 block-word carry,
// and the very end of the index space.
inline std::vector<std::pair<uint64_t, uint64_t>> Ranges() {
  const uint64_t carry = (uint64_t{1} << 32) * 4;  // f32-family element of block 2^32
  return {{0, 4096},         {1, 1001},         {3, 67},   {5, 1},
          {carry - 203, 400}, {carry / 2 - 77, 300}, {~uint64_t{0} - 130, 131}};
}

}  // namespace fanfill::test
#endif

HWY_BEFORE_NAMESPACE();
namespace fanfill {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void TestMatchesReference() {
  for (const test::Config& config : test::AllConfigs()) {
    const size_t size = internal::ElementBytes(config.params);
    for (const auto& [first, count] : test::Ranges()) {
      std::vector<uint8_t> simd(count * size, 0xA5), ref(count * size, 0x5A);
      FillRange(internal::KernelArgs{config.params, config.key}, simd.data(), first, count);
      internal::ReferenceFill(config.params, config.key, ref.data(), first, count);
      if (simd != ref) {
        size_t k = 0;
        while (std::memcmp(&simd[k * size], &ref[k * size], size) == 0) ++k;
        uint64_t a = 0, b = 0;
        std::memcpy(&a, &simd[k * size], size);
        std::memcpy(&b, &ref[k * size], size);
        ADD_FAILURE() << hwy::TargetName(HWY_TARGET) << " " << config.name << ": element "
                      << first + k << " (range first=" << first << " count=" << count
                      << ") is 0x" << std::hex << a << ", reference 0x" << b;
        break;
      }
    }
  }
}

// The same with the exact FMA emulation forced where a target has no FMA
// instruction (SSE4's double path and SCALAR call std::fma when the CPU has
// FMA3, as the CI machines do; this runs the emulated kernels end to end).
void TestMatchesReferenceEmulatedFma() {
  const bool saved = internal::g_hardware_fma;
  internal::g_hardware_fma = false;
  TestMatchesReference();
  internal::g_hardware_fma = saved;
}

// The vector FP8 conversions (ToF8Bits) against the scalar ones (dtype.h) on
// 2^22 float patterns per format: every value of the top 16 bits (sign,
// exponent, the mantissa bits that decide the rounding, hence every exact
// tie) with 64 low halves (0, 1, 0x7FFF, 0x8000, 0xFFFF and pseudo-random
// ones), NaN, infinities and the overflow thresholds included.
template <int kMantBits>
void CheckF8Conversion() {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const size_t n = hn::Lanes(df);
  std::vector<uint32_t> low = {0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF};
  uint32_t x = 0x12345678u;
  while (low.size() < 64) {
    x = x * 1664525u + 1013904223u;
    low.push_back(x >> 16);
  }
  auto in = hwy::AllocateAligned<float>(n);
  auto out = hwy::AllocateAligned<uint32_t>(n);
  std::vector<uint32_t> patterns;
  patterns.reserve(n);
  for (uint32_t hi = 0; hi < 0x10000u; ++hi) {
    for (uint32_t lo : low) {
      patterns.push_back((hi << 16) | lo);
      if (patterns.size() < n) continue;
      for (size_t i = 0; i < n; ++i) std::memcpy(&in[i], &patterns[i], 4);
      hn::Store(ToF8Bits<kMantBits>(df, du, hn::Load(df, in.get())), du, out.get());
      for (size_t i = 0; i < n; ++i) {
        const uint32_t want = internal::FloatToF8Bits<kMantBits>(in[i]);
        if (out[i] != want) {
          ADD_FAILURE() << hwy::TargetName(HWY_TARGET) << " ToF8Bits<" << kMantBits << ">(0x"
                        << std::hex << patterns[i] << ") = 0x" << out[i] << ", scalar 0x" << want;
          return;
        }
      }
      patterns.clear();
    }
  }
}

void TestF8Conversions() {
  CheckF8Conversion<3>();
  CheckF8Conversion<2>();
}

// The narrow stores (StoreQuad: the software bf16 rounding; f16 through F16C
// on AVX2/AVX3, the software rounding elsewhere; FP8 through ToF8Bits'
// fill-range variant) against the scalar conversions of dtype.h on 2^20
// float patterns per format (every value of the top 16 bits with 16 low
// halves: every exact tie, the subnormals of each format), the finite values
// the fills can store: f16 |v| < 65520, f8e4m3 |v| <= 464, f8e5m2
// |v| < 61440 (the fills refuse parameters whose values could go beyond the
// largest finite value; bounds as in ToF8Bits).
template <DType kDType>
void CheckNarrowStore() {
  const hn::ScalableTag<float> df;
  const size_t n = hn::Lanes(df);
  const size_t size = internal::SizeOf(kDType);
  const uint32_t low[16] = {0, 1, 0x0FFF, 0x1000, 0x1001, 0x7FFF, 0x8000, 0x8001,
                            0xEFFF, 0xF000, 0xFFFF, 0x2345, 0x6789, 0xABCD, 0xCDEF, 0x5A5A};
  auto in = hwy::AllocateAligned<float>(4 * n);
  auto out = hwy::AllocateAligned<uint8_t>(4 * n * size);
  auto scalar = [](float v) -> uint32_t {
    switch (kDType) {
      case DType::kF16: return internal::FloatToF16Bits(v);
      case DType::kBF16: return internal::FloatToBF16Bits(v);
      case DType::kF8E4M3: return internal::FloatToF8E4M3Bits(v);
      default: return internal::FloatToF8E5M2Bits(v);
    }
  };
  size_t filled = 0;
  size_t checked = 0;
  auto check = [&] {
    // Element 4j + m of the batch is lane j of vector m.
    HWY_ALIGN float lanes[4][HWY_MAX_BYTES / 4];
    for (size_t i = 0; i < 4 * n; ++i) lanes[i % 4][i / 4] = in[i];
    StoreQuad<kDType>(df, hn::Load(df, lanes[0]), hn::Load(df, lanes[1]), hn::Load(df, lanes[2]),
                      hn::Load(df, lanes[3]), out.get());
    for (size_t i = 0; i < 4 * n; ++i) {
      uint32_t got = 0;
      std::memcpy(&got, out.get() + i * size, size);  // little-endian, as the stores
      const uint32_t want = scalar(in[i]);
      if (got != want) {
        uint32_t bits;
        std::memcpy(&bits, &in[i], 4);
        ADD_FAILURE() << hwy::TargetName(HWY_TARGET) << " " << DTypeName(kDType) << " store of 0x"
                      << std::hex << bits << " = 0x" << got << ", scalar 0x" << want;
        return false;
      }
    }
    checked += 4 * n;
    return true;
  };
  for (uint32_t hi = 0; hi < 0x10000u; ++hi) {
    for (uint32_t lo : low) {
      const uint32_t bits = (hi << 16) | lo;
      float v;
      std::memcpy(&v, &bits, 4);
      const float a = std::fabs(v);
      const bool storable = kDType == DType::kF16      ? a < 65520.0f
                            : kDType == DType::kBF16   ? a < 3.0e38f
                            : kDType == DType::kF8E4M3 ? a <= 464.0f
                                                       : a < 61440.0f;
      if (!storable) continue;  // NaN, infinities, beyond what the fills store
      in[filled++] = v;
      if (filled < 4 * n) continue;
      if (!check()) return;
      filled = 0;
    }
  }
  // The loop reached the range's edges (a count that cannot pass vacuously).
  EXPECT_GT(checked, size_t{1} << 19) << DTypeName(kDType);
}

void TestNarrowStores() {
  CheckNarrowStore<DType::kF16>();
  CheckNarrowStore<DType::kBF16>();
  CheckNarrowStore<DType::kF8E4M3>();
  CheckNarrowStore<DType::kF8E5M2>();
}

// The f64 kernels' unit values ((x >> 11) + kAdd) 2^-53 (BatchF64::Unit53,
// exact arithmetic in place of an int64 conversion on AVX2 and SSE4) at the
// words that end the range or flip bit 11, and at pseudo-random ones.
void TestF64UnitValues() {
  using Batch = BatchF64<Distribution::Kind::kUniform>;
  const Batch batch{{}, {}, {}, {}, internal::BitsParams(), StreamKey{0, 0}};
  const size_t n = hn::Lanes(batch.du);
  std::vector<uint64_t> words = {0,           0x7FF,      0x800,       0xFFF,
                                 0x1000,      0x1800,     ~uint64_t{0}, ~uint64_t{0x7FF},
                                 ~uint64_t{0x800}, uint64_t{1} << 63, (uint64_t{1} << 63) - 1};
  uint64_t x = 0x9e3779b97f4a7c15ull;
  while (words.size() < 4096) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    words.push_back(x);
  }
  auto in = hwy::AllocateAligned<uint64_t>(n);
  auto out0 = hwy::AllocateAligned<double>(n);
  auto out1 = hwy::AllocateAligned<double>(n);
  for (size_t i = 0; i < words.size(); i += n) {
    for (size_t j = 0; j < n; ++j) in[j] = words[(i + j) % words.size()];
    const auto v = hn::Load(batch.du, in.get());
    hn::Store(batch.template Unit53<0>(v), batch.dd, out0.get());
    hn::Store(batch.template Unit53<1>(v), batch.dd, out1.get());
    for (size_t j = 0; j < n; ++j) {
      const double want0 = static_cast<double>(in[j] >> 11) * 0x1.0p-53;
      const double want1 = static_cast<double>((in[j] >> 11) + 1) * 0x1.0p-53;  // exact
      if (std::memcmp(&out0[j], &want0, 8) != 0 || std::memcmp(&out1[j], &want1, 8) != 0) {
        ADD_FAILURE() << hwy::TargetName(HWY_TARGET) << " word 0x" << std::hex << in[j] << ": "
                      << out0[j] << ", " << out1[j] << " instead of " << want0 << ", " << want1;
        return;
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace fanfill
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace fanfill {
class TargetsTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(TargetsTest);
HWY_EXPORT_AND_TEST_P(TargetsTest, TestMatchesReference);
HWY_EXPORT_AND_TEST_P(TargetsTest, TestMatchesReferenceEmulatedFma);
HWY_EXPORT_AND_TEST_P(TargetsTest, TestF8Conversions);
HWY_EXPORT_AND_TEST_P(TargetsTest, TestNarrowStores);
HWY_EXPORT_AND_TEST_P(TargetsTest, TestF64UnitValues);
}  // namespace fanfill
#endif
