// Internals shared by the scheme layer (scheme_spec.cc: the scheme table and
// the spec parser; schemes.cc: fans, gains, Describe, Init; orthogonal.cc;
// model_spec.cc). Nothing here touches SIMD: schemes only choose parameters
// for the public fills.
#ifndef FANFILL_SRC_SCHEME_INTERNAL_H_
#define FANFILL_SRC_SCHEME_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

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
enum class ParamRange : int { kFinite, kPositive, kNonNegative, kUnitInterval };

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

// Arguments of a parsed scheme by canonical key (the key must exist).
double Number(const Scheme& scheme, std::string_view key);
const std::string& Word(const Scheme& scheme, std::string_view key);
bool Given(const Scheme& scheme, std::string_view key);

// Shortest decimal that reads back as the same double.
std::string FormatNumber(double v);
// "[64, 3, 7, 7]"
std::string FormatShape(std::span<const int64_t> shape);

// Everything Init needs: the Description and the structure behind it.
struct InitPlan {
  Description d;
  DType dtype = DType::kF32;
  Layout layout = Layout::kOI;
  std::vector<int64_t> shape;
  int max_threads = 0;
  uint64_t rows = 0, cols = 0;  // orthogonal: the matrix; sparse: out units, in units
  uint64_t num_zeros = 0;       // sparse: zeros per in unit
  uint64_t groups = 1;          // dirac
  double value = 0;             // constant, eye, dirac: the value written
  std::string context;          // "<scheme> on shape [..] (f32): ", for messages
};

// Checks everything Init checks (shape, fans, arguments, dtype range, out)
// and writes nothing. A zero-element shape gives a plan with d.count == 0.
InitPlan PrepareInit(const void* out, DType dtype, std::span<const int64_t> shape, Layout layout,
                     const Scheme& scheme, const InitOptions& options);
// Writes a prepared plan's tensor.
void RunInit(const InitPlan& plan, void* out, StreamKey key);

// orthogonal.cc: W (rows x cols, row-major) as documented in schemes.hpp.
// Validated by the caller; rows, cols >= 1.
void FillOrthogonal(void* out, DType dtype, uint64_t rows, uint64_t cols, double gain,
                    StreamKey key, int max_threads);

}  // namespace fanfill::internal

namespace fanfill {

struct Scheme::Rep {
  const internal::SchemeDef* def = nullptr;
  std::vector<internal::ArgValue> args;   // one per def->params, defaults applied
  std::optional<double> fan_in, fan_out;  // fan_in= / fan_out=
};

}  // namespace fanfill

#endif  // FANFILL_SRC_SCHEME_INTERNAL_H_
