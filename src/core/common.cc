#include "src/core/common.h"

#include <charconv>
#include <system_error>

namespace fanfill::internal {

std::string FormatNumber(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
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
