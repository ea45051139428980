// Small helpers every layer shares, written once: number and shape text for
// error messages, the element count of a shape, and the standard normal
// density and CDF in double. Internal: not installed.
#ifndef FANFILL_SRC_CORE_COMMON_H_
#define FANFILL_SRC_CORE_COMMON_H_

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fanfill::internal {

// Shortest decimal that reads back as the same double ("0.1", "1e+300", "inf").
std::string FormatNumber(double v);
// "" if `scale` can be a per-tensor scale, else what is wrong with it: it must
// be finite, > 0 and round to a normal float32 ([2^-126, FLT_MAX]), since
// scales are kept as float32 (the CLI's 0-d F32 tensor "<name>_scale", torch's
// FP8 scale tensors); 0, a subnormal or inf there would undo the scaling.
std::string ScaleError(double scale);
// "[64, 3, 7, 7]"
std::string FormatShape(std::span<const int64_t> shape);
// User text as error messages echo it: control bytes (below 0x20, 0x7f)
// become \xNN, so an embedded NUL cannot cut a message short where it is read
// as a C string (what(), the C API's message, Python's exception text).
std::string PrintableText(std::string_view text);

// prod(dims) (1 for no dims); nullopt where a partial product passes 2^64,
// even if a later dimension is 0 (torch refuses those shapes too: "Stride
// calculation overflowed"). Dimensions must be >= 0.
std::optional<uint64_t> Product(std::span<const int64_t> dims);

// "" if every dimension is >= 0, else "shape [..]: dimension i is d (must be >= 0)".
std::string NegativeDimError(std::span<const int64_t> shape);

// Standard normal density and CDF (erfc form: accurate in both tails).
inline double NormalPdf(double x) { return 0.39894228040143267794 * std::exp(-0.5 * x * x); }
inline double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Mean and standard deviation of the standard normal truncated to [a, b]
// (a < b; a = -inf and b = +inf allowed: one-sided or no truncation), in stddevs: TN(mean, stddev, [low, high]) has mean
// mean + stddev * shift and standard deviation stddev * std_ratio, with a, b
// = (bound - mean) / stddev. Computed on the side of the mean where the
// interval's CDF values keep their relative precision (mirrored as the
// fills sample), with a series where the interval is narrow. Within 5
// stddevs (where the fills sample) the shift is within 1e-10 of the width
// and std_ratio within 3e-7 relative of quadrature (schemes_test); beyond,
// the closed form cancels (1e-3 relative for [-30, -29.999]), and past ~37
// stddevs, where the interval's probability underflows, both are NaN.
struct TruncatedMoments {
  double shift, std_ratio;
};
TruncatedMoments StandardTruncatedMoments(double a, double b);

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_CORE_COMMON_H_
