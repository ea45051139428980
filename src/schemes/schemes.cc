// Fans, gains, and what each scheme writes: the Planner chooses the parameters
// of one of the core distributions from the fans and the gain (or the
// structure of orthogonal, sparse, eye, dirac and the constants); Describe()
// returns them, PreparedInit (prepared_init.cc) validates them for a dtype and
// runs them. No SIMD: the core fills do the work.
#include "fanfill/schemes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "src/core/common.h"
#include "src/core/fp_env.h"
#include "src/schemes/scheme_internal.h"

namespace fanfill {
namespace internal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr uint64_t kMaxExactFan = uint64_t{1} << 53;
// Standard deviation of a standard normal truncated to [-2, 2], as Keras and
// JAX write it: variance scaling divides its stddev by this so that the
// truncated values keep the variance scale / fan.
constexpr double kTruncatedStddevCorrection = 0.87962566103423978;

struct FanResult {
  std::optional<Fans> fans;
  std::string error;  // why not, when !fans
};

FanResult TryComputeFans(std::span<const int64_t> shape, Layout layout) {
  FanResult r;
  if (std::string e = NegativeDimError(shape); !e.empty()) {
    r.error = e;
    return r;
  }
  const size_t rank = shape.size();
  uint64_t in = 0, out = 0;
  std::optional<uint64_t> receptive;
  if (layout == Layout::kOI) {
    if (rank < 2) {
      r.error = "layout oi (PyTorch) has no fans for a rank-" + std::to_string(rank) + " shape " +
                FormatShape(shape) +
                ": like torch.nn.init it needs at least 2 dimensions [out, in, *spatial]";
      return r;
    }
    out = static_cast<uint64_t>(shape[0]);
    in = static_cast<uint64_t>(shape[1]);
    receptive = Product(shape.subspan(2));
  } else if (layout == Layout::kIO) {
    if (rank == 0) {
      r.fans = Fans{1.0, 1.0};  // Keras: "just to avoid errors for constants"
      return r;
    }
    if (rank == 1) {  // fan_in = fan_out = shape[0]
      in = out = static_cast<uint64_t>(shape[0]);
      receptive = 1;
    } else {
      in = static_cast<uint64_t>(shape[rank - 2]);
      out = static_cast<uint64_t>(shape[rank - 1]);
      receptive = Product(shape.first(rank - 2));
    }
  } else {
    r.error = "unknown layout " + std::to_string(static_cast<int>(layout));
    return r;
  }
  uint64_t fan_in = 0, fan_out = 0;
  if (!receptive || __builtin_mul_overflow(in, *receptive, &fan_in) ||
      __builtin_mul_overflow(out, *receptive, &fan_out) ||
      fan_in > kMaxExactFan || fan_out > kMaxExactFan) {  // compared as integers
    r.error = "the fans of shape " + FormatShape(shape) + " exceed 2^53";
    return r;
  }
  r.fans = Fans{static_cast<double>(fan_in), static_cast<double>(fan_out)};
  return r;
}

void SetNormal(Description& d, double mean, double stddev) {
  d.kind = Description::Kind::kNormal;
  d.distribution = Distribution::Normal(mean, stddev);
  d.mean = mean;
  d.std = stddev;
  d.low = stddev > 0 ? -kInf : mean;
  d.high = stddev > 0 ? kInf : mean;
}

void SetUniform(Description& d, double low, double high) {
  d.kind = Description::Kind::kUniform;
  d.distribution = Distribution::Uniform(low, high);
  d.mean = 0.5 * (low + high);
  d.std = (high - low) / std::sqrt(12.0);
  d.low = low;
  d.high = high;
}

void SetTruncatedNormal(Description& d, double mean, double stddev, double low, double high) {
  d.kind = Description::Kind::kTruncatedNormal;
  d.distribution = Distribution::TruncatedNormal(mean, stddev, low, high);
  const TruncatedMoments t = StandardTruncatedMoments((low - mean) / stddev, (high - mean) / stddev);
  d.mean = mean + stddev * t.shift;
  d.std = stddev * t.std_ratio;
  d.low = low;
  d.high = high;
}

// Exact mean/std of a tensor holding `ones` values v and count - ones zeros.
void SetSparseConstant(Description& d, uint64_t count, uint64_t ones, double v) {
  if (count == 0) {
    d.mean = d.std = kNaN;
  } else {
    const double f = static_cast<double>(ones) / static_cast<double>(count);
    d.mean = v * f;
    d.std = std::fabs(v) * std::sqrt(f * (1.0 - f));
  }
  d.low = ones < count ? std::min(0.0, v) : v;
  d.high = ones < count ? std::max(0.0, v) : v;
  if (ones == 0) d.low = d.high = 0.0;
}

class Planner {
 public:
  Planner(std::span<const int64_t> shape, Layout layout, const Scheme& scheme)
      : shape_(shape), layout_(layout), scheme_(scheme) {}

  InitPlan Make() {
    if (layout_ != Layout::kOI && layout_ != Layout::kIO) {
      throw std::invalid_argument("unknown layout " + std::to_string(static_cast<int>(layout_)) +
                                  " (expected Layout::kOI or Layout::kIO)");
    }
    if (std::string e = NegativeDimError(shape_); !e.empty()) Fail(e);
    const std::optional<uint64_t> count = Product(shape_);
    if (!count) Fail("the number of elements overflows 2^64");
    Description& d = plan_.d;
    d.scheme = scheme_.ToString();
    d.count = *count;
    fans_ = TryComputeFans(shape_, layout_);
    const SchemeRep& rep = SchemeAccess::Rep(scheme_);
    fan_in_ = rep.fan_in   ? rep.fan_in
              : fans_.fans ? std::optional(fans_.fans->fan_in)
                           : std::nullopt;
    fan_out_ = rep.fan_out  ? rep.fan_out
               : fans_.fans ? std::optional(fans_.fans->fan_out)
                            : std::nullopt;
    d.fan_in = fan_in_.value_or(kNaN);
    d.fan_out = fan_out_.value_or(kNaN);
    d.fan = kNaN;
    d.gain = kNaN;
    // Each scheme checks its rank and shape first, whatever the element
    // count (as torch.nn.init: eye_ on a [0, 3, 3] tensor raises); a
    // zero-element tensor is then a no-op, and one whose scheme would divide
    // by a missing or zero fan has no values to describe (NeedFan).
    Choose(rep.def->id);
    if (!plan_.has_values) {
      d.fan = kNaN;
      d.mean = d.std = d.low = d.high = kNaN;
      d.distribution.mean = d.distribution.stddev = kNaN;
      d.distribution.low = d.distribution.high = kNaN;
    }
    return plan_;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::invalid_argument(scheme_.ToString() + " on shape " + FormatShape(shape_) +
                                " (layout " + LayoutName(layout_) + "): " + what);
  }

  // Gain's refusals (a negative slope whose 1 + a^2 overflows) with the scheme's context.
  double GainOf(std::string_view nonlinearity, double a) const {
    try {
      return Gain(nonlinearity, a);
    } catch (const std::invalid_argument& e) {
      Fail(e.what());
    }
  }

  double FanIn() { return NeedFan(fan_in_, "fan_in"); }
  double FanOut() { return NeedFan(fan_out_, "fan_out"); }
  double NeedFan(const std::optional<double>& fan, const char* which) {
    if (plan_.d.count == 0 && !(fan && *fan > 0)) {
      // As kaiming_normal_ on a zero-element tensor: a no-op, no fans needed.
      // Any fan would do for the parameters, which Make() then discards.
      plan_.has_values = false;
      return 1.0;
    }
    if (!fan) {
      Fail(std::string("needs ") + which + " but " + fans_.error + "; write " + which +
           "=N in the spec (for a bias: its weight's " + which +
           "), use fans_from in a model spec, or layout io (Keras: a rank-1 shape is its own "
           "fan)");
    }
    if (!(*fan > 0)) {
      Fail(std::string(which) + " is 0 (a zero-size dimension, or " + which +
           "=0 in the spec): the scheme divides by it");
    }
    return *fan;
  }

  double Fan(std::string_view mode) {
    if (mode == "fan_in") return FanIn();
    if (mode == "fan_out") return FanOut();
    if (mode == "fan_avg") return (FanIn() + FanOut()) / 2.0;
    return std::sqrt(FanIn() * FanOut());  // fan_geo_avg (JAX)
  }

  // Keras VarianceScaling / JAX variance_scaling, formula for formula (Keras
  // divides by max(1, fan); fans are >= 1 here, so that is the fan).
  void VarianceScaling(double scale, std::string_view mode, std::string_view distribution) {
    Description& d = plan_.d;
    d.fan = Fan(mode);
    d.gain = std::sqrt(scale);
    const double variance = scale / d.fan;
    if (distribution == "truncated_normal") {
      const double stddev = std::sqrt(variance) / kTruncatedStddevCorrection;
      SetTruncatedNormal(d, 0.0, stddev, -2.0 * stddev, 2.0 * stddev);
    } else if (distribution == "untruncated_normal") {
      SetNormal(d, 0.0, std::sqrt(variance));
    } else {
      const double limit = std::sqrt(3.0 * variance);
      SetUniform(d, -limit, limit);
    }
  }

  // torch.nn.init.kaiming_normal_ / kaiming_uniform_.
  void Kaiming(double gain, std::string_view mode, bool uniform) {
    Description& d = plan_.d;
    d.fan = Fan(mode);
    d.gain = gain;
    const double stddev = gain / std::sqrt(d.fan);
    if (uniform) {
      const double bound = std::sqrt(3.0) * stddev;
      SetUniform(d, -bound, bound);
    } else {
      SetNormal(d, 0.0, stddev);
    }
  }

  // torch.nn.init.xavier_normal_ / xavier_uniform_.
  void Xavier(double gain, bool uniform) {
    Description& d = plan_.d;
    const double sum = FanIn() + FanOut();
    d.fan = sum / 2.0;
    d.gain = gain;
    const double stddev = gain * std::sqrt(2.0 / sum);
    if (uniform) {
      const double a = std::sqrt(3.0) * stddev;
      SetUniform(d, -a, a);
    } else {
      SetNormal(d, 0.0, stddev);
    }
  }

  void Choose(SchemeId id) {
    Description& d = plan_.d;
    switch (id) {
      case SchemeId::kNormal:
        return SetNormal(d, Number(scheme_, "mean"), Number(scheme_, "std"));
      case SchemeId::kRandomNormal:
        return SetNormal(d, Number(scheme_, "mean"), Number(scheme_, "stddev"));
      case SchemeId::kUniform:
        return SetUniform(d, Number(scheme_, "a"), Number(scheme_, "b"));
      case SchemeId::kRandomUniform:
        return SetUniform(d, Number(scheme_, "minval"), Number(scheme_, "maxval"));
      case SchemeId::kTruncNormal:
        return SetTruncatedNormal(d, Number(scheme_, "mean"), Number(scheme_, "std"),
                                  Number(scheme_, "a"), Number(scheme_, "b"));
      case SchemeId::kTruncatedNormal: {
        const double mean = Number(scheme_, "mean"), stddev = Number(scheme_, "stddev");
        return SetTruncatedNormal(d, mean, stddev, mean + Number(scheme_, "lower") * stddev,
                                  mean + Number(scheme_, "upper") * stddev);
      }
      case SchemeId::kXavierNormal:
        return Xavier(Number(scheme_, "gain"), false);
      case SchemeId::kXavierUniform:
        return Xavier(Number(scheme_, "gain"), true);
      case SchemeId::kGlorotNormal:
        return VarianceScaling(1.0, "fan_avg", "truncated_normal");
      case SchemeId::kKaimingNormal:
      case SchemeId::kKaimingUniform:
        return Kaiming(GainOf(Word(scheme_, "nonlinearity"), Number(scheme_, "a")),
                       Word(scheme_, "mode"), id == SchemeId::kKaimingUniform);
      case SchemeId::kHeNormal:
        return VarianceScaling(2.0, "fan_in", "truncated_normal");
      case SchemeId::kLecunNormal:
        return VarianceScaling(1.0, "fan_in", "truncated_normal");
      case SchemeId::kLecunUniform:
        return VarianceScaling(1.0, "fan_in", "uniform");
      case SchemeId::kVarianceScaling:
        return VarianceScaling(Number(scheme_, "scale"), Word(scheme_, "mode"),
                               Word(scheme_, "distribution"));
      case SchemeId::kTorchDefault:
        // nn.Linear / nn.ConvNd reset_parameters: kaiming_uniform_(a=sqrt(5)).
        return Kaiming(Gain("leaky_relu", std::sqrt(5.0)), "fan_in", true);
      case SchemeId::kTorchDefaultBias: {
        // bound = 1 / sqrt(fan_in) if fan_in > 0 else 0, then uniform_(-bound, bound).
        if (fan_in_ && !(*fan_in_ > 0)) {
          d.fan = *fan_in_;
          return Constant(0.0);
        }
        d.fan = FanIn();  // fails with the explanation where there is no fan_in
        const double bound = 1.0 / std::sqrt(d.fan);
        return SetUniform(d, -bound, bound);
      }
      case SchemeId::kOrthogonal:
        return Orthogonal(Number(scheme_, "gain"));
      case SchemeId::kSparse:
        return Sparse(Number(scheme_, "sparsity"), Number(scheme_, "std"));
      case SchemeId::kEye:
        return Eye(Number(scheme_, "gain"));
      case SchemeId::kDirac:
        return Dirac(static_cast<uint64_t>(Number(scheme_, "groups")));
      case SchemeId::kConstant:
        return Constant(Number(scheme_, "value"));
      case SchemeId::kZeros:
        return Constant(0.0);
      case SchemeId::kOnes:
        return Constant(1.0);
    }
    Fail("unhandled scheme");
  }

  void Constant(double value) {
    Description& d = plan_.d;
    d.kind = Description::Kind::kConstant;
    d.mean = d.low = d.high = value;
    d.std = 0.0;
    plan_.value = value;
  }

  // PyTorch: rows = shape[0], cols = the rest; Keras: cols = shape[-1], rows = the rest.
  void Orthogonal(double gain) {
    if (shape_.size() < 2) {
      Fail("orthogonal needs at least 2 dimensions (as PyTorch and Keras)");
    }
    const size_t rank = shape_.size();
    const auto rows =
        layout_ == Layout::kOI ? Product(shape_.first(1)) : Product(shape_.first(rank - 1));
    const auto cols =
        layout_ == Layout::kOI ? Product(shape_.subspan(1)) : Product(shape_.subspan(rank - 1));
    Description& d = plan_.d;
    d.kind = Description::Kind::kOrthogonal;
    d.gain = gain;
    d.distribution = Distribution::Normal(0.0, 1.0);
    d.low = -gain;
    d.high = gain;
    if (d.count == 0) {  // as orthogonal_: a no-op (one of rows, cols is 0; the other may not fit)
      d.mean = d.std = kNaN;
      return;
    }
    constexpr uint64_t kMaxLapackDim = std::numeric_limits<int32_t>::max();
    if (*rows > kMaxLapackDim || *cols > kMaxLapackDim) {
      Fail("orthogonal: the " + std::to_string(*rows) + " x " + std::to_string(*cols) +
           " matrix exceeds LAPACK's 32-bit dimensions");
    }
    d.mean = 0.0;
    d.std = gain / std::sqrt(static_cast<double>(std::max(*rows, *cols)));
    plan_.rows = *rows;
    plan_.cols = *cols;
  }

  // torch.nn.init.sparse_: per input unit, ceil(sparsity * out) of its out
  // units are zero. oi [out, in]: per column; io [in, out]: per row.
  void Sparse(double sparsity, double stddev) {
    if (shape_.size() != 2) Fail("sparse needs exactly 2 dimensions (as PyTorch)");
    const uint64_t out = static_cast<uint64_t>(shape_[layout_ == Layout::kOI ? 0 : 1]);
    const uint64_t in = static_cast<uint64_t>(shape_[layout_ == Layout::kOI ? 1 : 0]);
    const uint64_t num_zeros =
        static_cast<uint64_t>(std::ceil(sparsity * static_cast<double>(out)));
    Description& d = plan_.d;
    SetNormal(d, 0.0, stddev);
    d.kind = Description::Kind::kSparse;
    d.sparsity = out == 0 ? 0.0 : static_cast<double>(num_zeros) / static_cast<double>(out);
    d.std = stddev * std::sqrt(1.0 - d.sparsity);
    if (num_zeros == out) d.low = d.high = 0.0;
    plan_.rows = out;
    plan_.cols = in;
    plan_.num_zeros = num_zeros;
  }

  void Eye(double gain) {
    if (shape_.size() != 2) Fail("eye needs exactly 2 dimensions (as PyTorch and Keras)");
    Description& d = plan_.d;
    d.kind = Description::Kind::kEye;
    d.gain = gain;
    plan_.value = gain;
    plan_.rows = static_cast<uint64_t>(shape_[0]);
    plan_.cols = static_cast<uint64_t>(shape_[1]);
    SetSparseConstant(d, d.count, std::min(plan_.rows, plan_.cols), gain);
  }

  // torch.nn.init.dirac_: ones at [g * out_per_group + k, k, centre...].
  void Dirac(uint64_t groups) {
    const size_t rank = shape_.size();
    if (rank < 3 || rank > 5) Fail("dirac needs 3, 4 or 5 dimensions (as PyTorch)");
    const uint64_t out = static_cast<uint64_t>(shape_[layout_ == Layout::kOI ? 0 : rank - 1]);
    const uint64_t in = static_cast<uint64_t>(shape_[layout_ == Layout::kOI ? 1 : rank - 2]);
    if (out % groups != 0) {
      Fail("dirac: out channels " + std::to_string(out) +
           " are not divisible by groups=" + std::to_string(groups));
    }
    Description& d = plan_.d;
    d.kind = Description::Kind::kDirac;
    plan_.groups = groups;
    plan_.value = 1.0;
    SetSparseConstant(d, d.count, groups * std::min(out / groups, in), 1.0);
  }

  std::span<const int64_t> shape_;
  Layout layout_;
  const Scheme& scheme_;
  FanResult fans_;
  std::optional<double> fan_in_, fan_out_;
  InitPlan plan_;
};

}  // namespace
}  // namespace internal

const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::kOI:
      return "oi";
    case Layout::kIO:
      return "io";
  }
  return "unknown";
}

Layout ParseLayout(std::string_view name) {
  if (name == "oi") return Layout::kOI;
  if (name == "io") return Layout::kIO;
  throw std::invalid_argument("unknown layout '" + internal::PrintableText(name) +
                              "' (expected oi = PyTorch [out, in, *spatial] or io = Keras "
                              "[*spatial, in, out])");
}

Fans ComputeFans(std::span<const int64_t> shape, Layout layout) {
  const internal::DefaultFpEnvironment fp_env;  // caller's rounding mode/FTZ: src/core/fp_env.h
  const internal::FanResult r = internal::TryComputeFans(shape, layout);
  if (!r.fans) throw std::invalid_argument(r.error);
  return *r.fans;
}

uint64_t ElementCount(std::span<const int64_t> shape) {
  if (std::string e = internal::NegativeDimError(shape); !e.empty()) throw std::invalid_argument(e);
  const std::optional<uint64_t> count = internal::Product(shape);
  if (!count) {
    throw std::invalid_argument("shape " + internal::FormatShape(shape) +
                                ": the number of elements overflows 2^64");
  }
  return *count;
}

double Gain(std::string_view nonlinearity, std::optional<double> param) {
  const internal::DefaultFpEnvironment fp_env;  // caller's rounding mode/FTZ: src/core/fp_env.h
  static constexpr std::string_view kLinear[] = {
      "linear",           "conv1d",           "conv2d",           "conv3d",
      "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid"};
  for (std::string_view name : kLinear) {
    if (nonlinearity == name) return 1.0;
  }
  if (nonlinearity == "tanh") return 5.0 / 3;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    const double slope = param.value_or(0.01);
    if (!std::isfinite(slope)) {
      throw std::invalid_argument("leaky_relu: negative slope must be finite, got " +
                                  internal::FormatNumber(slope));
    }
    // Python's negative_slope ** 2 raises OverflowError here; a gain of 0
    // would silently write zeros.
    if (!std::isfinite(1 + slope * slope)) {
      throw std::invalid_argument("leaky_relu: the negative slope (a) " +
                                  internal::FormatNumber(slope) +
                                  " is too large: 1 + a^2 overflows double (torch raises "
                                  "OverflowError)");
    }
    return std::sqrt(2.0 / (1 + slope * slope));
  }
  if (nonlinearity == "selu") return 3.0 / 4;
  throw std::invalid_argument(
      "unsupported nonlinearity '" + internal::PrintableText(nonlinearity) +
      "' (expected linear, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, "
      "conv_transpose3d, sigmoid, tanh, relu, leaky_relu or selu)");
}

Description Describe(std::span<const int64_t> shape, Layout layout, const Scheme& scheme) {
  return internal::Plan(shape, layout, scheme).d;
}

namespace internal {

InitPlan Plan(std::span<const int64_t> shape, Layout layout, const Scheme& scheme) {
  // Describe's and Init's fans, gains, bounds and moments.
  const DefaultFpEnvironment fp_env;  // caller's rounding mode/FTZ: src/core/fp_env.h
  return Planner(shape, layout, scheme).Make();
}

}  // namespace internal

}  // namespace fanfill
