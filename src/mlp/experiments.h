// The five experiments of `fanfill validate` (docs/mlp.md): each takes its
// options (a quick and a full size), runs on the MLP of src/mlp/mlp.h, and
// returns structured results; Report*() turns a result into a table, plots
// and the checks of the behaviour the literature predicts.
//
// Every run is deterministic: data, initialization and shuffling come from
// fanfill streams under options.seed, and the MLP gives the same bits for
// any thread count.
#ifndef FANFILL_SRC_MLP_EXPERIMENTS_H_
#define FANFILL_SRC_MLP_EXPERIMENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "src/mlp/mlp.h"
#include "src/mlp/report.h"

namespace fanfill::mlp {

// One expected behaviour and whether it showed up.
struct Check {
  std::string name;
  bool passed = false;
  std::string detail;  // measured value against the expectation
};

struct ExperimentReport {
  std::string name;  // file stem: <name>.csv, <name>_<plot>.svg / .csv
  Table table;
  std::vector<std::pair<std::string, Plot>> plots;  // (suffix, plot)
  std::vector<Check> checks;
  std::string notes;  // printed under the table
};

// Standard deviation (population, about the mean, in double) of all entries;
// +inf if any entry is infinite, NaN if any is NaN.
double StdOfEntries(const Matrix& m);

// Number of distinct rows of m, rows compared bit for bit.
int DistinctRows(const Matrix& m);

// ------------------------------------------------------------------ 1. symmetry
struct SymmetryOptions {
  int n_train = 1024, n_test = 1024;
  double turns = 2, noise = 0.02;  // two spirals
  int hidden = 64, hidden_layers = 2;
  Activation activation = Activation::kRelu;
  TrainOptions train{.epochs = 200, .batch_size = 32, .learning_rate = 0.05f, .momentum = 0.9f};
  std::vector<std::string> schemes = {"zeros",
                                      "constant(value=0.1)",
                                      "torch_default",
                                      "xavier_uniform",
                                      "kaiming_normal(nonlinearity=relu)",
                                      "orthogonal"};
  uint64_t seed = 1;
  static SymmetryOptions Quick();
  static SymmetryOptions Full() { return {}; }
};
struct SymmetryRun {
  std::string scheme;
  std::vector<int> distinct_rows;       // per hidden layer, after training (1 = all identical)
  bool hidden_rows_identical = false;   // every hidden layer has 1 distinct row
  bool hidden_weights_changed = false;  // any hidden weight differs from its initial value
  double train_accuracy = 0, test_accuracy = 0, final_loss = 0;
  std::vector<EpochRecord> curve;  // eval = test set
};
struct SymmetryResult {
  SymmetryOptions options;
  std::vector<SymmetryRun> runs;
};
SymmetryResult RunSymmetry(const SymmetryOptions& options);
ExperimentReport ReportSymmetry(const SymmetryResult& result);

// ------------------------------------------------------------------ 2. signal propagation
struct SignalConfig {
  std::string label;   // short, for tables and legends
  std::string scheme;  // fanfill scheme spec
  Activation activation = Activation::kRelu;
};
struct SignalOptions {
  int depth = 50, width = 256, batch = 64;
  int draws = 32;  // independent weight draws (seeds seed ^ d * golden gamma) per config
  std::vector<SignalConfig> configs = DefaultConfigs();
  uint64_t seed = 2;
  static std::vector<SignalConfig> DefaultConfigs();
  static SignalOptions Quick();
  static SignalOptions Full() { return {}; }
};
struct SignalRun {
  SignalConfig config;
  // Per layer l = 1..depth (index l - 1), root mean square over the weight
  // draws: measured std of the activations A_l on the batch, and of
  // dLoss/dA_l after one Backward with the
  // upstream gradient dLoss/dA_depth = N(0, 1) / batch (independent of the
  // network); and the mean-field predictions of the same stds. Layers from
  // the first whose pre-activation overflowed float: forward +inf,
  // backward NaN.
  std::vector<double> forward_std, backward_std, predicted_forward_std, predicted_backward_std;
  // Layer `depth` over layer 1 forward; layer 1 over layer `depth` backward.
  double forward_ratio = 0, backward_ratio = 0;
  double predicted_forward_ratio = 0, predicted_backward_ratio = 0;
  double min_forward_ratio = 0, max_forward_ratio = 0;  // over the draws
  double min_backward_ratio = 0, max_backward_ratio = 0;
  // First layer (1-based) with a non-finite pre-activation in any draw; 0: none.
  int overflow_layer = 0;
};
struct SignalResult {
  SignalOptions options;
  std::vector<SignalRun> runs;
};
// Mean-field prediction (infinite width; Poole et al. 2016; for ReLU it is
// He et al. 2015's recursion): q_1 = n_0 s_1^2 E[x^2], q_{l+1} = n_l s^2
// E[phi(z)^2], z ~ N(0, q_l); std(A_l) = sqrt(Var phi(z_l)); backward
// E[g_{l-1}^2] = n_out s_l^2 E[phi'(z_l)^2] E[g_l^2]. s^2 is the weight
// variance fanfill::Describe reports for the scheme. Expectations by
// quadrature (Simpson, 4001 nodes on +-12 standard deviations).
SignalResult RunSignal(const SignalOptions& options);
ExperimentReport ReportSignal(const SignalResult& result);

// ------------------------------------------------------------------ 3. training through depth
struct DepthOptions {
  int deep_layers = 30, shallow_layers = 3, width = 64;
  int n_train = 1024;
  int input_dim = 16, teacher_hidden = 32, output_dim = 4;  // teacher regression
  // 480 SGD steps (quick: 512 samples, batch 32, the same 480 steps). The
  // 1/n net is not stuck for ever: its weights grow multiplicatively, and
  // with 3200 steps (100 epochs at batch 32) it ends at 0.58-0.60 of the
  // mean predictor; the claim is about the same budget.
  TrainOptions train{.epochs = 30, .batch_size = 64, .learning_rate = 0.002f, .momentum = 0.9f};
  std::string he = "kaiming_normal(nonlinearity=relu)";
  std::string one_over_n = "kaiming_normal(nonlinearity=linear)";
  uint64_t seed = 3;
  static DepthOptions Quick();
  static DepthOptions Full() { return {}; }
};
struct DepthRun {
  int layers = 0;
  std::string label, scheme;
  double initial_loss = 0;  // training-set loss before training
  double final_loss = 0;    // training-set loss after the budget
  std::vector<EpochRecord> curve;
};
struct DepthResult {
  DepthOptions options;
  double baseline_loss = 0;    // training-set loss of the best constant predictor (the mean)
  std::vector<DepthRun> runs;  // deep He, deep 1/n, shallow He, shallow 1/n
};
DepthResult RunDepth(const DepthOptions& options);
ExperimentReport ReportDepth(const DepthResult& result);

// ------------------------------------------------------------------ 4. digits
struct DigitsOptions {
  std::string path;                     // digits.csv.gz; empty: kDefaultDigitsPath
  int hidden = 128, hidden_layers = 4;  // tanh, then a linear softmax layer
  double test_fraction = 0.25;
  TrainOptions train{.epochs = 30, .batch_size = 32, .learning_rate = 0.02f, .momentum = 0.0f};
  std::vector<std::pair<std::string, std::string>> schemes = {
      {"Glorot (xavier_uniform)", "xavier_uniform"},
      {"standard U[+-1/sqrt(n)] (torch_default)", "torch_default"}};
  uint64_t seed = 4;
  static DigitsOptions Quick();
  static DigitsOptions Full() { return {}; }
};
struct DigitsRun {
  std::string label, scheme;
  std::vector<EpochRecord> curve;  // eval = test set
  double test_accuracy = 0, test_loss = 0;
};
struct DigitsResult {
  DigitsOptions options;
  bool skipped = false;
  std::string skip_reason;
  int n_train = 0, n_test = 0;
  std::vector<DigitsRun> runs;
};
// Skips (never substitutes other data) if the file is missing or unusable.
DigitsResult RunDigits(const DigitsOptions& options);
ExperimentReport ReportDigits(const DigitsResult& result);

// ------------------------------------------------------------------ 5. deep linear networks
struct LinearOptions {
  std::vector<int> depths = {2, 4, 8, 16, 32};
  int width = 32, n_train = 512;
  double threshold = 0.1;  // loss / loss of the zero predictor to reach
  TrainOptions train{.epochs = 200, .batch_size = 32, .learning_rate = 0.01f, .momentum = 0.0f};
  std::vector<std::pair<std::string, std::string>> schemes = {
      {"orthogonal", "orthogonal"}, {"Gaussian 1/n", "kaiming_normal(nonlinearity=linear)"}};
  uint64_t seed = 5;
  static LinearOptions Quick();
  static LinearOptions Full() { return {}; }
};
struct LinearRun {
  std::string label, scheme;
  int depth = 0;
  int epochs_to_threshold = -1;  // -1: not within train.epochs
  double initial_loss = 0, final_loss = 0;
  std::vector<EpochRecord> curve;
};
struct LinearResult {
  LinearOptions options;
  double zero_loss = 0;  // loss of predicting 0
  std::vector<LinearRun> runs;
};
LinearResult RunLinear(const LinearOptions& options);
ExperimentReport ReportLinear(const LinearResult& result);

}  // namespace fanfill::mlp

#endif  // FANFILL_SRC_MLP_EXPERIMENTS_H_
