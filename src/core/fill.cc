// The fills' public edge: validates a request once and precomputes its
// parameters (MakeFillParams), then hands them to the parallel driver
// (dispatch.cc). Nothing here is compiled per SIMD target.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "fanfill/fanfill.hpp"
#include "src/core/common.h"
#include "src/core/dtype.h"
#include "src/core/fill_params.h"
#include "src/core/fp_env.h"
#include "src/core/transform_constants.h"

namespace fanfill {
namespace internal {
namespace {

// The fewest distinct levels a truncated-normal interval must give where the
// dtype has more values in it (README, Known limits).
constexpr double kMinTruncatedLevels = 4096;

[[noreturn]] void Fail(const std::string& message) { throw std::invalid_argument(message); }

// Bounds in order and in the dtype's range. `infinite_ok`: low = -inf and
// high = +inf stand for no bound on that side (truncated normal), NaN never.
void CheckBoundsInRange(double low, double high, DType dtype, const char* what,
                        bool infinite_ok = false) {
  if (infinite_ok ? std::isnan(low) || std::isnan(high) : !std::isfinite(low) || !std::isfinite(high)) {
    Fail(std::string(what) + ": bounds must be " + (infinite_ok ? "numbers or +-inf" : "finite") +
         ", got [" + FormatNumber(low) + ", " + FormatNumber(high) + "]");
  }
  if (!(low < high)) {
    Fail(std::string(what) + ": low must be < high, got low=" + FormatNumber(low) + " high=" + FormatNumber(high));
  }
  const double max = MaxFinite(dtype);
  if ((std::isfinite(low) && low < -max) || (std::isfinite(high) && high > max)) {
    Fail(std::string(what) + ": bounds [" + FormatNumber(low) + ", " + FormatNumber(high) + "] exceed the " +
         DTypeName(dtype) + " range +-" + FormatNumber(max));
  }
}

// Bounds given in order whose quotients by the scale are not (both underflow
// to zero, or round together): say so, rather than "low must be < high".
void CheckScaledBoundsOrdered(const Distribution& dist, double low, double high,
                              const std::string& scaled, const char* what) {
  if (dist.low < dist.high && !(low < high)) {
    Fail(std::string(what) + ": bounds [" + FormatNumber(dist.low) + ", " + FormatNumber(dist.high) +
         "]" + scaled + " collapse to [" + FormatNumber(low) + ", " + FormatNumber(high) +
         "]: the scale is too large for them");
  }
}

// "2^k" for a power of two, else the number.
std::string PowerText(double v) {
  int e = 0;
  if (v > 0 && std::frexp(v, &e) == 0.5) return "2^" + std::to_string(e - 1);
  return FormatNumber(v);
}

}  // namespace

// FP8 only: refuse values whose spread the format cannot resolve. `spread` is
// the drawn value's standard deviation before the scale (stddev; uniform:
// (high - low) / sqrt(12)) and `reach` the largest magnitude it can take
// before the scale; the stored spread is spread / scale.
void CheckF8Spread(double spread, double reach, double scale, DType dtype, const char* what) {
  if (!IsF8(dtype) || !(spread > 0) || spread / scale >= MinNormal(dtype)) return;
  // The largest power-of-two scale that lifts the spread to a normal value.
  const double fix = std::exp2(std::floor(std::log2(spread / MinNormal(dtype))));
  std::string advice = "use scale <= " + PowerText(fix);
  if (reach / fix > MaxFinite(dtype)) {
    advice = "no scale fits: scale <= " + PowerText(fix) + " is needed against underflow but " +
             "the values then reach +-" + FormatNumber(reach / fix) + ", beyond +-" +
             FormatNumber(MaxFinite(dtype));
  }
  Fail(std::string(what) + ": the spread " + FormatNumber(spread / scale) +
       (scale != 1 ? " (after scale " + FormatNumber(scale) + ")" : std::string()) +
       " is below the smallest " + DTypeName(dtype) + " normal " + PowerText(MinNormal(dtype)) +
       ", so the values would underflow to a few subnormals; " + advice);
}

namespace {

// The FP8 advice for values that reach +-reach (before the scale): the
// smallest power-of-two scale that brings them into range.
std::string F8RangeAdvice(double reach, DType dtype) {
  if (!IsF8(dtype) || !std::isfinite(reach)) return "";
  const double fix = std::exp2(std::ceil(std::log2(reach / MaxFinite(dtype))));
  return "; use scale >= " + PowerText(fix);
}

// Where a truncated normal's side is unbounded (an infinite bound), the
// largest |z| the inverse CDF reaches there, for the standardized bounds
// [alpha, beta]: the kernels' smallest uniform u_min (2^-24 on the float path,
// 2^-53 for f64) makes its input at least u_min P, P the interval's
// probability, and p = Phi(-t) < exp(-t^2 / 2) for t > 0.4 gives |z| <
// sqrt(-2 ln p), 3-6% above the kernels' largest |z| (f32: 5.45 for no
// truncation). Mirrored as the fill mirrors, so that P has full precision.
double UnboundedZmax(double alpha, double beta, bool f64) {
  const bool mirror = alpha + beta > 0;
  const double a = mirror ? -beta : alpha, b = mirror ? -alpha : beta;
  return std::sqrt(-2.0 * std::log(std::ldexp(NormalCdf(b) - NormalCdf(a), f64 ? -53 : -24)));
}

// Where a truncated normal N(mean, stddev) on [low, high] can take values:
// its bounds, an unbounded side (an infinite bound) replaced by mean -+
// stddev zmax, the inverse CDF's reach there (UnboundedZmax). Called with the
// parameters before the scale (FP8's advice, the spread check) and after it
// (the range check: the scaled parameters are what the kernels use).
struct ValueRange {
  double lo, hi;
};
ValueRange TruncatedValueRange(double mean, double stddev, double low, double high, bool f64) {
  const bool low_inf = low == -HUGE_VAL, high_inf = high == HUGE_VAL;
  if (!low_inf && !high_inf) return {low, high};
  const double z = UnboundedZmax((low - mean) / stddev, (high - mean) / stddev, f64);
  return {low_inf ? mean - stddev * z : low, high_inf ? mean + stddev * z : high};
}

void CheckScale(double scale, const char* what) {
  if (const std::string error = ScaleError(scale); !error.empty()) {
    Fail(std::string(what) + ": " + error);
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
  const DefaultFpEnvironment fp_env;  // the bounds' stepping needs subnormals (fp_env.h)
  CheckDType(dtype);
  FillParams p;
  p.dtype = dtype;
  const DType s = dtype;
  const bool f64 = s == DType::kF64;
  // The per-tensor scale: every parameter below is divided by it in double
  // (exact for scale 1, so unscaled fills keep every bit), then rounded to
  // float once for the float kernels (DeriveFloatParams).
  const double scale = dist.scale;
  // " / scale S" in messages when a scale is set.
  const std::string scaled = scale != 1 ? " / scale " + FormatNumber(scale) : std::string();
  switch (dist.kind) {
    case Distribution::Kind::kUniform: {
      p.kind = Distribution::Kind::kUniform;
      CheckScale(scale, "uniform");
      const double low = dist.low / scale, high = dist.high / scale;
      if (std::isfinite(dist.low) && std::isfinite(dist.high) && dist.low < dist.high &&
          (low < -MaxFinite(s) || high > MaxFinite(s))) {
        Fail("uniform: bounds [" + FormatNumber(dist.low) + ", " + FormatNumber(dist.high) + "]" +
             scaled + " exceed the " + DTypeName(dtype) + " range +-" + FormatNumber(MaxFinite(s)) +
             F8RangeAdvice(std::max(std::fabs(dist.low), std::fabs(dist.high)), dtype));
      }
      CheckScaledBoundsOrdered(dist, low, high, scaled, "uniform");
      CheckBoundsInRange(low, high, dtype, "uniform");
      const double span = high - low;
      if (!std::isfinite(span) || (!f64 && !std::isfinite(static_cast<float>(span)))) {
        Fail("uniform: high - low = " + FormatNumber(span) + " overflows " + DTypeName(dtype) +
             " arithmetic");
      }
      CheckF8Spread((dist.high - dist.low) / std::sqrt(12.0),
                    std::max(std::fabs(dist.low), std::fabs(dist.high)), scale, dtype, "uniform");
      const double lo = SmallestAtLeast(low, s);
      const double hi = LargestBelow(high, s);
      if (lo > hi) {
        Fail("uniform: no " + std::string(DTypeName(dtype)) + " value lies in [" + FormatNumber(low) +
             ", " + FormatNumber(high) + ")");
      }
      p.d_scale = span;
      p.d_offset = low;
      p.d_lo = lo;
      p.d_hi = hi;
      break;
    }
    case Distribution::Kind::kNormal: {
      p.kind = Distribution::Kind::kNormal;
      CheckMeanStd(dist.mean, dist.stddev, "normal");
      CheckScale(scale, "normal");
      const double unscaled_reach =
          std::fabs(dist.mean) + dist.stddev * (f64 ? kMaxAbsNormalF64 : kMaxAbsNormalF32);
      const double reach = unscaled_reach / scale;
      if (!(reach <= MaxFinite(s))) {
        Fail("normal: mean=" + FormatNumber(dist.mean) + " stddev=" + FormatNumber(dist.stddev) +
             scaled + " can reach +-" + FormatNumber(reach) + ", beyond the " + DTypeName(dtype) +
             " range +-" + FormatNumber(MaxFinite(s)) + F8RangeAdvice(unscaled_reach, dtype));
      }
      CheckF8Spread(dist.stddev, unscaled_reach, scale, dtype, "normal");
      p.d_scale = dist.stddev / scale;
      p.d_offset = dist.mean / scale;
      p.d_lo = -HUGE_VAL;
      p.d_hi = HUGE_VAL;
      break;
    }
    case Distribution::Kind::kTruncatedNormal: {
      p.kind = Distribution::Kind::kTruncatedNormal;
      CheckMeanStd(dist.mean, dist.stddev, "truncated_normal");
      if (!(dist.stddev > 0)) Fail("truncated_normal: stddev must be > 0, got " + FormatNumber(dist.stddev));
      CheckScale(scale, "truncated_normal");
      const double low = dist.low / scale, high = dist.high / scale;
      // A finite bound beyond the range (also one the scale overflows); an
      // infinite one is no bound (checked below by where the values reach).
      const bool low_inf = dist.low == -HUGE_VAL, high_inf = dist.high == HUGE_VAL;
      if (!std::isnan(dist.low) && !std::isnan(dist.high) && dist.low < dist.high &&
          ((!low_inf && low < -MaxFinite(s)) || (!high_inf && high > MaxFinite(s)))) {
        // FP8's advice covers the whole value range: an infinite side's reach too.
        const ValueRange range = TruncatedValueRange(dist.mean, dist.stddev, dist.low, dist.high, f64);
        Fail("truncated_normal: bounds [" + FormatNumber(dist.low) + ", " + FormatNumber(dist.high) +
             "]" + scaled + " exceed the " + DTypeName(dtype) + " range +-" +
             FormatNumber(MaxFinite(s)) +
             F8RangeAdvice(std::max(std::fabs(range.lo), std::fabs(range.hi)), dtype));
      }
      CheckScaledBoundsOrdered(dist, low, high, scaled, "truncated_normal");
      CheckBoundsInRange(low, high, dtype, "truncated_normal", /*infinite_ok=*/true);
      // Everything from the scaled parameters: a scaled fill is exactly the
      // fill of (mean, stddev, low, high) / scale.
      const double mean = dist.mean / scale, stddev = dist.stddev / scale;
      // The float dtypes' kernels compute in float.
      const double float_max = MaxFinite(DType::kF32);
      if (!f64 && !(std::fabs(mean) <= float_max && stddev <= float_max)) {
        Fail("truncated_normal: mean " + FormatNumber(dist.mean) + " and stddev " +
             FormatNumber(dist.stddev) + scaled + " must lie in the float range +-" +
             FormatNumber(float_max) + " (" + DTypeName(dtype) + " fills compute in float)");
      }
      const double alpha = (low - mean) / stddev;
      const double beta = (high - mean) / stddev;
      if ((!low_inf && !std::isfinite(alpha)) || (!high_inf && !std::isfinite(beta))) {
        Fail("truncated_normal: (bound - mean) / stddev overflows for mean " + FormatNumber(dist.mean) +
             ", stddev " + FormatNumber(dist.stddev) + " and bounds [" + FormatNumber(dist.low) +
             ", " + FormatNumber(dist.high) + "]");
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
      // The values lie in TruncatedValueRange. Only an unbounded side can
      // leave the dtype's range there (the finite bounds were checked above):
      // the message names the end (after the scale) furthest beyond it, and
      // FP8's advice takes the larger magnitude of the two ends before the
      // scale, so that following it fits both sides.
      const ValueRange unscaled = TruncatedValueRange(dist.mean, dist.stddev, dist.low, dist.high, f64);
      const double reach = std::max(std::fabs(unscaled.lo), std::fabs(unscaled.hi));
      const ValueRange range = TruncatedValueRange(mean, stddev, low, high, f64);
      double worst = 0;  // the end furthest beyond the range; 0: none
      for (const double end : {low_inf ? range.lo : 0.0, high_inf ? range.hi : 0.0}) {
        if (!(std::fabs(end) <= MaxFinite(s)) && !(std::fabs(end) <= std::fabs(worst))) worst = end;
      }
      if (worst != 0) {
        Fail("truncated_normal: mean=" + FormatNumber(dist.mean) + " stddev=" +
             FormatNumber(dist.stddev) + " on [" + FormatNumber(dist.low) + ", " +
             FormatNumber(dist.high) + "]" + scaled + " can reach " + FormatNumber(worst) +
             ", beyond the " + DTypeName(dtype) + " range +-" + FormatNumber(MaxFinite(s)) +
             F8RangeAdvice(reach, dtype));
      }
      // The values' spread is the truncated distribution's, which can be far
      // below stddev (an interval much narrower than it).
      CheckF8Spread(dist.stddev * StandardTruncatedMoments(alpha, beta).std_ratio, reach, scale,
                    dtype, "truncated_normal");
      p.d_pa = pa;
      p.d_pspan = pb - pa;
      p.d_qa = NormalCdf(-a);
      p.d_scale = mirror ? -stddev : stddev;
      p.d_offset = mean;
      p.d_lo = low_inf ? -HUGE_VAL : SmallestAtLeast(low, s);
      p.d_hi = high_inf ? HUGE_VAL : LargestAtMost(high, s);
      if (p.d_lo > p.d_hi) {
        Fail("truncated_normal: no " + std::string(DTypeName(dtype)) + " value lies in [" +
             FormatNumber(low) + ", " + FormatNumber(high) + "]");
      }
      // p = pa + u (pb - pa) is rounded to the kernels' arithmetic, so the
      // values take about (pb - pa) / ulp(pb) distinct levels (q = 1 - p,
      // near 1 in a tail, enters through its relative precision only). An
      // interval much narrower than stddev would get a handful of them, not
      // the distribution: refused where they are fewer than kMinTruncatedLevels
      // and fewer than the dtype values in the interval (a lower estimate of
      // their count: its width over the spacing at its larger end).
      const double levels = (pb - pa) / std::ldexp(1.0, std::ilogb(pb) - (f64 ? 52 : 23));
      // (At the dtype's largest value, whose step up is to inf: the step down.)
      const double top = std::max(std::fabs(p.d_lo), std::fabs(p.d_hi));
      const double up = Step(top, s, true) - top;
      const double spacing = std::isfinite(up) ? up : top - Step(top, s, false);
      const double dtype_values = low_inf || high_inf ? HUGE_VAL : (p.d_hi - p.d_lo) / spacing;
      if (levels < std::min(kMinTruncatedLevels, dtype_values)) {
        Fail("truncated_normal: the interval [" + FormatNumber(dist.low) + ", " + FormatNumber(dist.high) +
             "] is too narrow for stddev " + FormatNumber(dist.stddev) + ": it holds " +
             FormatNumber(pb - pa) + " of the probability, about " +
             std::to_string(static_cast<int64_t>(levels)) + " steps of the " +
             (f64 ? "double" : "float") +
             " inverse CDF's input, so the values would take that few distinct levels (at least "
             "2^12 are needed, or as many as the " + DTypeName(dtype) +
             " values in the interval); use a smaller stddev or a uniform");
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
