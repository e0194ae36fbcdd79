"""Interactive views built from core ipywidgets (7.7.1 on Colab, 8.x elsewhere) and inline matplotlib.

Each widget only wires controls to a compute function and a plotting function from the other
modules, so its logic is testable in plain pytest: setting ``control.value`` runs the callbacks.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from IPython.display import Image, clear_output, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .experiments import ARCHITECTURES, BRANCH_SCALES, explorer_norms
from .gradients import first_last_ratio, profile_at_step
from .models import ACTIVATIONS, INITS
from .plotting import plot_gradient_norms

def show_png(figure: Figure, output: widgets.Output) -> None:
    """Render ``figure`` once as a PNG and show it in ``output``, replacing what was there.

    One PNG in an Output widget is what redraws fastest and works alike in JupyterLab, Colab
    (ipywidgets 7.7.1) and a browserless nbval run.
    """
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=90)
    with output:
        clear_output(wait=True)
        display(Image(data=png.getvalue()))


class Panel(widgets.VBox):
    """A VBox whose text form is one readable line: what GitHub, nbviewer and a notebook opened without
    running its cells show in place of the live widget (ipywidgets cuts it at 110 characters)."""

    def __init__(self, children: Sequence[widgets.Widget], text: str):
        super().__init__(list(children))
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _live(name: str) -> str:
    return f"{name} (a live widget: run the notebook in JupyterLab or Colab to use it)"


# ---------------------------------------------------------------------------------------------
# The gradient-norm explorer (notebook 01)
# ---------------------------------------------------------------------------------------------
EXPLORER_DEFAULTS: dict[str, Any] = {"architecture": "MLP", "depth": 50, "activation": "sigmoid", "init": "default",
                                     "batch_norm": False, "residual": False, "branch_scale": 1.0}
MLP_ONLY = ("activation", "init", "batch_norm", "residual", "branch_scale")


def explorer_title(settings: dict[str, Any], norms: dict[str, float]) -> str:
    """'50 sigmoid layers + output layer, default init:' (plus BN / residual / branch scale), or '12
    post-LN transformer blocks:', then on a second line 'first/last gradient ratio 3.9e-42'. The MLP's
    plot has depth + 1 points: the hidden layers and the linear output layer."""
    ratio = f"first/last gradient ratio {first_last_ratio(norms):.1e}"
    if settings["architecture"] != "MLP":
        return f"{settings['depth']} {settings['architecture']} blocks:\n{ratio}"
    extras = "".join([", batch norm" if settings["batch_norm"] else "", ", residual" if settings["residual"] else "",
                      f", branches x {settings['branch_scale']:g}" if settings["residual"] and
                      settings["branch_scale"] != 1.0 else ""])
    return f"{settings['depth']} {settings['activation']} layers + output layer, {settings['init']} init{extras}:\n{ratio}"


class GradientExplorer:
    """Controls for the architecture (a deep MLP, or a small pre-LN or post-LN transformer), depth,
    and for the MLP its activation, initialisation, batch norm, residual connections and the scale
    each residual branch starts at; the plot of per-layer gradient norms is recomputed and redrawn
    whenever one changes (on slider release). Controls that do not apply are greyed out.

    ``explorer.widget`` is what to display; ``explorer.norms`` and ``explorer.figure`` hold the latest
    numbers and drawing, ``explorer.redraws`` counts the redraws (for tests).
    """

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, width: int = 64, seed: int = 0,
                 **defaults: Any):
        unknown = set(defaults) - set(EXPLORER_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; accepted: {list(EXPLORER_DEFAULTS)}")
        self.inputs, self.targets, self.width, self.seed = inputs, targets, width, seed
        self.defaults = {**EXPLORER_DEFAULTS, **defaults}
        style = {"description_width": "initial"}
        self.controls = {
            "architecture": widgets.Dropdown(options=list(ARCHITECTURES), value=self.defaults["architecture"],
                                             description="architecture", style=style),
            "depth": widgets.IntSlider(value=self.defaults["depth"], min=2, max=100, description="depth",
                                       continuous_update=False, style=style),
            "activation": widgets.Dropdown(options=list(ACTIVATIONS), value=self.defaults["activation"],
                                           description="activation", style=style),
            "init": widgets.Dropdown(options=list(INITS), value=self.defaults["init"], description="init",
                                     style=style),
            "batch_norm": widgets.Checkbox(value=self.defaults["batch_norm"], description="batch norm"),
            "residual": widgets.Checkbox(value=self.defaults["residual"], description="residual connections"),
            "branch_scale": widgets.Dropdown(options=list(BRANCH_SCALES), value=self.defaults["branch_scale"],
                                             description="branch scale at init", style=style),
        }
        self.reset_button = widgets.Button(description="reset")
        self.output = widgets.Output()
        self.norms: dict[str, float] = {}
        # One figure with its own Agg canvas, redrawn in place and rendered to PNG once per update:
        # about 3x faster than a new pyplot figure shown by the inline backend (which renders twice
        # for its tight bounding box), and the canvas keeps matplotlib's text-layout cache warm.
        self.figure = Figure(figsize=(8, 3.6))
        FigureCanvasAgg(self.figure)
        self._ax = self.figure.subplots()
        self.figure.subplots_adjust(left=0.11, right=0.98, bottom=0.15, top=0.84)   # a two-line title
        self.redraws = 0
        self._paused = False
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.reset_button.on_click(lambda _button: self.reset())
        c = self.controls
        self.widget = Panel([
            widgets.HBox([c["architecture"], c["depth"]]),
            widgets.HBox([c["activation"], c["init"], c["branch_scale"]]),
            widgets.HBox([c["batch_norm"], c["residual"], self.reset_button]),
            self.output,
        ], _live("Gradient-norm explorer"))
        self.update()

    def settings(self) -> dict[str, Any]:
        """The current value of every control."""
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change: dict) -> None:
        if not self._paused:
            self.update()

    def reset(self) -> None:
        """Put every control back to its default, then redraw once."""
        self._paused = True
        try:
            for name, control in self.controls.items():
                control.value = self.defaults[name]
        finally:
            self._paused = False
        self.update()

    def update(self) -> None:
        """Recompute the norms for the current settings and redraw the plot."""
        settings = self.settings()
        mlp = settings["architecture"] == "MLP"
        for name in MLP_ONLY:
            self.controls[name].disabled = not mlp or (name == "branch_scale" and not settings["residual"])
        self.norms = explorer_norms(self.inputs, self.targets, settings, self.width, self.seed)
        self._ax.clear()
        plot_gradient_norms(self.norms, ax=self._ax, title=explorer_title(settings, self.norms),
                            xlabel="layer (input side → output side)" if mlp else
                            "block (input side → output side): its last MLP layer")
        self._ax.title.set_fontsize(10)   # the longest settings' title fits the figure's width
        show_png(self.figure, self.output)
        self.redraws += 1


# ---------------------------------------------------------------------------------------------
# The step slider (notebook 04): per-layer gradient-norm profiles at one training step
# ---------------------------------------------------------------------------------------------
class StepSliderView:
    """A slider over recorded training steps; the plot shows each network's per-layer gradient norms
    at that step, overlaid on one log axis. ``runs`` maps a label to ``(steps, matrix)`` as a
    :class:`~helpers.gradients.GradientRecorder` gives them (``rec.steps``, ``rec.matrix()``).

    ``view.widget`` is what to display; ``view.figure`` is the latest drawing, ``view.profiles`` the
    numbers drawn, ``view.redraws`` counts redraws (for tests).
    """

    def __init__(self, runs: Mapping[str, tuple[Sequence[int], np.ndarray]], step: int | None = None):
        if not runs:
            raise ValueError("runs must name at least one network: {label: (steps, matrix)}")
        self.runs = {label: (list(steps), np.asarray(matrix, dtype=float)) for label, (steps, matrix) in runs.items()}
        all_steps = sorted({s for steps, _ in self.runs.values() for s in steps})
        positive = np.concatenate([m[m > 0] for _, m in self.runs.values()])
        self._ylim = (float(positive.min()) / 1.5, float(positive.max()) * 1.5)
        self.slider = widgets.IntSlider(value=all_steps[0] if step is None else step, min=all_steps[0],
                                        max=all_steps[-1], step=max(1, all_steps[1] - all_steps[0]) if
                                        len(all_steps) > 1 else 1, description="step",
                                        continuous_update=False)
        self.output = widgets.Output()
        self.figure = Figure(figsize=(8, 3.4))
        FigureCanvasAgg(self.figure)
        self._ax = self.figure.subplots()
        self.figure.subplots_adjust(left=0.1, right=0.98, bottom=0.16, top=0.9)
        self.profiles: dict[str, dict[str, float]] = {}
        self.redraws = 0
        self.slider.observe(lambda change: self.update(), names="value")
        self.widget = Panel([self.slider, self.output], _live("Training-step slider"))
        self.update()

    def draw(self, step: int, ax) -> dict[str, dict[str, float]]:
        """Draw the profiles at ``step`` on ``ax`` (also usable for a static figure); return them."""
        profiles = {label: profile_at_step(matrix, steps, step) for label, (steps, matrix) in self.runs.items()}
        plot_gradient_norms(profiles, ax=ax, xlabel="layer (input side → output side)",
                            title=f"Per-layer gradient norms at training step {step}")
        ax.set_ylim(*self._ylim)
        return profiles

    def update(self) -> None:
        """Redraw for the slider's current step."""
        self._ax.clear()
        self.profiles = self.draw(self.slider.value, self._ax)
        show_png(self.figure, self.output)
        self.redraws += 1


def step_slider_view(runs: Mapping[str, tuple[Sequence[int], np.ndarray]], step: int | None = None) -> StepSliderView:
    """A :class:`StepSliderView` over ``{label: (steps, matrix)}``; display its ``.widget``."""
    return StepSliderView(runs, step)
