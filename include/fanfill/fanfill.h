/* fanfill/fanfill.h: the C API of fanfill (reproducible SIMD random fills).
 *
 * A thin layer over the C++ API (fanfill.hpp), for engines written in C, Rust
 * or Python ctypes. The reproducibility contract (which Philox word makes which
 * element) is documented in fanfill.hpp and README.md and holds here unchanged.
 *
 * Every function returns FANFILL_OK (0) on success or a negative
 * fanfill_status on error; then fanfill_last_error() returns a message for the
 * calling thread and nothing has been written to `out`.
 *
 * Example:
 *   float w[1024];
 *   if (fanfill_fill_normal(w, FANFILL_F32, 1024, 0, 0.0, 0.02, 42, 7) != 0)
 *     fprintf(stderr, "%s\n", fanfill_last_error());
 *
 * The initialization schemes' C API (fanfill_init, fanfill_describe,
 * fanfill_stream_id) is fanfill/schemes.h, in the full library
 * (fanfill::fanfill); this header is the core's (fanfill::core).
 *
 * Thread safety: all functions may be called concurrently; the error message
 * is thread-local. Parallelism: fills use all cores of the current oneTBB
 * arena (fanfill_set_max_threads limits them).
 */
#ifndef FANFILL_FANFILL_H_
#define FANFILL_FANFILL_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  FANFILL_F32 = 0,
  FANFILL_F64 = 1,
  FANFILL_BF16 = 2,
  FANFILL_F16 = 3,
  /* FP8, one byte per element, rounded from float to nearest even exactly as
   * torch.Tensor.to(torch.float8_e4m3fn / torch.float8_e5m2):
   * E4M3 = float8_e4m3fn (no infinities, max 448, smallest normal 2^-6),
   * E5M2 = float8_e5m2 (IEEE-like, max 57344, smallest normal 2^-14).
   * A fill whose values could round to NaN/inf, or whose stddev (uniform:
   * (high - low) / sqrt(12); truncated normal: the truncated one), divided by
   * the scale, is below the smallest normal, is refused; the message names a
   * power-of-two scale that fits. Pass a per-tensor scale with the *_scaled
   * fills or fanfill_init_scaled (schemes.h): the value stored is the
   * drawn value divided by scale (parameters divided in double, one fused
   * pass in float; see README.md, "FP8"). */
  FANFILL_F8E4M3 = 4,
  FANFILL_F8E5M2 = 5,
  /* Reserved, never valid: they make the type span all of int32, so that any
   * value a caller passes (from C, Rust, ctypes) is a value of this type and
   * is rejected with FANFILL_ERR_INVALID_ARGUMENT instead of being undefined
   * behaviour in the C++ implementation. */
  FANFILL_DTYPE_RESERVED_MIN_ = -2147483647 - 1,
  FANFILL_DTYPE_RESERVED_MAX_ = 2147483647
} fanfill_dtype;

typedef enum {
  FANFILL_OK = 0,
  FANFILL_ERR_INVALID_ARGUMENT = -1, /* bad pointer, dtype, parameters or range */
  FANFILL_ERR_INTERNAL = -2          /* an unexpected failure (e.g. out of memory) */
} fanfill_status;

/* One Philox4x32-10 block: out = philox4x32_10(ctr, key). */
int fanfill_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Element i (= first_index + k, written to out[k]) is word i mod 4 of block i/4. */
int fanfill_fill_bits(uint32_t* out, uint64_t count, uint64_t first_index, uint64_t seed,
                      uint64_t stream);

/* Values in [low, high). */
int fanfill_fill_uniform(void* out, fanfill_dtype dtype, uint64_t count, uint64_t first_index,
                         double low, double high, uint64_t seed, uint64_t stream);

int fanfill_fill_normal(void* out, fanfill_dtype dtype, uint64_t count, uint64_t first_index,
                        double mean, double stddev, uint64_t seed, uint64_t stream);

/* low/high are absolute bounds; values in [low, high]; low = -INFINITY or
 * high = INFINITY is no bound on that side. Refused as
 * fanfill::FillTruncatedNormal (fanfill.hpp): NaN bounds, intervals beyond 5
 * stddev or too narrow for stddev, values the dtype cannot hold (where a side
 * is unbounded: as far as the sampler can reach on that side, mean +-
 * sqrt(-2 ln(u_min P)) stddev for P the interval's probability, u_min 2^-24 in
 * float and 2^-53 in double: 5.9 stddev for a half-normal in float),
 * and mean or stddev beyond float for the float dtypes. */
int fanfill_fill_truncated_normal(void* out, fanfill_dtype dtype, uint64_t count,
                                  uint64_t first_index, double mean, double stddev, double low,
                                  double high, uint64_t seed, uint64_t stream);

/* The same fills with a per-tensor scale (finite, > 0 and a normal float32
 * once rounded to float, [2^-126, FLT_MAX]: scales are kept as float32, so
 * one that rounds to 0, a subnormal or inf is refused): every value stored
 * is the drawn value divided by scale (meant for FP8; scale 1 is the plain
 * fill, bit for bit). */
int fanfill_fill_uniform_scaled(void* out, fanfill_dtype dtype, uint64_t count,
                                uint64_t first_index, double low, double high, double scale,
                                uint64_t seed, uint64_t stream);
int fanfill_fill_normal_scaled(void* out, fanfill_dtype dtype, uint64_t count,
                               uint64_t first_index, double mean, double stddev, double scale,
                               uint64_t seed, uint64_t stream);
int fanfill_fill_truncated_normal_scaled(void* out, fanfill_dtype dtype, uint64_t count,
                                         uint64_t first_index, double mean, double stddev,
                                         double low, double high, double scale, uint64_t seed,
                                         uint64_t stream);

/* Threads used by later fills from the calling thread: 0 = all (default), 1 = serial;
 * n > 1 is capped at oneTBB's max_allowed_parallelism (by default the hardware
 * concurrency), so a large n is "all" without oneTBB's warning on stderr. */
int fanfill_set_max_threads(int max_threads);

const char* fanfill_last_error(void); /* "" when the last call succeeded */
const char* fanfill_version(void);
const char* fanfill_target(void); /* the SIMD target in use, e.g. "AVX2" */

#ifdef __cplusplus
}
#endif

#endif /* FANFILL_FANFILL_H_ */
