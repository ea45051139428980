// Statistical tests of the schemes: large filled tensors have the mean and
// variance the PyTorch/Keras formulas promise (the expected values are
// computed here from those formulas, not taken from Describe), uniform
// schemes never reach their bound and come close to it, truncated schemes
// respect their cut, sparse zeros are where they should be.
//
// FALSE-FAILURE BUDGET (as tests/stats_test.cc)
//   Each statistical check fails with probability <= kAlpha = 1e-6 when the
//   library is correct:
//   * mean and variance: two-sided |z| <= 4.8916, z in units of the standard
//     error derived from the sample size and the distribution's own moments:
//     SE(mean) = sigma / sqrt(n), SE(var) = sqrt((mu4 - sigma^4) / n) (mu4:
//     the 4th central moment, 3 sigma^4 for a normal, (h - l)^4 / 80 for a
//     uniform, by numerical integration for a truncated normal). n >= 2^19;
//     the normal approximation's error is O(1/sqrt(n)), negligible;
//   * extremes: the largest value is within t of the upper bound (and the
//     smallest within t of the lower), t chosen so that a correct sample
//     misses with probability exp(-20) = 2e-9 (uniform: t = 20 (h - l) / n;
//     truncated: t = 20 / (n f(bound)), f the density at the bound);
//   * sparse zero positions: a chi-square test (upper tail, kAlpha) that
//     each of the 10 rows is zeroed equally often over 10^5 columns.
//   There are kMaxChecks = 25 z/chi-square checks and 18 extreme checks, so
//   P(false failure per run) <= 25e-6 + 18 * 2e-9 < 3e-5. The fills are
//   deterministic (fixed seeds): a build passes or fails every time. Both
//   kinds are tallied by tests/stats_util.h's FalseFailureBudget (printed at
//   the end of the run; ZBudget checks the first against kMaxChecks), which
//   also provides the normal CDF, quantile, Wilson-Hilferty cube root and
//   standard errors used here (the numbers this file computed before: see
//   there).
//   Range checks (every value within its bounds) are exact, outside the budget.
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
#include "tests/stats_util.h"

namespace {

using fanfill::DType;
using fanfill::Layout;
using fanfill::Scheme;

namespace stats = fanfill::test::stats;
using stats::NormalCdf;
using stats::NormalPdf;

constexpr double kAlpha = 1e-6;
constexpr int kMaxChecks = 25;
// The budget's accounts: z/chi-square checks at kAlpha (at most kMaxChecks),
// and the extremes, each missing its bound with probability exp(-20).
const char* const kChecks = "alpha=1e-6 check (z, chi2)";
const char* const kExtremeChecks = "extreme within t of its bound";
const double kExtremeMiss = std::exp(-20.0);  // 2.1e-9

const double kZTwoSided = stats::TwoSidedZ(kAlpha);  // 4.8916
const double kZOneSided = stats::OneSidedZ(kAlpha);  // 4.7534

// Mean, variance and 4th central moment of a distribution.
struct Moments {
  double mean, var, mu4;
};

Moments NormalMoments(double mean, double sd) { return {mean, sd * sd, 3 * sd * sd * sd * sd}; }

Moments UniformMoments(double low, double high) {
  const double w = high - low;
  return {0.5 * (low + high), w * w / 12, w * w * w * w / 80};
}

// N(mean, sd^2) restricted to [low, high]: raw moments of the standardized
// variable by Simpson's rule (20000 panels; error ~1e-16), then central ones.
Moments TruncatedMoments(double mean, double sd, double low, double high) {
  const double a = (low - mean) / sd, b = (high - mean) / sd;
  const int n = 20000;
  const double h = (b - a) / n;
  double m[5] = {0, 0, 0, 0, 0};
  for (int i = 0; i <= n; ++i) {
    const double z = a + i * h;
    const double w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
    double p = w * NormalPdf(z);
    for (int k = 0; k <= 4; ++k, p *= z) m[k] += p;
  }
  for (int k = 1; k <= 4; ++k) m[k] /= m[0];
  const double mu = m[1];
  const double var = m[2] - mu * mu;
  const double c4 = m[4] - 4 * mu * m[3] + 6 * mu * mu * m[2] - 3 * mu * mu * mu * mu;
  return {mean + sd * mu, sd * sd * var, sd * sd * sd * sd * c4};
}

template <class T>
double ToDouble(T v) {
  if constexpr (std::is_same_v<T, fanfill::BFloat16>) {
    return std::bit_cast<float>(uint32_t{v.bits} << 16);
  } else {
    return static_cast<double>(v);
  }
}

// Sample mean and variance against `want`, two z-checks.
void CheckMoments(const std::vector<double>& x, const Moments& want) {
  const double n = static_cast<double>(x.size());
  double sum = 0;
  for (double v : x) sum += v;
  const double mean = sum / n;
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  const double var = ss / (n - 1);
  const double z_mean = (mean - want.mean) / stats::MeanSE(want.var, n);
  const double z_var = (var - want.var) / stats::VarianceSE(want.var, want.mu4, n);
  stats::Budget().Spend(kChecks, kAlpha, 2);
  EXPECT_LE(std::fabs(z_mean), kZTwoSided)
      << "mean " << mean << " vs " << want.mean << " (z = " << z_mean << ")";
  EXPECT_LE(std::fabs(z_var), kZTwoSided)
      << "std " << std::sqrt(var) << " vs " << std::sqrt(want.var) << " (z = " << z_var << ")";
}

// Every value in [low, high] (or [low, high) when `open_high`), and the
// extremes within `tol` of the bounds.
void CheckRange(const std::vector<double>& x, double low, double high, bool open_high, double tol) {
  const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
  EXPECT_GE(*mn, low);
  if (open_high) {
    EXPECT_LT(*mx, high);
  } else {
    EXPECT_LE(*mx, high);
  }
  stats::Budget().Spend(kExtremeChecks, kExtremeMiss, 2);
  EXPECT_LE(*mn, low + tol) << "nothing near the lower bound " << low;
  EXPECT_GE(*mx, high - tol) << "nothing near the upper bound " << high;
}

template <class T = float>
std::vector<double> Draw(const char* spec, std::vector<int64_t> shape, Layout layout,
                         uint64_t stream) {
  std::vector<T> buf(fanfill::ElementCount(shape));
  fanfill::Init(std::span<T>(buf), shape, layout, Scheme::Parse(spec),
                {.seed = 2024, .stream = stream});
  std::vector<double> x(buf.size());
  std::transform(buf.begin(), buf.end(), x.begin(), [](T v) { return ToDouble(v); });
  return x;
}

constexpr double kSqrt3 = 1.7320508075688772;
constexpr double kKerasCorrection = 0.87962566103423978;

TEST(SchemeStats, NormalSchemes) {
  {
    SCOPED_TRACE("kaiming_normal relu, PyTorch Linear [1024, 1024]: N(0, 2/1024)");
    CheckMoments(Draw("kaiming_normal(nonlinearity=relu)", {1024, 1024}, Layout::kOI, 1),
                 NormalMoments(0, std::sqrt(2.0 / 1024)));
  }
  {
    SCOPED_TRACE("xavier_normal(gain=1.5) [2048, 512]: N(0, 1.5^2 * 2/2560)");
    CheckMoments(Draw("xavier_normal(gain=1.5)", {2048, 512}, Layout::kOI, 2),
                 NormalMoments(0, 1.5 * std::sqrt(2.0 / 2560)));
  }
}

TEST(SchemeStats, UniformSchemesNeverReachTheirBound) {
  struct Case {
    const char* spec;
    std::vector<int64_t> shape;
    Layout layout;
    double bound;  // U(-bound, bound), from the formulas
  };
  const Case cases[] = {
      {"kaiming_uniform", {1024, 1024}, Layout::kOI, kSqrt3 * std::sqrt(2.0) / 32},  // sqrt(6/1024)
      {"glorot_uniform", {1024, 1024}, Layout::kIO, std::sqrt(6.0 / 2048)},
      {"variance_scaling(scale=3, mode=fan_out, distribution=uniform)",
       {256, 4096},
       Layout::kIO,
       std::sqrt(9.0 / 4096)},
      {"torch_default", {1024, 1024}, Layout::kOI, 1.0 / 32},  // U(+-1/sqrt(fan_in))
  };
  uint64_t stream = 10;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec);
    const std::vector<double> x = Draw(c.spec, c.shape, c.layout, stream++);
    CheckMoments(x, UniformMoments(-c.bound, c.bound));
    // The fill clamps into [-bound, bound): exact, in double.
    CheckRange(x, -c.bound, c.bound, true, 20 * 2 * c.bound / static_cast<double>(x.size()));
  }
}

TEST(SchemeStats, TruncatedSchemesRespectTheirCut) {
  struct Case {
    const char* spec;
    std::vector<int64_t> shape;
    Layout layout;
    double mean, sd, low, high;  // the truncated normal, from the formulas
    bool bf16;
  };
  const double he_sd = std::sqrt(2.0 / 4096) / kKerasCorrection;  // fan_in = 4 * 4 * 256
  const double lecun_sd = std::sqrt(1.0 / 1024) / kKerasCorrection;
  const Case cases[] = {
      {"he_normal", {4, 4, 256, 256}, Layout::kIO, 0, he_sd, -2 * he_sd, 2 * he_sd, false},
      {"lecun_normal", {1024, 1024}, Layout::kIO, 0, lecun_sd, -2 * lecun_sd, 2 * lecun_sd, false},
      {"trunc_normal(mean=0.1, std=0.02, a=0.07, b=0.2)",
       {1024, 1024},
       Layout::kOI,
       0.1,
       0.02,
       0.07,
       0.2,
       false},
      {"truncated_normal(stddev=0.02, lower=-1, upper=3)",
       {1024, 1024},
       Layout::kIO,
       0,
       0.02,
       -0.02,
       0.06,
       false},
      {"he_normal",
       {1024, 1024},
       Layout::kIO,
       0,
       std::sqrt(2.0 / 1024) / kKerasCorrection,
       -2 * std::sqrt(2.0 / 1024) / kKerasCorrection,
       2 * std::sqrt(2.0 / 1024) / kKerasCorrection,
       true},
  };
  uint64_t stream = 20;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.spec) + (c.bf16 ? " bf16" : " f32"));
    const std::vector<double> x = c.bf16
                                      ? Draw<fanfill::BFloat16>(c.spec, c.shape, c.layout, stream++)
                                      : Draw(c.spec, c.shape, c.layout, stream++);
    const Moments m = TruncatedMoments(c.mean, c.sd, c.low, c.high);
    CheckMoments(x, m);
    if (c.spec == std::string("he_normal")) {
      // Keras's correction: the values' variance is scale / fan_in.
      EXPECT_NEAR(m.var / (c.sd * c.sd * kKerasCorrection * kKerasCorrection), 1.0, 1e-12);
    }
    const double n = static_cast<double>(x.size());
    const double z = NormalCdf((c.high - c.mean) / c.sd) - NormalCdf((c.low - c.mean) / c.sd);
    const double f_low = NormalPdf((c.low - c.mean) / c.sd) / (z * c.sd);
    const double f_high = NormalPdf((c.high - c.mean) / c.sd) / (z * c.sd);
    const double tol = 20 / (n * std::min(f_low, f_high));
    // The fill clamps into the cut, exactly; bf16 values near it may sit one
    // bf16 step (2^-7 relative) inside.
    const double step = c.bf16 ? std::max(std::fabs(c.low), std::fabs(c.high)) * 0x1p-7 : 0.0;
    CheckRange(x, c.low, c.high, false, tol + step);
  }
}

TEST(SchemeStats, SparseNonZerosAreTheNormalAndZerosAreUniform) {
  {
    // 25% zeros per column exactly; the rest N(0, 0.1^2).
    const std::vector<double> x =
        Draw("sparse(sparsity=0.25, std=0.1)", {1024, 1024}, Layout::kOI, 30);
    std::vector<double> nonzero;
    for (double v : x) {
      if (v != 0) nonzero.push_back(v);
    }
    EXPECT_EQ(nonzero.size(), 1024u * 768);
    CheckMoments(nonzero, NormalMoments(0, 0.1));
  }
  {
    // [10, 100000]: each column zeroes ceil(0.3 * 10) = 3 of its 10 rows.
    // Count per row c_r: mean C p, covariance C p (1 - p) (I - (J - I)/(R - 1)),
    // so X = (R - 1)/R * sum (c_r - C p)^2 / (C p (1 - p)) ~ chi2(R - 1).
    const int R = 10, C = 100000;
    const std::vector<double> x = Draw("sparse(sparsity=0.3)", {R, C}, Layout::kOI, 31);
    std::vector<double> count(R, 0);
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) count[r] += x[static_cast<size_t>(r) * C + c] == 0;
    }
    const double p = 0.3;
    double chi2 = 0;
    for (double c : count) chi2 += (c - C * p) * (c - C * p) / (C * p * (1 - p));
    chi2 *= (R - 1.0) / R;
    // Wilson-Hilferty, cubed with pow as this test always has (bit for bit;
    // stats::ChiSquareQuantileWilsonHilferty's k * t * t * t differs by one
    // ulp at k = 9). 45.975 against the exact 44.811: conservative.
    const double k = R - 1.0;
    const double critical = k * std::pow(stats::WilsonHilfertyCubeRoot(k, kZOneSided), 3);
    stats::Budget().Spend(kChecks, kAlpha);
    EXPECT_LE(chi2, critical) << "zero positions are not uniform over rows";
  }
}

// Runs last (gtest runs tests in declaration order within a binary).
TEST(SchemeStats, ZBudget) {
  const int checks = stats::Budget().Checks(kChecks);
  std::printf("schemes_stats_test: %d statistical checks (budget %d, alpha %g each)\n", checks,
              kMaxChecks, kAlpha);
  EXPECT_LE(checks, kMaxChecks);
}

}  // namespace
