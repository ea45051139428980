// The properties the fuzzers check, shared by the libFuzzer targets
// (fuzz/*_fuzzer.cc) and the regression test of the normal build
// (tests/fuzz_regressions_test.cc), so a saved input is checked the same way
// in both.
//
// Any input may be refused with std::invalid_argument (the documented error).
// What an accepted input must satisfy is checked below; a violation throws
// FuzzCheckFailure, which the fuzzers let escape (std::terminate: a crash) and
// the test reports. Any other exception escaping is a bug too.
#ifndef FANFILL_FUZZ_FUZZ_CHECKS_H_
#define FANFILL_FUZZ_FUZZ_CHECKS_H_

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

namespace fanfill::fuzz {

struct FuzzCheckFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void Require(bool ok, const std::string& what) {
  if (!ok) throw FuzzCheckFailure(what);
}

// Parses text that the library itself produced: refusing it is a failure.
inline Scheme ReparseScheme(const std::string& text, const std::string& origin) {
  try {
    return Scheme::Parse(text);
  } catch (const std::invalid_argument& e) {
    throw FuzzCheckFailure(origin + " \"" + text + "\" does not parse: " + e.what());
  }
}

// Parse(ToString(s)).ToString() == ToString(s), and the same scheme.
inline void CheckSchemeRoundTrip(const Scheme& s, const std::string& origin) {
  const std::string text = s.ToString();
  const Scheme again = ReparseScheme(text, origin + ": ToString");
  Require(again.ToString() == text,
          origin + ": ToString round trip \"" + text + "\" -> \"" + again.ToString() + "\"");
  Require(again.name() == s.name() && again.UsesFans() == s.UsesFans(),
          origin + ": round trip changed the scheme of \"" + text + "\"");
}

// What every Description promises (include/fanfill/schemes.hpp).
inline void CheckDescription(const Description& d, const Scheme& s,
                             std::span<const int64_t> shape, const std::string& origin) {
  Require(d.scheme == s.ToString(), origin + ": Describe().scheme \"" + d.scheme +
                                        "\" is not ToString() \"" + s.ToString() + "\"");
  Require(d.count == ElementCount(shape), origin + ": Describe().count is not prod(shape)");
  Require(static_cast<int>(d.kind) >= 0 && static_cast<int>(d.kind) <= 7,
          origin + ": Describe().kind out of range");
  Require(!(d.low > d.high), origin + ": Describe() low > high");
  Require(!(d.std < 0), origin + ": Describe() std < 0");
  Require(d.sparsity >= 0 && d.sparsity <= 1, origin + ": Describe() sparsity outside [0, 1]");
}

// Small shapes of every rank the schemes accept, in both layouts.
inline const std::vector<std::vector<int64_t>>& SmallShapes() {
  static const std::vector<std::vector<int64_t>> shapes = {
      {}, {0}, {6}, {4, 3}, {3, 4}, {0, 5}, {3, 2, 3}, {4, 2, 3, 3}};
  return shapes;
}

// The scheme-spec parser: Parse, ToString round trip, Describe (and for
// small tensors Init, serially) on small shapes, WithDefaultFans round trip.
inline void CheckSchemeSpec(std::string_view spec) {
  std::optional<Scheme> parsed;
  try {
    parsed = Scheme::Parse(spec);
  } catch (const std::invalid_argument&) {
    return;  // refused, with the documented error
  }
  const Scheme& s = *parsed;
  CheckSchemeRoundTrip(s, "Parse");
  for (const std::vector<int64_t>& shape : SmallShapes()) {
    for (Layout layout : {Layout::kOI, Layout::kIO}) {
      const std::string where = "shape " + std::to_string(shape.size()) + "-d, layout " +
                                LayoutName(layout);
      std::optional<Description> d;
      try {
        d = Describe(shape, layout, s);
      } catch (const std::invalid_argument&) {
        continue;
      }
      CheckDescription(*d, s, shape, where);
      // Init must write exactly the described tensor (ASan checks the bounds).
      std::vector<float> out(d->count);
      try {
        Init(std::span<float>(out), shape, layout, s, {.seed = 1, .stream = 2},
             {.max_threads = 1});
      } catch (const std::invalid_argument&) {
        // A value Describe allows may still not fit the dtype (a constant of 1e300 in f32).
      }
      if (s.UsesFans()) {
        std::optional<Fans> fans;
        try {
          fans = ComputeFans(shape, layout);
        } catch (const std::invalid_argument&) {
          continue;  // rank < 2 in layout oi: the spec's explicit fans served Describe
        }
        CheckSchemeRoundTrip(s.WithDefaultFans(*fans), where + ": WithDefaultFans");
      }
    }
  }
}

inline void CheckTensorSpecsEqual(const ModelSpec& a, const ModelSpec& b) {
  Require(a.tensors.size() == b.tensors.size(), "JSON round trip changed the tensor count");
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorSpec& x = a.tensors[i];
    const TensorSpec& y = b.tensors[i];
    Require(x.name == y.name && x.shape == y.shape && x.layout == y.layout &&
                x.scheme == y.scheme && x.dtype == y.dtype && x.fans_from == y.fans_from &&
                x.stream == y.stream,
            "JSON round trip changed tensor #" + std::to_string(i));
  }
}

// The model-spec loader: ParseModelSpec, ModelSpecToJson round trip,
// DescribeModel (identical for the round-tripped model), the described
// schemes round trip, DescribeModelJson.
inline void CheckModelSpec(std::string_view json) {
  ModelSpec model;
  try {
    model = ParseModelSpec(json);
  } catch (const std::invalid_argument&) {
    return;
  }
  const std::string text = ModelSpecToJson(model);
  ModelSpec again;
  try {
    again = ParseModelSpec(text);
  } catch (const std::invalid_argument& e) {
    throw FuzzCheckFailure(std::string("ModelSpecToJson output does not parse: ") + e.what());
  }
  CheckTensorSpecsEqual(model, again);
  Require(ModelSpecToJson(again) == text, "ModelSpecToJson round trip is not a fixed point");

  std::vector<TensorDescription> described;
  try {
    described = DescribeModel(model);
  } catch (const std::invalid_argument& e) {
    // The round-tripped model must be refused the same way.
    bool refused = false;
    try {
      DescribeModel(again);
    } catch (const std::invalid_argument& e2) {
      refused = std::string(e.what()) == e2.what();
    }
    Require(refused, "DescribeModel refused the model but not its JSON round trip the same way");
    return;
  }
  const std::vector<TensorDescription> described_again = DescribeModel(again);
  Require(described.size() == model.tensors.size() && described_again.size() == described.size(),
          "DescribeModel: one description per tensor");
  for (size_t i = 0; i < described.size(); ++i) {
    const TensorDescription& td = described[i];
    const std::string where = "tensor #" + std::to_string(i);
    Require(td.name == model.tensors[i].name, where + ": DescribeModel name");
    Require(td.stream == model.tensors[i].stream.value_or(StreamId(td.name)),
            where + ": DescribeModel stream");
    Require(td.description.scheme == described_again[i].description.scheme &&
                td.bytes == described_again[i].bytes,
            where + ": DescribeModel differs for the JSON round trip");
    Require(td.bytes == td.description.count * DTypeSize(td.dtype), where + ": bytes");
    // The resolved scheme (fans_from applied) is itself a valid spec.
    const Scheme resolved = ReparseScheme(td.description.scheme, where + ": Describe().scheme");
    CheckSchemeRoundTrip(resolved, where + ": Describe().scheme");
  }
  (void)DescribeModelJson(model);
}

}  // namespace fanfill::fuzz

#endif  // FANFILL_FUZZ_FUZZ_CHECKS_H_
