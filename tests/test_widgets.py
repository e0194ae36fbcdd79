"""The gradient-norm explorer, driven without a browser: setting a control runs its callbacks."""
import pytest
import torch

from helpers import widgets


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
    before, after = widgets.first_last_ratio(vanishing), widgets.first_last_ratio(ex.norms)
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
    a = widgets.explorer_norms(*batch, depth=6, width=8, activation="tanh")
    b = widgets.explorer_norms(*batch, depth=6, width=8, activation="tanh")
    assert a == b


def test_unknown_setting_is_refused(batch):
    with pytest.raises(ValueError, match="unknown settings"):
        widgets.GradientExplorer(*batch, colour="red")
