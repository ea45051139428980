"""fanfill.torch.init_model: the model's own init code with fanfill's values."""

import math
import warnings

import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")
import fanfill  # noqa: E402
from fanfill.torch import init_model  # noqa: E402
from torch import nn  # noqa: E402

P = 1e-4

MODULES = {
    "Linear": lambda: nn.Linear(64, 48),
    "Conv1d": lambda: nn.Conv1d(8, 16, 5),
    "Conv2d": lambda: nn.Conv2d(6, 12, 3),
    "Conv3d": lambda: nn.Conv3d(3, 8, 3),
    "ConvTranspose2d": lambda: nn.ConvTranspose2d(10, 6, 3),
    "Embedding": lambda: nn.Embedding(300, 16, padding_idx=3),
    "LayerNorm": lambda: nn.LayerNorm(32),
    "RMSNorm": lambda: nn.RMSNorm(32),
    "BatchNorm2d": lambda: nn.BatchNorm2d(8),
    "MultiheadAttention": lambda: nn.MultiheadAttention(32, 4),
    "MultiheadAttentionKdimBias": lambda: nn.MultiheadAttention(16, 2, kdim=12, vdim=10,
                                                               add_bias_kv=True),
    "LSTM": lambda: nn.LSTM(16, 24, num_layers=2),
    "GRU": lambda: nn.GRU(16, 24, bidirectional=True),
}


def _state(m):
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def _same_distribution(name, ours, theirs):
    assert ours.shape == theirs.shape, name
    if ours.is_floating_point():
        o, t = ours.double().flatten(), theirs.double().flatten()
    else:
        assert torch.equal(ours, theirs), name
        return
    if torch.equal(t, torch.full_like(t, t[0])) if t.numel() else True:
        assert torch.equal(o, t), f"{name}: deterministic values differ"
        return
    assert not torch.equal(o, t), f"{name}: the values are torch's, not fanfill's"
    p = stats.ks_2samp(o.numpy(), t.numpy()).pvalue
    assert p > P, f"{name}: KS p = {p}"
    assert o.abs().max() <= t.abs().max() * 1.5 + 1e-6, name


def _compare(own, ours):
    for k in own:
        _same_distribution(k, ours[k], own[k])


@pytest.mark.parametrize("kind", list(MODULES))
def test_module_types_match_their_own_init_statistically(kind):
    torch.manual_seed(0)
    own = _state(MODULES[kind]())
    m = MODULES[kind]()
    report = init_model(m, 123)
    assert not report.unnamed
    _compare(own, _state(m))
    # The rules table (PyTorch defaults per module type) gives the same distributions,
    # and in fact the same values as the module's own reset_parameters (torch's code picks
    # the bounds there; fanfill only supplies the draws, keyed by the same names): so a
    # wrong bound in the table (e.g. 1.07/sqrt(hidden) for an RNN, which the KS test
    # above let through) fails here.
    r = MODULES[kind]()
    rep = init_model(r, 123, rules="torch")
    assert not rep.not_ruled, rep.not_ruled
    _compare(own, _state(r))
    for k, v in _state(m).items():
        assert torch.equal(_state(r)[k], v), f"{k}: rules='torch' differs from the module's init"
    # Padding rows are zero, as torch.
    if kind == "Embedding":
        assert torch.equal(m.weight[3], torch.zeros(16))


def test_values_are_fanfill_keyed_by_name():
    m = nn.Linear(40, 30)
    init_model(m, 99)
    bound = (math.sqrt(2.0 / (1 + 5)) / math.sqrt(40)) * math.sqrt(3.0)
    ref = fanfill.fill_uniform(torch.empty(30, 40), -bound, bound, seed=99, name="weight")
    assert torch.equal(m.weight.detach(), ref)
    bb = 1 / math.sqrt(40)
    assert torch.equal(m.bias.detach(), fanfill.fill_uniform(torch.empty(30), -bb, bb, seed=99,
                                                             name="bias"))


def _net(order, extra=False):
    d = nn.ModuleDict()
    mods = {"enc": lambda: nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16)),
            "dec": lambda: nn.Linear(16, 8), "emb": lambda: nn.Embedding(20, 8)}
    for k in order:
        d[k] = mods[k]()
    if extra:
        d["extra"] = nn.Conv2d(3, 3, 3)
    return d


def test_thread_count_construction_order_and_extra_modules_change_nothing():
    a = _net(["enc", "dec", "emb"])
    init_model(a, 5)
    b = _net(["emb", "dec", "enc"], extra=True)
    init_model(b, 5, threads=1)
    c = _net(["dec", "enc", "emb"])
    init_model(c, 5, threads=2)
    sa, sb, sc = _state(a), _state(b), _state(c)
    for k in sa:
        assert torch.equal(sa[k], sb[k]) and torch.equal(sa[k], sc[k]), k
    d = _net(["enc", "dec", "emb"])
    init_model(d, 6)
    assert not torch.equal(_state(d)["dec.weight"], sa["dec.weight"])


def test_meta_built_models_materialized_with_to_empty():
    a = _net(["enc", "dec", "emb"])
    init_model(a, 11)
    with torch.device("meta"):
        m = _net(["enc", "dec", "emb"])
    m.to_empty(device="cpu")
    init_model(m, 11)
    for k, v in _state(a).items():
        assert torch.equal(v, _state(m)[k]), k


class _Custom(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.how = how
        self.w = nn.Parameter(torch.empty(6, 8))
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            if self.how == "trunc":
                nn.init.trunc_normal_(self.w, std=0.02, a=-0.03, b=0.04)
            elif self.how == "pieces":
                self.w[:2].normal_(0.0, 2.0)
                self.w[2:].normal_(0.0, 2.0)
            elif self.how == "strided":
                self.w.zero_()
                self.w[:, ::2].uniform_(-1.0, 1.0)
            elif self.how == "orthogonal":
                nn.init.orthogonal_(self.w, gain=2.0)
            elif self.how == "temporary":
                self.w.copy_(torch.empty(6, 8).normal_())
            elif self.how == "data":
                self.w.data.normal_(mean=0.0, std=0.5)


def test_trunc_normal_is_filled_as_a_whole():
    m = _Custom("trunc")
    init_model(m, 3)
    ref = fanfill.fill_truncated_normal(torch.empty(6, 8), 0.0, 0.02, -0.03, 0.04, seed=3,
                                        name="w")
    assert torch.equal(m.w.detach(), ref)


def test_views_of_a_parameter_get_their_elements_of_its_stream():
    m = _Custom("pieces")
    init_model(m, 3)
    assert torch.equal(m.w.detach(), fanfill.fill_normal(torch.empty(6, 8), 0.0, 2.0, seed=3,
                                                         name="w"))
    s = _Custom("strided")
    init_model(s, 3)
    whole = fanfill.fill_uniform(torch.empty(6, 8), -1.0, 1.0, seed=3, name="w")
    assert torch.equal(s.w.detach()[:, ::2], whole[:, ::2])
    assert torch.equal(s.w.detach()[:, 1::2], torch.zeros(6, 4))
    d = _Custom("data")
    init_model(d, 3)
    assert torch.equal(d.w.detach(), fanfill.fill_normal(torch.empty(6, 8), 0.0, 0.5, seed=3,
                                                         name="w"))


def test_orthogonal_is_filled_as_a_whole():
    m = _Custom("orthogonal")
    init_model(m, 4)
    ref = fanfill.init_(torch.empty(6, 8), "orthogonal(gain=2.0)", seed=4, name="w")
    assert torch.equal(m.w.detach(), ref)


def test_unnamed_draws_are_reported_or_raise_with_strict():
    m = _Custom("temporary")
    rep = init_model(m, 1)
    assert rep.unnamed and "shape (6, 8)" in rep.unnamed[0]
    assert rep.not_drawn == ["w"]  # the draw landed on a temporary
    with pytest.raises(RuntimeError, match="strict=True"):
        init_model(_Custom("temporary"), 1, strict=True)
    ln = init_model(nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4)), 1)
    assert ln.not_drawn == ["1.weight", "1.bias"]  # ones and zeros
    init_model(nn.Linear(3, 4), 1, strict=True)  # nothing unnamed: no error


def test_custom_rules_and_init_fn():
    m = nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 5))
    rep = init_model(m, 8, rules={nn.Linear: {"weight": "xavier_normal", "bias": "zeros"}})
    assert not rep.not_ruled
    ref = fanfill.init_(torch.empty(20, 10), "xavier_normal", seed=8, name="0.weight")
    assert torch.equal(m[0].weight.detach(), ref)
    assert torch.equal(m[1].bias.detach(), torch.zeros(5))
    rep = init_model(m, 8, init_fn=lambda mod: nn.init.normal_(mod[1].weight, 0.0, 0.1))
    assert rep.filled == {"1.weight": 1}
    with pytest.raises(ValueError, match="rules"):
        init_model(m, 8, rules="keras")


class _TiedLM(nn.Module):
    """A torch model that initializes as a Hugging Face one does: every module's
    _init_weights children first (the head after the embedding), then the tying."""

    def __init__(self, tie_in_init=True):
        super().__init__()
        self.tie_in_init = tie_in_init
        self.emb = nn.Embedding(50, 8, padding_idx=4)
        self.head = nn.Linear(8, 50, bias=False)
        self.head.weight = self.emb.weight

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)
            m.weight[m.padding_idx].zero_()

    def init_weights(self):
        self.apply(self._init_weights)
        if self.tie_in_init:
            self.head.weight = self.emb.weight


def _padded_normal(shape, std, seed, name, pad):
    ref = fanfill.fill_normal(torch.empty(*shape), 0.0, std, seed=seed, name=name)
    ref[pad] = 0
    return ref


@pytest.mark.parametrize("tie_in_init", [True, False])
def test_tied_embedding_with_padding_is_initialized_once_by_its_kept_owner(tie_in_init):
    """The head's init of the shared weight is discarded, as when the model ties after its
    init: the padding row stays zero, the rest is drawn once from the kept name's stream."""
    m = _TiedLM(tie_in_init)
    rep = init_model(m, 31, strict=True)
    assert m.head.weight is m.emb.weight  # still tied, the same Parameter
    assert rep.names["head.weight"] == "emb.weight"
    assert rep.filled == {"emb.weight": 1} and not rep.unnamed and not rep.not_drawn
    assert torch.equal(m.emb.weight.detach(), _padded_normal((50, 8), 0.02, 31, "emb.weight", 4))


def test_tied_embedding_with_padding_torch_modules():
    """reset_parameters per module: the tied Linear's kaiming_uniform_ does not land on the
    embedding; its own bias is drawn from its own name."""
    m = nn.ModuleDict({"emb": nn.Embedding(40, 6, padding_idx=0), "head": nn.Linear(6, 40)})
    m["head"].weight = m["emb"].weight
    rep = init_model(m, 8)
    assert rep.filled == {"emb.weight": 1, "head.bias": 1} and not rep.unnamed
    assert m["head"].weight is m["emb"].weight
    assert torch.equal(m["emb"].weight.detach(), _padded_normal((40, 6), 1.0, 8, "emb.weight", 0))
    bb = 1 / math.sqrt(6)
    assert torch.equal(m["head"].bias.detach(),
                       fanfill.fill_uniform(torch.empty(40), -bb, bb, seed=8, name="head.bias"))


transformers = pytest.importorskip("transformers")


def _bert(pad=3):
    cfg = transformers.BertConfig(
        vocab_size=96, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=32, pad_token_id=pad)
    return transformers.BertForMaskedLM(cfg)


def _gemma(pad=5):
    cfg = transformers.GemmaConfig(
        vocab_size=96, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, intermediate_size=64, pad_token_id=pad,
        tie_word_embeddings=True)
    return transformers.GemmaForCausalLM(cfg)


@pytest.mark.parametrize("family", ["bert", "gemma"])
def test_hugging_face_tied_embedding_keeps_its_zero_padding_row(family):
    """BERT's cls.predictions.decoder / Gemma's lm_head, tied to the word embeddings, do not
    redraw them (transformers' own init ties after initializing): the padding row is zero,
    as in the model's own init and `fanfill hf`."""
    if family == "bert":
        m, pad, kept, alias = (_bert(), 3, "bert.embeddings.word_embeddings.weight",
                               "cls.predictions.decoder.weight")
        emb, out = m.bert.embeddings.word_embeddings, m.cls.predictions.decoder
    else:
        m, pad, kept, alias = _gemma(), 5, "model.embed_tokens.weight", "lm_head.weight"
        emb, out = m.model.embed_tokens, m.lm_head
    torch.manual_seed(0)
    own = _bert() if family == "bert" else _gemma()
    own_emb = (own.bert.embeddings.word_embeddings if family == "bert"
               else own.model.embed_tokens)
    assert not own_emb.weight[pad].any()  # the model's own init: a zero padding row
    rep = init_model(m, 13)
    assert rep.names[alias] == kept and out.weight is emb.weight
    assert rep.filled[kept] == 1 and not rep.unnamed
    assert not emb.weight[pad].any()
    assert torch.equal(emb.weight.detach(), _padded_normal((96, 32), 0.02, 13, kept, pad))
    if family == "bert":
        assert m.cls.predictions.decoder.bias is m.cls.predictions.bias
    _compare(_state(own), _state(m))



def _llama(device=None):
    cfg = transformers.LlamaConfig(
        vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        tie_word_embeddings=True, initializer_range=0.02)
    if device is None:
        return transformers.LlamaForCausalLM(cfg)
    with torch.device(device):
        return transformers.LlamaForCausalLM(cfg)


def test_hugging_face_tiny_model():
    torch.manual_seed(0)
    own = _state(_llama())
    m = _llama()
    rep = init_model(m, 21)
    assert not rep.unnamed
    assert rep.names["lm_head.weight"] == "model.embed_tokens.weight"  # save_pretrained's key
    assert m.lm_head.weight.data_ptr() == m.model.embed_tokens.weight.data_ptr()
    ref = fanfill.fill_normal(torch.empty(256, 64), 0.0, 0.02, seed=21,
                              name="model.embed_tokens.weight")
    assert torch.equal(m.model.embed_tokens.weight.detach(), ref)
    ours = _state(m)
    _compare(own, ours)
    # Meta-built and materialized: bit for bit the same.
    meta = _llama("meta")
    meta.to_empty(device="cpu")
    init_model(meta, 21)
    for k, v in ours.items():
        assert torch.equal(v, _state(meta)[k]), k
    # The "hf" rules table: the same distributions, and the values of the model's own
    # _init_weights under init_model (the same draws, keyed by the same names).
    r = _llama()
    rep = init_model(r, 21, rules="hf")
    _compare(own, _state(r))
    for k, v in ours.items():
        assert torch.equal(_state(r)[k], v), f"{k}: rules='hf' differs from _init_weights"
    assert torch.equal(r.model.embed_tokens.weight.detach(), ref)


def test_bf16_model():
    m = nn.Linear(256, 128).to(torch.bfloat16)
    init_model(m, 2)
    torch.manual_seed(0)
    own = nn.Linear(256, 128).to(torch.bfloat16)
    _same_distribution("weight", m.weight.detach().float(), own.weight.detach().float())


class _UsesFanfillInit(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.empty(12, 10))
        self.b = nn.Parameter(torch.empty(12, 10))
        self.c = nn.Parameter(torch.empty(12, 10))

    def reset_parameters(self):
        from fanfill.torch import nn_init as ff

        ff.kaiming_normal_(self.a, mode="fan_out")
        ff.trunc_normal_(self.b, std=0.5)
        ff.orthogonal_(self.c)


def test_fanfill_nn_init_inside_init_model_is_keyed_by_name():
    m = _UsesFanfillInit()
    rep = init_model(m, 17)
    assert rep.filled == {"a": 1, "b": 1, "c": 1} and not rep.unnamed
    a = fanfill.fill_normal(torch.empty(12, 10), 0.0, math.sqrt(2.0) / math.sqrt(12), seed=17,
                            name="a")
    b = fanfill.fill_truncated_normal(torch.empty(12, 10), 0.0, 0.5, -2.0, 2.0, seed=17,
                                      name="b")
    c = fanfill.init_(torch.empty(12, 10), "orthogonal(gain=1)", seed=17, name="c")
    assert torch.equal(m.a.detach(), a) and torch.equal(m.b.detach(), b)
    assert torch.equal(m.c.detach(), c)


class _Buffers(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.register_buffer("idx", torch.zeros(6, dtype=torch.int64))
        self.register_buffer("mask", torch.zeros(6, dtype=torch.bool))

    def reset_parameters(self) -> None:
        if self.how == "uniform":
            self.idx.uniform_(0, 10)
        elif self.how == "normal":
            self.mask.normal_()
        else:
            nn.init.normal_(self.idx)


@pytest.mark.parametrize("how", ["uniform", "normal", "nn.init"])
def test_integer_and_bool_buffers_raise_as_torch_does(how: str) -> None:
    # torch's uniform_/normal_ have no integer or bool kernels: init_model must not give
    # such a buffer values where the model's own init raises.
    with pytest.raises(NotImplementedError) as theirs:
        _Buffers(how).reset_parameters()
    m = _Buffers(how)
    with pytest.raises(NotImplementedError) as ours:
        init_model(m, 1)
    assert str(ours.value) == str(theirs.value)  # e.g. "normal_kernel_cpu" not implemented
    assert not m.idx.any() and not m.mask.any()


class _Complex(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.w = nn.Parameter(torch.zeros(4, 1000, dtype=torch.complex64))

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.how == "whole":
                self.w.normal_(0.0, 1.0)
            elif self.how == "pieces":
                self.w[:2].normal_(0.0, 1.0)
                self.w[2:].normal_(0.0, 1.0)
            elif self.how == "uniform":
                self.w.uniform_(-1.0, 1.0)
            elif self.how == "uniform-columns":
                self.w[:, :300].uniform_(-1.0, 1.0)
                self.w[:, 300:].uniform_(-1.0, 1.0)


def test_random_draws_on_views_of_a_complex_parameter() -> None:
    # A view of a complex parameter is drawn as the whole is: both parts, normal's std
    # divided by sqrt(2) (as torch's normal_ on complex), the elements of the whole's stream.
    whole, pieces = _Complex("whole"), _Complex("pieces")
    init_model(whole, 5)
    init_model(pieces, 5)
    assert torch.equal(pieces.w.detach(), whole.w.detach())
    w = pieces.w.detach()
    assert abs(w.real.std().item() - math.sqrt(0.5)) < 0.03
    assert abs(w.imag.std().item() - math.sqrt(0.5)) < 0.03
    u, uc = _Complex("uniform"), _Complex("uniform-columns")
    init_model(u, 5)
    init_model(uc, 5)
    assert torch.equal(uc.w.detach(), u.w.detach())
    assert uc.w.detach().imag.abs().min() > 0


class _Trunc(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(256))

    def reset_parameters(self) -> None:
        nn.init.trunc_normal_(self.w, std=0.02, a=-math.inf, b=math.inf)


def test_trunc_normal_with_infinite_bounds_is_a_normal_draw() -> None:
    m = _Trunc()
    rep = init_model(m, 1)
    assert rep.filled == {"w": 1} and not rep.unnamed
    ref = fanfill.fill_normal(torch.empty(256), 0.0, 0.02, seed=1, name="w")
    assert torch.equal(m.w.detach(), ref)


def test_invalid_arguments_are_refused_before_any_init() -> None:
    m = nn.Linear(3, 4)
    before = _state(m)
    with pytest.raises(TypeError, match="nn.Module"):
        init_model(m.state_dict(), 0)
    with pytest.raises(TypeError, match="nn.Module"):
        init_model("model", 0)
    with pytest.raises(ValueError, match="not both"):
        init_model(m, 0, rules="torch", init_fn=lambda mod: None)
    with pytest.raises(TypeError, match="init_fn"):
        init_model(m, 0, init_fn=42)
    for bad in ("no", 1, None):  # a truthy string used to mean strict
        with pytest.raises(TypeError, match="strict must be a bool"):
            init_model(m, 0, strict=bad)
    with pytest.raises(ValueError, match="'Linear'"):
        init_model(m, 0, rules={"Linear": {"weight": "zeros"}})
    with pytest.raises(TypeError, match="Linear"):
        init_model(m, 0, rules={nn.Linear: "xavier_normal"})
    with pytest.raises(TypeError, match="Linear"):
        init_model(m, 0, rules={nn.Linear: {"weight": 1.0}})
    for k, v in before.items():
        assert torch.equal(_state(m)[k], v), k
    rep = init_model(m, 0, rules={(nn.Linear, nn.Conv2d): {"weight": "zeros", "bias": "ones"}})
    assert not rep.not_ruled and torch.equal(m.bias.detach(), torch.ones(4))


class _PerRow(nn.Module):
    def __init__(self, transposed: bool) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(6, 4).t() if transposed else torch.empty(4, 6))

    def reset_parameters(self) -> None:
        with torch.no_grad():
            for i in range(self.w.shape[0]):
                self.w[i].normal_(0.0, 1.0)


def test_non_contiguous_parameters_get_the_contiguous_models_values() -> None:
    # torch's _ConvNd.reset_parameters draws a channels_last weight into a contiguous
    # temporary; a per-row draw on a transposed parameter covers no element range.
    a = nn.Conv3d(4, 6, 3)
    init_model(a, 2)
    for fmt, conv in ((torch.channels_last, nn.Conv2d(4, 6, 3)),
                      (torch.channels_last_3d, nn.Conv3d(4, 6, 3))):
        b = conv.to(memory_format=fmt)
        ptr = b.weight.data_ptr()
        rep = init_model(b, 2)
        assert not rep.unnamed and rep.filled == {"weight": 1, "bias": 1}
        assert b.weight.is_contiguous(memory_format=fmt) and b.weight.data_ptr() == ptr
        ref = conv.__class__(4, 6, 3)
        init_model(ref, 2)
        assert torch.equal(b.weight.detach(), ref.weight.detach())
        assert torch.equal(b.bias.detach(), ref.bias.detach())
    c, d = _PerRow(False), _PerRow(True)
    init_model(c, 2)
    rep = init_model(d, 2)
    assert rep.filled == {"w": 4} and d.w.stride() == (1, 4)
    assert torch.equal(d.w.detach(), c.w.detach())


class _Classifier(nn.Module):
    """A Hugging Face backbone inside a plain wrapper, plus a task head."""

    def __init__(self, tie: bool = False) -> None:
        super().__init__()
        cfg = transformers.LlamaConfig(
            vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
            tie_word_embeddings=tie, initializer_range=0.02)
        self.backbone = transformers.LlamaForCausalLM(cfg)
        self.head = nn.Linear(64, 3)


@pytest.mark.parametrize("tie", [False, True])
def test_hugging_face_model_inside_a_plain_wrapper_gets_its_own_init(tie: bool) -> None:
    torch.manual_seed(0)
    own = _state(_Classifier(tie))  # construction: the backbone's HF init, the head's torch init
    m = _Classifier(tie)
    rep = init_model(m, 1)
    assert not rep.unnamed
    q = "backbone.model.layers.0.self_attn.q_proj.weight"
    ref = fanfill.fill_normal(torch.empty(64, 64), 0.0, 0.02, seed=1, name=q)
    assert torch.equal(m.get_parameter(q).detach(), ref)  # HF's normal(0, 0.02), not kaiming
    head = fanfill.fill_uniform(torch.empty(3, 64), -0.125, 0.125, seed=1, name="head.weight")
    assert torch.equal(m.head.weight.detach(), head)
    if tie:  # the kept name is the backbone's own save_pretrained key, prefixed
        assert rep.names["backbone.lm_head.weight"] == "backbone.model.embed_tokens.weight"
    _compare(own, _state(m))


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_rules_are_checked_on_empty_and_meta_parameters(device: str) -> None:
    # A zero-element or meta tensor gets no values, but its rule is checked as a
    # non-empty one's is (a misspelled scheme, or eye on a 3-d weight, passed silently).
    bad = [
        ({nn.Linear: {"weight": "kaimin_normal"}}, lambda: nn.Linear(0, 4),
         "unknown scheme 'kaimin_normal'"),
        ({nn.Conv1d: {"weight": "eye"}}, lambda: nn.Conv1d(0, 4, 3), "exactly 2 dimensions"),
        ({nn.Linear: {"weight": "dirac"}}, lambda: nn.Linear(4, 4), "dirac needs 3, 4 or 5"),
    ]
    for rules, make, match in bad:
        with torch.device(device), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: "Initializing zero-element tensors"
            m = nn.Sequential(make())
        with pytest.raises(ValueError, match=match):
            init_model(m, 0, rules=rules)
    with torch.device(device), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = nn.Sequential(nn.Linear(0, 4), nn.Conv1d(4, 0, 3), nn.Linear(4, 4))
    rep = init_model(m, 0, rules={nn.Linear: {"weight": "orthogonal", "bias": "zeros"},
                                  nn.Conv1d: {"weight": "dirac", "bias": "zeros"}})
    assert not rep.not_ruled
    assert m[2].weight.is_meta == (device == "meta")


class _Drawn(nn.Module):
    """One f16 parameter of `rows` rows, drawn by the model's own code through `draw`."""

    def __init__(self, rows: int, draw) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(rows, 4, dtype=torch.float16))
        self.draw = draw

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.draw(self.w)


@pytest.mark.parametrize("strict", [False, True])
def test_draws_on_zero_element_parameters_are_named_and_checked(strict: bool) -> None:
    # A draw on a zero-element parameter, or on a zero-element view of one, is a draw on
    # that parameter: counted, and its arguments checked as on a non-empty one. (Its storage
    # has no data pointer: strict=True called it "no named parameter", and normal_(0, 1e6)
    # in f16 passed where the 4-row parameter raises.)
    draws = {
        "param": lambda w: w.normal_(0, 1),
        "data": lambda w: w.data.uniform_(-1, 1),
        "view": lambda w: w[:0].normal_(0, 1),
        "reshaped": lambda w: w.view(-1)[:0].normal_(0, 1),
    }
    for rows in (0, 4):
        for what, draw in draws.items():
            rep = init_model(_Drawn(rows, draw), 1, strict=strict)
            assert rep.filled == {"w": 1}, (rows, what)
            assert not rep.unnamed, (rows, what)
    for rows in (0, 4):
        for draw in (lambda w: w.normal_(0, 1e6), lambda w: w[:0].normal_(0, 1e6),
                     lambda w: w.data.uniform_(-1e5, 1e5)):
            with pytest.raises(ValueError, match="(beyond|exceed) the f16 range"):
                init_model(_Drawn(rows, draw), 1, strict=strict)


def test_plain_tensors_do_not_import_torch_distributed_tensor():
    """init_model, the drop-in and the fills tell a DTensor apart without importing
    torch.distributed.tensor (over a second on first import, sympy with it): in a fresh
    interpreter that never made a DTensor, the module stays unimported."""
    import subprocess
    import sys

    code = (
        "import sys, torch, fanfill, fanfill.torch\n"
        "from fanfill.torch import init_model, nn_init\n"
        "m = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.LayerNorm(8))\n"
        "init_model(m, 0)\n"
        "nn_init.normal_(torch.empty(4, 4))\n"
        "nn_init.orthogonal_(torch.empty(4, 4))\n"
        "fanfill.fill_normal(torch.empty(4), seed=1)\n"
        "fanfill.init_(torch.empty(4, 4), 'kaiming_normal', seed=1)\n"
        "with fanfill.torch.patch_nn_init():\n"
        "    torch.nn.Linear(4, 4)\n"
        "print(sorted(k for k in sys.modules if k.startswith('torch.distributed.tensor')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.strip() == "[]", out.stdout


class _NeedsArgument(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(4, 3))

    def reset_parameters(self, std: float) -> None:  # not callable without arguments
        raise AssertionError("init_model called a reset_parameters that needs an argument")


class _StarArgs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(4, 3))

    def reset_parameters(self, *args: object, scale: float = 1.0) -> None:
        nn.init.normal_(self.w, std=scale)


class _ClassReset(nn.Module):
    calls = 0

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(4, 3))

    @classmethod
    def reset_parameters(cls) -> None:
        cls.calls += 1


def test_reset_methods_called_only_where_they_take_no_arguments():
    # Two instances of each: the second is answered from the per-function cache.
    m = nn.Sequential(_NeedsArgument(), _StarArgs(), _ClassReset(), _NeedsArgument(),
                      _StarArgs(), _ClassReset())
    _ClassReset.calls = 0
    rep = init_model(m, 5)
    assert rep.filled == {"1.w": 1, "4.w": 1}
    assert sorted(rep.not_drawn) == ["0.w", "2.w", "3.w", "5.w"]
    assert _ClassReset.calls == 2
    assert torch.equal(m[0].w, torch.zeros(4, 3)) and torch.equal(m[3].w, torch.zeros(4, 3))
    assert torch.equal(m[1].w.detach(), fanfill.fill_normal(torch.empty(4, 3), 0.0, 1.0, seed=5,
                                                            name="1.w"))


def test_reset_method_signature_cache_follows_changes():
    # The per-function answer is recomputed when what the signature is made of changes.
    class Reset(nn.Module):
        calls = 0

        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(2, 2))

        def reset_parameters(self, std: float = 1.0) -> None:
            type(self).calls += 1

    m = Reset()
    init_model(m, 1)
    assert Reset.calls == 1
    Reset.reset_parameters.__defaults__ = None  # now needs an argument: skipped
    init_model(m, 1)
    assert Reset.calls == 1
    Reset.reset_parameters.__defaults__ = (0.5,)
    init_model(m, 1)
    assert Reset.calls == 2


class _TenfoldCopy(torch.Tensor):
    """A tensor subclass whose ``copy_`` writes ten times its source."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.Tensor.copy_:
            args = (args[0], args[1] * 10, *args[2:])
        return super().__torch_function__(func, types, args, kwargs or {})


class _OneWeight(nn.Module):
    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)


def test_fanfill_writes_are_not_dispatched_to_a_subclass():
    # Whether fanfill writes a tensor in place or through a temporary and copy_ (here: a
    # transposed one) is its own business: a subclass's __torch_function__ does not see
    # that copy_, so the values are those of a plain tensor, whichever path.
    from fanfill.torch import nn_init as ff

    plain = torch.zeros(6, 4).t()
    sub = torch.zeros(6, 4).as_subclass(_TenfoldCopy).t()
    assert isinstance(sub, _TenfoldCopy) and not sub.is_contiguous()
    for fill in (lambda x: ff.normal_(x), lambda x: ff.orthogonal_(x),
                 lambda x: ff.trunc_normal_(x)):
        torch.manual_seed(3)
        fill(plain)
        torch.manual_seed(3)
        fill(sub)
        assert torch.equal(sub.as_subclass(torch.Tensor), plain)
    # init_model: a draw through init_fn on the parameter or a view of it, and the
    # model's own init (the contiguous stand-in copied back).
    # (A view of a contiguous parameter: _fill_view's copy_.)
    for transposed, init_fn in ((True, lambda mm: mm.w.normal_()),
                                (False, lambda mm: mm.w[1:].uniform_()),
                                (True, lambda mm: nn.init.kaiming_uniform_(mm.w)),
                                (True, None)):
        a = _OneWeight(torch.zeros(6, 4).t() if transposed else torch.zeros(6, 4))
        b = _OneWeight(torch.zeros(6, 4).as_subclass(_TenfoldCopy))
        b.w = nn.Parameter(b.w.detach().t()) if transposed else b.w
        if init_fn is None:
            def reset(self: nn.Module) -> None:
                nn.init.normal_(self.w)
            a.reset_parameters = reset.__get__(a)
            b.reset_parameters = reset.__get__(b)
        init_model(a, 5, init_fn=init_fn)
        init_model(b, 5, init_fn=init_fn)
        assert torch.equal(b.w.detach().as_subclass(torch.Tensor), a.w.detach())
        assert a.w.detach().abs().max() > 0


def test_empty_view_checked_under_a_meta_default_device():
    # The check of a draw on an empty view uses a CPU probe, whatever torch.device says.
    m = _OneWeight(torch.zeros(4, 4, dtype=torch.float16))
    with torch.device("meta"), pytest.raises(ValueError, match="f16 range"):
        init_model(m, 7, init_fn=lambda mm: mm.w[:0].normal_(0, 1e6))
