// fanfill/schemes.hpp: weight-initialization schemes and model specs.
//
// Contents: Layout and ComputeFans (fans of a weight shape, PyTorch and Keras
// conventions), Gain (= torch.nn.init.calculate_gain), Scheme (one parser for
// spec strings such as "kaiming_normal(mode=fan_out, nonlinearity=relu)"),
// Describe / Init (one tensor), StreamId (the name -> stream hash), ModelSpec
// with its JSON form, DescribeModel / InitModel (a whole model, streams keyed
// by tensor name). The scheme table, with formulas, defaults and the PyTorch
// and Keras names side by side, is docs/schemes.md.
//
// Example:
//   const std::vector<int64_t> shape = {64, 3, 7, 7};  // PyTorch Conv2d weight
//   std::vector<float> w(64 * 3 * 7 * 7);
//   fanfill::Init(std::span<float>(w), shape, fanfill::Layout::kOI,
//                 fanfill::Scheme::Parse("kaiming_normal(mode=fan_out, nonlinearity=relu)"),
//                 {.seed = 42, .stream = fanfill::StreamId("conv1.weight")});
//   // Describe() gives fan_in = 147, fan_out = 3136, gain = sqrt(2),
//   // std = sqrt(2) / sqrt(3136) without filling anything.
//
// ONE PASS. A scheme only chooses the parameters of one of fanfill's
// distributions (Distribution in fanfill.hpp) from the fans and the gain, and
// Init makes exactly one fanfill::Fill call with them: kaiming_normal on
// (seed, stream) is bit for bit FillNormal(0, gain / sqrt(fan)) on (seed,
// stream); no second pass scales anything. The exceptions are the schemes
// whose values are not a pointwise distribution: orthogonal (QR, below),
// sparse (a normal fill, then zeros), eye, dirac and the constants.
//
// REPRODUCIBILITY (stream version 1, as fanfill.hpp; never changes once released)
//   * Distribution schemes: element i is element i of the Fill described by
//     Describe().distribution on (seed, stream), in the tensor's dtype.
//   * sparse: the normal fill above; then for each input unit c (column c
//     of an oi [out, in] weight, row c of an io [in, out] one) the
//     ceil(sparsity * out) zeroed output units are chosen by a partial
//     Fisher-Yates shuffle of 0..out-1 driven by FillBits words of the same
//     (seed, stream) from index 2^63 + 2 * out * c on: draw t uses words
//     (2t, 2t+1) as x = w1 << 32 | w0 and offset floor(x * (out - t) / 2^64)
//     (bias <= out / 2^64).
//   * orthogonal: the count standard normals of an f64 Fill on (seed,
//     stream), indices [0, count), are the rows x cols matrix M (row-major;
//     rows = shape[0] in layout oi, rows = prod(shape[:-1]) in io). If
//     rows >= cols, M = QR; otherwise M^T = QR. Columns of Q are multiplied by
//     sign(R_jj) (so R's diagonal is positive: the Haar measure, as PyTorch's
//     orthogonal_), Q (or Q^T) is scaled by gain and rounded to the dtype.
//     The QR is LAPACK's (LAPACKE dgeqrf/dorgqr, or dgelqf/dorglq on M^T for
//     rows >= cols) in double precision, run with OpenBLAS on one thread:
//     values are bit-identical for every max_threads, oneTBB arena and
//     OpenBLAS thread setting on a given machine and library build, but they
//     depend on the LAPACK/BLAS build and CPU kernels, so they are NOT part
//     of the cross-machine bit-exact contract (they agree to the bound below).
//   * eye, dirac, constants: deterministic; no random values.
//
// ORTHOGONALITY BOUND. Let W be the stored tensor divided by gain, as the
// rows x cols matrix above, k = min(rows, cols), G = W^T W (k x k) if
// rows >= cols and G = W W^T (k x k) if rows < cols, and u the unit roundoff
// of the dtype (f32 2^-24, f64 2^-53, bf16 2^-8, f16 2^-11; the f16/bf16
// values are rounded through float, which adds 2^-24 relative). Each stored
// value is the double-precision Q entry times (1 + d), |d| <= u, so
//   max_ij |G - I|_ij <= 2u + u^2 + e64   and   ||G - I||_F <= 2u sqrt(k) + u^2 k + e64,
// where e64 is the orthogonality error of LAPACK's Householder Q in double
// (O(rows * cols * 2^-53) worst case, Higham "Accuracy and Stability of
// Numerical Algorithms" Thm 19.4; measured max 3.6e-15, Frobenius 5e-14, for
// 1024 x 1024, 2048 x 512 and 512 x 2048). So for f32, max |G - I| <= 1.2e-7
// at any size. tests/orthogonal_test.cc checks both bounds (with
// e64 <= 1e-12) for square, tall and wide shapes in every dtype. (f16: values
// below 2^-14 are subnormal, absolute error <= 2^-25, which adds at most
// 2^-24 sqrt(max(rows, cols)) to max |G - I|.)
//
// Thread safety: Scheme is an immutable value; every function here may be
// called concurrently. Orthogonal inits hold a process-wide lock while they
// set OpenBLAS to one thread and restore its setting afterwards; OpenBLAS
// calls made by other threads in that window also run on one thread.
//
// Errors: std::invalid_argument naming the offending part (scheme name,
// argument, shape dimension, tensor name); nothing is written on error.
//
// Stability: the scheme names, their arguments and defaults, the fan and gain
// formulas, StreamId, and the random-value contract above never change once
// released; Description may gain fields.
#ifndef FANFILL_SCHEMES_HPP_
#define FANFILL_SCHEMES_HPP_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/blocks.hpp"
#include "fanfill/fanfill.hpp"

namespace fanfill {

namespace internal {
struct SchemeRep;     // src/schemes/scheme_internal.h
struct SchemeAccess;
struct InitPlan;
}  // namespace internal

// ------------------------------------------------------------------ fans

// Axis order of a weight tensor.
//   kOI: PyTorch/ONNX [out, in, *spatial]. Grouped convolutions: `in` is the
//        channels per group (the weight's shape[1]), as in PyTorch.
//   kIO: Keras/TF/JAX [*spatial, in, out] (grouped: in per group, as Keras).
enum class Layout : int { kOI = 0, kIO = 1 };

const char* LayoutName(Layout layout);      // "oi", "io"
Layout ParseLayout(std::string_view name);  // "oi" or "io"; throws otherwise

struct Fans {
  double fan_in = 0;
  double fan_out = 0;
};

// fan_in = in * prod(spatial), fan_out = out * prod(spatial).
//   kOI: exactly torch.nn.init._calculate_fan_in_and_fan_out; like PyTorch,
//        throws for fewer than 2 dimensions.
//   kIO: exactly Keras's compute_fans; rank 0 gives (1, 1), rank 1 gives
//        (shape[0], shape[0]).
// Throws on negative dimensions and on fans above 2^53 (not exact in double).
Fans ComputeFans(std::span<const int64_t> shape, Layout layout);

// prod(shape) (1 for rank 0). Throws on negative dimensions and on products
// that overflow 2^64.
uint64_t ElementCount(std::span<const int64_t> shape);

// Exactly torch.nn.init.calculate_gain: linear, conv1d, conv2d, conv3d,
// conv_transpose1d/2d/3d, sigmoid -> 1; tanh -> 5/3; relu -> sqrt(2);
// leaky_relu -> sqrt(2 / (1 + a^2)) with a = param, default 0.01; selu -> 3/4.
// Throws on other names; `param` is only read for leaky_relu (as PyTorch).
double Gain(std::string_view nonlinearity, std::optional<double> param = std::nullopt);

// ------------------------------------------------------------------ schemes

// A parsed scheme spec: an immutable value, cheap to copy.
//
// Grammar: name [ "(" [ arg { "," arg } ] ")" ], arg = [key "="] value, value
// a number (decimal, optional sign and exponent) or a word (optionally in
// quotes). Positional arguments take the scheme's parameters in the order of
// docs/schemes.md. Names are matched ignoring case and underscores, so
// "kaiming_normal_", "KaimingNormal" and "kaiming_normal" are one name; keys
// are matched the same way. Examples:
//   kaiming_normal(mode=fan_out, nonlinearity=leaky_relu, a=0.2)
//   variance_scaling(scale=2, mode=fan_avg, distribution=uniform)
//   trunc_normal(std=0.02, a=-2, b=2)        (PyTorch: absolute bounds)
//   truncated_normal(stddev=0.02)            (Keras/JAX: cut at +-2 stddev)
//   torch_default_bias(fan_in=576)           (explicit fans: fan_in=, fan_out=)
// PyTorch and Keras names are aliases of one implementation; where the two
// libraries differ (Keras's he_normal, glorot_normal and lecun_normal are
// truncated normals, PyTorch's kaiming_normal and xavier_normal are not;
// RandomNormal's default stddev is 0.05, normal_'s std 1) each name keeps its
// library's meaning. docs/schemes.md lists every name.
class Scheme {
 public:
  // Throws std::invalid_argument naming the unknown name (with the closest
  // known one), unknown or repeated argument, missing required argument, or
  // the value that is malformed or out of range.
  static Scheme Parse(std::string_view spec);

  // Copies share the immutable representation. There is no move: std::move(s)
  // copies, so a moved-from Scheme is still the same valid scheme.
  Scheme(const Scheme&) = default;
  Scheme& operator=(const Scheme&) = default;

  std::string_view name() const;  // canonical name: "kaiming_uniform" for "he_uniform"
  // The canonical spec, every argument spelled out (Parse(s.ToString()) == s):
  // "kaiming_uniform(a=0, mode=fan_in, nonlinearity=leaky_relu)".
  std::string ToString() const;
  bool UsesFans() const;  // He/Glorot/LeCun/variance scaling/PyTorch default
  // This scheme with fan_in / fan_out set where the spec did not set them
  // (e.g. a bias initialized from its weight's fans). Throws unless UsesFans(),
  // and unless each fan is 0 or a positive integer up to 2^53 (as Parse).
  Scheme WithDefaultFans(const Fans& fans) const;

  // (Parsed specs only: the representation is internal.)
 private:
  friend struct internal::SchemeAccess;
  explicit Scheme(std::shared_ptr<const internal::SchemeRep> rep);
  std::shared_ptr<const internal::SchemeRep> rep_;
};

// What Init would write, without writing it.
struct Description {
  enum class Kind : int {
    kUniform = 0,          // one Fill with `distribution`
    kNormal = 1,           // one Fill with `distribution`
    kTruncatedNormal = 2,  // one Fill with `distribution`
    kConstant = 3,         // constant, zeros, ones
    kOrthogonal = 4,
    kSparse = 5,  // normal fill, then `sparsity` of each column zeroed
    kEye = 6,
    kDirac = 7,
  };
  std::string scheme;  // canonical spec (Scheme::ToString)
  Kind kind = Kind::kNormal;
  uint64_t count = 0;  // elements
  // Fans of the shape/layout, overridden by fan_in=/fan_out= in the spec; NaN
  // where they cannot be computed and the scheme does not need them.
  double fan_in = 0, fan_out = 0;
  double fan = 0;   // the fan the variance is divided by (mode); NaN if none
  double gain = 0;  // sqrt(scale) for variance scaling; NaN if the scheme has none
  // The core distribution Init fills with (kUniform/kNormal/kTruncatedNormal;
  // kSparse: the normal before zeroing; kOrthogonal: the N(0, 1) f64 Gaussian
  // that is factored). Unused for kConstant, kEye, kDirac.
  Distribution distribution;
  // Of the values written: mean and standard deviation (for orthogonal the
  // root mean square gain / sqrt(max(rows, cols)); for eye, dirac, sparse and
  // constants exact for the tensor), smallest and largest possible value
  // (+-inf for normals; uniform's high is excluded).
  double mean = 0, std = 0, low = 0, high = 0;
  double sparsity = 0;  // kSparse: fraction of zeros in each column
};

// shape: any rank (each scheme states what it accepts); dims >= 0.
// Zero-element shapes follow torch.nn.init: the scheme's rank and shape
// requirements hold whatever the element count (eye and sparse: 2-D,
// orthogonal: >= 2-D, dirac: 3 to 5 dims and out channels divisible by
// groups); past them the tensor is a no-op that needs no fans. Where its
// scheme would divide by a missing or zero fan (kaiming_normal on [4, 0]),
// fan, mean, std, low, high and the distribution's parameters are NaN.
Description Describe(std::span<const int64_t> shape, Layout layout, const Scheme& scheme);

struct InitOptions {
  // As FillOptions::max_threads: 0 = current oneTBB arena, 1 = serial, n = at most n.
  int max_threads = 0;
};

// Writes the prod(shape) elements of the tensor to `out` (row-major in the
// given shape). Zero-element tensors are a no-op, as in PyTorch, after the
// checks Describe states; a value the dtype cannot hold is refused whatever
// the count.
void Init(void* out, DType dtype, std::span<const int64_t> shape, Layout layout,
          const Scheme& scheme, StreamKey key, const InitOptions& options = {});

// Typed form; throws unless out.size() == prod(shape).
template <class T>
void Init(std::span<T> out, std::span<const int64_t> shape, Layout layout, const Scheme& scheme,
          StreamKey key, const InitOptions& options = {}) {
  static_assert(kIsFillable<T>, "fanfill fills float, double, BFloat16, Float16, Float8E4M3 or Float8E5M2");
  const uint64_t count = ElementCount(shape);
  if (count != out.size()) {
    throw std::invalid_argument("Init: out has " + std::to_string(out.size()) +
                                " elements but the shape has " + std::to_string(count));
  }
  Init(out.data(), kDTypeOf<T>, shape, layout, scheme, key, options);
}

// Writes the block (blocks.hpp) of Init(global_shape, layout, scheme, key) to
// out: BlockElementCount(block) elements of dtype, row-major in block.extent,
// bit for bit the matching slice of the whole tensor. Fans and gains come from
// the GLOBAL shape and layout, never from the block, so a shard of
// kaiming_normal has the same standard deviation as the full tensor.
// Supported: the pointwise schemes (PreparedInit::is_pointwise: every
// distribution scheme and the constants). Refused with std::invalid_argument
// naming the scheme: orthogonal (every value depends on the QR of the whole
// matrix: initialize it whole and scatter it), sparse (its zeros are chosen
// per input column over all output units), eye and dirac (deterministic: fill
// the whole tensor, cheap, and slice it). Messages start with "InitBlock: ".
void InitBlock(void* out, DType dtype, std::span<const int64_t> global_shape, Layout layout,
               const Block& block, const Scheme& scheme, StreamKey key,
               const BlockOptions& options = {});

template <class T>
void InitBlock(std::span<T> out, std::span<const int64_t> global_shape, Layout layout,
               const Block& block, const Scheme& scheme, StreamKey key,
               const BlockOptions& options = {}) {
  static_assert(kIsFillable<T>, "fanfill fills float, double, BFloat16, Float16, Float8E4M3 or Float8E5M2");
  if (BlockElementCount(block) != out.size()) {
    throw std::invalid_argument("InitBlock: out has " + std::to_string(out.size()) +
                                " elements but the block has " +
                                std::to_string(BlockElementCount(block)));
  }
  InitBlock(out.data(), kDTypeOf<T>, global_shape, layout, block, scheme, key, options);
}

// ------------------------------------------------------------------ prepared inits

// One tensor's initialization, validated and planned once: prepare once, run
// ranges. The constructor checks everything Init checks (shape, layout,
// scheme on the shape's fans, dtype, the dtype's range for the values) and
// precomputes the fill parameters, or the structural writer's parameters
// (orthogonal, sparse, eye, dirac, constants); every Run* call then only
// checks its own range/block and output and writes.
//
// Example (a tensor written in 16 MiB chunks, as the fanfill command does):
//   const fanfill::PreparedInit plan({4096, 4096}, fanfill::Layout::kOI,
//                                    fanfill::Scheme::Parse("kaiming_normal"),
//                                    fanfill::DType::kBF16, {.seed = 42, .stream = 7});
//   std::vector<fanfill::BFloat16> chunk(1 << 23);
//   for (uint64_t first = 0; first < plan.count(); first += chunk.size())
//     plan.RunRange(chunk.data(), first, std::min<uint64_t>(chunk.size(), plan.count() - first));
//
// Values: Run(out) writes exactly what Init writes; RunRange and RunBlock
// write the matching elements of that tensor (the contract of fanfill.hpp and
// blocks.hpp), for any split, thread count and SIMD target.
//
// Pointwise plans (is_pointwise(): the distribution schemes and the
// constants, whose element i depends on i alone) run any element range or
// block. The others (orthogonal, sparse, eye, dirac) run whole tensors only
// and refuse ranges and blocks with std::invalid_argument naming the scheme,
// except on a zero-element tensor: nothing to draw, so every plan of one is
// pointwise (is_pointwise() true) and its empty ranges and blocks are no-ops.
// A plan keeps nothing between runs: orthogonal recomputes its QR on every
// Run (one Gaussian fill and one LAPACK factorization per call).
//
// Thread safety: an immutable value, cheap to copy (shared state); all const
// member functions may run concurrently from any threads on disjoint outputs.
// Errors: std::invalid_argument, messages "<scheme> on shape [..] (dtype): ...";
// nothing is written when a Run* call throws.
class PreparedInit {
 public:
  // A zero-element shape is valid as in PyTorch where its scheme's rank and
  // shape requirements hold (it may have no fans; see Describe): its runs
  // write nothing. Its dtype checks are a nonzero one's.
  // scale: the per-tensor scale (finite, > 0, a normal float32 once rounded
  // to float, as Distribution::scale; meant for FP8): every value
  // stored is the scheme's value divided by it -- a distribution's
  // parameters as Distribution::scale, a constant/eye/dirac value and
  // orthogonal's gain divided in double; zeros stay zeros. The description
  // stays the unscaled one. 1 (the default) is the plain init, bit for bit.
  PreparedInit(std::span<const int64_t> shape, Layout layout, const Scheme& scheme, DType dtype,
               StreamKey key, double scale = 1.0);
  PreparedInit(std::initializer_list<int64_t> shape, Layout layout, const Scheme& scheme,
               DType dtype, StreamKey key, double scale = 1.0)
      : PreparedInit(std::span<const int64_t>(shape.begin(), shape.size()), layout, scheme, dtype,
                     key, scale) {}
  // Copies share the plan; as for Scheme, std::move copies (a moved-from plan
  // still runs).
  PreparedInit(const PreparedInit&) = default;
  PreparedInit& operator=(const PreparedInit&) = default;

  // What the runs write, before the scale (Describe of the shape).
  const Description& description() const;
  std::span<const int64_t> shape() const;
  Layout layout() const;
  DType dtype() const;
  double scale() const;
  StreamKey key() const;
  uint64_t count() const;  // elements
  uint64_t bytes() const;  // count() * DTypeSize(dtype())
  bool is_pointwise() const;

  // The whole tensor: count() elements into out (row-major). Every scheme.
  void Run(void* out, const InitOptions& options = {}) const;
  // Elements [first, first + count) of the tensor into out[0, count).
  // Pointwise plans only; first + count <= this->count().
  void RunRange(void* out, uint64_t first, uint64_t count, const InitOptions& options = {}) const;
  // A block of the tensor (blocks.hpp), BlockElementCount(block) elements,
  // row-major in block.extent. Pointwise plans only.
  void RunBlock(void* out, const Block& block, const InitOptions& options = {}) const;

 private:
  std::shared_ptr<const internal::InitPlan> plan_;
};

// ------------------------------------------------------------------ model specs

// The stream id of a named tensor: 64-bit FNV-1a of the name's bytes
// (offset basis 0xcbf29ce484222325, prime 0x100000001b3; for each byte b:
// h ^= b; h *= prime, mod 2^64). Stable forever. StreamId("") ==
// 0xcbf29ce484222325, StreamId("a") == 0xaf63dc4c8601ec8c.
uint64_t StreamId(std::string_view name);

struct TensorSpec {
  std::string name;  // unique within the model; keys the stream
  std::vector<int64_t> shape;
  Layout layout = Layout::kOI;
  std::string scheme;  // spec text, as Scheme::Parse
  DType dtype = DType::kF32;
  // Name of another tensor of the model whose shape/layout fans this one
  // uses: a bias gets its weight's fan_in (torch_default_bias). Empty: none.
  // Refused with a scheme that sets fan_in= or fan_out= itself (one source
  // of fans).
  std::string fans_from;
  // Stream id; default StreamId(name).
  std::optional<uint64_t> stream;
  // Per-tensor scale (PreparedInit's): stored = value / scale. Writers that
  // keep the scale (the CLI's .safetensors) store it beside the tensor as a
  // 0-d F32 tensor "<name>_scale"; so, as PreparedInit, a scale that does not
  // round to a normal float32 ([2^-126, FLT_MAX]) is refused.
  double scale = 1.0;
  // The scale was given explicitly (a spec's "scale", the CLI's --scale):
  // then "<name>_scale" is stored even for scale 1. ParseModelSpec sets it.
  bool scale_given = false;

  // Whether writers store "<name>_scale": a scale other than 1, or one given.
  bool has_scale() const { return scale_given || scale != 1; }
};

// A model: named tensors. Each tensor's values depend only on (seed, its
// stream id, its own spec), so adding, removing, reordering or renaming
// other tensors never changes them.
//
// JSON form:
//   {"layout": "oi", "dtype": "f32",        (optional defaults for all tensors)
//    "tensors": [
//      {"name": "conv1.weight", "shape": [64, 3, 7, 7],
//       "scheme": "kaiming_normal(mode=fan_out, nonlinearity=relu)"},
//      {"name": "conv1.bias", "shape": [64], "scheme": "torch_default_bias",
//       "fans_from": "conv1.weight"},
//      {"name": "fc.weight", "shape": [512, 10], "layout": "io", "dtype": "bf16",
//       "scheme": "glorot_uniform", "stream": 12345},
//      {"name": "fc2.weight", "shape": [4096, 4096], "dtype": "f8e4m3",
//       "scheme": "kaiming_normal", "scale": 0.001953125}]}
// Unknown keys and a key repeated in one object are errors.
struct ModelSpec {
  std::vector<TensorSpec> tensors;
};

ModelSpec ParseModelSpec(std::string_view json);  // throws std::invalid_argument
std::string ModelSpecToJson(const ModelSpec& model);

struct TensorDescription {
  std::string name;
  uint64_t stream = 0;
  DType dtype = DType::kF32;
  uint64_t bytes = 0;  // count * DTypeSize(dtype)
  // Of the values stored, value / scale: Describe's mean, std, low and high
  // divided by the scale, and a distribution's `scale` set to it (scale 1:
  // Describe's, unchanged).
  Description description;
  double scale = 1.0;  // the tensor's (TensorSpec::scale)
};

// Validates the whole model (names unique, stream ids distinct, fans_from
// resolvable and not mixed with a scheme's own fan_in=/fan_out=, every spec,
// shape and scale valid) and describes each tensor, in order. Errors about
// one tensor start "model spec: tensor #i 'name': ".
std::vector<TensorDescription> DescribeModel(const ModelSpec& model);
// The model's resolved, validated plans, in spec order, with their streams
// (fans_from and explicit streams applied): what InitModel runs, for callers
// that write the tensors themselves (in chunks, blocks or shards). Validates
// what InitModel validates (DescribeModel's checks plus each dtype's range);
// DescribeModel(model)[i].description is plans[i].description() with the
// tensor's scale applied.
std::vector<PreparedInit> PrepareModel(const ModelSpec& model, uint64_t seed);
// DescribeModel from plans = PrepareModel(model, seed), without validating again.
std::vector<TensorDescription> DescribeModel(const ModelSpec& model,
                                             std::span<const PreparedInit> plans);
// As JSON (an array of objects; infinities as null), for tools.
std::string DescribeModelJson(const ModelSpec& model);

// Initializes every tensor: outputs[i] receives model.tensors[i] and must hold
// DescribeModel(model)[i].bytes bytes (null only where that is 0). Outputs that
// overlap in memory are refused (one tensor would overwrite another's values).
// The model and the outputs are validated first, so on error nothing is
// written.
void InitModel(const ModelSpec& model, std::span<void* const> outputs, uint64_t seed,
               const InitOptions& options = {});

}  // namespace fanfill

#endif  // FANFILL_SCHEMES_HPP_
