// Model specs: StreamId pinned by golden values (the published FNV-1a test
// vectors and names computed by a separate FNV-1a implementation); inserting,
// removing or reordering tensors leaves every other tensor's bytes identical;
// fans_from; the JSON form and its errors; nothing written on error.
#include <gtest/gtest.h>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

namespace {

using fanfill::DType;
using fanfill::Layout;
using fanfill::ModelSpec;
using fanfill::TensorSpec;

TEST(StreamId, GoldenValues) {
  const std::pair<const char*, uint64_t> golden[] = {
      // FNV-1a 64 reference vectors (Fowler/Noll/Vo test suite)
      {"", 0xcbf29ce484222325ull},
      {"a", 0xaf63dc4c8601ec8cull},
      {"foobar", 0x85944171f73967e8ull},
      // tensor names, from an independent implementation
      {"conv1.weight", 0x69a29a2cee47d254ull},
      {"conv1.bias", 0x981fc4a537f18149ull},
      {"layer1.0.conv1.weight", 0x721d90ca2264c0eaull},
      {"fc.weight", 0x79fb28a75603c7a0ull},
      {"encoder.layers.11.self_attn.in_proj_weight", 0xd0952aaedd5d8a35ull},
      {"\xc3\xa9mbed", 0x04222b6cdfdd6963ull},  // "embed" with e-acute, UTF-8
  };
  for (const auto& [name, id] : golden) EXPECT_EQ(fanfill::StreamId(name), id) << name;
  // Bytes, not C strings: an embedded NUL counts.
  EXPECT_NE(fanfill::StreamId(std::string_view("a\0b", 3)), fanfill::StreamId("a"));
}

TensorSpec T(std::string name, std::vector<int64_t> shape, std::string scheme,
             DType dtype = DType::kF32, Layout layout = Layout::kOI, std::string fans_from = "") {
  TensorSpec t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.scheme = std::move(scheme);
  t.dtype = dtype;
  t.layout = layout;
  t.fans_from = std::move(fans_from);
  return t;
}

// Initializes a model; returns each tensor's bytes by name.
std::map<std::string, std::vector<uint8_t>> InitAll(const ModelSpec& model, uint64_t seed) {
  const std::vector<fanfill::TensorDescription> desc = fanfill::DescribeModel(model);
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<void*> outs;
  for (const auto& d : desc) bufs.emplace_back(d.bytes);
  for (auto& b : bufs) outs.push_back(b.data());
  fanfill::InitModel(model, outs, seed);
  std::map<std::string, std::vector<uint8_t>> by_name;
  for (size_t i = 0; i < desc.size(); ++i) by_name[desc[i].name] = std::move(bufs[i]);
  return by_name;
}

ModelSpec SmallResNet() {
  ModelSpec m;
  m.tensors = {
      T("conv1.weight", {64, 3, 7, 7}, "kaiming_normal(mode=fan_out, nonlinearity=relu)"),
      T("bn1.weight", {64}, "ones"),
      T("bn1.bias", {64}, "zeros"),
      T("layer1.0.conv1.weight", {64, 64, 3, 3}, "torch_default", DType::kBF16),
      T("layer1.0.conv1.bias", {64}, "torch_default_bias", DType::kBF16, Layout::kOI,
        "layer1.0.conv1.weight"),
      T("proj.weight", {96, 64}, "orthogonal"),
      T("sparse.weight", {50, 40}, "sparse(0.2)", DType::kF64),
      T("attn.weight", {128, 128}, "trunc_normal(std=0.02)", DType::kF16),
      T("head.kernel", {512, 10}, "glorot_uniform", DType::kF32, Layout::kIO),
  };
  return m;
}

TEST(ModelSpec, InsertingRemovingReorderingKeepsEveryOtherTensor) {
  const ModelSpec base = SmallResNet();
  const auto want = InitAll(base, 42);

  ModelSpec inserted = base;  // a new layer in the middle
  inserted.tensors.insert(inserted.tensors.begin() + 3,
                          T("layer0.conv.weight", {64, 64, 1, 1}, "he_normal", DType::kF32));
  inserted.tensors.insert(inserted.tensors.begin(), T("stem.weight", {8, 3}, "normal(std=0.1)"));
  ModelSpec removed = base;
  removed.tensors.erase(removed.tensors.begin() + 1);  // bn1.weight
  ModelSpec reordered = base;
  std::reverse(reordered.tensors.begin(), reordered.tensors.end());
  ModelSpec changed = base;  // another tensor's scheme changes
  changed.tensors[0].scheme = "xavier_uniform";

  for (const ModelSpec* other : {&inserted, &removed, &reordered, &changed}) {
    const auto got = InitAll(*other, 42);
    for (const auto& [name, bytes] : got) {
      if (!want.count(name)) continue;
      if (other == &changed && name == "conv1.weight") continue;
      EXPECT_EQ(bytes, want.at(name)) << name;
    }
  }
  // Each tensor equals a standalone Init on its named stream.
  std::vector<float> conv1(64 * 3 * 7 * 7);
  fanfill::Init(std::span<float>(conv1), std::vector<int64_t>{64, 3, 7, 7}, Layout::kOI,
                fanfill::Scheme::Parse("kaiming_normal(mode=fan_out, nonlinearity=relu)"),
                {.seed = 42, .stream = fanfill::StreamId("conv1.weight")});
  EXPECT_EQ(std::memcmp(conv1.data(), want.at("conv1.weight").data(), conv1.size() * 4), 0);
  // A different seed changes everything random.
  EXPECT_NE(InitAll(base, 43).at("conv1.weight"), want.at("conv1.weight"));
  // Renaming changes the stream, unless the stream is pinned.
  ModelSpec renamed = base;
  renamed.tensors[0].name = "stem.conv.weight";
  EXPECT_NE(InitAll(renamed, 42).at("stem.conv.weight"), want.at("conv1.weight"));
  renamed.tensors[0].stream = fanfill::StreamId("conv1.weight");
  EXPECT_EQ(InitAll(renamed, 42).at("stem.conv.weight"), want.at("conv1.weight"));
}

TEST(ModelSpec, FansFromGivesTheBiasItsWeightsFanIn) {
  const std::vector<fanfill::TensorDescription> d = fanfill::DescribeModel(SmallResNet());
  ASSERT_EQ(d[4].name, "layer1.0.conv1.bias");
  EXPECT_EQ(d[4].description.fan_in, 576);  // 64 * 3 * 3
  EXPECT_EQ(d[4].description.distribution.high, 1 / std::sqrt(576.0));
  EXPECT_EQ(d[4].bytes, 64u * 2);
  EXPECT_EQ(d[4].stream, fanfill::StreamId("layer1.0.conv1.bias"));
  EXPECT_EQ(d[6].description.kind, fanfill::Description::Kind::kSparse);
  EXPECT_EQ(d[6].bytes, 50u * 40 * 8);
}

TEST(ModelSpec, JsonRoundTripAndDefaults) {
  const std::string json = R"({
    "layout": "io", "dtype": "bf16",
    "tensors": [
      {"name": "conv.kernel", "shape": [3, 3, 16, 32], "scheme": "he_normal"},
      {"name": "conv.bias", "shape": [32], "scheme": "zeros", "dtype": "float32"},
      {"name": "fc.weight", "shape": [10, 512], "layout": "oi", "scheme": "torch_default"},
      {"name": "fc.bias", "shape": [10], "layout": "oi", "scheme": "torch_default_bias",
       "fans_from": "fc.weight", "stream": 18446744073709551615}
    ]})";
  const ModelSpec m = fanfill::ParseModelSpec(json);
  ASSERT_EQ(m.tensors.size(), 4u);
  EXPECT_EQ(m.tensors[0].layout, Layout::kIO);
  EXPECT_EQ(m.tensors[0].dtype, DType::kBF16);
  EXPECT_EQ(m.tensors[1].dtype, DType::kF32);
  EXPECT_EQ(m.tensors[2].layout, Layout::kOI);
  EXPECT_EQ(m.tensors[3].fans_from, "fc.weight");
  EXPECT_EQ(m.tensors[3].stream, UINT64_MAX);
  const ModelSpec again = fanfill::ParseModelSpec(fanfill::ModelSpecToJson(m));
  EXPECT_EQ(fanfill::ModelSpecToJson(again), fanfill::ModelSpecToJson(m));
  EXPECT_EQ(InitAll(again, 1), InitAll(m, 1));

  const nlohmann::json d = nlohmann::json::parse(fanfill::DescribeModelJson(m));
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0]["kind"], "truncated_normal");
  EXPECT_EQ(d[0]["fan_in"], 144.0);
  EXPECT_EQ(d[3]["high"], 1 / std::sqrt(512.0));
  EXPECT_EQ(d[3]["stream"], UINT64_MAX);
  EXPECT_TRUE(d[1]["gain"].is_null());  // NaN: zeros has no gain
}

using fanfill::test::ExpectThrowsWith;

TEST(ModelSpec, JsonErrorsNameTheOffendingPart) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {R"({"tensors": [)", {"invalid JSON"}},
      // A number beyond double's range is nlohmann's out_of_range, not a
      // parse_error: it escaped as an uncaught exception (found by the fuzzer).
      {R"(52e04222)", {"invalid JSON", "number overflow"}},
      {R"({"tensors": [{"name": "w", "shape": [1e400], "scheme": "zeros"}]})", {"invalid JSON"}},
      {R"([1, 2])", {"expected a JSON object"}},
      {R"({"tensor": []})", {"unknown key \"tensor\""}},
      {R"({})", {"missing \"tensors\""}},
      {R"({"tensors": {}})", {"\"tensors\" must be an array"}},
      {R"({"tensors": [{"shape": [2], "scheme": "zeros"}]})", {"tensors[0]", "missing \"name\""}},
      {R"({"tensors": [{"name": "w", "shape": [2, -1], "scheme": "zeros"}]})",
       {"tensors[0] 'w'", "integers >= 0"}},
      {R"({"tensors": [{"name": "w", "shape": [2.5], "scheme": "zeros"}]})", {"integers >= 0"}},
      {R"({"tensors": [{"name": "w", "shape": 4, "scheme": "zeros"}]})",
       {"\"shape\" must be an array"}},
      {R"({"tensors": [{"name": "w", "shape": [2], "scheme": 3}]})",
       {"\"scheme\" must be a string"}},
      {R"({"tensors": [{"name": "w", "shape": [2], "scheme": "zeros", "dtype": "int8"}]})",
       {"tensors[0] 'w'", "unknown dtype 'int8'"}},
      {R"({"tensors": [{"name": "w", "shape": [2], "scheme": "zeros", "layout": "nchw"}]})",
       {"unknown layout 'nchw'"}},
      {R"({"tensors": [{"name": "w", "shape": [2], "scheme": "zeros", "init": "x"}]})",
       {"tensors[0] 'w'", "unknown key \"init\""}},
      {R"({"tensors": [{"name": "w", "shape": [2], "scheme": "zeros", "stream": -1}]})",
       {"\"stream\" must be an integer"}},
  };
  for (const auto& [json, parts] : cases) {
    SCOPED_TRACE(json);
    std::vector<std::string> all = parts;
    all.push_back("model spec: ");
    ExpectThrowsWith([&] { fanfill::ParseModelSpec(json); }, all);
  }
}

// Error messages show a spec value by its kind, never dump() it: a value
// nested 100000 deep ran dump() off the stack (a crash, not an error).
TEST(ModelSpec, DeeplyNestedValuesAreRefusedByKind) {
  const int kDepth = 100000;
  const std::string deep = std::string(kDepth, '[') + std::string(kDepth, ']');
  std::string deep_object;
  for (int i = 0; i < kDepth; ++i) deep_object += R"({"a": )";
  deep_object += "1" + std::string(kDepth, '}');
  const std::string tensor = R"({"name": "a", "shape": [2], "scheme": "normal")";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {R"({"tensors": [{"name": "a", "scheme": "normal", "shape": )" + deep + "}]}",
       {"tensors[0] 'a'",
        "\"shape\" must hold integers >= 0, got an array of 1 element at index 0"}},
      {R"({"tensors": [{"name": "a", "scheme": "normal", "shape": [2], "stream": )" + deep + "}]}",
       {"\"stream\" must be an integer in [0, 2^64), got an array of 1 element"}},
      {R"({"tensors": [{"scheme": "normal", "shape": [2], "name": )" + deep + "}]}",
       {"tensors[0]: \"name\" must be a string, got an array of 1 element"}},
      {R"({"tensors": [)" + tensor + R"(}], "layout": )" + deep + "}",
       {"top level: \"layout\" must be a string, got an array of 1 element"}},
      {R"({"tensors": [)" + tensor + "}, " + deep + "]}",
       {"tensors[1] must be an object, got an array of 1 element"}},
      {R"({"tensors": [)" + tensor + R"(, "scale": )" + deep + "}]}",
       {"\"scale\" must be a number, got an array of 1 element"}},
      {R"({"tensors": )" + deep + "}", {"tensors[0] must be an object, got an array of 1 element"}},
      {R"({"tensors": )" + deep_object + "}",
       {"\"tensors\" must be an array, got an object of 1 key"}},
      {R"({"tensors": [{"name": "a", "shape": [2], "scheme": )" + deep_object + "}]}",
       {"\"scheme\" must be a string, got an object of 1 key"}},
      {deep, {"expected a JSON object", "got an array of 1 element"}},
  };
  for (const auto& [json, parts] : cases) {
    SCOPED_TRACE(json.substr(0, 80));
    try {
      fanfill::ParseModelSpec(json);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_LT(what.size(), 200u) << what;
      for (const std::string& part : parts) EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  }
  // Strings are shown cut to 60 bytes, not inside a UTF-8 character; objects
  // by their size.
  const std::string long_name(1000, 'x');
  ExpectThrowsWith(
      [&] {
        fanfill::ParseModelSpec(R"({"tensors": [{"name": "a", "shape": ")" + long_name +
                                R"(", "scheme": "normal"}]})");
      },
      {"\"shape\" must be an array, got \"" + std::string(60, 'x') + "\"..."});
  // "x" and 40 two-byte "é": byte 60 is inside the 30th "é", which is left out.
  std::string accents = "x", shown = "x";
  for (int i = 0; i < 40; ++i) accents += "\xc3\xa9";
  for (int i = 0; i < 29; ++i) shown += "\xc3\xa9";
  ExpectThrowsWith(
      [&] {
        fanfill::ParseModelSpec(R"({"tensors": [{"name": "a", "shape": [2], "scheme": "zeros",
                                   "stream": ")" + accents + R"("}]})");
      },
      {"got \"" + shown + "\"..."});
  ExpectThrowsWith(
      [&] { fanfill::ParseModelSpec(R"({"tensors": [], "layout": {"x": 1, "y": [2]}})"); },
      {"\"layout\" must be a string, got an object of 2 keys"});
}

// nlohmann keeps the last of two equal keys (as Python's json.loads); in a
// spec that is a mistake, refused with where it is.
TEST(ModelSpec, DuplicateKeysAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"tensors": [{"name": "a", "name": "b", "shape": [2, 2], "scheme": "normal"}]})",
       "model spec: duplicate key \"name\" in tensors[0]"},
      {R"({"tensors": [{"name": "a", "shape": [2], "scheme": "normal"}],
           "tensors": [{"name": "b", "shape": [3], "scheme": "zeros"}]})",
       "model spec: duplicate key \"tensors\" at the top level"},
      {R"({"tensors": [{"name": "a", "shape": [2], "scheme": "normal"},
                       {"name": "b", "shape": [3], "scheme": "zeros", "scheme": "ones"}]})",
       "duplicate key \"scheme\" in tensors[1]"},
      {R"({"dtype": "f32", "tensors": [], "dtype": "f16"})",
       "duplicate key \"dtype\" at the top level"},
      // Deep inside a value no key is allowed at all: the duplicate is still named first.
      {R"({"tensors": [{"name": "a", "shape": [2], "scheme": "x",
                        "bogus": {"k": [{"z": 1, "z": 2}]}}]})",
       "duplicate key \"z\" in tensors[0].bogus.k[0]"},
  };
  for (const auto& [json, message] : cases) {
    SCOPED_TRACE(json);
    ExpectThrowsWith([&] { fanfill::ParseModelSpec(json); }, {message});
  }
  // The same key in different objects is fine.
  const ModelSpec two = fanfill::ParseModelSpec(
      R"({"tensors": [{"name": "a", "shape": [2], "scheme": "zeros"},
                      {"name": "b", "shape": [2], "scheme": "zeros"}]})");
  EXPECT_EQ(two.tensors.size(), 2u);
}

// "stream": -0 is 0, as Python's json reads it; other negative numbers and
// non-integers stay refused.
TEST(ModelSpec, StreamMinusZeroIsZero) {
  const ModelSpec m = fanfill::ParseModelSpec(
      R"({"tensors": [{"name": "a", "shape": [2], "scheme": "normal", "stream": -0}]})");
  ASSERT_TRUE(m.tensors[0].stream.has_value());
  EXPECT_EQ(*m.tensors[0].stream, 0u);
  for (const char* bad : {"-1", "-0.0", "0.0", "1e3"}) {
    ExpectThrowsWith(
        [&] {
          fanfill::ParseModelSpec(std::string(R"({"tensors": [{"name": "a", "shape": [2], )") +
                                  R"("scheme": "normal", "stream": )" + bad + "}]}");
        },
        {"\"stream\" must be an integer in [0, 2^64)"});
  }
}

// fans_from and the scheme's own fan_in= / fan_out= would mix two sources of
// fans (fan_in from the spec, fan_out from the other tensor): refused.
TEST(ModelSpec, FansFromWithExplicitFansIsRefused) {
  for (const char* scheme : {"torch_default_bias(fan_in=10)", "xavier_uniform(fan_out=3)"}) {
    ModelSpec m;
    m.tensors = {T("w", {2, 3}, "normal"),
                 T("b", {2}, scheme, DType::kF32, Layout::kOI, "w")};
    ExpectThrowsWith(
        [&] { fanfill::DescribeModel(m); },
        {"model spec: tensor #1 'b': fans_from 'w' and the scheme's", "both give fans"});
    ExpectThrowsWith([&] { fanfill::PrepareModel(m, 1); }, {"both give fans"});
  }
}

// JSON text is UTF-8: a name (or fans_from) built in code that is not gets a
// clear error naming it escaped, not nlohmann's type_error (it was one
// before); DescribeModel, which writes no JSON, still describes it.
TEST(ModelSpec, JsonOfNamesThatAreNotUtf8IsRefused) {
  ModelSpec m;
  m.tensors = {T("ok", {2}, "normal"), T("w\xff\x01", {2}, "normal")};
  for (const auto& f : {std::function<void()>([&] { fanfill::DescribeModelJson(m); }),
                        std::function<void()>([&] { fanfill::ModelSpecToJson(m); })}) {
    ExpectThrowsWith(f, {"model spec: tensor #1 'w\\xFF\\x01': the name is not valid UTF-8"});
  }
  EXPECT_EQ(fanfill::DescribeModel(m).size(), 2u);
  m.tensors[1] = T("b", {2}, "torch_default_bias", DType::kF32, Layout::kOI, "\xc3");
  ExpectThrowsWith([&] { fanfill::DescribeModelJson(m); },
                   {"tensor #1 'b': fans_from '\\xC3' is not valid UTF-8"});
  // Valid UTF-8 beyond ASCII is JSON text.
  m.tensors[1] = T("w\xc3\xa9", {2}, "normal");
  EXPECT_NE(fanfill::DescribeModelJson(m).find("w\xc3\xa9"), std::string::npos);
}

// A spec's explicit "scale", 1 included, is kept (the CLI writes <name>_scale
// for it); DescribeModel validates scales as PreparedInit does and describes
// the values stored, value / scale.
TEST(ModelSpec, ScaleIsKeptValidatedAndDescribed) {
  const ModelSpec m = fanfill::ParseModelSpec(R"J({"tensors": [
      {"name": "w", "shape": [8, 8], "scheme": "normal(std=0.5)", "dtype": "f8e4m3", "scale": 1},
      {"name": "v", "shape": [8, 8], "scheme": "uniform(-1, 3)", "scale": 0.25},
      {"name": "c", "shape": [4], "scheme": "constant(2)", "scale": 0.5},
      {"name": "u", "shape": [4], "scheme": "zeros"}]})J");
  EXPECT_TRUE(m.tensors[0].scale_given);
  EXPECT_TRUE(m.tensors[0].has_scale());
  EXPECT_FALSE(m.tensors[3].has_scale());
  const ModelSpec back = fanfill::ParseModelSpec(fanfill::ModelSpecToJson(m));
  EXPECT_TRUE(back.tensors[0].has_scale());
  EXPECT_FALSE(back.tensors[3].has_scale());
  EXPECT_NE(fanfill::ModelSpecToJson(m).find("\"scale\": 1.0"), std::string::npos);

  const std::vector<fanfill::TensorDescription> d = fanfill::DescribeModel(m);
  EXPECT_EQ(d[0].scale, 1.0);
  EXPECT_EQ(d[0].description.std, 0.5);
  EXPECT_EQ(d[1].scale, 0.25);
  EXPECT_EQ(d[1].description.low, -4.0);
  EXPECT_EQ(d[1].description.high, 12.0);
  EXPECT_EQ(d[1].description.mean, 4.0);
  EXPECT_EQ(d[1].description.distribution.low, -1.0);  // the Fill's parameters, with its scale
  EXPECT_EQ(d[1].description.distribution.scale, 0.25);
  EXPECT_EQ(d[2].description.mean, 4.0);
  EXPECT_EQ(d[2].description.high, 4.0);
  // From the plans: the same, while a plan's own description is unscaled.
  const std::vector<fanfill::PreparedInit> plans = fanfill::PrepareModel(m, 3);
  EXPECT_EQ(plans[1].description().high, 3.0);
  const std::vector<fanfill::TensorDescription> dp = fanfill::DescribeModel(m, plans);
  for (size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(dp[i].scale, d[i].scale) << i;
    EXPECT_EQ(dp[i].description.mean, d[i].description.mean) << i;
    EXPECT_EQ(dp[i].description.high, d[i].description.high) << i;
    EXPECT_EQ(dp[i].description.distribution.scale, d[i].description.distribution.scale) << i;
  }
  const nlohmann::json j = nlohmann::json::parse(fanfill::DescribeModelJson(m));
  EXPECT_EQ(j[1]["scale"], 0.25);
  EXPECT_EQ(j[1]["high"], 12.0);
  EXPECT_EQ(j[3]["scale"], 1.0);
  // A scale built in code is checked by DescribeModel too, as by PrepareModel.
  for (double bad : {0.0, -1.0, 1e-39, 1e39}) {
    ModelSpec c;
    c.tensors.push_back({.name = "w", .shape = {4}, .scheme = "zeros", .scale = bad});
    ExpectThrowsWith([&] { fanfill::DescribeModel(c); }, {"tensor #0 'w'", "scale"});
    ExpectThrowsWith([&] { fanfill::PrepareModel(c, 1); }, {"tensor #0 'w'", "scale"});
  }
}

// The zero-element rule is Describe's (schemes_test.cc); the model functions
// agree with it: each accepts and refuses the same tensors.
TEST(ModelSpec, ZeroElementTensorsAgreeAcrossDescribeAndPrepare) {
  auto one = [](std::vector<int64_t> shape, std::string scheme, DType dtype = DType::kF32) {
    ModelSpec m;
    m.tensors.push_back(T("w", std::move(shape), std::move(scheme), dtype));
    return m;
  };
  for (const ModelSpec& ok : {one({4, 0}, "kaiming_normal"), one({0}, "kaiming_uniform"),
                              one({0, 0}, "xavier_uniform"), one({0}, "torch_default_bias"),
                              one({0, 3}, "eye"), one({0, 4}, "orthogonal"),
                              one({0, 5}, "sparse(0.5)"), one({0, 3, 3}, "dirac(groups=2)")}) {
    SCOPED_TRACE(ok.tensors[0].scheme);
    EXPECT_EQ(fanfill::DescribeModel(ok)[0].bytes, 0u);
    EXPECT_EQ(fanfill::PrepareModel(ok, 1)[0].bytes(), 0u);
    const std::vector<void*> outs = {nullptr};
    fanfill::InitModel(ok, outs, 1);
  }
  for (const auto& [bad, message] :
       std::vector<std::pair<ModelSpec, std::string>>{
           {one({0, 3, 3}, "eye"), "eye needs exactly 2 dimensions"},
           {one({0}, "sparse(0.5)"), "sparse needs exactly 2 dimensions"},
           {one({0}, "orthogonal"), "orthogonal needs at least 2 dimensions"},
           {one({0, 3}, "dirac"), "dirac needs 3, 4 or 5 dimensions"},
           {one({3, 0, 3}, "dirac(groups=2)"), "not divisible by groups=2"}}) {
    SCOPED_TRACE(message);
    ExpectThrowsWith([&] { fanfill::DescribeModel(bad); }, {"tensor #0 'w'", message});
    ExpectThrowsWith([&] { fanfill::PrepareModel(bad, 1); }, {"tensor #0 'w'", message});
    const std::vector<void*> outs = {nullptr};
    ExpectThrowsWith([&] { fanfill::InitModel(bad, outs, 1); }, {message});
  }
  // A distribution the dtype cannot hold: refused by the plans whatever the
  // count (DescribeModel has no dtype checks).
  const ModelSpec f16 = one({0}, "uniform(0, 1e300)", DType::kF16);
  ExpectThrowsWith([&] { fanfill::PrepareModel(f16, 1); }, {"exceed the f16 range"});
  EXPECT_EQ(fanfill::DescribeModel(f16)[0].description.high, 1e300);
}

TEST(ModelSpec, ModelErrorsNameTheTensor) {
  auto model = [](std::vector<TensorSpec> t) {
    ModelSpec m;
    m.tensors = std::move(t);
    return m;
  };
  const std::vector<std::pair<ModelSpec, std::vector<std::string>>> cases = {
      {model({T("w", {2, 2}, "zeros"), T("w", {3}, "ones")}), {"#0 and #1 are both named 'w'"}},
      {model({T("", {2}, "zeros")}), {"tensor #0 has an empty name"}},
      {model({T("w", {4, 4}, "kaiming_normal(mode=fan_ot)")}),
       {"tensor #0 'w'", "mode=fan_ot", "expected fan_in or fan_out"}},
      {model({T("w", {4, 4}, "zeros"), T("b", {4}, "torch_default_bias")}),
       {"tensor #1 'b'", "needs fan_in", "fans_from"}},
      {model({T("b", {4}, "torch_default_bias", DType::kF32, Layout::kOI, "w")}),
       {"tensor #0 'b'", "fans_from 'w' is not a tensor of the model"}},
      {model({T("b", {4}, "zeros", DType::kF32, Layout::kOI, "b")}), {"names the tensor itself"}},
      {model({T("w", {4, 4}, "zeros"), T("b", {4}, "zeros", DType::kF32, Layout::kOI, "w")}),
       {"fans_from is given but zeros uses no fans"}},
      {model({T("v", {4}, "zeros"),
              T("b", {4}, "torch_default_bias", DType::kF32, Layout::kOI, "v")}),
       {"fans_from 'v'", "at least 2 dimensions"}},
      {model({T("w", {4, 4, 4}, "eye")}), {"tensor #0 'w'", "eye needs exactly 2 dimensions"}},
  };
  for (const auto& [m, parts] : cases) {
    ExpectThrowsWith([&] { fanfill::DescribeModel(m); }, parts);
  }
  // Two tensors pinned to one stream.
  ModelSpec m = model({T("a", {2}, "normal"), T("b", {2}, "normal")});
  m.tensors[1].stream = fanfill::StreamId("a");
  ExpectThrowsWith([&] { fanfill::DescribeModel(m); },
                   {"tensor #1 'b' and tensor #0 'a' have the same stream id 0xaf63dc4c8601ec8c"});
}

TEST(ModelSpec, NothingWrittenOnError) {
  ModelSpec m = SmallResNet();
  // The last tensor cannot be written (f16 overflows); nothing may be.
  m.tensors.push_back(T("big", {4, 4}, "constant(1e6)", DType::kF16));
  std::vector<fanfill::TensorDescription> desc = fanfill::DescribeModel(m);
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<void*> outs;
  for (const auto& d : desc) bufs.emplace_back(d.bytes, 0xA5);
  for (auto& b : bufs) outs.push_back(b.data());
  ExpectThrowsWith([&] { fanfill::InitModel(m, outs, 1); }, {"tensor #9 'big'", "overflows f16"});
  for (const auto& b : bufs) {
    for (uint8_t v : b) ASSERT_EQ(v, 0xA5);
  }
  outs.pop_back();
  ExpectThrowsWith([&] { fanfill::InitModel(m, outs, 1); }, {"9 outputs for 10 tensors"});
  outs.push_back(nullptr);
  ExpectThrowsWith([&] { fanfill::InitModel(m, outs, 1); }, {"tensor #9 'big'", "out is null"});
}

// Outputs whose bytes overlap are refused before anything is written (one
// tensor would silently overwrite another); adjacent ones are fine, and a
// zero-element tensor may point anywhere.
TEST(ModelSpec, OverlappingOutputsAreRefused) {
  ModelSpec m;
  m.tensors = {T("a", {4}, "ones"), T("empty", {0, 3}, "ones"), T("b", {4}, "zeros")};
  std::vector<float> buf(9, -1.0f);
  std::vector<void*> outs = {buf.data(), buf.data() + 1, buf.data() + 3};
  ExpectThrowsWith([&] { fanfill::InitModel(m, outs, 1); },
                   {"the outputs of tensor #0 'a' and tensor #2 'b' overlap in memory"});
  for (float v : buf) ASSERT_EQ(v, -1.0f);
  outs = {buf.data() + 4, buf.data() + 1, buf.data()};  // b ends where a starts: in order
  fanfill::InitModel(m, outs, 1);
  EXPECT_EQ(buf, (std::vector<float>{0, 0, 0, 0, 1, 1, 1, 1, -1}));
}

}  // namespace
