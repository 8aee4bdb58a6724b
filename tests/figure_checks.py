"""Sanity checks of a saved plotly figure, as a reader would notice them: read back from the HTML a run wrote.

``load_figure_html(path) -> go.Figure`` parses the ``Plotly.newPlot(id, data, layout)`` call of a file written by
``clipmg_lib.viz.save.save_figure``. ``figure_problems(fig) -> list[str]`` lists what is wrong, in words:
a missing title, an empty trace, a labelled axis without a title, data outside the axis range, or data
squeezed into a sliver of an autoranged axis (an axis whose range the figure sets, such as a gate's 0..1,
keeps it). Stacked bars are checked along their positions, not their heights. Axis ranges come from plotly's own layout engine
(``full_figure_for_development``, through kaleido), so autoranged axes are checked as drawn.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

#: data must span at least this share of its (numeric, linear or log) axis, or it is drawn in a sliver
MIN_SPAN_SHARE = 0.2
_DATA_KEYS = ("x", "y", "z", "values", "source", "r", "cells", "dimensions")


def load_figure_html(path: str | Path) -> go.Figure:
    """The figure of one saved HTML file (data and layout of its ``Plotly.newPlot`` call)."""
    text = Path(path).read_text()
    start = text.find("Plotly.newPlot(")
    if start < 0:
        raise ValueError(f"{path}: no Plotly.newPlot call")
    decoder = json.JSONDecoder()
    pos = start + len("Plotly.newPlot(")
    values = []
    for _ in range(3):  # div id, data, layout
        while text[pos] in " \n\t\r,":
            pos += 1
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)
    return go.Figure(data=values[1], layout=values[2], skip_invalid=True)


def _numeric(values) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, dict) and "bdata" in values:  # plotly's base64 typed arrays
        import base64

        arr = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        return arr.astype(float)
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return None  # categories, dates
    return arr[np.isfinite(arr)]


def _is_empty(trace) -> bool:
    present = [k for k in _DATA_KEYS if k in trace and trace[k] is not None]
    if not present:
        return True
    for k in present:
        v = trace[k]
        if isinstance(v, dict) and "bdata" in v:
            if v["bdata"]:
                return False
        elif isinstance(v, str) or np.size(np.asarray(v, dtype=object)) > 0:
            return False
    return True


def _axis_name(ref: str, letter: str) -> str:
    return f"{letter}axis{ref[1:]}"


def figure_problems(fig: go.Figure, full: go.Figure | None = None) -> list[str]:
    """What a reader would find wrong with ``fig``; ``full`` is its full layout (computed when not given)."""
    problems = []
    if not (fig.layout.title and fig.layout.title.text):
        problems.append("no title")
    if full is None:
        full = fig.full_figure_for_development(warn=False)
    used: dict[str, list[np.ndarray]] = {}
    for i, trace in enumerate(fig.data):
        label = f"trace {i} ({trace.type}{', ' + trace.name if getattr(trace, 'name', None) else ''})"
        if _is_empty(trace.to_plotly_json()):
            problems.append(f"{label} is empty")
            continue
        if not hasattr(trace, "xaxis") or trace.type in ("image",):
            continue
        stacked = trace.type == "bar" and fig.layout.barmode in ("stack", "relative")
        value_axis = "x" if getattr(trace, "orientation", None) == "h" else "y"
        for letter in "xy":
            ref = getattr(trace, f"{letter}axis", None) or letter
            values = _numeric(getattr(trace, letter, None))
            used.setdefault(_axis_name(ref, letter), [])
            if stacked and letter == value_axis:
                continue  # a stacked segment's value is its height, not its position
            if values is not None and values.size:
                used[_axis_name(ref, letter)].append(values)
    for name, arrays in used.items():
        axis = full.layout[name]
        if axis is None or axis.visible is False:
            continue
        own = fig.layout[name]  # the full layout fills in placeholder titles ("Click to enter ... title")
        if axis.showticklabels is not False and not (own is not None and own.title and own.title.text):
            problems.append(f"{name} has tick labels but no title")
        if not arrays or axis.type not in ("linear", "log") or axis.range is None:
            continue
        data = np.concatenate(arrays)
        if axis.type == "log":
            data = np.log10(data[data > 0])
        if not data.size:
            continue
        lo, hi = sorted(float(r) for r in axis.range)
        width = hi - lo
        tol = 1e-6 * max(1.0, abs(lo), abs(hi))
        if data.min() < lo - tol or data.max() > hi + tol:
            problems.append(f"{name}: data {data.min():.4g}..{data.max():.4g} outside the range {lo:.4g}..{hi:.4g}")
        span = float(data.max() - data.min())
        chosen = fig.layout[name] is not None and fig.layout[name].range is not None  # a scale set on purpose
        if not chosen and span > 0 and math.isfinite(width) and width > 0 and span / width < MIN_SPAN_SHARE:
            problems.append(f"{name}: data {data.min():.4g}..{data.max():.4g} fills {span / width:.1%} of the "
                            f"range {lo:.4g}..{hi:.4g}")
    return problems
