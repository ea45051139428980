// fanfill::mlp: a minimal dense multi-layer perceptron, just big enough to show
// what the initialization schemes are for (symmetry breaking, signal
// propagation through depth, trainability). Internal to the project: used by
// `fanfill validate`, its tests and its benchmark; not installed.
//
// Conventions
//   * float32 everywhere; matrices row-major.
//   * Layer l has weight W_l of shape [out, in] (PyTorch / Layout::kOI, so
//     fans come from fanfill's own ComputeFans) and bias b_l of shape [out].
//     Forward on a batch X [batch, in]:  Z_l = X W_l^T + b_l,  A_l = act_l(Z_l).
//   * Weights are initialized only through fanfill's public scheme API
//     (fanfill::Init with a fanfill::Scheme) with stream StreamId(name),
//     name = "layer<l>.weight" / "layer<l>.bias" (l from 0).
//   * Deterministic: every reduction (GEMM dot products, bias gradients,
//     loss sums) runs in a fixed order that does not depend on the number of
//     threads or how oneTBB splits work, so the same seed gives the same
//     bits -- and the same training curve -- for any thread count.
//   * The GEMMs are written with Highway (dynamic dispatch) and run in
//     parallel with oneTBB over output tiles.
#ifndef FANFILL_SRC_MLP_MLP_H_
#define FANFILL_SRC_MLP_MLP_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/schemes.hpp"

namespace fanfill::mlp {

enum class Activation : int { kLinear, kRelu, kLeakyRelu, kTanh, kSigmoid, kSelu };
enum class Loss : int { kSoftmaxCrossEntropy, kMeanSquaredError };

const char* ActivationName(Activation a);  // "linear", "relu", "leaky_relu", ...
Activation ParseActivation(std::string_view name);  // throws std::invalid_argument
const char* LossName(Loss loss);                    // "softmax_cross_entropy", "mse"

// Leaky ReLU slope (as PyTorch's default) and SELU constants (Klambauer et al. 2017).
inline constexpr float kLeakySlope = 0.01f;
inline constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
inline constexpr double kSeluScale = 1.0507009873554804934193349852946;

// Row-major float matrix.
struct Matrix {
  int rows = 0;
  int cols = 0;
  std::vector<float> data;  // rows * cols
  Matrix() = default;
  Matrix(int r, int c) : rows(r), cols(c), data(static_cast<size_t>(r) * c, 0.0f) {}
  float* row(int r) { return data.data() + static_cast<size_t>(r) * cols; }
  const float* row(int r) const { return data.data() + static_cast<size_t>(r) * cols; }
  float& at(int r, int c) { return data[static_cast<size_t>(r) * cols + c]; }
  float at(int r, int c) const { return data[static_cast<size_t>(r) * cols + c]; }
};

// ------------------------------------------------------------------ GEMM
// C[m, n] = alpha * sum_k op(A)[m, k] * op(B)[k, n] + beta * C[m, n], with
// op(X) = X or X^T. Highway kernels, oneTBB over tiles of C; each C element's
// sum runs over k in increasing order with explicit FMAs (the same bits for
// any thread count; the bits may differ between SIMD targets). beta == 0 means
// C is overwritten (never read) and C is reshaped to m x n if it is not;
// otherwise C must be m x n. Throws std::invalid_argument on empty or
// inconsistent matrices, mismatched inner dimensions, or C aliasing A or B.
void Gemm(bool transpose_a, bool transpose_b, float alpha, const Matrix& a, const Matrix& b,
          float beta, Matrix* c);

// ------------------------------------------------------------------ network
struct LayerSpec {
  int out = 0;
  Activation activation = Activation::kRelu;
};

class Network {
 public:
  // input_dim > 0; every layer out > 0. Weights and biases start at zero.
  Network(int input_dim, std::vector<LayerSpec> layers, Loss loss);

  int input_dim() const { return input_dim_; }
  int num_layers() const { return static_cast<int>(layers_.size()); }
  const LayerSpec& layer(int l) const { return layers_[l]; }
  Loss loss() const { return loss_; }
  int64_t num_parameters() const;

  // Parameters of layer l: weight [out, in] and bias [out].
  Matrix& weight(int l) { return weights_[l]; }
  const Matrix& weight(int l) const { return weights_[l]; }
  std::vector<float>& bias(int l) { return biases_[l]; }
  const std::vector<float>& bias(int l) const { return biases_[l]; }

  // Initializes every weight with `weight_scheme` and every bias with
  // `bias_scheme` through fanfill::Init (Layout::kOI; a bias scheme that uses
  // fans gets its weight's fans, as fanfill's fans_from). Streams as above.
  void Initialize(const fanfill::Scheme& weight_scheme, const fanfill::Scheme& bias_scheme,
                  uint64_t seed);

  // Forward pass on x [batch, input_dim]; returns the last layer's output
  // (after its activation) [batch, out_last]. Keeps what Backward needs.
  const Matrix& Forward(const Matrix& x);

  // Loss of the last Forward's output against targets [batch, out_last]
  // (softmax cross-entropy: one-hot or probability rows, the last layer must
  // be linear -- the softmax is part of the loss; MSE: mean over batch of
  // 0.5 * sum_j (y - t)^2). Mean over the batch.
  double ComputeLoss(const Matrix& targets) const;

  // Backward pass for the last Forward against `targets`: fills the weight
  // and bias gradients (of the batch-mean loss) and returns the loss.
  double Backward(const Matrix& targets);

  const Matrix& weight_grad(int l) const { return weight_grads_[l]; }
  const std::vector<float>& bias_grad(int l) const { return bias_grads_[l]; }

  // Per-layer outputs of the last Forward: pre-activation Z_l and activation
  // A_l, and (after Backward) dLoss/dA_l; each [batch, out_l].
  const Matrix& pre_activation(int l) const { return pre_acts_[l]; }
  const Matrix& activation(int l) const { return acts_[l]; }
  const Matrix& activation_grad(int l) const { return act_grads_[l]; }
  // dLoss/dZ_l after Backward, [batch, out_l].
  const Matrix& pre_activation_grad(int l) const { return pre_act_grads_[l]; }

 private:
  friend class Sgd;
  int input_dim_;
  std::vector<LayerSpec> layers_;
  Loss loss_;
  std::vector<Matrix> weights_, weight_grads_;
  std::vector<std::vector<float>> biases_, bias_grads_;
  Matrix input_;  // copy of the last Forward's x
  std::vector<Matrix> pre_acts_, acts_, act_grads_;
  std::vector<Matrix> pre_act_grads_;
};

// SGD with (heavy-ball) momentum, as torch.optim.SGD without dampening or
// Nesterov: v = momentum * v + g;  p -= lr * v.
class Sgd {
 public:
  Sgd(const Network& net, float learning_rate, float momentum);
  void Step(Network* net);

 private:
  float learning_rate_, momentum_;
  std::vector<Matrix> weight_velocity_;
  std::vector<std::vector<float>> bias_velocity_;
};

// ------------------------------------------------------------------ training
struct Dataset {
  Matrix x;        // [n, input_dim]
  Matrix targets;  // [n, outputs]: one-hot rows for classification
  std::vector<int> labels;  // class per row, empty for regression
};

struct TrainOptions {
  int epochs = 10;
  int batch_size = 32;
  float learning_rate = 0.01f;
  float momentum = 0.9f;
  // The sample order of each epoch is a permutation drawn from fanfill
  // streams (FillBits on (shuffle_seed, stream = epoch), epoch 1-based as in
  // EpochRecord): deterministic. Fisher-Yates over 0..n-1: step t swaps t with
  // t + floor(x (n - t) / 2^64), x = w[2t+1] << 32 | w[2t].
  uint64_t shuffle_seed = 0;
};

struct EpochRecord {
  int epoch = 0;            // 1-based
  double train_loss = 0;    // mean of the epoch's mini-batch losses
  double eval_loss = 0;     // full-pass loss on `eval` (or train set if no eval set)
  double eval_accuracy = 0; // classification only; NaN for regression
};

// Trains `net` in place; returns one record per epoch. If a loss becomes
// non-finite the run stops and the last record has the non-finite loss.
std::vector<EpochRecord> Train(Network* net, const Dataset& train, const Dataset* eval,
                               const TrainOptions& options);

// Loss and accuracy (NaN for regression) of `net` on `data`, in batches.
struct Evaluation {
  double loss = 0;
  double accuracy = 0;
};
Evaluation Evaluate(Network* net, const Dataset& data, int batch_size = 256);

}  // namespace fanfill::mlp

#endif  // FANFILL_SRC_MLP_MLP_H_
