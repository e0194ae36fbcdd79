"""One training loop for every notebook: :func:`train` and :func:`evaluate`.

It knows the ingredients of the fast CPU recipe in notebook 04 (one-cycle schedule, label smoothing,
random horizontal flips, channels-last memory format) and nothing notebook-specific.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

SCHEDULES = ("constant", "onecycle", "cosine")
OPTIMIZERS = ("sgd", "adam")


@dataclass
class History:
    """What one training run measured: a loss per step, and per epoch the mean loss and accuracy."""

    step_loss: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def final_loss(self) -> float:
        """Mean training loss over the last epoch."""
        return self.epoch_loss[-1]


def _optimizer(name: str, params, lr: float, momentum: float, weight_decay: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=momentum > 0)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _scheduler(name: str, optimizer: torch.optim.Optimizer, lr: float, total_steps: int):
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps,
                                                   pct_start=0.25, anneal_strategy="linear")
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


def make_optimizer(model: nn.Module, optimizer: str = "sgd", lr: float = 0.05, momentum: float = 0.9,
                   weight_decay: float = 5e-4) -> torch.optim.Optimizer:
    """The optimizer :func:`train` would build; pass it to :func:`train` to hook it first."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    return _optimizer(optimizer, model.parameters(), lr, momentum, weight_decay)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None,
             channels_last: bool = False, flip_tta: bool = False) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy over ``loader``, in eval mode (mode restored after).

    ``flip_tta`` averages the logits of each image and its mirror image (test-time augmentation).
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        logits = model(x)
        if flip_tta:
            logits = (logits + model(x.flip(-1))) / 2
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        count += len(y)
    model.train(was_training)
    return total_loss / count, correct / count


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true labels over ``loader`` (eval mode, restored after)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    preds, labels = [], []
    for x, y in loader:
        preds.append(model(x.to(device)).argmax(1).cpu())
        labels.append(y)
    model.train(was_training)
    return torch.cat(preds), torch.cat(labels)


def train(model: nn.Module, train_loader: DataLoader, epochs: int = 1, lr: float = 0.05,
          optimizer: str | torch.optim.Optimizer = "sgd", momentum: float = 0.9, weight_decay: float = 5e-4,
          schedule: str = "constant", label_smoothing: float = 0.0, flip: bool = False,
          test_loader: DataLoader | None = None, device: torch.device | str | None = None,
          channels_last: bool = False, progress: bool = False) -> History:
    """Train ``model`` in place with mini-batch SGD (or Adam) and return its :class:`History`.

    ``schedule`` is 'constant', 'onecycle' (warm up to ``lr`` over the first quarter, then decay
    linearly) or 'cosine'; ``flip`` mirrors half the images of each batch left-right;
    ``test_loader``, if given, is evaluated after each epoch. ``optimizer`` may be an optimizer
    already built (say, one a :class:`~helpers.gradients.GradientRecorder` hooks).
    """
    import time

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = optimizer if isinstance(optimizer, torch.optim.Optimizer) else make_optimizer(
        model, optimizer, lr, momentum, weight_decay)
    sched = _scheduler(schedule, opt, lr, epochs * len(train_loader))
    history = History()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs * len(train_loader), desc="training", leave=False)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        losses = []
        for x, y in train_loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if flip:
                mask = torch.rand(len(x), device=device) < 0.5
                x = torch.where(mask[:, None, None, None], x.flip(-1), x)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x), y, label_smoothing=label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            losses.append(loss.item())
            if bar is not None:
                bar.update()
        history.step_loss.extend(losses)
        history.epoch_loss.append(sum(losses) / len(losses))
        if test_loader is not None:
            history.test_accuracy.append(evaluate(model, test_loader, device, channels_last)[1])
    history.seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    return history


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters (materialise lazy layers with one forward pass first)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs: rows are true classes, columns predictions."""
    if predicted.shape != labels.shape:
        raise ValueError(f"predicted and labels must have the same shape, got {tuple(predicted.shape)} "
                         f"and {tuple(labels.shape)}")
    flat = labels.long() * num_classes + predicted.long()
    return torch.bincount(flat, minlength=num_classes ** 2).reshape(num_classes, num_classes)
