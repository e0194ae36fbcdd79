"""Why residual networks work, measured (notebook 05): lesions, unravelled paths, loss landscapes.

Compute only; :mod:`helpers.plotting` draws the results.

* :func:`lesion_study` deletes one block at a time from a trained network (Veit et al. 2016).
* :func:`path_gradients` measures how much gradient flows along the paths of each length of the
  unravelled view (Veit et al. 2016, Fig. 6).
* :func:`filter_normalized_direction`, :func:`loss_slice_1d`, :func:`loss_surface_2d` slice the loss
  surface around the trained weights (Li et al. 2018).
* :func:`input_gradients`, :func:`lag_correlation` and :func:`neighbour_coactivation` measure how the
  gradient of a one-input network changes between nearby inputs (shattered gradients, Balduzzi et al.
  2017); :func:`calibrate_batch_norm` fixes batch norm's statistics to those of one batch first.

The networks are :func:`helpers.models.cifar_resnet`'s: blocks are
:class:`~helpers.models.BasicBlock` (residual) or :class:`~helpers.models.PlainBlock`.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .checks import check_choice, check_int
from .models import BasicBlock
from .training import eval_mode, evaluate


# ---------------------------------------------------------------------------------------------
# Blocks and lesions
# ---------------------------------------------------------------------------------------------
def blocks_of(model: nn.Module) -> dict[str, BasicBlock]:
    """Every residual or plain block of ``model`` in forward order, keyed by its name ('stage2.0')."""
    blocks = {name: m for name, m in model.named_modules() if isinstance(m, BasicBlock)}
    if not blocks:
        raise ValueError("model must contain BasicBlock or PlainBlock modules (build it with "
                         "helpers.models.cifar_resnet); it has none")
    return blocks


def keeps_shape(block: BasicBlock) -> bool:
    """True when the block's output has its input's shape (stride 1, same channel count)."""
    return block.conv1.stride == (1, 1) and block.conv1.in_channels == block.conv2.out_channels


def lesionable(model: nn.Module) -> list[str]:
    """Names of the blocks :func:`lesioned` can delete: residual blocks, and shape-keeping plain ones."""
    return [name for name, b in blocks_of(model).items() if b.residual or keeps_shape(b)]


def _replacement(block: BasicBlock, name: str) -> nn.Module:
    if keeps_shape(block):
        return nn.Identity()
    if block.residual:
        # A downsampling block becomes its shortcut alone (option A: subsample and zero-pad).
        return block.downsample
    raise ValueError(f"block {name!r} of a plain network changes the shape of its input; it cannot be "
                     "replaced by the identity. Accepted: the blocks listed by lesionable(model)")


@contextlib.contextmanager
def lesioned(model: nn.Module, names: str | Sequence[str]) -> Iterator[nn.Module]:
    """Within the ``with`` block, the named blocks are replaced by their shortcut (the identity for a
    shape-keeping block); the original blocks are always put back."""
    names = [names] if isinstance(names, str) else list(names)
    blocks = blocks_of(model)
    unknown = [n for n in names if n not in blocks]
    if unknown:
        raise ValueError(f"names must be block names, got {unknown}; accepted: {list(blocks)}")
    swaps = []
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        swaps.append((parent, child, blocks[name], _replacement(blocks[name], name)))
    try:
        for parent, child, _, new in swaps:
            setattr(parent, child, new)
        yield model
    finally:
        for parent, child, old, _ in swaps:
            setattr(parent, child, old)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` classified as ``y``, in eval mode (:func:`helpers.training.evaluate`)."""
    return evaluate(model, (x, y))[1]


def lesion_study(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 names: Sequence[str] | None = None) -> dict[str, float]:
    """Accuracy on (x, y) with each block deleted in turn; key 'none' holds the intact network's."""
    names = lesionable(model) if names is None else list(names)
    result = {"none": accuracy(model, x, y)}
    for name in names:
        with lesioned(model, name):
            result[name] = accuracy(model, x, y)
    return result


# ---------------------------------------------------------------------------------------------
# The unravelled view: 2^n paths
# ---------------------------------------------------------------------------------------------
def path_counts(n: int) -> list[int]:
    """How many of the 2^n paths through n residual blocks pass through k residual branches, k = 0..n."""
    check_int("n", n, minimum=0)
    return [math.comb(n, k) for k in range(n + 1)]


def block_forward(block: BasicBlock, x: torch.Tensor, through_branch: bool | None = None) -> torch.Tensor:
    """A residual block's forward pass, relu(F(x) + shortcut(x)); values equal ``block(x)``.

    ``through_branch=True`` lets the gradient flow back through the residual branch F only,
    ``False`` through the shortcut only, ``None`` through both (the ordinary block).
    """
    if not block.residual:
        raise ValueError("block must be a residual BasicBlock (residual=True); a PlainBlock has one path")
    x_branch = x.detach() if through_branch is False else x
    x_skip = x.detach() if through_branch is True else x
    return F.relu(block.branch(x_branch) + block.shortcut(x_skip))


@contextlib.contextmanager
def single_path(model: nn.Module, branches: Sequence[bool]) -> Iterator[nn.Module]:
    """Within the ``with`` block, the backward pass follows one path: through block i's residual
    branch where ``branches[i]``, else through its shortcut. The forward values do not change."""
    blocks = list(blocks_of(model).values())
    if len(branches) != len(blocks):
        raise ValueError(f"branches must have one entry per block ({len(blocks)}), got {len(branches)}")
    try:
        for block, through in zip(blocks, branches):
            block.forward = (lambda b, t: (lambda x: block_forward(b, x, bool(t))))(block, through)
        yield model
    finally:
        for block in blocks:
            block.__dict__.pop("forward", None)


@dataclass
class PathGradients:
    """Gradient reaching the first block's input along paths of each length k = 0..n (Veit et al.)."""

    lengths: np.ndarray      # k = 0..n
    counts: np.ndarray       # binomial(n, k): how many paths have length k
    per_path: np.ndarray     # mean gradient norm along one path of length k
    sampled: np.ndarray      # how many paths of length k were measured

    @property
    def total(self) -> np.ndarray:
        """Gradient norm carried by all paths of length k: per-path mean times their count."""
        return self.per_path * self.counts

    @property
    def share(self) -> np.ndarray:
        """:attr:`total` as a fraction of its sum over k."""
        return self.total / self.total.sum()

    @property
    def mean_length(self) -> float:
        """Mean path length, weighted by the gradient each length carries."""
        return float((self.lengths * self.share).sum())


def path_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, paths_per_length: int = 8,
                   seed: int = 0) -> PathGradients:
    """Sample up to ``paths_per_length`` paths of each length k and measure, for each, the mean over
    the images of ‖∂loss/∂h‖ at h, the first block's input; eval mode, loss summed over images."""
    check_int("paths_per_length", paths_per_length)
    blocks = list(blocks_of(model).values())
    if not all(b.residual for b in blocks):
        raise ValueError("model must be residual (cifar_resnet(..., residual=True)); a plain network has one path")
    n = len(blocks)
    rng = np.random.default_rng(seed)
    captured: list[torch.Tensor] = []

    def capture(module: nn.Module, args: tuple) -> tuple:
        h = args[0].detach().requires_grad_(True)
        captured.append(h)
        return (h,)

    with eval_mode(model):
        per_path, sampled = np.zeros(n + 1), np.zeros(n + 1, dtype=int)
        handle = blocks[0].register_forward_pre_hook(capture)
        try:
            for k in range(n + 1):
                if math.comb(n, k) <= paths_per_length:
                    subsets = [list(c) for c in _combinations(n, k)]
                else:
                    subsets = [sorted(rng.choice(n, size=k, replace=False)) for _ in range(paths_per_length)]
                norms = []
                for subset in subsets:
                    branches = [i in subset for i in range(n)]
                    captured.clear()
                    with single_path(model, branches):
                        loss = F.cross_entropy(model(x), y, reduction="sum")
                    (grad,) = torch.autograd.grad(loss, captured[0])
                    norms.append(grad.flatten(1).norm(dim=1).mean().item())
                per_path[k], sampled[k] = float(np.mean(norms)), len(subsets)
        finally:
            handle.remove()
    return PathGradients(np.arange(n + 1), np.array(path_counts(n), dtype=float), per_path, sampled)


def _combinations(n: int, k: int):
    import itertools
    return itertools.combinations(range(n), k)


# ---------------------------------------------------------------------------------------------
# Loss-landscape slices (Li et al. 2018)
# ---------------------------------------------------------------------------------------------
def filter_normalized_direction(model: nn.Module, seed: int = 0) -> list[torch.Tensor]:
    """A random Gaussian direction in weight space, one tensor per parameter, filter-normalised:
    each filter (a conv's output channel, a linear layer's row) gets the norm of the weight's filter.
    Biases and batch-norm parameters (one-dimensional) get zero, as in Li et al. (2018)."""
    gen = torch.Generator().manual_seed(seed)
    direction = []
    for p in model.parameters():
        if p.dim() <= 1:
            direction.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device)
        w_norm = p.detach().flatten(1).norm(dim=1)
        d_norm = d.flatten(1).norm(dim=1)
        scale = w_norm / (d_norm + 1e-10)
        direction.append(d * scale.view(-1, *([1] * (p.dim() - 1))))
    return direction


@torch.no_grad()
def loss_surface_2d(model: nn.Module, directions: Sequence[Sequence[torch.Tensor]], x: torch.Tensor,
                    y: torch.Tensor, alphas: Sequence[float], betas: Sequence[float] | None = None,
                    batch_norm: str = "frozen") -> np.ndarray:
    """Mean cross-entropy on (x, y), eval mode, at θ + α d1 (+ β d2) for every α (and β).

    With one direction: shape ``(len(alphas),)``; with two: ``(len(betas), len(alphas))``, rows β.
    ``batch_norm='frozen'`` keeps the running statistics stored at θ at every point (as Li et al.'s
    released code does); ``'recomputed'`` sets them to those of ``x`` at every point first
    (:func:`calibrate_batch_norm`). The weights and statistics are restored afterwards, also on error.
    """
    check_choice("batch_norm", batch_norm, ("frozen", "recomputed"))
    if len(directions) not in (1, 2):
        raise ValueError(f"directions must hold 1 or 2 directions, got {len(directions)}")
    params = list(model.parameters())
    for d in directions:
        if len(d) != len(params) or any(t.shape != p.shape for t, p in zip(d, params)):
            raise ValueError("directions: each must have one tensor per parameter, shaped like it "
                             "(make it with filter_normalized_direction(model))")
    if len(directions) == 2 and betas is None:
        raise ValueError("betas must be given with two directions")
    alphas = np.asarray(alphas, dtype=float)
    betas = np.zeros(1) if len(directions) == 1 else np.asarray(betas, dtype=float)
    d1, d2 = directions[0], directions[-1]
    origin = [p.detach().clone() for p in params]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    with eval_mode(model):
        out = np.zeros((len(betas), len(alphas)))
        try:
            for i, b in enumerate(betas):
                for j, a in enumerate(alphas):
                    for p, p0, u, v in zip(params, origin, d1, d2):
                        p.copy_(p0 + a * u + (b * v if len(directions) == 2 else 0.0))
                    if batch_norm == "recomputed":
                        calibrate_batch_norm(model, x)
                    out[i, j] = evaluate(model, (x, y))[0]
        finally:
            for p, p0 in zip(params, origin):
                p.copy_(p0)
            for buffer, saved in buffers:
                buffer.copy_(saved)
    return out[0] if len(directions) == 1 else out


def loss_slice_1d(model: nn.Module, direction: Sequence[torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                  alphas: Sequence[float], batch_norm: str = "frozen") -> np.ndarray:
    """Mean cross-entropy on (x, y) at θ + α d for each α (eval mode; weights and batch-norm statistics
    restored after); ``batch_norm`` as in :func:`loss_surface_2d`."""
    return loss_surface_2d(model, [direction], x, y, alphas, batch_norm=batch_norm)


def width_below(alphas: Sequence[float], losses: Sequence[float], threshold: float) -> float:
    """Length of the interval of α around the minimum of a 1-D slice where the loss stays below
    ``threshold`` (the connected run of grid points; 0 if the minimum itself is above it)."""
    alphas, losses = np.asarray(alphas, dtype=float), np.asarray(losses, dtype=float)
    if alphas.shape != losses.shape or alphas.ndim != 1:
        raise ValueError(f"alphas and losses must be 1-D of equal length, got {alphas.shape} and {losses.shape}")
    centre = int(np.argmin(losses))
    if losses[centre] >= threshold:
        return 0.0
    lo = hi = centre
    while lo > 0 and losses[lo - 1] < threshold:
        lo -= 1
    while hi < len(losses) - 1 and losses[hi + 1] < threshold:
        hi += 1
    return float(alphas[hi] - alphas[lo])


def local_minima(losses: Sequence[float]) -> int:
    """Number of interior points of a 1-D slice lower than both neighbours."""
    v = np.asarray(losses, dtype=float)
    if v.ndim != 1:
        raise ValueError(f"losses must be 1-D, got shape {v.shape}")
    return int(np.sum((v[1:-1] < v[:-2]) & (v[1:-1] < v[2:])))


# ---------------------------------------------------------------------------------------------
# Shattered gradients: the gradient at nearby inputs (Balduzzi et al. 2017)
# ---------------------------------------------------------------------------------------------
def calibrate_batch_norm(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Set every batch norm's running statistics to the mean and (biased) variance over the batch
    ``x``, then put ``model`` in eval mode (returned).

    Batch norm then normalises exactly as it does on that batch in train mode, but each output depends
    on its own input only, so a derivative with respect to one input is that of one fixed function.
    """
    norms = [(m, m.momentum) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    counts: dict[nn.Module, int] = {}
    hooks = [m.register_forward_pre_hook(lambda module, args: counts.__setitem__(module, args[0].numel() // args[0].shape[1]))
             for m, _ in norms]
    for m, _ in norms:
        m.reset_running_stats()
        m.momentum = None   # a plain average: after one batch, exactly that batch's statistics
    try:
        with torch.no_grad():
            model.train()(x)
    finally:
        for hook in hooks:
            hook.remove()
    for m, momentum in norms:
        m.momentum = momentum
        n = counts.get(m, 0)
        if n > 1:   # PyTorch stores the unbiased variance; train mode normalises with the biased one
            m.running_var.mul_((n - 1) / n)
    return model.eval()


def _check_grid(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or len(x) < 2:
        raise ValueError(f"x must be a tensor of shape (n, d) with n >= 2 (a batch of inputs, one per row), "
                         f"got {getattr(x, 'shape', type(x).__name__)}")


def input_gradients(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """d f(x_i) / d x_i for every row x_i of ``x`` (shape (n, d)), for a network f with one output.

    Returns shape (n,) when d is 1 (a grid of one-dimensional inputs), (n, d) otherwise. The model
    must be in eval mode, so that no output depends on another row of the batch.
    """
    _check_grid(x)
    if model.training:
        raise ValueError("model must be in eval mode (use calibrate_batch_norm or model.eval()): in train "
                         "mode batch norm makes every output depend on every input of the batch")
    x = x.detach().clone().requires_grad_(True)
    out = model(x)
    if out.shape != (len(x), 1):
        raise ValueError(f"model must map each input to one number, got an output of shape {tuple(out.shape)}")
    (grad,) = torch.autograd.grad(out.sum(), x)
    grad = grad.cpu().numpy()
    return grad[:, 0] if grad.shape[1] == 1 else grad


def lag_correlation(gradients: np.ndarray, lags: Sequence[int] | int = 1) -> np.ndarray:
    """Correlation between values ``lag`` grid steps apart, sum g_i g_(i+lag) / sqrt(sum g_i^2 sum g_(i+lag)^2).

    ``gradients`` is one series (shape (n,)) or one series per network (shape (runs, n)); the sums then
    run over every run, which estimates the correlation over random initialisations that Balduzzi et
    al. analyse. Not centred: a gradient whose mean over the grid is far from zero counts as correlated.
    1 for a constant series, about 0 for white noise at every lag > 0. Returns one value per lag.
    """
    g = np.atleast_2d(np.asarray(gradients, dtype=float))
    if g.ndim != 2 or g.shape[1] < 2:
        raise ValueError(f"gradients must be one series (shape (n,)) or one per run (shape (runs, n)) with n >= 2, "
                         f"got shape {np.shape(gradients)}")
    lags_list = [lags] if isinstance(lags, (int, np.integer)) else list(lags)
    for lag in lags_list:
        check_int("lag", int(lag) if isinstance(lag, np.integer) else lag, minimum=0)
        if lag >= g.shape[1]:
            raise ValueError(f"lag must be smaller than the series length {g.shape[1]}, got {lag}")
    out = []
    for lag in lags_list:
        a, b = g[:, :g.shape[1] - lag], g[:, lag:]
        out.append(float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum())))
    return np.array(out)


def neighbour_coactivation(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """For each ReLU of ``model`` in forward order, the fraction of its units that are active (> 0) at
    both of two neighbouring grid points x_i and x_(i+1), averaged over i: 1/2 when the two inputs
    switch the same units (half of them on), 1/4 when their patterns are independent."""
    _check_grid(x)
    active: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda module, args, out: active.append(out > 0))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    if not hooks:
        raise ValueError("model has no nn.ReLU module: co-activation is measured on rectifier units")
    try:
        with torch.no_grad(), eval_mode(model):
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return np.array([(a[:-1] & a[1:]).float().mean().item() for a in active])
