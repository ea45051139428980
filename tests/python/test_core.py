"""Core functions of `import fanfill` on numpy arrays and torch tensors."""

import math
import threading
import time

import fanfill
import numpy as np
import pytest

ml_dtypes = pytest.importorskip("ml_dtypes")
torch = pytest.importorskip("torch")

NP_DTYPES = [np.float32, np.float64, np.float16, ml_dtypes.bfloat16]
TORCH_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def test_stream_id_is_fnv1a():
    assert fanfill.stream_id("") == 0xCBF29CE484222325
    assert fanfill.stream_id("a") == 0xAF63DC4C8601EC8C


@pytest.mark.parametrize("dtype", NP_DTYPES)
def test_numpy_and_torch_agree_bit_for_bit(dtype):
    tdt = TORCH_DTYPES[NP_DTYPES.index(dtype)]
    a = np.zeros((33, 17), dtype)
    t = torch.zeros(33, 17, dtype=tdt)
    fanfill.fill_normal(a, 0.5, 2.0, seed=7, name="w")
    fanfill.fill_normal(t, 0.5, 2.0, seed=7, name="w")
    assert np.array_equal(a.view(np.uint8), t.view(torch.uint8).numpy())
    assert np.isfinite(a.astype(np.float64)).all() and a.astype(np.float64).std() > 1.5


@pytest.mark.parametrize(
    "fill",
    [
        lambda o, **k: fanfill.fill_uniform(o, -1.0, 3.0, **k),
        lambda o, **k: fanfill.fill_normal(o, 0.0, 1.0, **k),
        lambda o, **k: fanfill.fill_truncated_normal(o, 0.0, 1.0, -0.5, 2.0, **k),
        lambda o, **k: fanfill.init_(o, "kaiming_uniform", shape=[100, 10], **k),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, ml_dtypes.bfloat16])
def test_sub_ranges_and_threads_change_nothing(fill, dtype):
    whole = fill(np.empty(1000, dtype), seed=3, stream=11, threads=1)
    for threads in (0, 2, 3):
        assert np.array_equal(fill(np.empty(1000, dtype), seed=3, stream=11, threads=threads),
                              whole)
    # Pieces at first_index reproduce the slices (the init_ case keeps its shape= for the fans).
    parts = [fill(np.empty(n, dtype), seed=3, stream=11, first_index=f)
             for f, n in ((0, 250), (250, 1), (251, 749))]
    assert np.array_equal(np.concatenate(parts), whole)


def test_bounds_and_bits():
    u = fanfill.fill_uniform(np.empty(10000, np.float32), 2.0, 3.0, seed=1)
    assert u.min() >= 2.0 and u.max() < 3.0
    tn = fanfill.fill_truncated_normal(np.empty(10000, np.float64), 0.0, 1.0, -0.5, 0.5, seed=1)
    assert tn.min() >= -0.5 and tn.max() <= 0.5
    bits = fanfill.fill_bits(np.empty(16, np.uint32), seed=0, stream=0)
    part = fanfill.fill_bits(np.empty(6, np.uint32), seed=0, stream=0, first_index=10)
    assert np.array_equal(bits[10:], part)
    tb = fanfill.fill_bits(torch.empty(16, dtype=torch.int32), seed=0, stream=0)
    assert np.array_equal(tb.numpy().view(np.uint32), bits)


def test_init_matches_describe_and_fill():
    shape = [64, 3, 7, 7]
    d = fanfill.describe(shape, "kaiming_normal(mode=fan_out, nonlinearity=relu)")
    assert d["fan_in"] == 147 and d["fan_out"] == 3136 and d["kind"] == "normal"
    assert d["std"] == pytest.approx(np.sqrt(2) / np.sqrt(3136))
    spec = "kaiming_normal(mode=fan_out, nonlinearity=relu)"
    w = fanfill.init_(np.empty(shape, np.float32), spec, seed=42, name="conv1.weight")
    ref = fanfill.fill_normal(np.empty(shape, np.float32), 0.0, d["distribution"]["std"], seed=42,
                              name="conv1.weight")
    assert np.array_equal(w, ref)
    # shape= reinterprets a flat buffer; layout io swaps the fans.
    flat = fanfill.init_(np.empty(64 * 147, np.float32), "kaiming_normal(mode=fan_out, "
                         "nonlinearity=relu)", seed=42, name="conv1.weight", shape=shape)
    assert np.array_equal(flat.reshape(shape), w)
    assert fanfill.describe([7, 7, 3, 64], "glorot_uniform", layout="io")["fan_in"] == 147
    assert fanfill.describe([3], "zeros")["kind"] == "constant"


def test_one_sided_trunc_normal_spec_is_the_one_sided_fill():
    # trunc_normal's bounds may be inf: no bound on that side (the fill's -inf/inf).
    d = fanfill.describe([8, 8], "trunc_normal(std=2, a=0, b=inf)")
    assert d["high"] == np.inf and d["low"] == 0.0
    assert d["mean"] == pytest.approx(2 * np.sqrt(2 / np.pi), rel=1e-14)
    w = fanfill.init_(np.empty(4096, np.float32), "trunc_normal(std=2, a=0, b=inf)", seed=3,
                      name="w")
    ref = fanfill.fill_truncated_normal(np.empty(4096, np.float32), 0.0, 2.0, 0.0, np.inf,
                                        seed=3, name="w")
    assert np.array_equal(w, ref) and w.min() >= 0
    assert fanfill.canonical_scheme("trunc_normal(b=INF)") == (
        "trunc_normal(mean=0, std=1, a=-2, b=inf)")
    with pytest.raises(ValueError, match="must be finite"):
        fanfill.init_(np.empty(4, np.float32), "uniform(a=-inf)", seed=0)


@pytest.mark.parametrize("scheme", ["kaiming_normal", "trunc_normal(std=0.02)", "zeros"])
def test_blocks_equal_slices_of_the_whole(scheme):
    g = [10, 6]
    whole = fanfill.init_(np.empty(g, np.float32), scheme, seed=5, name="w")
    for off, ext in (([0, 0], [4, 6]), ([4, 2], [6, 3]), ([9, 5], [1, 1]), ([3, 0], [0, 6])):
        blk = fanfill.init_(np.empty(ext, np.float32), scheme, seed=5, name="w", global_shape=g,
                            offset=off)
        assert np.array_equal(blk, whole[off[0]:off[0] + ext[0], off[1]:off[1] + ext[1]])
    wn = fanfill.fill_normal(np.empty(g, np.float64), seed=5, stream=1)
    bn = fanfill.fill_normal(np.empty([3, 2]), seed=5, stream=1, global_shape=g, offset=[2, 4])
    assert np.array_equal(bn, wn[2:5, 4:6])


def test_gil_released_and_concurrent_calls_are_correct():
    n = 1 << 20
    refs = [fanfill.fill_normal(np.empty(n, np.float32), seed=9, stream=s, threads=1)
            for s in range(6)]
    outs = [np.empty(n, np.float32) for _ in range(6)]
    errors = []

    def work(s):
        try:
            for _ in range(3):
                fanfill.fill_normal(outs[s], seed=9, stream=s, threads=2)
                assert np.array_equal(outs[s], refs[s])
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(s,)) for s in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_gil_is_released_during_a_fill():
    # One long fill (2^25 f64 truncated normal values, ~0.1 s) in a worker, while this
    # thread timestamps Python loop iterations. A call holding the GIL would let this
    # thread run no bytecode from the call's start until it returns; released, this
    # thread runs at once. (Checked by replacing the fill with C code that keeps the GIL
    # for 1 s, a sort: the first iteration after the start came 95% into the call.)
    out = np.empty(1 << 25, np.float64)
    span: list[float] = []
    started = threading.Event()

    def work():
        started.set()
        t0 = time.perf_counter()
        fanfill.fill_truncated_normal(out, 0.0, 1.0, -2.0, 2.0, seed=1, threads=1)
        span.extend((t0, time.perf_counter()))

    worker = threading.Thread(target=work)
    worker.start()
    started.wait()
    stamps = []
    while worker.is_alive():
        stamps.append(time.perf_counter())
    worker.join()
    t0, t1 = span
    first = min((x for x in stamps if x > t0), default=math.inf)
    assert first - t0 < 0.5 * (t1 - t0), (
        f"this thread first ran {first - t0:.3f} s into a {t1 - t0:.3f} s fill")


def _bad_cases():
    """(description, buffer-maker, call, exception type, message part)."""
    f32 = lambda: np.full((4, 5), 7.0, np.float32)  # noqa: E731

    def ro():
        a = f32()
        a.flags.writeable = False
        return a

    return [
        ("non-contiguous numpy", lambda: np.full((4, 10), 7.0, np.float32)[:, ::2],
         lambda o: fanfill.fill_normal(o, seed=1), ValueError, "contiguous"),
        ("fortran numpy", lambda: np.asfortranarray(f32()),
         lambda o: fanfill.fill_normal(o, seed=1), ValueError, "contiguous"),
        ("read-only numpy", ro, lambda o: fanfill.fill_normal(o, seed=1), ValueError, "read-only"),
        ("read-only bytes", lambda: b"\x00" * 16, lambda o: fanfill.fill_normal(o, seed=1),
         ValueError, "read-only"),
        ("list", lambda: [7.0, 7.0], lambda o: fanfill.fill_normal(o, seed=1), TypeError,
         "numpy arrays"),
        ("int64 numpy", lambda: np.full(5, 7, np.int64), lambda o: fanfill.fill_normal(o, seed=1),
         TypeError, "int64"),
        ("float32 for bits", f32, lambda o: fanfill.fill_bits(o, seed=1), TypeError, "uint32"),
        # Byte-swapped dtypes have the right name but the wrong byte order: never filled.
        *[(f"byte-swapped {s}", (lambda s=s: np.full(6, 7, np.dtype(s).newbyteorder("S"))),
           lambda o: fanfill.fill_normal(o, seed=1), TypeError, "byte-swapped")
          for s in ("f4", "f8", "f2")],
        ("byte-swapped u4 for bits", lambda: np.full(6, 7, np.dtype("u4").newbyteorder("S")),
         lambda o: fanfill.fill_bits(o, seed=1), TypeError, "byte-swapped"),
        ("byte-swapped f4 scheme", lambda: np.full((3, 4), 7, np.dtype("f4").newbyteorder("S")),
         lambda o: fanfill.init_(o, "kaiming_normal", seed=1), TypeError, "byte-swapped"),
        ("byte-swapped buffer", lambda: memoryview(np.full(6, 7, np.dtype("f4").newbyteorder("S"))),
         lambda o: fanfill.fill_uniform(o, seed=1), TypeError, "byte-swapped"),
        ("int tensor", lambda: torch.full((3,), 7, dtype=torch.int64),
         lambda o: fanfill.fill_uniform(o, seed=1), TypeError, "int64"),
        ("complex tensor", lambda: torch.full((3,), 7, dtype=torch.complex64),
         lambda o: fanfill.fill_uniform(o, seed=1), TypeError, "complex"),
        ("non-contiguous tensor", lambda: torch.full((4, 6), 7.0).t(),
         lambda o: fanfill.fill_normal(o, seed=1), ValueError, "contiguous"),
        ("meta tensor", lambda: torch.empty(4, 4, device="meta"),
         lambda o: fanfill.init_(o, "kaiming_normal", seed=1), ValueError, "meta"),
        ("leaf requiring grad", lambda: torch.full((3, 3), 7.0, requires_grad=True),
         lambda o: fanfill.fill_normal(o, seed=1), ValueError, "requires grad"),
        ("non-leaf requiring grad", lambda: torch.full((3, 3), 7.0, requires_grad=True) * 1.0,
         lambda o: fanfill.fill_normal(o, seed=1), ValueError, "requires grad"),
        ("shape mismatch", f32, lambda o: fanfill.init_(o, "kaiming_normal", seed=1, shape=[3, 7]),
         ValueError, "elements"),
        ("unknown scheme", f32, lambda o: fanfill.init_(o, "kaimin_normal", seed=1), ValueError,
         "unknown scheme"),
        ("bad scheme argument", f32,
         lambda o: fanfill.init_(o, "kaiming_normal(mode=fan_x)", seed=1), ValueError, "fan_x"),
        ("1-d kaiming", lambda: np.full(5, 7.0, np.float32),
         lambda o: fanfill.init_(o, "kaiming_normal", seed=1), ValueError, "dimensions"),
        ("NaN std", f32, lambda o: fanfill.fill_normal(o, 0.0, float("nan"), seed=1), ValueError,
         "stddev"),
        ("negative std", f32, lambda o: fanfill.fill_normal(o, 0.0, -1.0, seed=1), ValueError,
         "stddev"),
        ("empty uniform range", f32, lambda o: fanfill.fill_uniform(o, 1.0, 1.0, seed=1),
         ValueError, "low must be < high"),
        ("infinite bound", f32, lambda o: fanfill.fill_uniform(o, 0.0, float("inf"), seed=1),
         ValueError, "finite"),
        ("name and stream", f32, lambda o: fanfill.fill_normal(o, seed=1, name="w", stream=3),
         ValueError, "not both"),
        ("negative seed", f32, lambda o: fanfill.fill_normal(o, seed=-1), ValueError, "seed"),
        ("float seed", f32, lambda o: fanfill.fill_normal(o, seed=1.5), TypeError, "seed"),
        ("negative threads", f32, lambda o: fanfill.fill_normal(o, seed=1, threads=-2),
         ValueError, "threads"),
        ("bad layout", f32, lambda o: fanfill.init_(o, "kaiming_normal", seed=1, layout="xy"),
         ValueError, "xy"),
        ("index overflow", f32, lambda o: fanfill.fill_normal(o, seed=1, first_index=2**64 - 3),
         ValueError, "overflows"),
        ("block outside", f32,
         lambda o: fanfill.init_(o, "kaiming_normal", seed=1, global_shape=[6, 5], offset=[3, 0]),
         ValueError, "out of range"),
        ("block rank", f32,
         lambda o: fanfill.fill_normal(o, seed=1, global_shape=[20], offset=[0]), ValueError,
         "rank"),
        ("orthogonal block", f32,
         lambda o: fanfill.init_(o, "orthogonal", seed=1, global_shape=[8, 5], offset=[0, 0]),
         ValueError, "orthogonal"),
        ("first_index on orthogonal", f32,
         lambda o: fanfill.init_(o, "orthogonal", seed=1, shape=[8, 5], first_index=4),
         ValueError, "range fill is not supported for orthogonal"),
        # Numbers beyond the double range: ValueError, not OverflowError.
        ("mean 10**400", f32, lambda o: fanfill.fill_normal(o, 10**400, 1.0, seed=1), ValueError,
         "mean is too large"),
        ("high 10**400", f32, lambda o: fanfill.fill_uniform(o, 0.0, 10**400, seed=1),
         ValueError, "high is too large"),
        ("scale 10**400", f32, lambda o: fanfill.init_(o, "ones", seed=1, scale=10**400),
         ValueError, "scale is too large"),
        # Dimensions beyond int64: ValueError, not nanobind's signature dump.
        ("shape 2**63", lambda: np.full(0, 7.0, np.float32),
         lambda o: fanfill.init_(o, "uniform", seed=1, shape=[2**63, 0]), ValueError,
         "out of range"),
        ("range shape 2**63", f32,
         lambda o: fanfill.init_(o, "uniform", seed=1, shape=[2**63], first_index=0), ValueError,
         "out of range"),
        ("global_shape 2**63", f32,
         lambda o: fanfill.fill_normal(o, seed=1, global_shape=[2**63, 5], offset=[0, 0]),
         ValueError, "global_shape: 9223372036854775808 is out of range"),
        ("offset -2**63 - 1", f32,
         lambda o: fanfill.init_(o, "ones", seed=1, global_shape=[4, 5], offset=[-2**63 - 1, 0]),
         ValueError, "offset: .* is out of range"),
        # Text that is not UTF-8 (a lone surrogate): ValueError.
        ("surrogate name", f32, lambda o: fanfill.fill_normal(o, seed=1, name="w\udc80"),
         ValueError, "name is not valid UTF-8"),
        ("surrogate scheme", f32, lambda o: fanfill.init_(o, "uniform\udc80", seed=1),
         ValueError, "scheme is not valid UTF-8"),
        ("surrogate layout", f32, lambda o: fanfill.init_(o, "ones", seed=1, layout="o\udc80"),
         ValueError, "layout is not valid UTF-8"),
        # Shapes that are no sequence of integers.
        *[(f"shape {kind}", f32, (lambda o, m=make: fanfill.init_(o, "ones", seed=1, shape=m())),
           TypeError, "shape must be a sequence of integers")
          for kind, make in (("dict", lambda: {4: 0, 5: 0}), ("set", lambda: {4, 5}),
                             ("generator", lambda: (d for d in (4, 5))), ("str", lambda: "45"),
                             ("bool", lambda: [4, True]), ("float", lambda: [4.0, 5]),
                             ("torch bool", lambda: [4, torch.tensor(True)]))],
        # Bools and complex numbers of every kind are no numbers (True is refused, so are
        # numpy's and torch's; a complex std would lose its imaginary part).
        *[(f"std {kind}", f32, (lambda o, v=v: fanfill.fill_normal(o, 0.0, v, seed=1)),
           TypeError, "std must be a real number")
          for kind, v in (("True", True), ("np.True_", np.True_),
                          ("np.array(True)", np.array(True)),
                          ("torch bool", torch.tensor(True)), ("complex", 2 + 5j),
                          ("np.complex128", np.complex128(2 + 5j)),
                          ("np.complex64", np.complex64(2)),
                          ("torch complex", torch.tensor(2 + 0j)), ("str", "2.0"))],
        *[(f"seed {kind}", f32, (lambda o, v=v: fanfill.fill_normal(o, seed=v)), TypeError,
           "seed must be an integer")
          for kind, v in (("True", True), ("np.True_", np.True_),
                          ("torch bool", torch.tensor(True)), ("complex", 1 + 0j))],
        ("stream torch bool", f32,
         lambda o: fanfill.fill_normal(o, seed=1, stream=torch.tensor(1 > 0)), TypeError,
         "stream must be an integer"),
        # Meta tensors have no value: ValueError, not torch's RuntimeError from item().
        *[(f"meta {what}", f32, call, ValueError, f"{what} is a meta tensor, which has no value")
          for what, call in (
              ("seed", lambda o: fanfill.fill_normal(o, seed=torch.tensor(5, device="meta"))),
              ("stream", lambda o: fanfill.fill_normal(
                  o, seed=1, stream=torch.tensor(5, device="meta"))),
              ("std", lambda o: fanfill.fill_normal(
                  o, 0.0, torch.tensor(1.0, device="meta"), seed=1)),
              ("scale", lambda o: fanfill.init_(
                  o, "ones", seed=1, scale=torch.tensor(2.0, device="meta"))),
              ("offset", lambda o: fanfill.fill_normal(
                  o, seed=1, global_shape=[4, 5], offset=[torch.tensor(0, device="meta"), 0])),
              ("shape", lambda o: fanfill.init_(
                  o, "ones", seed=1, shape=[torch.tensor(4, device="meta"), 5])))],
        # Control bytes in text are refused with the whole message (a NUL once cut it short).
        ("NUL in scheme", f32, lambda o: fanfill.init_(o, "normal\0(std=2)", seed=1), ValueError,
         r"unexpected '\\x00\(std=2\)' at position 7"),
        ("NUL in layout", f32, lambda o: fanfill.init_(o, "ones", seed=1, layout="oi\0"),
         ValueError, r"unknown layout 'oi\\x00' \(expected oi"),
    ]


@pytest.mark.parametrize("case", _bad_cases(), ids=lambda c: c[0])
def test_bad_input_raises_and_writes_nothing(case):
    _, make, call, exc, msg = case
    out = make()
    if isinstance(out, torch.Tensor) and out.device.type != "meta":
        before = out.detach().clone()
    else:
        before = np.array(out, copy=True) if isinstance(out, np.ndarray) else None
    with pytest.raises(exc, match=msg):
        call(out)
    if isinstance(out, torch.Tensor) and out.device.type != "meta":
        assert torch.equal(out, before)
    elif isinstance(out, np.ndarray):
        assert np.array_equal(out, before)
    elif isinstance(out, bytes):
        assert out == b"\x00" * 16


def test_writable_buffer_protocol_objects():
    buf = bytearray(16)
    fanfill.fill_bits(memoryview(buf).cast("I"), seed=1)
    assert buf != bytearray(16)
    import array

    arr = array.array("f", [0.0] * 8)
    fanfill.fill_normal(arr, seed=2, stream=4)
    assert np.array_equal(np.asarray(arr, np.float32),
                          fanfill.fill_normal(np.empty(8, np.float32), seed=2, stream=4))


def test_torch_version_counter_bumped():
    t = torch.zeros(10)
    v = t._version
    fanfill.fill_normal(t, seed=1)
    assert t._version > v


def test_no_grad_fills_parameters():
    p = torch.nn.Parameter(torch.zeros(4, 4))
    with torch.no_grad():
        fanfill.init_(p, "kaiming_uniform", seed=1, name="p")
    assert p.requires_grad and p.abs().sum() > 0


def test_torch_flush_denormal_does_not_change_the_bits():
    """torch.set_flush_denormal(True) sets FTZ/DAZ on this thread; fanfill's
    fills compute in the default environment anyway (src/core/fp_env.h): the
    same subnormal values, and the validation of subnormal bounds ends."""
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU has no flush-denormal mode")
    shape = (1 << 17,)
    cases = [
        (lambda t, n: fanfill.fill_normal(t, 0.0, 1e-39, seed=3, threads=n), torch.float32),
        (lambda t, n: fanfill.fill_uniform(t, -1e-38, 1e-38, seed=3, threads=n), torch.float32),
        (lambda t, n: fanfill.fill_normal(t, 0.0, 1e-309, seed=3, threads=n), torch.float64),
    ]
    want = [fill(torch.empty(shape, dtype=dtype), 1) for fill, dtype in cases]
    assert int((want[0] != 0).sum()) > shape[0] // 2  # subnormals really stored
    try:
        assert torch.set_flush_denormal(True)
        assert float(torch.tensor([1e-39]) * 1.0) == 0.0  # torch itself now flushes
        for (fill, dtype), w in zip(cases, want, strict=True):
            for threads in (0, 1):
                assert torch.equal(fill(torch.empty(shape, dtype=dtype), threads), w)
        assert float(torch.tensor([1e-39]) * 1.0) == 0.0  # the caller's mode is back
    finally:
        torch.set_flush_denormal(False)


def test_real_numbers_of_every_kind_accepted():
    """numpy and torch real scalars stay accepted where a float is expected."""
    want = fanfill.fill_normal(np.empty(8, np.float32), 0.5, 2.0, seed=3)
    for mean, std in ((np.float32(0.5), np.int64(2)), (torch.tensor(0.5), torch.tensor(2))):
        got = fanfill.fill_normal(np.empty(8, np.float32), mean, std, seed=np.uint64(3))
        assert np.array_equal(got, want)
    assert fanfill.describe(np.array([4, 5]), "ones")["count"] == 20
    assert fanfill.describe(torch.Size([4, 5]), "ones")["count"] == 20
    assert fanfill.describe(range(2, 4), "ones")["count"] == 6


def test_accepted_dtypes_do_not_let_others_through():
    """The numpy dtype check remembers the dtypes it accepted (numpy's dtype.name is slow):
    after native float32/uint32 fills, the same kinds byte-swapped, uint32 for a float
    fill, float32 for fill_bits and the non-OCP float8 are still refused, nothing written."""
    import ml_dtypes

    fanfill.fill_normal(np.empty(4, np.float32), seed=1)
    fanfill.fill_bits(np.empty(4, np.uint32), seed=1)
    fanfill.fill_normal(np.empty(4, ml_dtypes.float8_e4m3fn), seed=1)
    cases = [
        (np.full(4, 7, np.dtype("f4").newbyteorder("S")), fanfill.fill_normal, "byte-swapped"),
        (np.full(4, 7, np.dtype("u4").newbyteorder("S")), fanfill.fill_bits, "byte-swapped"),
        (np.full(4, 7, np.uint32), fanfill.fill_normal, "got dtype uint32"),
        (np.full(4, 7, np.float32), fanfill.fill_bits, "got dtype float32"),
        (np.full(4, 7, ml_dtypes.float8_e4m3), fanfill.fill_normal, "IEEE-style E4M3"),
    ]
    for out, fill, msg in cases:
        before = out.copy()
        with pytest.raises(TypeError, match=msg):
            fill(out, seed=1)
        assert np.array_equal(out.view(np.uint8), before.view(np.uint8))


def test_int_and_float_subclasses_are_numbers():
    """Exact ints and floats take a fast path; their subclasses (IntEnum, a float subclass)
    and bools go through the full checks: accepted as numbers, bools refused."""
    import enum

    class Seed(enum.IntEnum):
        A = 3

    class F(float):
        pass

    want = fanfill.fill_normal(np.empty(8, np.float32), 0.5, 2.0, seed=3)
    got = fanfill.fill_normal(np.empty(8, np.float32), F(0.5), F(2.0), seed=Seed.A)
    assert np.array_equal(got, want)
    with pytest.raises(TypeError, match="threads must be an integer, got bool"):
        fanfill.fill_normal(np.empty(8, np.float32), seed=3, threads=True)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\), got 1844674407370955"):
        fanfill.fill_normal(np.empty(8, np.float32), seed=2**64)


def test_uint64_tensor_arguments_take_their_whole_range():
    """A one-element torch.uint64 tensor is its value, also from 2**63 on (where torch's own
    __index__ raises RuntimeError: it converts through int64)."""
    for seed, stream in ((2**63, 0), (5, 2**64 - 1), (2**64 - 1, 2**63 + 7)):
        want = fanfill.fill_normal(np.empty(16, np.float32), seed=seed, stream=stream)
        got = fanfill.fill_normal(np.empty(16, np.float32),
                                  seed=torch.tensor(seed, dtype=torch.uint64),
                                  stream=torch.tensor(stream, dtype=torch.uint64))
        assert np.array_equal(got, want)
    with pytest.raises(TypeError, match="seed must be an integer"):  # not one value
        fanfill.fill_normal(np.empty(4, np.float32), seed=torch.tensor([1, 2], dtype=torch.uint64))


def test_bad_arguments_of_the_output_free_functions():
    with pytest.raises(ValueError, match="shape: 9223372036854775808 is out of range"):
        fanfill.describe([2**63, 3], "kaiming_normal")
    with pytest.raises(ValueError, match="scheme is not valid UTF-8"):
        fanfill.describe([4, 3], "\udc80")
    with pytest.raises(ValueError, match="scheme is not valid UTF-8"):
        fanfill.canonical_scheme("normal\udc80")
    with pytest.raises(ValueError, match="name is not valid UTF-8"):
        fanfill.stream_id("\ud800")
    with pytest.raises(TypeError, match="nonlinearity must be a str such as 'relu', got int"):
        fanfill.gain(1)
    with pytest.raises(ValueError, match="nonlinearity is not valid UTF-8"):
        fanfill.gain("relu\udc80")
    with pytest.raises(ValueError, match="negative_slope is too large"):
        fanfill.gain("leaky_relu", 10**400)
    with pytest.raises(ValueError, match=r"unsupported nonlinearity 'relu\\x00' \(expected"):
        fanfill.gain("relu\0")
    with pytest.raises(ValueError, match=r"scheme \"\\x00\": expected a scheme name"):
        fanfill.canonical_scheme("\0")
    with pytest.raises(ValueError, match="param is a meta tensor"):
        fanfill.gain("relu", torch.tensor(1.0, device="meta"))


@pytest.mark.parametrize("param", ["0.2", True, False, np.True_, 0.2 + 0j, np.complex128(0.2),
                                   torch.tensor(True), b"0.2"])
def test_gain_refuses_what_calculate_gain_refuses(param):
    """As torch.nn.init.calculate_gain (torch 2.13): a leaky_relu slope that is no real
    number raises ValueError "negative_slope ... not a valid number"."""
    with pytest.raises(ValueError, match="not a valid number") as ours:
        fanfill.gain("leaky_relu", param)
    if isinstance(param, (str, bool)):  # torch's own message, word for word
        with pytest.raises(ValueError) as theirs:
            torch.nn.init.calculate_gain("leaky_relu", param)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="not a valid number"):
        fanfill.gain("relu", param)
    assert fanfill.gain("leaky_relu", np.float64(0.2)) == torch.nn.init.calculate_gain(
        "leaky_relu", 0.2)
    assert fanfill.gain("leaky_relu", 3) == torch.nn.init.calculate_gain("leaky_relu", 3)


class _Wrapper(torch.Tensor):
    """A wrapper subclass: a tensor with a shape but no memory of its own."""

    @staticmethod
    def __new__(cls, elem: torch.Tensor) -> "_Wrapper":
        return torch.Tensor._make_wrapper_subclass(cls, elem.shape, dtype=elem.dtype,
                                                   device=elem.device)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        raise NotImplementedError(str(func))


def test_tensors_without_memory_of_their_own_are_refused():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the nested tensor prototype warning
        nested = torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)])
    with pytest.raises(TypeError, match="got a nested tensor"):
        fanfill.fill_normal(nested, seed=1)
    with pytest.raises(TypeError, match="has none of its own"):
        torch.vmap(lambda x: fanfill.fill_normal(x, seed=1))(torch.zeros(3, 4))
    with pytest.raises(TypeError, match="this _Wrapper has none of its own"):
        fanfill.init_(_Wrapper(torch.zeros(4, 4)), "kaiming_normal", seed=1)
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        fake = torch.empty(4)
    with pytest.raises(TypeError, match="has none of its own"):
        fanfill.fill_uniform(fake, seed=1)


@pytest.mark.parametrize("nbytes", [0, 16])
def test_tensor_with_a_storage_too_small_is_refused(nbytes):
    """A storage resized below the tensor's extent (FSDP frees unsharded parameters so)."""
    t = torch.zeros(1 << 16)
    tail = t[4:]  # a view at storage offset 4
    t.untyped_storage().resize_(nbytes)
    with pytest.raises(ValueError, match=f"storage holds {nbytes} bytes but its shape"):
        fanfill.fill_normal(t, seed=1)
    with pytest.raises(ValueError, match="storage holds"):
        fanfill.init_(tail, "zeros", seed=1)
    assert t.untyped_storage().nbytes() == nbytes


_SCHEMES = ["zeros", "ones", "constant(val=0.5)", "uniform", "normal", "trunc_normal",
            "kaiming_normal", "xavier_uniform", "orthogonal", "sparse(sparsity=0.5)", "eye",
            "dirac"]


@pytest.mark.parametrize("scheme", _SCHEMES)
def test_describe_pointwise_is_what_init_accepts(scheme):
    """describe()["pointwise"] is True exactly for the schemes whose range and block forms
    init_ runs (distributions and constants: PreparedInit::is_pointwise)."""
    shape = [4, 2, 3] if scheme == "dirac" else [4, 6]
    pointwise = fanfill.describe(shape, scheme)["pointwise"]
    assert pointwise == (scheme not in ("orthogonal", "sparse(sparsity=0.5)", "eye", "dirac"))
    whole = fanfill.init_(np.empty(shape, np.float32), scheme, seed=2, name="w")
    block_shape = [2, *shape[1:]]
    try:
        part = fanfill.init_(np.empty(6, np.float32), scheme, seed=2, name="w", shape=shape,
                             first_index=6)
        block = fanfill.init_(np.empty(block_shape, np.float32), scheme, seed=2, name="w",
                              global_shape=shape, offset=[2] + [0] * (len(shape) - 1))
    except ValueError:
        assert not pointwise
    else:
        assert pointwise
        assert np.array_equal(part, whole.ravel()[6:12])
        assert np.array_equal(block, whole[2:4])


class _ExportProbe:
    """Stands in for fanfill._core: before each call, checks that `buf` (an array.array)
    cannot be resized, i.e. that a buffer export of it is alive while _core writes (the
    writes run with the GIL released: another thread could resize or free it)."""

    def __init__(self, core, buf) -> None:
        self._core, self._buf, self.calls = core, buf, []

    def __getattr__(self, name: str):
        fn = getattr(self._core, name)

        def call(*args, **kwargs):
            try:
                self._buf.append(self._buf[0])
            except BufferError:
                self.calls.append(name)
                return fn(*args, **kwargs)
            # Resized: the address fanfill checked may be stale now, so write nothing.
            raise AssertionError(f"_core.{name}: the buffer export was not held")
        return call


@pytest.mark.parametrize("call,fn", [
    (lambda o: fanfill.fill_normal(o, seed=1), "fill"),
    (lambda o: fanfill.fill_uniform(o, seed=1, first_index=3), "fill"),
    (lambda o: fanfill.fill_truncated_normal(o, seed=1, global_shape=[24], offset=[6]),
     "fill_block"),
    (lambda o: fanfill.init_(o, "kaiming_normal", seed=1, shape=[3, 4]), "init"),
    (lambda o: fanfill.init_(o, "ones", seed=1, shape=[6, 4], first_index=12), "init_range"),
    (lambda o: fanfill.init_(o, "normal", seed=1, global_shape=[30], offset=[6]),
     "init_block"),
    (lambda o: fanfill.fill_bits(o, seed=1), "fill_bits"),
])
def test_buffer_export_held_while_writing(monkeypatch, call, fn):
    import array

    from fanfill import _api

    buf = array.array("I" if fn == "fill_bits" else "f", [0] * 12)
    probe = _ExportProbe(_api._core, buf)
    monkeypatch.setattr(_api, "_core", probe)
    call(buf)
    assert probe.calls == [fn]
    assert len(buf) == 12 and any(buf)
    buf.append(0)  # the export ends with the call

