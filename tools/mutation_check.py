"""Break each helper on purpose and check that a test notices (issue: tests that pass on broken code).

    .venv/bin/python tools/mutation_check.py        # about two minutes; exit 1 if a mutation survives

Each mutation replaces one snippet of a helper in a throw-away copy of the repository and runs the
test file that should catch it. A mutation that leaves its test green is a test to strengthen.
Add a row to MUTATIONS for every new helper behaviour a notebook relies on.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (what breaks, file, snippet, replacement, test file that must go red)
MUTATIONS = [
    ("train: no flip", "helpers/training.py",
     "x = torch.where(mask[:, None, None, None], x.flip(-1), x)", "x = x", "tests/test_training.py"),
    ("train: scheduler ignored", "helpers/training.py",
     "            if sched is not None:\n                sched.step()", "            pass", "tests/test_training.py"),
    ("train: channels_last ignored", "helpers/training.py",
     "            if channels_last:\n                x = x.contiguous(memory_format=torch.channels_last)\n            loss",
     "            loss", "tests/test_training.py"),
    ("eval_mode: modes not restored", "helpers/training.py",
     "            module.training = mode", "            module.training = True", "tests/test_training.py"),
    ("train_or_load: key ignores the seed", "helpers/training.py",
     "train_loader.batch_size, seed, sorted(settings.items())", "train_loader.batch_size, sorted(settings.items())",
     "tests/test_training.py"),
    ("PoolingResidualBlock: no dropout", "helpers/models/cnn.py",
     "return self.dropout(F.relu(out + self.downsample(x)))", "return F.relu(out + self.downsample(x))",
     "tests/test_blocks.py"),
    ("pick_device: never CUDA", "helpers/runtime.py",
     '    if prefer in ("auto", "cuda") and torch.cuda.is_available():', "    if False:", "tests/test_runtime.py"),
    ("claim: never fails", "helpers/claims.py", "    if not gap > 0:", "    if False:", "tests/test_claims.py"),
    ("mlp_gradient_norms: reseeds the global RNG", "helpers/experiments.py",
     "    with torch.random.fork_rng(devices=[]):\n        torch.manual_seed(seed)", "    if True:\n        torch.manual_seed(seed)",
     "tests/test_experiments.py"),
]


def main() -> int:
    survivors = 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        for name in ("helpers", "tests", "tools", "notebooks"):
            shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "_artifacts"))
        for name in ("conftest.py", "pyproject.toml"):
            shutil.copy(ROOT / name, copy / name)
        if (ROOT / "data").exists():
            (copy / "data").symlink_to(ROOT / "data")
        for what, path, old, new, test in MUTATIONS:
            target = copy / path
            original = target.read_text()
            if original.count(old) != 1:
                print(f"{what}: the snippet is not in {path} exactly once; update MUTATIONS")
                return 2
            target.write_text(original.replace(old, new))
            try:
                result = subprocess.run([sys.executable, "-m", "pytest", test, "-q", "-x", "-o", "addopts=",
                                         "-p", "no:cacheprovider"], cwd=copy, capture_output=True, text=True,
                                        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
            finally:
                target.write_text(original)
            caught = result.returncode != 0
            survivors += not caught
            print(f"{what:45s} {'caught' if caught else 'NOT CAUGHT'} by {test}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
