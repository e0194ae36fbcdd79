"""Classroom edition: student notebooks without solutions, and an nbgrader course.

    python tools/classroom.py student [--notebooks DIR] [--out DIR]
        write student/NN_name.ipynb from every notebooks/NN_name.ipynb (deterministic: running it
        again changes nothing); exit 1 naming the cell when a notebook's exercises cannot be split
    python tools/classroom.py nbgrader COURSE [NN ...] [--notebooks DIR]
        write an nbgrader course: COURSE/nbgrader_config.py and COURSE/source/NN_name/NN_name.ipynb
        (solution regions, check cells, nbgrader metadata), with a copy of `helpers` beside each

How exercises are found. A notebook's exercises run from the markdown cell with the heading
`## Exercises` to the next `## ` heading (References). Inside it, every code cell is the solution of
the exercise numbered last before it: by `### Solution N`, by `**N.**` at the start of a line, or by
a numbered list item `N. `. Markdown after an exercise's solution code, up to the next number or
heading, is its written answer (text that opens with `**`, such as "**Further research.**", is not).

How a solution code cell is split, two ways:
  - markers: a line `# CHECK` starts the checks; a line `# SOLUTION` above it ends the code that the
    student is given (kept in the stub). Everything between is the solution.
  - no markers: the checks are the cell's last top-level statements: `assert`, a `claim(...)` call, or
    a block (`for`, `with`, `try`, `if`) containing one; `print(...)` calls may sit among them. Before
    them is the solution, which then must contain no check and must bind a name the checks read.
  The student's stub keeps what the checks need: `name = None  # your answer`, or a function's
  signature whose body raises NotImplementedError. The checks go to a cell of their own that prints
  "Exercise N: correct" or "Exercise N: not yet: <which check failed, with the values it read>".
  A cell that fits neither way is an error that names the notebook, cell and reason.

Both versions get a cell right after the `## Exercises` cell that imports `checking` (from
`helpers/exercises.py`, which says what a student reads when a check fails), and nbgrader metadata
(schema 3): the solution cell `exN` (solution), its check `exN-check` (grade, locked, 1 point),
a written answer `exN-answer` (manually graded, 1 point), the `checking` cell (locked). The student
version's title badge opens student/NN_name.ipynb on Colab; lesson cells keep their outputs.
"""
from __future__ import annotations

import ast
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_NAME = re.compile(r"\d\d_\w+\.ipynb")
EXERCISE_NUMBER = re.compile(r"^(?:###\s+Solution\s+(\d+)\b|\*\*(\d+)\.|(\d+)\.\s)")
CHECK_CALLS = {"claim"}
SOLUTION_MARKER, CHECK_MARKER = "# SOLUTION", "# CHECK"
ANSWER_STUB = "Write your answer here, in words: your teacher reads it."
# The exercise section's headings as a student sees them: no "Solution" above an empty answer cell.
STUDENT_HEADINGS = ((re.compile(r"^### Solutions\b", re.M), "### Your answers"),
                    (re.compile(r"^### Solution (\d+)", re.M), r"### Your answer \1"),
                    (re.compile(r"^\*Solution\*", re.M), "*Your answer*"))
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"

# The one cell the check cells need, put right after the `## Exercises` cell.
CHECKING_CELL = """\
# Run this cell before the exercises: the check cells use `checking` to tell you whether an answer is right.
from helpers.exercises import checking"""


class ExerciseError(ValueError):
    """A notebook whose exercises cannot be turned into stubs and checks."""


@dataclass
class Solution:
    """One exercise's solution code cell, split into what the student is given, writes and runs to check."""
    number: int
    given: str
    solution: str
    check: str
    answers: list[str]
    stub: str = ""


@dataclass
class Plan:
    """A notebook with its exercise section read: per cell index, what that cell is."""
    nb: nbformat.NotebookNode
    name: str
    start: int                                  # the cell with the `## Exercises` heading
    solutions: dict[int, Solution] = field(default_factory=dict)   # code cell index -> its split
    answers: dict[int, tuple[int, str, str]] = field(default_factory=dict)   # markdown index -> (N, answer, rest)


# --- Reading a solution cell -----------------------------------------------------------------------
def _is_check(node: ast.stmt) -> bool:
    """An assert, a claim(...) call, or a block containing one (function and class bodies excluded)."""
    def contains(n):
        if isinstance(n, ast.Assert):
            return True
        if isinstance(n, ast.Call):
            func = n.func
            if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)) in CHECK_CALLS:
                return True
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return False
        return any(contains(child) for child in ast.iter_child_nodes(n))
    return contains(node)


def _is_print(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
        getattr(node.value.func, "id", None) == "print"


def _bound(source: str) -> dict[str, ast.AST]:
    """Names bound at the top level of ``source`` (not inside functions), in order, with their node."""
    names: dict[str, ast.AST] = {}

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.setdefault(node.name, node)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.setdefault(node.id, node)
        elif isinstance(node, ast.alias):
            names.setdefault((node.asname or node.name).split(".")[0], node)
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(ast.parse(source))
    return names


def _read(source: str) -> set[str]:
    """Names ``source`` reads and does not bind itself (loop and comprehension variables are its own)."""
    names = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)]
    return {n.id for n in names if isinstance(n.ctx, ast.Load)} - {n.id for n in names if isinstance(n.ctx, ast.Store)}


def _without_nbval_markers(source: str) -> str:
    """Drop `# NBVAL_...` lines (with the `# (reason)` line under one) and a leading `# Solution` line."""
    lines, kept = source.splitlines(), []
    for i, line in enumerate(lines):
        if line.startswith("# NBVAL_") or (line.startswith("# (") and i and lines[i - 1].startswith("# NBVAL_")):
            continue
        if not kept and line.strip().lower() == "# solution":
            continue
        kept.append(line)
    return "\n".join(kept)


def split_solution(source: str, number: int) -> Solution:
    """Split one solution cell into given code, solution and checks (see the module docstring)."""
    source = _without_nbval_markers(source)
    lines = source.splitlines()
    stripped = [line.strip() for line in lines]
    if CHECK_MARKER in stripped or SOLUTION_MARKER in stripped:
        if stripped.count(CHECK_MARKER) != 1 or stripped.count(SOLUTION_MARKER) > 1:
            raise ExerciseError(f"needs exactly one `{CHECK_MARKER}` line and at most one `{SOLUTION_MARKER}` line")
        check_at = stripped.index(CHECK_MARKER)
        solution_at = stripped.index(SOLUTION_MARKER) if SOLUTION_MARKER in stripped else -1
        if solution_at > check_at:
            raise ExerciseError(f"`{SOLUTION_MARKER}` must come before `{CHECK_MARKER}`")
        given = "\n".join(lines[:max(solution_at, 0)]).strip("\n")
        solution = "\n".join(lines[solution_at + 1:check_at]).strip("\n")
        check = "\n".join(lines[check_at + 1:]).strip("\n")
    else:
        body = ast.parse(source).body
        first = next((i for i, node in enumerate(body) if _is_check(node)), None)
        if first is None:
            raise ExerciseError("it has no check (an `assert` or a `claim(...)` call)")
        late = next((node for node in body[first:] if not (_is_check(node) or _is_print(node))), None)
        if late is not None:
            raise ExerciseError(f"line {late.lineno} (`{lines[late.lineno - 1].strip()}`) is code that comes "
                                f"after a check")
        given, solution = "", "\n".join(lines[:body[first].lineno - 1]).strip("\n")
        check = "\n".join(lines[body[first].lineno - 1:]).strip("\n")
        hidden = next((node for node in ast.parse(solution).body if _is_check(node)), None)
        if hidden is not None:
            raise ExerciseError(f"line {hidden.lineno} (`{lines[hidden.lineno - 1].strip()}`) is a check inside "
                                f"the solution, before code that is not a check")
    if not check.strip():
        raise ExerciseError("its checks are empty")
    bound = _bound(solution)
    answers = [name for name in bound if name in _read(check)]
    if not answers and CHECK_MARKER not in stripped:
        raise ExerciseError("its checks read no name that its solution defines")
    split = Solution(number, given, solution, check, answers)
    split.stub = _stub(split, bound)
    return split


def _stub(split: Solution, bound: dict[str, ast.AST]) -> str:
    """What the student starts from: the given code, then one line (or signature) per answer name."""
    lines = [split.given] if split.given else []
    needs = ", ".join(f"`{name}`" for name in split.answers)
    lines.append(f"# Exercise {split.number}: your code here" + (f"; the check below uses {needs}." if needs else "."))
    for name in split.answers:
        node = bound[name]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            lines.append(f"def {node.name}({ast.unparse(node.args)}){returns}:")
            lines.append(f'    raise NotImplementedError("Exercise {split.number}: write {node.name}")')
        else:
            lines.append(f"{name} = None  # your answer")
    return "\n".join(lines)


def check_cell(split: Solution) -> str:
    """The cell that runs an exercise's checks and says whether the answer is right."""
    body = "\n".join(("    " + line) if line.strip() else "" for line in split.check.splitlines())
    return f"# Check exercise {split.number} (run your cell above first).\nwith checking({split.number}):\n{body}"


# --- Reading a notebook ----------------------------------------------------------------------------
def plan(path: str | Path) -> Plan:
    """Read a notebook's exercise section; raise ExerciseError naming the cell it cannot process."""
    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    start = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                  and any(line.strip() == "## Exercises" for line in c.source.splitlines())), None)
    if start is None:
        raise ExerciseError(f"{path.name}: no markdown cell with the heading `## Exercises`")
    result = Plan(nb, path.name, start)
    current, answering, seen, problems = None, None, set(), []
    for index in range(start, len(nb.cells)):
        cell = nb.cells[index]
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            if index == start:                          # what precedes the heading is the lesson's
                lines = lines[[line.strip() for line in lines].index("## Exercises"):]
            answer: list[str] = []
            over = False                                # a `## ` heading (References) ends the section
            for i, line in enumerate(lines):
                found = EXERCISE_NUMBER.match(line)
                if found or line.startswith("#") or (answering is not None and not answer and line.startswith("**")):
                    if answer:
                        result.answers[index] = (answering, "\n".join(answer).strip(), "\n".join(lines[i:]))
                    answering = None
                    if found:
                        current = int(next(g for g in found.groups() if g))
                        if found.group(1) and not answer:  # `### Solution N` opening a cell: text after it,
                            # before any code, is a written answer
                            answering = current
                            continue
                    over = index > start and line.startswith("## ")
                    if over:
                        break
                if answering is not None and (answer or line.strip()):
                    answer.append(line)
            if answering is not None and answer:
                result.answers[index] = (answering, "\n".join(answer).strip(), "")
                answering = None
            if over:
                break
        elif cell.cell_type == "code":
            where = f"{path.name} cell {index} (id {cell.get('id')})"
            if current is None:
                problems.append(f"{where}: a code cell in the exercises before any exercise number "
                                f"(`### Solution N` or `**N.**`)")
            elif current in seen:
                problems.append(f"{where}: exercise {current} has a second solution code cell; merge them")
            else:
                try:
                    result.solutions[index] = split_solution(cell.source, current)
                except ExerciseError as error:
                    problems.append(f"{where}, exercise {current}: cannot split it into solution and checks: "
                                    f"{error}. Add a line `{CHECK_MARKER}` above the checks (and "
                                    f"`{SOLUTION_MARKER}` below code the student is given).")
                except SyntaxError as error:
                    problems.append(f"{where}, exercise {current}: not valid Python ({error})")
            seen.add(current)
            answering = current
    if not result.solutions and not problems:
        problems.append(f"{path.name}: the exercises have no solution code cell")
    if problems:
        raise ExerciseError("\n".join(problems))
    return result


# --- Writing the student and nbgrader versions -----------------------------------------------------
def _nbgrader(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def _cell(kind: str, source: str, cell_id: str, metadata: dict, nbgrader: dict):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell.id = cell_id
    cell.metadata = {**metadata, "nbgrader": nbgrader}
    return cell


def build(p: Plan, teacher: bool) -> nbformat.NotebookNode:
    """The student notebook (teacher=False), or nbgrader's source notebook with the solutions in
    `### BEGIN SOLUTION` regions and the written answers (teacher=True). nbgrader's
    generate_assignment turns the second into the first (tests/test_classroom.py checks it)."""
    nb = nbformat.from_dict(p.nb)
    slide = {"slideshow": {"slide_type": "-"}}
    cells = []
    for index, cell in enumerate(nb.cells):
        if index == 0 and cell.cell_type == "markdown":
            cell.source = _student_title(cell.source, p.name)
        if index in p.solutions:
            split = p.solutions[index]
            source = split.stub + (f"\n{BEGIN}\n{split.solution}\n{END}" if teacher else "")
            metadata = {k: v for k, v in cell.metadata.items() if k != "resnet_lab"}   # the recorded wrong answers
            cells.append(_cell("code", source, cell.id, metadata, _nbgrader(f"ex{split.number}", solution=True)))
            cells.append(_cell("code", check_cell(split), f"{cell.id}-check", slide,
                               _nbgrader(f"ex{split.number}-check", grade=True, locked=True, points=1)))
        elif index in p.answers:
            number, answer, rest = p.answers[index]
            cells.append(_cell("markdown", answer if teacher else ANSWER_STUB, f"{cell.id}-answer", slide,
                               _nbgrader(f"ex{number}-answer", solution=True, grade=True, points=1)))
            if rest:
                cell.source = student_headings(rest)
                cells.append(cell)
        else:
            if index > p.start and cell.cell_type == "markdown":
                cell.source = student_headings(cell.source)
            cells.append(cell)
        if index == p.start:
            cells.append(_cell("code", CHECKING_CELL, "classroom-checking", slide, _nbgrader("checking", locked=True)))
    nb.cells = cells
    nbformat.validate(nb)
    return nb


def student_headings(source: str) -> str:
    """An exercise-section markdown cell with its "Solution" headings renamed "Your answer"."""
    for pattern, replacement in STUDENT_HEADINGS:
        source = pattern.sub(replacement, source)
    return source


def _student_title(source: str, name: str) -> str:
    """The title cell with its Colab badge pointing at the student version, and a note saying what it is."""
    full = f"notebooks/{name}"
    if f"/blob/main/{full})" not in source:
        raise ExerciseError(f"{name}: the title cell has no Colab badge for {full}")
    source = source.replace(f"/blob/main/{full})", f"/blob/main/student/{name})", 1)
    note = (f"> **Student version.** The exercises at the end have no solutions: write yours in the cell "
            f"under each, then run the check cell below it. The lesson is the same as in [the full "
            f"notebook](../{full}), which has the solutions.")
    title, _, body = source.partition("\n")
    badge, _, rest = body.strip("\n").partition("\n")
    rest = rest.strip("\n")
    return f"{title}\n\n{badge}\n\n{note}" + (f"\n\n{rest}" if rest else "")


def notebooks(folder: Path) -> list[Path]:
    found = sorted(p for p in Path(folder).glob("*.ipynb") if NOTEBOOK_NAME.fullmatch(p.name))
    if not found:
        raise ExerciseError(f"--notebooks: no NN_name.ipynb in {folder}")
    return found


def write_students(source: Path = ROOT / "notebooks", out: Path = ROOT / "student") -> list[Path]:
    """Write out/NN_name.ipynb for every source/NN_name.ipynb; every notebook is read before any is written."""
    plans, problems = [], []
    for path in notebooks(source):
        try:
            plans.append(plan(path))
        except ExerciseError as error:
            problems.append(str(error))
    if problems:
        raise ExerciseError("\n".join(problems))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for p in plans:
        nbformat.write(build(p, teacher=False), str(out / p.name))
        written.append(out / p.name)
    return written


NBGRADER_CONFIG = f'''\
# Written by tools/classroom.py nbgrader. The stubs sit above each solution region, so the region
# is cleared to nothing; written answers become the text the student version shows.
c = get_config()  # noqa: F821
c.ClearSolutions.code_stub = {{"python": ""}}
c.ClearSolutions.text_stub = "{ANSWER_STUB}"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]
'''


def write_course(course: Path, numbers: list[str] | None = None, source: Path = ROOT / "notebooks") -> list[Path]:
    """An nbgrader course: the config and one assignment per notebook (named like the notebook), each
    with a copy of `helpers` in `resnet-lab/`, where the set-up cell looks outside a clone."""
    chosen = [p for p in notebooks(source) if not numbers or p.name[:2] in numbers]
    unknown = set(numbers or []) - {p.name[:2] for p in chosen}
    if unknown:
        raise ExerciseError(f"NN: unknown notebook number(s) {sorted(unknown)}; accepted: "
                            f"{[p.name[:2] for p in notebooks(source)]}")
    course = Path(course)
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    written = []
    for path in chosen:
        folder = course / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(plan(path), teacher=True), str(folder / path.name))
        shutil.rmtree(folder / "resnet-lab", ignore_errors=True)
        shutil.copytree(ROOT / "helpers", folder / "resnet-lab" / "helpers",
                        ignore=shutil.ignore_patterns("__pycache__"))
        written.append(folder / path.name)
    return written


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="tools/classroom.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="write the student notebooks")
    student.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="the full notebooks' folder")
    student.add_argument("--out", type=Path, default=ROOT / "student", help="where the student notebooks go")
    course = commands.add_parser("nbgrader", help="write an nbgrader course's source folder")
    course.add_argument("course", type=Path, help="the course directory")
    course.add_argument("numbers", nargs="*", metavar="NN", help="notebook numbers (default: all)")
    course.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="the full notebooks' folder")
    args = parser.parse_args(argv)
    try:
        if args.command == "student":
            for path in write_students(args.notebooks, args.out):
                print(f"{path}: written")
        else:
            for path in write_course(args.course, args.numbers, args.notebooks):
                print(f"{path}: written")
    except ExerciseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
