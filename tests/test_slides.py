"""The slides (`make slides`, tools/slides.py): every deck built and opened with no network.

The deck is served from 127.0.0.1 to headless Chromium (tests/browser_support.py), which answers any
other request with a blank image and lists it: the deck must ask for none, so it works offline. The
test steps through every slide with the keyboard, as a teacher would, and checks that the title slide
shows the notebook's title, a formula is typeset by MathJax, a figure is shown, and that nothing logs
a console error or fails to load. Then every deck is opened in a 1280 x 720 window and every slide and
sub-slide is measured: one taller than the screen fails, naming deck and slide, unless the notebook marks it
as a deliberate scrolling slide (`"slides": {"scroll": true}` in the metadata of the cell that starts it).
Screenshots of a prose slide, a code slide and a figure slide of decks 01, 04 and 05 go to tests/_artifacts/.

reveal.js and MathJax come from two packages installed, as the teacher's tools are, in a folder of their
own (Makefile, PACKAGES_slides): without them these tests skip, and `make test-slides` runs them.
"""
from __future__ import annotations

import functools
import html.parser
import json
import http.server
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import nbformat
import pytest

from tests.browser_support import ARTIFACTS, ROOT, chromium_page, free_port, require_browser
from tools import slides

NOTEBOOK = ROOT / "notebooks" / "03_shape_tracing.ipynb"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCREEN = {"width": 1280, "height": 720}
SHOTS = ("01", "04", "05")   # decks whose prose, code and figure slides are photographed

# Every slide and sub-slide of the deck: its indices, the height of its content (the section's height
# while it is let grow to its content; the slide itself is 720 high), whether it is marked as
# scrolling, and what it holds.
MEASURED = """() => Reveal.getSlides().map((s) => {
  const i = Reveal.getIndices(s);
  const heading = s.querySelector("h1, h2, h3, h4");
  const height = s.style.height;
  s.style.height = "auto";
  const content = s.scrollHeight;
  s.style.height = height;
  return {h: i.h, v: i.v || 0, height: content, scroll: s.dataset.scroll === "true",
          heading: heading ? heading.textContent.replace("¶", "").trim() : "",
          code: s.querySelectorAll(".jp-CodeCell .jp-InputArea").length,
          figures: s.querySelectorAll(".jp-OutputArea-output img").length,
          notes: (Reveal.getSlideNotes(s) || "").trim().length > 0};
})"""

# What the slide on screen shows: its indices, its first heading, and the formulas and figures in it
# that a reader sees on the screen once the slide is scrolled to them (a figure counts once its image
# has loaded, with a nonzero size). The slide is left scrolled to the last one it counted.
SHOWN = """() => {
  const slide = Reveal.getCurrentSlide();
  const seen = (e) => {
    const [box, view] = [e.getBoundingClientRect(), slide.getBoundingClientRect()];   // centre e in the slide
    slide.scrollTop += (box.top - view.top - Math.max(0, (view.height - box.height) / 2)) / Reveal.getScale();
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
  };
  const heading = slide.querySelector("h1, h2, h3");
  return {
    indices: Reveal.getIndices(),
    heading: heading ? heading.textContent.replace("¶", "").trim() : "",
    formulas: [...slide.querySelectorAll(".MathJax")].filter(seen).length,
    formula_errors: slide.querySelectorAll(".MathJax_Error, merror").length,
    figures: [...slide.querySelectorAll("img")].filter((i) => i.complete && i.naturalWidth > 0 && seen(i)).length,
  };
}"""


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> list[Path]:
    """Every notebook's deck, built into a fresh folder (the assets beside them)."""
    try:
        return slides.build(NOTEBOOKS, tmp_path_factory.mktemp("slides"))
    except slides.AssetsMissing as missing:
        pytest.skip(f"{missing}; `make test-slides` runs this test with them")


@pytest.fixture(scope="module")
def deck(decks) -> Path:
    """Notebook 03's deck."""
    return next(d for d in decks if d.name.startswith(NOTEBOOK.stem))


def notebook_title(notebook: Path) -> str:
    """The notebook's title: the first line of its first cell, without the `# `."""
    first = nbformat.read(str(notebook), as_version=4).cells[0].source.lstrip()
    return first.split("\n", 1)[0].removeprefix("# ").strip()


class References(html.parser.HTMLParser):
    """The addresses a page loads by itself: scripts, style sheets and images (not the links a reader follows)."""

    def __init__(self):
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img") and attrs.get("src"):
            self.loaded.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.loaded.append(attrs["href"])


def test_deck_loads_only_its_own_files(deck):
    page = References()
    page.feed(deck.read_text(encoding="utf-8"))
    local = [url for url in page.loaded if not url.startswith("data:")]
    assert local, "the deck loads no script or style sheet at all"
    remote = [url for url in local if urlsplit(url).scheme or url.startswith("//")]
    assert not remote, f"the deck loads from the web: {remote}"
    missing = [url for url in local if not (deck.parent / urlsplit(url).path).is_file()]
    assert not missing, f"the deck loads files that are not beside it: {missing}"


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 from a thread; yield its address. Stopped on exit."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(Quiet, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_deck_renders_offline_in_chromium(deck):
    require_browser()
    errors: list[str] = []
    outside: list[str] = []
    failed: list[str] = []
    with serve(deck.parent) as base, chromium_page(errors, outside) as page:
        page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
        page.on("response", lambda r: failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
        page.goto(f"{base}/{deck.name}")
        page.wait_for_function("window.Reveal && Reveal.isReady() && window.MathJax && MathJax.isReady")
        page.evaluate("new Promise((done) => MathJax.Hub.Queue(done))")   # typesetting finished

        page.evaluate("Reveal.configure({transition: 'none'})")   # screenshots of whole slides
        total = page.evaluate("Reveal.getTotalSlides()")
        shown = [page.evaluate(SHOWN)]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "slides_03_title.png"))
        while not page.evaluate("Reveal.isLastSlide()"):
            before = shown[-1]["indices"]
            page.keyboard.press("Space")   # the next slide, sub-slides included
            page.wait_for_function("(before) => JSON.stringify(Reveal.getIndices()) !== before",
                                   arg=json.dumps(before))
            page.evaluate("new Promise((done) => MathJax.Hub.Queue(done))")
            shown.append(page.evaluate(SHOWN))
            for what in ("formulas", "figures"):   # a screenshot of the first slide that shows one
                if shown[-1][what] and not any(s[what] for s in shown[:-1]):
                    page.screenshot(path=str(ARTIFACTS / f"slides_03_{what}.png"))
            assert len(shown) <= total, f"stepped past the {total} slides: {[s['indices'] for s in shown]}"

    title = notebook_title(NOTEBOOK)
    assert shown[0]["heading"] == title, f"title slide shows {shown[0]['heading']!r}, not {title!r}"
    assert len(shown) == total, f"Space stepped through {len(shown)} of {total} slides"
    assert sum(s["formulas"] for s in shown) > 0, "no slide shows a formula typeset by MathJax"
    bad = [s["heading"] for s in shown if s["formula_errors"]]
    assert not bad, f"MathJax could not typeset a formula on the slides {bad}"
    assert sum(s["figures"] for s in shown) > 0, "no slide shows a figure"
    assert not errors, f"console errors: {errors}"
    assert not outside, f"the deck asked the network for: {outside}"
    assert not failed, f"requests failed: {failed}"


def test_deck_shows_no_prompts_or_test_markers(deck):
    text = deck.read_text(encoding="utf-8")
    for machine in ("NBVAL_", "jp-InputPrompt jp-InputArea-prompt", "jp-OutputPrompt jp-OutputArea-prompt", "In&nbsp;[",
                    "Set-up, the same in every notebook"):
        assert machine not in text, f"the deck shows {machine!r}"
    assert '<aside class="notes">' in text, "no speaker notes: the notebook's long prose should be in them"


def test_code_as_a_slide_shows_it():
    code = "# NBVAL_IGNORE_OUTPUT\n# (trained numbers: they differ)\nx = 1\n# a comment a reader wants\nprint(x)"
    assert slides.for_slides(code) == "x = 1\n# a comment a reader wants\nprint(x)"


def test_cut_prose_leaves_no_markup_open():
    assert slides.lead("**Bold lead** (x): aaa *bbb ccc* ddd eee fff ggg", 28, 1) == "**Bold lead** (x): aaa …"
    assert slides.lead("One. Two two. Three three three.", 12) == "One. …"
    caption = "*Figure: " + "a long caption, " * 40 + "the end.*"
    assert slides.on_slide(caption, True) == caption, "a caption is cut"


def test_long_prose_goes_to_the_notes():
    cell = nbformat.v4.new_markdown_cell("## A section\n\nThe point.\n\nA long explanation.\n\n$$a = b$$",
                                         metadata={"slideshow": {"slide_type": "slide"}})
    shown = slides.slide_cells(cell)
    on_slide = [c.source for c in shown if c.metadata["slideshow"]["slide_type"] != "notes"]
    notes = [c.source for c in shown if c.metadata["slideshow"]["slide_type"] == "notes"]
    assert on_slide == ["## A section", "The point.", "$$a = b$$"] and notes == ["A long explanation."]
    assert shown[0].metadata["slideshow"]["slide_type"] == "slide"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_no_prose_is_lost(notebook):
    """The notebook is the single source: every line of its markdown is on a slide or in the notes."""
    nb = nbformat.read(str(notebook), as_version=4)
    shown = "\n".join(cell.source for cell in slides.deck_notebook(nb).cells)
    lines = {line.strip() for cell in nb.cells if cell.cell_type == "markdown"
             for line in slides.BADGE.sub("", cell.source).split("\n") if line.strip()}
    lost = sorted(line for line in lines if line not in shown)
    assert not lost, f"{notebook.name}: lines neither on a slide nor in the notes: {lost[:5]}"


def test_a_marked_cell_starts_a_scrolling_slide_that_is_not_cut():
    marked = nbformat.v4.new_code_cell("x = 1", metadata={"slides": {"scroll": True}})
    long = [nbformat.v4.new_code_cell("\n".join(f"y{i} = {i}" for i in range(25))) for _ in range(3)]
    cells = slides.paginate([c for cell in [marked, *long] for c in slides.slide_cells(cell)])
    assert cells[0].metadata["slideshow"] == {"slide_type": "subslide", "data": {"scroll": "true"}}
    assert [c.metadata["slideshow"]["slide_type"] for c in cells[1:]] == ["-"] * 3, "the scrolling slide was cut"
    unmarked = slides.paginate([c for cell in long for c in slides.slide_cells(cell)])
    assert any(c.metadata["slideshow"]["slide_type"] == "subslide" for c in unmarked), "75 lines of code on one slide"


def test_every_slide_fits_a_720p_screen(decks):
    """Every slide of every deck fits 1280 x 720 without scrolling, or is marked as scrolling."""
    require_browser()
    errors: list[str] = []
    problems, report = [], []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(decks[0].parent) as base, chromium_page(errors) as page:
        page.set_viewport_size(SCREEN)
        for deck in decks:
            page.goto(f"{base}/{deck.name}")
            page.wait_for_function("window.Reveal && Reveal.isReady() && window.MathJax && MathJax.isReady")
            page.evaluate("Reveal.configure({transition: 'none', viewDistance: 1000})")   # every slide laid out
            page.evaluate("new Promise((done) => MathJax.Hub.Queue(done))")
            measured = page.evaluate(MEASURED)
            tallest = max(m["height"] for m in measured)
            marked = [m for m in measured if m["scroll"]]
            noted = sum(m["notes"] for m in measured)
            report.append(f"{deck.name}: {len(measured)} slides, tallest {tallest} px, {len(marked)} scrolling, "
                          f"{noted} with speaker notes")
            if not noted:
                problems.append(f"{deck.name}: no slide has speaker notes (the prose not on the slides)")
            problems += [f"{deck.name} slide {m['h']}.{m['v']} ({m['heading'] or 'continued'}): {m['height']} px"
                         for m in measured if m["height"] > SCREEN["height"] and not m["scroll"]]
            if deck.name[:2] in SHOTS:
                prose = next(m for m in measured[1:] if not m["code"] and not m["figures"])
                code = next(m for m in measured if m["code"] and not m["figures"])
                figure = next(m for m in measured if m["figures"])
                for what, m in (("prose", prose), ("code", code), ("figure", figure)):
                    page.evaluate(f"Reveal.slide({m['h']}, {m['v']})")
                    page.evaluate("new Promise((done) => MathJax.Hub.Queue(done))")
                    page.screenshot(path=str(ARTIFACTS / f"slides_{deck.name[:2]}_{what}.png"))
    print("\n".join(report))
    assert not problems, ("slides taller than the 1280 x 720 screen and not marked as scrolling, or decks "
                          "without notes:\n" + "\n".join(problems))
    assert not errors, f"console errors: {errors}"
