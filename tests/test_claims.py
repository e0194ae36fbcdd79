"""helpers.claims: the check, its message, its record; and the rule that trained output is not compared."""
import json

import nbformat
import pytest

from helpers.claims import claim, margin
from helpers.runtime import experiment_seed
from tools.nbval_rule import trained_outputs_compared


def test_claim_passes_silently_and_fails_with_the_numbers():
    assert claim("inside", 0.5, above=0.1, below=1.0) is None
    with pytest.raises(AssertionError, match=r"claim failed: gap: measured 0.2, expected above 0.3"):
        claim("gap", 0.2, above=0.3)
    with pytest.raises(AssertionError, match=r"expected above 0.1 and below 10"):
        claim("ratio", 20.0, above=0.1, below=10, log=True)
    with pytest.raises(AssertionError, match="NaN"):
        claim("nan", float("nan"), above=0)


def test_claim_needs_a_threshold_and_a_name():
    with pytest.raises(ValueError, match="above=, below="):
        claim("no threshold", 1.0)
    with pytest.raises(ValueError, match="text"):
        claim("", 1.0, above=0)


def test_margin_linear_and_in_decades():
    assert margin(0.5, above=0.3) == pytest.approx(0.2)
    assert margin(0.5, above=0.3, below=0.6) == pytest.approx(0.1)
    assert margin(1e-8, below=1e-6, log=True) == pytest.approx(2.0)
    assert margin(1e-5, below=1e-6, log=True) == pytest.approx(-1.0)
    assert margin(0.0, above=1e-3, log=True) == float("-inf")


def test_claims_are_recorded_when_asked(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("RESNET_LAB_CLAIMS", str(log))
    claim("first", 2.0, above=1.0)
    with pytest.raises(AssertionError):
        claim("second", 0.5, above=1.0)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["claim"], r["value"], r["above"], r["margin"]) for r in rows] == [("first", 2.0, 1.0, 1.0),
                                                                                ("second", 0.5, 1.0, -0.5)]


def test_experiment_seed_reads_the_environment(monkeypatch):
    monkeypatch.delenv("RESNET_LAB_SEED", raising=False)
    assert experiment_seed() == 0 and experiment_seed(3) == 3
    monkeypatch.setenv("RESNET_LAB_SEED", "2")
    assert experiment_seed() == 2
    monkeypatch.setenv("RESNET_LAB_SEED", "two")
    with pytest.raises(ValueError, match="RESNET_LAB_SEED must be a non-negative integer"):
        experiment_seed()


def _notebook(tmp_path, cells):
    nb = nbformat.v4.new_notebook()
    for source, text in cells:
        cell = nbformat.v4.new_code_cell(source)
        if text:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells.append(cell)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_rule_flags_compared_output_that_depends_on_training(tmp_path):
    path = _notebook(tmp_path, [
        ("net = make()\nshape = (3, 4)", ""),
        ("history = train(net, loader)", ""),
        ("print(history.final_loss)", "0.91\n"),                          # flagged: reads a trained name
        ("print(net.weight.norm())", "1.5\n"),                            # flagged: net was trained in place
        ("print(shape)", "(3, 4)\n"),                                     # clean
        ("print([len(v) for v in (1, 2)])", "[1, 1]\n"),                  # comprehension names are local
        ("# NBVAL_IGNORE_OUTPUT\n# (trained)\nprint(history.final_loss)", "0.91\n"),   # marked: fine
        ("net = make()\nprint(net.weight.norm())", "1.2\n"),              # rebound from scratch: clean
        ("model.train()\nprint(1)", "1\n"),                               # mode switch, not training
    ])
    problems = trained_outputs_compared(path)
    assert [p.split(":")[0] for p in problems] == ["nb.ipynb cell 2", "nb.ipynb cell 3"], problems


def test_no_notebook_compares_trained_output():
    from pathlib import Path
    notebooks = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
    problems = [p for path in notebooks for p in trained_outputs_compared(path)]
    assert not problems, "\n".join(problems)


def test_claim_matrix_designs_cover_every_pair_of_levels():
    from itertools import combinations

    from tools.claim_matrix import settings
    levels = ("default", "avx2", "avx512")
    full = settings("full", levels)
    assert len(full) == 27 and len(set(full)) == 27
    pairs = settings("pairs", levels)
    assert len(pairs) == 9
    rows = [(s.capability, s.threads, s.seed) for s in pairs]
    for i, j in combinations(range(3), 2):      # each pair of factors: all 9 combinations, once each
        assert len({(r[i], r[j]) for r in rows}) == 9
    with pytest.raises(ValueError, match="design must be"):
        settings("random", levels)


def test_claim_matrix_table_reports_the_weakest_margin_and_failures():
    from tools.claim_matrix import Setting, table
    run = lambda value: (Setting("avx2", 1, 0), [{"claim": "gap | x", "value": value, "above": 0.3, "below": None,
                                                "log": False, "margin": value - 0.3}], None, 1.0)
    lines = table({"01_x.ipynb": [run(0.5), run(0.8)]})
    assert lines[-1] == "| 01 | gap \\| x | > 0.3 | 0.5 | 0.8 | 0.2 | 2 |"
    assert "**FAILS**" in table({"01_x.ipynb": [run(0.2)]})[-1]
