// The per-target part of the fills (compiled once per SIMD target through
// Highway's foreach_target.h, as hwy/examples/skeleton.cc): the kernels of
// fill-inl.h, the parallel driver Run that splits a range over oneTBB threads
// and dispatches each chunk to the best target, and the run-time target
// queries. Requests arrive validated (fill.cc); nothing here checks them.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/core/dispatch.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/core/fill-inl.h"

#if HWY_ONCE

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

#include "fanfill/fanfill.hpp"
#include "src/core/common.h"
#include "src/core/fill_params.h"
#include "src/core/fp_env.h"

namespace fanfill {

HWY_EXPORT(FillRange);

namespace internal {
namespace {

// Elements per parallel task: 256 KiB of output, large enough to amortize the
// task overhead, small enough to balance 2..100+ threads on big tensors.
constexpr uint64_t kChunkBytes = 256 * 1024;

}  // namespace

int ArenaConcurrency(int max_threads) {
  const size_t limit =
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
  return static_cast<int>(
      std::min<size_t>(static_cast<size_t>(max_threads), std::max<size_t>(limit, 1)));
}

void Run(const FillParams& p, StreamKey key, void* out, uint64_t first, uint64_t count,
         int max_threads) {
  const DefaultFpEnvironment fp_env;  // this thread's part (src/core/fp_env.h)
  const size_t size = ElementBytes(p);
  const uint64_t chunk = kChunkBytes / size;
  const KernelArgs args{p, key};
  if (count <= chunk || max_threads == 1) {
    HWY_DYNAMIC_DISPATCH(FillRange)(args, out, first, count);
    return;
  }
  const uint64_t chunks = (count + chunk - 1) / chunk;
  auto* bytes = static_cast<uint8_t*>(out);
  auto body = [&] {
    tbb::parallel_for(tbb::blocked_range<uint64_t>(0, chunks),
                      [&](const tbb::blocked_range<uint64_t>& r) {
                        const DefaultFpEnvironment task_fp_env;  // a worker's own
                        for (uint64_t c = r.begin(); c != r.end(); ++c) {
                          const uint64_t begin = c * chunk;
                          const uint64_t n = std::min(chunk, count - begin);
                          HWY_DYNAMIC_DISPATCH(FillRange)(args, bytes + begin * size,
                                                          first + begin, n);
                        }
                      });
  };
  if (max_threads > 1) {
    tbb::task_arena arena(ArenaConcurrency(max_threads));
    arena.execute(body);
  } else {
    body();
  }
}

namespace {

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

}  // namespace
}  // namespace internal

const char* Version() { return FANFILL_VERSION_STRING; }

std::vector<std::string> CompiledTargets() {
  std::vector<std::string> names;
  for (int64_t t = HWY_TARGETS; t != 0; t &= t - 1) names.push_back(hwy::TargetName(t & -t));
  return names;
}

namespace {

// What this CPU runs, captured before any ForceTarget (which mocks
// hwy::SupportedTargets) can change the answer.
int64_t CpuTargets() {
  static const int64_t targets = hwy::SupportedTargets();
  return targets;
}

}  // namespace

std::vector<std::string> SupportedTargets() {
  std::vector<std::string> names;
  for (int64_t t = CpuTargets() & HWY_TARGETS; t != 0; t &= t - 1) {
    names.push_back(hwy::TargetName(t & -t));
  }
  return names;
}

std::string ActiveTarget() {
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  return targets.empty() ? std::string("none") : hwy::TargetName(targets.front());
}

void ForceTarget(std::string_view name) {
  const std::string wanted = internal::Upper(name);
  hwy::SetSupportedTargetsForTest(0);  // back to what this CPU supports
  if (wanted != "AUTO") {
    int64_t chosen = 0;
    for (int64_t t = CpuTargets() & HWY_TARGETS; t != 0; t &= t - 1) {
      if (wanted == hwy::TargetName(t & -t)) chosen = t & -t;
    }
    if (chosen == 0) {
      std::string compiled;
      for (const std::string& n : CompiledTargets()) compiled += " " + n;
      std::string supported;
      for (const std::string& n : SupportedTargets()) supported += " " + n;
      throw std::invalid_argument("target '" + internal::PrintableText(name) +
                                  "' is not available: compiled in:" + compiled +
                                  "; runnable on this CPU:" + supported);
    }
    hwy::SetSupportedTargetsForTest(chosen);
  }
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

}  // namespace fanfill

#endif  // HWY_ONCE
