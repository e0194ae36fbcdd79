"""One training loop for every notebook: :func:`train`, :func:`evaluate`, and :func:`train_or_load`.

It knows the ingredients of the fast CPU recipe in notebook 04 (one-cycle schedule, label smoothing,
random horizontal flips, channels-last memory format) and nothing notebook-specific.
"""
from __future__ import annotations

import hashlib
import os
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from .checks import check_choice, check_int

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


def _scheduler(name: str, optimizer: torch.optim.Optimizer, lr: float, total_steps: int, warmup_steps: int = 0):
    if warmup_steps:
        # Linear warm-up from lr / warmup_steps to lr over the first warmup_steps steps, then constant.
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup_steps))
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps,
                                                   pct_start=0.25, anneal_strategy="linear")
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


def make_optimizer(model: nn.Module, optimizer: str = "sgd", lr: float = 0.05, momentum: float = 0.9,
                   weight_decay: float = 5e-4) -> torch.optim.Optimizer:
    """The optimizer :func:`train` would build; pass it to :func:`train` to hook it first."""
    check_choice("optimizer", optimizer, OPTIMIZERS)
    return _optimizer(optimizer, model.parameters(), lr, momentum, weight_decay)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block every module of ``model`` is in eval mode (batch norm uses its running
    statistics, dropout is off); afterwards each module gets back its own mode, also on error."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


def _batches(data: DataLoader | tuple[torch.Tensor, torch.Tensor], batch_size: int = 1000):
    """A DataLoader as it is, or in-memory ``(x, y)`` tensors cut into batches of ``batch_size``."""
    if isinstance(data, DataLoader):
        return data
    x, y = data
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of equal length, got {len(x)} and {len(y)}")
    return zip(x.split(batch_size), y.split(batch_size))


@torch.no_grad()
def evaluate(model: nn.Module, data: DataLoader | tuple[torch.Tensor, torch.Tensor],
             device: torch.device | str | None = None, channels_last: bool = False,
             flip_tta: bool = False) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy over ``data`` (a DataLoader, or ``(x, y)`` tensors) in
    eval mode; every module's mode is restored after.

    ``flip_tta`` averages the logits of each image and its mirror image (test-time augmentation).
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    total_loss, correct, count = 0.0, 0, 0
    with eval_mode(model):
        for x, y in _batches(data):
            x, y = x.to(device), y.to(device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            logits = model(x)
            if flip_tta:
                logits = (logits + model(x.flip(-1))) / 2
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            count += len(y)
    return total_loss / count, correct / count


@torch.no_grad()
def predict(model: nn.Module, data: DataLoader | tuple[torch.Tensor, torch.Tensor],
            device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true labels over ``data`` (eval mode; every module's mode restored after)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    preds, labels = [], []
    with eval_mode(model):
        for x, y in _batches(data):
            preds.append(model(x.to(device)).argmax(1).cpu())
            labels.append(y.cpu())
    return torch.cat(preds), torch.cat(labels)


def train(model: nn.Module, train_loader: DataLoader, epochs: int = 1, lr: float = 0.05,
          optimizer: str | torch.optim.Optimizer = "sgd", momentum: float = 0.9, weight_decay: float = 5e-4,
          schedule: str = "constant", label_smoothing: float = 0.0, flip: bool = False,
          test_loader: DataLoader | None = None, device: torch.device | str | None = None,
          channels_last: bool = False, progress: bool = False, warmup_steps: int = 0,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> History:
    """Train ``model`` in place with mini-batch SGD (or Adam) and return its :class:`History`.

    ``schedule`` is 'constant', 'onecycle' (warm up to ``lr`` over the first quarter, then decay
    linearly) or 'cosine'; ``warmup_steps`` (with 'constant' only) raises the learning rate linearly
    from ``lr / warmup_steps`` to ``lr`` over that many steps. ``flip`` mirrors half the images of
    each batch left-right; ``test_loader``, if given, is evaluated after each epoch. ``optimizer`` may
    be an optimizer already built (say, one a :class:`~helpers.gradients.GradientRecorder` hooks).
    ``loss_fn(outputs, targets)`` replaces the cross-entropy (e.g. :func:`helpers.models.sequence_loss`
    for a transformer's per-position logits); label smoothing applies to the default loss only.
    """
    import time

    check_int("epochs", epochs)
    check_choice("schedule", schedule, SCHEDULES)
    check_int("warmup_steps", warmup_steps, minimum=0)
    if warmup_steps and schedule != "constant":
        raise ValueError(f"warmup_steps needs schedule='constant' ('onecycle' warms up by itself), got {schedule!r}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
    if loss_fn is not None and (label_smoothing or flip):
        raise ValueError("loss_fn replaces the image classifier's loss: leave label_smoothing=0 and flip=False with it")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = optimizer if isinstance(optimizer, torch.optim.Optimizer) else make_optimizer(
        model, optimizer, lr, momentum, weight_decay)
    sched = _scheduler(schedule, opt, lr, epochs * len(train_loader), warmup_steps)
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
            out = model(x)
            loss = loss_fn(out, y) if loss_fn is not None else F.cross_entropy(out, y, label_smoothing=label_smoothing)
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


def count_flops(model: nn.Module, x: torch.Tensor) -> int:
    """Floating-point operations of one forward pass on ``x`` (a multiply-add counts as 2), as
    ``torch.utils.flop_counter`` counts them (convolutions, matrix products, attention)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), eval_mode(model), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs: rows are true classes, columns predictions."""
    if predicted.shape != labels.shape:
        raise ValueError(f"predicted and labels must have the same shape, got {tuple(predicted.shape)} "
                         f"and {tuple(labels.shape)}")
    flat = labels.long() * num_classes + predicted.long()
    return torch.bincount(flat, minlength=num_classes ** 2).reshape(num_classes, num_classes)


# ---------------------------------------------------------------------------------------------
# A cache for trained networks (notebook 05 trains two ResNet-56s and reuses them on the next run)
# ---------------------------------------------------------------------------------------------
CACHE_DIR = Path(__file__).resolve().parent.parent / "data" / "cache"
CACHE_VARIABLE = "RESNET_LAB_CACHE"   # set to 0 to train every time


def _fingerprint(model: nn.Module, train_loader: DataLoader, seed: int, settings: dict) -> str:
    """A hash of everything that decides the trained weights: the model's architecture and initial
    weights, the training data, the settings, the code of this package, and the machine's torch
    version, CPU kernels and thread count (another machine trains to other weights)."""
    digest = hashlib.sha256()
    digest.update(repr(model).encode())
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    dataset = train_loader.dataset
    for tensor in getattr(dataset, "tensors", ()):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(repr((len(dataset), train_loader.batch_size, seed, sorted(settings.items()))).encode())
    package = Path(__file__).resolve().parent
    for source in sorted(package.glob("*.py")):
        digest.update(source.read_bytes())
    digest.update(repr((torch.__version__, torch.backends.cpu.get_cpu_capability(), torch.get_num_threads(),
                        str(next(model.parameters()).device))).encode())
    return digest.hexdigest()[:16]


def train_or_load(name: str, model: nn.Module, train_loader: DataLoader, seed: int, **settings) -> History:
    """Train ``model`` in place with :func:`train` (``settings`` are its keyword arguments), or load
    the weights and history of an identical earlier run from ``data/cache/``; return the history.

    ``seed`` reseeds the global generator and the loader's shuffling generator, if it has one, so
    every network trained from the same loader sees the batches in the same order.
    Identical means: same architecture, initial weights, data, settings, seed, helpers code, torch
    version, CPU kernels and threads. ``RESNET_LAB_CACHE=0`` turns the cache off; :func:`clear_cache`
    empties it.
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"name must be letters, digits, '_', '.' or '-', got {name!r}")
    key = _fingerprint(model, train_loader, seed, settings)
    path = CACHE_DIR / f"{name}-{key}.pt"
    use_cache = os.environ.get(CACHE_VARIABLE, "1") != "0"
    if use_cache and path.exists():
        saved = torch.load(path, map_location=next(model.parameters()).device)
        model.load_state_dict(saved["state_dict"])
        return History(**saved["history"])
    torch.manual_seed(seed)
    if train_loader.generator is not None:
        train_loader.generator.manual_seed(seed)
    history = train(model, train_loader, **settings)
    if use_cache:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        torch.save({"state_dict": model.state_dict(), "history": asdict(history)}, path)
    return history


def clear_cache() -> int:
    """Delete every cached training run; return how many files were removed."""
    removed = 0
    for path in CACHE_DIR.glob("*.pt"):
        path.unlink()
        removed += 1
    return removed
