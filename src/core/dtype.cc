#include "src/core/dtype.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include "src/core/common.h"
#include "src/core/fp_env.h"

namespace fanfill {
namespace internal {
namespace {

// Element i of an output of Ts at `out`, stored through memcpy: the outputs
// need no alignment for T (a tensor inside a byte buffer, e.g. a safetensors
// file), as the fills' own stores need none.
template <class T>
void Put(void* out, uint64_t i, T value) {
  std::memcpy(static_cast<unsigned char*>(out) + i * sizeof(T), &value, sizeof(T));
}

template <class T>
void FillWith(void* out, uint64_t count, T value) {
  for (uint64_t i = 0; i < count; ++i) Put(out, i, value);
}

}  // namespace

void CheckDType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kF64:
    case DType::kBF16:
    case DType::kF16:
    case DType::kF8E4M3:
    case DType::kF8E5M2:
      return;
  }
  throw std::invalid_argument("unknown dtype " + std::to_string(static_cast<int>(dtype)) +
                              " (expected f32, f64, bf16, f16, f8e4m3 or f8e5m2)");
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
    case DType::kF8E4M3:
      return 448.0;
    case DType::kF8E5M2:
      return 57344.0;
  }
  return 0.0;
}

double MinNormal(DType dtype) {
  switch (dtype) {
    case DType::kF64:
      return std::numeric_limits<double>::min();
    case DType::kF32:
    case DType::kBF16:
      return std::numeric_limits<float>::min();
    case DType::kF16:
    case DType::kF8E5M2:
      return 0x1.0p-14;
    case DType::kF8E4M3:
      return 0x1.0p-6;
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
    case DType::kF8E4M3:
      return F8E4M3BitsToFloat(FloatToF8E4M3Bits(static_cast<float>(x)));
    case DType::kF8E5M2:
      return F8E5M2BitsToFloat(FloatToF8E5M2Bits(static_cast<float>(x)));
  }
  return x;
}

bool Overflows(double v, DType dtype) {
  if (dtype == DType::kF8E4M3) return !(std::fabs(static_cast<float>(v)) <= 464.0f);
  return !std::isfinite(RoundTo(v, dtype));
}

double Step(double v, DType dtype, bool up) {
  const double inf = up ? HUGE_VAL : -HUGE_VAL;
  if (dtype == DType::kF64) return std::nextafter(v, inf);
  if (dtype == DType::kF32) {
    return std::nextafterf(static_cast<float>(v), static_cast<float>(inf));
  }
  const float f = static_cast<float>(v);
  // 8- and 16-bit: step the sign-magnitude pattern in the ordered-integer sense.
  auto step = [up](uint32_t bits, uint32_t sign) {
    int32_t ordered = (bits & sign) ? -static_cast<int32_t>(bits & (sign - 1))
                                    : static_cast<int32_t>(bits);
    ordered += up ? 1 : -1;
    return ordered < 0 ? sign | static_cast<uint32_t>(-ordered) : static_cast<uint32_t>(ordered);
  };
  if (IsF8(dtype)) {
    const bool e4m3 = dtype == DType::kF8E4M3;
    const auto next =
        static_cast<uint8_t>(step(e4m3 ? FloatToF8E4M3Bits(f) : FloatToF8E5M2Bits(f), 0x80));
    return e4m3 ? F8E4M3BitsToFloat(next) : F8E5M2BitsToFloat(next);
  }
  const bool bf16 = dtype == DType::kBF16;
  const auto next = static_cast<uint16_t>(step(bf16 ? FloatToBF16Bits(f) : FloatToF16Bits(f), 0x8000));
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
      return Put(out, i, static_cast<float>(v));
    case DType::kF64:
      return Put(out, i, v);
    case DType::kBF16:
      return Put(out, i, FloatToBF16Bits(static_cast<float>(v)));
    case DType::kF16:
      return Put(out, i, FloatToF16Bits(static_cast<float>(v)));
    case DType::kF8E4M3:
      return Put(out, i, FloatToF8E4M3Bits(static_cast<float>(v)));
    case DType::kF8E5M2:
      return Put(out, i, FloatToF8E5M2Bits(static_cast<float>(v)));
  }
}

void StoreConstant(void* out, DType dtype, uint64_t count, double v) {
  const DefaultFpEnvironment fp_env;  // a subnormal constant stays one (fp_env.h)
  switch (dtype) {
    case DType::kF32:
      return FillWith(out, count, static_cast<float>(v));
    case DType::kF64:
      return FillWith(out, count, v);
    case DType::kBF16:
      return FillWith(out, count, FloatToBF16Bits(static_cast<float>(v)));
    case DType::kF16:
      return FillWith(out, count, FloatToF16Bits(static_cast<float>(v)));
    case DType::kF8E4M3:
      return FillWith(out, count, FloatToF8E4M3Bits(static_cast<float>(v)));
    case DType::kF8E5M2:
      return FillWith(out, count, FloatToF8E5M2Bits(static_cast<float>(v)));
  }
}

void StoreAll(void* out, DType dtype, const double* values, uint64_t count) {
  auto store = [&](auto convert) {
    for (uint64_t i = 0; i < count; ++i) Put(out, i, convert(values[i]));
  };
  switch (dtype) {
    case DType::kF32:
      return store([](double v) { return static_cast<float>(v); });
    case DType::kF64:
      return store([](double v) { return v; });
    case DType::kBF16:
      return store([](double v) { return FloatToBF16Bits(static_cast<float>(v)); });
    case DType::kF16:
      return store([](double v) { return FloatToF16Bits(static_cast<float>(v)); });
    case DType::kF8E4M3:
      return store([](double v) { return FloatToF8E4M3Bits(static_cast<float>(v)); });
    case DType::kF8E5M2:
      return store([](double v) { return FloatToF8E5M2Bits(static_cast<float>(v)); });
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
    case DType::kF8E4M3:
      return "f8e4m3";
    case DType::kF8E5M2:
      return "f8e5m2";
  }
  return "unknown";
}

DType ParseDType(std::string_view name) {
  if (name == "f32" || name == "float32") return DType::kF32;
  if (name == "f64" || name == "float64") return DType::kF64;
  if (name == "bf16" || name == "bfloat16") return DType::kBF16;
  if (name == "f16" || name == "float16") return DType::kF16;
  if (name == "f8e4m3" || name == "float8_e4m3fn") return DType::kF8E4M3;
  if (name == "f8e5m2" || name == "float8_e5m2") return DType::kF8E5M2;
  throw std::invalid_argument("unknown dtype '" + internal::PrintableText(name) +
                              "' (expected f32, f64, bf16, f16, f8e4m3 or f8e5m2)");
}

}  // namespace fanfill
