"""Plotly figures of the model's internals (notebooks 03-05): class-text similarity, predictions,
pose-guided queries, fusion gates. Save them with :func:`clipmg_lib.viz.save.save_figure`."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..data.classes import class_names


def _short(names: Sequence[str], width: int = 30) -> list[str]:
    return [n if len(n) <= width else n[: width - 1] + "…" for n in names]


def _as_np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def cosine_matrix(a, b=None) -> np.ndarray:
    """Cosine similarity of the rows of ``a`` (N, D) with the rows of ``b`` (M, D) (default ``a``): (N, M)."""
    a = _as_np(a).astype(np.float64)
    b = a if b is None else _as_np(b).astype(np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def class_similarity_figure(class_text, names: Sequence[str] | None = None,
                            title: str = "Cosine similarity of the class prompt embeddings") -> go.Figure:
    """(K, K) heatmap of the cosine similarity between class embeddings ``class_text`` (K, D)."""
    sim = cosine_matrix(class_text)
    labels = [f"{i}: {n}" for i, n in enumerate(_short(names or class_names()))]
    fig = go.Figure(go.Heatmap(z=sim, x=labels, y=labels, colorscale="RdBu_r", zmid=float(np.median(sim)),
                               hovertemplate="%{y}<br>%{x}<br>cos %{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, height=760, width=860, yaxis=dict(autorange="reversed"),
                      xaxis=dict(tickangle=-60, tickfont_size=9), margin=dict(l=230, b=230),
                      xaxis_title="class", yaxis_title="class")
    fig.update_yaxes(tickfont_size=9)
    return fig


def top_predictions_figure(logits, labels, sample_ids: Sequence[str], k: int = 5,
                           names: Sequence[str] | None = None, title: str = "Top-5 predictions") -> go.Figure:
    """One small horizontal bar chart per clip: the ``k`` most probable classes, the true one in green."""
    logits = _as_np(logits).astype(np.float64)
    labels = _as_np(labels).astype(int)
    names = list(names or class_names())
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    n = len(labels)
    fig = make_subplots(rows=n, cols=1, subplot_titles=[f"{sid} (true: {names[y]})" for sid, y in zip(sample_ids, labels)],
                        vertical_spacing=0.3 / max(n, 1), shared_xaxes=True)
    for r in range(n):
        top = np.argsort(-probs[r])[:k][::-1]
        fig.add_trace(go.Bar(x=probs[r, top], y=_short([names[c] for c in top], 34), orientation="h",
                             marker_color=["seagreen" if c == labels[r] else "steelblue" for c in top],
                             showlegend=False), r + 1, 1)
    fig.update_xaxes(title_text="probability", row=n, col=1)  # one shared probability axis, labelled at the bottom
    fig.update_yaxes(title_text="class")
    fig.update_layout(title=title, height=170 * n + 80, width=640, margin=dict(l=240))
    return fig


def query_shift_figure(base_queries, guided_queries, names: Sequence[str] | None = None,
                       title: str = "How much pose moves each class query") -> go.Figure:
    """Per clip (rows) and class query (columns): ``|| Q_guided - Q_base || / || Q_base ||``.

    ``base_queries`` (Q, d) are the semantic queries before pose guidance; ``guided_queries`` (B, Q, d).
    """
    base = _as_np(base_queries).astype(np.float64)
    guided = _as_np(guided_queries).astype(np.float64)
    shift = np.linalg.norm(guided - base[None], axis=-1) / np.maximum(np.linalg.norm(base, axis=-1), 1e-12)[None]
    names = list(names or class_names())
    cols = [f"{i}: {n}" for i, n in enumerate(_short(names[: shift.shape[1]], 24))] + \
        [f"learnable {j}" for j in range(shift.shape[1] - min(len(names), shift.shape[1]))]
    fig = go.Figure(go.Heatmap(z=shift, x=cols, y=[f"clip {i}" for i in range(len(shift))], colorscale="Viridis",
                               colorbar=dict(title="relative shift"),
                               hovertemplate="%{y} / %{x}<br>%{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, height=max(300, 24 * len(shift) + 260), width=900,
                      xaxis=dict(tickangle=-60, tickfont_size=9), margin=dict(b=220),
                      xaxis_title="class query", yaxis_title="clip")
    return fig


def gate_histogram_figure(gate, title: str = "Fusion gate values g (1 = RGB, 0 = pose)") -> go.Figure:
    """Histogram of all gate entries (B, d) plus each clip's mean gate."""
    g = _as_np(gate).astype(np.float64)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["every channel of every clip", "mean over channels, per clip"])
    fig.add_trace(go.Histogram(x=g.ravel(), nbinsx=40, showlegend=False), 1, 1)
    fig.add_trace(go.Histogram(x=g.mean(1), nbinsx=20, showlegend=False), 1, 2)
    for c, counted in ((1, "channels"), (2, "clips")):
        fig.update_xaxes(range=[0, 1], title_text="g", row=1, col=c)
        fig.update_yaxes(title_text=counted, row=1, col=c)
    fig.update_layout(title=title, height=340, width=820)
    return fig
