// Checks of tests/stats_util.h against independent values (scipy 1.17.1:
// scipy.stats.norm, chi2, binom, computed once and written here) and of the
// false-failure budget tally. Deterministic: no sampling, outside any budget.
#include "tests/stats_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

namespace stats = fanfill::test::stats;

void ExpectRel(double got, double want, double rel) {
  EXPECT_LE(std::fabs(got - want), rel * std::fabs(want)) << got << " vs " << want;
}

TEST(StatsUtil, NormalCdfPdfSurvival) {
  EXPECT_EQ(stats::kSqrt2, std::sqrt(2.0));
  ExpectRel(stats::kInvSqrt2Pi, 1.0 / std::sqrt(2.0 * 3.14159265358979323846), 3e-16);
  ExpectRel(stats::NormalCdf(-3.0), 0.0013498980316300933, 1e-14);
  ExpectRel(stats::NormalCdf(1.5), 0.9331927987311419, 1e-15);
  ExpectRel(stats::NormalSurvival(5.0), 2.866515718791933e-07, 1e-13);
  ExpectRel(stats::NormalSurvival(8.0), 6.22096057427174e-16, 1e-13);
  ExpectRel(stats::NormalSurvival(20.0), 2.7536241186061556e-89, 1e-13);  // no cancellation
  ExpectRel(stats::NormalPdf(0.7), 0.31225393336676127, 1e-15);
  EXPECT_EQ(stats::NormalCdf(0.0), 0.5);
}

TEST(StatsUtil, NormalQuantiles) {
  ExpectRel(stats::UpperNormalQuantile(1e-6), 4.753424308822899, 1e-14);
  ExpectRel(stats::OneSidedZ(1e-6), 4.753424308822899, 1e-14);
  ExpectRel(stats::TwoSidedZ(1e-6), 4.891638475698591, 1e-14);
  ExpectRel(stats::NormalQuantile(0.025), -1.9599639845400545, 1e-14);
  ExpectRel(stats::NormalQuantile(1.0 / 32), -1.8627318674216515, 1e-14);
  ExpectRel(stats::NormalQuantile(0.9), 1.2815515655446004, 1e-14);
  EXPECT_EQ(stats::NormalQuantile(0.5), 0.0);
  for (double lp = std::log(1e-300); lp < std::log(0.5); lp += 0.37) {
    const double p = std::exp(lp);
    ExpectRel(stats::NormalSurvival(stats::UpperNormalQuantile(p)), p, 1e-12);
    ExpectRel(stats::NormalCdf(stats::NormalQuantile(p)), p, 1e-12);
  }
}

// The accuracy figures stated in stats_util.h, at the points the tests use.
TEST(StatsUtil, WilsonHilfertyAgainstExactQuantiles) {
  const double z = stats::OneSidedZ(1e-6);
  struct Case {
    double dof, z, exact, max_rel;
  };
  const Case cases[] = {
      {999, z, 1226.046189012162, 1e-4},
      {999, -z, 800.7306532340544, 1e-4},
      {1023, z, 1252.5812854838819, 1e-4},
      {9, z, 44.81093787068782, 3e-2},
  };
  for (const Case& c : cases) {
    const double wh = stats::ChiSquareQuantileWilsonHilferty(c.dof, c.z);
    ExpectRel(wh, c.exact, c.max_rel);
    // Conservative: the upper critical value above the exact one, the lower below.
    if (c.z > 0) {
      EXPECT_GE(wh, c.exact) << c.dof;
    } else {
      EXPECT_LE(wh, c.exact) << c.dof;
    }
    const double t = stats::WilsonHilfertyCubeRoot(c.dof, c.z);
    EXPECT_EQ(wh, c.dof * t * t * t);
  }
}

// Acceptance intervals against scipy.stats.binom (the largest lo with
// cdf(lo - 1) <= alpha, the smallest hi with sf(hi) <= alpha).
TEST(StatsUtil, BinomialBoundsAgainstScipy) {
  struct Case {
    uint64_t n;
    double p, alpha;
    uint64_t lo, hi;
  };
  const Case cases[] = {
      {10'000'000, std::erfc(3.0 / stats::kSqrt2), 1e-6, 26222, 27782},  // stats_test's
      {10'000'000, std::erfc(4.0 / stats::kSqrt2), 1e-6, 517, 757},      // tail counts
      {10'000'000, std::erfc(5.0 / stats::kSqrt2), 1e-6, 0, 20},
      {100, 0.5, 0.01, 38, 62},
      {1000, 0.1, 1e-3, 72, 130},
      {1'000'000, 0.3, 1e-6, 297823, 302180},
  };
  for (const Case& c : cases) {
    const stats::CountBounds b = stats::BinomialBounds(c.n, c.p, c.alpha);
    EXPECT_EQ(b.lo, c.lo) << c.n << " " << c.p;
    EXPECT_EQ(b.hi, c.hi) << c.n << " " << c.p;
  }
}

TEST(StatsUtil, Kolmogorov) {
  const double k = stats::KolmogorovK(1e-6);
  ExpectRel(k, 2.6933861344527097, 1e-15);
  ExpectRel(2 * std::exp(-2 * k * k), 1e-6, 1e-14);
  EXPECT_EQ(stats::KsCriticalValue(k, 1'000'000), k / 1000);
  // Sorted {0.1, 0.5, 0.9} against U(0, 1): D = max(1/3 - 0.1, 0.9 - 2/3) = 7/30.
  std::vector<double> x = {0.9, 0.1, 0.5};
  ExpectRel(stats::KsStatistic(x, [](double v) { return v; }), 7.0 / 30, 1e-15);
  EXPECT_EQ(x, (std::vector<double>{0.1, 0.5, 0.9}));
}

// The per-distribution forms agree with the generic ones (to rounding).
TEST(StatsUtil, StandardErrors) {
  const double n = 1e7, sd = 0.37, w = 0.4;
  ExpectRel(stats::NormalMeanSE(sd, n), stats::MeanSE(sd * sd, n), 1e-15);
  ExpectRel(stats::NormalVarianceSE(sd, n), stats::VarianceSE(sd * sd, 3 * std::pow(sd, 4), n),
            1e-15);
  ExpectRel(stats::UniformMeanSE(w, n), stats::MeanSE(w * w / 12, n), 1e-15);
  ExpectRel(stats::UniformVarianceSE(w, n), stats::VarianceSE(w * w / 12, std::pow(w, 4) / 80, n),
            1e-14);
  ExpectRel(stats::SkewnessSE(6e6), 1e-3, 1e-15);
  ExpectRel(stats::ExcessKurtosisSE(24e6), 1e-3, 1e-15);
  EXPECT_EQ(stats::CorrelationSE(1e6), 1e-3);
}

TEST(StatsUtil, BudgetTally) {
  stats::FalseFailureBudget budget;  // a local one: the binary's own stays empty
  budget.Spend("a", 1e-6, 2);
  budget.Spend("b", 1e-7);
  budget.Spend("a", 1e-6);
  EXPECT_EQ(budget.Checks("a"), 3);
  EXPECT_EQ(budget.Checks("b"), 1);
  EXPECT_EQ(budget.Checks("c"), 0);
  EXPECT_EQ(budget.Checks(), 4);
  ExpectRel(budget.Total(), 3.1e-6, 1e-14);
  EXPECT_TRUE(budget.Exceeded().empty());
  budget.DeclareMaximum("a", 3);
  EXPECT_TRUE(budget.Exceeded().empty());
  budget.DeclareMaximum("a", 2);
  ASSERT_EQ(budget.Exceeded().size(), 1u);
  EXPECT_NE(budget.Exceeded()[0].find("a: 3 checks, declared maximum 2"), std::string::npos);
  const std::string report = budget.Report();
  EXPECT_NE(report.find("declared maximum 2"), std::string::npos) << report;
  EXPECT_NE(report.find("4 checks, P(false failure) <= 3.1e-06"), std::string::npos) << report;
  EXPECT_EQ(stats::Budget().Checks(), 0);
}

}  // namespace
