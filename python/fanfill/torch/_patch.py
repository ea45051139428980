"""patch_nn_init: torch.nn.init's public functions replaced by fanfill's within a block."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import torch

from . import nn_init

_lock = threading.Lock()
_depth = 0  # open patch_nn_init blocks, all threads: the last one out restores torch's
_saved: dict[str, Any] = {}


@contextlib.contextmanager
def patch_nn_init() -> Iterator[ModuleType]:
    """Within the ``with`` block, ``torch.nn.init``'s public functions are fanfill's.

    torch's layers (``nn.Linear``, ``nn.Conv2d``, ``nn.Embedding``, ...) call
    ``init.kaiming_uniform_`` and the others through the ``torch.nn.init``
    module object they bound at import; replacing that module's attributes
    (what this does) reaches them, where replacing ``sys.modules["torch.nn.init"]``
    does not. Every name in :data:`fanfill.torch.nn_init.__all__` is swapped;
    the private helpers (``_calculate_fan_in_and_fan_out``, ...) stay torch's.
    On exit, normal or by an exception, the previous functions are restored.

    The swap is process-wide while any block runs (other threads see it too);
    blocks may nest or overlap across threads: the last one to exit restores
    torch's functions. Yields :mod:`fanfill.torch.nn_init`.

    Example::

        torch.manual_seed(0)
        with fanfill.torch.patch_nn_init():
            model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            mod = torch.nn.init
            _saved = {name: getattr(mod, name) for name in nn_init.__all__ if hasattr(mod, name)}
            for name in _saved:
                setattr(mod, name, getattr(nn_init, name))
        _depth += 1
    try:
        yield nn_init
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for name, fn in _saved.items():
                    setattr(torch.nn.init, name, fn)
                _saved = {}
