"""Slides: reveal.js decks of the notebooks that work offline (no CDN at view time), and their metadata.

    python tools/slides.py [notebooks/NN_name.ipynb ...] [--out DIR]
        write DIR/NN_name.slides.html for each notebook (every notebook in notebooks/ when none is
        named; DIR is build/slides), beside a copy of reveal.js and MathJax in DIR
    python tools/slides.py --metadata [notebooks/NN_name.ipynb ...]
        set the slide metadata of each notebook in place (teaching mode), outputs untouched

Open a deck in a browser straight from the folder, or serve it (`python -m http.server -d build/slides`).
Space or N steps through every slide, the arrow keys move across sections (right) and into them
(down), Esc shows the overview, S the speaker view.

Where the slides come from. Each cell's `slideshow.slide_type` (`--metadata` sets it: the title and
each ## section start a slide, each ### a sub-slide) and nbconvert's reveal template, with its CDN
addresses replaced by files installed by the set-up, never fetched at view time:
  - reveal.js 5.2.0 (`dist/`, `plugin/notes/`) from the wheel of `sphinx-revealjs`, which ships it;
  - MathJax 2.7.9 from `jupyter-server-mathjax`, the version nbconvert's template was written for
    (it calls `MathJax.Hub`); that package has the STIX web fonts only, so MathJax is told to use them.
Neither package is imported (sphinx_revealjs would import Sphinx): only their files are copied, so both
are installed with `pip --no-deps`, in a folder of their own that goes on PYTHONPATH (see Makefile).
The template also leaves out what needs a CDN and a static deck cannot use: jQuery and require.js
(reveal.js is loaded with plain script tags), mermaid, and the widget manager (a widget needs a
kernel; the notebooks show a static figure beside each one). The Colab badge is left out too: it is
an image on the web, and a slide has no use for it.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "slides"
REVEAL = ("sphinx_revealjs", "_static/revealjs")   # (package, folder inside it)
MATHJAX = ("jupyter_server_mathjax", "static")
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
BADGE = re.compile(r"\[!\[[^\]]*\]\(https?://[^)]*\)\]\(https?://[^)]*\)\s*")

# nbconvert's reveal template (`index.html.j2`) with its CDN scripts left out and reveal.js loaded
# from the local copy. The MathJax configuration comes before nbconvert's own, which MathJax merges in.
TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_css -%}
<style>
.reveal { --r-heading-text-transform: none; }   /* headings as the notebook writes them */
/* A slide holds a whole section of the notebook: it scrolls when it is taller than the screen. */
.reveal .slides section:not(.stack) { height: 100%; overflow-y: auto; }
</style>
{%- endblock html_head_css -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
// The package has MathJax's STIX web fonts only: ask for no other font file. MathJax's blank test font
// is `url('about:blank')`, which Chromium refuses with a console error; the hidden MathML for screen
// readers would load six TeX fonts (blackboard bold and others) that are not there.
var noFile = {src: "local('none')"};
MathJax.Hub.Config({
  "HTML-CSS": {webFont: "STIX-Web", availableFonts: [], preferredFont: null, imageFont: null,
               styles: {"@font-face": noFile}},
  NativeMML: {styles: {"@font-face /*1*/": noFile, "@font-face /*2*/": noFile, "@font-face /*3*/": noFile,
                       "@font-face /*4*/": noFile, "@font-face /*5*/": noFile, "@font-face /*6*/": noFile}}
});
</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
{% block footer_js %}
<script src="{{ resources.reveal.url_prefix }}/dist/reveal.js"></script>
<script src="{{ resources.reveal.url_prefix }}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({
  controls: true, progress: true, history: true, slideNumber: "c/t",
  transition: "{{ resources.reveal.transition or 'slide' }}",
  width: 1280, height: 800,   // room for the notebooks' 110-character code lines (nbconvert: 960 x 700)
  plugins: [RevealNotes]
});
// MathJax measures formulas on hidden slides wrongly: typeset each slide again once it is shown.
Reveal.on("slidechanged", function (event) {
  MathJax.Hub.Queue(["Rerender", MathJax.Hub, event.currentSlide]);
});
</script>
{% endblock footer_js %}
"""


def slide_type(cell) -> str:
    """Teaching mode: the title and each ## section start a slide, each ### a sub-slide; the rest
    flows under them (RISE or `jupyter nbconvert --to slides` present a notebook this way)."""
    first = cell.source.lstrip().split("\n", 1)[0] if cell.cell_type == "markdown" else ""
    if first.startswith("# ") or first.startswith("## "):
        return "slide"
    if first.startswith("### "):
        return "subslide"
    return "-"


HEADING = re.compile(r"^#{1,3} ")


def split_at_headings(cell) -> list:
    """A markdown cell cut before every heading that is not its first line, so that each heading
    starts a cell (and with it a slide or sub-slide); other cells are returned as they are."""
    lines = cell.source.split("\n")
    cuts = [0] + [i for i, line in enumerate(lines) if i and HEADING.match(line)]
    if cell.cell_type != "markdown" or len(cuts) == 1:
        return [cell]
    parts = ["\n".join(lines[a:b]).strip("\n") for a, b in zip(cuts, cuts[1:] + [len(lines)])]
    first = nbformat.from_dict({**cell, "source": parts[0]})
    return [first] + [nbformat.v4.new_markdown_cell(part) for part in parts[1:] if part]


def set_metadata(notebook: Path) -> None:
    """Split the notebook's markdown cells at headings and set every cell's slide type, in place."""
    nb = nbformat.read(str(notebook), as_version=4)
    nb.cells = [part for cell in nb.cells for part in split_at_headings(cell)]
    for cell in nb.cells:
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
    nbformat.write(nb, str(notebook))


class AssetsMissing(RuntimeError):
    """reveal.js or MathJax is not installed where the slides can copy it from."""


def asset_folder(package: str, inside: str) -> Path:
    """The folder ``inside`` of an installed ``package``, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise AssetsMissing(f"{package} is not installed: `make slides` installs it (see Makefile, PACKAGES_slides)")
    folder = Path(next(iter(spec.submodule_search_locations))) / inside
    if not folder.is_dir():
        raise AssetsMissing(f"{package} has no {inside}/ at {folder}")
    return folder


def copy_assets(out: Path) -> None:
    """Copy what the slides load into ``out``: reveal.js (dist, notes plugin) and MathJax."""
    reveal = asset_folder(*REVEAL)
    skip = shutil.ignore_patterns("*.map", "*.esm.js")
    shutil.copytree(reveal / "dist", out / "reveal.js" / "dist", ignore=skip, dirs_exist_ok=True)
    shutil.copytree(reveal / "plugin" / "notes", out / "reveal.js" / "plugin" / "notes", ignore=skip,
                    dirs_exist_ok=True)
    shutil.copy2(reveal / "LICENSE", out / "reveal.js" / "LICENSE")
    shutil.copytree(asset_folder(*MATHJAX), out / "mathjax", dirs_exist_ok=True)


def exporter():
    """nbconvert's slides exporter with the offline template above."""
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter

    return SlidesExporter(extra_loaders=[DictLoader({"offline_slides.html.j2": TEMPLATE})],
                          template_file="offline_slides.html.j2", reveal_url_prefix="reveal.js",
                          reveal_theme="white",   # its fonts ship with reveal.js; "simple" fetches Google's
                          mathjax_url=f"mathjax/MathJax.js?config={MATHJAX_CONFIG}")


def write_deck(notebook: Path, out: Path) -> Path:
    """Write ``out/NN_name.slides.html`` for ``notebook`` (the assets must be in ``out``); return its path."""
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = BADGE.sub("", cell.source)
    html, _ = exporter().from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    path = out / f"{notebook.stem}.slides.html"
    path.write_text(html, encoding="utf-8")
    return path


def build(notebooks: list[Path], out: Path = OUT) -> list[Path]:
    """Copy reveal.js and MathJax into ``out`` and write a deck there for each notebook."""
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    return [write_deck(notebook, out) for notebook in notebooks]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--metadata", action="store_true", help="set the notebooks' slide metadata in place")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.metadata:
        for notebook in notebooks:
            set_metadata(notebook)
            print(f"{notebook}: slide metadata set")
        return 0
    try:
        for deck in build(notebooks, args.out):
            print(deck)
    except AssetsMissing as missing:
        print(f"slides: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
