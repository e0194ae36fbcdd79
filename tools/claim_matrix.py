"""Run notebooks under many CPU-kernel, thread and seed settings; tabulate every claim's margin.

Trained results are a new draw on every machine, so each ``helpers.claim(...)`` in a notebook must
hold for any draw, not just the stored one. This script executes notebooks (outputs are not saved)
with the environment variables that change the draw on one machine:

    ATEN_CPU_CAPABILITY   which CPU kernels torch uses: default (no SIMD), avx2, avx512
    OMP_NUM_THREADS       threads per operation, which changes the order of reductions
    RESNET_LAB_SEED       the seed of the notebooks' training runs (stands in for GPUs, Apple
                          Silicon and Colab, which cannot be run here)

and collects the claims each run records (``RESNET_LAB_CLAIMS``), then writes a Markdown table:
claim, threshold, min and max over the runs, and the weakest margin.

    python tools/claim_matrix.py                        # every notebook, every setting (27 runs each)
    python tools/claim_matrix.py --design pairs         # 9 runs each: every pair of levels once
    python tools/claim_matrix.py --design ci            # 3 runs each: the settings `make test` runs
    python tools/claim_matrix.py notebooks/01_vanishing_gradients.ipynb --out /tmp/claims.md

``--design pairs`` is an orthogonal array: each (kernels, threads), (kernels, seed) and
(threads, seed) combination occurs exactly once, a third of the full product's cost.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.execute import execute  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "CLAIMS.md"
LEVELS = {"capability": ("default", "avx2", "avx512"), "threads": (1, 2, 4), "seed": (0, 1, 2)}


@dataclass(frozen=True)
class Setting:
    capability: str
    threads: int
    seed: int

    def env(self) -> dict[str, str]:
        return {"ATEN_CPU_CAPABILITY": self.capability, "OMP_NUM_THREADS": str(self.threads),
                "MKL_NUM_THREADS": str(self.threads), "RESNET_LAB_SEED": str(self.seed)}

    def __str__(self) -> str:
        return f"ATEN_CPU_CAPABILITY={self.capability} OMP_NUM_THREADS={self.threads} RESNET_LAB_SEED={self.seed}"


def available_capabilities() -> tuple[str, ...]:
    """The kernel levels this CPU can run (avx512 only where the CPU has it)."""
    import torch

    best = torch.backends.cpu.get_cpu_capability().lower()
    order = ["default", "avx2", "avx512"]
    if best not in order:       # another architecture (ARM, ...): only its own and the default
        return ("default", best)
    return tuple(order[: order.index(best) + 1])


def settings(design: str, capabilities: tuple[str, ...]) -> list[Setting]:
    """The runs of a design: 'full' (the whole product), 'pairs' (a 3x3x3 orthogonal array) or 'ci'
    (the three settings of `make test`: best kernels, 2 threads, seed 0; avx2, 1, seed 1; default, 1, seed 2)."""
    threads, seeds = LEVELS["threads"], LEVELS["seed"]
    if design == "full":
        return [Setting(c, t, s) for c, t, s in itertools.product(capabilities, threads, seeds)]
    if design == "pairs":
        runs = []
        for i, c in enumerate(capabilities):
            for j, t in enumerate(threads):
                runs.append(Setting(c, t, seeds[(i + j) % len(seeds)]))
        return runs
    if design == "ci":     # the three settings `make test` runs: this machine's, another CPU's, Colab's stand-in
        return [Setting(capabilities[-1], 2, 0), Setting("avx2" if "avx2" in capabilities else capabilities[-1], 1, 1),
                Setting("default", 1, 2)]
    raise ValueError(f"design must be 'full', 'pairs' or 'ci', got {design!r}")


def run_notebook(path: Path, setting: Setting, timeout: int = 1200) -> tuple[list[dict], str | None, float]:
    """Execute ``path`` in a fresh kernel under ``setting``; return (claims, first error, seconds)."""
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(str(path), as_version=4)
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl", delete=False) as log:
        log_path = log.name
    error, start = None, time.perf_counter()
    try:   # allow_errors: a failed claim must not hide the claims after it
        execute(nb, path.parent, timeout=timeout, env={**setting.env(), "RESNET_LAB_CLAIMS": log_path},
                allow_errors=True)
        errors = [f"cell {i}: {out.ename}: {out.evalue}"[:300] for i, cell in enumerate(nb.cells)
                  for out in cell.get("outputs", []) if out.get("output_type") == "error"]
        error = "; ".join(errors) or None
    except CellExecutionError as err:
        error = str(err).strip().splitlines()[-1][:300]
    seconds = time.perf_counter() - start
    claims = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    Path(log_path).unlink()
    return claims, error, seconds


def threshold(c: dict) -> str:
    parts = []
    if c["above"] is not None:
        parts.append(f"> {c['above']:.3g}")
    if c["below"] is not None:
        parts.append(f"< {c['below']:.3g}")
    return " and ".join(parts)


def table(results: dict[str, list[tuple[Setting, list[dict], str | None, float]]]) -> list[str]:
    """Markdown rows: one per (notebook, claim, threshold)."""
    lines = ["| notebook | claim | threshold | min | max | weakest margin | runs |",
             "|---|---|---|---|---|---|---|"]
    for name, runs in results.items():
        grouped: dict[tuple, list[dict]] = {}
        for _, claims, _, _ in runs:
            seen_here = set()
            for c in claims:
                key = (c["claim"], c["above"], c["below"], c["log"])
                if key in seen_here:          # a claim repeated in the summary cell: count it once a run
                    continue
                seen_here.add(key)
                grouped.setdefault(key, []).append(c)
        for (text, _, _, log), cs in grouped.items():
            values = [c["value"] for c in cs]
            worst = min(c["margin"] for c in cs)
            unit = " decades" if log else ""
            flag = "" if worst > 0 else " **FAILS**"
            lines.append(f"| {name[:2]} | {text.replace('|', chr(92) + '|')} | {threshold(cs[0])} | {min(values):.3g} | {max(values):.3g} "
                         f"| {worst:.2g}{unit}{flag} | {len(cs)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook with a claim")
    parser.add_argument("--design", choices=("full", "pairs", "ci"), default="full")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    books = args.notebooks or sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if "claim(" in p.read_text())
    capabilities = available_capabilities()
    plan = settings(args.design, capabilities)
    results: dict[str, list] = {}
    failures = 0
    for path in books:
        results[path.name] = []
        for setting in plan:
            claims, error, seconds = run_notebook(path, setting)
            results[path.name].append((setting, claims, error, seconds))
            bad = [c["claim"] for c in claims if c["margin"] <= 0]
            failures += bool(error or bad)
            print(f"{path.name} [{setting}] {seconds:.0f} s, {len(claims)} claims"
                  + (f", FAILED: {error}" if error else ""), flush=True)
            write(args.out, results, args.design, capabilities, plan)
    print(f"table written to {args.out}")
    return 1 if failures else 0


def write(out: Path, results: dict, design: str, capabilities: tuple[str, ...], plan: list[Setting]) -> None:
    import torch

    errors = [(name, s, e) for name, runs in results.items() for s, _, e, _ in runs if e]
    lines = [
        "# Claims across CPU kernels, threads and seeds",
        "",
        "Made by `python tools/claim_matrix.py" + (" --design pairs" if design == "pairs" else "") + "`: every",
        "`helpers.claim(...)` of the notebooks, measured in a fresh run of the notebook under each setting.",
        "Margin: distance from the weakest value to its threshold (in decades for ratios spanning powers of ten).",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}, torch {torch.__version__}; kernel levels tried: {', '.join(capabilities)}.",
        f"Design: {design} ({len(plan)} settings per notebook): "
        + "; ".join(f"{s.capability}/{s.threads} thr/seed {s.seed}" for s in plan) + ".",
        "",
        *table(results),
        "",
        "Run times per notebook (s): " + "; ".join(
            f"{name[:2]}: {min(r[3] for r in runs):.0f}-{max(r[3] for r in runs):.0f}" for name, runs in results.items())
        + " (wall times under each setting, not benchmarks: `benchmarks/RESULTS.md` has those).",
    ]
    if errors:
        lines += ["", "Runs that stopped with an error:", *[f"- {n} [{s}]: {e}" for n, s, e in errors]]
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
