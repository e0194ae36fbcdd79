"""Every notebook follows the template, shares the set-up cell, and is linked from the README."""
import json
import re
from pathlib import Path

import pytest

from tools.repository import colab_url
from tools.setup_cell import SETUP_CELL

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["01_vanishing_gradients.ipynb", "02_residual_block.ipynb", "03_shape_tracing.ipynb",
         "04_full_resnet.ipynb", "05_why_resnets_work.ipynb", "06_resnet_family.ipynb",
         "07_residual_streams.ipynb"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cells(path):
    return json.loads(path.read_text())["cells"]


def test_only_the_sequence_names():
    assert NOTEBOOKS, "no notebooks found"
    assert {p.name for p in NOTEBOOKS} <= set(NAMES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_template(path):
    nb = cells(path)
    title = "".join(nb[0]["source"])
    assert nb[0]["cell_type"] == "markdown" and title.startswith(f"# {path.name[:2]} ")
    assert colab_url(f"notebooks/{path.name}") in title
    for part in ("What you will learn", "Prerequisites", "Time needed"):
        assert part in title, part
    code = [c for c in nb if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]) == SETUP_CELL
    headings = [line for c in nb if c["cell_type"] == "markdown" for line in "".join(c["source"]).splitlines()]
    for section in ("## What we saw", "## Exercises", "## References"):
        assert any(h.startswith(section) for h in headings), section
    checks = [c for c in code if re.search(r"^\s*(assert |claim\()", "".join(c["source"]), re.M)]
    assert len(checks) >= 5, "claims must be asserted in code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_readme_links_each_notebook_to_colab(path):
    readme = (ROOT / "README.md").read_text()
    assert f"notebooks/{path.name}" in readme
    assert colab_url(f"notebooks/{path.name}") in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_heading_starts_its_cell(path):
    """A heading in the middle of a cell would not start a slide (`tools/slides.py --metadata` splits them)."""
    for index, cell in enumerate(cells(path)):
        lines = "".join(cell["source"]).splitlines()
        inner = [line for line in lines[1:] if re.match(r"#{1,3} ", line)]
        assert cell["cell_type"] != "markdown" or not inner, f"cell {index}: {inner}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_section_headings_start_slides(path):
    for cell in cells(path):
        first = "".join(cell["source"]).lstrip().split("\n", 1)[0]
        if cell["cell_type"] == "markdown" and first.startswith(("# ", "## ")):
            assert cell["metadata"].get("slideshow", {}).get("slide_type") == "slide", first


STATED_TIME = re.compile(r"runs\s+top\s+to\s+bottom\s+in\s+about\s+(\d+)\s+s\s+on\s+a\s+2-core\s+CPU")


def measured_seconds() -> dict[str, int]:
    """Median run time of each notebook, from the benchmark report (benchmarks/run.py)."""
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| (\d\d_\w+\.ipynb) \| (\d+) s \|", text, re.M)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_time_needed_agrees_with_the_benchmark(path):
    """The header's run time and the README's are the measured median, rounded up a little."""
    measured = measured_seconds()[path.name]
    title = "".join(cells(path)[0]["source"])
    stated = STATED_TIME.search(title)
    assert stated, f"{path.name}: the header must say 'runs top to bottom in about N s on a 2-core CPU'"
    assert measured <= int(stated.group(1)) <= 1.5 * measured + 10, (int(stated.group(1)), measured)
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if f"(notebooks/{path.name})" in line)
    assert f"| {measured} s |" in row, f"README's run time for {path.name} is not the measured {measured} s"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_is_opaque_and_has_a_caption(path):
    """Readable on dark themes (no transparent pixels) and described for screen readers: every PNG
    a notebook shows is opaque, and the cell right under it is a one-sentence '*Figure: ...*'."""
    import base64
    import io

    from PIL import Image

    nb = cells(path)
    figures = 0
    for i, cell in enumerate(nb):
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if not png:
                continue
            figures += 1
            image = Image.open(io.BytesIO(base64.b64decode(png if isinstance(png, str) else "".join(png))))
            if "A" in image.getbands():
                assert image.getchannel("A").getextrema()[0] == 255, f"cell {i}: a transparent figure"
            caption = "".join(nb[i + 1]["source"]) if i + 1 < len(nb) else ""
            assert nb[i + 1]["cell_type"] == "markdown" and caption.startswith("*Figure: "), \
                f"cell {i}: the cell under a figure must be its caption, '*Figure: ...*'"
            assert len(caption.split()) >= 12, f"cell {i}: the caption should say what the figure shows"
    assert figures > 0, "every notebook shows at least one figure"


def test_figure_files_are_opaque():
    from PIL import Image

    for png in sorted((ROOT / "figures").glob("*.png")):
        image = Image.open(png)
        assert "A" not in image.getbands() or image.getchannel("A").getextrema()[0] == 255, png.name
