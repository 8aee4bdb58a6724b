"""From window probabilities to spots: score threshold, then class-wise temporal NMS.

Each window gets its most probable micro-gesture class ``c`` (background excluded) with score ``p(c)``; a
window with ``p(c) < min_score`` is dropped. Within each (video, class), candidates are kept greedily by
descending score, and one whose tIoU with a kept spot exceeds ``nms_iou`` is suppressed (the 1-D version of
detection NMS, as in BMN/ActionFormer post-processing without Soft-NMS).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..eval.spotting_metrics import SPOT_COLUMNS, temporal_iou


def window_candidates(windows: pd.DataFrame, probs: np.ndarray, background_index: int,
                      min_score: float) -> pd.DataFrame:
    """``windows`` (``video, start_frame, end_frame``) and ``probs`` (N, K) softmax -> candidate spots
    (:data:`~clipmg_lib.eval.spotting_metrics.SPOT_COLUMNS`) with ``score >= min_score``."""
    probs = np.asarray(probs, np.float64)
    fg = np.delete(probs, background_index, axis=1)
    cls = fg.argmax(1)
    cls = np.where(cls >= background_index, cls + 1, cls)  # back to label numbering
    score = fg.max(1)
    out = windows[["video", "start_frame", "end_frame"]].reset_index(drop=True).assign(
        **{"class": cls.astype(np.int64), "score": score})
    return out[out["score"] >= min_score].reset_index(drop=True)[list(SPOT_COLUMNS)]


def temporal_nms(spots: pd.DataFrame, iou_threshold: float) -> pd.DataFrame:
    """Class-wise greedy NMS (see the module docstring); returns the kept spots sorted by video, start."""
    kept = []
    for _, group in spots.groupby(["video", "class"], sort=False):
        g = group.sort_values("score", ascending=False, kind="stable")
        iv = g[["start_frame", "end_frame"]].to_numpy()
        iou = temporal_iou(iv, iv)
        alive = np.ones(len(g), bool)
        for i in range(len(g)):
            if alive[i]:
                alive[i + 1:] &= ~(iou[i, i + 1:] > iou_threshold)
        kept.append(g[alive])
    if not kept:
        return spots.iloc[:0].reset_index(drop=True)
    return pd.concat(kept).sort_values(["video", "start_frame", "end_frame"], kind="stable").reset_index(drop=True)
