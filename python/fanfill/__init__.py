"""fanfill: reproducible, SIMD, multi-core random fills and weight initialization.

Element i of a fill is a pure function of (seed, stream, i), for any thread
count, sub-range or shard. Core functions work on numpy arrays and torch CPU
tensors; :mod:`fanfill.torch` (imported on demand; it imports torch) has the
``torch.nn.init`` drop-in (:mod:`fanfill.torch.nn_init`) and
:func:`fanfill.torch.init_model`.
"""

from __future__ import annotations

from ._api import (
    active_target,
    canonical_scheme,
    describe,
    fill_bits,
    fill_normal,
    fill_truncated_normal,
    fill_uniform,
    gain,
    init_,
    stream_id,
    version,
)

__version__ = version()

__all__ = [
    "active_target",
    "canonical_scheme",
    "describe",
    "fill_bits",
    "fill_normal",
    "fill_truncated_normal",
    "fill_uniform",
    "gain",
    "init_",
    "stream_id",
    "version",
]
