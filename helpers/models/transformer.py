"""A small transformer: attention and MLP blocks around a residual stream (notebook 07).

:class:`TransformerBlock` (pre-LN or post-LN), :class:`TokenEmbedding`, :func:`tiny_transformer`,
:func:`sequence_loss`.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..checks import check_choice, check_int

NORM_POSITIONS = ("pre", "post")


class TransformerBlock(nn.Module):
    """Self-attention and an MLP, each added to the residual stream, with layer norm placed
    ``'pre'`` (inside each branch, before it: x + f(LN(x)); GPT-2 and most models since) or
    ``'post'`` (after each addition: LN(x + f(x)); the original transformer of Vaswani et al. 2017).
    """

    def __init__(self, d_model: int, heads: int, norm: str = "pre", mlp_ratio: int = 4):
        super().__init__()
        check_int("d_model", d_model)
        check_int("heads", heads)
        check_choice("norm", norm, NORM_POSITIONS)
        if d_model % heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by heads, got {heads!r}")
        self.heads, self.norm = heads, norm
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.fc1 = nn.Linear(d_model, mlp_ratio * d_model)
        self.fc2 = nn.Linear(mlp_ratio * d_model, d_model)
        self.ln1 = nn.LayerNorm(d_model)
        self.ln2 = nn.LayerNorm(d_model)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Multi-head self-attention over the sequence (every position sees every other)."""
        batch, length, d = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)          # (batch, heads, length, d / heads)
        return self.proj(out.transpose(1, 2).reshape(batch, length, d))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm == "pre":
            x = x + self.attention(self.ln1(x))
            return x + self.mlp(self.ln2(x))
        x = self.ln1(x + self.attention(x))
        return self.ln2(x + self.mlp(x))


def tiny_transformer(depth: int = 6, d_model: int = 32, heads: int = 4, norm: str = "pre", vocab: int = 16,
                     max_len: int = 16) -> nn.Sequential:
    """Token and position embeddings, ``depth`` :class:`TransformerBlock` s, a linear head per position.

    Input: token ids of shape (batch, length <= ``max_len``); output: logits (batch, length, vocab).
    A pre-LN stack ends with a final layer norm (nothing else normalises its stream); post-LN does not
    need one. Linear weights start Xavier-uniform with zero biases, as in the original transformer that
    Xiong et al. (2020) analyse; embeddings start small (standard deviation 0.02, as in GPT-2).
    """
    check_int("depth", depth)
    check_int("vocab", vocab, minimum=2)
    check_int("max_len", max_len)
    check_choice("norm", norm, NORM_POSITIONS)
    model = nn.Sequential()
    model.add_module("embed", TokenEmbedding(vocab, d_model, max_len))
    model.add_module("blocks", nn.Sequential(*[TransformerBlock(d_model, heads, norm) for _ in range(depth)]))
    model.add_module("final_ln", nn.LayerNorm(d_model) if norm == "pre" else nn.Identity())
    model.add_module("head", nn.Linear(d_model, vocab))
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
    return model


class TokenEmbedding(nn.Module):
    """A learned vector per token id plus a learned vector per position."""

    def __init__(self, vocab: int, d_model: int, max_len: int):
        super().__init__()
        self.tokens = nn.Embedding(vocab, d_model)
        self.positions = nn.Embedding(max_len, d_model)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dim() != 2 or ids.shape[1] > self.positions.num_embeddings:
            raise ValueError(f"ids must be (batch, length <= {self.positions.num_embeddings}), got {tuple(ids.shape)}")
        return self.tokens(ids) + self.positions(torch.arange(ids.shape[1], device=ids.device))


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over every position: logits (batch, length, vocab), targets (batch, length)."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())
