// fanfill_scaling_bench: how the f32 normal fill scales with threads, each
// thread count beside a memset of the same buffer on the same threads.
//
// Benchmarks: BM_Scaling/<op>/<size>/threads:<n>, measured in wall-clock time
//   op    normal  fanfill::Fill(f32, Normal(0, 1)), FillOptions::max_threads = 0
//                 inside a tbb::task_arena of n threads (one arena per
//                 benchmark, so no arena is built per call)
//         memset  memset(0x3f) of the same buffer, tbb::parallel_for over the
//                 library's 256 KiB tasks in the same arena (non-zero byte:
//                 zero stores are faster on some CPUs, and fills are not zeros)
//   size  cache   256 KiB per thread (n * 64 Ki floats): weak scaling, each
//                 thread's share stays in its core's L2 on common CPUs, so
//                 this measures the compute scaling
//         memory  256 MiB (64 Mi floats) for every n: strong scaling, bound
//                 by the memory store bandwidth at some n
//   n     1, 2, 4, 8, ... up to N = std::thread::hardware_concurrency(), and N
//         itself when it is not a power of two. --threads_max=M caps N.
// Counters: time_per_elem (seconds per element, mean over the iterations; ns
// on the console), best_time_per_elem (seconds per element of the fastest
// single iteration: on a machine shared with other jobs, the least disturbed
// one) and threads. bench/scaling_table.py turns the JSON output into a Markdown table
// with parallel efficiency E(n) = t(1) / (n * t(n)), t = time per element
// (for the weak-scaling rows this is the throughput efficiency too), and the
// fill's time relative to memset at the same size and n.
//
// The buffer is allocated when a benchmark starts and first touched by all n
// threads (memset in the arena), so that on a NUMA machine its pages are
// spread over the nodes of the threads that write them (first touch); oneTBB
// does not pin tasks, so the spread is approximate.
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fanfill/fanfill.hpp"

namespace {

constexpr unsigned char kMemsetByte = 0x3f;
constexpr fanfill::StreamKey kKey{0x243F6A8885A308D3ull, 11};
constexpr size_t kTaskBytes = 256 * 1024;  // the library's parallel task size (src/core/dispatch.cc)
constexpr uint64_t kCachePerThread = kTaskBytes / sizeof(float);
constexpr uint64_t kMemoryElements = (uint64_t{256} << 20) / sizeof(float);

enum class Op { kNormal, kMemset };
enum class SizeKind { kCache, kMemory };

void ParallelMemset(void* p, size_t bytes) {
  auto* b = static_cast<unsigned char*>(p);
  const size_t tasks = (bytes + kTaskBytes - 1) / kTaskBytes;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, tasks, 1),
                    [&](const tbb::blocked_range<size_t>& r) {
                      for (size_t t = r.begin(); t != r.end(); ++t) {
                        const size_t begin = t * kTaskBytes;
                        std::memset(b + begin, kMemsetByte, std::min(kTaskBytes, bytes - begin));
                      }
                    });
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

void Run(benchmark::State& state, Op op, SizeKind size, int threads) {
  const uint64_t elements = size == SizeKind::kCache
                                ? kCachePerThread * static_cast<uint64_t>(threads)
                                : kMemoryElements;
  const size_t bytes = elements * sizeof(float);
  std::unique_ptr<void, AlignedFree> buffer(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096));
  if (!buffer) throw std::bad_alloc();
  void* p = buffer.get();
  tbb::task_arena arena(threads);
  auto once = [&] {
    if (op == Op::kMemset) {
      ParallelMemset(p, bytes);
    } else {
      fanfill::Fill(p, fanfill::DType::kF32, elements, fanfill::Distribution::Normal(0, 1), kKey,
                    {.first_index = 0, .max_threads = 0});
    }
  };
  // First touch by the arena's threads, then one untimed call of the op
  // (dispatch resolved, workers awake, caches warm for the cache size).
  arena.execute([&] { ParallelMemset(p, bytes); });
  arena.execute(once);
  double best = std::numeric_limits<double>::infinity();
  for (auto _ : state) {
    benchmark::DoNotOptimize(p);
    const auto t0 = std::chrono::steady_clock::now();
    arena.execute(once);
    benchmark::ClobberMemory();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const int64_t iters = static_cast<int64_t>(state.iterations());
  state.SetItemsProcessed(iters * static_cast<int64_t>(elements));
  state.SetBytesProcessed(iters * static_cast<int64_t>(bytes));
  state.counters["time_per_elem"] = benchmark::Counter(
      static_cast<double>(elements),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  // The fastest single iteration: on a machine shared with other jobs, the
  // one least disturbed by them.
  state.counters["best_time_per_elem"] = best / static_cast<double>(elements);
  state.counters["threads"] = threads;
}

std::vector<int> ThreadCounts(int max_threads) {
  std::vector<int> counts;
  for (int n = 1; n <= max_threads; n *= 2) counts.push_back(n);
  if (counts.back() != max_threads) counts.push_back(max_threads);
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  // --threads_max=M (ours; removed before Google Benchmark parses the rest).
  int max_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("--threads_max=")) {
      max_threads = std::max(1, std::atoi(argv[i] + 14));
    } else {
      args.push_back(argv[i]);
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  benchmark::AddCustomContext("fanfill_version", fanfill::Version());
  benchmark::AddCustomContext("fanfill_target", fanfill::ActiveTarget());
  benchmark::AddCustomContext("hardware_concurrency",
                              std::to_string(std::thread::hardware_concurrency()));
  benchmark::AddCustomContext("threads_max", std::to_string(max_threads));

  for (SizeKind size : {SizeKind::kCache, SizeKind::kMemory}) {
    for (int n : ThreadCounts(max_threads)) {
      for (Op op : {Op::kMemset, Op::kNormal}) {
        const std::string name = std::string("BM_Scaling/") +
                                 (op == Op::kNormal ? "normal" : "memset") + "/" +
                                 (size == SizeKind::kCache ? "cache" : "memory") +
                                 "/threads:" + std::to_string(n);
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
          Run(st, op, size, n);
        })->UseRealTime()->Unit(benchmark::kMillisecond);
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
