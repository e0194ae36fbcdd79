"""Interactive views built from core ipywidgets (7.7.1 on Colab, 8.x elsewhere) and inline matplotlib.

Each widget only wires controls to a compute function and a plotting function from the other
modules, so its logic is testable in plain pytest: setting ``control.value`` runs the callbacks.
"""
from __future__ import annotations
