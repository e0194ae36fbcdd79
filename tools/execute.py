"""Run a notebook top to bottom in a fresh kernel: the one runner behind the stored outputs, the claim
matrix (`tools/claim_matrix.py`) and the benchmarks (`benchmarks/run.py`).

    python tools/execute.py notebooks/01_vanishing_gradients.ipynb [...]
        execute each notebook from its folder, store its outputs in place, print the time taken
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat


def execute(nb: nbformat.NotebookNode, folder: Path, *, timeout: int = 900, env: dict[str, str] | None = None,
            allow_errors: bool = False) -> float:
    """Execute ``nb`` (outputs stored in it) in a fresh python3 kernel started in ``folder``, with
    ``env`` added to this process's environment; return the seconds taken. A cell that fails raises
    nbclient's CellExecutionError, unless ``allow_errors``: then its error is its output and the rest runs."""
    from nbclient import NotebookClient

    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors, store_widget_state=True,
                   record_timing=False, resources={"metadata": {"path": str(folder)}}
                   ).execute(env={**os.environ, **(env or {})})
    return time.perf_counter() - start


def store_outputs(path: str | Path) -> float:
    """Execute the notebook at ``path`` from its folder and store its outputs in place; return seconds."""
    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    seconds = execute(nb, path.parent)
    for cell in nb.cells:   # timings of an earlier run: they are not part of a clean, seeded output
        cell.metadata.pop("execution", None)
    nbformat.write(nb, str(path))
    return seconds


if __name__ == "__main__":
    if not sys.argv[1:]:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        print(f"{arg}: {store_outputs(arg):.1f} s")
