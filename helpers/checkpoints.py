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
from pathlib import Path

from torch import nn

from . import models

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "checkpoints"
MANIFEST = FOLDER / "manifest.json"
# The functions an architecture call may name: every network builder of helpers.models.
BUILDERS = ("cifar_resnet", "plain_cnn", "densenet", "deep_mlp", "cifar_resnet18", "d2l_resnet18",
            "five_stage_resnet")


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
