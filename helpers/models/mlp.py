"""Multilayer perceptrons for the vanishing-gradient experiments (notebook 01).

:class:`MLPLayer` (Linear -> batch norm -> activation, optionally with a shortcut), :func:`init_weights`
(default, Xavier or Kaiming, then scaled), :func:`deep_mlp` (a stack of them, plain or residual).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..checks import check_choice, check_int

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU,
}
INITS = ("default", "xavier", "kaiming")
NORMS = (None, "batch")
BRANCHES = ("act_last", "preact", "preact2")


class MLPLayer(nn.Module):
    """Linear -> (batch norm) -> activation, with an optional shortcut around it.

    With ``residual`` (and equal in/out widths) the layer computes ``shortcut_scale * x + alpha * f(x)``:
    ``alpha`` is 1 and fixed when ``branch_scale`` is None, otherwise a learnable scalar that starts
    at ``branch_scale`` (0 is SkipInit / ReZero: every layer starts as the identity).
    ``branch`` says what ``f`` is on a layer with a shortcut: 'act_last' (the default) is
    activation(norm(linear(x))), whose output ends in the activation ("ReLU before addition", He et
    al. 2016b, Fig. 4(c)); 'preact' is linear(activation(norm(x))), the full pre-activation order of
    He et al. 2016b (Fig. 4(e)), whose output ends in a linear layer; 'preact2' is that twice,
    linear2(activation(norm2(linear(activation(norm(x)))))), the two-layer branch of a real
    pre-activation ResNet block. A layer without a shortcut is always Linear -> (batch norm) -> activation.
    """

    def __init__(self, in_features: int, out_features: int, activation: str, norm: str | None,
                 residual: bool, branch_scale: float | None = None, shortcut_scale: float = 1.0,
                 branch: str = "act_last"):
        super().__init__()
        check_choice("branch", branch, BRANCHES)
        self.residual = residual and in_features == out_features
        self.preact = branch in ("preact", "preact2") and self.residual
        self.linear = nn.Linear(in_features, out_features)
        self.second = None                   # 'preact2': the branch's second norm, activation and linear layer
        if branch == "preact2" and self.residual:
            self.second = nn.Sequential(nn.BatchNorm1d(out_features) if norm == "batch" else nn.Identity(),
                                        ACTIVATIONS[activation](), nn.Linear(out_features, out_features))
        norm_features = in_features if self.preact else out_features
        self.norm = nn.BatchNorm1d(norm_features) if norm == "batch" else nn.Identity()
        self.act = ACTIVATIONS[activation]()
        self.shortcut_scale = shortcut_scale
        self.alpha = (nn.Parameter(torch.tensor(float(branch_scale)))
                      if self.residual and branch_scale is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(self.act(self.norm(x))) if self.preact else self.act(self.norm(self.linear(x)))
        if self.second is not None:
            out = self.second(out)
        if not self.residual:
            return out
        if self.alpha is not None:
            out = self.alpha * out
        return (x if self.shortcut_scale == 1.0 else self.shortcut_scale * x) + out


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
             num_classes: int = 10, weight_scale: float = 1.0, branch_scale: float | None = None,
             shortcut_scale: float = 1.0, branch: str = "act_last") -> nn.Sequential:
    """Flatten, then ``depth`` hidden layers of ``width`` units, then a linear classifier.

    ``layers.0`` maps the input to ``width``; with ``residual=True`` every later hidden layer adds
    its input to its output (x + f(x)). Gradient-norm helpers read the layers in order.
    ``branch_scale`` (residual only) multiplies each branch by a learnable scalar starting at that
    value (0: SkipInit, De & Smith 2020; ReZero, Bachlechner et al. 2020); ``shortcut_scale``
    multiplies each shortcut by a constant (0.5 is He et al. 2016's "constant scaling", Table 1).
    ``branch`` (residual only) is each branch's order, see :class:`MLPLayer`: 'act_last' (default) or
    'preact' (x + W act(norm(x)), a branch that ends in a linear layer).
    """
    check_int("depth", depth)
    check_int("width", width)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("init", init, INITS)
    check_choice("norm", norm, NORMS)
    if not isinstance(weight_scale, (int, float)) or weight_scale <= 0:
        raise ValueError(f"weight_scale must be a positive number, got {weight_scale!r}")
    if branch_scale is not None and (isinstance(branch_scale, bool) or not isinstance(branch_scale, (int, float))):
        raise ValueError(f"branch_scale must be None or a number (0 for SkipInit), got {branch_scale!r}")
    if isinstance(shortcut_scale, bool) or not isinstance(shortcut_scale, (int, float)) or shortcut_scale <= 0:
        raise ValueError(f"shortcut_scale must be a positive number, got {shortcut_scale!r}")
    check_choice("branch", branch, BRANCHES)
    if not residual and (branch_scale is not None or shortcut_scale != 1.0 or branch != "act_last"):
        raise ValueError("branch_scale, shortcut_scale and branch need residual=True: a plain network has no branch or shortcut")
    layers = [MLPLayer(in_features if i == 0 else width, width, activation, norm, residual, branch_scale, shortcut_scale,
                       branch) for i in range(depth)]
    model = nn.Sequential()
    model.add_module("flatten", nn.Flatten())
    model.add_module("layers", nn.Sequential(*layers))
    model.add_module("head", nn.Linear(width, num_classes))
    return init_weights(model, init, activation, weight_scale)
