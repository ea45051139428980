#include "src/core/common.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace fanfill::internal {

std::string FormatNumber(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

std::string ScaleError(double scale) {
  if (!std::isfinite(scale) || !(scale > 0)) {
    return "scale must be finite and > 0, got " + FormatNumber(scale);
  }
  constexpr double kMax = std::numeric_limits<float>::max();
  // From FLT_MAX + half its ulp (2^103) on, the rounding is inf (the tie goes
  // to even, away from FLT_MAX's odd significand); below, the conversion is
  // an ordinary rounding.
  const bool to_inf = scale >= kMax + 0x1p103;
  const float f = to_inf ? std::numeric_limits<float>::infinity() : static_cast<float>(scale);
  if (std::isnormal(f)) return {};
  const std::string rounded = to_inf ? "inf" : f == 0 ? "0" : "the subnormal " + FormatNumber(f);
  return "scale " + FormatNumber(scale) + " is not a normal float32 (it rounds to " + rounded +
         "; scales are kept as float32, e.g. the 0-d F32 tensor <name>_scale): use a scale in "
         "[2^-126, " + FormatNumber(kMax) + "]";
}

std::string FormatShape(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::optional<uint64_t> Product(std::span<const int64_t> dims) {
  uint64_t p = 1;
  for (int64_t d : dims) {
    if (__builtin_mul_overflow(p, static_cast<uint64_t>(d), &p)) return std::nullopt;
  }
  return p;
}

std::string NegativeDimError(std::span<const int64_t> shape) {
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      return "shape " + FormatShape(shape) + ": dimension " + std::to_string(i) + " is " +
             std::to_string(shape[i]) + " (must be >= 0)";
    }
  }
  return {};
}

}  // namespace fanfill::internal
