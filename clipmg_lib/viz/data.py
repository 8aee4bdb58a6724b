"""Plotly figures of the dataset as a researcher first meets it: the long-tailed classes, clip lengths,
the subject split, and one clip's sampled frames with its skeleton drawn over them.

Each ``*_figure`` takes a clip index (``clipmg_lib.data.clip_index.build_clip_index``) or a sample dict
(``clipmg_lib.data.dataset.ClipDataset``) and returns a ``plotly.graph_objects.Figure``; save it with
:func:`clipmg_lib.viz.save.save_figure`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..data.clip_index import class_counts
from .pose import frames_with_skeletons_figure

SPLIT_COLOURS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
_SPLIT_ORDER = ("train", "val", "test")


def _splits(index: pd.DataFrame) -> list[str]:
    present = set(index["split"])
    return [s for s in _SPLIT_ORDER if s in present] + sorted(present - set(_SPLIT_ORDER))


def class_distribution_figure(index: pd.DataFrame, log_y: bool = True, title: str = "") -> go.Figure:
    """Clips per class, stacked by split, classes sorted by frequency (the long tail); log y by default."""
    counts = class_counts(index).sort_values("all", ascending=False)
    counts = counts[counts["all"] > 0]
    labels = [f"{lab}: {name}" for lab, name in zip(counts["label"], counts["name"])]
    fig = go.Figure()
    for split in _splits(index):
        fig.add_trace(go.Bar(x=labels, y=counts[split], name=split, marker_color=SPLIT_COLOURS.get(split)))
    n_missing = 32 - len(counts)
    fig.update_layout(
        barmode="stack", title=title or f"Clips per class ({len(index)} clips; {len(counts)} of 32 classes present"
                                        + (f", {n_missing} absent)" if n_missing else ")"),
        xaxis_title="MiGA label: class", yaxis_title="clips" + (" (log scale)" if log_y else ""),
        yaxis_type="log" if log_y else "linear", xaxis_tickangle=-45, height=520, margin=dict(b=220))
    return fig


def clip_length_figure(index: pd.DataFrame, fps: float = 25.0, title: str = "") -> go.Figure:
    """Histogram of clip lengths in frames (log-spaced bins), stacked by split, median marked.

    The bars are drawn on a linear axis of ``log10(frames)``, ticks labelled in frames: each bar spans its
    bin ``[edge_i, edge_i+1)`` exactly. (plotly's own log axis does not size bars by their bin: ``width``
    is not in decades there, and the axis range runs away.)
    """
    length = index["end_frame"] - index["start_frame"] + 1
    edges = np.unique(np.round(np.geomspace(max(1, length.min()), length.max() + 1, 40)).astype(int))
    log_edges = np.log10(edges)
    fig = go.Figure()
    for split in _splits(index):
        counts, _ = np.histogram(length[index["split"] == split], bins=edges)
        fig.add_trace(go.Bar(x=(log_edges[:-1] + log_edges[1:]) / 2, y=counts, width=np.diff(log_edges),
                             name=split, marker_color=SPLIT_COLOURS.get(split),
                             customdata=np.stack([edges[:-1], edges[1:] - 1], axis=1),
                             hovertemplate="%{customdata[0]}-%{customdata[1]} frames: %{y} clips"))
    median = float(np.median(length))
    fig.add_vline(x=np.log10(median), line_dash="dash",
                  annotation_text=f"median {median:.0f} frames ({median / fps:.1f} s)")
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
             if edges[0] <= t <= edges[-1]]
    fig.update_xaxes(range=[log_edges[0], log_edges[-1]], tickvals=np.log10(ticks), ticktext=[str(t) for t in ticks])
    fig.update_layout(barmode="stack", xaxis_title="clip length (frames, 25 fps; log scale)",
                      yaxis_title="clips", title=title or f"Clip lengths (mean {length.mean():.1f}, "
                                                         f"min {length.min()}, max {length.max()} frames)",
                      height=420)
    return fig


def subject_split_figure(index: pd.DataFrame, title: str = "") -> go.Figure:
    """Clips per subject coloured by split (cross-subject protocol); per video where subjects are unknown."""
    by = "subject" if (index["subject"] >= 0).all() else "video"
    table = index.groupby([by, "split"]).size().rename("clips").reset_index()
    order = index.groupby(by).size().sort_values(ascending=False).index
    fig = go.Figure()
    for split in _splits(index):
        part = table[table["split"] == split].set_index(by).reindex(order)
        fig.add_trace(go.Bar(x=[str(v) for v in order], y=part["clips"], name=split,
                             marker_color=SPLIT_COLOURS.get(split)))
    totals = index.groupby("split").agg(clips=("sample_id", "size"), n=(by, "nunique"))
    summary = ", ".join(f"{s} {totals.loc[s, 'clips']} clips / {totals.loc[s, 'n']} {by}s" for s in _splits(index))
    fig.update_layout(barmode="stack", xaxis_type="category", xaxis_title=f"{by} (sorted by clips)",
                      yaxis_title="clips", title=title or f"Clips per {by} and split: {summary}", height=420)
    return fig


def clip_frames_figure(sample: dict, cols: int = 4, title: str = "") -> go.Figure:
    """One sample's frames (``imgs`` (T, H, W, 3)) with its skeleton drawn over each, at ``frame_inds``.

    Reads ``imgs``, ``frame_inds``, ``keypoint``/``keypoint_score`` (the whole clip from ``clip_start``, or
    already cut to ``frame_inds`` when ``keypoint_clip_inds`` says so), ``img_shape`` (original pixels,
    scaled to the frames), ``layout``.
    """
    imgs = np.asarray(sample["imgs"])
    inds = np.asarray(sample["frame_inds"])
    kp, score = np.asarray(sample["keypoint"], np.float32), np.asarray(sample["keypoint_score"], np.float32)
    if "keypoint_clip_inds" not in sample:  # not yet cut by SelectFrames: rows are frames from clip_start
        rows = inds - int(sample["clip_start"])
        kp, score = kp[rows], score[rows]
    h0, w0 = sample["img_shape"]
    scale = np.array([imgs.shape[2] / w0, imgs.shape[1] / h0], dtype=np.float32)
    joints = np.concatenate([kp * scale, score[..., None]], axis=-1)
    titles = [f"frame {int(f)}" for f in inds]
    label = sample.get("label")
    head = title or f"{sample.get('sample_id', '')}: label {label}, {len(inds)} sampled frames with the skeleton"
    return frames_with_skeletons_figure(imgs, joints, sample["layout"], titles=titles, cols=cols, title=head)
