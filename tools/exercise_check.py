"""Exercise checks must reject plausible wrong answers: a pytest plugin for nbval, and its command.

    python tools/exercise_check.py notebooks/01_vanishing_gradients.ipynb [...]
        run the notebooks with nbval (lax: every cell runs, outputs not compared) and, after each
        exercise's solution cell, try its recorded wrong answers against its checks

A solution cell records the mistakes a student plausibly makes in its metadata:

    "resnet_lab": {"wrong_answers": ["depth_needed = depth_needed - 1",
                                     "orders = math.log(skip_ratio / plain_ratio)"]}

Each entry is a snippet that rebinds the name(s) the checks read (it must not change an object in place:
`model = nn.Sequential(*model[:4], nn.Linear(256, 10))`, not `model[4] = ...`). Right after nbval has run the solution
cell, the same kernel runs, for each snippet: the snippet, then the cell's checks (what
`tools.classroom.split_solution` puts in the student's check cell). Every snippet must make a check
fail; then every name the snippet or the checks bound is put back as it was, so the notebook goes on
unchanged. A wrong answer that passes, or a snippet that itself raises, fails that cell's test, naming
the snippet. The root `conftest.py` loads this plugin, so every nbval run does it (`make test`,
`make check`, the portability and Colab runs).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from queue import Empty

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.classroom import _bound, split_solution  # noqa: E402

METADATA_KEY = "resnet_lab"
REPORT = "_resnet_lab_wrong_answer_report"


def wrong_answers(cell) -> list[str]:
    """The wrong-answer snippets recorded in a cell's metadata (empty if none)."""
    found = cell.get("metadata", {}).get(METADATA_KEY, {}).get("wrong_answers", [])
    if not isinstance(found, list) or not all(isinstance(s, str) and s.strip() for s in found):
        raise ValueError(f"metadata {METADATA_KEY}.wrong_answers must be a list of code strings, got {found!r}")
    return found


def probe_source(check: str, snippets: list[str]) -> str:
    """Code that runs each snippet and then the checks in the kernel, restores the names they bind, and
    leaves in ``_resnet_lab_wrong_answer_report`` one line per snippet: 'rejected: ...', 'ACCEPTED' or
    'SNIPPET ERROR: ...'. The random number generators (Python's, NumPy's, torch's CPU one) are put
    back too, so the cells after it draw what they drew without the probe, and claims made during the
    probe are not written to the claims log (``RESNET_LAB_CLAIMS``)."""
    restored = sorted(set(_bound(check)).union(*(_bound(s) for s in snippets)))
    return f'''\
def _resnet_lab_probe(snippets, check, names):
    import contextlib, io, os, random
    import numpy, torch
    rng = random.getstate(), numpy.random.get_state(), torch.get_rng_state()   # later cells draw the same
    claims_log = os.environ.pop("RESNET_LAB_CLAIMS", None)     # a wrong answer's failed claim is not a result
    scope, missing, report = globals(), object(), []
    for snippet in snippets:
        saved = {{name: scope.get(name, missing) for name in names}}
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                try:
                    exec(snippet, scope)
                except Exception as error:
                    report.append(f"SNIPPET ERROR: {{type(error).__name__}}: {{error}}")
                    continue
                try:
                    exec(check, scope)
                except Exception as error:
                    report.append(f"rejected: {{type(error).__name__}}: {{str(error)[:100]}}")
                else:
                    report.append("ACCEPTED")
        finally:
            for name, value in saved.items():
                if value is missing:
                    scope.pop(name, None)
                else:
                    scope[name] = value
    random.setstate(rng[0]); numpy.random.set_state(rng[1]); torch.set_rng_state(rng[2])
    if claims_log is not None:
        os.environ["RESNET_LAB_CLAIMS"] = claims_log
    return "\\n".join(report)


{REPORT} = _resnet_lab_probe({snippets!r}, {check!r}, {restored!r})
del _resnet_lab_probe
'''


def failures(snippets: list[str], report: str) -> list[str]:
    """The snippets that a check accepted or that raised themselves, each with what happened."""
    lines = report.splitlines()
    if len(lines) != len(snippets):
        return [f"the probe reported {len(lines)} results for {len(snippets)} snippets: {report!r}"]
    return [f"`{s}`: {line}" for s, line in zip(snippets, lines) if not line.startswith("rejected")]


def _run_in_kernel(kernel, source: str, timeout: float) -> str:
    """Execute ``source`` in nbval's kernel without output to the notebook; return the report string."""
    msg_id = kernel.kc.execute(source, store_history=False, allow_stdin=False, stop_on_error=False,
                               user_expressions={"report": REPORT})
    while True:
        msg = kernel.get_message(stream="shell", timeout=timeout)
        if msg["parent_header"].get("msg_id") == msg_id:
            break
    kernel.await_idle(msg_id, timeout)
    content = msg["content"]
    if content["status"] != "ok":
        raise RuntimeError(f"the wrong-answer probe failed in the kernel: {content.get('ename')}: {content.get('evalue')}")
    result = content["user_expressions"]["report"]
    if result.get("status") != "ok":
        raise RuntimeError(f"the wrong-answer probe left no report: {result}")
    return ast.literal_eval(result["data"]["text/plain"])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After nbval ran a solution cell successfully, try the cell's recorded wrong answers."""
    result = yield                     # a failed cell raises here, and its failure is reported as it is
    cell = getattr(item, "cell", None)
    snippets = wrong_answers(cell) if cell is not None and hasattr(item.parent, "kernel") else []
    if not snippets:
        return result
    check = split_solution(cell.source, 0).check
    try:
        report = _run_in_kernel(item.parent.kernel, probe_source(check, snippets),
                                item.config.option.nbval_cell_timeout)
    except Empty:
        pytest.fail("the wrong-answer probe timed out", pytrace=False)
    bad = failures(snippets, report)
    if bad:
        pytest.fail("an exercise check accepts a wrong answer (or a recorded wrong answer is broken):\n  "
                    + "\n  ".join(bad), pytrace=False)
    return result


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    return pytest.main(["-q", "-p", "no:cacheprovider", "-o", "addopts=", "--nbval-lax", "--nbval-current-env",
                        "--nbval-cell-timeout=600", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
