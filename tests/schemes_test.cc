// Deterministic tests of the scheme layer (fanfill/schemes.hpp): the fan /
// gain / std / bound table against numbers computed independently from the
// PyTorch and Keras formulas, gains, the spec parser and its errors, fan and
// shape errors, the one-pass property (Init == one Fill with the described
// distribution, bit for bit), the structural schemes, "nothing written on
// error", and the C API. The statistical checks are in schemes_stats_test.cc.
#include "fanfill/schemes.hpp"

#include <gtest/gtest.h>

#include "test_util.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iomanip>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "fanfill/fanfill.h"
#include "fanfill/schemes.h"
#include "fanfill/fanfill.hpp"
#include "src/core/common.h"

namespace {

using fanfill::Description;
using fanfill::DType;
using fanfill::Layout;
using fanfill::Scheme;
using Kind = fanfill::Description::Kind;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Equal, both NaN, or within `rel` relative difference.
::testing::AssertionResult Near(const char* what, double expected, double actual,
                                double rel = 1e-15) {
  if (std::isnan(expected) && std::isnan(actual)) return ::testing::AssertionSuccess();
  if (expected == actual) return ::testing::AssertionSuccess();
  if (std::isfinite(expected) && std::fabs(actual - expected) <= rel * std::fabs(expected)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << what << ": expected " << std::setprecision(17) << expected << ", got " << actual;
}

// ------------------------------------------------------------------ the table
//
// Every number below was computed by a separate script from the formulas of
// torch.nn.init (_calculate_fan_in_and_fan_out, calculate_gain,
// kaiming_*_: std = gain / sqrt(fan), bound = sqrt(3) * std; xavier_*_:
// std = gain * sqrt(2 / (fan_in + fan_out)), a = sqrt(3) * std) and of Keras
// (compute_fans; VarianceScaling: scale /= max(1, n); truncated_normal:
// stddev = sqrt(scale) / 0.87962566103423978 cut at +-2 stddev;
// untruncated_normal: stddev = sqrt(scale); uniform: limit = sqrt(3 scale)),
// in double precision, and pasted here as decimals. `fan` is the divisor of
// the variance (fan_avg = (fan_in + fan_out) / 2, fan_geo_avg =
// sqrt(fan_in fan_out)); `gain` is sqrt(scale) for the Keras family.
struct FanCase {
  const char* spec;
  std::vector<int64_t> shape;
  Layout layout;
  double fan_in, fan_out, fan, gain;
  Kind kind;
  double stddev;     // the normal's / truncated normal's stddev parameter; NaN for uniform
  double low, high;  // uniform or truncation bounds; -inf, inf for normal
};

// clang-format off
const FanCase kFanCases[] = {
    // PyTorch Conv2d [out, in, kH, kW]
    {"kaiming_normal", {64, 3, 7, 7}, Layout::kOI, 147.0, 3136.0, 147.0, 1.4142135623730951, Kind::kNormal, 0.11664236870396087, -kInf, kInf},
    {"kaiming_normal(mode=fan_out, nonlinearity=relu)", {64, 3, 7, 7}, Layout::kOI, 147.0, 3136.0, 3136.0, 1.4142135623730951, Kind::kNormal, 0.02525381361380527, -kInf, kInf},
    {"kaiming_normal(mode=fan_out, nonlinearity=leaky_relu, a=0.2)", {128, 64, 3, 3}, Layout::kOI, 576.0, 1152.0, 1152.0, 1.3867504905630728, Kind::kNormal, 0.04085752815378834, -kInf, kInf},
    // PyTorch Linear [out, in]
    {"kaiming_uniform", {256, 128}, Layout::kOI, 128.0, 256.0, 128.0, 1.4142135623730951, Kind::kUniform, kNaN, -0.21650635094610965, 0.21650635094610965},
    // Keras Conv2D [kH, kW, in, out]
    {"kaiming_uniform(nonlinearity=tanh)", {7, 7, 3, 64}, Layout::kIO, 147.0, 3136.0, 147.0, 1.6666666666666667, Kind::kUniform, kNaN, -0.2380952380952381, 0.2380952380952381},
    {"he_uniform", {3, 3, 64, 128}, Layout::kIO, 576.0, 1152.0, 576.0, 1.4142135623730951, Kind::kUniform, kNaN, -0.10206207261596575, 0.10206207261596575},
    {"he_normal", {3, 3, 64, 128}, Layout::kIO, 576.0, 1152.0, 576.0, 1.4142135623730951, Kind::kTruncatedNormal, 0.06698936571449711, -0.13397873142899422, 0.13397873142899422},
    // Keras Dense [in, out] and the same layer in PyTorch [out, in]
    {"glorot_uniform", {784, 256}, Layout::kIO, 784.0, 256.0, 520.0, 1.0, Kind::kUniform, kNaN, -0.075955452531275, 0.075955452531275},
    {"xavier_uniform", {256, 784}, Layout::kOI, 784.0, 256.0, 520.0, 1.0, Kind::kUniform, kNaN, -0.07595545253127499, 0.07595545253127499},
    {"xavier_normal(gain=2)", {256, 784}, Layout::kOI, 784.0, 256.0, 520.0, 2.0, Kind::kNormal, 0.08770580193070292, -kInf, kInf},
    {"glorot_normal", {5, 5, 32, 64}, Layout::kIO, 800.0, 1600.0, 1200.0, 1.0, Kind::kTruncatedNormal, 0.03281795283864236, -0.06563590567728472, 0.06563590567728472},
    {"lecun_normal", {512, 10}, Layout::kIO, 512.0, 10.0, 512.0, 1.0, Kind::kTruncatedNormal, 0.050242024285872836, -0.10048404857174567, 0.10048404857174567},
    {"lecun_uniform", {512, 10}, Layout::kIO, 512.0, 10.0, 512.0, 1.0, Kind::kUniform, kNaN, -0.07654655446197431, 0.07654655446197431},
    {"variance_scaling(scale=2, mode=fan_avg, distribution=uniform)", {100, 200}, Layout::kIO, 100.0, 200.0, 150.0, 1.4142135623730951, Kind::kUniform, kNaN, -0.2, 0.2},
    // Keras Conv1D [k, in, out]
    {"variance_scaling(scale=0.5, mode=fan_out, distribution=untruncated_normal)", {3, 16, 32}, Layout::kIO, 48.0, 96.0, 96.0, 0.7071067811865476, Kind::kNormal, 0.07216878364870322, -kInf, kInf},
    {"variance_scaling(mode=fan_geo_avg)", {300, 1200}, Layout::kIO, 300.0, 1200.0, 600.0, 1.0, Kind::kTruncatedNormal, 0.046411593993728635, -0.09282318798745727, 0.09282318798745727},
    // nn.Linear / nn.Conv2d default weight init: U(+-1/sqrt(fan_in)), as
    // PyTorch computes it (a hair below 1/8 and 1/12)
    {"torch_default", {128, 64}, Layout::kOI, 64.0, 128.0, 64.0, 0.5773502691896257, Kind::kUniform, kNaN, -0.12499999999999999, 0.12499999999999999},
    {"torch_default", {32, 16, 3, 3}, Layout::kOI, 144.0, 288.0, 144.0, 0.5773502691896257, Kind::kUniform, kNaN, -0.08333333333333331, 0.08333333333333331},
    // grouped conv, groups = 8, 64 -> 64 channels: PyTorch [64, 64/8, 3, 3]
    {"kaiming_normal", {64, 8, 3, 3}, Layout::kOI, 72.0, 576.0, 72.0, 1.4142135623730951, Kind::kNormal, 0.16666666666666669, -kInf, kInf},
    // the same in Keras [3, 3, 64/8, 64]
    {"he_uniform", {3, 3, 8, 64}, Layout::kIO, 72.0, 576.0, 72.0, 1.4142135623730951, Kind::kUniform, kNaN, -0.28867513459481287, 0.28867513459481287},
    // depthwise conv, 32 channels: PyTorch [32, 1, 3, 3]
    {"xavier_uniform", {32, 1, 3, 3}, Layout::kOI, 9.0, 288.0, 148.5, 1.0, Kind::kUniform, kNaN, -0.14213381090374028, 0.14213381090374028},
    // Conv3d and Conv1d
    {"kaiming_uniform(mode=fan_out, nonlinearity=relu)", {16, 4, 3, 3, 3}, Layout::kOI, 108.0, 432.0, 432.0, 1.4142135623730951, Kind::kUniform, kNaN, -0.11785113019775792, 0.11785113019775792},
    {"xavier_normal", {32, 16, 5}, Layout::kOI, 80.0, 160.0, 120.0, 1.0, Kind::kNormal, 0.09128709291752768, -kInf, kInf},
    // Keras rank 1 (fan_in = fan_out = shape[0]) and rank 0 (1, 1)
    {"lecun_uniform", {100}, Layout::kIO, 100.0, 100.0, 100.0, 1.0, Kind::kUniform, kNaN, -0.17320508075688773, 0.17320508075688773},
    {"variance_scaling(distribution=uniform)", {}, Layout::kIO, 1.0, 1.0, 1.0, 1.0, Kind::kUniform, kNaN, -1.7320508075688772, 1.7320508075688772},
    // explicit fans on a shape PyTorch has none for
    {"kaiming_normal(fan_in=1000)", {10}, Layout::kOI, 1000.0, kNaN, 1000.0, 1.4142135623730951, Kind::kNormal, 0.0447213595499958, -kInf, kInf},
    // every calculate_gain branch
    {"kaiming_normal(nonlinearity=selu)", {100, 50}, Layout::kOI, 50.0, 100.0, 50.0, 0.75, Kind::kNormal, 0.10606601717798213, -kInf, kInf},
    {"kaiming_uniform(nonlinearity=sigmoid, mode=fan_out)", {100, 50}, Layout::kOI, 50.0, 100.0, 100.0, 1.0, Kind::kUniform, kNaN, -0.17320508075688773, 0.17320508075688773},
    {"kaiming_normal(nonlinearity=leaky_relu, a=0.01)", {100, 50}, Layout::kOI, 50.0, 100.0, 50.0, 1.4141428569978354, Kind::kNormal, 0.1999900007499375, -kInf, kInf},
    // ConvTranspose2d weight [in, out/groups, kH, kW]: PyTorch's "fan_in" is dim 1
    {"kaiming_uniform(nonlinearity=conv_transpose2d)", {16, 8, 4, 4}, Layout::kOI, 128.0, 256.0, 128.0, 1.0, Kind::kUniform, kNaN, -0.15309310892394862, 0.15309310892394862},
    // Keras Conv3D [kD, kH, kW, in, out], Keras-style spelling
    {"KaimingUniform(nonlinearity='linear')", {6, 5, 4, 3, 2}, Layout::kIO, 360.0, 240.0, 360.0, 1.0, Kind::kUniform, kNaN, -0.09128709291752768, 0.09128709291752768},
    {"he_uniform(a=0.5, mode=fan_out)", {20, 30, 3}, Layout::kOI, 90.0, 60.0, 60.0, 1.2649110640673518, Kind::kUniform, kNaN, -0.282842712474619, 0.282842712474619},
};
// clang-format on

TEST(SchemesTable, FansGainsAndParametersMatchPyTorchAndKeras) {
  static_assert(std::size(kFanCases) >= 30);
  for (const FanCase& c : kFanCases) {
    SCOPED_TRACE(std::string(c.spec) + " on layout " + fanfill::LayoutName(c.layout));
    const Description d = fanfill::Describe(c.shape, c.layout, Scheme::Parse(c.spec));
    EXPECT_EQ(d.kind, c.kind);
    EXPECT_TRUE(Near("fan_in", c.fan_in, d.fan_in));
    EXPECT_TRUE(Near("fan_out", c.fan_out, d.fan_out));
    EXPECT_TRUE(Near("fan", c.fan, d.fan));
    EXPECT_TRUE(Near("gain", c.gain, d.gain));
    EXPECT_EQ(d.distribution.mean, 0.0);
    switch (c.kind) {
      case Kind::kNormal:
        EXPECT_EQ(d.distribution.kind, fanfill::Distribution::Kind::kNormal);
        EXPECT_TRUE(Near("stddev", c.stddev, d.distribution.stddev));
        EXPECT_TRUE(Near("std", c.stddev, d.std));
        break;
      case Kind::kUniform:
        EXPECT_EQ(d.distribution.kind, fanfill::Distribution::Kind::kUniform);
        EXPECT_TRUE(Near("std", c.high / std::sqrt(3.0), d.std, 1e-14));
        break;
      case Kind::kTruncatedNormal:
        EXPECT_EQ(d.distribution.kind, fanfill::Distribution::Kind::kTruncatedNormal);
        EXPECT_TRUE(Near("stddev", c.stddev, d.distribution.stddev));
        // Keras's correction makes the std of the values sqrt(scale / fan).
        EXPECT_TRUE(Near("std", c.gain / std::sqrt(c.fan), d.std, 1e-14));
        break;
      default:
        ADD_FAILURE() << "unexpected kind";
    }
    if (c.kind != Kind::kNormal) {
      EXPECT_TRUE(Near("low", c.low, d.distribution.low));
      EXPECT_TRUE(Near("high", c.high, d.distribution.high));
    }
    EXPECT_TRUE(Near("low", c.low, d.low));
    EXPECT_TRUE(Near("high", c.high, d.high));
    EXPECT_NEAR(d.mean, 0.0, 1e-17);
    uint64_t count = 1;
    for (int64_t dim : c.shape) count *= static_cast<uint64_t>(dim);
    EXPECT_EQ(d.count, count);
  }
}

// The schemes that take no fans, and the bias schemes.
struct ParamCase {
  const char* spec;
  std::vector<int64_t> shape;
  Layout layout;
  Kind kind;
  double mean, stddev, low, high;  // of `distribution` (stddev NaN for uniform)
};

// clang-format off
const ParamCase kParamCases[] = {
    {"normal", {10, 10}, Layout::kOI, Kind::kNormal, 0.0, 1.0, -kInf, kInf},                  // normal_ defaults
    {"normal(1, 0.5)", {10}, Layout::kOI, Kind::kNormal, 1.0, 0.5, -kInf, kInf},              // positional
    {"RandomNormal", {10, 10}, Layout::kIO, Kind::kNormal, 0.0, 0.05, -kInf, kInf},           // Keras default
    {"random_normal(stddev=0.02)", {3}, Layout::kIO, Kind::kNormal, 0.0, 0.02, -kInf, kInf},
    {"uniform", {10}, Layout::kOI, Kind::kUniform, 0.0, kNaN, 0.0, 1.0},                      // uniform_ defaults
    {"uniform(-0.1, 0.1)", {10}, Layout::kOI, Kind::kUniform, 0.0, kNaN, -0.1, 0.1},
    {"RandomUniform", {10}, Layout::kIO, Kind::kUniform, 0.0, kNaN, -0.05, 0.05},            // Keras default
    {"random_uniform(minval=-1, maxval=3)", {10}, Layout::kIO, Kind::kUniform, 0.0, kNaN, -1.0, 3.0},
    {"trunc_normal(std=0.02)", {768, 768}, Layout::kOI, Kind::kTruncatedNormal, 0.0, 0.02, -2.0, 2.0},  // absolute bounds
    {"trunc_normal(mean=1, std=0.5, a=0, b=3)", {5}, Layout::kOI, Kind::kTruncatedNormal, 1.0, 0.5, 0.0, 3.0},
    {"truncated_normal(stddev=0.02)", {768, 768}, Layout::kIO, Kind::kTruncatedNormal, 0.0, 0.02, -0.04, 0.04},  // in stddevs
    {"TruncatedNormal", {8}, Layout::kIO, Kind::kTruncatedNormal, 0.0, 0.05, -0.1, 0.1},
    {"truncated_normal(mean=1, stddev=0.5, lower=-1, upper=3)", {8}, Layout::kIO, Kind::kTruncatedNormal, 1.0, 0.5, 0.5, 2.5},
    {"torch_default_bias(fan_in=144)", {32}, Layout::kOI, Kind::kUniform, 0.0, kNaN, -1.0 / 12, 1.0 / 12},
    {"sparse(sparsity=0.1, std=0.02)", {100, 50}, Layout::kOI, Kind::kSparse, 0.0, 0.02, -kInf, kInf},
};
// clang-format on

TEST(SchemesTable, DistributionParameters) {
  for (const ParamCase& c : kParamCases) {
    SCOPED_TRACE(c.spec);
    const Description d = fanfill::Describe(c.shape, c.layout, Scheme::Parse(c.spec));
    EXPECT_EQ(d.kind, c.kind);
    if (c.kind != Kind::kUniform) {
      EXPECT_TRUE(Near("mean", c.mean, d.distribution.mean));
      EXPECT_TRUE(Near("stddev", c.stddev, d.distribution.stddev));
    }
    if (c.kind == Kind::kUniform || c.kind == Kind::kTruncatedNormal) {
      EXPECT_TRUE(Near("low", c.low, d.distribution.low));
      EXPECT_TRUE(Near("high", c.high, d.distribution.high));
    }
  }
}

TEST(SchemesTable, TruncatedValueMoments) {
  // trunc_normal(mean=1, std=0.5, a=0, b=3): alpha = -2, beta = 4. Mean and
  // std of the truncated values, from a separate script
  // (mu + sigma (phi(alpha) - phi(beta)) / Z, and the variance formula).
  const Description d = fanfill::Describe(std::vector<int64_t>{5}, Layout::kOI,
                                          Scheme::Parse("trunc_normal(mean=1, std=0.5, a=0, b=3)"));
  EXPECT_TRUE(Near("mean", 1.0275563515206907, d.mean, 1e-13));
  EXPECT_TRUE(Near("std", 0.47061541695192666, d.std, 1e-13));
}

// Mean and std of the standard normal truncated to [a, b] by quadrature in
// long double: composite Simpson on 20000 panels of the density relative to
// its largest value on the interval, moments about the midpoint (no
// cancellation however narrow the interval).
void QuadratureMoments(double a, double b, double& shift, double& std_ratio) {
  const long double m = 0.5L * (a + b), h = 0.5L * (b - a);
  const long double peak = a > 0 ? a : (b < 0 ? b : 0);  // where the density is largest
  const int n = 20000;
  long double s0 = 0, s1 = 0, s2 = 0;
  for (int i = 0; i <= n; ++i) {
    const long double t = -h + 2 * h * i / n;
    const long double x = m + t;
    const long double w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
    const long double f = w * std::exp(-0.5L * (x - peak) * (x + peak));
    s0 += f;
    s1 += f * t;
    s2 += f * t * t;
  }
  const long double et = s1 / s0;
  shift = static_cast<double>(m + et);
  std_ratio = static_cast<double>(std::sqrt(s2 / s0 - et * et));
}

TEST(SchemesTable, TruncatedMomentsAgainstQuadrature) {
  struct Case {
    double a, b;
  };
  // Within 5 stddevs (where the fills sample; the header states the error
  // beyond), wide, narrow, centred and one-sided.
  std::vector<Case> cases = {{-2, 2}, {-2, 4}, {0.5, 3}, {4, 4.5}, {-5.5, -4.9}, {1.9999, 2},
                             {-1e-5, 1e-5}, {-1e-20, 1e-20}, {3, 3 + 1e-9}};
  for (double c : {-5.0, -3.0, -1.0, -0.3, 0.0, 0.7, 2.0, 5.0}) {
    for (double w : {1e-9, 1e-4, 0.003, 0.0078, 0.0157, 0.016, 0.03, 0.1, 1.0}) {
      cases.push_back({c - w / 2, c + w / 2});
    }
  }
  for (const Case& c : cases) {
    const fanfill::internal::TruncatedMoments t = fanfill::internal::StandardTruncatedMoments(c.a, c.b);
    double shift = 0, std_ratio = 0;
    QuadratureMoments(c.a, c.b, shift, std_ratio);
    const std::string where = "[" + std::to_string(c.a) + ", " + std::to_string(c.b) + "]";
    EXPECT_NEAR(t.shift, shift, 1e-10 * (c.b - c.a) + 4e-16 * std::fabs(shift)) << where;
    EXPECT_NEAR(t.std_ratio, std_ratio, 3e-7 * std_ratio) << where;
  }
}

TEST(SchemesTable, TruncatedMomentsTakeInfiniteBounds) {
  using fanfill::internal::StandardTruncatedMoments;
  // An infinite bound is the limit of a finite one: at 40 stddevs both the
  // CDF and the density are exactly 0 or 1 and 0 in double, so the moments are
  // bit-equal.
  for (const double b : {-4.0, -1.0, 0.0, 0.5, 3.0, 1e11}) {
    const auto inf = StandardTruncatedMoments(-kInf, b), fin = StandardTruncatedMoments(-40, b);
    EXPECT_EQ(inf.shift, fin.shift) << b;
    EXPECT_EQ(inf.std_ratio, fin.std_ratio) << b;
    const auto up = StandardTruncatedMoments(-b, kInf);
    EXPECT_EQ(up.shift, -inf.shift) << b;
    EXPECT_EQ(up.std_ratio, inf.std_ratio) << b;
  }
  const auto full = StandardTruncatedMoments(-kInf, kInf);
  EXPECT_EQ(full.shift, 0.0);
  EXPECT_EQ(full.std_ratio, 1.0);
  // Far beyond any stand-in for infinity (1e11 stddevs, where the interval's
  // probability underflows): no moments (NaN), not those of an inverted
  // interval.
  const auto far = StandardTruncatedMoments(1e11, kInf);
  EXPECT_TRUE(std::isnan(far.shift)) << far.shift;
}

TEST(SchemesTable, TruncatedDescriptionsStayFinite) {
  // The upper tail is described as the mirror of the lower one (Phi(10) and
  // Phi(11) are both 1 in double).
  const std::vector<int64_t> shape = {8};
  const Description up = fanfill::Describe(shape, Layout::kOI, Scheme::Parse("trunc_normal(a=10, b=11)"));
  const Description down =
      fanfill::Describe(shape, Layout::kOI, Scheme::Parse("trunc_normal(a=-11, b=-10)"));
  EXPECT_TRUE(std::isfinite(up.mean) && std::isfinite(up.std));
  EXPECT_EQ(up.mean, -down.mean);
  EXPECT_EQ(up.std, down.std);
  // An interval 2e-20 stddevs wide: U(-1, 1) to double precision.
  const Description wide_std =
      fanfill::Describe(shape, Layout::kOI, Scheme::Parse("trunc_normal(std=1e20, a=-1, b=1)"));
  EXPECT_EQ(wide_std.mean, 0.0);
  EXPECT_TRUE(Near("std", 1 / std::sqrt(3.0), wide_std.std, 1e-15));
}

TEST(SchemesTable, StructuralSchemes) {
  const std::vector<int64_t> conv_oi = {16, 8, 3, 3}, conv_io = {3, 3, 8, 16};
  Description d = fanfill::Describe(conv_oi, Layout::kOI, Scheme::Parse("orthogonal(gain=2)"));
  EXPECT_EQ(d.kind, Kind::kOrthogonal);
  EXPECT_DOUBLE_EQ(d.std, 2.0 / std::sqrt(72.0));  // rows 16, cols 72
  EXPECT_EQ(d.low, -2.0);
  EXPECT_EQ(d.high, 2.0);
  d = fanfill::Describe(conv_io, Layout::kIO, Scheme::Parse("Orthogonal"));
  EXPECT_DOUBLE_EQ(d.std, 1.0 / std::sqrt(72.0));  // rows 72, cols 16

  // sparse_: ceil(0.3 * 10) = 3 of 10 rows per column are zero.
  d = fanfill::Describe(std::vector<int64_t>{10, 4}, Layout::kOI, Scheme::Parse("sparse(0.3)"));
  EXPECT_EQ(d.kind, Kind::kSparse);
  EXPECT_DOUBLE_EQ(d.sparsity, 0.3);
  EXPECT_DOUBLE_EQ(d.std, 0.01 * std::sqrt(0.7));
  d = fanfill::Describe(std::vector<int64_t>{10, 4}, Layout::kOI, Scheme::Parse("sparse(0.25)"));
  EXPECT_DOUBLE_EQ(d.sparsity, 0.3);  // ceil(2.5) = 3

  d = fanfill::Describe(std::vector<int64_t>{4, 8}, Layout::kOI, Scheme::Parse("eye"));
  EXPECT_EQ(d.kind, Kind::kEye);
  EXPECT_DOUBLE_EQ(d.mean, 4.0 / 32);
  EXPECT_DOUBLE_EQ(d.std, std::sqrt(0.125 * 0.875));
  EXPECT_EQ(d.low, 0.0);
  EXPECT_EQ(d.high, 1.0);

  d = fanfill::Describe(std::vector<int64_t>{4, 2, 3, 3}, Layout::kOI,
                        Scheme::Parse("dirac(groups=2)"));
  EXPECT_EQ(d.kind, Kind::kDirac);
  EXPECT_DOUBLE_EQ(d.mean, 4.0 / 72);  // 2 groups x min(2, 2) ones

  d = fanfill::Describe(std::vector<int64_t>{3}, Layout::kOI, Scheme::Parse("constant(val=0.5)"));
  EXPECT_EQ(d.kind, Kind::kConstant);
  EXPECT_EQ(d.mean, 0.5);
  EXPECT_EQ(d.std, 0.0);
  EXPECT_EQ(d.low, 0.5);
  EXPECT_EQ(d.high, 0.5);
  EXPECT_EQ(fanfill::Describe(std::vector<int64_t>{3}, Layout::kOI, Scheme::Parse("ones")).mean,
            1.0);
  EXPECT_EQ(fanfill::Describe(std::vector<int64_t>{3}, Layout::kOI, Scheme::Parse("Zeros")).mean,
            0.0);
}

// ------------------------------------------------------------------ fans and gains

TEST(Fans, LayoutsAndRanks) {
  using V = std::vector<int64_t>;
  auto fans = [](const V& shape, Layout layout) { return fanfill::ComputeFans(shape, layout); };
  EXPECT_EQ(fans(V{64, 3, 7, 7}, Layout::kOI).fan_in, 147);
  EXPECT_EQ(fans(V{64, 3, 7, 7}, Layout::kOI).fan_out, 3136);
  EXPECT_EQ(fans(V{7, 7, 3, 64}, Layout::kIO).fan_in, 147);
  EXPECT_EQ(fans(V{7, 7, 3, 64}, Layout::kIO).fan_out, 3136);
  EXPECT_EQ(fans(V{}, Layout::kIO).fan_in, 1);
  EXPECT_EQ(fans(V{}, Layout::kIO).fan_out, 1);
  EXPECT_EQ(fans(V{9}, Layout::kIO).fan_in, 9);
  EXPECT_EQ(fans(V{9}, Layout::kIO).fan_out, 9);
  EXPECT_EQ(fans(V{0, 5}, Layout::kOI).fan_out, 0);
}

using fanfill::test::ExpectThrowsWith;

TEST(Fans, Errors) {
  using V = std::vector<int64_t>;
  ExpectThrowsWith([] { fanfill::ComputeFans(V{64}, Layout::kOI); },
                   {"at least 2 dimensions", "[64]"});
  ExpectThrowsWith([] { fanfill::ComputeFans(V{}, Layout::kOI); }, {"at least 2 dimensions"});
  ExpectThrowsWith([] { fanfill::ComputeFans(V{4, -3, 3}, Layout::kOI); }, {"dimension 1 is -3"});
  ExpectThrowsWith(
      [] {
        fanfill::ComputeFans(V{int64_t{1} << 40, 1, int64_t{1} << 20}, Layout::kOI);
      },
      {"exceed 2^53"});
  // Compared as integers (2^53 + 1 rounds to 2^53 in double), rank-1 io too.
  constexpr int64_t kPast = (int64_t{1} << 53) + 1;
  ExpectThrowsWith([] { fanfill::ComputeFans(V{kPast}, Layout::kIO); }, {"exceed 2^53"});
  ExpectThrowsWith([] { fanfill::ComputeFans(V{1, kPast}, Layout::kIO); }, {"exceed 2^53"});
  ExpectThrowsWith([] { fanfill::ComputeFans(V{kPast, 1}, Layout::kOI); }, {"exceed 2^53"});
  EXPECT_EQ(fanfill::ComputeFans(V{kPast - 1}, Layout::kIO).fan_in, 9007199254740992.0);
  ExpectThrowsWith(
      [] {
        fanfill::ElementCount(V{int64_t{1} << 40, int64_t{1} << 40});
      },
      {"overflows 2^64"});
  // Schemes that need fans say what to do about it.
  ExpectThrowsWith([] { fanfill::Describe(V{64}, Layout::kOI, Scheme::Parse("kaiming_normal")); },
                   {"kaiming_normal", "needs fan_in", "at least 2 dimensions", "fan_in=N"});
  ExpectThrowsWith(
      [] { fanfill::Describe(V{64}, Layout::kOI, Scheme::Parse("torch_default_bias")); },
      {"torch_default_bias", "needs fan_in", "fans_from"});
  ExpectThrowsWith(
      [] { fanfill::Describe(V{64}, Layout::kOI, Scheme::Parse("xavier_uniform(fan_in=3)")); },
      {"needs fan_out"});
  ExpectThrowsWith([] { fanfill::Describe(V{5}, Layout::kOI, Scheme::Parse("orthogonal")); },
                   {"orthogonal needs at least 2 dimensions"});
  ExpectThrowsWith(
      [] {
        fanfill::Describe(V{2, 3, 4}, Layout::kOI, Scheme::Parse("eye"));
      },
      {"eye needs exactly 2 dimensions", "[2, 3, 4]"});
  ExpectThrowsWith(
      [] {
        fanfill::Describe(V{3, 4, 5}, Layout::kOI, Scheme::Parse("sparse(0.5)"));
      },
      {"sparse needs exactly 2 dimensions"});
  ExpectThrowsWith(
      [] {
        fanfill::Describe(V{4, 4}, Layout::kOI, Scheme::Parse("dirac"));
      },
      {"dirac needs 3, 4 or 5 dimensions"});
  ExpectThrowsWith(
      [] {
        fanfill::Describe(V{4, 2, 3, 3}, Layout::kOI, Scheme::Parse("dirac(groups=3)"));
      },
      {"not divisible by groups=3"});
  ExpectThrowsWith(
      [] {
        fanfill::Describe(V{3, -1}, Layout::kOI, Scheme::Parse("normal"));
      },
      {"dimension 1 is -1"});
  ExpectThrowsWith([] { fanfill::ParseLayout("OIHW"); }, {"unknown layout 'OIHW'"});
}

TEST(Gains, ExactlyCalculateGain) {
  for (const char* linear : {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                             "conv_transpose2d", "conv_transpose3d", "sigmoid"}) {
    EXPECT_EQ(fanfill::Gain(linear), 1.0) << linear;
  }
  EXPECT_EQ(fanfill::Gain("tanh"), 5.0 / 3);
  EXPECT_EQ(fanfill::Gain("relu"), 1.4142135623730951);
  EXPECT_EQ(fanfill::Gain("selu"), 0.75);
  EXPECT_EQ(fanfill::Gain("leaky_relu"), 1.4141428569978354);  // default slope 0.01
  EXPECT_EQ(fanfill::Gain("leaky_relu", 0.0), 1.4142135623730951);
  EXPECT_EQ(fanfill::Gain("leaky_relu", 0.2), 1.3867504905630728);
  EXPECT_EQ(fanfill::Gain("leaky_relu", std::sqrt(5.0)), 0.5773502691896257);
  EXPECT_EQ(fanfill::Gain("relu", 0.2), 1.4142135623730951);  // param ignored, as PyTorch
  ExpectThrowsWith([] { fanfill::Gain("gelu"); }, {"unsupported nonlinearity 'gelu'"});
}

// ------------------------------------------------------------------ the parser

TEST(SchemeSpec, AliasesResolveToOneImplementation) {
  const std::vector<std::vector<const char*>> groups = {
      {"xavier_uniform", "xavier_uniform_", "glorot_uniform", "GlorotUniform"},
      {"kaiming_uniform", "kaiming_uniform_", "he_uniform", "HeUniform", "KAIMING_UNIFORM"},
      {"eye", "eye_", "identity", "Identity"},
      {"torch_default", "pytorch_default"},
      {"normal", "normal_"},
      {"random_normal", "RandomNormal"},
      {"truncated_normal", "TruncatedNormal"},
      {"variance_scaling", "VarianceScaling"},
      {"orthogonal", "orthogonal_", "Orthogonal"},
      {"zeros", "zeros_", "Zeros"},
  };
  for (const auto& names : groups) {
    const std::string canonical = Scheme::Parse(names[0]).ToString();
    for (const char* n : names) EXPECT_EQ(Scheme::Parse(n).ToString(), canonical) << n;
  }
  EXPECT_EQ(Scheme::Parse("he_uniform").name(), "kaiming_uniform");
  // Where PyTorch and Keras differ, each name keeps its library's meaning.
  const std::vector<int64_t> shape = {3, 3, 64, 128};
  EXPECT_EQ(fanfill::Describe(shape, Layout::kIO, Scheme::Parse("he_normal")).kind,
            Kind::kTruncatedNormal);
  EXPECT_EQ(fanfill::Describe(shape, Layout::kIO, Scheme::Parse("kaiming_normal")).kind,
            Kind::kNormal);
}

// A Scheme or PreparedInit is an immutable value: "moving" one copies it, so
// the source stays valid (an implicit move left a null representation, and
// its accessors dereferenced it).
TEST(SchemeSpec, MovedFromValuesStayValid) {
  Scheme a = Scheme::Parse("kaiming_uniform");
  Scheme b = std::move(a);
  EXPECT_EQ(a.name(), "kaiming_uniform");  // NOLINT(bugprone-use-after-move): the point
  EXPECT_EQ(a.ToString(), b.ToString());
  Scheme c = Scheme::Parse("zeros");
  c = std::move(b);
  EXPECT_EQ(b.name(), "kaiming_uniform");  // NOLINT(bugprone-use-after-move)
  fanfill::PreparedInit p({4, 4}, Layout::kOI, c, DType::kF32, {1, 2});
  fanfill::PreparedInit q = std::move(p);
  std::vector<float> x(16), y(16);
  p.Run(x.data());  // NOLINT(bugprone-use-after-move)
  q.Run(y.data());
  EXPECT_EQ(x, y);
  EXPECT_EQ(p.count(), 16u);  // NOLINT(bugprone-use-after-move)
}

TEST(SchemeSpec, CanonicalFormRoundTrips) {
  const char* specs[] = {
      "kaiming_normal(mode=fan_out, nonlinearity=leaky_relu, a=0.2)",
      "variance_scaling(scale=2, mode=fan_avg, distribution=uniform)",
      "trunc_normal(std=0.02, a=-2, b=2)",
      "  xavier_normal ( gain = 1.5 )  ",
      "kaiming_uniform(0.2, \"fan_out\")",
      "KaimingNormal(nonlinearity='relu', fan_in=12, fan_out=7)",
      "sparse(sparsity=.5, std=1e-3)",
      "normal(+1.5, 2.)",
      "he_normal()",
      "zeros",
      "dirac(groups=4)",
      "constant(-0.125)",
  };
  for (const char* spec : specs) {
    const Scheme s = Scheme::Parse(spec);
    EXPECT_EQ(Scheme::Parse(s.ToString()).ToString(), s.ToString()) << spec;
  }
  EXPECT_EQ(
      Scheme::Parse("kaiming_normal(mode=fan_out, nonlinearity=leaky_relu, a=0.2)").ToString(),
      "kaiming_normal(a=0.2, mode=fan_out, nonlinearity=leaky_relu)");
  EXPECT_EQ(Scheme::Parse("kaiming_uniform(0.2, \"fan_out\")").ToString(),
            "kaiming_uniform(a=0.2, mode=fan_out, nonlinearity=leaky_relu)");
  EXPECT_EQ(Scheme::Parse("normal(+1.5, 2.)").ToString(), "normal(mean=1.5, std=2)");
  EXPECT_EQ(Scheme::Parse("he_normal()").ToString(), "he_normal");
  EXPECT_EQ(Scheme::Parse("KaimingNormal(nonlinearity='relu', fan_in=12, fan_out=7)").ToString(),
            "kaiming_normal(mode=fan_in, nonlinearity=relu, fan_in=12, fan_out=7)");
  EXPECT_EQ(Scheme::Parse("variance_scaling").ToString(),
            "variance_scaling(scale=1, mode=fan_in, distribution=truncated_normal)");
}

// trunc_normal's bounds may be inf / -inf (no bound on that side, as the
// fills take them); no other number may be, and NaN is no number.
TEST(SchemeSpec, TruncNormalBoundsMayBeInfinite) {
  const Scheme half = Scheme::Parse("trunc_normal(a=0, b=INF)");
  EXPECT_EQ(half.ToString(), "trunc_normal(mean=0, std=1, a=0, b=inf)");
  EXPECT_EQ(Scheme::Parse(half.ToString()).ToString(), half.ToString());
  EXPECT_EQ(Scheme::Parse("trunc_normal(0, 1, -inf, +inf)").ToString(),
            "trunc_normal(mean=0, std=1, a=-inf, b=inf)");
  // The half-normal's moments: sqrt(2 / pi) and sqrt(1 - 2 / pi).
  const std::vector<int64_t> shape = {64, 64};
  const Description d = fanfill::Describe(shape, Layout::kOI, half);
  EXPECT_NEAR(d.mean, std::sqrt(2 / M_PI), 1e-15);
  EXPECT_NEAR(d.std, std::sqrt(1 - 2 / M_PI), 1e-15);
  EXPECT_EQ(d.low, 0.0);
  EXPECT_EQ(d.high, HUGE_VAL);
  // Init is the fill of the same distribution.
  std::vector<float> a(64 * 64), b(64 * 64);
  fanfill::Init(std::span<float>(a), shape, Layout::kOI,
                Scheme::Parse("trunc_normal(mean=0.5, std=2, a=-inf, b=1)"), {3, 4});
  fanfill::FillTruncatedNormal(std::span<float>(b), 0.5, 2.0, -HUGE_VAL, 1.0, {3, 4});
  EXPECT_EQ(a, b);
  for (const char* bad : {"uniform(a=-inf)", "constant(inf)", "normal(std=inf)",
                          "truncated_normal(upper=inf)"}) {
    ExpectThrowsWith([&] { Scheme::Parse(bad); }, {"must be finite (only trunc_normal's bounds"});
  }
  ExpectThrowsWith([] { Scheme::Parse("trunc_normal(a=nan)"); }, {"a=nan: expected a number"});
  ExpectThrowsWith([] { Scheme::Parse("trunc_normal(a=inf)"); }, {"a=inf must be < b=2"});
  ExpectThrowsWith([] { Scheme::Parse("trunc_normal(a=-inf, b=-inf)"); },
                   {"a=-inf must be < b=-inf"});
  ExpectThrowsWith([] { Scheme::Parse("trunc_normal(a=infinity)"); }, {"expected a number"});
}

TEST(SchemeSpec, ErrorsNameTheOffendingPart) {
  // clang-format off
  const std::vector<std::pair<const char*, std::vector<std::string>>> cases = {
      {"", {"expected a scheme name"}},
      {"kaiming_nromal", {"unknown scheme 'kaiming_nromal'", "did you mean kaiming_normal?"}},
      {"xavier", {"unknown scheme 'xavier'", "did you mean xavier_normal or xavier_uniform?"}},
      {"kaiming_normal(mode=fan_ot)", {"mode=fan_ot", "expected fan_in or fan_out"}},
      {"kaiming_normal(nonlinearity=gelu)", {"nonlinearity=gelu", "leaky_relu"}},
      {"kaiming_normal(std=1)", {"kaiming_normal has no argument 'std'", "a, mode, nonlinearity, fan_in, fan_out"}},
      {"he_normal(scale=2)", {"he_normal has no argument 'scale'", "fan_in, fan_out"}},
      {"zeros(value=1)", {"zeros has no argument 'value'", "it takes no arguments"}},
      {"normal(fan_in=3)", {"normal has no argument 'fan_in'"}},
      {"normal(std=)", {"expected a value", "position 12"}},
      {"normal(std=-1)", {"std=-1", "must be >= 0"}},
      {"normal(std=inf)", {"std=inf: must be finite"}},
      {"normal(std=nan)", {"std=nan", "expected a number"}},
      {"normal(std=-inf)", {"std=-inf: must be finite"}},
      {"normal(std=1e999)", {"'1e999' is out of range"}},
      {"normal(std=0x10)", {"'0x10' is not a number"}},
      {"normal(std=1.2.3)", {"'1.2.3' is not a number"}},
      {"normal(mode=fan_in)", {"normal has no argument 'mode'"}},
      {"sparse", {"sparse: missing argument sparsity"}},
      {"constant", {"constant: missing argument value"}},
      {"sparse(sparsity=1.5)", {"sparsity=1.5", "must be in [0, 1]"}},
      {"normal(0, 1, 2)", {"normal takes 2 positional arguments", "'2'"}},
      {"zeros(1)", {"zeros takes 0 positional arguments"}},
      {"normal(std=1, 0)", {"positional argument '0' after keyword arguments"}},
      {"normal(std=1, std=2)", {"argument std given twice"}},
      {"normal(std=1, stddev=2)", {"argument std given twice"}},
      {"kaiming_normal(fan_in=3, fan_in=4)", {"argument fan_in given twice"}},
      {"uniform(a=1, b=0)", {"uniform: a=1 must be < b=0"}},
      {"random_uniform(minval=0.5, maxval=0.5)", {"minval=0.5 must be < maxval=0.5"}},
      {"trunc_normal(a=3, b=2)", {"a=3 must be < b=2"}},
      {"truncated_normal(lower=2, upper=-2)", {"lower=2 must be < upper=-2"}},
      {"trunc_normal(std=0)", {"std=0", "must be > 0"}},
      {"orthogonal(gain=0)", {"gain=0", "must be > 0"}},
      {"variance_scaling(scale=-1)", {"scale=-1", "must be > 0"}},
      {"variance_scaling(distribution=normal)", {"distribution=normal is ambiguous", "untruncated_normal"}},
      {"variance_scaling(mode=fan_sum)", {"mode=fan_sum", "fan_geo_avg"}},
      {"kaiming_normal(a=0.2, nonlinearity=relu)", {"a=0.2 only applies to nonlinearity=leaky_relu"}},
      {"kaiming_normal(fan_in=-1)", {"fan_in=-1", "positive integer"}},
      {"kaiming_normal(fan_out=2.5)", {"fan_out=2.5", "positive integer"}},
      {"kaiming_normal(mode=3)", {"mode=3", "expected fan_in or fan_out"}},
      {"kaiming_normal(a=relu)", {"a=relu", "expected a number"}},
      {"dirac(groups=1.5)", {"groups=1.5", "positive integer"}},
      {"dirac(groups=0)", {"groups=0", "positive integer"}},
      {"normal(mean=1", {"expected ',' or ')'"}},
      {"normal(mean=1))", {"unexpected ')'"}},
      {"normal mean", {"unexpected 'mean'"}},
      {"normal(std='abc)", {"unterminated string"}},
      {"normal(,)", {"expected a value"}},
  };
  // clang-format on
  for (const auto& [spec, parts] : cases) {
    SCOPED_TRACE(spec);
    std::vector<std::string> all = parts;
    all.push_back(std::string("scheme \"") + spec + "\"");  // every message quotes the spec
    ExpectThrowsWith([&] { Scheme::Parse(spec); }, all);
  }
}

// Text the user gave is echoed with its control bytes escaped: an embedded NUL
// once cut what() (and so Python's message) short at the quote it was in.
TEST(SchemeSpec, ControlBytesInEchoedTextAreEscaped) {
  using namespace std::string_literals;
  const auto no_raw_control = [](const std::function<void()>& call, const std::string& part) {
    try {
      call();
      ADD_FAILURE() << "no error";
    } catch (const std::invalid_argument& e) {
      const std::string m = e.what();
      EXPECT_EQ(std::strlen(e.what()), m.size()) << "a NUL in the message";
      EXPECT_NE(m.find(part), std::string::npos) << m;
      EXPECT_TRUE(std::none_of(m.begin(), m.end(),
                               [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
          << m;
    }
  };
  no_raw_control([] { Scheme::Parse("normal\0(std=2)"s); },
                 "scheme \"normal\\x00(std=2)\": unexpected '\\x00(std=2)' at position 7");
  no_raw_control([] { Scheme::Parse("\0"s); }, "scheme \"\\x00\"");
  no_raw_control([] { Scheme::Parse("normal(std=1\x01)"); }, "normal(std=1\\x01)");
  no_raw_control([] { fanfill::ParseLayout("oi\0"s); }, "unknown layout 'oi\\x00' (expected oi");
  no_raw_control([] { fanfill::Gain("relu\0"s); }, "unsupported nonlinearity 'relu\\x00' (expected");
  no_raw_control([] { fanfill::ParseDType("f32\0"s); }, "unknown dtype 'f32\\x00' (expected");
  no_raw_control([] { fanfill::ForceTarget("AVX2\x7f"s); }, "target 'AVX2\\x7f' is not available");
  EXPECT_EQ(fanfill::internal::PrintableText("a\x01\x1f b\x7f\x80"s), "a\\x01\\x1f b\\x7f\x80");
}

// fan_in=0 / fan_out=0 parse (a zero-size weight's fans, which WithDefaultFans
// records and ToString writes, must round-trip: found by the fuzzers), but a
// scheme that divides by the zero fan is refused when it is described.
TEST(SchemeSpec, ZeroFansParseButAreRefusedWhereDividedBy) {
  const Scheme s = Scheme::Parse("kaiming_normal(fan_in=0)");
  EXPECT_EQ(Scheme::Parse(s.ToString()).ToString(), s.ToString());
  ExpectThrowsWith([&] { fanfill::Describe(std::vector<int64_t>{4, 4}, Layout::kOI, s); },
                   {"fan_in is 0"});
  ExpectThrowsWith(
      [] {
        fanfill::Describe(std::vector<int64_t>{4, 4}, Layout::kOI,
                          Scheme::Parse("xavier_uniform(fan_out=0, fan_in=0)"));
      },
      {"is 0"});
  // Where the zero fan is not divided by, it is just recorded: a fan_out mode
  // with an explicit fan_in=0 is fine.
  const Description d = fanfill::Describe(std::vector<int64_t>{4, 4}, Layout::kOI,
                                          Scheme::Parse("kaiming_normal(mode=fan_out, fan_in=0)"));
  EXPECT_EQ(d.fan, 4.0);
}

// ------------------------------------------------------------------ one pass

size_t Bytes(DType dtype, size_t n) { return n * fanfill::DTypeSize(dtype); }

// Init writes exactly what one Fill with the described distribution writes.
TEST(SchemesInit, OneFusedFillPerScheme) {
  const char* specs[] = {
      "kaiming_normal(nonlinearity=relu)",
      "kaiming_uniform",
      "he_normal",
      "glorot_uniform",
      "xavier_normal",
      "lecun_normal",
      "lecun_uniform",
      "variance_scaling(scale=0.1, mode=fan_geo_avg, distribution=untruncated_normal)",
      "torch_default",
      "trunc_normal(std=0.02)",
      "truncated_normal(stddev=0.02)",
      "normal(0.5, 0.01)",
      "uniform(-3, 1)"};
  const std::vector<int64_t> shape = {96, 40, 3};
  const uint64_t n = 96 * 40 * 3;
  const fanfill::StreamKey key{.seed = 7, .stream = 99};
  for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16, DType::kF16}) {
    for (const char* spec : specs) {
      SCOPED_TRACE(std::string(spec) + " " + fanfill::DTypeName(dtype));
      const Scheme scheme = Scheme::Parse(spec);
      std::vector<uint8_t> got(Bytes(dtype, n)), want(Bytes(dtype, n));
      fanfill::Init(got.data(), dtype, shape, Layout::kOI, scheme, key);
      fanfill::Fill(want.data(), dtype, n,
                    fanfill::Describe(shape, Layout::kOI, scheme).distribution, key);
      EXPECT_EQ(got, want);
    }
  }
  // And the parameters are the PyTorch formula's, not just self-consistent:
  // kaiming_normal on [64, 3, 7, 7] is FillNormal(0, sqrt(2)/sqrt(147)).
  std::vector<float> got(64 * 3 * 7 * 7), want(got.size());
  fanfill::Init(std::span<float>(got), std::vector<int64_t>{64, 3, 7, 7}, Layout::kOI,
                Scheme::Parse("kaiming_normal"), key);
  fanfill::FillNormal(std::span<float>(want), 0.0, 0.11664236870396087, key);
  EXPECT_EQ(got, want);
}

TEST(SchemesInit, ThreadCountDoesNotMatter) {
  const std::vector<int64_t> shape = {512, 1024};
  std::vector<float> a(512 * 1024), b(a.size());
  const Scheme s = Scheme::Parse("he_normal");
  fanfill::Init(std::span<float>(a), shape, Layout::kIO, s, {1, 2}, {.max_threads = 1});
  fanfill::Init(std::span<float>(b), shape, Layout::kIO, s, {1, 2}, {.max_threads = 0});
  EXPECT_EQ(a, b);
}

// ------------------------------------------------------------------ structural schemes

TEST(SchemesInit, EyeDiracConstants) {
  std::vector<float> eye(3 * 5, -1.0f);
  fanfill::Init(std::span<float>(eye), std::vector<int64_t>{3, 5}, Layout::kOI,
                Scheme::Parse("identity(gain=2)"), {});
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 5; ++c) EXPECT_EQ(eye[r * 5 + c], r == c ? 2.0f : 0.0f);
  }

  // dirac_(w, groups=2) on [4, 2, 3, 3]: w[g*2 + k, k, 1, 1] = 1.
  const std::vector<int64_t> oi = {4, 2, 3, 3};
  std::vector<double> dirac(4 * 2 * 3 * 3, -1.0);
  fanfill::Init(std::span<double>(dirac), oi, Layout::kOI, Scheme::Parse("dirac(groups=2)"), {});
  for (int o = 0; o < 4; ++o) {
    for (int i = 0; i < 2; ++i) {
      for (int h = 0; h < 3; ++h) {
        for (int w = 0; w < 3; ++w) {
          const bool one = i == o % 2 && h == 1 && w == 1;
          EXPECT_EQ(dirac[((o * 2 + i) * 3 + h) * 3 + w], one ? 1.0 : 0.0);
        }
      }
    }
  }
  // The same kernel in layout io [3, 3, 2, 4] is its transpose.
  std::vector<double> dirac_io(dirac.size(), -1.0);
  fanfill::Init(std::span<double>(dirac_io), std::vector<int64_t>{3, 3, 2, 4}, Layout::kIO,
                Scheme::Parse("dirac(groups=2)"), {});
  for (int o = 0; o < 4; ++o) {
    for (int i = 0; i < 2; ++i) {
      for (int h = 0; h < 3; ++h) {
        for (int w = 0; w < 3; ++w) {
          EXPECT_EQ(dirac_io[((h * 3 + w) * 2 + i) * 4 + o], dirac[((o * 2 + i) * 3 + h) * 3 + w]);
        }
      }
    }
  }

  std::vector<fanfill::BFloat16> c(5);
  fanfill::Init(std::span<fanfill::BFloat16>(c), std::vector<int64_t>{5}, Layout::kOI,
                Scheme::Parse("constant(0.5)"), {});
  for (auto v : c) EXPECT_EQ(v.bits, 0x3F00);
  std::vector<fanfill::Float16> ones(4);
  fanfill::Init(std::span<fanfill::Float16>(ones), std::vector<int64_t>{2, 2}, Layout::kOI,
                Scheme::Parse("ones"), {});
  for (auto v : ones) EXPECT_EQ(v.bits, 0x3C00);
  std::vector<float> zeros(6, 1.0f);
  fanfill::Init(std::span<float>(zeros), std::vector<int64_t>{2, 3}, Layout::kIO,
                Scheme::Parse("zeros"), {});
  for (float v : zeros) EXPECT_EQ(std::bit_cast<uint32_t>(v), 0u);  // +0
}

// Outputs need no alignment for their dtype (a tensor inside a byte buffer):
// every scheme, the non-random ones' scalar stores included, writes the same
// bytes at every byte offset as into an aligned buffer, and nothing outside
// them. On x86 a misaligned typed store still writes the right bytes, so that
// bug shows only under UBSan (a misaligned-store report): the asan stage runs
// this test with ASan + UBSan.
TEST(SchemesInit, MisalignedOutputsGetTheAlignedBytes) {
  const std::vector<int64_t> shape = {6, 4, 3};
  const uint64_t n = 6 * 4 * 3;
  for (const char* spec : {"zeros", "ones", "constant(0.5)", "eye", "dirac", "orthogonal",
                           "sparse(0.5)", "kaiming_normal", "uniform(a=-1, b=1)",
                           "trunc_normal(std=0.5)"}) {
    for (const DType dtype : {DType::kF32, DType::kF64, DType::kBF16, DType::kF16, DType::kF8E4M3,
                              DType::kF8E5M2}) {
      // (FP8: sparse's std 0.01 underflows E4M3, refused; the others fit.)
      if (dtype == DType::kF8E4M3 && std::string(spec) == "sparse(0.5)") continue;
      const size_t bytes = n * fanfill::DTypeSize(dtype);
      std::vector<unsigned char> aligned_store(bytes + 64), raw(bytes + 128);
      // A 64-byte aligned start inside each buffer (raw: and 7 bytes on, room to spare).
      auto align = [](unsigned char* p) {
        return p + (64 - reinterpret_cast<uintptr_t>(p) % 64) % 64;
      };
      unsigned char* aligned = align(aligned_store.data());
      const Scheme scheme = Scheme::Parse(spec);
      const std::string what = std::string(spec) + " " + fanfill::DTypeName(dtype);
      // 2-d schemes (eye, orthogonal, sparse) on the [6, 12] matrix of the same size.
      const bool matrix = std::string(spec) == "eye" || std::string(spec) == "orthogonal" ||
                          std::string(spec) == "sparse(0.5)";
      const std::vector<int64_t> s = matrix ? std::vector<int64_t>{6, 12} : shape;
      fanfill::Init(aligned, dtype, s, Layout::kOI, scheme, {3, 4});
      for (size_t off = 1; off < 8; ++off) {
        unsigned char* out = align(raw.data()) + off;
        std::fill(raw.begin(), raw.end(), 0xAB);
        fanfill::Init(out, dtype, s, Layout::kOI, scheme, {3, 4});
        EXPECT_EQ(std::memcmp(out, aligned, bytes), 0) << what << " at offset " << off;
        const auto untouched = [](const unsigned char* b, const unsigned char* e) {
          return std::all_of(b, e, [](unsigned char c) { return c == 0xAB; });
        };
        EXPECT_TRUE(untouched(raw.data(), out) && untouched(out + bytes, raw.data() + raw.size()))
            << what << " at offset " << off << ": a byte outside the output changed";
      }
    }
  }
}

TEST(SchemesInit, SparseZeroesExactlyCeilSparsityOfEachColumn) {
  // oi [out=37, in=50]: per column, ceil(0.3 * 37) = 12 zeros; the other
  // elements are the normal fill's.
  const fanfill::StreamKey key{3, 4};
  std::vector<float> w(37 * 50), normal(37 * 50);
  fanfill::Init(std::span<float>(w), std::vector<int64_t>{37, 50}, Layout::kOI,
                Scheme::Parse("sparse(sparsity=0.3, std=0.02)"), key);
  fanfill::FillNormal(std::span<float>(normal), 0.0, 0.02, key);
  for (int c = 0; c < 50; ++c) {
    int zeros = 0;
    for (int r = 0; r < 37; ++r) {
      const float v = w[r * 50 + c];
      if (v == 0.0f) {
        ++zeros;
      } else {
        EXPECT_EQ(v, normal[r * 50 + c]);
      }
    }
    EXPECT_EQ(zeros, 12) << "column " << c;
  }
  // io [in=50, out=37]: the same per row (per input unit).
  std::vector<float> io(50 * 37);
  fanfill::Init(std::span<float>(io), std::vector<int64_t>{50, 37}, Layout::kIO,
                Scheme::Parse("sparse(sparsity=0.3, std=0.02)"), key);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(std::count(io.begin() + i * 37, io.begin() + (i + 1) * 37, 0.0f), 12) << "row " << i;
  }
  // sparsity 0 writes the plain normal fill; sparsity 1 only zeros.
  std::vector<float> none(w.size()), all(w.size());
  fanfill::Init(std::span<float>(none), std::vector<int64_t>{37, 50}, Layout::kOI,
                Scheme::Parse("sparse(0, 0.02)"), key);
  EXPECT_EQ(none, normal);
  fanfill::Init(std::span<float>(all), std::vector<int64_t>{37, 50}, Layout::kOI,
                Scheme::Parse("sparse(1)"), key);
  EXPECT_EQ(std::count(all.begin(), all.end(), 0.0f), static_cast<long>(all.size()));
}

TEST(SchemesInit, ExplicitAndDefaultFans) {
  // A bias initialized from its weight's fans: torch_default_bias with the
  // fans of nn.Conv2d(16, 32, 3)'s weight gives U(+-1/12).
  const Scheme bias =
      Scheme::Parse("torch_default_bias")
          .WithDefaultFans(fanfill::ComputeFans(std::vector<int64_t>{32, 16, 3, 3}, Layout::kOI));
  const Description d = fanfill::Describe(std::vector<int64_t>{32}, Layout::kOI, bias);
  EXPECT_EQ(d.distribution.high, 1.0 / 12);
  // Explicit fans in the spec win over the defaults.
  EXPECT_EQ(Scheme::Parse("torch_default_bias(fan_in=4)").WithDefaultFans({9, 9}).ToString(),
            "torch_default_bias(fan_in=4, fan_out=9)");
  // A weight with fan_in 0 gets PyTorch's bound 0: zeros.
  const Description zero =
      fanfill::Describe(std::vector<int64_t>{3}, Layout::kOI,
                        Scheme::Parse("torch_default_bias").WithDefaultFans({0, 0}));
  EXPECT_EQ(zero.kind, Kind::kConstant);
  EXPECT_EQ(zero.mean, 0.0);
  ExpectThrowsWith([] { Scheme::Parse("zeros").WithDefaultFans({1, 1}); }, {"uses no fans"});
  // Only fans Parse reads back (ToString then Parse gives the same scheme).
  const Scheme he = Scheme::Parse("kaiming_normal");
  ExpectThrowsWith([&] { he.WithDefaultFans({0.5, 3}); }, {"positive integers", "0.5"});
  ExpectThrowsWith([&] { he.WithDefaultFans({1e300, 3}); }, {"at most 2^53"});
  ExpectThrowsWith([&] { he.WithDefaultFans({3, -1}); }, {"positive integers"});
  const Scheme big = he.WithDefaultFans({9007199254740992.0, -0.0});
  EXPECT_EQ(big.ToString(),
            "kaiming_normal(a=0, mode=fan_in, nonlinearity=leaky_relu, fan_in=9007199254740992, "
            "fan_out=0)");
  EXPECT_EQ(Scheme::Parse(big.ToString()).ToString(), big.ToString());
}

// ------------------------------------------------------------------ errors write nothing

TEST(SchemesInit, NothingWrittenOnError) {
  struct Bad {
    const char* spec;
    std::vector<int64_t> shape;
    DType dtype;
    const char* part;
  };
  const Bad cases[] = {
      {"normal(std=1e5)", {8, 8}, DType::kF16, "f16"},
      {"uniform(-1e6, 1e6)", {8, 8}, DType::kF16, "f16"},
      {"constant(1e6)", {8, 8}, DType::kF16, "overflows f16"},
      {"orthogonal(gain=1e6)", {8, 8}, DType::kF16, "overflows f16"},
      {"eye(gain=1e39)", {8, 8}, DType::kF32, "overflows f32"},
      {"kaiming_normal", {64}, DType::kF32, "needs fan_in"},
      {"dirac(groups=3)", {4, 4, 3, 3}, DType::kF32, "groups=3"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.spec);
    std::vector<uint8_t> buf(Bytes(c.dtype, fanfill::ElementCount(c.shape)), 0xA5);
    const std::vector<uint8_t> before = buf;
    ExpectThrowsWith(
        [&] {
          fanfill::Init(buf.data(), c.dtype, c.shape, Layout::kOI, Scheme::Parse(c.spec), {});
        },
        {c.part});
    EXPECT_EQ(buf, before);
  }
  ExpectThrowsWith(
      [] {
        fanfill::Init(nullptr, DType::kF32, std::vector<int64_t>{2, 2}, Layout::kOI,
                      Scheme::Parse("zeros"), {});
      },
      {"out is null"});
  std::vector<float> small(3);
  ExpectThrowsWith(
      [&] {
        fanfill::Init(std::span<float>(small), std::vector<int64_t>{2, 2}, Layout::kOI,
                      Scheme::Parse("zeros"), {});
      },
      {"out has 3 elements but the shape has 4"});
  // Zero-element tensors are a no-op, as in PyTorch, even without fans.
  fanfill::Init(nullptr, DType::kF32, std::vector<int64_t>{0, 5}, Layout::kOI,
                Scheme::Parse("kaiming_normal"), {});
}

// As torch.nn.init: each scheme's rank and shape requirements hold whatever
// the element count; past them a zero-element tensor is a no-op that needs
// no fans; a value the dtype cannot hold is refused whatever the count. One
// rule for Describe, Init and PreparedInit (and so the model functions).
TEST(SchemesInit, ZeroElementTensorsFollowTorch) {
  using V = std::vector<int64_t>;
  const fanfill::StreamKey key{.seed = 1, .stream = 2};
  auto all_accept = [&](const V& shape, const char* spec, DType dtype = DType::kF32) {
    SCOPED_TRACE(spec);
    const Scheme s = Scheme::Parse(spec);
    const Description d = fanfill::Describe(shape, Layout::kOI, s);
    EXPECT_EQ(d.count, 0u);
    fanfill::Init(nullptr, dtype, shape, Layout::kOI, s, key);
    const fanfill::PreparedInit plan(shape, Layout::kOI, s, dtype, key);
    EXPECT_EQ(plan.bytes(), 0u);
    plan.Run(nullptr);
    return d;
  };
  auto all_refuse = [&](const V& shape, const char* spec, const char* message,
                        DType dtype = DType::kF32, bool describe_refuses = true) {
    SCOPED_TRACE(spec);
    const Scheme s = Scheme::Parse(spec);
    if (describe_refuses) {
      ExpectThrowsWith([&] { fanfill::Describe(shape, Layout::kOI, s); }, {message});
    }
    ExpectThrowsWith([&] { fanfill::Init(nullptr, dtype, shape, Layout::kOI, s, key); },
                     {message});
    ExpectThrowsWith([&] { fanfill::PreparedInit(shape, Layout::kOI, s, dtype, key); },
                     {message});
  };
  // Rank and shape first ("Only tensors with 2 dimensions are supported", ...).
  all_refuse({0, 3, 3}, "eye", "eye needs exactly 2 dimensions");
  all_refuse({0}, "sparse(0.5)", "sparse needs exactly 2 dimensions");
  all_refuse({0}, "orthogonal", "orthogonal needs at least 2 dimensions");
  all_refuse({0, 3}, "dirac", "dirac needs 3, 4 or 5 dimensions");
  all_refuse({3, 0, 3}, "dirac(groups=2)", "not divisible by groups=2");
  all_accept({0, 3}, "eye");
  all_accept({3, 0}, "sparse(0.5)");
  all_accept({0, 3, 3}, "dirac(groups=2)");
  all_accept({0, 4}, "orthogonal");
  // No LAPACK limit on a matrix that has no elements; but a product that
  // overflows before a zero dimension is refused (torch: "Stride calculation
  // overflowed").
  all_accept({0, int64_t{1} << 40, int64_t{1} << 40}, "orthogonal");
  EXPECT_THROW(fanfill::ElementCount(V{int64_t{1} << 40, int64_t{1} << 40, 0}),
               std::invalid_argument);
  // Then no fans: kaiming_ on a zero-element tensor warns and returns.
  const Description k = all_accept({4, 0}, "kaiming_normal");
  EXPECT_EQ(k.kind, Kind::kNormal);
  EXPECT_EQ(k.fan_in, 0.0);
  EXPECT_EQ(k.fan_out, 4.0);
  EXPECT_TRUE(Near("gain", std::sqrt(2.0 / (1 + 0.0)), k.gain));
  for (double v : {k.fan, k.mean, k.std, k.low, k.high, k.distribution.mean,
                   k.distribution.stddev}) {
    EXPECT_TRUE(std::isnan(v)) << v;
  }
  all_accept({0}, "kaiming_uniform");  // no fans at all (rank 1, layout oi)
  all_accept({0, 0}, "xavier_uniform");
  all_accept({0}, "torch_default_bias");
  all_accept({0, 5}, "variance_scaling(mode=fan_avg)");
  all_accept({0, 5}, "kaiming_normal(fan_in=0)");
  // Where the fans are there, the values are described and checked as usual.
  const Description given = all_accept({0, 5}, "kaiming_normal(fan_in=8, mode=fan_in)");
  EXPECT_EQ(given.std, std::sqrt(2.0 / (1 + 0.0)) / std::sqrt(8.0));
  // A distribution or value the dtype cannot hold: refused whatever the count
  // (Describe has no dtype).
  all_refuse({0}, "uniform(0, 1e300)", "exceed the f16 range", DType::kF16, false);
  all_refuse({0, 4}, "constant(1e6)", "overflows f16", DType::kF16, false);
  all_refuse({0, 4}, "orthogonal(gain=1e6)", "overflows f16", DType::kF16, false);
  all_refuse({0}, "normal(std=1e5)", "f16", DType::kF16, false);
}

// torch's calculate_gain computes 1 + a ** 2 in Python, which raises
// OverflowError; 0 gain (writing zeros) or a failed uniform is not that.
TEST(Gains, LeakyReluSlopeWhoseSquareOverflowsIsRefused) {
  ExpectThrowsWith([] { fanfill::Gain("leaky_relu", 1e200); },
                   {"leaky_relu: the negative slope (a) 1e+200 is too large: 1 + a^2 overflows"});
  EXPECT_GT(fanfill::Gain("leaky_relu", 1e154), 0.0);  // 1 + a^2 = 1e308: finite
  EXPECT_EQ(fanfill::Gain("relu", 1e200), std::sqrt(2.0));  // param ignored, as PyTorch
  for (const char* spec : {"kaiming_normal(a=1e200)", "kaiming_uniform(a=-1e200)"}) {
    ExpectThrowsWith(
        [&] { fanfill::Describe(std::vector<int64_t>{4, 4}, Layout::kOI, Scheme::Parse(spec)); },
        {"on shape [4, 4]", "negative slope (a)", "overflows"});
  }
}

// ------------------------------------------------------------------ C API

TEST(SchemesCApi, InitDescribeStreamId) {
  const int64_t shape[4] = {64, 3, 7, 7};
  std::vector<float> c(64 * 3 * 7 * 7), cpp(c.size());
  ASSERT_EQ(fanfill_init(c.data(), FANFILL_F32, shape, 4, "oi",
                         "kaiming_normal(mode=fan_out, nonlinearity=relu)", 42, 7),
            FANFILL_OK)
      << fanfill_last_error();
  EXPECT_STREQ(fanfill_last_error(), "");
  fanfill::Init(std::span<float>(cpp), std::span<const int64_t>(shape, 4), Layout::kOI,
                Scheme::Parse("kaiming_normal(mode=fan_out, nonlinearity=relu)"), {42, 7});
  EXPECT_EQ(c, cpp);

  fanfill_description d;
  ASSERT_EQ(fanfill_describe(shape, 4, "oi", "he_normal", &d), FANFILL_OK);
  EXPECT_EQ(d.kind, FANFILL_SCHEME_TRUNCATED_NORMAL);
  EXPECT_EQ(d.count, 64u * 3 * 7 * 7);
  EXPECT_EQ(d.fan_in, 147);
  EXPECT_EQ(d.fan_out, 3136);
  EXPECT_EQ(d.fan, 147);
  EXPECT_TRUE(Near("gain", 1.4142135623730951, d.gain));
  EXPECT_TRUE(Near("std", std::sqrt(2.0 / 147), d.std, 1e-14));
  EXPECT_TRUE(Near("param_std", std::sqrt(2.0 / 147) / 0.87962566103423978, d.param_std));
  EXPECT_TRUE(Near("param_high", 2 * d.param_std, d.param_high));
  EXPECT_EQ(d.low, d.param_low);
  ASSERT_EQ(fanfill_describe(nullptr, 0, "io", "glorot_uniform", &d), FANFILL_OK);
  EXPECT_EQ(d.kind, FANFILL_SCHEME_UNIFORM);
  EXPECT_TRUE(std::isnan(d.param_std));
  EXPECT_TRUE(Near("high", std::sqrt(3.0), d.high));

  uint64_t id = 0;
  ASSERT_EQ(fanfill_stream_id("a", &id), FANFILL_OK);
  EXPECT_EQ(id, 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(id, fanfill::StreamId("a"));
}

TEST(SchemesCApi, ErrorsReturnNegativeAndWriteNothing) {
  const int64_t shape[3] = {4, 4, 2};  // rank 2 unless stated
  std::vector<float> buf(16, 7.0f);
  fanfill_description d;
  std::memset(&d, 0x5A, sizeof(d));
  const fanfill_description d_before = d;
  // Each call fails with FANFILL_ERR_INVALID_ARGUMENT and a message naming the problem.
  // clang-format off
  const std::vector<std::pair<std::function<int()>, const char*>> calls = {
      {[&] { return fanfill_init(buf.data(), FANFILL_F32, shape, 2, "oi", "kaiming_nromal", 1, 2); }, "kaiming_nromal"},
      {[&] { return fanfill_init(buf.data(), FANFILL_F32, shape, 2, "oi", "normal(std=-1)", 1, 2); }, "std=-1"},
      {[&] { return fanfill_init(buf.data(), FANFILL_F32, shape, 2, "ohw", "zeros", 1, 2); }, "unknown layout 'ohw'"},
      {[&] { return fanfill_init(buf.data(), FANFILL_F32, shape, 2, nullptr, "zeros", 1, 2); }, "layout is null"},
      {[&] { return fanfill_init(buf.data(), FANFILL_F32, shape, 2, "oi", nullptr, 1, 2); }, "scheme_spec is null"},
      {[&] { return fanfill_init(buf.data(), FANFILL_F32, nullptr, 2, "oi", "zeros", 1, 2); }, "shape is null"},
      {[&] { return fanfill_init(buf.data(), FANFILL_F32, shape, -1, "oi", "zeros", 1, 2); }, "rank must be >= 0"},
      {[&] { return fanfill_init(buf.data(), static_cast<fanfill_dtype>(9), shape, 2, "oi", "zeros", 1, 2); }, "unknown dtype 9"},
      {[&] { return fanfill_init(buf.data(), FANFILL_F16, shape, 2, "oi", "normal(std=1e5)", 1, 2); }, "f16"},
      {[&] { return fanfill_init(buf.data(), FANFILL_F32, shape, 1, "oi", "kaiming_normal", 1, 2); }, "needs fan_in"},
      {[&] { return fanfill_init(nullptr, FANFILL_F32, shape, 2, "oi", "zeros", 1, 2); }, "out is null"},
      {[&] { return fanfill_describe(shape, 2, "oi", "sparse", &d); }, "missing argument sparsity"},
      {[&] { return fanfill_describe(shape, 2, "oi", "eye(gain=0)", &d); }, "gain=0"},
      {[&] { return fanfill_describe(shape, 3, "oi", "eye", &d); }, "eye needs exactly 2 dimensions"},
      {[&] { return fanfill_describe(shape, 2, "oi", "zeros", nullptr); }, "out is null"},
      {[&] { return fanfill_stream_id(nullptr, nullptr); }, "name is null"},
  };
  // clang-format on
  for (const auto& [call, part] : calls) {
    EXPECT_EQ(call(), FANFILL_ERR_INVALID_ARGUMENT) << part;
    EXPECT_NE(std::string(fanfill_last_error()).find(part), std::string::npos)
        << "message '" << fanfill_last_error() << "' lacks '" << part << "'";
  }
  for (float v : buf) EXPECT_EQ(v, 7.0f);
  EXPECT_EQ(std::memcmp(&d, &d_before, sizeof(d)), 0);
}

}  // namespace
