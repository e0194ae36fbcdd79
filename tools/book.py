"""The collection as a website: a book of the notebooks as stored (no re-execution), readable offline.

    python tools/book.py [--out DIR]
        stage the site's sources in build/book-src/ and build the website into DIR (build/book/);
        open DIR/index.html in a browser, or serve it (`python -m http.server -d build/book`)

What goes in. The landing page (book/index.md, with the sequence taken from the README's table), one
page per notebook of notebooks/ in order, and the teacher's guide (TEACHING.md). The student versions
are not published: student/ is never staged. The notebooks are built from reshaped copies (the stored
notebooks are never rewritten), as the slides are:
  - the Colab badge in the title cell goes (it is an image on the web; every notebook page has launch
    buttons for Colab and Binder at its top instead);
  - nbval markers and the machine-facing comment after them go; the set-up cell (for Colab) is folded;
  - a live widget's output, which needs a kernel, becomes a note that the live version runs in
    JupyterLab or Colab (the static figure beside each widget stays); progress bars go;
  - a link to a file of the repository that is not a page of the site points at it on GitHub.

How it is built. Sphinx with myst-nb (`nb_execution_mode = "off"`: the stored outputs are shown) and
sphinx-book-theme (book/conf.py), installed without their dependencies into a folder of their own
that goes first on PYTHONPATH (Makefile, PACKAGES_book). Nothing is fetched, at build or view time:
the theme ships its styles, scripts and icons, and MathJax 2.7 is copied into the site from
`jupyter-server-mathjax` (as for the slides). The launch buttons and the repository link come from
pyproject.toml's address (tools/repository.py), so a fork's site points at the fork.
"""
from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # `tools.*`, when run as a script

from tools.repository import repo_url  # noqa: E402
from tools.slides import BADGE, MATHJAX, SETUP_CELL, WIDGET, AssetsMissing, asset_folder, for_slides  # noqa: E402

BOOK = ROOT / "book"                 # conf.py and the landing page
SOURCE = ROOT / "build" / "book-src"
OUT = ROOT / "build" / "book"
PAGES = ("TEACHING.md",)             # markdown files of the repository that are pages of the site
LIVE = "live widget"                 # what a live widget's text form says (a progress bar's does not)
LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?\)")   # a markdown link's target and its anchor


def live_note(plain: str) -> str:
    """The note that stands where a live widget would be drawn (``plain``: the widget's text form)."""
    name = plain.split(" (", 1)[0].strip() or "A widget"
    return (f"```{{admonition}} Live widget: {name.lower()}\n:class: note\n"
            "This widget needs a running notebook: it works in JupyterLab or Colab (the rocket button at "
            "the top of this page opens the notebook there). Here, the static figures beside it show what "
            "it draws at fixed settings.\n```")


def site_notebook(nb):
    """The copy of a notebook that becomes its page (see above); ``nb`` is not changed."""
    page = copy.deepcopy(nb)
    page.metadata.pop("widgets", None)   # widget state: without a kernel there is nothing to draw
    cells = []
    for cell in page.cells:
        if cell.cell_type == "markdown":
            cell.source = BADGE.sub("", cell.source)
        elif cell.cell_type == "code":
            if cell.source.startswith(SETUP_CELL):
                cell.metadata["tags"] = [*cell.metadata.get("tags", []), "hide-input"]
            cell.source = for_slides(cell.source)
            widgets = [o for o in cell.outputs if WIDGET in o.get("data", {})]
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
            notes = [live_note(o.data.get("text/plain", "")) for o in widgets if LIVE in o.data.get("text/plain", "")]
            if notes:
                cells.append(cell)
                cell = nbformat.v4.new_markdown_cell("\n\n".join(notes))
        cells.append(cell)
    page.cells = cells
    return page


def on_github(text: str, pages: set[str], repository: str) -> str:
    """Markdown whose relative links to files that are not pages of the site point at them on GitHub."""

    def target(found: re.Match) -> str:
        path, anchor = found.group(2), found.group(3) or ""
        if "://" in path or path.startswith(("mailto:", "/")) or path in pages:
            return found.group(0)
        return f"{found.group(1)}{repository}/blob/main/{path}{anchor})"

    return LINK.sub(target, text)


def sequence(readme: str, notebooks: list[Path]) -> str:
    """The README's table of notebooks as a list for the landing page: title (a link to its page),
    CPU run time, what it teaches."""
    items = []
    for row in readme.split("\n"):
        if not row.startswith("| [0") or not any(f"(notebooks/{n.name})" in row for n in notebooks):
            continue
        title, teaches, minutes = (column.strip() for column in row.strip("|").split(" | ")[:3])
        items.append(f"- **{title}** ({minutes.rstrip('*')} on a laptop CPU). {teaches}")
    if not items:
        raise ValueError("README.md has no table of notebooks (rows starting with '| [0')")
    return "\n".join(items)


def stage(source: Path = SOURCE, repository: str | None = None, notebooks: list[Path] | None = None) -> list[Path]:
    """Write the site's sources into ``source`` (emptied first): the landing page, the reshaped
    ``notebooks`` (all of notebooks/ when None) and the teacher's guide, their links to the rest of the
    repository pointing at ``repository`` (pyproject.toml's address when None). Return the notebooks."""
    repository = repository or repo_url()
    notebooks = notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    shutil.rmtree(source, ignore_errors=True)
    (source / "notebooks").mkdir(parents=True)
    for notebook in notebooks:
        nb = site_notebook(nbformat.read(str(notebook), as_version=4))
        nbformat.write(nb, str(source / "notebooks" / notebook.name))
    pages = {f"notebooks/{n.name}" for n in notebooks} | set(PAGES)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    landing = (BOOK / "index.md").read_text(encoding="utf-8").replace("{sequence}", sequence(readme, notebooks))
    landing = landing.replace("{repository}", repository).replace("{name}", repository.rstrip("/").rsplit("/", 1)[1])
    (source / "index.md").write_text(on_github(landing, pages, repository), encoding="utf-8")
    for name in PAGES:
        text = (ROOT / name).read_text(encoding="utf-8")
        (source / name).write_text(on_github(text, pages, repository), encoding="utf-8")
    shutil.copy2(BOOK / "conf.py", source / "conf.py")
    shutil.copytree(BOOK / "_static", source / "_static")
    shutil.copytree(asset_folder(*MATHJAX), source / "_static" / "mathjax")
    return notebooks


def build(out: Path = OUT, source: Path = SOURCE, repository: str | None = None,
          notebooks: list[Path] | None = None) -> Path:
    """Stage the sources (see ``stage``) and build the website into ``out``; return its index.html."""
    from sphinx.cmd.build import build_main

    repository = repository or repo_url()
    stage(source, repository, notebooks)
    shutil.rmtree(out, ignore_errors=True)
    # -W: a warning (an unresolved link, a missing file) fails the build; -q: only warnings are printed.
    status = build_main(["-b", "html", "-q", "-W", "--keep-going", "-d", str(source / ".doctrees"),
                         "-D", f"html_theme_options.repository_url={repository}", str(source), str(out)])
    if status:
        raise RuntimeError(f"sphinx-build exited with {status}")
    return out / "index.html"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        print(build(args.out))
    except (AssetsMissing, ImportError) as missing:
        print(f"book: {missing}; `make book` installs what the site is built with (Makefile, PACKAGES_book)",
              file=sys.stderr)
        return 1
    except RuntimeError as failed:
        print(f"book: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
