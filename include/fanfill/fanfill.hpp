// fanfill/fanfill.hpp: reproducible, SIMD, multi-core random fills (C++20 API).
//
// Contents: dtypes, the Distribution descriptor, Fill() and its typed helpers,
// FillBits(), and run-time information (version, SIMD targets).
//
// Example:
//   std::vector<float> w(4096 * 4096);
//   fanfill::FillNormal(std::span<float>(w), /*mean=*/0.0, /*stddev=*/0.02,
//                       {.seed = 42, .stream = 7});
//
// THE REPRODUCIBILITY CONTRACT (stream version 1; never changes once released)
//   Element i of a fill is a pure function of (seed, stream, i, distribution
//   parameters, dtype). Thread count, chunking, sub-ranges, buffer alignment
//   and the SIMD target change nothing: FillOptions::first_index = f fills the
//   slice [f, f + count) of the logical stream, equal to the same slice of one
//   big fill.
//
//   Bits. Block b of a stream is Philox4x32-10 (see philox.h) with
//   key = (seed low, seed high) and counter = (b low, b high, stream low,
//   stream high); it yields words w0..w3.
//
//   Word -> element map.
//   * bits, and f32/bf16/f16/FP8 uniform and truncated normal: element i is
//     word i mod 4 of block i / 4.
//   * f32/bf16/f16/FP8 normal: block n gives elements 4n..4n+3; words (w0, w1) are
//     the Box-Muller pair for elements (4n, 4n+1), words (w2, w3) for
//     (4n+2, 4n+3). The first word of a pair is the radius, the second the
//     angle; the first element of a pair is r*cos(theta), the second r*sin(theta).
//   * f64: block n gives elements 2n and 2n+1. The 64-bit value
//     x = (w1 << 32 | w0) makes element 2n's uniform and (w3 << 32 | w2) makes
//     element 2n+1's; for normal, the first is the radius and the second the
//     angle of one Box-Muller pair (2n = r*cos, 2n+1 = r*sin).
//
//   Uniforms made from words (all exact in the arithmetic type):
//   * f32 uniform:   u = (w >> 8) * 2^-24            in [0, 1)
//   * f64 uniform:   u = (x >> 11) * 2^-53           in [0, 1)
//   * f32 radius:    u = (w + 1/2) * 2^-32           in (0, 1): never 0, all 32
//                    bits kept, so |z| reaches sqrt(66 ln 2) = 6.76
//   * f64 radius:    u = ((x >> 11) + 1) * 2^-53     in (0, 1]: |z| up to 8.57
//   * f32 angle:     theta = 2*pi * ((w >> 8) + 1/2) * 2^-24
//   * f64 angle:     theta = 2*pi * ((x >> 11) + 1/2) * 2^-53
//   * truncated-normal uniforms: f32 ((w >> 9) + 1/2) * 2^-23,
//                                f64 ((x >> 12) + 1/2) * 2^-52, in (0, 1)
//     (one bit fewer than the uniform so that the value is exact in the type).
//   Box-Muller: r = sqrt(-2 ln u_radius), z = (r cos theta, r sin theta).
//   The value written is mean + stddev * z (one fused multiply-add), rounded
//   to the output type.
//
//   Uniform(low, high): low + (high - low) * u, then clamped so that the stored
//   value lies in [low, high) (the largest representable value below high at
//   most; computed in float for f32/bf16/f16, in double for f64).
//   TruncatedNormal(mean, stddev, low, high): inverse-CDF sampling, no
//   rejection: z = Phi^-1(Phi(a) + u (Phi(b) - Phi(a))) with a, b the
//   standardized bounds (mirrored so that the smaller tail is the one sampled),
//   stored value clamped into [low, high]; low = -inf or high = +inf is no
//   bound on that side (the fill equals the one with a finite bound beyond
//   the values' reach, bit for bit). Refused: NaN bounds, an interval entirely
//   beyond 5 stddev from the mean, one holding fewer than 2^12 steps of p's
//   arithmetic where the dtype has more values in it (too narrow for stddev:
//   that few distinct values), and, computing in float, a mean or stddev
//   (after the scale) beyond the float range.
//   bf16 and f16 are computed in float and rounded to nearest even. For the
//   bounded distributions the float value is first clamped to the bounds as
//   represented in the output type, so a value that would round up to `high`
//   is stored as the largest bf16/f16 value below it.
//
//   FP8 (kF8E4M3 = torch.float8_e4m3fn, kF8E5M2 = torch.float8_e5m2): computed
//   in float exactly as f32 and rounded once to nearest even exactly as
//   torch 2.13's Tensor.to(float8_*) (for E4M3 torch saturates at +-448; the
//   fills refuse any distribution that could get there, or reach an
//   infinity, and any whose stddev -- uniform: (high - low) / sqrt(12) --
//   divided by the scale is below the smallest normal, 2^-6 E4M3 / 2^-14
//   E5M2; the messages name a power-of-two scale that fits).
//   Per-tensor scale (Distribution::scale, default 1): the stored value is
//   (mean + stddev z) / scale in one pass: mean, stddev, low and high are
//   each divided by the scale in double, and the fill is the unscaled fill
//   of those parameters (so scale 1 changes no bit).
//
//   Bit-identical on every SIMD target and equal to the scalar reference that
//   uses std::fma (targets without hardware FMA call std::fma per lane, which is
//   exact but slower).
//
// Accuracy (tests/accuracy_test.cc, against long-double formulas on the same
// words; limits asserted there):
//   f32 normal, end to end    max 3.19 ulp, mean 0.47 ulp (1.7e7 samples)
//   f64 normal, end to end    max 2.96 ulp, mean 0.46 ulp (4.2e6 samples)
//   f32 -2 ln u (radius)      max 1.37 ulp over 1.7e7 words incl. both ends
//   f32 cos/sin(2 pi u)       max 1.48 ulp over all 2^24 angles
//   log (f32, f64)            max 0.80 / 0.74 ulp
//   inverse normal CDF        f32: max abs error 1.4e-6, relative 5.3e-7 for
//   (truncated normal)        |z| >= 0.1; the f64 path uses the same
//                             single-precision erfinv: relative 1.3e-7 --
//                             f64 truncated normal is NOT double-accurate.
//
// Thread safety: all fill functions may be called concurrently from any
// threads on disjoint outputs. ForceTarget() is global and not thread-safe.
//
// Errors: std::invalid_argument with a message naming the problem; nothing is
// written to the output when a fill throws.
#ifndef FANFILL_FANFILL_HPP_
#define FANFILL_FANFILL_HPP_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fanfill/philox.h"

namespace fanfill {

// kF8E4M3 is torch.float8_e4m3fn / ml_dtypes float8_e4m3fn (no infinities,
// max 448); kF8E5M2 is torch.float8_e5m2 (IEEE-like, max 57344).
enum class DType : int { kF32 = 0, kF64 = 1, kBF16 = 2, kF16 = 3, kF8E4M3 = 4, kF8E5M2 = 5 };

// Storage types for the 16- and 8-bit floats: the raw bit pattern.
struct BFloat16 {
  uint16_t bits;
};
struct Float16 {
  uint16_t bits;
};
struct Float8E4M3 {
  uint8_t bits;
};
struct Float8E5M2 {
  uint8_t bits;
};

size_t DTypeSize(DType dtype);       // bytes per element; throws on unknown dtype
const char* DTypeName(DType dtype);  // "f32", "f64", "bf16", "f16", "f8e4m3", "f8e5m2"
// f32/float32, f64/float64, bf16/bfloat16, f16/float16, f8e4m3/float8_e4m3fn,
// f8e5m2/float8_e5m2; throws std::invalid_argument.
DType ParseDType(std::string_view name);

template <class T>
inline constexpr bool kIsFillable =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, BFloat16> ||
    std::is_same_v<T, Float16> || std::is_same_v<T, Float8E4M3> || std::is_same_v<T, Float8E5M2>;
template <class T>
inline constexpr DType kDTypeOf = DType::kF32;
template <>
inline constexpr DType kDTypeOf<double> = DType::kF64;
template <>
inline constexpr DType kDTypeOf<BFloat16> = DType::kBF16;
template <>
inline constexpr DType kDTypeOf<Float16> = DType::kF16;
template <>
inline constexpr DType kDTypeOf<Float8E4M3> = DType::kF8E4M3;
template <>
inline constexpr DType kDTypeOf<Float8E5M2> = DType::kF8E5M2;

// What to draw. Build one with the named constructors; the fields are what a
// scheme (He, Glorot, ...) chooses.
struct Distribution {
  enum class Kind : int { kUniform = 0, kNormal = 1, kTruncatedNormal = 2 };
  Kind kind = Kind::kNormal;
  double mean = 0.0;    // normal, truncated normal
  double stddev = 1.0;  // normal, truncated normal
  double low = 0.0;     // uniform [low, high); truncated normal [low, high]
  double high = 1.0;
  // Per-tensor scale (meant for FP8): the value stored is the drawn value
  // divided by scale, computed in one pass (see the contract above). Finite,
  // > 0 and a normal float32 once rounded to float ([2^-126, FLT_MAX]; FP8
  // scales are kept as float32); 1 leaves every output bit as it is without
  // the field.
  double scale = 1.0;

  // A copy with this scale.
  Distribution WithScale(double s) const {
    Distribution d = *this;
    d.scale = s;
    return d;
  }

  static Distribution Uniform(double low, double high) {
    return {Kind::kUniform, 0.0, 0.0, low, high};
  }
  static Distribution Normal(double mean, double stddev) {
    return {Kind::kNormal, mean, stddev, 0.0, 0.0};
  }
  // low/high are absolute bounds (PyTorch trunc_normal_ convention).
  static Distribution TruncatedNormal(double mean, double stddev, double low, double high) {
    return {Kind::kTruncatedNormal, mean, stddev, low, high};
  }
};

struct StreamKey {
  uint64_t seed = 0;
  uint64_t stream = 0;
};

struct FillOptions {
  uint64_t first_index = 0;  // logical index of out[0]
  // 0: use the current oneTBB arena (all cores, or what tbb::global_control /
  // an enclosing task_arena allows). 1: run serially on the calling thread.
  // n > 1: at most n threads, and never more than tbb::global_control's
  // max_allowed_parallelism (by default the hardware concurrency; asking
  // oneTBB for more would only print a warning).
  int max_threads = 0;
};

// Fills out[0, count) with elements [first_index, first_index + count) of the
// stream. Throws std::invalid_argument on bad input (null out with count > 0,
// index overflow, non-finite or negative stddev, empty or NaN bounds, infinite
// ones except a truncated normal's (low = -inf or high = +inf: no bound there),
// values the dtype cannot hold, unknown dtype); then nothing is written.
void Fill(void* out, DType dtype, uint64_t count, const Distribution& dist, StreamKey key,
          const FillOptions& options = {});

// Raw Philox words: out[k] = word (i mod 4) of block i / 4, i = first_index + k.
void FillBits(uint32_t* out, uint64_t count, StreamKey key, const FillOptions& options = {});

template <class T>
void Fill(std::span<T> out, const Distribution& dist, StreamKey key,
          const FillOptions& options = {}) {
  static_assert(kIsFillable<T>,
                "fanfill fills float, double, BFloat16, Float16, Float8E4M3 or Float8E5M2");
  Fill(out.data(), kDTypeOf<T>, out.size(), dist, key, options);
}
template <class T>
void FillUniform(std::span<T> out, double low, double high, StreamKey key,
                 const FillOptions& options = {}) {
  Fill(out, Distribution::Uniform(low, high), key, options);
}
template <class T>
void FillNormal(std::span<T> out, double mean, double stddev, StreamKey key,
                const FillOptions& options = {}) {
  Fill(out, Distribution::Normal(mean, stddev), key, options);
}
template <class T>
void FillTruncatedNormal(std::span<T> out, double mean, double stddev, double low, double high,
                         StreamKey key, const FillOptions& options = {}) {
  Fill(out, Distribution::TruncatedNormal(mean, stddev, low, high), key, options);
}

// Run-time information.
const char* Version();                      // "MAJOR.MINOR.PATCH"
std::string ActiveTarget();                 // SIMD target fills use now, e.g. "AVX2"
std::vector<std::string> CompiledTargets(); // all compiled in, best first
std::vector<std::string> SupportedTargets();  // compiled in and runnable on this CPU
// Restricts dispatch to one target by name ("AVX3", "AVX2", "SSE4", "SCALAR"...;
// case-insensitive). Throws std::invalid_argument if it is not compiled in or
// this CPU cannot run it. ForceTarget("auto") restores the best one.
void ForceTarget(std::string_view name);

}  // namespace fanfill

#endif  // FANFILL_FANFILL_HPP_
