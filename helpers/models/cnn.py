"""Convolutional networks: residual blocks, the ResNet family and DenseNet, named as in the papers.

Blocks: :class:`ResidualBlock` (d2l's signature, lazy layers), :class:`BasicBlock` and
:class:`PlainBlock` (explicit shortcut, He et al. 2015), :class:`Bottleneck` (1x1-3x3-1x1, with
``cardinality`` groups in the 3x3: ResNeXt, Xie et al. 2017; :class:`ResNeXtBlock` builds it with the
paper's arguments), :class:`PreActBlock` (He et al. 2016), :class:`PoolingResidualBlock`,
:class:`DenseBlock` and :class:`Transition` (Huang et al. 2017). Every block except d2l's gets its
shortcut from :func:`make_shortcut`. Networks: :func:`cifar_resnet` (plain, basic, pre-activation or
ResNeXt blocks, optional stochastic depth), :func:`plain_cnn`, :func:`densenet`, :func:`d2l_resnet18`,
:func:`five_stage_resnet`, :func:`cifar_resnet18`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_choice, check_int

SHORTCUTS = ("A", "B", "C")


# ---------------------------------------------------------------------------------------------
# Residual blocks
# ---------------------------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    """The residual block with d2l's signature: ``ResidualBlock(num_channels, use_1x1conv, strides)``.

    Lazy layers infer the input channels; convolutions carry biases, as in d2l. The shortcut is the
    identity, or a 1x1 convolution (no batch norm, as in d2l) when ``use_1x1conv`` is set, needed
    when the stride or the channel count changes.
    """

    def __init__(self, num_channels: int, use_1x1conv: bool = False, strides: int = 1,
                 zero_init_residual: bool = False):
        super().__init__()
        check_int("num_channels", num_channels)
        check_int("strides", strides)
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
        self.bn1 = nn.LazyBatchNorm2d()
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        self.bn2 = nn.LazyBatchNorm2d()
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        if zero_init_residual:
            # A lazy batch norm gets its scale on its first call: zero it right after, once.
            def zero_scale(module: nn.Module, args) -> None:
                nn.init.zeros_(module.weight)
                handle.remove()
            handle = self.bn2.register_forward_pre_hook(zero_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.conv3(x) if self.conv3 is not None else x
        return F.relu(out + identity)


class ZeroPadShortcut(nn.Module):
    """Option A shortcut (He et al. 2015): subsample by ``stride``, zero-pad the new channels."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.extra, self.stride = out_channels - in_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding 1 and no bias (the batch norm after it has its own shift)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution without bias: projection shortcuts and the ends of a bottleneck."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


def make_shortcut(in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "B",
                  norm: bool = True) -> nn.Module | None:
    """A block's shortcut module, or None for the identity (He et al. 2015's options).

    'A' subsamples and zero-pads where the shape changes, 'B' projects where the shape changes, 'C'
    always projects. A projection is a strided 1x1 convolution, followed by batch norm if ``norm``.
    """
    check_choice("shortcut", shortcut, SHORTCUTS)
    changes = stride != 1 or in_channels != out_channels
    if shortcut == "C" or (shortcut == "B" and changes):
        conv = conv1x1(in_channels, out_channels, stride)
        return nn.Sequential(conv, nn.BatchNorm2d(out_channels)) if norm else conv
    if shortcut == "A" and changes:
        return ZeroPadShortcut(in_channels, out_channels, stride)
    return None


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, plus an explicit shortcut: out = relu(F(x) + x).

    Parameter names follow torchvision's ``BasicBlock`` (``conv1``, ``bn1``, ``conv2``, ``bn2``,
    ``downsample``), so its weights load directly.
    """

    residual = True

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "B",
                 zero_init_residual: bool = False, drop_prob: float = 0.0):
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("out_channels", out_channels)
        check_int("stride", stride)
        if not 0.0 <= drop_prob < 1.0 or (drop_prob and not self.residual):
            raise ValueError(f"drop_prob must be in [0, 1) (and 0 for a plain block), got {drop_prob!r}")
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = make_shortcut(in_channels, out_channels, stride, shortcut) if self.residual else None
        self.drop_prob = drop_prob
        if zero_init_residual:
            nn.init.zeros_(self.bn2.weight)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch F(x): conv-BN-ReLU-conv-BN."""
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """What the block adds to F(x): x itself, or ``downsample(x)`` where the shape changes."""
        return self.downsample(x) if self.downsample is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.residual:
            return F.relu(self.branch(x))
        out = self.branch(x)
        if self.training and self.drop_prob > 0:
            # Stochastic depth (Huang et al. 2016): in training, drop the branch of each example with
            # probability drop_prob (the block is then its shortcut) and scale the kept ones by
            # 1 / (1 - drop_prob), so that evaluation uses every branch unchanged. Huang et al. drop
            # per mini-batch and scale at test time instead; the expected output is the same.
            keep = torch.rand(x.shape[0], 1, 1, 1, device=x.device) >= self.drop_prob
            out = out * keep / (1 - self.drop_prob)
        return F.relu(out + self.shortcut(x))


class PlainBlock(BasicBlock):
    """A :class:`BasicBlock` without its shortcut: out = relu(F(x)). The control in every experiment."""

    residual = False

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__(in_channels, out_channels, stride)


class Bottleneck(nn.Module):
    """1x1 (reduce) -> 3x3 in ``cardinality`` groups -> 1x1 (expand), each with batch norm, plus a
    shortcut (the identity, or a projection where the shape changes): out = relu(F(x) + shortcut(x)).

    ``cardinality=1`` is ResNet's bottleneck: ``mid_channels`` in the middle, ``expansion`` times as
    many at the output. More groups make it ResNeXt's block (Xie et al. 2017): ``cardinality``
    parallel paths of ``mid_channels // cardinality`` channels; ``out_channels``, where given,
    replaces ``mid_channels * expansion``. As in torchvision ("ResNet v1.5") the stride sits on the
    3x3 convolution, not on the first 1x1 as in the paper: the 1x1 then sees every pixel, which costs
    FLOPs and gains about 0.5% top-1 on ImageNet. Parameter names follow torchvision's ``Bottleneck``.
    """

    def __init__(self, in_channels: int, mid_channels: int, stride: int = 1, expansion: int = 4,
                 zero_init_residual: bool = False, cardinality: int = 1, out_channels: int | None = None):
        super().__init__()
        check_int("in_channels", in_channels)
        if out_channels is not None:
            check_int("out_channels", out_channels)
        check_int("mid_channels", mid_channels)
        check_int("stride", stride)
        check_int("expansion", expansion)
        check_int("cardinality", cardinality)
        if mid_channels % cardinality:
            raise ValueError(f"mid_channels ({mid_channels}) must be divisible by cardinality, got {cardinality!r}")
        out_channels = mid_channels * expansion if out_channels is None else out_channels
        self.conv1 = conv1x1(in_channels, mid_channels)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = conv3x3(mid_channels, mid_channels, stride, groups=cardinality)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv3 = conv1x1(mid_channels, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = make_shortcut(in_channels, out_channels, stride)
        if zero_init_residual:
            nn.init.zeros_(self.bn3.weight)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch F(x): 1x1-BN-ReLU, (grouped) 3x3-BN-ReLU, 1x1-BN."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """What the block adds to F(x): x itself, or ``downsample(x)`` where the shape changes."""
        return self.downsample(x) if self.downsample is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.branch(x) + self.shortcut(x))


class ResNeXtBlock(Bottleneck):
    """ResNeXt's block (Xie et al. 2017) with the paper's arguments: a :class:`Bottleneck` from
    ``in_channels`` to ``out_channels`` whose 3x3 convolution has ``cardinality`` groups;
    ``mid_channels`` defaults to ``out_channels``. Only the constructor differs: the code is Bottleneck's.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, cardinality: int = 4,
                 mid_channels: int | None = None):
        super().__init__(in_channels, out_channels if mid_channels is None else mid_channels, stride,
                         cardinality=cardinality, out_channels=out_channels)


class PreActBlock(nn.Module):
    """Pre-activation block (He et al. 2016): out = x + conv(relu(bn(conv(relu(bn(x)))))).

    Nothing follows the addition, so the identity path is clean from block to block. With
    ``zero_init_residual`` the second batch norm's scale is zero and the block is exactly the identity.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 zero_init_residual: bool = False):
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("out_channels", out_channels)
        check_int("stride", stride)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.downsample = make_shortcut(in_channels, out_channels, stride, norm=False)
        if zero_init_residual:
            nn.init.zeros_(self.bn2.weight)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch F(x): BN-ReLU-conv-BN-ReLU-conv."""
        return self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """x itself, or where the shape changes a projection of the pre-activated input, as in
        He et al. (2016), Fig. 4(e)."""
        return self.downsample(F.relu(self.bn1(x))) if self.downsample is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branch(x) + self.shortcut(x)


class PoolingResidualBlock(nn.Module):
    """A popular tutorial variant: the main path downsamples with max-pooling, dropout follows the sum.

    Main path: conv3x3-BN-ReLU, conv3x3-BN, then 3x3 max-pool with stride 2; shortcut: a strided 1x1
    convolution without bias or batch norm; out = dropout(relu(main + shortcut)). Unlike He et al. (2015) it halves the
    resolution in every block and regularises with dropout instead of relying on batch norm alone.
    """

    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0):
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("out_channels", out_channels)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.conv1 = conv3x3(in_channels, out_channels)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.downsample = make_shortcut(in_channels, out_channels, stride=2, shortcut="C", norm=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.pool(self.bn2(self.conv2(out)))
        return self.dropout(F.relu(out + self.downsample(x)))


# ---------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------
def make_stage(block: Callable[[int, int, int], nn.Module], in_channels: int, out_channels: int,
               blocks: int, stride: int = 1) -> nn.Sequential:
    """``blocks`` blocks made by ``block(in_channels, out_channels, stride)``; only the first one
    changes the channels and applies ``stride`` (torchvision's ``_make_layer``)."""
    check_int("blocks", blocks)
    return nn.Sequential(*[block(in_channels if i == 0 else out_channels, out_channels, stride if i == 0 else 1)
                           for i in range(blocks)])


def _pool_classify_init(model: nn.Sequential, channels: int, num_classes: int) -> nn.Sequential:
    """Finish a CIFAR-style network: global average pooling, flatten, a linear classifier; then He
    (fan-out) initialisation of every convolution, as in He et al. (2015)."""
    model.add_module("pool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flatten", nn.Flatten())
    model.add_module("fc", nn.Linear(channels, num_classes))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


BLOCKS = ("basic", "preact", "resnext")


def cifar_resnet(depth: int = 20, width: int = 16, residual: bool = True, shortcut: str = "A",
                 in_channels: int = 1, num_classes: int = 10,
                 zero_init_residual: bool = False, stem_stride: int = 1, block: str = "basic",
                 cardinality: int = 4, stochastic_depth: float = 0.0) -> nn.Sequential:
    """The CIFAR-10 network family of He et al. (2015), Section 4.2: depth = 6n + 2.

    A 3x3 stem convolution, three stages of n blocks with ``width``, 2 ``width``, 4 ``width``
    channels (the first block of stages 2 and 3 halves the resolution), global average pooling and a
    linear classifier. ``residual=False`` removes every shortcut and nothing else: the plain network.
    ``stem_stride=2`` (not in the paper) halves the resolution in the stem: the same parameters at a
    quarter of the first stage's cost, which notebook 04's fast CPU recipe uses.

    ``block`` picks the family member: 'basic' (:class:`BasicBlock`), 'preact' (:class:`PreActBlock`,
    He et al. 2016, with a final BN-ReLU before pooling), or 'resnext' (:class:`ResNeXtBlock` with
    ``cardinality`` groups and as many middle channels as output channels; three layers per block, so
    depth = 9n + 2, e.g. ResNeXt-29). ``stochastic_depth`` (basic blocks only) is the drop probability
    of the last block; block l of L drops with probability ``stochastic_depth * l / L`` (Huang et al.
    2016's linear rule).
    """
    check_choice("block", block, BLOCKS)
    per_block = 3 if block == "resnext" else 2
    check_int("depth", depth, minimum=2 + 3 * per_block)
    if (depth - 2) % (3 * per_block):
        examples = "11, 20, 29, 38, ..." if block == "resnext" else "8, 14, 20, 32, 44, 56, 110, ..."
        raise ValueError(f"depth must be {3 * per_block}n + 2 for {block!r} blocks ({examples}), got {depth!r}")
    check_int("width", width)
    check_choice("shortcut", shortcut, SHORTCUTS)
    check_choice("stem_stride", stem_stride, (1, 2))
    if not residual and block != "basic":
        raise ValueError(f"residual=False needs block='basic' (the plain network), got block={block!r}")
    if not 0.0 <= stochastic_depth < 1.0 or (stochastic_depth and (block != "basic" or not residual)):
        raise ValueError(f"stochastic_depth must be in [0, 1), and 0 unless block='basic' and residual=True; "
                         f"got {stochastic_depth!r}")
    n = (depth - 2) // (3 * per_block)
    blocks_made = []

    def make_block(c_in: int, c_out: int, stride: int) -> nn.Module:
        blocks_made.append(None)
        if not residual:
            return PlainBlock(c_in, c_out, stride)
        if block == "preact":
            return PreActBlock(c_in, c_out, stride, zero_init_residual)
        if block == "resnext":
            return ResNeXtBlock(c_in, c_out, stride, cardinality)
        return BasicBlock(c_in, c_out, stride, shortcut, zero_init_residual,
                          drop_prob=stochastic_depth * len(blocks_made) / (3 * n))

    model = nn.Sequential()
    stem = [conv3x3(in_channels, width, stem_stride), nn.BatchNorm2d(width), nn.ReLU()]
    model.add_module("stem", nn.Sequential(*stem[:1]) if block == "preact" else nn.Sequential(*stem))
    channels = width
    for stage, out_channels in enumerate((width, 2 * width, 4 * width), start=1):
        model.add_module(f"stage{stage}", make_stage(make_block, channels, out_channels, n, stride=1 if stage == 1 else 2))
        channels = out_channels
    if block == "preact":
        # Nothing normalises the last block's sum: pre-activation networks end with BN-ReLU.
        model.add_module("final", nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU()))
    return _pool_classify_init(model, channels, num_classes)


def plain_cnn(depth: int = 20, width: int = 8, in_channels: int = 1, num_classes: int = 10) -> nn.Sequential:
    """The plain (shortcut-free) network with batch norm of the degradation experiment."""
    return cifar_resnet(depth, width, residual=False, in_channels=in_channels, num_classes=num_classes)


class DenseLayer(nn.Module):
    """One DenseNet-BC layer (Huang et al. 2017): BN-ReLU-1x1 conv to ``4 * growth_rate`` channels,
    BN-ReLU-3x3 conv to ``growth_rate`` channels. It returns only its *new* feature maps; the
    :class:`DenseBlock` around it concatenates them to everything before."""

    def __init__(self, in_channels: int, growth_rate: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv1x1(in_channels, 4 * growth_rate)
        self.bn2 = nn.BatchNorm2d(4 * growth_rate)
        self.conv2 = conv3x3(4 * growth_rate, growth_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))


class DenseBlock(nn.Module):
    """``num_layers`` :class:`DenseLayer` s, each fed the concatenation of the block's input and every
    earlier layer's output: channels grow from ``in_channels`` by ``growth_rate`` per layer."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int):
        super().__init__()
        check_int("num_layers", num_layers)
        check_int("in_channels", in_channels)
        check_int("growth_rate", growth_rate)
        self.layers = nn.ModuleList([DenseLayer(in_channels + i * growth_rate, growth_rate)
                                     for i in range(num_layers)])
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)   # concatenate, where a residual block would add
        return x


class Transition(nn.Module):
    """Between dense blocks: BN-ReLU, a 1x1 convolution that shrinks the channels, 2x2 average pooling."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_channels)
        self.conv = conv1x1(in_channels, out_channels)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(F.relu(self.bn(x))))


def densenet(layers_per_block: tuple[int, ...] = (6, 6, 6), growth_rate: int = 12, compression: float = 0.5,
             in_channels: int = 1, num_classes: int = 10) -> nn.Sequential:
    """DenseNet-BC for small images (Huang et al. 2017, Section 3): a 3x3 stem to 2 ``growth_rate``
    channels, dense blocks with a :class:`Transition` (keeping a ``compression`` share of the
    channels, halving the resolution) between them, then BN-ReLU, global average pooling and a linear
    head. Depth counts the weight layers: 2 per dense layer, 1 per transition, stem and head.
    """
    if not isinstance(layers_per_block, (tuple, list)) or not layers_per_block:
        raise ValueError(f"layers_per_block must be a non-empty tuple of ints, got {layers_per_block!r}")
    for n in layers_per_block:
        check_int("layers_per_block", n)
    check_int("growth_rate", growth_rate)
    if not 0.0 < compression <= 1.0:
        raise ValueError(f"compression must be in (0, 1], got {compression!r}")
    model = nn.Sequential()
    channels = 2 * growth_rate
    model.add_module("stem", conv3x3(in_channels, channels))
    for i, num_layers in enumerate(layers_per_block, start=1):
        block = DenseBlock(num_layers, channels, growth_rate)
        model.add_module(f"dense{i}", block)
        channels = block.out_channels
        if i < len(layers_per_block):
            out_channels = int(channels * compression)
            model.add_module(f"transition{i}", Transition(channels, out_channels))
            channels = out_channels
    model.add_module("final", nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU()))
    return _pool_classify_init(model, channels, num_classes)


def d2l_resnet18(num_classes: int = 10) -> nn.Sequential:
    """ResNet-18 as the d2l book builds it, from lazy :class:`ResidualBlock`s (input channels inferred).

    A 7x7 stride-2 stem and 3x3 max-pool, four stages of two blocks (64, 128, 256, 512 channels),
    global average pooling and a linear head. Run one forward pass to materialise the lazy layers.
    """
    check_int("num_classes", num_classes)

    def stage(num_channels: int, first: bool) -> nn.Sequential:
        return nn.Sequential(ResidualBlock(num_channels, use_1x1conv=not first, strides=1 if first else 2),
                             ResidualBlock(num_channels))

    return nn.Sequential(
        nn.Sequential(nn.LazyConv2d(64, kernel_size=7, stride=2, padding=3), nn.LazyBatchNorm2d(), nn.ReLU(),
                      nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        stage(64, first=True), stage(128, first=False), stage(256, first=False), stage(512, first=False),
        nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(num_classes)),
    )


def five_stage_resnet(channels: tuple[int, ...] = (32, 64, 128, 256, 512), in_channels: int = 3,
                      num_classes: int = 1, dropout: float = 0.0) -> nn.Sequential:
    """Five :class:`PoolingResidualBlock` s (each halves the resolution), global average pooling, a linear head.

    The tutorial-style network for a binary image classifier (``num_classes=1``: one logit): on
    180x180 images the blocks give 90, 45, 23, 12 and 6 pixels per side, then pooling and flattening
    leave ``channels[-1]`` features.
    """
    if not isinstance(channels, (tuple, list)) or len(channels) == 0:
        raise ValueError(f"channels must be a non-empty tuple of ints, got {channels!r}")
    for c in channels:
        check_int("channels", c)
    check_int("in_channels", in_channels)
    check_int("num_classes", num_classes)
    widths = (in_channels, *channels)
    model = nn.Sequential()
    model.add_module("blocks", nn.Sequential(*[PoolingResidualBlock(widths[i], widths[i + 1], dropout)
                                               for i in range(len(channels))]))
    model.add_module("pool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flatten", nn.Flatten())
    model.add_module("head", nn.Linear(channels[-1], num_classes))
    return model


def cifar_resnet18(num_classes: int = 10, in_channels: int = 3) -> nn.Sequential:
    """ResNet-18 adapted to 32x32 images: a 3x3 stride-1 stem without max-pool, then torchvision's stages.

    Four stages of two :class:`BasicBlock` s (64, 128, 256, 512 channels; the first block of stages
    2-4 halves the resolution, with a projection shortcut), global average pooling, a linear head.
    On 32x32 inputs the stages give 32, 16, 8 and 4 pixels per side.
    """
    check_int("num_classes", num_classes)
    check_int("in_channels", in_channels)
    model = nn.Sequential()
    model.add_module("stem", nn.Sequential(conv3x3(in_channels, 64), nn.BatchNorm2d(64), nn.ReLU()))
    channels = 64
    for stage, out_channels in enumerate((64, 128, 256, 512), start=1):
        model.add_module(f"layer{stage}", make_stage(BasicBlock, channels, out_channels, 2, stride=1 if stage == 1 else 2))
        channels = out_channels
    model.add_module("pool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flatten", nn.Flatten())
    model.add_module("fc", nn.Linear(channels, num_classes))
    return model
