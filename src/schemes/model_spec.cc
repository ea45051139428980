// Model specs: named tensors, each on the stream StreamId(name), so that a
// tensor's values depend on nothing but (seed, its name, its own spec). The
// JSON form (nlohmann/json) is the one the CLI reads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "src/core/common.h"
#include "src/core/fp_env.h"
#include "src/schemes/scheme_internal.h"

namespace fanfill {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

[[noreturn]] void Fail(const std::string& what) {
  throw std::invalid_argument("model spec: " + what);
}

std::string Hex(uint64_t v) {
  char buf[19];
  std::snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// How much of `text` a message shows: at most kPreviewChars bytes, cut
// before a UTF-8 continuation byte (so that a cut JSON string stays UTF-8).
constexpr size_t kPreviewChars = 60;
size_t PreviewLength(std::string_view text) {
  if (text.size() <= kPreviewChars) return text.size();
  size_t n = kPreviewChars;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

// A name for a message: cut as above, "..." where cut.
std::string Shortened(std::string_view text) {
  const size_t n = PreviewLength(text);
  return std::string(text.substr(0, n)) + (n < text.size() ? "..." : "");
}

std::string TensorLabel(const TensorSpec& t, size_t index) {
  return "tensor #" + std::to_string(index) + " '" + Shortened(t.name) + "'";
}

// A tensor's spec resolved against the model: its scheme (fans_from applied)
// and stream.
struct Resolved {
  Scheme scheme;
  uint64_t stream;
};

std::vector<Resolved> Resolve(const ModelSpec& model) {
  std::map<std::string, size_t, std::less<>> by_name;
  std::map<uint64_t, size_t> by_stream;
  std::vector<Resolved> resolved;
  resolved.reserve(model.tensors.size());
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorSpec& t = model.tensors[i];
    if (t.name.empty()) Fail("tensor #" + std::to_string(i) + " has an empty name");
    if (!by_name.emplace(t.name, i).second) {
      Fail("tensors #" + std::to_string(by_name[t.name]) + " and #" + std::to_string(i) +
           " are both named '" + Shortened(t.name) + "'");
    }
    const uint64_t stream = t.stream.value_or(StreamId(t.name));
    if (auto [it, fresh] = by_stream.emplace(stream, i); !fresh) {
      Fail(TensorLabel(t, i) + " and " + TensorLabel(model.tensors[it->second], it->second) +
           " have the same stream id " + Hex(stream));
    }
    try {
      resolved.push_back({Scheme::Parse(t.scheme), stream});
    } catch (const std::invalid_argument& e) {
      Fail(TensorLabel(t, i) + ": " + e.what());
    }
  }
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorSpec& t = model.tensors[i];
    if (t.fans_from.empty()) continue;
    const auto it = by_name.find(t.fans_from);
    if (it == by_name.end()) {
      Fail(TensorLabel(t, i) + ": fans_from '" + Shortened(t.fans_from) +
           "' is not a tensor of the model");
    }
    if (it->second == i) Fail(TensorLabel(t, i) + ": fans_from names the tensor itself");
    Scheme& scheme = resolved[i].scheme;
    if (!scheme.UsesFans()) {
      Fail(TensorLabel(t, i) + ": fans_from is given but " + std::string(scheme.name()) +
           " uses no fans");
    }
    // Mixing both (fan_in from the spec, fan_out from the other tensor) is
    // never what was meant: the fans come from one place.
    const internal::SchemeRep& rep = internal::SchemeAccess::Rep(scheme);
    if (rep.fan_in || rep.fan_out) {
      Fail(TensorLabel(t, i) + ": fans_from '" + Shortened(t.fans_from) + "' and the scheme's " +
           (rep.fan_in ? "fan_in=" + internal::FormatNumber(*rep.fan_in)
                       : "fan_out=" + internal::FormatNumber(*rep.fan_out)) +
           " both give fans: use one of them");
    }
    const TensorSpec& from = model.tensors[it->second];
    try {
      scheme = scheme.WithDefaultFans(ComputeFans(from.shape, from.layout));
    } catch (const std::invalid_argument& e) {
      Fail(TensorLabel(t, i) + ": fans_from '" + Shortened(from.name) + "': " + e.what());
    }
  }
  return resolved;
}

// ------------------------------------------------------------------ JSON

// A spec value as error messages show it: a scalar as JSON (a string cut to
// kPreviewChars), an array or object by its kind and size only. Never
// recursive: dump() of a deeply nested value ([[[...]]] 100000 deep) runs off
// the stack.
std::string Preview(const Json& v) {
  auto count = [](size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  switch (v.type()) {
    case Json::value_t::array:
      return v.empty() ? "an empty array" : "an array of " + count(v.size(), "element", "elements");
    case Json::value_t::object:
      return v.empty() ? "an empty object" : "an object of " + count(v.size(), "key", "keys");
    case Json::value_t::string: {
      const std::string& text = v.get_ref<const std::string&>();
      const size_t n = PreviewLength(text);
      return n == text.size() ? v.dump() : Json(text.substr(0, n)).dump() + "...";
    }
    default:
      return v.dump();  // null, a boolean or a number
  }
}

std::string QuotedKey(std::string_view key) { return Preview(Json(std::string(key))); }

// Refuses an object with the same key twice (nlohmann keeps the last, as
// Python's json.loads would; a spec with two "name"s or "tensors" is a
// mistake). A SAX pass over text Json::parse has accepted: it only tracks
// where it is, for the message.
class DuplicateKeyCheck {
 public:
  using Sax = nlohmann::json_sax<Json>;
  // The first duplicate key, e.g. `duplicate key "name" in tensors[0]`; "" if none.
  static std::string Find(std::string_view json) {
    DuplicateKeyCheck check;
    Json::sax_parse(json, &check);
    return check.error_;
  }

  bool null() { return Value(); }
  bool boolean(bool) { return Value(); }
  bool number_integer(Sax::number_integer_t) { return Value(); }
  bool number_unsigned(Sax::number_unsigned_t) { return Value(); }
  bool number_float(Sax::number_float_t, const Sax::string_t&) { return Value(); }
  bool string(Sax::string_t&) { return Value(); }
  bool binary(Sax::binary_t&) { return Value(); }
  bool start_object(std::size_t) {
    Value();
    frames_.emplace_back(/*is_object=*/true);
    return true;
  }
  bool key(Sax::string_t& key) {
    Frame& f = frames_.back();
    if (!f.keys.insert(key).second) {
      const std::string where = Path();
      error_ = "duplicate key " + QuotedKey(key) +
               (where.empty() ? " at the top level" : " in " + where);
      return false;
    }
    f.key = key;
    return true;
  }
  bool end_object() {
    frames_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    Value();
    frames_.emplace_back(/*is_object=*/false);
    return true;
  }
  bool end_array() {
    frames_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const Json::exception&) { return false; }

 private:
  struct Frame {
    explicit Frame(bool is_object) : object(is_object) {}
    bool object;
    std::set<std::string, std::less<>> keys;  // object: the keys so far
    std::string key;                          // object: the current member
    size_t elements = 0;                      // array: the elements so far
  };

  bool Value() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().elements;
    return true;
  }

  // Of the innermost object, as "tensors[0]" ("" at the top level); at most
  // a few levels shown.
  std::string Path() const {
    constexpr size_t kShownLevels = 6;
    std::string path;
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      if (i == kShownLevels) return path + "...";
      const Frame& f = frames_[i];
      if (f.object) {
        if (!path.empty()) path += '.';
        path += Shortened(f.key);
      } else {
        path += '[';
        path += std::to_string(f.elements - 1);
        path += ']';
      }
    }
    return path;
  }

  std::vector<Frame> frames_;
  std::string error_;
};

const Json& Member(const Json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) Fail(where + ": missing \"" + key + "\"");
  return *it;
}

std::string String(const Json& v, const char* key, const std::string& where) {
  if (!v.is_string()) Fail(where + ": \"" + key + "\" must be a string, got " + Preview(v));
  return v.get<std::string>();
}

void CheckKeys(const Json& object, std::initializer_list<std::string_view> allowed,
               const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      Fail(where + ": unknown key " + QuotedKey(key) + " (expected " + list + ")");
    }
  }
}

template <class F>
auto Catching(const std::string& where, F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    Fail(where + ": " + e.what());
  }
}

TensorSpec ParseTensor(const Json& j, size_t index, Layout layout, DType dtype) {
  std::string where = "tensors[" + std::to_string(index) + "]";
  if (!j.is_object()) Fail(where + " must be an object, got " + Preview(j));
  TensorSpec t;
  t.name = String(Member(j, "name", where), "name", where);
  where += " '" + Shortened(t.name) + "'";
  CheckKeys(j, {"name", "shape", "layout", "scheme", "dtype", "fans_from", "stream", "scale"},
            where);
  const Json& shape = Member(j, "shape", where);
  if (!shape.is_array()) Fail(where + ": \"shape\" must be an array, got " + Preview(shape));
  for (size_t k = 0; k < shape.size(); ++k) {
    const Json& d = shape[k];
    if (!d.is_number_integer() ||
        (d.is_number_unsigned() ? d.get<uint64_t>() > INT64_MAX : d.get<int64_t>() < 0)) {
      Fail(where + ": \"shape\" must hold integers >= 0, got " + Preview(d) + " at index " +
           std::to_string(k));
    }
    t.shape.push_back(d.get<int64_t>());
  }
  t.scheme = String(Member(j, "scheme", where), "scheme", where);
  t.layout = layout;
  t.dtype = dtype;
  if (j.contains("layout")) {
    const std::string s = String(j["layout"], "layout", where);
    t.layout = Catching(where, [&] { return ParseLayout(s); });
  }
  if (j.contains("dtype")) {
    const std::string s = String(j["dtype"], "dtype", where);
    t.dtype = Catching(where, [&] { return ParseDType(s); });
  }
  if (j.contains("fans_from")) t.fans_from = String(j["fans_from"], "fans_from", where);
  if (j.contains("stream")) {
    const Json& s = j["stream"];
    // -0 is an integer token that nlohmann keeps signed; Python's json reads it as 0.
    const bool negative_zero = s.is_number_integer() && !s.is_number_unsigned() &&
                               s.get<int64_t>() == 0;
    if (!s.is_number_unsigned() && !negative_zero) {
      Fail(where + ": \"stream\" must be an integer in [0, 2^64), got " + Preview(s));
    }
    t.stream = negative_zero ? 0 : s.get<uint64_t>();
  }
  if (j.contains("scale")) {
    const Json& s = j["scale"];
    if (!s.is_number()) Fail(where + ": \"scale\" must be a number, got " + Preview(s));
    // Written beside the tensor as a 0-d F32 tensor: a normal float32.
    if (const std::string error = internal::ScaleError(s.get<double>()); !error.empty()) {
      Fail(where + ": \"scale\": " + error);
    }
    t.scale = s.get<double>();
    t.scale_given = true;
  }
  return t;
}

Json NumberOrNull(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

const char* KindName(Description::Kind kind) {
  switch (kind) {
    case Description::Kind::kUniform:
      return "uniform";
    case Description::Kind::kNormal:
      return "normal";
    case Description::Kind::kTruncatedNormal:
      return "truncated_normal";
    case Description::Kind::kConstant:
      return "constant";
    case Description::Kind::kOrthogonal:
      return "orthogonal";
    case Description::Kind::kSparse:
      return "sparse";
    case Description::Kind::kEye:
      return "eye";
    case Description::Kind::kDirac:
      return "dirac";
  }
  return "unknown";
}

}  // namespace

uint64_t StreamId(std::string_view name) {
  uint64_t h = kFnvOffsetBasis;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

ModelSpec ParseModelSpec(std::string_view json) {
  // Json::parse's numbers (strtod) follow the rounding mode.
  const internal::DefaultFpEnvironment fp_env;  // caller's rounding mode/FTZ: src/core/fp_env.h
  Json j;
  try {
    j = Json::parse(json);
  } catch (const Json::exception& e) {
    // parse_error, and out_of_range for a number beyond double's range
    // ("1e400": found by the fuzzer, fuzz/regressions/model_spec).
    Fail(std::string("invalid JSON: ") + e.what());
  }
  if (const std::string duplicate = DuplicateKeyCheck::Find(json); !duplicate.empty()) {
    Fail(duplicate);
  }
  if (!j.is_object()) {
    Fail("expected a JSON object with a \"tensors\" array, got " + Preview(j));
  }
  CheckKeys(j, {"tensors", "layout", "dtype"}, "top level");
  Layout layout = Layout::kOI;
  DType dtype = DType::kF32;
  if (j.contains("layout")) {
    const std::string s = String(j["layout"], "layout", "top level");
    layout = Catching("top level", [&] { return ParseLayout(s); });
  }
  if (j.contains("dtype")) {
    const std::string s = String(j["dtype"], "dtype", "top level");
    dtype = Catching("top level", [&] { return ParseDType(s); });
  }
  const Json& tensors = Member(j, "tensors", "top level");
  if (!tensors.is_array()) Fail("\"tensors\" must be an array, got " + Preview(tensors));
  ModelSpec model;
  for (size_t i = 0; i < tensors.size(); ++i) {
    model.tensors.push_back(ParseTensor(tensors[i], i, layout, dtype));
  }
  return model;
}

namespace {

// JSON text is UTF-8: a tensor name (or fans_from) that is not, which a
// TensorSpec built in code or a command-line --name can hold, is refused by
// name instead of nlohmann's type_error from dump().
bool IsJsonText(const std::string& text) {
  try {
    (void)Json(text).dump();  // nlohmann's own UTF-8 check, strict as RFC 3629
  } catch (const Json::type_error&) {
    return false;
  }
  return true;
}

// Such a text for a message: each byte outside printable ASCII (and the
// backslash) as \xHH, cut as Shortened.
std::string Escaped(std::string_view text) {
  std::string out;
  for (const char ch : text.substr(0, PreviewLength(text))) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(ch);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    }
  }
  return PreviewLength(text) < text.size() ? out + "..." : out;
}

void CheckJsonNames(const ModelSpec& model) {
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorSpec& t = model.tensors[i];
    const std::string label = "tensor #" + std::to_string(i) + " '" + Escaped(t.name) + "': ";
    if (!IsJsonText(t.name)) Fail(label + "the name is not valid UTF-8, which JSON needs");
    if (!IsJsonText(t.fans_from)) {
      Fail(label + "fans_from '" + Escaped(t.fans_from) + "' is not valid UTF-8, which JSON needs");
    }
  }
}

}  // namespace

std::string ModelSpecToJson(const ModelSpec& model) {
  CheckJsonNames(model);
  Json tensors = Json::array();
  for (const TensorSpec& t : model.tensors) {
    Json j = {{"name", t.name},
              {"shape", t.shape},
              {"layout", LayoutName(t.layout)},
              {"scheme", t.scheme},
              {"dtype", DTypeName(t.dtype)}};
    if (!t.fans_from.empty()) j["fans_from"] = t.fans_from;
    if (t.stream) j["stream"] = *t.stream;
    if (t.has_scale()) j["scale"] = t.scale;
    tensors.push_back(std::move(j));
  }
  return Json{{"tensors", std::move(tensors)}}.dump(2);
}

namespace {

// A tensor's description of the values it stores, value / scale: the moments
// and bounds divided by the scale (in double, as the fills divide their
// parameters), the core distribution carrying it. Scale 1 changes nothing.
Description OfStoredValues(Description d, double scale) {
  if (scale == 1) return d;
  d.mean /= scale;
  d.std /= scale;
  d.low /= scale;
  d.high /= scale;
  switch (d.kind) {
    case Description::Kind::kUniform:
    case Description::Kind::kNormal:
    case Description::Kind::kTruncatedNormal:
    case Description::Kind::kSparse:
      d.distribution = d.distribution.WithScale(scale);
      break;
    case Description::Kind::kOrthogonal:  // its Gaussian is factored, not stored
    case Description::Kind::kConstant:
    case Description::Kind::kEye:
    case Description::Kind::kDirac:
      break;
  }
  return d;
}

std::vector<PreparedInit> PlansOf(const ModelSpec& model, const std::vector<Resolved>& resolved,
                                  uint64_t seed) {
  std::vector<PreparedInit> plans;
  plans.reserve(model.tensors.size());
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorSpec& t = model.tensors[i];
    try {
      plans.emplace_back(t.shape, t.layout, resolved[i].scheme, t.dtype,
                         StreamKey{.seed = seed, .stream = resolved[i].stream}, t.scale);
    } catch (const std::invalid_argument& e) {
      Fail(TensorLabel(t, i) + ": " + e.what());
    }
  }
  return plans;
}

}  // namespace

std::vector<PreparedInit> PrepareModel(const ModelSpec& model, uint64_t seed) {
  const internal::DefaultFpEnvironment fp_env;  // caller's rounding mode/FTZ: src/core/fp_env.h
  return PlansOf(model, Resolve(model), seed);
}

// Describes without the dtype checks of a plan (a tensor whose values its
// dtype cannot hold is still described; InitModel and PrepareModel refuse it).
std::vector<TensorDescription> DescribeModel(const ModelSpec& model) {
  const internal::DefaultFpEnvironment fp_env;  // caller's rounding mode/FTZ: src/core/fp_env.h
  const std::vector<Resolved> resolved = Resolve(model);
  std::vector<TensorDescription> out;
  out.reserve(model.tensors.size());
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorSpec& t = model.tensors[i];
    TensorDescription td;
    td.name = t.name;
    td.stream = resolved[i].stream;
    td.dtype = t.dtype;
    td.scale = t.scale;
    try {
      const size_t size = DTypeSize(t.dtype);
      const Description d = Describe(t.shape, t.layout, resolved[i].scheme);
      // The same check as PreparedInit's (and the spec parser's).
      if (const std::string error = internal::ScaleError(t.scale); !error.empty()) {
        throw std::invalid_argument(error);
      }
      td.description = OfStoredValues(d, t.scale);
      if (d.count > std::numeric_limits<uint64_t>::max() / size) {
        throw std::invalid_argument("the tensor's size in bytes overflows 2^64");
      }
      td.bytes = d.count * size;
    } catch (const std::invalid_argument& e) {
      Fail(TensorLabel(t, i) + ": " + e.what());
    }
    out.push_back(std::move(td));
  }
  return out;
}

std::vector<TensorDescription> DescribeModel(const ModelSpec& model,
                                             std::span<const PreparedInit> plans) {
  const internal::DefaultFpEnvironment fp_env;  // caller's rounding mode/FTZ: src/core/fp_env.h
  if (plans.size() != model.tensors.size()) {
    Fail("DescribeModel got " + std::to_string(plans.size()) + " plans for " +
         std::to_string(model.tensors.size()) + " tensors");
  }
  std::vector<TensorDescription> out;
  out.reserve(plans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    const PreparedInit& plan = plans[i];
    out.push_back({.name = model.tensors[i].name,
                   .stream = plan.key().stream,
                   .dtype = plan.dtype(),
                   .bytes = plan.bytes(),
                   .description = OfStoredValues(plan.description(), plan.scale()),
                   .scale = plan.scale()});
  }
  return out;
}

std::string DescribeModelJson(const ModelSpec& model) {
  CheckJsonNames(model);
  Json out = Json::array();
  for (const TensorDescription& td : DescribeModel(model)) {
    const Description& d = td.description;
    out.push_back({{"name", td.name},
                   {"stream", td.stream},
                   {"dtype", DTypeName(td.dtype)},
                   {"count", d.count},
                   {"bytes", td.bytes},
                   {"scheme", d.scheme},
                   {"kind", KindName(d.kind)},
                   {"fan_in", NumberOrNull(d.fan_in)},
                   {"fan_out", NumberOrNull(d.fan_out)},
                   {"fan", NumberOrNull(d.fan)},
                   {"gain", NumberOrNull(d.gain)},
                   {"mean", NumberOrNull(d.mean)},
                   {"std", NumberOrNull(d.std)},
                   {"low", NumberOrNull(d.low)},
                   {"high", NumberOrNull(d.high)},
                   {"sparsity", d.sparsity},
                   {"scale", td.scale}});
  }
  return out.dump(2);
}

void InitModel(const ModelSpec& model, std::span<void* const> outputs, uint64_t seed,
               const InitOptions& options) {
  if (outputs.size() != model.tensors.size()) {
    Fail("InitModel got " + std::to_string(outputs.size()) + " outputs for " +
         std::to_string(model.tensors.size()) + " tensors");
  }
  internal::CheckMaxThreads(options.max_threads);
  // Everything is checked before the first tensor is written. A null output
  // is reported after its tensor's shape and scheme checks, before its dtype's.
  const std::vector<Resolved> resolved = Resolve(model);
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorSpec& t = model.tensors[i];
    if (outputs[i] != nullptr) continue;
    try {
      const Description d = Describe(t.shape, t.layout, resolved[i].scheme);
      if (d.count == 0) continue;  // nothing to write: null is fine
      DTypeSize(t.dtype);
      throw std::invalid_argument(d.scheme + " on shape " + internal::FormatShape(t.shape) + " (" +
                                  DTypeName(t.dtype) + "): out is null");
    } catch (const std::invalid_argument& e) {
      Fail(TensorLabel(t, i) + ": " + e.what());
    }
  }
  const std::vector<PreparedInit> plans = PlansOf(model, resolved, seed);
  // Outputs that overlap would have one tensor overwrite another's values.
  std::vector<std::pair<uintptr_t, size_t>> spans;  // (address, tensor index)
  for (size_t i = 0; i < plans.size(); ++i) {
    if (plans[i].bytes() > 0) spans.emplace_back(reinterpret_cast<uintptr_t>(outputs[i]), i);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t k = 1; k < spans.size(); ++k) {
    const size_t i = spans[k - 1].second, j = spans[k].second;
    if (spans[k].first - spans[k - 1].first < plans[i].bytes()) {
      const size_t lo = std::min(i, j), hi = std::max(i, j);
      Fail("InitModel: the outputs of " + TensorLabel(model.tensors[lo], lo) + " and " +
           TensorLabel(model.tensors[hi], hi) + " overlap in memory");
    }
  }
  for (size_t i = 0; i < plans.size(); ++i) plans[i].Run(outputs[i], options);
}

}  // namespace fanfill
