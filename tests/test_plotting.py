"""helpers.plotting: each function draws what it is given, labelled, and refuses bad input."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers import plotting


def test_gradient_norms_one_or_several_runs_on_a_log_axis():
    ax = plotting.plot_gradient_norms({"a": 1.0, "b": 0.1, "c": 0.01}, title="t")
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [1, 2, 3] and list(line.get_ydata()) == [1.0, 0.1, 0.01]
    assert ax.get_yscale() == "log" and ax.get_title() == "t" and "∂W" in ax.get_ylabel()
    assert ax.get_legend() is None
    ax = plotting.plot_gradient_norms({"plain": {"a": 1.0, "b": 2.0}, "residual": {"a": 3.0, "b": 4.0}},
                                      ylabel="‖∂loss/∂h‖")
    assert [line.get_label() for line in ax.get_lines()] == ["plain", "residual"]
    assert ax.get_ylabel() == "‖∂loss/∂h‖" and ax.get_lines()[0].get_color() != ax.get_lines()[1].get_color()


def test_curves_are_smoothed_by_a_running_mean():
    ax = plotting.plot_curves({"loss": [4.0, 2.0, 0.0, 2.0]}, smooth=2, logy=False, title="t")
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == [3.0, 1.0, 1.0] and list(line.get_xdata()) == [1, 2, 3]
    ax = plotting.plot_curves({"a": [1.0, 10.0], "b": [2.0, 3.0]}, logy=True)
    assert ax.get_yscale() == "log" and [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def test_lesions_one_point_per_deleted_block_and_the_intact_line():
    results = {"residual": {"none": 0.8, "b1": 0.7, "b2": 0.75}, "plain": {"none": 0.5, "b2": 0.1}}
    ax = plotting.plot_lesions(results, title="t")
    residual, plain = ax.get_lines()[0], ax.get_lines()[2]     # each run: its curve, then its dashed intact line
    assert list(residual.get_ydata()) == [0.7, 0.75] and list(plain.get_xdata()) == [1]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b1", "b2"] and ax.get_ylim() == (0, 1)


def test_path_lengths_bars_and_the_per_path_gradient():
    left, right = plotting.plot_path_lengths([0, 1, 2], [0.25, 0.5, 0.25], [0.7, 0.2, 0.1], [1.0, 0.1, 0.0])
    assert len(left.patches) == 6
    (line,) = right.get_lines()
    assert list(line.get_ydata()) == [1.0, 0.1] and right.get_yscale() == "log"   # zeros cannot be drawn in log


def test_loss_slices_and_contours():
    alphas = np.linspace(-1, 1, 5)
    ax = plotting.plot_loss_slices(alphas, {"r": [alphas ** 2 + 0.1, alphas ** 2 + 0.2], "p": [alphas ** 2 + 1]})
    assert len(ax.get_lines()) == 3 and [t.get_text() for t in ax.get_legend().get_texts()] == ["r", "p"]
    grid = np.add.outer(alphas ** 2, alphas ** 2) + 0.5
    axes = plotting.plot_loss_contours(alphas, {"r": grid, "p": 10 * grid}, title="t")
    assert [a.get_title() for a in axes] == ["r", "p"] and axes[0].figure._suptitle.get_text() == "t"


def test_plotting_additions_draw_and_validate():
    from helpers.plotting import plot_confusion_matrix, plot_image_grid, plot_layer_step_heatmap

    _, ax = plt.subplots()
    image = plot_layer_step_heatmap(np.random.rand(5, 3) + 0.1, [0, 4, 8], ax=ax, title="t")
    assert image.get_array().shape == (5, 3)
    with pytest.raises(ValueError, match="matrix"):
        plot_layer_step_heatmap(np.ones((5, 3)), [0, 4])
    ax = plot_confusion_matrix(np.eye(3, dtype=int) * 5, ["a", "b", "c"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion_matrix(np.eye(3), ["a", "b"])
    fig = plot_image_grid(torch.rand(5, 1, 8, 8), list("abcde"), ncols=3)
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match="titles"):
        plot_image_grid(torch.rand(5, 1, 8, 8), list("abc"))


def test_series_panels_and_correlations():
    axes = plotting.plot_series_panels({"a": [0.0, 1.0, 0.0], "b": [1.0, 2.0, 3.0]}, title="t")
    assert [a.get_title() for a in axes] == ["a", "b"] and list(axes[1].get_lines()[0].get_ydata()) == [1, 2, 3]
    assert axes[0].figure._suptitle.get_text() == "t"
    _, two = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="one axis per series"):
        plotting.plot_series_panels({"a": [1.0]}, axes=two)
    ax = plotting.plot_correlations([1, 2, 4], {"measured": [0.5, 0.25, 0.06]}, references={"2^-L": [0.5, 0.25, 0.0625]},
                                    logy=True, logx=True, xlabel="depth")
    measured, reference = ax.get_lines()
    assert list(measured.get_xdata()) == [1, 2, 4] and reference.get_linestyle() == "--"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_xlabel() == "depth"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["measured", "2^-L"]
    plt.close("all")
