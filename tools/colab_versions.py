"""Check that this Python environment has exactly the versions colab-versions.txt lists (Colab's).

    .venv-colab/bin/python tools/colab_versions.py colab-versions.txt

`make test-colab` runs it first, so a test run against Colab's versions cannot silently test others.
"""
from __future__ import annotations

import platform
import sys
from importlib.metadata import version
from pathlib import Path


def pinned(path: Path) -> tuple[str, dict[str, str]]:
    """The Python version (the '# python X.Y' line) and the package pins of the versions file."""
    python, pins = "", {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("# python "):
            python = line.removeprefix("# python ").strip()
        elif line and not line.startswith("#"):
            name, _, wanted = line.partition("==")
            pins[name.strip()] = wanted.strip()
    return python, pins


def main(path: str) -> int:
    python, pins = pinned(Path(path))
    found = {"python": ".".join(platform.python_version_tuple()[:2])} | {name: version(name) for name in pins}
    wanted = {"python": python} | pins
    wrong = {name: (found[name], wanted[name]) for name in wanted if not found[name].startswith(wanted[name])}
    for name in wanted:
        print(f"{name:12s} {found[name]:10s} (Colab: {wanted[name]})")
    if wrong:
        print(f"not Colab's versions: {wrong}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "colab-versions.txt"))
