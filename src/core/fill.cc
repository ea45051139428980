// The fills' public edge: validates a request once and precomputes its
// parameters (MakeFillParams), then hands them to the parallel driver
// (dispatch.cc). Nothing here is compiled per SIMD target.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "fanfill/fanfill.hpp"
#include "src/core/common.h"
#include "src/core/dtype.h"
#include "src/core/fill_params.h"
#include "src/core/transform_constants.h"

namespace fanfill {
namespace internal {
namespace {

[[noreturn]] void Fail(const std::string& message) { throw std::invalid_argument(message); }

void CheckBoundsInRange(double low, double high, DType dtype, const char* what) {
  if (!std::isfinite(low) || !std::isfinite(high)) {
    Fail(std::string(what) + ": bounds must be finite, got [" + FormatNumber(low) + ", " + FormatNumber(high) + "]");
  }
  if (!(low < high)) {
    Fail(std::string(what) + ": low must be < high, got low=" + FormatNumber(low) + " high=" + FormatNumber(high));
  }
  const double max = MaxFinite(dtype);
  if (low < -max || high > max) {
    Fail(std::string(what) + ": bounds [" + FormatNumber(low) + ", " + FormatNumber(high) + "] exceed the " +
         DTypeName(dtype) + " range +-" + FormatNumber(max));
  }
}

void CheckMeanStd(double mean, double stddev, const char* what) {
  if (!std::isfinite(mean)) Fail(std::string(what) + ": mean must be finite, got " + FormatNumber(mean));
  if (!std::isfinite(stddev) || stddev < 0) {
    Fail(std::string(what) + ": stddev must be finite and >= 0, got " + FormatNumber(stddev));
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

void CheckMaxThreads(int max_threads, const char* fn) {
  if (max_threads < 0) {
    Fail((fn ? std::string(fn) + ": " : std::string()) + "max_threads must be >= 0, got " +
         std::to_string(max_threads));
  }
}

FillParams MakeFillParams(DType dtype, const Distribution& dist) {
  CheckDType(dtype);
  FillParams p;
  p.dtype = dtype;
  const DType s = dtype;
  const bool f64 = s == DType::kF64;
  switch (dist.kind) {
    case Distribution::Kind::kUniform: {
      p.kind = Distribution::Kind::kUniform;
      CheckBoundsInRange(dist.low, dist.high, dtype, "uniform");
      const double span = dist.high - dist.low;
      if (!std::isfinite(span) || (!f64 && !std::isfinite(static_cast<float>(span)))) {
        Fail("uniform: high - low = " + FormatNumber(span) + " overflows " + DTypeName(dtype) +
             " arithmetic");
      }
      const double lo = SmallestAtLeast(dist.low, s);
      const double hi = LargestBelow(dist.high, s);
      if (lo > hi) {
        Fail("uniform: no " + std::string(DTypeName(dtype)) + " value lies in [" + FormatNumber(dist.low) +
             ", " + FormatNumber(dist.high) + ")");
      }
      p.d_scale = span;
      p.d_offset = dist.low;
      p.d_lo = lo;
      p.d_hi = hi;
      break;
    }
    case Distribution::Kind::kNormal: {
      p.kind = Distribution::Kind::kNormal;
      CheckMeanStd(dist.mean, dist.stddev, "normal");
      const double reach =
          std::fabs(dist.mean) + dist.stddev * (f64 ? kMaxAbsNormalF64 : kMaxAbsNormalF32);
      if (!(reach <= MaxFinite(s))) {
        Fail("normal: mean=" + FormatNumber(dist.mean) + " stddev=" + FormatNumber(dist.stddev) +
             " can reach +-" + FormatNumber(reach) + ", beyond the " + DTypeName(dtype) + " range +-" +
             FormatNumber(MaxFinite(s)));
      }
      p.d_scale = dist.stddev;
      p.d_offset = dist.mean;
      p.d_lo = -HUGE_VAL;
      p.d_hi = HUGE_VAL;
      break;
    }
    case Distribution::Kind::kTruncatedNormal: {
      p.kind = Distribution::Kind::kTruncatedNormal;
      CheckMeanStd(dist.mean, dist.stddev, "truncated_normal");
      if (!(dist.stddev > 0)) Fail("truncated_normal: stddev must be > 0, got " + FormatNumber(dist.stddev));
      CheckBoundsInRange(dist.low, dist.high, dtype, "truncated_normal");
      const double alpha = (dist.low - dist.mean) / dist.stddev;
      const double beta = (dist.high - dist.mean) / dist.stddev;
      if (!std::isfinite(alpha) || !std::isfinite(beta)) {
        Fail("truncated_normal: (bound - mean) / stddev overflows; stddev " + FormatNumber(dist.stddev) +
             " is too small for bounds [" + FormatNumber(dist.low) + ", " + FormatNumber(dist.high) + "]");
      }
      // Sample the mirrored interval when that puts it on the lower side, where
      // p = NormalCdf(z) has full relative precision.
      const bool mirror = alpha + beta > 0;
      const double a = mirror ? -beta : alpha;
      const double b = mirror ? -alpha : beta;
      if (b < -5.0) {
        Fail("truncated_normal: the interval [" + FormatNumber(dist.low) + ", " + FormatNumber(dist.high) +
             "] lies entirely beyond 5 stddev from the mean; inverse-CDF sampling is only "
             "accurate within 5 stddev");
      }
      const double pa = NormalCdf(a);
      const double pb = NormalCdf(b);
      p.d_pa = pa;
      p.d_pspan = pb - pa;
      p.d_qa = NormalCdf(-a);
      p.d_scale = mirror ? -dist.stddev : dist.stddev;
      p.d_offset = dist.mean;
      p.d_lo = SmallestAtLeast(dist.low, s);
      p.d_hi = LargestAtMost(dist.high, s);
      if (p.d_lo > p.d_hi) {
        Fail("truncated_normal: no " + std::string(DTypeName(dtype)) + " value lies in [" +
             FormatNumber(dist.low) + ", " + FormatNumber(dist.high) + "]");
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

}  // namespace internal

void Fill(void* out, DType dtype, uint64_t count, const Distribution& dist, StreamKey key,
          const FillOptions& options) {
  internal::CheckRange(out, count, options.first_index);
  internal::CheckMaxThreads(options.max_threads);
  const internal::FillParams p = internal::MakeFillParams(dtype, dist);
  internal::Run(p, key, out, options.first_index, count, options.max_threads);
}

void FillBits(uint32_t* out, uint64_t count, StreamKey key, const FillOptions& options) {
  internal::CheckRange(out, count, options.first_index);
  internal::CheckMaxThreads(options.max_threads);
  internal::Run(internal::BitsParams(), key, out, options.first_index, count, options.max_threads);
}

}  // namespace fanfill
