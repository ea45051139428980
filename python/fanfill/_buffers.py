"""Checks an output buffer and returns its address, dtype name and shape.

Accepted: numpy arrays (float32, float64, float16, ml_dtypes.bfloat16,
ml_dtypes.float8_e4m3fn and float8_e5m2; uint32 for fill_bits), torch CPU
tensors (float32, float64, float16, bfloat16, float8_e4m3fn, float8_e5m2;
uint32 or int32 for fill_bits) and other objects with the writable buffer
protocol, all in the machine's byte order (a byte-swapped numpy dtype such
as '>f4' on a little-endian machine is refused). The other 8-bit float
formats (ml_dtypes' float8_e4m3 with infinities and max 240, the *fnuz
formats) are refused by name, and so are tensors with no memory of their own
(nested, inside torch.vmap, fake, wrapper subclasses) or whose storage is
smaller than their shape (resized, as FSDP does). Every check happens before
anything is written. A buffer-protocol object stays exported (Target.keep)
as long as its Target lives, so that it cannot be resized or freed while the
C++ core writes with the GIL released.
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np


class Target(NamedTuple):
    """A checked output buffer (a NamedTuple: made once per fill, and quick to make)."""

    address: int
    dtype: str  # "f32", "f64", "f16", "bf16", "f8e4m3", "f8e5m2" or "u32"
    shape: tuple[int, ...]
    count: int
    obj: Any  # the object written to (for torch: to bump its version counter)
    # The buffer export (a memoryview) of a buffer-protocol object: while it lives, the
    # object cannot resize or free its memory (BufferError). Callers keep the Target until
    # the _core call (which writes with the GIL released) has returned.
    keep: Any = None


_NUMPY_FLOAT = {
    "float32": "f32",
    "float64": "f64",
    "float16": "f16",
    "bfloat16": "bf16",
    "float8_e4m3fn": "f8e4m3",
    "float8_e5m2": "f8e5m2",
}
_ITEMSIZE = {"f32": 4, "f64": 8, "f16": 2, "bf16": 2, "f8e4m3": 1, "f8e5m2": 1}
# 8-bit floats that are not OCP E4M3 (no infinities, max 448) or E5M2: named in the error.
_OTHER_FP8 = {
    "float8_e4m3": "IEEE-style E4M3 with infinities, max 240",
    "float8_e4m3fnuz": "E4M3 FNUZ, max 240, no negative zero",
    "float8_e5m2fnuz": "E5M2 FNUZ, max 57344, no negative zero",
    "float8_e4m3b11fnuz": "E4M3 with exponent bias 11",
    "float8_e3m4": "E3M4",
    "float8_e8m0fnu": "E8M0 (scales only)",
}
_NUMPY_BITS = {"uint32": "u32", "int32": "u32"}


_TORCH_DTYPES: dict[bool, dict[Any, str]] = {}  # by `bits`, made on first use


def _torch_dtypes(torch: Any, bits: bool) -> dict[Any, str]:
    table = _TORCH_DTYPES.get(bits)
    if table is not None:
        return table
    if bits:
        table = {torch.int32: "u32"}
        if hasattr(torch, "uint32"):
            table[torch.uint32] = "u32"
    else:
        table = {
            torch.float32: "f32",
            torch.float64: "f64",
            torch.float16: "f16",
            torch.bfloat16: "bf16",
            torch.float8_e4m3fn: "f8e4m3",
            torch.float8_e5m2: "f8e5m2",
        }
    _TORCH_DTYPES[bits] = table
    return table


def _is_torch_tensor(out: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(out, torch.Tensor)


def _want(bits: bool) -> str:
    return ("uint32 or int32" if bits else
            "float32, float64, float16, bfloat16, float8_e4m3fn or float8_e5m2")


def _other_fp8(name: str) -> str:
    """' (...)' explaining why an 8-bit float format is not one fanfill writes, or ''."""
    if name in _OTHER_FP8:
        return (f" ({name} is {_OTHER_FP8[name]}; fanfill writes the OCP formats "
                "float8_e4m3fn and float8_e5m2)")
    return ""


def _check_torch(out: Any, bits: bool) -> Target:
    torch = sys.modules["torch"]
    if out.is_nested:
        raise TypeError("fanfill fills dense (strided) tensors; got a nested tensor")
    if out.layout != torch.strided:
        raise TypeError(f"fanfill fills dense (strided) tensors; got layout {out.layout}")
    if not out.is_cpu:
        raise ValueError(
            f"fanfill fills CPU tensors; got a tensor on device '{out.device}'"
            + (" (a meta tensor has no data)" if out.device.type == "meta" else "")
        )
    dtypes = _torch_dtypes(torch, bits)
    if out.dtype not in dtypes:
        why = "" if bits else _other_fp8(str(out.dtype).removeprefix("torch."))
        raise TypeError(f"fanfill fills {_want(bits)} tensors; got {out.dtype}{why}")
    if not out.is_contiguous():
        raise ValueError(
            "fanfill fills C-contiguous buffers; the tensor is not contiguous "
            f"(shape {tuple(out.shape)}, stride {tuple(out.stride())})"
        )
    if out.is_neg() or out.is_conj():
        raise ValueError("fanfill cannot fill a tensor with a lazy negation/conjugation bit")
    if out.is_inference() and not torch.is_inference_mode_enabled():
        raise ValueError("fanfill cannot fill an inference tensor outside torch.inference_mode()")
    check_grad(out)
    shape = tuple(int(s) for s in out.shape)
    count = int(out.numel())
    address, nbytes = _torch_memory(out)
    need = (int(out.storage_offset()) + count) * int(out.element_size())
    if count and nbytes < need:
        raise ValueError(
            f"the tensor's storage holds {nbytes} bytes but its shape {shape} needs {need} "
            "(a storage resized or freed, as FSDP does with parameters it does not hold)"
        )
    if count and address == 0:
        raise TypeError(_NO_STORAGE.format(type(out).__name__))
    return Target(address, dtypes[out.dtype], shape, count, out)


_NO_STORAGE = (
    "fanfill writes a tensor's memory, and this {} has none of its own (a tensor inside "
    "torch.vmap or another torch.func transform, a fake tensor or a wrapper subclass): "
    "fill a plain tensor"
)


def _torch_memory(out: Any) -> tuple[int, int]:
    """(data address, storage size in bytes) of a tensor; TypeError if it has no storage."""
    fake = sys.modules.get("torch._subclasses.fake_tensor")
    if fake is not None and isinstance(out, fake.FakeTensor):  # data_ptr() would warn
        raise TypeError(_NO_STORAGE.format(type(out).__name__))
    try:
        return int(out.data_ptr()), int(out.untyped_storage().nbytes())
    except (RuntimeError, NotImplementedError):  # vmap's BatchedTensor, functorch wrappers
        raise TypeError(_NO_STORAGE.format(type(out).__name__)) from None


def check_grad(out: Any) -> None:
    """Refuses a torch tensor that requires grad while grad mode is on (ValueError)."""
    torch = sys.modules["torch"]
    if out.requires_grad and torch.is_grad_enabled():
        # A leaf: torch refuses in-place ops too. A non-leaf: autograd could not see the write.
        raise ValueError(
            "fanfill cannot fill a tensor that requires grad outside torch.no_grad() "
            "(wrap the call in torch.no_grad(), as torch.nn.init does)"
        )


def _numpy_dtype_code(dtype: np.dtype, bits: bool) -> str:
    """fanfill's name ("f32", ...) of a numpy dtype it writes; TypeError for any other."""
    table = _NUMPY_BITS if bits else _NUMPY_FLOAT
    name = dtype.name
    if name not in table or (not bits and dtype.itemsize != _ITEMSIZE[table[name]]):
        why = "" if bits else _other_fp8(name)
        raise TypeError(f"fanfill fills {_want(bits)} arrays; got dtype {dtype}{why}")
    if not dtype.isnative:
        # fanfill writes in the machine's byte order: a byte-swapped array would hold garbage.
        raise TypeError(
            f"fanfill fills arrays in the machine's byte order ({sys.byteorder}-endian); got "
            f"dtype {dtype.str!r} (byte-swapped): fill a native array and convert it, "
            "e.g. arr.astype(arr.dtype.newbyteorder('='))"
        )
    return table[name]


# The numpy dtypes accepted so far, by (dtype, bits): numpy computes dtype.name in Python
# (microseconds a call), a dict lookup by dtype takes tens of nanoseconds. A dtype equal to
# an accepted one has its kind, size and byte order, so a hit is a dtype that passes every
# check in _numpy_dtype_code; only accepted dtypes are kept (a handful; an equal dtype
# with another hash, e.g. a union dtype, gets an entry of its own).
_NUMPY_ACCEPTED: dict[tuple[np.dtype, bool], str] = {}


def _check_numpy(out: np.ndarray, bits: bool) -> Target:
    code = _NUMPY_ACCEPTED.get((out.dtype, bits))
    if code is None:
        code = _numpy_dtype_code(out.dtype, bits)
        _NUMPY_ACCEPTED[(out.dtype, bits)] = code
    if not out.flags.c_contiguous:
        raise ValueError(
            "fanfill fills C-contiguous buffers; the array is not C-contiguous "
            f"(shape {out.shape}, strides {out.strides})"
        )
    if not out.flags.writeable:
        raise ValueError("fanfill cannot fill a read-only array")
    return Target(out.__array_interface__["data"][0], code, out.shape, out.size, out)


def check_output(out: Any, *, bits: bool = False) -> Target:
    """Returns the checked Target for `out`; raises TypeError/ValueError otherwise.

    Keep the Target (its `keep`: the buffer export) until the write has returned.
    """
    if _is_torch_tensor(out):
        return _check_torch(out, bits)
    if isinstance(out, np.ndarray):
        return _check_numpy(out, bits)
    try:
        view = memoryview(out)
    except TypeError:
        raise TypeError(
            "fanfill fills numpy arrays, torch CPU tensors or writable buffers; got "
            f"{type(out).__name__}"
        ) from None
    if view.readonly:
        raise ValueError(f"fanfill cannot fill a read-only buffer ({type(out).__name__})")
    if not view.c_contiguous:
        raise ValueError("fanfill fills C-contiguous buffers; the buffer is not C-contiguous")
    try:
        arr = np.asarray(view)
    except (TypeError, ValueError) as e:  # formats numpy cannot read
        raise TypeError(f"fanfill cannot read the buffer's format {view.format!r}: {e}") from None
    target = _check_numpy(arr, bits)
    return Target(target.address, target.dtype, target.shape, target.count, out, keep=view)


def wrote(target: Target) -> None:
    """Marks a torch tensor as modified (autograd's version counter), as an in-place op would."""
    if _is_torch_tensor(target.obj):
        torch = sys.modules["torch"]
        try:
            torch.autograd.graph.increment_version(target.obj)
        except (AttributeError, RuntimeError, TypeError):  # older torch / inference tensors
            pass
