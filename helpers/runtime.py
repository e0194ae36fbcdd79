"""The two lines every notebook starts with: the same random numbers, and the best device at hand."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

DEVICES = ("auto", "cuda", "mps", "cpu")


def seed_everything(seed: int = 0) -> int:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and every GPU); return the seed."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def pick_device(prefer: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU; other values ask for that device."""
    if prefer not in DEVICES:
        raise ValueError(f"prefer must be one of {list(DEVICES)}, got {prefer!r}")
    if prefer in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if prefer in ("auto", "mps") and mps is not None and mps.is_available():
        return torch.device("mps")
    if prefer not in ("auto", "cpu"):
        raise ValueError(f"prefer={prefer!r} but no {prefer} device is available here; use 'auto' or 'cpu'")
    return torch.device("cpu")
