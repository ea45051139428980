#include "src/mlp/experiments.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "src/mlp/data.h"

namespace fanfill::mlp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// 2^64 / golden ratio: spreads draw indices over the seed space.
constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

std::vector<LayerSpec> Stack(int hidden_layers, int width, Activation act, int out,
                             Activation out_act) {
  std::vector<LayerSpec> layers(hidden_layers, LayerSpec{width, act});
  layers.push_back({out, out_act});
  return layers;
}

Network MakeNetwork(int input_dim, std::vector<LayerSpec> layers, Loss loss,
                    const std::string& scheme, uint64_t seed) {
  Network net(input_dim, std::move(layers), loss);
  net.Initialize(Scheme::Parse(scheme), Scheme::Parse("zeros"), seed);
  return net;
}

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return FormatNumber(v);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Percent(double fraction) { return Fixed(100 * fraction, 1) + "%"; }

std::string Yes(bool b) { return b ? "yes" : "no"; }

Series CurveSeries(const std::string& name, const std::vector<EpochRecord>& curve,
                   double EpochRecord::*field, double initial = kNaN) {
  Series s{name, {}, {}};
  if (!std::isnan(initial)) {
    s.x.push_back(0);
    s.y.push_back(initial);
  }
  for (const EpochRecord& r : curve) {
    s.x.push_back(r.epoch);
    s.y.push_back(r.*field);
  }
  return s;
}

// Simpson's rule for E[f(sqrt(q) u)], u ~ N(0, 1), on u in [-12, 12]: the
// composite rules on [-12, 0] and [0, 12] added, so a jump of f at 0 (relu')
// costs nothing: the node u = 0 takes the mean of the one-sided values.
template <class F>
double GaussianExpectation(double q, F f) {
  constexpr int kIntervals = 4000;  // a multiple of 4: u = 0 is an even node
  constexpr double kHalfWidth = 12.0;
  const double h = 2 * kHalfWidth / kIntervals, s = std::sqrt(q);
  double sum = 0;
  for (int i = 0; i <= kIntervals; ++i) {
    const double u = -kHalfWidth + i * h;
    const double w = (i == 0 || i == kIntervals) ? 1 : (i % 2 == 1 ? 4 : 2);
    const double fu =
        i == kIntervals / 2
            ? 0.5 * (f(std::numeric_limits<double>::min()) + f(-std::numeric_limits<double>::min()))
            : f(s * u);
    sum += w * fu * std::exp(-0.5 * u * u);
  }
  return sum * h / 3 / std::sqrt(2 * std::numbers::pi);
}

double Phi(Activation a, double z) {
  switch (a) {
    case Activation::kLinear:
      return z;
    case Activation::kRelu:
      return z > 0 ? z : 0;
    case Activation::kLeakyRelu:
      return z > 0 ? z : kLeakySlope * z;
    case Activation::kTanh:
      return std::tanh(z);
    case Activation::kSigmoid:
      return 1 / (1 + std::exp(-z));
    case Activation::kSelu:
      return kSeluScale * (z > 0 ? z : kSeluAlpha * std::expm1(z));
  }
  return kNaN;
}

double PhiPrime(Activation a, double z) {
  switch (a) {
    case Activation::kLinear:
      return 1;
    case Activation::kRelu:
      return z > 0 ? 1 : 0;
    case Activation::kLeakyRelu:
      return z > 0 ? 1 : kLeakySlope;
    case Activation::kTanh: {
      const double t = std::tanh(z);
      return 1 - t * t;
    }
    case Activation::kSigmoid: {
      const double s = 1 / (1 + std::exp(-z));
      return s * (1 - s);
    }
    case Activation::kSelu:
      return kSeluScale * (z > 0 ? 1 : kSeluAlpha * std::exp(z));
  }
  return kNaN;
}

// Initial weights of every hidden layer, to tell whether training moved them.
bool HiddenWeightsChanged(const Network& net, const std::vector<Matrix>& initial) {
  for (size_t l = 0; l < initial.size(); ++l) {
    if (std::memcmp(initial[l].data.data(), net.weight(static_cast<int>(l)).data.data(),
                    initial[l].data.size() * sizeof(float)) != 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

double StdOfEntries(const Matrix& m) {
  if (m.data.empty()) return kNaN;
  double sum = 0;
  for (float v : m.data) {
    if (std::isnan(v)) return kNaN;
    if (std::isinf(v)) return std::numeric_limits<double>::infinity();
    sum += v;
  }
  const double mean = sum / static_cast<double>(m.data.size());
  double ss = 0;
  for (float v : m.data) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(m.data.size()));
}

int DistinctRows(const Matrix& m) {
  std::vector<int> representatives;
  const size_t bytes = static_cast<size_t>(m.cols) * sizeof(float);
  for (int r = 0; r < m.rows; ++r) {
    bool seen = false;
    for (int k : representatives) {
      if (std::memcmp(m.row(r), m.row(k), bytes) == 0) {
        seen = true;
        break;
      }
    }
    if (!seen) representatives.push_back(r);
  }
  return static_cast<int>(representatives.size());
}

// ------------------------------------------------------------------ 1. symmetry

SymmetryOptions SymmetryOptions::Quick() {
  SymmetryOptions o;
  o.n_train = 512;
  o.n_test = 512;
  o.train.epochs = 150;
  return o;
}

SymmetryResult RunSymmetry(const SymmetryOptions& options) {
  SymmetryResult result{options, {}};
  const Dataset train = MakeTwoSpirals(options.n_train, options.turns, options.noise, options.seed);
  const Dataset test =
      MakeTwoSpirals(options.n_test, options.turns, options.noise, options.seed + 1000);
  for (const std::string& scheme : options.schemes) {
    Network net = MakeNetwork(
        2, Stack(options.hidden_layers, options.hidden, options.activation, 2, Activation::kLinear),
        Loss::kSoftmaxCrossEntropy, scheme, options.seed);
    std::vector<Matrix> initial;
    for (int l = 0; l < options.hidden_layers; ++l) initial.push_back(net.weight(l));
    TrainOptions train_options = options.train;
    train_options.shuffle_seed = options.seed;
    SymmetryRun run;
    run.scheme = scheme;
    run.curve = Train(&net, train, &test, train_options);
    run.hidden_rows_identical = true;
    for (int l = 0; l < options.hidden_layers; ++l) {
      run.distinct_rows.push_back(DistinctRows(net.weight(l)));
      run.hidden_rows_identical = run.hidden_rows_identical && run.distinct_rows.back() == 1;
    }
    run.hidden_weights_changed = HiddenWeightsChanged(net, initial);
    run.train_accuracy = Evaluate(&net, train).accuracy;
    const Evaluation test_eval = Evaluate(&net, test);
    run.test_accuracy = test_eval.accuracy;
    run.final_loss = test_eval.loss;
    result.runs.push_back(std::move(run));
  }
  return result;
}

namespace {
bool IsSymmetricScheme(const std::string& scheme) {
  const std::string_view name = Scheme::Parse(scheme).name();
  return name == "zeros" || name == "constant" || name == "ones";
}
}  // namespace

ExperimentReport ReportSymmetry(const SymmetryResult& result) {
  const SymmetryOptions& o = result.options;
  ExperimentReport report;
  report.name = "symmetry";
  report.table.title = "1. Symmetry: two spirals, 2 -> " + std::to_string(o.hidden_layers) + " x " +
                       std::to_string(o.hidden) + " " + ActivationName(o.activation) +
                       " -> 2 (softmax), " + std::to_string(o.train.epochs) + " epochs, lr " +
                       FormatNumber(o.train.learning_rate) + ", momentum " +
                       FormatNumber(o.train.momentum) + ", zero biases";
  report.table.columns = {"scheme", "distinct rows per hidden layer", "hidden weights moved",
                          "train acc", "test acc"};
  Plot plot{"Symmetry: test accuracy per epoch (two spirals, chance 50%)",
            "epoch",
            "test accuracy",
            false,
            {}};
  plot.y_min = 0.4;
  plot.y_max = 1.0;
  for (const SymmetryRun& run : result.runs) {
    std::string rows;
    for (size_t l = 0; l < run.distinct_rows.size(); ++l) {
      rows += (l ? " / " : "") + std::to_string(run.distinct_rows[l]) + " of " +
              std::to_string(o.hidden);
    }
    report.table.rows.push_back({run.scheme, rows, Yes(run.hidden_weights_changed),
                                 Percent(run.train_accuracy), Percent(run.test_accuracy)});
    plot.series.push_back(CurveSeries(run.scheme, run.curve, &EpochRecord::eval_accuracy));
    // Chance is 50%. A symmetric net is a width-1 net: each hidden layer
    // is one monotone function of the previous one's single value, so the
    // net is a linear classifier, which cannot separate interleaved spirals.
    if (IsSymmetricScheme(run.scheme)) {
      report.checks.push_back({"symmetry: " + run.scheme + " keeps hidden units identical",
                               run.hidden_rows_identical,
                               "distinct rows " + rows + " (expected 1 per layer)"});
      report.checks.push_back(
          {"symmetry: " + run.scheme + " stays near chance", run.test_accuracy < 0.6,
           "test accuracy " + Percent(run.test_accuracy) + " (expected < 60%, chance 50%)"});
    } else {
      const bool all_distinct = std::all_of(run.distinct_rows.begin(), run.distinct_rows.end(),
                                            [&](int d) { return d == o.hidden; });
      report.checks.push_back({"symmetry: " + run.scheme + " breaks symmetry", all_distinct,
                               "distinct rows " + rows + " (expected all distinct)"});
      report.checks.push_back(
          {"symmetry: " + run.scheme + " learns", run.test_accuracy > 0.9,
           "test accuracy " + Percent(run.test_accuracy) + " (expected > 90%)"});
    }
  }
  report.plots.push_back({"accuracy", plot});
  report.notes =
      "Rows compared bit for bit after training. With zeros every hidden activation is 0 "
      "(and relu'(0) = 0), so every hidden weight gradient is exactly 0 and the hidden weights "
      "never move (only the output bias learns); with a constant the hidden weights move but "
      "every unit of a layer gets the same update, so the net stays a width-1 net.";
  return report;
}

// ------------------------------------------------------------------ 2. signal propagation

std::vector<SignalConfig> SignalOptions::DefaultConfigs() {
  return {
      {"He + relu", "kaiming_normal(nonlinearity=relu)", Activation::kRelu},
      {"1/n + relu", "kaiming_normal(nonlinearity=linear)", Activation::kRelu},
      {"N(0,1) + relu", "normal(std=1)", Activation::kRelu},
      {"N(0,0.01) + relu", "normal(std=0.01)", Activation::kRelu},
      {"Glorot + tanh", "xavier_normal", Activation::kTanh},
      {"Glorot 5/3 + tanh", "xavier_normal(gain=1.6666666666666667)", Activation::kTanh},
      {"N(0,1) + tanh", "normal(std=1)", Activation::kTanh},
      {"N(0,0.01) + tanh", "normal(std=0.01)", Activation::kTanh},
  };
}

SignalOptions SignalOptions::Quick() {
  SignalOptions o;
  o.batch = 32;
  o.draws = 16;
  return o;
}

SignalResult RunSignal(const SignalOptions& options) {
  if (options.depth < 2 || options.width < 1 || options.batch < 2 || options.draws < 1) {
    throw std::invalid_argument("RunSignal: need depth >= 2, width >= 1, batch >= 2, draws >= 1");
  }
  SignalResult result{options, {}};
  const int n = options.width, depth = options.depth;
  Matrix x(options.batch, n), upstream(options.batch, n);
  FillNormal(std::span<float>(x.data), 0.0, 1.0, {options.seed, StreamId("signal.x")});
  FillNormal(std::span<float>(upstream.data), 0.0, 1.0,
             {options.seed, StreamId("signal.upstream")});
  double input_second_moment = 0;
  for (float v : x.data) input_second_moment += double{v} * v;
  input_second_moment /= static_cast<double>(x.data.size());

  for (const SignalConfig& config : options.configs) {
    SignalRun run;
    run.config = config;
    run.forward_std.assign(depth, 0.0);
    run.backward_std.assign(depth, 0.0);
    run.min_forward_ratio = run.min_backward_ratio = std::numeric_limits<double>::infinity();
    run.max_forward_ratio = run.max_backward_ratio = -std::numeric_limits<double>::infinity();
    for (int draw = 0; draw < options.draws; ++draw) {
      Network net = MakeNetwork(n, Stack(depth - 1, n, config.activation, n, config.activation),
                                Loss::kMeanSquaredError, config.scheme,
                                options.seed ^ (static_cast<uint64_t>(draw) * kGoldenGamma));
      // Targets A_L + R make dLoss/dA_L = -R / batch: an upstream gradient
      // independent of the network (against fixed targets, dLoss/dA_L would
      // contain A_L itself, whose backward pass is not a random projection).
      const Matrix& out = net.Forward(x);
      Matrix shifted = out;
      for (size_t i = 0; i < shifted.data.size(); ++i) shifted.data[i] += upstream.data[i];
      net.Backward(shifted);
      // Once a pre-activation overflows, float arithmetic has lost the
      // signal (inf - inf = NaN, and max(NaN, 0) may well be 0): from there
      // on the forward pass counts as inf and the backward pass as NaN.
      int overflow = 0;
      for (int l = 0; l < depth && overflow == 0; ++l) {
        for (float v : net.pre_activation(l).data) {
          if (!std::isfinite(v)) {
            overflow = l + 1;
            break;
          }
        }
      }
      if (overflow != 0 && (run.overflow_layer == 0 || overflow < run.overflow_layer)) {
        run.overflow_layer = overflow;
      }
      std::vector<double> fwd(depth), bwd(depth);
      for (int l = 0; l < depth; ++l) {
        fwd[l] = overflow != 0 && l + 1 >= overflow ? std::numeric_limits<double>::infinity()
                                                    : StdOfEntries(net.activation(l));
        bwd[l] = overflow != 0 ? kNaN : StdOfEntries(net.activation_grad(l));
        // Root mean square over the draws: sums of squares here, sqrt below.
        run.forward_std[l] += fwd[l] * fwd[l] / options.draws;
        run.backward_std[l] += bwd[l] * bwd[l] / options.draws;
      }
      const double fr = fwd[depth - 1] / fwd[0], br = bwd[0] / bwd[depth - 1];
      run.min_forward_ratio = std::min(run.min_forward_ratio, fr);
      run.max_forward_ratio = std::max(run.max_forward_ratio, fr);
      run.min_backward_ratio = std::min(run.min_backward_ratio, br);
      run.max_backward_ratio = std::max(run.max_backward_ratio, br);
      if (std::isnan(br)) run.min_backward_ratio = run.max_backward_ratio = kNaN;
    }
    for (int l = 0; l < depth; ++l) {
      run.forward_std[l] = std::sqrt(run.forward_std[l]);
      run.backward_std[l] = std::sqrt(run.backward_std[l]);
    }
    // Mean field: q_l = Var(z_l); gradient second moments relative to the last layer's.
    const std::vector<int64_t> shape = {n, n};
    const double s2 = std::pow(Describe(shape, Layout::kOI, Scheme::Parse(config.scheme)).std, 2);
    const Activation a = config.activation;
    std::vector<double> q(depth);
    q[0] = n * s2 * input_second_moment;
    for (int l = 0; l < depth; ++l) {
      const double m1 = GaussianExpectation(q[l], [a](double z) { return Phi(a, z); });
      const double m2 = GaussianExpectation(q[l], [a](double z) { return Phi(a, z) * Phi(a, z); });
      run.predicted_forward_std.push_back(std::sqrt(std::max(0.0, m2 - m1 * m1)));
      if (l + 1 < depth) q[l + 1] = n * s2 * m2;
    }
    std::vector<double> g2(depth);
    g2[depth - 1] = 1.0 / (static_cast<double>(options.batch) * options.batch);  // Var(R / batch)
    for (int l = depth - 1; l > 0; --l) {
      const double d2 =
          GaussianExpectation(q[l], [a](double z) { return PhiPrime(a, z) * PhiPrime(a, z); });
      g2[l - 1] = n * s2 * d2 * g2[l];
    }
    for (int l = 0; l < depth; ++l) run.predicted_backward_std.push_back(std::sqrt(g2[l]));
    run.forward_ratio = run.forward_std[depth - 1] / run.forward_std[0];
    run.backward_ratio = run.backward_std[0] / run.backward_std[depth - 1];
    run.predicted_forward_ratio =
        run.predicted_forward_std[depth - 1] / run.predicted_forward_std[0];
    run.predicted_backward_ratio =
        run.predicted_backward_std[0] / run.predicted_backward_std[depth - 1];
    result.runs.push_back(std::move(run));
  }
  return result;
}

namespace {
bool Within(double measured, double predicted, double factor) {
  return std::isfinite(measured) && measured >= predicted / factor &&
         measured <= predicted * factor;
}
}  // namespace

ExperimentReport ReportSignal(const SignalResult& result) {
  const SignalOptions& o = result.options;
  ExperimentReport report;
  report.name = "signal";
  const std::string L = std::to_string(o.depth);
  report.table.title = "2. Signal propagation at init: depth " + L + ", width " +
                       std::to_string(o.width) + ", batch " + std::to_string(o.batch) +
                       ", stds pooled (rms) over " + std::to_string(o.draws) +
                       " weight draws (range: single draws), x ~ N(0,1), upstream gradient dL/dA" +
                       L + " ~ N(0,1)/batch, zero biases";
  report.table.columns = {"config", "scheme",    "fwd std A" + L + "/A1",
                          "range",  "predicted", "bwd std g1/g" + L,
                          "range",  "predicted", "float overflow"};
  Plot forward{"Forward: std of activations per layer at init", "layer", "std(A_l)", true, {}};
  Plot backward{"Backward: std of dLoss/dA_l per layer at init", "layer", "std(dL/dA_l)", true, {}};
  for (const SignalRun& run : result.runs) {
    auto range = [](double lo, double hi) {
      return FormatNumber(lo, 2) + " .. " + FormatNumber(hi, 2);
    };
    report.table.rows.push_back(
        {run.config.label, run.config.scheme, FormatNumber(run.forward_ratio, 3),
         range(run.min_forward_ratio, run.max_forward_ratio),
         FormatNumber(run.predicted_forward_ratio, 3), FormatNumber(run.backward_ratio, 3),
         range(run.min_backward_ratio, run.max_backward_ratio),
         FormatNumber(run.predicted_backward_ratio, 3),
         run.overflow_layer == 0 ? "-" : "at layer " + std::to_string(run.overflow_layer)});
    Series f{run.config.label, {}, {}}, b{run.config.label, {}, {}};
    for (int l = 0; l < o.depth; ++l) {
      f.x.push_back(l + 1);
      f.y.push_back(run.forward_std[l]);
      b.x.push_back(l + 1);
      b.y.push_back(run.backward_std[l]);
    }
    forward.series.push_back(std::move(f));
    backward.series.push_back(std::move(b));
  }
  report.plots.push_back({"forward", forward});
  report.plots.push_back({"backward", backward});

  auto find = [&](const std::string& label) -> const SignalRun* {
    for (const SignalRun& run : result.runs) {
      if (run.config.label == label) return &run;
    }
    return nullptr;
  };
  auto ratio_text = [](const SignalRun& r) {
    return "fwd " + FormatNumber(r.forward_ratio, 3) + " (predicted " +
           FormatNumber(r.predicted_forward_ratio, 3) + "), bwd " +
           FormatNumber(r.backward_ratio, 3) + " (predicted " +
           FormatNumber(r.predicted_backward_ratio, 3) + ")";
  };
  // Bands: He et al. 2015 (ratio 1 for He + ReLU, 2^(-(L-1)/2) for 1/n +
  // ReLU). Sampling the std of one layer over batch x width entries costs
  // well under 1%; what moves one network's ratio r is finite width: each
  // ReLU layer multiplies a squared norm by a chi-square-like factor, so
  // ln r^2 is about Gaussian with variance s^2 ~ 5 L / n (Hanin & Nica 2019;
  // 0.96 at L = 49, n = 256), and a batch barely averages it (a deep ReLU
  // net maps all inputs to nearly parallel vectors). The mean field is
  // exact for E[r^2] = 1, so a single network's r is lognormal with median
  // e^(-s^2/4) = 0.79 and falls outside [0.5, 2] for ~10% of seeds. The rms
  // over K draws estimates E[r^2] with relative sd sqrt((e^(s^2) - 1) / K):
  // 0.32 for the quick K = 16, 0.22 for the full K = 32; r_rms < 0.5 needs
  // the mean of r^2 below 0.25 (2.3 and 3.4 sd down, and a lognormal's left
  // tail is short), r_rms > 2 needs it above 4 (> 9 sd up). Measured, quick,
  // seeds 2..14: r_rms from 0.80 to 1.20.
  if (const SignalRun* r = find("He + relu")) {
    report.checks.push_back({"signal: He + relu keeps the std (fwd and bwd in [0.5, 2])",
                             Within(r->forward_ratio, 1, 2) && Within(r->backward_ratio, 1, 2),
                             ratio_text(*r)});
  }
  if (const SignalRun* r = find("1/n + relu")) {
    report.checks.push_back(
        {"signal: 1/n + relu shrinks by sqrt(2) per layer (measured/predicted in [0.5, 2])",
         Within(r->forward_ratio, r->predicted_forward_ratio, 2) &&
             Within(r->backward_ratio, r->predicted_backward_ratio, 2) &&
             r->predicted_forward_ratio < 1e-6,
         ratio_text(*r)});
  }
  if (const SignalRun* r = find("N(0,1) + relu")) {
    report.checks.push_back({"signal: N(0,1) + relu explodes (fwd ratio > 1e6 or overflow)",
                             !(r->forward_ratio <= 1e6), ratio_text(*r)});
  }
  if (const SignalRun* r = find("N(0,0.01) + relu")) {
    report.checks.push_back({"signal: N(0,0.01) + relu vanishes (fwd ratio < 1e-6)",
                             r->forward_ratio < 1e-6, ratio_text(*r)});
  }
  if (const SignalRun* r = find("Glorot + tanh")) {
    report.checks.push_back(
        {"signal: Glorot + tanh stays within a factor 10 (and measured/predicted in [0.5, 2])",
         Within(r->forward_ratio, 1, 10) && Within(r->backward_ratio, 1, 10) &&
             Within(r->forward_ratio, r->predicted_forward_ratio, 2) &&
             Within(r->backward_ratio, r->predicted_backward_ratio, 2),
         ratio_text(*r)});
  }
  report.notes =
      "predicted: mean-field recursion (infinite width) with the weight variance "
      "fanfill::Describe reports; for ReLU it is He et al. 2015's: per layer sqrt(n s^2 / 2) "
      "(1 for He, 1/sqrt(2) for 1/n). inf/nan: float overflow; 0: float underflow.";
  return report;
}

// ------------------------------------------------------------------ 3. training through depth

DepthOptions DepthOptions::Quick() {
  DepthOptions o;
  o.n_train = 512;
  o.train.batch_size = 32;
  return o;
}

DepthResult RunDepth(const DepthOptions& options) {
  DepthResult result{options, 0, {}};
  const Dataset train = MakeTeacherRegression(
      options.n_train, options.input_dim, options.teacher_hidden, options.output_dim, options.seed);
  // Baseline: the best constant predictor, the mean target.
  {
    std::vector<double> mean(train.targets.cols, 0.0);
    for (int r = 0; r < train.targets.rows; ++r) {
      for (int c = 0; c < train.targets.cols; ++c) mean[c] += train.targets.at(r, c);
    }
    double loss = 0;
    for (int r = 0; r < train.targets.rows; ++r) {
      for (int c = 0; c < train.targets.cols; ++c) {
        const double d = train.targets.at(r, c) - mean[c] / train.targets.rows;
        loss += 0.5 * d * d;
      }
    }
    result.baseline_loss = loss / train.targets.rows;
  }
  for (int layers : {options.deep_layers, options.shallow_layers}) {
    for (const auto& [label, scheme] : {std::pair{std::string("He"), options.he},
                                        std::pair{std::string("1/n"), options.one_over_n}}) {
      Network net = MakeNetwork(options.input_dim,
                                Stack(layers - 1, options.width, Activation::kRelu,
                                      options.output_dim, Activation::kLinear),
                                Loss::kMeanSquaredError, scheme, options.seed);
      DepthRun run;
      run.layers = layers;
      run.label = label;
      run.scheme = scheme;
      run.initial_loss = Evaluate(&net, train).loss;
      TrainOptions train_options = options.train;
      train_options.shuffle_seed = options.seed;
      run.curve = Train(&net, train, nullptr, train_options);
      run.final_loss = run.curve.empty() ? run.initial_loss : run.curve.back().eval_loss;
      result.runs.push_back(std::move(run));
    }
  }
  return result;
}

ExperimentReport ReportDepth(const DepthResult& result) {
  const DepthOptions& o = result.options;
  ExperimentReport report;
  report.name = "depth";
  report.table.title =
      "3. Training through depth: ReLU MLPs of width " + std::to_string(o.width) +
      " on a random tanh teacher (" + std::to_string(o.input_dim) + " -> " +
      std::to_string(o.teacher_hidden) + " -> " + std::to_string(o.output_dim) + "), " +
      std::to_string(o.n_train) + " samples, MSE, " + std::to_string(o.train.epochs) +
      " epochs, batch " + std::to_string(o.train.batch_size) + ", lr " +
      FormatNumber(o.train.learning_rate) + ", momentum " + FormatNumber(o.train.momentum) +
      "; training loss of the mean predictor " + FormatNumber(result.baseline_loss, 4);
  report.table.columns = {
      "layers", "init", "scheme", "train loss at init", "after training", "after / mean predictor"};
  Plot plot{"Training through depth: training loss per epoch", "epoch", "train MSE loss", true, {}};
  for (const DepthRun& run : result.runs) {
    report.table.rows.push_back({std::to_string(run.layers), run.label, run.scheme,
                                 FormatNumber(run.initial_loss, 4), FormatNumber(run.final_loss, 4),
                                 FormatNumber(run.final_loss / result.baseline_loss, 3)});
    plot.series.push_back(CurveSeries(std::to_string(run.layers) + " layers, " + run.label,
                                      run.curve, &EpochRecord::eval_loss, run.initial_loss));
  }
  report.plots.push_back({"loss", plot});
  auto get = [&](int layers, const std::string& label) -> const DepthRun& {
    for (const DepthRun& run : result.runs) {
      if (run.layers == layers && run.label == label) return run;
    }
    throw std::logic_error("ReportDepth: missing run");
  };
  const DepthRun& deep_he = get(o.deep_layers, "He");
  const DepthRun& deep_n = get(o.deep_layers, "1/n");
  const double base = result.baseline_loss;
  const std::string deep = std::to_string(o.deep_layers) + " layers";
  report.checks.push_back(
      {"depth: " + deep + ", He learns (train loss < 0.7 x mean predictor)",
       deep_he.final_loss < 0.7 * base,
       "He " + FormatNumber(deep_he.final_loss / base, 3) + " x mean predictor"});
  report.checks.push_back(
      {"depth: " + deep + ", 1/n stalls (train loss > 0.9 x mean predictor)",
       !(deep_n.final_loss <= 0.9 * base),
       "1/n " + FormatNumber(deep_n.final_loss / base, 3) + " x mean predictor"});
  for (const char* label : {"He", "1/n"}) {
    const DepthRun& r = get(o.shallow_layers, label);
    report.checks.push_back({"depth: " + std::to_string(o.shallow_layers) + " layers, " + label +
                                 " learns (train loss < 0.5 x mean predictor)",
                             r.final_loss < 0.5 * base,
                             FormatNumber(r.final_loss / base, 3) + " x mean predictor"});
  }
  report.notes =
      "1/n = kaiming_normal(nonlinearity=linear), variance 1/fan_in (\"Xavier\" as He et al. "
      "2015 use it): the forward signal and every weight gradient of a " +
      deep + " ReLU net shrink by ~2^(-L/2), so SGD barely moves it.";
  return report;
}

// ------------------------------------------------------------------ 4. digits

DigitsOptions DigitsOptions::Quick() {
  DigitsOptions o;
  o.train.epochs = 10;
  return o;
}

DigitsResult RunDigits(const DigitsOptions& options) {
  DigitsResult result;
  result.options = options;
  const std::string path = options.path.empty() ? kDefaultDigitsPath : options.path;
  Dataset all;
  try {
    all = LoadDigits(path);
  } catch (const std::runtime_error& e) {
    result.skipped = true;
    result.skip_reason = e.what();
    return result;
  }
  const auto [train, test] = SplitTrainTest(all, options.test_fraction, options.seed);
  result.n_train = train.x.rows;
  result.n_test = test.x.rows;
  for (const auto& [label, scheme] : options.schemes) {
    Network net = MakeNetwork(
        64,
        Stack(options.hidden_layers, options.hidden, Activation::kTanh, 10, Activation::kLinear),
        Loss::kSoftmaxCrossEntropy, scheme, options.seed);
    TrainOptions train_options = options.train;
    train_options.shuffle_seed = options.seed;
    DigitsRun run;
    run.label = label;
    run.scheme = scheme;
    run.curve = Train(&net, train, &test, train_options);
    const Evaluation e = Evaluate(&net, test);
    run.test_accuracy = e.accuracy;
    run.test_loss = e.loss;
    result.runs.push_back(std::move(run));
  }
  return result;
}

ExperimentReport ReportDigits(const DigitsResult& result) {
  const DigitsOptions& o = result.options;
  ExperimentReport report;
  report.name = "digits";
  if (result.skipped) {
    report.table.title = "4. Digits: SKIPPED: " + result.skip_reason;
    report.notes = "The digits experiment was skipped (no substitute data is used).";
    return report;
  }
  report.table.title = "4. Digits (sklearn, " + std::to_string(result.n_train) + " train / " +
                       std::to_string(result.n_test) + " test, pixels / 16): 64 -> " +
                       std::to_string(o.hidden_layers) + " x " + std::to_string(o.hidden) +
                       " tanh -> 10 softmax, " + std::to_string(o.train.epochs) +
                       " epochs, batch " + std::to_string(o.train.batch_size) + ", lr " +
                       FormatNumber(o.train.learning_rate) + ", momentum " +
                       FormatNumber(o.train.momentum);
  report.table.columns = {"init", "scheme", "test loss epoch 1", "test loss", "test acc"};
  Plot loss{
      "Digits: test loss per epoch (5-layer tanh MLP)", "epoch", "test cross-entropy", true, {}};
  Plot acc{
      "Digits: test accuracy per epoch (5-layer tanh MLP)", "epoch", "test accuracy", false, {}};
  acc.y_min = 0.0;
  acc.y_max = 1.0;
  for (const DigitsRun& run : result.runs) {
    report.table.rows.push_back(
        {run.label, run.scheme,
         run.curve.empty() ? "-" : FormatNumber(run.curve.front().eval_loss, 4),
         FormatNumber(run.test_loss, 4), Percent(run.test_accuracy)});
    loss.series.push_back(CurveSeries(run.label, run.curve, &EpochRecord::eval_loss));
    acc.series.push_back(CurveSeries(run.label, run.curve, &EpochRecord::eval_accuracy));
  }
  report.plots.push_back({"loss", loss});
  report.plots.push_back({"accuracy", acc});
  if (result.runs.size() >= 2) {
    // Glorot & Bengio 2010: the normalized init trains a deep tanh net
    // faster; the standard one first sits on a plateau (loss ~ ln 10).
    const DigitsRun& glorot = result.runs[0];
    const DigitsRun& standard = result.runs[1];
    report.checks.push_back({"digits: " + glorot.scheme + " learns (test accuracy > 90%)",
                             glorot.test_accuracy > 0.9,
                             "test accuracy " + Percent(glorot.test_accuracy)});
    const size_t early = std::min(glorot.curve.size(), standard.curve.size()) / 3 + 1;
    bool faster = glorot.curve.size() >= early && standard.curve.size() >= early;
    for (size_t e = 0; faster && e < early; ++e) {
      faster = glorot.curve[e].eval_loss < standard.curve[e].eval_loss;
    }
    report.checks.push_back(
        {"digits: " + glorot.scheme + " has the lower test loss in each of the first " +
             std::to_string(early) + " epochs than " + standard.scheme,
         faster,
         "epoch " + std::to_string(early) + ": " +
             (glorot.curve.size() >= early ? FormatNumber(glorot.curve[early - 1].eval_loss, 4)
                                           : "-") +
             " vs " +
             (standard.curve.size() >= early ? FormatNumber(standard.curve[early - 1].eval_loss, 4)
                                             : "-")});
  }
  report.notes =
      "Glorot & Bengio 2010: with the standard init the activation variance shrinks by 1/3 per "
      "tanh layer (Var = 1/(3 fan_in)), with the normalized init it is kept; compare the first "
      "epochs.";
  return report;
}

// ------------------------------------------------------------------ 5. deep linear networks

LinearOptions LinearOptions::Quick() {
  LinearOptions o;
  o.depths = {2, 8, 32};
  o.train.epochs = 60;
  return o;
}

LinearResult RunLinear(const LinearOptions& options) {
  LinearResult result{options, 0, {}};
  const Dataset data = MakeLinearRegression(options.n_train, options.width, options.seed);
  double energy = 0;
  for (float v : data.targets.data) energy += 0.5 * double{v} * v;
  result.zero_loss = energy / data.targets.rows;
  for (const auto& [label, scheme] : options.schemes) {
    for (int depth : options.depths) {
      Network net = MakeNetwork(
          options.width,
          Stack(depth - 1, options.width, Activation::kLinear, options.width, Activation::kLinear),
          Loss::kMeanSquaredError, scheme, options.seed);
      LinearRun run;
      run.label = label;
      run.scheme = scheme;
      run.depth = depth;
      run.initial_loss = Evaluate(&net, data).loss;
      TrainOptions train_options = options.train;
      train_options.shuffle_seed = options.seed;
      run.curve = Train(&net, data, nullptr, train_options);
      for (const EpochRecord& r : run.curve) {
        if (r.eval_loss <= options.threshold * result.zero_loss) {
          run.epochs_to_threshold = r.epoch;
          break;
        }
      }
      run.final_loss = run.curve.empty() ? run.initial_loss : run.curve.back().eval_loss;
      result.runs.push_back(std::move(run));
    }
  }
  return result;
}

ExperimentReport ReportLinear(const LinearResult& result) {
  const LinearOptions& o = result.options;
  ExperimentReport report;
  report.name = "linear";
  report.table.title =
      "5. Deep linear networks (Saxe et al. 2013): width " + std::to_string(o.width) +
      ", y = M x regression, " + std::to_string(o.n_train) + " samples, batch " +
      std::to_string(o.train.batch_size) + ", lr " + FormatNumber(o.train.learning_rate) +
      ", momentum " + FormatNumber(o.train.momentum) +
      "; epochs until loss <= " + FormatNumber(o.threshold) + " x loss of predicting 0 (max " +
      std::to_string(o.train.epochs) + ")";
  report.table.columns = {"depth"};
  for (const auto& s : o.schemes) report.table.columns.push_back(s.first);
  Plot plot{"Deep linear nets: epochs to reach the loss threshold",
            "depth",
            "epochs (max = not reached)",
            false,
            {}};
  for (int depth : o.depths) {
    std::vector<std::string> row = {std::to_string(depth)};
    for (const auto& s : o.schemes) {
      for (const LinearRun& run : result.runs) {
        if (run.depth != depth || run.label != s.first) continue;
        row.push_back(run.epochs_to_threshold < 0 ? "> " + std::to_string(o.train.epochs)
                                                  : std::to_string(run.epochs_to_threshold));
      }
    }
    report.table.rows.push_back(row);
  }
  for (const auto& s : o.schemes) {
    Series series{s.first, {}, {}};
    for (const LinearRun& run : result.runs) {
      if (run.label != s.first) continue;
      series.x.push_back(run.depth);
      series.y.push_back(run.epochs_to_threshold < 0 ? o.train.epochs : run.epochs_to_threshold);
    }
    plot.series.push_back(std::move(series));
  }
  report.plots.push_back({"epochs", plot});
  // Saxe et al.: with orthogonal init the learning time does not grow with
  // depth; with a scaled Gaussian the product of the layers is badly
  // conditioned and it does.
  auto run_of = [&](const std::string& label, int depth) -> const LinearRun* {
    for (const LinearRun& run : result.runs) {
      if (run.label == label && run.depth == depth) return &run;
    }
    return nullptr;
  };
  if (o.schemes.size() >= 2) {
    const std::string& orth = o.schemes[0].first;
    const std::string& gauss = o.schemes[1].first;
    const LinearRun* first = run_of(orth, o.depths.front());
    bool flat = first != nullptr && first->epochs_to_threshold > 0;
    std::string epochs;
    for (int depth : o.depths) {
      const LinearRun* r = run_of(orth, depth);
      epochs += (epochs.empty() ? "" : ", ") + std::to_string(r->epochs_to_threshold);
      flat = flat && r->epochs_to_threshold > 0 &&
             r->epochs_to_threshold <= first->epochs_to_threshold;
    }
    report.checks.push_back({"linear: " + orth +
                                 " reaches the threshold at every depth, "
                                 "never later than at depth " +
                                 std::to_string(o.depths.front()),
                             flat, "epochs " + epochs});
    const LinearRun* deep_orth = run_of(orth, o.depths.back());
    const LinearRun* deep_gauss = run_of(gauss, o.depths.back());
    const bool slower = deep_orth->epochs_to_threshold > 0 &&
                        (deep_gauss->epochs_to_threshold < 0 ||
                         deep_gauss->epochs_to_threshold >= 4 * deep_orth->epochs_to_threshold);
    report.checks.push_back({"linear: at depth " + std::to_string(o.depths.back()) + " " + gauss +
                                 " needs >= 4x the epochs of " + orth + " (or never gets there)",
                             slower,
                             orth + " " + std::to_string(deep_orth->epochs_to_threshold) + ", " +
                                 gauss + " " + std::to_string(deep_gauss->epochs_to_threshold) +
                                 " epochs (-1 = not reached)"});
  }
  report.notes = "loss of predicting 0: " + FormatNumber(result.zero_loss, 4) + ".";
  return report;
}

}  // namespace fanfill::mlp
