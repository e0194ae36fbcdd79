"""Drawing only: every function takes numbers computed elsewhere and an optional matplotlib axis."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import LogLocator

# Okabe & Ito's colour-blind-safe palette.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
FIGURES_DIR = Path(__file__).resolve().parent.parent / "figures"


def _axis(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def plot_gradient_norms(norms: Mapping[str, float] | Mapping[str, Mapping[str, float]], ax=None,
                        title: str | None = None, xlabel: str = "layer (input side → output side)"):
    """Per-layer gradient norms on a log scale; pass {label: norms} to overlay several networks."""
    ax = _axis(ax)
    runs = norms if norms and isinstance(next(iter(norms.values())), Mapping) else {None: norms}
    for i, (label, run) in enumerate(runs.items()):
        values = np.asarray(list(run.values()), dtype=float)
        ax.semilogy(np.arange(1, len(values) + 1), values, marker="o", markersize=3,
                    color=PALETTE[i % len(PALETTE)], label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("‖∂loss/∂W‖ (log scale)")
    # At most ~8 labelled decades, however many the data span: fewer labels to lay out and read.
    ax.yaxis.set_major_locator(LogLocator(numticks=8))
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
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def save_figure(fig, name: str, dpi: int = 110) -> Path:
    """Save ``fig`` as ``figures/<name>.png`` and return the path."""
    FIGURES_DIR.mkdir(exist_ok=True)
    path = FIGURES_DIR / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
