"""Progress bars of long loops: live where someone watches, one finished line where the output is saved.

Every long loop of the kit takes its bar from :func:`progress_bar` (same arguments as ``tqdm``). What it draws
depends on ``CLIPMG_PROGRESS`` in the environment:

- ``live`` (default): ``tqdm.auto``, i.e. a widget in JupyterLab, a console bar in a terminal.
- ``summary``: nothing is drawn while the loop runs; when a bar that would stay on screen (``leave`` true,
  tqdm's default) closes, it prints one line to stdout, ``desc: 15/15 batch in 00:03``. Bars that would
  vanish (``leave=False``: one epoch, one evaluation pass) print nothing. This is for executed notebooks
  (papermill, nbval): no one sees a widget there, and a saved widget shows only its first frame, "0%".
  The chain runner (:mod:`clipmg_lib.runs.chain`) sets it for the kernels it starts.
- ``off``: no bar and no line.
"""
from __future__ import annotations

import os
import sys

from tqdm.std import tqdm as std_tqdm

#: environment variable choosing the mode; values: live, summary, off
MODE_ENV = "CLIPMG_PROGRESS"
MODES = ("live", "summary", "off")


def progress_mode() -> str:
    """The mode named by ``CLIPMG_PROGRESS`` (``live`` when unset); an unknown value is an error."""
    mode = os.environ.get(MODE_ENV, "live").strip().lower() or "live"
    if mode not in MODES:
        raise ValueError(f"{MODE_ENV}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


class _Discard:
    """A file that swallows what tqdm draws while the loop runs (summary mode)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class SummaryBar(std_tqdm):
    """A tqdm that draws nothing while running and prints one finished line on ``close()`` if ``leave``."""

    def __init__(self, *args, **kwargs):
        kwargs["file"] = _Discard()
        kwargs["mininterval"] = float("inf")  # never redraw: nothing to see
        super().__init__(*args, **kwargs)

    def summary_line(self) -> str:
        """``desc: n/total unit in mm:ss`` (``n unit`` alone when the total is unknown)."""
        d = self.format_dict
        count = f"{self.n}" if self.total is None else f"{self.n}/{self.total}"
        unit = d.get("unit") or "it"
        head = f"{self.desc}: " if self.desc else ""
        return f"{head}{count} {unit} in {self.format_interval(d['elapsed'])}"

    def close(self) -> None:
        if self.disable:
            return
        keep = self.leave is None or bool(self.leave)
        line = self.summary_line() if keep else None
        super().close()
        if line:
            print(line, file=sys.stdout, flush=True)


def progress_bar(iterable=None, **kwargs) -> std_tqdm:
    """A tqdm bar over ``iterable`` in the mode of :func:`progress_mode`; ``kwargs`` are tqdm's."""
    mode = progress_mode()
    if mode == "off":
        kwargs["disable"] = True
    if mode == "live":
        from tqdm.auto import tqdm
        return tqdm(iterable, **kwargs)
    return SummaryBar(iterable, **kwargs)
