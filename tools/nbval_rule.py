"""The rule for what nbval compares, and the static check that finds the cells that break it.

nbval compares a cell's text output (stdout, text/plain, HTML) with the stored one, byte for byte.
That is right for what is the same on every machine: shapes, parameter and FLOP counts, analytic
values, data-set facts, float64 results printed at a precision that survives a change of CPU kernels.
It is wrong for anything that comes out of training (or out of a network that was trained): torch
picks CPU kernels by instruction set, the thread count changes the order of reductions, and a few
hundred SGD steps turn last-bit differences into a new draw. So:
  1. a cell whose output depends on training starts with `# NBVAL_IGNORE_OUTPUT` and, on the next
     line, a comment in parentheses that says why, e.g. `# (trained numbers: they differ between
     machines; the claims are asserted below)`;
  2. the claim such a number supports is checked with `helpers.claim(text, value, above=/below=)`,
     whose threshold must hold across CPU kernels, threads and seeds (`tools/claim_matrix.py`
     measures the margins; `benchmarks/CLAIMS.md` is its table);
  3. prose quotes no trained number as exact, only what the claim guarantees.
`trained_outputs_compared` finds the cells that break rule 1 (tests/test_claims.py runs it on every
notebook), and `make test` re-runs nbval under other CPU kernels, thread counts and seeds.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

TRAINING_CALLS = {"train", "fit", "train_or_load"}
IGNORE_MARKER = "NBVAL_IGNORE_OUTPUT"


def _python(source: str) -> str:
    """A cell's source with IPython magics and shell escapes blanked out, so that ast can read it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _reads_and_writes(source: str) -> tuple[set[str], set[str], set[str]]:
    """(names the cell reads from earlier cells, names it binds, names passed to a training call)."""
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
    """Cells whose compared text output depends on a training run (they break rule 1), as messages.

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
