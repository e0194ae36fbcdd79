"""The widgets, proven in a real browser: JupyterLab on localhost, headless Debian chromium driven
by Playwright, a student's clicks and drags, and the plot checked to change.

nbval runs the notebooks without a browser, so it never sees a widget draw. This test opens a copy
of each notebook with a widget in JupyterLab, runs it, moves the widget's controls with the mouse,
waits for the plot to be redrawn, and asserts that

- every control change redraws the plot (a different image, and visibly different pixels),
- "reset" brings back exactly the first picture (the widget is a function of its controls),
- no error appeared: no error or stderr output in the notebook, nothing in JupyterLab's log
  console (where exceptions raised in widget callbacks end up), no console error or uncaught
  exception in the browser.

Screenshots of the widget before and after each change go to tests/_artifacts/ (git-ignored),
with a JSON record of timings and what the page asked for.

Which cells run: not all of them, to stay within a few minutes on a CPU. nbval runs every cell of
every notebook in the same `make test`; here only what the widget needs runs: in notebook 01 the
cells from the top through the widget's (the cells after it train two CNNs), in notebook 04 the
six cells that compute the widget's data (the others above it train models for other sections).
Set RESNET_LAB_BROWSER_RUN_ALL=1 to run all cells in the browser first (Run > Run All Cells), then
interact. Skipped without chromium or playwright, unless RESNET_LAB_REQUIRE_BROWSER=1 (CI).

To check another widget: add a WidgetCase to WIDGET_CASES.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from typing import Callable

import pytest

from browser_support import (ARTIFACTS, ROOT, changed_pixels, chromium_page, code_cell_index,
                             lab_server, require_browser)

RUN_ALL = os.environ.get("RESNET_LAB_BROWSER_RUN_ALL") == "1"
RUN_TIMEOUT_S = float(os.environ.get("RESNET_LAB_BROWSER_RUN_TIMEOUT", "300"))  # the cells, on a loaded machine
REDRAW_TIMEOUT_S = 60.0
MIN_CHANGED_PIXELS = 0.005  # a redraw with new numbers changes well over 0.5% of the plot's pixels
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


# ---------------------------------------------------------------------------------------------
# What a student does with a control (``cell`` is the Playwright locator of the widget's cell)
# ---------------------------------------------------------------------------------------------
def exact(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def slider(cell, label: str):
    """The slider whose description is ``label``."""
    return cell.locator(".widget-slider", has=cell.page.locator(".widget-label", has_text=exact(label)))


def drag_slider(label: str, fraction: float) -> Callable:
    """Press the slider's handle, drag it to ``fraction`` of the track, release (one change event,
    as with ``continuous_update=False`` the kernel hears only the release)."""
    def act(cell) -> str:
        s = slider(cell, label)
        s.scroll_into_view_if_needed()
        before = s.locator(".widget-readout").inner_text()
        handle = s.locator(".noUi-handle").bounding_box()
        track = s.locator(".noUi-base").bounding_box()
        mouse = cell.page.mouse
        mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        mouse.down()
        mouse.move(track["x"] + fraction * track["width"], handle["y"] + handle["height"] / 2, steps=12)
        mouse.up()
        after = s.locator(".widget-readout").inner_text()
        assert after != before, f"dragging the {label!r} slider did not move it (still {before})"
        return f"{label}: {before} -> {after}"
    return act


def click_checkbox(label: str) -> Callable:
    """Click the checkbox described by ``label`` (on its text, as a user would)."""
    def act(cell) -> str:
        box = cell.get_by_role("checkbox", name=label, exact=True)
        before = box.is_checked()
        cell.locator(".widget-checkbox span", has_text=exact(label)).click()
        assert box.is_checked() != before, f"clicking {label!r} did not toggle it"
        return f"{label}: {before} -> {not before}"
    return act


def choose_option(label: str, option: str) -> Callable:
    """Pick ``option`` in the dropdown described by ``label`` (a <select>, as the user's browser shows it)."""
    def act(cell) -> str:
        box = cell.locator(".widget-dropdown", has=cell.page.locator(".widget-label", has_text=exact(label)))
        select = box.locator("select")
        shown = "s => s.options[s.selectedIndex].text.replace(/\\u00a0/g, ' ')"  # ipywidgets shows spaces as nbsp
        before = select.evaluate(shown)
        select.select_option(label=option.replace(" ", "\u00a0"))
        assert select.evaluate(shown) == option != before
        return f"{label}: {before} -> {option}"
    return act


def click_button(label: str) -> Callable:
    """Click the button labelled ``label``."""
    def act(cell) -> str:
        cell.get_by_role("button", name=label, exact=True).click()
        return f"clicked {label}"
    return act


@dataclass(frozen=True)
class Step:
    name: str                       # file-name friendly: used for the screenshot
    act: Callable                   # returns a description of what changed
    back_to_first: bool = False     # the picture must be the very first one again (a reset)


@dataclass(frozen=True)
class WidgetCase:
    notebook: str
    widget_cell: str                # text that identifies the code cell that displays the widget
    steps: tuple[Step, ...]
    plot: str = ".widget-output img"  # the redrawn plot, inside the widget's cell
    # Only these code cells run (each named by a text it contains), one by one in this order, as
    # a student would run them; the default () runs every cell from the top through the widget's.
    cells: tuple[str, ...] = ()


WIDGET_CASES = [
    WidgetCase("01_vanishing_gradients.ipynb", "widgets.GradientExplorer(", (
        Step("depth", drag_slider("depth", 0.15)),          # 50 -> about 16 layers
        Step("residual", click_checkbox("residual connections")),
        Step("transformer", choose_option("architecture", "post-LN transformer")),
        Step("reset", click_button("reset"), back_to_first=True),
    )),
    # Notebook 07's explorer starts on a 12-block post-LN transformer; the cells above it that train
    # are skipped: it needs the set-up, the imports and the batch of images (section 1).
    WidgetCase("07_residual_streams.ipynb", "explorer = widgets.GradientExplorer(", (
        Step("pre_ln", choose_option("architecture", "pre-LN transformer")),
        Step("depth", drag_slider("depth", 0.3)),
        Step("mlp", choose_option("architecture", "MLP")),
        Step("reset", click_button("reset"), back_to_first=True),
    ), cells=("# Set-up, the same in every notebook", "from helpers import claim, data, experiments, gradients",
              "DEPTH, WIDTH, SIZE = 50, 64, 14", "explorer = widgets.GradientExplorer(")),
    # Notebook 04's cells above its widget train six models for the widget and ResNet-18 and a
    # fast recipe for other sections (minutes on a CPU): run only the chain the widget needs.
    WidgetCase("04_full_resnet.ipynb", "step_slider_view(runs)", (
        Step("step_late", drag_slider("step", 0.9)),       # first recorded step -> late in training
        Step("step_middle", drag_slider("step", 0.4)),
    ), cells=("# Set-up, the same in every notebook", "from helpers.widgets import step_slider_view",
              "SUBSET, TEST_SUBSET, SIZE_PR, EPOCHS_PR, WIDTH_PR =", "with GradientRecorder(net, opt",
              "runs = {name: (recorders[name]", "step_slider_view(runs)")),
]


def available(case: WidgetCase) -> bool:
    """Whether the notebook exists and has the widget's cell (notebooks are written one at a time)."""
    try:
        code_cell_index(ROOT / "notebooks" / case.notebook, case.widget_cell)
    except (OSError, ValueError):
        return False
    return True


# ---------------------------------------------------------------------------------------------
# JupyterLab, driven through its menus
# ---------------------------------------------------------------------------------------------
def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=exact(top)).click()
    page.locator(".lm-Menu-itemLabel", has_text=exact(item)).click()


def wait_for_cells(page, positions: list[int], timeout: float) -> None:
    """Wait until the code cells at ``positions`` have run (a number in each prompt) and the
    kernel is idle; fail at once on an error output."""
    deadline = time.monotonic() + timeout
    cells = page.locator(".jp-Notebook .jp-Cell")
    while True:
        prompts = cells.evaluate_all(
            f"(cells, positions) => positions.map(i => cells[i]).filter(c => c.classList.contains('jp-CodeCell'))"
            ".map(c => c.querySelector('.jp-InputPrompt').innerText.trim())", positions)
        idle = page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').count() > 0
        if page.locator(f"{STDERR}, .jp-OutputArea-output.jp-mod-error").count():
            errors = page.locator(STDERR).all_inner_texts()
            pytest.fail("a cell failed in JupyterLab:\n" + "\n".join(e[-2000:] for e in errors))
        if idle and prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"cells still running after {timeout:.0f} s: prompts {prompts}")
        time.sleep(0.5)


def image_source(cell, plot: str) -> str:
    return cell.locator(plot).get_attribute("src") or ""


def wait_for_new_image(cell, plot: str, old: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        src = image_source(cell, plot) if cell.locator(plot).count() == 1 else ""
        if src and src != old:
            cell.locator(plot).evaluate("img => img.decode()")  # drawn, not just swapped in
            return src
        time.sleep(0.2)
    pytest.fail(f"the plot was not redrawn within {timeout:.0f} s")


def notebook_errors(page) -> list[str]:
    """Error and stderr outputs, widgets that failed to render, and JupyterLab log-console entries."""
    found = [f"stderr/error output: {t[-1500:]}" for t in page.locator(STDERR).all_inner_texts()]
    found += [f"widget error: {t[:300]}" for t in page.locator(".jp-OutputArea-output").all_inner_texts()
              if "Error displaying widget" in t or "Failed to load model class" in t]
    log_item = page.locator(".jp-LogConsoleStatusItem")
    if log_item.count() and log_item.is_visible():  # shown once the kernel logs output that belongs to no cell
        entries = log_item.inner_text().strip()
        log_item.click()  # opens the log console, e.g. with the traceback of a failing widget callback
        panel = page.locator(".jp-LogConsolePanel")
        panel.wait_for()
        page.wait_for_timeout(500)
        found.append(f"JupyterLab log console ({entries} entries): {panel.inner_text()[-3000:]}")
    return found


# ---------------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [
    pytest.param(c, id=c.notebook.split("_")[0], marks=pytest.mark.skipif(
        not available(c), reason=f"{c.notebook} has no {c.widget_cell!r} cell yet")) for c in WIDGET_CASES])
def test_widget_redraws_in_jupyterlab(case: WidgetCase, tmp_path):
    require_browser()
    started = time.monotonic()
    timings: dict[str, float] = {}
    console: list[str] = []   # browser console errors and uncaught page errors
    outside: list[str] = []   # requests for anything but the local server (answered with a blank image)
    stem = case.notebook.removesuffix(".ipynb")
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob(f"{stem}-*"):
        old.unlink()
    path = ROOT / "notebooks" / case.notebook
    widget_at = code_cell_index(path, case.widget_cell)
    n_cells = len(json.loads(path.read_text())["cells"])
    chosen = [code_cell_index(path, marker) for marker in case.cells]
    assert not chosen or chosen[-1] == widget_at, "the last cell to run must be the widget's"
    ran = ("all cells" if RUN_ALL else f"cells {[i + 1 for i in chosen]} of {n_cells}, one by one" if chosen
           else f"cells 1-{widget_at + 1} of {n_cells}")
    record = {"notebook": case.notebook, "ran": ran,
              "steps": [], "timings_s": timings, "console_errors": console, "outside_requests": outside}

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started, 1)

    try:
        with lab_server(tmp_path, [case.notebook]) as server, chromium_page(console, outside) as page:
            lap("server_started")
            page.set_default_timeout(60_000)
            page.goto(server.url(f"lab/tree/{case.notebook}"))
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).wait_for()
            lap("notebook_open")
            assert page.locator(".jp-Notebook .jp-Cell").count() == n_cells

            # Start from a clean slate, so every number in a prompt and every widget comes from this run.
            menu(page, "Edit", "Clear Outputs of All Cells")
            cells = page.locator(".jp-Notebook .jp-Cell")
            if RUN_ALL or (not chosen and widget_at == n_cells - 1):
                menu(page, "Run", "Run All Cells")
                wait_for_cells(page, list(range(n_cells)), RUN_TIMEOUT_S)
            elif chosen:  # select each cell, then Run > Run Selected Cell and Do not Advance
                for position in chosen:
                    cells.nth(position).locator(".jp-InputPrompt").click()
                    menu(page, "Run", "Run Selected Cell and Do not Advance")
                wait_for_cells(page, chosen, RUN_TIMEOUT_S)
            else:  # select the cell after the widget's, then Run > Run All Above Selected Cell
                cells.nth(widget_at + 1).locator(".jp-InputPrompt").click()
                menu(page, "Run", "Run All Above Selected Cell")
                wait_for_cells(page, list(range(widget_at + 1)), RUN_TIMEOUT_S)
            lap("cells_ran")

            cell = cells.nth(widget_at)
            cell.locator(case.plot).wait_for()
            cell.locator(case.plot).evaluate("img => img.decode()")
            cell.scroll_into_view_if_needed()
            widget, plot = cell.locator(".jp-Cell-outputArea"), cell.locator(".widget-output")
            first = previous = image_source(cell, case.plot)
            previous_shot = plot.screenshot()
            widget.screenshot(path=ARTIFACTS / f"{stem}-0-before.png")

            for number, step in enumerate(case.steps, start=1):
                what = step.act(cell)
                src = wait_for_new_image(cell, case.plot, previous, REDRAW_TIMEOUT_S)
                shot = plot.screenshot()
                widget.screenshot(path=ARTIFACTS / f"{stem}-{number}-{step.name}.png")
                changed = changed_pixels(previous_shot, shot)
                record["steps"].append({"step": step.name, "change": what, "changed_pixels": round(changed, 4)})
                lap(f"step_{step.name}")
                assert changed > MIN_CHANGED_PIXELS, f"{what}: only {changed:.2%} of the plot's pixels changed"
                if step.back_to_first:
                    assert src == first, f"{what}: the plot is not the first picture again"
                previous, previous_shot = src, shot

            page.screenshot(path=ARTIFACTS / f"{stem}-page.png")
            errors = notebook_errors(page)
            assert not errors, "errors in the notebook:\n" + "\n".join(errors)
            assert not console, "browser console errors:\n" + "\n".join(console)
    finally:
        lap("total")
        (ARTIFACTS / f"{stem}-record.json").write_text(json.dumps(record, indent=2) + "\n")
    assert len(record["steps"]) == len(case.steps)



def test_student_notebook_runs_to_its_first_exercise(tmp_path):
    """A student opens their version of notebook 03 in JupyterLab and runs it: every cell up to the
    first exercise's check runs without an error; the check, with the stub left as it is, answers
    with one line saying the exercise is not done yet (not a traceback)."""
    require_browser()
    name = "03_shape_tracing.ipynb"
    path = ROOT / "student" / name
    check_at = code_cell_index(path, "with checking(1):")
    notebook_cells = json.loads(path.read_text())["cells"]
    n_cells = len(notebook_cells)
    shown = list(range(check_at))           # every cell above the check, the `checking` import too
    console: list[str] = []
    with lab_server(tmp_path, [name], source="student") as server, chromium_page(console) as page:
        page.set_default_timeout(60_000)
        page.goto(server.url(f"lab/tree/{name}"))
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).wait_for()
        assert page.locator(".jp-Notebook .jp-Cell").count() == n_cells
        menu(page, "Edit", "Clear Outputs of All Cells")
        cells = page.locator(".jp-Notebook .jp-Cell")
        cells.nth(check_at).locator(".jp-InputPrompt").click()
        menu(page, "Run", "Run All Above Selected Cell")
        wait_for_cells(page, shown, RUN_TIMEOUT_S)
        errors = notebook_errors(page)
        assert not errors, "errors before the first exercise:\n" + "\n".join(errors)

        menu(page, "Run", "Run Selected Cell and Do not Advance")
        answer = cells.nth(check_at).locator(".jp-OutputArea-output")
        answer.first.wait_for()
        text = answer.first.inner_text().strip()
        assert text.startswith("Exercise 1: not yet:") and "Traceback" not in text, text
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "student-03-first-exercise.png")
    assert not console, "browser console errors:\n" + "\n".join(console)


def test_setup_cell_leaves_colab_ipywidgets_alone():
    """Colab's widget manager needs the ipywidgets 7.7.1 it ships: the set-up cell may install only
    d2l, without dependencies (pip would otherwise pull in d2l's pins), and nothing else."""
    from tools.setup_cell import SETUP_CELL

    installs = [line for line in SETUP_CELL.splitlines() if '"pip"' in line or "pip install" in line]
    assert installs, "the set-up cell no longer installs d2l: update this test"
    for line in installs:
        assert '"--no-deps"' in line and '"d2l==1.0.3"' in line, line
        assert "ipywidgets" not in line and "--upgrade" not in line and '"-U"' not in line, line
