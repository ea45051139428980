"""fanfill.torch.nn_init: a drop-in for torch.nn.init with fanfill's values."""

import inspect
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

import fanfill  # noqa: E402
import fanfill.torch.nn_init as ff  # noqa: E402
from fanfill.torch import _fill  # noqa: E402

tinit = torch.nn.init
P = 1e-4  # KS p-value floor (as PyTorch's test_init.py)


def test_same_names_signatures_and_defaults():
    assert ff.__all__ == tinit.__all__
    for name in tinit.__all__:
        ours, theirs = getattr(ff, name), getattr(tinit, name)
        if name.endswith("_") or name == "calculate_gain":
            assert inspect.signature(ours) == inspect.signature(theirs), name
        assert ours.__name__ == theirs.__name__


def test_values_are_fanfill_with_a_seed_drawn_from_the_generator():
    g = torch.Generator().manual_seed(5)
    w = ff.kaiming_normal_(torch.empty(64, 48), generator=g)
    seed = _fill.seed_from(torch.Generator().manual_seed(5))
    ref = fanfill.fill_normal(torch.empty(64, 48), 0.0, math.sqrt(2.0) / math.sqrt(48), seed=seed)
    assert torch.equal(w, ref)
    u = ff.uniform_(torch.empty(100), -2.0, 3.0, generator=torch.Generator().manual_seed(9))
    ref = fanfill.fill_uniform(torch.empty(100), -2.0, 3.0,
                               seed=_fill.seed_from(torch.Generator().manual_seed(9)))
    assert torch.equal(u, ref)


@pytest.mark.parametrize("fn", [
    lambda t, **k: ff.uniform_(t, **k), lambda t, **k: ff.normal_(t, **k),
    lambda t, **k: ff.trunc_normal_(t, **k), lambda t, **k: ff.xavier_uniform_(t, **k),
    lambda t, **k: ff.xavier_normal_(t, **k), lambda t, **k: ff.kaiming_uniform_(t, **k),
    lambda t, **k: ff.kaiming_normal_(t, **k), lambda t, **k: ff.orthogonal_(t, **k),
    lambda t, **k: ff.sparse_(t, 0.5, **k),
])
def test_manual_seed_and_generator_reproduce_a_call(fn):
    torch.manual_seed(3)
    a = fn(torch.empty(20, 30))
    b = fn(torch.empty(20, 30))  # the default generator advanced
    torch.manual_seed(3)
    assert torch.equal(fn(torch.empty(20, 30)), a)
    assert not torch.equal(a, b)
    g = torch.Generator().manual_seed(3)
    assert torch.equal(fn(torch.empty(20, 30), generator=g), a)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
def test_distributions(dtype):
    torch.manual_seed(0)
    n = (200, 100)
    t = ff.uniform_(torch.empty(n, dtype=dtype), -1.0, 2.0).double().flatten().numpy()
    assert t.min() >= -1.0 and t.max() <= 2.0
    assert stats.kstest(t, "uniform", args=(-1.0, 3.0)).pvalue > P or dtype in (
        torch.bfloat16, torch.float16)  # 16-bit: the grid of values is visible to KS
    t = ff.normal_(torch.empty(n, dtype=dtype), 1.0, 3.0).double().flatten().numpy()
    # z = 4.9 standard errors (two-sided alpha 1e-6 each); rounding to bf16 moves the
    # sample std by at most 2^-9 of it.
    z, m = 4.9, t.size
    assert abs(t.mean() - 1.0) < z * 3.0 / math.sqrt(m)
    assert abs(t.std() - 3.0) < z * 3.0 / math.sqrt(2 * m) + 3.0 * 2.0**-9
    t = ff.trunc_normal_(torch.empty(n, dtype=dtype), 0.0, 1.0, -1.0, 0.5).double().flatten()
    assert t.min() >= -1.0 and t.max() <= 0.5
    if dtype in (torch.float32, torch.float64):
        assert stats.kstest(t.numpy(), "truncnorm", args=(-1.0, 0.5)).pvalue > P
        w = ff.kaiming_normal_(torch.empty(400, 50, dtype=dtype), a=0.2, mode="fan_out",
                               nonlinearity="leaky_relu")
        std = math.sqrt(2.0 / (1 + 0.04)) / math.sqrt(400)
        assert stats.kstest(w.flatten().numpy(), "norm", args=(0, std)).pvalue > P
        w = ff.xavier_uniform_(torch.empty(300, 70, dtype=dtype), gain=2.0)
        b = 2.0 * math.sqrt(6.0 / 370)
        assert stats.kstest(w.flatten().numpy(), "uniform", args=(-b, 2 * b)).pvalue > P


def test_exceptions_and_warnings_as_torch():
    for fn in (ff.xavier_uniform_, ff.xavier_normal_, ff.kaiming_uniform_, ff.kaiming_normal_):
        for shape in ((), (5,)):
            with pytest.raises(ValueError, match="fewer than 2 dimensions"):
                fn(torch.empty(shape))
    with pytest.raises(ValueError, match="2 or more"):
        ff.orthogonal_(torch.empty(4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        ff.sparse_(torch.empty(4), 0.1)
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        ff.eye_(torch.empty(2, 2, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        ff.dirac_(torch.empty(5, 2, 3), groups=2)
    with pytest.raises(ValueError, match="Mode fan_x not supported"):
        ff.kaiming_normal_(torch.empty(3, 3), mode="fan_x")
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        ff.kaiming_normal_(torch.empty(3, 3), nonlinearity="gelu")
    for fn in (ff.kaiming_uniform_, ff.kaiming_normal_):
        with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
            assert fn(torch.empty(0, 3)).shape == (0, 3)
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        ff.trunc_normal_(torch.empty(10), mean=5.0)
    # Argument errors are torch's own (type and message), and nothing is written.
    for call in (lambda t: t.normal_(0, -1), lambda t: t.uniform_(1, 0),
                 lambda t: t.uniform_(0, float("inf"))):
        with pytest.raises(Exception) as theirs:
            call(torch.zeros(3))
        t = torch.zeros(3)
        op = {"normal_": ff.normal_, "uniform_": ff.uniform_}
        name = "normal_" if "normal" in str(theirs.value) else "uniform_"
        args = {"normal_": (0, -1), "uniform_": (1, 0)}[name]
        if "inf" in str(theirs.value) or "bounds" in str(theirs.value):
            args = (0, float("inf"))
        with pytest.raises(type(theirs.value), match=str(theirs.value)[:20]):
            op[name](t, *args)
        assert torch.equal(t, torch.zeros(3))
    with pytest.raises(NotImplementedError):
        ff.uniform_(torch.zeros(3, dtype=torch.int64))


def test_deprecated_names_warn_and_work():
    for old in ("uniform", "normal", "constant", "eye", "dirac", "xavier_uniform",
                "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"):
        fn = getattr(ff, old)
        args = {"constant": (0.5,), "sparse": (0.1,)}.get(old, ())
        shape = (4, 4, 3) if old == "dirac" else (4, 4)
        with pytest.warns(FutureWarning, match=f"nn.init.{old}` is now deprecated"):
            fn(torch.empty(shape), *args)


def test_strided_views_meta_params_and_return_values():
    torch.manual_seed(1)
    base = torch.zeros(6, 10)
    view = base[:, ::2]
    out = ff.normal_(view)
    assert out is view
    torch.manual_seed(1)
    assert torch.equal(view, ff.normal_(torch.empty(6, 5)))
    assert torch.equal(base[:, 1::2], torch.zeros(6, 5))
    t = torch.empty(5, 5).t()
    assert ff.xavier_normal_(t) is t
    m = torch.empty(3, 4, device="meta")
    for fn in (ff.uniform_, ff.normal_, ff.trunc_normal_, ff.xavier_uniform_, ff.kaiming_normal_,
               ff.orthogonal_):
        assert fn(m) is m
    assert ff.sparse_(m, 0.3) is m
    p = torch.nn.Parameter(torch.zeros(8, 8))
    assert ff.kaiming_uniform_(p, a=math.sqrt(5)) is p and p.requires_grad and p.abs().sum() > 0
    assert p.grad_fn is None
    c = ff.normal_(torch.zeros(1000, dtype=torch.complex64))
    assert abs(c.real.std().item() - math.sqrt(0.5)) < 0.05


def test_deterministic_initializers_equal_torch():
    for shape in ((3, 5), (5, 3)):
        assert torch.equal(ff.eye_(torch.empty(shape)), tinit.eye_(torch.empty(shape)))
    for shape, groups in (((4, 3, 5), 1), ((6, 2, 3, 3), 2), ((3, 3, 1, 3, 3), 3)):
        assert torch.equal(ff.dirac_(torch.randn(shape), groups),
                           tinit.dirac_(torch.randn(shape), groups))
    assert torch.equal(ff.constant_(torch.empty(3), 0.25), torch.full((3,), 0.25))
    assert torch.equal(ff.ones_(torch.empty(3)), torch.ones(3))
    assert torch.equal(ff.zeros_(torch.empty(3)), torch.zeros(3))
    assert ff.calculate_gain("leaky_relu", 10) == tinit.calculate_gain("leaky_relu", 10)
    assert ff.calculate_gain("tanh") == fanfill.gain("tanh")


def test_orthogonal_and_sparse():
    for shape in ((30, 20), (20, 30), (10, 2, 3, 4)):
        w = ff.orthogonal_(torch.empty(shape), gain=1.5).reshape(shape[0], -1).double()
        g = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        assert torch.allclose(g, 2.25 * torch.eye(g.shape[0], dtype=g.dtype), atol=1e-5)
    w = ff.sparse_(torch.empty(40, 7), 0.25, std=0.5)
    assert all(int((w[:, c] == 0).sum()) >= 10 for c in range(7))


def test_swapped_into_sys_modules_for_later_importers(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch.nn.init", ff)
    monkeypatch.setattr(torch.nn, "init", ff)
    import torch.nn.init as init  # noqa: PLC0415

    assert init is ff
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = init.kaiming_uniform_(torch.empty(16, 9), a=math.sqrt(5))
    assert w.abs().max() <= 1 / 3


def test_numpy_free_of_torch_import_side_effects():
    # `import fanfill` alone must not need torch (the torch parts are imported lazily).
    import subprocess
    import sys

    code = "import sys, fanfill; assert 'torch' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
    assert np is not None


def _inference(t):
    with torch.inference_mode():
        return t.clone()


@pytest.mark.parametrize("call", [
    lambda m, t: m.uniform_(t.half(), -1e5, 1e5),
    lambda m, t: m.normal_(t.long()),
    lambda m, t: m.normal_(t, 0.0, float("nan")),
    lambda m, t: m.uniform_(t, 2.0, 1.0),
    lambda m, t: m.uniform_(t.half(), -6e4, 6e4),  # each bound fits, their difference not
    lambda m, t: m.uniform_(t, -3e38, 3e38),
    lambda m, t: m.orthogonal_(t.long().reshape(2, 2)),
    lambda m, t: m.orthogonal_(t.to(torch.float8_e4m3fn).reshape(2, 2)),
    lambda m, t: m.orthogonal_(t.to(torch.complex64).reshape(2, 2)),
    lambda m, t: m.sparse_(t.long().reshape(2, 2), 0.5),
    lambda m, t: m.sparse_(t.to(torch.float8_e5m2).reshape(2, 2), 0.5),
    lambda m, t: m.sparse_(t.reshape(2, 2), 0.5, std=-1.0),
    lambda m, t: m.sparse_(t.reshape(2, 2), float("nan")),
    lambda m, t: m.trunc_normal_(t, 0.0, 0.0),
    # torch computes the mass in [a, b] from the arguments as passed: Python's own errors.
    lambda m, t: m.trunc_normal_(t, 0, 0, -2, 2),  # int / int: "division by zero"
    lambda m, t: m.trunc_normal_(t, 10**400, 1, -2, 2),  # beyond float
    # complex: torch's comparisons (or complex32's div) have no kernel, also when empty.
    lambda m, t: m.trunc_normal_(t.to(torch.complex64)),
    lambda m, t: m.trunc_normal_(t.to(torch.complex64), 0.0, 1.0, 1.0, 3.0),
    lambda m, t: m.trunc_normal_(t[:0].to(torch.complex32), 10.0, 1.0, -2.0, 2.0),
    lambda m, t: m.trunc_normal_(t[:0].to(torch.complex128), 0.0, 1.0, 1.0, 3.0),
    lambda m, t: m.trunc_normal_(t, 0.0, 1.0, 1.0, -1.0),
    # torch's trunc_normal_ picks its sampler by the mass in [a, b]: above 0.3 it converts
    # the bounds to the dtype (uint8 cannot hold -2, even with no element), then normal_...
    lambda m, t: m.trunc_normal_(t.to(torch.uint8)),
    lambda m, t: m.trunc_normal_(t[:0].to(torch.uint8)),
    lambda m, t: m.trunc_normal_(t.to(torch.int8), a=-200.0),
    lambda m, t: m.trunc_normal_(t.to(torch.uint8), a=0.0, b=2.0),
    # The bounds as passed: a Python int -2 wraps in uint8, so normal_ raises; one beyond
    # int64 is Python's overflow.
    lambda m, t: m.trunc_normal_(t.to(torch.uint8), a=-2, b=2),
    lambda m, t: m.trunc_normal_(t[:0].to(torch.int8), a=-10**20, b=10**20),
    # ... then compares the values with the bounds: float8 has no lt kernel, even empty.
    lambda m, t: m.trunc_normal_(t[:0].to(torch.float8_e4m3fn)),
    lambda m, t: m.trunc_normal_(t[:0].to(torch.float8_e5m2), 0.0, 1.0, 0.0, math.inf),
    # ... else uniform_(a, b)
    lambda m, t: m.trunc_normal_(t.to(torch.uint8), mean=10.0),
    lambda m, t: m.trunc_normal_(t.int(), mean=10.0),
    lambda m, t: m.trunc_normal_(t.half(), 100.0, 1.0, -1e6, 0.0),
    lambda m, t: m.dirac_(t.reshape(2, 2, 1)[:, :, :0]),  # torch writes w[d, d, 0]
    lambda m, t: m.dirac_(torch.zeros(2, 2, 3, 0), 2),
    *[(lambda m, t, f=f: getattr(m, f)(_inference(t.reshape(2, 1, 2))))
      for f in ("normal_", "uniform_", "trunc_normal_", "kaiming_normal_", "xavier_uniform_",
                "orthogonal_", "dirac_")],
    lambda m, t: m.eye_(_inference(t.reshape(2, 2))),
    lambda m, t: m.sparse_(_inference(t.reshape(2, 2)), 0.5),
])
def test_argument_errors_are_torchs_own(call):
    with pytest.raises(Exception) as theirs:
        call(tinit, torch.zeros(4))
    with pytest.raises(type(theirs.value)) as ours:
        call(ff, torch.zeros(4))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int64])
def test_trunc_normal_on_empty_integer_tensors_with_int_bounds_is_a_no_op(dtype):
    # torch converts the bounds with new_tensor (a Python int wraps) and draws nothing.
    for m in (tinit, ff):
        t = torch.zeros(0, 3, dtype=dtype)
        assert m.trunc_normal_(t, 0.0, 1.0, -2, 2) is t


@pytest.mark.parametrize("call", [
    lambda m, t: m.trunc_normal_(t, 0.0, 1.0, 0.5, 0.5),  # a == b: every value is the bound
    lambda m, t: m.orthogonal_(t.reshape(4, 3), gain=0.0),  # zeros
    lambda m, t: m.sparse_(t.reshape(4, 3), 1.5),  # every row of each column zeroed
])
def test_degenerate_arguments_give_torchs_values(call):
    ours = call(ff, torch.full((12,), 7.0))
    theirs = call(tinit, torch.full((12,), 7.0))
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize(("a", "b"), [(0.0, math.inf), (-math.inf, 1.0), (-1.0, math.inf)])
def test_trunc_normal_with_one_infinite_bound(dtype, a, b):
    # One bound only (torch's rejection sampler takes these; fanfill's inverse CDF too).
    mean, std = 0.5, 2.0
    t = ff.trunc_normal_(torch.empty(200, 100, dtype=dtype), mean, std, a, b,
                         generator=torch.Generator().manual_seed(2)).double().flatten()
    assert t.min() >= a and t.max() <= b
    if dtype != torch.float16:  # 16-bit: the grid of values is visible to KS
        dist = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
        assert stats.kstest(t.numpy(), dist.cdf).pvalue > P
    ours = ff.trunc_normal_(torch.empty(300, dtype=dtype), mean, std, a, b,
                            generator=torch.Generator().manual_seed(4))
    finite = ff.trunc_normal_(torch.empty(300, dtype=dtype), mean, std, max(a, -6e4),
                              min(b, 6e4), generator=torch.Generator().manual_seed(4))
    assert torch.equal(ours, finite)  # an infinite bound is a bound the values never reach


def test_negative_std_and_gain_and_infinite_bounds_as_torch_reads_them():
    def seeded(fn, *args, **kwargs):
        return fn(torch.empty(40, 30), *args, generator=torch.Generator().manual_seed(3), **kwargs)

    # torch's trunc_normal_ squares (x - mean) / std: a negative std is |std|.
    assert torch.equal(seeded(ff.trunc_normal_, 0.0, -0.5), seeded(ff.trunc_normal_, 0.0, 0.5))
    # Both bounds infinite: no truncation, the normal distribution.
    assert torch.equal(seeded(ff.trunc_normal_, 0.5, 2.0, -math.inf, math.inf),
                       seeded(ff.normal_, 0.5, 2.0))
    # torch multiplies the orthogonal matrix by gain: a negative gain negates it.
    assert torch.equal(seeded(ff.orthogonal_, gain=-2.0), -seeded(ff.orthogonal_, gain=2.0))


@pytest.mark.parametrize("call", [
    lambda t, g: ff.normal_(t.half(), 0.0, 1e5, generator=g),  # beyond f16: fanfill refuses
    lambda t, g: ff.trunc_normal_(t, 0.0, 1.0, 10.0, 11.0, generator=g),
    lambda t, g: ff.normal_(t, math.inf, 1.0, generator=g),  # torch would write inf
    lambda t, g: ff.sparse_(t.reshape(2, 2), -0.5, generator=g),
    lambda t, g: ff.orthogonal_(t.reshape(2, 2), gain=math.inf, generator=g),
])
@pytest.mark.parametrize("default_generator", [False, True])
def test_refused_call_leaves_the_generator_as_it_was(call, default_generator):
    g = None if default_generator else torch.Generator().manual_seed(11)
    if default_generator:
        torch.manual_seed(11)
    state = (torch.default_generator if g is None else g).get_state()
    t = torch.zeros(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            call(t, g)
    assert torch.equal((torch.default_generator if g is None else g).get_state(), state)
    assert torch.equal(t, torch.zeros(4))


def test_patch_nn_init_reaches_torch_layers_and_restores():
    originals = {name: getattr(tinit, name) for name in ff.__all__}
    torch.manual_seed(0)
    with fanfill.torch.patch_nn_init() as init:
        assert init is ff
        assert all(getattr(tinit, name) is getattr(ff, name) for name in ff.__all__)
        lin = torch.nn.Linear(16, 9)
        with fanfill.torch.patch_nn_init():  # nested: the outer block still patches
            pass
        assert tinit.kaiming_uniform_ is ff.kaiming_uniform_
        conv = torch.nn.Conv2d(3, 8, 3)
    assert all(getattr(tinit, name) is fn for name, fn in originals.items())
    # The values are what fanfill's functions give for the same generator draws.
    torch.manual_seed(0)
    w, b = torch.empty(9, 16), torch.empty(9)
    ff.kaiming_uniform_(w, a=math.sqrt(5))
    ff.uniform_(b, -1 / math.sqrt(16), 1 / math.sqrt(16))
    cw, cb = torch.empty(8, 3, 3, 3), torch.empty(8)
    ff.kaiming_uniform_(cw, a=math.sqrt(5))
    ff.uniform_(cb, -1 / math.sqrt(27), 1 / math.sqrt(27))
    assert torch.equal(lin.weight, w) and torch.equal(lin.bias, b)
    assert torch.equal(conv.weight, cw) and torch.equal(conv.bias, cb)
    torch.manual_seed(0)
    assert not torch.equal(torch.nn.Linear(16, 9).weight, lin.weight)  # torch's own again


def test_patch_nn_init_restores_after_an_exception():
    original = tinit.normal_
    with pytest.raises(RuntimeError, match="inside"):
        with fanfill.torch.patch_nn_init():
            assert tinit.normal_ is ff.normal_
            raise RuntimeError("inside")
    assert tinit.normal_ is original


@pytest.mark.parametrize("call", [
    lambda m: m.normal_(torch.empty(0, dtype=torch.long)),  # no kernel, but nothing to draw
    lambda m: m.uniform_(torch.empty(0, dtype=torch.complex64), 1.0, 0.0),
    lambda m: m.uniform_(torch.empty(3, device="meta"), 1.0, 0.0),  # meta kernels skip checks
    lambda m: m.kaiming_uniform_(torch.empty(3, 4, dtype=torch.long, device="meta")),
])
def test_empty_and_meta_tensors_take_torchs_own_checks(call):
    call(tinit)  # torch: a no-op
    call(ff)


def test_type_errors_as_torch():
    w = torch.empty(6, 4, 3)
    for fn in (ff.uniform_, ff.normal_, ff.trunc_normal_, ff.kaiming_normal_, ff.sparse_):
        args = (0.5,) if fn is ff.sparse_ else ()
        with pytest.raises(TypeError, match="must be torch.Generator, not int"):
            fn(w.reshape(6, 12), *args, generator=42)
    for m in (tinit, ff):
        with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
            m.dirac_(w, 1.5)
        with pytest.raises(TypeError):
            m.orthogonal_(w.reshape(6, 12), "2")
        with pytest.raises(NotImplementedError):
            m.trunc_normal_(torch.empty(4, dtype=torch.complex64))
    with pytest.raises(ValueError, match="std must be a number"):  # torch writes U(a, b)
        ff.trunc_normal_(torch.empty(4), 0.0, float("nan"))


def test_complex_uniform_with_equal_bounds_fills_both_parts():
    for m in (tinit, ff):
        t = m.uniform_(torch.zeros(3, dtype=torch.complex64), 2.0, 2.0)
        assert torch.equal(t, torch.full((3,), 2 + 2j, dtype=torch.complex64))


def test_default_device_context_keeps_temporaries_on_the_cpu():
    def run():
        g = torch.Generator().manual_seed(4)
        ws = [torch.empty(5, 4, device="cpu").t(),
              torch.empty(3, 4, dtype=torch.complex64, device="cpu"),
              torch.empty(6, 6, dtype=torch.bfloat16, device="cpu")]
        ff.xavier_uniform_(ws[0], generator=g)
        ff.kaiming_normal_(ws[1], generator=g)
        ff.orthogonal_(ws[2], generator=g)
        ff.trunc_normal_(ws[0], generator=g)
        return ws
    ref = run()
    with torch.device("meta"):
        got = run()
    for a, b in zip(ref, got, strict=True):
        assert b.device.type == "cpu" and torch.equal(a, b)


def test_orthogonal_where_torch_has_no_kernel_is_the_contiguous_float32_call():
    def g():
        return torch.Generator().manual_seed(3)
    half = ff.orthogonal_(torch.empty(4, 5, dtype=torch.bfloat16), generator=g())
    assert torch.equal(half, ff.orthogonal_(torch.empty(4, 5), generator=g()).bfloat16())
    cl = ff.orthogonal_(torch.empty(4, 3, 3, 3).to(memory_format=torch.channels_last),
                        generator=g())
    assert cl.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(cl, ff.orthogonal_(torch.empty(4, 3, 3, 3), generator=g()))
