"""Run the notebooks and set their slide metadata; the nbval rule's static check.

    python tools/notebook_tools.py run notebooks/01_vanishing_gradients.ipynb [...]
        execute top to bottom in a fresh kernel, store the outputs, print the time taken
    python tools/notebook_tools.py slides notebooks/*.ipynb
        set the slide metadata of every heading cell (teaching mode), outputs untouched
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat


def slide_type(cell) -> str:
    """Teaching mode: the title and each ## section start a slide, each ### a sub-slide; the rest
    flows under them (RISE or `jupyter nbconvert --to slides` present a notebook this way)."""
    first = cell.source.lstrip().split("\n", 1)[0] if cell.cell_type == "markdown" else ""
    if first.startswith("# ") or first.startswith("## "):
        return "slide"
    if first.startswith("### "):
        return "subslide"
    return "-"


HEADING = re.compile(r"^#{1,3} ")


def split_at_headings(cell) -> list:
    """A markdown cell cut before every heading that is not its first line, so that each heading
    starts a cell (and with it a slide or sub-slide); other cells are returned as they are."""
    lines = cell.source.split("\n")
    cuts = [0] + [i for i, line in enumerate(lines) if i and HEADING.match(line)]
    if cell.cell_type != "markdown" or len(cuts) == 1:
        return [cell]
    parts = ["\n".join(lines[a:b]).strip("\n") for a, b in zip(cuts, cuts[1:] + [len(lines)])]
    first = nbformat.from_dict({**cell, "source": parts[0]})
    return [first] + [nbformat.v4.new_markdown_cell(part) for part in parts[1:] if part]


def run(path: str | Path, timeout: int = 900) -> float:
    """Execute in a fresh kernel from the notebook's folder, store outputs in place; return seconds."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True, record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:   # timings of an earlier run: they are not part of a clean, seeded output
        cell.metadata.pop("execution", None)
    seconds = time.perf_counter() - start
    nbformat.write(nb, str(path))
    return seconds


# --- What nbval compares ---------------------------------------------------------------------------
# THE RULE. nbval compares a cell's text output (stdout, text/plain, HTML) with the stored one, byte
# for byte. That is right for what is the same on every machine: shapes, parameter and FLOP counts,
# analytic values, data-set facts, float64 results printed at a precision that survives a change of
# CPU kernels. It is wrong for anything that comes out of training (or out of a network that was
# trained): torch picks CPU kernels by instruction set, the thread count changes the order of
# reductions, and a few hundred SGD steps turn last-bit differences into a new draw. So:
#   1. a cell whose output depends on training starts with `# NBVAL_IGNORE_OUTPUT` and, on the next
#      line, a comment in parentheses that says why, e.g. `# (trained numbers: they differ between
#      machines; the claims are asserted below)`;
#   2. the claim such a number supports is checked with `helpers.claim(text, value, above=/below=)`,
#      whose threshold must hold across CPU kernels, threads and seeds (`tools/claim_matrix.py`
#      measures the margins; `benchmarks/CLAIMS.md` is its table);
#   3. prose quotes no trained number as exact, only what the claim guarantees.
# `trained_outputs_compared` below finds the cells that break rule 1 (tests/test_notebooks.py runs
# it), and `make test` re-runs nbval under other CPU kernels, thread counts and seeds.
TRAINING_CALLS = {"train", "fit", "train_or_load"}
IGNORE_MARKER = "NBVAL_IGNORE_OUTPUT"


def _python(source: str) -> str:
    """A cell's source with IPython magics and shell escapes blanked out, so that ast can read it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _reads_and_writes(source: str) -> tuple[set[str], set[str], set[str]]:
    """(names the cell reads from earlier cells, names it binds, names passed to a training call)."""
    import ast

    tree = ast.parse(_python(source))
    bound: set[str] = set()
    reads: set[str] = set()
    trained: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_Name(self, node):
            if isinstance(node.ctx, ast.Load) and node.id not in bound:
                reads.add(node.id)
            elif isinstance(node.ctx, (ast.Store, ast.Del)):
                bound.add(node.id)

        def visit_Assign(self, node):   # the value is evaluated before the targets are bound
            self.visit(node.value)
            for target in node.targets:
                self.visit(target)

        def visit_Call(self, node):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in TRAINING_CALLS and node.args:   # `net.train()` only switches the mode
                trained.update(a.id for a in node.args[:1] if isinstance(a, ast.Name))
                trained.add("<training>")
            self.generic_visit(node)

        def _scope(self, node, local_names, parts):
            """Visit ``parts`` with ``local_names`` bound; nothing bound inside leaks out."""
            outer = set(bound)
            bound.update(local_names)
            for part in parts:
                self.visit(part)
            bound.intersection_update(outer)
            bound.update(outer)

        def visit_FunctionDef(self, node):
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
                self.visit(default)
            args = node.args
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            names += [a.arg for a in (args.vararg, args.kwarg) if a]
            self._scope(node, names + [node.name], node.body)
            bound.add(node.name)

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_Lambda(self, node):
            args = node.args
            self._scope(node, [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs], [node.body])

        def _comprehension(self, node):
            self.visit(node.generators[0].iter)       # evaluated outside the comprehension
            targets = [n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)]
            parts = [g.iter for g in node.generators[1:]] + [c for g in node.generators for c in g.ifs]
            parts += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            self._scope(node, targets, parts)

        visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

        def visit_ClassDef(self, node):
            bound.add(node.name)
            self.generic_visit(node)

        def visit_alias(self, node):
            bound.add((node.asname or node.name).split(".")[0])

    Visitor().visit(tree)
    return reads, bound, trained


def _compared_text(cell) -> str:
    """The text nbval compares in a cell's stored outputs, less what the sanitizer removes."""
    text = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            text.append(out.get("text", ""))
        elif "data" in out:
            data = out["data"]
            plain = data.get("text/plain", "")
            plain = plain if isinstance(plain, str) else "".join(plain)
            if not re.fullmatch(r"<Figure size \d+x\d+ with \d+ Axes>", plain.strip()):
                text.append(plain)
            html = data.get("text/html", "")
            text.append(html if isinstance(html, str) else "".join(html))
    return "".join(text).strip()


def trained_outputs_compared(path: str | Path) -> list[str]:
    """Cells whose compared text output depends on a training run (rule 1 above), as messages.

    A cell depends on training if it calls one of TRAINING_CALLS, or reads a name that such a cell
    (or a cell depending on one) bound or trained; a cell that rebinds a name from scratch cleans it.
    """
    nb = nbformat.read(str(path), as_version=4)
    tainted: set[str] = set()
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        reads, writes, trained = _reads_and_writes(cell.source)
        depends = bool(trained) or bool(reads & tainted)
        if depends:
            tainted |= writes | (trained - {"<training>"})
        else:
            tainted -= writes
        if depends and IGNORE_MARKER not in cell.source and _compared_text(cell):
            first = _compared_text(cell).splitlines()[0][:80]
            problems.append(f"{Path(path).name} cell {index}: output depends on training but nbval "
                            f"compares it ({first!r}): mark it '# {IGNORE_MARKER}' and assert the claim")
    return problems


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["help"]
    if command == "run":
        for arg in args:
            print(f"{arg}: {run(arg):.1f} s")
    elif command == "slides":
        for arg in args:
            nb = nbformat.read(arg, as_version=4)
            nb.cells = [part for cell in nb.cells for part in split_at_headings(cell)]
            for cell in nb.cells:
                cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
            nbformat.write(nb, arg)
            print(f"{arg}: slide metadata set")
    else:
        sys.exit(__doc__)
