"""fanfill.torch.init_model: the model's own init code with fanfill's values."""

import math

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
    # The rules table (PyTorch defaults per module type) gives the same distributions.
    r = MODULES[kind]()
    rep = init_model(r, 123, rules="torch")
    assert not rep.not_ruled, rep.not_ruled
    _compare(own, _state(r))
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


transformers = pytest.importorskip("transformers")


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
    # The "hf" rules table: the same distributions.
    r = _llama()
    rep = init_model(r, 21, rules="hf")
    _compare(own, _state(r))
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
