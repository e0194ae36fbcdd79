"""Residual blocks (helpers.models) against torchvision, against notebook 02's inline block, and
their documented properties: zero-initialised blocks are the identity, shortcut options A/B/C."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import resnet as tv

from helpers import models

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02_residual_block.ipynb"


def randomise_norms(module: nn.Module) -> nn.Module:
    """Give every batch norm non-trivial affine parameters and running statistics (eval mode uses them)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return module


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_channels))


# --- torchvision's weights in our blocks ------------------------------------------------------
def test_torchvision_basicblock_loads_into_residualblock():
    torch.manual_seed(0)
    theirs = randomise_norms(tv.BasicBlock(16, 16)).eval()
    ours = models.ResidualBlock(16)
    x = torch.randn(2, 16, 8, 8)
    ours(x)  # materialise the lazy layers
    result = ours.load_state_dict(theirs.state_dict(), strict=False)
    # d2l's block has conv biases, torchvision's has none: those are the only keys not filled.
    assert sorted(result.missing_keys) == ["conv1.bias", "conv2.bias"]
    assert result.unexpected_keys == []
    with torch.no_grad():
        ours.conv1.bias.zero_()
        ours.conv2.bias.zero_()
    ours.eval()
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)


@pytest.mark.parametrize("in_channels, out_channels, stride", [(16, 16, 1), (16, 32, 2)])
def test_torchvision_basicblock_loads_strictly_into_basicblock(in_channels, out_channels, stride):
    torch.manual_seed(0)
    downsample = projection(in_channels, out_channels, stride) if stride != 1 or in_channels != out_channels else None
    theirs = randomise_norms(tv.BasicBlock(in_channels, out_channels, stride, downsample)).eval()
    ours = models.BasicBlock(in_channels, out_channels, stride, shortcut="B").eval()
    ours.load_state_dict(theirs.state_dict())  # strict
    x = torch.randn(2, in_channels, 8, 8)
    assert torch.equal(ours(x), theirs(x))


@pytest.mark.parametrize("in_channels, mid_channels, stride", [(64, 16, 1), (32, 16, 2)])
def test_torchvision_bottleneck_loads_strictly_into_bottleneck(in_channels, mid_channels, stride):
    torch.manual_seed(0)
    out_channels = 4 * mid_channels
    downsample = projection(in_channels, out_channels, stride) if stride != 1 or in_channels != out_channels else None
    theirs = randomise_norms(tv.Bottleneck(in_channels, mid_channels, stride, downsample)).eval()
    ours = models.Bottleneck(in_channels, mid_channels, stride).eval()
    ours.load_state_dict(theirs.state_dict())  # strict
    x = torch.randn(2, in_channels, 8, 8)
    assert torch.equal(ours(x), theirs(x))
    # v1.5: the stride is on the 3x3 convolution, as in torchvision
    assert ours.conv2.stride == (stride, stride) and ours.conv1.stride == (1, 1)


# --- the notebook's inline block and the helper ----------------------------------------------
def notebook_inline_block() -> type:
    """Exec the notebook cell that defines ``class Residual`` and return the class."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    defining = [s for s in sources if "class Residual(nn.Module)" in s]
    assert len(defining) == 1, "notebook 02 should define class Residual in exactly one cell"
    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(compile(defining[0], str(NOTEBOOK), "exec"), namespace)
    return namespace["Residual"]


@pytest.mark.parametrize("num_channels, use_1x1conv, strides", [(3, False, 1), (6, True, 2)])
def test_notebook_inline_block_matches_helper(num_channels, use_1x1conv, strides):
    Residual = notebook_inline_block()
    torch.manual_seed(0)
    inline = Residual(num_channels, use_1x1conv=use_1x1conv, strides=strides)
    helper = models.ResidualBlock(num_channels, use_1x1conv=use_1x1conv, strides=strides)
    x = torch.randn(4, 3, 6, 6)
    inline(x), helper(x)
    helper.load_state_dict(inline.state_dict())  # strict: the same names and shapes
    assert torch.equal(helper(x), inline(x))  # training mode (batch statistics)
    inline.eval(), helper.eval()
    randomise_norms(inline)
    helper.load_state_dict(inline.state_dict())
    assert torch.equal(helper(x), inline(x))  # evaluation mode (running statistics)
    expected = (4, num_channels, 6 // strides, 6 // strides)
    assert helper(x).shape == expected


# --- zero-initialised residual branches --------------------------------------------------------
def test_zero_init_preact_block_is_exactly_identity():
    torch.manual_seed(0)
    x = torch.randn(4, 8, 6, 6)
    block = models.PreActBlock(8, 8, zero_init_residual=True)
    assert torch.equal(block(x), x)
    assert not torch.equal(models.PreActBlock(8, 8)(x), x)


@pytest.mark.parametrize("make", [
    lambda: models.BasicBlock(8, 8, zero_init_residual=True),
    lambda: models.ResidualBlock(8, zero_init_residual=True),
    lambda: models.Bottleneck(8, 2, zero_init_residual=True),
])
def test_zero_init_post_activation_block_is_relu(make):
    torch.manual_seed(0)
    x = torch.randn(4, 8, 6, 6)
    block = make()
    assert torch.equal(block(x), F.relu(x))
    nonneg = F.relu(x)
    assert torch.equal(block(nonneg), nonneg)


def test_zero_init_lazy_block_zeroes_scale_once_only():
    block = models.ResidualBlock(4, zero_init_residual=True)
    block(torch.randn(2, 4, 5, 5))
    assert not block.bn2.weight.any()
    with torch.no_grad():
        block.bn2.weight.fill_(1.0)
    block(torch.randn(2, 4, 5, 5))
    assert torch.equal(block.bn2.weight, torch.ones(4))  # a later call does not zero it again


# --- shortcuts, plain blocks, variants ---------------------------------------------------------
def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_shortcut_options_parameter_counts():
    counts = {o: (n_params(models.BasicBlock(16, 32, 2, shortcut=o)), n_params(models.BasicBlock(32, 32, 1, shortcut=o)))
              for o in "ABC"}
    projection_params = 16 * 32 + 2 * 32
    assert counts["B"][0] - counts["A"][0] == projection_params
    assert counts["C"][0] == counts["B"][0]
    assert counts["A"][1] == counts["B"][1] == counts["C"][1] - (32 * 32 + 2 * 32)


def test_option_a_shortcut_subsamples_and_zero_pads():
    x = torch.randn(2, 16, 8, 8)
    out = models.BasicBlock(16, 32, 2, shortcut="A").downsample(x)
    assert out.shape == (2, 32, 4, 4)
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2])
    assert not out[:, 16:].any()


def test_make_shortcut_options_and_norm():
    assert models.make_shortcut(8, 8, 1, "A") is None and models.make_shortcut(8, 8, 1, "B") is None
    assert isinstance(models.make_shortcut(8, 16, 2, "A"), models.ZeroPadShortcut)
    assert [type(m) for m in models.make_shortcut(8, 8, 1, "C")] == [nn.Conv2d, nn.BatchNorm2d]
    bare = models.make_shortcut(8, 16, 2, norm=False)     # the pre-activation and pooling blocks' projection
    assert type(bare) is nn.Conv2d and bare.stride == (2, 2) and bare.bias is None


BOTTLENECK_KEYS = ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "downsample.0", "downsample.1"]


@pytest.mark.parametrize("make, modules", [
    (lambda: models.BasicBlock(8, 16, 2, shortcut="A"), ["conv1", "bn1", "conv2", "bn2"]),
    (lambda: models.BasicBlock(8, 16, 2), ["conv1", "bn1", "conv2", "bn2", "downsample.0", "downsample.1"]),
    (lambda: models.Bottleneck(8, 4, stride=2), BOTTLENECK_KEYS),
    (lambda: models.ResNeXtBlock(8, 16, stride=2, cardinality=2), BOTTLENECK_KEYS),
    (lambda: models.PreActBlock(8, 16, stride=2), ["bn1", "conv1", "bn2", "conv2", "downsample"]),
    (lambda: models.PoolingResidualBlock(8, 16), ["conv1", "bn1", "conv2", "bn2", "downsample"]),
])
def test_state_dict_names_are_stable(make, modules):
    # Saved weights are loaded by these names (and torchvision's for the basic block and bottleneck).
    names = list(dict.fromkeys(key.rsplit(".", 1)[0] for key in make().state_dict()))
    assert names == modules


def test_resnext_block_with_one_group_is_the_bottleneck():
    # ResNeXtBlock only builds a Bottleneck from the paper's arguments: same weights, same output.
    torch.manual_seed(0)
    bottleneck = models.Bottleneck(64, 16, stride=2)
    torch.manual_seed(0)
    resnext = models.ResNeXtBlock(64, 64, stride=2, cardinality=1, mid_channels=16)
    assert isinstance(resnext, models.Bottleneck) and type(resnext).__name__ == "ResNeXtBlock"
    expected = bottleneck.state_dict()
    assert list(resnext.state_dict()) == list(expected)
    assert all(torch.equal(value, expected[key]) for key, value in resnext.state_dict().items())
    x = torch.randn(2, 64, 8, 8)
    assert torch.equal(resnext(x), bottleneck(x))


def test_plain_block_has_no_shortcut():
    torch.manual_seed(0)
    plain = models.PlainBlock(8, 8).eval()
    residual = models.BasicBlock(8, 8).eval()
    residual.load_state_dict(plain.state_dict())
    x = torch.randn(2, 8, 6, 6)
    branch = residual.bn2(residual.conv2(F.relu(residual.bn1(residual.conv1(x)))))
    assert plain.downsample is None
    assert torch.allclose(plain(x), F.relu(branch))
    assert torch.allclose(residual(x), F.relu(branch + x))


def test_preact_jacobian_is_identity_plus_branch():
    torch.manual_seed(0)
    block = models.PreActBlock(2, 2).eval()
    x = torch.randn(1, 2, 3, 3)

    def branch(t):
        return block.conv2(F.relu(block.bn2(block.conv1(F.relu(block.bn1(t))))))

    J = torch.autograd.functional.jacobian(block, x).reshape(18, 18)
    J_F = torch.autograd.functional.jacobian(branch, x).reshape(18, 18)
    assert torch.allclose(J, torch.eye(18) + J_F, atol=1e-6)


def test_pooling_block_shapes_and_dropout():
    torch.manual_seed(0)
    block = models.PoolingResidualBlock(8, 16, dropout=0.5)
    x = torch.randn(2, 8, 10, 10)
    assert block(x).shape == (2, 16, 5, 5)
    block.eval()
    clean = block(x)
    assert torch.equal(clean, block(x))
    block.dropout.train()            # batch norm stays in eval mode: only dropout changes the output
    noisy = block(x)
    positive = clean > 0
    dropped = (noisy[positive] == 0).float().mean().item()
    assert 0.35 < dropped < 0.65     # dropout with p = 0.5 after the final ReLU
    kept = noisy[positive] != 0
    assert torch.allclose(noisy[positive][kept], 2 * clean[positive][kept])   # survivors scaled by 1/(1-p)
    assert block.downsample.bias is None   # the 1x1 shortcut has no bias (seed 002's tutorial)


@pytest.mark.parametrize("make, match", [
    (lambda: models.BasicBlock(8, 8, shortcut="D"), "shortcut"),
    (lambda: models.BasicBlock(8, 8, stride=0), "stride"),
    (lambda: models.Bottleneck(8, 2, expansion=0), "expansion"),
    (lambda: models.ResidualBlock(0), "num_channels"),
    (lambda: models.PoolingResidualBlock(8, 8, dropout=1.0), "dropout"),
])
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --- the notebook's figures ------------------------------------------------------------------------
def test_nb02_figures_build():
    import importlib.util

    import matplotlib.pyplot as plt

    path = Path(__file__).resolve().parent.parent / "figures" / "make_figures.py"
    spec = importlib.util.spec_from_file_location("make_figures", path)
    make_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_figures)
    fig = make_figures.FIGURES["nb02_block_diagram"]()
    assert len(fig.axes) == 3
    plt.close(fig)
    norms = make_figures.nb02_gradient_data(depth=6, subset=32)
    assert set(norms) == {"plain", "residual"} and all(len(v) == 7 for v in norms.values())
