"""Exercise checks: what a student reads when one fails (helpers/exercises.py), and that they reject
plausible wrong answers (tools/exercise_check.py).

The wrong-answer probe runs here in-process; in the notebooks it runs after every solution cell whenever
nbval runs (the root conftest loads the plugin). These tests also require that every exercise with a
code check records at least two wrong answers.
"""
import contextlib
import io
import linecache
import random

import numpy as np
import pytest
import torch

from helpers.exercises import NotYet, checking, shown_values
from tools.classroom import CHECKING_CELL, ROOT, Solution, check_cell, notebooks, plan, split_solution
from tools.exercise_check import failures, probe_source, wrong_answers

NOTEBOOKS = notebooks(ROOT / "notebooks")


# --- What a student reads ---------------------------------------------------------------------------
def _check(number: int, code: str, namespace: dict) -> str:
    """Run the check cell of ``code`` as the kernel would (its source registered for tracebacks); return
    what it printed."""
    source = check_cell(Solution(number, "", "", code, []))
    name = f"<check-{number}-{len(linecache.cache)}>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, name, "exec"), namespace)
    return out.getvalue()


def _student_namespace(**names) -> dict:
    """A kernel's namespace after the student notebook's checking cell, with ``names`` defined."""
    namespace: dict = {}
    exec(CHECKING_CELL, namespace)
    assert namespace["checking"] is checking
    return {**namespace, **names}


def test_a_check_says_correct_or_which_check_failed_and_why():
    namespace = _student_namespace(x=3, y=None, double=lambda v: 2 * v)
    assert _check(2, "assert x == 3\nassert double(x) == 6", namespace) == "Exercise 2: correct\n"
    with pytest.raises(NotYet) as failed:
        _check(2, "assert x == 3\nassert y == 4", namespace)
    assert str(failed.value) == "Exercise 2: not yet: the check `assert y == 4` is false (y = None)"
    assert failed.value._render_traceback_() == [str(failed.value)]      # what Jupyter shows: one line
    assert failed.value.__suppress_context__                            # and no chained AssertionError
    with pytest.raises(NotYet, match=r"^Exercise 3: not yet: name 'w' is not defined: run your solution cell"):
        _check(3, "assert w == 1", namespace)
    with pytest.raises(NotYet, match=r"^Exercise 4: not yet: NotImplementedError: Exercise 4: write f$"):
        exec("def f():\n    raise NotImplementedError('Exercise 4: write f')", namespace)
        _check(4, "assert f() == 1", namespace)


def test_a_failed_claim_or_loop_check_says_what_it_measured():
    namespace = _student_namespace(depth=3, double=lambda v: v + 2)
    with pytest.raises(NotYet, match=r"^Exercise 1: not yet: AssertionError: claim failed: depth: measured 3"):
        _check(1, "from helpers import claim\nclaim('depth', depth, above=5)", namespace)
    with pytest.raises(NotYet) as failed:
        _check(5, "for v in [2, 3]:\n    assert double(v) == 2 * v", namespace)
    assert str(failed.value) == "Exercise 5: not yet: the check `assert double(v) == 2 * v` is false (v = 3)"


def test_only_the_students_values_are_shown_and_shortened():
    scope = {"answer": "x" * 200, "_expected": 4, "np": np, "len": len, "k": 7}
    assert shown_values("assert len(answer) == _expected and np.pi > k", scope) == \
        ["answer = '" + "x" * 79, "k = 7"]
    assert shown_values("assert (answer ==", scope) == []               # one line of a longer statement
    assert shown_values("assert missing == 1", scope) == []


def test_checking_prints_nothing_but_the_verdict():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), checking(7):
        pass
    assert out.getvalue() == "Exercise 7: correct\n"
    with pytest.raises(NotYet, match=r"^Exercise 8: not yet: ValueError: bad$"), checking(8):
        raise ValueError("bad")


# --- Wrong answers are rejected --------------------------------------------------------------------
def _probe(check: str, snippets: list[str], scope: dict) -> list[str]:
    exec(probe_source(check, snippets), scope)
    return failures(snippets, scope["_resnet_lab_wrong_answer_report"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_check_records_wrong_answers(path):
    read = plan(path)
    assert read.solutions, f"{path.name} has no exercise with a code check"
    counts = {i: len(wrong_answers(read.nb.cells[i])) for i in read.solutions}
    too_few = [f"exercise {read.solutions[i].number} (cell {i}): {n} recorded" for i, n in counts.items() if n < 2]
    assert not too_few, f"{path.name}: record at least two plausible wrong answers per check: {too_few}"


def test_probe_rejects_wrong_answers_and_restores_names():
    scope = {"answer": 9}
    check = split_solution("answer = 9\nassert answer == 3 ** 2", 1).check
    assert _probe(check, ["answer = answer - 1", "answer = 3 * 2", "del answer"], scope) == []
    assert scope["answer"] == 9


def test_probe_reports_an_accepted_answer_and_a_broken_snippet():
    scope = {"orders": 39.0}
    check = "assert orders > 20"                                       # too weak: ln instead of log10 passes
    found = _probe(check, ["orders = orders * 2.303", "orders = undefined_name"], scope)
    assert len(found) == 2 and "ACCEPTED" in found[0] and "SNIPPET ERROR: NameError" in found[1]
    assert scope["orders"] == 39.0 and "undefined_name" not in scope


def test_probe_leaves_the_random_generators_as_they_were():
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = random.random(), np.random.rand(), torch.rand(1).item()
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    scope = {"x": 1}
    _probe("import random, numpy, torch\nrandom.random(); numpy.random.rand(); torch.rand(3)\nassert x == 1",
           ["x = 2"], scope)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_malformed_wrong_answers_are_refused():
    with pytest.raises(ValueError, match="wrong_answers must be a list of code strings"):
        wrong_answers({"metadata": {"resnet_lab": {"wrong_answers": "x = 1"}}})


def test_claims_made_by_a_probe_are_not_logged(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("RESNET_LAB_CLAIMS", str(log))
    scope = {"value": 5.0}
    check = "from helpers.claims import claim\nclaim('value is large', value, above=1)"
    assert _probe(check, ["value = 0.5"], scope) == []
    assert not log.exists() and scope["value"] == 5.0
    import os
    assert os.environ["RESNET_LAB_CLAIMS"] == str(log)
