"""The shared networks: shapes, parameter counts from the papers, and clear errors."""
import pytest
import torch
from torch import nn

from helpers import models


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("depth, millions", [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85), (110, 1.7)])
def test_cifar_resnet_matches_table_6_of_he_et_al_2015(depth, millions):
    net = models.cifar_resnet(depth, in_channels=3, shortcut="A")
    digits = 1 if millions >= 1 else 2
    assert round(count(net) / 1e6, digits) == millions


def test_plain_and_residual_differ_only_in_the_shortcut():
    plain = models.cifar_resnet(20, residual=False)
    residual = models.cifar_resnet(20, residual=True, shortcut="A")
    assert [n for n, _ in plain.named_parameters()] == [n for n, _ in residual.named_parameters()]
    residual.load_state_dict(plain.state_dict())
    x = torch.randn(2, 1, 28, 28)
    assert not torch.allclose(plain(x), residual(x))
    assert models.plain_cnn(20, width=8)(x).shape == (2, 10)


def test_deep_mlp_shapes_residual_and_errors():
    net = models.deep_mlp(depth=5, width=16, activation="tanh", init="xavier", norm="batch", residual=True)
    assert net(torch.randn(4, 1, 28, 28)).shape == (4, 10)
    assert [layer.residual for layer in net.layers] == [False, True, True, True, True]
    with pytest.raises(ValueError, match=r"activation must be one of \['sigmoid', 'tanh', 'relu', 'gelu'\]"):
        models.deep_mlp(activation="swish")
    with pytest.raises(ValueError, match=r"init must be one of \['default', 'xavier', 'kaiming'\]"):
        models.deep_mlp(init="orthogonal")
    with pytest.raises(ValueError, match="norm must be one of"):
        models.deep_mlp(norm="layer")
    with pytest.raises(ValueError, match="depth must be an int >= 1"):
        models.deep_mlp(depth=0)


def test_weight_scale_multiplies_the_initial_weights():
    torch.manual_seed(0)
    a = models.deep_mlp(depth=2, init="kaiming", activation="relu")
    torch.manual_seed(0)
    b = models.deep_mlp(depth=2, init="kaiming", activation="relu", weight_scale=2.0)
    assert torch.allclose(2 * a.layers[1].linear.weight, b.layers[1].linear.weight)


def test_cifar_resnet_rejects_depths_that_are_not_6n_plus_2():
    with pytest.raises(ValueError, match=r"6n \+ 2"):
        models.cifar_resnet(21)
    with pytest.raises(ValueError, match=r"shortcut must be one of \['A', 'B', 'C'\]"):
        models.cifar_resnet(20, shortcut="D")


def test_stride_2_stem_keeps_the_parameters_and_quarters_the_first_stage():
    stem1, stem2 = models.cifar_resnet(8, 16), models.cifar_resnet(8, 16, stem_stride=2)
    assert sum(p.numel() for p in stem1.parameters()) == sum(p.numel() for p in stem2.parameters())
    x = torch.randn(2, 1, 28, 28)
    assert stem1[:2](x).shape == (2, 16, 28, 28) and stem2[:2](x).shape == (2, 16, 14, 14)
    assert stem2(x).shape == (2, 10)
    with pytest.raises(ValueError, match=r"stem_stride must be one of \[1, 2\], got 3"):
        models.cifar_resnet(8, stem_stride=3)


def test_d2l_residual_block_shapes_from_the_book():
    x = torch.rand(4, 3, 6, 6)
    assert models.ResidualBlock(3)(x).shape == (4, 3, 6, 6)
    assert models.ResidualBlock(6, use_1x1conv=True, strides=2)(x).shape == (4, 6, 3, 3)


def test_zero_padding_shortcut_keeps_the_input_channels_and_adds_zeros():
    x = torch.randn(2, 4, 8, 8)
    out = models.ZeroPadShortcut(4, 8, stride=2)(x)
    assert out.shape == (2, 8, 4, 4)
    assert torch.equal(out[:, :4], x[:, :, ::2, ::2]) and not out[:, 4:].any()


def test_d2l_resnet18_output_and_size():
    net = models.d2l_resnet18()
    assert net(torch.zeros(2, 1, 96, 96)).shape == (2, 10)
    assert count(net) == 11_178_378
