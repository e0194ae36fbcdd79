import random

import numpy as np
import pytest
import torch

from helpers import pick_device, seed_everything


def draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_same_seed_same_numbers_other_seed_other_numbers():
    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first
    seed_everything(8)
    assert draw() != first


def test_seed_must_be_a_non_negative_int():
    for bad in (-1, 1.5, "0", True):
        with pytest.raises(ValueError, match="seed"):
            seed_everything(bad)


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"prefer must be one of \['auto', 'cuda', 'mps', 'cpu'\]"):
        pick_device("tpu")


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert pick_device() == torch.device(expected)
    assert pick_device("cpu") == torch.device("cpu")


def test_asking_for_a_missing_device_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for prefer in ("cuda", "mps"):
        with pytest.raises(ValueError, match=f"prefer='{prefer}' but no {prefer} device"):
            pick_device(prefer)
