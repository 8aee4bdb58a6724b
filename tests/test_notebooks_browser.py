"""The executed notebooks as a person sees them: JupyterLab in a real (headless) Chromium, driven by Playwright.

A JupyterLab server on 127.0.0.1 with a token serves copies of the chain's executed notebooks (whatever
notebooks the last chain run wrote, ``tests/executed_results.py``). For each one the test opens it and asserts:
no error output, every plotly output of the file rendered as a plot in the DOM, every HTML table of the
file visible (no "Show more outputs" fold), and opening changed nothing in it: the only edit JupyterLab may make
is the one of plotly's renderer, which stores a PNG snapshot of each plot it draws in that output (``image/png``, by
``Plotly.toImage`` then ``setData``; that is what marks an executed notebook unsaved once a plot is on screen, not
its kernelspec, metadata, nbformat or cell ids, which must all come back as saved). Then it runs
notebook 01 live (Run All) and asserts it finishes without error. Screenshots go to ``$CLIPMG_SCREENSHOTS``
(``make test``: ``results/screenshots/``), else under pytest's tmp_path.

Needs the system Chromium (Debian/Ubuntu: ``apt install chromium``; ``.ci/run`` installs it) and the
``playwright`` package (in the lock); it never downloads a browser. Elsewhere it skips, saying so.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from clipmg_lib.core.paths import dataset_root
from executed_results import REPO, executed_notebooks, executed_results

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
PLOTLY_MIME = "application/vnd.plotly.v1+json"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium: apt install chromium (Debian/Ubuntu) "
                                                "to run the real-browser notebook test"),
]
SERVER_START_S = 90
OPEN_NOTEBOOK_S = 120  # a first JupyterLab load on a loaded 2-core machine takes 40 s
LIVE_RUN_S = 300  # notebook 01 takes ~10 s on a quiet machine, 80 s under papermill at a load of 15
KERNEL_IDLE = ("() => { const w = window.clipmgOpened; const k = w && w.sessionContext"
               " && w.sessionContext.session && w.sessionContext.session.kernel; return !!k && k.status === 'idle'; }")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chain_dataset_root(results: Path) -> str:
    """The dataset the chain ran on (papermill records the parameters it injected), else the demo's."""
    for nb in executed_notebooks(results):
        injected = nbformat.read(nb, as_version=4).metadata.get("papermill", {}).get("parameters", {})
        if injected.get("dataset_root"):
            return str(injected["dataset_root"])
    return str(dataset_root())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab on 127.0.0.1 serving copies of the executed notebooks and notebook 01 unexecuted."""
    pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.lock (playwright)")
    results = executed_results()
    root = tmp_path_factory.mktemp("lab")
    (root / "executed").mkdir()
    for nb in executed_notebooks(results):
        shutil.copy2(nb, root / "executed" / nb.name)
    (root / "live").mkdir()
    shutil.copy2(REPO / "notebooks" / "01_data.ipynb", root / "live" / "01_data.ipynb")
    settings = root / "settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "apputils-extension").mkdir(parents=True)
    # every cell in the DOM (no windowing), so each output is checked, not only the ones scrolled into view
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))  # no network, no news pop-up
    token = secrets.token_hex(16)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "CLIPMG_PROGRESS"}  # live bars in the browser
    env.update(JUPYTER_RUNTIME_DIR=str(root / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(root / "settings"),
               CLIPMG_RESULTS_DIR=str(root / "live_results"), CLIPMG_CACHE_DIR=str(root / "live_cache"),
               CLIPMG_DATASET_ROOT=_chain_dataset_root(results),
               PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={root / 'settings'}", f"--LabApp.workspaces_dir={root / 'workspaces'}",
         "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: open and run notebooks by command
         "--allow-root"],  # CI runs as root; the server listens on 127.0.0.1 only, behind a token
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(root / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield {"base": base, "token": token, "root": root, "results": results}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser(lab):  # noqa: ARG001 (the server first)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], timeout=60_000)
        yield b
        b.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("CLIPMG_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shutdown_kernels(lab) -> None:
    url = f"{lab['base']}/api/kernels?token={lab['token']}"
    for kernel in json.load(urllib.request.urlopen(url, timeout=10)):
        req = urllib.request.Request(f"{lab['base']}/api/kernels/{kernel['id']}?token={lab['token']}",
                                     method="DELETE")
        urllib.request.urlopen(req, timeout=10)


@pytest.fixture(scope="module")
def page(lab, browser):
    """One JupyterLab page for every check (the app loads once; notebooks open and close by command)."""
    pg = browser.new_page(viewport={"width": 1400, "height": 900})
    pg.goto(f"{lab['base']}/lab?token={lab['token']}", timeout=OPEN_NOTEBOOK_S * 1000)
    pg.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('docmanager:open')",
                         timeout=OPEN_NOTEBOOK_S * 1000, polling=500)
    yield pg
    pg.close()


def _open(page, lab, relpath: str) -> str:
    """Open a notebook in the page; wait until all its cells are in the DOM; returns the panel's CSS selector."""
    n_cells = len(nbformat.read(lab["root"] / relpath, as_version=4).cells)
    panel_id = page.evaluate("""async (path) => {
        const widget = await window.jupyterapp.commands.execute('docmanager:open', {path});
        await widget.context.ready;
        window.clipmgOpened = widget;
        return widget.id;
    }""", relpath)
    sel = f"[id='{panel_id}']"
    page.wait_for_function(f"document.querySelectorAll(\"{sel} .jp-Notebook .jp-Cell\").length >= {n_cells}",
                           timeout=OPEN_NOTEBOOK_S * 1000, polling=500)
    return sel


def _close_current(page, lab) -> None:
    """Close the current notebook without a save prompt, and shut its kernel down."""
    page.evaluate("() => { const w = window.clipmgOpened; if (w && !w.isDisposed) { w.dispose(); } }")
    _shutdown_kernels(lab)


def _screenshots(page, sel: str, folder: Path, stem: str) -> None:
    """The notebook's top, and its first plot and first table scrolled into view."""
    page.screenshot(path=str(folder / f"{stem}.png"))
    for what, selector in (("plot", ".js-plotly-plot:has(.main-svg)"), ("table", ".jp-OutputArea-output table")):
        first = page.locator(f"{sel} {selector}").first
        if first.count():
            first.scroll_into_view_if_needed(timeout=10_000)
            page.wait_for_timeout(300)
            page.screenshot(path=str(folder / f"{stem}_{what}.png"))


def _expected(path: Path) -> dict[str, int]:
    nb = nbformat.read(path, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    return {"plots": sum(PLOTLY_MIME in o.get("data", {}) for o in outputs),
            "tables": sum("<table" in o.get("data", {}).get("text/html", "") for o in outputs)}


def _normalised(nb: dict, drop_plotly_png: bool = False) -> dict:
    """A notebook's JSON with multi-line strings joined (JupyterLab writes strings, nbformat lists) and, with
    ``drop_plotly_png``, the PNG snapshot plotly's JupyterLab renderer adds beside each plotly output dropped."""
    def text(v):
        return "".join(v) if isinstance(v, list) else v

    cells = []
    for c in nb["cells"]:
        # cell metadata "trusted" is the server's transient trust mark (nbformat strips it on save)
        c = {**c, "source": text(c["source"]),
             "metadata": {k: v for k, v in c.get("metadata", {}).items() if k != "trusted"}}
        if "outputs" in c:
            outs = []
            for o in c["outputs"]:
                o = dict(o)
                if "text" in o:
                    o["text"] = text(o["text"])
                if "data" in o:
                    data = {k: text(v) if k.startswith("text/") or k == "image/png" else v for k, v in o["data"].items()}
                    if drop_plotly_png and PLOTLY_MIME in data:
                        data.pop("image/png", None)
                    o["data"] = data
                outs.append(o)
            c["outputs"] = outs
        cells.append(c)
    return {**nb, "cells": cells}


def _changes_on_open(page, path: Path) -> list[str]:
    """What the opened notebook's model holds that its file does not, beyond plotly's PNG snapshots."""
    model = _normalised(page.evaluate("() => window.clipmgOpened.context.model.toJSON()"), drop_plotly_png=True)
    disk = _normalised(json.loads(path.read_text()), drop_plotly_png=True)
    found = [f"{key}: {disk.get(key)!r} -> {model.get(key)!r}" for key in ("nbformat", "nbformat_minor", "metadata")
             if disk.get(key) != model.get(key)]
    if len(disk["cells"]) != len(model["cells"]):
        return found + [f"{len(disk['cells'])} cells -> {len(model['cells'])}"]
    for i, (a, b) in enumerate(zip(disk["cells"], model["cells"])):
        found += [f"cell {i} {key}" for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
    return found


def test_every_executed_notebook_renders_in_jupyterlab(lab, page, screenshots):
    problems = []
    names = sorted(p.name for p in (lab["root"] / "executed").glob("*.ipynb"))
    assert names
    for name in names:
        try:
            sel = _open(page, lab, f"executed/{name}")
            want = _expected(lab["root"] / "executed" / name)
            if want["plots"]:
                try:  # plotly draws asynchronously once its outputs are attached
                    page.wait_for_function(f"document.querySelectorAll(\"{sel} .js-plotly-plot:has(.main-svg)\").length "
                                           f">= {want['plots']}", timeout=OPEN_NOTEBOOK_S * 1000, polling=500)
                except Exception:
                    pass  # counted below
            page.wait_for_timeout(500)
            plots = page.locator(f"{sel} .js-plotly-plot:has(.main-svg)").count()
            tables = page.locator(f"{sel} .jp-OutputArea-output table").count()
            errors = page.locator(f"{sel} .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']").count()
            trimmed = page.locator(f"{sel} .jp-TrimmedOutputs").count()
            changed = _changes_on_open(page, lab["root"] / "executed" / name)
            _screenshots(page, sel, screenshots, Path(name).stem)
            if errors:
                problems.append(f"{name}: {errors} error output(s)")
            if plots < want["plots"]:
                problems.append(f"{name}: {plots} of {want['plots']} plotly outputs rendered")
            if tables < want["tables"]:
                problems.append(f"{name}: {tables} of {want['tables']} tables in the page")
            if trimmed:
                problems.append(f"{name}: {trimmed} cell(s) fold outputs behind 'Show more outputs'")
            if changed:
                problems.append(f"{name}: opening it changed {changed[:5]}")
        finally:
            _close_current(page, lab)
    assert not problems, "\n".join(problems)


def test_notebook_01_runs_live_with_run_all(lab, page, screenshots):
    try:
        sel = _open(page, lab, "live/01_data.ipynb")
        page.wait_for_function(KERNEL_IDLE, timeout=OPEN_NOTEBOOK_S * 1000, polling=500)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        n_code = len([c for c in nbformat.read(lab["root"] / "live" / "01_data.ipynb", as_version=4).cells
                      if c.cell_type == "code"])
        # finished: every code cell has its execution count ("[*]" while queued or running), or an error shows
        page.wait_for_function(f"""() => {{
            const prompts = [...document.querySelectorAll("{sel} .jp-CodeCell .jp-InputArea-prompt")];
            const done = prompts.filter(p => /\\[\\d+\\]/.test(p.textContent)).length;
            const errors = document.querySelectorAll(
                "{sel} .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']").length;
            return errors > 0 || done >= {n_code};
        }}""", timeout=LIVE_RUN_S * 1000, polling=1000)
        page.screenshot(path=str(screenshots / "01_data_live_run_all.png"))
        errors = page.locator(f"{sel} .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
        assert errors.count() == 0, f"notebook 01 failed under Run All: {errors.first.inner_text()[:2000]}"
        assert page.locator(f"{sel} .js-plotly-plot:has(.main-svg)").count() > 0
    finally:
        _close_current(page, lab)
