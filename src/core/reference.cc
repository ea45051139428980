// Scalar twins of transforms-inl.h and fill-inl.h. Each function below performs the same IEEE
// operations in the same order as its vector counterpart (named in the
// comment); std::fma stands for Fma. Compiled with -ffp-contract=off.
#include "src/core/reference.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>

#include "fanfill/philox.h"
#include "src/core/dtype.h"
#include "src/core/transform_constants.h"

namespace fanfill::internal {
namespace {

template <class T, class C, size_t N>
T PolyAscending(T z, const std::array<C, N>& c) {
  T acc = static_cast<T>(c[N - 1]);
  for (size_t i = N - 1; i-- > 0;) acc = std::fma(acc, z, static_cast<T>(c[i]));
  return acc;
}

template <class T, class C, size_t N>
T PolyDescending(T z, const std::array<C, N>& c) {
  T acc = static_cast<T>(c[0]);
  for (size_t i = 1; i < N; ++i) acc = std::fma(acc, z, static_cast<T>(c[i]));
  return acc;
}

// Max/Min with the x86 operand order the kernels use: Max(a, b) = a > b ? a : b.
template <class T>
T Clamp(T x, T lo, T hi) {
  const T m = x > lo ? x : lo;
  return m < hi ? m : hi;
}

template <class T>
T LogReduced(T e, T f) {  // kernels: LogReduced
  using C = TransformConstants<T>;
  const T s = f / (T(2) + f);
  const T z = s * s;
  const T r = z * PolyAscending(z, C::kLogR);
  const T hfsq = T(0.5) * (f * f);
  const T t = std::fma(s, hfsq + r, e * C::kLn2Lo);
  return std::fma(e, C::kLn2Hi, f - (hfsq - t));
}

template <class T>
T LogPositive(T x) {  // kernels: LogPositive
  using C = TransformConstants<T>;
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  using I = std::make_signed_t<U>;
  constexpr int kMantBits = sizeof(T) == 4 ? 23 : 52;
  const U bits = std::bit_cast<U>(x);
  const I e = static_cast<I>(bits - static_cast<U>(C::kSqrtHalfBits)) >> kMantBits;
  const T m = std::bit_cast<T>(bits - (static_cast<U>(e) << kMantBits));
  return LogReduced(static_cast<T>(e), m - T(1));
}

template <class T, class U>
void SinCosQuadrant(T x, U k, T& cos_out, T& sin_out) {  // kernels: SinCosQuadrant
  using C = TransformConstants<T>;
  const T z = x * x;
  const T sin_x = std::fma(x * z, PolyAscending(z, C::kSin), x);
  const T cos_x = std::fma(z, PolyAscending(z, C::kCos), T(1));
  const bool swap = (k & 1) != 0;
  const T c = swap ? sin_x : cos_x;
  const T s = swap ? cos_x : sin_x;
  cos_out = ((k + 1) & 2) ? -c : c;
  sin_out = (k & 2) ? -s : s;
}

template <class T>
T InverseNormalCdf(T p, T q) {  // kernels: InverseNormalCdf
  const T w = -LogPositive((p * q) * T(4));
  const T central = PolyDescending(w - T(2.5), kErfinvCentral);
  const T tail = PolyDescending(std::sqrt(w) - T(3), kErfinvTail);
  const T poly = w < T(5) ? central : tail;
  return ((p - q) * poly) * static_cast<T>(1.41421356237309504880);
}

template <class T>
T TruncatedStandard(T u, T pa, T pspan, T qa) {  // kernels: TruncatedStandard
  const T p = std::fma(u, pspan, pa);
  const T q = std::fma(-u, pspan, qa);
  return InverseNormalCdf(p, q);
}

float UniformF32(uint32_t w) {  // kernels: UniformF32
  return static_cast<float>(static_cast<int32_t>(w >> 8)) * 0x1.0p-24f;
}

float OpenUniformF32(uint32_t w) {  // kernels: OpenUniformF32
  return static_cast<float>(static_cast<int32_t>(((w >> 9) << 1) | 1u)) * 0x1.0p-24f;
}

// One f32-path element (before conversion to bf16/f16/FP8): element `lane` of block words w.
float ElementF32(const FillParams& p, const PhiloxBlock& w, unsigned lane) {
  switch (p.kind) {
    case Distribution::Kind::kUniform:
      return Clamp(std::fma(UniformF32(w[lane]), p.f_scale, p.f_offset), p.f_lo, p.f_hi);
    case Distribution::Kind::kNormal: {
      const unsigned pair = lane & 2u;
      const float r = std::sqrt(RefMinusTwoLogRadius(w[pair]));
      float c, s;
      RefSinCosAngleF32(w[pair + 1], c, s);
      return std::fma(r * ((lane & 1u) ? s : c), p.f_scale, p.f_offset);
    }
    case Distribution::Kind::kTruncatedNormal: {
      const float z = TruncatedStandard(OpenUniformF32(w[lane]), p.f_pa, p.f_pspan, p.f_qa);
      return Clamp(std::fma(z, p.f_scale, p.f_offset), p.f_lo, p.f_hi);
    }
  }
  return 0.0f;
}

double ElementF64(const FillParams& p, const PhiloxBlock& w, unsigned lane) {
  const uint64_t x01 = (uint64_t{w[1]} << 32) | w[0];
  const uint64_t x23 = (uint64_t{w[3]} << 32) | w[2];
  const uint64_t x = lane == 0 ? x01 : x23;
  switch (p.kind) {
    case Distribution::Kind::kUniform: {
      const double u = static_cast<double>(static_cast<int64_t>(x >> 11)) * 0x1.0p-53;
      return Clamp(std::fma(u, p.d_scale, p.d_offset), p.d_lo, p.d_hi);
    }
    case Distribution::Kind::kNormal: {
      const double u =
          (static_cast<double>(static_cast<int64_t>(x01 >> 11)) + 1.0) * 0x1.0p-53;
      const double r = std::sqrt(LogPositive(u) * -2.0);
      double c, s;
      RefSinCosAngleF64(x23, c, s);
      return std::fma(r * (lane == 0 ? c : s), p.d_scale, p.d_offset);
    }
    case Distribution::Kind::kTruncatedNormal: {
      const uint64_t odd = ((x >> 12) << 1) | 1u;
      const double u = static_cast<double>(static_cast<int64_t>(odd)) * 0x1.0p-53;
      const double z = TruncatedStandard(u, p.d_pa, p.d_pspan, p.d_qa);
      return Clamp(std::fma(z, p.d_scale, p.d_offset), p.d_lo, p.d_hi);
    }
  }
  return 0.0;
}

}  // namespace

float RefMinusTwoLogRadius(uint32_t w) {  // kernels: MinusTwoLogRadius
  using C = TransformConstants<float>;
  const float hi = static_cast<float>(static_cast<int32_t>(w >> 8)) * 0x1.0p-24f;
  const float lo = static_cast<float>(static_cast<int32_t>(((w & 0xFFu) << 1) + 1u)) * 0x1.0p-33f;
  const float u = hi + lo;
  const int32_t e = static_cast<int32_t>(std::bit_cast<uint32_t>(u) - C::kSqrtHalfBits) >> 23;
  const float scale = std::bit_cast<float>(static_cast<uint32_t>(127 - e) << 23);
  const float f = (hi * scale - 1.0f) + lo * scale;
  return LogReduced(static_cast<float>(e), f) * -2.0f;
}

void RefSinCosAngleF32(uint32_t w, float& c, float& s) {  // kernels: SinCosAngleF32
  using C = TransformConstants<float>;
  const uint32_t t = ((w >> 8) + (1u << 21)) & 0xFFFFFFu;
  const uint32_t k = t >> 22;
  const int32_t rem = static_cast<int32_t>(t & 0x3FFFFFu) - (1 << 21);
  const float n = static_cast<float>(2 * rem + 1);
  SinCosQuadrant(std::fma(n, C::kAngleHi, n * C::kAngleLo), k, c, s);
}

void RefSinCosAngleF64(uint64_t x, double& c, double& s) {  // kernels: SinCosAngleF64
  using C = TransformConstants<double>;
  const uint64_t t = ((x >> 11) + (uint64_t{1} << 50)) & ((uint64_t{1} << 53) - 1);
  const uint64_t k = t >> 51;
  const int64_t rem = static_cast<int64_t>(t & ((uint64_t{1} << 51) - 1)) - (int64_t{1} << 50);
  const double n = static_cast<double>(2 * rem + 1);
  SinCosQuadrant(std::fma(n, C::kAngleHi, n * C::kAngleLo), k, c, s);
}

float RefLog(float x) { return LogPositive(x); }
double RefLog(double x) { return LogPositive(x); }
float RefInverseNormalCdf(float p, float q) { return InverseNormalCdf(p, q); }
double RefInverseNormalCdf(double p, double q) { return InverseNormalCdf(p, q); }

void ReferenceFill(const FillParams& p, StreamKey key, void* out, uint64_t first,
                   uint64_t count) {
  const uint64_t per_block = p.bits ? 4 : ElementsPerBlock(p.dtype);
  auto* bytes = static_cast<unsigned char*>(out);
  for (uint64_t k = 0; k < count; ++k) {
    const uint64_t i = first + k;
    const PhiloxBlock w = PhiloxBlockAt(key.seed, key.stream, i / per_block);
    const auto lane = static_cast<unsigned>(i % per_block);
    if (p.bits) {
      std::memcpy(bytes + 4 * k, &w[lane], 4);
      continue;
    }
    switch (p.dtype) {
      case DType::kF32: {
        const float v = ElementF32(p, w, lane);
        std::memcpy(bytes + 4 * k, &v, 4);
        break;
      }
      case DType::kF64: {
        const double v = ElementF64(p, w, lane);
        std::memcpy(bytes + 8 * k, &v, 8);
        break;
      }
      case DType::kBF16:
      case DType::kF16: {
        const float v = ElementF32(p, w, lane);
        const uint16_t h = p.dtype == DType::kBF16 ? FloatToBF16Bits(v) : FloatToF16Bits(v);
        std::memcpy(bytes + 2 * k, &h, 2);
        break;
      }
      case DType::kF8E4M3:
      case DType::kF8E5M2: {  // kernels: ToF8Bits
        const float v = ElementF32(p, w, lane);
        bytes[k] = p.dtype == DType::kF8E4M3 ? FloatToF8E4M3Bits(v) : FloatToF8E5M2Bits(v);
        break;
      }
    }
  }
}

}  // namespace fanfill::internal
