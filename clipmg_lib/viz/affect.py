"""Plotly figures of notebook 10: emotion per video, accuracy per test subject, calibration.
Save them with :func:`clipmg_lib.viz.save.save_figure`."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def per_subject_figure(table: pd.DataFrame, title: str = "Top-1 per test subject (95% bootstrap interval)") -> go.Figure:
    """Dots with bootstrap intervals, one row per subject in ``table``'s order
    (:func:`clipmg_lib.eval.per_subject.per_subject_accuracy`), the clip count written beside each."""
    labels = [f"subject {s} ({c} clips)" for s, c in zip(table["subject"], table["clips"])]
    fig = go.Figure(go.Scatter(
        x=table["top1"], y=labels, mode="markers",
        marker=dict(size=np.clip(4 + 2 * np.sqrt(table["clips"]), 6, 22), color="#1f77b4"),
        error_x=dict(type="data", symmetric=False, array=table["high"] - table["top1"],
                     arrayminus=table["top1"] - table["low"], thickness=1.5),
        hovertemplate="%{y}<br>Top-1 %{x:.1%}<extra></extra>"))
    pooled = float(np.average(table["top1"], weights=table["clips"]))
    fig.add_vline(x=pooled, line_dash="dash", line_color="gray",
                  annotation_text=f"all clips {pooled:.1%}", annotation_position="top")
    fig.update_layout(title=title, xaxis=dict(title="Top-1", range=[-0.02, 1.02], tickformat=".0%"),
                      yaxis_title="test subject", height=max(300, 60 + 28 * len(table)), width=760, margin=dict(l=190))
    return fig


def subject_spread_figure(matrix: pd.DataFrame, title: str = "Top-1 per test subject, full model vs ablations"
                          ) -> go.Figure:
    """One column of dots per model (``matrix``: subjects x models, from
    :func:`clipmg_lib.eval.per_subject.per_subject_matrix`), lines joining a subject's dots, and a box per model."""
    fig = go.Figure()
    models = list(matrix.columns)
    for subject, row in matrix.iterrows():
        fig.add_trace(go.Scatter(x=models, y=row.to_numpy(), mode="lines", line=dict(color="rgba(120,120,120,0.35)",
                                 width=1), hoverinfo="skip", showlegend=False))
    for m in models:
        fig.add_trace(go.Box(x=[m] * len(matrix), y=matrix[m], name=m, boxpoints="all", pointpos=0, jitter=0,
                             marker_size=6, showlegend=False, text=[f"subject {s}" for s in matrix.index],
                             hovertemplate="%{text}: %{y:.1%}<extra></extra>"))
    fig.update_layout(title=title, yaxis=dict(title="Top-1 of the subject", range=[-0.02, 1.02], tickformat=".0%"),
                      xaxis_title="model", height=450, width=900)
    return fig


def reliability_figure(bins: dict[str, tuple[pd.DataFrame, pd.DataFrame]], ece: dict[str, tuple[float, float]] | None = None,
                       title: str = "Reliability on test: before and after temperature scaling") -> go.Figure:
    """One panel per model: accuracy against mean confidence per bin, before (temperature 1) and after scaling,
    the diagonal for perfect calibration. ``bins``: ``{model: (bins before, bins after)}`` from
    :func:`clipmg_lib.eval.calibration.reliability_bins`; ``ece``: ``{model: (before, after)}`` for the titles."""
    names = list(bins)
    cols = min(4, len(names))
    rows = int(np.ceil(len(names) / cols))
    subtitles = [f"{n}<br>ECE {ece[n][0]:.3f} -> {ece[n][1]:.3f}" if ece else n for n in names]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=subtitles, horizontal_spacing=0.06, vertical_spacing=0.16)
    for i, name in enumerate(names):
        r, c = i // cols + 1, i % cols + 1
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="lightgray", dash="dot"),
                                 showlegend=False, hoverinfo="skip"), r, c)
        for j, (label, color) in enumerate((("before", "#d62728"), ("after (temperature)", "#1f77b4"))):
            b = bins[name][j]
            b = b[b["count"] > 0]
            fig.add_trace(go.Scatter(x=b["confidence"], y=b["accuracy"], mode="lines+markers", name=label,
                                     legendgroup=label, showlegend=i == 0, line=dict(color=color),
                                     marker=dict(size=np.clip(3 + np.sqrt(b["count"]), 4, 16)),
                                     text=[f"{n} clips" for n in b["count"]],
                                     hovertemplate="confidence %{x:.2f}<br>accuracy %{y:.2f}<br>%{text}<extra></extra>"),
                          r, c)
        fig.update_xaxes(range=[0, 1], title_text="confidence", row=r, col=c)
        fig.update_yaxes(range=[0, 1], title_text="accuracy", row=r, col=c)
    fig.update_layout(title=title, height=300 * rows + 120, width=1100,
                      legend=dict(orientation="h", y=-0.08 if rows > 1 else -0.2))
    fig.update_annotations(font_size=11)
    return fig


def emotion_figure(results: dict[str, pd.DataFrame], title: str = "P(Lose) per test video") -> go.Figure:
    """One row of dots per experiment (``{name: EmotionResult.predictions}``): each test video's P(Lose),
    coloured by its true emotion, with the 0.5 decision line."""
    fig = go.Figure()
    colors = {"Win": "#2ca02c", "Lose": "#d62728"}
    for emotion in ("Win", "Lose"):
        xs, ys, texts = [], [], []
        for name, pred in results.items():
            part = pred[pred["emotion"] == emotion]
            xs += part["p_lose"].tolist()
            ys += [name] * len(part)
            texts += [f"video {v}, subject {s}, {n} clips" for v, s, n in zip(part["video"], part["subject"], part["n_clips"])]
        fig.add_trace(go.Box(x=xs, y=ys, name=f"true {emotion}", orientation="h", boxpoints="all", jitter=0.5,
                             pointpos=0, fillcolor="rgba(0,0,0,0)", line_color="rgba(0,0,0,0)",
                             marker=dict(color=colors[emotion], size=7, opacity=0.7), text=texts,
                             hovertemplate="%{text}<br>P(Lose) %{x:.2f}<extra></extra>"))
    fig.add_vline(x=0.5, line_dash="dash", line_color="gray")
    fig.update_layout(title=title, boxmode="group", xaxis=dict(title="P(Lose)", range=[0, 1]),
                      yaxis_title="experiment",
                      height=160 + 90 * len(results), width=850, margin=dict(l=170))
    return fig
