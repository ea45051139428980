#include "src/core/dtype.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fanfill {
namespace internal {
namespace {

template <class T>
void FillWith(void* out, uint64_t count, T value) {
  std::fill_n(static_cast<T*>(out), count, value);
}

}  // namespace

void CheckDType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kF64:
    case DType::kBF16:
    case DType::kF16:
      return;
  }
  throw std::invalid_argument("unknown dtype " + std::to_string(static_cast<int>(dtype)) +
                              " (expected f32, f64, bf16 or f16)");
}

double MaxFinite(DType dtype) {
  switch (dtype) {
    case DType::kF64:
      return std::numeric_limits<double>::max();
    case DType::kF32:
      return std::numeric_limits<float>::max();
    case DType::kBF16:
      return BF16BitsToFloat(0x7F7F);
    case DType::kF16:
      return 65504.0;
  }
  return 0.0;
}

double RoundTo(double x, DType dtype) {
  switch (dtype) {
    case DType::kF64:
      return x;
    case DType::kF32:
      return static_cast<float>(x);
    case DType::kBF16:
      return BF16BitsToFloat(FloatToBF16Bits(static_cast<float>(x)));
    case DType::kF16:
      return F16BitsToFloat(FloatToF16Bits(static_cast<float>(x)));
  }
  return x;
}

double Step(double v, DType dtype, bool up) {
  const double inf = up ? HUGE_VAL : -HUGE_VAL;
  if (dtype == DType::kF64) return std::nextafter(v, inf);
  if (dtype == DType::kF32) {
    return std::nextafterf(static_cast<float>(v), static_cast<float>(inf));
  }
  // 16-bit: step the sign-magnitude pattern in the ordered-integer sense.
  const bool bf16 = dtype == DType::kBF16;
  const float f = static_cast<float>(v);
  const uint16_t bits = bf16 ? FloatToBF16Bits(f) : FloatToF16Bits(f);
  int32_t ordered = (bits & 0x8000) ? -int32_t{bits & 0x7FFF} : int32_t{bits};
  ordered += up ? 1 : -1;
  const uint16_t next = ordered < 0 ? static_cast<uint16_t>(0x8000 | -ordered)
                                    : static_cast<uint16_t>(ordered);
  return bf16 ? BF16BitsToFloat(next) : F16BitsToFloat(next);
}

double SmallestAtLeast(double x, DType dtype) {
  double c = RoundTo(x, dtype);
  while (c < x) c = Step(c, dtype, true);
  while (Step(c, dtype, false) >= x) c = Step(c, dtype, false);
  return c;
}

double LargestAtMost(double x, DType dtype) {
  double c = RoundTo(x, dtype);
  while (c > x) c = Step(c, dtype, false);
  while (Step(c, dtype, true) <= x) c = Step(c, dtype, true);
  return c;
}

double LargestBelow(double x, DType dtype) {
  const double c = LargestAtMost(x, dtype);
  return c < x ? c : Step(c, dtype, false);
}

void StoreAt(void* out, DType dtype, uint64_t i, double v) {
  switch (dtype) {
    case DType::kF32:
      static_cast<float*>(out)[i] = static_cast<float>(v);
      return;
    case DType::kF64:
      static_cast<double*>(out)[i] = v;
      return;
    case DType::kBF16:
      static_cast<uint16_t*>(out)[i] = FloatToBF16Bits(static_cast<float>(v));
      return;
    case DType::kF16:
      static_cast<uint16_t*>(out)[i] = FloatToF16Bits(static_cast<float>(v));
      return;
  }
}

void StoreConstant(void* out, DType dtype, uint64_t count, double v) {
  switch (dtype) {
    case DType::kF32:
      return FillWith(out, count, static_cast<float>(v));
    case DType::kF64:
      return FillWith(out, count, v);
    case DType::kBF16:
      return FillWith(out, count, FloatToBF16Bits(static_cast<float>(v)));
    case DType::kF16:
      return FillWith(out, count, FloatToF16Bits(static_cast<float>(v)));
  }
}

}  // namespace internal

size_t DTypeSize(DType dtype) {
  internal::CheckDType(dtype);
  return internal::SizeOf(dtype);
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

DType ParseDType(std::string_view name) {
  if (name == "f32" || name == "float32") return DType::kF32;
  if (name == "f64" || name == "float64") return DType::kF64;
  if (name == "bf16" || name == "bfloat16") return DType::kBF16;
  if (name == "f16" || name == "float16") return DType::kF16;
  throw std::invalid_argument("unknown dtype '" + std::string(name) +
                              "' (expected f32, f64, bf16 or f16)");
}

}  // namespace fanfill
