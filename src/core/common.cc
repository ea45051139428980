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

std::string PrintableText(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(text.size());
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      s += "\\x";
      s += kHex[b >> 4];
      s += kHex[b & 15];
    } else {
      s += c;
    }
  }
  return s;
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

TruncatedMoments StandardTruncatedMoments(double a, double b) {
  // Mirrored so that a + b <= 0: then a < 0, and where b <= 0 both CDF values
  // are small with full relative precision (erfc); where a < 0 < b the
  // probability is a sum of two erf terms, accurate however small.
  const bool mirror = a + b > 0;
  if (mirror) {
    const double t = a;
    a = -b;
    b = -t;
  }
  const double h = 0.5 * (b - a), m = 0.5 * (a + b);
  double shift, var;
  if (h <= 0x1.0p-7 && std::fabs(m) * h <= 0x1.0p-7) {
    // Narrow: the density is exp(-m t - t^2 / 2) up to a constant on t in
    // [-h, h]; its moments to O(h^6) (the closed form below cancels there:
    // its variance is 1 minus a number near 1). The switch balances the two
    // errors (1e-7 relative at worst, measured against quadrature).
    const double k = -m, h2 = h * h;
    shift = m + k * h2 / 3 - k * (k * k + 2) * h2 * h2 / 45;
    var = h2 / 3 - (3 * k * k + 2) * h2 * h2 / 45;
  } else {
    const double r = 1 / std::sqrt(2.0);
    const double z = b <= 0 ? 0.5 * (std::erfc(-b * r) - std::erfc(-a * r))
                            : 0.5 * (std::erf(b * r) + std::erf(-a * r));
    // An infinite bound has CDF 0 or 1 (erf and erfc take infinities) and
    // density 0, and bound * density is 0 there (its limit), not inf * 0.
    const double pa = NormalPdf(a), pb = NormalPdf(b);
    const double a_pa = std::isinf(a) ? 0.0 : a * pa, b_pb = std::isinf(b) ? 0.0 : b * pb;
    shift = (pa - pb) / z;
    var = 1 + (a_pa - b_pb) / z - shift * shift;
  }
  return {mirror ? -shift : shift, std::sqrt(var)};
}

}  // namespace fanfill::internal
