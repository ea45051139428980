// tools/fanfill_cli/hf_model: config.json -> checkpoint tensor list, errors,
// shard sizes and the shard split. (transformers itself is the reference in
// tests/python/test_hf.py; these tests need no Python.)
#include "tools/fanfill_cli/hf_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace fanfill::hf {
namespace {

// A tiny config of the family; `extra`: fields added or replaced ("\"a\": 1, ...").
std::string Tiny(const std::string& type, const std::string& extra = "") {
  nlohmann::json j = {{"model_type", type}};
  if (type == "gpt2") {
    j.update({{"n_embd", 64}, {"n_layer", 2}, {"n_head", 4}, {"vocab_size", 128}, {"n_positions", 32}});
  } else {
    j.update({{"hidden_size", 64}, {"num_hidden_layers", 2}, {"vocab_size", 128},
              {"intermediate_size", 128}, {"num_attention_heads", 4}});
    if (type != "bert" && type != "gpt_neox") j["num_key_value_heads"] = 2;
  }
  if (type == "mixtral") j["num_local_experts"] = 4;
  if (type == "gemma") j["head_dim"] = 16;
  if (!extra.empty()) j.update(nlohmann::json::parse("{" + extra + "}"));
  return j.dump();
}

std::map<std::string, const HfTensor*> ByName(const HfModel& m) {
  std::map<std::string, const HfTensor*> out;
  for (const HfTensor& t : m.tensors) out[t.name] = &t;
  return out;
}

// The error message of BuildHfModel, or "" if it did not throw.
std::string ErrorOf(const std::string& json, const std::string& dtype = "") {
  try {
    BuildHfModel(json, dtype);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(HfModel, BadConfigsNameTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"model_type": "t5"})", "unknown model_type 't5'"},
      {R"({"hidden_size": 64})", "missing field 'model_type'"},
      {R"({"model_type": 3})", "field 'model_type' must be a string"},
      {"[1, 2]", "expected a JSON object"},
      {"{not json", "not valid JSON"},
      {Tiny("llama", R"("num_attention_heads": 5)"),
       "'num_attention_heads' (5) does not divide 'hidden_size' (64) and there is no 'head_dim'"},
      {Tiny("bert", R"("num_attention_heads": 6)"), "'num_attention_heads' (6) does not divide 'hidden_size' (64)"},
      {Tiny("gpt2", R"("n_head": 5)"), "'n_head' (5) does not divide 'n_embd' (64)"},
      {Tiny("mistral", R"("num_key_value_heads": 3)"), "'num_key_value_heads' (3) does not divide 'num_attention_heads' (4)"},
      {Tiny("llama", R"("hidden_size": "64")"), "field 'hidden_size' must be a positive integer (got \"64\")"},
      {Tiny("llama", R"("num_hidden_layers": 0)"), "field 'num_hidden_layers' must be a positive integer (got 0)"},
      {Tiny("llama", R"("tie_word_embeddings": 1)"), "field 'tie_word_embeddings' must be true or false"},
      {Tiny("llama", R"("initializer_range": -1)"), "field 'initializer_range' must be a non-negative number"},
      {Tiny("llama", R"("pad_token_id": 128)"), "'pad_token_id' (128) is outside the vocabulary"},
      {Tiny("llama", R"("architectures": ["LlamaForSequenceClassification"])"),
       "architectures[0] is 'LlamaForSequenceClassification'"},
      {Tiny("llama", R"("architectures": [])"), "field 'architectures' must be a non-empty list"},
      {Tiny("mixtral", R"("num_experts_per_tok": 5)"), "'num_experts_per_tok' (5) is larger than 'num_local_experts' (4)"},
      {Tiny("gpt2", R"("add_cross_attention": true)"), "'add_cross_attention' is true"},
      {Tiny("llama", R"("torch_dtype": "float8_e4m3fn")"), "FP8 checkpoints are not supported"},
      {Tiny("llama", R"("dtype": "float64")"), "fanfill hf writes bf16, f16 or f32"},
  };
  for (const auto& [json, message] : cases) {
    const std::string error = ErrorOf(json);
    EXPECT_NE(error.find(message), std::string::npos) << json << "\n -> '" << error << "'";
  }
  EXPECT_NE(ErrorOf(Tiny("llama"), "fp8").find("FP8"), std::string::npos);
  EXPECT_NE(ErrorOf(Tiny("llama"), "e5m2").find("FP8"), std::string::npos);
  EXPECT_NE(ErrorOf(Tiny("llama"), "f64").find("--dtype is 'f64'"), std::string::npos);
  // head_dim makes a non-dividing head count valid (as transformers).
  EXPECT_EQ(ErrorOf(Tiny("llama", R"("num_attention_heads": 6, "num_key_value_heads": 3, "head_dim": 8)")), "");
}

TEST(HfModel, LlamaTensorsAndTies) {
  const HfModel m = BuildHfModel(Tiny("llama", R"("pad_token_id": 1)"), "bf16");
  EXPECT_EQ(m.architecture, "LlamaForCausalLM");
  EXPECT_EQ(m.dtype, DType::kBF16);
  ASSERT_EQ(m.tensors.size(), 1 + 2 * 9 + 1 + 1u);
  EXPECT_EQ(m.tensors.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(m.tensors.back().name, "lm_head.weight");
  const auto by = ByName(m);
  EXPECT_EQ(by.at("model.layers.1.self_attn.k_proj.weight")->shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(by.at("model.layers.0.mlp.down_proj.weight")->shape, (std::vector<int64_t>{64, 128}));
  const HfTensor& embed = *by.at("model.embed_tokens.weight");
  EXPECT_EQ(embed.zero_first, 64u);
  EXPECT_EQ(embed.zero_count, 64u);
  EXPECT_EQ(m.sources.tensors[by.at("model.norm.weight")->source].scheme, "ones");
  uint64_t params = 0;
  for (const HfTensor& t : m.tensors) params += ElementCount(t.shape);
  EXPECT_EQ(m.total_parameters, params);
  EXPECT_EQ(m.total_size, 2 * params);

  const HfModel tied = BuildHfModel(Tiny("llama", R"("tie_word_embeddings": true)"));
  EXPECT_EQ(ByName(tied).count("lm_head.weight"), 0u);
  EXPECT_EQ(tied.dtype, DType::kF32);
  const HfModel base = BuildHfModel(Tiny("llama", R"("architectures": ["LlamaModel"])"));
  EXPECT_EQ(base.tensors.front().name, "embed_tokens.weight");
  EXPECT_EQ(ByName(base).count("lm_head.weight"), 0u);
  EXPECT_EQ(ByName(base).count("norm.weight"), 1u);
  // Every source is a valid fanfill plan.
  EXPECT_EQ(PrepareModel(m.sources, 1).size(), m.sources.tensors.size());
}

TEST(HfModel, FamilyRules) {
  const HfModel qwen_model = BuildHfModel(Tiny("qwen2"));
  const auto qwen = ByName(qwen_model);
  EXPECT_EQ(qwen.count("model.layers.0.self_attn.q_proj.bias"), 1u);
  EXPECT_EQ(qwen.count("model.layers.0.self_attn.v_proj.bias"), 1u);
  EXPECT_EQ(qwen.count("model.layers.0.self_attn.o_proj.bias"), 0u);

  // Qwen3: head_dim 128 by default (not 64 / 4), q_norm / k_norm of head_dim ones, no
  // biases unless attention_bias (then on o_proj too).
  const HfModel qwen3_model = BuildHfModel(Tiny("qwen3"));
  const auto q3 = ByName(qwen3_model);
  EXPECT_EQ(q3.at("model.layers.0.self_attn.q_proj.weight")->shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(q3.at("model.layers.1.self_attn.k_proj.weight")->shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(q3.at("model.layers.0.self_attn.o_proj.weight")->shape, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(q3.at("model.layers.1.self_attn.q_norm.weight")->shape, (std::vector<int64_t>{128}));
  EXPECT_EQ(qwen3_model.sources.tensors[q3.at("model.layers.1.self_attn.k_norm.weight")->source].scheme,
            "ones");
  EXPECT_EQ(q3.count("model.layers.0.self_attn.q_proj.bias"), 0u);
  const HfModel qwen3_bias = BuildHfModel(Tiny("qwen3", R"("attention_bias": true, "head_dim": 8)"));
  const auto q3b = ByName(qwen3_bias);
  EXPECT_EQ(q3b.count("model.layers.0.self_attn.o_proj.bias"), 1u);
  EXPECT_EQ(q3b.at("model.layers.0.self_attn.k_norm.weight")->shape, (std::vector<int64_t>{8}));

  // Qwen3-MoE: sparse layers (router, experts saved per expert) except mlp_only_layers and
  // those off decoder_sparse_step; q_norm/k_norm of head_dim = hidden / heads.
  const HfModel moe = BuildHfModel(Tiny("qwen3_moe", R"("num_experts": 3, "num_experts_per_tok": 1,
      "moe_intermediate_size": 8, "num_hidden_layers": 4, "decoder_sparse_step": 2, "mlp_only_layers": [3])"));
  const auto m3 = ByName(moe);
  EXPECT_EQ(m3.count("model.layers.0.mlp.gate_proj.weight"), 1u);  // (0 + 1) % 2 != 0: dense
  EXPECT_EQ(m3.at("model.layers.1.mlp.gate.weight")->shape, (std::vector<int64_t>{3, 64}));
  EXPECT_EQ(m3.at("model.layers.1.mlp.experts.2.up_proj.weight")->shape, (std::vector<int64_t>{8, 64}));
  EXPECT_EQ(m3.at("model.layers.1.mlp.experts.0.down_proj.weight")->shape, (std::vector<int64_t>{64, 8}));
  EXPECT_EQ(m3.count("model.layers.3.mlp.gate.weight"), 0u);  // in mlp_only_layers: dense
  EXPECT_EQ(m3.at("model.layers.3.mlp.up_proj.weight")->shape, (std::vector<int64_t>{128, 64}));
  EXPECT_EQ(m3.at("model.layers.2.self_attn.q_norm.weight")->shape, (std::vector<int64_t>{16}));

  // Gemma2: Gemma's zero norms, four per layer; tied; pad row 0.
  const HfModel gemma2 = BuildHfModel(Tiny("gemma2", R"("head_dim": 16)"));
  const auto g2 = ByName(gemma2);
  for (const char* norm : {"input_layernorm", "post_attention_layernorm",
                           "pre_feedforward_layernorm", "post_feedforward_layernorm"}) {
    const std::string name = std::string("model.layers.1.") + norm + ".weight";
    ASSERT_EQ(g2.count(name), 1u) << name;
    EXPECT_EQ(gemma2.sources.tensors[g2.at(name)->source].scheme, "zeros") << name;
  }
  EXPECT_EQ(g2.count("lm_head.weight"), 0u);
  EXPECT_EQ(g2.at("model.embed_tokens.weight")->zero_count, 64u);

  // Gemma3 (text): Gemma2's layers with q_norm / k_norm, every norm zeros; the base class
  // is Gemma3TextModel (no "model." prefix).
  const HfModel gemma3 = BuildHfModel(Tiny("gemma3_text", R"("head_dim": 16)"));
  const auto g3 = ByName(gemma3);
  for (const char* norm : {"self_attn.q_norm", "self_attn.k_norm", "pre_feedforward_layernorm"}) {
    const std::string name = std::string("model.layers.0.") + norm + ".weight";
    ASSERT_EQ(g3.count(name), 1u) << name;
    EXPECT_EQ(gemma3.sources.tensors[g3.at(name)->source].scheme, "zeros") << name;
  }
  EXPECT_EQ(g3.at("model.layers.0.self_attn.k_norm.weight")->shape, (std::vector<int64_t>{16}));
  const HfModel gemma3_base =
      BuildHfModel(Tiny("gemma3_text", R"("head_dim": 16, "architectures": ["Gemma3TextModel"])"));
  EXPECT_EQ(gemma3_base.tensors.front().name, "embed_tokens.weight");
  EXPECT_NE(ErrorOf(Tiny("gemma3_text", R"("architectures": ["Gemma3Model"])")).find("Gemma3TextModel"),
            std::string::npos);

  // OLMo2: no input_layernorm; q_norm / k_norm over all of q and k; pad row 1 by default.
  const HfModel olmo2 = BuildHfModel(Tiny("olmo2"));
  const auto o2 = ByName(olmo2);
  EXPECT_EQ(o2.count("model.layers.0.input_layernorm.weight"), 0u);
  EXPECT_EQ(o2.at("model.layers.0.self_attn.q_norm.weight")->shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(o2.at("model.layers.0.self_attn.k_norm.weight")->shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(o2.count("model.layers.1.post_feedforward_layernorm.weight"), 1u);
  EXPECT_EQ(o2.at("model.embed_tokens.weight")->zero_first, 64u);
  // Starcoder2: biases everywhere but lm_head (tied by default), LayerNorm biases, and
  // Starcoder2Config's initializer_range 0.018042 where the field is absent.
  const HfModel sc2 = BuildHfModel(Tiny("starcoder2"));
  const auto s2 = ByName(sc2);
  EXPECT_EQ(s2.count("model.layers.0.mlp.c_fc.bias"), 1u);
  EXPECT_EQ(s2.count("model.layers.0.self_attn.o_proj.bias"), 1u);
  EXPECT_EQ(s2.count("model.norm.bias"), 1u);
  EXPECT_EQ(s2.count("lm_head.weight"), 0u);
  EXPECT_NE(sc2.sources.tensors[s2.at("model.layers.0.mlp.c_proj.weight")->source].scheme.find(
                "std=0.018041999999999999)"),  // 0.018042 to 17 digits
            std::string::npos);
  const HfModel sc2_nobias = BuildHfModel(Tiny("starcoder2", R"("use_bias": false)"));
  EXPECT_EQ(ByName(sc2_nobias).count("model.layers.0.mlp.c_fc.bias"), 0u);
  EXPECT_EQ(ByName(sc2_nobias).count("model.norm.bias"), 1u);  // LayerNorm's, whatever use_bias

  // Phi3: o_proj before the fused qkv_proj [(4 + 2 * 2) * 16, 64], gate_up_proj [2 * 128, 64];
  // Phi3Config's pad_token_id 32000 must lie in the vocabulary.
  const HfModel phi3 = BuildHfModel(Tiny("phi3", R"("pad_token_id": 7)"));
  const auto p3 = ByName(phi3);
  EXPECT_EQ(p3.at("model.layers.0.self_attn.qkv_proj.weight")->shape, (std::vector<int64_t>{128, 64}));
  EXPECT_EQ(p3.at("model.layers.0.mlp.gate_up_proj.weight")->shape, (std::vector<int64_t>{256, 64}));
  EXPECT_LT(p3.at("model.layers.0.self_attn.o_proj.weight"),
            p3.at("model.layers.0.self_attn.qkv_proj.weight"));
  EXPECT_EQ(p3.at("model.embed_tokens.weight")->zero_count, 64u);
  EXPECT_EQ(p3.count("model.layers.0.self_attn.q_proj.weight"), 0u);
  EXPECT_NE(ErrorOf(Tiny("phi3")).find("'pad_token_id' (32000) is outside the vocabulary"),
            std::string::npos);

  const HfModel gemma = BuildHfModel(Tiny("gemma"));
  const auto g = ByName(gemma);
  EXPECT_EQ(g.count("lm_head.weight"), 0u);  // tied by default
  EXPECT_EQ(gemma.sources.tensors[g.at("model.norm.weight")->source].scheme, "zeros");
  EXPECT_EQ(g.at("model.layers.0.self_attn.q_proj.weight")->shape, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(g.at("model.embed_tokens.weight")->zero_count, 64u);  // pad_token_id defaults to 0

  const HfModel gpt2 = BuildHfModel(Tiny("gpt2"));
  const auto p = ByName(gpt2);
  EXPECT_EQ(p.at("transformer.h.0.attn.c_attn.weight")->shape, (std::vector<int64_t>{64, 192}));
  EXPECT_EQ(p.at("transformer.h.1.mlp.c_fc.weight")->shape, (std::vector<int64_t>{64, 256}));
  EXPECT_EQ(p.at("transformer.wpe.weight")->shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(p.count("lm_head.weight"), 0u);
  const auto scheme = [&](const std::string& n) { return gpt2.sources.tensors[p.at(n)->source].scheme; };
  EXPECT_EQ(scheme("transformer.h.0.attn.c_proj.weight"), "normal(mean=0, std=0.01)");  // 0.02 / sqrt(4)
  EXPECT_EQ(scheme("transformer.h.1.mlp.c_proj.weight"), "normal(mean=0, std=0.01)");
  EXPECT_EQ(scheme("transformer.h.0.attn.c_attn.weight"), "normal(mean=0, std=0.02)");
  EXPECT_EQ(scheme("transformer.h.0.ln_1.bias"), "zeros");

  const HfModel neox = BuildHfModel(Tiny("gpt_neox"));
  const auto n = ByName(neox);
  EXPECT_EQ(n.at("gpt_neox.layers.0.attention.query_key_value.weight")->shape, (std::vector<int64_t>{192, 64}));
  EXPECT_EQ(neox.sources.tensors[n.at("embed_out.weight")->source].name, "lm_head.weight");
  // The reverted state dict is sorted by runtime name: lm_head (saved as embed_out) last.
  EXPECT_EQ(neox.tensors.back().name, "embed_out.weight");
  EXPECT_EQ(ByName(BuildHfModel(Tiny("gemma", R"("pad_token_id": null)"))).at("model.embed_tokens.weight")->zero_count, 0u);

  const HfModel mlm_model = BuildHfModel(Tiny("bert"));
  const auto mlm = ByName(mlm_model);
  EXPECT_EQ(mlm.count("bert.pooler.dense.weight"), 0u);
  EXPECT_EQ(mlm.count("cls.predictions.bias"), 1u);
  EXPECT_EQ(mlm.count("cls.predictions.decoder.weight"), 0u);
  EXPECT_EQ(mlm.at("bert.embeddings.word_embeddings.weight")->zero_first, 0u);
  EXPECT_EQ(mlm.at("bert.embeddings.word_embeddings.weight")->zero_count, 64u);
  const HfModel bare_model = BuildHfModel(Tiny("bert", R"("architectures": ["BertModel"])"));
  const auto bare = ByName(bare_model);
  EXPECT_EQ(bare.count("pooler.dense.weight"), 1u);
  EXPECT_EQ(bare.count("cls.predictions.bias"), 0u);
  const HfModel nopad_model = BuildHfModel(Tiny("bert", R"("pad_token_id": null)"));
  const auto nopad = ByName(nopad_model);
  EXPECT_EQ(nopad.at("bert.embeddings.word_embeddings.weight")->zero_count, 0u);
}

TEST(HfModel, MixtralExpertsAreSlicesOfTheFusedParameters) {
  const HfModel m = BuildHfModel(Tiny("mixtral", R"("num_hidden_layers": 11)"));
  // Every element of every fused source is written exactly once.
  std::map<size_t, std::vector<std::pair<uint64_t, uint64_t>>> ranges;
  for (const HfTensor& t : m.tensors) {
    ranges[t.source].push_back({t.source_first, t.source_first + ElementCount(t.shape)});
  }
  for (auto& [source, r] : ranges) {
    std::sort(r.begin(), r.end());
    uint64_t next = 0;
    for (const auto& [b, e] : r) {
      EXPECT_EQ(b, next) << m.sources.tensors[source].name;
      next = e;
    }
    EXPECT_EQ(next, ElementCount(m.sources.tensors[source].shape)) << m.sources.tensors[source].name;
  }
  const auto by = ByName(m);
  const HfTensor& w3 = *by.at("model.layers.0.block_sparse_moe.experts.2.w3.weight");
  EXPECT_EQ(m.sources.tensors[w3.source].name, "model.layers.0.mlp.experts.gate_up_proj");
  EXPECT_EQ(m.sources.tensors[w3.source].shape, (std::vector<int64_t>{4, 256, 64}));
  EXPECT_EQ(w3.source_first, 2u * 256 * 64 + 128 * 64);
  EXPECT_EQ(m.sources.tensors[by.at("model.layers.3.block_sparse_moe.gate.weight")->source].name,
            "model.layers.3.mlp.gate.weight");
  // dot_natural_key order: layers 2 before 10; experts' w2 (down_proj), then w1, w3.
  auto pos = [&](const std::string& name) {
    return std::find_if(m.tensors.begin(), m.tensors.end(), [&](const HfTensor& t) { return t.name == name; }) -
           m.tensors.begin();
  };
  EXPECT_LT(pos("model.layers.2.input_layernorm.weight"), pos("model.layers.10.input_layernorm.weight"));
  EXPECT_LT(pos("model.layers.0.block_sparse_moe.experts.3.w2.weight"),
            pos("model.layers.0.block_sparse_moe.experts.0.w1.weight"));
  EXPECT_LT(pos("model.layers.0.block_sparse_moe.experts.3.w1.weight"),
            pos("model.layers.0.block_sparse_moe.experts.0.w3.weight"));
  EXPECT_EQ(m.tensors.front().name, "lm_head.weight");
}

TEST(HfModel, ShardSizes) {
  EXPECT_EQ(ParseShardSize("5GB"), 5000000000u);
  EXPECT_EQ(ParseShardSize(" 50gb "), 50000000000u);
  EXPECT_EQ(ParseShardSize("1.5MB"), 1500000u);
  EXPECT_EQ(ParseShardSize("10 KB"), 10000u);
  EXPECT_EQ(ParseShardSize("2TB"), 2000000000000u);
  EXPECT_EQ(ParseShardSize("12345"), 12345u);
  for (const char* bad : {"", "GB", "5XB", "-1GB", "0", "0GB", "abcMB", "5G"}) {
    EXPECT_THROW(ParseShardSize(bad), std::invalid_argument) << bad;
  }
  EXPECT_EQ(ParseShardSize(kDefaultMaxShardSize), 50000000000u);
}

TEST(HfModel, SplitFollowsHuggingfaceHub) {
  // f32 llama, 1 layer: embed 32768 B, q 16384, k 8192, v 8192, o 16384, gate/up/down 32768,
  // norms 256, lm_head 32768.
  const HfModel m = BuildHfModel(Tiny("llama", R"("num_hidden_layers": 1)"));
  const std::vector<HfShard> one = SplitShards(m, 50000000000u);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].file, "model.safetensors");
  EXPECT_TRUE(std::is_sorted(one[0].tensors.begin(), one[0].tensors.end(), [&](size_t a, size_t b) {
    return m.tensors[a].name < m.tensors[b].name;
  }));
  // 20000 B: a storage above it gets a shard of its own at once, before the
  // shard being filled is closed (split_state_dict_into_shards_factory), so
  // o_proj, waiting in the open shard, lands after gate/up/down and lm_head.
  const std::vector<HfShard> s = SplitShards(m, 20000);
  std::vector<std::vector<std::string>> names;
  for (const HfShard& shard : s) {
    names.emplace_back();
    for (size_t i : shard.tensors) names.back().push_back(m.tensors[i].name);
  }
  ASSERT_EQ(s.size(), 8u);
  EXPECT_EQ(s[0].file, "model-00001-of-00008.safetensors");
  const std::string l = "model.layers.0.";
  const std::vector<std::vector<std::string>> expected = {
      {"model.embed_tokens.weight"},
      {l + "self_attn.q_proj.weight"},
      {l + "self_attn.k_proj.weight", l + "self_attn.v_proj.weight"},
      {l + "mlp.gate_proj.weight"},
      {l + "mlp.up_proj.weight"},
      {l + "mlp.down_proj.weight"},
      {"lm_head.weight"},
      {l + "input_layernorm.weight", l + "post_attention_layernorm.weight", l + "self_attn.o_proj.weight",
       "model.norm.weight"}};
  EXPECT_EQ(names, expected);
  const std::string idx = IndexJson(m, s);
  const std::string head = "{\n  \"metadata\": {\n    \"total_parameters\": " +
                           std::to_string(m.total_parameters) + ",\n    \"total_size\": " +
                           std::to_string(m.total_size) + "\n  },\n  \"weight_map\": {\n    \"lm_head.weight\": ";
  EXPECT_EQ(idx.substr(0, head.size()), head);
  EXPECT_EQ(idx.back(), '\n');
  // Mixtral: all experts' w2 of a layer are one storage, so one shard.
  const HfModel x = BuildHfModel(Tiny("mixtral", R"("num_hidden_layers": 1)"));
  const std::vector<HfShard> xs = SplitShards(x, 1000);
  std::set<std::string> w2_files;
  for (const HfShard& shard : xs) {
    for (size_t i : shard.tensors) {
      if (x.tensors[i].name.ends_with("w2.weight")) w2_files.insert(shard.file);
    }
  }
  EXPECT_EQ(w2_files.size(), 1u);
}

TEST(HfModel, OutputConfigSetsTheDtype) {
  const std::string in = R"({"model_type": "llama", "torch_dtype": "float32", "hidden_size": 64,
                             "num_attention_heads": 4, "num_hidden_layers": 1})";
  const HfModel m = BuildHfModel(in, "bf16");
  const std::string out = OutputConfigJson(in, m);
  EXPECT_NE(out.find("\"torch_dtype\": \"bfloat16\""), std::string::npos);
  EXPECT_NE(out.find("\"dtype\": \"bfloat16\""), std::string::npos);
  EXPECT_LT(out.find("model_type"), out.find("hidden_size"));  // key order kept
}

}  // namespace
}  // namespace fanfill::hf
