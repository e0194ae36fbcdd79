"""The networks notebooks 01 and 07 and the gradient-norm explorer build fresh and measure: the
per-layer gradient norms of a deep MLP (:func:`mlp_gradient_norms`) or a small transformer
(:func:`transformer_gradient_norms`) at initialisation, seeded, and which of the two the explorer's
settings ask for (:func:`explorer_norms`). :mod:`helpers.gradients` measures; this module decides what.
"""
from __future__ import annotations

from typing import Any

import torch

from .checks import check_choice, check_int
from .data import sequence_task
from .gradients import gradient_norms
from .models import NORM_POSITIONS, deep_mlp, sequence_loss, tiny_transformer

ARCHITECTURES = ("MLP", "pre-LN transformer", "post-LN transformer")
BRANCH_SCALES = (1.0, 0.5, 0.1, 0.01)


def _check_dtype(dtype: torch.dtype) -> None:
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")


def mlp_gradient_norms(inputs: torch.Tensor, targets: torch.Tensor, depth: int = 50, activation: str = "sigmoid",
                       init: str = "default", batch_norm: bool = False, residual: bool = False,
                       width: int = 64, seed: int = 0, dtype: torch.dtype = torch.float64,
                       branch_scale: float = 1.0) -> dict[str, float]:
    """Per-layer weight-gradient norms of a freshly initialised :func:`~helpers.models.deep_mlp`.

    The network is initialised from its own seed (the global random state is left as it was), so
    the same settings always give the same numbers. Computed in ``dtype``, float64 by default: in
    float32 a deep sigmoid network's first-layer gradient underflows to 0. ``branch_scale`` (with
    ``residual``) starts each branch's learnable scale there; 1 is the plain residual network.
    Notebook 01's tables and the gradient-norm explorer (:class:`helpers.widgets.GradientExplorer`)
    use this.
    """
    _check_dtype(dtype)
    scale = None if branch_scale == 1.0 or not residual else branch_scale
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = deep_mlp(depth, width, activation, init, "batch" if batch_norm else None, residual,
                         in_features=inputs[0].numel(), branch_scale=scale).to(dtype)
    return gradient_norms(model, inputs.to(dtype), targets)


def transformer_gradient_norms(depth: int = 6, norm: str = "pre", seed: int = 0, d_model: int = 32,
                               batch: int = 64, dtype: torch.dtype = torch.float64) -> dict[str, float]:
    """Weight-gradient norm of each block's second MLP layer (``blocks.i.fc2``; in the last block, the
    weight Theorem 1 of Xiong et al. 2020 is about) in a freshly initialised
    :func:`~helpers.models.tiny_transformer`, pre-LN or post-LN, on one batch of the sequence-reversal
    task (:func:`helpers.data.sequence_task`).

    Seeded like :func:`mlp_gradient_norms` (global random state untouched); float64 by default.
    """
    check_int("depth", depth)
    check_choice("norm", norm, NORM_POSITIONS)
    _check_dtype(dtype)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = tiny_transformer(depth, d_model, norm=norm, vocab=16, max_len=12).to(dtype)
    x, y = sequence_task(batch, "reverse", length=12, vocab=16, seed=seed)
    return gradient_norms(model, x, y, loss_fn=sequence_loss, layers=[f"blocks.{i}.fc2" for i in range(depth)])


def explorer_norms(inputs: torch.Tensor, targets: torch.Tensor, settings: dict[str, Any], width: int = 64,
                   seed: int = 0) -> dict[str, float]:
    """The numbers the explorer draws for ``settings``: every layer of the MLP on (inputs, targets), or
    each transformer block's last MLP layer on the sequence-reversal task."""
    if settings["architecture"] == "MLP":
        mlp = {k: v for k, v in settings.items() if k != "architecture"}
        return mlp_gradient_norms(inputs, targets, width=width, seed=seed, **mlp)
    norm = "pre" if settings["architecture"].startswith("pre") else "post"
    return transformer_gradient_norms(settings["depth"], norm, seed=seed)
