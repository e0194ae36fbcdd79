"""helpers.training: the loop fits a tiny synthetic problem; its options and outputs behave."""
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers.gradients import GradientRecorder
from helpers.models import cifar_resnet
from helpers.training import (History, confusion_matrix, count_parameters, evaluate, make_optimizer, predict,
                              train)


def blobs(n: int = 256, seed: int = 0) -> TensorDataset:
    """Two well-separated Gaussian blobs in 2-D: any working training loop fits them."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.5 + (y[:, None].float() * 2 - 1) * 2
    return TensorDataset(x, y)


def tiny_images(n: int = 64, seed: int = 0) -> TensorDataset:
    """Images whose class is which half (left or right) is bright."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 1, 8, 8, generator=g) * 0.1
    x[y == 0, :, :, :4] += 1
    x[y == 1, :, :, 4:] += 1
    return TensorDataset(x, y)


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))


@pytest.mark.parametrize("schedule", ["constant", "onecycle", "cosine"])
def test_train_fits_a_tiny_problem(schedule):
    data = blobs()
    loader = DataLoader(data, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    model = mlp()
    before = evaluate(model, DataLoader(data, batch_size=256))
    history = train(model, loader, epochs=5, lr=0.1, schedule=schedule, test_loader=DataLoader(data, 256))
    loss, accuracy = evaluate(model, DataLoader(data, batch_size=256))
    assert isinstance(history, History)
    assert accuracy > 0.97 and loss < before[0] / 2
    assert len(history.step_loss) == 5 * len(loader) and len(history.epoch_loss) == 5
    assert history.test_accuracy[-1] == pytest.approx(accuracy)
    assert history.final_loss < history.epoch_loss[0]
    assert 0 < history.seconds < 60


def test_train_with_all_recipe_ingredients_on_a_cnn():
    data = tiny_images()
    model = cifar_resnet(8, 4, in_channels=1, num_classes=2, zero_init_residual=True)
    history = train(model, DataLoader(data, batch_size=16), epochs=4, lr=0.2, schedule="onecycle",
                    label_smoothing=0.1, flip=False, channels_last=True)
    assert np.isfinite(history.step_loss).all()
    assert history.final_loss < history.epoch_loss[0]


class Spy(nn.Module):
    """A linear model on 8x8 images that records every input batch, its memory format and the lr."""

    def __init__(self, optimizer_holder: list | None = None, in_features: int = 64):
        super().__init__()
        self.fc = nn.Linear(in_features, 2)
        self.inputs, self.channels_last, self.lrs = [], [], []
        self.holder = optimizer_holder

    def forward(self, x):
        if self.training:
            self.inputs.append(x.detach().clone())
            self.channels_last.append(x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous())
            if self.holder:
                self.lrs.append(self.holder[0].param_groups[0]["lr"])
        return self.fc(x.flatten(1))


def test_flip_mirrors_about_half_of_each_batch():
    data = tiny_images(64)
    spy = Spy()
    torch.manual_seed(0)
    train(spy, DataLoader(data, batch_size=64), flip=True)
    seen, original = spy.inputs[0], data.tensors[0]
    flipped = (seen == original.flip(-1)).flatten(1).all(1)
    kept = (seen == original).flatten(1).all(1)
    assert bool((flipped | kept).all()) and 16 < int(flipped.sum()) < 48
    spy_off = Spy()
    train(spy_off, DataLoader(data, batch_size=64), flip=False)
    assert torch.equal(spy_off.inputs[0], original)


def test_flip_tta_averages_the_logits_of_an_image_and_its_mirror():
    data = tiny_images(16)
    model = Spy().eval()
    x = data.tensors[0]
    expected = ((model(x) + model(x.flip(-1))) / 2).argmax(1)
    predicted_right = (expected == data.tensors[1]).float().mean().item()
    _, acc = evaluate(model, DataLoader(data, batch_size=16), flip_tta=True)
    assert acc == pytest.approx(predicted_right)


def test_channels_last_reaches_the_model():
    rgb = TensorDataset(torch.randn(16, 3, 4, 4), torch.arange(16) % 2)   # 3 channels: the formats differ
    for channels_last in (False, True):
        spy = Spy(in_features=48)
        train(spy, DataLoader(rgb, batch_size=8), channels_last=channels_last)
        assert spy.channels_last == [channels_last] * 2


@pytest.mark.parametrize("schedule", ["constant", "onecycle", "cosine"])
def test_the_schedule_shapes_the_learning_rate(schedule):
    holder: list = []
    spy = Spy(holder)
    holder.append(make_optimizer(spy, lr=0.4))
    train(spy, DataLoader(tiny_images(64), batch_size=4), epochs=2, optimizer=holder[0], lr=0.4, schedule=schedule)
    lrs = spy.lrs
    assert len(lrs) == 32
    if schedule == "constant":
        assert lrs == [0.4] * 32
    elif schedule == "onecycle":   # warm up over the first quarter to the peak, then down to ~0
        peak = int(np.argmax(lrs))
        assert lrs[0] < 0.04 and lrs[-1] < 0.04 and max(lrs) == pytest.approx(0.4, rel=1e-3) and 6 <= peak <= 9
    else:                          # cosine: from the peak straight down
        assert lrs[0] == pytest.approx(0.4) and all(a >= b for a, b in zip(lrs, lrs[1:])) and lrs[-1] < 0.01


def test_train_is_reproducible_with_a_seed():
    def run():
        torch.manual_seed(0)
        model = mlp()
        loader = DataLoader(blobs(), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
        return train(model, loader, epochs=2, lr=0.1).step_loss
    assert run() == run()


def test_train_accepts_a_hooked_optimizer():
    model = mlp()
    opt = make_optimizer(model, lr=0.1)
    loader = DataLoader(blobs(64), batch_size=16)
    with GradientRecorder(model, opt, every=2) as rec:
        train(model, loader, epochs=2, optimizer=opt)
    assert rec.steps == [0, 2, 4, 6]
    assert rec.matrix().shape == (2, 4) and (rec.matrix() > 0).all()


@pytest.mark.parametrize("kwargs, name", [
    (dict(epochs=0), "epochs"), (dict(epochs=1.5), "epochs"), (dict(schedule="step"), "schedule"),
    (dict(label_smoothing=1.0), "label_smoothing"), (dict(optimizer="rmsprop"), "optimizer"),
])
def test_train_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        train(mlp(), DataLoader(blobs(32), batch_size=16), **kwargs)


def test_evaluate_and_predict_restore_the_mode_and_agree():
    model = mlp().train()
    loader = DataLoader(blobs(100), batch_size=32)
    _, accuracy = evaluate(model, loader)
    predicted, labels = predict(model, loader)
    assert model.training
    assert accuracy == pytest.approx((predicted == labels).float().mean().item())


def test_confusion_matrix_counts_pairs():
    predicted = torch.tensor([0, 1, 1, 2, 2, 2])
    labels = torch.tensor([0, 1, 2, 2, 2, 0])
    cm = confusion_matrix(predicted, labels, num_classes=3)
    assert cm.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    assert cm.sum() == 6
    with pytest.raises(ValueError, match="same shape"):
        confusion_matrix(predicted, labels[:3])


def test_count_parameters_matches_table_6_of_he_et_al():
    paper = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}
    for depth, millions in paper.items():
        assert f"{count_parameters(cifar_resnet(depth, in_channels=3)) / 1e6:.2g}" == f"{millions:.2g}"


def _tiny_run(tmp_path, monkeypatch, width=4):
    from torch.utils.data import DataLoader, TensorDataset
    from helpers import training
    monkeypatch.setattr(training, "CACHE_DIR", tmp_path / "cache")
    x, y = torch.randn(32, 1, 8, 8, generator=torch.Generator().manual_seed(0)), torch.arange(32) % 10
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=torch.Generator())
    torch.manual_seed(0)
    model = cifar_resnet(8, width)
    return training, model, loader


def test_train_or_load_trains_once_then_loads_the_same_weights(tmp_path, monkeypatch):
    training, model, loader = _tiny_run(tmp_path, monkeypatch)
    first = training.train_or_load("tiny", model, loader, seed=0, epochs=1, lr=0.1)
    assert len(list((tmp_path / "cache").glob("tiny-*.pt"))) == 1
    _, again, loader2 = _tiny_run(tmp_path, monkeypatch)
    calls = []
    monkeypatch.setattr(training, "train", lambda *a, **k: calls.append(1))
    second = training.train_or_load("tiny", again, loader2, seed=0, epochs=1, lr=0.1)
    assert not calls, "an identical run must be loaded, not trained"
    assert second.epoch_loss == first.epoch_loss
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert training.clear_cache() == 1 and not list((tmp_path / "cache").glob("*.pt"))


def test_train_or_load_key_covers_settings_seed_and_model(tmp_path, monkeypatch):
    training, model, loader = _tiny_run(tmp_path, monkeypatch)
    training.train_or_load("tiny", model, loader, seed=0, epochs=1, lr=0.1)
    for change in ({"seed": 1, "lr": 0.1}, {"seed": 0, "lr": 0.2}):
        _, fresh, loader2 = _tiny_run(tmp_path, monkeypatch)
        training.train_or_load("tiny", fresh, loader2, epochs=1, **change)
    _, wider, loader3 = _tiny_run(tmp_path, monkeypatch, width=6)
    training.train_or_load("tiny", wider, loader3, seed=0, epochs=1, lr=0.1)
    assert len(list((tmp_path / "cache").glob("tiny-*.pt"))) == 4


def test_train_or_load_cache_can_be_switched_off(tmp_path, monkeypatch):
    training, model, loader = _tiny_run(tmp_path, monkeypatch)
    monkeypatch.setenv("RESNET_LAB_CACHE", "0")
    training.train_or_load("tiny", model, loader, seed=0, epochs=1, lr=0.1)
    assert not (tmp_path / "cache").exists()
    with pytest.raises(ValueError, match="name must be"):
        training.train_or_load("no spaces", model, loader, seed=0)


def test_eval_mode_restores_each_module_also_on_error():
    from helpers.training import eval_mode
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2)).train()
    model[2].eval()                       # a mixed state: must come back exactly as it was
    before = [m.training for m in model.modules()]
    with pytest.raises(RuntimeError):
        with eval_mode(model):
            assert not any(m.training for m in model.modules())
            raise RuntimeError("inside")
    assert [m.training for m in model.modules()] == before


def test_evaluate_takes_tensors_like_a_loader():
    data = blobs(100)
    model = mlp()
    by_loader = evaluate(model, DataLoader(data, batch_size=1000))
    by_tensors = evaluate(model, data.tensors)
    assert by_loader == pytest.approx(by_tensors)
    with pytest.raises(ValueError, match="equal length"):
        evaluate(model, (data.tensors[0], data.tensors[1][:5]))
