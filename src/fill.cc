// The C++ front end: validates requests, precomputes their parameters, splits
// them across oneTBB threads and dispatches each chunk to the best SIMD target.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/fill.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/kernels-inl.h"

#if HWY_ONCE

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include "fanfill/fanfill.hpp"
#include "src/fill_params.h"
#include "src/half.h"

namespace fanfill {

HWY_EXPORT(FillRange);

namespace internal {
namespace {

[[noreturn]] void Fail(const std::string& message) { throw std::invalid_argument(message); }

std::string Num(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

Storage StorageOf(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return Storage::k32;
    case DType::kF64:
      return Storage::k64;
    case DType::kBF16:
      return Storage::kBF16;
    case DType::kF16:
      return Storage::kF16;
  }
  Fail("unknown dtype " + std::to_string(static_cast<int>(dtype)) +
       " (expected f32, f64, bf16 or f16)");
}

double MaxFinite(Storage s) {
  switch (s) {
    case Storage::k64:
      return std::numeric_limits<double>::max();
    case Storage::k32:
      return std::numeric_limits<float>::max();
    case Storage::kBF16:
      return BF16BitsToFloat(0x7F7F);
    case Storage::kF16:
      return 65504.0;
  }
  return 0.0;
}

// Nearest value of the storage type (ties to even; may be off by one step for
// doubles that round twice, which the callers' loops correct).
double RoundTo(double x, Storage s) {
  switch (s) {
    case Storage::k64:
      return x;
    case Storage::k32:
      return static_cast<float>(x);
    case Storage::kBF16:
      return BF16BitsToFloat(FloatToBF16Bits(static_cast<float>(x)));
    case Storage::kF16:
      return F16BitsToFloat(FloatToF16Bits(static_cast<float>(x)));
  }
  return x;
}

// The neighbour of v (a finite value of the storage type) towards +inf or -inf.
double Step(double v, Storage s, bool up) {
  const double inf = up ? HUGE_VAL : -HUGE_VAL;
  if (s == Storage::k64) return std::nextafter(v, inf);
  if (s == Storage::k32) return std::nextafterf(static_cast<float>(v), static_cast<float>(inf));
  // 16-bit: step the sign-magnitude pattern in the ordered-integer sense.
  const bool bf16 = s == Storage::kBF16;
  const float f = static_cast<float>(v);
  const uint16_t bits = bf16 ? FloatToBF16Bits(f) : FloatToF16Bits(f);
  int32_t ordered = (bits & 0x8000) ? -int32_t{bits & 0x7FFF} : int32_t{bits};
  ordered += up ? 1 : -1;
  const uint16_t next = ordered < 0 ? static_cast<uint16_t>(0x8000 | -ordered)
                                    : static_cast<uint16_t>(ordered);
  return bf16 ? BF16BitsToFloat(next) : F16BitsToFloat(next);
}

double SmallestAtLeast(double x, Storage s) {
  double c = RoundTo(x, s);
  while (c < x) c = Step(c, s, true);
  while (Step(c, s, false) >= x) c = Step(c, s, false);
  return c;
}

double LargestAtMost(double x, Storage s) {
  double c = RoundTo(x, s);
  while (c > x) c = Step(c, s, false);
  while (Step(c, s, true) <= x) c = Step(c, s, true);
  return c;
}

double LargestBelow(double x, Storage s) {
  const double c = LargestAtMost(x, s);
  return c < x ? c : Step(c, s, false);
}

// Standard normal CDF in double, accurate in both tails.
double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

void CheckBoundsInRange(double low, double high, DType dtype, Storage s, const char* what) {
  if (!std::isfinite(low) || !std::isfinite(high)) {
    Fail(std::string(what) + ": bounds must be finite, got [" + Num(low) + ", " + Num(high) + "]");
  }
  if (!(low < high)) {
    Fail(std::string(what) + ": low must be < high, got low=" + Num(low) + " high=" + Num(high));
  }
  const double max = MaxFinite(s);
  if (low < -max || high > max) {
    Fail(std::string(what) + ": bounds [" + Num(low) + ", " + Num(high) + "] exceed the " +
         DTypeName(dtype) + " range +-" + Num(max));
  }
}

void CheckMeanStd(double mean, double stddev, const char* what) {
  if (!std::isfinite(mean)) Fail(std::string(what) + ": mean must be finite, got " + Num(mean));
  if (!std::isfinite(stddev) || stddev < 0) {
    Fail(std::string(what) + ": stddev must be finite and >= 0, got " + Num(stddev));
  }
}

}  // namespace

void CheckRange(const void* out, uint64_t count, uint64_t first_index) {
  if (count == 0) return;
  if (out == nullptr) Fail("out is null but count is " + std::to_string(count));
  if (count - 1 > std::numeric_limits<uint64_t>::max() - first_index) {
    Fail("first_index + count = " + std::to_string(first_index) + " + " + std::to_string(count) +
         " overflows the 2^64-element index space");
  }
}

FillParams MakeBitsParams(StreamKey key) {
  FillParams p;
  p.kind = Kind::kBits;
  p.storage = Storage::k32;
  p.seed = key.seed;
  p.stream = key.stream;
  return p;
}

FillParams MakeFillParams(DType dtype, const Distribution& dist, StreamKey key) {
  FillParams p;
  p.storage = StorageOf(dtype);
  p.seed = key.seed;
  p.stream = key.stream;
  const Storage s = p.storage;
  const bool f64 = s == Storage::k64;
  switch (dist.kind) {
    case Distribution::Kind::kUniform: {
      p.kind = Kind::kUniform;
      CheckBoundsInRange(dist.low, dist.high, dtype, s, "uniform");
      const double span = dist.high - dist.low;
      if (!std::isfinite(span) || (!f64 && !std::isfinite(static_cast<float>(span)))) {
        Fail("uniform: high - low = " + Num(span) + " overflows " + DTypeName(dtype) +
             " arithmetic");
      }
      const double lo = SmallestAtLeast(dist.low, s);
      const double hi = LargestBelow(dist.high, s);
      if (lo > hi) {
        Fail("uniform: no " + std::string(DTypeName(dtype)) + " value lies in [" + Num(dist.low) +
             ", " + Num(dist.high) + ")");
      }
      p.d_scale = span;
      p.d_offset = dist.low;
      p.d_lo = lo;
      p.d_hi = hi;
      break;
    }
    case Distribution::Kind::kNormal: {
      p.kind = Kind::kNormal;
      CheckMeanStd(dist.mean, dist.stddev, "normal");
      const double reach =
          std::fabs(dist.mean) + dist.stddev * (f64 ? kMaxAbsNormalF64 : kMaxAbsNormalF32);
      if (!(reach <= MaxFinite(s))) {
        Fail("normal: mean=" + Num(dist.mean) + " stddev=" + Num(dist.stddev) +
             " can reach +-" + Num(reach) + ", beyond the " + DTypeName(dtype) + " range +-" +
             Num(MaxFinite(s)));
      }
      p.d_scale = dist.stddev;
      p.d_offset = dist.mean;
      p.d_lo = -HUGE_VAL;
      p.d_hi = HUGE_VAL;
      break;
    }
    case Distribution::Kind::kTruncatedNormal: {
      p.kind = Kind::kTruncatedNormal;
      CheckMeanStd(dist.mean, dist.stddev, "truncated_normal");
      if (!(dist.stddev > 0)) Fail("truncated_normal: stddev must be > 0, got " + Num(dist.stddev));
      CheckBoundsInRange(dist.low, dist.high, dtype, s, "truncated_normal");
      const double alpha = (dist.low - dist.mean) / dist.stddev;
      const double beta = (dist.high - dist.mean) / dist.stddev;
      if (!std::isfinite(alpha) || !std::isfinite(beta)) {
        Fail("truncated_normal: (bound - mean) / stddev overflows; stddev " + Num(dist.stddev) +
             " is too small for bounds [" + Num(dist.low) + ", " + Num(dist.high) + "]");
      }
      // Sample the mirrored interval when that puts it on the lower side, where
      // p = Phi(z) has full relative precision.
      const bool mirror = alpha + beta > 0;
      const double a = mirror ? -beta : alpha;
      const double b = mirror ? -alpha : beta;
      if (b < -5.0) {
        Fail("truncated_normal: the interval [" + Num(dist.low) + ", " + Num(dist.high) +
             "] lies entirely beyond 5 stddev from the mean; inverse-CDF sampling is only "
             "accurate within 5 stddev");
      }
      const double pa = Phi(a);
      const double pb = Phi(b);
      p.d_pa = pa;
      p.d_pspan = pb - pa;
      p.d_qa = Phi(-a);
      p.d_scale = mirror ? -dist.stddev : dist.stddev;
      p.d_offset = dist.mean;
      p.d_lo = SmallestAtLeast(dist.low, s);
      p.d_hi = LargestAtMost(dist.high, s);
      if (p.d_lo > p.d_hi) {
        Fail("truncated_normal: no " + std::string(DTypeName(dtype)) + " value lies in [" +
             Num(dist.low) + ", " + Num(dist.high) + "]");
      }
      break;
    }
    default:
      Fail("unknown distribution kind " + std::to_string(static_cast<int>(dist.kind)));
  }
  // -0.0 -> +0.0: offsets and clamp bounds of zero are +0 on every path, so
  // targets whose min/max order signed zeros differently still agree.
  p.d_offset += 0.0;
  p.d_lo += 0.0;
  p.d_hi += 0.0;
  DeriveFloatParams(p);
  return p;
}

namespace {

// Elements per parallel task: 256 KiB of output, large enough to amortize the
// task overhead, small enough to balance 2..100+ threads on big tensors.
constexpr uint64_t kChunkBytes = 256 * 1024;

}  // namespace

void Run(const FillParams& p, void* out, uint64_t first, uint64_t count, int max_threads) {
  if (max_threads < 0) Fail("max_threads must be >= 0, got " + std::to_string(max_threads));
  const size_t size = StorageBytes(p.storage);
  const uint64_t chunk = kChunkBytes / size;
  if (count <= chunk || max_threads == 1) {
    HWY_DYNAMIC_DISPATCH(FillRange)(p, out, first, count);
    return;
  }
  const uint64_t chunks = (count + chunk - 1) / chunk;
  auto* bytes = static_cast<uint8_t*>(out);
  auto body = [&] {
    tbb::parallel_for(tbb::blocked_range<uint64_t>(0, chunks),
                      [&](const tbb::blocked_range<uint64_t>& r) {
                        for (uint64_t c = r.begin(); c != r.end(); ++c) {
                          const uint64_t begin = c * chunk;
                          const uint64_t n = std::min(chunk, count - begin);
                          HWY_DYNAMIC_DISPATCH(FillRange)(p, bytes + begin * size, first + begin, n);
                        }
                      });
  };
  if (max_threads > 1) {
    tbb::task_arena arena(max_threads);
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

size_t DTypeSize(DType dtype) {
  return internal::StorageBytes(internal::StorageOf(dtype));
}

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kF64:
      return "f64";
    case DType::kBF16:
      return "bf16";
    case DType::kF16:
      return "f16";
  }
  return "unknown";
}

void Fill(void* out, DType dtype, uint64_t count, const Distribution& dist, StreamKey key,
          const FillOptions& options) {
  internal::CheckRange(out, count, options.first_index);
  const internal::FillParams p = internal::MakeFillParams(dtype, dist, key);
  internal::Run(p, out, options.first_index, count, options.max_threads);
}

void FillBits(uint32_t* out, uint64_t count, StreamKey key, const FillOptions& options) {
  internal::CheckRange(out, count, options.first_index);
  internal::Run(internal::MakeBitsParams(key), out, options.first_index, count,
                options.max_threads);
}

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
      throw std::invalid_argument("target '" + std::string(name) +
                                  "' is not available: compiled in:" + compiled +
                                  "; runnable on this CPU:" + supported);
    }
    hwy::SetSupportedTargetsForTest(chosen);
  }
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

}  // namespace fanfill

#endif  // HWY_ONCE
