#include "tools/fanfill_cli/bench.h"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "fanfill/fanfill.hpp"

namespace fanfill::cli {
namespace {

constexpr unsigned char kMemsetByte = 0x3f;  // not 0: the kernel cannot map zero pages
constexpr size_t kMemsetChunk = size_t{1} << 20;

double BestSeconds(int reps, const std::function<void()>& run) {
  run();
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

void Memset(std::byte* p, size_t bytes, bool all_threads) {
  if (!all_threads) {
    std::memset(p, kMemsetByte, bytes);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<size_t>(0, (bytes + kMemsetChunk - 1) / kMemsetChunk),
                    [&](const tbb::blocked_range<size_t>& r) {
                      for (size_t c = r.begin(); c != r.end(); ++c) {
                        const size_t begin = c * kMemsetChunk;
                        std::memset(p + begin, kMemsetByte, std::min(kMemsetChunk, bytes - begin));
                      }
                    });
}

// The threads an "all threads" fill gets: the arena's, capped by
// tbb::global_control (--threads), as the fills' max_threads = 0 is.
int ThreadsInForce() {
  const size_t allowed =
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
  return static_cast<int>(
      std::min<size_t>(allowed, static_cast<size_t>(tbb::this_task_arena::max_concurrency())));
}

// The f64 buffer every figure reuses: refused with the reason when its size
// overflows, exceeds this machine's memory (memset touches every byte) or
// cannot be allocated.
std::unique_ptr<std::byte[]> BenchBuffer(uint64_t elements) {
  const size_t element = DTypeSize(DType::kF64);
  const std::string what = "bench --size " + std::to_string(elements) + ": ";
  if (elements > std::numeric_limits<size_t>::max() / element) {
    throw std::invalid_argument(what + "the buffer of " + std::to_string(elements) + " f64 "
                                "elements would be more than 2^64 bytes");
  }
  const size_t bytes = elements * element;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0 && bytes / static_cast<size_t>(page) > static_cast<size_t>(pages)) {
    throw std::invalid_argument(what + "the f64 buffer of " + std::to_string(bytes) +
                                " bytes is more than this machine's memory (" +
                                std::to_string(static_cast<size_t>(pages) * page) + " bytes)");
  }
  std::unique_ptr<std::byte[]> buffer(new (std::nothrow) std::byte[bytes]);
  if (!buffer) {
    throw std::runtime_error(what + "cannot allocate the f64 buffer of " + std::to_string(bytes) +
                             " bytes");
  }
  return buffer;
}

}  // namespace

void RunBench(uint64_t elements, int reps, std::ostream& out) {
  if (elements == 0 || reps < 1)
    throw std::invalid_argument("bench needs --size >= 1, --reps >= 1");
  const DType dtypes[] = {DType::kF32, DType::kF64, DType::kBF16, DType::kF16};
  struct Named {
    const char* name;
    Distribution dist;
  };
  const Named dists[] = {{"uniform", Distribution::Uniform(-1, 1)},
                         {"normal", Distribution::Normal(0, 1)},
                         {"truncated_normal", Distribution::TruncatedNormal(0, 1, -2, 2)}};
  const int all = ThreadsInForce();
  const std::unique_ptr<std::byte[]> buffer = BenchBuffer(elements);

  char line[160];
  out << "fanfill " << Version() << ", SIMD target " << ActiveTarget() << ", " << elements
      << " elements per fill, best of " << reps << "; all = " << all << " threads\n\n";
  out << "| distribution     | dtype | threads | GB/s     | memset GB/s | fill / memset |\n"
         "|------------------|-------|---------|----------|-------------|---------------|\n";
  for (const DType dtype : dtypes) {
    const size_t bytes = elements * DTypeSize(dtype);
    for (const bool all_threads : {false, true}) {
      const double memset_s = BestSeconds(reps, [&] { Memset(buffer.get(), bytes, all_threads); });
      const double memset_gbs = bytes / memset_s / 1e9;
      for (const Named& d : dists) {
        const double fill_s = BestSeconds(reps, [&] {
          Fill(buffer.get(), dtype, elements, d.dist, {.seed = 1, .stream = 2},
               {.max_threads = all_threads ? 0 : 1});
        });
        const double fill_gbs = bytes / fill_s / 1e9;
        std::snprintf(line, sizeof(line), "| %-16s | %-5s | %-7s | %8.2f | %11.2f | %13.3f |\n",
                      d.name, DTypeName(dtype), all_threads ? "all" : "1", fill_gbs, memset_gbs,
                      fill_gbs / memset_gbs);
        out << line;
      }
    }
  }
}

}  // namespace fanfill::cli
