"""The set-up cell every notebook starts with, in the three places a notebook is opened: a clone, Colab,
and a folder of its own. It must find `helpers`, install only what is missing, and say clearly what
to do when it cannot."""
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tools.repository import REPO_URL
from tools.setup_cell import SETUP_CELL

ROOT = Path(__file__).resolve().parent.parent
REAL_FIND_SPEC = importlib.util.find_spec


def run_setup_cell(monkeypatch, cwd: Path, colab: bool, d2l_installed: bool) -> tuple[dict, list]:
    """Execute the set-up cell (without its IPython magic) as the kernel would; return its namespace
    and the commands it ran. git and pip are replaced by recorders: nothing is fetched or installed."""
    calls = []

    def fake_run(command, check=False):
        calls.append(list(command))
        if command[:2] == ["git", "clone"]:
            (Path(command[-1]) / "helpers").mkdir(parents=True)   # what the clone would bring
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.chdir(cwd)
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (REAL_FIND_SPEC(name, *a) if d2l_installed else None) if name == "d2l"
                        else REAL_FIND_SPEC(name, *a))
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    code = "\n".join(line for line in SETUP_CELL.splitlines() if not line.startswith("%"))
    namespace: dict = {}
    exec(compile(code, "setup-cell", "exec"), namespace)
    return namespace, calls


def test_in_a_clone_it_uses_the_repository_and_installs_nothing(monkeypatch):
    namespace, calls = run_setup_cell(monkeypatch, ROOT / "notebooks", colab=False, d2l_installed=True)
    assert namespace["REPO"] == ROOT and sys.path[0] == str(ROOT)
    assert calls == []


def test_on_colab_it_clones_once_and_installs_only_d2l_without_its_pins(monkeypatch, tmp_path):
    namespace, calls = run_setup_cell(monkeypatch, tmp_path, colab=True, d2l_installed=False)
    assert calls[0] == ["git", "clone", "--depth", "1", REPO_URL, "resnet-lab"]
    assert calls[1][1:] == ["-m", "pip", "install", "-q", "--no-deps", "d2l==1.0.3"] and len(calls) == 2
    assert namespace["REPO"] == tmp_path / "resnet-lab"
    # Run again (Colab's "run all" after a restart): the clone is there, d2l too: nothing is repeated.
    _, again = run_setup_cell(monkeypatch, tmp_path, colab=True, d2l_installed=True)
    assert again == []


def test_never_reinstalls_what_colab_has(monkeypatch, tmp_path):
    _, calls = run_setup_cell(monkeypatch, tmp_path, colab=True, d2l_installed=False)
    installed = " ".join(" ".join(c) for c in calls)
    for package in ("torch", "torchvision", "ipywidgets", "numpy", "matplotlib"):
        assert f" {package}" not in installed.replace("d2l==", "")


def test_copied_alone_it_says_how_to_get_helpers(monkeypatch, tmp_path):
    with pytest.raises(ModuleNotFoundError, match=r"needs ResNet Lab's `helpers` package: open it from the notebooks/ folder of a clone"):
        run_setup_cell(monkeypatch, tmp_path, colab=False, d2l_installed=True)
