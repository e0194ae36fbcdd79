"""The website (`make book`, tools/book.py): built from the notebooks as stored and read with no network.

The site is built into a fresh folder, then checked as files: every page loads only its own files
(no CDN), every internal link and anchor resolves (a link checker over every page), the student
versions are not published, every notebook page has launch buttons for Colab and Binder at
pyproject.toml's address (and a fork's address flows through). Then every page is served from
127.0.0.1 to headless Chromium (tests/browser_support.py), which answers any other request with a blank
image and lists it: each page must load with no console error and ask for nothing outside; formulas
are typeset by MathJax, figures are shown, search finds a page, and at a phone's width no page scrolls
sideways. Screenshots of the landing page and notebooks 01 and 04 at a laptop's and a phone's width
go to tests/_artifacts/.

Sphinx, myst-nb and the theme are installed, as the slides' tools are, in a folder of their own
(Makefile, PACKAGES_book): without them these tests skip, and `make test-book` runs them.
"""
from __future__ import annotations

import html.parser
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from tests.browser_support import ARTIFACTS, ROOT, chromium_page, require_browser
from tests.test_slides import serve
from tools import book
from tools.repository import colab_url, repo_url

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SCREENS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SHOTS = ("index.html", "notebooks/01_vanishing_gradients.html", "notebooks/04_full_resnet.html")
FORK = "https://github.com/a-teacher/resnet-lab-fork"
# Sphinx 9 announces API changes to the theme and myst's authors at every build: not ours to act on.
pytestmark = [pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def build_site(out: Path, **kwargs) -> Path:
    try:
        book.build(out / "site", out / "src", **kwargs)
    except (ImportError, book.AssetsMissing) as missing:
        pytest.skip(f"{missing}; `make test-book` runs this test with Sphinx and the theme installed")
    return out / "site"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The whole website, built into a fresh folder."""
    return build_site(tmp_path_factory.mktemp("book"))


def pages(site: Path) -> list[Path]:
    """Every page of the site (the theme's _static/ also holds Jinja macros named .html: not pages)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def page_name(site: Path, page: Path) -> str:
    return page.relative_to(site).as_posix()


class Page(html.parser.HTMLParser):
    """What a page refers to (links, scripts, style sheets, images) and the ids it defines."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.loaded: list[str] = []     # what the page loads by itself
        self.links: list[str] = []      # what a reader follows

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key) and (key == "id" or tag == "a"):
                self.ids.add(attrs[key])
        if tag in ("script", "img", "iframe", "source") and attrs.get("src"):
            self.loaded.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.loaded.append(attrs["href"])
        elif tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def parse(page: Path) -> Page:
    parsed = Page()
    parsed.feed(page.read_text(encoding="utf-8"))
    return parsed


def test_the_site_has_every_notebook_the_guide_and_no_student_version(site):
    names = {page_name(site, p) for p in pages(site)}
    expected = {"index.html", "TEACHING.html", "search.html"} | {f"notebooks/{n.stem}.html" for n in NOTEBOOKS}
    assert expected <= names, f"missing pages: {sorted(expected - names)}"
    published = [p.relative_to(site).as_posix() for p in site.rglob("*") if "student" in p.relative_to(site).parts]
    assert not published, f"student versions are published: {published}"
    stubs = [name for name in names if name.startswith("notebooks/")
             and "Write your answer here." in (site / name).read_text(encoding="utf-8")]
    assert not stubs, f"pages with the student versions' stubs: {stubs}"


def test_pages_load_only_their_own_files(site):
    remote, missing = [], []
    for page in pages(site):
        for url in parse(page).loaded:
            if url.startswith(("data:", "#")):
                continue
            if urlsplit(url).scheme or url.startswith("//"):
                remote.append(f"{page_name(site, page)}: {url}")
            elif not (page.parent / unquote(urlsplit(url).path)).is_file():
                missing.append(f"{page_name(site, page)}: {url}")
    assert not remote, f"pages load from the web: {remote[:10]}"
    assert not missing, f"pages load files that are not there: {missing[:10]}"


def test_every_internal_link_and_anchor_resolves(site):
    """The link checker: every address without a scheme leads to a file of the site, and its #anchor
    to an id in that file (no network: addresses with a scheme are not followed)."""
    parsed = {page: parse(page) for page in pages(site)}
    broken, checked = [], 0
    for page, found in parsed.items():
        for url in found.links + found.loaded:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//") or url in ("#", ""):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{page_name(site, page)}: {url} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page_name(site, page)}: {url} (no id {parts.fragment!r} there)")
    assert checked > 500, f"only {checked} internal links checked: is the site complete?"
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:20])


def launch_links(page: Path) -> set[str]:
    return {href for href in parse(page).links if re.match(r"https://(colab\.research\.google\.com|mybinder\.org)/", href)}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_launch_buttons_open_the_notebook_at_the_repository(site, notebook):
    path = f"notebooks/{notebook.name}"
    slug = repo_url().removeprefix("https://github.com/")
    links = launch_links(site / "notebooks" / f"{notebook.stem}.html")
    assert colab_url(path) in links, f"no Colab button opening {colab_url(path)}: {links}"
    binder = f"https://mybinder.org/v2/gh/{slug}/main?urlpath=lab/tree/{path}"
    assert binder in links, f"no Binder button opening {binder}: {links}"
    assert repo_url() in parse(site / "notebooks" / f"{notebook.stem}.html").links, "no link to the repository"


def test_a_forks_site_points_at_the_fork(tmp_path):
    notebook = ROOT / "notebooks" / "03_shape_tracing.ipynb"
    fork = build_site(tmp_path, repository=FORK, notebooks=[notebook])
    links = launch_links(fork / "notebooks" / f"{notebook.stem}.html")
    assert links == {colab_url(f"notebooks/{notebook.name}", FORK),
                     f"https://mybinder.org/v2/gh/a-teacher/resnet-lab-fork/main?urlpath=lab/tree/notebooks/{notebook.name}"}
    landing = (fork / "index.html").read_text(encoding="utf-8")
    assert repo_url() not in landing and FORK in landing, "the landing page does not point at the fork"


def test_a_live_widget_becomes_a_note_and_its_figure_stays():
    nb = nbformat.read(str(ROOT / "notebooks" / "01_vanishing_gradients.ipynb"), as_version=4)
    page = book.site_notebook(nb)
    assert "widgets" not in page.metadata
    assert not [o for c in page.cells if c.cell_type == "code" for o in c.outputs if book.WIDGET in o.get("data", {})]
    i = next(i for i, c in enumerate(page.cells) if "display(explorer.widget)" in c.source)
    note, figure = page.cells[i + 1], page.cells[i + 2]
    assert note.cell_type == "markdown" and "Live widget" in note.source and "JupyterLab or Colab" in note.source
    assert any("image/png" in o.get("data", {}) for o in figure.outputs), "the static figure after the widget is gone"
    assert "NBVAL" not in "".join(c.source for c in page.cells), "nbval markers on the page"
    assert "colab-badge.svg" not in page.cells[0].source
    assert nb.metadata.get("widgets"), "the stored notebook was changed"


def test_links_to_the_rest_of_the_repository_point_at_github():
    text = "See [results](benchmarks/RESULTS.md#x), [02](notebooks/02_residual_block.ipynb) and [web](https://a.b/c)."
    assert book.on_github(text, {"notebooks/02_residual_block.ipynb"}, FORK) == (
        f"See [results]({FORK}/blob/main/benchmarks/RESULTS.md#x), [02](notebooks/02_residual_block.ipynb) "
        "and [web](https://a.b/c).")


# In the browser: what a page shows once MathJax (where the page loads it) has typeset every formula.
SHOWN = """async () => {
  if (document.querySelector("script[src*='MathJax.js']")) {
    while (!(window.MathJax && MathJax.isReady)) await new Promise((r) => setTimeout(r, 50));
    await new Promise((done) => MathJax.Hub.Queue(done));
  }
  const figures = [...document.querySelectorAll("article img")].filter((i) => i.complete && i.naturalWidth > 0);
  return {
    formulas: [...document.querySelectorAll(".math.notranslate")].filter((m) => m.querySelector(".MathJax")).length,
    source_formulas: document.querySelectorAll(".math.notranslate").length,
    formula_errors: document.querySelectorAll(".MathJax_Error, merror").length,
    figures: figures.length,
    shown_figures: figures.filter((i) => i.getBoundingClientRect().width > 100).length,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
  };
}"""


def test_every_page_reads_offline_in_chromium(site):
    require_browser()
    errors: list[str] = []
    outside: list[str] = []
    failed: list[str] = []
    shown: dict[tuple[str, str], dict] = {}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(site) as base, chromium_page(errors, outside) as page:
        page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
        page.on("response", lambda r: failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
        for screen, size in SCREENS.items():
            page.set_viewport_size(size)
            for path in pages(site):
                name = page_name(site, path)
                before = len(errors)
                page.goto(f"{base}/{name}", wait_until="load")
                shown[screen, name] = page.evaluate(SHOWN)
                errors[before:] = [f"{name} ({screen}): {e}" for e in errors[before:]]
                if name in SHOTS:
                    page.screenshot(path=str(ARTIFACTS / f"book_{Path(name).stem[:2]}_{screen}.png"))
        page.set_viewport_size(SCREENS["laptop"])
        page.goto(f"{base}/search.html?q=degradation", wait_until="load")
        page.wait_for_selector("#search-results li", timeout=20_000)
        results = page.eval_on_selector_all("#search-results li a", "as => as.map((a) => a.getAttribute('href'))")

    assert not errors, f"console errors: {errors[:10]}"
    assert not outside, f"pages asked the network for: {sorted(set(outside))[:10]}"
    assert not failed, f"requests failed: {failed[:10]}"
    for name in (f"notebooks/{n.stem}.html" for n in NOTEBOOKS):
        seen = shown["laptop", name]
        assert seen["formula_errors"] == 0, f"{name}: MathJax could not typeset a formula"
        assert seen["figures"] > 0 and seen["shown_figures"] > 0, f"{name}: no figure shown ({seen})"
        assert seen["formulas"] == seen["source_formulas"], f"{name}: formulas left untypeset ({seen})"
    assert sum(shown["laptop", f"notebooks/{n.stem}.html"]["formulas"] for n in NOTEBOOKS) > 0, "no formula typeset"
    wide = {name: seen["overflow"] for (screen, name), seen in shown.items() if seen["overflow"] > 0}
    assert not wide, f"pages wider than the screen (they scroll sideways), by pixels: {wide}"
    assert any("01_vanishing_gradients" in r for r in results), f"searching 'degradation' finds {results}"
