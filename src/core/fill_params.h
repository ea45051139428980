// The validated, precomputed form of one fill's distribution, shared by the
// kernels (fill-inl.h), the scalar reference (reference.cc), the parallel
// driver (dispatch.cc) and every caller that fills ranges (blocks, prepared
// inits, the CLI through PreparedInit). It holds no stream key: one set of
// parameters serves any (seed, stream). Internal: not installed.
//
// Validation happens once, in MakeFillParams (fill.cc), at the public edge;
// Run and the kernels assume valid arguments.
#ifndef FANFILL_SRC_CORE_FILL_PARAMS_H_
#define FANFILL_SRC_CORE_FILL_PARAMS_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fanfill/fanfill.hpp"

namespace fanfill::internal {

struct FillParams {
  // Raw Philox words (FillBits): 32-bit lanes, no transform; kind and dtype unused.
  bool bits = false;
  Distribution::Kind kind = Distribution::Kind::kNormal;
  DType dtype = DType::kF32;
  // f32/bf16/f16/FP8 path: value = clamp(fma(x, scale, offset), lo, hi) in
  // float, x the standard variate (uniform in [0,1), N(0,1), or truncated
  // N(0,1)); Distribution::scale is already divided into scale, offset, lo
  // and hi (MakeFillParams).
  float f_scale = 1, f_offset = 0, f_lo = 0, f_hi = 0;
  // Truncated normal: p = pa + u pspan and q = qa - u pspan, qa = 1 - pa.
  float f_pa = 0, f_pspan = 0, f_qa = 0;
  // f64 path, same meaning.
  double d_scale = 1, d_offset = 0, d_lo = 0, d_hi = 0;
  double d_pa = 0, d_pspan = 0, d_qa = 0;
  // Truncated normal, float: every exact u pspan + pa and qa - u pspan is a
  // double (SumsExactInDouble), so targets without FMA instructions compute
  // p and q in double without a rounding test (FmaExactInDouble).
  bool f_pq_exact_in_double = false;
};

// What a per-target kernel call (FillRange in fill-inl.h) takes: the
// parameters and the stream key, by one reference into the caller's memory.
// The batch loops (FillWithBatches, one function per kind and dtype) hold a
// reference to the parameters and a copy of the key. Measured with GCC 12
// (objdump of the hot blocks, callgrind): every other arrangement tried let
// GCC either hoist and spill the round-key broadcasts (AVX3) or spill loop
// state (AVX2, SCALAR); this one has fewer spills than the pre-split kernels.
struct KernelArgs {
  FillParams p;
  StreamKey key;
};

// Bytes per output element: 4 for raw bits, else the dtype's size.
inline constexpr size_t ElementBytes(const FillParams& p) {
  return p.bits ? 4
         : p.dtype == DType::kF64                                   ? 8
         : p.dtype == DType::kF32                                   ? 4
         : p.dtype == DType::kF8E4M3 || p.dtype == DType::kF8E5M2 ? 1
                                                                    : 2;
}

// Whether u s + c is a double (exactly) for every truncated-normal uniform
// u = K 2^-24 (OpenUniformF32: 0 < K < 2^24) and floats s, c that are 0 or
// normal: with e_s, e_c their exponents (floor log2 of the magnitude), u s
// is a multiple of 2^(e_s - 47) (s's last bit 2^(e_s - 23) times u's 2^-24)
// and c one of 2^(e_c - 23), so the sum is a multiple of L = 2^min(e_s - 47,
// e_c - 23) below 2^(max(e_s, e_c) + 2) in magnitude (|u s| < 2^(e_s + 1),
// |c| < 2^(e_c + 1)): at most 53 bits of L when the exponents allow it.
inline bool SumsExactInDouble(float s, float c) {
  auto zero_or_normal = [](float x) {
    return x == 0 || (std::isfinite(x) && std::fabs(x) >= 0x1.0p-126f);
  };
  if (!zero_or_normal(s) || !zero_or_normal(c)) return false;
  if (s == 0 || c == 0) return true;  // c alone, or a product of 24 x 24 bits
  const int e_s = std::ilogb(s), e_c = std::ilogb(c);
  return std::max(e_s, e_c) + 2 - std::min(e_s - 47, e_c - 23) <= 53;
}

// The f32/bf16/f16/FP8 kernels compute in float: their parameters are the double
// ones rounded once.
inline void DeriveFloatParams(FillParams& p) {
  p.f_scale = static_cast<float>(p.d_scale);
  p.f_offset = static_cast<float>(p.d_offset);
  p.f_lo = static_cast<float>(p.d_lo);
  p.f_hi = static_cast<float>(p.d_hi);
  p.f_pa = static_cast<float>(p.d_pa);
  p.f_pspan = static_cast<float>(p.d_pspan);
  p.f_qa = static_cast<float>(p.d_qa);
  // q = -u pspan + qa: the same products, negated.
  p.f_pq_exact_in_double =
      SumsExactInDouble(p.f_pspan, p.f_pa) && SumsExactInDouble(p.f_pspan, p.f_qa);
}

// Validates a distribution for a dtype and precomputes its parameters; throws
// std::invalid_argument naming the problem ("normal: stddev must be ...").
FillParams MakeFillParams(DType dtype, const Distribution& dist);
// FP8 only (a no-op for the other dtypes): throws std::invalid_argument when
// values of standard deviation `spread` (before the scale) would be stored
// below the format's smallest normal, naming the power-of-two scale that
// fixes it (or saying none fits, given the largest magnitude `reach`). The
// check MakeFillParams makes; exposed for the schemes whose values are not
// one distribution (orthogonal).
void CheckF8Spread(double spread, double reach, double scale, DType dtype, const char* what);
inline FillParams BitsParams() {
  FillParams p;
  p.bits = true;
  return p;
}

// Checks out/count/first_index; throws std::invalid_argument.
void CheckRange(const void* out, uint64_t count, uint64_t first_index);
// Checks a max_threads option (>= 0); `fn` prefixes the message when not null.
void CheckMaxThreads(int max_threads, const char* fn = nullptr);

// The concurrency of the task_arena for max_threads > 1: max_threads, capped
// at what tbb::global_control's max_allowed_parallelism allows now (by default
// the hardware concurrency). oneTBB never gives an arena more threads than
// that, and when one asks for more it prints a warning on stderr ("TBB
// Warning: The number of workers is currently limited to ..."), so the cap
// changes nothing but the warning.
int ArenaConcurrency(int max_threads);

// dispatch.cc: fills out[0, count) with elements [first, first + count) of
// stream `key` on up to max_threads threads (0: the current oneTBB arena, 1:
// serial). Arguments are valid (see above): nothing is checked here.
void Run(const FillParams& p, StreamKey key, void* out, uint64_t first, uint64_t count,
         int max_threads);

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_CORE_FILL_PARAMS_H_
