"""`fanfill hf` against transformers itself (issue #12).

For a tiny config of every family (hidden 64, 2 layers, vocab 128; 4 experts
for Mixtral) the command's directory is compared with what transformers
makes of the same config.json:

* save_pretrained(from_config(config)) with the same max_shard_size: the same
  files, every safetensors header byte for byte (names, shapes, dtypes,
  offsets, order) and model.safetensors.index.json byte for byte;
* from_pretrained(DIR): no missing, unexpected or mismatched keys, the
  requested dtype, finite logits;
* values: per random tensor a two-sample Kolmogorov-Smirnov test against the
  model's own init (torch's generator) at alpha = 1e-6 per tensor; at most
  ~300 random tensors are tested, so the false-failure budget of the whole
  file is below 3e-4 (Bonferroni). Deterministic tensors (zeros, ones,
  padding rows) must be equal exactly;
* safe_open reads every shard, total_size and weight_map are exact;
* fanfill.torch.init_model on from_config(config) with the same seed, saved
  by save_pretrained, gives the same files byte for byte;
* --threads and --max-shard-size do not change any tensor's bytes.

The command is FANFILL_CLI, else build/fanfill of the source tree
(scripts/test.sh builds it first); without either the tests are skipped with
that reason.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
safetensors = pytest.importorskip("safetensors")
scipy_stats = pytest.importorskip("scipy.stats")
np = pytest.importorskip("numpy")

ROOT = Path(__file__).resolve().parents[2]
CLI = os.environ.get("FANFILL_CLI") or str(ROOT / "build" / "fanfill")
if not os.environ.get("FANFILL_CLI") and not os.path.exists(CLI):
    pytest.skip(
        f"SKIP: no fanfill command (set FANFILL_CLI or build {CLI})", allow_module_level=True
    )

SEED = 20260412
KS_ALPHA = 1e-6
DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}
BASE = dict(
    hidden_size=64,
    num_hidden_layers=2,
    vocab_size=128,
    intermediate_size=128,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
# family -> (config.json fields, --dtype or None (from the config), max_shard_size)
CASES = {
    "llama": (
        dict(BASE, architectures=["LlamaForCausalLM"], pad_token_id=1, attention_bias=True),
        "bf16",
        "40KB",
    ),
    "mistral": (
        dict(
            BASE,
            architectures=["MistralForCausalLM"],
            tie_word_embeddings=True,
            torch_dtype="float16",
        ),
        None,
        "30KB",
    ),
    "qwen2": (dict(BASE, architectures=["Qwen2ForCausalLM"]), "f16", "50KB"),
    # Qwen3: head_dim 128 by default (not hidden / heads), per-head q_norm / k_norm,
    # attention_bias on q/k/v/o.
    "qwen3": (dict(BASE, architectures=["Qwen3ForCausalLM"], attention_bias=True), "bf16",
              "40KB"),
    "qwen3_base": (
        dict(BASE, model_type="qwen3", architectures=["Qwen3Model"], head_dim=16,
             tie_word_embeddings=True),
        "f32",
        None,
    ),
    "gemma": (dict(BASE, architectures=["GemmaForCausalLM"], head_dim=16), "f32", None),
    # Qwen3-MoE: Qwen3's attention (head_dim hidden / heads here), fused experts saved per
    # expert (gate_proj/up_proj/down_proj) and the router; layer 1 dense (mlp_only_layers).
    "qwen3_moe": (
        dict(BASE, architectures=["Qwen3MoeForCausalLM"], num_experts=4, num_experts_per_tok=2,
             moe_intermediate_size=32, mlp_only_layers=[1]),
        "bf16",
        "40KB",
    ),
    # decoder_sparse_step 2: layer 0 dense, layer 1 sparse; 12 experts (10 and 11 sort after
    # 9, dot_natural_key); initializer_range 0: experts and router zeros (the raw value).
    "qwen3_moe_step2": (
        dict(BASE, model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"],
             num_experts=12, num_experts_per_tok=2, moe_intermediate_size=8,
             decoder_sparse_step=2, initializer_range=0.0),
        "f32",
        "30KB",
    ),
    # num_local_experts (num_experts is its alias; the former wins), 0 experts: all dense,
    # hidden 64 / 5 heads floored to head_dim 12 (Qwen3MoeAttention's hidden // heads).
    "qwen3_moe_local": (
        dict(BASE, model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"],
             num_hidden_layers=1, num_local_experts=4, num_experts=6, num_experts_per_tok=2,
             moe_intermediate_size=16),
        "f32",
        None,
    ),
    "qwen3_moe_dense": (
        dict(BASE, model_type="qwen3_moe", architectures=["Qwen3MoeModel"], num_experts=0,
             num_attention_heads=5, num_key_value_heads=1),
        "f32",
        None,
    ),
    # Gemma2: Gemma's zero norms, pad row 0 and tying, two more norms per layer.
    "gemma2": (dict(BASE, architectures=["Gemma2ForCausalLM"], head_dim=16, attention_bias=True),
               "bf16", "30KB"),
    # Gemma3 (text only): Gemma2's layers with Gemma's zero norms on q and k too.
    "gemma3_text": (dict(BASE, architectures=["Gemma3ForCausalLM"], head_dim=16), "bf16",
                    "30KB"),
    "gemma3_text_base": (
        dict(BASE, model_type="gemma3_text", architectures=["Gemma3TextModel"], head_dim=16,
             pad_token_id=None),
        "f32",
        None,
    ),
    # OLMo2: no input norm, q_norm / k_norm over all of q's and k's features, a norm after
    # the MLP; pad_token_id 1 by default.
    "olmo2": (dict(BASE, architectures=["Olmo2ForCausalLM"]), "bf16", "40KB"),
    "olmo2_base": (
        dict(BASE, model_type="olmo2", architectures=["Olmo2Model"], attention_bias=True,
             pad_token_id=None),
        "f32",
        None,
    ),
    # Starcoder2: LayerNorms with biases, c_fc / c_proj MLP, use_bias on every Linear but
    # lm_head, tied by default.
    "starcoder2": (dict(BASE, architectures=["Starcoder2ForCausalLM"]), "f16", "40KB"),
    "starcoder2_nobias": (
        dict(BASE, model_type="starcoder2", architectures=["Starcoder2ForCausalLM"],
             use_bias=False, tie_word_embeddings=False),
        "f32",
        None,
    ),
    # Phi3: fused qkv_proj (after o_proj) and gate_up_proj; pad_token_id 32000 by default,
    # so a tiny vocabulary needs its own.
    "phi3": (dict(BASE, architectures=["Phi3ForCausalLM"], pad_token_id=5), "f16", "40KB"),
    "mixtral": (
        dict(
            BASE, architectures=["MixtralForCausalLM"], num_local_experts=4, num_experts_per_tok=2
        ),
        "bf16",
        "40KB",
    ),
    "gpt2": (
        dict(
            architectures=["GPT2LMHeadModel"],
            n_embd=64,
            n_layer=2,
            n_head=4,
            vocab_size=128,
            n_positions=64,
            bos_token_id=0,
            eos_token_id=0,
        ),
        "f32",
        None,
    ),
    "gpt_neox": (
        dict(BASE, architectures=["GPTNeoXForCausalLM"], bos_token_id=0, eos_token_id=0),
        "bf16",
        "60KB",
    ),
    "bert": (dict(BASE, architectures=["BertForMaskedLM"]), "f16", "100KB"),
    # Untied, the decoder has its own bias (zeros), saved after its weight.
    "bert_untied": (
        dict(BASE, model_type="bert", architectures=["BertForMaskedLM"], tie_word_embeddings=False),
        "f32",
        "60KB",
    ),
    # initializer_range 0: the base rule's `or 0.02` (embeddings, lm_head) against the
    # raw value of GPT-2's Conv1D / c_proj and Mixtral's experts and router (zeros).
    "gpt2_range0": (
        dict(
            model_type="gpt2",
            architectures=["GPT2LMHeadModel"],
            n_embd=64,
            n_layer=1,
            n_head=4,
            vocab_size=128,
            n_positions=64,
            initializer_range=0.0,
            tie_word_embeddings=False,
        ),
        "f32",
        None,
    ),
    "mixtral_range0": (
        dict(
            BASE,
            model_type="mixtral",
            architectures=["MixtralForCausalLM"],
            num_hidden_layers=1,
            num_local_experts=2,
            initializer_range=0.0,
        ),
        "f32",
        None,
    ),
}
for name, (fields, _, _) in CASES.items():
    fields.setdefault("model_type", name)
    if fields["model_type"] in ("gpt_neox", "bert", "gpt2"):
        fields.pop("num_key_value_heads", None)


def run_cli(*args, check=True):
    proc = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"fanfill {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


def auto_class(fields):
    arch = fields["architectures"][0]
    if arch.endswith("ForMaskedLM"):
        return transformers.AutoModelForMaskedLM
    if arch.endswith("Model") and not arch.endswith("LMHeadModel"):
        return transformers.AutoModel
    return transformers.AutoModelForCausalLM


def header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return f.read(n)


def weight_files(d):
    return sorted(p.name for p in Path(d).iterdir() if p.name.endswith(".safetensors"))


def read_tensors(d):
    out = {}
    for name in weight_files(d):
        with safetensors.safe_open(str(Path(d) / name), framework="pt") as f:
            for key in f.keys():
                out[key] = f.get_tensor(key)
    return out


def save_kwargs(shard):
    return {"max_shard_size": shard} if shard else {}


class Case:
    def __init__(self, family, tmp):
        self.family = family
        self.fields, dtype_opt, self.shard = CASES[family]
        self.dtype = dtype_opt or {"float16": "f16", "bfloat16": "bf16"}.get(
            self.fields.get("torch_dtype"), "f32"
        )
        self.tdtype = DTYPES[self.dtype]
        self.tmp = tmp
        self.config_dir = tmp / "config"
        self.config_dir.mkdir()
        self.config_path = self.config_dir / "config.json"
        self.config_path.write_text(json.dumps(self.fields))
        self.out = tmp / "fanfill"
        args = ["hf", self.config_path, "--seed", SEED, "--out", self.out]
        if dtype_opt:
            args += ["--dtype", dtype_opt]
        if self.shard:
            args += ["--max-shard-size", self.shard]
        self.args = args
        run_cli(*args)
        dry = run_cli(*args[:4], "--dry-run", "--json", *args[6:])
        self.dry = json.loads(dry.stdout)
        self.config = transformers.AutoConfig.from_pretrained(str(self.config_dir))
        self._ref = None

    def ref(self):
        """save_pretrained of the model's own init, same config, dtype and shard size."""
        if self._ref is None:
            torch.manual_seed(1)
            model = auto_class(self.fields).from_config(self.config, dtype=self.tdtype)
            self._ref = self.tmp / "reference"
            model.save_pretrained(str(self._ref), **save_kwargs(self.shard))
            self.ref_parameters = model.num_parameters()
        return self._ref


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, tmp_path_factory):
    return Case(request.param, tmp_path_factory.mktemp(request.param))


def test_files_match_save_pretrained(case):
    ref = case.ref()
    assert weight_files(case.out) == weight_files(ref)
    for name in weight_files(ref):
        assert header(case.out / name) == header(ref / name), name
    index = "model.safetensors.index.json"
    assert (case.out / index).exists() == (ref / index).exists()
    if (ref / index).exists():
        assert (case.out / index).read_bytes() == (ref / index).read_bytes()
    if case.shard:
        assert len(weight_files(ref)) > 1, "the test's shard size should split this model"
    cfg = json.loads((case.out / "config.json").read_text())
    written = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}[case.dtype]
    assert cfg["dtype"] == written
    assert {k: v for k, v in cfg.items() if k not in ("dtype", "torch_dtype")} == {
        k: v for k, v in case.fields.items() if k != "torch_dtype"
    }
    assert case.dry["total_parameters"] == case.ref_parameters


def test_from_pretrained_loads(case):
    model, info = auto_class(case.fields).from_pretrained(str(case.out), output_loading_info=True)
    assert not info["missing_keys"], info
    assert not info["unexpected_keys"], info
    assert not info["mismatched_keys"], info
    assert not info.get("error_msgs"), info
    for name, p in model.named_parameters():
        assert p.dtype == case.tdtype, (name, p.dtype)
    ids = torch.randint(
        0, case.fields["vocab_size"], (2, 9), generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        out = model(input_ids=ids)
    if case.fields["architectures"][0].endswith("Model") and not hasattr(out, "logits"):
        values = out.last_hidden_state  # a base model (no head)
        assert values.shape[-1] == case.fields["hidden_size"]
    else:
        values = out.logits
        assert values.shape[-1] == case.fields["vocab_size"]
    assert torch.isfinite(values.float()).all()


def test_values_follow_the_models_own_init(case):
    ours, theirs = read_tensors(case.out), read_tensors(case.ref())
    assert ours.keys() == theirs.keys()
    rows = {t["name"]: t for t in case.dry["tensors"]}
    tested = 0
    for name, ref in theirs.items():
        got = ours[name]
        assert got.dtype == ref.dtype == case.tdtype and got.shape == ref.shape, name
        flat_ref, flat_got = ref.float().flatten(), got.float().flatten()
        zero = rows[name].get("zero_elements")
        if zero:  # the padding row: exactly zero in both
            assert not flat_got[zero[0] : zero[1]].any() and not flat_ref[zero[0] : zero[1]].any()
            keep = torch.ones_like(flat_ref, dtype=torch.bool)
            keep[zero[0] : zero[1]] = False
            flat_ref, flat_got = flat_ref[keep], flat_got[keep]
        if ref.dim() == 2:  # zero rows (padding) are the same rows
            assert torch.equal((got == 0).all(dim=1), (ref == 0).all(dim=1)), name
        if torch.all(flat_ref == flat_ref[0]):  # zeros, ones: exact
            assert torch.equal(flat_got, flat_ref), name
            continue
        assert not rows[name]["scheme"].startswith(("zeros", "ones")), name
        tested += 1
        p = scipy_stats.ks_2samp(flat_got.numpy(), flat_ref.numpy()).pvalue
        assert p > KS_ALPHA, f"{name}: KS p = {p:.3g} against the model's own init"
    assert tested > 0


def test_safe_open_and_index(case):
    files = weight_files(case.out)
    index_path = case.out / "model.safetensors.index.json"
    total, where = 0, {}
    for name in files:
        with safetensors.safe_open(str(case.out / name), framework="pt") as f:
            assert f.metadata() == {"format": "pt"}
            for key in f.keys():
                t = f.get_tensor(key)
                total += t.numel() * t.element_size()
                where[key] = name
    if len(files) == 1:
        assert files == ["model.safetensors"] and not index_path.exists()
        return
    index = json.loads(index_path.read_text())
    assert index["weight_map"] == where
    assert index["metadata"]["total_size"] == total
    assert index["metadata"]["total_parameters"] == case.dry["total_parameters"]
    assert files == [
        f"model-{k:05d}-of-{len(files):05d}.safetensors" for k in range(1, len(files) + 1)
    ]


def test_init_model_gives_the_same_bytes(case):
    """init_model + save_pretrained writes the command's files byte for byte, every family.

    Tied weights included: the second owner's init (BERT's cls.predictions.decoder,
    Gemma's lm_head) does not redraw the shared embedding, whose padding row stays zero as
    in transformers' own init and in the command's output.
    """
    fanfill_torch = pytest.importorskip("fanfill.torch")
    model = auto_class(case.fields).from_config(case.config, dtype=case.tdtype)
    fanfill_torch.init_model(model, SEED)
    d = case.tmp / "init_model"
    model.save_pretrained(str(d), **save_kwargs(case.shard))
    assert weight_files(d) == weight_files(case.out)
    for name in weight_files(d):
        assert header(d / name) == header(case.out / name), name
    ours, theirs = read_tensors(case.out), read_tensors(d)
    assert ours.keys() == theirs.keys()
    for key, got in ours.items():
        a, b = got.flatten().view(torch.uint8), theirs[key].flatten().view(torch.uint8)
        assert torch.equal(a, b), f"{key}: bytes differ from init_model"
    for name in weight_files(d):
        assert (d / name).read_bytes() == (case.out / name).read_bytes(), name


def test_threads_and_shard_size_do_not_change_values(case):
    if case.family not in ("mixtral", "gpt2", "bert"):
        pytest.skip("checked for three families (time)")
    base = read_tensors(case.out)
    for extra in (
        ["--threads", 1, "--max-shard-size", "20KB"],
        ["--threads", 2, "--max-shard-size", "1GB"],
    ):
        d = case.tmp / f"variant{extra[1]}"
        args = [a for a in case.args[:6]] + ["--dtype", case.dtype]
        run_cli(*args[:5], d, *args[6:], *extra)
        other = read_tensors(d)
        assert other.keys() == base.keys()
        for k in base:
            assert torch.equal(other[k].view(torch.uint8), base[k].view(torch.uint8)), k


def test_dry_run_writes_nothing(tmp_path):
    fields = CASES["llama"][0]
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(fields))
    out = tmp_path / "out"
    text = run_cli("hf", cfg, "--seed", 1, "--out", out, "--dry-run").stdout
    assert not out.exists()
    model = transformers.AutoModelForCausalLM.from_config(
        transformers.AutoConfig.from_pretrained(str(tmp_path))
    )
    assert f"total parameters: {model.num_parameters()}" in text
    assert "model.layers.1.self_attn.q_proj.bias" in text and "lm_head.weight" in text


ERRORS = [
    (dict(model_type="t5"), "unknown model_type 't5'"),
    # Phi3Config's pad_token_id 32000 with a vocabulary of 128 (nn.Embedding raises too).
    (
        dict(BASE, model_type="phi3"),
        "field 'pad_token_id' (32000) is outside the vocabulary (vocab_size 128)",
    ),
    # Gemma3Model is the multimodal class, which fanfill hf does not write.
    (
        dict(BASE, model_type="gemma3_text", architectures=["Gemma3Model"]),
        "architectures[0] is 'Gemma3Model': for model_type 'gemma3_text' fanfill hf writes "
        "Gemma3ForCausalLM or Gemma3TextModel",
    ),
    (
        dict(BASE, model_type="qwen3_moe", num_experts=4, num_experts_per_tok=5),
        "'num_experts_per_tok' (5) is larger than 'num_local_experts' (4)",
    ),
    (
        dict(BASE, model_type="qwen3_moe", mlp_only_layers="1"),
        "field 'mlp_only_layers' must be a list of layer indices",
    ),
    # Gemma2's and Gemma3's validate_architecture: heads divide hidden, head_dim or not.
    (
        dict(BASE, model_type="gemma2", num_attention_heads=3, num_key_value_heads=1, head_dim=16),
        "'num_attention_heads' (3) does not divide 'hidden_size' (64)",
    ),
    (
        dict(BASE, model_type="gemma3_text", num_attention_heads=3, num_key_value_heads=1,
             head_dim=16),
        "'num_attention_heads' (3) does not divide 'hidden_size' (64)",
    ),
    # Gemma2Config's field is an int (its strict dataclass refuses None).
    (
        dict(BASE, model_type="gemma2", head_dim=16, num_key_value_heads=None),
        "field 'num_key_value_heads' must be a positive integer (got null)",
    ),
    (dict(hidden_size=64), "missing field 'model_type'"),
    (
        dict(BASE, model_type="llama", num_attention_heads=5),
        "'num_attention_heads' (5) does not divide 'hidden_size' (64)",
    ),
    (
        dict(BASE, model_type="mistral", num_key_value_heads=3),
        "'num_key_value_heads' (3) does not divide",
    ),
    (
        dict(BASE, model_type="llama", hidden_size="64"),
        "field 'hidden_size' must be a positive integer",
    ),
    (dict(BASE, model_type="llama", torch_dtype="float8_e4m3fn"), "FP8"),
    (
        dict(BASE, model_type="bert", architectures=["BertForPreTraining"]),
        "architectures[0] is 'BertForPreTraining'",
    ),
    (
        dict(BASE, model_type="mixtral", num_local_experts=2, num_experts_per_tok=3),
        "'num_experts_per_tok' (3)",
    ),
    (dict(BASE, model_type="llama", pad_token_id=500), "'pad_token_id' (500)"),
    (
        dict(BASE, model_type="llama", quantization_config={"quant_method": "fp8"}),
        "field 'quantization_config' is set, but fanfill hf writes unquantized weights",
    ),
    # MistralConfig refuses an explicit null (Llama's, Qwen2's, Qwen3's and Phi3's take the
    # heads).
    (
        dict(BASE, model_type="mistral", num_key_value_heads=None),
        "field 'num_key_value_heads' must be a positive integer (got null)",
    ),
    (
        {k: v for k, v in dict(BASE, model_type="mistral", num_attention_heads=4).items()
         if k != "num_key_value_heads"},
        "(num_key_value_heads is absent: 8 is the MistralConfig default; set it)",
    ),
    (
        dict(BASE, model_type="llama", head_dim=2**62),
        "num_attention_heads * head_dim (4 * 4611686018427387904) overflows a 64-bit size",
    ),
    (
        dict(BASE, model_type="gpt2", n_embd=2**62, n_head=1),
        "4 * n_embd (4 * 4611686018427387904) overflows",
    ),
    (
        dict(BASE, model_type="mixtral", intermediate_size=2**62),
        "intermediate_size * hidden_size (4611686018427387904 * 64) overflows",
    ),
]


@pytest.mark.parametrize("fields,message", ERRORS, ids=[e[1][:30] for e in ERRORS])
def test_bad_configs_are_refused(tmp_path, fields, message):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(fields))
    out = tmp_path / "out"
    proc = run_cli("hf", cfg, "--seed", 1, "--out", out, check=False)
    assert proc.returncode != 0
    assert proc.stderr.startswith("fanfill: error: ") and message in proc.stderr, proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("model_type", ["llama", "qwen2", "qwen3", "phi3", "olmo2"])
def test_null_kv_heads_are_the_attention_heads(tmp_path, model_type):
    # Their configs' __post_init__: num_key_value_heads None -> num_attention_heads.
    fields = dict(BASE, model_type=model_type, num_key_value_heads=None, pad_token_id=0)
    (tmp_path / "config.json").write_text(json.dumps(fields))
    dry = run_cli("hf", tmp_path / "config.json", "--seed", 1, "--dry-run", "--json")
    dry = json.loads(dry.stdout)
    ours = {t["name"]: t["shape"] for t in dry["tensors"]}
    model = transformers.AutoModelForCausalLM.from_config(
        transformers.AutoConfig.from_pretrained(str(tmp_path)), dtype=torch.float32
    )
    theirs = {k: list(v.shape) for k, v in model.state_dict().items() if k in ours}
    head_dim = 128 if model_type == "qwen3" else 16  # Qwen3Config's default, else 64 / 4
    if model_type == "phi3":  # q, k, v fused, 4 heads each
        assert ours["model.layers.0.self_attn.qkv_proj.weight"] == [3 * 4 * head_dim, 64]
    else:
        assert ours["model.layers.0.self_attn.k_proj.weight"] == [4 * head_dim, 64]
    assert ours == theirs


def test_architectures_written_as_save_pretrained_writes_it(tmp_path):
    # save_pretrained records the class; without it in the input, fanfill writes its default.
    fields = {k: v for k, v in CASES["llama"][0].items() if k != "architectures"}
    (tmp_path / "config.json").write_text(json.dumps(fields))
    run_cli("hf", tmp_path / "config.json", "--seed", 1, "--out", tmp_path / "out")
    cfg = json.loads((tmp_path / "out" / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"]
    assert transformers.AutoConfig.from_pretrained(str(tmp_path / "out")).architectures == [
        "LlamaForCausalLM"
    ]


def test_refusals_of_the_command(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(CASES["llama"][0]))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    proc = run_cli("hf", cfg, "--seed", 1, "--out", out, check=False)
    assert proc.returncode != 0 and "not empty" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    for bad in ("5XB", "GB", "-1GB", "0"):
        proc = run_cli(
            "hf", cfg, "--seed", 1, "--out", tmp_path / "o2", "--max-shard-size", bad, check=False
        )
        assert proc.returncode != 0 and "--max-shard-size" in proc.stderr, bad
        assert not (tmp_path / "o2").exists()
    proc = run_cli("hf", cfg, "--seed", 1, "--out", tmp_path / "o3", "--dtype", "f64", check=False)
    assert proc.returncode != 0 and "bf16, f16 or f32" in proc.stderr
    # --force replaces an earlier save, stale shards included (as save_pretrained), and
    # deletes nothing but its own weight names.
    others = ["model_ema.safetensors", "model-00001-of-00002.bak.safetensors",
              "model-1-of-2.safetensors", "model-0000x-of-00002.safetensors"]
    for name in others:
        (out / name).write_text("x")
    run_cli("hf", cfg, "--seed", 1, "--out", out, "--force", "--max-shard-size", "20KB")
    assert (out / "model.safetensors.index.json").exists()  # sharded
    run_cli("hf", cfg, "--seed", 1, "--out", out, "--force")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["config.json", "keep.txt", "model.safetensors", *others])


def test_failed_write_removes_the_directory_it_created(tmp_path):
    import resource
    import signal

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(CASES["llama"][0]))

    def limit():  # writes past 4 KiB fail with EFBIG (SIGXFSZ ignored)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    (tmp_path / "have").mkdir()
    for out, existed in ((tmp_path / "new", False), (tmp_path / "old", True),
                         (tmp_path / "have" / "a" / "b", False)):
        if existed:
            out.mkdir()
        proc = subprocess.run([CLI, "hf", str(cfg), "--seed", "1", "--out", str(out)],
                              capture_output=True, text=True, preexec_fn=limit)
        assert proc.returncode != 0 and "File too large" in proc.stderr, proc.stderr
        assert out.exists() == existed  # created by the run: removed; there before: kept
        if existed:
            assert list(out.iterdir()) == []
    # the parents it created went too; the one that was there stays
    assert (tmp_path / "have").is_dir() and list((tmp_path / "have").iterdir()) == []


def test_missing_parents_are_created(tmp_path):
    # As save_pretrained (os.makedirs): --out a/b/c/ makes a and b too.
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(CASES["llama"][0]))
    out = tmp_path / "a" / "b" / "c"
    run_cli("hf", cfg, "--seed", 1, "--out", str(out) + "/")
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    same = tmp_path / "flat"
    run_cli("hf", cfg, "--seed", 1, "--out", same)
    assert (same / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()
    # a parent that is a file: a clear error, nothing created
    (tmp_path / "file").write_text("x")
    proc = run_cli("hf", cfg, "--seed", 1, "--out", tmp_path / "file" / "sub" / "out",
                   check=False)
    assert proc.returncode != 0
    assert proc.stderr.startswith("fanfill: error: cannot create directory"), proc.stderr
    assert (tmp_path / "file").read_text() == "x"


def test_interrupt_leaves_only_complete_files(tmp_path):
    """SIGINT after the first shard: the shard being written (a temporary name)
    is removed; what remains under final names is complete; no index, no config."""
    import signal
    import time

    fields = dict(
        BASE,
        model_type="llama",
        hidden_size=1024,
        intermediate_size=2816,
        num_hidden_layers=16,
        num_attention_heads=16,
        vocab_size=8000,
    )  # ~0.3 G params
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(fields))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            CLI,
            "hf",
            str(cfg),
            "--seed",
            "1",
            "--out",
            str(out),
            "--dtype",
            "bf16",
            "--max-shard-size",
            "40MB",
        ],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not (out.exists() and any(p.name.startswith("model-") for p in out.iterdir())):
        assert proc.poll() is None and time.monotonic() < deadline, "no shard appeared"
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    assert proc.wait() == -signal.SIGINT, "the run ended before the signal: use a bigger model"
    names = sorted(p.name for p in out.iterdir())
    assert names and all(n.startswith("model-") and n.endswith(".safetensors") for n in names), (
        names
    )
    for n in names:
        with safetensors.safe_open(str(out / n), framework="pt") as f:
            size = 8 + len(header(out / n))
            size += sum(f.get_tensor(k).nbytes for k in f.keys())
        assert (out / n).stat().st_size == size, n
