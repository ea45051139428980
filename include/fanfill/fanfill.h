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

/* low/high are absolute bounds; values in [low, high]. */
int fanfill_fill_truncated_normal(void* out, fanfill_dtype dtype, uint64_t count,
                                  uint64_t first_index, double mean, double stddev, double low,
                                  double high, uint64_t seed, uint64_t stream);

/* Threads used by later fills from the calling thread: 0 = all (default), 1 = serial. */
int fanfill_set_max_threads(int max_threads);

const char* fanfill_last_error(void); /* "" when the last call succeeded */
const char* fanfill_version(void);
const char* fanfill_target(void); /* the SIMD target in use, e.g. "AVX2" */

/* ------------------------------------------------------------------------
 * Initialization schemes (C++: fanfill/schemes.hpp; table: docs/schemes.md)
 *
 * A weight is described by its shape (rank >= 0 dimensions, each >= 0), its
 * layout -- "oi" = PyTorch/ONNX [out, in, *spatial], "io" = Keras/TF/JAX
 * [*spatial, in, out] -- and a scheme spec such as
 *   "kaiming_normal(mode=fan_out, nonlinearity=leaky_relu, a=0.2)".
 * Same error rules as above: 0 or a negative status, fanfill_last_error(),
 * nothing written on error. fanfill_set_max_threads applies.
 *
 * Example:
 *   int64_t shape[4] = {64, 3, 7, 7};
 *   uint64_t stream;
 *   fanfill_stream_id("conv1.weight", &stream);
 *   fanfill_init(w, FANFILL_F32, shape, 4, "oi", "kaiming_normal(nonlinearity=relu)", 42, stream);
 * ------------------------------------------------------------------------ */

typedef enum {
  FANFILL_SCHEME_UNIFORM = 0,          /* one uniform fill [low, high) */
  FANFILL_SCHEME_NORMAL = 1,           /* one normal fill */
  FANFILL_SCHEME_TRUNCATED_NORMAL = 2, /* one truncated-normal fill [low, high] */
  FANFILL_SCHEME_CONSTANT = 3,         /* constant, zeros, ones */
  FANFILL_SCHEME_ORTHOGONAL = 4,
  FANFILL_SCHEME_SPARSE = 5,
  FANFILL_SCHEME_EYE = 6,
  FANFILL_SCHEME_DIRAC = 7
} fanfill_scheme_kind;

/* What fanfill_init would write. NaN marks "not applicable". */
typedef struct fanfill_description {
  fanfill_scheme_kind kind;
  uint64_t count;   /* elements: the product of the shape */
  double fan_in;    /* of the shape/layout, or fan_in= / fan_out= in the spec */
  double fan_out;
  double fan;       /* the fan the variance is divided by (the mode) */
  double gain;      /* sqrt(scale) for variance scaling */
  /* Of the values written: mean, standard deviation, smallest and largest
   * possible value (+-inf for normals; a uniform's high is excluded). */
  double mean;
  double std;
  double low;
  double high;
  /* The distribution handed to the fill (uniform, normal, truncated normal;
   * sparse: the normal before zeroing; orthogonal: the N(0, 1) Gaussian). */
  double param_mean;
  double param_std;
  double param_low;
  double param_high;
  double sparsity;  /* sparse: fraction of zeros in each column */
} fanfill_description;

/* Writes the product-of-shape elements of the tensor to out (row-major).
 * shape may be NULL when rank is 0 (a scalar). */
int fanfill_init(void* out, fanfill_dtype dtype, const int64_t* shape, int rank,
                 const char* layout, const char* scheme_spec, uint64_t seed, uint64_t stream);

/* Fills *out without writing any tensor. */
int fanfill_describe(const int64_t* shape, int rank, const char* layout, const char* scheme_spec,
                     fanfill_description* out);

/* The stream id of a named tensor: 64-bit FNV-1a of the name's bytes (up to
 * the terminating NUL); see fanfill::StreamId. */
int fanfill_stream_id(const char* name, uint64_t* stream_id);

#ifdef __cplusplus
}
#endif

#endif /* FANFILL_FANFILL_H_ */
