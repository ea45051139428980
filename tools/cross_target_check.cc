// Cross-architecture check: one statically chosen SIMD target (whatever the
// compiler flags enable: NEON, SVE, AVX-512, ...) against the scalar reference,
// bit for bit, without oneTBB or libhwy (so it can be cross-compiled and run
// under qemu-user). Exit status 0 when every configuration matches.
//
//   aarch64-linux-gnu-g++ -std=c++20 -O2 -ffp-contract=off -march=armv8.2-a+sve \
//     -DHWY_COMPILE_ONLY_STATIC -I. -Iinclude -Isrc tools/cross_target_check.cc \
//     src/reference.cc -static -o check-sve && qemu-aarch64-static -cpu max check-sve
#include <cstdio>
#include <cstring>
#include <vector>

#include "src/fill_params.h"
#include "src/kernels-inl.h"
#include "src/reference.h"

namespace {

using fanfill::internal::FillParams;
using fanfill::internal::Kind;
using fanfill::internal::Storage;

// Parameters written out by hand (MakeFillParams lives with oneTBB in fill.cc).
std::vector<FillParams> Configs() {
  std::vector<FillParams> configs;
  for (Storage s : {Storage::k32, Storage::k64, Storage::kBF16, Storage::kF16}) {
    for (Kind k : {Kind::kBits, Kind::kUniform, Kind::kNormal, Kind::kTruncatedNormal}) {
      if (k == Kind::kBits && s != Storage::k32) continue;
      FillParams p;
      p.kind = k;
      p.storage = s;
      p.seed = 0x9e3779b97f4a7c15ull;
      p.stream = 0x0123456789abcdefull;
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
    const size_t size = fanfill::internal::StorageBytes(p.storage);
    for (const auto& [first, count] : ranges) {
      std::vector<unsigned char> simd(count * size, 0xA5), ref(count * size, 0x5A);
      target::FillRange(p, simd.data(), first, count);
      fanfill::internal::ReferenceFill(p, ref.data(), first, count);
      if (simd != ref) {
        ++failures;
        std::printf("MISMATCH kind=%d storage=%d first=%llu\n", static_cast<int>(p.kind),
                    static_cast<int>(p.storage), static_cast<unsigned long long>(first));
      }
    }
  }
  std::printf("%s (%zu lanes of f32): %s\n", hwy::TargetName(HWY_TARGET),
              hwy::HWY_NAMESPACE::Lanes(hwy::HWY_NAMESPACE::ScalableTag<float>()),
              failures ? "MISMATCHES" : "all configurations bit-identical to the scalar reference");
  return failures ? 1 : 0;
}
