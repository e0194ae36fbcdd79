"""Notebooks 06 and 07's networks: ResNeXt, DenseNet, the block choice and stochastic depth of
``cifar_resnet``, scaled residual branches and shortcuts, and the small transformer."""
import math

import pytest
import torch
from torch import nn

from helpers import analysis, data, gradients, models, training


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_resnext_32x4d_block_costs_what_a_bottleneck_costs():
    # Xie et al. (2017), Table 2 / Fig. 1: both about 70k parameters at 256 channels.
    resnext = models.ResNeXtBlock(256, 256, cardinality=32, mid_channels=128)
    bottleneck = models.Bottleneck(256, 64)
    assert resnext.conv2.groups == 32 and resnext.conv2.weight.shape == (128, 4, 3, 3)
    assert abs(count(resnext) / count(bottleneck) - 1) < 0.02
    x = torch.randn(2, 256, 8, 8)
    assert resnext(x).shape == x.shape
    assert models.ResNeXtBlock(64, 128, stride=2, cardinality=4)(torch.randn(1, 64, 8, 8)).shape == (1, 128, 4, 4)
    with pytest.raises(ValueError, match="divisible by cardinality"):
        models.ResNeXtBlock(64, 64, cardinality=3)


def test_dense_block_concatenates_growth_rate_channels_per_layer():
    block = models.DenseBlock(num_layers=6, in_channels=64, growth_rate=32)
    x = torch.randn(1, 64, 8, 8)
    out = block(x)
    assert out.shape == (1, 64 + 6 * 32, 8, 8) and block.out_channels == 256
    assert torch.equal(out[:, :64], x)                      # the input is passed on unchanged
    assert [layer.bn1.num_features for layer in block.layers] == [64 + 32 * i for i in range(6)]


def test_densenet_shapes_transitions_and_errors():
    net = models.densenet((4, 4, 4), growth_rate=10)
    assert net(torch.randn(2, 1, 14, 14)).shape == (2, 10)
    assert net.transition1.conv.out_channels == (20 + 40) // 2
    assert sum("downsample" not in n for n, _ in gradients.weight_layers(net)) == 28
    with pytest.raises(ValueError, match="compression"):
        models.densenet(compression=0)
    with pytest.raises(ValueError, match="layers_per_block"):
        models.densenet(())


@pytest.mark.parametrize("block, depth", [("basic", 20), ("preact", 20), ("resnext", 29)])
def test_cifar_resnet_block_choice(block, depth):
    net = models.cifar_resnet(depth, 16, block=block)
    assert net(torch.randn(2, 1, 14, 14)).shape == (2, 10)
    kinds = {"basic": models.BasicBlock, "preact": models.PreActBlock, "resnext": models.ResNeXtBlock}
    assert sum(isinstance(m, kinds[block]) for m in net.modules()) == 9


def test_cifar_resnet_block_errors_name_the_argument():
    with pytest.raises(ValueError, match="block must be one of"):
        models.cifar_resnet(20, block="dense")
    with pytest.raises(ValueError, match="9n \\+ 2"):
        models.cifar_resnet(23, block="resnext")
    with pytest.raises(ValueError, match="residual=False needs block='basic'"):
        models.cifar_resnet(20, residual=False, block="preact")
    with pytest.raises(ValueError, match="stochastic_depth"):
        models.cifar_resnet(20, block="preact", stochastic_depth=0.5)


def test_stochastic_depth_drops_branches_in_training_only():
    net = models.cifar_resnet(20, 8, stochastic_depth=0.5)
    probs = [b.drop_prob for b in analysis.blocks_of(net).values()]
    assert probs == pytest.approx([0.5 * i / 9 for i in range(1, 10)])
    block = models.BasicBlock(8, 8, drop_prob=0.5)
    x = torch.randn(400, 8, 4, 4)
    block.eval()
    assert torch.equal(block(x), block(x))                  # evaluation: every branch, deterministic
    block.train()
    torch.manual_seed(0)
    dropped = block(x)
    only_shortcut = torch.relu(x)
    share = (dropped == only_shortcut).flatten(1).all(1).float().mean().item()
    assert 0.35 < share < 0.65                              # about half the examples lost the branch
    with pytest.raises(ValueError, match="drop_prob"):
        models.BasicBlock(8, 8, drop_prob=1.0)


def test_branch_scale_zero_makes_every_residual_layer_the_identity():
    net = models.deep_mlp(10, 16, "relu", "kaiming", residual=True, in_features=4, branch_scale=0.0)
    h = net.flatten(torch.randn(3, 4))
    first = net.layers[0](h)
    out = first
    for layer in net.layers[1:]:
        out = layer(out)
    assert torch.equal(out, first)
    assert net.layers[0].alpha is None and isinstance(net.layers[1].alpha, nn.Parameter)


def test_shortcut_scale_multiplies_the_stream():
    net = models.deep_mlp(5, 8, "relu", residual=True, in_features=8, branch_scale=0.0, shortcut_scale=0.5)
    h = net.layers[0](torch.randn(2, 8))
    assert torch.allclose(net.layers[1:](h), h * 0.5 ** 4)


def test_preact_branch_ends_in_a_linear_layer_and_the_default_ends_in_the_activation():
    torch.manual_seed(0)
    pre = models.deep_mlp(3, 8, "relu", "kaiming", norm="batch", residual=True, in_features=4, branch="preact")
    act_last = models.deep_mlp(3, 8, "relu", "kaiming", norm="batch", residual=True, in_features=4)
    x = torch.randn(16, 8)
    layer = pre.layers[1]
    assert torch.allclose(layer(x), x + layer.linear(torch.relu(layer.norm(x))))
    layer = act_last.layers[1]
    assert torch.allclose(layer(x), x + torch.relu(layer.norm(layer.linear(x))))
    assert not pre.layers[0].preact and not act_last.layers[1].preact    # layer 0 has no shortcut
    two = models.deep_mlp(3, 8, "relu", "kaiming", norm="batch", residual=True, in_features=4, branch="preact2")
    layer, (norm2, _, linear2) = two.layers[1], two.layers[1].second
    assert torch.allclose(layer(x), x + linear2(torch.relu(norm2(layer.linear(torch.relu(layer.norm(x)))))))
    assert two.layers[0].second is None and pre.layers[1].second is None
    with pytest.raises(ValueError, match=r"branch must be one of \['act_last', 'preact', 'preact2'\]"):
        models.deep_mlp(4, residual=True, branch="post")
    with pytest.raises(ValueError, match="need residual=True"):
        models.deep_mlp(4, branch="preact")


def test_scale_errors_name_the_argument():
    with pytest.raises(ValueError, match="shortcut_scale must be a positive number"):
        models.deep_mlp(4, residual=True, shortcut_scale=0)
    with pytest.raises(ValueError, match="branch_scale must be None or a number"):
        models.deep_mlp(4, residual=True, branch_scale="zero")
    with pytest.raises(ValueError, match="need residual=True"):
        models.deep_mlp(4, branch_scale=0.0)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_tiny_transformer_shapes_and_layer_norm_position(norm):
    torch.manual_seed(0)
    net = models.tiny_transformer(depth=2, d_model=16, heads=2, norm=norm)
    x, y = data.sequence_task(3, length=12, vocab=16)
    logits = net(x)
    assert logits.shape == (3, 12, 16)
    assert isinstance(net.final_ln, nn.LayerNorm if norm == "pre" else nn.Identity)
    block = net.blocks[0]
    s = torch.randn(2, 5, 16)
    if norm == "pre":
        expected = s + block.attention(block.ln1(s))
        expected = expected + block.mlp(block.ln2(expected))
    else:
        expected = block.ln1(s + block.attention(s))
        expected = block.ln2(expected + block.mlp(expected))
    assert torch.equal(block(s), expected)
    assert models.sequence_loss(logits, y).ndim == 0


def test_transformer_errors_name_the_argument():
    with pytest.raises(ValueError, match="norm must be one of"):
        models.tiny_transformer(norm="middle")
    with pytest.raises(ValueError, match="divisible by heads"):
        models.TransformerBlock(30, heads=4)
    with pytest.raises(ValueError, match="ids must be"):
        models.tiny_transformer(max_len=4)(torch.zeros(1, 5, dtype=torch.long))


def test_sequence_task_targets():
    x, y = data.sequence_task(5, "reverse", length=6, vocab=7, seed=3)
    assert torch.equal(y, x.flip(1)) and int(x.max()) < 7
    x, y = data.sequence_task(5, "sort", length=6, seed=3)
    assert torch.equal(y, x.sort(1).values)
    assert torch.equal(data.sequence_task(4, seed=1)[0], data.sequence_task(4, seed=1)[0])
    with pytest.raises(ValueError, match="task must be one of"):
        data.sequence_task(4, "copy")


def test_train_with_warmup_and_a_sequence_loss():
    torch.manual_seed(0)
    net = models.tiny_transformer(depth=1, d_model=16, heads=2)
    x, y = data.sequence_task(64, length=8)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lrs = []
    opt.register_step_pre_hook(lambda o, args, kwargs: lrs.append(o.param_groups[0]["lr"]))
    history = training.train(net, loader, optimizer=opt, warmup_steps=4, loss_fn=models.sequence_loss)
    assert lrs == pytest.approx([1e-3 * k / 4 for k in (1, 2, 3, 4)])
    assert math.isfinite(history.final_loss)
    with pytest.raises(ValueError, match="warmup_steps needs schedule='constant'"):
        training.train(net, loader, schedule="onecycle", warmup_steps=2, loss_fn=models.sequence_loss)
    with pytest.raises(ValueError, match="loss_fn replaces"):
        training.train(net, loader, flip=True, loss_fn=models.sequence_loss)


def test_count_flops_of_a_convolution():
    conv = nn.Conv2d(4, 8, 3, padding=1, bias=False)
    assert training.count_flops(conv, torch.zeros(1, 4, 5, 5)) == 2 * 8 * 4 * 9 * 25
