"""Train the networks that notebooks 05 and 06 analyse, to convergence, and ship them as checkpoints.

    .venv/bin/python tools/train_checkpoints.py            # every network not yet trained (resumable)
    .venv/bin/python tools/train_checkpoints.py NAME ...   # these networks, trained again
    make checkpoints [NAME="resnet56 plain56"]             # the same

On a CPU two trainers run side by side (``--workers``, default 2), each with half the cores' threads,
and each takes the next network nobody has claimed (the networks are small: two one-thread runs on
two cores train more per minute than one two-thread run). On a GPU one trainer runs.

The networks, the data and the recipe are in :mod:`helpers.checkpoints` (``NETWORKS``, ``RECIPE``,
``train``): the same code a notebook runs with ``RETRAIN = True``. Each network is written to
``checkpoints/<name>.safetensors`` and its manifest entry (architecture call, data, recipe, curve,
accuracies, wall time, machine) to ``checkpoints/manifest.json`` as soon as it is trained, so an
interrupted run resumes with the next network.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
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
            "seed": network["seed"], "data": network["data"], "recipe": network.get("recipe", recipe), **measured,
            "machine": machine()}


def write_manifest(entries: list[dict], folder: Path = checkpoints.FOLDER) -> None:
    """Write ``entries`` into the manifest, keeping the other networks' entries already there (under a
    lock, so that two trainers, each with one thread on its own core, can share the folder)."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = folder / "manifest.json"
        merged = {e["name"]: e for e in json.loads(path.read_text())["networks"]} if path.exists() else {}
        merged.update({e["name"]: e for e in entries})
        order = checkpoints.NAMES
        ordered = sorted(merged.values(), key=lambda e: order.index(e["name"]) if e["name"] in order else len(order))
        path.write_text(json.dumps({"networks": ordered}, indent=1) + "\n", encoding="utf-8")


def claim(name: str, folder: Path = checkpoints.FOLDER) -> bool:
    """True for the one worker that claims network ``name`` first (an exclusive file create)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(folder / f".claim-{name}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


def run_workers(workers: int, names: list[str]) -> int:
    """Start ``workers`` trainers that share the networks; return the worst exit status."""
    for stale in checkpoints.FOLDER.glob(".claim-*"):
        stale.unlink()
    threads = max(1, (os.cpu_count() or 2) // workers)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    print(f"{workers} trainers side by side, {threads} thread(s) each", flush=True)
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", *names], env=env) for _ in range(workers)]
    status = max(p.wait() for p in procs)
    for done in checkpoints.FOLDER.glob(".claim-*"):
        done.unlink()
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"networks to train again (default: those missing): {checkpoints.NAMES}")
    parser.add_argument("--workers", type=int, default=1 if torch.cuda.is_available() else 2,
                        help="trainers side by side (default: 2 on a CPU, 1 on a GPU)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)   # one of run_workers' trainers
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(checkpoints.NAMES))
    if unknown:
        parser.error(f"names must be among {checkpoints.NAMES}, got {unknown}")
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if args.workers > 1 and not args.worker:
        return run_workers(args.workers, args.names)
    try:
        entries = {e["name"]: e for e in checkpoints._manifest()["networks"]}
    except checkpoints.CheckpointError:
        entries = {}
    for network in checkpoints.NETWORKS:
        name = network["name"]
        old = entries.get(name)
        done = old is not None and old["architecture"] == network["architecture"] and old["data"] == network["data"] \
            and old["recipe"] == network.get("recipe", checkpoints.RECIPE) and (checkpoints.FOLDER / old["file"]).exists()
        if (args.names and name not in args.names) or (done and not args.names):
            if not args.worker:
                print(f"{name}: kept ({'trained' if done else 'not asked for'})")
            continue
        if args.worker and not claim(name):
            continue                                  # another trainer has it
        print(f"{name}: training {network['architecture']} ...", flush=True)
        entries[name] = train_and_save(network, progress=not args.worker)   # side by side: epoch lines only
        write_manifest([entries[name]])
        e = entries[name]
        print(f"{name}: {e['epochs']} epochs in {e['wall_seconds']:.0f} s ({'converged' if e['converged'] else 'epoch limit'}), "
              f"training loss {e['final_train_loss']:.3f}, test accuracy {e['test_accuracy']:.1%}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
