"""Per-layer gradient norms, checked against gradients worked out by hand."""
import pytest
import torch
from torch import nn

from helpers import gradients, models, training


def tiny_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))


def test_gradient_norms_match_a_hand_computed_gradient():
    net = tiny_net()
    x, y = torch.randn(5, 3), torch.randn(5, 1)
    norms = gradients.gradient_norms(net, x, y, loss_fn=nn.functional.mse_loss)
    assert list(norms) == ["0", "2"]
    # By hand: L = mean((W2 h + b2 - y)^2), h = tanh(W1 x + b1).
    w1, b1, w2, b2 = (p.detach() for p in net.parameters())
    h = torch.tanh(x @ w1.T + b1)
    d_out = 2 * (h @ w2.T + b2 - y) / len(x)          # dL/d(output), (5, 1)
    grad_w2 = d_out.T @ h                              # (1, 2)
    d_pre = (d_out @ w2) * (1 - h ** 2)                # dL/d(W1 x + b1), (5, 2)
    grad_w1 = d_pre.T @ x                              # (2, 3)
    assert norms["2"] == pytest.approx(grad_w2.norm().item(), rel=1e-5)
    assert norms["0"] == pytest.approx(grad_w1.norm().item(), rel=1e-5)


def test_output_gradients_and_hooks_removed():
    net = tiny_net()
    x, y = torch.randn(5, 3), torch.randn(5, 1)
    norms = gradients.gradient_norms(net, x, y, loss_fn=nn.functional.mse_loss, wrt="outputs", layers=["1", "2"])
    w2, b2 = net[2].weight.detach(), net[2].bias.detach()
    h = torch.tanh(net[0](x)).detach()
    d_out = 2 * (h @ w2.T + b2 - y) / len(x)
    assert norms["2"] == pytest.approx(d_out.norm().item(), rel=1e-5)
    assert norms["1"] == pytest.approx((d_out @ w2).norm().item(), rel=1e-5)
    assert all(not m._forward_hooks for m in net.modules())


def test_bad_arguments_name_the_accepted_values():
    net = tiny_net()
    x, y = torch.randn(5, 3), torch.randn(5, 1)
    with pytest.raises(ValueError, match=r"wrt must be one of \['weights', 'outputs'\]"):
        gradients.gradient_norms(net, x, y, wrt="inputs")
    with pytest.raises(ValueError, match="layers has names the model does not have"):
        gradients.gradient_norms(net, x, y, layers=["nope"])


def test_output_hooks_are_removed_when_the_forward_pass_raises():
    net = tiny_net()
    with pytest.raises(RuntimeError):
        with gradients.output_gradient_hooks(net, ["0", "2"]):
            net(torch.randn(5, 4))  # wrong input width
    assert all(not m._forward_hooks for m in net.modules())


def test_first_last_ratio_shows_vanishing_in_a_deep_sigmoid_mlp():
    torch.manual_seed(0)
    net = models.deep_mlp(depth=30, width=32, activation="sigmoid")
    norms = gradients.gradient_norms(net, torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,)))
    assert len(norms) == 31 and gradients.first_last_ratio(norms) < 1e-4


def test_recorder_records_every_k_steps_and_removes_its_hook():
    net = tiny_net()
    opt = training.make_optimizer(net, "sgd", lr=0.1)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    with gradients.GradientRecorder(net, opt, every=3) as rec:
        for _ in range(7):
            opt.zero_grad()
            nn.functional.mse_loss(net(x), y).backward()
            expected_last = net[2].weight.grad.norm().item()
            opt.step()
    assert rec.steps == [0, 3, 6]
    assert rec.matrix().shape == (2, 3)
    assert rec.norms["2"][-1] == pytest.approx(expected_last)
    assert not opt._optimizer_step_pre_hooks


def test_recorder_hook_is_removed_when_training_raises():
    net = tiny_net()
    opt = training.make_optimizer(net, "sgd", lr=0.1)
    with pytest.raises(RuntimeError):
        with gradients.GradientRecorder(net, opt, every=1):
            net(torch.randn(8, 5))  # the forward pass fails
    assert not opt._optimizer_step_pre_hooks
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        gradients.GradientRecorder(net, opt, every=0)


def test_notebook_01_inline_mlp_and_norms_match_the_helpers():
    """Notebook 01 builds the sigmoid MLP and the norm measurement by hand, then uses helpers."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "notebooks" / "01_vanishing_gradients.ipynb"
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    defining = [c for c in cells if "def sigmoid_mlp" in c and "def weight_gradient_norms" in c]
    assert len(defining) == 1, "notebook 01 should define both functions in one cell"
    namespace = {"nn": nn, "torch": torch}
    exec(compile(defining[0], str(path), "exec"), namespace)
    x, y = torch.randn(8, 1, 28, 28, dtype=torch.float64), torch.randint(0, 10, (8,))
    torch.manual_seed(3)
    by_hand = namespace["weight_gradient_norms"](namespace["sigmoid_mlp"](6, width=16).double(), x, y)
    torch.manual_seed(3)
    helper = gradients.gradient_norms(models.deep_mlp(6, 16, "sigmoid").double(), x, y)
    assert by_hand == list(helper.values()) and len(by_hand) == 7
