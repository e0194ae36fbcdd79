"""The widgets, driven without a browser: setting a control runs its callbacks.

`make test` runs this file twice: with the ipywidgets 8 of .venv, and with Colab's 7.7.1.
"""
import numpy as np
import pytest
import torch

from helpers import experiments, gradients, widgets


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))


def test_explorer_recomputes_and_redraws_when_controls_change(batch):
    ex = widgets.GradientExplorer(*batch, width=16, depth=20)
    assert ex.redraws == 1 and len(ex.norms) == 21
    vanishing = ex.norms
    ex.controls["depth"].value = 8
    assert ex.redraws == 2 and len(ex.norms) == 9
    assert "8 sigmoid layers" in ex.figure.axes[0].get_title()
    ex.controls["depth"].value = 20
    ex.controls["residual"].value = True
    assert ex.redraws == 4
    before, after = gradients.first_last_ratio(vanishing), gradients.first_last_ratio(ex.norms)
    assert after > 100 * before  # skip connections carry the gradient back to the first layer
    assert "residual" in ex.figure.axes[0].get_title()


def test_reset_restores_defaults_with_a_single_redraw(batch):
    ex = widgets.GradientExplorer(*batch, width=16, depth=10)
    ex.controls["activation"].value = "relu"
    ex.controls["init"].value = "kaiming"
    ex.controls["batch_norm"].value = True
    count = ex.redraws
    ex.reset()
    assert ex.settings() == {**widgets.EXPLORER_DEFAULTS, "depth": 10}
    assert ex.redraws == count + 1


def test_same_settings_same_numbers(batch):
    a = experiments.mlp_gradient_norms(*batch, depth=6, width=8, activation="tanh")
    b = experiments.mlp_gradient_norms(*batch, depth=6, width=8, activation="tanh")
    assert a == b


def test_unknown_setting_is_refused(batch):
    with pytest.raises(ValueError, match="unknown settings"):
        widgets.GradientExplorer(*batch, colour="red")


def test_step_slider_view_redraws_the_profile_at_the_chosen_step():
    steps = [0, 4, 8]
    plain = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    view = widgets.step_slider_view({"plain": (steps, plain), "residual": (steps, plain * 10)})
    assert view.redraws == 1 and view.profiles["plain"] == {"1": 1.0, "2": 4.0}
    view.slider.value = 8
    assert view.redraws == 2 and view.profiles["residual"] == {"1": 30.0, "2": 60.0}
    assert (view.slider.min, view.slider.max, view.slider.step) == (0, 8, 4)
    assert gradients.profile_at_step(plain, steps, 5) == {"1": 2.0, "2": 5.0}   # the latest step not after 5
    with pytest.raises(ValueError, match="runs"):
        widgets.step_slider_view({})


def test_explorer_switches_to_transformers_and_greys_out_mlp_controls(batch):
    ex = widgets.GradientExplorer(*batch, width=16, depth=6)
    ex.controls["architecture"].value = "post-LN transformer"
    assert ex.norms == experiments.transformer_gradient_norms(6, "post", seed=0)
    assert "6 post-LN transformer blocks" in ex.figure.axes[0].get_title()
    assert all(ex.controls[name].disabled for name in widgets.MLP_ONLY) and not ex.controls["depth"].disabled
    ex.controls["architecture"].value = "pre-LN transformer"
    assert ex.norms == experiments.transformer_gradient_norms(6, "pre", seed=0)
    ex.controls["architecture"].value = "MLP"
    assert not ex.controls["activation"].disabled and ex.controls["branch_scale"].disabled  # residual is off
    assert ex.redraws == 4


def test_explorer_branch_scale_shrinks_an_unnormalised_residual_mlp(batch):
    ex = widgets.GradientExplorer(*batch, width=16, depth=30, activation="relu", init="kaiming", residual=True)
    assert not ex.controls["branch_scale"].disabled
    full = max(ex.norms.values())
    ex.controls["branch_scale"].value = 0.01
    assert max(ex.norms.values()) < full / 100            # the exploding gradients are gone
    assert "branches x 0.01" in ex.figure.axes[0].get_title()


EXTREMES = [  # the settings whose labels are longest or whose values span less than a decade
    {"depth": 100, "activation": "sigmoid", "init": "default", "batch_norm": True, "residual": True,
     "branch_scale": 0.01},
    {"depth": 2, "activation": "relu", "init": "kaiming"},
    {"depth": 16, "activation": "relu", "init": "kaiming"},
    {"depth": 100, "activation": "sigmoid", "init": "default"},
    {"architecture": "post-LN transformer", "depth": 2},
]


@pytest.mark.parametrize("settings", EXTREMES, ids=lambda s: "-".join(map(str, s.values())))
def test_explorer_labels_stay_inside_the_figure(batch, settings):
    ex = widgets.GradientExplorer(*batch, width=16, **settings)
    renderer = ex.figure.canvas.get_renderer()
    width, height = ex.figure.bbox.width, ex.figure.bbox.height
    for name, text in (("y label", ex._ax.yaxis.label), ("x label", ex._ax.xaxis.label), ("title", ex._ax.title)):
        box = text.get_window_extent(renderer)
        assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height, f"{name} is cut off: {box}"
    labelled = [t for t in ex._ax.get_yticklabels() if t.get_text()]
    assert len(labelled) >= 2, "fewer than two labelled ticks on the y axis"


def test_explorer_title_counts_the_points_it_plots(batch):
    ex = widgets.GradientExplorer(*batch, width=16, depth=12)
    assert len(ex.norms) == 13 and ex._ax.get_title().startswith("12 sigmoid layers + output layer")


def test_a_stored_widget_reads_as_one_line_not_its_repr(batch):
    ex = widgets.GradientExplorer(*batch, width=16, depth=4)
    view = widgets.step_slider_view({"net": ([0, 1], np.ones((2, 3)))})
    for widget, name in ((ex.widget, "Gradient-norm explorer"), (view.widget, "Training-step slider")):
        text = widget._repr_mimebundle_()["text/plain"] if hasattr(widget, "_repr_mimebundle_") else repr(widget)
        assert text.startswith(name) and "live widget" in text and len(text) <= 110 and "children" not in text
