"""Temporal windows of a long video: the multi-scale sliding grid, training labels, and their frames.

A window is an inclusive frame range ``[start_frame, end_frame]`` (the clip index's convention). Tables
are DataFrames with at least ``start_frame, end_frame``; training tables add ``video`` and ``label``
(MiGA label 0..31, or :data:`BACKGROUND` = 32).

Frames of a window come from the video's **encoded grid** (every ``stride``-th frame, the frames the token
store encoded once): positions ``ceil(start / stride) .. floor(end / stride)``, sampled TSN-style
(:func:`clipmg_lib.data.frame_sampling.sample_frame_indices`: segment centres, or a random position per segment
for training); a window that holds no grid frame takes the grid frame nearest its centre.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.classes import NUM_CLASSES
from ..data.frame_sampling import sample_frame_indices
from ..eval.spotting_metrics import shared_frames, temporal_iou

#: The label of a window with no micro-gesture: one past the 32 MiGA labels.
BACKGROUND = NUM_CLASSES


def sliding_windows(num_frames: int, lengths: Sequence[int], hop: float) -> pd.DataFrame:
    """Every window of each length in ``lengths``, hop ``max(1, round(hop * length))``, inside
    ``0..num_frames-1``; the last window of each length ends at the last frame. Columns
    ``start_frame, end_frame, length``, sorted by start then length."""
    rows = []
    for length in sorted(set(int(x) for x in lengths)):
        length = min(length, int(num_frames))
        step = max(1, int(round(hop * length)))
        starts = np.arange(0, num_frames - length + 1, step)
        if starts.size == 0 or starts[-1] != num_frames - length:
            starts = np.append(starts, num_frames - length)
        rows.append(np.stack([starts, starts + length - 1, np.full_like(starts, length)], 1))
    table = pd.DataFrame(np.concatenate(rows), columns=["start_frame", "end_frame", "length"]).drop_duplicates()
    return table.sort_values(["start_frame", "length"], kind="stable").reset_index(drop=True)


def label_windows(windows: pd.DataFrame, clips: pd.DataFrame, positive_iou: float,
                  background_iou: float) -> pd.DataFrame:
    """``windows`` plus ``best_iou`` (highest tIoU with a clip of ``clips``: ``start_frame, end_frame, label``),
    ``clip`` (its row, -1 without any), ``inside`` (the largest share of the window's frames that one clip
    holds) and ``label``: the clip's label when ``best_iou >= positive_iou``, :data:`BACKGROUND` when
    ``inside < background_iou`` (then ``best_iou`` is below it too: background windows come from the gaps
    between clips, never from inside a clip longer than the window, nested or not), -1 (not trained on)
    otherwise."""
    out = windows.reset_index(drop=True).copy()
    if len(clips):
        w = out[["start_frame", "end_frame"]].to_numpy(np.int64)
        c = clips[["start_frame", "end_frame"]].to_numpy(np.int64)
        iou = temporal_iou(w, c)
        best = iou.max(1)
        clip = iou.argmax(1)
        inside = (shared_frames(w, c) / (w[:, 1:] - w[:, :1] + 1)).max(1)
    else:
        best, clip, inside = np.zeros(len(out)), np.full(len(out), -1), np.zeros(len(out))
    labels = np.full(len(out), -1, np.int64)
    labels[inside < background_iou] = BACKGROUND
    pos = best >= positive_iou
    labels[pos] = clips["label"].to_numpy(np.int64)[clip[pos]]
    return out.assign(best_iou=best, clip=np.where(best > 0, clip, -1), inside=inside, label=labels)


def training_windows(video: int, num_frames: int, clips: pd.DataFrame, lengths: Sequence[int], hop: float,
                     positive_iou: float, background_iou: float, background_ratio: float,
                     max_positives_per_clip: int, rng: np.random.Generator) -> pd.DataFrame:
    """The training windows of one video: each annotated clip of ``clips`` (``start_frame, end_frame, label``)
    with its label, up to ``max_positives_per_clip`` grid windows per clip with tIoU >= ``positive_iou``
    (the best-overlapping first), and ``round(background_ratio * positives)`` background windows drawn
    without replacement (fewer if the video has fewer). Columns ``video, start_frame, end_frame, label, kind``
    (``clip``, ``positive`` or ``background``)."""
    clips = clips.reset_index(drop=True)
    grid = label_windows(sliding_windows(num_frames, lengths, hop), clips, positive_iou, background_iou)
    parts = [clips[["start_frame", "end_frame", "label"]].assign(kind="clip")]
    pos = grid[(grid["label"] >= 0) & (grid["label"] != BACKGROUND)]
    pos = pos.sort_values("best_iou", ascending=False, kind="stable").groupby("clip").head(max_positives_per_clip)
    parts.append(pos[["start_frame", "end_frame", "label"]].assign(kind="positive"))
    bg = grid[grid["label"] == BACKGROUND]
    n_bg = min(len(bg), int(round(background_ratio * (len(clips) + len(pos)))))
    if n_bg:
        pick = np.sort(rng.choice(len(bg), n_bg, replace=False))
        parts.append(bg.iloc[pick][["start_frame", "end_frame", "label"]].assign(kind="background"))
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "video", int(video))
    return out.astype({"start_frame": np.int64, "end_frame": np.int64, "label": np.int64})


def window_grid_positions(start: int, end: int, num_frames: int, stride: int, num_encoded: int,
                          mode: str = "uniform", rng: np.random.Generator | None = None) -> np.ndarray:
    """Rows of the encoded grid (frame ``row * stride``) that window ``[start, end]`` samples:
    int64 (num_frames,), non-decreasing, in ``0..num_encoded-1`` (see the module docstring)."""
    lo = -(-int(start) // stride)
    hi = min(int(end) // stride, num_encoded - 1)
    if hi < lo:  # no grid frame inside: the one nearest the centre
        lo = hi = int(np.clip(round((start + end) / 2 / stride), 0, num_encoded - 1))
    return sample_frame_indices(lo, hi, num_frames, "random" if mode == "train" else "uniform", rng)
