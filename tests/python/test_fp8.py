"""FP8 outputs of `import fanfill`: ml_dtypes and torch float8_e4m3fn / float8_e5m2, scale=.

The contract (include/fanfill/fanfill.hpp): an FP8 fill is the float32 fill of
the same parameters (each divided by scale=) rounded once to nearest even, as
torch's ``Tensor.to(torch.float8_*)`` rounds; distributions whose values the
format cannot hold are refused before anything is written.
"""

import fanfill
import numpy as np
import pytest

ml_dtypes = pytest.importorskip("ml_dtypes")
torch = pytest.importorskip("torch")

FORMATS = [
    (ml_dtypes.float8_e4m3fn, torch.float8_e4m3fn),
    (ml_dtypes.float8_e5m2, torch.float8_e5m2),
]
FILLS = [
    ("uniform", lambda o, **k: fanfill.fill_uniform(o, -2.0, 3.0, **k)),
    ("normal", lambda o, **k: fanfill.fill_normal(o, 0.25, 1.5, **k)),
    ("trunc", lambda o, **k: fanfill.fill_truncated_normal(o, 0.0, 1.0, -2.0, 2.0, **k)),
]


def _bytes(x: object) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.view(torch.uint8).numpy()
    assert isinstance(x, np.ndarray)
    return x.view(np.uint8)


@pytest.mark.parametrize("np_dt,torch_dt", FORMATS)
@pytest.mark.parametrize("kind,fill", FILLS)
def test_fp8_is_the_f32_fill_rounded_once_as_torch_rounds(np_dt, torch_dt, kind, fill):
    f32 = fill(torch.empty(4097), seed=5, name="w")
    want = f32.to(torch_dt)  # torch's rounding (nearest even) of the same float values
    if kind == "uniform":
        # Uniform keeps [low, high) after rounding: values that round up to high = 3 are
        # the format's largest value below 3 instead.
        values = torch.arange(256, dtype=torch.uint8).view(torch_dt).float()
        below = values[torch.isfinite(values) & (values < 3.0)].max()
        rounded_up = want.float() >= 3.0
        assert 0 < int(rounded_up.sum()) < 4097
        want = torch.where(rounded_up, below, want.float()).to(torch_dt)
    t8 = fill(torch.empty(4097, dtype=torch_dt), seed=5, name="w")
    a8 = fill(np.empty(4097, np_dt), seed=5, name="w")
    assert np.array_equal(_bytes(t8), _bytes(want)), kind
    assert np.array_equal(_bytes(a8), _bytes(want)), kind
    assert np.isfinite(a8.astype(np.float32)).all()


@pytest.mark.parametrize("np_dt,torch_dt", FORMATS)
def test_scale_divides_in_the_same_pass(np_dt, torch_dt):
    # std 0.004 is below E4M3's smallest normal (2^-6): refused alone, fine with scale 2^-6.
    scale = 2.0**-6
    got = fanfill.fill_normal(np.empty(3000, np_dt), 0.0, 0.004, seed=1, stream=2, scale=scale)
    ref = fanfill.fill_normal(torch.empty(3000), 0.0, 0.004 / scale, seed=1, stream=2)
    assert np.array_equal(_bytes(got), _bytes(ref.to(torch_dt)))
    blk = fanfill.fill_normal(np.empty((4, 5), np_dt), 0.0, 0.004, seed=1, stream=2,
                              global_shape=[60, 50], offset=[7, 9], scale=scale)
    whole = fanfill.fill_normal(np.empty((60, 50), np_dt), 0.0, 0.004, seed=1, stream=2,
                                scale=scale)
    assert np.array_equal(_bytes(blk), _bytes(whole[7:11, 9:14].copy()))


def test_scale_one_changes_no_bit_and_f32_scale_is_a_division():
    a = fanfill.fill_normal(np.empty(1000, np.float32), 0.0, 0.5, seed=3)
    b = fanfill.fill_normal(np.empty(1000, np.float32), 0.0, 0.5, seed=3, scale=1.0)
    c = fanfill.fill_normal(np.empty(1000, np.float32), 0.0, 1.0, seed=3, scale=2.0)
    assert np.array_equal(a, b) and np.array_equal(a, c)


@pytest.mark.parametrize("np_dt,torch_dt", FORMATS)
def test_init_with_fp8_and_scale(np_dt, torch_dt):
    shape = (64, 256)  # kaiming_normal: std sqrt(2 / 256) ~ 0.088
    ref = fanfill.init_(torch.empty(shape), "kaiming_normal", seed=9, name="l.weight")
    t8 = fanfill.init_(torch.empty(shape, dtype=torch_dt), "kaiming_normal", seed=9,
                       name="l.weight")
    assert np.array_equal(_bytes(t8), _bytes(ref.to(torch_dt)))
    s = 0.125
    ref_s = fanfill.init_(torch.empty(shape), "kaiming_normal", seed=9, name="l.weight", scale=s)
    assert torch.equal(ref_s, ref / s)  # a power-of-two scale: exact in float
    a8 = fanfill.init_(np.empty(shape, np_dt), "kaiming_normal", seed=9, name="l.weight",
                       scale=s)
    assert np.array_equal(_bytes(a8), _bytes(ref_s.to(torch_dt)))
    # Ranges and blocks of FP8 inits are the matching parts of the whole.
    part = fanfill.init_(np.empty(100, np_dt), "kaiming_normal", seed=9, name="l.weight",
                         shape=shape, first_index=1000, scale=s)
    assert np.array_equal(_bytes(part), _bytes(a8.reshape(-1)[1000:1100].copy()))


@pytest.mark.parametrize("np_dt", [ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2])
@pytest.mark.parametrize(
    "call,match",
    [
        (lambda o: fanfill.fill_normal(o, 0.0, 1e-6, seed=1), "scale"),  # underflow
        (lambda o: fanfill.fill_uniform(o, -1e6, 1e6, seed=1), "scale"),  # overflow
        (lambda o: fanfill.fill_normal(o, 0.0, 1.0, seed=1, scale=0.0), "scale"),
        (lambda o: fanfill.fill_normal(o, 0.0, 1.0, seed=1, scale=float("nan")), "scale"),
        (lambda o: fanfill.init_(o, "normal(std=1e-7)", seed=1), "scale"),
    ],
)
def test_unrepresentable_fp8_fills_are_refused_and_write_nothing(np_dt, call, match):
    out = np.full(64, 0.5, np_dt)
    with pytest.raises(ValueError, match=match):
        call(out)
    assert (out.astype(np.float32) == 0.5).all()


def test_scale_must_be_a_number():
    with pytest.raises(TypeError, match="scale"):
        fanfill.fill_normal(np.empty(4, np.float32), seed=1, scale="2")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["float8_e4m3", "float8_e4m3fnuz", "float8_e5m2fnuz",
                                  "float8_e4m3b11fnuz"])
def test_other_8_bit_formats_are_refused_by_name(name):
    if not hasattr(ml_dtypes, name):
        pytest.skip(f"this ml_dtypes has no {name}")
    out = np.zeros(8, getattr(ml_dtypes, name))
    with pytest.raises(TypeError, match=name):
        fanfill.fill_normal(out, seed=1)
    assert (out.view(np.uint8) == 0).all()


@pytest.mark.parametrize("dt", [torch.float8_e4m3fnuz, torch.float8_e5m2fnuz])
def test_torch_fnuz_formats_are_refused(dt):
    out = torch.zeros(8, dtype=dt)
    with pytest.raises(TypeError, match="fnuz"):
        fanfill.fill_normal(out, seed=1)
    assert (out.view(torch.uint8) == 0).all()


def test_nn_init_on_fp8_tensors_raises_what_torch_raises():
    # torch 2.13 has no normal_/uniform_ kernel for the float8 dtypes; the drop-in
    # raises the same exception (the core functions above are the way to fill FP8).
    from fanfill.torch import nn_init

    for op in ("normal_", "uniform_"):
        t = torch.zeros(4, 8, dtype=torch.float8_e4m3fn)
        with pytest.raises(NotImplementedError) as theirs:
            getattr(torch.nn.init, op)(t.clone())
        with pytest.raises(NotImplementedError) as ours:
            getattr(nn_init, op)(t)
        assert str(ours.value) == str(theirs.value)
        assert (t.view(torch.uint8) == 0).all()


@pytest.mark.parametrize("torch_dt", [dt for _, dt in FORMATS])
def test_init_model_rules_write_fp8_parameters_as_init_does(torch_dt):
    # rules= fills an FP8 parameter in the core, as fanfill.init_ does: the same bytes
    # (float32's values rounded once), also for a non-contiguous FP8 parameter.
    from fanfill.torch import init_model

    m = torch.nn.Sequential(torch.nn.Linear(64, 32)).to(torch_dt)
    m[0].weight = torch.nn.Parameter(torch.zeros(64, 32, dtype=torch_dt).t(), requires_grad=False)
    init_model(m, 4, rules={torch.nn.Linear: {"weight": "normal(std=0.5)", "bias": "ones"}})
    assert not m[0].weight.is_contiguous()
    want = fanfill.init_(torch.empty(32, 64, dtype=torch_dt), "normal(std=0.5)", seed=4,
                         name="0.weight")
    f32 = fanfill.init_(torch.empty(32, 64), "normal(std=0.5)", seed=4, name="0.weight")
    assert np.array_equal(_bytes(m[0].weight.contiguous()), _bytes(want))
    assert np.array_equal(_bytes(want), _bytes(f32.to(torch_dt)))
    assert (m[0].bias.float() == 1).all()


@pytest.mark.parametrize("rules,make,match", [
    # Values beyond 448 (was: written as float32, then copy_ saturated 2715 of 4096 to +-448).
    ({torch.nn.Linear: {"weight": "normal(std=1000)"}}, lambda: torch.nn.Linear(64, 64),
     "beyond the f8e4m3 range"),
    # A spread below 2^-6 (was: 9 distinct values, 14% zeros).
    ("torch", lambda: torch.nn.Linear(20000, 4), "below the smallest f8e4m3 normal"),
])
def test_init_model_rules_refuse_what_init_refuses_on_fp8(rules, make, match):
    from fanfill.torch import init_model

    m = torch.nn.Sequential(make()).to(torch.float8_e4m3fn)
    with torch.no_grad():
        m[0].weight.zero_()
    with pytest.raises(ValueError, match=match):
        init_model(m, 0, rules=rules)
    assert (_bytes(m[0].weight) == 0).all()
