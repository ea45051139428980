#include "tools/fanfill_cli/hf_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "tools/fanfill_cli/formats.h"

namespace fanfill::hf {
namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void Fail(const std::string& message) {
  throw std::invalid_argument("config.json: " + message);
}

// A config field: the key, or its transformers attribute_map alias.
const Json* Find(const Json& cfg, std::string_view key, std::string_view alias = {}) {
  auto it = cfg.find(std::string(key));
  if (it != cfg.end() && !it->is_null()) return &*it;
  if (!alias.empty()) {
    it = cfg.find(std::string(alias));
    if (it != cfg.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

// A positive integer field; `fallback` when absent (nullopt: required).
int64_t Int(const Json& cfg, std::string_view key, std::optional<int64_t> fallback,
            std::string_view alias = {}) {
  const Json* v = Find(cfg, key, alias);
  if (v == nullptr) {
    if (!fallback) Fail("missing field '" + std::string(key) + "'");
    return *fallback;
  }
  if (!v->is_number_integer() || v->get<int64_t>() <= 0) {
    Fail("field '" + std::string(key) + "' must be a positive integer (got " + v->dump() + ")");
  }
  return v->get<int64_t>();
}

bool Bool(const Json& cfg, std::string_view key, bool fallback) {
  const Json* v = Find(cfg, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) Fail("field '" + std::string(key) + "' must be true or false (got " + v->dump() + ")");
  return v->get<bool>();
}

// config.initializer_range; `absent` when the field is absent: the config
// class's default, 0.02 but for Starcoder2Config's 0.018042. `or_default`:
// `config.initializer_range or 0.02`, as the base
// PreTrainedModel._init_weights (Linear, Embedding); the families' own
// _init_weights (GPT-2's Conv1D and c_proj, Mixtral's experts and router) use
// the raw value, so there initializer_range 0 gives zeros.
double InitRange(const Json& cfg, bool or_default = true, double absent = 0.02) {
  const Json* v = Find(cfg, "initializer_range");
  if (v == nullptr) return absent;
  if (!v->is_number() || !(v->get<double>() >= 0) || !std::isfinite(v->get<double>())) {
    Fail("field 'initializer_range' must be a non-negative number (got " + v->dump() + ")");
  }
  const double r = v->get<double>();
  return r == 0 && or_default ? 0.02 : r;
}

// a * b and a + b for the positive sizes of a config, refused where they
// overflow int64.
[[noreturn]] void SizeOverflow(int64_t a, const char* op, int64_t b, const char* what) {
  Fail(std::string(what) + " (" + std::to_string(a) + op + std::to_string(b) +
       ") overflows a 64-bit size");
}
int64_t Mul(int64_t a, int64_t b, const char* what) {
  int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) SizeOverflow(a, " * ", b, what);
  return product;
}
int64_t Add(int64_t a, int64_t b, const char* what) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) SizeOverflow(a, " + ", b, what);
  return sum;
}

std::string Normal(double std) {
  char text[64];
  std::snprintf(text, sizeof(text), "normal(mean=0, std=%.17g)", std);
  return text;
}

struct DTypeChoice {
  DType dtype;
  const char* name;
};

DTypeChoice ChooseDType(const Json& cfg, std::string_view requested) {
  std::string text(requested);
  std::string field = "--dtype";
  if (text.empty()) {
    for (const char* key : {"dtype", "torch_dtype"}) {
      const Json* v = Find(cfg, key);
      if (v == nullptr) continue;
      if (!v->is_string()) Fail(std::string("field '") + key + "' must be a string (got " + v->dump() + ")");
      text = v->get<std::string>();
      field = std::string("config.json field '") + key + "'";
      break;
    }
  }
  if (text.empty() || text == "f32" || text == "float32" || text == "float") {
    return {DType::kF32, "float32"};
  }
  if (text == "bf16" || text == "bfloat16") return {DType::kBF16, "bfloat16"};
  if (text == "f16" || text == "float16" || text == "half") return {DType::kF16, "float16"};
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.find("fp8") != std::string::npos || lower.find("float8") != std::string::npos ||
      lower.find("e4m3") != std::string::npos || lower.find("e5m2") != std::string::npos) {
    throw std::invalid_argument(field + " is '" + text +
                                "': FP8 checkpoints are not supported (they need scales per "
                                "tensor or block); write bf16, f16 or f32");
  }
  throw std::invalid_argument(field + " is '" + text + "': fanfill hf writes bf16, f16 or f32");
}

// transformers.core_model_loading.dot_natural_key: split on '.', numbers
// numerically before text, text with a numeric suffix after the bare text.
using KeyPart = std::tuple<int, std::string, int, uint64_t>;
std::vector<KeyPart> DotNaturalKey(std::string_view s) {
  std::vector<KeyPart> parts;
  size_t begin = 0;
  while (true) {
    const size_t dot = std::min(s.find('.', begin), s.size());
    const std::string part(s.substr(begin, dot - begin));
    const bool all_digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (all_digits) {
      parts.emplace_back(0, "", 0, std::stoull(part));
    } else {
      size_t cut = part.size();
      while (cut > 0 && part[cut - 1] >= '0' && part[cut - 1] <= '9') --cut;
      if (cut < part.size()) {
        parts.emplace_back(1, part.substr(0, cut), 1, std::stoull(part.substr(cut)));
      } else {
        parts.emplace_back(1, part, 0, 0);
      }
    }
    if (dot == s.size()) break;
    begin = dot + 1;
  }
  return parts;
}

// Builds the lists. A parameter of the running model is a source; each entry
// (one runtime parameter) becomes one or more checkpoint tensors.
class Builder {
 public:
  Builder(HfModel& model, DType dtype) : model_(model), dtype_(dtype) {}

  // One runtime parameter saved under `ckpt` (default: its own name).
  void Param(const std::string& name, std::vector<int64_t> shape, std::string scheme,
             Layout layout = Layout::kOI, std::optional<int64_t> zero_row = std::nullopt,
             std::string ckpt = {}) {
    const size_t source = AddSource(name, shape, std::move(scheme), layout);
    HfTensor t;
    t.name = ckpt.empty() ? name : std::move(ckpt);
    t.shape = std::move(shape);
    t.source = source;
    if (zero_row) {
      const auto row = static_cast<uint64_t>(t.shape[1]);
      t.zero_first = static_cast<uint64_t>(*zero_row) * row;
      t.zero_count = row;
    }
    entries_.push_back({name, {std::move(t)}});
  }

  void Linear(const std::string& prefix, int64_t out, int64_t in, bool bias, double std) {
    Param(prefix + ".weight", {out, in}, Normal(std));
    if (bias) Param(prefix + ".bias", {out}, "zeros");
  }
  // GPT-2's Conv1D: weight [in, out].
  void Conv1D(const std::string& prefix, int64_t in, int64_t out, double std) {
    Param(prefix + ".weight", {in, out}, Normal(std), Layout::kIO);
    Param(prefix + ".bias", {out}, "zeros");
  }
  void Norm(const std::string& prefix, int64_t dim, bool bias, const char* weight_scheme = "ones") {
    Param(prefix + ".weight", {dim}, weight_scheme);
    if (bias) Param(prefix + ".bias", {dim}, "zeros");
  }
  void Embedding(const std::string& name, int64_t rows, int64_t dim, double std,
                 std::optional<int64_t> padding_idx) {
    Param(name, {rows, dim}, Normal(std), Layout::kOI, padding_idx);
  }

  // A fused runtime parameter saved as slices: each group is one storage of
  // save_pretrained's reverted state dict; slices are (checkpoint name, shape,
  // first element in the source).
  struct Slice {
    std::string name;
    std::vector<int64_t> shape;
    uint64_t first;
  };
  void Fused(const std::string& name, std::vector<int64_t> shape, std::string scheme,
             std::vector<std::vector<Slice>> groups) {
    const size_t source = AddSource(name, shape, std::move(scheme), Layout::kOI);
    Entry entry{name, {}};
    for (std::vector<Slice>& group : groups) {
      const size_t storage = next_storage_++;
      for (Slice& s : group) {
        HfTensor t;
        t.name = std::move(s.name);
        t.shape = std::move(s.shape);
        t.source = source;
        t.source_first = s.first;
        t.storage = storage;
        entry.tensors.push_back(std::move(t));
      }
    }
    entries_.push_back(std::move(entry));
  }

  // revert_weight_conversion sorts the state dict by dot_natural_key.
  void SortByRuntimeName() {
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return DotNaturalKey(a.runtime) < DotNaturalKey(b.runtime);
    });
  }

  void Finish() {
    for (Entry& e : entries_) {
      for (HfTensor& t : e.tensors) {
        if (t.storage == kOwnStorage) t.storage = next_storage_++;
        model_.total_size += ElementCount(t.shape) * DTypeSize(dtype_);
        model_.tensors.push_back(std::move(t));
      }
    }
    for (const TensorSpec& s : model_.sources.tensors) model_.total_parameters += ElementCount(s.shape);
  }

 private:
  static constexpr size_t kOwnStorage = 0;

  size_t AddSource(const std::string& name, const std::vector<int64_t>& shape, std::string scheme,
                   Layout layout) {
    TensorSpec spec;
    spec.name = name;
    spec.shape = shape;
    spec.layout = layout;
    spec.scheme = std::move(scheme);
    spec.dtype = dtype_;
    model_.sources.tensors.push_back(std::move(spec));
    return model_.sources.tensors.size() - 1;
  }

  struct Entry {
    std::string runtime;
    std::vector<HfTensor> tensors;
  };
  HfModel& model_;
  DType dtype_;
  std::vector<Entry> entries_;
  size_t next_storage_ = 1;
};

// nn.Embedding's padding_idx = pad_token_id: -rows <= p < rows, negative
// counted from the end. `fallback`: the config class's default when the
// field is absent (Gemma and BERT: 0, Phi3: 32000), checked alike (Phi3's is
// outside a small vocabulary, where nn.Embedding raises too; it was written
// past the tensor before); an explicit null is none.
std::optional<int64_t> PaddingIdx(const Json& cfg, int64_t rows, std::optional<int64_t> fallback = std::nullopt) {
  const Json* v = Find(cfg, "pad_token_id");
  if (v == nullptr && (cfg.contains("pad_token_id") || !fallback)) return std::nullopt;
  if (v != nullptr && !v->is_number_integer()) {
    Fail("field 'pad_token_id' must be an integer or null (got " + v->dump() + ")");
  }
  const int64_t p = v != nullptr ? v->get<int64_t>() : *fallback;
  if (p >= rows || p < -rows) {
    Fail("field 'pad_token_id' (" + std::to_string(p) + ") is outside the vocabulary (vocab_size " +
         std::to_string(rows) + ")");
  }
  return p < 0 ? p + rows : p;
}

void RequireDivides(int64_t a, const char* a_name, int64_t b, const char* b_name, const char* extra = "") {
  if (b % a != 0) {
    Fail(std::string("'") + a_name + "' (" + std::to_string(a) + ") does not divide '" + b_name +
         "' (" + std::to_string(b) + ")" + extra);
  }
}

void RefuseCrossAttention(const Json& cfg) {
  if (Bool(cfg, "add_cross_attention", false)) {
    Fail("field 'add_cross_attention' is true: cross-attention layers are not supported");
  }
}

struct ClassChoice {
  bool head;  // the LM head class (vs the bare model)
};

ClassChoice ChooseClass(HfModel& model, const Json& cfg, const std::string& head_class,
                        const std::string& base_class) {
  const Json* arch = Find(cfg, "architectures");
  std::string name = head_class;
  if (arch != nullptr) {
    if (!arch->is_array() || arch->empty() || !(*arch)[0].is_string()) {
      Fail("field 'architectures' must be a non-empty list of class names (got " + arch->dump() + ")");
    }
    name = (*arch)[0].get<std::string>();
  }
  if (name != head_class && name != base_class) {
    Fail("architectures[0] is '" + name + "': for model_type '" + model.model_type +
         "' fanfill hf writes " + head_class + " or " + base_class);
  }
  model.architecture = name;
  return {name == head_class};
}

// Llama, Mistral, Qwen2, Qwen3, Qwen3-MoE, Gemma, Gemma2, Gemma3 (text),
// Phi3, OLMo2, Starcoder2 and Mixtral: decoder layers of attention, MLP (or
// sparse MoE) and norms (Starcoder2's LayerNorms, the others' RMSNorms).
void BuildLlamaLike(HfModel& model, const Json& cfg, Builder& b, const std::string& cls) {
  const std::string& type = model.model_type;
  const bool gemma2 = type == "gemma2", qwen2 = type == "qwen2", mixtral = type == "mixtral";
  const bool gemma3 = type == "gemma3_text";
  const bool gemma = type == "gemma" || gemma2 || gemma3;  // Gemma's rules, which 2 and 3 keep
  const bool qwen3_moe = type == "qwen3_moe", phi3 = type == "phi3";
  const bool olmo2 = type == "olmo2", starcoder2 = type == "starcoder2";
  const bool qwen3 = type == "qwen3" || qwen3_moe;  // Qwen3's attention, which Qwen3-MoE keeps
  // Gemma3's text-only classes: Gemma3ForCausalLM and Gemma3TextModel (Gemma3Model is
  // the multimodal one).
  const ClassChoice choice =
      ChooseClass(model, cfg, cls + "ForCausalLM", gemma3 ? "Gemma3TextModel" : cls + "Model");
  struct Defaults {
    int64_t vocab, hidden, inter, layers, heads, kv;
    bool tie;
  };
  const Defaults d = type == "llama"     ? Defaults{32000, 4096, 11008, 32, 32, 0, false}
                     : type == "mistral" ? Defaults{32000, 4096, 14336, 32, 32, 8, false}
                     : qwen3_moe         ? Defaults{151936, 2048, 6144, 24, 32, 4, false}
                     : qwen2 || qwen3    ? Defaults{151936, 4096, 22016, 32, 32, 32, false}
                     : gemma2            ? Defaults{256000, 2304, 9216, 26, 8, 4, true}
                     : gemma3            ? Defaults{262208, 2304, 9216, 26, 8, 4, true}
                     : gemma             ? Defaults{256000, 3072, 24576, 28, 16, 16, true}
                     : phi3              ? Defaults{32064, 3072, 8192, 32, 32, 0, false}
                     : olmo2             ? Defaults{50304, 4096, 11008, 32, 32, 0, false}
                     : starcoder2        ? Defaults{49152, 3072, 12288, 30, 24, 2, true}
                                         : Defaults{32000, 4096, 14336, 32, 32, 8, false};
  const int64_t vocab = Int(cfg, "vocab_size", d.vocab);
  const int64_t hidden = Int(cfg, "hidden_size", d.hidden);
  const int64_t inter = Int(cfg, "intermediate_size", d.inter);
  const int64_t layers = Int(cfg, "num_hidden_layers", d.layers);
  const int64_t heads = Int(cfg, "num_attention_heads", d.heads);
  // An explicit null: Llama's, Qwen2's, Qwen3's, Phi3's and OLMo2's configs
  // set num_attention_heads (their __post_init__); the others' refuse it.
  const bool kv_null = cfg.contains("num_key_value_heads") && cfg["num_key_value_heads"].is_null();
  if (kv_null && type != "llama" && !qwen2 && type != "qwen3" && !phi3 && !olmo2) {
    Fail("field 'num_key_value_heads' must be a positive integer (got null)");
  }
  const int64_t kv = Int(cfg, "num_key_value_heads", d.kv && !kv_null ? d.kv : heads);
  int64_t head_dim = 0;
  if (Find(cfg, "head_dim") != nullptr) {
    head_dim = Int(cfg, "head_dim", std::nullopt);
  } else if (gemma) {
    head_dim = 256;
  } else if (type == "qwen3") {
    head_dim = 128;  // Qwen3Config's default, not hidden / heads (Qwen3-MoE's is)
  } else if (phi3 || qwen3_moe || olmo2 || starcoder2) {
    // Their attention takes hidden // heads, floored, with no check.
    head_dim = hidden / heads;
    if (head_dim == 0) {
      Fail("'num_attention_heads' (" + std::to_string(heads) + ") exceeds 'hidden_size' (" +
           std::to_string(hidden) + "): head_dim would be 0");
    }
  } else {
    RequireDivides(heads, "num_attention_heads", hidden, "hidden_size", " and there is no 'head_dim'");
    head_dim = hidden / heads;
  }
  if (gemma2 || gemma3) {  // their configs' validate_architecture, head_dim given or not
    RequireDivides(heads, "num_attention_heads", hidden, "hidden_size");
  }
  const std::string kv_default = Find(cfg, "num_key_value_heads") == nullptr && d.kv
                                     ? " (num_key_value_heads is absent: " + std::to_string(d.kv) +
                                           " is the " + cls + "Config default; set it)"
                                     : "";
  RequireDivides(kv, "num_key_value_heads", heads, "num_attention_heads", kv_default.c_str());
  const bool tie = Bool(cfg, "tie_word_embeddings", d.tie);
  // Starcoder2: use_bias on every Linear but lm_head (and its LayerNorms have biases).
  const bool use_bias = starcoder2 && Bool(cfg, "use_bias", true);
  const bool attention_bias =
      use_bias || ((type == "llama" || gemma || qwen3 || olmo2) && Bool(cfg, "attention_bias", false));
  const bool mlp_bias = type == "llama" && Bool(cfg, "mlp_bias", false);
  int64_t experts = 0;
  int64_t moe_inter = inter;  // each expert's intermediate size
  // Qwen3-MoE: a layer is sparse unless listed in mlp_only_layers or off the
  // decoder_sparse_step (Qwen3MoeDecoderLayer); the others are dense MLPs.
  int64_t sparse_step = 1;
  std::set<int64_t> mlp_only;
  if (mixtral || qwen3_moe) {
    // num_experts is an attribute_map alias of num_local_experts in both
    // configs (num_local_experts wins where both are set). Qwen3-MoE takes 0
    // experts: every layer dense.
    const Json* given = Find(cfg, "num_local_experts", "num_experts");
    const bool none = qwen3_moe && given != nullptr && given->is_number_integer() &&
                      given->get<int64_t>() == 0;
    experts = none ? 0 : Int(cfg, "num_local_experts", mixtral ? 8 : 128, "num_experts");
    const int64_t top_k = Int(cfg, "num_experts_per_tok", mixtral ? 2 : 8);
    if (experts > 0 && top_k > experts) {
      Fail("'num_experts_per_tok' (" + std::to_string(top_k) + ") is larger than 'num_local_experts' (" +
           std::to_string(experts) + ")");
    }
  }
  if (qwen3_moe) {
    moe_inter = Int(cfg, "moe_intermediate_size", 768);
    sparse_step = Int(cfg, "decoder_sparse_step", 1);
    if (const Json* v = Find(cfg, "mlp_only_layers"); v != nullptr) {
      if (!v->is_array() || !std::all_of(v->begin(), v->end(), [](const Json& x) { return x.is_number_integer(); })) {
        Fail("field 'mlp_only_layers' must be a list of layer indices (got " + v->dump() + ")");
      }
      for (const Json& x : *v) mlp_only.insert(x.get<int64_t>());
    }
  }
  const double range_default = starcoder2 ? 0.018042 : 0.02;  // the config classes'
  const double std = InitRange(cfg, /*or_default=*/true, range_default);
  // MixtralPreTrainedModel's and Qwen3MoePreTrainedModel's experts and router
  const double expert_std = InitRange(cfg, /*or_default=*/false, range_default);
  const int64_t q_out = Mul(heads, head_dim, "num_attention_heads * head_dim");
  const int64_t kv_out = Mul(kv, head_dim, "num_key_value_heads * head_dim");
  const char* norm_scheme = gemma ? "zeros" : "ones";  // Gemma's RMSNorm multiplies by (1 + weight)
  const std::string p = choice.head ? "model." : "";

  // The config classes' pad_token_id defaults: Gemma's (1, 2 and 3) 0, Phi3's 32000,
  // OLMo2's 1; the others' none.
  const std::optional<int64_t> padding = gemma   ? PaddingIdx(cfg, vocab, 0)
                                         : phi3  ? PaddingIdx(cfg, vocab, 32000)
                                         : olmo2 ? PaddingIdx(cfg, vocab, 1)
                                                 : PaddingIdx(cfg, vocab);
  b.Embedding(p + "embed_tokens.weight", vocab, hidden, std, padding);
  for (int64_t l = 0; l < layers; ++l) {
    const std::string lp = p + "layers." + std::to_string(l) + ".";
    if (phi3) {  // o_proj registered first; q, k and v fused
      b.Linear(lp + "self_attn.o_proj", hidden, q_out, false, std);
      const int64_t qkv_out =
          Add(q_out, Mul(2, kv_out, "2 * num_key_value_heads * head_dim"), "qkv_proj's rows");
      b.Linear(lp + "self_attn.qkv_proj", qkv_out, hidden, false, std);
    } else {
      b.Linear(lp + "self_attn.q_proj", q_out, hidden, attention_bias || qwen2, std);
      b.Linear(lp + "self_attn.k_proj", kv_out, hidden, attention_bias || qwen2, std);
      b.Linear(lp + "self_attn.v_proj", kv_out, hidden, attention_bias || qwen2, std);
      b.Linear(lp + "self_attn.o_proj", hidden, q_out, attention_bias, std);
    }
    if (qwen3 || gemma3) {  // RMSNorms over each head's head_dim features of q and k
      b.Norm(lp + "self_attn.q_norm", head_dim, false, norm_scheme);
      b.Norm(lp + "self_attn.k_norm", head_dim, false, norm_scheme);
    } else if (olmo2) {  // RMSNorms over all of q's and k's features
      b.Norm(lp + "self_attn.q_norm", q_out, false, norm_scheme);
      b.Norm(lp + "self_attn.k_norm", kv_out, false, norm_scheme);
    }
    const bool sparse =
        mixtral || (qwen3_moe && experts > 0 && !mlp_only.count(l) && (l + 1) % sparse_step == 0);
    if (sparse) {
      // The router [experts, hidden] and the fused experts, saved per expert:
      // Mixtral's block_sparse_moe.gate and experts.e.{w1, w3, w2}, Qwen3-MoE's
      // mlp.gate and mlp.experts.e.{gate_proj, up_proj, down_proj}.
      const std::string ck = lp + (mixtral ? "block_sparse_moe." : "mlp.");
      const char* gate_name = mixtral ? "w1" : "gate_proj";
      const char* up_name = mixtral ? "w3" : "up_proj";
      const char* down_name = mixtral ? "w2" : "down_proj";
      b.Param(lp + "mlp.gate.weight", {experts, hidden}, Normal(expert_std), Layout::kOI,
              std::nullopt, ck + "gate.weight");
      std::vector<Builder::Slice> w1, w3, w2;
      // Each expert's slices of the fused [experts, 2 inter, hidden] source
      // (whose element count Finish checks against 2^64, so no offset wraps).
      const auto ih = static_cast<uint64_t>(Mul(moe_inter, hidden, "intermediate_size * hidden_size"));
      for (int64_t e = 0; e < experts; ++e) {
        const std::string en = ck + "experts." + std::to_string(e) + ".";
        const auto ue = static_cast<uint64_t>(e);
        w1.push_back({en + gate_name + ".weight", {moe_inter, hidden}, ue * 2 * ih});
        w3.push_back({en + up_name + ".weight", {moe_inter, hidden}, ue * 2 * ih + ih});
        w2.push_back({en + down_name + ".weight", {hidden, moe_inter}, ue * ih});
      }
      b.Fused(lp + "mlp.experts.gate_up_proj",
              {experts, Mul(2, moe_inter, "2 * intermediate_size"), hidden}, Normal(expert_std),
              {std::move(w1), std::move(w3)});
      b.Fused(lp + "mlp.experts.down_proj", {experts, hidden, moe_inter}, Normal(expert_std),
              {std::move(w2)});
    } else if (starcoder2) {  // GPT-style MLP
      b.Linear(lp + "mlp.c_fc", inter, hidden, use_bias, std);
      b.Linear(lp + "mlp.c_proj", hidden, inter, use_bias, std);
    } else if (phi3) {  // gate and up fused
      b.Linear(lp + "mlp.gate_up_proj", Mul(2, inter, "2 * intermediate_size"), hidden, false, std);
      b.Linear(lp + "mlp.down_proj", hidden, inter, false, std);
    } else {
      b.Linear(lp + "mlp.gate_proj", inter, hidden, mlp_bias, std);
      b.Linear(lp + "mlp.up_proj", inter, hidden, mlp_bias, std);
      b.Linear(lp + "mlp.down_proj", hidden, inter, mlp_bias, std);
    }
    if (!olmo2) b.Norm(lp + "input_layernorm", hidden, starcoder2, norm_scheme);  // OLMo2: none
    b.Norm(lp + "post_attention_layernorm", hidden, starcoder2, norm_scheme);
    if (gemma2 || gemma3) {  // Gemma2's and Gemma3's sandwich norms around the MLP
      b.Norm(lp + "pre_feedforward_layernorm", hidden, false, norm_scheme);
    }
    if (gemma2 || gemma3 || olmo2) {  // after the MLP
      b.Norm(lp + "post_feedforward_layernorm", hidden, false, norm_scheme);
    }
  }
  b.Norm(p + "norm", hidden, starcoder2, norm_scheme);
  if (choice.head && !tie) b.Linear("lm_head", vocab, hidden, false, std);
  // Mixtral and Qwen3-MoE have a conversion mapping (revert_weight_conversion).
  if (mixtral || qwen3_moe) b.SortByRuntimeName();
}

void BuildGpt2(HfModel& model, const Json& cfg, Builder& b) {
  const ClassChoice choice = ChooseClass(model, cfg, "GPT2LMHeadModel", "GPT2Model");
  RefuseCrossAttention(cfg);
  const int64_t vocab = Int(cfg, "vocab_size", 50257);
  const int64_t positions = Int(cfg, "n_positions", 1024, "max_position_embeddings");
  const int64_t hidden = Int(cfg, "n_embd", 768, "hidden_size");
  const int64_t layers = Int(cfg, "n_layer", 12, "num_hidden_layers");
  const int64_t heads = Int(cfg, "n_head", 12, "num_attention_heads");
  const int64_t inner = Int(cfg, "n_inner", Mul(4, hidden, "4 * n_embd"));
  RequireDivides(heads, "n_head", hidden, "n_embd");
  const bool tie = Bool(cfg, "tie_word_embeddings", true);
  const double std = InitRange(cfg);  // wte, wpe, lm_head (the base rule)
  // GPT2PreTrainedModel._init_weights, with the raw initializer_range: Conv1D
  // weights, and c_proj of attention and MLP initializer_range / sqrt(2 n_layer).
  const double conv_std = InitRange(cfg, /*or_default=*/false);
  const double proj_std = conv_std / std::sqrt(2.0 * static_cast<double>(layers));
  const std::string p = choice.head ? "transformer." : "";
  b.Embedding(p + "wte.weight", vocab, hidden, std, std::nullopt);
  b.Embedding(p + "wpe.weight", positions, hidden, std, std::nullopt);
  for (int64_t l = 0; l < layers; ++l) {
    const std::string lp = p + "h." + std::to_string(l) + ".";
    b.Norm(lp + "ln_1", hidden, true);
    b.Conv1D(lp + "attn.c_attn", hidden, Mul(3, hidden, "3 * n_embd"), conv_std);
    b.Conv1D(lp + "attn.c_proj", hidden, hidden, proj_std);
    b.Norm(lp + "ln_2", hidden, true);
    b.Conv1D(lp + "mlp.c_fc", hidden, inner, conv_std);
    b.Conv1D(lp + "mlp.c_proj", inner, hidden, proj_std);
  }
  b.Norm(p + "ln_f", hidden, true);
  if (choice.head && !tie) b.Linear("lm_head", vocab, hidden, false, std);
}

void BuildGptNeox(HfModel& model, const Json& cfg, Builder& b) {
  const ClassChoice choice = ChooseClass(model, cfg, "GPTNeoXForCausalLM", "GPTNeoXModel");
  const int64_t vocab = Int(cfg, "vocab_size", 50432);
  const int64_t hidden = Int(cfg, "hidden_size", 6144);
  const int64_t layers = Int(cfg, "num_hidden_layers", 44);
  const int64_t heads = Int(cfg, "num_attention_heads", 64);
  const int64_t inter = Int(cfg, "intermediate_size", 24576);
  RequireDivides(heads, "num_attention_heads", hidden, "hidden_size");
  const bool bias = Bool(cfg, "attention_bias", true);
  const bool tie = Bool(cfg, "tie_word_embeddings", false);
  const double std = InitRange(cfg);
  const std::string p = choice.head ? "gpt_neox." : "";
  b.Embedding(p + "embed_in.weight", vocab, hidden, std, std::nullopt);
  for (int64_t l = 0; l < layers; ++l) {
    const std::string lp = p + "layers." + std::to_string(l) + ".";
    b.Norm(lp + "input_layernorm", hidden, true);
    b.Norm(lp + "post_attention_layernorm", hidden, true);
    b.Linear(lp + "attention.query_key_value", Mul(3, hidden, "3 * hidden_size"), hidden, bias,
             std);  // fused q, k, v
    b.Linear(lp + "attention.dense", hidden, hidden, bias, std);
    b.Linear(lp + "mlp.dense_h_to_4h", inter, hidden, true, std);
    b.Linear(lp + "mlp.dense_4h_to_h", hidden, inter, true, std);
  }
  b.Norm(p + "final_layer_norm", hidden, true);
  if (choice.head) {
    // The runtime lm_head is saved as embed_out (conversion mapping of
    // GPTNeoXForCausalLM), so its state dict is reverted, hence sorted.
    if (!tie) b.Param("lm_head.weight", {vocab, hidden}, Normal(std), Layout::kOI, std::nullopt, "embed_out.weight");
    b.SortByRuntimeName();
  }
}

void BuildBert(HfModel& model, const Json& cfg, Builder& b) {
  const ClassChoice choice = ChooseClass(model, cfg, "BertForMaskedLM", "BertModel");
  RefuseCrossAttention(cfg);
  const int64_t vocab = Int(cfg, "vocab_size", 30522);
  const int64_t hidden = Int(cfg, "hidden_size", 768);
  const int64_t layers = Int(cfg, "num_hidden_layers", 12);
  const int64_t heads = Int(cfg, "num_attention_heads", 12);
  const int64_t inter = Int(cfg, "intermediate_size", 3072);
  const int64_t positions = Int(cfg, "max_position_embeddings", 512);
  const int64_t types = Int(cfg, "type_vocab_size", 2);
  RequireDivides(heads, "num_attention_heads", hidden, "hidden_size");
  const bool tie = Bool(cfg, "tie_word_embeddings", true);
  const double std = InitRange(cfg);
  const std::string p = choice.head ? "bert." : "";
  b.Embedding(p + "embeddings.word_embeddings.weight", vocab, hidden, std, PaddingIdx(cfg, vocab, 0));
  b.Embedding(p + "embeddings.position_embeddings.weight", positions, hidden, std, std::nullopt);
  b.Embedding(p + "embeddings.token_type_embeddings.weight", types, hidden, std, std::nullopt);
  b.Norm(p + "embeddings.LayerNorm", hidden, true);
  for (int64_t l = 0; l < layers; ++l) {
    const std::string lp = p + "encoder.layer." + std::to_string(l) + ".";
    b.Linear(lp + "attention.self.query", hidden, hidden, true, std);
    b.Linear(lp + "attention.self.key", hidden, hidden, true, std);
    b.Linear(lp + "attention.self.value", hidden, hidden, true, std);
    b.Linear(lp + "attention.output.dense", hidden, hidden, true, std);
    b.Norm(lp + "attention.output.LayerNorm", hidden, true);
    b.Linear(lp + "intermediate.dense", inter, hidden, true, std);
    b.Linear(lp + "output.dense", hidden, inter, true, std);
    b.Norm(lp + "output.LayerNorm", hidden, true);
  }
  if (!choice.head) {
    b.Linear("pooler.dense", hidden, hidden, true, std);
    return;
  }
  // BertOnlyMLMHead: the prediction bias (zeros, BertPreTrainedModel._init_weights)
  // is registered before the transform; tied, decoder.bias is tied to it.
  b.Param("cls.predictions.bias", {vocab}, "zeros");
  b.Linear("cls.predictions.transform.dense", hidden, hidden, true, std);
  b.Norm("cls.predictions.transform.LayerNorm", hidden, true);
  // Untied, the decoder's bias is its own parameter (zeros), saved after its weight.
  if (!tie) b.Linear("cls.predictions.decoder", vocab, hidden, /*bias=*/true, std);
}

}  // namespace

HfModel BuildHfModel(std::string_view config_json, std::string_view dtype) {
  Json cfg;
  try {
    cfg = Json::parse(config_json);
  } catch (const Json::parse_error& e) {
    Fail(std::string("not valid JSON: ") + e.what());
  }
  if (!cfg.is_object()) Fail("expected a JSON object");
  const Json* type = Find(cfg, "model_type");
  if (type == nullptr) Fail("missing field 'model_type'");
  if (!type->is_string()) Fail("field 'model_type' must be a string (got " + type->dump() + ")");
  if (Find(cfg, "quantization_config") != nullptr) {
    Fail("field 'quantization_config' is set, but fanfill hf writes unquantized weights "
         "(from_pretrained would read them as a quantized checkpoint): remove the field");
  }
  HfModel model;
  model.model_type = type->get<std::string>();
  const DTypeChoice choice = ChooseDType(cfg, dtype);
  model.dtype = choice.dtype;
  model.dtype_name = choice.name;
  Builder b(model, model.dtype);
  static const std::map<std::string, std::string> kLlamaLike = {
      {"llama", "Llama"}, {"mistral", "Mistral"}, {"qwen2", "Qwen2"},     {"qwen3", "Qwen3"},
      {"qwen3_moe", "Qwen3Moe"}, {"gemma", "Gemma"}, {"gemma2", "Gemma2"},
      {"gemma3_text", "Gemma3"}, {"phi3", "Phi3"},   {"olmo2", "Olmo2"},
      {"starcoder2", "Starcoder2"}, {"mixtral", "Mixtral"}};
  if (auto it = kLlamaLike.find(model.model_type); it != kLlamaLike.end()) {
    BuildLlamaLike(model, cfg, b, it->second);
  } else if (model.model_type == "gpt2") {
    BuildGpt2(model, cfg, b);
  } else if (model.model_type == "gpt_neox") {
    BuildGptNeox(model, cfg, b);
  } else if (model.model_type == "bert") {
    BuildBert(model, cfg, b);
  } else {
    Fail("unknown model_type '" + model.model_type +
         "' (fanfill hf knows bert, gemma, gemma2, gemma3_text, gpt2, gpt_neox, llama, mistral, "
         "mixtral, olmo2, phi3, qwen2, qwen3, qwen3_moe, starcoder2)");
  }
  b.Finish();
  return model;
}

uint64_t ParseShardSize(std::string_view text) {
  std::string s(text);
  const auto bad = [&](const std::string& why) -> uint64_t {
    throw std::invalid_argument("bad --max-shard-size '" + std::string(text) + "': " + why +
                                " (expected e.g. 5GB, 500MB, 10KB, 1TB or a number of bytes)");
  };
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.empty()) return bad("empty");
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (s.size() > 19) return bad("too large");
    const uint64_t v = std::stoull(s);
    if (v == 0) return bad("must be positive");
    return v;
  }
  if (s.size() < 3) return bad("no unit");
  std::string unit = s.substr(s.size() - 2);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::map<std::string, double> kUnits = {{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}};
  const auto it = kUnits.find(unit);
  if (it == kUnits.end()) return bad("unit '" + unit + "' is not KB, MB, GB or TB");
  std::string number = s.substr(0, s.size() - 2);
  while (!number.empty() && std::isspace(static_cast<unsigned char>(number.back()))) number.pop_back();
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(number, &used);
  } catch (const std::exception&) {
    return bad("not a number");
  }
  if (used != number.size() || !(value > 0) || !std::isfinite(value)) return bad("not a positive number");
  const double bytes = value * it->second;  // int(value * multiplier), as huggingface_hub
  if (bytes < 1 || bytes >= 1.8e19) return bad("out of range");
  return static_cast<uint64_t>(bytes);
}

std::vector<HfShard> SplitShards(const HfModel& model, uint64_t max_shard_size) {
  const uint64_t elem = DTypeSize(model.dtype);
  std::map<size_t, uint64_t> storage_size;
  for (const HfTensor& t : model.tensors) storage_size[t.storage] += ElementCount(t.shape) * elem;
  std::vector<std::vector<size_t>> shards;
  std::vector<size_t> current;
  uint64_t current_size = 0;
  std::map<size_t, std::vector<size_t>> later;  // storage -> its other tensors
  std::map<size_t, size_t> first_of;            // storage -> its first tensor
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    const size_t st = model.tensors[i].storage;
    if (first_of.count(st)) {
      later[st].push_back(i);
      continue;
    }
    first_of[st] = i;
    const uint64_t size = storage_size[st];
    if (size > max_shard_size) {
      shards.push_back({i});
      continue;
    }
    if (current_size + size > max_shard_size) {
      shards.push_back(std::move(current));
      current.clear();
      current_size = 0;
    }
    current.push_back(i);
    current_size += size;
  }
  if (!current.empty()) shards.push_back(std::move(current));
  for (auto& [st, members] : later) {
    for (std::vector<size_t>& shard : shards) {
      if (std::find(shard.begin(), shard.end(), first_of[st]) != shard.end()) {
        shard.insert(shard.end(), members.begin(), members.end());
        break;
      }
    }
  }
  std::vector<HfShard> out;
  for (size_t k = 0; k < shards.size(); ++k) {
    HfShard s;
    if (shards.size() == 1) {
      s.file = "model.safetensors";
    } else {
      char name[64];
      std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", k + 1, shards.size());
      s.file = name;
    }
    s.tensors = std::move(shards[k]);
    // safetensors orders a file's tensors by dtype (one here), then name.
    std::sort(s.tensors.begin(), s.tensors.end(),
              [&](size_t a, size_t b) { return model.tensors[a].name < model.tensors[b].name; });
    out.push_back(std::move(s));
  }
  return out;
}

HfShardLayout ShardLayout(const HfModel& model, const HfShard& shard) {
  std::vector<cli::SafetensorsEntry> entries;
  HfShardLayout layout;
  uint64_t offset = 0;
  for (size_t i : shard.tensors) {
    const HfTensor& t = model.tensors[i];
    const uint64_t bytes = ElementCount(t.shape) * DTypeSize(model.dtype);
    entries.push_back({t.name, model.dtype, t.shape, offset, offset + bytes});
    layout.offsets.push_back(offset);
    offset += bytes;
  }
  layout.header = cli::SafetensorsHeader(entries, {{"format", "pt"}});
  for (uint64_t& o : layout.offsets) o += layout.header.size();
  layout.size = layout.header.size() + offset;
  return layout;
}

std::string IndexJson(const HfModel& model, const std::vector<HfShard>& shards) {
  nlohmann::json index;  // std::map: sorted keys, as json.dumps(sort_keys=True)
  index["metadata"]["total_parameters"] = model.total_parameters;
  index["metadata"]["total_size"] = model.total_size;
  index["weight_map"] = nlohmann::json::object();
  for (const HfShard& s : shards) {
    for (size_t i : s.tensors) index["weight_map"][model.tensors[i].name] = s.file;
  }
  return index.dump(2) + "\n";
}

std::string OutputConfigJson(std::string_view config_json, const HfModel& model) {
  Json cfg = Json::parse(config_json);
  cfg["dtype"] = model.dtype_name;
  // As save_pretrained: the class whose weights these are.
  cfg["architectures"] = Json::array({model.architecture});
  if (cfg.contains("torch_dtype")) cfg["torch_dtype"] = model.dtype_name;
  return cfg.dump(2) + "\n";
}

bool IsHfWeightFileName(std::string_view name) {
  if (name == "model.safetensors" || name == "model.safetensors.index.json") return true;
  constexpr std::string_view kPrefix = "model-", kMiddle = "-of-", kSuffix = ".safetensors";
  if (name.size() != kPrefix.size() + 5 + kMiddle.size() + 5 + kSuffix.size() ||
      !name.starts_with(kPrefix) || !name.ends_with(kSuffix) ||
      name.substr(kPrefix.size() + 5, kMiddle.size()) != kMiddle) {
    return false;
  }
  auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(name.substr(kPrefix.size(), 5)) &&
         digits(name.substr(kPrefix.size() + 5 + kMiddle.size(), 5));
}

std::string TensorScheme(const HfModel& model, const HfTensor& tensor) {
  const TensorSpec& src = model.sources.tensors[tensor.source];
  std::string text = src.scheme;
  if (tensor.zero_count) {
    text += ", row " + std::to_string(tensor.zero_first / static_cast<uint64_t>(tensor.shape[1])) + " zero";
  }
  if (src.name != tensor.name) text += " (stream " + src.name + ")";
  return text;
}

}  // namespace fanfill::hf
