// fanfill::mlp::Gemm: argument checks and Highway dynamic dispatch of the
// kernel in src/mlp/gemm-inl.h (structure of Highway's hwy/examples/skeleton.cc).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/mlp/gemm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "src/mlp/gemm-inl.h"

HWY_BEFORE_NAMESPACE();
namespace fanfill::mlp::HWY_NAMESPACE {

void GemmTarget(const GemmArgs& args) { GemmKernel(args); }

}  // namespace fanfill::mlp::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <stdexcept>
#include <string>

#include "src/mlp/mlp.h"

namespace fanfill::mlp {

HWY_EXPORT(GemmTarget);
using internal::GemmArgs;

namespace {

std::string Shape(const Matrix& x) {
  return std::to_string(x.rows) + "x" + std::to_string(x.cols);
}

void CheckMatrix(const Matrix& x, const char* what) {
  if (x.rows <= 0 || x.cols <= 0) {
    throw std::invalid_argument(std::string("Gemm: ") + what + " is empty (" + Shape(x) + ")");
  }
  if (x.data.size() != static_cast<size_t>(x.rows) * static_cast<size_t>(x.cols)) {
    throw std::invalid_argument(std::string("Gemm: ") + what + " is " + Shape(x) + " but holds " +
                                std::to_string(x.data.size()) + " values");
  }
}

}  // namespace

void Gemm(bool transpose_a, bool transpose_b, float alpha, const Matrix& a, const Matrix& b,
          float beta, Matrix* c) {
  if (c == nullptr) throw std::invalid_argument("Gemm: C is null");
  if (c == &a || c == &b) throw std::invalid_argument("Gemm: C must not be A or B");
  CheckMatrix(a, "A");
  CheckMatrix(b, "B");
  const int m = transpose_a ? a.cols : a.rows;
  const int k = transpose_a ? a.rows : a.cols;
  const int kb = transpose_b ? b.cols : b.rows;
  const int n = transpose_b ? b.rows : b.cols;
  if (k != kb) {
    throw std::invalid_argument("Gemm: inner dimensions differ: op(A) is " + std::to_string(m) +
                                "x" + std::to_string(k) + ", op(B) is " + std::to_string(kb) +
                                "x" + std::to_string(n));
  }
  if (beta == 0.0f) {
    // C is only written: give it the result's shape.
    if (c->rows != m || c->cols != n || c->data.size() != static_cast<size_t>(m) * n) {
      *c = Matrix(m, n);
    }
  } else {
    CheckMatrix(*c, "C");
    if (c->rows != m || c->cols != n) {
      throw std::invalid_argument("Gemm: C is " + Shape(*c) + " but op(A) op(B) is " +
                                  std::to_string(m) + "x" + std::to_string(n));
    }
  }
  const int64_t lda = a.cols, ldb = b.cols;
  HWY_DYNAMIC_DISPATCH(GemmTarget)(GemmArgs{transpose_a, transpose_b, alpha, beta, a.data.data(),
                                            lda, b.data.data(), ldb, c->data.data(), m, n, k});
}

}  // namespace fanfill::mlp
#endif  // HWY_ONCE
