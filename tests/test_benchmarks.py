"""benchmarks/ in quick mode: the code that measures runs end to end and writes its report.

The numbers of a quick run mean nothing (tiny sizes, one repeat); the real ones are in
benchmarks/RESULTS.md, from `.venv/bin/python benchmarks/run.py` on an idle machine.
"""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_fast_recipe_quick_mode_reports_time_and_accuracy():
    out = run("benchmarks/fast_recipe.py", "--quick")
    assert "training seconds:" in out and "test accuracy:" in out and "target" in out


def test_fast_recipe_times_the_d2l_loader_per_worker_count():
    out = run("benchmarks/fast_recipe.py", "--loader-workers", "--quick")
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("num_workers=")] == [
        "num_workers=0", "num_workers=1", "num_workers=2", "num_workers=4"]


def test_run_quick_mode_writes_every_table(tmp_path):
    report = tmp_path / "RESULTS.md"
    out = run("benchmarks/run.py", "--quick", "--only", "explorer", "recorder", "recipe", "trainers",
              "--out", str(report))
    assert "wrote" in out
    text = report.read_text()
    for heading in ("Gradient-norm explorer", "GradientRecorder overhead", "Fast CPU recipe", "d2l.Trainer"):
        assert heading in text, heading
