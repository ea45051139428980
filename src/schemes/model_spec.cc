// Model specs: named tensors, each on the stream StreamId(name), so that a
// tensor's values depend on nothing but (seed, its name, its own spec). The
// JSON form (nlohmann/json) is the one the CLI reads.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "src/core/common.h"
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

std::string TensorLabel(const TensorSpec& t, size_t index) {
  return "tensor #" + std::to_string(index) + " '" + t.name + "'";
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
           " are both named '" + t.name + "'");
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
      Fail(TensorLabel(t, i) + ": fans_from '" + t.fans_from + "' is not a tensor of the model");
    }
    if (it->second == i) Fail(TensorLabel(t, i) + ": fans_from names the tensor itself");
    Scheme& scheme = resolved[i].scheme;
    if (!scheme.UsesFans()) {
      Fail(TensorLabel(t, i) + ": fans_from is given but " + std::string(scheme.name()) +
           " uses no fans");
    }
    const TensorSpec& from = model.tensors[it->second];
    try {
      scheme = scheme.WithDefaultFans(ComputeFans(from.shape, from.layout));
    } catch (const std::invalid_argument& e) {
      Fail(TensorLabel(t, i) + ": fans_from '" + from.name + "': " + e.what());
    }
  }
  return resolved;
}

// ------------------------------------------------------------------ JSON

const Json& Member(const Json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) Fail(where + ": missing \"" + key + "\"");
  return *it;
}

std::string String(const Json& v, const char* key, const std::string& where) {
  if (!v.is_string()) Fail(where + ": \"" + key + "\" must be a string, got " + v.dump());
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
      Fail(where + ": unknown key \"" + key + "\" (expected " + list + ")");
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
  if (!j.is_object()) Fail(where + " must be an object, got " + j.dump());
  TensorSpec t;
  t.name = String(Member(j, "name", where), "name", where);
  where += " '" + t.name + "'";
  CheckKeys(j, {"name", "shape", "layout", "scheme", "dtype", "fans_from", "stream", "scale"},
            where);
  const Json& shape = Member(j, "shape", where);
  if (!shape.is_array()) Fail(where + ": \"shape\" must be an array, got " + shape.dump());
  for (const Json& d : shape) {
    if (!d.is_number_integer() ||
        (d.is_number_unsigned() ? d.get<uint64_t>() > INT64_MAX : d.get<int64_t>() < 0)) {
      Fail(where + ": \"shape\" must hold integers >= 0, got " + shape.dump());
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
    if (!s.is_number_unsigned()) {
      Fail(where + ": \"stream\" must be an integer in [0, 2^64), got " + s.dump());
    }
    t.stream = s.get<uint64_t>();
  }
  if (j.contains("scale")) {
    const Json& s = j["scale"];
    if (!s.is_number()) Fail(where + ": \"scale\" must be a number, got " + s.dump());
    // Written beside the tensor as a 0-d F32 tensor: a normal float32.
    if (const std::string error = internal::ScaleError(s.get<double>()); !error.empty()) {
      Fail(where + ": \"scale\": " + error);
    }
    t.scale = s.get<double>();
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
  Json j;
  try {
    j = Json::parse(json);
  } catch (const Json::exception& e) {
    // parse_error, and out_of_range for a number beyond double's range
    // ("1e400": found by the fuzzer, fuzz/regressions/model_spec).
    Fail(std::string("invalid JSON: ") + e.what());
  }
  if (!j.is_object()) Fail("expected a JSON object with a \"tensors\" array");
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
  if (!tensors.is_array()) Fail("\"tensors\" must be an array");
  ModelSpec model;
  for (size_t i = 0; i < tensors.size(); ++i) {
    model.tensors.push_back(ParseTensor(tensors[i], i, layout, dtype));
  }
  return model;
}

std::string ModelSpecToJson(const ModelSpec& model) {
  Json tensors = Json::array();
  for (const TensorSpec& t : model.tensors) {
    Json j = {{"name", t.name},
              {"shape", t.shape},
              {"layout", LayoutName(t.layout)},
              {"scheme", t.scheme},
              {"dtype", DTypeName(t.dtype)}};
    if (!t.fans_from.empty()) j["fans_from"] = t.fans_from;
    if (t.stream) j["stream"] = *t.stream;
    if (t.scale != 1) j["scale"] = t.scale;
    tensors.push_back(std::move(j));
  }
  return Json{{"tensors", std::move(tensors)}}.dump(2);
}

namespace {

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
  return PlansOf(model, Resolve(model), seed);
}

// Describes without the dtype checks of a plan (a tensor whose values its
// dtype cannot hold is still described; InitModel and PrepareModel refuse it).
std::vector<TensorDescription> DescribeModel(const ModelSpec& model) {
  const std::vector<Resolved> resolved = Resolve(model);
  std::vector<TensorDescription> out;
  out.reserve(model.tensors.size());
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const TensorSpec& t = model.tensors[i];
    TensorDescription td;
    td.name = t.name;
    td.stream = resolved[i].stream;
    td.dtype = t.dtype;
    try {
      const size_t size = DTypeSize(t.dtype);
      td.description = Describe(t.shape, t.layout, resolved[i].scheme);
      if (td.description.count > std::numeric_limits<uint64_t>::max() / size) {
        throw std::invalid_argument("the tensor's size in bytes overflows 2^64");
      }
      td.bytes = td.description.count * size;
    } catch (const std::invalid_argument& e) {
      Fail(TensorLabel(t, i) + ": " + e.what());
    }
    out.push_back(std::move(td));
  }
  return out;
}

std::vector<TensorDescription> DescribeModel(const ModelSpec& model,
                                             std::span<const PreparedInit> plans) {
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
                   .description = plan.description()});
  }
  return out;
}

std::string DescribeModelJson(const ModelSpec& model) {
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
                   {"sparsity", d.sparsity}});
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
      if (ElementCount(t.shape) == 0) continue;
      const Description d = Describe(t.shape, t.layout, resolved[i].scheme);
      DTypeSize(t.dtype);
      throw std::invalid_argument(d.scheme + " on shape " + internal::FormatShape(t.shape) + " (" +
                                  DTypeName(t.dtype) + "): out is null");
    } catch (const std::invalid_argument& e) {
      Fail(TensorLabel(t, i) + ": " + e.what());
    }
  }
  const std::vector<PreparedInit> plans = PlansOf(model, resolved, seed);
  for (size_t i = 0; i < plans.size(); ++i) plans[i].Run(outputs[i], options);
}

}  // namespace fanfill
