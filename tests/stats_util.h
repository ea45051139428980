// The statistics the statistical tests share: one implementation each of the
// helpers that turn "this check may fail with probability at most p_fail when
// the library is correct" into a tolerance, and the tally of the p_fail each
// test binary spends. The shape follows abseil's
// absl/random/internal/distribution_test_util.h (moments, z-scores, normal
// quantiles, a chi-square critical value); the code is fanfill's own.
//
// Users: tests/stats_test.cc and tests/schemes_stats_test.cc (see the
// "FALSE-FAILURE BUDGET" comment at the top of each); tests/stats_util_test.cc
// checks these functions against scipy's values.
//
// BIT COMPATIBILITY. These helpers replaced copies that lived in the tests.
// Each function here is the expression the copies evaluated, in the same
// order, so every tolerance the tests compute is the same double as before
// (checked by printing the tolerances in hexadecimal before and after the
// move). Keep it so: an expected value, tolerance, sample size or seed of a
// statistical test must not change silently. In particular
//   * the standard errors below are written per distribution (sd / sqrt(n),
//     sd^2 sqrt(2/n), ...) rather than through one generic formula, because
//     the generic sqrt((mu4 - sigma^4)/n) rounds differently;
//   * the Wilson-Hilferty quantile is split into its cube root (shared) and
//     the cube, which one user forms as dof * t * t * t and another as
//     dof * pow(t, 3); the two differ in the last bit for most dof (at dof = 9
//     by one ulp), so each keeps its own.
// The tests and this header are compiled with -ffp-contract=off (no fused
// multiply-add), which the bit compatibility relies on.
#ifndef FANFILL_TESTS_STATS_UTIL_H_
#define FANFILL_TESTS_STATS_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace fanfill::test::stats {

// ------------------------------------------------------------------ normal

inline constexpr double kSqrt2 = 1.41421356237309504880;             // == std::sqrt(2.0)
inline constexpr double kInvSqrt2Pi = 0.39894228040143267794;        // 1 / sqrt(2 pi)

// Standard normal density, CDF Phi and survival function Q = 1 - Phi, from
// std::erfc: relative accuracy a few ulp of glibc's erfc over the whole line,
// including the far tails (no cancellation: Q(x) = erfc(x / sqrt 2) / 2).
inline double NormalPdf(double x) { return kInvSqrt2Pi * std::exp(-0.5 * x * x); }
inline double NormalCdf(double x) { return 0.5 * std::erfc(-x / kSqrt2); }
inline double NormalSurvival(double x) { return 0.5 * std::erfc(x / kSqrt2); }

// x with Q(x) = P(Z > x) = p, for 0 < p < 1/2 (x > 0), by 200 bisection steps
// on [0, 40] with erfc: the result is the double next to the root of the
// rounded erfc, i.e. as accurate as erfc itself (~1e-16 relative). Slow
// (200 erfc calls) and meant for a handful of constants per binary.
inline double UpperNormalQuantile(double p) {
  double lo = 0.0, hi = 40.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(mid / kSqrt2) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// Phi^-1(p) for 0 < p < 1, by symmetry from UpperNormalQuantile (exactly 0 at
// p = 1/2).
inline double NormalQuantile(double p) {
  return p < 0.5 ? -UpperNormalQuantile(p) : p > 0.5 ? UpperNormalQuantile(1 - p) : 0.0;
}

// Critical |z| of a normal-approximation check that fails with probability
// alpha: two-sided |z| <= z_{1 - alpha/2} (4.8916 at alpha = 1e-6), one-sided
// z <= z_{1 - alpha} (4.7534 at 1e-6).
inline double TwoSidedZ(double alpha) { return UpperNormalQuantile(alpha / 2); }
inline double OneSidedZ(double alpha) { return UpperNormalQuantile(alpha); }

// ------------------------------------------------------------------ chi-square

// Wilson-Hilferty (1931): for X ~ chi2(k), (X/k)^(1/3) is nearly normal with
// mean 1 - 2/(9k) and variance 2/(9k). So the quantile of X at standard normal
// quantile z is k t^3 with t = 1 - 2/(9k) + z sqrt(2/(9k)); this returns t.
//
// Accuracy, against the exact chi-square quantiles (scipy.stats.chi2) at the
// points the tests use (z = +-4.7534, alpha = 1e-6 per tail):
//   k = 999,  upper: 1226.128 vs 1226.046 (+6.7e-5 relative), true tail 9.92e-7
//   k = 999,  lower:  800.659 vs  800.731 (-9.0e-5 relative), true tail 9.91e-7
//   k = 1023, upper: 1252.662 vs 1252.581 (+6.5e-5 relative), true tail 9.92e-7
//   k = 9,    upper:   45.975 vs   44.811 (+2.6e-2 relative), true tail 6.09e-7
// The approximation errs on the safe side at these points (each check spends
// less than its nominal alpha), and at k ~ 1000 the error (0.08) is tiny
// against the statistic's spread (sd sqrt(2k) = 45). abseil uses it only for
// k > 150 and bisects the exact p-value below; at k = 9 it is still
// conservative, which is all the one small-k user needs.
// Used by: stats_test (1000-bin uniform chi-square, two-sided, k = 999; 32x32
// pair cells, upper tail, k = 1023; the defect checks) and schemes_stats_test
// (sparse zero rows, upper tail, k = 9).
inline double WilsonHilfertyCubeRoot(double dof, double z) {
  const double c = 2.0 / (9.0 * dof);
  return 1.0 - c + z * std::sqrt(c);
}

// The chi-square quantile k t^3, cubed as dof * t * t * t (left to right).
inline double ChiSquareQuantileWilsonHilferty(double dof, double z) {
  const double t = WilsonHilfertyCubeRoot(dof, z);
  return dof * t * t * t;
}

// ------------------------------------------------------------------ binomial

// Acceptance interval [lo, hi] for X ~ Binomial(n, p): the largest lo with
// P(X < lo) <= alpha and the smallest hi with P(X > hi) <= alpha, summing the
// exact pmf (from lgamma, relative error ~1e-13 at n = 1e7) over
// mean +- (15 sd + 30); the mass outside that window is < 1e-50 and ignored.
// Each side is one check of probability <= alpha (two in a budget).
struct CountBounds {
  uint64_t lo, hi;
};
CountBounds BinomialBounds(uint64_t n, double p, double alpha);

// ------------------------------------------------------------------ Kolmogorov-Smirnov

// D_n = sup_x |F_n(x) - F(x)| of the sample against the continuous CDF `cdf`
// (evaluated in double on each sorted value). Sorts x.
template <class T, class Cdf>
double KsStatistic(std::vector<T>& x, Cdf cdf) {
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(static_cast<double>(x[i]));
    d = std::max(d, std::max((i + 1) / n - f, f - i / n));
  }
  return d;
}

// K with the asymptotic Kolmogorov tail P(sqrt(n) D_n > K) ~ 2 exp(-2 K^2)
// equal to alpha: K = sqrt(-ln(alpha/2) / 2) (2.6934 at alpha = 1e-6). The
// series' next term (-2 exp(-8 K^2)) is ~1e-25 here. Against the exact
// finite-n tail (scipy.stats.kstwo) the check D_n <= K / sqrt(n) fails with
// probability 9.98e-7 at n = 1e6, 9.99e-7 at 2e6 and 10^7: within alpha.
inline double KolmogorovK(double alpha) { return std::sqrt(-0.5 * std::log(alpha / 2)); }

// The critical value of D_n itself: K / sqrt(n).
inline double KsCriticalValue(double k, uint64_t n) {
  return k / std::sqrt(static_cast<double>(n));
}

// ------------------------------------------------------------------ moment tolerances
// Standard errors of sample statistics of n independent draws, for z-checks
// |estimate - expected| <= z * SE (z = TwoSidedZ(alpha)). All are the leading
// (normal-approximation) terms; the corrections are O(1/sqrt(n)) relative,
// negligible for the n >= 2^19 the tests use.

// Sample mean of a distribution with variance var: sqrt(var / n).
inline double MeanSE(double var, double n) { return std::sqrt(var / n); }
// Unbiased sample variance, 4th central moment mu4: sqrt((mu4 - var^2) / n).
inline double VarianceSE(double var, double mu4, double n) {
  return std::sqrt((mu4 - var * var) / n);
}
// The same for N(mean, sd^2), in the forms the tests evaluate: sd / sqrt(n),
// and sd^2 sqrt(2 / n) (mu4 = 3 sd^4).
inline double NormalMeanSE(double sd, double n) { return sd / std::sqrt(n); }
inline double NormalVarianceSE(double sd, double n) { return sd * sd * std::sqrt(2.0 / n); }
// For U[low, low + w): w / sqrt(12 n), and w^2 / sqrt(180 n) (mu4 = w^4/80,
// so mu4 - var^2 = w^4 (1/80 - 1/144) = w^4 / 180).
inline double UniformMeanSE(double w, double n) { return w / std::sqrt(12 * n); }
inline double UniformVarianceSE(double w, double n) { return w * w / std::sqrt(180 * n); }
// Sample skewness and excess kurtosis of a normal sample: sqrt(6/n), sqrt(24/n).
inline double SkewnessSE(double n) { return std::sqrt(6.0 / n); }
inline double ExcessKurtosisSE(double n) { return std::sqrt(24.0 / n); }
// Pearson correlation of two independent samples: 1 / sqrt(n).
inline double CorrelationSE(double n) { return 1.0 / std::sqrt(n); }

// ------------------------------------------------------------------ false-failure budget
// Every statistical check may fail on a correct library with some probability
// p_fail (the fills are deterministic, so a build either always passes or
// always fails: p_fail is the chance that the fixed seeds are unlucky). Each
// check spends its p_fail here, under an account (a short label, e.g.
// "alpha=1e-6 check"); at the end of the binary one gtest Environment (in
// stats_util.cc) prints each account, the number of checks, and the total,
// which by the union bound is >= P(some check fails falsely). A test may
// declare the most checks an account should see (the number its budget
// comment promises); the Environment fails the run when it is exceeded.
// The tally is per process, so the binaries that use it run whole under ctest
// (fanfill_test(... WHOLE) in tests/CMakeLists.txt): discovered one case per
// process, no run would ever see more than one case's checks.
class FalseFailureBudget {
 public:
  static FalseFailureBudget& Global();

  void Spend(const std::string& account, double p_fail, int checks = 1);
  void DeclareMaximum(const std::string& account, int max_checks);

  int Checks(const std::string& account) const;
  int Checks() const;    // all accounts
  double Total() const;  // sum of p_fail over all checks (union bound)
  // Human-readable table; and the accounts over their declared maximum.
  std::string Report() const;
  std::vector<std::string> Exceeded() const;

 private:
  struct Account {
    std::string name;
    int checks = 0;
    double p_fail = 0;     // sum
    int max_checks = -1;   // -1: none declared
  };
  Account& Find(const std::string& name);  // mu_ held
  mutable std::mutex mu_;
  std::vector<Account> accounts_;  // in order of first use
};

inline FalseFailureBudget& Budget() { return FalseFailureBudget::Global(); }

}  // namespace fanfill::test::stats

#endif  // FANFILL_TESTS_STATS_UTIL_H_
