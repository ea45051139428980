"""The core functions of `import fanfill`: fills and scheme inits of any buffer.

Element i of a fill is a pure function of (seed, stream, i): the thread count,
sub-ranges (``first_index=``) and blocks (``global_shape=``/``offset=``) change
nothing. See include/fanfill/fanfill.hpp for the exact contract.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Sequence
from typing import Any, TypeVar

from . import _core
from ._buffers import Target, check_output, wrote

T = TypeVar("T")

_UNIFORM, _NORMAL, _TRUNC = 0, 1, 2
_U64 = 1 << 64


def _u64(what: str, value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}") from None
    if not 0 <= v < _U64:
        raise ValueError(f"{what} must be in [0, 2**64), got {v}")
    return v


def _threads(threads: int | None) -> int:
    if threads is None:
        return 0
    t = _u64("threads", threads)
    if t > 1 << 20:
        raise ValueError(f"threads must be at most 2**20, got {t}")
    return t


def _float(what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(
        value, "__float__"
    ):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    return float(value)


def stream_id(name: str) -> int:
    """The stream id of a named tensor: 64-bit FNV-1a of its UTF-8 bytes (stable forever)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    return _core.stream_id(name)


def _stream(name: str | None, stream: int | None) -> int:
    if name is not None and stream is not None:
        raise ValueError("give name= or stream=, not both (name= means stream=stream_id(name))")
    if name is not None:
        return stream_id(name)
    if stream is None:
        return 0
    return _u64("stream", stream)


def _shape(what: str, shape: Any) -> list[int]:
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) and not hasattr(
        shape, "__iter__"
    ):
        raise TypeError(f"{what} must be a sequence of integers")
    out = []
    for s in shape:
        if isinstance(s, bool):
            raise TypeError(f"{what} must be a sequence of integers")
        try:
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(f"{what} must be a sequence of integers, got {s!r}") from None
    return out


def _block(
    target: Target, extent: Sequence[int], global_shape: Any, offset: Any, first_index: int
) -> tuple[list[int], list[int]] | None:
    if global_shape is None and offset is None:
        return None
    if global_shape is None or offset is None:
        raise ValueError("the block form needs both global_shape= and offset=")
    if first_index:
        raise ValueError("give first_index= or global_shape=/offset=, not both")
    g = _shape("global_shape", global_shape)
    o = _shape("offset", offset)
    e = list(extent)
    if not (len(g) == len(o) == len(e)):
        raise ValueError(
            f"block rank mismatch: global_shape has {len(g)} dims, offset {len(o)}, "
            f"the block (output) {len(e)}"
        )
    return g, o


def _dtensor(out: Any) -> Any:
    """fanfill.torch._fill if `out` is a torch DTensor (filled shard by shard), else None."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(out, torch.Tensor) or type(out).__name__ != "DTensor":
        return None
    from .torch import _fill as tfill

    return tfill if tfill.is_dtensor(out) else None


def _fill(
    out: T,
    kind: int,
    mean: float,
    std: float,
    low: float,
    high: float,
    seed: int,
    name: str | None,
    stream: int | None,
    first_index: int,
    threads: int | None,
    global_shape: Any,
    offset: Any,
    scale: Any,
) -> T:
    sc = _float("scale", scale)
    tfill = _dtensor(out)
    if tfill is not None:
        if first_index or global_shape is not None or offset is not None:
            raise ValueError("a DTensor is filled at its own global offsets; first_index=, "
                             "global_shape= and offset= are not accepted")
        tfill.write(out, kind, mean, std, low, high, _u64("seed", seed), _stream(name, stream),
                    _threads(threads), scale=sc)
        return out
    target = check_output(out)
    key_seed = _u64("seed", seed)
    key_stream = _stream(name, stream)
    fi = _u64("first_index", first_index)
    nt = _threads(threads)
    block = _block(target, target.shape, global_shape, offset, fi)
    if block is None:
        _core.fill(target.address, target.dtype, target.count, kind, mean, std, low, high, sc,
                   key_seed, key_stream, fi, nt)
    else:
        _core.fill_block(target.address, target.dtype, block[0], block[1], list(target.shape),
                         kind, mean, std, low, high, sc, key_seed, key_stream, nt)
    wrote(target)
    return out


def fill_uniform(
    out: T,
    low: float = 0.0,
    high: float = 1.0,
    *,
    seed: int,
    name: str | None = None,
    stream: int | None = None,
    first_index: int = 0,
    threads: int | None = 0,
    global_shape: Sequence[int] | None = None,
    offset: Sequence[int] | None = None,
    scale: float = 1.0,
) -> T:
    """Fills `out` with U(low, high) (values in [low, high)) in place and returns it.

    `out` is a writable C-contiguous numpy array or torch CPU tensor (float32,
    float64, float16, bfloat16, and the FP8 formats float8_e4m3fn and
    float8_e5m2: ml_dtypes' for numpy, torch's own). The stream is `stream=`, or `stream_id(name)`
    for `name=` (default 0). `first_index=f` writes elements [f, f + out.size)
    of the stream. The block form (`global_shape=`, `offset=`) writes the block
    of shape `out.shape` at `offset` of a global tensor filled in one piece.
    `threads=0` uses all cores, 1 the calling thread, n at most n threads.
    `scale=s` (finite, > 0; meant for FP8) stores each value divided by s, in
    the same pass. A distribution whose values the dtype cannot hold (FP8:
    beyond the format's range, or a std below its smallest normal) raises
    ValueError naming the scale that would fit.
    """
    return _fill(out, _UNIFORM, 0.0, 0.0, _float("low", low), _float("high", high), seed, name,
                 stream, first_index, threads, global_shape, offset, scale)


def fill_normal(
    out: T,
    mean: float = 0.0,
    std: float = 1.0,
    *,
    seed: int,
    name: str | None = None,
    stream: int | None = None,
    first_index: int = 0,
    threads: int | None = 0,
    global_shape: Sequence[int] | None = None,
    offset: Sequence[int] | None = None,
    scale: float = 1.0,
) -> T:
    """Fills `out` with N(mean, std**2) (Box-Muller) in place and returns it.

    Arguments as :func:`fill_uniform`.
    """
    return _fill(out, _NORMAL, _float("mean", mean), _float("std", std), 0.0, 0.0, seed, name,
                 stream, first_index, threads, global_shape, offset, scale)


def fill_truncated_normal(
    out: T,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    seed: int,
    name: str | None = None,
    stream: int | None = None,
    first_index: int = 0,
    threads: int | None = 0,
    global_shape: Sequence[int] | None = None,
    offset: Sequence[int] | None = None,
    scale: float = 1.0,
) -> T:
    """Fills `out` with N(mean, std**2) truncated to the absolute bounds [a, b].

    Inverse-CDF sampling, no rejection (as torch.nn.init.trunc_normal_'s
    arguments). Other arguments as :func:`fill_uniform`.
    """
    return _fill(out, _TRUNC, _float("mean", mean), _float("std", std), _float("a", a),
                 _float("b", b), seed, name, stream, first_index, threads, global_shape, offset,
                 scale)


def fill_bits(
    out: T,
    *,
    seed: int,
    name: str | None = None,
    stream: int | None = None,
    first_index: int = 0,
    threads: int | None = 0,
) -> T:
    """Fills a uint32 (or int32) buffer with raw Philox4x32-10 words and returns it.

    out[k] is word (i mod 4) of block i // 4, i = first_index + k.
    """
    target = check_output(out, bits=True)
    key_seed = _u64("seed", seed)
    key_stream = _stream(name, stream)
    fi = _u64("first_index", first_index)
    nt = _threads(threads)
    _core.fill_bits(target.address, target.count, key_seed, key_stream, fi, nt)
    wrote(target)
    return out


def _scheme(scheme: Any) -> str:
    if not isinstance(scheme, str):
        raise TypeError(
            f"scheme must be a str such as 'kaiming_normal', got {type(scheme).__name__}"
        )
    return scheme


def _layout(layout: Any) -> str:
    if not isinstance(layout, str):
        raise TypeError(f"layout must be 'oi' or 'io', got {type(layout).__name__}")
    return layout


def init_(
    out: T,
    scheme: str,
    *,
    seed: int,
    name: str | None = None,
    stream: int | None = None,
    layout: str = "oi",
    shape: Sequence[int] | None = None,
    threads: int | None = 0,
    first_index: int | None = None,
    global_shape: Sequence[int] | None = None,
    offset: Sequence[int] | None = None,
    scale: float = 1.0,
) -> T:
    """Initializes `out` in place with a scheme spec and returns it.

    `scheme` is a spec such as ``"kaiming_normal(mode=fan_out, nonlinearity=relu)"``
    (docs/schemes.md); fans come from `shape` (default ``out.shape``; its
    product must equal the element count) in `layout` ("oi": PyTorch
    [out, in, *k]; "io": Keras [*k, in, out]). Streams: `name=` (keyed by
    ``stream_id(name)``) or `stream=`. `first_index=f` writes elements
    [f, f + out.size) of the tensor of shape `shape` (pointwise schemes only;
    without first_index= the element count must equal prod(shape)).
    Block form: `global_shape=` and `offset=` give the global tensor and this
    block's offsets; the block's extents are `shape` (default ``out.shape``)
    and fans come from the global shape. A torch DTensor is filled shard by
    shard at the offsets of its placement (fans from its global shape), so
    ``full_tensor()`` equals the single-process init. `scale=s` (finite, > 0;
    meant for FP8 outputs) stores every value divided by s (zeros stay zeros).
    """
    sc = _float("scale", scale)
    tfill = _dtensor(out)
    if tfill is not None:
        if shape is not None or first_index is not None or global_shape is not None or (
                offset is not None):
            raise ValueError("a DTensor is initialized at its own global shape and offsets; "
                             "shape=, first_index=, global_shape= and offset= are not accepted")
        if _layout(layout) != "oi":
            raise ValueError("DTensor init_ supports layout 'oi' only")
        tfill.write_scheme(out, _scheme(scheme), _u64("seed", seed), _stream(name, stream),
                           _threads(threads), scale=sc)
        return out
    target = check_output(out)
    sch = _scheme(scheme)
    lay = _layout(layout)
    key_seed = _u64("seed", seed)
    key_stream = _stream(name, stream)
    fi = None if first_index is None else _u64("first_index", first_index)
    nt = _threads(threads)
    dims = list(target.shape) if shape is None else _shape("shape", shape)
    block = _block(target, dims, global_shape, offset, fi or 0)
    if block is not None and fi is not None:
        raise ValueError("give first_index= or global_shape=/offset=, not both")
    if block is not None:
        if math.prod(dims) != target.count:
            raise ValueError(
                f"init_: the block shape {tuple(dims)} has {math.prod(dims)} elements but out has "
                f"{target.count}"
            )
        _core.init_block(target.address, target.dtype, block[0], lay, block[1], dims, sch, sc,
                         key_seed, key_stream, nt)
    elif fi is not None:
        _core.init_range(target.address, target.dtype, dims, lay, sch, sc, key_seed, key_stream,
                         fi, target.count, nt)
    else:
        if any(d < 0 for d in dims):
            raise ValueError(f"init_: negative dimension in shape {tuple(dims)}")
        if math.prod(dims) != target.count:
            raise ValueError(
                f"init_: shape {tuple(dims)} has {math.prod(dims)} elements but out has "
                f"{target.count}"
            )
        _core.init(target.address, target.dtype, dims, lay, sch, sc, key_seed, key_stream, nt)
    wrote(target)
    return out


def describe(shape: Sequence[int], scheme: str, layout: str = "oi") -> dict[str, Any]:
    """What :func:`init_` would write for `shape`, without writing anything.

    Returns a dict: scheme (canonical spec), kind, pointwise, count, fan_in,
    fan_out, fan, gain, distribution (kind/mean/std/low/high of the one fill,
    or None), mean, std, low, high (of the values written) and sparsity.
    """
    return _core.describe(_shape("shape", shape), _layout(layout), _scheme(scheme))


def canonical_scheme(scheme: str) -> str:
    """The canonical spec of `scheme`, every argument spelled out (raises ValueError if bad)."""
    return _core.canonical_scheme(_scheme(scheme))


def gain(nonlinearity: str, param: float | None = None) -> float:
    """torch.nn.init.calculate_gain as fanfill computes it (the scheme layer's Gain)."""
    return _core.gain(nonlinearity, None if param is None else float(param))


def version() -> str:
    """The C++ library's version."""
    return _core.version()


def active_target() -> str:
    """The SIMD target fills use on this CPU, e.g. "AVX2"."""
    return _core.active_target()
