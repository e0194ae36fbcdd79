"""Trained networks shipped with the collection: ``checkpoints/*.safetensors`` and their manifest.

Notebooks 05 and 06 analyse networks trained to convergence, which no class can wait for on a CPU.
``tools/train_checkpoints.py`` (``make checkpoints``) trains them with :func:`helpers.training.train`
and writes one safetensors file per network (tensors only: no pickle, so a file from a fork cannot run
code) and one entry per network in ``checkpoints/manifest.json``: the architecture call that builds it,
the data, the recipe, the training curve, the accuracies and the machine it ran on.

* :func:`available` lists the names; :func:`entry` gives one manifest entry.
* :func:`load` rebuilds the architecture, checks the file's size and sha256 and that the weights fit,
  and returns the network in eval mode. A missing, truncated or altered file raises
  :class:`CheckpointError` naming the network, the file and the command that rebuilds it.
"""
from __future__ import annotations

import ast
import hashlib
import json
import time
from pathlib import Path

import torch
from torch import nn

from . import data, models, runtime, training

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "checkpoints"
MANIFEST = FOLDER / "manifest.json"
# The functions an architecture call may name: every network builder of helpers.models.
BUILDERS = ("cifar_resnet", "plain_cnn", "densenet", "deep_mlp", "cifar_resnet18", "d2l_resnet18",
            "five_stage_resnet")


# The recipe: SGD with Nesterov momentum 0.9, weight decay 5e-4, batch 128, no augmentation, the learning
# rate in three stages. A stage ends when one more epoch changes the mean training loss by less than
# `change` (2 %) or by less than `change_absolute` (0.005: near a loss of 0, where a network memorises
# its training set, a relative change says nothing), after at least `min_epochs` and at most
# `max_epochs` epochs. A network is "converged" when its last stage ended by that rule, not by its
# epoch limit (recorded per network; `replay` re-derives it from the recorded curve).
RECIPE = {"optimizer": "sgd", "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "batch": 128,
          "augmentation": None, "change": 0.02, "change_absolute": 0.005,
          "stages": [{"lr": 0.1, "min_epochs": 3, "max_epochs": 15}, {"lr": 0.01, "min_epochs": 2, "max_epochs": 8},
                     {"lr": 0.001, "min_epochs": 2, "max_epochs": 4}]}


def _spec(name: str, architecture: str, size: int, subset: int, seed: int, used_by: str,
          epochs_per_stage: list[int] | None = None) -> dict:
    spec = {"name": name, "architecture": architecture, "used_by": used_by, "seed": seed,
            "data": {"dataset": "Fashion-MNIST", "train_subset": subset, "size": size, "subset_seed": seed,
                     "test": f"the whole Fashion-MNIST test set (10,000 images) at {size}x{size}"}}
    if epochs_per_stage:   # a control with a fixed schedule: exactly these epochs at each learning rate
        spec["recipe"] = dict(RECIPE, stages=[dict(stage, min_epochs=n, max_epochs=n)
                                              for stage, n in zip(RECIPE["stages"], epochs_per_stage)])
    return spec


# Notebook 05: ResNet-56 and its plain twin, a plain-20 that learns, and a one-hidden-layer MLP as the
# trivial baseline, on 20,000 training images at 16x16. Notebook 06: the family at 14x14 on 10,000
# images, two seeds (seed s draws both the weights and the training subset), the MLP baseline,
# ResNet-20 with stochastic depth, and a plain-20 for He et al.'s Fig. 7.
NETWORKS = [
    _spec("resnet56", "cifar_resnet(56, 8)", 16, 20_000, 0, "05"),
    _spec("plain56", "cifar_resnet(56, 8, residual=False)", 16, 20_000, 0, "05"),
    _spec("plain20-16px", "cifar_resnet(20, 8, residual=False)", 16, 20_000, 0, "05"),
    _spec("mlp-16px", "deep_mlp(1, 340, 'relu', 'kaiming', in_features=256)", 16, 20_000, 0, "05"),
    # plain-56 again with exactly ResNet-56's schedule (11, 8 and 4 epochs): the same steps for both arms
    _spec("plain56-same-steps", "cifar_resnet(56, 8, residual=False)", 16, 20_000, 0, "05", [11, 8, 4]),
    _spec("plain20-s0", "cifar_resnet(20, 8, residual=False)", 14, 10_000, 0, "06"),
    *[_spec(f"{name}-s{seed}", call, 14, 10_000, seed, "06") for seed in (0, 1) for name, call in (
        ("resnet20", "cifar_resnet(20, 8)"),
        ("preact20", "cifar_resnet(20, 8, block='preact')"),
        ("resnext29", "cifar_resnet(29, 16, block='resnext', cardinality=4)"),
        ("densenet28", "densenet((4, 4, 4), growth_rate=10)"),
        ("mlp", "deep_mlp(1, 340, 'relu', 'kaiming', in_features=196)"),
        ("stochastic20", "cifar_resnet(20, 8, stochastic_depth=0.5)"))],
    # controls with exactly ResNet-20-s0's schedule (8, 8 and 2 epochs): the same steps as the network they are compared with
    _spec("densenet28-s0-same-steps", "densenet((4, 4, 4), growth_rate=10)", 14, 10_000, 0, "06", [8, 8, 2]),
    _spec("stochastic20-s0-same-steps", "cifar_resnet(20, 8, stochastic_depth=0.5)", 14, 10_000, 0, "06", [8, 8, 2]),
]
NAMES = [n["name"] for n in NETWORKS]


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used as it is: missing, truncated, altered or not matching."""


def _manifest(folder: Path = FOLDER) -> dict:
    path = folder / "manifest.json"
    if not path.exists():
        raise CheckpointError(f"no checkpoint manifest at {path}: `make checkpoints` trains the networks and writes it")
    return json.loads(path.read_text(encoding="utf-8"))


def available(folder: Path = FOLDER) -> list[str]:
    """The names of the networks in the manifest, in its order."""
    return [e["name"] for e in _manifest(folder)["networks"]]


def entry(name: str, folder: Path = FOLDER) -> dict:
    """The manifest entry of network ``name``."""
    entries = {e["name"]: e for e in _manifest(folder)["networks"]}
    if name not in entries:
        raise ValueError(f"name must be one of {list(entries)}, got {name!r}")
    return entries[name]


def build(call: str) -> nn.Module:
    """The untrained network of an architecture call such as ``"cifar_resnet(56, 8, residual=False)"``:
    one call of a :mod:`helpers.models` builder with literal arguments (nothing else is evaluated)."""
    try:
        node = ast.parse(call, mode="eval").body
    except SyntaxError as error:
        raise ValueError(f"call must be one builder call like 'cifar_resnet(20, 8)', got {call!r}") from error
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BUILDERS):
        raise ValueError(f"call must call one of {list(BUILDERS)}, got {call!r}")
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except ValueError as error:
        raise ValueError(f"call's arguments must be literals (numbers, strings, True/False/None), got {call!r}") from error
    return getattr(models, node.func.id)(*args, **kwargs)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def spec(name: str) -> dict:
    """The entry of :data:`NETWORKS` for ``name``: architecture call, data, seed."""
    if name not in NAMES:
        raise ValueError(f"name must be one of {NAMES}, got {name!r}")
    return next(n for n in NETWORKS if n["name"] == name)


def plateaued(curve: list[float], recipe: dict = RECIPE) -> bool:
    """Whether the last epoch of ``curve`` (mean training loss per epoch) changed the loss by less
    than the recipe's relative or absolute tolerance."""
    if len(curve) < 2:
        return False
    change = abs(curve[-1] - curve[-2])
    return change < recipe["change"] * curve[-2] or change < recipe["change_absolute"]


def replay(curve: list[float], recipe: dict = RECIPE) -> tuple[list[float], bool]:
    """The learning rate of every epoch that ``recipe`` gives for a training curve, and whether the
    last stage ended by the rule: training is run by this same decision, so a manifest entry's
    ``lr_per_epoch`` and ``converged`` must equal ``replay`` of its ``loss_per_epoch``."""
    lrs, i, by_rule = [], 0, False
    for stage in recipe["stages"]:
        by_rule = False
        for epoch in range(stage["max_epochs"]):
            if i == len(curve):
                return lrs, False
            lrs.append(stage["lr"])
            i += 1
            if epoch + 1 >= stage["min_epochs"] and plateaued(curve[:i], recipe):
                by_rule = True
                break
    return lrs, by_rule and i == len(curve)


def stages(e: dict) -> list[tuple[float, int, str]]:
    """Each learning-rate stage of manifest entry ``e``: (learning rate, epochs, 'rule' if the stage
    ended because the loss stopped changing, else 'limit')."""
    recipe, curve, out, i = e["recipe"], e["loss_per_epoch"], [], 0
    for stage in recipe["stages"]:
        n = e["lr_per_epoch"].count(stage["lr"])
        i += n
        ended = "rule" if n >= stage["min_epochs"] and plateaued(curve[:i], recipe) else "limit"
        out.append((stage["lr"], n, ended))
    return out


def _loaders(data_spec: dict, batch: int, device: torch.device):
    loader, _ = data.fashion_mnist_loaders(batch_size=batch, subset=data_spec["train_subset"],
                                           size=data_spec["size"], seed=data_spec["subset_seed"])
    test = tuple(t.to(device) for t in data.load_fashion_mnist(False, size=data_spec["size"]))
    return loader, test


def train(name: str, recipe: dict = RECIPE, network: dict | None = None, device: torch.device | str | None = None,
          progress: bool = False, log=print) -> tuple[nn.Module, dict]:
    """Train network ``name`` of :data:`NETWORKS` from scratch (or ``network``, a spec of the same form)
    with ``recipe``; return it in eval mode and its measurements (curve, accuracies, time)."""
    network = network or spec(name)
    recipe = network.get("recipe", recipe)
    device = torch.device(device) if device is not None else runtime.pick_device()
    runtime.seed_everything(network["seed"])
    model = build(network["architecture"]).to(device)
    loader, test = _loaders(network["data"], recipe["batch"], device)
    opt = training.make_optimizer(model, recipe["optimizer"], recipe["stages"][0]["lr"], recipe["momentum"],
                                  recipe["weight_decay"])
    curve, lrs, by_rule, start = [], [], False, time.perf_counter()
    for stage in recipe["stages"]:
        for group in opt.param_groups:
            group["lr"] = stage["lr"]
        by_rule = False
        for epoch in range(stage["max_epochs"]):
            history = training.train(model, loader, epochs=1, optimizer=opt, device=device, progress=progress)
            curve.append(history.final_loss)
            lrs.append(stage["lr"])
            change = abs(curve[-1] - curve[-2]) / curve[-2] if len(curve) > 1 else 1.0
            log(f"  {network['name']}: epoch {len(curve)}, lr {stage['lr']}, training loss {curve[-1]:.4f} "
                f"(change {change:.1%})")
            if epoch + 1 >= stage["min_epochs"] and plateaued(curve, recipe):
                by_rule = True
                break
    seconds = time.perf_counter() - start
    model.eval()
    train_loss, train_acc = training.evaluate(model, loader, device)
    test_loss, test_acc = training.evaluate(model, test, device)
    return model, {"epochs": len(curve), "lr_per_epoch": lrs, "loss_per_epoch": [round(v, 5) for v in curve],
                   "converged": by_rule, "final_train_loss": round(curve[-1], 5),
                   "train_loss_eval_mode": round(train_loss, 5), "train_accuracy": round(train_acc, 5),
                   "test_loss": round(test_loss, 5), "test_accuracy": round(test_acc, 5),
                   "wall_seconds": round(seconds, 1)}


def test_accuracy(name: str, model: nn.Module | None = None, folder: Path = FOLDER) -> float:
    """Network ``name``'s accuracy on the test set its manifest entry records (the whole test set)."""
    e = entry(name, folder)
    model = model if model is not None else load(name, folder)
    device = next(model.parameters()).device
    _, test = _loaders(e["data"], 1000, device)
    return training.evaluate(model, test, device)[1]


def load(name: str, folder: Path = FOLDER) -> nn.Module:
    """Network ``name`` with its trained weights, in eval mode, after checking the file against the
    manifest (size and sha256) and the weights against the recorded architecture."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    e = entry(name, folder)
    path = folder / e["file"]
    rebuild = f"`make checkpoints NAME={name}` rebuilds it"
    if not path.exists():
        raise CheckpointError(f"checkpoint {name!r}: file {path} is missing; {rebuild}")
    size = path.stat().st_size
    if size != e["bytes"]:
        raise CheckpointError(f"checkpoint {name!r}: file {path} has {size:,} bytes, the manifest says {e['bytes']:,} "
                              f"(truncated or replaced); {rebuild}")
    if sha256(path) != e["sha256"]:
        raise CheckpointError(f"checkpoint {name!r}: file {path} does not match the manifest's sha256 (altered); {rebuild}")
    model = build(e["architecture"])
    try:
        state = load_file(str(path))
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError) as error:
        raise CheckpointError(f"checkpoint {name!r}: the weights in {path} do not fit {e['architecture']}: {error}; "
                              f"{rebuild}") from error
    return model.eval()


def trained(name: str, retrain: bool = False, device: torch.device | str | None = None) -> nn.Module:
    """Network ``name`` trained, in eval mode on ``device``: loaded from its checkpoint, or with
    ``retrain=True`` trained again from scratch by :func:`train` (what ``make checkpoints`` runs)."""
    device = torch.device(device) if device is not None else runtime.pick_device()
    model = train(name, device=device)[0] if retrain else load(name)
    return model.to(device).eval()
