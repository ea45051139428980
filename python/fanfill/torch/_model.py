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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
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


@dataclass
class _Owner:
    name: str
    tensor: torch.Tensor  # the parameter or buffer (a DTensor for distributed ones)
    local: torch.Tensor  # its data (the local shard for a DTensor)


def _storage_key(t: torch.Tensor) -> int | None:
    if t.is_meta or t.layout != torch.strided:
        return None
    try:
        ptr = t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return None
    return ptr or None


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
    out: set[str] = set()
    for attr in ("all_tied_weights_keys", "_tied_weights_keys"):
        keys = getattr(model, attr, None)
        if isinstance(keys, Mapping):
            out.update(str(k) for k in keys)
        elif isinstance(keys, (list, tuple, set)):
            out.update(str(k) for k in keys)
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
        targets = _tied_targets(model)
        groups: dict[int, list[tuple[str, torch.Tensor, torch.Tensor]]] = {}
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
            return None
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

    def try_fill(self, t: torch.Tensor, kind: int, mean: float, std: float, low: float,
                 high: float, what: str) -> bool:
        """Fills a draw of one distribution on `t` if it lands on a named tensor."""
        if not isinstance(t, torch.Tensor) or t.is_meta:
            return False
        found = self.registry.find(t)
        if found is None:
            self._unnamed(what, t)
            return False
        owner, start = found
        stream = _api.stream_id(owner.name)
        if t is owner.tensor or (start == 0 and t.shape == owner.local.shape
                                 and t.stride() == owner.local.stride()):
            _fill.write(owner.tensor if t is owner.tensor else t, kind, mean, std, low, high,
                        self.seed, stream, self.threads)
        else:
            self._fill_view(owner, t, start, kind, mean, std, low, high, stream)
        self._count(owner.name)
        return True

    def _fill_view(self, owner: _Owner, t: torch.Tensor, start: int, kind: int, mean: float,
                   std: float, low: float, high: float, stream: int) -> None:
        local = owner.local
        if not local.is_contiguous():
            raise ValueError(f"init_model: a random draw on a view of the non-contiguous "
                             f"tensor {owner.name} is not supported")
        if _fill.is_dtensor(owner.tensor):
            raise ValueError(f"init_model: a random draw on a view of the DTensor {owner.name} "
                             "is not supported")
        lo, hi = _span(t)
        first = lo - local.storage_offset()
        n = hi - lo + 1
        tmp = torch.empty(n, dtype=t.dtype if t.dtype in _fill.NATIVE else torch.float32)
        kw: dict[str, Any] = {"seed": self.seed, "stream": stream, "first_index": first,
                              "threads": self.threads}
        if kind == _fill.UNIFORM:
            _api.fill_uniform(tmp, low, high, **kw)
        elif kind == _fill.NORMAL:
            _api.fill_normal(tmp, mean, std, **kw)
        else:
            _api.fill_truncated_normal(tmp, mean, std, low, high, **kw)
        view = tmp.as_strided(tuple(t.shape), tuple(t.stride()), t.storage_offset() - lo)
        with torch.no_grad():
            t.copy_(view)

    def try_scheme(self, t: torch.Tensor, spec: str, what: str) -> bool:
        """Fills a whole-tensor scheme (orthogonal, sparse) if `t` is a whole named tensor."""
        if not isinstance(t, torch.Tensor) or t.is_meta:
            return False
        found = self.registry.find(t)
        if found is None:
            self._unnamed(what, t)
            return False
        owner, start = found
        if not (t is owner.tensor or (start == 0 and t.shape == owner.local.shape)):
            self._unnamed(f"{what} on part of {owner.name}", t)
            return False
        _fill.write_scheme(owner.tensor if t is owner.tensor else t, spec, self.seed,
                           _api.stream_id(owner.name), self.threads)
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
            with torch._C.DisableTorchFunction():
                if it.try_fill(tensor, _fill.TRUNC, float(mean), float(std), float(a), float(b),
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
            with torch._C.DisableTorchFunction():
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


def _zero_dtensor_padding_rows(model: nn.Module) -> None:
    """Embedding inits zero the padding row by indexing (``weight[padding_idx]``), which on a
    DTensor row-sharded weight writes to a redistributed copy: zero it in its shard."""
    for m in model.modules():
        pad = getattr(m, "padding_idx", None)
        if isinstance(m, nn.Embedding) and pad is not None and _fill.is_dtensor(m.weight):
            local, _, offset = _fill.dtensor_local_block(m.weight)
            row = pad - offset[0]
            if 0 <= row < local.shape[0]:
                local[row].zero_()


def _takes_no_arguments(fn: Callable[..., Any]) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in sig.parameters.values())


def _run_own_init(model: nn.Module) -> None:
    if hasattr(model, "_init_weights") and hasattr(model, "init_weights"):
        # Hugging Face: clear the "already initialized" flags, then its own init (and tying).
        for m in model.modules():
            if getattr(m, "_is_hf_initialized", False):
                m._is_hf_initialized = False
        for t in list(model.parameters()) + list(model.buffers()):
            if getattr(t, "_is_hf_initialized", False):
                t._is_hf_initialized = False
        model.init_weights()
        return
    # Children before parents (reversed pre-order), as construction runs them: a parent's
    # reset (e.g. MultiheadAttention zeroing out_proj.bias) has the last word.
    for m in reversed(list(model.modules())):
        for attr in ("reset_parameters", "_reset_parameters"):
            fn = getattr(m, attr, None)
            if callable(fn) and _takes_no_arguments(fn):
                fn()
                break


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
    Hugging Face model's ``init_weights()``; otherwise each module's
    ``reset_parameters``/``_reset_parameters``, children first) and fills each
    random draw that lands on a parameter or buffer from
    (seed, stream_id(qualified name)) at the elements it covers. Tied
    parameters use the name ``save_pretrained`` keeps. DTensor parameters are
    filled shard by shard at their global offsets.

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
    """
    seed = _api._u64("seed", seed)
    threads = _api._threads(threads)
    registry = _Registry(model)
    report = InitReport(names=dict(registry.aliases))
    with torch.no_grad():
        if rules is not None:
            _run_rules(model, rules, registry, seed, threads, report)
            return report
        interceptor = _Interceptor(registry, seed, strict, threads, report)
        prev = _fill.set_active(interceptor)
        try:
            with _patches(), _Mode(interceptor):
                if init_fn is not None:
                    init_fn(model)
                else:
                    _run_own_init(model)
                    _zero_dtensor_padding_rows(model)
        finally:
            _fill.set_active(prev)
    kept = dict.fromkeys(registry.aliases.get(n, n) for n, _ in model.named_parameters())
    report.not_drawn = [n for n in kept if n not in report.filled]
    return report
