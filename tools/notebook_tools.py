"""Write and run the notebooks: the set-up cell every notebook shares, and a clean seeded execution.

    python tools/notebook_tools.py run notebooks/01_vanishing_gradients.ipynb [...]
        execute top to bottom in a fresh kernel, store the outputs, print the time taken
    python tools/notebook_tools.py slides notebooks/*.ipynb
        set the slide metadata of every heading cell (teaching mode), outputs untouched
    python tools/notebook_tools.py check
        exit 1 if a notebook's first code cell is not SETUP_CELL
"""
from __future__ import annotations

import re
import sys
import time
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
REPO_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]

SETUP_CELL = f'''\
# Set-up, the same in every notebook. On Colab it fetches this repository's `helpers` and installs
# d2l without its outdated pins; Colab's own torch, torchvision and ipywidgets are kept as they are.
import sys
from pathlib import Path

if "google.colab" in sys.modules and not Path("resnet-lab").exists():
    import subprocess
    subprocess.run(["git", "clone", "--depth", "1", "{REPO_URL}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "d2l==1.0.3"], check=True)
sys.path.insert(0, str(Path("resnet-lab").resolve() if "google.colab" in sys.modules else Path.cwd().parent))
%matplotlib inline'''


def colab_url(notebook: str) -> str:
    """The Colab address of ``notebooks/<notebook>`` on the main branch."""
    return REPO_URL.replace("https://github.com/", "https://colab.research.google.com/github/") + \
        f"/blob/main/notebooks/{notebook}"


def slide_type(cell) -> str:
    """Teaching mode: the title and each ## section start a slide, each ### a sub-slide; the rest
    flows under them (RISE or `jupyter nbconvert --to slides` present a notebook this way)."""
    first = cell.source.lstrip().split("\n", 1)[0] if cell.cell_type == "markdown" else ""
    if first.startswith("# ") or first.startswith("## "):
        return "slide"
    if first.startswith("### "):
        return "subslide"
    return "-"


def make_notebook(path: str | Path, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """Write a notebook from ``[("md" | "code", source), ...]``; the set-up cell is inserted after
    the first (title) cell. Outputs are empty until :func:`run` executes it."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    made = []
    for i, (kind, source) in enumerate(cells):
        source = source.strip("\n")
        made.append(nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source))
        if i == 0:
            made.append(nbformat.v4.new_code_cell(SETUP_CELL))
    nb.cells = made
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"  # stable ids: a rebuild changes only what changed
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
    nbformat.write(nb, str(path))
    return nb


def run(path: str | Path, timeout: int = 900) -> float:
    """Execute in a fresh kernel from the notebook's folder, store outputs in place; return seconds."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, str(path))
    return seconds


def first_code_cell(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["check"]
    if command == "run":
        for arg in args:
            print(f"{arg}: {run(arg):.1f} s")
    elif command == "slides":
        for arg in args:
            nb = nbformat.read(arg, as_version=4)
            for cell in nb.cells:
                cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
            nbformat.write(nb, arg)
            print(f"{arg}: slide metadata set")
    elif command == "check":
        bad = [p.name for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if first_code_cell(p) != SETUP_CELL]
        print("set-up cells differ in:", bad) if bad else print("set-up cells: all identical")
        sys.exit(1 if bad else 0)
    else:
        sys.exit(__doc__)
