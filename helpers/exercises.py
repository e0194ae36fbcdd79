"""The student notebooks' exercise checks: ``with checking(N):`` around an exercise's checks prints
"Exercise N: correct", or stops with one line saying which check failed and the values it read.

The student versions (`tools/classroom.py student`) import it in the cell under ``## Exercises``;
each exercise's check cell is its solution's checks inside ``with checking(N):``.
"""
from __future__ import annotations

import ast
import contextlib
import linecache
import types
from collections.abc import Iterator


class NotYet(Exception):
    """A check that failed, shown as one message instead of a traceback."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows an exception that has this method as the lines it returns: the student reads one
        # message, not a traceback (nbgrader still sees an error, so the check scores zero).
        return [str(self)]


@contextlib.contextmanager
def checking(exercise: int) -> Iterator[None]:
    """Run exercise ``exercise``'s checks: print "correct", or raise NotYet saying which check failed and why."""
    try:
        yield
    except Exception as error:
        raise NotYet(f"Exercise {exercise}: not yet: {why(error)}") from None
    print(f"Exercise {exercise}: correct")


def why(error: Exception) -> str:
    """What a failed check tells the student: the false `assert` with the values it read, a name that
    is not defined yet, or the error's type and message."""
    if isinstance(error, NameError):
        return f"{error}: run your solution cell (and the cells above it) first"
    if not isinstance(error, AssertionError) or str(error):
        return f"{type(error).__name__}: {error}"
    tb = error.__traceback__
    while tb.tb_next is not None:       # the frame that failed: the check cell, or a function it called
        tb = tb.tb_next
    line = linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno).strip()
    values = shown_values(line, {**tb.tb_frame.f_globals, **tb.tb_frame.f_locals})
    return f"the check `{line}` is false" + (f" ({', '.join(values)})" if values else "")


def shown_values(line: str, scope: dict) -> list[str]:
    """``name = value`` for each variable that ``line`` reads, at most 80 characters each. Functions,
    modules and the check's own names (they start with `_`: what it compares against) are not shown."""
    try:
        tree = ast.parse(line.removeprefix("assert "))
    except SyntaxError:                 # one line of a statement that spans several
        return []
    read = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Name)), key=lambda n: n.col_offset)
    names = dict.fromkeys(n.id for n in read)       # in the order the line reads them, each once
    return [f"{n} = {scope[n]!r:.80}" for n in names if n in scope and not n.startswith("_")
            and not callable(scope[n]) and not isinstance(scope[n], types.ModuleType)]
