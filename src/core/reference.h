// The scalar reference: the twin of every SIMD routine in transforms-inl.h / fill-inl.h, one
// element at a time, with std::fma wherever the kernels call Fma. The tests
// require every compiled SIMD target to match it bit for bit, and measure its
// accuracy against double/long-double formulas. Internal (tests only).
#ifndef FANFILL_SRC_CORE_REFERENCE_H_
#define FANFILL_SRC_CORE_REFERENCE_H_

#include <cstdint>

#include "fanfill/fanfill.hpp"
#include "src/core/fill_params.h"

namespace fanfill::internal {

// Elements [first, first + count) of stream `key` filled with p into out.
void ReferenceFill(const FillParams& p, StreamKey key, void* out, uint64_t first,
                   uint64_t count);

// The transforms, for accuracy tests.
float RefMinusTwoLogRadius(uint32_t w);                 // -2 ln((w + 1/2) 2^-32)
void RefSinCosAngleF32(uint32_t w, float& c, float& s);  // angle 2 pi ((w >> 8) + 1/2) 2^-24
void RefSinCosAngleF64(uint64_t x, double& c, double& s);
float RefLog(float x);
double RefLog(double x);
float RefInverseNormalCdf(float p, float q);
double RefInverseNormalCdf(double p, double q);

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_CORE_REFERENCE_H_
