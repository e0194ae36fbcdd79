"""Support for tests/test_browser.py: a throw-away JupyterLab server and a Playwright-driven page.

Kept apart from the test so that checking another notebook's widget is a few lines in the test
(see ``WIDGET_CASES`` there), not a copy of this machinery.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``$RESNET_LAB_CHROMIUM``), driven by
Playwright for Python; Playwright's own browser download is not used. Without chromium or
playwright the browser test is skipped with the reason, unless ``RESNET_LAB_REQUIRE_BROWSER=1``
(set by ``.ci/run``), where it fails instead.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "_artifacts"  # screenshots; git-ignored
CHROMIUM = Path(os.environ.get("RESNET_LAB_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_ENV = "RESNET_LAB_REQUIRE_BROWSER"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# JupyterLab user settings for the throw-away server: no news or update pop-ups (they would ask for
# the network and cover the notebook), no extension manager (it queries PyPI), and every cell kept
# in the page (JupyterLab may otherwise leave off-screen cells out of the DOM).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def browser_unavailable() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (`make setup` installs it from requirements.txt)"
    if not CHROMIUM.exists():
        return f"no chromium at {CHROMIUM} (Debian/Ubuntu: `sudo apt-get install chromium`; or set RESNET_LAB_CHROMIUM)"
    return None


def require_browser() -> None:
    """Skip (laptop) or fail (CI, ``RESNET_LAB_REQUIRE_BROWSER=1``) when the browser cannot run."""
    reason = browser_unavailable()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A JupyterLab server on 127.0.0.1 with a random token, isolated from the user's Jupyter
    configuration, serving ``root``. Use :func:`lab_server`, which always shuts it down."""

    def __init__(self, root: Path, home: Path):
        self.root, self.home = root, home
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "jupyter-lab.log"
        self.process: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        """The address of ``path`` (e.g. ``lab/tree/x.ipynb``), with the token for the first visit."""
        return f"{self.base}/{path}?token={self.token}"

    def start(self, timeout: float = 90) -> None:
        settings = self.home / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {**os.environ,
               "JUPYTER_CONFIG_DIR": str(self.home / "config"), "JUPYTER_DATA_DIR": str(self.home / "data"),
               "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(settings),
               "JUPYTERLAB_WORKSPACES_DIR": str(self.home / "workspaces"), "IPYTHONDIR": str(self.home / "ipython"),
               "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}",
                   "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}", "--ServerApp.port_retries=0",
                   f"--ServerApp.root_dir={self.root}", "--ServerApp.terminals_enabled=False",
                   "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI containers run as root
        with open(self.log_path, "wb") as log:
            # Own session: on teardown the whole group (server and kernels) can be ended by its id.
            self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{self.log()}")

    def log(self, tail: int = 6000) -> str:
        """The end of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Ask the server to shut down (it stops its kernels); terminate, then kill, its group if needed."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            request = urllib.request.Request(self.url("api/shutdown"), method="POST", data=b"")
            urllib.request.urlopen(request, timeout=5).close()
            process.wait(timeout=15)
        except Exception:  # noqa: BLE001 - fall through to signals
            pass
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if process.poll() is not None:
                break
            try:
                os.killpg(process.pid, sig)  # the group this fixture started, by its id
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass


@contextmanager
def lab_server(tmp: Path, notebooks: list[str], source: str = "notebooks") -> Iterator[LabServer]:
    """Copy ``notebooks`` (names in the folder ``source``: notebooks/ or student/) into
    ``tmp/notebooks`` next to a link to helpers/, so the set-up cell's ``Path.cwd().parent`` import
    works as in the repository, and serve them. The committed notebooks are never touched. The server
    is stopped on exit, also on failure."""
    work = tmp / "lab"
    (work / "notebooks").mkdir(parents=True)
    for name in notebooks:
        shutil.copy2(ROOT / source / name, work / "notebooks" / name)
    (work / "helpers").symlink_to(ROOT / "helpers", target_is_directory=True)
    if (ROOT / "data").exists():  # staged Fashion-MNIST; helpers.data also finds it by itself
        (work / "data").symlink_to(ROOT / "data", target_is_directory=True)
    server = LabServer(work / "notebooks", tmp / "home")
    try:
        server.start()
        yield server
    finally:
        server.stop()


# A 1x1 transparent PNG: the answer to every request that does not go to the local server.
BLANK_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                          "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")
NOT_LOCAL = re.compile(r"^(?!https?://127\.0\.0\.1[:/])[a-z]+://")


@contextmanager
def chromium_page(record: list[str], outside: list[str] | None = None) -> Iterator["object"]:
    """A Playwright page in headless Debian chromium with a fresh profile. Console errors and
    uncaught page errors are appended to ``record`` as they happen.

    The page is kept off the network: a request for anything but 127.0.0.1 (the Colab badge image
    in a notebook's title cell, say) gets a blank image and is listed in ``outside``, so the test
    gives the same result online and offline."""
    from playwright.sync_api import sync_playwright

    outside = [] if outside is None else outside

    def answer_locally(route) -> None:
        outside.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=BLANK_PNG)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route(NOT_LOCAL, answer_locally)
            page = context.new_page()
            page.on("console", lambda m: record.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: record.append(f"pageerror: {e}"))
            yield page
        finally:
            browser.close()


def changed_pixels(png_a: bytes, png_b: bytes) -> float:
    """The fraction of pixels that differ between two screenshots (1.0 when the sizes differ)."""
    from PIL import Image, ImageChops

    a, b = (Image.open(io.BytesIO(p)).convert("RGB") for p in (png_a, png_b))
    if a.size != b.size:
        return 1.0
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v else 0)
    return diff.histogram()[255] / (a.size[0] * a.size[1])


def code_cell_index(notebook: Path, marker: str) -> int:
    """The position among all cells (as JupyterLab shows them) of the first code cell containing ``marker``."""
    cells = json.loads(notebook.read_text())["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code" and marker in "".join(cell["source"]):
            return i
    raise ValueError(f"no code cell in {notebook.name} contains {marker!r}")


def slug(text: str) -> str:
    """A file-name-safe version of ``text``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
