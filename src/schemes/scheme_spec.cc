// The scheme table and the one parser of scheme specs, shared by the C++ API,
// the C API, model specs and the CLI:
//   kaiming_normal(mode=fan_out, nonlinearity=leaky_relu, a=0.2)
// Names, keys and words are matched ignoring case and underscores, so the
// PyTorch (kaiming_normal_), Keras (HeUniform) and JAX (he_uniform) spellings
// all resolve to the table below.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/schemes.hpp"
#include "src/core/fp_env.h"
#include "src/schemes/scheme_internal.h"

namespace fanfill {
namespace internal {
namespace {

// torch.nn.init.calculate_gain's names.
const std::vector<const char*> kNonlinearities = {
    "linear",           "conv1d",  "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh",   "relu",   "leaky_relu",       "selu"};

// Fans written in a spec must be exact in double.
constexpr double kMaxExplicitFan = 9007199254740992.0;  // 2^53

ParamDef NumberParam(const char* key, std::vector<const char*> aliases, double def,
                     ParamRange range) {
  return {key, std::move(aliases), ParamType::kNumber, false, def, nullptr, {}, range};
}
ParamDef RequiredNumberParam(const char* key, std::vector<const char*> aliases, ParamRange range) {
  return {key, std::move(aliases), ParamType::kNumber, true, 0.0, nullptr, {}, range};
}
ParamDef IntegerParam(const char* key, double def) {
  return {key, {}, ParamType::kInteger, false, def, nullptr, {}, ParamRange::kPositive};
}
ParamDef WordParam(const char* key, const char* def, std::vector<const char*> words) {
  return {key, {}, ParamType::kWord, false, 0.0, def, std::move(words), ParamRange::kFinite};
}

std::vector<SchemeDef> MakeTable() {
  using R = ParamRange;
  const ParamDef gain = NumberParam("gain", {}, 1.0, R::kPositive);
  const std::vector<ParamDef> kaiming = {NumberParam("a", {}, 0.0, R::kFinite),
                                         WordParam("mode", "fan_in", {"fan_in", "fan_out"}),
                                         WordParam("nonlinearity", "leaky_relu", kNonlinearities)};
  return {
      {SchemeId::kNormal,
       "normal",
       {},
       {NumberParam("mean", {}, 0.0, R::kFinite),
        NumberParam("std", {"stddev"}, 1.0, R::kNonNegative)},
       false},
      {SchemeId::kRandomNormal,
       "random_normal",
       {},
       {NumberParam("mean", {}, 0.0, R::kFinite),
        NumberParam("stddev", {"std"}, 0.05, R::kNonNegative)},
       false},
      {SchemeId::kUniform,
       "uniform",
       {},
       {NumberParam("a", {"low", "minval"}, 0.0, R::kFinite),
        NumberParam("b", {"high", "maxval"}, 1.0, R::kFinite)},
       false},
      {SchemeId::kRandomUniform,
       "random_uniform",
       {},
       {NumberParam("minval", {"low", "a"}, -0.05, R::kFinite),
        NumberParam("maxval", {"high", "b"}, 0.05, R::kFinite)},
       false},
      {SchemeId::kTruncNormal,
       "trunc_normal",
       {},
       {NumberParam("mean", {}, 0.0, R::kFinite), NumberParam("std", {"stddev"}, 1.0, R::kPositive),
        NumberParam("a", {}, -2.0, R::kBound), NumberParam("b", {}, 2.0, R::kBound)},
       false},
      {SchemeId::kTruncatedNormal,
       "truncated_normal",
       {},
       {NumberParam("mean", {}, 0.0, R::kFinite),
        NumberParam("stddev", {"std"}, 0.05, R::kPositive),
        NumberParam("lower", {}, -2.0, R::kFinite), NumberParam("upper", {}, 2.0, R::kFinite)},
       false},
      {SchemeId::kXavierNormal, "xavier_normal", {}, {gain}, true},
      {SchemeId::kXavierUniform, "xavier_uniform", {"glorot_uniform"}, {gain}, true},
      {SchemeId::kGlorotNormal, "glorot_normal", {}, {}, true},
      {SchemeId::kKaimingNormal, "kaiming_normal", {}, kaiming, true},
      {SchemeId::kKaimingUniform, "kaiming_uniform", {"he_uniform"}, kaiming, true},
      {SchemeId::kHeNormal, "he_normal", {}, {}, true},
      {SchemeId::kLecunNormal, "lecun_normal", {}, {}, true},
      {SchemeId::kLecunUniform, "lecun_uniform", {}, {}, true},
      {SchemeId::kVarianceScaling,
       "variance_scaling",
       {},
       {NumberParam("scale", {}, 1.0, R::kPositive),
        WordParam("mode", "fan_in", {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}),
        WordParam("distribution", "truncated_normal",
                  {"truncated_normal", "untruncated_normal", "uniform"})},
       true},
      {SchemeId::kTorchDefault, "torch_default", {"pytorch_default"}, {}, true},
      {SchemeId::kTorchDefaultBias, "torch_default_bias", {"pytorch_default_bias"}, {}, true},
      {SchemeId::kOrthogonal, "orthogonal", {}, {gain}, false},
      {SchemeId::kSparse,
       "sparse",
       {},
       {RequiredNumberParam("sparsity", {}, R::kUnitInterval),
        NumberParam("std", {"stddev"}, 0.01, R::kNonNegative)},
       false},
      {SchemeId::kEye, "eye", {"identity"}, {gain}, false},
      {SchemeId::kDirac, "dirac", {}, {IntegerParam("groups", 1.0)}, false},
      {SchemeId::kConstant,
       "constant",
       {},
       {RequiredNumberParam("value", {"val"}, R::kFinite)},
       false},
      {SchemeId::kZeros, "zeros", {}, {}, false},
      {SchemeId::kOnes, "ones", {}, {}, false},
  };
}

// Lower case, underscores dropped: "Kaiming_Normal_" -> "kaimingnormal".
std::string Fold(std::string_view s) {
  std::string f;
  for (char c : s) {
    if (c != '_') f += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return f;
}

// "inf" in any case: the one non-numeric spelling of a number (kBound params).
bool IsInf(std::string_view s) {
  return s.size() == 3 && std::tolower(static_cast<unsigned char>(s[0])) == 'i' &&
         std::tolower(static_cast<unsigned char>(s[1])) == 'n' &&
         std::tolower(static_cast<unsigned char>(s[2])) == 'f';
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string JoinWords(const std::vector<const char*>& words) {
  std::string s;
  for (size_t i = 0; i < words.size(); ++i) {
    s += (i == 0 ? "" : (i + 1 == words.size() ? " or " : ", "));
    s += words[i];
  }
  return s;
}

// A value as written: a number literal or a word (bare or quoted).
struct RawValue {
  bool is_number = false;
  double number = 0;
  std::string text;
  size_t pos = 0;
};

class SpecParser {
 public:
  explicit SpecParser(std::string_view spec) : s_(spec) {}

  Scheme Parse() {
    SkipSpace();
    const size_t name_pos = i_;
    const std::string_view name = Identifier();
    if (name.empty()) FailAt(name_pos, "expected a scheme name");
    auto rep = std::make_shared<SchemeRep>();
    rep->def = Lookup(name);
    rep->args.resize(rep->def->params.size());
    SkipSpace();
    if (Eat('(')) {
      SkipSpace();
      if (!Eat(')')) {
        bool keywords_seen = false;
        size_t positional = 0;
        for (;;) {
          Argument(*rep, keywords_seen, positional);
          SkipSpace();
          if (Eat(',')) continue;
          if (Eat(')')) break;
          FailAt(i_, "expected ',' or ')'");
        }
      }
      SkipSpace();
    }
    if (i_ != s_.size()) FailAt(i_, "unexpected '" + std::string(s_.substr(i_)) + "'");
    Finish(*rep);
    Scheme scheme = SchemeAccess::Make(rep);
    rep->canonical = Canonical(scheme);
    return scheme;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    // Escaped whole: the spec and the parts of it `what` quotes may hold control bytes.
    throw std::invalid_argument(PrintableText("scheme \"" + std::string(s_) + "\": " + what));
  }
  [[noreturn]] void FailAt(size_t pos, const std::string& what) const {
    Fail(what + " at position " + std::to_string(pos + 1));
  }
  void SkipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  std::string_view Identifier() {
    const size_t start = i_;
    if (i_ < s_.size() && (std::isalpha(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) {
      while (i_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) {
        ++i_;
      }
    }
    return s_.substr(start, i_ - start);
  }

  const SchemeDef* Lookup(std::string_view name) {
    const std::string folded = Fold(name);
    const SchemeDef* best = nullptr;
    size_t best_distance = std::numeric_limits<size_t>::max();
    for (const SchemeDef& def : SchemeTable()) {
      std::vector<const char*> names = def.aliases;
      names.insert(names.begin(), def.name);
      for (const char* n : names) {
        const size_t d = EditDistance(folded, Fold(n));
        if (d == 0) return &def;
        if (d < best_distance) {
          best_distance = d;
          best = &def;
        }
      }
    }
    // Suggest the schemes the name is a prefix of ("xavier"), else the closest one.
    std::vector<const char*> prefixed;
    for (const SchemeDef& def : SchemeTable()) {
      if (!folded.empty() && Fold(def.name).rfind(folded, 0) == 0) prefixed.push_back(def.name);
    }
    std::string hint;
    if (!prefixed.empty()) {
      hint = " (did you mean " + JoinWords(prefixed) + "?)";
    } else if (best != nullptr && best_distance <= 3) {
      hint = " (did you mean " + std::string(best->name) + "?)";
    }
    Fail("unknown scheme '" + std::string(name) + "'" + hint +
         "; the schemes are listed in docs/schemes.md");
  }

  RawValue Value() {
    RawValue v;
    v.pos = i_;
    if (i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"')) {
      const char quote = s_[i_++];
      const size_t start = i_;
      while (i_ < s_.size() && s_[i_] != quote) ++i_;
      if (i_ == s_.size()) FailAt(v.pos, "unterminated string");
      v.text = std::string(s_.substr(start, i_ - start));
      ++i_;
      return v;
    }
    const std::string_view word = Identifier();
    if (!word.empty()) {
      v.text = std::string(word);
      if (IsInf(word)) {  // a number where a bound may be infinite (kBound)
        v.is_number = true;
        v.number = std::numeric_limits<double>::infinity();
      }
      return v;
    }
    // A number: [+-] digits [. digits] [e [+-] digits], or [+-] . digits ...
    const size_t start = i_;
    if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
    while (i_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' ||
            ((s_[i_] == '+' || s_[i_] == '-') && (s_[i_ - 1] == 'e' || s_[i_ - 1] == 'E')))) {
      ++i_;
    }
    v.text = std::string(s_.substr(start, i_ - start));
    if (v.text.empty()) FailAt(start, "expected a value");
    std::string_view digits = v.text;
    if (digits[0] == '+') digits.remove_prefix(1);
    if (IsInf(digits) || (digits[0] == '-' && IsInf(digits.substr(1)))) {  // "+inf", "-inf"
      v.is_number = true;
      v.number = std::copysign(std::numeric_limits<double>::infinity(), digits[0] == '-' ? -1 : 1);
      return v;
    }
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v.number);
    if (ec == std::errc::result_out_of_range) FailAt(start, "'" + v.text + "' is out of range");
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
        std::isalpha(static_cast<unsigned char>(digits[digits[0] == '-' ? 1 : 0]))) {
      FailAt(start, "'" + v.text + "' is not a number");
    }
    v.is_number = true;
    return v;
  }

  void Argument(SchemeRep& rep, bool& keywords_seen, size_t& positional) {
    SkipSpace();
    const size_t start = i_;
    std::string_view key = Identifier();
    SkipSpace();
    if (!key.empty() && Eat('=')) {
      keywords_seen = true;
      SkipSpace();
      Keyword(rep, key, start, Value());
      return;
    }
    i_ = start;
    const RawValue v = Value();
    if (keywords_seen)
      FailAt(start, "positional argument '" + v.text + "' after keyword arguments");
    const std::vector<ParamDef>& params = rep.def->params;
    if (positional >= params.size()) {
      FailAt(start, std::string(rep.def->name) + " takes " + std::to_string(params.size()) +
                        " positional argument" + (params.size() == 1 ? "" : "s") + ", got '" +
                        v.text + "' as argument " + std::to_string(positional + 1));
    }
    Assign(rep, positional++, v);
  }

  void Keyword(SchemeRep& rep, std::string_view key, size_t key_pos, const RawValue& v) {
    const std::string folded = Fold(key);
    const std::vector<ParamDef>& params = rep.def->params;
    for (size_t p = 0; p < params.size(); ++p) {
      std::vector<const char*> keys = params[p].key_aliases;
      keys.insert(keys.begin(), params[p].key);
      for (const char* k : keys) {
        if (Fold(k) == folded) {
          if (rep.args[p].given) {
            FailAt(key_pos, "argument " + std::string(params[p].key) + " given twice");
          }
          Assign(rep, p, v);
          return;
        }
      }
    }
    if (rep.def->uses_fans && (folded == "fanin" || folded == "fanout")) {
      std::optional<double>& fan = folded == "fanin" ? rep.fan_in : rep.fan_out;
      const char* canonical = folded == "fanin" ? "fan_in" : "fan_out";
      if (fan) FailAt(key_pos, std::string("argument ") + canonical + " given twice");
      // 0 is allowed: it is the fan of a zero-size weight, which WithDefaultFans
      // (fans_from) records and ToString writes, so it must parse back; Describe
      // refuses it where the scheme divides by the fan.
      if (!v.is_number || !(v.number >= 0) || v.number > kMaxExplicitFan ||
          v.number != std::floor(v.number)) {
        FailAt(v.pos, std::string(canonical) + "=" + v.text +
                          ": expected 0 or a positive integer (at most 2^53)");
      }
      fan = v.number == 0 ? 0.0 : v.number;  // -0 is written 0
      return;
    }
    std::string accepted;
    for (const ParamDef& p : params)
      accepted += (accepted.empty() ? "" : ", ") + std::string(p.key);
    if (rep.def->uses_fans)
      accepted += (accepted.empty() ? "" : ", ") + std::string("fan_in, fan_out");
    FailAt(key_pos,
           std::string(rep.def->name) + " has no argument '" + std::string(key) + "' (" +
               (accepted.empty() ? "it takes no arguments" : "its arguments: " + accepted) + ")");
  }

  void Assign(SchemeRep& rep, size_t p, const RawValue& v) {
    const ParamDef& param = rep.def->params[p];
    ArgValue& arg = rep.args[p];
    const std::string what = std::string(param.key) + "=" + v.text;
    arg.given = true;
    if (param.type == ParamType::kWord) {
      if (v.is_number) FailAt(v.pos, what + ": expected " + JoinWords(param.words));
      for (const char* w : param.words) {
        if (Fold(w) == Fold(v.text)) {
          arg.word = w;
          return;
        }
      }
      if (rep.def->id == SchemeId::kVarianceScaling && Fold(v.text) == "normal") {
        FailAt(v.pos, what +
                          " is ambiguous (truncated in TF1 Keras, untruncated in JAX): write "
                          "truncated_normal or untruncated_normal");
      }
      FailAt(v.pos, what + ": expected " + JoinWords(param.words));
    }
    if (!v.is_number) FailAt(v.pos, what + ": expected a number");
    const double x = v.number;
    if (!std::isfinite(x) && !(param.range == ParamRange::kBound && std::isinf(x))) {
      FailAt(v.pos, what + ": must be finite" +
                        (std::isinf(x) ? std::string(" (only trunc_normal's bounds a, b may be inf)")
                                       : std::string()));
    }
    if (param.type == ParamType::kInteger &&
        (x != std::floor(x) || x < 1 || x > std::numeric_limits<int32_t>::max())) {
      FailAt(v.pos, what + ": expected a positive integer");
    }
    switch (param.range) {
      case ParamRange::kFinite:
      case ParamRange::kBound:
        break;
      case ParamRange::kPositive:
        if (!(x > 0)) FailAt(v.pos, what + ": must be > 0");
        break;
      case ParamRange::kNonNegative:
        if (!(x >= 0)) FailAt(v.pos, what + ": must be >= 0");
        break;
      case ParamRange::kUnitInterval:
        if (!(x >= 0 && x <= 1)) FailAt(v.pos, what + ": must be in [0, 1]");
        break;
    }
    arg.number = x;
  }

  // Defaults, required arguments, and the checks that involve two arguments.
  void Finish(SchemeRep& rep) {
    const SchemeDef& def = *rep.def;
    for (size_t p = 0; p < def.params.size(); ++p) {
      const ParamDef& param = def.params[p];
      if (rep.args[p].given) continue;
      if (param.required) Fail(std::string(def.name) + ": missing argument " + param.key);
      if (param.type == ParamType::kWord) {
        rep.args[p].word = param.word;
      } else {
        rep.args[p].number = param.number;
      }
    }
    auto ordered = [&](size_t lo, size_t hi) {
      if (!(rep.args[lo].number < rep.args[hi].number)) {
        Fail(std::string(def.name) + ": " + def.params[lo].key + "=" +
             FormatNumber(rep.args[lo].number) + " must be < " + def.params[hi].key + "=" +
             FormatNumber(rep.args[hi].number));
      }
    };
    switch (def.id) {
      case SchemeId::kUniform:
      case SchemeId::kRandomUniform:
        ordered(0, 1);
        break;
      case SchemeId::kTruncNormal:
      case SchemeId::kTruncatedNormal:
        ordered(2, 3);
        break;
      case SchemeId::kKaimingNormal:
      case SchemeId::kKaimingUniform:
        // PyTorch ignores `a` unless nonlinearity is leaky_relu; a slope that
        // changes nothing is a mistake in a spec, so it is refused.
        if (rep.args[0].given && rep.args[2].word != "leaky_relu") {
          Fail(std::string(def.name) + ": a=" + FormatNumber(rep.args[0].number) +
               " only applies to nonlinearity=leaky_relu, not " + rep.args[2].word);
        }
        break;
      default:
        break;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

size_t ParamIndex(const Scheme& scheme, std::string_view key) {
  const std::vector<ParamDef>& params = SchemeAccess::Rep(scheme).def->params;
  for (size_t p = 0; p < params.size(); ++p) {
    if (key == params[p].key) return p;
  }
  throw std::logic_error("fanfill: scheme " + std::string(scheme.name()) + " has no parameter " +
                         std::string(key));
}

}  // namespace

const std::vector<SchemeDef>& SchemeTable() {
  static const std::vector<SchemeDef> table = MakeTable();
  return table;
}

double Number(const Scheme& scheme, std::string_view key) {
  return SchemeAccess::Rep(scheme).args[ParamIndex(scheme, key)].number;
}
const std::string& Word(const Scheme& scheme, std::string_view key) {
  return SchemeAccess::Rep(scheme).args[ParamIndex(scheme, key)].word;
}
bool Given(const Scheme& scheme, std::string_view key) {
  return SchemeAccess::Rep(scheme).args[ParamIndex(scheme, key)].given;
}

}  // namespace internal

Scheme::Scheme(std::shared_ptr<const internal::SchemeRep> rep) : rep_(std::move(rep)) {}

Scheme Scheme::Parse(std::string_view spec) {
  // The numbers' decimal conversion (from_chars) follows the rounding mode.
  const internal::DefaultFpEnvironment fp_env;  // caller's rounding mode/FTZ: src/core/fp_env.h
  return internal::SpecParser(spec).Parse();
}

std::string_view Scheme::name() const { return rep_->def->name; }

bool Scheme::UsesFans() const { return rep_->def->uses_fans; }

std::string Scheme::ToString() const { return rep_->canonical; }

namespace internal {

std::string Canonical(const Scheme& scheme) {
  const SchemeRep& rep = SchemeAccess::Rep(scheme);
  const internal::SchemeDef& def = *rep.def;
  std::string args;
  const bool kaiming =
      def.id == internal::SchemeId::kKaimingNormal || def.id == internal::SchemeId::kKaimingUniform;
  for (size_t p = 0; p < def.params.size(); ++p) {
    const internal::ArgValue& a = rep.args[p];
    // The slope only means something for leaky_relu (and is refused otherwise).
    if (kaiming && def.params[p].key == std::string_view("a") &&
        internal::Word(scheme, "nonlinearity") != "leaky_relu") {
      continue;
    }
    args += (args.empty() ? "" : ", ") + std::string(def.params[p].key) + "=" +
            (def.params[p].type == internal::ParamType::kWord ? a.word
                                                              : internal::FormatNumber(a.number));
  }
  if (rep.fan_in)
    args += (args.empty() ? "" : ", ") + ("fan_in=" + internal::FormatNumber(*rep.fan_in));
  if (rep.fan_out)
    args += (args.empty() ? "" : ", ") + ("fan_out=" + internal::FormatNumber(*rep.fan_out));
  return args.empty() ? std::string(def.name) : std::string(def.name) + "(" + args + ")";
}

}  // namespace internal

Scheme Scheme::WithDefaultFans(const Fans& fans) const {
  if (!UsesFans()) {
    throw std::invalid_argument("scheme " + ToString() + " uses no fans");
  }
  // What Parse accepts for fan_in= / fan_out=, so that ToString reads back.
  for (double f : {fans.fan_in, fans.fan_out}) {
    if (!(f >= 0) || f > internal::kMaxExplicitFan || f != std::floor(f)) {
      throw std::invalid_argument("WithDefaultFans: fans must be 0 or positive integers (at most "
                                  "2^53), got (" + internal::FormatNumber(fans.fan_in) + ", " +
                                  internal::FormatNumber(fans.fan_out) + ")");
    }
  }
  auto rep = std::make_shared<internal::SchemeRep>(*rep_);
  if (!rep->fan_in) rep->fan_in = fans.fan_in + 0.0;  // -0 is written 0
  if (!rep->fan_out) rep->fan_out = fans.fan_out + 0.0;
  Scheme scheme(rep);
  rep->canonical = internal::Canonical(scheme);
  return scheme;
}

}  // namespace fanfill
