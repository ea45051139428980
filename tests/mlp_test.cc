// Tests of the MLP core (src/mlp): GEMM, forward/backward, losses, SGD,
// training determinism across thread counts, argument errors.
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "gtest/gtest.h"
#include "hwy/targets.h"
#include "hwy/tests/hwy_gtest.h"
#include "src/mlp/mlp.h"

namespace fanfill::mlp {
namespace {

constexpr double kU = 0x1p-24;  // unit roundoff of float

Matrix RandomMatrix(int rows, int cols, uint64_t stream, double stddev = 1.0) {
  Matrix m(rows, cols);
  fanfill::FillNormal(std::span<float>(m.data), 0.0, stddev, {.seed = 1234, .stream = stream});
  return m;
}

template <class F>
void ExpectThrowsWith(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message '" << e.what() << "' does not mention '" << needle << "'";
  }
}

// ------------------------------------------------------------------ GEMM

float OpAt(const Matrix& x, bool transpose, int r, int c) {
  return transpose ? x.at(c, r) : x.at(r, c);
}

// The exact float sequence Gemm promises (src/mlp/gemm-inl.h): acc = 0; for k
// in increasing order acc = a*b + acc (fused if `fused`, else the product
// rounded first); then alpha * acc [+ beta * c_old], each product rounded.
Matrix EmulateGemm(bool fused, bool ta, bool tb, float alpha, const Matrix& a, const Matrix& b,
                   float beta, const Matrix& c_old) {
  const int m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols, n = tb ? b.rows : b.cols;
  Matrix c(m, n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int kk = 0; kk < k; ++kk) {
        const float x = OpAt(a, ta, i, kk), y = OpAt(b, tb, kk, j);
        if (fused) {
          acc = std::fma(x, y, acc);
        } else {
          const float p = x * y;
          acc = p + acc;
        }
      }
      float v = alpha * acc;
      if (beta != 0.0f) {
        const float bc = beta * c_old.at(i, j);
        v = v + bc;
      }
      c.at(i, j) = v;
    }
  }
  return c;
}

class GemmTargetTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(GemmTargetTest);

// Every compiled target against (1) the exact emulation of its arithmetic
// (FMA on AVX2/AVX3; multiply then add on SSE4/SCALAR, whose MulAdd is not
// fused) -- bit-identical -- and (2) a double-precision reference within
// the forward error bound of a k-term dot product plus the epilogue:
//   |c - c_ref| <= (k + 3) u (|alpha| sum_k |a||b| + |beta| |c_old|) (1 + 1e-3),
// u = 2^-24 (gamma_{k+1} for the sum, one rounding each for alpha * acc,
// beta * c_old and their sum; (1 + 1e-3) covers gamma_n / (n u) = 1 / (1 - n u)).
TEST_P(GemmTargetTest, MatchesEmulationAndDoubleReference) {
  const int64_t target = GetParam();
  const bool fused = (target & (HWY_AVX2 | HWY_AVX3 | HWY_AVX3_DL)) != 0;
  const int sizes[] = {1, 3, 17, 65, 257};
  const float alphas[] = {1.0f, -0.75f, 2.5f};
  const float betas[] = {0.0f, 1.0f, -0.5f};
  int combination = 0;
  uint64_t stream = 0;
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      for (const int m : sizes) {
        for (const int n : sizes) {
          for (const int k : sizes) {
            // Keep the 257^3 cases to a few to stay fast; every other shape runs.
            if (m == 257 && n == 257 && k == 257 && (ta || tb)) continue;
            const float alpha = alphas[combination % 3];
            const float beta = betas[(combination / 3) % 3];
            ++combination;
            const Matrix a = ta ? RandomMatrix(k, m, ++stream) : RandomMatrix(m, k, ++stream);
            const Matrix b = tb ? RandomMatrix(n, k, ++stream) : RandomMatrix(k, n, ++stream);
            const Matrix c_old = RandomMatrix(m, n, ++stream);
            Matrix c = c_old;
            if (beta == 0.0f) std::fill(c.data.begin(), c.data.end(), std::nanf(""));  // never read
            Gemm(ta, tb, alpha, a, b, beta, &c);
            const Matrix expect = EmulateGemm(fused, ta, tb, alpha, a, b, beta, c_old);
            ASSERT_EQ(c.rows, m);
            ASSERT_EQ(c.cols, n);
            ASSERT_EQ(0, std::memcmp(c.data.data(), expect.data.data(), c.data.size() * 4))
                << "m=" << m << " n=" << n << " k=" << k << " ta=" << ta << " tb=" << tb;
            for (int i = 0; i < m; ++i) {
              for (int j = 0; j < n; ++j) {
                double sum = 0.0, abs_sum = 0.0;
                for (int kk = 0; kk < k; ++kk) {
                  const double p = double{OpAt(a, ta, i, kk)} * OpAt(b, tb, kk, j);
                  sum += p;
                  abs_sum += std::abs(p);
                }
                const double ref = alpha * sum + (beta != 0.0f ? beta * double{c_old.at(i, j)} : 0);
                const double bound = (k + 3) * kU *
                                     (std::abs(alpha) * abs_sum +
                                      std::abs(beta) * std::abs(double{c_old.at(i, j)})) *
                                     (1 + 1e-3);
                ASSERT_LE(std::abs(c.at(i, j) - ref), bound)
                    << "m=" << m << " n=" << n << " k=" << k << " i=" << i << " j=" << j;
              }
            }
          }
        }
      }
    }
  }
}

// The double-reference bound above is not vacuous: a product with one term
// dropped (an off-by-one in k) is far outside it.
TEST(GemmTest, BoundDetectsAMissingTerm) {
  const Matrix a = RandomMatrix(17, 65, 900), b = RandomMatrix(65, 3, 901);
  Matrix c;
  Gemm(false, false, 1.0f, a, b, 0.0f, &c);
  int outside = 0;
  for (int i = 0; i < 17; ++i) {
    for (int j = 0; j < 3; ++j) {
      double truncated = 0.0, abs_sum = 0.0;
      for (int kk = 0; kk + 1 < 65; ++kk) truncated += double{a.at(i, kk)} * b.at(kk, j);
      for (int kk = 0; kk < 65; ++kk) abs_sum += std::abs(double{a.at(i, kk)} * b.at(kk, j));
      if (std::abs(c.at(i, j) - truncated) > (65 + 3) * kU * abs_sum) ++outside;
    }
  }
  EXPECT_EQ(outside, 17 * 3);
}

TEST(GemmTest, SameBitsForAnyThreadCount) {
  const Matrix a = RandomMatrix(300, 200, 910), b = RandomMatrix(150, 200, 911);
  std::vector<Matrix> results;
  for (const int threads : {1, 2, 3}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    Matrix c;
    Gemm(false, true, 1.0f, a, b, 0.0f, &c);
    results.push_back(c);
  }
  EXPECT_EQ(results[0].data, results[1].data);
  EXPECT_EQ(results[0].data, results[2].data);
}

// Gemm called from oneTBB tasks (so a worker waiting inside one Gemm's
// parallel_for may start another Gemm on the same thread, which must not
// share its packing buffers) gives the results of sequential calls.
TEST(GemmTest, ConcurrentAndNestedCallsAgree) {
  constexpr int kProblems = 12;
  std::vector<Matrix> as, bs, expect(kProblems), got(kProblems);
  for (int i = 0; i < kProblems; ++i) {
    // Each above the serial threshold of 2^20 multiply-adds.
    as.push_back(RandomMatrix(150 + 7 * i, 160 + 5 * i, 940 + 2 * i));
    bs.push_back(RandomMatrix(160 + 5 * i, 140 + 11 * i, 941 + 2 * i));
    Gemm(false, false, 1.0f, as[i], bs[i], 0.0f, &expect[i]);
  }
  tbb::parallel_for(0, kProblems, [&](int i) { Gemm(false, false, 1.0f, as[i], bs[i], 0.0f, &got[i]); });
  for (int i = 0; i < kProblems; ++i) EXPECT_EQ(got[i].data, expect[i].data) << "problem " << i;
}

TEST(GemmTest, Errors) {
  Matrix a(3, 4), b(5, 6), c(3, 6);
  ExpectThrowsWith([&] { Gemm(false, false, 1.0f, a, b, 0.0f, &c); }, "inner dimensions");
  ExpectThrowsWith([&] { Gemm(false, false, 1.0f, a, Matrix(4, 6), 1.0f, &b); }, "C is 5x6");
  ExpectThrowsWith([&] { Gemm(false, false, 1.0f, Matrix(), b, 0.0f, &c); }, "A is empty");
  ExpectThrowsWith([&] { Gemm(false, false, 1.0f, a, Matrix(4, 6), 0.0f, nullptr); }, "null");
  ExpectThrowsWith([&] { Gemm(false, true, 1.0f, a, a, 0.0f, &a); }, "must not be A or B");
  Matrix broken(2, 2);
  broken.data.pop_back();
  ExpectThrowsWith([&] { Gemm(false, false, 1.0f, broken, broken, 0.0f, &c); }, "holds 3 values");
}

// ------------------------------------------------------------------ gradients

double RefActivate(Activation act, double z) {
  switch (act) {
    case Activation::kLinear:
      return z;
    case Activation::kRelu:
      return z > 0 ? z : 0;
    case Activation::kLeakyRelu:
      return z > 0 ? z : double{kLeakySlope} * z;
    case Activation::kTanh:
      return std::tanh(z);
    case Activation::kSigmoid:
      return 1 / (1 + std::exp(-z));
    case Activation::kSelu:
      return z > 0 ? kSeluScale * z : kSeluScale * kSeluAlpha * std::expm1(z);
  }
  return z;
}

// The derivative; `wrong` gives a plausible mistake (for the mutation check).
double RefDerivative(Activation act, double z, bool wrong) {
  const double a = RefActivate(act, z);
  switch (act) {
    case Activation::kLinear:
      return wrong ? 2 : 1;
    case Activation::kRelu:
      return wrong ? 1 : (z > 0 ? 1 : 0);
    case Activation::kLeakyRelu:
      return z > 0 ? 1 : (wrong ? 0 : double{kLeakySlope});
    case Activation::kTanh:
      return wrong ? 1 - a : 1 - a * a;  // the "missing square" mistake
    case Activation::kSigmoid:
      return wrong ? a : a * (1 - a);
    case Activation::kSelu:
      return z > 0 ? kSeluScale : (wrong ? kSeluScale * std::exp(z) : kSeluScale * kSeluAlpha * std::exp(z));
  }
  return 1;
}

struct RefParams {
  std::vector<std::vector<double>> w, b;  // w[l] is out x in, row-major
};

RefParams ParamsOf(const Network& net) {
  RefParams p;
  for (int l = 0; l < net.num_layers(); ++l) {
    p.w.emplace_back(net.weight(l).data.begin(), net.weight(l).data.end());
    p.b.emplace_back(net.bias(l).begin(), net.bias(l).end());
  }
  return p;
}

// Double-precision forward + loss, independent of the float code.
double RefLoss(const Network& net, const RefParams& p, const Matrix& x, const Matrix& t) {
  const int batch = x.rows;
  std::vector<double> in(x.data.begin(), x.data.end());
  int in_dim = x.cols;
  for (int l = 0; l < net.num_layers(); ++l) {
    const int out = net.layer(l).out;
    std::vector<double> a(static_cast<size_t>(batch) * out);
    for (int r = 0; r < batch; ++r) {
      for (int j = 0; j < out; ++j) {
        double z = p.b[l][j];
        for (int i = 0; i < in_dim; ++i) z += p.w[l][j * in_dim + i] * in[r * in_dim + i];
        a[r * out + j] = RefActivate(net.layer(l).activation, z);
      }
    }
    in = std::move(a);
    in_dim = out;
  }
  double total = 0;
  for (int r = 0; r < batch; ++r) {
    const double* y = &in[r * in_dim];
    if (net.loss() == Loss::kMeanSquaredError) {
      for (int j = 0; j < in_dim; ++j) total += 0.5 * (y[j] - t.at(r, j)) * (y[j] - t.at(r, j));
    } else {
      double max = y[0];
      for (int j = 1; j < in_dim; ++j) max = std::max(max, y[j]);
      double s = 0;
      for (int j = 0; j < in_dim; ++j) s += std::exp(y[j] - max);
      const double lse = max + std::log(s);
      for (int j = 0; j < in_dim; ++j) total += t.at(r, j) * (lse - y[j]);
    }
  }
  return total / batch;
}

// Double-precision backward (optionally with a deliberate mistake) and, for
// each gradient entry, a first-order bound E on the float code's rounding
// error in units of u (running error analysis: every float operation
// multiplies its result by (1 + d), |d| <= u, and errors propagate through
// the derivative of each step):
//   Z = A W^T + b, dot of length in:  E_z  = (in + 2) sum|W||A| + sum|W| E_a
//   A = act(Z), libm + a few ops:     E_a  = |act'| E_z + c_act |A|, c_act = 8
//                                            (4 ulp), 1 for leaky, 0 linear/relu
//   loss gradient (rounded, / batch): E_dy = propagated E_z or E_y + 3 |dy|
//   dZ = dA act'(Z):                  E_dz = |act'| E_da + |dA| |d act'| + 4 |dZ|
//   dW = dZ^T A, dot of length batch: E_dw = (batch + 1) sum|dZ||A| + sum(E_dz|A| + |dZ|E_a)
//   db = sum_b dZ (double, rounded):  E_db = sum E_dz + |db|
//   dA = dZ W, dot of length out:     E_da = (out + 1) sum|dZ||W| + sum E_dz |W|
// The tests use 2 u E (the factor 2 covers second-order terms) plus the
// finite-difference error estimate. ReLU kinks (|z| within the error of 0)
// are outside this analysis; the fixed seeds keep every z away from them.
struct RefGrad {
  std::vector<std::vector<double>> dw, db, ew, eb;
};

RefGrad RefBackward(const Network& net, const RefParams& p, const Matrix& x, const Matrix& t,
                    bool wrong_activation, bool wrong_loss) {
  const int batch = x.rows, layers = net.num_layers();
  std::vector<std::vector<double>> acts(layers + 1), zs(layers), ea(layers + 1), ez(layers);
  std::vector<int> dims(layers + 1);
  acts[0].assign(x.data.begin(), x.data.end());
  ea[0].assign(x.data.size(), 0.0);
  dims[0] = x.cols;
  for (int l = 0; l < layers; ++l) {
    const int in = dims[l], out = net.layer(l).out;
    const Activation act = net.layer(l).activation;
    dims[l + 1] = out;
    zs[l].resize(static_cast<size_t>(batch) * out);
    ez[l].resize(zs[l].size());
    acts[l + 1].resize(zs[l].size());
    ea[l + 1].resize(zs[l].size());
    const double c_act = act == Activation::kLinear || act == Activation::kRelu ? 0
                         : act == Activation::kLeakyRelu                        ? 1
                                                                                : 8;
    for (int r = 0; r < batch; ++r) {
      for (int j = 0; j < out; ++j) {
        double z = p.b[l][j], mag = std::abs(p.b[l][j]), prop = 0;
        for (int i = 0; i < in; ++i) {
          const double w = p.w[l][j * in + i], a = acts[l][r * in + i];
          z += w * a;
          mag += std::abs(w * a);
          prop += std::abs(w) * ea[l][r * in + i];
        }
        const size_t e = static_cast<size_t>(r) * out + j;
        zs[l][e] = z;
        ez[l][e] = (in + 2) * mag + prop;
        acts[l + 1][e] = RefActivate(act, z);
        ea[l + 1][e] = std::abs(RefDerivative(act, z, false)) * ez[l][e] +
                       c_act * std::abs(acts[l + 1][e]);
      }
    }
  }
  // dLoss/dA of the last layer (CE: dLoss/dZ, the last layer being linear).
  const int out_last = dims[layers];
  const double scale = wrong_loss ? 1.0 : 1.0 / batch;
  std::vector<double> da(static_cast<size_t>(batch) * out_last), eda(da.size());
  for (int r = 0; r < batch; ++r) {
    const double* y = &acts[layers][r * out_last];
    const double* ey = &ea[layers][r * out_last];
    if (net.loss() == Loss::kMeanSquaredError) {
      for (int j = 0; j < out_last; ++j) {
        da[r * out_last + j] = (y[j] - t.at(r, j)) * scale;
        eda[r * out_last + j] = ey[j] / batch + 3 * std::abs(da[r * out_last + j]);
      }
    } else {
      double max = y[0];
      for (int j = 1; j < out_last; ++j) max = std::max(max, y[j]);
      double s = 0, t_sum = 0;
      for (int j = 0; j < out_last; ++j) s += std::exp(y[j] - max), t_sum += t.at(r, j);
      const double lse = max + std::log(s);
      double mean_ey = 0;
      for (int j = 0; j < out_last; ++j) mean_ey += std::exp(y[j] - lse) * ey[j];
      for (int j = 0; j < out_last; ++j) {
        const double prob = std::exp(y[j] - lse);
        da[r * out_last + j] = (t_sum * prob - t.at(r, j)) * scale;
        eda[r * out_last + j] =
            std::abs(t_sum) * prob * (ey[j] + mean_ey) / batch + 3 * std::abs(da[r * out_last + j]);
      }
    }
  }
  RefGrad g;
  g.dw.resize(layers), g.db.resize(layers), g.ew.resize(layers), g.eb.resize(layers);
  for (int l = layers - 1; l >= 0; --l) {
    const int in = dims[l], out = dims[l + 1];
    const Activation act = net.layer(l).activation;
    std::vector<double> dz(da.size()), edz(da.size());
    for (size_t e = 0; e < da.size(); ++e) {
      const double z = zs[l][e], a = acts[l + 1][e];
      const double d = RefDerivative(act, z, wrong_activation);
      dz[e] = da[e] * d;
      // |d act'|: the error of the computed derivative from the error of its input.
      double dd = 0;
      if (act == Activation::kTanh) dd = 2 * std::abs(a) * ea[l + 1][e] + 2 * a * a + 2 * std::abs(1 - a * a);
      if (act == Activation::kSigmoid) dd = std::abs(1 - 2 * a) * ea[l + 1][e] + 2 * std::abs(a);
      if (act == Activation::kSelu && z <= 0) dd = std::abs(d) * (ez[l][e] + 4);
      edz[e] = std::abs(RefDerivative(act, z, false)) * eda[e] + std::abs(da[e]) * dd +
               4 * std::abs(dz[e]);
    }
    g.dw[l].assign(static_cast<size_t>(out) * in, 0.0);
    g.ew[l].assign(g.dw[l].size(), 0.0);
    g.db[l].assign(out, 0.0);
    g.eb[l].assign(out, 0.0);
    for (int j = 0; j < out; ++j) {
      for (int i = 0; i < in; ++i) {
        double sum = 0, mag = 0, prop = 0;
        for (int r = 0; r < batch; ++r) {
          const double v = dz[r * out + j], a = acts[l][r * in + i];
          sum += v * a;
          mag += std::abs(v * a);
          prop += edz[r * out + j] * std::abs(a) + std::abs(v) * ea[l][r * in + i];
        }
        g.dw[l][j * in + i] = sum;
        g.ew[l][j * in + i] = (batch + 1) * mag + prop;
      }
      for (int r = 0; r < batch; ++r) g.db[l][j] += dz[r * out + j], g.eb[l][j] += edz[r * out + j];
      g.eb[l][j] += std::abs(g.db[l][j]);
    }
    std::vector<double> da_prev(static_cast<size_t>(batch) * in), eda_prev(da_prev.size());
    for (int r = 0; r < batch; ++r) {
      for (int i = 0; i < in; ++i) {
        double sum = 0, mag = 0, prop = 0;
        for (int j = 0; j < out; ++j) {
          const double v = dz[r * out + j], w = p.w[l][j * in + i];
          sum += v * w;
          mag += std::abs(v * w);
          prop += edz[r * out + j] * std::abs(w);
        }
        da_prev[r * in + i] = sum;
        eda_prev[r * in + i] = (out + 1) * mag + prop;
      }
    }
    da = std::move(da_prev);
    eda = std::move(eda_prev);
  }
  return g;
}

struct GradCase {
  Activation activation;
  Loss loss;
};

void PrintTo(const GradCase& c, std::ostream* os) {
  *os << ActivationName(c.activation) << "/" << LossName(c.loss);
}

class GradientCheck : public testing::TestWithParam<GradCase> {};

// Finite differences in double of the double-precision loss on the float
// network's parameters vs the float analytic gradient, within 2 u E + the
// finite-difference error (estimated as |D(h) - D(h/2)| + 1e-11, D the
// central difference; truncation error O(h^2), rounding O(2^-53 |L| / h)).
// Then the same tolerance must reject a wrong activation derivative and a
// loss gradient missing its 1 / batch.
TEST_P(GradientCheck, FloatGradientMatchesDoubleFiniteDifferences) {
  const GradCase gc = GetParam();
  const int batch = 3, input = 5;
  const Activation last = gc.loss == Loss::kSoftmaxCrossEntropy ? Activation::kLinear : gc.activation;
  Network net(input, {{6, gc.activation}, {5, gc.activation}, {4, last}}, gc.loss);
  net.Initialize(fanfill::Scheme::Parse("normal(std=0.6)"),
                 fanfill::Scheme::Parse("uniform(a=-0.3, b=0.3)"), 77);
  const Matrix x = RandomMatrix(batch, input, 500);
  Matrix t(batch, 4);
  if (gc.loss == Loss::kSoftmaxCrossEntropy) {
    for (int r = 0; r < batch; ++r) t.at(r, (r * 3 + 1) % 4) = 1.0f;
  } else {
    t = RandomMatrix(batch, 4, 501, 0.5);
  }
  net.Forward(x);
  const double float_loss = net.Backward(t);
  RefParams p = ParamsOf(net);
  const double ref_loss = RefLoss(net, p, x, t);
  EXPECT_NEAR(float_loss, ref_loss, 1e-4 * (1 + std::abs(ref_loss)));

  const RefGrad ref = RefBackward(net, p, x, t, false, false);
  const RefGrad wrong_act = RefBackward(net, p, x, t, true, false);
  const RefGrad wrong_loss = RefBackward(net, p, x, t, false, true);
  double worst_ok = 0, worst_act = 0, worst_loss = 0, worst_ref = 0;
  int checked = 0;
  const auto check = [&](double& param, float analytic, double ref_grad, double e_bound,
                         double act_grad, double loss_grad, const std::string& where) {
    const double saved = param;
    const auto central = [&](double h) {
      param = saved + h;
      const double up = RefLoss(net, p, x, t);
      param = saved - h;
      const double down = RefLoss(net, p, x, t);
      param = saved;
      return (up - down) / (2 * h);
    };
    const double h = 1e-4 * std::max(1.0, std::abs(saved));
    const double fd = central(h);
    const double fd_error = std::abs(fd - central(h / 2)) + 1e-11;
    const double tol = 2 * kU * e_bound + fd_error;
    EXPECT_LE(std::abs(analytic - fd), tol) << where << ": analytic " << analytic << " fd " << fd;
    worst_ok = std::max(worst_ok, std::abs(analytic - fd) / tol);
    worst_ref = std::max(worst_ref, std::abs(ref_grad - fd) / tol);
    worst_act = std::max(worst_act, std::abs(act_grad - fd) / tol);
    worst_loss = std::max(worst_loss, std::abs(loss_grad - fd) / tol);
    ++checked;
  };
  for (int l = 0; l < net.num_layers(); ++l) {
    for (size_t e = 0; e < p.w[l].size(); ++e) {
      check(p.w[l][e], net.weight_grad(l).data[e], ref.dw[l][e], ref.ew[l][e], wrong_act.dw[l][e],
            wrong_loss.dw[l][e], "layer" + std::to_string(l) + ".weight[" + std::to_string(e) + "]");
    }
    for (size_t e = 0; e < p.b[l].size(); ++e) {
      check(p.b[l][e], net.bias_grad(l)[e], ref.db[l][e], ref.eb[l][e], wrong_act.db[l][e],
            wrong_loss.db[l][e], "layer" + std::to_string(l) + ".bias[" + std::to_string(e) + "]");
    }
  }
  EXPECT_EQ(checked, net.num_parameters());
  EXPECT_LE(worst_ref, 1.0) << "the double reference backward disagrees with finite differences";
  // The mutations must be caught (by a wide margin) at the same tolerance.
  if (gc.activation != Activation::kLinear || gc.loss == Loss::kMeanSquaredError) {
    EXPECT_GT(worst_act, 10.0) << "a wrong " << ActivationName(gc.activation)
                               << " derivative would pass";
  }
  EXPECT_GT(worst_loss, 10.0) << "a loss gradient without 1/batch would pass";
  RecordProperty("worst_ratio", std::to_string(worst_ok));
  RecordProperty("wrong_activation_ratio", std::to_string(worst_act));
  RecordProperty("wrong_loss_ratio", std::to_string(worst_loss));
}

std::string GradCaseName(const testing::TestParamInfo<GradCase>& info) {
  return std::string(ActivationName(info.param.activation)) + "_" + LossName(info.param.loss);
}

std::vector<GradCase> AllGradCases() {
  std::vector<GradCase> cases;
  for (const Loss loss : {Loss::kSoftmaxCrossEntropy, Loss::kMeanSquaredError}) {
    for (const Activation a : {Activation::kLinear, Activation::kRelu, Activation::kLeakyRelu,
                               Activation::kTanh, Activation::kSigmoid, Activation::kSelu}) {
      cases.push_back({a, loss});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllActivationsAndLosses, GradientCheck, testing::ValuesIn(AllGradCases()),
                         GradCaseName);

// ------------------------------------------------------------------ losses, SGD

TEST(LossTest, SoftmaxCrossEntropyOnExtremeLogitsIsFinite) {
  Network net(1, {{3, Activation::kLinear}}, Loss::kSoftmaxCrossEntropy);
  net.weight(0).data = {1e30f, -1e30f, 0.0f};
  Matrix x(2, 1);
  x.data = {1.0f, 1.0f};
  Matrix t(2, 3);
  t.at(0, 1) = 1.0f;  // the most negative logit: loss = lse - z_1 = 2e30
  t.at(1, 0) = 1.0f;  // the largest logit: loss 0
  net.Forward(x);
  const double loss = net.Backward(t);
  ASSERT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, (2e30 + 0.0) / 2, 1e24);
  // p = (1, 0, 0): dZ row 0 = (1, -1, 0) / 2, row 1 = (0, 0, 0).
  const Matrix& dz = net.pre_activation_grad(0);
  EXPECT_EQ(dz.data, (std::vector<float>{0.5f, -0.5f, 0.0f, 0.0f, 0.0f, 0.0f}));
  for (const float g : net.weight_grad(0).data) EXPECT_TRUE(std::isfinite(g));
}

TEST(LossTest, MeanSquaredErrorValue) {
  Network net(1, {{2, Activation::kLinear}}, Loss::kMeanSquaredError);
  net.weight(0).data = {1.0f, 2.0f};
  Matrix x(2, 1);
  x.data = {1.0f, 3.0f};  // outputs (1, 2) and (3, 6)
  Matrix t(2, 2);
  t.data = {0.0f, 0.0f, 3.0f, 4.0f};
  net.Forward(x);
  // rows: 0.5 (1 + 4) = 2.5 and 0.5 (0 + 4) = 2; mean 2.25.
  EXPECT_EQ(net.ComputeLoss(t), 2.25);
}

TEST(SgdTest, MomentumStepsFollowTheFormula) {
  // y = w x + b, x = 2, t = 1, MSE, lr = 0.1, momentum = 0.9.
  Network net(1, {{1, Activation::kLinear}}, Loss::kMeanSquaredError);
  net.weight(0).data = {0.5f};
  net.bias(0) = {0.1f};
  Matrix x(1, 1), t(1, 1);
  x.data = {2.0f};
  t.data = {1.0f};
  Sgd sgd(net, 0.1f, 0.9f);
  float w = 0.5f, b = 0.1f, vw = 0.0f, vb = 0.0f;
  for (int step = 0; step < 3; ++step) {
    net.Forward(x);
    net.Backward(t);
    // dL/dy = y - t; dW = (y - t) x; db = y - t.
    const float y = w * 2.0f + b;
    const float gy = y - 1.0f;
    EXPECT_EQ(net.weight_grad(0).data[0], gy * 2.0f);
    EXPECT_EQ(net.bias_grad(0)[0], gy);
    vw = 0.9f * vw + gy * 2.0f;
    vb = 0.9f * vb + gy;
    w = w - 0.1f * vw;
    b = b - 0.1f * vb;
    sgd.Step(&net);
    EXPECT_EQ(net.weight(0).data[0], w) << "step " << step;
    EXPECT_EQ(net.bias(0)[0], b) << "step " << step;
  }
  // By hand: step 1 g = (0.2, 0.1) -> (0.48, 0.09); step 2 g = (0.1, 0.05),
  // v = (0.28, 0.14) -> (0.452, 0.076).
  Network hand(1, {{1, Activation::kLinear}}, Loss::kMeanSquaredError);
  hand.weight(0).data = {0.5f};
  hand.bias(0) = {0.1f};
  Sgd hand_sgd(hand, 0.1f, 0.9f);
  for (int step = 0; step < 2; ++step) {
    hand.Forward(x);
    hand.Backward(t);
    hand_sgd.Step(&hand);
  }
  EXPECT_NEAR(hand.weight(0).data[0], 0.452, 1e-6);
  EXPECT_NEAR(hand.bias(0)[0], 0.076, 1e-6);
}

// ------------------------------------------------------------------ training

Dataset Blobs(int n, int dim, int classes, uint64_t stream) {
  Dataset d;
  d.x = RandomMatrix(n, dim, stream, 0.5);
  d.targets = Matrix(n, classes);
  for (int i = 0; i < n; ++i) {
    const int c = i % classes;
    d.labels.push_back(c);
    d.targets.at(i, c) = 1.0f;
    d.x.at(i, c % dim) += 2.0f;  // class c's blob is shifted along axis c
  }
  return d;
}

TEST(TrainTest, LearnsSeparableBlobs) {
  const Dataset train = Blobs(240, 8, 4, 600);
  const Dataset eval = Blobs(120, 8, 4, 601);
  Network net(8, {{32, Activation::kRelu}, {4, Activation::kLinear}},
              Loss::kSoftmaxCrossEntropy);
  net.Initialize(fanfill::Scheme::Parse("kaiming_normal(nonlinearity=relu)"),
                 fanfill::Scheme::Parse("zeros"), 5);
  const Evaluation before = Evaluate(&net, eval, 50);
  const std::vector<EpochRecord> records =
      Train(&net, train, &eval, {.epochs = 5, .batch_size = 32, .learning_rate = 0.05f});
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].epoch, 1);
  EXPECT_LT(records.back().eval_loss, 0.5 * before.loss);
  EXPECT_GT(records.back().eval_accuracy, 0.95);
  const Evaluation after = Evaluate(&net, eval, 7);  // batch size does not change the result
  EXPECT_NEAR(after.loss, records.back().eval_loss, 1e-12 * (1 + after.loss));
  EXPECT_EQ(after.accuracy, records.back().eval_accuracy);
}

TEST(TrainTest, DivergenceStopsTheRun) {
  Dataset d;
  d.x = RandomMatrix(64, 4, 610);
  d.targets = RandomMatrix(64, 2, 611);
  Network net(4, {{16, Activation::kLinear}, {2, Activation::kLinear}}, Loss::kMeanSquaredError);
  net.Initialize(fanfill::Scheme::Parse("normal(std=1)"), fanfill::Scheme::Parse("zeros"), 1);
  const auto records =
      Train(&net, d, nullptr, {.epochs = 50, .batch_size = 8, .learning_rate = 1e3f});
  ASSERT_FALSE(records.empty());
  EXPECT_LT(records.size(), 50u);
  EXPECT_FALSE(std::isfinite(records.back().train_loss));
  EXPECT_TRUE(std::isnan(records.back().eval_accuracy));  // regression
}

// A few epochs with 1, 2 and 3 threads: bit-identical parameters and losses.
// The layers are wide enough (batch 64 x 160 x 128 = 1.3M multiply-adds and
// more) that every GEMM but the last layer's goes parallel.
TEST(TrainTest, BitIdenticalForAnyThreadCount) {
  const Dataset train = Blobs(200, 128, 10, 620);
  std::vector<std::vector<float>> params;
  std::vector<std::vector<double>> losses;
  for (const int threads : {1, 2, 3}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    Network net(128, {{160, Activation::kTanh}, {160, Activation::kSelu}, {10, Activation::kLinear}},
                Loss::kSoftmaxCrossEntropy);
    net.Initialize(fanfill::Scheme::Parse("xavier_uniform"),
                   fanfill::Scheme::Parse("torch_default_bias"), 9);
    const auto records = Train(&net, train, nullptr,
                               {.epochs = 3, .batch_size = 64, .learning_rate = 0.02f,
                                .momentum = 0.9f, .shuffle_seed = 4});
    std::vector<float> flat;
    std::vector<double> curve;
    for (int l = 0; l < net.num_layers(); ++l) {
      flat.insert(flat.end(), net.weight(l).data.begin(), net.weight(l).data.end());
      flat.insert(flat.end(), net.bias(l).begin(), net.bias(l).end());
    }
    for (const auto& r : records) curve.insert(curve.end(), {r.train_loss, r.eval_loss});
    params.push_back(flat);
    losses.push_back(curve);
  }
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(0, std::memcmp(params[0].data(), params[i].data(), params[0].size() * 4));
    EXPECT_EQ(0, std::memcmp(losses[0].data(), losses[i].data(), losses[0].size() * 8));
  }
  EXPECT_LT(losses[0][4], losses[0][0]);  // and it learns
}

// n = 9, batch_size = 4: batches of 4, 4 and 1 -- three SGD steps, the last
// partial batch included. All rows are equal, so the steps do not depend on
// the order and match three manual steps on one row (to rounding: a batch mean
// of equal rows is the row's gradient up to an ulp or two).
TEST(TrainTest, LastPartialBatchIsAStep) {
  Dataset d;
  d.x = Matrix(9, 1);
  d.targets = Matrix(9, 1);
  std::fill(d.x.data.begin(), d.x.data.end(), 1.0f);
  std::fill(d.targets.data.begin(), d.targets.data.end(), 2.0f);
  const auto fresh = [] {
    Network net(1, {{1, Activation::kLinear}}, Loss::kMeanSquaredError);
    net.weight(0).data = {0.5f};
    return net;
  };
  Network trained = fresh();
  Train(&trained, d, nullptr, {.epochs = 1, .batch_size = 4, .learning_rate = 0.1f, .momentum = 0.0f});
  std::vector<float> after_steps;
  Network manual = fresh();
  Sgd sgd(manual, 0.1f, 0.0f);
  Matrix x(1, 1), t(1, 1);
  x.data = {1.0f};
  t.data = {2.0f};
  for (int step = 0; step < 4; ++step) {
    manual.Forward(x);
    manual.Backward(t);
    sgd.Step(&manual);
    after_steps.push_back(manual.weight(0).data[0]);
  }
  EXPECT_NEAR(trained.weight(0).data[0], after_steps[2], 1e-6);
  EXPECT_GT(std::abs(trained.weight(0).data[0] - after_steps[1]), 0.05);
  EXPECT_GT(std::abs(trained.weight(0).data[0] - after_steps[3]), 0.05);
}

TEST(TrainTest, ShuffleSeedChangesTheOrder) {
  const Dataset train = Blobs(50, 4, 2, 630);
  std::vector<double> first_loss;
  for (const uint64_t seed : {0u, 0u, 1u}) {
    Network net(4, {{2, Activation::kLinear}}, Loss::kSoftmaxCrossEntropy);
    net.Initialize(fanfill::Scheme::Parse("normal(std=0.1)"), fanfill::Scheme::Parse("zeros"), 2);
    first_loss.push_back(
        Train(&net, train, nullptr, {.epochs = 1, .batch_size = 8, .shuffle_seed = seed})[0]
            .train_loss);
  }
  EXPECT_EQ(first_loss[0], first_loss[1]);
  EXPECT_NE(first_loss[0], first_loss[2]);
}

// ------------------------------------------------------------------ errors, names

TEST(ErrorsTest, BadInputsThrowWithMessages) {
  ExpectThrowsWith([] { Network(0, {{3}}, Loss::kMeanSquaredError); }, "input_dim");
  ExpectThrowsWith([] { Network(2, {}, Loss::kMeanSquaredError); }, "no layers");
  ExpectThrowsWith([] { Network(2, {{0}}, Loss::kMeanSquaredError); }, "layer 0 must have out > 0");
  ExpectThrowsWith([] { Network(2, {{3, Activation::kRelu}}, Loss::kSoftmaxCrossEntropy); },
                   "linear last layer");
  Network net(3, {{4, Activation::kTanh}, {2, Activation::kLinear}}, Loss::kMeanSquaredError);
  ExpectThrowsWith([&] { net.ComputeLoss(Matrix(1, 2)); }, "no Forward");
  ExpectThrowsWith([&] { net.Forward(Matrix(2, 5)); }, "x has 5 columns but input_dim is 3");
  ExpectThrowsWith([&] { net.Forward(Matrix(0, 3)); }, "empty batch");
  net.Forward(Matrix(2, 3));
  ExpectThrowsWith([&] { net.Backward(Matrix(2, 3)); }, "targets are 2x3");
  ExpectThrowsWith([&] { Sgd(net, -0.1f, 0.9f); }, "learning rate");
  ExpectThrowsWith([&] { Sgd(net, 0.1f, -1.0f); }, "momentum");
  ExpectThrowsWith([&] { Sgd(net, std::nanf(""), 0.0f); }, "learning rate");
  Sgd sgd(net, 0.1f, 0.0f);
  Network other(3, {{5, Activation::kTanh}, {2, Activation::kLinear}}, Loss::kMeanSquaredError);
  ExpectThrowsWith([&] { sgd.Step(&other); }, "layer 0 is 5x3");

  Dataset d;
  d.x = Matrix(10, 3);
  d.targets = Matrix(10, 2);
  ExpectThrowsWith([&] { Train(&net, d, nullptr, {.batch_size = 0}); }, "batch_size");
  ExpectThrowsWith([&] { Train(&net, d, nullptr, {.learning_rate = -1.0f}); }, "learning rate");
  ExpectThrowsWith([&] { Train(&net, d, nullptr, {.epochs = -1}); }, "epochs");
  ExpectThrowsWith([&] { Evaluate(&net, d, 0); }, "batch_size");
  Dataset bad = d;
  bad.x = Matrix(10, 4);
  ExpectThrowsWith([&] { Train(&net, bad, nullptr, {}); }, "input_dim is 3");
  bad = d;
  bad.targets = Matrix(9, 2);
  ExpectThrowsWith([&] { Train(&net, bad, nullptr, {}); }, "targets is 9x2");
  bad = d;
  bad.x = Matrix(0, 3);
  bad.targets = Matrix(0, 2);
  ExpectThrowsWith([&] { Evaluate(&net, bad); }, "no samples");
  bad = d;
  bad.labels = {0, 1};
  ExpectThrowsWith([&] { Evaluate(&net, bad); }, "labels has 2 entries");
  bad.labels.assign(10, 0);
  bad.labels[3] = 2;
  ExpectThrowsWith([&] { Evaluate(&net, bad); }, "labels[3] = 2");
  ExpectThrowsWith([&] { Train(nullptr, d, nullptr, {}); }, "null");
  ExpectThrowsWith([] { ParseActivation("gelu"); }, "unknown activation 'gelu'");
}

TEST(NamesTest, RoundTrip) {
  for (const Activation a : {Activation::kLinear, Activation::kRelu, Activation::kLeakyRelu,
                             Activation::kTanh, Activation::kSigmoid, Activation::kSelu}) {
    EXPECT_EQ(ParseActivation(ActivationName(a)), a);
  }
  EXPECT_STREQ(ActivationName(Activation::kLeakyRelu), "leaky_relu");
  EXPECT_STREQ(LossName(Loss::kSoftmaxCrossEntropy), "softmax_cross_entropy");
  EXPECT_STREQ(LossName(Loss::kMeanSquaredError), "mse");
}

// Initialization goes through fanfill::Init on the documented streams, and a
// bias scheme that uses fans gets its weight's fans.
TEST(InitTest, UsesFanfillStreamsAndWeightFans) {
  Network net(7, {{5, Activation::kRelu}, {3, Activation::kLinear}}, Loss::kSoftmaxCrossEntropy);
  const auto w = fanfill::Scheme::Parse("kaiming_uniform(a=2.23606797749979)");
  const auto b = fanfill::Scheme::Parse("torch_default_bias");
  net.Initialize(w, b, 31);
  std::vector<float> expect(15);
  const std::vector<int64_t> shape = {3, 5};
  fanfill::Init(std::span<float>(expect), shape, fanfill::Layout::kOI, w,
                {.seed = 31, .stream = fanfill::StreamId("layer1.weight")});
  EXPECT_EQ(net.weight(1).data, expect);
  std::vector<float> bias(3);
  const std::vector<int64_t> bias_shape = {3};
  fanfill::Init(std::span<float>(bias), bias_shape, fanfill::Layout::kOI,
                fanfill::Scheme::Parse("torch_default_bias(fan_in=5, fan_out=3)"),
                {.seed = 31, .stream = fanfill::StreamId("layer1.bias")});
  EXPECT_EQ(net.bias(1), bias);
  for (const float v : net.bias(1)) EXPECT_LE(std::abs(v), 1 / std::sqrt(5.0f));
  EXPECT_EQ(net.num_parameters(), 7 * 5 + 5 + 5 * 3 + 3);
}

}  // namespace
}  // namespace fanfill::mlp
