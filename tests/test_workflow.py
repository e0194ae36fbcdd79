"""The GitHub Actions workflow (.github/workflows/test-and-publish.yml): valid for GitHub, and it does
what the README says: the tests on every push, the website published on a push to main after them.

The workflow is linted with check-jsonschema against its own copy of the JSON schema of GitHub's
workflow files (SchemaStore's, as `--builtin-schema vendor.github-workflows`: no network), installed
with the website's tools (Makefile, PACKAGES_book); without it the lint skips, and `make test-book`
runs it. actionlint itself would check more (expressions, shell scripts) but installs from PyPI only
by downloading its binary from GitHub, which an offline build cannot do.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import yaml

from tests.browser_support import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "test-and-publish.yml"


def lint(path) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.skip("check-jsonschema is not installed; `make test-book` installs it and runs this test")
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True)


def test_the_workflow_is_valid_for_github():
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linter_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text().replace("runs-on:", "runs_on:", 1)
    assert text != WORKFLOW.read_text()
    broken.write_text(text)
    assert lint(broken).returncode != 0, "a job without runs-on passed the lint"


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def test_the_tests_run_on_every_push_and_the_site_is_published_from_main():
    flow = yaml.safe_load(WORKFLOW.read_text())
    events = flow[True]   # YAML 1.1 reads the key `on` as True
    assert "push" in events and "pull_request" in events and not (events["push"] or {}).get("branches"), \
        "the tests must run on every push"
    test, publish = flow["jobs"]["test"], flow["jobs"]["publish"]
    runs = [s.get("run", "") for s in test["steps"]]
    assert "bash .ci/run" in runs and "make book" in runs, runs
    main_only = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    upload = steps_using(test, "actions/upload-pages-artifact")
    assert upload and upload[0]["with"]["path"] == "build/book" and upload[0]["if"] == main_only
    assert publish["needs"] == "test" and publish["if"] == main_only
    assert publish["permissions"] == {"pages": "write", "id-token": "write"}
    assert steps_using(publish, "actions/deploy-pages"), "the publish job does not deploy to Pages"
