"""Plotly figures of training and evaluation results.

Every ``*_figure`` function takes plain arrays / DataFrames and returns a ``plotly.graph_objects.Figure``;
save it with :func:`clipmg_lib.viz.save.save_figure`.

Figures: training curves; confusion matrix; per-class accuracy vs training frequency (the long tail);
attention of the predicted class's query over frames and patches, for right and wrong predictions;
gate values per class (does the model trust RGB or pose?); a 2-D PCA projection of the fused embeddings.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..data.classes import class_names

def _short(names: Sequence[str], width: int = 28) -> list[str]:
    return [n if len(n) <= width else n[: width - 1] + "\u2026" for n in names]


# --------------------------------------------------------------------------- training
def training_curves_figure(history: pd.DataFrame, title: str = "Training curves") -> go.Figure:
    """Loss (train/val), accuracies (train Top-1, val Top-1/Top-5/mean class acc.) and learning rate per epoch.

    ``history``: the trainer's metrics table (columns ``epoch``, ``train_loss``, ``train_top1``, ``lr`` and,
    with validation, ``val_loss``, ``val_top1``, ``val_top5``, ``val_mean_class_acc``).
    """
    fig = make_subplots(rows=1, cols=3, subplot_titles=("loss", "accuracy", "learning rate"))
    epoch = history["epoch"]
    for col, name in (("train_loss", "train"), ("val_loss", "val")):
        if col in history:
            fig.add_trace(go.Scatter(x=epoch, y=history[col], mode="lines+markers", name=f"{name} loss"), 1, 1)
    for col, name in (("train_top1", "train Top-1"), ("val_top1", "val Top-1"), ("val_top5", "val Top-5"),
                      ("val_mean_class_acc", "val mean class acc.")):
        if col in history:
            fig.add_trace(go.Scatter(x=epoch, y=history[col], mode="lines+markers", name=name), 1, 2)
    if "lr" in history:
        fig.add_trace(go.Scatter(x=epoch, y=history["lr"], mode="lines+markers", name="lr (end of epoch)"), 1, 3)
    fig.update_xaxes(title_text="epoch")
    for col, name in ((1, "loss"), (2, "accuracy"), (3, "learning rate")):
        fig.update_yaxes(title_text=name, row=1, col=col)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    fig.update_layout(title=title, height=380, width=1150)
    return fig


def runs_comparison_figure(histories: dict[str, pd.DataFrame], metric: str = "val_top1",
                           title: str | None = None) -> go.Figure:
    """One line per run (e.g. per ablation) of ``metric`` against epoch."""
    fig = go.Figure()
    for name, h in histories.items():
        if metric in h:
            fig.add_trace(go.Scatter(x=h["epoch"], y=h[metric], mode="lines+markers", name=name))
    fig.update_layout(title=title or f"{metric} per epoch", xaxis_title="epoch", yaxis_title=metric,
                      height=400, width=800)
    return fig


# --------------------------------------------------------------------------- confusion / per class
def confusion_matrix_figure(cm: np.ndarray, names: Sequence[str] | None = None, normalize: bool = True,
                            only_present: bool = True, title: str = "Confusion matrix") -> go.Figure:
    """Heatmap of a (C, C) count matrix (rows: true class, columns: predicted class).

    ``normalize`` shows each row as fractions of its clips (recall on the diagonal); counts stay in the
    hover text. ``only_present`` keeps the classes that occur as a label or a prediction.
    """
    cm = np.asarray(cm)
    names = list(names) if names is not None else class_names()[: cm.shape[0]]
    keep = np.arange(cm.shape[0])
    if only_present:
        keep = np.flatnonzero((cm.sum(0) + cm.sum(1)) > 0)
    sub = cm[np.ix_(keep, keep)]
    rows = sub.sum(axis=1, keepdims=True)
    z = np.divide(sub, np.maximum(rows, 1)) if normalize else sub
    labels = [f"{k}: {n}" for k, n in zip(keep, _short([names[i] for i in keep]))]
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, colorscale="Blues", customdata=sub,
                               hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata} clips (%{z:.2f})"
                                             "<extra></extra>", zmin=0, zmax=1 if normalize else None))
    side = max(450, 22 * len(keep) + 250)
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true", width=side + 100, height=side,
                      yaxis_autorange="reversed")
    return fig


def per_class_accuracy_figure(table: pd.DataFrame, title: str = "Per-class Top-1 vs training clips") -> go.Figure:
    """Scatter of each class's Top-1 recall against its number of training clips (log x), marker size =
    evaluation support. ``table``: :func:`clipmg_lib.eval.metrics.per_class_table` with ``train_count``."""
    t = table[table["support"] > 0]
    if "train_count" not in t:
        raise ValueError("per_class_accuracy_figure needs a 'train_count' column (per_class_table(train_counts=...))")
    size = 8 + 30 * np.sqrt(t["support"] / max(t["support"].max(), 1))
    fig = go.Figure(go.Scatter(
        x=np.maximum(t["train_count"], 0.8), y=t["top1"], mode="markers+text", text=t["label"].astype(str),
        textposition="top center", marker=dict(size=size, color=t["top5"], colorscale="Viridis", cmin=0, cmax=1,
                                               colorbar=dict(title="Top-5")),
        customdata=np.stack([t["name"], t["support"], t["train_count"]], axis=1),
        hovertemplate="%{customdata[0]}<br>Top-1 %{y:.2f}<br>%{customdata[1]} eval clips, "
                      "%{customdata[2]} train clips<extra></extra>"))
    fig.update_layout(title=title, xaxis_type="log", xaxis_title="training clips of the class (log)",
                      yaxis_title="Top-1 recall", yaxis_range=[-0.05, 1.05], height=450, width=800)
    return fig


# --------------------------------------------------------------------------- attention
def attention_over_frames(attn: np.ndarray, num_frames: int, query: int | None = None,
                          grid: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduce one clip's attention ``(heads, Q, T*N)`` (token 0 of each frame = CLS) to what can be shown.

    ``query``: the query to show (e.g. the predicted class's query when queries are one per class); None
    averages all queries. Heads are averaged. Returns ``frame_mass`` (T,) (attention per frame, sums to 1),
    ``cls_mass`` (T,) (the part on each frame's CLS token) and ``patch_maps`` (T, gh, gw) (attention on the
    patch grid, each frame's map in the same units as ``frame_mass``).
    """
    attn = np.asarray(attn, dtype=np.float64)
    if attn.ndim != 3:
        raise ValueError(f"attention must be (heads, Q, T*N) for one clip, got shape {attn.shape}")
    heads, q, length = attn.shape
    if length % num_frames:
        raise ValueError(f"attention length {length} is not a multiple of num_frames {num_frames}")
    n = length // num_frames
    a = attn.mean(axis=0)
    a = a[query] if query is not None else a.mean(axis=0)
    a = a.reshape(num_frames, n)
    a = a / max(a.sum(), 1e-12)
    patches = n - 1
    if grid is None:
        side = int(round(math.sqrt(patches)))
        if side * side != patches:
            raise ValueError(f"{patches} patch tokens per frame are not a square grid; pass grid=(gh, gw)")
        grid = (side, side)
    return a.sum(axis=1), a[:, 0], a[:, 1:].reshape(num_frames, *grid)


def attention_examples_figure(examples: Sequence[dict], title: str = "Where the class query looks") -> go.Figure:
    """Frames of a few clips with the attention over their patches overlaid, one row per clip.

    Each example: ``frames`` uint8 (T, S, S, 3) (what the backbone saw), ``patch_maps`` (T, gh, gw) and
    ``frame_mass`` (T,) from :func:`attention_over_frames`, ``title`` (e.g. "true X / predicted Y").
    The colour scale is shared per row; each frame's subtitle gives its share of the attention.
    """
    if not examples:
        raise ValueError("attention_examples_figure needs at least one example")
    t = len(examples[0]["frames"])
    titles = [f"t={i}: {m:.0%}" for ex in examples for i, m in enumerate(ex["frame_mass"])]
    row_height, header = 185, 90
    fig = make_subplots(rows=len(examples), cols=t, subplot_titles=titles, horizontal_spacing=0.005,
                        vertical_spacing=0.1)
    for r, ex in enumerate(examples, start=1):
        frames = np.asarray(ex["frames"])
        maps = np.asarray(ex["patch_maps"])
        s = frames.shape[1]
        gh, gw = maps.shape[1:]
        zmax = float(maps.max()) or 1.0
        for c in range(t):
            fig.add_trace(go.Image(z=frames[c], hoverinfo="skip"), r, c + 1)
            fig.add_trace(go.Heatmap(z=maps[c], x0=(s / gw) / 2, dx=s / gw, y0=(s / gh) / 2, dy=s / gh,
                                     zmin=0, zmax=zmax, opacity=0.45, colorscale="Hot", showscale=False,
                                     hovertemplate="attention %{z:.4f}<extra></extra>"), r, c + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_annotations(font_size=10)
    for r, ex in enumerate(examples, start=1):  # the clip's own title: left-aligned above its row, never clipped
        top = fig.get_subplot(r, 1).yaxis.domain[1]
        fig.add_annotation(text=ex.get("title", ""), xref="paper", yref="paper", x=0, y=top, xanchor="left",
                           yanchor="bottom", yshift=16, showarrow=False, font_size=12)
    fig.update_layout(title=title, height=row_height * len(examples) + header, width=130 * t + 60,
                      margin=dict(l=10, r=10, t=header, b=10))
    return fig


def frame_attention_figure(frame_mass: dict[str, np.ndarray], title: str = "Attention per frame") -> go.Figure:
    """Bar groups: the share of attention each frame receives, one group per named clip/category."""
    fig = go.Figure()
    for name, mass in frame_mass.items():
        fig.add_trace(go.Bar(x=np.arange(len(mass)), y=mass, name=name))
    fig.update_layout(title=title, xaxis_title="sampled frame", yaxis_title="share of attention", barmode="group",
                      height=350, width=700)
    return fig


# --------------------------------------------------------------------------- gate / embeddings
def gate_by_class_figure(gates: np.ndarray, labels: np.ndarray, names: Sequence[str] | None = None,
                         title: str = "Fusion gate per class (1 = RGB, 0 = pose)") -> go.Figure:
    """Box plot per true class of each clip's mean gate value ``mean_d g_d`` (g from ``h = g*v + (1-g)*p``)."""
    gates = np.asarray(gates, dtype=np.float64)
    labels = np.asarray(labels)
    names = list(names) if names is not None else class_names()
    per_clip = gates.mean(axis=1)
    fig = go.Figure()
    for c in np.unique(labels):
        fig.add_trace(go.Box(y=per_clip[labels == c], name=f"{c}: {_short([names[c]], 22)[0]}", boxmean=True,
                             showlegend=False))
    fig.add_hline(y=0.5, line_dash="dot", annotation_text="even mix")
    fig.update_layout(title=title, xaxis_title="true class", yaxis_title="mean gate over channels", height=450,
                      width=max(600, 45 * len(np.unique(labels)) + 200))
    return fig


def pca_2d(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project (N, D) features on their first two principal components (``torch.pca_lowrank``, centred).

    Returns ``coords`` (N, 2) and the fraction of variance each component explains (2,).
    """
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"PCA needs (N >= 3, D) features, got shape {tuple(x.shape)}")
    x = x - x.mean(dim=0, keepdim=True)
    q = min(6, *x.shape)
    torch.manual_seed(0)  # pca_lowrank's random projection
    _, s, v = torch.pca_lowrank(x, q=q, center=False, niter=4)
    coords = x @ v[:, :2]
    total = float((x ** 2).sum())
    explained = (s[:2] ** 2 / max(total, 1e-12)).numpy()
    return coords.numpy(), explained


def embedding_projection_figure(features: np.ndarray, labels: np.ndarray, predicted: np.ndarray | None = None,
                                names: Sequence[str] | None = None,
                                title: str = "Fused embeddings (PCA)") -> go.Figure:
    """2-D PCA scatter of per-clip features, coloured by true class; wrong predictions drawn as crosses."""
    coords, explained = pca_2d(features)
    labels = np.asarray(labels)
    names = list(names) if names is not None else class_names()
    correct = np.ones(len(labels), bool) if predicted is None else np.asarray(predicted) == labels
    fig = go.Figure()
    for c in np.unique(labels):
        m = labels == c
        fig.add_trace(go.Scatter(
            x=coords[m, 0], y=coords[m, 1], mode="markers", name=f"{c}: {_short([names[c]], 24)[0]}",
            marker=dict(symbol=np.where(correct[m], "circle", "x"), size=7, opacity=0.8),
            hovertemplate=f"{names[c]}<br>%{{text}}<extra></extra>",
            text=np.where(correct[m], "correct", "wrong")))
    fig.update_layout(title=f"{title}: PC1 {explained[0]:.0%}, PC2 {explained[1]:.0%} of variance "
                            "(x = wrong prediction)", xaxis_title="PC1", yaxis_title="PC2", height=550, width=850)
    return fig


# --------------------------------------------------------------------------- ablations
def ablation_bar_figure(table: pd.DataFrame, title: str = "Ablations") -> go.Figure:
    """Grouped bars of Top-1, Top-5 and mean class accuracy per variant (``table`` from the ablation runner)."""
    fig = go.Figure()
    for col, name in (("top1", "Top-1"), ("top5", "Top-5"), ("mean_class_acc", "mean class acc.")):
        if col in table:
            fig.add_trace(go.Bar(x=table["variant"], y=table[col], name=name,
                                 text=[f"{v:.1%}" for v in table[col]], textposition="outside"))
    fig.update_layout(title=title, barmode="group", yaxis_range=[0, 1.05], xaxis_title="variant",
                      yaxis_title="accuracy", height=450, width=900)
    return fig
