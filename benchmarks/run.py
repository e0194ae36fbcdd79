"""How fast the collection runs, and how close to the limit: one command, one report.

    .venv/bin/python benchmarks/run.py                # everything, 3 repeats; writes benchmarks/RESULTS.md
    .venv/bin/python benchmarks/run.py --quick        # seconds: tiny sizes, 1 repeat (CI runs this)
    .venv/bin/python benchmarks/run.py --only explorer trainers

Each measurement is repeated and the median quoted. Wall times depend on whatever else the machine
is doing: measure on an idle machine.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import nbformat  # noqa: E402
import torch  # noqa: E402

from tools.execute import execute  # noqa: E402

PARTS = ("notebooks", "suite", "explorer", "recorder", "recipe", "trainers")
TARGETS = {"suite_s": 300, "notebook_s": 90, "notebook_s_04_to_07": 120, "peak_gb": 3.0,
           "explorer_ms_50": 150, "recorder_overhead": 0.10, "recipe_s": 90, "recipe_acc": 0.915}


def median_of(fn, repeats: int) -> tuple[float, list[float]]:
    """Run ``fn`` (which returns seconds) ``repeats`` times: the median and all values."""
    values = [fn() for _ in range(repeats)]
    return statistics.median(values), values


def machine() -> str:
    """A one-line description of the machine the numbers were taken on."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), no GPU used")


# ---------------------------------------------------------------------------------------------
# Notebooks: time and peak memory of the kernel, and the whole nbval suite
# ---------------------------------------------------------------------------------------------
PEAK_CELL = ("import resource as _r, sys as _s\n"
             "_kb = _r.getrusage(_r.RUSAGE_SELF).ru_maxrss\n"
             "print('PEAK_RSS_BYTES', _kb * (1 if _s.platform == 'darwin' else 1024))")


def clear_caches() -> None:
    """Forget the trained networks cached by `helpers.training.train_or_load` (notebook 05's), so
    every run trains from scratch, as CI does."""
    from helpers.training import clear_cache

    clear_cache()


def run_notebook(path: Path) -> tuple[float, float]:
    """Execute a copy of the notebook in a fresh kernel (from notebooks/), from scratch; seconds and
    peak RSS in bytes."""
    clear_caches()
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    seconds = execute(nb, path.parent)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    peak = float(text.split("PEAK_RSS_BYTES")[1].split()[0])
    return seconds, peak


def bench_notebooks(repeats: int, quick: bool) -> list[dict]:
    names = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if quick:
        names = [p for p in names if p.name.startswith("03")]
    rows = []
    for path in names:
        runs = [run_notebook(path) for _ in range(repeats)]
        seconds = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        limit = TARGETS["notebook_s_04_to_07"] if path.name[:2] in ("04", "05", "06", "07") else TARGETS["notebook_s"]
        rows.append({"notebook": path.name, "seconds": seconds, "all": [r[0] for r in runs],
                     "peak_gb": peak / 1e9, "limit_s": limit})
        print(f"  {path.name}: median {seconds:.1f} s of {[round(r[0], 1) for r in runs]}, peak {peak / 1e9:.2f} GB")
    return rows


def bench_suite(repeats: int) -> dict:
    """The nbval part of `make test`: every notebook re-executed and compared."""
    def once() -> float:
        clear_caches()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "notebooks", "-q", "-p", "no:randomly"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    med, values = median_of(once, repeats)
    print(f"  nbval suite: median {med:.1f} s of {[round(v, 1) for v in values]}")
    return {"seconds": med, "all": values}


# ---------------------------------------------------------------------------------------------
# The gradient-norm explorer: latency of one update, against the bare forward+backward pass
# ---------------------------------------------------------------------------------------------
def bench_explorer(repeats: int, quick: bool) -> list[dict]:
    from helpers import data, experiments, models, widgets

    x, y = data.load_fashion_mnist(train=True, subset=256)
    # Render the PNG exactly as the inline backend does, instead of printing a repr.
    widgets.display = lambda image: None     # the PNG is rendered by update() itself; nothing to show
    widgets.clear_output = lambda wait=False: None
    explorer = widgets.GradientExplorer(x, y)
    rows = []
    for depth in ((10, 50) if quick else (10, 50, 100)):
        n = 3 if quick else max(10, repeats * 5)
        explorer.controls["depth"].value = depth  # what releasing the slider does: one update() (warm-up)
        totals = [_timed(explorer.update) for _ in range(n)]
        compute = [_timed(lambda: experiments.mlp_gradient_norms(x, y, depth=depth)) for _ in range(n)]
        torch.manual_seed(0)
        net = models.deep_mlp(depth).double()
        x64 = x.double()

        def bare() -> None:
            net.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(net(x64), y).backward()

        bare()
        limit = [_timed(bare) for _ in range(n)]
        row = {"depth": depth, "update_ms": 1e3 * statistics.median(totals),
               "compute_ms": 1e3 * statistics.median(compute), "bare_ms": 1e3 * statistics.median(limit)}
        rows.append(row)
        print(f"  explorer depth {depth}: update {row['update_ms']:.0f} ms, compute {row['compute_ms']:.1f} ms, "
              f"bare forward+backward {row['bare_ms']:.1f} ms")
    return rows


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ---------------------------------------------------------------------------------------------
# d2l.Trainer against helpers.training on the same ResNet-18 and the same data
# ---------------------------------------------------------------------------------------------
def bench_trainers(quick: bool) -> dict:
    from d2l import torch as d2l
    from torch.utils.data import DataLoader, Subset

    from helpers import data, models, seed_everything, training

    steps, batch = (4, 32) if quick else (30, 64)
    module = data.d2l_fashion_mnist(batch_size=batch, resize=(28, 28), num_workers=0)
    module.train = Subset(module.train, range(steps * batch))
    module.val = Subset(module.val, range(batch))

    class ResNet18(d2l.Classifier):
        def __init__(self, lr: float = 0.01):
            super().__init__()
            self.save_hyperparameters()
            self.net = models.d2l_resnet18()

    seed_everything(0)
    model = ResNet18()
    model.net(torch.zeros(2, 1, 28, 28))
    trainer = d2l.Trainer(max_epochs=1)
    devnull = io.StringIO()
    start = time.perf_counter()
    _stdout, sys.stdout = sys.stdout, devnull  # d2l's ProgressBoard prints figure reprs outside Jupyter
    try:
        trainer.fit(model, module)
    finally:
        sys.stdout = _stdout
    d2l_seconds = time.perf_counter() - start

    seed_everything(0)
    net = models.d2l_resnet18()
    net(torch.zeros(2, 1, 28, 28))
    loader = DataLoader(module.train, batch_size=batch, shuffle=True)
    start = time.perf_counter()
    training.train(net, loader, epochs=1, lr=0.01, momentum=0.0, weight_decay=0.0)
    ours_seconds = time.perf_counter() - start
    images = steps * batch
    row = {"images": images, "d2l_ips": images / d2l_seconds, "ours_ips": images / ours_seconds}
    row["ratio"] = row["ours_ips"] / row["d2l_ips"]
    print(f"  ResNet-18, {images} images of 28x28: d2l.Trainer {row['d2l_ips']:.0f} img/s, "
          f"helpers.training {row['ours_ips']:.0f} img/s, ratio {row['ratio']:.2f}")
    return row


# ---------------------------------------------------------------------------------------------
# Notebook 04's recipe and the recorder's overhead live in fast_recipe.py; run them from here
# ---------------------------------------------------------------------------------------------
def bench_recipe(quick: bool) -> dict:
    import fast_recipe

    args = fast_recipe.parse_args(["--quick"] if quick else [])
    result = fast_recipe.run_recipe(args)
    result["setting"] = (f"ResNet-{args.depth}, width {args.width}, stem stride {args.stem_stride}, "
                         f"{args.epochs} epochs of batch {args.batch_size}, one-cycle to {args.lr}, "
                         f"label smoothing {args.label_smoothing}, flips {args.flip}, "
                         f"channels-last {args.channels_last}, seed {args.seed}")
    print(f"  fast recipe: {result['seconds']:.1f} s of training, test accuracy {result['accuracy']:.2%}")
    return result


def bench_recorder(quick: bool) -> dict:
    import fast_recipe

    args = fast_recipe.parse_args(["--recorder-overhead"] + (["--quick"] if quick else []))
    result = fast_recipe.recorder_overhead(args, steps=8 if quick else 60)
    print(f"  recorder: {1e3 * result['without']:.1f} ms per step without, {1e3 * result['with_']:.1f} ms with: "
          f"overhead {result['overhead']:+.1%}")
    return result


# ---------------------------------------------------------------------------------------------
def write_report(results: dict, path: Path) -> None:
    """benchmarks/RESULTS.md: one section per measurement, each with its machine, command and targets.

    Sections of parts not measured in this run are kept from the existing report, so that
    `--only notebooks` updates the notebook times without re-running everything else.
    """
    stamp = [f"Machine: {results['machine']}.", "",
             f"Command: `{results['command']}` ({results['repeats']} repeats, medians quoted).", ""]
    lines: list[str] = []
    if "notebooks" in results:
        lines += ["## Notebooks (CPU defaults, fresh kernel, top to bottom)", "", *stamp,
                  "| notebook | median time | runs | peak memory (kernel) | target |", "|---|---|---|---|---|"]
        for r in results["notebooks"]:
            lines.append(f"| {r['notebook']} | {r['seconds']:.0f} s | {', '.join(f'{v:.0f}' for v in r['all'])} s "
                         f"| {r['peak_gb']:.2f} GB | < {r['limit_s']} s, < {TARGETS['peak_gb']:.0f} GB |")
        lines.append("")
    if "suite" in results:
        s = results["suite"]
        lines += ["## Whole nbval suite", "", *stamp, f"Whole nbval suite (`pytest notebooks`): median {s['seconds']:.0f} s "
                  f"(target < {TARGETS['suite_s']} s).", ""]
    if "explorer" in results:
        lines += ["## Gradient-norm explorer: one update (recompute + redraw as PNG)", "", *stamp,
                  "| depth | update | compute only | bare forward+backward (the limit) |", "|---|---|---|---|"]
        for r in results["explorer"]:
            lines.append(f"| {r['depth']} | {r['update_ms']:.0f} ms | {r['compute_ms']:.1f} ms | {r['bare_ms']:.1f} ms |")
        lines += ["", f"Target: median update under {TARGETS['explorer_ms_50']} ms at depth 50.", ""]
    if "recorder" in results:
        r = results["recorder"]
        lines += ["## GradientRecorder overhead (notebook 04's ResNet-32, width 8, batch 128)", "", *stamp,
                  f"{1e3 * r['without']:.1f} ms per training step without the recorder, {1e3 * r['with_']:.1f} ms "
                  f"with it (a record every {r['every']} steps): overhead {r['overhead']:+.1%} "
                  f"(target < {TARGETS['recorder_overhead']:.0%}; medians of 3 interleaved runs each).", ""]
    if "recipe" in results:
        r = results["recipe"]
        lines += ["## Fast CPU recipe (notebook 04): `benchmarks/fast_recipe.py`", "", *stamp,
                  f"{r['setting']}; {r['parameters']:,} parameters.", "",
                  f"Training: {r['seconds']:.1f} s (target < {TARGETS['recipe_s']} s). Test accuracy on "
                  f"{r['test_images']:,} images: {r['accuracy']:.2%} (target >= {TARGETS['recipe_acc']:.1%}).", ""]
    if "trainers" in results:
        t = results["trainers"]
        lines += ["## d2l.Trainer against helpers.training (same ResNet-18, same data, one run)", "", *stamp,
                  f"{t['images']} images: d2l.Trainer {t['d2l_ips']:.0f} img/s, helpers.training "
                  f"{t['ours_ips']:.0f} img/s: ratio {t['ratio']:.2f}.", ""]
    measured = {block.split("\n", 1)[0] for block in "\n".join(lines).split("## ")[1:]}
    kept = []
    if path.exists():
        for block in path.read_text().split("\n## ")[1:]:
            if block.split("\n", 1)[0] not in measured:
                kept.append("## " + block.rstrip("\n") + "\n")
    path.write_text("\n".join(["# Benchmark results", "", *lines, *kept]))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one repeat: checks the code runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=PARTS, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    parts = args.only or [p for p in PARTS if not (args.quick and p == "suite")]
    results: dict = {"machine": machine(), "repeats": repeats,
                     "command": " ".join(["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])}
    print(results["machine"])
    for part in parts:
        print(f"{part}:")
        if part == "notebooks":
            results[part] = bench_notebooks(repeats, args.quick)
        elif part == "suite":
            results[part] = bench_suite(repeats)
        elif part == "explorer":
            results[part] = bench_explorer(repeats, args.quick)
        elif part == "recorder":
            results[part] = bench_recorder(args.quick)
        elif part == "recipe":
            results[part] = bench_recipe(args.quick)
        elif part == "trainers":
            results[part] = bench_trainers(args.quick)
    write_report(results, args.out)
    print("wrote", args.out.name)
    return results


if __name__ == "__main__":
    main()
