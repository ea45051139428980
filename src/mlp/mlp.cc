// fanfill::mlp: network, loss, SGD, training loop (see src/mlp/mlp.h).
//
// Everything here is either a Gemm (deterministic by construction, see
// src/mlp/gemm-inl.h) or an elementwise/row-wise loop run in a fixed order on
// the calling thread, so the bits of every result are independent of the
// number of threads.
#include "src/mlp/mlp.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "fanfill/fanfill.hpp"

namespace fanfill::mlp {
namespace {

// Runs body(begin, end) over [0, count) in chunks, on oneTBB when the work
// (count * cost_per_item, roughly in flops) is worth it. Only for loops whose
// items are independent: every result is then the same for any split.
template <class Body>
void ForChunks(int64_t count, int64_t cost_per_item, const Body& body) {
  constexpr int64_t kParallelWork = int64_t{1} << 17;
  if (count <= 1 || count * cost_per_item < kParallelWork) {
    body(int64_t{0}, count);
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kParallelWork / 4 / std::max<int64_t>(1, cost_per_item));
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, count, static_cast<size_t>(grain)),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

constexpr Activation kActivations[] = {Activation::kLinear,  Activation::kRelu,
                                       Activation::kLeakyRelu, Activation::kTanh,
                                       Activation::kSigmoid, Activation::kSelu};

std::string Shape(int rows, int cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

void CheckStorage(const Matrix& x, const char* what) {
  if (x.data.size() != static_cast<size_t>(x.rows) * static_cast<size_t>(x.cols) ||
      x.rows < 0 || x.cols < 0) {
    throw std::invalid_argument(std::string(what) + " is " + Shape(x.rows, x.cols) +
                                " but holds " + std::to_string(x.data.size()) + " values");
  }
}

void Reshape(Matrix* x, int rows, int cols) {
  if (x->rows != rows || x->cols != cols) *x = Matrix(rows, cols);
}

constexpr float kSeluScaleF = static_cast<float>(kSeluScale);
constexpr float kSeluScaleAlphaF = static_cast<float>(kSeluScale * kSeluAlpha);

// act(z), in float (libm's float functions: tanhf, expf, expm1f).
template <Activation kAct>
float Activate(float z) {
  if constexpr (kAct == Activation::kLinear) {
    return z;
  } else if constexpr (kAct == Activation::kRelu) {
    return z > 0.0f ? z : 0.0f;
  } else if constexpr (kAct == Activation::kLeakyRelu) {
    return z > 0.0f ? z : kLeakySlope * z;
  } else if constexpr (kAct == Activation::kTanh) {
    return std::tanh(z);
  } else if constexpr (kAct == Activation::kSigmoid) {
    // Two forms so that exp never overflows into inf / inf.
    if (z >= 0.0f) return 1.0f / (1.0f + std::exp(-z));
    const float e = std::exp(z);
    return e / (1.0f + e);
  } else {
    static_assert(kAct == Activation::kSelu);
    return z > 0.0f ? kSeluScaleF * z : kSeluScaleAlphaF * std::expm1(z);
  }
}

// d act / dz at z, given a = act(z).
template <Activation kAct>
float Derivative(float z, float a) {
  if constexpr (kAct == Activation::kLinear) {
    return 1.0f;
  } else if constexpr (kAct == Activation::kRelu) {
    return z > 0.0f ? 1.0f : 0.0f;
  } else if constexpr (kAct == Activation::kLeakyRelu) {
    return z > 0.0f ? 1.0f : kLeakySlope;
  } else if constexpr (kAct == Activation::kTanh) {
    return 1.0f - a * a;
  } else if constexpr (kAct == Activation::kSigmoid) {
    return a * (1.0f - a);
  } else {
    static_assert(kAct == Activation::kSelu);
    return z > 0.0f ? kSeluScaleF : kSeluScaleAlphaF * std::exp(z);
  }
}

// Calls f(std::integral_constant<Activation, act>{}): loops written against
// the constant have no switch inside, so the compiler can vectorize the
// piecewise-linear activations.
template <class F>
void WithActivation(Activation act, const F& f) {
  switch (act) {
    case Activation::kLinear:
      return f(std::integral_constant<Activation, Activation::kLinear>{});
    case Activation::kRelu:
      return f(std::integral_constant<Activation, Activation::kRelu>{});
    case Activation::kLeakyRelu:
      return f(std::integral_constant<Activation, Activation::kLeakyRelu>{});
    case Activation::kTanh:
      return f(std::integral_constant<Activation, Activation::kTanh>{});
    case Activation::kSigmoid:
      return f(std::integral_constant<Activation, Activation::kSigmoid>{});
    case Activation::kSelu:
      return f(std::integral_constant<Activation, Activation::kSelu>{});
  }
}

// The loss of row i of y against t, in double. If `grad_row` is not null it
// receives dLoss_row/dOutput times `grad_scale`.
double RowLoss(Loss loss, const float* yi, const float* ti, int cols, float* grad_row,
               float grad_scale) {
  if (loss == Loss::kMeanSquaredError) {
    double sum = 0.0;
    for (int j = 0; j < cols; ++j) {
      const double diff = static_cast<double>(yi[j]) - static_cast<double>(ti[j]);
      sum += diff * diff;
      if (grad_row != nullptr) grad_row[j] = static_cast<float>(diff) * grad_scale;
    }
    return 0.5 * sum;
  }
  // Softmax cross-entropy: -sum_j t_j log p_j = sum_j t_j (lse - z_j),
  // lse = max + log sum_j exp(z_j - max) (no overflow; the max term is 1).
  double max = -std::numeric_limits<double>::infinity();
  for (int j = 0; j < cols; ++j) max = std::max(max, static_cast<double>(yi[j]));
  double sum_exp = 0.0;
  for (int j = 0; j < cols; ++j) sum_exp += std::exp(static_cast<double>(yi[j]) - max);
  const double lse = max + std::log(sum_exp);
  double row = 0.0, t_sum = 0.0;
  for (int j = 0; j < cols; ++j) {
    const double tj = ti[j];
    if (tj != 0.0) row += tj * (lse - static_cast<double>(yi[j]));
    t_sum += tj;
  }
  if (grad_row != nullptr) {
    // d/dz_k = (sum_j t_j) p_k - t_k  (= p_k - t_k for probability rows).
    for (int j = 0; j < cols; ++j) {
      const double p = std::exp(static_cast<double>(yi[j]) - lse);
      grad_row[j] = static_cast<float>(t_sum * p - static_cast<double>(ti[j])) * grad_scale;
    }
  }
  return row;
}

// Sum over the rows of the per-row losses: rows computed in parallel, summed
// in row order in double (the same bits for any thread count). If `grad` is
// not null it receives dLoss_row/dOutput times `grad_scale`.
double RowLossSum(Loss loss, const Matrix& y, const Matrix& t, Matrix* grad, float grad_scale) {
  std::vector<double> rows(static_cast<size_t>(y.rows));
  ForChunks(y.rows, 8 * int64_t{y.cols}, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int r = static_cast<int>(i);
      rows[i] = RowLoss(loss, y.row(r), t.row(r), y.cols, grad != nullptr ? grad->row(r) : nullptr,
                        grad_scale);
    }
  });
  double total = 0.0;
  for (const double v : rows) total += v;
  return total;
}

void CheckTargets(const Network& net, const Matrix& out, const Matrix& targets, const char* who) {
  if (out.rows == 0) {
    throw std::invalid_argument(std::string(who) + ": no Forward pass to compare with");
  }
  CheckStorage(targets, (std::string(who) + ": targets").c_str());
  if (targets.rows != out.rows || targets.cols != out.cols) {
    throw std::invalid_argument(std::string(who) + ": targets are " +
                                Shape(targets.rows, targets.cols) + " but the last Forward gave " +
                                Shape(out.rows, out.cols) + " (" + LossName(net.loss()) + ")");
  }
}

int ArgMax(const float* row, int n) {
  int best = 0;
  for (int j = 1; j < n; ++j) {
    if (row[j] > row[best]) best = j;
  }
  return best;
}

void CheckDataset(const Network& net, const Dataset& data, const char* what) {
  const std::string name(what);
  CheckStorage(data.x, (name + ".x").c_str());
  CheckStorage(data.targets, (name + ".targets").c_str());
  if (data.x.rows <= 0) throw std::invalid_argument(name + " has no samples");
  if (data.x.cols != net.input_dim()) {
    throw std::invalid_argument(name + ".x has " + std::to_string(data.x.cols) +
                                " columns but the network's input_dim is " +
                                std::to_string(net.input_dim()));
  }
  const int outputs = net.layer(net.num_layers() - 1).out;
  if (data.targets.rows != data.x.rows || data.targets.cols != outputs) {
    throw std::invalid_argument(name + ".targets is " +
                                Shape(data.targets.rows, data.targets.cols) + " but must be " +
                                Shape(data.x.rows, outputs) + " (samples x network outputs)");
  }
  if (!data.labels.empty()) {
    if (data.labels.size() != static_cast<size_t>(data.x.rows)) {
      throw std::invalid_argument(name + ".labels has " + std::to_string(data.labels.size()) +
                                  " entries for " + std::to_string(data.x.rows) + " samples");
    }
    for (size_t i = 0; i < data.labels.size(); ++i) {
      if (data.labels[i] < 0 || data.labels[i] >= outputs) {
        throw std::invalid_argument(name + ".labels[" + std::to_string(i) + "] = " +
                                    std::to_string(data.labels[i]) + " is not a class in [0, " +
                                    std::to_string(outputs) + ")");
      }
    }
  }
}

// Copies rows order[begin, end) of `src` into `dst` (resized to end - begin rows).
void GatherRows(const Matrix& src, const std::vector<int64_t>& order, int64_t begin, int64_t end,
                Matrix* dst) {
  Reshape(dst, static_cast<int>(end - begin), src.cols);
  for (int64_t r = begin; r < end; ++r) {
    std::memcpy(dst->row(static_cast<int>(r - begin)), src.row(static_cast<int>(order[r])),
                sizeof(float) * static_cast<size_t>(src.cols));
  }
}

// Epoch `epoch`'s sample order: Fisher-Yates over 0..n-1 driven by FillBits
// words of (shuffle_seed, stream = epoch): step t (t = 0..n-2) swaps t with
// t + floor(x * (n - t) / 2^64), x = w[2t+1] << 32 | w[2t] (bias <= n / 2^64).
std::vector<int64_t> EpochOrder(int64_t n, uint64_t shuffle_seed, int epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (n < 2) return order;
  std::vector<uint32_t> words(static_cast<size_t>(2 * (n - 1)));
  fanfill::FillBits(words.data(), words.size(),
                    {.seed = shuffle_seed, .stream = static_cast<uint64_t>(epoch)});
  for (int64_t t = 0; t + 1 < n; ++t) {
    const uint64_t x = (uint64_t{words[2 * t + 1]} << 32) | words[2 * t];
    const auto span = static_cast<unsigned __int128>(n - t);
    const auto offset = static_cast<int64_t>((static_cast<unsigned __int128>(x) * span) >> 64);
    std::swap(order[t], order[t + offset]);
  }
  return order;
}

}  // namespace

// ------------------------------------------------------------------ names

const char* ActivationName(Activation a) {
  switch (a) {
    case Activation::kLinear:
      return "linear";
    case Activation::kRelu:
      return "relu";
    case Activation::kLeakyRelu:
      return "leaky_relu";
    case Activation::kTanh:
      return "tanh";
    case Activation::kSigmoid:
      return "sigmoid";
    case Activation::kSelu:
      return "selu";
  }
  throw std::invalid_argument("ActivationName: unknown activation " +
                              std::to_string(static_cast<int>(a)));
}

Activation ParseActivation(std::string_view name) {
  for (const Activation a : kActivations) {
    if (name == ActivationName(a)) return a;
  }
  throw std::invalid_argument("unknown activation '" + std::string(name) +
                              "' (linear, relu, leaky_relu, tanh, sigmoid, selu)");
}

const char* LossName(Loss loss) {
  switch (loss) {
    case Loss::kSoftmaxCrossEntropy:
      return "softmax_cross_entropy";
    case Loss::kMeanSquaredError:
      return "mse";
  }
  throw std::invalid_argument("LossName: unknown loss " + std::to_string(static_cast<int>(loss)));
}

// ------------------------------------------------------------------ network

Network::Network(int input_dim, std::vector<LayerSpec> layers, Loss loss)
    : input_dim_(input_dim), layers_(std::move(layers)), loss_(loss) {
  if (input_dim_ <= 0) {
    throw std::invalid_argument("Network: input_dim must be > 0, got " +
                                std::to_string(input_dim_));
  }
  if (layers_.empty()) throw std::invalid_argument("Network: no layers");
  LossName(loss_);  // throws on a value outside the enum
  int in = input_dim_;
  for (size_t l = 0; l < layers_.size(); ++l) {
    if (layers_[l].out <= 0) {
      throw std::invalid_argument("Network: layer " + std::to_string(l) +
                                  " must have out > 0, got " + std::to_string(layers_[l].out));
    }
    ActivationName(layers_[l].activation);  // throws on a value outside the enum
    weights_.emplace_back(layers_[l].out, in);
    weight_grads_.emplace_back(layers_[l].out, in);
    biases_.emplace_back(static_cast<size_t>(layers_[l].out), 0.0f);
    bias_grads_.emplace_back(static_cast<size_t>(layers_[l].out), 0.0f);
    in = layers_[l].out;
  }
  if (loss_ == Loss::kSoftmaxCrossEntropy && layers_.back().activation != Activation::kLinear) {
    throw std::invalid_argument(
        std::string("Network: softmax_cross_entropy needs a linear last layer (the softmax is "
                    "part of the loss), got ") +
        ActivationName(layers_.back().activation));
  }
  pre_acts_.resize(layers_.size());
  acts_.resize(layers_.size());
  act_grads_.resize(layers_.size());
  pre_act_grads_.resize(layers_.size());
}

int64_t Network::num_parameters() const {
  int64_t total = 0;
  for (size_t l = 0; l < layers_.size(); ++l) {
    total += static_cast<int64_t>(weights_[l].rows) * weights_[l].cols + weights_[l].rows;
  }
  return total;
}

void Network::Initialize(const fanfill::Scheme& weight_scheme, const fanfill::Scheme& bias_scheme,
                         uint64_t seed) {
  for (int l = 0; l < num_layers(); ++l) {
    Matrix& w = weights_[l];
    const std::vector<int64_t> weight_shape = {w.rows, w.cols};
    const std::vector<int64_t> bias_shape = {w.rows};
    const std::string prefix = "layer" + std::to_string(l);
    fanfill::Init(std::span<float>(w.data), weight_shape, fanfill::Layout::kOI, weight_scheme,
                  {.seed = seed, .stream = fanfill::StreamId(prefix + ".weight")});
    const fanfill::Scheme bias =
        bias_scheme.UsesFans()
            ? bias_scheme.WithDefaultFans(fanfill::ComputeFans(weight_shape, fanfill::Layout::kOI))
            : bias_scheme;
    fanfill::Init(std::span<float>(biases_[l]), bias_shape, fanfill::Layout::kOI, bias,
                  {.seed = seed, .stream = fanfill::StreamId(prefix + ".bias")});
  }
}

const Matrix& Network::Forward(const Matrix& x) {
  CheckStorage(x, "Forward: x");
  if (x.rows <= 0) throw std::invalid_argument("Forward: empty batch (x has 0 rows)");
  if (x.cols != input_dim_) {
    throw std::invalid_argument("Forward: x has " + std::to_string(x.cols) +
                                " columns but input_dim is " + std::to_string(input_dim_));
  }
  input_ = x;
  const Matrix* in = &input_;
  for (int l = 0; l < num_layers(); ++l) {
    Matrix& z = pre_acts_[l];
    Matrix& a = acts_[l];
    Gemm(false, true, 1.0f, *in, weights_[l], 0.0f, &z);  // Z = X W^T
    Reshape(&a, z.rows, z.cols);
    const float* b = biases_[l].data();
    const Activation act = layers_[l].activation;
    WithActivation(act, [&](auto kind) {
      ForChunks(z.rows, 8 * int64_t{z.cols}, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          float* __restrict__ zi = z.row(static_cast<int>(i));
          float* __restrict__ ai = a.row(static_cast<int>(i));
          for (int j = 0; j < z.cols; ++j) {
            zi[j] += b[j];
            ai[j] = Activate<decltype(kind)::value>(zi[j]);
          }
        }
      });
    });
    in = &a;
  }
  return acts_.back();
}

double Network::ComputeLoss(const Matrix& targets) const {
  const Matrix& y = acts_.back();
  CheckTargets(*this, y, targets, "ComputeLoss");
  return RowLossSum(loss_, y, targets, nullptr, 1.0f) / y.rows;
}

double Network::Backward(const Matrix& targets) {
  const int last = num_layers() - 1;
  const Matrix& y = acts_[last];
  CheckTargets(*this, y, targets, "Backward");
  const int batch = y.rows;
  Matrix& dy = act_grads_[last];
  Reshape(&dy, batch, y.cols);
  // The gradient of the batch mean: each row's gradient (rounded to float) times 1/batch.
  const float inv_batch = 1.0f / static_cast<float>(batch);
  const double loss = RowLossSum(loss_, y, targets, &dy, inv_batch) / batch;

  for (int l = last; l >= 0; --l) {
    const Matrix& z = pre_acts_[l];
    const Matrix& a = acts_[l];
    const Matrix& da = act_grads_[l];
    Matrix& dz = pre_act_grads_[l];
    Reshape(&dz, z.rows, z.cols);
    const Activation act = layers_[l].activation;
    WithActivation(act, [&](auto kind) {
      ForChunks(static_cast<int64_t>(dz.data.size()), 4, [&](int64_t begin, int64_t end) {
        for (int64_t e = begin; e < end; ++e) {
          dz.data[e] = da.data[e] * Derivative<decltype(kind)::value>(z.data[e], a.data[e]);
        }
      });
    });
    const Matrix& in = l == 0 ? input_ : acts_[l - 1];
    Gemm(true, false, 1.0f, dz, in, 0.0f, &weight_grads_[l]);  // dW = dZ^T X
    // db_j = sum_i dZ_ij: rows in order, in double, then rounded once; the
    // columns are split among tasks, never a column's sum.
    float* db = bias_grads_[l].data();
    ForChunks(dz.cols, dz.rows, [&](int64_t begin, int64_t end) {
      std::vector<double> sum(static_cast<size_t>(end - begin), 0.0);
      for (int i = 0; i < dz.rows; ++i) {
        const float* dzi = dz.row(i);
        for (int64_t j = begin; j < end; ++j) sum[j - begin] += dzi[j];
      }
      for (int64_t j = begin; j < end; ++j) db[j] = static_cast<float>(sum[j - begin]);
    });
    if (l > 0) Gemm(false, false, 1.0f, dz, weights_[l], 0.0f, &act_grads_[l - 1]);  // dX = dZ W
  }
  return loss;
}

// ------------------------------------------------------------------ SGD

Sgd::Sgd(const Network& net, float learning_rate, float momentum)
    : learning_rate_(learning_rate), momentum_(momentum) {
  if (!(learning_rate >= 0.0f) || !std::isfinite(learning_rate)) {
    throw std::invalid_argument("Sgd: learning rate must be finite and >= 0, got " +
                                std::to_string(learning_rate));
  }
  if (!(momentum >= 0.0f) || !std::isfinite(momentum)) {
    throw std::invalid_argument("Sgd: momentum must be finite and >= 0, got " +
                                std::to_string(momentum));
  }
  for (int l = 0; l < net.num_layers(); ++l) {
    weight_velocity_.emplace_back(net.weight(l).rows, net.weight(l).cols);
    bias_velocity_.emplace_back(net.bias(l).size(), 0.0f);
  }
}

void Sgd::Step(Network* net) {
  if (net == nullptr) throw std::invalid_argument("Sgd::Step: network is null");
  if (net->num_layers() != static_cast<int>(weight_velocity_.size())) {
    throw std::invalid_argument("Sgd::Step: the network has " + std::to_string(net->num_layers()) +
                                " layers, the optimizer was made for " +
                                std::to_string(weight_velocity_.size()));
  }
  // v = momentum * v + g; p = p - lr * v (each product rounded, no FMA).
  const auto update = [this](std::vector<float>& p, const std::vector<float>& g,
                             std::vector<float>& v) {
    ForChunks(static_cast<int64_t>(p.size()), 4, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) {
        v[e] = momentum_ * v[e] + g[e];
        p[e] = p[e] - learning_rate_ * v[e];
      }
    });
  };
  for (int l = 0; l < net->num_layers(); ++l) {
    Matrix& w = net->weights_[l];
    const Matrix& gw = net->weight_grads_[l];
    if (w.rows != weight_velocity_[l].rows || w.cols != weight_velocity_[l].cols ||
        net->biases_[l].size() != bias_velocity_[l].size()) {
      throw std::invalid_argument("Sgd::Step: layer " + std::to_string(l) + " is " +
                                  Shape(w.rows, w.cols) + ", the optimizer was made for " +
                                  Shape(weight_velocity_[l].rows, weight_velocity_[l].cols));
    }
    update(w.data, gw.data, weight_velocity_[l].data);
    update(net->biases_[l], net->bias_grads_[l], bias_velocity_[l]);
  }
}

// ------------------------------------------------------------------ training

Evaluation Evaluate(Network* net, const Dataset& data, int batch_size) {
  if (net == nullptr) throw std::invalid_argument("Evaluate: network is null");
  if (batch_size <= 0) {
    throw std::invalid_argument("Evaluate: batch_size must be > 0, got " +
                                std::to_string(batch_size));
  }
  CheckDataset(*net, data, "Evaluate: data");
  const int64_t n = data.x.rows;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Matrix xb, tb;
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min<int64_t>(n, begin + batch_size);
    GatherRows(data.x, order, begin, end, &xb);
    GatherRows(data.targets, order, begin, end, &tb);
    const Matrix& y = net->Forward(xb);
    loss_sum += RowLossSum(net->loss(), y, tb, nullptr, 1.0f);
    if (!data.labels.empty()) {
      for (int i = 0; i < y.rows; ++i) {
        if (ArgMax(y.row(i), y.cols) == data.labels[static_cast<size_t>(begin + i)]) ++correct;
      }
    }
  }
  Evaluation result;
  result.loss = loss_sum / static_cast<double>(n);
  result.accuracy = data.labels.empty() ? std::numeric_limits<double>::quiet_NaN()
                                        : static_cast<double>(correct) / static_cast<double>(n);
  return result;
}

std::vector<EpochRecord> Train(Network* net, const Dataset& train, const Dataset* eval,
                               const TrainOptions& options) {
  if (net == nullptr) throw std::invalid_argument("Train: network is null");
  if (options.epochs < 0) {
    throw std::invalid_argument("Train: epochs must be >= 0, got " +
                                std::to_string(options.epochs));
  }
  if (options.batch_size <= 0) {
    throw std::invalid_argument("Train: batch_size must be > 0, got " +
                                std::to_string(options.batch_size));
  }
  CheckDataset(*net, train, "Train: train");
  if (eval != nullptr) CheckDataset(*net, *eval, "Train: eval");
  Sgd sgd(*net, options.learning_rate, options.momentum);  // checks lr and momentum
  const Dataset& eval_set = eval != nullptr ? *eval : train;
  const int64_t n = train.x.rows;
  std::vector<EpochRecord> records;
  Matrix xb, tb;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const std::vector<int64_t> order = EpochOrder(n, options.shuffle_seed, epoch);
    double loss_sum = 0.0;
    int64_t batches = 0;
    bool diverged = false;
    for (int64_t begin = 0; begin < n; begin += options.batch_size) {
      const int64_t end = std::min<int64_t>(n, begin + options.batch_size);
      GatherRows(train.x, order, begin, end, &xb);
      GatherRows(train.targets, order, begin, end, &tb);
      net->Forward(xb);
      const double loss = net->Backward(tb);
      if (!std::isfinite(loss)) {
        loss_sum = loss;
        batches = 1;
        diverged = true;
        break;
      }
      sgd.Step(net);
      loss_sum += loss;
      ++batches;
    }
    EpochRecord record;
    record.epoch = epoch;
    record.train_loss = loss_sum / static_cast<double>(batches);
    const Evaluation e = Evaluate(net, eval_set);
    record.eval_loss = e.loss;
    record.eval_accuracy = e.accuracy;
    records.push_back(record);
    if (diverged || !std::isfinite(record.eval_loss)) break;
  }
  return records;
}

}  // namespace fanfill::mlp
