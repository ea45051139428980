// fanfill_buffer_bench: filling FRESH memory (page faults included) versus
// touched memory. A 256 MiB f32 normal tensor (64 Mi elements) on all cores:
//   AllocateAndFill   fanfill::AllocateAndFill (mmap, 2 MiB aligned,
//                     MADV_HUGEPAGE, the fill is the first touch), then freed
//   FillTouched       Fill into a buffer touched before the timing loop
//   NewFill           new float[n] + Fill + delete[] (glibc mmaps 4 KiB pages)
//   MemsetFresh       mmap + memset + munmap, 4 KiB pages (no madvise)
//   MemsetFreshHuge   mmap + madvise(MADV_HUGEPAGE) + memset + munmap
// Counter time_per_elem: wall time per element, e.g. "0.45ns" (real time).
// The memsets are single-threaded (as libc's memset is).
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fanfill/buffer.hpp"
#include "fanfill/fanfill.hpp"

namespace {

constexpr uint64_t kCount = uint64_t{64} << 20;  // 256 MiB of f32
const fanfill::Distribution kDist = fanfill::Distribution::Normal(0, 0.02);
constexpr fanfill::StreamKey kKey{.seed = 42, .stream = 7};

void SetCounters(benchmark::State& state) {
  // Inverted rate: seconds per element, printed with an SI prefix ("1.2ns").
  state.counters["time_per_elem"] = benchmark::Counter(
      static_cast<double>(kCount),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_AllocateAndFill(benchmark::State& state) {
  for (auto _ : state) {
    fanfill::Buffer b = fanfill::AllocateAndFill(fanfill::DType::kF32, kCount, kDist, kKey);
    benchmark::DoNotOptimize(b.data());
  }
  SetCounters(state);
}

void BM_FillTouched(benchmark::State& state) {
  std::vector<float> v(kCount, 1.0f);
  for (auto _ : state) {
    fanfill::Fill(std::span<float>(v), kDist, kKey);
    benchmark::DoNotOptimize(v.data());
  }
  SetCounters(state);
}

void BM_NewFill(benchmark::State& state) {
  for (auto _ : state) {
    std::unique_ptr<float[]> p(new float[kCount]);
    fanfill::Fill(std::span<float>(p.get(), kCount), kDist, kKey);
    benchmark::DoNotOptimize(p.get());
  }
  SetCounters(state);
}

void MemsetFresh(benchmark::State& state, bool huge) {
  const size_t bytes = kCount * sizeof(float);
  for (auto _ : state) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      state.SkipWithError("mmap failed");
      return;
    }
#ifdef MADV_HUGEPAGE
    if (huge) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    std::memset(p, 0x3c, bytes);
    benchmark::DoNotOptimize(p);
    benchmark::ClobberMemory();
    munmap(p, bytes);
  }
  SetCounters(state);
}
void BM_MemsetFresh(benchmark::State& state) { MemsetFresh(state, false); }
void BM_MemsetFreshHuge(benchmark::State& state) { MemsetFresh(state, true); }

BENCHMARK(BM_AllocateAndFill)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FillTouched)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_NewFill)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MemsetFresh)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MemsetFreshHuge)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  std::string thp = "unknown";
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  if (f) std::getline(f, thp);
  benchmark::AddCustomContext("transparent_hugepage", thp);
  benchmark::AddCustomContext("simd_target", fanfill::ActiveTarget());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
