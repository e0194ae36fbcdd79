"""Every network the notebooks use, named as in the papers; one module per family.

``mlp``: :func:`deep_mlp` and its layer (notebook 01). ``cnn``: the residual blocks, the ResNet family
and DenseNet (notebooks 02-06). ``transformer``: :func:`tiny_transformer` (notebook 07). Everything is
importable from here: ``helpers.models.BasicBlock``.
"""
from .cnn import (BLOCKS, SHORTCUTS, BasicBlock, Bottleneck, DenseBlock, DenseLayer, PlainBlock, PoolingResidualBlock,
                  PreActBlock, ResidualBlock, ResNeXtBlock, Transition, ZeroPadShortcut, cifar_resnet, cifar_resnet18,
                  conv1x1, conv3x3, d2l_resnet18, densenet, five_stage_resnet, make_shortcut, make_stage, plain_cnn)
from .mlp import ACTIVATIONS, BRANCHES, INITS, NORMS, MLPLayer, deep_mlp, init_weights
from .transformer import NORM_POSITIONS, TokenEmbedding, TransformerBlock, sequence_loss, tiny_transformer

__all__ = [
    "ACTIVATIONS", "BRANCHES", "INITS", "NORMS", "MLPLayer", "deep_mlp", "init_weights",
    "BLOCKS", "SHORTCUTS", "BasicBlock", "Bottleneck", "DenseBlock", "DenseLayer", "PlainBlock", "PoolingResidualBlock",
    "PreActBlock", "ResidualBlock", "ResNeXtBlock", "Transition", "ZeroPadShortcut", "cifar_resnet", "cifar_resnet18",
    "conv1x1", "conv3x3", "d2l_resnet18", "densenet", "five_stage_resnet", "make_shortcut", "make_stage", "plain_cnn",
    "NORM_POSITIONS", "TokenEmbedding", "TransformerBlock", "sequence_loss", "tiny_transformer",
]
