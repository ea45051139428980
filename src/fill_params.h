// The validated, precomputed form of one fill request, shared by the kernels
// (kernels-inl.h), the scalar reference (reference.cc) and the front end
// (fill.cc). Internal: not installed.
#ifndef FANFILL_SRC_FILL_PARAMS_H_
#define FANFILL_SRC_FILL_PARAMS_H_

#include <cstddef>
#include <cstdint>

#include "fanfill/fanfill.hpp"

namespace fanfill::internal {

enum class Kind : uint8_t { kBits, kUniform, kNormal, kTruncatedNormal };

// How an element is stored: 32-bit (u32 bits or f32), 64-bit (f64), or a
// 16-bit float made from the f32 value.
enum class Storage : uint8_t { k32, k64, kBF16, kF16 };

inline constexpr size_t StorageBytes(Storage s) {
  return s == Storage::k64 ? 8 : s == Storage::k32 ? 4 : 2;
}

// Elements per Philox block: f64 uses two words per element.
inline constexpr uint64_t ElementsPerBlock(Storage s) { return s == Storage::k64 ? 2 : 4; }

struct FillParams {
  Kind kind = Kind::kBits;
  Storage storage = Storage::k32;
  uint64_t seed = 0;
  uint64_t stream = 0;
  // f32/bf16/f16 path: value = clamp(fma(x, scale, offset), lo, hi) in float,
  // x the standard variate (uniform in [0,1), N(0,1), or truncated N(0,1)).
  float f_scale = 1, f_offset = 0, f_lo = 0, f_hi = 0;
  // Truncated normal: p = pa + u pspan and q = qa - u pspan, qa = 1 - pa.
  float f_pa = 0, f_pspan = 0, f_qa = 0;
  // f64 path, same meaning.
  double d_scale = 1, d_offset = 0, d_lo = 0, d_hi = 0;
  double d_pa = 0, d_pspan = 0, d_qa = 0;
};

// The f32/bf16/f16 kernels compute in float: their parameters are the double
// ones rounded once.
inline void DeriveFloatParams(FillParams& p) {
  p.f_scale = static_cast<float>(p.d_scale);
  p.f_offset = static_cast<float>(p.d_offset);
  p.f_lo = static_cast<float>(p.d_lo);
  p.f_hi = static_cast<float>(p.d_hi);
  p.f_pa = static_cast<float>(p.d_pa);
  p.f_pspan = static_cast<float>(p.d_pspan);
  p.f_qa = static_cast<float>(p.d_qa);
}

// Validates a request and precomputes its parameters; throws
// std::invalid_argument naming the problem.
FillParams MakeFillParams(DType dtype, const Distribution& dist, StreamKey key);
FillParams MakeBitsParams(StreamKey key);

// Fills out[0, count) with elements [first, first + count) of the stream
// described by validated parameters, on up to max_threads threads (0: the
// current oneTBB arena). For callers that fill many ranges with one set of
// parameters (block fills): validation and setup happen once.
void Run(const FillParams& p, void* out, uint64_t first, uint64_t count, int max_threads);

// Checks out/count/first_index; throws std::invalid_argument.
void CheckRange(const void* out, uint64_t count, uint64_t first_index);

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_FILL_PARAMS_H_
