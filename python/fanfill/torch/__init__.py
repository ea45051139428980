"""fanfill for PyTorch (imports torch): :mod:`fanfill.torch.nn_init`, a drop-in for
``torch.nn.init``, and :func:`init_model`, a model's own init with fanfill's values."""

from __future__ import annotations

from . import nn_init
from ._model import InitReport, init_model

__all__ = ["InitReport", "init_model", "nn_init"]
