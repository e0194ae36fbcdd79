"""Shared fixtures. Tests run on the CPU with few threads, so they stay quick on a 2-core machine."""
import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
    import matplotlib.pyplot as plt
    plt.close("all")
