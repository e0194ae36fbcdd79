"""Make every figure in figures/ from code: `python figures/make_figures.py [name ...]` (or `make figures`).

Each figure is a function registered with @figure; it builds a matplotlib figure from helpers and
returns it. The notebooks that show these images read them from figures/.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib

matplotlib.use("Agg")

FIGURES: dict[str, Callable] = {}
FIGURES_DIR = Path(__file__).resolve().parent


def save_figure(fig, name: str, dpi: int = 110) -> Path:
    """Save ``fig`` as ``figures/<name>.png`` and return the path (only this script writes figures)."""
    path = FIGURES_DIR / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def figure(name: str):
    """Register a function that returns a matplotlib figure, saved as figures/<name>.png."""
    def register(fn: Callable) -> Callable:
        FIGURES[name] = fn
        return fn
    return register


# Figures are registered below, one function each, grouped by notebook.


# --- Notebook 02: the residual block ---------------------------------------------------------
def _nb02_box(ax, x: float, y: float, text: str, color: str, width: float = 2.6, height: float = 0.62) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.12", facecolor=color,
                                edgecolor="black", linewidth=1.0, alpha=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=9)


def _nb02_arrow(ax, start: tuple[float, float], end: tuple[float, float], **style) -> None:
    from matplotlib.patches import FancyArrowPatch

    style = {"color": "black", "linewidth": 1.2, **style}
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, shrinkA=0, shrinkB=0,
                                 **style))


@figure("nb02_block_diagram")
def nb02_block_diagram():
    """Three residual blocks side by side: original (2015), bottleneck (2015), pre-activation (2016)."""
    import matplotlib.pyplot as plt

    from helpers.plotting import PALETTE

    conv, norm, act = "#CFE3F3", "#F6DCC8", "#D5EDE3"  # light tints of PALETTE's blue, vermillion, green
    colors = {"conv": conv, "BN": norm, "ReLU": act}
    blocks = {
        "Basic block (He et al. 2015)\nout = ReLU(F(x) + x)":
            (["3x3 conv", "BN", "ReLU", "3x3 conv", "BN"], ["ReLU"]),
        "Bottleneck (He et al. 2015)\n1x1 reduce, 3x3, 1x1 expand ×4":
            (["1x1 conv, C/4", "BN", "ReLU", "3x3 conv, C/4", "BN", "ReLU", "1x1 conv, C", "BN"], ["ReLU"]),
        "Pre-activation (He et al. 2016)\nout = F(x) + x, nothing after +":
            (["BN", "ReLU", "3x3 conv", "BN", "ReLU", "3x3 conv"], []),
    }
    fig, axes = plt.subplots(1, 3, figsize=(11, 6.2))
    step = 0.78
    for ax, (title, (branch, after)) in zip(axes, blocks.items()):
        top = 0.0
        ys = [top - step * (i + 1) for i in range(len(branch))]
        plus_y = ys[-1] - step
        ax.text(0, top + 0.1, "x", ha="center", va="bottom", fontsize=12, fontweight="bold")
        _nb02_arrow(ax, (0, top + 0.05), (0, ys[0] + 0.31))
        for i, (y, name) in enumerate(zip(ys, branch)):
            kind = "conv" if "conv" in name else name
            _nb02_box(ax, 0, y, name, colors[kind])
            if i + 1 < len(ys):
                _nb02_arrow(ax, (0, y - 0.31), (0, ys[i + 1] + 0.31))
        _nb02_arrow(ax, (0, ys[-1] - 0.31), (0, plus_y + 0.2))
        ax.add_patch(plt.Circle((0, plus_y), 0.2, facecolor="white", edgecolor="black", linewidth=1.2))
        ax.text(0, plus_y, "+", ha="center", va="center", fontsize=13)
        # The shortcut: out of x to the right, down, and into the sum.
        ax.plot([0, 2.0, 2.0], [top - 0.12, top - 0.12, plus_y], color=PALETTE[1], linewidth=2.2)
        _nb02_arrow(ax, (2.0, plus_y), (0.2, plus_y), color=PALETTE[1], linewidth=2.2)
        shortcut_label = ("identity shortcut\n(1x1 conv on BN-ReLU(x)\nif the shape changes)" if not after
                          else "identity shortcut\n(1x1 conv if the\nshape changes)")
        ax.text(2.1, (top + plus_y) / 2, shortcut_label,
                rotation=90, ha="left", va="center", fontsize=8, color=PALETTE[1])
        ax.text(-1.45, (ys[0] + ys[-1]) / 2, "F(x)", ha="right", va="center", fontsize=11, style="italic")
        y = plus_y - 0.2
        for name in after:
            box_y = plus_y - step - 0.1
            _nb02_arrow(ax, (0, y), (0, box_y + 0.31))
            _nb02_box(ax, 0, box_y, name, colors[name])
            y = box_y - 0.31
        _nb02_arrow(ax, (0, y), (0, y - 0.45))
        ax.text(0, y - 0.5, "out", ha="center", va="top", fontsize=11, fontweight="bold")
        ax.set_title(title, fontsize=10)
        ax.set_xlim(-2.3, 2.9)
        ax.set_ylim(-8.6, 0.7)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle("The shortcut adds x back after the residual branch F: three ways to build F", fontsize=12)
    fig.tight_layout()
    return fig


def nb02_gradient_data(depth: int = 20, subset: int = 256, wrt: str = "weights") -> dict[str, dict[str, float]]:
    """Per-layer gradient norms of a sigmoid MLP without and with pre-activation-ordered skip connections (seed 0).

    ``wrt='weights'``: every layer's weight gradient, head included; ``wrt='outputs'``: the gradient reaching
    each hidden layer's output (the stream).
    """
    from helpers import data, gradients, models
    from helpers.runtime import seed_everything

    images, labels = data.load_fashion_mnist(train=True, subset=subset)
    layers = [f"layers.{i}" for i in range(depth)] if wrt == "outputs" else None
    norms = {}
    for label, options in (("plain", {}), ("residual", {"residual": True, "branch": "preact"})):
        seed_everything(0)
        model = models.deep_mlp(depth=depth, activation="sigmoid", **options)
        norms[label] = gradients.gradient_norms(model, images, labels, wrt=wrt, layers=layers)
    return norms


@figure("nb02_gradient_norms")
def nb02_gradient_norms():
    """Plain vs residual sigmoid MLP (20 hidden layers): gradients reaching each layer's output and
    per-layer weight-gradient norms, log scale."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from helpers.plotting import plot_gradient_norms

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
    for ax, wrt, xlabel, ylabel, title in (
            (axes[0], "outputs", "hidden layer l", "‖∂loss/∂x_l‖ (log scale)", "Gradient reaching each layer's output"),
            (axes[1], "weights", "layer (1-20 hidden, 21 = classifier head)", "‖∂loss/∂W‖ (log scale)",
             "Weight gradient of each layer")):
        norms = nb02_gradient_data(wrt=wrt)
        plot_gradient_norms({f"{k} MLP, 20 sigmoid layers": v for k, v in norms.items()}, ax=ax,
                            xlabel=xlabel, ylabel=ylabel, title=title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("With shortcuts layer 1 gets about what layer 20 gets; without them, less than 10⁻¹⁵ of it",
                 fontsize=12)
    fig.tight_layout()
    return fig


# --- Notebook 05: why residual networks work -------------------------------------------------
@figure("nb05_path_lengths")
def nb05_path_lengths():
    """The unravelled view: share of the 2^n paths of each length for ResNet-20, -56 and -110."""
    import matplotlib.pyplot as plt
    import numpy as np

    from helpers.analysis import path_counts
    from helpers.plotting import PALETTE

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for i, (depth, n) in enumerate(((20, 9), (56, 27), (110, 54))):
        share = np.array(path_counts(n), dtype=float) / 2.0 ** n
        ax.plot(np.arange(n + 1), share, marker="o", markersize=3, color=PALETTE[i],
                label=f"ResNet-{depth}: {n} blocks, 2^{n} paths")
    ax.set_xlabel("path length k (residual branches on the path)")
    ax.set_ylabel("fraction of all paths")
    ax.set_title("n residual blocks unravel into 2^n paths; most have length near n/2")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def main(names: list[str]) -> None:
    from helpers.runtime import seed_everything

    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        sys.exit(f"unknown figure names {unknown}; accepted: {sorted(FIGURES)}")
    for name in names or sorted(FIGURES):
        seed_everything(0)
        print("wrote figures/" + save_figure(FIGURES[name](), name).name)


if __name__ == "__main__":
    main(sys.argv[1:])
