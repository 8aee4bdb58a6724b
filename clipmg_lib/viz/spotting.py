"""Plotly figures of micro-gesture spotting: a video's timeline, metrics against tIoU, per-class recall and
the outcome of each ground-truth instance (see :mod:`clipmg_lib.eval.spotting_metrics`)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..data.classes import class_names

_PALETTE = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24


def _name(c: int, names: Sequence[str]) -> str:
    return names[c] if 0 <= c < len(names) else f"class {c}"


def stack_rows(spots: pd.DataFrame) -> np.ndarray:
    """Row of each spot (``start_frame``, ``end_frame`` inclusive) so that no two spots of a row share a frame:
    spots in order of start, each in the lowest row whose last spot ended before it starts (greedy interval
    colouring: as many rows as the most spots covering one frame). Shape (len(spots),), int; 0 = the lane itself."""
    order = np.lexsort((spots["end_frame"].to_numpy(), spots["start_frame"].to_numpy()))
    ends: list[int] = []
    out = np.zeros(len(spots), np.int64)
    for i in order:
        start, end = int(spots["start_frame"].iloc[i]), int(spots["end_frame"].iloc[i])
        free = next((r for r, e in enumerate(ends) if e < start), None)
        if free is None:
            free = len(ends)
            ends.append(end)
        ends[free] = end
        out[i] = free
    return out


def spot_timeline_figure(rows: Mapping[str, pd.DataFrame], video: int, fps: float = 25.0,
                         names: Sequence[str] | None = None, title: str | None = None,
                         seconds: tuple[float, float] | None = None) -> go.Figure:
    """One horizontal lane per entry of ``rows`` (e.g. ``{'ground truth': gt, 'predicted': spots}``), each
    spot of ``video`` a bar from its start to its end (inclusive; x in seconds), coloured by class; the hover
    shows class, frames and score. Spots that overlap in time (iMiGUE's clips do: nested and boundary overlaps)
    are stacked in extra rows of their lane (``"<lane> · overlap k"``, :func:`stack_rows`), so that none hides
    another. ``seconds``: the x range shown (default: all)."""
    names = list(names or class_names())
    fig = go.Figure()
    shown: set[int] = set()
    lanes = []
    for lane in rows:
        df = rows[lane]
        df = df[df["video"] == video]
        row = stack_rows(df)
        labels = [lane] + [f"{lane} · overlap {k}" for k in range(1, int(row.max(initial=0)) + 1)]
        lanes += labels
        df = df.assign(_lane=[labels[r] for r in row])
        for c, g in df.groupby("class"):
            c = int(c)
            score = g["score"].to_numpy() if "score" in g else np.full(len(g), np.nan)
            fig.add_trace(go.Bar(
                y=g["_lane"].tolist(), x=(g["end_frame"] - g["start_frame"] + 1) / fps, base=g["start_frame"] / fps,
                orientation="h", marker=dict(color=_PALETTE[c % len(_PALETTE)], line_width=0), opacity=0.6, name=_name(c, names),
                legendgroup=str(c), showlegend=c not in shown,
                customdata=np.stack([g["start_frame"], g["end_frame"], score], 1),
                hovertemplate=f"{_name(c, names)}<br>frames %{{customdata[0]}}-%{{customdata[1]}}"
                              "<br>score %{customdata[2]:.2f}<extra></extra>"))
            shown.add(c)
    # the legend goes under the plot with full class names (iMiGUE's longest has 50 characters): a legend at
    # the side would squeeze the timeline, and a cut name is ambiguous ("Touching or scratching facia...")
    plot_px, legend_rows = 45 * len(lanes) + 55, -(-len(shown) // 3)
    fig.update_layout(barmode="overlay", title=title or f"Video {video}: spots on the timeline",
                      xaxis_title="time (s)", yaxis=dict(title="lane", categoryorder="array",
                                                         categoryarray=lanes[::-1]),
                      height=100 + plot_px + 70 + 24 * legend_rows, bargap=0.3,
                      margin=dict(t=80, b=70 + 24 * legend_rows),
                      legend=dict(orientation="h", x=0, xanchor="left", y=-60 / plot_px, yanchor="top",
                                  font=dict(size=10)))
    if seconds is not None:
        fig.update_xaxes(range=list(seconds))
    return fig


def spotting_sweep_figure(reports: Mapping[str, pd.DataFrame], title: str = "Spotting F1 and mAP against tIoU") -> go.Figure:
    """Pooled F1 (solid) and mAP (dashed) against the tIoU threshold, one colour per method
    (``reports``: name -> :func:`~clipmg_lib.eval.spotting_metrics.spotting_report`)."""
    fig = go.Figure()
    for i, (name, rep) in enumerate(reports.items()):
        color = px.colors.qualitative.Plotly[i % 10]
        fig.add_trace(go.Scatter(x=rep["tiou"], y=rep["f1"], mode="lines+markers", name=f"{name}: F1",
                                 line=dict(color=color)))
        fig.add_trace(go.Scatter(x=rep["tiou"], y=rep["map"], mode="lines+markers", name=f"{name}: mAP",
                                 line=dict(color=color, dash="dash")))
    fig.add_vline(x=0.3, line_dash="dot", line_color="grey", annotation_text="MiGA tIoU 0.3")
    fig.update_layout(title=title, xaxis_title="tIoU threshold", yaxis_title="score", yaxis_range=[0, 1])
    return fig


def per_class_recall_figure(table: pd.DataFrame, names: Sequence[str] | None = None,
                            title: str = "Recall per class at tIoU 0.3") -> go.Figure:
    """Bars of recall per ground-truth class (``table`` from ``per_class_recall``), labelled with counts."""
    names = list(names or class_names())
    t = table.sort_values("instances", ascending=False)
    labels = [f"{_name(int(c), names)[:30]} ({n})" for c, n in zip(t["class"], t["instances"])]
    fig = go.Figure(go.Bar(x=labels, y=t["recall"], text=[f"{m}/{n}" for m, n in zip(t["matched"], t["instances"])],
                           textposition="outside"))
    fig.update_layout(title=title, yaxis_title="recall", yaxis_range=[0, 1.1], xaxis_title="class (test instances)",
                      xaxis_tickangle=-40, height=520)
    return fig


def outcomes_figure(outcomes: pd.DataFrame, bins: Sequence[int] = (0, 24, 40, 64, 100, 10_000),
                    title: str = "What happened to each ground-truth instance, by its length") -> go.Figure:
    """Stacked counts of each outcome per ground-truth length bin (frames).

    ``outcomes``: one row per ground-truth instance with ``start_frame``, ``end_frame`` and ``outcome``
    (:func:`clipmg_lib.eval.spotting_metrics.ground_truth_outcomes`); the outcomes stack in the order of the
    column's categories when it is categorical (every category shown, zeros included), else sorted.
    """
    column = outcomes["outcome"]
    order = list(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype) else sorted(column.unique())
    length = outcomes["end_frame"] - outcomes["start_frame"] + 1
    edges = list(bins)
    labels = [f"{a + 1}-{b}" if b < 10_000 else f">{a}" for a, b in zip(edges[:-1], edges[1:])]
    binned = pd.cut(length, edges, labels=labels)
    counts = pd.crosstab(binned, column.astype(str)).reindex(columns=order, fill_value=0)
    fig = go.Figure()
    for o in order:
        fig.add_trace(go.Bar(x=[str(x) for x in counts.index], y=counts[o], name=o))
    fig.update_layout(barmode="stack", title=title, xaxis_title="ground-truth length (frames)",
                      yaxis_title="instances")
    return fig
