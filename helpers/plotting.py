"""Drawing only: every function takes numbers computed elsewhere and an optional matplotlib axis."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import LogLocator, NullFormatter

# Okabe & Ito's colour-blind-safe palette.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def _axis(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def _label(ax, xlabel: str, ylabel: str, title: str | None, logx: bool = False, logy: bool = False):
    """Axis labels and scales, the title, a small legend and a light grid: the finish of a line plot."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def plot_gradient_norms(norms: Mapping[str, float] | Mapping[str, Mapping[str, float]], ax=None,
                        title: str | None = None, xlabel: str = "layer (input side → output side)",
                        ylabel: str = "‖∂loss/∂W‖ (log scale)"):
    """Per-layer gradient norms on a log scale; pass {label: norms} to overlay several networks.

    The default ``ylabel`` names weight gradients; pass another for gradients with respect to outputs.
    """
    ax = _axis(ax)
    runs = norms if norms and isinstance(next(iter(norms.values())), Mapping) else {None: norms}
    for i, (label, run) in enumerate(runs.items()):
        values = np.asarray(list(run.values()), dtype=float)
        ax.semilogy(np.arange(1, len(values) + 1), values, marker="o", markersize=3,
                    color=PALETTE[i % len(PALETTE)], label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    # At most ~8 labelled decades, however many the data span: fewer labels to lay out and read. The
    # axis spans at least one whole decade and only decades are labelled: values within one decade
    # would otherwise get long minor labels (6x10^0) that push the axis label out of the figure.
    ax.yaxis.set_major_locator(LogLocator(numticks=8))
    ax.yaxis.set_minor_formatter(NullFormatter())
    finite = np.concatenate([np.asarray(list(run.values()), dtype=float) for run in runs.values()])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size:
        if np.log10(finite.max() / finite.min()) < 1:
            low, high = np.floor(np.log10(finite.min())), np.ceil(np.log10(finite.max()))
            ax.set_ylim(10 ** low, 10 ** max(high, low + 1))
    if title:
        ax.set_title(title, y=1.0)  # a fixed position spares matplotlib a layout pass per draw
    if any(label is not None for label in runs):
        ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    return ax


def plot_curves(curves: Mapping[str, Sequence[float]], ax=None, xlabel: str = "step",
                ylabel: str = "training loss", title: str | None = None, smooth: int = 1, logy: bool = False):
    """Several named curves against a shared x axis; ``smooth`` > 1 takes a running mean."""
    ax = _axis(ax)
    for i, (label, values) in enumerate(curves.items()):
        y = np.asarray(values, dtype=float)
        if smooth > 1 and len(y) >= smooth:
            y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(1, len(y) + 1), y, color=PALETTE[i % len(PALETTE)], label=label)
    return _label(ax, xlabel, ylabel, title, logy=logy)


# --- Notebook 05: shattered gradients, lesions, unravelled paths, loss landscapes -----------------
def plot_series_panels(series: Mapping[str, Sequence[float]], title: str | None = None, xlabel: str = "input index",
                       axes=None):
    """One small panel per named series (a gradient over a grid of inputs, a noise sample), side by side."""
    if axes is None:
        _, axes = plt.subplots(1, len(series), figsize=(2.3 * len(series), 2.4), sharex=True)
    axes = np.atleast_1d(axes)
    if len(axes) != len(series):
        raise ValueError(f"axes must hold one axis per series ({len(series)}), got {len(axes)}")
    for i, (ax, (label, values)) in enumerate(zip(axes, series.items())):
        ax.plot(np.asarray(values, dtype=float), color=PALETTE[i % len(PALETTE)], linewidth=0.8)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
    if title:
        axes[0].figure.suptitle(title, fontsize=10)
    axes[0].figure.tight_layout()
    return axes


def plot_correlations(x: Sequence[float], curves: Mapping[str, Sequence[float]], ax=None, xlabel: str = "lag",
                      ylabel: str = "correlation", title: str | None = None, logx: bool = False, logy: bool = False,
                      references: Mapping[str, Sequence[float]] | None = None):
    """Measured correlations (lines with markers) against ``x`` (lags or depths); ``references``
    (formulas, fits) are drawn as dashed grey-scale lines over the same ``x``."""
    ax = _axis(ax)
    x = np.asarray(x, dtype=float)
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(x, np.asarray(values, dtype=float), marker="o", markersize=3, color=PALETTE[i % len(PALETTE)],
                label=label)
    for j, (label, values) in enumerate((references or {}).items()):
        ax.plot(x, np.asarray(values, dtype=float), linestyle=("--", ":", "-.")[j % 3], color="0.35", label=label)
    return _label(ax, xlabel, ylabel, title, logx, logy)


# --- Notebook 05 (continued) ------------------------------------------------------------------
def plot_lesions(results: Mapping[str, Mapping[str, float]], ax=None, chance: float | None = 0.1,
                 title: str | None = None):
    """Test accuracy with each block deleted, one line per network; dashed: the intact network.

    ``results`` maps a label to {block name: accuracy} with key 'none' for the intact network
    (what :func:`helpers.analysis.lesion_study` returns); blocks a network lacks are left out.
    """
    ax = _axis(ax)
    names: list[str] = []
    for run in results.values():
        names += [n for n in run if n != "none" and n not in names]
    x = np.arange(len(names))
    for i, (label, run) in enumerate(results.items()):
        color = PALETTE[i % len(PALETTE)]
        pts = [(j, run[n]) for j, n in enumerate(names) if n in run]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=4, color=color, label=label)
        if "none" in run:
            ax.axhline(run["none"], color=color, linestyle="--", linewidth=1)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_xlabel("deleted block (dashed: nothing deleted)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def plot_path_lengths(lengths: Sequence[int], path_share: Sequence[float], gradient_share: Sequence[float],
                      per_path: Sequence[float], axes=None, title: str | None = None):
    """Left: share of paths and share of gradient per path length; right: gradient along one path (log)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    k = np.asarray(lengths)
    ax = axes[0]
    ax.bar(k - 0.2, path_share, width=0.4, color=PALETTE[0], label="share of the 2^n paths")
    ax.bar(k + 0.2, gradient_share, width=0.4, color=PALETTE[1], label="share of the gradient")
    ax.set_xlabel("path length k (residual branches on the path)")
    ax.set_ylabel("fraction")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    ax = axes[1]
    values = np.asarray(per_path, dtype=float)
    keep = values > 0
    ax.semilogy(k[keep], values[keep], marker="o", markersize=3, color=PALETTE[2])
    ax.set_xlabel("path length k")
    ax.set_ylabel("‖∂loss/∂input‖ along one path (log)")
    ax.grid(True, which="major", alpha=0.3)
    if title:
        axes[0].figure.suptitle(title)
    return axes


def plot_loss_slices(alphas: Sequence[float], slices: Mapping[str, Sequence[Sequence[float]]], ax=None,
                     title: str | None = None):
    """1-D loss slices on a log scale: {label: [losses along direction 1, direction 2, ...]}."""
    ax = _axis(ax)
    for i, (label, lines) in enumerate(slices.items()):
        for j, line in enumerate(lines):
            ax.semilogy(alphas, line, color=PALETTE[i % len(PALETTE)], alpha=0.8,
                        label=label if j == 0 else None)
    ax.set_xlabel("step α along a filter-normalised direction")
    ax.set_ylabel("training loss (cross-entropy, log)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    return ax


def plot_loss_contours(alphas: Sequence[float], surfaces: Mapping[str, np.ndarray], axes=None,
                       title: str | None = None, vmax: float = 100.0):
    """Side-by-side contour maps of 2-D loss slices (rows: β, columns: α), one log-spaced colour scale."""
    from matplotlib.colors import LogNorm

    if axes is None:
        _, axes = plt.subplots(1, len(surfaces), figsize=(5.5 * len(surfaces), 4.2), squeeze=False,
                               layout="constrained")
        axes = axes[0]
    lo = min(float(np.min(s)) for s in surfaces.values())
    levels = np.geomspace(lo, vmax, 13)
    for ax, (label, surface) in zip(axes, surfaces.items()):
        filled = ax.contourf(alphas, alphas, np.clip(surface, lo, vmax), levels=levels, norm=LogNorm(lo, vmax),
                             cmap="viridis")
        ax.contour(alphas, alphas, surface, levels=[np.log(10)], colors="white", linewidths=1.5)
        ax.plot(0, 0, marker="+", color="white", markersize=10)
        ax.set_title(label)
        ax.set_xlabel("α (direction 1)")
        ax.set_ylabel("β (direction 2)")
        ax.set_aspect("equal")
    cbar = axes[0].figure.colorbar(filled, ax=list(axes), shrink=0.9)
    ticks = [t for t in (0.3, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if lo <= t <= vmax]
    cbar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
    cbar.minorticks_off()
    cbar.set_label(f"training loss (log colour; clipped at {vmax:g})")
    if title:
        axes[0].figure.suptitle(title)
    return axes


# ---------------------------------------------------------------------------------------------
# Notebook 04: gradient norms through training, confusion matrix, misclassified images
# ---------------------------------------------------------------------------------------------
def plot_layer_step_heatmap(matrix: np.ndarray, steps: Sequence[int], ax=None, title: str | None = None,
                            vmin: float | None = None, vmax: float | None = None, colorbar: bool = True):
    """A (layers x steps) matrix of gradient norms as an image: layer 1 at the top, log colour scale."""
    from matplotlib.colors import LogNorm

    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != len(steps):
        raise ValueError(f"matrix must have shape (layers, len(steps)) = (*, {len(steps)}), got {matrix.shape}")
    ax = _axis(ax)
    positive = matrix[matrix > 0]
    vmin = vmin if vmin is not None else float(positive.min())
    vmax = vmax if vmax is not None else float(positive.max())
    image = ax.imshow(np.clip(matrix, vmin, None), aspect="auto", cmap="viridis", norm=LogNorm(vmin, vmax),
                      interpolation="nearest",
                      extent=(steps[0] - 0.5, steps[-1] + 0.5, matrix.shape[0] + 0.5, 0.5))
    ax.set_xlabel("training step")
    ax.set_ylabel("layer (input side at top)")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="‖∂loss/∂W‖ (log colour)")
    return image


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], ax=None, title: str | None = None):
    """Confusion matrix as counts (rows: true class, columns: predicted), the diagonal annotated too."""
    matrix = np.asarray(matrix)
    if matrix.shape != (len(class_names), len(class_names)):
        raise ValueError(f"matrix must be {len(class_names)} x {len(class_names)} to match class_names, "
                         f"got {matrix.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.imshow(matrix, cmap="Blues")
    threshold = matrix.max() / 2
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if matrix[i, j]:
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > threshold else "black")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    return ax


def plot_image_grid(images, titles: Sequence[str], ncols: int = 8, title: str | None = None,
                    cmap: str = "gray"):
    """Images (N, 1, H, W) or (N, H, W) in a grid, each with its caption; returns the figure."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[:, 0]
    if len(images) != len(titles):
        raise ValueError(f"titles must have one entry per image: {len(images)} images, {len(titles)} titles")
    nrows = max(1, -(-len(images) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.45 * ncols, 1.75 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, titles):
        ax.imshow(image, cmap=cmap)
        ax.set_title(caption, fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
