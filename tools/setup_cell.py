"""The set-up cell every notebook starts with: it finds this repository's `helpers` in a clone, fetches
it on Colab, and says what to do anywhere else (tests/test_setup_cell.py runs it in all three places).

    python tools/setup_cell.py notebooks/*.ipynb
        write SETUP_CELL into each notebook's first code cell (outputs untouched)
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.repository import REPO_URL  # noqa: E402


def setup_cell(url: str) -> str:
    """The set-up cell of the repository at ``url`` (pyproject.toml's address, or a fork's)."""
    return f'''\
# Set-up, the same in every notebook: find this repository's `helpers` (on Colab, fetch it first) and
# install d2l, without its outdated pins, only if it is missing. Nothing else is installed: Colab's
# own torch, torchvision and ipywidgets are used as they are.
import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = next((p for p in (Path.cwd().parent, Path("resnet-lab").resolve()) if (p / "helpers").is_dir()), None)
if REPO is None and "google.colab" in sys.modules:
    subprocess.run(["git", "clone", "--depth", "1", "{url}", "resnet-lab"], check=True)
    REPO = Path("resnet-lab").resolve()
if REPO is None:
    raise ModuleNotFoundError("this notebook needs ResNet Lab's `helpers` package: open it from the notebooks/ "
                              "folder of a clone of {url} (or on Colab, where this cell fetches it)")
sys.path.insert(0, str(REPO))
if importlib.util.find_spec("d2l") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "d2l==1.0.3"], check=True)
%matplotlib inline'''


SETUP_CELL = setup_cell(REPO_URL)


if __name__ == "__main__":
    if not sys.argv[1:]:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        nb = nbformat.read(arg, as_version=4)
        next(c for c in nb.cells if c.cell_type == "code").source = SETUP_CELL
        nbformat.write(nb, arg)
        print(f"{arg}: set-up cell written")
