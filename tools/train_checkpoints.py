"""Train the networks that notebooks 05 and 06 analyse, to convergence, and ship them as checkpoints.

    .venv/bin/python tools/train_checkpoints.py            # every network not yet trained (resumable)
    .venv/bin/python tools/train_checkpoints.py NAME ...   # these networks, trained again
    make checkpoints [NAME="resnet56 plain56"]             # the same

The networks, the data and the recipe are in :mod:`helpers.checkpoints` (``NETWORKS``, ``RECIPE``,
``train``): the same code a notebook runs with ``RETRAIN = True``. Each network is written to
``checkpoints/<name>.safetensors`` and its manifest entry (architecture call, data, recipe, curve,
accuracies, wall time, machine) to ``checkpoints/manifest.json`` as soon as it is trained, so an
interrupted run resumes with the next network.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from helpers import checkpoints  # noqa: E402


def machine() -> str:
    """The device, threads, torch version and CPU kernels this run trained with."""
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    device = f"GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else f"CPU {cpu}"
    return (f"{device}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
            f"CPU kernels {torch.backends.cpu.get_cpu_capability()}")


def train_and_save(network: dict, recipe: dict = checkpoints.RECIPE, folder: Path = checkpoints.FOLDER,
                   progress: bool = True) -> dict:
    """Train one network, write its safetensors file, and return its manifest entry."""
    from safetensors.torch import save_file

    model, measured = checkpoints.train(network["name"], recipe, network=network, progress=progress,
                                        log=lambda line: print(line, flush=True))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{network['name']}.safetensors"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))
    return {"name": network["name"], "file": path.name, "sha256": checkpoints.sha256(path),
            "bytes": path.stat().st_size, "architecture": network["architecture"], "used_by": network["used_by"],
            "seed": network["seed"], "data": network["data"], "recipe": recipe, **measured, "machine": machine()}


def write_manifest(entries: list[dict], folder: Path = checkpoints.FOLDER) -> None:
    order = checkpoints.NAMES
    entries = sorted(entries, key=lambda e: order.index(e["name"]) if e["name"] in order else len(order))
    (folder / "manifest.json").write_text(json.dumps({"networks": entries}, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"networks to train again (default: those missing): {checkpoints.NAMES}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(checkpoints.NAMES))
    if unknown:
        parser.error(f"names must be among {checkpoints.NAMES}, got {unknown}")
    try:
        entries = {e["name"]: e for e in checkpoints._manifest()["networks"]}
    except checkpoints.CheckpointError:
        entries = {}
    for network in checkpoints.NETWORKS:
        name = network["name"]
        old = entries.get(name)
        done = old is not None and old["architecture"] == network["architecture"] and old["data"] == network["data"] \
            and old["recipe"] == checkpoints.RECIPE and (checkpoints.FOLDER / old["file"]).exists()
        if (args.names and name not in args.names) or (done and not args.names):
            print(f"{name}: kept ({'trained' if done else 'not asked for'})")
            continue
        print(f"{name}: training {network['architecture']} ...", flush=True)
        entries[name] = train_and_save(network)
        write_manifest(list(entries.values()))
        e = entries[name]
        print(f"{name}: {e['epochs']} epochs in {e['wall_seconds']:.0f} s ({'converged' if e['converged'] else 'epoch limit'}), "
              f"training loss {e['final_train_loss']:.3f}, test accuracy {e['test_accuracy']:.1%}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
