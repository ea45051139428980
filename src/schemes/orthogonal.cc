// The orthogonal scheme: QR of a Gaussian matrix drawn from the tensor's
// stream, signs fixed from diag(R) as torch.nn.init.orthogonal_ does, by
// LAPACK (LAPACKE + OpenBLAS) in double precision. schemes.hpp states the
// contract and the orthogonality bound.
//
// Layout trick: the Gaussian is the rows x cols matrix M in row-major order,
// which LAPACK (column-major) sees as V = M^T, cols x rows, with no copy.
//   rows <  cols: V is tall; V = QR (dgeqrf/dorgqr) is PyTorch's QR of M^T,
//                 and W = Q^T is Q's memory read row-major.
//   rows >= cols: V is wide; V = L Q' (dgelqf/dorglq) gives M = Q'^T L^T, the
//                 QR of M with R = L^T, and W = Q'^T is Q''s memory read
//                 row-major.
#include <lapacke.h>

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "src/core/dtype.h"
#include "src/core/fill_params.h"
#include "src/schemes/scheme_internal.h"

// OpenBLAS's own API (declared in OpenBLAS's cblas.h, which is not on the
// include path in every installation).
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace fanfill::internal {
namespace {

// OpenBLAS's multi-threaded kernels round differently from its one-thread
// kernels (measured: dgeqrf + dorgqr of 1024 x 1024 differs between
// OPENBLAS_NUM_THREADS=1 and 2), so the factorization runs on one thread,
// whatever the process's OpenBLAS setting, which is restored afterwards. The
// lock serializes orthogonal inits, so that one of them cannot restore the
// setting while another is factoring.
class OneBlasThread {
 public:
  OneBlasThread() : lock_(Mutex()), saved_(openblas_get_num_threads()) {
    if (saved_ != 1) openblas_set_num_threads(1);
  }
  ~OneBlasThread() {
    if (saved_ != 1) openblas_set_num_threads(saved_);
  }
  OneBlasThread(const OneBlasThread&) = delete;
  OneBlasThread& operator=(const OneBlasThread&) = delete;

 private:
  static std::mutex& Mutex() {
    static std::mutex m;
    return m;
  }
  std::lock_guard<std::mutex> lock_;
  int saved_;
};

void CheckLapack(lapack_int info, const char* routine) {
  if (info != 0) {
    throw std::runtime_error(std::string("orthogonal: LAPACKE_") + routine + " failed with info " +
                             std::to_string(info));
  }
}

}  // namespace

void FillOrthogonal(void* out, DType dtype, uint64_t rows, uint64_t cols, double gain,
                    StreamKey key, int max_threads) {
  const uint64_t count = rows * cols;
  std::vector<double> a(count);
  Run(MakeFillParams(DType::kF64, Distribution::Normal(0.0, 1.0)), key, a.data(), 0, count,
      max_threads);
  const auto ld = static_cast<lapack_int>(cols);  // V = M^T is cols x rows, column-major
  const auto n = static_cast<lapack_int>(rows);
  const bool wide = rows < cols;
  const uint64_t k = wide ? rows : cols;
  std::vector<double> tau(k);
  std::vector<double> sign(k);  // sign(R_jj) * gain: scales column j of Q
  {
    OneBlasThread one_thread;
    if (wide) {
      CheckLapack(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, ld, n, a.data(), ld, tau.data()), "dgeqrf");
    } else {
      CheckLapack(LAPACKE_dgelqf(LAPACK_COL_MAJOR, ld, n, a.data(), ld, tau.data()), "dgelqf");
    }
    // R_jj is V's (j, j) in both factorizations. PyTorch's d.sign() would zero
    // a column with R_jj == 0 (probability 0); it is kept here.
    for (uint64_t j = 0; j < k; ++j) sign[j] = a[j + j * cols] < 0 ? -gain : gain;
    const auto kk = static_cast<lapack_int>(k);
    if (wide) {
      CheckLapack(LAPACKE_dorgqr(LAPACK_COL_MAJOR, ld, n, kk, a.data(), ld, tau.data()), "dorgqr");
    } else {
      CheckLapack(LAPACKE_dorglq(LAPACK_COL_MAJOR, ld, n, kk, a.data(), ld, tau.data()), "dorglq");
    }
  }
  // a is now W row-major (rows x cols) before the sign fix: wide, row j of W
  // is column j of Q; otherwise column j of W is column j of Q.
  for (uint64_t r = 0; r < rows; ++r) {
    double* row = a.data() + r * cols;
    if (wide) {
      for (uint64_t c = 0; c < cols; ++c) row[c] *= sign[r];
    } else {
      for (uint64_t c = 0; c < cols; ++c) row[c] *= sign[c];
    }
  }
  StoreAll(out, dtype, a.data(), count);
}

}  // namespace fanfill::internal
