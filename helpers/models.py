"""Every network the notebooks use, named as in the papers.

Blocks: :class:`ResidualBlock` (d2l's signature, lazy layers), :class:`BasicBlock` and
:class:`PlainBlock` (explicit shortcut, He et al. 2015), :class:`Bottleneck` (1x1-3x3-1x1),
:class:`PreActBlock` (He et al. 2016). Networks: :func:`deep_mlp`, :func:`cifar_resnet` (depth 6n+2,
plain or residual), :func:`plain_cnn`, :func:`d2l_resnet18`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .checks import check_choice, check_int

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU,
}
INITS = ("default", "xavier", "kaiming")
NORMS = (None, "batch")
SHORTCUTS = ("A", "B", "C")


# ---------------------------------------------------------------------------------------------
# A deep multilayer perceptron for the vanishing-gradient experiments (notebook 01)
# ---------------------------------------------------------------------------------------------
class MLPLayer(nn.Module):
    """Linear -> (batch norm) -> activation, with an optional identity shortcut around it."""

    def __init__(self, in_features: int, out_features: int, activation: str, norm: str | None,
                 residual: bool):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.norm = nn.BatchNorm1d(out_features) if norm == "batch" else nn.Identity()
        self.act = ACTIVATIONS[activation]()
        self.residual = residual and in_features == out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.norm(self.linear(x)))
        return x + out if self.residual else out


def init_weights(model: nn.Module, init: str = "default", activation: str = "relu",
                 weight_scale: float = 1.0) -> nn.Module:
    """Re-initialise every Linear and Conv2d weight; biases are set to zero unless init is 'default'.

    'default' keeps PyTorch's own initialisation (uniform, about 1/sqrt(3 fan_in) in scale), 'xavier'
    is Glorot & Bengio (2010) normal, 'kaiming' is He et al. (2015) normal for the given activation.
    ``weight_scale`` then multiplies every weight: above 1 it makes gradients explode.
    """
    check_choice("init", init, INITS)
    check_choice("activation", activation, ACTIVATIONS)
    gain_name = activation if activation in ("sigmoid", "tanh", "relu") else "relu"
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            if init == "xavier":
                nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain(gain_name))
            elif init == "kaiming":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu" if gain_name == "relu" else "linear")
            if init != "default" and m.bias is not None:
                nn.init.zeros_(m.bias)
            if weight_scale != 1.0:
                with torch.no_grad():
                    m.weight.mul_(weight_scale)
    return model


def deep_mlp(depth: int = 50, width: int = 64, activation: str = "sigmoid", init: str = "default",
             norm: str | None = None, residual: bool = False, in_features: int = 784,
             num_classes: int = 10, weight_scale: float = 1.0) -> nn.Sequential:
    """Flatten, then ``depth`` hidden layers of ``width`` units, then a linear classifier.

    ``layers.0`` maps the input to ``width``; with ``residual=True`` every later hidden layer adds
    its input to its output (x + f(x)). Gradient-norm helpers read the layers in order.
    """
    check_int("depth", depth)
    check_int("width", width)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("init", init, INITS)
    check_choice("norm", norm, NORMS)
    if not isinstance(weight_scale, (int, float)) or weight_scale <= 0:
        raise ValueError(f"weight_scale must be a positive number, got {weight_scale!r}")
    layers = [MLPLayer(in_features if i == 0 else width, width, activation, norm, residual)
              for i in range(depth)]
    model = nn.Sequential()
    model.add_module("flatten", nn.Flatten())
    model.add_module("layers", nn.Sequential(*layers))
    model.add_module("head", nn.Linear(width, num_classes))
    return init_weights(model, init, activation, weight_scale)


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


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding 1 and no bias (the batch norm after it has its own shift)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution without bias: projection shortcuts and the ends of a bottleneck."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


def _shortcut(in_channels: int, out_channels: int, stride: int, shortcut: str) -> nn.Module | None:
    """None for the identity; option A pads, B projects when the shape changes, C always projects."""
    check_choice("shortcut", shortcut, SHORTCUTS)
    changes = stride != 1 or in_channels != out_channels
    if shortcut == "C" or (shortcut == "B" and changes):
        return _projection(in_channels, out_channels, stride)
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
                 zero_init_residual: bool = False):
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("out_channels", out_channels)
        check_int("stride", stride)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = _shortcut(in_channels, out_channels, stride, shortcut) if self.residual else None
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
        return F.relu(self.branch(x) + self.shortcut(x))


class PlainBlock(BasicBlock):
    """A :class:`BasicBlock` without its shortcut: out = relu(F(x)). The control in every experiment."""

    residual = False

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__(in_channels, out_channels, stride)


class Bottleneck(nn.Module):
    """1x1 (reduce) -> 3x3 -> 1x1 (expand by ``expansion``), each with batch norm, plus a shortcut.

    As in torchvision ("ResNet v1.5") the stride sits on the 3x3 convolution, not on the first 1x1
    as in the paper: the 1x1 then sees every pixel, which costs FLOPs and gains about 0.5% top-1 on
    ImageNet. Parameter names follow torchvision's ``Bottleneck``.
    """

    def __init__(self, in_channels: int, mid_channels: int, stride: int = 1, expansion: int = 4,
                 zero_init_residual: bool = False):
        super().__init__()
        check_int("in_channels", in_channels)
        check_int("mid_channels", mid_channels)
        check_int("stride", stride)
        check_int("expansion", expansion)
        out_channels = mid_channels * expansion
        self.conv1 = conv1x1(in_channels, mid_channels)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = conv3x3(mid_channels, mid_channels, stride)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv3 = conv1x1(mid_channels, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = _shortcut(in_channels, out_channels, stride, "B")
        if zero_init_residual:
            nn.init.zeros_(self.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + identity)


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
        changes = stride != 1 or in_channels != out_channels
        self.downsample = conv1x1(in_channels, out_channels, stride) if changes else None
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
        self.downsample = conv1x1(in_channels, out_channels, stride=2)
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


def cifar_resnet(depth: int = 20, width: int = 16, residual: bool = True, shortcut: str = "A",
                 in_channels: int = 1, num_classes: int = 10,
                 zero_init_residual: bool = False, stem_stride: int = 1) -> nn.Sequential:
    """The CIFAR-10 network family of He et al. (2015), Section 4.2: depth = 6n + 2.

    A 3x3 stem convolution, three stages of n blocks with ``width``, 2 ``width``, 4 ``width``
    channels (the first block of stages 2 and 3 halves the resolution), global average pooling and a
    linear classifier. ``residual=False`` removes every shortcut and nothing else: the plain network.
    ``stem_stride=2`` (not in the paper) halves the resolution in the stem: the same parameters at a
    quarter of the first stage's cost, which notebook 04's fast CPU recipe uses.
    """
    check_int("depth", depth, minimum=8)
    if (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 (8, 14, 20, 32, 44, 56, 110, ...), got {depth!r}")
    check_int("width", width)
    check_choice("shortcut", shortcut, SHORTCUTS)
    check_choice("stem_stride", stem_stride, (1, 2))
    n = (depth - 2) // 6
    if residual:
        def block(c_in: int, c_out: int, stride: int) -> nn.Module:
            return BasicBlock(c_in, c_out, stride, shortcut, zero_init_residual)
    else:
        block = PlainBlock
    model = nn.Sequential()
    model.add_module("stem", nn.Sequential(conv3x3(in_channels, width, stem_stride), nn.BatchNorm2d(width), nn.ReLU()))
    channels = width
    for stage, out_channels in enumerate((width, 2 * width, 4 * width), start=1):
        model.add_module(f"stage{stage}", make_stage(block, channels, out_channels, n, stride=1 if stage == 1 else 2))
        channels = out_channels
    model.add_module("pool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flatten", nn.Flatten())
    model.add_module("fc", nn.Linear(channels, num_classes))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def plain_cnn(depth: int = 20, width: int = 8, in_channels: int = 1, num_classes: int = 10) -> nn.Sequential:
    """The plain (shortcut-free) network with batch norm of the degradation experiment."""
    return cifar_resnet(depth, width, residual=False, in_channels=in_channels, num_classes=num_classes)


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
