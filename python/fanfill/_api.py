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

import numpy as np

from . import _core
from ._buffers import Target, check_grad, check_output, wrote

T = TypeVar("T")

_UNIFORM, _NORMAL, _TRUNC = 0, 1, 2
_U64 = 1 << 64
_I64 = 1 << 63


def _bool_or_complex(value: Any) -> str | None:
    """'bool' or 'complex' if `value` is a boolean or complex number of any kind (Python,
    numpy scalar or array, torch tensor), else None: neither is accepted as a number."""
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (complex, np.complexfloating)):
        return "complex"
    dtype = getattr(value, "dtype", None)
    if isinstance(dtype, np.dtype):
        return {"b": "bool", "c": "complex"}.get(dtype.kind)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(dtype, torch.dtype):
        if dtype == torch.bool:
            return "bool"
        if dtype.is_complex:
            return "complex"
    return None


def _tensor_value(what: str, value: Any) -> Any:
    """`value`, except for a torch tensor: a meta tensor (no value) raises ValueError, and a
    one-element uint64 tensor gives its Python int (torch's ``__index__`` goes through int64
    and raises RuntimeError from 2**63 on)."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return value
    if value.is_meta:
        raise ValueError(f"{what} is a meta tensor, which has no value")
    if value.dtype == getattr(torch, "uint64", None) and value.numel() == 1:
        return value.item()
    return value


def _u64(what: str, value: Any) -> int:
    if type(value) is int:  # the common case (exactly int: not bool, not a subclass)
        if not 0 <= value < _U64:
            raise ValueError(f"{what} must be in [0, 2**64), got {value}")
        return value
    value = _tensor_value(what, value)
    kind = _bool_or_complex(value)
    if kind is not None:
        raise TypeError(f"{what} must be an integer, got {kind} ({type(value).__name__})")
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


def _is_real(value: Any) -> bool:
    """Whether `value` converts to a float as a real number: not a bool, complex or text."""
    return (_bool_or_complex(value) is None and not isinstance(value, (str, bytes, bytearray))
            and (hasattr(value, "__float__") or hasattr(value, "__index__")))


def _to_float(what: str, value: Any) -> float:
    value = _tensor_value(what, value)
    try:
        return float(value)
    except OverflowError:  # an int beyond the double range, e.g. 10**400
        raise ValueError(f"{what} is too large for a double: {value}") from None


def _float(what: str, value: Any) -> float:
    if type(value) is float:  # the common case (exactly float: not a subclass)
        return value
    if not _is_real(value):
        kind = _bool_or_complex(value)
        got = type(value).__name__ if kind is None else f"{kind} ({type(value).__name__})"
        raise TypeError(f"{what} must be a real number, got {got}")
    return _to_float(what, value)


def _text(what: str, value: str) -> str:
    """`value`, checked to encode as UTF-8 (a lone surrogate does not): ValueError otherwise."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(
            f"{what} is not valid UTF-8: {value!r} has a lone surrogate at index {e.start}"
        ) from None
    return value


def stream_id(name: str) -> int:
    """The stream id of a named tensor: 64-bit FNV-1a of its UTF-8 bytes (stable forever)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    return _core.stream_id(_text("name", name))


def _stream(name: str | None, stream: int | None) -> int:
    if name is not None and stream is not None:
        raise ValueError("give name= or stream=, not both (name= means stream=stream_id(name))")
    if name is not None:
        return stream_id(name)
    if stream is None:
        return 0
    return _u64("stream", stream)


def _shape(what: str, shape: Any) -> list[int]:
    """`shape` (a sequence of integers: list, tuple, torch.Size, range, 1-d numpy array)
    as a list of ints, each within int64; TypeError/ValueError otherwise."""
    if isinstance(shape, (str, bytes, bytearray)) or not (
        isinstance(shape, Sequence) or isinstance(shape, np.ndarray) and shape.ndim == 1
    ):
        raise TypeError(f"{what} must be a sequence of integers, got {type(shape).__name__}")
    out = []
    for s in shape:
        s = _tensor_value(what, s)
        try:
            if _bool_or_complex(s) is not None:
                raise TypeError
            v = operator.index(s)
        except TypeError:
            raise TypeError(f"{what} must be a sequence of integers, got {s!r}") from None
        if not -_I64 <= v < _I64:
            raise ValueError(f"{what}: {v} is out of range (dimensions and offsets are < 2**63)")
        out.append(v)
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


def _dtensor_target(out: Any, tfill: Any) -> tuple[Target, list[int], list[int]]:
    """(checked local shard, global shape, global offset of the shard) of a DTensor.

    The shard is checked as a plain tensor would be (dtype, contiguity, storage,
    requires_grad), and the DTensor's own requires_grad as well (a DTensor
    parameter's local tensor need not require grad).
    """
    check_grad(out)
    local, gshape, goffset = tfill.dtensor_local_block(out)
    return check_output(local), gshape, goffset


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
        key_seed, key_stream, nt = _u64("seed", seed), _stream(name, stream), _threads(threads)
        target, gshape, goffset = _dtensor_target(out, tfill)
        _core.fill_block(target.address, target.dtype, gshape, goffset, list(target.shape),
                         kind, mean, std, low, high, sc, key_seed, key_stream, nt)
        wrote(target)
        return out
    target = check_output(out)  # held (target.keep) until the write below has returned
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
    ValueError naming the scale that would fit. A torch DTensor is filled
    shard by shard at its global offsets (its local shard checked as a plain
    tensor), so ``full_tensor()`` equals the one-process fill.
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
    target = check_output(out, bits=True)  # held (target.keep) until the write has returned
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
    return _text("scheme", scheme)


def _layout(layout: Any) -> str:
    if not isinstance(layout, str):
        raise TypeError(f"layout must be 'oi' or 'io', got {type(layout).__name__}")
    return _text("layout", layout)


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
    ``full_tensor()`` equals the single-process init; its local shard is
    checked as a plain tensor (dtype, contiguity, requires_grad, FP8 range),
    and a non-pointwise scheme (orthogonal, sparse, eye, dirac) is built whole
    on every rank, in the shard's dtype, which keeps its slice. `scale=s` (finite, > 0;
    meant for FP8 outputs) stores every value divided by s (zeros stay zeros).
    """
    sc = _float("scale", scale)
    tfill = _dtensor(out)
    if tfill is not None:
        if shape is not None or first_index is not None or global_shape is not None or (
                offset is not None):
            raise ValueError("a DTensor is initialized at its own global shape and offsets; "
                             "shape=, first_index=, global_shape= and offset= are not accepted")
        _init_dtensor(out, tfill, _scheme(scheme), _layout(layout), sc, _u64("seed", seed),
                      _stream(name, stream), _threads(threads))
        return out
    target = check_output(out)  # held (target.keep) until the write below has returned
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


def _init_dtensor(out: Any, tfill: Any, scheme: str, layout: str, scale: float, seed: int,
                  stream: int, threads: int) -> None:
    """init_ of a DTensor: its local shard, bit for bit that slice of the whole init.

    Pointwise schemes (distributions, constants) write the shard alone at its
    global offsets (fans from the global shape). The others (orthogonal, sparse,
    eye, dirac) depend on the whole tensor: every rank builds it in the shard's
    dtype and copies its slice (also a rank whose shard is empty, so that every
    rank raises the same errors).
    """
    target, gshape, goffset = _dtensor_target(out, tfill)
    extent = list(target.shape)
    if math.prod(gshape) == 0 or _core.describe(gshape, layout, scheme)["pointwise"]:
        _core.init_block(target.address, target.dtype, gshape, layout, goffset, extent, scheme,
                         scale, seed, stream, threads)
    else:
        torch = sys.modules["torch"]
        local = target.obj
        whole = check_output(torch.empty(gshape, dtype=local.dtype, device="cpu"))
        _core.init(whole.address, whole.dtype, gshape, layout, scheme, scale, seed, stream,
                   threads)
        part = whole.obj[tuple(slice(o, o + n) for o, n in zip(goffset, extent, strict=True))]
        with torch.no_grad():
            local.copy_(part)
    wrote(target)


def describe(shape: Sequence[int], scheme: str, layout: str = "oi") -> dict[str, Any]:
    """What :func:`init_` would write for `shape`, without writing anything.

    Returns a dict: scheme (canonical spec), kind, pointwise (True for the
    distributions and constants, whose element i depends on i alone: init_
    takes first_index= and the block form for them), count, fan_in, fan_out,
    fan, gain, distribution (kind/mean/std/low/high of the one fill, or None),
    mean, std, low, high (of the values written) and sparsity.
    """
    return _core.describe(_shape("shape", shape), _layout(layout), _scheme(scheme))


def canonical_scheme(scheme: str) -> str:
    """The canonical spec of `scheme`, every argument spelled out (raises ValueError if bad)."""
    return _core.canonical_scheme(_scheme(scheme))


def gain(nonlinearity: str, param: float | None = None) -> float:
    """torch.nn.init.calculate_gain as fanfill computes it (the scheme layer's Gain).

    `param` (leaky_relu's negative slope) is None or a real number: a bool,
    complex number or string raises ValueError, as calculate_gain does for
    leaky_relu ("negative_slope ... not a valid number").
    """
    if not isinstance(nonlinearity, str):
        raise TypeError(
            f"nonlinearity must be a str such as 'relu', got {type(nonlinearity).__name__}"
        )
    nl = _text("nonlinearity", nonlinearity)
    if param is None:
        return _core.gain(nl, None)
    what = "negative_slope" if nl == "leaky_relu" else "param"
    if not _is_real(param):
        raise ValueError(f"{what} {param} not a valid number")
    return _core.gain(nl, _to_float(what, param))


def version() -> str:
    """The C++ library's version."""
    return _core.version()


def active_target() -> str:
    """The SIMD target fills use on this CPU, e.g. "AVX2"."""
    return _core.active_target()
