"""Slides: reveal.js decks of the notebooks that work offline (no CDN at view time), and their metadata.

    python tools/slides.py [notebooks/NN_name.ipynb ...] [--out DIR]
        write DIR/NN_name.slides.html for each notebook (every notebook in notebooks/ when none is
        named; DIR is build/slides), beside a copy of reveal.js and MathJax in DIR
    python tools/slides.py --metadata [notebooks/NN_name.ipynb ...]
        set the slide metadata of each notebook in place (teaching mode), outputs untouched

Open a deck in a browser straight from the folder, or serve it (`python -m http.server -d build/slides`).
Space or N steps through every slide, the arrow keys move across sections (right) and into them
(down), Esc shows the overview, S the speaker view (with the notes: the prose that is not on the slide).

What a slide shows. A copy of the notebook is reshaped at build time (`deck_notebook`, below; the
notebook is not rewritten) so that every slide fits a 1280 x 720 screen: no prompts or test markers,
a markdown cell's heading, first sentences, lists, formulas and captions on the slide and the rest of
its prose in the speaker notes, a section cut into sub-slides ("... (continued)") where it would not
fit, a figure kept with its caption, long code and outputs cut with a visible "…". A cell whose
metadata has `"slides": {"scroll": true}` starts a deliberate scrolling slide instead.

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
import base64
import copy
import importlib.util
import re
import shutil
import struct
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
/* A slide fits the screen (tools/slides.py cuts the notebook so); a deliberate scrolling slide
   (data-scroll) scrolls, and so would one the estimate got wrong (tests/test_slides.py fails on it). */
.reveal .slides section:not(.stack) { height: 100%; overflow-y: auto; text-align: left; }
.reveal .jp-RenderedHTMLCommon { font-size: 22px; line-height: 1.35; }
.reveal .jp-RenderedHTMLCommon h1 { font-size: 40px; }
.reveal .jp-RenderedHTMLCommon h2 { font-size: 34px; }
.reveal .jp-RenderedHTMLCommon h3 { font-size: 30px; }
.reveal .jp-RenderedHTMLCommon h4 { font-size: 24px; color: #666; }
.reveal .slides section .jp-Cell pre { font-size: 15px; line-height: 1.3; margin: 0; padding: 0;
                                        white-space: pre-wrap; overflow-wrap: anywhere; }   /* code wraps */
.reveal .slides section .jp-OutputArea-output { padding: 0 8px; }
.reveal .slides section [id^='cell-id=caption-'] .jp-RenderedHTMLCommon { font-size: 18px; }   /* a caption */
.reveal .slides section .jp-OutputArea-output img { margin: 0; }
.reveal .slides section .jp-OutputArea-output.jp-RenderedHTMLCommon td,   /* tables */
.reveal .slides section .jp-OutputArea-output.jp-RenderedHTMLCommon th { padding: 2px 8px; font-size: 15px;
                                                                          line-height: 1.3; }
.reveal .jp-OutputArea-output img { max-height: 460px;   /* FIGURE_MAX */
  max-width: 100%; }
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
  width: 1280, height: 720, center: false,   // a 720p screen; code wraps (nbconvert: 960 x 700)
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


# ---------------------------------------------------------------------------------------------------
# From a notebook to a deck a teacher can present. The notebook stays the single source: a copy of it
# is reshaped at build time (the notebook itself is never rewritten), so that every slide fits the
# 1280 x 720 screen (tests/test_slides.py measures every slide in Chromium):
#   - no prompts (`In [18]:`), no nbval markers and the machine-facing comment after them, no set-up
#     cell (it is for Colab), no progress-bar widgets (they need a kernel);
#   - a markdown cell keeps its heading, its first paragraph, its formulas, short lists and figure
#     captions on the slide; the rest of its prose goes to the speaker notes (S), next to it;
#   - a (sub)slide is cut into sub-slides where the content would not fit, by an estimate of each
#     cell's height below; a figure is kept with its caption (the code that draws it may stay on the
#     slide before); long text outputs are cut to what fits, with a visible "…";
#   - a cell whose metadata has `"slides": {"scroll": true}` starts a deliberate scrolling slide,
#     which runs to the next heading uncut (use it for few cells).

WIDTH = 1280                       # the slide is 1280 x 720 (reveal.js scales it to the window)
BUDGET = 600                       # estimated height a slide may fill (the rest is slack for the estimate)
TEXT_LINE, TEXT_CHARS = 30, 102    # markdown: 22 px text, line height 1.35; characters on a line
CODE_LINE, CODE_CHARS = 20, 130    # code and text output: 15 px monospace, line height 1.3
HEADING_PX = {1: 70, 2: 60, 3: 52, 4: 44}
WIDOW_SLACK = 70                   # how far past BUDGET the last items of a list may go to stay together
FIGURE_MAX = 460                   # the most height a figure takes on a slide (and CSS max-height)
FIGURE_ZOOM = 1.5                  # a small figure is shown up to this much larger
OUTPUT_LINES = 14                  # a text output longer than this is cut, with "…"
SETUP_CELL = "# Set-up, the same in every notebook"
MACHINE = re.compile(r"^\s*# NBVAL_\w+\s*\n(\s*# \(.*\)\s*\n)?", re.M)
CAPTION = re.compile(r"^\*Figure[:.]")
WIDGET = "application/vnd.jupyter.widget-view+json"
PLAIN = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[*`$\\]")   # what markdown shows shorter than its source


def for_slides(code: str) -> str:
    """Code as a slide shows it: without nbval markers and the comment in parentheses after them."""
    return MACHINE.sub("", code if code.endswith("\n") else code + "\n").rstrip("\n")


def blocks(markdown: str) -> list[str]:
    """A markdown text cut at blank lines, a display formula ($$ ... $$) kept whole."""
    out, current, in_math = [], [], False
    for line in markdown.split("\n"):
        if line.strip().startswith("$$") and not (line.strip().endswith("$$") and len(line.strip()) > 2):
            in_math = not in_math
        if not line.strip() and not in_math:
            if current:
                out.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        out.append("\n".join(current))
    return out


def text_height(text: str) -> float:
    """Estimated height of a markdown block on a slide."""
    first = text.lstrip().split("\n", 1)[0]
    level = len(first) - len(first.lstrip("#")) if first.startswith("#") else 0
    if level and len(text.split("\n")) == 1:
        return HEADING_PX.get(level, 44)
    if text.lstrip().startswith("$$"):
        return 40 + 30 * text.count("\\\\") + 25 * max(0, text.count("\n") - 2)
    if text.lstrip().startswith("|"):
        return 36 * text.count("\n") + 40
    items = re.split(r"\n(?=\s*(?:[-*+]|\d+\.) )", text)
    lines = sum(-(-len(PLAIN.sub(lambda m: m.group(1) or "", item.replace("\n", " "))) // TEXT_CHARS) or 1
                for item in items)
    return lines * TEXT_LINE + 22 + 8 * (len(items) - 1)


def code_lines(text: str) -> int:
    """Lines a text takes in a code block that wraps."""
    return sum(max(1, -(-len(line) // CODE_CHARS)) for line in text.rstrip("\n").split("\n"))


def output_text(output) -> str | None:
    """The text an output shows, or None when it is not text."""
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    data = output.get("data", {})
    if any(k.startswith("image/") for k in data) or "text/html" in data:
        return None
    return data.get("text/plain")


def figure_size(png: str) -> tuple[int, int]:
    """The size at which a figure (base64 PNG) is shown: its own, enlarged up to 1.5 times or made
    smaller so that it fits the slide's width and FIGURE_MAX."""
    w, h = struct.unpack(">II", base64.b64decode(png[:64])[16:24])
    scale = min(FIGURE_ZOOM, (WIDTH - 80) / w, FIGURE_MAX / h)
    return round(w * scale), round(h * scale)


def image_height(output) -> float:
    """Estimated height of a figure or HTML output on a slide (0 for text)."""
    data = output.get("data", {})
    if "image/png" in data:
        return figure_size(data["image/png"])[1] + 16
    if "text/html" in data:
        return 26 * data["text/html"].count("<tr") + 30
    return 0


def shorten(output, lines: int = OUTPUT_LINES) -> None:
    """Cut a long text output to its first ``lines`` lines and a visible "…" (in place)."""
    text = output_text(output)
    if text is None or text.count("\n") <= lines:
        return
    short = "\n".join(text.split("\n")[:lines]) + "\n…\n"
    if output.output_type == "stream":
        output.text = short
    else:
        output.data = {"text/plain": short}


def cell_height(cell) -> float:
    """Estimated height of a cell on a slide (markdown: what stays on the slide)."""
    if cell.cell_type == "markdown":
        return sum(text_height(b) for b in blocks(cell.source)) if cell.source.strip() else 0
    if cell.cell_type != "code":
        return 0
    height = 0 if cell.metadata.get("transient", {}).get("remove_source") else code_lines(cell.source) * CODE_LINE + 24
    for output in cell.outputs:
        text = output_text(output)
        height += code_lines(text) * CODE_LINE + 10 if text is not None else image_height(output)
    return height


def cut_to_fit(cell) -> list:
    """Cut a code cell taller than a slide to the lines that fit, ending with a comment that says so;
    return speaker notes with the whole code (or no cell when it fits)."""
    if is_figure(cell) or cell_height(cell) <= BUDGET - HEADING_PX[4]:
        return []
    whole = cell.source
    room = BUDGET - HEADING_PX[4] - (cell_height(cell) - code_lines(whole) * CODE_LINE) - 2 * CODE_LINE
    lines, kept = whole.split("\n"), []
    for line in lines:
        if code_lines("\n".join(kept + [line])) * CODE_LINE > room:
            break
        kept.append(line)
    kept = kept or lines[:1]
    cell.source = "\n".join(kept) + f"\n# … {len(lines) - len(kept)} more lines: the notebook has the whole cell"
    return [notes_cell([f"The whole cell:\n\n```python\n{whole}\n```"])]


def is_figure(cell) -> bool:
    return cell.cell_type == "code" and any("image/png" in o.get("data", {}) for o in cell.outputs)


LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+\.) ")
ITEM_CHARS = 2 * TEXT_CHARS        # a list item longer than this shows its first sentence (the rest: notes)
LEAD_CHARS = 4 * TEXT_CHARS        # a first paragraph longer than this shows its first sentences (the rest: notes)


def on_slide(block: str, first: bool) -> str | None:
    """What a block of a markdown cell shows on the slide (None: it all goes to the speaker notes).
    Kept: the heading and first paragraph, formulas, tables, figure captions, exercises, lists (a long
    item cut to its first sentence)."""
    b = block.lstrip()
    if first and not b.startswith(("#", "$$", "|", "<")) and not LIST_ITEM.match(b) and not CAPTION.match(b) \
            and len(PLAIN.sub("", block)) > LEAD_CHARS:      # a long first paragraph: its first sentences
        return lead(block, LEAD_CHARS)
    label, _, rest = block.partition("\n")
    if not LIST_ITEM.match(b) and LIST_ITEM.match(rest) and len(label) <= TEXT_CHARS:   # "**Label**" and a list
        return label + "\n\n" + on_slide(rest, False)
    if not LIST_ITEM.match(b):
        keep = (first or b.startswith(("#", "$$", "|", "<")) or CAPTION.match(b)
                or re.match(r"\*\*\d+\.\*\*|\*Solution", b))   # an exercise, a solution
        return block if keep else None
    items = re.split(r"\n(?=\s*(?:[-*+]|\d+\.) )", block)
    return "\n".join(item if len(PLAIN.sub("", item)) <= ITEM_CHARS else lead(item, ITEM_CHARS, 1) for item in items)


def lead(text: str, limit: int, sentences: int = 99) -> str:
    """The first sentences of a text (at most ``sentences``, within about ``limit`` characters shown,
    at least one, cut at a word if it alone is longer), with "…" where it was cut."""
    flat = " ".join(text.split())
    ends = [m.start() for m in re.finditer(r"(?<=[.;:!?])\s(?=[A-Z(*`$])", flat)] + [len(flat)]
    fits = [e for e in ends[:sentences] if len(PLAIN.sub("", flat[:e])) <= limit]
    short = flat[:fits[-1]] if fits else flat[:ends[0]]
    if len(PLAIN.sub("", short)) > limit:
        short = short[:limit].rsplit(" ", 1)[0]
    for mark in ("**", "`", "$"):   # no markup left open: cut before the mark that opens it
        if short.count(mark) % 2:
            short = short[:short.rfind(mark)].rstrip()
    if short.replace("**", "").count("*") % 2:
        short = short[:short.replace("**", "\0\0").rfind("*")].rstrip()
    return short if short == flat else short + " …"


def slide_cells(cell) -> list:
    """One cell of the notebook as the deck shows it: zero, one or several cells. A markdown cell
    becomes one cell per block that stays on the slide, and speaker notes after each for what does not."""
    cell = nbformat.from_dict(copy.deepcopy(dict(cell)))
    kind = cell.metadata.get("slideshow", {}).get("slide_type") or slide_type(cell)
    cell.metadata["slideshow"] = {"slide_type": kind}
    if cell.metadata.get("slides", {}).get("scroll"):
        cell.metadata["slideshow"] = {"slide_type": "subslide" if kind in ("-", "fragment") else kind,
                                      "data": {"scroll": "true"}}
    if cell.cell_type == "code":
        if cell.source.startswith(SETUP_CELL):
            return []
        cell.source = for_slides(cell.source)
        cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
        for output in cell.outputs:
            shorten(output)
            if "image/png" in output.get("data", {}):   # shown at figure_size: width and height set
                width, height = figure_size(output.data["image/png"])
                output.setdefault("metadata", {})["image/png"] = {"width": width, "height": height}
        notes = cut_to_fit(cell)
        if is_figure(cell) and cell.source.strip():    # the code, then the figure: they may go on two slides
            figure = nbformat.v4.new_code_cell(cell.source, outputs=cell.outputs,
                                               metadata={"slideshow": {"slide_type": "-"},
                                                         "transient": {"remove_source": True}})
            cell.outputs = []
            return [cell, figure] + notes
        return [cell] + notes
    if cell.cell_type != "markdown":
        return [cell]
    parts = blocks(BADGE.sub("", cell.source))
    heading = bool(parts) and parts[0].startswith("#") and "\n" not in parts[0]
    out, notes = [], []
    for i, block in enumerate(parts):
        shown = on_slide(block, i <= int(heading))
        if shown is not None:
            if notes and out:
                out.append(notes_cell(notes))
                notes = []
            pieces = [piece for piece in re.split(r"\n+(?=(?:[-*+]|\d+\.) )", shown) if piece.strip()]
            out += [nbformat.v4.new_markdown_cell(piece, metadata={"slideshow": {"slide_type": "-"}})
                    for piece in pieces]
        if shown != block:
            notes.append(block)
    if not out:
        out.append(nbformat.v4.new_markdown_cell("", metadata={"slideshow": {"slide_type": "-"}}))
    out[0].metadata = cell.metadata
    out[0]["id"] = cell.get("id", out[0]["id"])
    for piece in out:
        if CAPTION.match(piece.source):
            piece["id"] = "caption-" + piece["id"]   # the style sheet sets captions smaller by it
    if notes:
        out.append(notes_cell(notes))
    return out


def notes_cell(blocks: list[str]):
    """A cell of speaker notes (nbconvert's reveal template makes it an <aside class="notes">)."""
    return nbformat.v4.new_markdown_cell("\n\n".join(blocks), metadata={"slideshow": {"slide_type": "notes"}})


def paginate(cells: list) -> list:
    """Cut (sub)slides that would not fit into sub-slides: a figure with its caption, a continued
    section headed by its title and "(continued)". A scrolling slide is left whole."""
    out, used, title, scrolling = [], 0.0, "", False
    for i, cell in enumerate(cells):
        kind = cell.metadata["slideshow"]["slide_type"]
        if kind == "notes" or kind == "skip":
            out.append(cell)
            continue
        if kind in ("slide", "subslide"):
            used, scrolling = 0.0, "data" in cell.metadata["slideshow"]
            first = cell.source.lstrip().split("\n", 1)[0] if cell.cell_type == "markdown" else ""
            title = first.lstrip("#").strip() if first.startswith("#") else title
        height = cell_height(cell)
        following = cells[i + 1] if i + 1 < len(cells) else None
        if is_figure(cell) and following is not None and following.cell_type == "markdown" \
                and CAPTION.match(following.source.lstrip()):
            height += cell_height(following)
        caption = cell.cell_type == "markdown" and CAPTION.match(cell.source.lstrip()) and out and is_figure(out[-1])
        tail = list_tail(cells[i:])
        widow = tail and used + tail <= BUDGET + WIDOW_SLACK   # the last items of a list stay with the others
        if kind not in ("slide", "subslide") and not scrolling and not caption and not widow and used > 0 \
                and used + height > BUDGET:
            out.append(nbformat.v4.new_markdown_cell(f"#### {title} (continued)",
                                                     metadata={"slideshow": {"slide_type": "subslide"}}))
            used = HEADING_PX[4]
        out.append(cell)
        used += height if not caption else 0
    return out


def list_tail(cells: list) -> float:
    """The height of the list items that open ``cells`` when they are the last two or fewer of their
    list (else 0): they are kept with the items before them rather than left alone on a slide."""
    items = []
    for cell in cells:
        kind = cell.metadata["slideshow"]["slide_type"]
        if kind == "notes":
            continue
        if kind != "-" or cell.cell_type != "markdown" or not LIST_ITEM.match(cell.source):
            break
        items.append(cell)
    return sum(cell_height(c) for c in items) if 0 < len(items) <= 2 else 0


def deck_notebook(nb):
    """The copy of a notebook that becomes its deck (see above); ``nb`` is not changed."""
    deck = copy.deepcopy(nb)
    deck.cells = paginate([part for cell in nb.cells for part in slide_cells(cell)])
    return deck


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
                          exclude_input_prompt=True, exclude_output_prompt=True,
                          reveal_theme="white",   # its fonts ship with reveal.js; "simple" fetches Google's
                          mathjax_url=f"mathjax/MathJax.js?config={MATHJAX_CONFIG}")


def write_deck(notebook: Path, out: Path) -> Path:
    """Write ``out/NN_name.slides.html`` for ``notebook`` (the assets must be in ``out``); return its path."""
    nb = deck_notebook(nbformat.read(str(notebook), as_version=4))
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
