"""The fresh networks notebooks 01 and 07 and the explorer measure: seeded, per layer or per block."""
import pytest
import torch

from helpers import experiments


def test_mlp_gradient_norms_is_seeded_and_leaves_the_global_random_state_alone():
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = experiments.mlp_gradient_norms(x, y, depth=5, width=8)
    assert torch.equal(torch.get_rng_state(), before)
    assert a == experiments.mlp_gradient_norms(x, y, depth=5, width=8)
    assert a != experiments.mlp_gradient_norms(x, y, depth=5, width=8, seed=1)
    assert len(a) == 6 and all(isinstance(v, float) for v in a.values())
    with pytest.raises(ValueError, match="dtype must be"):
        experiments.mlp_gradient_norms(x, y, depth=5, dtype=torch.int64)


def test_transformer_gradient_norms_are_seeded_and_per_block():
    a = experiments.transformer_gradient_norms(3, "post", seed=1)
    assert list(a) == ["blocks.0.fc2", "blocks.1.fc2", "blocks.2.fc2"]
    assert a == experiments.transformer_gradient_norms(3, "post", seed=1)
    assert a != experiments.transformer_gradient_norms(3, "pre", seed=1)
    with pytest.raises(ValueError, match="norm must be one of"):
        experiments.transformer_gradient_norms(3, "both")
