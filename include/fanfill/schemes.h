/* fanfill/schemes.h: the C API of fanfill's initialization schemes.
 *
 * Part of the full library (CMake fanfill::fanfill, pkg-config fanfill); the
 * fills, dtypes, statuses, fanfill_last_error and fanfill_set_max_threads are
 * the core's C API, fanfill/fanfill.h, included here.
 */
#ifndef FANFILL_SCHEMES_H_
#define FANFILL_SCHEMES_H_

#include <stdint.h>

#include "fanfill/fanfill.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Initialization schemes (C++: fanfill/schemes.hpp; table: docs/schemes.md)
 *
 * A weight is described by its shape (rank >= 0 dimensions, each >= 0), its
 * layout -- "oi" = PyTorch/ONNX [out, in, *spatial], "io" = Keras/TF/JAX
 * [*spatial, in, out] -- and a scheme spec such as
 *   "kaiming_normal(mode=fan_out, nonlinearity=leaky_relu, a=0.2)".
 * Same error rules as fanfill.h: 0 or a negative status, fanfill_last_error(),
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

/* fanfill_init with a per-tensor scale (fanfill::PreparedInit's scale: finite,
 * > 0 and a normal float32 once rounded to float): every value stored is the
 * scheme's value divided by scale, the scale an FP8 refusal's message advises
 * ("use scale <= 2^-2"). scale 1 is fanfill_init, bit for bit. */
int fanfill_init_scaled(void* out, fanfill_dtype dtype, const int64_t* shape, int rank,
                        const char* layout, const char* scheme_spec, double scale, uint64_t seed,
                        uint64_t stream);

/* Fills *out without writing any tensor. */
int fanfill_describe(const int64_t* shape, int rank, const char* layout, const char* scheme_spec,
                     fanfill_description* out);

/* The stream id of a named tensor: 64-bit FNV-1a of the name's bytes (up to
 * the terminating NUL); see fanfill::StreamId. */
int fanfill_stream_id(const char* name, uint64_t* stream_id);

#ifdef __cplusplus
}
#endif

#endif /* FANFILL_SCHEMES_H_ */
