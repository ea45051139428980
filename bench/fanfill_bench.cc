// fanfill_bench: throughput of fanfill's fills, each beside a memset of the
// same buffer, so "how far from the store bandwidth" can be read from one run.
//
// Benchmarks (names are <group>/<dtype>/<elements>/threads:<1|all>[/...]):
//   BM_Memset                       memset(buf, 0x3f, bytes): the store-bandwidth
//                                   limit (non-zero byte: zero stores are faster
//                                   on some CPUs and no fill writes zeros)
//   BM_Bits     (u32)               fanfill::FillBits
//   BM_Uniform  (f32 f64 bf16 f16 f8e4m3 f8e5m2)  Uniform(-1, 1)
//   BM_Normal                       Normal(0, 1)
//   BM_TruncNormal                  TruncatedNormal(0, 1, -2, 2)
//   sizes 1M = 2^20 elements (cache-resident), 64M = 2^26 elements (memory);
//   threads:1 = FillOptions::max_threads = 1 (memset: one plain memset),
//   threads:all = max_threads = 0 (memset: tbb::parallel_for over the same
//   256 KiB chunks the library uses), measured in wall-clock time.
//   The grid runs on the best SIMD target (see the "fanfill_target" context).
//
//   BM_NormalScale/f32/.../mean:M/std:S   the fused scale: (0, 1) vs (0.1, 0.02)
//   BM_TruncNormalWide/f32/...      TruncatedNormal(0, 0.02, -2, 2), torch's
//                                   trunc_normal_(std=0.02): bounds at 100 sigma,
//                                   so about 1 lane in 300 takes the inverse
//                                   CDF's tail polynomial (|z| > 2.93)
//   BM_Base_MT19937/f32/...          std::mt19937 + std::normal_distribution<float>
//   BM_Base_R123BoxMuller/f32/...    Random123 scalar Philox4x32 + r123::boxmuller
//   .../target:<T>                   1M single-thread fills on each SIMD target
//                                    that this CPU supports (fanfill::ForceTarget)
//
// --emulate_fma: the SSE4 and SCALAR kernels take the exact FMA emulation
// that CPUs without FMA3 run (src/core/fma_emulation.h) instead of std::fma,
// which is one instruction on this CPU ("fma_path" context).
//
// Counters: bytes_per_second, items_per_second (elements), time_per_elem
// (seconds per element; the console shows e.g. "2.15ns").
// bench/make_table.py turns --benchmark_out=x.json --benchmark_out_format=json
// into a Markdown table with the ratio of each fill to its memset.
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <Random123/boxmuller.hpp>
#include <Random123/philox.h>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "src/core/fma_emulation.h"

namespace {

constexpr unsigned char kMemsetByte = 0x3f;
constexpr uint64_t kSeed = 0x243F6A8885A308D3ull;
constexpr uint64_t kStream = 7;
constexpr fanfill::StreamKey kKey{kSeed, kStream};
// Same task size as the library's parallel fills (src/core/dispatch.cc kChunkBytes).
constexpr size_t kChunkBytes = 256 * 1024;

// One benchmark's buffer: allocated when the benchmark starts, written once
// (so every page is mapped before timing), freed when it ends.
class Buffer {
 public:
  explicit Buffer(size_t bytes) : bytes_(bytes) {
    constexpr size_t kAlign = 4096;
    const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    data_ = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
    if (data_ == nullptr) throw std::bad_alloc();
    std::memset(data_, kMemsetByte, bytes_);
  }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

enum class Threads { kOne, kAll };

struct Size {
  uint64_t elements;
  const char* label;
};
constexpr Size kSizes[] = {{uint64_t{1} << 20, "1M"}, {uint64_t{1} << 26, "64M"}};
constexpr Threads kThreadModes[] = {Threads::kOne, Threads::kAll};

const char* ThreadsLabel(Threads t) { return t == Threads::kOne ? "threads:1" : "threads:all"; }
int MaxThreads(Threads t) { return t == Threads::kOne ? 1 : 0; }

// Small buffers: one untimed call first (first-call dispatch, TBB wake-up,
// cache warm). Large ones are touched by Buffer already, and one more pass
// would cost as much as a measured iteration.
bool WantsWarmup(uint64_t elements) { return elements <= (uint64_t{1} << 20); }

void SetCounters(benchmark::State& state, uint64_t elements, size_t elem_bytes) {
  const int64_t iters = static_cast<int64_t>(state.iterations());
  state.SetItemsProcessed(iters * static_cast<int64_t>(elements));
  state.SetBytesProcessed(iters * static_cast<int64_t>(elements * elem_bytes));
  // elements * iterations / seconds, inverted: seconds per element. In seconds
  // so that the console shows it with an SI prefix ("1.23ns"); JSON has seconds.
  state.counters["time_per_elem"] = benchmark::Counter(
      static_cast<double>(elements),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void MemsetAllThreads(void* p, size_t bytes) {
  auto* b = static_cast<unsigned char*>(p);
  const size_t chunks = (bytes + kChunkBytes - 1) / kChunkBytes;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t c = r.begin(); c != r.end(); ++c) {
      const size_t begin = c * kChunkBytes;
      std::memset(b + begin, kMemsetByte, std::min(kChunkBytes, bytes - begin));
    }
  });
}

void RunMemset(benchmark::State& state, uint64_t elements, size_t elem_bytes, Threads threads) {
  Buffer buf(elements * elem_bytes);
  void* p = buf.data();
  if (threads == Threads::kAll) MemsetAllThreads(p, buf.bytes());  // wake the workers
  for (auto _ : state) {
    benchmark::DoNotOptimize(p);
    if (threads == Threads::kOne) {
      std::memset(p, kMemsetByte, buf.bytes());
    } else {
      MemsetAllThreads(p, buf.bytes());
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, elements, elem_bytes);
}

// Any fanfill call on a buffer; `target` (if non-empty) is forced around the loop.
void RunFill(benchmark::State& state, uint64_t elements, size_t elem_bytes, const std::string& target,
             const std::function<void(void*, uint64_t)>& fill) {
  Buffer buf(elements * elem_bytes);
  void* p = buf.data();
  try {
    if (!target.empty()) fanfill::ForceTarget(target);
    if (WantsWarmup(elements)) fill(p, elements);
    for (auto _ : state) {
      fill(p, elements);
      benchmark::ClobberMemory();
    }
  } catch (const std::exception& e) {
    if (!target.empty()) fanfill::ForceTarget("auto");
    state.SkipWithError(e.what());
    return;
  }
  if (!target.empty()) fanfill::ForceTarget("auto");
  SetCounters(state, elements, elem_bytes);
}

struct DTypeInfo {
  fanfill::DType dtype;
  const char* name;
};
constexpr DTypeInfo kDTypes[] = {{fanfill::DType::kF32, "f32"},
                                 {fanfill::DType::kF64, "f64"},
                                 {fanfill::DType::kBF16, "bf16"},
                                 {fanfill::DType::kF16, "f16"},
                                 {fanfill::DType::kF8E4M3, "f8e4m3"},
                                 {fanfill::DType::kF8E5M2, "f8e5m2"}};

struct DistInfo {
  const char* group;
  fanfill::Distribution dist;
};
const DistInfo kDists[] = {
    {"BM_Uniform", fanfill::Distribution::Uniform(-1.0, 1.0)},
    {"BM_Normal", fanfill::Distribution::Normal(0.0, 1.0)},
    {"BM_TruncNormal", fanfill::Distribution::TruncatedNormal(0.0, 1.0, -2.0, 2.0)},
};

// torch's trunc_normal_(std=0.02) (a = -2, b = 2 are absolute): the usual
// transformer init, whose wide bounds send some lanes to the tail polynomial.
const DistInfo kTruncWide = {"BM_TruncNormalWide",
                             fanfill::Distribution::TruncatedNormal(0.0, 0.02, -2.0, 2.0)};

benchmark::internal::Benchmark* Configure(benchmark::internal::Benchmark* b, uint64_t elements,
                                          Threads threads) {
  b->Unit(elements > (uint64_t{1} << 20) ? benchmark::kMillisecond : benchmark::kMicrosecond);
  if (threads == Threads::kAll) b->UseRealTime();
  return b;
}

std::string Name(const std::string& group, const std::string& dtype, const Size& size, Threads t) {
  return group + "/" + dtype + "/" + size.label + "/" + ThreadsLabel(t);
}

void RegisterFill(const std::string& name, const Size& size, Threads threads, size_t elem_bytes,
                  const std::string& target, std::function<void(void*, uint64_t)> fill) {
  const uint64_t n = size.elements;
  Configure(benchmark::RegisterBenchmark(
                name.c_str(),
                [=](benchmark::State& st) { RunFill(st, n, elem_bytes, target, fill); }),
            n, threads);
}

std::function<void(void*, uint64_t)> DistFill(fanfill::DType dtype, fanfill::Distribution dist,
                                              Threads threads) {
  const fanfill::FillOptions opt{.first_index = 0, .max_threads = MaxThreads(threads)};
  return [=](void* p, uint64_t n) { fanfill::Fill(p, dtype, n, dist, kKey, opt); };
}

std::function<void(void*, uint64_t)> BitsFill(Threads threads) {
  const fanfill::FillOptions opt{.first_index = 0, .max_threads = MaxThreads(threads)};
  return [=](void* p, uint64_t n) { fanfill::FillBits(static_cast<uint32_t*>(p), n, kKey, opt); };
}

// The main grid: for each size, thread mode and dtype, the memset first and
// then every distribution on the same-sized buffer.
void RegisterGrid() {
  for (const Size& size : kSizes) {
    for (Threads t : kThreadModes) {
      for (const DTypeInfo& d : kDTypes) {
        const size_t eb = fanfill::DTypeSize(d.dtype);
        const uint64_t n = size.elements;
        Configure(benchmark::RegisterBenchmark(
                      Name("BM_Memset", d.name, size, t).c_str(),
                      [=](benchmark::State& st) { RunMemset(st, n, eb, t); }),
                  n, t);
        if (d.dtype == fanfill::DType::kF32) {
          RegisterFill(Name("BM_Bits", "u32", size, t), size, t, 4, "", BitsFill(t));
        }
        for (const DistInfo& di : kDists) {
          RegisterFill(Name(di.group, d.name, size, t), size, t, eb, "",
                       DistFill(d.dtype, di.dist, t));
        }
      }
    }
  }
}

// The fused scale: mean + stddev * z is one FMA, so (0.1, 0.02) should cost
// the same as (0, 1).
void RegisterScalePair() {
  for (const Size& size : kSizes) {
    for (auto [mean, stddev, label] : {std::tuple{0.0, 1.0, "mean:0/std:1"},
                                    std::tuple{0.1, 0.02, "mean:0.1/std:0.02"}}) {
      RegisterFill(Name("BM_NormalScale", "f32", size, Threads::kOne) + "/" + label, size,
                   Threads::kOne, 4, "",
                   DistFill(fanfill::DType::kF32, fanfill::Distribution::Normal(mean, stddev),
                            Threads::kOne));
    }
  }
}

void RegisterTruncWide() {
  for (const Size& size : kSizes) {
    RegisterFill(Name(kTruncWide.group, "f32", size, Threads::kOne), size, Threads::kOne, 4, "",
                 DistFill(fanfill::DType::kF32, kTruncWide.dist, Threads::kOne));
  }
}

void RunMt19937(benchmark::State& state, uint64_t elements) {
  Buffer buf(elements * sizeof(float));
  auto* out = static_cast<float*>(buf.data());
  std::mt19937 gen(static_cast<uint32_t>(kSeed));
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (auto _ : state) {
    for (uint64_t i = 0; i < elements; ++i) out[i] = dist(gen);
    benchmark::ClobberMemory();
  }
  SetCounters(state, elements, sizeof(float));
}

void RunR123BoxMuller(benchmark::State& state, uint64_t elements) {
  Buffer buf(elements * sizeof(float));
  auto* out = static_cast<float*>(buf.data());
  r123::Philox4x32 philox;
  const r123::Philox4x32::key_type key = {
      {static_cast<uint32_t>(kSeed), static_cast<uint32_t>(kSeed >> 32)}};
  for (auto _ : state) {
    const uint64_t blocks = elements / 4;  // elements is a multiple of 4 here
    for (uint64_t b = 0; b < blocks; ++b) {
      const r123::Philox4x32::ctr_type ctr = {
          {static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32),
           static_cast<uint32_t>(kStream), static_cast<uint32_t>(kStream >> 32)}};
      const r123::Philox4x32::ctr_type w = philox(ctr, key);
      const r123::float2 z0 = r123::boxmuller(w.v[0], w.v[1]);
      const r123::float2 z1 = r123::boxmuller(w.v[2], w.v[3]);
      float* o = out + 4 * b;
      o[0] = z0.x;
      o[1] = z0.y;
      o[2] = z1.x;
      o[3] = z1.y;
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, elements, sizeof(float));
}

void RegisterBaselines() {
  for (const Size& size : kSizes) {
    const uint64_t n = size.elements;
    Configure(benchmark::RegisterBenchmark(Name("BM_Base_MT19937", "f32", size, Threads::kOne).c_str(),
                                           [=](benchmark::State& st) { RunMt19937(st, n); }),
              n, Threads::kOne);
    Configure(
        benchmark::RegisterBenchmark(Name("BM_Base_R123BoxMuller", "f32", size, Threads::kOne).c_str(),
                                     [=](benchmark::State& st) { RunR123BoxMuller(st, n); }),
        n, Threads::kOne);
  }
}

// 1M single-thread f32 fills on every SIMD target this CPU runs.
void RegisterPerTarget(const std::vector<std::string>& targets) {
  const Size& size = kSizes[0];
  const Threads t = Threads::kOne;
  for (const std::string& target : targets) {
    const std::string suffix = "/target:" + target;
    RegisterFill(Name("BM_Bits", "u32", size, t) + suffix, size, t, 4, target, BitsFill(t));
    for (const DistInfo& di : kDists) {
      RegisterFill(Name(di.group, "f32", size, t) + suffix, size, t, 4, target,
                   DistFill(fanfill::DType::kF32, di.dist, t));
    }
    RegisterFill(Name(kTruncWide.group, "f32", size, t) + suffix, size, t, 4, target,
                 DistFill(fanfill::DType::kF32, kTruncWide.dist, t));
    RegisterFill(Name("BM_Normal", "f8e4m3", size, t) + suffix, size, t, 1, target,
                 DistFill(fanfill::DType::kF8E4M3, kDists[1].dist, t));
    // The per-dtype ratios of issue #13 on every target (f32 normal is above).
    RegisterFill(Name("BM_Normal", "bf16", size, t) + suffix, size, t, 2, target,
                 DistFill(fanfill::DType::kBF16, kDists[1].dist, t));
    RegisterFill(Name("BM_Normal", "f16", size, t) + suffix, size, t, 2, target,
                 DistFill(fanfill::DType::kF16, kDists[1].dist, t));
    for (const DistInfo& di : kDists) {
      RegisterFill(Name(di.group, "f64", size, t) + suffix, size, t, 8, target,
                   DistFill(fanfill::DType::kF64, di.dist, t));
    }
  }
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--emulate_fma") == 0) {
      fanfill::internal::g_hardware_fma = false;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  // Query before anything forces a target (SupportedTargets() follows ForceTarget).
  fanfill::ForceTarget("auto");
  const std::vector<std::string> targets = fanfill::SupportedTargets();
  benchmark::AddCustomContext("fanfill_version", fanfill::Version());
  benchmark::AddCustomContext("fanfill_target", fanfill::ActiveTarget());
  benchmark::AddCustomContext("fanfill_supported_targets", Join(targets));
  benchmark::AddCustomContext("fanfill_compiled_targets", Join(fanfill::CompiledTargets()));
  benchmark::AddCustomContext("tbb_max_concurrency",
                              std::to_string(tbb::this_task_arena::max_concurrency()));
  benchmark::AddCustomContext("hardware_concurrency",
                              std::to_string(std::thread::hardware_concurrency()));
  benchmark::AddCustomContext("memset_byte", "0x3f");
  benchmark::AddCustomContext("fma_path", fanfill::internal::HardwareFma()
                                              ? "std::fma (hardware FMA)"
                                              : "emulated (SSE4, SCALAR)");

  RegisterGrid();
  RegisterScalePair();
  RegisterTruncWide();
  RegisterBaselines();
  RegisterPerTarget(targets);

  {
    // Start the TBB workers and resolve the dynamic dispatch before timing.
    std::vector<float> warm(uint64_t{1} << 20);
    fanfill::Fill(warm.data(), fanfill::DType::kF32, warm.size(),
                  fanfill::Distribution::Normal(0.0, 1.0), kKey, {});
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
