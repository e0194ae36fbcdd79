"""Lesions, unravelled paths and loss-landscape slices, each on a tiny network (helpers.analysis)."""
import copy
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from helpers import analysis, models


def tiny(residual: bool = True, shortcut: str = "A") -> nn.Sequential:
    torch.manual_seed(0)
    model = models.cifar_resnet(8, 4, residual=residual, shortcut=shortcut)  # 3 blocks, one per stage
    model.eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so eval mode is not the identity
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(1)
    return torch.randn(12, 1, 8, 8, generator=gen), torch.randint(0, 10, (12,), generator=gen)


# --- blocks and lesions ------------------------------------------------------------------------
def test_blocks_and_lesionable():
    res, plain = tiny(True), tiny(False)
    assert list(analysis.blocks_of(res)) == ["stage1.0", "stage2.0", "stage3.0"]
    assert [analysis.keeps_shape(b) for b in analysis.blocks_of(res).values()] == [True, False, False]
    assert analysis.lesionable(res) == ["stage1.0", "stage2.0", "stage3.0"]
    assert analysis.lesionable(plain) == ["stage1.0"]
    with pytest.raises(ValueError, match="BasicBlock"):
        analysis.blocks_of(nn.Linear(2, 2))


def test_lesion_replaces_block_by_its_shortcut_and_restores_it(batch):
    x, _ = batch
    model = tiny(True)
    block = model.stage2[0]
    before = model(x)
    with analysis.lesioned(model, "stage2.0"):
        assert model.stage2[0] is block.downsample          # option A: the parameter-free shortcut
        h = model.stem(x)
        h = model.stage1(h)
        expected = model.fc(model.flatten(model.pool(model.stage3(block.downsample(h)))))
        assert torch.allclose(model(x), expected)
        assert not torch.allclose(model(x), before)
    assert model.stage2[0] is block
    assert torch.equal(model(x), before)
    with analysis.lesioned(model, ["stage1.0"]):
        assert isinstance(model.stage1[0], nn.Identity)


def test_lesion_restores_on_error_and_rejects_bad_names(batch):
    x, _ = batch
    model = tiny(True)
    block = model.stage1[0]
    with pytest.raises(RuntimeError):
        with analysis.lesioned(model, "stage1.0"):
            raise RuntimeError("boom")
    assert model.stage1[0] is block
    with pytest.raises(ValueError, match="stage1.0"):
        with analysis.lesioned(model, "stage9.0"):
            pass
    with pytest.raises(ValueError, match="lesionable"):
        with analysis.lesioned(tiny(False), "stage2.0"):
            pass


def test_lesion_study_matches_manual_accuracy(batch):
    x, y = batch
    model = tiny(True)
    result = analysis.lesion_study(model, x, y)
    assert list(result) == ["none", "stage1.0", "stage2.0", "stage3.0"]
    with torch.no_grad():
        assert result["none"] == pytest.approx((model(x).argmax(1) == y).float().mean().item())
        model.stage3[0] = model.stage3[0].downsample
        manual = (model(x).argmax(1) == y).float().mean().item()
    assert result["stage3.0"] == pytest.approx(manual)
    assert all(0.0 <= v <= 1.0 for v in result.values())
    with pytest.raises(ValueError, match="equal length"):
        analysis.accuracy(model, x, y[:3])


# --- unravelled paths --------------------------------------------------------------------------
def test_path_counts_are_binomial():
    assert analysis.path_counts(3) == [1, 3, 3, 1]
    assert sum(analysis.path_counts(9)) == 2 ** 9
    with pytest.raises(ValueError, match="n must be"):
        analysis.path_counts(-1)


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_block_forward_equals_block(batch, shortcut):
    x, _ = batch
    model = tiny(True, shortcut)
    h = model.stage1(model.stem(x))
    block = model.stage2[0]
    for through in (None, True, False):
        assert torch.allclose(analysis.block_forward(block, h, through), block(h), atol=1e-6)
    with pytest.raises(ValueError, match="residual"):
        analysis.block_forward(tiny(False).stage1[0], h)


def test_single_path_gradients_sum_to_full_gradient_without_final_relu():
    """Without the ReLU after each sum, and with a linear readout, the gradient is exactly the sum
    over the 2^n paths: the 8 single-path gradients of 3 blocks must add up to the full one."""
    torch.manual_seed(0)
    model = models.cifar_resnet(8, 4, residual=True, shortcut="B").double().eval()
    h0 = torch.randn(3, 4, 8, 8, dtype=torch.double, requires_grad=True)
    blocks = list(analysis.blocks_of(model).values())
    full = torch.autograd.grad(_linear_readout(blocks, h0, [None] * 3), h0)[0]
    paths = [torch.autograd.grad(_linear_readout(blocks, h0, [bool(i >> j & 1) for j in range(3)]), h0)[0]
             for i in range(8)]
    assert torch.allclose(sum(paths), full, atol=1e-10)
    assert not torch.allclose(paths[0], full)


def _linear_readout(blocks, h0, pattern):
    h = h0
    for b, through in zip(blocks, pattern):
        xb = h.detach() if through is False else h
        xs = h.detach() if through is True else h
        h = b.branch(xb) + b.shortcut(xs)
    return h.sum()


def test_single_path_keeps_forward_values_and_restores(batch):
    x, _ = batch
    model = tiny(True)
    before = model(x)
    with analysis.single_path(model, [True, False, True]):
        assert torch.allclose(model(x), before, atol=1e-6)
    assert all("forward" not in b.__dict__ for b in analysis.blocks_of(model).values())
    with pytest.raises(ValueError, match="one entry per block"):
        with analysis.single_path(model, [True]):
            pass


def test_path_gradients_on_tiny_model(batch):
    x, y = batch
    model = tiny(True)
    pg = analysis.path_gradients(model, x, y, paths_per_length=8)
    assert list(pg.lengths) == [0, 1, 2, 3]
    assert list(pg.counts) == [1, 3, 3, 1]
    assert list(pg.sampled) == [1, 3, 3, 1]                 # few enough paths: all enumerated
    assert np.all(pg.per_path > 0)
    assert pg.share.sum() == pytest.approx(1.0)
    assert 0 <= pg.mean_length <= 3
    # The length-0 path runs through shortcuts only; check it against a direct computation.
    model.eval()
    h = model.stem(x).detach().requires_grad_(True)
    out = h
    for b in analysis.blocks_of(model).values():
        out = analysis.block_forward(b, out, through_branch=False)
    loss = F.cross_entropy(model.fc(model.flatten(model.pool(out))), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, h)
    assert pg.per_path[0] == pytest.approx(g.flatten(1).norm(dim=1).mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match="residual"):
        analysis.path_gradients(tiny(False), x, y)
    with pytest.raises(ValueError, match="paths_per_length"):
        analysis.path_gradients(model, x, y, paths_per_length=0)


# --- loss landscape ----------------------------------------------------------------------------
def test_filter_normalized_direction():
    model = tiny(True)
    d = analysis.filter_normalized_direction(model, seed=3)
    for p, t in zip(model.parameters(), d):
        assert t.shape == p.shape
        if p.dim() <= 1:
            assert torch.count_nonzero(t) == 0
        else:
            assert torch.allclose(t.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1), rtol=1e-4)
    again = analysis.filter_normalized_direction(model, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(d, again))


def test_loss_slices(batch):
    x, y = batch
    model = tiny(True)
    weights = [p.detach().clone() for p in model.parameters()]
    d1 = analysis.filter_normalized_direction(model, seed=0)
    d2 = analysis.filter_normalized_direction(model, seed=1)
    alphas = np.linspace(-1, 1, 5)
    line = analysis.loss_slice_1d(model, d1, x, y, alphas)
    with torch.no_grad():
        centre = F.cross_entropy(model(x), y).item()
    assert line.shape == (5,) and line[2] == pytest.approx(centre, rel=1e-5)
    surface = analysis.loss_surface_2d(model, [d1, d2], x, y, alphas, alphas[:3])
    assert surface.shape == (3, 5)
    assert surface[2, 2] == pytest.approx(centre, rel=1e-5)      # beta = 0, alpha = 0
    np.testing.assert_allclose(surface[2], line, rtol=1e-5)       # the beta = 0 row is the 1-D slice
    with torch.no_grad():                                        # one grid point by hand
        for p, u, v in zip(model.parameters(), d1, d2):
            p.add_(-1.0 * u - 0.5 * v)
        by_hand = F.cross_entropy(model(x), y).item()
        for p, w in zip(model.parameters(), weights):
            p.copy_(w)
    assert surface[1, 0] == pytest.approx(by_hand, rel=1e-5)
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights))
    with pytest.raises(ValueError, match="directions"):
        analysis.loss_surface_2d(model, [d1[:-1]], x, y, alphas)
    with pytest.raises(ValueError, match="betas"):
        analysis.loss_surface_2d(model, [d1, d2], x, y, alphas)


def test_loss_slice_with_recomputed_batch_norm_statistics(batch):
    x, y = batch
    model = tiny(True)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    d1 = analysis.filter_normalized_direction(model, seed=0)
    line = analysis.loss_slice_1d(model, d1, x, y, [-1.0, 0.0], batch_norm="recomputed")
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())   # weights and statistics restored
    by_hand = copy.deepcopy(model)
    with torch.no_grad():
        for p, u in zip(by_hand.parameters(), d1):
            p.add_(-1.0 * u)
        analysis.calibrate_batch_norm(by_hand, x)
        expected = F.cross_entropy(by_hand(x), y).item()
    assert line[0] == pytest.approx(expected, rel=1e-5)
    assert line[1] != pytest.approx(analysis.loss_slice_1d(model, d1, x, y, [0.0])[0], rel=1e-6)   # not the stored statistics
    with pytest.raises(ValueError, match="batch_norm must be one of"):
        analysis.loss_slice_1d(model, d1, x, y, [0.0], batch_norm="train")


def test_width_below_and_local_minima():
    alphas = np.linspace(-1, 1, 5)
    assert analysis.width_below(alphas, [5, 1, 0, 1, 5], 2) == pytest.approx(1.0)
    assert analysis.width_below(alphas, [5, 1, 0, 1, 1.5], 2) == pytest.approx(1.5)
    assert analysis.width_below(alphas, [5, 5, 3, 5, 5], 2) == 0.0
    assert analysis.local_minima([3, 1, 2, 0.5, 4]) == 2
    assert analysis.local_minima([3, 2, 1, 2, 3]) == 1
    with pytest.raises(ValueError, match="equal length"):
        analysis.width_below(alphas, [1, 2], 1)
    assert math.isclose(analysis.width_below(alphas, [0, 1, 1, 1, 0], 2), 2.0)


# --- shattered gradients -------------------------------------------------------------------------
def one_input_net(depth: int = 3, residual: bool = False, norm: str | None = "batch") -> nn.Sequential:
    torch.manual_seed(0)
    kwargs = {"branch": "preact"} if residual else {}
    return models.deep_mlp(depth, 16, "relu", "kaiming", norm, residual, in_features=1, num_classes=1, **kwargs).double()


def test_calibrate_batch_norm_uses_the_batch_statistics_and_keeps_momentum():
    net = one_input_net()
    bn = net.layers[0].norm
    bn.momentum = 0.3
    x = torch.linspace(-2, 2, 64, dtype=torch.float64).unsqueeze(1)
    assert analysis.calibrate_batch_norm(net, x) is net and not net.training and bn.momentum == 0.3
    with torch.no_grad():
        pre = net.layers[0].linear(x)
    assert torch.allclose(bn.running_mean, pre.mean(0)) and torch.allclose(bn.running_var, pre.var(0, unbiased=False))
    with torch.no_grad():   # eval mode now normalises as train mode did on that batch
        assert torch.allclose(net(x), net.train()(x))


def test_input_gradients_match_finite_differences_and_need_eval_mode():
    net = one_input_net(4, residual=True)
    x = torch.linspace(-2, 2, 32, dtype=torch.float64).unsqueeze(1)
    analysis.calibrate_batch_norm(net, x)
    g = analysis.input_gradients(net, x)
    eps = 1e-6
    with torch.no_grad():
        numeric = ((net(x + eps) - net(x - eps)) / (2 * eps)).squeeze(1).numpy()
    assert g.shape == (32,) and np.allclose(g, numeric, atol=1e-6)
    with pytest.raises(ValueError, match="eval mode"):
        analysis.input_gradients(net.train(), x)
    net.eval()
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        analysis.input_gradients(net, x[:, 0])
    wide = models.deep_mlp(2, 8, "relu", in_features=3, num_classes=1).double().eval()
    assert analysis.input_gradients(wide, torch.randn(5, 3, dtype=torch.float64)).shape == (5, 3)
    with pytest.raises(ValueError, match="one number"):
        analysis.input_gradients(models.deep_mlp(2, 8, "relu", in_features=1, num_classes=2).double().eval(), x)


def test_lag_correlation_of_known_series():
    assert analysis.lag_correlation(np.ones(10), [0, 1, 5]).tolist() == pytest.approx([1.0, 1.0, 1.0])
    alternating = np.array([1.0, -1.0] * 5)
    assert analysis.lag_correlation(alternating, [1, 2]).tolist() == pytest.approx([-1.0, 1.0])
    # pooled over rows: the sums run over both rows, so the result is not the mean of the two rows' values
    rows = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 1.0]])
    assert analysis.lag_correlation(rows, 1)[0] == pytest.approx(0.0)
    white = np.random.default_rng(0).standard_normal((20, 500))
    assert abs(analysis.lag_correlation(white, 1)[0]) < 0.02
    assert analysis.lag_correlation(white.cumsum(axis=1), 1)[0] > 0.95
    for bad, match in ((np.ones(3), "lag must be smaller"), (np.ones((2, 2, 2)), "one series")):
        with pytest.raises(ValueError, match=match):
            analysis.lag_correlation(bad, 3)
    with pytest.raises(ValueError, match="lag must be"):
        analysis.lag_correlation(np.ones(5), -1)


def test_neighbour_coactivation_counts_units_on_at_both_inputs():
    net = nn.Sequential(nn.Linear(1, 2, bias=False), nn.ReLU()).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
    x = torch.tensor([[-1.0], [1.0], [2.0]], dtype=torch.float64)
    # unit 0 is on at x = 1, 2; unit 1 at x = -1: pairs (-1, 1) share nothing, (1, 2) share unit 0
    assert analysis.neighbour_coactivation(net, x).tolist() == pytest.approx([0.25])
    assert net.training   # its mode is restored
    with pytest.raises(ValueError, match="ReLU"):
        analysis.neighbour_coactivation(nn.Linear(1, 1), x)
