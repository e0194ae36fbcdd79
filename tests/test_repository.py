"""The repository's address (tools/repository.py): one address, pyproject.toml's, behind every badge,
set-up cell and README link, and a fork that moves them all."""
import shutil
from pathlib import Path

import nbformat
import pytest

from tools import repository
from tools.setup_cell import setup_cell

ROOT = Path(__file__).resolve().parent.parent


def _copy(tmp_path: Path) -> None:
    """Copy the files that name the repository's address into ``tmp_path``."""
    for pattern in repository.FORK_FILES:
        for path in ROOT.glob(pattern):
            (tmp_path / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, tmp_path / path.relative_to(ROOT))


def test_badges_setup_cells_and_readme_agree_with_pyproject():
    assert repository.repo_url() == repository.REPO_URL
    assert repository.links() == []


def test_links_name_each_address_that_disagrees(tmp_path):
    _copy(tmp_path)
    path = sorted((tmp_path / "notebooks").glob("*.ipynb"))[0]
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("github/resnet-lab/resnet-lab/", "github/someone/else/")
    next(c for c in nb.cells if c.cell_type == "code").source += "\n# changed"
    nbformat.write(nb, str(path))
    where = f"notebooks/{path.name}"
    assert repository.links(tmp_path) == [
        f"{where}: https://colab.research.google.com/github/someone/else is not resnet-lab/resnet-lab",
        f"{where}: the title cell has no Colab badge opening {where} from resnet-lab/resnet-lab",
        f"{where}: the first code cell is not the set-up cell for {repository.REPO_URL}"]


def test_fork_rewrites_every_address_consistently(tmp_path):
    _copy(tmp_path)
    other = "\nSee also https://github.com/resnet-lab/resnet-lab-extras and https://github.com/d2l-ai/d2l-en.\n"
    with open(tmp_path / "README.md", "a") as readme:
        readme.write(other)
    before = {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}

    with pytest.raises(ValueError, match=r"url: expected https://github.com/OWNER/NAME, got 'github.com/x'"):
        repository.fork("github.com/x", root=tmp_path)
    changed = repository.fork("https://github.com/a-teacher/resnet-lab-2027", root=tmp_path)

    assert set(changed) == {p for p in before if "resnet-lab/resnet-lab" in before[p].replace(other, "")
                            or "resnet-lab.github.io/resnet-lab" in before[p]}
    assert repository.repo_url(tmp_path) == "https://github.com/a-teacher/resnet-lab-2027"
    assert repository.links(tmp_path) == []
    for path, old in before.items():
        new = path.read_text()
        assert "resnet-lab/resnet-lab/" not in new and "resnet-lab/resnet-lab\"" not in new
        assert "resnet-lab.github.io/resnet-lab/" not in new                # the website's address too
        assert new.replace("a-teacher/resnet-lab-2027", "resnet-lab/resnet-lab").replace(
            "a-teacher.github.io/resnet-lab-2027", "resnet-lab.github.io/resnet-lab") == old   # nothing else changed
    assert other in (tmp_path / "README.md").read_text()                # other repositories are left alone
    first = sorted((tmp_path / "notebooks").glob("*.ipynb"))[0]
    first_code = next(c.source for c in nbformat.read(str(first), 4).cells if c.cell_type == "code")
    assert first_code == setup_cell("https://github.com/a-teacher/resnet-lab-2027")
