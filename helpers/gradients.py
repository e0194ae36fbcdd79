"""Per-layer gradient norms: one pass (:func:`gradient_norms`) or all through training
(:class:`GradientRecorder`). Numbers only; :mod:`helpers.plotting` draws them.
"""
from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .checks import check_int

WRT = ("weights", "outputs")
WEIGHT_LAYERS = (nn.Linear, nn.Conv2d)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's Linear and Conv2d layers, by qualified name, in registration (= forward) order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)]


def _select(model: nn.Module, layers: Iterable[str] | None) -> list[tuple[str, nn.Module]]:
    if layers is None:
        return weight_layers(model)
    modules = dict(model.named_modules())
    layers = list(layers)
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise ValueError(f"layers has names the model does not have: {unknown}; "
                         f"accepted: {[n for n in modules if n][:20]}...")
    return [(name, modules[name]) for name in layers]


@contextmanager
def output_gradient_hooks(model: nn.Module, layers: Iterable[str] | None = None) -> Iterator[dict[str, float]]:
    """Within the block, every backward pass stores the norm of d(loss)/d(output) of each layer.

    The hooks are removed when the block ends, also when it ends with an exception.
    """
    norms: dict[str, float] = {}
    handles = []

    def capture(name: str):
        def forward_hook(module, args, output):
            if isinstance(output, torch.Tensor) and output.requires_grad:
                output.register_hook(lambda grad: norms.__setitem__(name, grad.norm().item()))
        return forward_hook

    try:
        for name, module in _select(model, layers):
            handles.append(module.register_forward_hook(capture(name)))
        yield norms
    finally:
        for handle in handles:
            handle.remove()


def gradient_norms(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                   loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
                   wrt: str = "weights", layers: Iterable[str] | None = None) -> dict[str, float]:
    """One forward and backward pass; the L2 norm of each layer's gradient, in forward order.

    ``wrt='weights'`` gives the norm of d(loss)/d(weight) of each layer (by default every Linear and
    Conv2d); ``wrt='outputs'`` the norm of d(loss)/d(output) of each named layer or block. The
    model's existing ``.grad`` fields are cleared first; the model's train/eval mode is left alone.
    """
    if wrt not in WRT:
        raise ValueError(f"wrt must be one of {list(WRT)}, got {wrt!r}")
    selected = _select(model, layers)
    model.zero_grad(set_to_none=True)
    if wrt == "outputs":
        with output_gradient_hooks(model, [name for name, _ in selected]) as captured:
            loss_fn(model(inputs), targets).backward()
        return {name: captured[name] for name, _ in selected if name in captured}
    loss_fn(model(inputs), targets).backward()
    norms = {}
    for name, module in selected:
        weight = getattr(module, "weight", None)
        if weight is None or weight.grad is None:
            raise ValueError(f"layer {name!r} has no weight gradient (no .weight, or unused in the forward pass)")
        norms[name] = weight.grad.norm().item()
    return norms


def first_last_ratio(norms: dict[str, float]) -> float:
    """Gradient norm of the first layer over that of the last: << 1 vanishing, >> 1 exploding."""
    values = list(norms.values())
    if len(values) < 2:
        raise ValueError(f"norms needs at least two layers, got {len(values)}")
    return values[0] / values[-1] if values[-1] else float("inf")


class GradientRecorder:
    """Record per-layer weight-gradient norms every ``every`` optimizer steps, as a context manager.

    ``with GradientRecorder(model, optimizer, every=10) as rec: train(...)`` hooks the optimizer so
    that, just before each recorded step updates the weights, the norm of each layer's weight
    gradient is stored. The training loop needs no change; the hook is removed when the block ends,
    also when it ends with an exception. ``rec.matrix()`` is a (layers x recorded steps) array.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, every: int = 1,
                 layers: Iterable[str] | None = None):
        check_int("every", every)
        self.layers = _select(model, layers)
        self.optimizer, self.every = optimizer, every
        self.steps: list[int] = []
        self.norms: dict[str, list[float]] = {name: [] for name, _ in self.layers}
        self._count = 0
        self._handle = None

    def _on_step(self, optimizer, args, kwargs) -> None:
        if self._count % self.every == 0:
            grads = [m.weight.grad for _, m in self.layers]
            if all(g is not None for g in grads):
                # One stacked call: a single device-to-host copy, however many layers.
                values = torch.stack([g.detach().norm() for g in grads]).tolist()
                for (name, _), value in zip(self.layers, values):
                    self.norms[name].append(value)
                self.steps.append(self._count)
        self._count += 1

    def __enter__(self) -> "GradientRecorder":
        self._handle = self.optimizer.register_step_pre_hook(self._on_step)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    @property
    def layer_names(self) -> list[str]:
        return [name for name, _ in self.layers]

    def matrix(self) -> np.ndarray:
        """The recorded norms as an array of shape (layers, recorded steps)."""
        return np.array([self.norms[name] for name in self.layer_names], dtype=float)


def profile_at_step(matrix: np.ndarray, steps: Sequence[int], step: int,
                    layer_names: Sequence[str] | None = None) -> dict[str, float]:
    """The column of a (layers x steps) norm matrix recorded at ``step`` (the latest one not after it)."""
    steps = list(steps)
    if not steps:
        raise ValueError("steps is empty: record at least one step")
    index = max(0, int(np.searchsorted(steps, step, side="right")) - 1)
    matrix = np.asarray(matrix, dtype=float)
    names = list(layer_names) if layer_names is not None else [str(i + 1) for i in range(matrix.shape[0])]
    return dict(zip(names, matrix[:, index].tolist()))
