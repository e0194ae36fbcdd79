"""Every notebook follows the template, shares the set-up cell, and is linked from the README."""
import json
from pathlib import Path

import pytest

from tools.notebook_tools import SETUP_CELL, colab_url

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["01_vanishing_gradients.ipynb", "02_residual_block.ipynb", "03_shape_tracing.ipynb",
         "04_full_resnet.ipynb", "05_why_resnets_work.ipynb"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_only_the_five_sequence_names():
    assert NOTEBOOKS, "no notebooks found"
    assert {p.name for p in NOTEBOOKS} <= set(NAMES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_template(path):
    nb = cells(path)
    title = "".join(nb[0]["source"])
    assert nb[0]["cell_type"] == "markdown" and title.startswith(f"# {path.name[:2]} ")
    assert colab_url(path.name) in title
    for part in ("What you will learn", "Prerequisites", "Time needed"):
        assert part in title, part
    code = [c for c in nb if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]) == SETUP_CELL
    headings = [line for c in nb if c["cell_type"] == "markdown" for line in "".join(c["source"]).splitlines()]
    for section in ("## What we saw", "## Exercises", "## References"):
        assert any(h.startswith(section) for h in headings), section
    assert sum("assert " in "".join(c["source"]) for c in code) >= 5, "claims must be asserted in code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_readme_links_each_notebook_to_colab(path):
    readme = (ROOT / "README.md").read_text()
    assert f"notebooks/{path.name}" in readme
    assert colab_url(path.name) in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_section_headings_start_slides(path):
    for cell in cells(path):
        first = "".join(cell["source"]).lstrip().split("\n", 1)[0]
        if cell["cell_type"] == "markdown" and first.startswith(("# ", "## ")):
            assert cell["metadata"].get("slideshow", {}).get("slide_type") == "slide", first
