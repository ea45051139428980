"""Writes fanfill values into any torch tensor torch.nn.init accepts.

CPU, C-contiguous tensors of float32/float64/float16/bfloat16/float8_e4m3fn/
float8_e5m2 are filled in place; strided views and other devices through a
contiguous CPU temporary of the same dtype, other floating dtypes through a
float32 one (then ``copy_``); complex tensors through their real view (as
torch's uniform_/normal_); DTensors shard by shard at their global offsets;
meta tensors get no values, but a scheme spec is still checked against their
shape, and a zero-element tensor's request is checked as a non-empty one's.
Element i in the tensor's logical row-major order (of the global tensor, for a
DTensor) is element i of the fanfill stream.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
from collections.abc import Sequence
from typing import Any

import torch

from .. import _api

# The dtypes the core writes in place. The FP8 formats are among them: a float32
# temporary and ``copy_`` would saturate or flush where the core refuses (range and
# underflow checks, the per-tensor scale).
NATIVE = {torch.float32: "f32", torch.float64: "f64", torch.float16: "f16", torch.bfloat16: "bf16",
          torch.float8_e4m3fn: "f8e4m3", torch.float8_e5m2: "f8e5m2"}
UNIFORM, NORMAL, TRUNC = 0, 1, 2

_state = threading.local()


def active() -> Any:
    """The running init_model interceptor of this thread (fanfill.torch._model), or None."""
    return getattr(_state, "interceptor", None)


def set_active(interceptor: Any) -> Any:
    """Sets this thread's init_model interceptor; returns the previous one."""
    prev = active()
    _state.interceptor = interceptor
    return prev


def check_generator(generator: Any) -> None:
    """TypeError, as torch's argument parser gives, for a `generator` that is none."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"argument 'generator' must be torch.Generator, not {type(generator).__name__}")


def seed_from(generator: torch.Generator | None) -> int:
    """A 64-bit fanfill seed drawn from `generator` (default: torch's default generator)."""
    check_generator(generator)
    device = generator.device if generator is not None else "cpu"
    with torch._C.DisableTorchFunction():  # an implementation detail, not a user draw
        words = torch.randint(0, 1 << 32, (2,), dtype=torch.int64, device=device,
                              generator=generator)
    lo, hi = (int(w) for w in words.tolist())
    return (hi << 32) | lo


def is_dtensor(t: Any) -> bool:
    """Whether `t` is a torch DTensor. Without importing torch.distributed.tensor (over a
    second on first import, sympy included): a DTensor exists only once that module has
    been imported, by whoever made it."""
    module = sys.modules.get("torch.distributed.tensor")
    dtensor = getattr(module, "DTensor", None)
    return dtensor is not None and isinstance(t, dtensor)


def dtensor_local_block(t: Any) -> tuple[torch.Tensor, list[int], list[int]]:
    """(local tensor, global shape, global offset of the local shard) of a DTensor."""
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    for p in t.placements:
        if p.is_partial():
            raise ValueError(f"fanfill cannot fill a DTensor with a Partial placement ({p})")
    local = t._local_tensor
    gshape = [int(s) for s in t.shape]
    if t.device_mesh.get_coordinate() is None:
        # A rank outside the mesh holds no shard (torch gives it an empty 1-d local tensor
        # and no offset): a zero-extent block at offset 0 of the global rank, so that every
        # fill and check runs as on a member rank and nothing is written. (A 0-d global
        # tensor has no zero-extent block of its own rank: [0] stands in for it.)
        n = max(len(gshape), 1)
        return local.view([0] * n), gshape if gshape else [0], [0] * n
    lshape, offset = compute_local_shape_and_global_offset(t.shape, t.device_mesh, t.placements)
    if [int(s) for s in lshape] != [int(s) for s in local.shape]:
        raise ValueError(
            f"DTensor local shard shape {tuple(local.shape)} does not match the placement's "
            f"{tuple(lshape)}"
        )
    _check_strided_shards(t, gshape)
    return local, gshape, [int(o) for o in offset]


def _check_strided_shards(t: Any, gshape: list[int]) -> None:
    """Refuses a DTensor whose local shard is not one block of the global tensor.

    torch's ``_StridedShard`` (FSDP2 + TP) can give a rank rows that are not
    consecutive (e.g. rows 0 and 2 of 4), while every fill here writes the
    block at the shard's first global offset. The index lists are computed as
    ``compute_local_shape_and_global_offset`` computes them (which returns only
    their first entries), and a shard whose rows are not one range raises.
    """
    from torch.distributed.tensor.placement_types import Shard, _StridedShard

    if not any(isinstance(p, _StridedShard) for p in t.placements):
        return
    from torch.distributed.tensor._utils import _get_shard_size_and_offsets

    coordinate = t.device_mesh.get_coordinate()
    if coordinate is None:
        return  # not part of the mesh: an empty local tensor
    sizes, offsets = list(gshape), {}
    for mesh_dim, p in enumerate(t.placements):
        if not isinstance(p, (Shard, _StridedShard)):
            continue
        size, index = _get_shard_size_and_offsets(
            sizes[p.dim], t.device_mesh.size(mesh_dim), coordinate[mesh_dim], p,
            offsets.get(p.dim), gshape[p.dim], False)
        sizes[p.dim], offsets[p.dim] = size, index
    for dim, index in offsets.items():
        if sizes[dim] > 1 and not torch.equal(
                index, torch.arange(int(index[0]), int(index[0]) + sizes[dim])):
            raise ValueError(
                f"fanfill cannot fill this DTensor: its placements {tuple(t.placements)} give "
                f"this rank the global indices {index.tolist()} of dim {dim}, not one range "
                "(fanfill fills each shard as one block at its global offset)")


def _no_grad_for(t: torch.Tensor) -> contextlib.AbstractContextManager[Any]:
    """``torch.no_grad()`` where writing `t` needs it (it requires grad and grad mode is on),
    else a null context: entering ``no_grad`` costs microseconds, a small fill about as much."""
    if t.requires_grad and torch.is_grad_enabled():
        return torch.no_grad()
    return contextlib.nullcontext()


def _direct(t: torch.Tensor) -> bool:
    return (t.is_cpu and t.dtype in NATIVE and t.layout == torch.strided
            and t.is_contiguous() and not t.is_neg() and not t.is_conj())


def _fill_cpu(out: torch.Tensor, kind: int, mean: float, std: float, low: float, high: float,
              seed: int, stream: int, gshape: list[int] | None, offset: list[int] | None,
              threads: int, scale: float = 1.0) -> None:
    kw: dict[str, Any] = {"seed": seed, "stream": stream, "threads": threads, "scale": scale}
    if gshape is not None and len(gshape) > 0:
        kw["global_shape"], kw["offset"] = gshape, offset
    if kind == UNIFORM:
        _api.fill_uniform(out, low, high, **kw)
    elif kind == NORMAL:
        _api.fill_normal(out, mean, std, **kw)
    else:
        _api.fill_truncated_normal(out, mean, std, low, high, **kw)


def _cpu_temporary(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialized CPU tensor that fanfill writes natively: `dtype` if it can, else
    float32 (copied into the target after). On the CPU whatever default device a
    ``torch.device(...)`` context or ``torch.set_default_device`` sets."""
    return torch.empty(tuple(shape), dtype=dtype if dtype in NATIVE else torch.float32,
                       device="cpu")


def _write_block(t: torch.Tensor, kind: int, mean: float, std: float, low: float, high: float,
                 seed: int, stream: int, gshape: list[int] | None, offset: list[int] | None,
                 threads: int, scale: float = 1.0) -> None:
    if t.is_meta:
        return
    if t.is_complex():
        # torch: uniform_ draws both parts from U(a, b); normal_ both from N(mean, std / sqrt 2).
        real = torch.view_as_real(t.resolve_conj().resolve_neg()) if (
            t.is_conj() or t.is_neg()) else torch.view_as_real(t)
        g2 = None if gshape is None else [*gshape, 2]
        o2 = None if offset is None else [*offset, 0]
        if gshape is None:
            g2, o2 = list(real.shape), [0] * real.dim()
        s = std / math.sqrt(2.0) if kind == NORMAL else std
        tmp = _cpu_temporary(real.shape, real.dtype)
        _fill_cpu(tmp, kind, mean, s, low, high, seed, stream, g2, o2, threads, scale)
        with _no_grad_for(t):
            if t.is_conj() or t.is_neg():
                t.copy_(torch.view_as_complex(tmp.to(real.dtype)))
            else:
                real.copy_(tmp)
        return
    if _direct(t):
        with _no_grad_for(t):
            _fill_cpu(t, kind, mean, std, low, high, seed, stream, gshape, offset, threads, scale)
        return
    tmp = _cpu_temporary(t.shape, t.dtype)
    _fill_cpu(tmp, kind, mean, std, low, high, seed, stream, gshape, offset, threads, scale)
    with _no_grad_for(t):
        t.copy_(tmp)


def write(t: torch.Tensor, kind: int, mean: float, std: float, low: float, high: float,
          seed: int, stream: int = 0, threads: int = 0, scale: float = 1.0) -> torch.Tensor:
    """Fills `t` (any tensor torch accepts) with one fanfill distribution; returns `t`.

    Undispatched (no torch function mode or subclass ``__torch_function__`` sees the
    inspection, the temporary or the ``copy_`` from it): whether fanfill writes `t` in
    place or through a temporary is an implementation detail, so the values are the same
    whichever it takes. Dispatch-level subclasses (DTensor) are unaffected."""
    with torch._C.DisableTorchFunction():
        return _write(t, kind, mean, std, low, high, seed, stream, threads, scale)


def _write(t: torch.Tensor, kind: int, mean: float, std: float, low: float, high: float,
           seed: int, stream: int, threads: int, scale: float) -> torch.Tensor:
    if is_dtensor(t):
        local, gshape, offset = dtensor_local_block(t)
        _write_block(local, kind, mean, std, low, high, seed, stream, gshape, offset, threads,
                     scale)
        return t
    _write_block(t, kind, mean, std, low, high, seed, stream, None, None, threads, scale)
    return t


def write_scheme(t: torch.Tensor, scheme: str, seed: int, stream: int = 0,
                 threads: int = 0, scale: float = 1.0) -> torch.Tensor:
    """Initializes `t` with a fanfill scheme spec of the whole tensor (orthogonal, sparse,
    eye, dirac...). DTensors: each rank computes the whole tensor and keeps its shard.
    Undispatched, as :func:`write`."""
    with torch._C.DisableTorchFunction():
        return _write_scheme(t, scheme, seed, stream, threads, scale)


def _write_scheme(t: torch.Tensor, scheme: str, seed: int, stream: int, threads: int,
                  scale: float) -> torch.Tensor:
    if t.is_meta:  # no values; the spec is still checked against the (global) shape
        _api.describe(list(t.shape), scheme)
        return t
    if is_dtensor(t):
        # Every rank, also one whose shard is empty, runs the same checks.
        local, gshape, offset = dtensor_local_block(t)
        d = _api.describe(gshape, scheme)
        if d["pointwise"] and gshape:
            # The shard alone, at its global offsets (fans from the global shape).
            block = _cpu_temporary(local.shape, local.dtype)
            _api.init_(block, scheme, seed=seed, stream=stream, threads=threads,
                       global_shape=gshape, offset=offset, scale=scale)
        else:
            # orthogonal, sparse, eye, dirac: every value depends on the whole tensor.
            full = _cpu_temporary(gshape, local.dtype)
            _api.init_(full, scheme, seed=seed, stream=stream, threads=threads, scale=scale)
            block = full[tuple(slice(o, o + n) for o, n in zip(offset, local.shape, strict=True))]
        with torch.no_grad():
            local.copy_(block)
        return t
    if _direct(t):
        with _no_grad_for(t):
            _api.init_(t, scheme, seed=seed, stream=stream, threads=threads, scale=scale)
        return t
    tmp = _cpu_temporary(t.shape, t.dtype)
    _api.init_(tmp, scheme, seed=seed, stream=stream, threads=threads, scale=scale)
    with _no_grad_for(t):
        t.copy_(tmp)
    return t


def number(x: float) -> str:
    """A float as scheme-spec text that parses back to the same double."""
    return repr(float(x))
