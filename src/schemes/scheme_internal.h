// Internals shared by the scheme layer (scheme_spec.cc: the scheme table and
// the spec parser; schemes.cc: fans, gains, planning, Describe;
// prepared_init.cc: PreparedInit, Init, InitBlock and the structural writers;
// orthogonal.cc; model_spec.cc). Nothing here touches SIMD: schemes only
// choose parameters for the core fills.
#ifndef FANFILL_SRC_SCHEMES_SCHEME_INTERNAL_H_
#define FANFILL_SRC_SCHEMES_SCHEME_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "src/core/common.h"
#include "src/core/fill_params.h"

namespace fanfill::internal {

// One entry per row of docs/schemes.md.
enum class SchemeId : int {
  kNormal,            // PyTorch normal_
  kRandomNormal,      // Keras RandomNormal
  kUniform,           // PyTorch uniform_
  kRandomUniform,     // Keras RandomUniform
  kTruncNormal,       // PyTorch trunc_normal_ (absolute bounds)
  kTruncatedNormal,   // Keras TruncatedNormal / JAX truncated_normal (bounds in stddevs)
  kXavierNormal,      // PyTorch xavier_normal_
  kXavierUniform,     // PyTorch xavier_uniform_ = Keras GlorotUniform
  kGlorotNormal,      // Keras GlorotNormal (truncated)
  kKaimingNormal,     // PyTorch kaiming_normal_
  kKaimingUniform,    // PyTorch kaiming_uniform_ = Keras HeUniform
  kHeNormal,          // Keras HeNormal (truncated)
  kLecunNormal,       // Keras LecunNormal (truncated)
  kLecunUniform,      // Keras LecunUniform
  kVarianceScaling,   // Keras VarianceScaling / JAX variance_scaling
  kTorchDefault,      // nn.Linear / nn.ConvNd weight: kaiming_uniform_(a=sqrt(5))
  kTorchDefaultBias,  // nn.Linear / nn.ConvNd bias: U(+-1/sqrt(fan_in))
  kOrthogonal,
  kSparse,
  kEye,
  kDirac,
  kConstant,
  kZeros,
  kOnes,
};

enum class ParamType : int { kNumber, kInteger, kWord };
// kBound: a bound, finite or inf / -inf for none on that side (trunc_normal's a, b).
enum class ParamRange : int { kFinite, kPositive, kNonNegative, kUnitInterval, kBound };

struct ParamDef {
  const char* key;                       // canonical key
  std::vector<const char*> key_aliases;  // other spellings (PyTorch/Keras/JAX)
  ParamType type;
  bool required;
  double number;                   // default (kNumber, kInteger)
  const char* word;                // default (kWord)
  std::vector<const char*> words;  // accepted words (kWord)
  ParamRange range;
};

struct SchemeDef {
  SchemeId id;
  const char* name;                  // canonical
  std::vector<const char*> aliases;  // other names (matched like the name)
  std::vector<ParamDef> params;      // in positional order
  bool uses_fans;                    // accepts fan_in= / fan_out=
};

struct ArgValue {
  double number = 0;
  std::string word;
  bool given = false;  // written in the spec (not a default)
};

const std::vector<SchemeDef>& SchemeTable();

// Scheme::ToString()'s text, computed from the representation (cached there).
std::string Canonical(const Scheme& scheme);

// Arguments of a parsed scheme by canonical key (the key must exist).
double Number(const Scheme& scheme, std::string_view key);
const std::string& Word(const Scheme& scheme, std::string_view key);
bool Given(const Scheme& scheme, std::string_view key);

// A planned tensor: the Description and the structure behind it. Planner
// (schemes.cc) fills d and the structure; PreparedInit's constructor
// (prepared_init.cc) adds the dtype, key and fill parameters once validated.
struct InitPlan {
  Description d;
  DType dtype = DType::kF32;
  Layout layout = Layout::kOI;
  StreamKey key;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
  bool pointwise = true;
  // false: a zero-element tensor whose scheme lacks the fans it would divide
  // by (a no-op, as torch.nn.init; d's fan and moments are NaN).
  bool has_values = true;
  FillParams params;            // distributions and sparse: the validated fill
  uint64_t rows = 0, cols = 0;  // orthogonal: the matrix; sparse: out units, in units
  uint64_t num_zeros = 0;       // sparse: zeros per in unit
  uint64_t groups = 1;          // dirac
  double value = 0;             // constant, eye, dirac: the value written (after the scale)
  double scale = 1;             // per-tensor scale: stored = value / scale
};

// "<scheme> on shape [..] (f32): ", the prefix of a plan's messages (made
// only when one is needed).
std::string Context(const InitPlan& plan);

// Fans, gain, Description and structure of a scheme on a shape (the layout
// is valid); throws std::invalid_argument "<scheme> on shape [..] (layout
// ..): ...". Describe() returns its d.
InitPlan Plan(std::span<const int64_t> shape, Layout layout, const Scheme& scheme);

// orthogonal.cc: W (rows x cols, row-major) as documented in schemes.hpp.
// Validated by the caller; rows, cols >= 1.
void FillOrthogonal(void* out, DType dtype, uint64_t rows, uint64_t cols, double gain,
                    StreamKey key, int max_threads);

}  // namespace fanfill::internal

namespace fanfill::internal {

// A parsed scheme (Scheme holds one, shared and immutable).
struct SchemeRep {
  const SchemeDef* def = nullptr;
  std::vector<ArgValue> args;             // one per def->params, defaults applied
  std::optional<double> fan_in, fan_out;  // fan_in= / fan_out=
  std::string canonical;                  // Scheme::ToString(), made once
};

// The scheme layer's access to Scheme's representation.
struct SchemeAccess {
  static const SchemeRep& Rep(const Scheme& scheme) { return *scheme.rep_; }
  static Scheme Make(std::shared_ptr<const SchemeRep> rep) { return Scheme(std::move(rep)); }
};

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_SCHEMES_SCHEME_INTERNAL_H_
