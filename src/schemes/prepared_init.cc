// PreparedInit: one tensor's initialization validated and planned once, then
// run whole, by element range or by block; Init and InitBlock are one plan
// and one run. The structural writers (sparse zeroing, eye, dirac) live here;
// orthogonal is orthogonal.cc. Validation happens in the constructor, the one
// place a scheme request is checked; the runs check only their own range,
// block and output.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanfill/blocks.hpp"
#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "src/core/common.h"
#include "src/core/dtype.h"
#include "src/core/fill_params.h"
#include "src/core/fp_env.h"
#include "src/schemes/scheme_internal.h"
#include "src/tensor/block_runs.h"

namespace fanfill {
namespace internal {
namespace {

// The sparse scheme's selection words start here in the tensor's stream, far
// beyond any element index a fill of the tensor uses.
constexpr uint64_t kSparseBitsOffset = uint64_t{1} << 63;

[[noreturn]] void Fail(const std::string& message) { throw std::invalid_argument(message); }

bool IsPointwise(Description::Kind kind) {
  switch (kind) {
    case Description::Kind::kUniform:
    case Description::Kind::kNormal:
    case Description::Kind::kTruncatedNormal:
    case Description::Kind::kConstant:
      return true;
    case Description::Kind::kOrthogonal:
    case Description::Kind::kSparse:
    case Description::Kind::kEye:
    case Description::Kind::kDirac:
      return false;
  }
  return false;
}

// Validates (shape, layout, scheme, dtype, scale) and builds the plan into `plan`.
void BuildPlan(InitPlan& plan, std::span<const int64_t> shape, Layout layout,
               const Scheme& scheme, DType dtype, StreamKey key, double scale) {
  const DefaultFpEnvironment fp_env;  // the scheme's scale and bounds (src/core/fp_env.h)
  CheckDType(dtype);
  if (layout != Layout::kOI && layout != Layout::kIO) {
    Fail("unknown layout " + std::to_string(static_cast<int>(layout)) +
         " (expected Layout::kOI or Layout::kIO)");
  }
  // Plan applies the zero-element rule (rank and shape checked, then no fans
  // needed), the one place Describe, InitModel and the plans share.
  plan = Plan(shape, layout, scheme);
  plan.dtype = dtype;
  plan.layout = layout;
  plan.key = key;
  plan.shape.assign(shape.begin(), shape.end());
  plan.pointwise = plan.d.count == 0 || IsPointwise(plan.d.kind);
  if (const std::string error = ScaleError(scale); !error.empty()) Fail(Context(plan) + error);
  plan.scale = scale;
  const Description& d = plan.d;
  if (d.count > std::numeric_limits<size_t>::max() / SizeOf(dtype)) {
    Fail(Context(plan) + "the tensor does not fit in memory");
  }
  plan.bytes = d.count * SizeOf(dtype);
  // Whatever the count, a value the dtype cannot hold is refused; a
  // zero-element tensor without fans has none to check.
  if (!plan.has_values) return;
  // The value stored is v / scale (one division in double, then one rounding).
  auto check_value = [&](double v) {
    if (Overflows(v / scale, dtype)) {
      Fail(Context(plan) + "the value " + FormatNumber(v) +
           (scale != 1 ? " / scale " + FormatNumber(scale) : std::string()) + " overflows " +
           DTypeName(dtype));
    }
  };
  switch (d.kind) {
    case Description::Kind::kUniform:
    case Description::Kind::kNormal:
    case Description::Kind::kTruncatedNormal:
    case Description::Kind::kSparse:
      try {  // the dtype can hold the values
        plan.params = MakeFillParams(dtype, d.distribution.WithScale(scale));
      } catch (const std::invalid_argument& e) {
        Fail(Context(plan) + e.what());
      }
      break;
    case Description::Kind::kOrthogonal:
      check_value(d.gain);
      if (d.count == 0) break;  // no spread: no values
      // A semi-orthogonal rows x cols matrix has unit rows or columns: its
      // elements' root mean square is 1 / sqrt(max(rows, cols)), times gain.
      try {
        CheckF8Spread(d.gain / std::sqrt(static_cast<double>(std::max(plan.rows, plan.cols))),
                      d.gain, scale, dtype, "orthogonal");
      } catch (const std::invalid_argument& e) {
        Fail(Context(plan) + e.what());
      }
      break;
    case Description::Kind::kConstant:
    case Description::Kind::kEye:
    case Description::Kind::kDirac:
      check_value(plan.value);
      plan.value /= scale;
      break;
  }
}

// Zeroes plan.num_zeros of the plan.rows out units of each of the plan.cols
// in units, chosen by a partial Fisher-Yates shuffle (see schemes.hpp).
void ZeroSparse(void* out, const InitPlan& plan) {
  const uint64_t rows = plan.rows, cols = plan.cols, k = plan.num_zeros;
  if (k == 0) return;
  std::vector<uint64_t> order(rows);
  std::vector<uint32_t> words(2 * k);
  for (uint64_t c = 0; c < cols; ++c) {
    Run(BitsParams(), plan.key, words.data(), kSparseBitsOffset + 2 * rows * c, words.size(), 1);
    std::iota(order.begin(), order.end(), uint64_t{0});
    for (uint64_t t = 0; t < k; ++t) {
      const uint64_t x = (uint64_t{words[2 * t + 1]} << 32) | words[2 * t];
      const uint64_t j =
          t + static_cast<uint64_t>((static_cast<unsigned __int128>(x) * (rows - t)) >> 64);
      std::swap(order[t], order[j]);
      const uint64_t r = order[t];
      StoreAt(out, plan.dtype, plan.layout == Layout::kOI ? r * cols + c : c * rows + r, 0.0);
    }
  }
}

// Index of element (o, i, centre...) of a dirac kernel.
uint64_t DiracIndex(std::span<const int64_t> shape, Layout layout, uint64_t o, uint64_t i) {
  const size_t rank = shape.size();
  uint64_t index = 0;
  for (size_t a = 0; a < rank; ++a) {
    uint64_t coordinate = static_cast<uint64_t>(shape[a]) / 2;  // spatial centre
    if (layout == Layout::kOI) {
      if (a == 0) coordinate = o;
      if (a == 1) coordinate = i;
    } else {
      if (a == rank - 1) coordinate = o;
      if (a == rank - 2) coordinate = i;
    }
    index = index * static_cast<uint64_t>(shape[a]) + coordinate;
  }
  return index;
}

void RunWhole(const InitPlan& plan, void* out, int max_threads) {
  const DefaultFpEnvironment fp_env;  // constants, eye, dirac, orthogonal's QR
  const Description& d = plan.d;
  const uint64_t count = d.count;
  switch (d.kind) {
    case Description::Kind::kUniform:
    case Description::Kind::kNormal:
    case Description::Kind::kTruncatedNormal:
      return Run(plan.params, plan.key, out, 0, count, max_threads);
    case Description::Kind::kSparse:
      Run(plan.params, plan.key, out, 0, count, max_threads);
      return ZeroSparse(out, plan);
    case Description::Kind::kOrthogonal:
      return FillOrthogonal(out, plan.dtype, plan.rows, plan.cols, d.gain / plan.scale, plan.key,
                            max_threads);
    case Description::Kind::kConstant:
      return StoreConstant(out, plan.dtype, count, plan.value);
    case Description::Kind::kEye: {
      StoreConstant(out, plan.dtype, count, 0.0);
      const uint64_t n = std::min(plan.rows, plan.cols);
      for (uint64_t i = 0; i < n; ++i) StoreAt(out, plan.dtype, i * plan.cols + i, plan.value);
      return;
    }
    case Description::Kind::kDirac: {
      StoreConstant(out, plan.dtype, count, 0.0);
      const std::span<const int64_t> shape = plan.shape;
      const size_t rank = shape.size();
      const bool oi = plan.layout == Layout::kOI;
      const auto out_channels = static_cast<uint64_t>(shape[oi ? 0 : rank - 1]);
      const auto in_channels = static_cast<uint64_t>(shape[oi ? 1 : rank - 2]);
      const uint64_t per_group = out_channels / plan.groups;
      const uint64_t n = std::min(per_group, in_channels);
      for (uint64_t g = 0; g < plan.groups; ++g) {
        for (uint64_t k = 0; k < n; ++k) {
          StoreAt(out, plan.dtype, DiracIndex(shape, plan.layout, g * per_group + k, k),
                  plan.value);
        }
      }
      return;
    }
  }
}

// The reason a non-pointwise scheme has no ranges or blocks.
std::string NotPointwise(const InitPlan& plan, const char* what) {
  std::string why;
  switch (plan.d.kind) {
    case Description::Kind::kOrthogonal:
      why = "orthogonal (every value depends on the QR of the whole matrix); initialize the "
            "whole tensor and slice it";
      break;
    case Description::Kind::kSparse:
      why = "sparse (its zeros are chosen per column over the whole tensor)";
      break;
    default:
      why = std::string(plan.d.kind == Description::Kind::kEye ? "eye" : "dirac") +
            " (not a pointwise distribution); initialize the whole tensor and slice it";
      break;
  }
  return std::string(what) + " is not supported for " + why;
}

// The whole tensor into out, after the run's own checks.
void RunChecked(const InitPlan& plan, void* out, const InitOptions& options) {
  CheckMaxThreads(options.max_threads);
  if (plan.d.count == 0) return;
  if (out == nullptr) Fail(Context(plan) + "out is null");
  RunWhole(plan, out, options.max_threads);
}

std::shared_ptr<const InitPlan> MakePlan(std::span<const int64_t> shape, Layout layout,
                                         const Scheme& scheme, DType dtype, StreamKey key,
                                         double scale) {
  auto plan = std::make_shared<InitPlan>();
  BuildPlan(*plan, shape, layout, scheme, dtype, key, scale);
  return plan;
}

}  // namespace

std::string Context(const InitPlan& plan) {
  return plan.d.scheme + " on shape " + FormatShape(plan.shape) + " (" + DTypeName(plan.dtype) +
         "): ";
}

}  // namespace internal

PreparedInit::PreparedInit(std::span<const int64_t> shape, Layout layout, const Scheme& scheme,
                           DType dtype, StreamKey key, double scale)
    : plan_(internal::MakePlan(shape, layout, scheme, dtype, key, scale)) {}

const Description& PreparedInit::description() const { return plan_->d; }
std::span<const int64_t> PreparedInit::shape() const { return plan_->shape; }
Layout PreparedInit::layout() const { return plan_->layout; }
DType PreparedInit::dtype() const { return plan_->dtype; }
double PreparedInit::scale() const { return plan_->scale; }
StreamKey PreparedInit::key() const { return plan_->key; }
uint64_t PreparedInit::count() const { return plan_->d.count; }
uint64_t PreparedInit::bytes() const { return plan_->bytes; }
bool PreparedInit::is_pointwise() const { return plan_->pointwise; }

void PreparedInit::Run(void* out, const InitOptions& options) const {
  internal::RunChecked(*plan_, out, options);
}

void PreparedInit::RunRange(void* out, uint64_t first, uint64_t count,
                            const InitOptions& options) const {
  const internal::InitPlan& plan = *plan_;
  internal::CheckMaxThreads(options.max_threads);
  if (!plan.pointwise) internal::Fail(internal::Context(plan) + internal::NotPointwise(plan, "a range fill"));
  if (first > plan.d.count || count > plan.d.count - first) {
    internal::Fail(internal::Context(plan) + "elements [" + std::to_string(first) + ", " +
                   std::to_string(first) + " + " + std::to_string(count) +
                   ") lie outside the tensor's " + std::to_string(plan.d.count));
  }
  if (count == 0) return;
  if (out == nullptr) internal::Fail(internal::Context(plan) + "out is null");
  if (plan.d.kind == Description::Kind::kConstant) {
    return internal::StoreConstant(out, plan.dtype, count, plan.value);
  }
  internal::Run(plan.params, plan.key, out, first, count, options.max_threads);
}

void PreparedInit::RunBlock(void* out, const Block& block, const InitOptions& options) const {
  const internal::InitPlan& plan = *plan_;
  const internal::RunPlan runs = internal::PlanRuns(internal::Context(plan), plan.shape, block,
                                                    plan.dtype);
  internal::CheckMaxThreads(options.max_threads);
  if (out == nullptr && runs.count > 0) internal::Fail(internal::Context(plan) + "out is null");
  // As Init, a zero-element global tensor is a no-op (it may have no fans).
  if (plan.d.count == 0) return;
  if (!plan.pointwise) internal::Fail(internal::Context(plan) + internal::NotPointwise(plan, "blockwise fill"));
  if (runs.count == 0) return;
  if (plan.d.kind == Description::Kind::kConstant) {
    return internal::StoreConstant(out, plan.dtype, runs.count, plan.value);
  }
  internal::RunFills(out, runs, plan.params, plan.key, options.max_threads);
}

void Init(void* out, DType dtype, std::span<const int64_t> shape, Layout layout,
          const Scheme& scheme, StreamKey key, const InitOptions& options) {
  // One plan on the stack: Init's per-call cost is the planning, not a heap plan.
  internal::InitPlan plan;
  internal::BuildPlan(plan, shape, layout, scheme, dtype, key, 1.0);
  internal::RunChecked(plan, out, options);
}

void InitBlock(void* out, DType dtype, std::span<const int64_t> global_shape, Layout layout,
               const Block& block, const Scheme& scheme, StreamKey key,
               const BlockOptions& options) {
  try {
    internal::CheckMaxThreads(options.max_threads);
    PreparedInit(global_shape, layout, scheme, dtype, key)
        .RunBlock(out, block, {.max_threads = options.max_threads});
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("InitBlock: ") + e.what());
  }
}

}  // namespace fanfill
