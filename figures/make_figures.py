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

from helpers.plotting import save_figure  # noqa: E402

FIGURES: dict[str, Callable] = {}


def figure(name: str):
    """Register a function that returns a matplotlib figure, saved as figures/<name>.png."""
    def register(fn: Callable) -> Callable:
        FIGURES[name] = fn
        return fn
    return register


# Figures are registered below, one function each, grouped by notebook.


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
