// fanfill_stages_bench: where the cycles of an f32 normal fill go, per SIMD
// target. Each row runs the kernel's own building blocks (philox-inl.h,
// transforms-inl.h, fill-inl.h's batch shape: kPhiloxVectors vectors of
// Philox blocks at a time) cumulatively over a cache-resident 64 Ki-element
// (256 KiB) output, so that the difference of two rows is one stage:
//   BM_Stage/philox     Philox4x32-10 words, stored interleaved (the raw bits)
//   BM_Stage/+log       + -2 ln u of both radius words (angles stored as words)
//   BM_Stage/+sqrt      + sqrt of the radii
//   BM_Stage/+sincos    + cos/sin of both angles, times the radius
//   BM_Stage/+fma       + the fused scale (mean + std z): the whole f32 normal
//   BM_Stage/no_store   the whole normal, xor-folded into registers, not stored
//   BM_Stage/library    fanfill::Fill f32 normal (the real kernel, same size)
// Rows are BM_Stage/<stage>/target:<T> for T in AVX3, AVX2, SSE4, SCALAR
// where this CPU runs them (fanfill::ForceTarget). Counters as fanfill_bench:
// time_per_elem and items_per_second (elements).
#include <cstddef>
#include <cstdint>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/stages_bench.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/core/fill-inl.h"

HWY_BEFORE_NAMESPACE();
namespace fanfill {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Stage s of the f32 normal over `count` elements (a multiple of one batch).
template <int kStage>
HWY_NOINLINE void StageT(float* out, uint64_t count, uint32_t* sink) {
  using DF = hn::ScalableTag<float>;
  using DU = hn::RebindToUnsigned<DF>;
  const DF df;
  const DU du;
  const size_t n = hn::Lanes(du);
  const uint64_t per_batch = 4 * kPhiloxVectors * n;
  auto fold = hn::Zero(du);
#if !HWY_HAVE_SCALABLE
  const RoundKeyVectors<DU> keys(du, 42);  // the library's keys (BatchF32)
#endif
  for (uint64_t e = 0; e < count; e += per_batch) {
    VecOf<DU> w0[kPhiloxVectors], w1[kPhiloxVectors], w2[kPhiloxVectors], w3[kPhiloxVectors];
#if HWY_HAVE_SCALABLE
    PhiloxBlocks(du, 42, 7, e / 4, w0[0], w1[0], w2[0], w3[0]);
#elif HWY_TARGET == HWY_SCALAR
    PhiloxBlocks(du, keys, 7, e / 4, w0[0], w1[0], w2[0], w3[0]);
#else
    PhiloxBlocksInterleaved(du, keys, 7, e / 4, w0, w1, w2, w3);
#endif
    for (size_t k = 0; k < kPhiloxVectors; ++k) {
      float* dst = out + e + 4 * n * k;
      if constexpr (kStage == 0) {
        hn::StoreInterleaved4(w0[k], w1[k], w2[k], w3[k], du, reinterpret_cast<uint32_t*>(dst));
        continue;
      } else {
        auto r01 = MinusTwoLogRadius(df, du, w0[k]);
        auto r23 = MinusTwoLogRadius(df, du, w2[k]);
        if constexpr (kStage == 1) {
          hn::StoreInterleaved4(r01, hn::BitCast(df, w1[k]), r23, hn::BitCast(df, w3[k]), df, dst);
          continue;
        } else {
          r01 = hn::Sqrt(r01);
          r23 = hn::Sqrt(r23);
          if constexpr (kStage == 2) {
            hn::StoreInterleaved4(r01, hn::BitCast(df, w1[k]), r23, hn::BitCast(df, w3[k]), df,
                                  dst);
            continue;
          } else {
            VecOf<DF> c01, s01, c23, s23;
            SinCosAngleF32(df, du, w1[k], c01, s01);
            SinCosAngleF32(df, du, w3[k], c23, s23);
            auto v0 = hn::Mul(r01, c01), v1 = hn::Mul(r01, s01);
            auto v2 = hn::Mul(r23, c23), v3 = hn::Mul(r23, s23);
            if constexpr (kStage >= 4) {
              const auto scale = hn::Set(df, 0.02f), offset = hn::Set(df, 0.1f);
              v0 = Fma(df, v0, scale, offset);
              v1 = Fma(df, v1, scale, offset);
              v2 = Fma(df, v2, scale, offset);
              v3 = Fma(df, v3, scale, offset);
            }
            if constexpr (kStage == 5) {
              fold = hn::Xor(fold, hn::Xor(hn::Xor(hn::BitCast(du, v0), hn::BitCast(du, v1)),
                                           hn::Xor(hn::BitCast(du, v2), hn::BitCast(du, v3))));
            } else {
              hn::StoreInterleaved4(v0, v1, v2, v3, df, dst);
            }
          }
        }
      }
    }
  }
  *sink ^= hn::GetLane(fold);
}

void Stage(int stage, float* out, uint64_t count, uint32_t* sink) {
  switch (stage) {
    case 0: return StageT<0>(out, count, sink);
    case 1: return StageT<1>(out, count, sink);
    case 2: return StageT<2>(out, count, sink);
    case 3: return StageT<3>(out, count, sink);
    case 4: return StageT<4>(out, count, sink);
    default: return StageT<5>(out, count, sink);
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace fanfill
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"

namespace fanfill {
HWY_EXPORT(Stage);
void RunStage(int stage, float* out, uint64_t count, uint32_t* sink) {
  HWY_DYNAMIC_DISPATCH(Stage)(stage, out, count, sink);
}
}  // namespace fanfill

namespace {

constexpr uint64_t kElements = uint64_t{1} << 16;
const char* const kStages[] = {"philox", "+log", "+sqrt", "+sincos", "+fma", "no_store"};

void Run(benchmark::State& state, int stage, const std::string& target) {
  std::vector<float> out(kElements);
  uint32_t sink = 0;
  fanfill::ForceTarget(target);
  for (auto _ : state) {
    if (stage < 6) {
      fanfill::RunStage(stage, out.data(), kElements, &sink);
    } else {
      fanfill::Fill(out.data(), fanfill::DType::kF32, kElements,
                    fanfill::Distribution::Normal(0.1, 0.02), {42, 7}, {0, 1});
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  fanfill::ForceTarget("auto");
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kElements));
  state.counters["time_per_elem"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kElements),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fanfill::ForceTarget("auto");
  for (const std::string& target : fanfill::SupportedTargets()) {
    if (target != "AVX3" && target != "AVX2" && target != "SSE4" && target != "SCALAR") continue;
    for (int s = 0; s < 7; ++s) {
      const std::string name =
          std::string("BM_Stage/") + (s < 6 ? kStages[s] : "library") + "/target:" + target;
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) { Run(st, s, target); })
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
#endif  // HWY_ONCE
