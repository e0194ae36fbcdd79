"""The classroom edition (tools/classroom.py): student notebooks that match the full ones and give no
solution away, exercises split into stubs and check cells, and nbgrader's real round trip on notebook 03."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import classroom
from tools.repository import REPO_URL
from tools.setup_cell import SETUP_CELL

ROOT = Path(__file__).resolve().parent.parent
FULL = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if classroom.NOTEBOOK_NAME.fullmatch(p.name))


# --- Student notebooks -----------------------------------------------------------------------------
def test_student_notebooks_are_regenerated_unchanged(tmp_path):
    written = classroom.write_students(ROOT / "notebooks", tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in (ROOT / "student").glob("*.ipynb")), \
        "student/ does not have one notebook per notebooks/NN_name.ipynb: run `make student`"
    stale = [p.name for p in written if p.read_bytes() != (ROOT / "student" / p.name).read_bytes()]
    assert not stale, f"student/{stale} differ from what `make student` writes now: run it and commit"


@pytest.mark.parametrize("path", FULL, ids=lambda p: p.name[:2])
def test_student_notebook_hides_solutions_and_keeps_the_lesson(path):
    plan = classroom.plan(path)
    student = nbformat.read(str(ROOT / "student" / path.name), as_version=4)
    start = next(i for i, c in enumerate(student.cells) if "## Exercises" in c.source.splitlines())
    text = "\n".join(cell.source for cell in student.cells[start:])     # the exercises, from their heading on
    lines = {line.strip() for line in text.splitlines()}
    for split in plan.solutions.values():
        # every line of the solution that says something is gone (short lines such as `return n` may recur)
        given = {line.strip() for line in split.stub.splitlines()}      # signatures and given code stay
        leaked = [line for line in split.solution.splitlines()
                  if len(line.strip()) > 30 and line.strip() in lines and line.strip() not in given]
        assert not leaked, f"exercise {split.number}'s solution is in the student version: {leaked}"
        assert f"with checking({split.number}):" in text
    for number, answer, _ in plan.answers.values():
        assert answer not in text, f"exercise {number}'s written answer is in the student version"
    by_id = {cell.id: cell for cell in student.cells}
    lesson = [(i, c) for i, c in enumerate(plan.nb.cells) if i not in plan.solutions and i not in plan.answers]
    for i, cell in lesson[1:]:                            # the title cell points at the student version
        source = classroom.student_headings(cell.source) if i > plan.start else cell.source
        assert by_id[cell.id].source == source and by_id[cell.id].get("outputs") == cell.get("outputs")
    assert not re.search(r"^#+ Solutions?\b|^\*Solution\*", text, re.M), "a student version says 'Solution'"
    exercise_cells = [c for c in student.cells if c.cell_type == "code" and "nbgrader" in c.metadata]
    assert exercise_cells and all(c.outputs == [] and c.execution_count is None for c in exercise_cells)


def _notebook(tmp_path: Path, *cells: str) -> Path:
    """A small notebook: a title with its Colab badge, the set-up cell, then ``cells`` (``md:`` for markdown)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# 99 · Test\n\n[![Open In Colab](x)]"
                                              f"({REPO_URL}/blob/main/notebooks/99_test.ipynb)"),
                nbformat.v4.new_code_cell(SETUP_CELL)]
    nb.cells += [nbformat.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbformat.v4.new_code_cell(c)
                 for c in cells]
    path = tmp_path / "99_test.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_a_cell_that_cannot_be_split_is_an_error_naming_it(tmp_path):
    path = _notebook(tmp_path, "md:## Exercises\n\n**1.** Say 3.", "x = 3\nassert x == 3\ny = x + 1",
                     "md:## References")
    with pytest.raises(classroom.ExerciseError, match=r"99_test\.ipynb cell 3 .*exercise 1.*line 3 \(`y = x \+ 1`\)"
                                                      r".*# CHECK"):
        classroom.plan(path)
    path = _notebook(tmp_path, "md:## Exercises", "x = 3\nassert x == 3")
    with pytest.raises(classroom.ExerciseError, match="before any exercise number"):
        classroom.plan(path)
    path = _notebook(tmp_path, "md:## Exercises\n\n**1.** Say 3.", "print(3)")
    with pytest.raises(classroom.ExerciseError, match="no check"):
        classroom.plan(path)


def test_markers_split_what_the_automatic_rule_cannot(tmp_path):
    path = _notebook(tmp_path, "md:## Exercises\n\n**1.** Fix `z`.",
                     "z = [1, 2]\n# SOLUTION\nz.append(3)\n# CHECK\nassert z == [1, 2, 3]\nprint(z)",
                     "md:**2.** Write `double`.",
                     "def double(v: int) -> int:\n    return 2 * v\n\nassert double(2) == 4",
                     "md:Doubling is adding a number to itself.\n\n## References")
    plan = classroom.plan(path)
    one, two = plan.solutions.values()
    assert (one.given, one.solution, one.answers) == ("z = [1, 2]", "z.append(3)", [])
    assert one.stub == "z = [1, 2]\n# Exercise 1: your code here."
    assert two.stub.splitlines()[1:] == ["def double(v: int) -> int:",
                                         '    raise NotImplementedError("Exercise 2: write double")']
    student = classroom.build(plan, teacher=False)
    sources = [c.source for c in student.cells]
    assert classroom.ANSWER_STUB in sources and "## References" in sources
    assert not any("adding a number to itself" in s or "z.append" in s for s in sources)


# --- nbgrader --------------------------------------------------------------------------------------
def _nbgrader(course: Path, *args: str) -> None:
    """Run nbgrader's command line in ``course``. nbgrader itself runs `alembic`: its script sits in this
    Python's bin folder, or beside the packages when nbgrader was installed with `pip --target`."""
    import nbgrader

    scripts = [Path(sys.executable).parent, Path(nbgrader.__file__).parent.parent / "bin"]
    path = os.pathsep.join([*map(str, scripts), os.environ.get("PATH", "")])
    # A relative PYTHONPATH (`make test-nbgrader` sets `.venv/nbgrader`) would not hold in the course folder.
    pythonpath = os.pathsep.join(str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--force"], cwd=course,
                          env={**os.environ, "PATH": path, "PYTHONPATH": pythonpath},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def test_nbgrader_round_trip_on_notebook_03(tmp_path):
    pytest.importorskip("nbgrader", reason="nbgrader is not importable here (it is the teacher's tool, not in "
                                           ".venv): `make test-nbgrader` runs this test with it")
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    [source] = classroom.write_course(course, ["03"])
    assignment, name = source.parent.name, source.name
    _nbgrader(course, "generate_assignment", assignment)
    release = course / "release" / assignment
    # What nbgrader hands out is the committed student version, less the lesson's outputs.
    released = nbformat.read(str(release / name), as_version=4)
    student = nbformat.read(str(ROOT / "student" / name), as_version=4)
    assert [(c.cell_type, c.source.rstrip()) for c in released.cells] == \
           [(c.cell_type, c.source.rstrip()) for c in student.cells]

    for who, folder in (("reference", source.parent), ("untouched", release)):
        shutil.copytree(folder, course / "submitted" / who / assignment)
    _nbgrader(course, "autograde", assignment)

    numbers = [split.number for split in classroom.plan(ROOT / "notebooks" / name).solutions.values()]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for who, expected in (("reference", 1.0), ("untouched", 0.0)):
            scores = {n: gradebook.find_grade(f"ex{n}-check", Path(name).stem, assignment, who) for n in numbers}
            assert {n: g.auto_score for n, g in scores.items()} == \
                   {n: expected * g.max_score for n, g in scores.items()}, f"{who}: scores"

    for who, failing in (("reference", []), ("untouched", [f"ex{n}-check" for n in numbers])):
        graded = nbformat.read(str(course / "autograded" / who / assignment / name), as_version=4)
        errors = [c.metadata.get("nbgrader", {}).get("grade_id", f"cell {i}") for i, c in enumerate(graded.cells)
                  if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)]
        assert errors == failing, f"{who}: cells with an error"
        assert all(c.execution_count for c in graded.cells if c.cell_type == "code"), f"{who}: a cell did not run"
        messages = [o.evalue for c in graded.cells if c.cell_type == "code"
                    for o in c.outputs if o.output_type == "error"]
        assert all(re.match(r"Exercise \d: not yet: ", m) for m in messages), messages
