"""fanfill for PyTorch (imports torch): :mod:`fanfill.torch.nn_init`, a drop-in for
``torch.nn.init``; :func:`patch_nn_init`, which puts it under ``torch.nn.init``
(torch's layers included) for a ``with`` block; and :func:`init_model`, a model's
own init with fanfill's values keyed by parameter name."""

from __future__ import annotations

from . import nn_init
from ._model import InitReport, init_model
from ._patch import patch_nn_init

__all__ = ["InitReport", "init_model", "nn_init", "patch_nn_init"]
