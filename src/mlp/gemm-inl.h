// Highway GEMM kernel of fanfill::mlp (per-target code; included once per
// target by src/mlp/gemm.cc through foreach_target.h).
//
// C[m, n] = alpha * sum_k op(A)[m, k] op(B)[k, n] + beta * C[m, n].
//
// Design (GotoBLAS/BLIS shape, simplified):
//   * op(B) is packed once into column panels of kNr = 2 vectors: panel q
//     holds op(B)[k, q*kNr .. q*kNr + kNr) for every k, zero-padded past n.
//   * op(A) is packed once into row panels of kMr = 6 rows: panel p holds
//     op(A)[p*kMr + r, k] at [k * kMr + r], zero-padded past m.
//   * The microkernel keeps a kMr x kNr tile of C in 12 vector accumulators
//     (+2 B vectors +1 broadcast = 15 of AVX2's 16 registers) and runs over
//     one block of k (kKc values): per k, 2 loads of B, 6 broadcasts of A and
//     12 MulAdd. Between k blocks the tile is parked, exactly, in float in a
//     per-task buffer, so blocking over k changes no bits.
//   * oneTBB runs over tiles of C (kMcPanels row panels x kNcPanels column
//     panels); a C element is always computed by exactly one microkernel
//     sequence, so the bits never depend on the thread count.
//
// Numerics: for every C element, acc = 0; for k = 0, 1, ..., K-1 in increasing
// order acc = MulAdd(a_ik, b_kj, acc) (a fused multiply-add on targets with
// FMA -- AVX2 here -- and a rounded multiply then add on SSE4/SCALAR); then
// c = alpha * acc (beta == 0) or c = alpha * acc + beta * c_old (each product
// rounded, then the sum). Zero padding only feeds lanes that are never stored.

// Target-independent part: the arguments, one type for every target's kernel.
#ifndef FANFILL_SRC_MLP_GEMM_ARGS_H_
#define FANFILL_SRC_MLP_GEMM_ARGS_H_
#include <cstdint>
namespace fanfill::mlp::internal {
// Checked by Gemm (src/mlp/gemm.cc): m, n, k > 0; op(A) is m x k, op(B) k x n.
struct GemmArgs {
  bool transpose_a, transpose_b;
  float alpha, beta;
  const float* a;  // row-major, leading dimension lda
  int64_t lda;
  const float* b;
  int64_t ldb;
  float* c;  // row-major m x n, leading dimension n
  int64_t m, n, k;
};

}  // namespace fanfill::mlp::internal
#endif  // FANFILL_SRC_MLP_GEMM_ARGS_H_

#if defined(FANFILL_SRC_MLP_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FANFILL_SRC_MLP_GEMM_INL_H_
#undef FANFILL_SRC_MLP_GEMM_INL_H_
#else
#define FANFILL_SRC_MLP_GEMM_INL_H_
#endif

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/aligned_allocator.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace fanfill::mlp::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using internal::GemmArgs;

inline constexpr int64_t kMr = 6;         // rows of the microtile
inline constexpr int64_t kKc = 256;       // k block: a B micro-panel of kKc x kNr stays in L1
inline constexpr int64_t kMcPanels = 16;  // row panels per task (96 rows)
inline constexpr int64_t kNcPanels = 8;   // column panels per task (128 columns on AVX2)
// Below this many multiply-adds (about 40 us on one AVX2 core) a GEMM runs
// on the calling thread: the result is the same either way, and oneTBB's
// fork/join costs microseconds.
inline constexpr int64_t kSerialMacs = int64_t{1} << 20;

// Packing reads the sources row by row (contiguous), whichever way they are
// transposed: a strided walk down a column of a 4 KiB-stride matrix would
// touch one page per element. Units of work are panels when a source row
// feeds one panel, and rows of k when a source row feeds every panel.

// op(A) = A: source row i is row i of panel i / kMr. Unit = panel p.
inline void PackARowsOfPanel(const GemmArgs& g, int64_t p, float* HWY_RESTRICT a_pack) {
  float* HWY_RESTRICT panel = a_pack + p * kMr * g.k;
  const int64_t row0 = p * kMr;
  for (int64_t r = 0; r < kMr; ++r) {
    if (row0 + r >= g.m) {
      for (int64_t kk = 0; kk < g.k; ++kk) panel[kk * kMr + r] = 0.0f;  // padding
      continue;
    }
    const float* HWY_RESTRICT src = g.a + (row0 + r) * g.lda;
    for (int64_t kk = 0; kk < g.k; ++kk) panel[kk * kMr + r] = src[kk];
  }
}

// op(A) = A^T: source row kk holds column kk of op(A) for every panel. Unit = kk.
inline void PackAColumn(const GemmArgs& g, int64_t kk, float* HWY_RESTRICT a_pack) {
  const float* HWY_RESTRICT src = g.a + kk * g.lda;
  const int64_t panels = (g.m + kMr - 1) / kMr;
  for (int64_t p = 0; p < panels; ++p) {
    float* HWY_RESTRICT dst = a_pack + p * kMr * g.k + kk * kMr;
    const int64_t rows = std::min(kMr, g.m - p * kMr);
    for (int64_t r = 0; r < rows; ++r) dst[r] = src[p * kMr + r];
    for (int64_t r = rows; r < kMr; ++r) dst[r] = 0.0f;  // padding
  }
}

// op(B) = B: source row kk holds row kk of every panel (two vectors each). Unit = kk.
template <class D>
HWY_ATTR void PackBRow(D d, const GemmArgs& g, int64_t kk, float* HWY_RESTRICT b_pack) {
  const int64_t n_lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t nr = 2 * n_lanes;
  const float* HWY_RESTRICT src = g.b + kk * g.ldb;
  const int64_t full = g.n / nr;  // panels without padding
  for (int64_t q = 0; q < full; ++q) {
    float* HWY_RESTRICT dst = b_pack + q * nr * g.k + kk * nr;
    hn::Store(hn::LoadU(d, src + q * nr), d, dst);
    hn::Store(hn::LoadU(d, src + q * nr + n_lanes), d, dst + n_lanes);
  }
  if (full * nr < g.n) {
    float* HWY_RESTRICT dst = b_pack + full * nr * g.k + kk * nr;
    const int64_t cols = g.n - full * nr;
    for (int64_t c = 0; c < cols; ++c) dst[c] = src[full * nr + c];
    for (int64_t c = cols; c < nr; ++c) dst[c] = 0.0f;  // padding
  }
}

// In-register transpose of N x N floats (N = 4: SSE4, 8: AVX2): rows r[i]
// in, columns out: r[j] becomes (r0[j], r1[j], ..., r_{N-1}[j]). Exact (moves
// only). 32-bit interleaves, then 64-bit interleaves, then (N = 8) 128-bit
// block concatenation. Not on HWY_SCALAR (one lane: nothing to transpose).
#if HWY_TARGET != HWY_SCALAR
template <class D, class V = hn::Vec<D>>
HWY_ATTR HWY_INLINE void TransposeSquare(D d, V* r) {
  const hn::Repartition<double, D> dd;
  const auto lo64 = [&](V a, V b) {
    return hn::BitCast(d, hn::InterleaveLower(dd, hn::BitCast(dd, a), hn::BitCast(dd, b)));
  };
  const auto hi64 = [&](V a, V b) {
    return hn::BitCast(d, hn::InterleaveUpper(dd, hn::BitCast(dd, a), hn::BitCast(dd, b)));
  };
  constexpr size_t N = hn::MaxLanes(D());
  if constexpr (N == 4) {
    const V a0 = hn::InterleaveLower(d, r[0], r[1]), a1 = hn::InterleaveUpper(d, r[0], r[1]);
    const V a2 = hn::InterleaveLower(d, r[2], r[3]), a3 = hn::InterleaveUpper(d, r[2], r[3]);
    r[0] = lo64(a0, a2), r[1] = hi64(a0, a2), r[2] = lo64(a1, a3), r[3] = hi64(a1, a3);
  } else if constexpr (N == 8) {
    V a[8], b[8];
    for (int i = 0; i < 8; i += 2) {
      a[i] = hn::InterleaveLower(d, r[i], r[i + 1]);      // lanes 0 1 | 4 5 of the pair
      a[i + 1] = hn::InterleaveUpper(d, r[i], r[i + 1]);  // lanes 2 3 | 6 7
    }
    for (int i = 0; i < 8; i += 4) {
      b[i] = lo64(a[i], a[i + 2]);          // column 0 | 4 of rows i..i+3
      b[i + 1] = hi64(a[i], a[i + 2]);      // column 1 | 5
      b[i + 2] = lo64(a[i + 1], a[i + 3]);  // column 2 | 6
      b[i + 3] = hi64(a[i + 1], a[i + 3]);  // column 3 | 7
    }
    for (int j = 0; j < 4; ++j) {
      r[j] = hn::ConcatLowerLower(d, b[4 + j], b[j]);
      r[j + 4] = hn::ConcatUpperUpper(d, b[4 + j], b[j]);
    }
  }
}
#endif  // HWY_TARGET != HWY_SCALAR

// op(B) = B^T: source row j is column j of op(B), lane j % nr of panel j / nr.
// Unit = panel q. Full panels on 4- and 8-lane targets: N x N blocks are
// transposed in registers (N source rows loaded along k, N panel rows
// stored). The rest element by element, in blocks of kPackBlock k values so
// that the panel rows being written (kPackBlock x nr floats) stay in L1.
inline constexpr int64_t kPackBlock = 64;
template <class D>
HWY_ATTR void PackBColumnsOfPanel(D d, const GemmArgs& g, int64_t q, float* HWY_RESTRICT b_pack) {
  constexpr size_t N = hn::MaxLanes(D());
  const int64_t nr = static_cast<int64_t>(2 * N);
  float* HWY_RESTRICT panel = b_pack + q * nr * g.k;
  const int64_t col0 = q * nr;
  const int64_t cols = std::min(nr, g.n - col0);
  int64_t k_done = 0;
#if HWY_TARGET != HWY_SCALAR
  if constexpr (N == 4 || N == 8) {
    if (cols == nr) {
      const int64_t n_lanes = static_cast<int64_t>(N);
      for (; k_done + n_lanes <= g.k; k_done += n_lanes) {
        for (int64_t half = 0; half < 2; ++half) {
          hn::Vec<D> r[N];
          for (size_t i = 0; i < N; ++i) {
            r[i] = hn::LoadU(d, g.b + (col0 + half * n_lanes + static_cast<int64_t>(i)) * g.ldb +
                                    k_done);
          }
          TransposeSquare(d, r);
          for (size_t j = 0; j < N; ++j) {
            hn::Store(r[j], d, panel + (k_done + static_cast<int64_t>(j)) * nr + half * n_lanes);
          }
        }
      }
    }
  }
#else
  (void)d;
#endif
  for (int64_t k0 = k_done; k0 < g.k; k0 += kPackBlock) {
    const int64_t k1 = std::min(g.k, k0 + kPackBlock);
    for (int64_t c = 0; c < cols; ++c) {
      const float* HWY_RESTRICT src = g.b + (col0 + c) * g.ldb;
      for (int64_t kk = k0; kk < k1; ++kk) panel[kk * nr + c] = src[kk];
    }
    for (int64_t c = cols; c < nr; ++c) {
      for (int64_t kk = k0; kk < k1; ++kk) panel[kk * nr + c] = 0.0f;  // padding
    }
  }
}

// Packing buffers: kept per calling thread between calls (Gemm may run on
// several threads at once) to avoid mapping and zeroing fresh pages every
// time. A thread that is already inside a Gemm -- a oneTBB worker waiting in
// our parallel_for may pick up a task that calls Gemm again -- gets fresh
// buffers instead.
class PackBuffers {
 public:
  PackBuffers(size_t a_count, size_t b_count) {
    State& s = state();
    if (s.busy) {
      own_a_ = hwy::AllocateAligned<float>(a_count);
      own_b_ = hwy::AllocateAligned<float>(b_count);
      a_ = own_a_.get();
      b_ = own_b_.get();
      return;
    }
    s.busy = true;
    holds_state_ = true;
    if (a_count > s.a_capacity) s.a = hwy::AllocateAligned<float>(a_count), s.a_capacity = a_count;
    if (b_count > s.b_capacity) s.b = hwy::AllocateAligned<float>(b_count), s.b_capacity = b_count;
    a_ = s.a.get();
    b_ = s.b.get();
  }
  ~PackBuffers() {
    if (holds_state_) state().busy = false;
  }
  PackBuffers(const PackBuffers&) = delete;
  PackBuffers& operator=(const PackBuffers&) = delete;
  float* a() const { return a_; }
  float* b() const { return b_; }

 private:
  struct State {
    hwy::AlignedFreeUniquePtr<float[]> a, b;
    size_t a_capacity = 0, b_capacity = 0;
    bool busy = false;
  };
  static State& state() {
    thread_local State s;
    return s;
  }
  hwy::AlignedFreeUniquePtr<float[]> own_a_, own_b_;
  float* a_ = nullptr;
  float* b_ = nullptr;
  bool holds_state_ = false;
};

// acc (kMr x 2 vectors, parked row-major in `tile`, kMr x nr floats) +=
// sum over kc values of k of the packed A column times the packed B row.
// The first k block starts from zero instead of loading the tile.
template <class D>
HWY_ATTR HWY_NOINLINE void MicroKernel(D d, const float* HWY_RESTRICT a_panel,
                                       const float* HWY_RESTRICT b_panel, int64_t kc,
                                       bool first_block, float* HWY_RESTRICT tile) {
  const size_t N = hn::Lanes(d);
  const int64_t nr = static_cast<int64_t>(2 * N);
  using V = hn::Vec<D>;
  V c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  if (first_block) {
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = hn::Zero(d);
  } else {
    c00 = hn::Load(d, tile + 0 * nr), c01 = hn::Load(d, tile + 0 * nr + N);
    c10 = hn::Load(d, tile + 1 * nr), c11 = hn::Load(d, tile + 1 * nr + N);
    c20 = hn::Load(d, tile + 2 * nr), c21 = hn::Load(d, tile + 2 * nr + N);
    c30 = hn::Load(d, tile + 3 * nr), c31 = hn::Load(d, tile + 3 * nr + N);
    c40 = hn::Load(d, tile + 4 * nr), c41 = hn::Load(d, tile + 4 * nr + N);
    c50 = hn::Load(d, tile + 5 * nr), c51 = hn::Load(d, tile + 5 * nr + N);
  }
  for (int64_t kk = 0; kk < kc; ++kk) {
    const V b0 = hn::Load(d, b_panel + kk * nr);
    const V b1 = hn::Load(d, b_panel + kk * nr + N);
    const float* HWY_RESTRICT a = a_panel + kk * kMr;
    V ai = hn::Set(d, a[0]);
    c00 = hn::MulAdd(ai, b0, c00), c01 = hn::MulAdd(ai, b1, c01);
    ai = hn::Set(d, a[1]);
    c10 = hn::MulAdd(ai, b0, c10), c11 = hn::MulAdd(ai, b1, c11);
    ai = hn::Set(d, a[2]);
    c20 = hn::MulAdd(ai, b0, c20), c21 = hn::MulAdd(ai, b1, c21);
    ai = hn::Set(d, a[3]);
    c30 = hn::MulAdd(ai, b0, c30), c31 = hn::MulAdd(ai, b1, c31);
    ai = hn::Set(d, a[4]);
    c40 = hn::MulAdd(ai, b0, c40), c41 = hn::MulAdd(ai, b1, c41);
    ai = hn::Set(d, a[5]);
    c50 = hn::MulAdd(ai, b0, c50), c51 = hn::MulAdd(ai, b1, c51);
  }
  hn::Store(c00, d, tile + 0 * nr), hn::Store(c01, d, tile + 0 * nr + N);
  hn::Store(c10, d, tile + 1 * nr), hn::Store(c11, d, tile + 1 * nr + N);
  hn::Store(c20, d, tile + 2 * nr), hn::Store(c21, d, tile + 2 * nr + N);
  hn::Store(c30, d, tile + 3 * nr), hn::Store(c31, d, tile + 3 * nr + N);
  hn::Store(c40, d, tile + 4 * nr), hn::Store(c41, d, tile + 4 * nr + N);
  hn::Store(c50, d, tile + 5 * nr), hn::Store(c51, d, tile + 5 * nr + N);
}

// C tile rows [row0, row0 + rows) x columns [col0, col0 + cols) =
// alpha * acc + beta * C (or alpha * acc for beta == 0), from the parked tile.
// Vector arithmetic for every element; partial vectors go through `edge` so
// that the same operations are applied and nothing past `cols` is touched.
template <class D>
HWY_ATTR void StoreTile(D d, const GemmArgs& g, const float* HWY_RESTRICT tile, int64_t row0,
                        int64_t rows, int64_t col0, int64_t cols) {
  const size_t N = hn::Lanes(d);
  const int64_t nr = static_cast<int64_t>(2 * N);
  const auto alpha = hn::Set(d, g.alpha);
  const auto beta = hn::Set(d, g.beta);
  HWY_ALIGN float edge[2 * hn::MaxLanes(d)];
  for (int64_t r = 0; r < rows; ++r) {
    float* HWY_RESTRICT crow = g.c + (row0 + r) * g.n + col0;
    for (int64_t c = 0; c < cols; c += static_cast<int64_t>(N)) {
      const int64_t valid = std::min(static_cast<int64_t>(N), cols - c);
      auto v = hn::Mul(alpha, hn::Load(d, tile + r * nr + c));
      if (valid == static_cast<int64_t>(N)) {
        if (g.beta != 0.0f) v = hn::Add(v, hn::Mul(beta, hn::LoadU(d, crow + c)));
        hn::StoreU(v, d, crow + c);
      } else {
        if (g.beta != 0.0f) {
          std::fill(edge, edge + N, 0.0f);
          std::memcpy(edge, crow + c, static_cast<size_t>(valid) * sizeof(float));
          v = hn::Add(v, hn::Mul(beta, hn::Load(d, edge)));
        }
        hn::Store(v, d, edge);
        std::memcpy(crow + c, edge, static_cast<size_t>(valid) * sizeof(float));
      }
    }
  }
}

inline void GemmKernel(const GemmArgs& g) {
  const hn::ScalableTag<float> d;
  const int64_t nr = static_cast<int64_t>(2 * hn::Lanes(d));
  const int64_t a_panels = (g.m + kMr - 1) / kMr;
  const int64_t b_panels = (g.n + nr - 1) / nr;
  const PackBuffers buffers(static_cast<size_t>(a_panels * kMr * g.k),
                            static_cast<size_t>(b_panels * nr * g.k));
  float* HWY_RESTRICT a_pack = buffers.a();
  float* HWY_RESTRICT b_pack = buffers.b();
  const bool serial = g.m * g.n * g.k < kSerialMacs;

  // Packing is pure copying: any split gives the same bytes.
  const int64_t a_units = g.transpose_a ? g.k : a_panels;
  const int64_t b_units = g.transpose_b ? b_panels : g.k;
  const auto pack = [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      if (u < a_units) {
        if (g.transpose_a) {
          PackAColumn(g, u, a_pack);
        } else {
          PackARowsOfPanel(g, u, a_pack);
        }
      } else if (g.transpose_b) {
        PackBColumnsOfPanel(d, g, u - a_units, b_pack);
      } else {
        PackBRow(d, g, u - a_units, b_pack);
      }
    }
  };
  if (serial) {
    pack(0, a_units + b_units);
  } else {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, a_units + b_units, 8),
                      [&](const tbb::blocked_range<int64_t>& r) { pack(r.begin(), r.end()); });
  }

  const int64_t row_tasks = (a_panels + kMcPanels - 1) / kMcPanels;
  const int64_t col_tasks = (b_panels + kNcPanels - 1) / kNcPanels;
  const auto run_tiles = [&](int64_t begin, int64_t end) {
    // Parked accumulators of one task: kMcPanels x kNcPanels microtiles, one
    // buffer per thread for good (a fresh 48 KiB block per task would be
    // mapped and zeroed again whenever malloc trims the heap). Safe to share
    // between calls: this body never waits for oneTBB, so no other Gemm can
    // run on this thread while it uses the buffer.
    thread_local const auto tiles =
        hwy::AllocateAligned<float>(static_cast<size_t>(kMcPanels * kNcPanels * kMr * nr));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t p0 = (t / col_tasks) * kMcPanels;
      const int64_t q0 = (t % col_tasks) * kNcPanels;
      const int64_t p1 = std::min(a_panels, p0 + kMcPanels);
      const int64_t q1 = std::min(b_panels, q0 + kNcPanels);
      for (int64_t k0 = 0; k0 < g.k; k0 += kKc) {
        const int64_t kc = std::min(kKc, g.k - k0);
        // B micro-panel (kc x nr) reused from L1 across the task's row panels.
        for (int64_t q = q0; q < q1; ++q) {
          const float* b_panel = b_pack + q * nr * g.k + k0 * nr;
          for (int64_t p = p0; p < p1; ++p) {
            float* tile = tiles.get() + ((p - p0) * kNcPanels + (q - q0)) * kMr * nr;
            MicroKernel(d, a_pack + p * kMr * g.k + k0 * kMr, b_panel, kc, k0 == 0, tile);
          }
        }
      }
      for (int64_t p = p0; p < p1; ++p) {
        for (int64_t q = q0; q < q1; ++q) {
          const float* tile = tiles.get() + ((p - p0) * kNcPanels + (q - q0)) * kMr * nr;
          StoreTile(d, g, tile, p * kMr, std::min(kMr, g.m - p * kMr), q * nr,
                    std::min(nr, g.n - q * nr));
        }
      }
    }
  };
  if (serial) {
    run_tiles(0, row_tasks * col_tasks);
  } else {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, row_tasks * col_tasks, 1),
                      [&](const tbb::blocked_range<int64_t>& r) { run_tiles(r.begin(), r.end()); });
  }
}

}  // namespace fanfill::mlp::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // FANFILL_SRC_MLP_GEMM_INL_H_
