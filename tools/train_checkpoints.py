"""Train the networks that notebooks 05 and 06 analyse, to convergence, and ship them as checkpoints.

    .venv/bin/python tools/train_checkpoints.py            # every network not yet trained (resumable)
    .venv/bin/python tools/train_checkpoints.py NAME ...   # these networks, trained again
    make checkpoints [NAME=...]                            # the same

Every network trains with :func:`helpers.training.train`, the loop the notebooks use, one epoch at a
time: SGD with Nesterov momentum 0.9 and weight decay 5e-4 at a constant learning rate, divided by 10
when one more epoch changes the mean training loss by less than 2 %; training stops when that happens
at the last learning rate ("converged": measured, not declared; a plain deep network may plateau high,
which is the degradation problem). Each network is written to ``checkpoints/<name>.safetensors`` and
its manifest entry (architecture call, data, recipe, curve, accuracies, wall time, machine) to
``checkpoints/manifest.json``; :func:`helpers.checkpoints.load` reads them back.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from helpers import checkpoints, data, runtime, training  # noqa: E402

# One entry per network: name, the architecture call, the data and the recipe.
DATA = {"dataset": "Fashion-MNIST", "train_subset": 10_000, "size": 16, "subset_seed": 0,
        "test": "Fashion-MNIST test set, all 10,000 images, same size"}
RECIPE = {"optimizer": "sgd (Nesterov momentum 0.9)", "weight_decay": 5e-4, "batch": 128, "lrs": [0.1, 0.01],
          "rule": "next learning rate when one more epoch changes the mean training loss by < 2 %; stop after the last",
          "min_epochs": 3, "max_epochs_per_lr": 40, "seed": 0}
NETWORKS = [
    {"name": "resnet56", "architecture": "cifar_resnet(56, 8)"},
    {"name": "plain56", "architecture": "cifar_resnet(56, 8, residual=False)"},
    {"name": "plain20", "architecture": "cifar_resnet(20, 8, residual=False)"},
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({cpu})"
    return (f"{device}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
            f"CPU kernels {torch.backends.cpu.get_cpu_capability()}")


def train_one(spec: dict, recipe: dict = RECIPE, data_spec: dict = DATA, folder: Path = checkpoints.FOLDER,
              max_epochs_per_lr: int | None = None, progress: bool = True) -> dict:
    """Train one network to convergence and write its file; return its manifest entry."""
    from safetensors.torch import save_file

    device = runtime.pick_device()
    runtime.seed_everything(recipe["seed"])
    model = checkpoints.build(spec["architecture"]).to(device)
    loader, _ = data.fashion_mnist_loaders(batch_size=recipe["batch"], subset=data_spec["train_subset"],
                                           size=data_spec["size"], seed=data_spec["subset_seed"])
    x_test, y_test = data.load_fashion_mnist(False, size=data_spec["size"])
    opt = training.make_optimizer(model, "sgd", recipe["lrs"][0], 0.9, recipe["weight_decay"])
    limit = max_epochs_per_lr or recipe["max_epochs_per_lr"]
    curve, lr_per_epoch, start = [], [], time.perf_counter()
    for lr in recipe["lrs"]:
        for group in opt.param_groups:
            group["lr"] = lr
        for epoch in range(limit):
            history = training.train(model, loader, epochs=1, optimizer=opt, device=device, progress=progress)
            curve.append(history.final_loss)
            lr_per_epoch.append(lr)
            change = abs(curve[-1] - curve[-2]) / curve[-2] if len(curve) > 1 else 1.0
            print(f"  {spec['name']}: epoch {len(curve)}, lr {lr}, training loss {curve[-1]:.4f} (change {change:.1%})",
                  flush=True)
            if epoch + 1 >= recipe["min_epochs"] and change < 0.02:
                break
    seconds = time.perf_counter() - start
    model.eval()
    train_loss, train_acc = training.evaluate(model, loader, device)
    test_loss, test_acc = training.evaluate(model, (x_test, y_test), device)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec['name']}.safetensors"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(path))
    return {"name": spec["name"], "file": path.name, "sha256": checkpoints.sha256(path), "bytes": path.stat().st_size,
            "architecture": spec["architecture"], "data": data_spec, "recipe": recipe,
            "epochs": len(curve), "lr_per_epoch": lr_per_epoch, "loss_per_epoch": curve,
            "converged": len(curve) > 1 and abs(curve[-1] - curve[-2]) / curve[-2] < 0.02,
            "final_train_loss": curve[-1], "train_loss_eval_mode": train_loss, "train_accuracy": train_acc,
            "test_loss": test_loss, "test_accuracy": test_acc, "wall_seconds": round(seconds, 1),
            "machine": machine()}


def write_manifest(entries: list[dict], folder: Path = checkpoints.FOLDER) -> None:
    order = [n["name"] for n in NETWORKS]
    entries = sorted(entries, key=lambda e: order.index(e["name"]) if e["name"] in order else len(order))
    (folder / "manifest.json").write_text(json.dumps({"networks": entries}, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"networks to train again (default: those missing): {[n['name'] for n in NETWORKS]}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - {n["name"] for n in NETWORKS})
    if unknown:
        parser.error(f"names must be among {[n['name'] for n in NETWORKS]}, got {unknown}")
    try:
        entries = {e["name"]: e for e in checkpoints._manifest()["networks"]}
    except checkpoints.CheckpointError:
        entries = {}
    for spec in NETWORKS:
        done = spec["name"] in entries and entries[spec["name"]]["architecture"] == spec["architecture"] \
            and (checkpoints.FOLDER / entries[spec["name"]]["file"]).exists()
        if (done and not args.names) or (args.names and spec["name"] not in args.names):
            print(f"{spec['name']}: kept ({'trained' if done else 'not asked for'})")
            continue
        print(f"{spec['name']}: training {spec['architecture']} ...", flush=True)
        entries[spec["name"]] = train_one(spec)
        write_manifest(list(entries.values()))   # after every network: an interrupted run resumes from here
        e = entries[spec["name"]]
        print(f"{spec['name']}: {e['epochs']} epochs in {e['wall_seconds']:.0f} s, training loss {e['final_train_loss']:.3f}, "
              f"test accuracy {e['test_accuracy']:.1%}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
