"""Exercise checks reject plausible wrong answers (tools/exercise_check.py).

The probe itself runs here in-process; in the notebooks it runs after every solution cell whenever
nbval runs (the root conftest loads the plugin). These tests also require that every exercise with a
code check records at least two wrong answers.
"""
import random

import numpy as np
import pytest
import torch

from tools.classroom import notebooks, plan, split_solution
from tools.exercise_check import failures, probe_source, wrong_answers
from tools.notebook_tools import ROOT

NOTEBOOKS = notebooks(ROOT / "notebooks")


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
