"""init_model: a model's own initialization code with every random value from fanfill.

The model's init code runs unchanged (each module's ``reset_parameters`` /
``_reset_parameters``, or a Hugging Face model's ``init_weights``) under a
:class:`torch.overrides.TorchFunctionMode` that intercepts the in-place random
ops (``normal_``, ``uniform_``) and, as wholes, ``trunc_normal_``,
``orthogonal_`` and ``sparse_`` (torch implements them from several random
ops, which must not be filled piecewise). The tensor a draw lands on is mapped,
through its storage, to the qualified name of the parameter (or buffer) it
belongs to, and the draw is filled by fanfill from (seed, stream_id(name)) at
the element indices the tensor occupies in that parameter. Values therefore do
not depend on the thread count, the order modules are built or initialized in,
or on other modules of the model.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import re
import sys
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FunctionType, MethodType
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .. import _api
from . import _fill, nn_init

# Random functions whose draws fanfill does not supply: a draw by one of these is
# reported (strict=True: raised) wherever it lands.
_OTHER_RANDOM = {
    torch.Tensor.bernoulli_, torch.Tensor.exponential_, torch.Tensor.geometric_,
    torch.Tensor.log_normal_, torch.Tensor.cauchy_, torch.Tensor.random_,
    torch.rand, torch.randn, torch.randint, torch.randperm, torch.normal, torch.bernoulli,
    torch.multinomial, torch.rand_like, torch.randn_like, torch.randint_like, torch.poisson,
}


@dataclass
class InitReport:
    """What :func:`init_model` did.

    filled: parameter/buffer name -> number of random draws fanfill filled.
    unnamed: descriptions of random draws that landed on no named parameter
        (torch's own generator supplied those values).
    not_ruled: with ``rules=``, parameters no rule covered (left as they were).
    not_drawn: parameters (kept names) that received no fanfill draw: the
        deterministic ones (norm weights set to ones, zero biases) and any the
        init code never touched -- e.g. a parameter made with ``torch.randn`` in
        a constructor and no ``reset_parameters``, which keeps torch's values
        (after ``to_empty``: uninitialized memory).
    names: storage owner name of every parameter (tied ones map to the kept name).
    """

    filled: dict[str, int] = field(default_factory=dict)
    unnamed: list[str] = field(default_factory=list)
    not_ruled: list[str] = field(default_factory=list)
    not_drawn: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)


# A storage's identity (_storage_key).
_Key = int | tuple[str, int]


@dataclass
class _Owner:
    name: str
    tensor: torch.Tensor  # the parameter or buffer (a DTensor for distributed ones)
    local: torch.Tensor  # its data (the local shard for a DTensor)


def _storage_key(t: torch.Tensor) -> _Key | None:
    """What identifies the memory under `t`: its storage's data pointer; for a storage of no
    bytes (data pointer 0: a zero-element parameter and its ``.data``/views share it), the
    storage itself (its C++ StorageImpl, which aliases share). None for a meta or
    non-strided tensor."""
    if t.is_meta or t.layout != torch.strided:
        return None
    try:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
    except (RuntimeError, NotImplementedError):
        return None
    if ptr:
        return ptr
    impl = getattr(storage, "_cdata", 0)
    return ("empty storage", impl) if impl else None


def _span(t: torch.Tensor) -> tuple[int, int]:
    """[first, last] storage element offsets a strided tensor touches."""
    lo = hi = t.storage_offset()
    for size, stride in zip(t.shape, t.stride(), strict=True):
        if size == 0:
            return lo, lo - 1
        if stride >= 0:
            hi += (size - 1) * stride
        else:
            lo += (size - 1) * stride
    return lo, hi


def _tied_targets(model: nn.Module) -> set[str]:
    """Tied-parameter names (or patterns) the model and its submodules declare as the
    copies ``save_pretrained`` drops, qualified from `model` (a Hugging Face model may sit
    inside a plain wrapper module)."""
    out: set[str] = set()
    for mname, module in model.named_modules():
        prefix = f"{mname}." if mname else ""
        for attr in ("all_tied_weights_keys", "_tied_weights_keys"):
            keys = getattr(module, attr, None)
            if isinstance(keys, (Mapping, list, tuple, set)):
                out.update(prefix + str(k) for k in keys)
    return out


def _is_tied_target(name: str, targets: set[str]) -> bool:
    for t in targets:
        if name == t:
            return True
        try:
            if re.fullmatch(t, name):
                return True
        except re.error:
            pass
    return False


class _Registry:
    """Maps storages to the parameters/buffers that own them."""

    def __init__(self, model: nn.Module) -> None:
        named: list[tuple[str, torch.Tensor]] = []
        named += list(model.named_parameters(remove_duplicate=False))
        named += [(n, b) for n, b in model.named_buffers(remove_duplicate=False) if b is not None]
        # Every (name, tensor) slot, tied names included, as the model held them when the
        # registry was made (_tied_aliases_detached reuses them).
        self.named = named
        targets = _tied_targets(model)
        groups: dict[_Key, list[tuple[str, torch.Tensor, torch.Tensor]]] = {}
        by_id: dict[int, list[tuple[str, torch.Tensor, torch.Tensor]]] = {}
        for name, t in named:
            local = t._local_tensor if _fill.is_dtensor(t) else t
            by_id.setdefault(id(t), []).append((name, t, local))
        self.owners: list[_Owner] = []
        self.aliases: dict[str, str] = {}
        for entries in by_id.values():
            keep = next((e for e in entries if not _is_tied_target(e[0], targets)), entries[0])
            owner = _Owner(keep[0], keep[1], keep[2])
            self.owners.append(owner)
            for e in entries:
                self.aliases[e[0]] = owner.name
            key = _storage_key(owner.local)
            if key is not None:
                groups.setdefault(key, []).append((owner.name, owner.tensor, owner.local))
        # Distinct parameters sharing one storage (tied by assignment of .data, flattened
        # RNN weights): the span decides.
        self._by_storage = groups
        self._by_name = {o.name: o for o in self.owners}
        self._ids = {id(o.tensor): o for o in self.owners}

    def find(self, t: torch.Tensor) -> tuple[_Owner, int] | None:
        """(owner, element offset of t's first storage element in the owner's data) or None."""
        o = self._ids.get(id(t))
        if o is not None:
            return o, 0
        if _fill.is_dtensor(t):
            return self._find_dtensor_alias(t)
        key = _storage_key(t)
        if key is None or key not in self._by_storage:
            return None
        lo, hi = _span(t)
        for name, _, local in self._by_storage[key]:
            if local.dtype != t.dtype or local.element_size() != t.element_size():
                continue
            plo, phi = _span(local)
            if plo <= lo and hi <= phi:
                return self._by_name[name], lo - local.storage_offset()
        return None

    def _find_dtensor_alias(self, t: torch.Tensor) -> tuple[_Owner, int] | None:
        """The DTensor parameter a DTensor `t` (``p.data``, ``p.detach()``) aliases: the same
        global shape, mesh and placements over the same local shard (storage, offset, shape,
        strides). A DTensor view of part of a parameter (``p[:3]``) is a redistributed
        tensor, no alias: None."""
        local = t._local_tensor
        key = _storage_key(local)
        if key is None:
            return None
        for name, owner_t, owner_local in self._by_storage.get(key, ()):
            if (_fill.is_dtensor(owner_t) and owner_local.dtype == local.dtype
                    and owner_local.storage_offset() == local.storage_offset()
                    and owner_local.shape == local.shape
                    and owner_local.stride() == local.stride()
                    and owner_t.shape == t.shape
                    and owner_t.device_mesh == t.device_mesh
                    and tuple(owner_t.placements) == tuple(t.placements)):
                return self._by_name[name], 0
        return None


class _Interceptor:
    """The active init_model: fills draws landing on named parameters."""

    def __init__(self, registry: _Registry, seed: int, strict: bool, threads: int,
                 report: InitReport) -> None:
        self.registry = registry
        self.seed = seed
        self.strict = strict
        self.threads = threads
        self.report = report

    def _unnamed(self, what: str, t: Any) -> None:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else ()
        desc = f"{what} on a tensor of shape {shape} that is no named parameter or buffer"
        if self.strict:
            raise RuntimeError(f"init_model(strict=True): {desc}")
        self.report.unnamed.append(desc)

    def _count(self, name: str) -> None:
        self.report.filled[name] = self.report.filled.get(name, 0) + 1

    @staticmethod
    def _whole(owner: _Owner, t: torch.Tensor, start: int,
               strides: bool = True) -> torch.Tensor | None:
        """The tensor to write where `t` (found in `owner`) is all of the owner's data, else
        None. All of it: the owner itself, a DTensor alias of it (``.data``, ``.detach()``),
        or a plain tensor over all of its (local) data in the same layout (``.data`` of a
        tensor, ``to_local()`` of a DTensor). A DTensor owner is written itself (at its
        global offsets), a plain one through `t`."""
        whole = t is owner.tensor or _fill.is_dtensor(t) or (
            start == 0 and t.shape == owner.local.shape
            and (not strides or t.stride() == owner.local.stride()))
        if not whole:
            return None
        return owner.tensor if t is owner.tensor or _fill.is_dtensor(owner.tensor) else t

    def try_fill(self, t: torch.Tensor, kind: int, mean: float, std: float, low: float,
                 high: float, what: str) -> bool:
        """Fills a draw of one distribution on `t` if it lands on a named tensor.

        False (torch's own op runs) for a meta tensor, a tensor of no floating or complex
        dtype (torch's ``normal_``/``uniform_`` raise there, and so they still do) and a draw
        on no named tensor. A draw on a DTensor parameter through an alias (``p.data``,
        ``p.detach()``, ``p.to_local()`` or a view of it) is written at the parameter's
        global offsets, so the shards are those of the one-process init.

        Runs with torch functions undispatched, as :func:`_fill.write`: fanfill's own
        tensor inspection and writes (a view's values copied in) are not the init code's
        ops; under this interceptor's mode, re-entered for the init functions' bodies, each
        ``.shape`` or ``is_contiguous()`` would otherwise pass through
        ``__torch_function__`` (about 25 calls per fill).
        """
        with torch._C.DisableTorchFunction():
            return self._try_fill(t, kind, mean, std, low, high, what)

    def _try_fill(self, t: torch.Tensor, kind: int, mean: float, std: float, low: float,
                  high: float, what: str) -> bool:
        if not isinstance(t, torch.Tensor) or t.is_meta:
            return False
        if not (t.is_floating_point() or t.is_complex()):
            return False
        found = self.registry.find(t)
        if found is None:
            self._unnamed(what, t)
            return False
        owner, start = found
        stream = _api.stream_id(owner.name)
        target = self._whole(owner, t, start)
        if target is not None:
            _fill.write(target, kind, mean, std, low, high, self.seed, stream, self.threads)
        else:
            self._fill_view(owner, t, kind, mean, std, low, high, stream)
        self._count(owner.name)
        return True

    def _fill_view(self, owner: _Owner, t: torch.Tensor, kind: int, mean: float,
                   std: float, low: float, high: float, stream: int) -> None:
        """Fills `t`, a view of part of the owner's (local) data, with the stream elements at
        the indices its elements have in the owner (a DTensor's: in the global tensor).

        Complex tensors are filled through their real view, as a whole one is: both parts
        drawn, normal's std divided by sqrt(2), stream index = index in the real view.
        """
        local = owner.local
        dtensor = _fill.is_dtensor(owner.tensor)
        if t.is_complex():
            if t.is_conj() or t.is_neg() or local.is_conj() or local.is_neg():
                raise ValueError(f"init_model: a random draw on a conjugated or negated view "
                                 f"of the complex tensor {owner.name} is not supported")
            t, local = torch.view_as_real(t), torch.view_as_real(local)
            if kind == _fill.NORMAL:
                std = std / math.sqrt(2.0)
        dtype = t.dtype if t.dtype in _fill.NATIVE else torch.float32
        if t.numel() == 0:
            # Nothing to write; the arguments are checked as on the whole tensor (an f16
            # normal_(0, 1e6) raises on p[:0] as on p).
            _fill.write(torch.empty(0, dtype=dtype, device="cpu"), kind, mean, std, low, high,
                        self.seed, stream, self.threads)
            return
        if not local.is_contiguous():
            raise ValueError(f"init_model: a random draw on a view of the non-contiguous "
                             f"tensor {owner.name} is not supported")
        lo, hi = _span(t)
        base = local.storage_offset()
        kw: dict[str, Any] = {"seed": self.seed, "stream": stream, "threads": self.threads}
        if dtensor:
            # The rows (dim 0 of the local shard) the view touches, at their global offsets.
            _, gshape, offset = _fill.dtensor_local_block(owner.tensor)
            if local.dim() > len(gshape):  # the real view of a complex shard
                gshape, offset = [*gshape, 2], [*offset, 0]
            row = local.numel() // local.shape[0]
            r0, r1 = (lo - base) // row, (hi - base) // row
            block = torch.empty((r1 - r0 + 1, *local.shape[1:]), dtype=dtype, device="cpu")
            kw.update(global_shape=gshape, offset=[offset[0] + r0, *offset[1:]])
            first = base + r0 * row
        else:
            block = torch.empty(hi - lo + 1, dtype=dtype, device="cpu")
            kw["first_index"] = lo - base
            first = lo
        if kind == _fill.UNIFORM:
            _api.fill_uniform(block, low, high, **kw)
        elif kind == _fill.NORMAL:
            _api.fill_normal(block, mean, std, **kw)
        else:
            _api.fill_truncated_normal(block, mean, std, low, high, **kw)
        view = block.as_strided(tuple(t.shape), tuple(t.stride()), t.storage_offset() - first)
        with torch.no_grad():
            t.copy_(view)

    def try_scheme(self, t: torch.Tensor, spec: str, what: str) -> bool:
        """Fills a whole-tensor scheme (orthogonal, sparse) if `t` is a whole named tensor
        (for a DTensor parameter, also through an alias: ``p.data``, ``p.to_local()``).
        Undispatched, as :meth:`try_fill`."""
        with torch._C.DisableTorchFunction():
            return self._try_scheme(t, spec, what)

    def _try_scheme(self, t: torch.Tensor, spec: str, what: str) -> bool:
        if not isinstance(t, torch.Tensor) or t.is_meta:
            return False
        if not (t.is_floating_point() or t.is_complex()):
            return False
        found = self.registry.find(t)
        if found is None:
            self._unnamed(what, t)
            return False
        owner, start = found
        target = self._whole(owner, t, start, strides=False)
        if target is None:
            self._unnamed(f"{what} on part of {owner.name}", t)
            return False
        _fill.write_scheme(target, spec, self.seed, _api.stream_id(owner.name), self.threads)
        self._count(owner.name)
        return True


def active() -> _Interceptor | None:
    """The init_model interceptor of this thread, if one is running."""
    return _fill.active()


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], i: int, names: tuple[str, ...],
         default: float) -> float:
    if len(args) > i:
        return float(args[i])
    for n in names:
        if n in kwargs:
            return float(kwargs[n])
    return default


def _uniform(tensor: torch.Tensor, a: float = 0.0, b: float = 1.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    return nn_init._no_grad_uniform_(tensor, a, b, generator)


def _normal(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0,
            generator: torch.Generator | None = None) -> torch.Tensor:
    return nn_init._no_grad_normal_(tensor, mean, std, generator)


def _constant(tensor: torch.Tensor, val: float) -> torch.Tensor:
    return nn_init._no_grad_fill_(tensor, val)


# The init functions that dispatch through __torch_function__, by name, mapped to
# fanfill's non-dispatching implementations (which consult the interceptor).
_INIT_IMPL: dict[str, Callable[..., torch.Tensor]] = {
    "uniform_": _uniform, "normal_": _normal, "constant_": _constant,
    "kaiming_uniform_": nn_init._kaiming_uniform,
}
# Modules whose functions of those names are such inits: torch's, fanfill's, and
# transformers' guarded copies (which torch.nn.init's globals point to while
# transformers' guard_torch_init_functions is active).
_INIT_MODULES = ("torch.nn.init", "fanfill.torch.nn_init", "transformers.initialization")


def _init_impl(func: Any) -> Callable[..., torch.Tensor] | None:
    if getattr(func, "__module__", None) not in _INIT_MODULES:
        return None
    return _INIT_IMPL.get(getattr(func, "__name__", ""))


class _Mode(TorchFunctionMode):
    def __init__(self, interceptor: _Interceptor) -> None:
        super().__init__()
        self.i = interceptor

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.Tensor.normal_ or func is torch.Tensor.uniform_:
            # The generator is ignored: fanfill's (seed, name) keys the values.
            t = args[0]
            if func is torch.Tensor.normal_:
                mean = _arg(args, kwargs, 1, ("mean",), 0.0)
                std = _arg(args, kwargs, 2, ("std",), 1.0)
                if std >= 0 and math.isfinite(std) and math.isfinite(mean):
                    if self.i.try_fill(t, _fill.NORMAL, mean, std, 0.0, 0.0, "normal_"):
                        return t
            else:
                a = _arg(args, kwargs, 1, ("from",), 0.0)
                b = _arg(args, kwargs, 2, ("to",), 1.0)
                if a < b and math.isfinite(a) and math.isfinite(b):
                    if self.i.try_fill(t, _fill.UNIFORM, 0.0, 0.0, a, b, "uniform_"):
                        return t
            # Invalid arguments (torch raises) or no named target: torch's own op.
            return func(*args, **kwargs)
        if func in _OTHER_RANDOM:
            target = args[0] if args and isinstance(args[0], torch.Tensor) else None
            if target is not None and target.is_meta:  # no values (e.g. a tied alias's stand-in)
                return func(*args, **kwargs)
            name = getattr(func, "__name__", str(func))
            found = self.i.registry.find(target) if target is not None and func.__name__.endswith(
                "_") else None
            if found is not None:
                msg = f"init_model: {name} on {found[0].name} is not a distribution fanfill fills"
                if self.i.strict:
                    raise RuntimeError(msg)
                self.i.report.unnamed.append(msg)
            else:
                self.i._unnamed(name, target)
            return func(*args, **kwargs)
        impl = _init_impl(func)
        if impl is not None:
            t = args[0] if args else kwargs.get("tensor")
            if getattr(t, "_is_hf_initialized", False):  # transformers' guard
                return t
            # torch.nn.init / fanfill nn_init functions that dispatched here: run their
            # non-dispatching body with this mode active again, so their draws are seen.
            with self:
                return impl(*args, **kwargs)
        return func(*args, **kwargs)


def _patched_trunc(orig: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def _no_grad_trunc_normal_(tensor: torch.Tensor, mean: float, std: float, a: float,
                               b: float, generator: torch.Generator | None = None) -> torch.Tensor:
        it = active()
        if it is not None and not tensor.is_meta and std > 0 and a < b:
            # No truncation (a = -inf, b = inf): a normal draw, as fanfill's nn_init does.
            untruncated = a == -math.inf and b == math.inf
            kind = _fill.NORMAL if untruncated else _fill.TRUNC
            if it.try_fill(tensor, kind, float(mean), float(std), float(a), float(b),
                           "trunc_normal_"):
                return tensor
        return orig(tensor, mean, std, a, b, generator=generator)

    return _no_grad_trunc_normal_


def _patched_scheme(orig: Callable[..., torch.Tensor], kind: str) -> Callable[..., torch.Tensor]:
    def patched(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        it = active()
        if it is not None and not tensor.is_meta and tensor.numel() > 0:
            if kind == "orthogonal":
                if tensor.ndimension() < 2:
                    raise ValueError("Only tensors with 2 or more dimensions are supported")
                gain = _arg(args, kwargs, 0, ("gain",), 1.0)
                spec = f"orthogonal(gain={_fill.number(gain)})"
            else:
                if tensor.ndimension() != 2:
                    raise ValueError("Only tensors with 2 dimensions are supported")
                sparsity = _arg(args, kwargs, 0, ("sparsity",), math.nan)
                std = _arg(args, kwargs, 1, ("std",), 0.01)
                spec = f"sparse(sparsity={_fill.number(sparsity)}, std={_fill.number(std)})"
            if it.try_scheme(tensor, spec, kind + "_"):
                return tensor
        return orig(tensor, *args, **kwargs)

    patched.__name__ = orig.__name__
    patched.__doc__ = orig.__doc__
    return patched


@contextlib.contextmanager
def _patches() -> Iterator[None]:
    """Replaces the multi-draw initializers of torch.nn.init by whole-tensor fanfill ones."""
    real = sys.modules.get("torch.nn.init")
    mods = {id(m): m for m in (torch.nn.init, real) if m is not None and m is not nn_init}
    saved: list[tuple[Any, str, Any]] = []
    try:
        for m in mods.values():
            for attr, make in (("_no_grad_trunc_normal_", _patched_trunc),
                               ("orthogonal_", lambda f: _patched_scheme(f, "orthogonal")),
                               ("sparse_", lambda f: _patched_scheme(f, "sparse"))):
                if hasattr(m, attr):
                    orig = getattr(m, attr)
                    saved.append((m, attr, orig))
                    setattr(m, attr, make(orig))
        hf = sys.modules.get("transformers.initialization")
        table = getattr(hf, "TORCH_INIT_FUNCTIONS", None)
        if isinstance(table, dict):
            for key, kind in (("orthogonal_", "orthogonal"), ("sparse_", "sparse")):
                if key in table:
                    orig = table[key]
                    saved.append((table, key, orig))
                    table[key] = _patched_scheme(orig, kind)
        yield
    finally:
        for obj, attr, orig in reversed(saved):
            if isinstance(obj, dict):
                obj[attr] = orig
            else:
                setattr(obj, attr, orig)


# An embedding whose init zeroes its padding row: (module, kept weight name, fanfill draws on
# that weight when its init had run).
_PadZeroed = tuple[nn.Embedding, str, int]


def _zero_dtensor_padding_rows(pads: list[_PadZeroed], report: InitReport) -> None:
    """Embedding inits zero the padding row by indexing (``weight[padding_idx]``), which on a
    DTensor row-sharded weight writes to a redistributed copy: zero it in its shard.

    Only for the embeddings whose init is known to zero it (``pads``: ``nn.Embedding``'s own
    ``reset_parameters``, a Hugging Face ``init_weights``) and which no later init redrew
    (the draw count is unchanged): an embedding that keeps ``padding_idx`` only as the
    gradient mask, with an init of its own drawing every row, keeps its drawn row.
    """
    for m, name, draws in pads:
        pad = m.padding_idx
        if pad is None or not _fill.is_dtensor(m.weight) or report.filled.get(name, 0) != draws:
            continue
        local, _, offset = _fill.dtensor_local_block(m.weight)
        row = pad - offset[0]
        if 0 <= row < local.shape[0]:
            local[row].zero_()


def _signature_takes_no_arguments(fn: Callable[..., Any]) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in sig.parameters.values())


# _signature_takes_no_arguments of methods, by their function: a method bound to any
# instance (or, for a classmethod, class) has its function's signature less the first
# parameter, so the answer is the function's. inspect.signature costs ~10 us here, once per
# module per init_model otherwise. Each answer is kept with what inspect.signature read
# (_signature_inputs), and recomputed if any of it was replaced since. Weak keys: a class
# defined and dropped takes its entry.
_METHOD_TAKES_NO_ARGUMENTS: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], bool]] = (
    weakref.WeakKeyDictionary())


def _signature_inputs(func: FunctionType) -> tuple[Any, ...]:
    """What a function's signature is made of (each compared by identity)."""
    return (func.__code__, func.__defaults__, func.__kwdefaults__,
            func.__dict__.get("__signature__"), func.__dict__.get("__wrapped__"))


def _takes_no_arguments(fn: Callable[..., Any]) -> bool:
    """True where `fn` can be called with no arguments (or its signature is not known)."""
    func = getattr(fn, "__func__", None)
    if not isinstance(fn, MethodType) or not isinstance(func, FunctionType):
        return _signature_takes_no_arguments(fn)
    inputs = _signature_inputs(func)
    known = _METHOD_TAKES_NO_ARGUMENTS.get(func)
    if known is not None and len(known[0]) == len(inputs) and all(
            a is b for a, b in zip(known[0], inputs, strict=True)):
        return known[1]
    answer = _signature_takes_no_arguments(fn)
    _METHOD_TAKES_NO_ARGUMENTS[func] = (inputs, answer)
    return answer


@contextlib.contextmanager
def _tied_aliases_detached(model: nn.Module, registry: _Registry) -> Iterator[None]:
    """Replaces, while the model's own init runs, every tied parameter (or buffer) slot whose
    name is not the kept one by a meta stand-in, and puts the shared tensor back afterwards.

    A model's own init runs on untied modules: a Hugging Face model ties after
    ``initialize_weights`` (``init_weights`` = init, then ``tie_weights``), a torch model
    after its modules' constructors ran ``reset_parameters``; what the second owner's init
    wrote (a draw, a zeroed bias) lands in its own tensor and is discarded by the tying. On
    the already tied model it would land on the shared storage again, after the kept
    owner's init: e.g. a tied ``Linear``'s ``normal_`` redrawing an ``Embedding``'s zeroed
    padding row. The stand-ins receive those writes (meta: no memory, no values, no draw).
    """
    # The registry's slots (made just before, on the same model); only tied names, and the
    # names they are tied to, need their modules looked up.
    named = registry.named
    slots: dict[str, tuple[nn.Module, str]] = {}

    def slot(name: str) -> tuple[nn.Module, str]:
        if name not in slots:
            prefix, _, leaf = name.rpartition(".")
            slots[name] = (model.get_submodule(prefix) if prefix else model, leaf)
        return slots[name]

    saved: list[tuple[dict[str, Any], str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for name, t in named:
        kept = registry.aliases.get(name, name)
        if kept == name or kept not in registry.aliases:  # aliases: every slot's name
            continue
        module, leaf = slot(name)
        kmod, kleaf = slot(kept)
        if (module is kmod and leaf == kleaf) or (id(module), leaf) in seen:
            continue  # a shared module (one slot under two names) or a slot already replaced
        seen.add((id(module), leaf))
        table = module._parameters if leaf in module._parameters else module._buffers
        if table.get(leaf) is not t:
            continue
        stand_in: torch.Tensor = torch.empty(tuple(t.shape), dtype=t.dtype, device="meta")
        if isinstance(t, nn.Parameter):
            stand_in = nn.Parameter(stand_in, requires_grad=t.requires_grad)
        saved.append((table, leaf, t))
        table[leaf] = stand_in
    try:
        yield
    finally:
        for table, leaf, t in reversed(saved):
            table[leaf] = t


def _is_hf(module: nn.Module) -> bool:
    """A Hugging Face model (``PreTrainedModel``): its own init is ``init_weights()``."""
    return hasattr(module, "_init_weights") and hasattr(module, "init_weights")


def _hf_init(model: nn.Module) -> None:
    """Clears Hugging Face's "already initialized" flags, then runs its init (and tying)."""
    for m in model.modules():
        if getattr(m, "_is_hf_initialized", False):
            m._is_hf_initialized = False
    for t in list(model.parameters()) + list(model.buffers()):
        if getattr(t, "_is_hf_initialized", False):
            t._is_hf_initialized = False
    model.init_weights()


def _run_own_init(model: nn.Module, registry: _Registry, report: InitReport) -> list[_PadZeroed]:
    """Runs the model's own init; returns the embeddings whose init zeroes the padding row.

    A Hugging Face model (also one inside a plain wrapper, e.g. a backbone plus a task
    head) is initialized as a unit by its ``init_weights()``, its descendants'
    ``reset_parameters`` not run; every other module by its ``reset_parameters`` (or
    ``_reset_parameters``), children before parents (reversed pre-order), as
    construction runs them: a parent's reset (e.g. MultiheadAttention zeroing
    out_proj.bias) has the last word.
    """
    pads: list[_PadZeroed] = []

    def zeroes_padding(module: nn.Module) -> None:
        for m in module.modules():
            owner = registry._ids.get(id(getattr(m, "weight", None)))
            if isinstance(m, nn.Embedding) and owner is not None:  # not a tied stand-in
                pads.append((m, owner.name, report.filled.get(owner.name, 0)))

    modules = list(model.modules())
    units: set[int] = set()  # the outermost Hugging Face modules (the model itself, if one)
    inside: set[int] = set()  # they and their descendants
    for m in modules:  # pre-order: a unit comes before its descendants
        if id(m) not in inside and _is_hf(m):
            units.add(id(m))
            inside.update(id(d) for d in m.modules())
    for m in reversed(modules):
        if id(m) in units:
            _hf_init(m)
            zeroes_padding(m)
            continue
        if id(m) in inside:
            continue
        for attr in ("reset_parameters", "_reset_parameters"):
            fn = getattr(m, attr, None)
            if callable(fn) and _takes_no_arguments(fn):
                fn()
                if (isinstance(m, nn.Embedding)
                        and getattr(type(m), attr, None) is nn.Embedding.reset_parameters):
                    zeroes_padding(m)
                break
    return pads


def _overlaps(t: torch.Tensor) -> bool:
    """True where some elements of `t` share memory (an expanded tensor, a stride of 0)."""
    check = getattr(torch, "_debug_has_internal_overlap", None)
    if check is not None:
        return int(check(t)) == 1  # 0: no, 1: yes, 2: not known (no stride 0; copy_ accepts it)
    return any(size > 1 and stride == 0 for size, stride in zip(t.shape, t.stride(),
                                                               strict=True))


@contextlib.contextmanager
def _contiguous_data(model: nn.Module) -> Iterator[None]:
    """Gives every non-contiguous parameter/buffer (e.g. a channels_last conv weight) a
    contiguous copy of its data while the model's own init runs, and copies the result
    back into the original memory afterwards (its memory format kept).

    torch's ``_ConvNd.reset_parameters`` draws a non-contiguous weight into a contiguous
    temporary and copies it (a tensor no name reaches), and a draw on a view of a
    non-contiguous tensor has no element range to fill; on the contiguous copy both are
    keyed by the parameter's name at logical indices, so values equal the contiguous
    model's. DTensors, meta tensors and tensors sharing their storage with another named
    tensor are left as they are.
    """
    tensors = {id(t): t for _, t in model.named_parameters()}
    tensors.update({id(b): b for _, b in model.named_buffers() if b is not None})
    keys: dict[_Key, int] = {}
    for t in tensors.values():
        key = None if _fill.is_dtensor(t) else _storage_key(t)
        if key is not None:
            keys[key] = keys.get(key, 0) + 1
    swapped: list[tuple[torch.Tensor, torch.Tensor]] = []
    for t in tensors.values():
        if _fill.is_dtensor(t) or t.is_meta or t.layout != torch.strided or t.is_contiguous():
            continue
        key = _storage_key(t)
        if key is None or keys.get(key, 0) != 1 or _overlaps(t):
            continue  # shared storage; or elements sharing memory (copying back would raise)
        old = t.data
        t.data = old.contiguous()
        swapped.append((t, old))
    try:
        yield
    finally:
        # Undispatched, as fanfill's other writes: plumbing, not the init code's op.
        with torch.no_grad(), torch._C.DisableTorchFunction():
            for t, old in reversed(swapped):
                old.copy_(t.data)
                t.data = old


def _check_rules_table(rules: Mapping[Any, Any]) -> None:
    """Raises for a malformed ``{module type: {param: scheme}}`` table, naming the entry."""
    for typ, table in rules.items():
        types = typ if isinstance(typ, tuple) else (typ,)
        if not types or not all(isinstance(x, type) for x in types):
            raise ValueError(f"rules: the key {typ!r} is not a module type (e.g. nn.Linear) "
                             "or a tuple of them")
        if not isinstance(table, Mapping):
            raise TypeError(f"rules[{typ!r}] must be a mapping {{parameter name: scheme spec}}, "
                            f"got {type(table).__name__} {table!r}")
        for pname, spec in table.items():
            if not isinstance(pname, str) or not isinstance(spec, str):
                raise TypeError(f"rules[{typ!r}]: entries must be parameter name -> scheme "
                                f"spec strings, got {pname!r}: {spec!r}")


# ---------------------------------------------------------------- rules


def _torch_rules(module: nn.Module) -> dict[str, str] | None:
    """PyTorch's default init of `module`'s own parameters, as fanfill scheme specs."""
    conv = (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd)
    if isinstance(module, conv) and not isinstance(module, nn.Bilinear):
        out = {"weight": "kaiming_uniform(a=2.23606797749979)"}
        if getattr(module, "bias", None) is not None and module.weight.dim() >= 2:
            fan_in = nn_init._calculate_fan_in_and_fan_out(module.weight)[0]
            out["bias"] = f"torch_default_bias(fan_in={fan_in})"
        return out
    if isinstance(module, nn.Embedding):
        return {"weight": "normal(mean=0, std=1)", "@padding": "zeros"}
    if isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase,
                           getattr(nn, "RMSNorm", nn.LayerNorm))):
        out = {"weight": "ones", "bias": "zeros"}
        if isinstance(module, nn.modules.batchnorm._NormBase):
            out.update({"running_mean": "zeros", "running_var": "ones",
                        "num_batches_tracked": "zeros"})
        return out
    if isinstance(module, nn.MultiheadAttention):
        return {"in_proj_weight": "xavier_uniform", "q_proj_weight": "xavier_uniform",
                "k_proj_weight": "xavier_uniform", "v_proj_weight": "xavier_uniform",
                "in_proj_bias": "zeros", "out_proj.bias": "zeros", "bias_k": "xavier_normal",
                "bias_v": "xavier_normal"}
    if isinstance(module, nn.RNNBase):
        k = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
        return {"*": f"uniform(a={-k!r}, b={k!r})"}
    return None


def _hf_rules(std: float) -> Callable[[nn.Module], dict[str, str] | None]:
    def rules(module: nn.Module) -> dict[str, str] | None:
        if isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
            return {"weight": f"normal(mean=0, std={std!r})", "bias": "zeros"}
        if isinstance(module, nn.Embedding):
            return {"weight": f"normal(mean=0, std={std!r})", "@padding": "zeros"}
        if isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase,
                               getattr(nn, "RMSNorm", nn.LayerNorm))) or (
                type(module).__name__.endswith("RMSNorm")):
            return {"weight": "ones", "bias": "zeros"}
        return None

    return rules


def _apply_scheme(t: torch.Tensor, spec: str, seed: int, name: str, threads: int) -> None:
    _fill.write_scheme(t, spec, seed, _api.stream_id(name), threads)


def _run_rules(model: nn.Module, rules: Any, registry: _Registry, seed: int, threads: int,
               report: InitReport) -> None:
    if rules == "torch":
        rule_fn: Callable[[nn.Module], dict[str, str] | None] = _torch_rules
    elif rules == "hf":
        std = getattr(getattr(model, "config", None), "initializer_range", 0.02)
        rule_fn = _hf_rules(float(std))
    elif isinstance(rules, Mapping):
        def rule_fn(module: nn.Module) -> dict[str, str] | None:
            for typ, spec in rules.items():
                if isinstance(module, typ):
                    return dict(spec)
            return None
    elif callable(rules):
        rule_fn = rules
    else:
        raise ValueError(f"rules must be 'torch', 'hf', a dict {{module type: {{param: scheme}}}} "
                         f"or a callable; got {rules!r}")
    covered: set[str] = set()
    # Children before parents, as the modules' own init: a parent's rule has the last word.
    for mname, module in reversed(list(model.named_modules(remove_duplicate=False))):
        table = rule_fn(module)
        if table is None:
            continue
        prefix = f"{mname}." if mname else ""
        own = list(module.named_parameters(recurse=False)) + [
            (n, b) for n, b in module.named_buffers(recurse=False) if b is not None]
        sub = [(k, module.get_parameter(k)) for k in table
               if "." in k and not k.startswith("@") and _has_param(module, k)]
        for pname, t in own + sub:
            spec = table.get(pname, table.get("*"))
            if spec is None:
                continue
            full = registry.aliases.get(prefix + pname, prefix + pname)
            if t.dtype not in _fill.NATIVE and not t.is_floating_point():
                with torch.no_grad():
                    t.zero_() if spec == "zeros" else t.fill_(1 if spec == "ones" else 0)
            else:
                _apply_scheme(t, spec, seed, full, threads)
            covered.add(full)
            report.filled[full] = report.filled.get(full, 0) + 1
        pad = getattr(module, "padding_idx", None)
        if "@padding" in table and pad is not None and not module.weight.is_meta:
            with torch.no_grad():
                w = module.weight
                if _fill.is_dtensor(w):
                    local, _, offset = _fill.dtensor_local_block(w)
                    row = pad - offset[0]
                    if 0 <= row < local.shape[0]:
                        local[row].zero_()
                else:
                    w[pad].zero_()
    for name, _ in model.named_parameters():
        if registry.aliases.get(name, name) not in covered:
            report.not_ruled.append(name)


def _has_param(module: nn.Module, path: str) -> bool:
    try:
        module.get_parameter(path)
    except AttributeError:
        return False
    return True


def init_model(model: nn.Module, seed: int, *, strict: bool = False, rules: Any = None,
               threads: int = 0, init_fn: Callable[[nn.Module], Any] | None = None) -> InitReport:
    """Initializes `model` in place with every random value from fanfill; returns a report.

    Default: runs the model's own init code (``init_fn(model)`` if given; a
    Hugging Face model's ``init_weights()``, also for one inside a plain wrapper
    module, whose descendants' ``reset_parameters`` then do not run; otherwise
    each module's ``reset_parameters``/``_reset_parameters``, children first) and
    fills each random draw that lands on a parameter or buffer from
    (seed, stream_id(qualified name)) at the elements it covers. Draws on
    integer or bool tensors are torch's (which raises). Non-contiguous
    parameters (channels_last convs) are initialized through a contiguous copy
    (values as the contiguous model's, memory format kept; not for ``init_fn``). Tied
    parameters use the name ``save_pretrained`` keeps and are initialized once,
    by the init of the module holding that name: the other owners' init runs
    on a meta stand-in and is discarded, as in a model that ties after its init
    (e.g. BERT's decoder / Gemma's lm_head do not redraw the embedding, whose
    padding row stays zero). ``init_fn`` runs on the model as it is, tied.
    DTensor parameters are filled shard by shard at their global offsets, also
    where the init draws through ``p.data``, ``p.detach()``, ``p.to_local()`` or a
    view of the local shard.

    strict: raise RuntimeError on a random draw that lands on no named
        parameter (default: such draws keep torch's values and are listed in
        the report's ``unnamed``).
    rules: instead of the model's code, a table: "torch" (PyTorch's default
        init per module type), "hf" (normal(0, config.initializer_range) for
        Linear/Conv/Embedding weights, zero biases and padding rows, unit
        norms), a dict {module type: {parameter name or "*": scheme spec}} or a
        callable module -> such a dict or None.
    threads: fanfill threads per fill (0: all cores); results do not depend on it.

    Meta-built models: materialize first (``model.to_empty(device="cpu")``).

    Raises TypeError for a `model` that is no ``nn.Module``, an `init_fn` that
    is not callable or a `strict` that is no bool, ValueError for both `rules`
    and `init_fn`; in a `rules` dict, ValueError for a key that is no module
    type (or tuple of types), TypeError for a value that is no {name: spec
    string} mapping.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"init_model: model must be a torch.nn.Module, got {type(model).__name__}")
    if rules is not None and init_fn is not None:
        raise ValueError("init_model: give rules= or init_fn=, not both")
    if init_fn is not None and not callable(init_fn):
        raise TypeError(f"init_model: init_fn must be callable, got {type(init_fn).__name__}")
    if not isinstance(strict, bool):
        raise TypeError(f"init_model: strict must be a bool, got {type(strict).__name__}")
    if isinstance(rules, Mapping):
        _check_rules_table(rules)
    seed = _api._u64("seed", seed)
    threads = _api._threads(threads)
    with torch.no_grad():
        if rules is not None:
            registry = _Registry(model)
            report = InitReport(names=dict(registry.aliases))
            _run_rules(model, rules, registry, seed, threads, report)
            return report
        with contextlib.nullcontext() if init_fn is not None else _contiguous_data(model):
            registry = _Registry(model)  # after _contiguous_data: the storages the init sees
            report = InitReport(names=dict(registry.aliases))
            interceptor = _Interceptor(registry, seed, strict, threads, report)
            prev = _fill.set_active(interceptor)
            try:
                with _patches(), _Mode(interceptor):
                    if init_fn is not None:
                        init_fn(model)
                    else:
                        with _tied_aliases_detached(model, registry):
                            pads = _run_own_init(model, registry, report)
                        _zero_dtensor_padding_rows(pads, report)
            finally:
                _fill.set_active(prev)
    kept = dict.fromkeys(registry.aliases.get(n, n) for n, _ in model.named_parameters())
    report.not_drawn = [n for n in kept if n not in report.filled]
    return report
