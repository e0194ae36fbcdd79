"""Claims about measured results: an ``assert`` with a threshold, a clear message and a record.

Results of training (losses, accuracies, lesion drops...) change from one machine to the next:
torch picks CPU kernels by instruction set, the thread count changes the order of reductions, and
a few hundred SGD steps turn last-bit differences into a new draw. So the notebooks never compare
such numbers as text. They state each claim with :func:`claim`, which checks that the value lies
on the right side of a threshold and fails with a message that says what was measured::

    claim("plain-56 ends with a higher training loss than plain-20", deep - shallow, above=0.3)

When the environment variable ``RESNET_LAB_CLAIMS`` names a file, every claim is also appended
to it as one JSON line. ``tools/claim_matrix.py`` runs the notebooks under many CPU-kernel,
thread and seed settings and reads those lines back to report each claim's margin.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

CLAIMS_LOG_VARIABLE = "RESNET_LAB_CLAIMS"


def margin(value: float, above: float | None = None, below: float | None = None, log: bool = False) -> float:
    """Distance from ``value`` to its nearest threshold (negative when a threshold is violated).

    In the value's units, or in decades (powers of ten) when ``log`` is true.
    """
    gaps = []
    for bound, sign in ((above, 1.0), (below, -1.0)):
        if bound is None:
            continue
        if log:
            if value <= 0 or bound <= 0:
                gaps.append(-math.inf if value <= 0 else math.inf)
            else:
                gaps.append(sign * (math.log10(value) - math.log10(bound)))
        else:
            gaps.append(sign * (value - bound))
    return min(gaps)


def claim(text: str, value, *, above: float | None = None, below: float | None = None,
          log: bool = False) -> None:
    """Check ``above < value < below`` (either bound may be left out).

    Nothing is returned, so a claim on a cell's last line prints nothing (nbval compares what prints).

    ``log=True`` says that the margin is read in decades (for ratios spanning powers of ten).
    A failed claim raises ``AssertionError`` naming the claim, the value and the threshold.
    """
    if above is None and below is None:
        raise ValueError("claim needs a threshold: give above=, below= or both")
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty str naming the claim, got {text!r}")
    value = float(np.asarray(value, dtype=float))
    if math.isnan(value):
        raise AssertionError(f"claim failed: {text}: the measured value is NaN")
    gap = margin(value, above, below, log)
    _record(text, value, above, below, log, gap)
    if not gap > 0:
        wanted = " and ".join(s for s in (f"above {above:.4g}" if above is not None else "",
                                          f"below {below:.4g}" if below is not None else "") if s)
        raise AssertionError(f"claim failed: {text}: measured {value:.4g}, expected {wanted}")


def _record(text: str, value: float, above, below, log: bool, gap: float) -> None:
    path = os.environ.get(CLAIMS_LOG_VARIABLE)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as log_file:
        log_file.write(json.dumps({"claim": text, "value": value, "above": above, "below": below,
                                   "log": log, "margin": gap}) + "\n")
