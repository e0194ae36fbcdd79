"""The repository's address: it lives in pyproject.toml (`Repository = ...`); every Colab and Binder
badge, set-up cell and README link (the website's GitHub Pages address too) must agree with it, and a
fork points them all at itself.

    python tools/repository.py links
        exit 1 if a Colab or Binder badge, a set-up cell or a README link disagrees with pyproject.toml
    python tools/repository.py fork https://github.com/OWNER/NAME
        point pyproject.toml's Repository, every badge, set-up cell and README link at a fork
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?")
LINK = re.compile(r"https://(colab\.research\.google\.com/github|mybinder\.org/v2/gh)/"
                  r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)")
FORK_FILES = ("pyproject.toml", "README.md", "TEACHING.md", "notebooks/*.ipynb", "student/*.ipynb")


def repo_url(root: Path = ROOT) -> str:
    """pyproject.toml's `Repository = "..."` (read with a regex: tomllib needs Python 3.11)."""
    return re.search(r'^Repository = "([^"]+)"', (Path(root) / "pyproject.toml").read_text(), re.M).group(1)


REPO_URL = repo_url()


def colab_url(path: str, url: str = REPO_URL) -> str:
    """The Colab address that opens ``path`` (from the repository's root) on the main branch of ``url``."""
    return url.replace("https://github.com/", "https://colab.research.google.com/github/") + f"/blob/main/{path}"


def pages_url(url: str = REPO_URL) -> str:
    """The address GitHub Pages gives the website of the repository at ``url`` (`make book`, published
    by .github/workflows/test-and-publish.yml)."""
    owner, name = url.removeprefix("https://github.com/").split("/")
    return f"https://{owner.lower()}.github.io/{name}/"


def _fork_files(root: Path) -> list[Path]:
    return [p for pattern in FORK_FILES for p in sorted(Path(root).glob(pattern)) if p.is_file()]


def links(root: Path = ROOT) -> list[str]:
    """What disagrees with pyproject.toml's address: each Colab and Binder link (also the badge in a
    notebook's title, which must open that notebook), each notebook's set-up cell. Empty: all agree."""
    from tools.setup_cell import setup_cell   # not at the top: setup_cell imports REPO_URL from here

    root = Path(root)
    url = repo_url(root)
    slug = url.removeprefix("https://github.com/")
    problems = []
    for path in _fork_files(root):
        where = path.relative_to(root)
        text = path.read_text()
        for found in LINK.finditer(text):
            if found.group(2) != slug:
                problems.append(f"{where}: {found.group(0)} is not {slug}")
        for target in re.findall(r"colab\.research\.google\.com/github/[^/]+/[^/]+/blob/main/([^)\s\"]+)", text):
            if not (root / target).is_file():
                problems.append(f"{where}: its Colab link opens {target}, which does not exist")
        if path.suffix == ".ipynb":
            nb = nbformat.reads(text, as_version=4)
            if colab_url(where.as_posix(), url) + ")" not in nb.cells[0].source:
                problems.append(f"{where}: the title cell has no Colab badge opening {where.as_posix()} from {slug}")
            if next(c.source for c in nb.cells if c.cell_type == "code") != setup_cell(url):
                problems.append(f"{where}: the first code cell is not the set-up cell for {url}")
    readme = (root / "README.md").read_text()
    if f"https://mybinder.org/v2/gh/{slug}/" not in readme:
        problems.append(f"README.md: no Binder badge for {slug}")
    if pages_url(url) not in readme:
        problems.append(f"README.md: no link to the website at {pages_url(url)}")
    return problems


def fork(url: str, root: Path = ROOT) -> list[Path]:
    """Point the repository at ``url`` (https://github.com/OWNER/NAME): pyproject.toml, badges, set-up
    cells, README links. Other GitHub addresses are left alone. Return the files changed."""
    found = GITHUB.fullmatch(url)
    if not found:
        raise ValueError(f"url: expected https://github.com/OWNER/NAME, got {url!r}")
    root, new_slug = Path(root), f"{found.group(1)}/{found.group(2)}"
    old_slug = repo_url(root).removeprefix("https://github.com/")
    pattern = re.compile(r"(https://(?:github\.com|colab\.research\.google\.com/github|mybinder\.org/v2/gh)/)"
                         + re.escape(old_slug) + r"(?![A-Za-z0-9_.-])")
    old_pages = pages_url(repo_url(root))
    changed = []
    for path in _fork_files(root):
        text = path.read_text()
        new = pattern.sub(lambda m: m.group(1) + new_slug, text).replace(old_pages, pages_url(f"https://github.com/{new_slug}"))
        if new != text:
            path.write_text(new)
            changed.append(path)
    problems = links(root)
    if problems:
        raise ValueError("after the fork, links still disagree:\n" + "\n".join(problems))
    return changed


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="tools/repository.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("links", help="check that badges, set-up cells and README agree with pyproject.toml")
    forked = commands.add_parser("fork", help="point every badge, set-up cell and README link at a fork")
    forked.add_argument("url", help="https://github.com/OWNER/NAME")
    args = parser.parse_args(argv)
    if args.command == "links":
        problems = links()
        print("\n".join(problems) if problems else f"links: all agree with {REPO_URL}")
        return 1 if problems else 0
    try:
        changed = fork(args.url)
    except ValueError as error:
        sys.exit(f"error: {error}")
    print("\n".join(f"{path}: now points at {args.url}" for path in changed))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))   # `tools.setup_cell`, when run as a script
    sys.exit(main(sys.argv[1:]))
