// The orthogonal scheme: the orthogonality bound stated in schemes.hpp for
// square, tall and wide shapes in every dtype; that W is the Q of the QR of
// the tensor's own Gaussian with diag(R) > 0 (PyTorch's sign fix); the
// RMS Describe() reports; and bit-identical values for every fanfill thread
// count and OpenBLAS thread setting. All checks are deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

// OpenBLAS's thread control (libfanfill links OpenBLAS).
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace {

using fanfill::DType;
using fanfill::Layout;
using fanfill::Scheme;

double F16ToDouble(uint16_t h) {
  const int exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  const double mag = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
  return (h & 0x8000) ? -mag : mag;
}

// Init's output as doubles.
std::vector<double> Orthogonal(DType dtype, const std::vector<int64_t>& shape, Layout layout,
                               const std::string& spec, fanfill::StreamKey key,
                               int max_threads = 0) {
  const uint64_t n = fanfill::ElementCount(shape);
  std::vector<uint8_t> buf(n * fanfill::DTypeSize(dtype));
  fanfill::Init(buf.data(), dtype, shape, layout, Scheme::Parse(spec), key,
                {.max_threads = max_threads});
  std::vector<double> w(n);
  for (uint64_t i = 0; i < n; ++i) {
    switch (dtype) {
      case DType::kF32:
        w[i] = reinterpret_cast<const float*>(buf.data())[i];
        break;
      case DType::kF64:
        w[i] = reinterpret_cast<const double*>(buf.data())[i];
        break;
      case DType::kBF16:
        w[i] =
            std::bit_cast<float>(uint32_t{reinterpret_cast<const uint16_t*>(buf.data())[i]} << 16);
        break;
      case DType::kF16:
        w[i] = F16ToDouble(reinterpret_cast<const uint16_t*>(buf.data())[i]);
        break;
    }
  }
  return w;
}

// The matrix view of schemes.hpp: oi rows = shape[0]; io cols = shape[-1].
void RowsCols(const std::vector<int64_t>& shape, Layout layout, uint64_t& rows, uint64_t& cols) {
  const uint64_t n = fanfill::ElementCount(shape);
  if (layout == Layout::kOI) {
    rows = static_cast<uint64_t>(shape.front());
    cols = n / rows;
  } else {
    cols = static_cast<uint64_t>(shape.back());
    rows = n / cols;
  }
}

struct GramError {
  double max_abs = 0;    // max_ij |G - I|
  double frobenius = 0;  // ||G - I||_F
};

// G = W^T W (rows >= cols) or W W^T (rows < cols), W = w / gain, in double.
GramError Orthogonality(const std::vector<double>& w, uint64_t rows, uint64_t cols, double gain) {
  const bool tall = rows >= cols;
  const uint64_t k = tall ? cols : rows, len = tall ? rows : cols;
  auto at = [&](uint64_t vec, uint64_t t) {  // element t of column (tall) / row (wide) vec
    return (tall ? w[t * cols + vec] : w[vec * cols + t]) / gain;
  };
  GramError e;
  double ss = 0;
  for (uint64_t i = 0; i < k; ++i) {
    for (uint64_t j = i; j < k; ++j) {
      double g = 0;
      for (uint64_t t = 0; t < len; ++t) g += at(i, t) * at(j, t);
      const double d = std::fabs(g - (i == j ? 1.0 : 0.0));
      e.max_abs = std::max(e.max_abs, d);
      ss += (i == j ? 1 : 2) * d * d;
    }
  }
  e.frobenius = std::sqrt(ss);
  return e;
}

struct DTypeRoundoff {
  DType dtype;
  double u;  // unit roundoff; bf16/f16 are rounded through float: + 2^-24 relative
};
const DTypeRoundoff kDTypes[] = {{DType::kF32, 0x1p-24},
                                 {DType::kF64, 0x1p-53},
                                 {DType::kBF16, 0x1p-8 + 0x1p-23},
                                 {DType::kF16, 0x1p-11 + 0x1p-23}};

struct ShapeCase {
  std::vector<int64_t> shape;
  Layout layout;
  const char* what;
};
const ShapeCase kShapes[] = {
    {{64, 64}, Layout::kOI, "square 64 x 64"},
    {{300, 40}, Layout::kOI, "tall 300 x 40"},
    {{40, 300}, Layout::kOI, "wide 40 x 300"},
    {{16, 8, 3, 3}, Layout::kOI, "PyTorch conv, wide 16 x 72"},
    {{3, 3, 8, 16}, Layout::kIO, "Keras conv, tall 72 x 16"},
    {{20, 20, 5}, Layout::kIO, "Keras, tall 400 x 5"},
};

TEST(Orthogonal, StatedBoundForSquareTallAndWide) {
  for (const ShapeCase& c : kShapes) {
    for (const DTypeRoundoff& d : kDTypes) {
      for (double gain : {1.0, 2.0, 1.7}) {
        SCOPED_TRACE(std::string(c.what) + " " + fanfill::DTypeName(d.dtype) + " gain " +
                     std::to_string(gain));
        uint64_t rows, cols;
        RowsCols(c.shape, c.layout, rows, cols);
        const std::vector<double> w =
            Orthogonal(d.dtype, c.shape, c.layout, "orthogonal(gain=" + std::to_string(gain) + ")",
                       {.seed = 5, .stream = 6});
        const GramError e = Orthogonality(w, rows, cols, gain);
        const double k = static_cast<double>(std::min(rows, cols));
        // The f64 QR's own error (e64 in schemes.hpp) is < 1e-13 at these sizes;
        // f16 values below 2^-14 are subnormal: absolute error <= 2^-25 each.
        const double subnormal =
            d.dtype == DType::kF16
                ? 2 * 0x1p-25 * std::sqrt(static_cast<double>(std::max(rows, cols))) / gain
                : 0.0;
        const double e64 = 1e-12;
        EXPECT_LE(e.max_abs, 2 * d.u + d.u * d.u + e64 + subnormal);
        EXPECT_LE(e.frobenius, 2 * d.u * std::sqrt(k) + d.u * d.u * k + e64 * k + subnormal * k);
        // Every value lies in [-gain, gain].
        for (double v : w) ASSERT_LE(std::fabs(v), gain * (1 + d.u));
        if (d.dtype == DType::kF64 && gain == 1.0) {
          std::printf("  %-28s f64: max|G-I| = %.2e, ||G-I||_F = %.2e\n", c.what, e.max_abs,
                      e.frobenius);
        }
      }
    }
  }
}

// W is the Q of the QR of the tensor's Gaussian M (the f64 normal fill of
// its stream, rows x cols row-major) with R's diagonal positive: tall,
// R = W^T M; wide (M^T = Q R with Q = W^T), R = W M^T; R upper triangular.
TEST(Orthogonal, IsTheSignFixedQOfTheTensorsGaussian) {
  const fanfill::StreamKey key{.seed = 11, .stream = 12};
  for (const ShapeCase& c : kShapes) {
    SCOPED_TRACE(c.what);
    uint64_t rows, cols;
    RowsCols(c.shape, c.layout, rows, cols);
    const std::vector<double> w = Orthogonal(DType::kF64, c.shape, c.layout, "orthogonal", key);
    std::vector<double> m(rows * cols);
    fanfill::FillNormal(std::span<double>(m), 0.0, 1.0, key);
    const bool tall = rows >= cols;
    const uint64_t k = tall ? cols : rows, len = tall ? rows : cols;
    auto q = [&](uint64_t vec, uint64_t t) { return tall ? w[t * cols + vec] : w[vec * cols + t]; };
    auto a = [&](uint64_t vec, uint64_t t) { return tall ? m[t * cols + vec] : m[vec * cols + t]; };
    double below = 0, min_diag = HUGE_VAL;
    for (uint64_t i = 0; i < k; ++i) {
      for (uint64_t j = 0; j <= i; ++j) {  // R_ij = q_i . a_j
        double r = 0;
        for (uint64_t t = 0; t < len; ++t) r += q(i, t) * a(j, t);
        if (i == j) {
          min_diag = std::min(min_diag, r);
        } else {
          below = std::max(below, std::fabs(r));
        }
      }
    }
    EXPECT_GT(min_diag, 0.0) << "sign fix: diag(R) must be positive";
    EXPECT_LE(below, 1e-11 * std::sqrt(static_cast<double>(len))) << "R must be upper triangular";
  }
}

TEST(Orthogonal, DescribedRmsAndReproducibility) {
  const std::vector<int64_t> shape = {16, 8, 3, 3};
  const fanfill::Description d =
      fanfill::Describe(shape, Layout::kOI, Scheme::Parse("orthogonal(gain=3)"));
  const std::vector<double> w =
      Orthogonal(DType::kF64, shape, Layout::kOI, "orthogonal(gain=3)", {1, 1});
  double ss = 0;
  for (double v : w) ss += v * v;
  EXPECT_NEAR(std::sqrt(ss / static_cast<double>(w.size())), d.std, 1e-13);
  EXPECT_EQ(w, Orthogonal(DType::kF64, shape, Layout::kOI, "orthogonal(gain=3)", {1, 1}));
  EXPECT_NE(w, Orthogonal(DType::kF64, shape, Layout::kOI, "orthogonal(gain=3)", {1, 2}));
}

TEST(Orthogonal, SameValuesForAnyThreadCount) {
  const int saved = openblas_get_num_threads();
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{768, 384}, std::vector<int64_t>{384, 768}}) {
    SCOPED_TRACE(std::to_string(shape[0]) + " x " + std::to_string(shape[1]));
    openblas_set_num_threads(1);
    const std::vector<double> base =
        Orthogonal(DType::kF32, shape, Layout::kOI, "orthogonal", {3, 4}, /*max_threads=*/1);
    for (int blas_threads : {1, 2, 4}) {
      for (int fill_threads : {0, 1, 2, 3}) {
        openblas_set_num_threads(blas_threads);
        const int setting = openblas_get_num_threads();  // OpenBLAS may cap it
        EXPECT_EQ(Orthogonal(DType::kF32, shape, Layout::kOI, "orthogonal", {3, 4}, fill_threads),
                  base)
            << "OpenBLAS threads " << blas_threads << ", fill threads " << fill_threads;
        // The caller's OpenBLAS setting is restored.
        EXPECT_EQ(openblas_get_num_threads(), setting);
      }
    }
  }
  openblas_set_num_threads(saved);
}

}  // namespace
