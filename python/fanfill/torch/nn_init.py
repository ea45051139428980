"""A drop-in for :mod:`torch.nn.init` whose random values all come from fanfill.

Same function names, signatures, defaults, return values, warnings and
exceptions as ``torch.nn.init`` (torch 2.13). The random functions draw a
64-bit fanfill seed from ``generator`` (default: torch's default generator),
so ``torch.manual_seed`` reproduces a call, and fill the tensor with fanfill's
Philox stream 0 for that seed. Strided views, other devices and dtypes are
filled through a contiguous temporary; meta tensors are a no-op; DTensors are
filled shard by shard at their global offsets (the same values as the whole
tensor). Deterministic initializers (constant_, ones_, zeros_) use torch's
``fill_``/``zero_``; eye_ and dirac_ use fanfill's schemes.

Use: ``import fanfill.torch.nn_init as init`` in your own code, or
``with fanfill.torch.patch_nn_init():`` around code that calls ``torch.nn.init``
(torch's layers included: ``nn.Linear``, ``nn.Conv2d`` ... call its functions
through the module, whose attributes the context manager replaces). Swapping
``sys.modules["torch.nn.init"]`` reaches only code that imports the module
after the swap, never torch's own layers (they bound ``init`` at import).

Where torch would write inf or NaN (a non-finite mean or std, a distribution
or truncation bounds reaching beyond the dtype's range) fanfill raises
``ValueError`` instead, as it
does for ``trunc_normal_`` bounds beyond the dtype's range or entirely beyond 5 std
from the mean (torch samples those by rejection), a negative ``sparse_`` sparsity and
``dirac_`` groups < 1. A ``trunc_normal_`` bound of -inf or inf is no bound on that side.
"""


import math
import operator
import warnings
from collections.abc import Callable
from typing import Literal, ParamSpec, TypeVar

import torch
from torch import Tensor

from . import _fill

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "sparse_",
    "uniform",
    "normal",
    "constant",
    "eye",
    "dirac",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "sparse",
]

_R = TypeVar("_R")
_P = ParamSpec("_P")

_NonlinearityType = Literal[
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
]

_FanMode = Literal["fan_in", "fan_out"]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


# The dtypes torch's normal_/uniform_ have CPU kernels for (not the FP8 formats: there
# torch raises NotImplementedError, and so does the drop-in).
_FINFO_MAX = {dt: float(torch.finfo(dt).max)
              for dt in (torch.float32, torch.float64, torch.float16, torch.bfloat16)}


def _surely_valid(tensor: Tensor, op: str, args: tuple[float, ...]) -> bool:
    """True where torch's op certainly accepts the arguments (the common case, no probe)."""
    top = _FINFO_MAX.get(tensor.dtype)
    if top is None or not all(isinstance(x, (int, float)) for x in args):
        return False
    x, y = float(args[0]), float(args[1])
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    if op == "normal_":
        return y >= 0
    # torch also requires to - from <= max (a margin: near the limit the probe decides).
    return x <= y and abs(x) <= top and abs(y) <= top and y - x <= 0.5 * top


def _check_like_torch(tensor: Tensor, op: str, *args: float) -> None:
    """Raises what torch's own ``op`` would raise for these arguments and this dtype.

    Outside the plainly valid cases, runs the op on a tensor of the same dtype with a
    private generator, so the caller's generator is not advanced: one element on the
    CPU, or none where `tensor` has none, and on the meta device for a meta tensor
    (torch's empty-tensor and meta paths skip checks its kernels make: e.g. normal_ on
    an empty int64 tensor and uniform_(1, 0) on a meta tensor are no-ops).
    """
    if _surely_valid(tensor, op, args):
        return
    with torch._C.DisableTorchFunction():
        probe = torch.empty(0 if tensor.numel() == 0 else 1, dtype=tensor.dtype,
                            device="meta" if tensor.is_meta else "cpu")
        getattr(probe, op)(*args, generator=torch.Generator())


def _check_writable_like_torch(tensor: Tensor) -> None:
    """Raises torch's own RuntimeError for an in-place write to an inference tensor outside
    ``torch.inference_mode()`` (the fanfill core raises ValueError there)."""
    if tensor.is_inference() and not torch.is_inference_mode_enabled():
        with torch.inference_mode():
            probe = torch.empty(0, device="cpu")
        probe.zero_()  # raises: the same check on an empty tensor


def _seeded(generator: torch.Generator | None, write: Callable[[int], Tensor]) -> Tensor:
    """``write(seed)`` with a seed drawn from ``generator``; if ``write`` raises (fanfill refused
    the request), the generator's state is put back: torch makes its checks before any draw,
    so a refused call must not advance the caller's generator either."""
    _fill.check_generator(generator)
    gen = generator if generator is not None else torch.default_generator
    state = gen.get_state()
    seed = _fill.seed_from(generator)
    try:
        return write(seed)
    except BaseException:
        gen.set_state(state)
        raise


def _random(tensor: Tensor, kind: int, mean: float, std: float, low: float, high: float,
            generator: torch.Generator | None) -> Tensor:
    if tensor.is_meta:
        return tensor
    it = _fill.active()  # inside fanfill.torch.init_model: keyed by the parameter's name
    if it is not None and it.try_fill(tensor, kind, mean, std, low, high, "nn.init"):
        return tensor
    _check_writable_like_torch(tensor)
    if tensor.numel() == 0:
        _fill.seed_from(generator)  # the draw a non-empty call makes
        return tensor
    return _seeded(generator,
                   lambda seed: _fill.write(tensor, kind, mean, std, low, high, seed))


def _no_grad_uniform_(tensor: Tensor, a: float, b: float,
                      generator: torch.Generator | None = None) -> Tensor:
    _check_like_torch(tensor, "uniform_", a, b)
    a, b = float(a), float(b)
    if a == b:  # torch fills the bound; fanfill's U(a, b) needs a < b
        if not tensor.is_meta:
            _fill.seed_from(generator)  # a draw, as torch's uniform_ advances the generator
            with torch.no_grad():
                tensor.fill_(complex(a, a) if tensor.is_complex() else a)  # both parts U(a, a)
        return tensor
    return _random(tensor, _fill.UNIFORM, 0.0, 0.0, a, b, generator)


def _no_grad_normal_(tensor: Tensor, mean: float, std: float,
                     generator: torch.Generator | None = None) -> Tensor:
    _check_like_torch(tensor, "normal_", mean, std)
    return _random(tensor, _fill.NORMAL, float(mean), float(std), 0.0, 0.0, generator)


def _check_trunc_like_torch(tensor: Tensor, mean: float, std: float, a: float,
                            b: float) -> None:
    """Raises what torch 2.13's ``trunc_normal_`` raises for these arguments and this dtype
    before it draws.

    torch first computes the mass p in [a, b] from the arguments as passed (std 0 is Python's
    ZeroDivisionError, an int beyond float Python's OverflowError), then picks its sampler by p.
    Above 0.3 it converts the bounds to the tensor's dtype (``new_tensor``: an integer dtype
    that cannot hold them raises, also on an empty tensor; a Python int wraps where a float
    raises), calls ``normal_`` and compares the values with the bounds (``lt``); otherwise (also
    p NaN, or std < 0, where p < 0) it calls ``uniform_(a, b)`` and runs a rejection round
    (``sub_``, ``div_``, ..., ``gt``). Those conversions and ops can only raise for non-float
    dtypes (complex included: no comparison kernels, even on an empty tensor) and the 1-byte
    floats (float8, float4: none either), so only those run them, on an empty tensor.
    """
    def norm_cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    p = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std)
    probe_ops = not tensor.is_floating_point() or tensor.element_size() == 1
    if probe_ops:
        with torch._C.DisableTorchFunction():
            probe = torch.empty(0, dtype=tensor.dtype, device="cpu")
    if p > 0.3:
        if probe_ops:
            with torch._C.DisableTorchFunction():
                lo = probe.new_tensor(a).item()
                hi = probe.new_tensor(b).item()
        _check_like_torch(tensor, "normal_", float(mean), float(std))
        if probe_ops:
            with torch._C.DisableTorchFunction():
                ((probe < lo) | (probe > hi)).any()
    else:
        _check_like_torch(tensor, "uniform_", float(a), float(b))
        if probe_ops:  # torch's first rejection round, on the empty probe
            mode = max(a, min(mean, b))
            log_peak = -0.5 * ((mode - mean) / std) ** 2
            with torch._C.DisableTorchFunction():
                candidates = probe.clone()
                candidates.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)
                probe.clone().log_().gt(candidates).any()


def _no_grad_trunc_normal_(tensor: Tensor, mean: float, std: float, a: float, b: float,
                           generator: torch.Generator | None = None) -> Tensor:
    if tensor.is_meta:
        return tensor
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=3,
        )
    _check_trunc_like_torch(tensor, mean, std, a, b)
    if std == 0:  # (a numpy zero passes torch's division, as inf)
        raise ValueError("trunc_normal_: std must be nonzero, got 0")
    if math.isnan(std):  # torch writes U(a, b) values: refused (README)
        raise ValueError("trunc_normal_: std must be a number, got nan")
    # torch squares (x - mean) / std, so a negative std acts as |std|.
    mean, std, a, b = float(mean), abs(float(std)), float(a), float(b)
    if not a < b:
        # torch's rejection path calls uniform_(a, b): a > b raises its RuntimeError, a == b
        # (or NaN bounds) fills the bound.
        with torch._C.DisableTorchFunction():
            probe = torch.empty(1, dtype=tensor.dtype, device="cpu")
            probe.uniform_(a, b, generator=torch.Generator())
        return _no_grad_uniform_(tensor, a, b, generator)
    if a == -math.inf and b == math.inf:  # no truncation: torch's normal_ path, never redrawn
        return _random(tensor, _fill.NORMAL, mean, std, 0.0, 0.0, generator)
    return _random(tensor, _fill.TRUNC, mean, std, a, b, generator)


def _no_grad_fill_(tensor: Tensor, val: float) -> Tensor:
    with torch.no_grad():
        return tensor.fill_(val)


def _no_grad_zero_(tensor: Tensor) -> Tensor:
    with torch.no_grad():
        return tensor.zero_()


def calculate_gain(nonlinearity: _NonlinearityType, param: int | float | None = None) -> float:
    r"""Return the recommended gain value for the given nonlinearity function.

    The values are as follows:

    ================= ====================================================
    nonlinearity      gain
    ================= ====================================================
    Linear / Identity :math:`1`
    Conv{1,2,3}D      :math:`1`
    Sigmoid           :math:`1`
    Tanh              :math:`\frac{5}{3}`
    ReLU              :math:`\sqrt{2}`
    Leaky Relu        :math:`\sqrt{\frac{2}{1 + \text{negative\_slope}^2}}`
    SELU              :math:`\frac{3}{4}`
    ================= ====================================================

    Args:
        nonlinearity: the non-linear function (`nn.functional` name)
        param: optional parameter for the non-linear function

    Examples:
        >>> gain = nn.init.calculate_gain("leaky_relu", 0.2)  # leaky_relu with negative_slope=0.2
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope: float = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: torch.Generator | None = None) -> Tensor:
    r"""Fill the input Tensor with values drawn from the uniform distribution.

    :math:`\mathcal{U}(a, b)`.

    Args:
        tensor: an n-dimensional `torch.Tensor`
        a: the lower bound of the uniform distribution
        b: the upper bound of the uniform distribution
        generator: the torch Generator to sample from (default: None)

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.uniform_(w)
    """
    if torch.overrides.has_torch_function_variadic(tensor):
        return torch.overrides.handle_torch_function(
            uniform_, (tensor,), tensor=tensor, a=a, b=b, generator=generator
        )
    return _no_grad_uniform_(tensor, a, b, generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: torch.Generator | None = None) -> Tensor:
    r"""Fill the input Tensor with values drawn from the normal distribution.

    :math:`\mathcal{N}(\text{mean}, \text{std}^2)`.

    Args:
        tensor: an n-dimensional `torch.Tensor`
        mean: the mean of the normal distribution
        std: the standard deviation of the normal distribution
        generator: the torch Generator to sample from (default: None)

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.normal_(w)
    """
    if torch.overrides.has_torch_function_variadic(tensor):
        return torch.overrides.handle_torch_function(
            normal_, (tensor,), tensor=tensor, mean=mean, std=std, generator=generator
        )
    return _no_grad_normal_(tensor, mean, std, generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: torch.Generator | None = None) -> Tensor:
    r"""Fill the input Tensor with values drawn from a truncated normal distribution.

    The values are effectively drawn from the
    normal distribution :math:`\mathcal{N}(\text{mean}, \text{std}^2)`
    with values outside :math:`[a, b]` redrawn until they are within
    the bounds. The method used for generating the random values works
    best when :math:`a \leq \text{mean} \leq b`.

    fanfill samples the truncated normal by inverse CDF in one pass (no
    redraws); the distribution is the same.

    Args:
        tensor: an n-dimensional `torch.Tensor`
        mean: the mean of the normal distribution
        std: the standard deviation of the normal distribution
        a: the minimum cutoff value
        b: the maximum cutoff value
        generator: the torch Generator to sample from (default: None)

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.trunc_normal_(w)
    """
    return _no_grad_trunc_normal_(tensor, mean, std, a, b, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    r"""Fill the input Tensor with the value :math:`\text{val}`.

    Args:
        tensor: an n-dimensional `torch.Tensor`
        val: the value to fill the tensor with

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.constant_(w, 0.3)
    """
    if torch.overrides.has_torch_function_variadic(tensor):
        return torch.overrides.handle_torch_function(
            constant_, (tensor,), tensor=tensor, val=val
        )
    return _no_grad_fill_(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    r"""Fill the input Tensor with the scalar value `1`.

    Args:
        tensor: an n-dimensional `torch.Tensor`

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.ones_(w)
    """
    return _no_grad_fill_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    r"""Fill the input Tensor with the scalar value `0`.

    Args:
        tensor: an n-dimensional `torch.Tensor`

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.zeros_(w)
    """
    return _no_grad_zero_(tensor)


def eye_(tensor: Tensor) -> Tensor:
    r"""Fill the 2-dimensional input `Tensor` with the identity matrix.

    Preserves the identity of the inputs in `Linear` layers, where as
    many inputs are preserved as possible.

    Args:
        tensor: a 2-dimensional `torch.Tensor`

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.eye_(w)
    """
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    _check_writable_like_torch(tensor)
    return _fill.write_scheme(tensor, "eye", 0)


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    r"""Fill the {3, 4, 5}-dimensional input `Tensor` with the Dirac delta function.

    Preserves the identity of the inputs in `Convolutional`
    layers, where as many input channels are preserved as possible. In case
    of groups>1, each group of channels preserves identity

    Args:
        tensor: a {3, 4, 5}-dimensional `torch.Tensor`
        groups (int, optional): number of groups in the conv layer (default: 1)
    Examples:
        >>> w = torch.empty(3, 16, 5, 5)
        >>> nn.init.dirac_(w)
        >>> w = torch.empty(3, 24, 5, 5)
        >>> nn.init.dirac_(w, 3)
    """
    dimensions = tensor.ndimension()
    if dimensions not in [3, 4, 5]:
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.size()
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    groups = operator.index(groups)  # torch: range(dim 0 // groups), TypeError for 2.0
    _check_writable_like_torch(tensor)
    if min(sizes[0] // groups, sizes[1]) > 0 and 0 in sizes[2:]:
        # torch sets w[g * out + d, d, k // 2, ...] = 1: a spatial size of 0 is its IndexError.
        dim = 2 + list(sizes[2:]).index(0)
        raise IndexError(f"index 0 is out of bounds for dimension {dim} with size 0")
    return _fill.write_scheme(tensor, f"dirac(groups={groups})", 0)


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field_size = math.prod(int(s) for s in tensor.shape[2:])
    return int(tensor.size(1)) * receptive_field_size, int(tensor.size(0)) * receptive_field_size


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: torch.Generator | None = None) -> Tensor:
    r"""Fill the input `Tensor` with values using a Xavier uniform distribution.

    The method is described in `Understanding the difficulty of training
    deep feedforward neural networks` - Glorot, X. & Bengio, Y. (2010).
    The resulting tensor will have values sampled from
    :math:`\mathcal{U}(-a, a)` where

    .. math::
        a = \text{gain} \times \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}

    Also known as Glorot initialization.

    Args:
        tensor: an n-dimensional `torch.Tensor`
        gain: an optional scaling factor
        generator: the torch Generator to sample from (default: None)

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("relu"))
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _no_grad_uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: torch.Generator | None = None) -> Tensor:
    r"""Fill the input `Tensor` with values using a Xavier normal distribution.

    The method is described in `Understanding the difficulty of training deep feedforward
    neural networks` - Glorot, X. & Bengio, Y. (2010). The resulting tensor
    will have values sampled from :math:`\mathcal{N}(0, \text{std}^2)` where

    .. math::
        \text{std} = \text{gain} \times \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    Also known as Glorot initialization.

    Args:
        tensor: an n-dimensional `torch.Tensor`
        gain: an optional scaling factor
        generator: the torch Generator to sample from (default: None)

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.xavier_normal_(w)
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _no_grad_normal_(tensor, 0.0, std, generator)


def _calculate_correct_fan(tensor: Tensor, mode: _FanMode) -> int:
    mode = mode.lower()  # type: ignore[assignment]
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                     nonlinearity: _NonlinearityType = "leaky_relu",
                     generator: torch.Generator | None = None) -> Tensor:
    r"""Fill the input `Tensor` with values using a Kaiming uniform distribution.

    The method is described in `Delving deep into rectifiers: Surpassing
    human-level performance on ImageNet classification` - He, K. et al. (2015).
    The resulting tensor will have values sampled from
    :math:`\mathcal{U}(-\text{bound}, \text{bound})` where

    .. math::
        \text{bound} = \text{gain} \times \sqrt{\frac{3}{\text{fan\_mode}}}

    Also known as He initialization.

    Args:
        tensor: an n-dimensional `torch.Tensor`
        a: the negative slope of the rectifier used after this layer (only
            used with ``'leaky_relu'``)
        mode: either ``'fan_in'`` (default) or ``'fan_out'``. Choosing ``'fan_in'``
            preserves the magnitude of the variance of the weights in the
            forward pass. Choosing ``'fan_out'`` preserves the magnitudes in the
            backwards pass.
        nonlinearity: the non-linear function (`nn.functional` name),
            recommended to use only with ``'relu'`` or ``'leaky_relu'`` (default).
        generator: the torch Generator to sample from (default: None)

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu")
    """
    if torch.overrides.has_torch_function_variadic(tensor):
        return torch.overrides.handle_torch_function(
            kaiming_uniform_,
            (tensor,),
            tensor=tensor,
            a=a,
            mode=mode,
            nonlinearity=nonlinearity,
            generator=generator,
        )
    return _kaiming_uniform(tensor, a, mode, nonlinearity, generator, stacklevel=3)


def _kaiming_uniform(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                     nonlinearity: _NonlinearityType = "leaky_relu",
                     generator: torch.Generator | None = None, stacklevel: int = 2) -> Tensor:
    """kaiming_uniform_ without the __torch_function__ dispatch."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=stacklevel)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _no_grad_uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: _FanMode = "fan_in",
                    nonlinearity: _NonlinearityType = "leaky_relu",
                    generator: torch.Generator | None = None) -> Tensor:
    r"""Fill the input `Tensor` with values using a Kaiming normal distribution.

    The method is described in `Delving deep into rectifiers: Surpassing
    human-level performance on ImageNet classification` - He, K. et al. (2015).
    The resulting tensor will have values sampled from
    :math:`\mathcal{N}(0, \text{std}^2)` where

    .. math::
        \text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}

    Also known as He initialization.

    Args:
        tensor: an n-dimensional `torch.Tensor`
        a: the negative slope of the rectifier used after this layer (only
            used with ``'leaky_relu'``)
        mode: either ``'fan_in'`` (default) or ``'fan_out'``. Choosing ``'fan_in'``
            preserves the magnitude of the variance of the weights in the
            forward pass. Choosing ``'fan_out'`` preserves the magnitudes in the
            backwards pass.
        nonlinearity: the non-linear function (`nn.functional` name),
            recommended to use only with ``'relu'`` or ``'leaky_relu'`` (default).
        generator: the torch Generator to sample from (default: None)

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    return _no_grad_normal_(tensor, 0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1,
                generator: torch.Generator | None = None) -> Tensor:
    r"""Fill the input `Tensor` with a (semi) orthogonal matrix.

    Described in `Exact solutions to the nonlinear dynamics of learning in deep
    linear neural networks` - Saxe, A. et al. (2013). The input tensor must have
    at least 2 dimensions, and for tensors with more than 2 dimensions the
    trailing dimensions are flattened.

    Args:
        tensor: an n-dimensional `torch.Tensor`, where :math:`n \geq 2`
        gain: optional scaling factor
        generator: the torch Generator to sample from (default: None)

    Examples:
        >>> # xdoctest: +REQUIRES(env:TORCH_DOCTEST_LAPACK)
        >>> w = torch.empty(3, 5)
        >>> nn.init.orthogonal_(w)
    """
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0 or tensor.is_meta:
        return tensor
    _check_like_torch(tensor, "normal_", 0.0, 1.0)  # torch draws normal_ on the dtype first
    if tensor.is_complex():  # what torch's orthogonal_ raises (its d.sign() on the QR's R)
        raise NotImplementedError(
            "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
            "torch.sgn instead."
        )
    if isinstance(gain, (str, bytes, bytearray)):  # torch's q.mul_(gain) takes no text
        raise TypeError(f"orthogonal_: gain must be a number, got {type(gain).__name__}")
    g = float(gain)
    if g == 0 or g < 0:
        # torch multiplies the orthogonal matrix by gain: 0 gives zeros, a negative gain the
        # negated matrix. fanfill's scheme takes gain > 0; the sign is applied after.
        if g == 0:
            _fill.seed_from(generator)
            with torch.no_grad():
                return tensor.zero_()
        orthogonal_(tensor, -g, generator)
        with torch.no_grad():
            return tensor.neg_()
    spec = f"orthogonal(gain={_fill.number(g)})"
    it = _fill.active()
    if it is not None and it.try_scheme(tensor, spec, "orthogonal_"):
        return tensor
    _check_writable_like_torch(tensor)
    return _seeded(generator, lambda seed: _fill.write_scheme(tensor, spec, seed))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01,
            generator: torch.Generator | None = None) -> Tensor:
    r"""Fill the 2D input `Tensor` as a sparse matrix.

    The non-zero elements will be drawn from the normal distribution
    :math:`\mathcal{N}(0, 0.01)`, as described in `Deep learning via
    Hessian-free optimization` - Martens, J. (2010).

    Args:
        tensor: an n-dimensional `torch.Tensor`
        sparsity: The fraction of elements in each column to be set to zero
        std: the standard deviation of the normal distribution used to generate
            the non-zero values
        generator: the torch Generator to sample from (default: None)

    Examples:
        >>> w = torch.empty(3, 5)
        >>> nn.init.sparse_(w, sparsity=0.1)
    """
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    if tensor.is_meta:
        return tensor
    math.ceil(sparsity * tensor.shape[0])  # torch's first step: NaN/inf raise here
    _check_like_torch(tensor, "normal_", 0.0, std)  # then normal_(0, std)
    if tensor.is_complex():
        # torch draws complex normal values; fanfill's sparse scheme writes real ones.
        raise TypeError(
            f"fanfill's sparse_ fills real floating tensors; got {tensor.dtype} (torch draws "
            "complex normal values here: use torch.nn.init.sparse_)"
        )
    # torch zeros ceil(sparsity * rows) rows per column: any sparsity above 1 zeros them all.
    s = min(float(sparsity), 1.0)
    spec = f"sparse(sparsity={_fill.number(s)}, std={_fill.number(std)})"
    it = _fill.active()
    if it is not None and it.try_scheme(tensor, spec, "sparse_"):
        return tensor
    _check_writable_like_torch(tensor)
    return _seeded(generator, lambda seed: _fill.write_scheme(tensor, spec, seed))


def _make_deprecate(meth: Callable[_P, _R]) -> Callable[_P, _R]:
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = rf"""
    {old_name}(...)

    .. warning::
        This method is now deprecated in favor of :func:`torch.nn.init.{new_name}`.

    See :func:`~torch.nn.init.{new_name}` for details."""
    deprecated_init.__name__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
