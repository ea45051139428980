// Cross-architecture check: one statically chosen SIMD target (whatever the
// compiler flags enable: NEON, SVE, AVX-512, ...) against the scalar reference,
// bit for bit, without oneTBB or libhwy (so it can be cross-compiled and run
// under qemu-user). Exit status 0 when every configuration matches.
//
//   aarch64-linux-gnu-g++ -std=c++20 -O2 -ffp-contract=off -march=armv8.2-a+sve \
//     -DHWY_COMPILE_ONLY_STATIC -I. -Iinclude tools/cross_target_check.cc \
//     src/core/reference.cc -static -o check-sve && qemu-aarch64-static -cpu max check-sve
#include <cstdio>
#include <cstring>
#include <vector>

#include "src/core/fill-inl.h"
#include "src/core/fill_params.h"
#include "src/core/reference.h"

namespace {

using fanfill::DType;
using fanfill::internal::FillParams;
using Kind = fanfill::Distribution::Kind;

constexpr fanfill::StreamKey kKey{0x9e3779b97f4a7c15ull, 0x0123456789abcdefull};

// Parameters written out by hand (MakeFillParams lives in the library, which
// this check does not link).
std::vector<FillParams> Configs() {
  std::vector<FillParams> configs = {fanfill::internal::BitsParams()};
  for (DType s : {DType::kF32, DType::kF64, DType::kBF16, DType::kF16, DType::kF8E4M3,
                  DType::kF8E5M2}) {
    for (Kind k : {Kind::kUniform, Kind::kNormal, Kind::kTruncatedNormal}) {
      FillParams p;
      p.kind = k;
      p.dtype = s;
      p.d_scale = k == Kind::kUniform ? 4.0 : 0.5;
      p.d_offset = k == Kind::kUniform ? -1.5 : 0.25;
      p.d_lo = k == Kind::kUniform ? -1.5 : -0.75;
      p.d_hi = k == Kind::kUniform ? 2.49609375 : 1.25;
      // Truncated N(0, 1) on [-2, 2]: Phi(-2), Phi(2) - Phi(-2), Phi(2).
      p.d_pa = 0.022750131948179195;
      p.d_pspan = 0.9544997361036416;
      p.d_qa = 0.9772498680518208;
      fanfill::internal::DeriveFloatParams(p);
      configs.push_back(p);
    }
  }
  return configs;
}

}  // namespace

int main() {
  namespace target = fanfill::HWY_NAMESPACE;
  int failures = 0;
  const uint64_t carry = (uint64_t{1} << 32) * 4;
  const std::pair<uint64_t, uint64_t> ranges[] = {
      {0, 5000}, {3, 1001}, {carry - 203, 400}, {~uint64_t{0} - 130, 131}};
  for (const FillParams& p : Configs()) {
    const size_t size = fanfill::internal::ElementBytes(p);
    for (const auto& [first, count] : ranges) {
      std::vector<unsigned char> simd(count * size, 0xA5), ref(count * size, 0x5A);
      target::FillRange(fanfill::internal::KernelArgs{p, kKey}, simd.data(), first, count);
      fanfill::internal::ReferenceFill(p, kKey, ref.data(), first, count);
      if (simd != ref) {
        ++failures;
        std::printf("MISMATCH bits=%d kind=%d dtype=%d first=%llu\n", p.bits ? 1 : 0,
                    static_cast<int>(p.kind), static_cast<int>(p.dtype),
                    static_cast<unsigned long long>(first));
      }
    }
  }
  std::printf("%s (%zu lanes of f32): %s\n", hwy::TargetName(HWY_TARGET),
              hwy::HWY_NAMESPACE::Lanes(hwy::HWY_NAMESPACE::ScalableTag<float>()),
              failures ? "MISMATCHES" : "all configurations bit-identical to the scalar reference");
  return failures ? 1 : 0;
}
