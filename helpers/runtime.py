"""What every notebook starts with: the same random numbers, the experiments' seed, and the best device at hand."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from .checks import check_choice, check_int

DEVICES = ("auto", "cuda", "mps", "cpu")
SEED_VARIABLE = "RESNET_LAB_SEED"


def seed_everything(seed: int = 0) -> int:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and every GPU); return the seed."""
    check_int("seed", seed, minimum=0)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def experiment_seed(default: int = 0) -> int:
    """The seed of the notebooks' training experiments: ``RESNET_LAB_SEED`` if set, else ``default``.

    Trained results are a new draw on every other machine; running a notebook with another seed
    is how this project checks, on one machine, that its claims do not depend on the draw.
    """
    raw = os.environ.get(SEED_VARIABLE, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{SEED_VARIABLE} must be a non-negative integer, got {raw!r}")
    return int(raw)


def pick_device(prefer: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU; other values ask for that device."""
    check_choice("prefer", prefer, DEVICES)
    if prefer in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if prefer in ("auto", "mps") and mps is not None and mps.is_available():
        return torch.device("mps")
    if prefer not in ("auto", "cpu"):
        raise ValueError(f"prefer={prefer!r} but no {prefer} device is available here; use 'auto' or 'cpu'")
    return torch.device("cpu")
