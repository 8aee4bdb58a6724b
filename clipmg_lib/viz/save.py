"""Saving a figure: standalone HTML under the results folder, and a PNG beside it.

:func:`save_figure` writes a plotly figure atomically as HTML next to one shared ``plotly.min.js`` (no network
needed to open it), and as PNG beside it through plotly's static export (``kaleido`` driving a
Chrome/Chromium). A machine without a browser gets HTML only, and is told so once.
"""
from __future__ import annotations

import atexit
import importlib.util
import sys
import threading
import warnings
from pathlib import Path

import plotly.graph_objects as go

from ..core.atomic import atomic_path


def save_figure(fig: go.Figure, results_dir: str | Path, name: str, png: bool | None = None) -> Path:
    """Write ``fig`` to ``results_dir/figures/name.html`` and ``name.png`` beside it (both atomically).

    ``plotly.min.js`` is written once beside the HTML (it opens offline). The PNG goes through plotly's
    static export (``kaleido``, in the lock, driving a Chrome/Chromium: Debian/Ubuntu ``apt install chromium``).
    ``png``: ``None`` (default) writes it where that works; where it does not (no kaleido, no browser) the
    first figure of the process warns once, naming what is missing, and every figure keeps its HTML.
    ``True`` insists (raises if it cannot), ``False`` never writes a PNG. Every notebook saves through this, so
    a run's figures sit together in one folder (results/README.md). Returns the HTML path.
    """
    global _png_export_ok
    folder = Path(results_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    stem = name[:-5] if name.endswith(".html") else name
    path = folder / f"{stem}.html"
    with atomic_path(path) as tmp:
        fig.write_html(tmp, include_plotlyjs="directory", full_html=True)
    want = png if png is not None else _png_export_ok is not False
    if not want:
        return path
    problem = None
    if not _kaleido_installed():
        problem = "kaleido is not installed (pip install -r requirements.lock)"
    else:
        try:
            _start_png_server()
            with atomic_path(folder / f"{stem}.png") as tmp, warnings.catch_warnings():
                warnings.filterwarnings("ignore", "The kopts argument is ignored", UserWarning)
                fig.write_image(tmp, format="png")
            _png_export_ok = True
        except Exception as e:  # kaleido raises its own types when no browser is found
            problem = (f"plotly's static export failed ({type(e).__name__}: {e}); it needs a Chrome/Chromium: "
                       f"apt install chromium (Debian/Ubuntu), or set BROWSER_PATH to one")
    if problem:
        _png_export_ok = False
        if png:
            raise RuntimeError(f"PNG export of {path.name}: {problem}")
        warnings.warn(f"figures are written as HTML only, no PNG: {problem}", RuntimeWarning, stacklevel=2)
    return path


def _start_png_server() -> None:
    """Start kaleido's browser once per process (a figure then exports in under a second, not a browser start
    of 2-20 s each); it is stopped at interpreter exit. Waits for :func:`warm_png_export`'s start if one runs."""
    if _png_warmup is not None:
        _png_warmup.join()
    if not _png_server_started:
        _launch_kaleido()


def _launch_kaleido() -> None:
    """Start kaleido's sync server (its browser starts on first use) and stop it at interpreter exit."""
    global _png_server_started
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)
    _png_server_started = True


_png_server_started = False
_png_warmup: threading.Thread | None = None


def warm_png_export() -> None:
    """Start kaleido's browser now, in a background thread, so that the first :func:`save_figure` does not wait
    for it (7-10 s here, mostly the browser's start-up, little CPU). Done on import inside a Jupyter kernel
    (the notebooks), where kaleido is installed; a failure is left for :func:`save_figure` to report."""
    global _png_warmup
    if _png_warmup is not None or _png_server_started or not _kaleido_installed():
        return

    def start() -> None:
        try:
            import plotly.io as pio

            _launch_kaleido()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pio.to_image(go.Figure(), format="png", width=16, height=16)  # the browser starts on first use
        except Exception:  # no browser: save_figure's own attempt says so, once
            pass

    _png_warmup = threading.Thread(target=start, name="kaleido-warmup", daemon=True)
    _png_warmup.start()


def _in_jupyter_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _kaleido_installed() -> bool:
    return importlib.util.find_spec("kaleido") is not None


#: None: not tried yet in this process; True/False: plotly's static PNG export worked / did not.
_png_export_ok: bool | None = None

if _in_jupyter_kernel():
    warm_png_export()
