"""Scoring micro-gesture spotting in untrimmed video: MiGA-style F1 and temporal-detection mAP.

A *spot* is one row ``video, start_frame, end_frame, class, score``; ground truth has the same columns
without ``score``. Both travel as plain CSV (:func:`read_spots_csv`, :func:`write_spots_csv`), so another
team's predictions can be scored by the same code.

Conventions (written down because scorers differ on each):

- **Intervals are inclusive frame ranges**, 0-based: ``[start_frame, end_frame]`` holds
  ``end_frame - start_frame + 1`` frames (as in the clip index). The temporal IoU of two spots is
  ``|A ∩ B| / |A ∪ B|`` counted in frames: ``(min(e) - max(s) + 1) / (max(e) - min(s) + 1)`` when they
  overlap, 0 otherwise. Two spots sharing a single frame overlap.
- **A prediction counts (true positive) when its class equals the ground truth's and its tIoU with it
  exceeds the threshold** (strictly: ``tiou > threshold``, as the MiGA track states it).
- **Matching is one to one, greedy by score**: within each (video, class), predictions are taken in
  descending score (ties: file order); each takes the still unmatched ground-truth instance of highest tIoU
  (ties: the earlier instance) if that tIoU exceeds the threshold. A ground-truth instance is matched at
  most once, so a duplicate prediction is a false positive. (The organisers' reference scorer,
  mikecheninoulu/SMG ``THDutils.py``, discards the result of its ``numpy.delete``, so there one prediction
  may match several ground-truth instances; :func:`f1_scores` does not.) The same matching feeds F1 and AP,
  as ActivityNet's and THUMOS'14's detection scorers do.
- **F1** is reported pooled (micro: TP, FP, FN summed over all videos, then F1) and as the mean of per-video
  F1 over the videos that have ground truth or predictions (a video with predictions and no ground truth
  scores 0).
- **AP** per class is the area under the interpolated precision-recall curve (ActivityNet's
  ``interpolated_prec_rec``: precision made monotone from the right, summed over recall steps), ranking
  every prediction of the class across videos by score; **mAP** averages it over the classes that have
  ground truth. Predictions of classes absent from the ground truth count in F1 (as false positives) but
  have no AP.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_path

SPOT_COLUMNS = ("video", "start_frame", "end_frame", "class", "score")
GT_COLUMNS = SPOT_COLUMNS[:4]
#: The tIoU thresholds of the sweep: 0.1, 0.2, ..., 0.7.
DEFAULT_TIOUS = tuple(round(0.1 * k, 1) for k in range(1, 8))
MIGA_TIOU = 0.3


class SpotsFileError(ValueError):
    """A spots CSV (predictions or ground truth) that cannot be scored; the message names file and problem."""


# ------------------------------------------------------------------------------------------ tables and CSV

def check_spots(df: pd.DataFrame, with_score: bool = True, source: str = "spots") -> pd.DataFrame:
    """Validate and normalise a spots table: the columns of :data:`SPOT_COLUMNS` (without ``score`` when
    ``with_score`` is False), integer video/frames/class, ``0 <= start_frame <= end_frame``, finite scores.
    Returns a copy with exactly those columns, index reset; raises :class:`SpotsFileError` naming ``source``."""
    cols = list(SPOT_COLUMNS if with_score else GT_COLUMNS)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SpotsFileError(f"{source}: missing column(s) {missing}; expected {cols} (found {list(df.columns)})")
    out = df[cols].copy().reset_index(drop=True)
    for c in cols[:4]:
        values = pd.to_numeric(out[c], errors="coerce")
        bad = values.isna() | (values != np.round(values))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SpotsFileError(f"{source}: column {c!r} must hold integers; row {row} has {df[c].iloc[row]!r}")
        out[c] = values.astype(np.int64)
    if with_score:
        score = pd.to_numeric(out["score"], errors="coerce")
        if (score.isna() | ~np.isfinite(score.fillna(0))).any():
            row = int(np.flatnonzero((score.isna() | ~np.isfinite(score.fillna(0))).to_numpy())[0])
            raise SpotsFileError(f"{source}: column 'score' must hold finite numbers; row {row} has "
                                 f"{df['score'].iloc[row]!r}")
        out["score"] = score.astype(np.float64)
    bad = (out["start_frame"] < 0) | (out["end_frame"] < out["start_frame"])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise SpotsFileError(f"{source}: row {row} has start_frame={out['start_frame'][row]}, "
                             f"end_frame={out['end_frame'][row]}; need 0 <= start_frame <= end_frame (inclusive)")
    return out


def read_spots_csv(path: str | os.PathLike, with_score: bool = True) -> pd.DataFrame:
    """Read a spots CSV (``video,start_frame,end_frame,class[,score]``; extra columns are ignored)."""
    path = Path(path)
    if not path.is_file():
        raise SpotsFileError(f"{path}: no such file")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise SpotsFileError(f"{path}: not a readable CSV ({e})") from e
    return check_spots(df, with_score, source=str(path))


def write_spots_csv(spots: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write spots (with ``score``) or ground truth (without) as CSV, atomically; returns the path."""
    with_score = "score" in spots.columns
    df = check_spots(spots, with_score, source="spots to write")
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path


def ground_truth_from_index(index: pd.DataFrame) -> pd.DataFrame:
    """Ground-truth spots from a clip index (:func:`clipmg_lib.data.clip_index.build_clip_index`): one row per
    annotated clip, ``class`` = its MiGA label."""
    gt = index[["video", "start_frame", "end_frame", "label"]].rename(columns={"label": "class"})
    return check_spots(gt, with_score=False, source="clip index")


# ------------------------------------------------------------------------------------------ tIoU and matching

def shared_frames(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Frames two inclusive frame intervals share: ``a`` (N, 2), ``b`` (M, 2) ``[start, end]`` -> int (N, M)."""
    a = np.asarray(a, np.int64).reshape(-1, 2)
    b = np.asarray(b, np.int64).reshape(-1, 2)
    return (np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1).clip(0)


def temporal_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """tIoU of inclusive frame intervals: ``a`` (N, 2), ``b`` (M, 2) ``[start, end]`` -> float (N, M)."""
    a = np.asarray(a, np.int64).reshape(-1, 2)
    b = np.asarray(b, np.int64).reshape(-1, 2)
    inter = shared_frames(a, b)
    len_a = a[:, 1] - a[:, 0] + 1
    len_b = b[:, 1] - b[:, 0] + 1
    union = len_a[:, None] + len_b[None, :] - inter
    return inter / union


def match_spots(pred: pd.DataFrame, gt: pd.DataFrame, tiou: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one greedy matching (see the module docstring) at threshold ``tiou``.

    Returns ``pred_match`` int (N_pred,) — the row of ``gt`` each prediction matched, or -1 — and
    ``pred_iou`` float (N_pred,) — its best tIoU with a ground-truth instance of the same video and class,
    matched or not (0 when there is none).
    """
    pred = check_spots(pred, True, "predictions")
    gt = check_spots(gt, False, "ground truth")
    pred_match = np.full(len(pred), -1, np.int64)
    pred_iou = np.zeros(len(pred), np.float64)
    gt_groups = {k: np.asarray(v, np.int64) for k, v in gt.groupby(["video", "class"]).indices.items()}
    for key, rows in pred.groupby(["video", "class"]).indices.items():
        g = gt_groups.get(key)
        if g is None:
            continue
        rows = np.asarray(rows, np.int64)
        rows = rows[np.argsort(-pred["score"].to_numpy()[rows], kind="stable")]
        iou = temporal_iou(pred[["start_frame", "end_frame"]].to_numpy()[rows],
                           gt[["start_frame", "end_frame"]].to_numpy()[g])
        pred_iou[rows] = iou.max(axis=1)
        used = np.zeros(len(g), bool)
        for i, r in enumerate(rows):
            cand = np.where(used, -1.0, iou[i])
            j = int(np.argmax(cand))  # first of the highest: the earlier instance on ties
            if cand[j] > tiou:
                used[j] = True
                pred_match[r] = g[j]
    return pred_match, pred_iou


# ------------------------------------------------------------------------------------------ F1 and AP

def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def f1_scores(pred: pd.DataFrame, gt: pd.DataFrame, tiou: float = MIGA_TIOU) -> dict[str, float]:
    """MiGA-style F1 at ``tiou``: ``tp, fp, fn, precision, recall, f1`` pooled over videos, and
    ``f1_video_mean`` (mean per-video F1) with ``videos`` (how many videos it averages)."""
    pred = check_spots(pred, True, "predictions")
    gt = check_spots(gt, False, "ground truth")
    match, _ = match_spots(pred, gt, tiou)
    tp_pred = match >= 0
    tp, fp, fn = int(tp_pred.sum()), int((~tp_pred).sum()), int(len(gt) - tp_pred.sum())
    precision, recall, f1 = _f1(tp, fp, fn)
    per_video = []
    for v in sorted(set(pred["video"]) | set(gt["video"])):
        in_v = (pred["video"] == v).to_numpy()
        v_tp = int(tp_pred[in_v].sum())
        per_video.append(_f1(v_tp, int(in_v.sum()) - v_tp, int((gt["video"] == v).sum()) - v_tp)[2])
    return {"tiou": float(tiou), "tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall,
            "f1": f1, "f1_video_mean": float(np.mean(per_video)) if per_video else 0.0, "videos": len(per_video)}


def interpolated_average_precision(tp: np.ndarray, num_gt: int) -> float:
    """AP of a ranked list: ``tp`` bool (N,) in descending score, ``num_gt`` ground-truth instances.
    Precision is made monotone from the right and summed over the recall steps (ActivityNet)."""
    if num_gt <= 0:
        raise ValueError("AP needs at least one ground-truth instance")
    tp = np.asarray(tp, bool)
    if tp.size == 0:
        return 0.0
    ctp = np.cumsum(tp)
    recall = ctp / num_gt
    precision = ctp / np.arange(1, len(tp) + 1)
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mprec[steps]))


def average_precision_per_class(pred: pd.DataFrame, gt: pd.DataFrame, tiou: float = MIGA_TIOU) -> pd.Series:
    """AP at ``tiou`` of each class present in ``gt`` (index: class, sorted)."""
    pred = check_spots(pred, True, "predictions")
    gt = check_spots(gt, False, "ground truth")
    match, _ = match_spots(pred, gt, tiou)
    out = {}
    for c, n in gt["class"].value_counts().sort_index().items():
        rows = np.flatnonzero((pred["class"] == c).to_numpy())
        rows = rows[np.argsort(-pred["score"].to_numpy()[rows], kind="stable")]
        out[int(c)] = interpolated_average_precision(match[rows] >= 0, int(n))
    return pd.Series(out, name="ap", dtype=float).rename_axis("class")


def mean_average_precision(pred: pd.DataFrame, gt: pd.DataFrame, tiou: float = MIGA_TIOU) -> float:
    """mAP at ``tiou``: the mean of :func:`average_precision_per_class` over the classes of ``gt``."""
    ap = average_precision_per_class(pred, gt, tiou)
    return float(ap.mean()) if len(ap) else 0.0


def spotting_report(pred: pd.DataFrame, gt: pd.DataFrame, tious: Sequence[float] = DEFAULT_TIOUS) -> pd.DataFrame:
    """One row per tIoU threshold: ``tiou, tp, fp, fn, precision, recall, f1, f1_video_mean, videos, map``."""
    rows = [{**f1_scores(pred, gt, t), "map": mean_average_precision(pred, gt, t)} for t in tious]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ where it fails

def per_class_recall(pred: pd.DataFrame, gt: pd.DataFrame, tiou: float = MIGA_TIOU) -> pd.DataFrame:
    """Per ground-truth class: ``class, instances, matched, recall`` at ``tiou`` (one-to-one matching)."""
    gt = check_spots(gt, False, "ground truth")
    match, _ = match_spots(pred, gt, tiou)
    hit = np.zeros(len(gt), bool)
    hit[match[match >= 0]] = True
    table = gt.assign(matched=hit).groupby("class").agg(instances=("matched", "size"), matched=("matched", "sum"))
    table["recall"] = table["matched"] / table["instances"]
    return table.reset_index()


#: Outcome of each ground-truth instance, in the order :func:`ground_truth_outcomes` decides them.
OUTCOMES = ("matched", "too short", "too long", "misplaced", "wrong class", "missed")


def ground_truth_outcomes(pred: pd.DataFrame, gt: pd.DataFrame, tiou: float = MIGA_TIOU) -> pd.DataFrame:
    """What happened to each ground-truth instance at ``tiou``: ``gt`` plus ``outcome`` (a categorical whose
    categories are :data:`OUTCOMES`, in that order, so a figure or table lists them all) and ``best_iou``.

    ``matched``: a prediction matched it one to one. Otherwise, looking at the predictions that overlap it:
    the same-class prediction of highest tIoU decides ``too short`` (it lies inside the instance's length:
    fewer frames), ``too long`` (more frames than the instance and covering it) or ``misplaced`` (shifted:
    neither inside nor covering, or left over by one-to-one matching); with no same-class overlap, an
    overlapping prediction of another class with tIoU above the threshold makes it ``wrong class``; else
    ``missed``.
    """
    pred = check_spots(pred, True, "predictions")
    gt = check_spots(gt, False, "ground truth")
    match, _ = match_spots(pred, gt, tiou)
    matched = np.zeros(len(gt), bool)
    matched[match[match >= 0]] = True
    outcome = np.array(["missed"] * len(gt), dtype=object)
    best = np.zeros(len(gt))
    by_video = pred.groupby("video").indices
    for i, g in gt.iterrows():
        rows = by_video.get(g["video"])
        if rows is None:
            outcome[i] = "matched" if matched[i] else "missed"
            continue
        p = pred.iloc[rows]
        iou = temporal_iou(p[["start_frame", "end_frame"]].to_numpy(), [[g["start_frame"], g["end_frame"]]])[:, 0]
        same = (p["class"] == g["class"]).to_numpy()
        best[i] = iou[same].max() if same.any() else 0.0
        if matched[i]:
            outcome[i] = "matched"
        elif same.any() and best[i] > 0:
            k = int(np.argmax(np.where(same, iou, -1.0)))
            s, e = int(p["start_frame"].iloc[k]), int(p["end_frame"].iloc[k])
            if s >= g["start_frame"] and e <= g["end_frame"]:
                outcome[i] = "too short"
            elif s <= g["start_frame"] and e >= g["end_frame"]:
                outcome[i] = "too long"
            else:
                outcome[i] = "misplaced"
        elif ((~same) & (iou > tiou)).any():
            outcome[i] = "wrong class"
    return gt.assign(outcome=pd.Categorical(outcome, categories=OUTCOMES), best_iou=best)


def compare_methods(methods: dict[str, pd.DataFrame], gt: pd.DataFrame, tiou: float = MIGA_TIOU) -> pd.DataFrame:
    """One row per method (name -> its spots) at ``tiou``: ``method, spots, precision, recall, f1,
    f1_video_mean, map``."""
    rows = []
    for name, pred in methods.items():
        r = f1_scores(pred, gt, tiou)
        rows.append({"method": name, "spots": len(pred), "precision": r["precision"], "recall": r["recall"],
                     "f1": r["f1"], "f1_video_mean": r["f1_video_mean"], "map": mean_average_precision(pred, gt, tiou)})
    return pd.DataFrame(rows)


def timeline_summary(gt: pd.DataFrame, num_frames: dict[int, int]) -> pd.DataFrame:
    """Per video: ``frames``, ``instances``, ``covered`` (fraction of frames inside an instance), ``overlapping``
    (instances sharing a frame with another one), ``median_length`` and ``median_gap`` (frames between
    consecutive instances, 0 where they overlap) - how much background an untrimmed video holds."""
    gt = check_spots(gt, False, "ground truth")
    rows = []
    for v, n in num_frames.items():
        g = gt[gt["video"] == v].sort_values("start_frame")
        mask = np.zeros(int(n), bool)
        for s, e in g[["start_frame", "end_frame"]].to_numpy():
            mask[s:e + 1] = True
        iou = temporal_iou(g[["start_frame", "end_frame"]].to_numpy(), g[["start_frame", "end_frame"]].to_numpy())
        np.fill_diagonal(iou, 0)
        gaps = (g["start_frame"].to_numpy()[1:] - np.maximum.accumulate(g["end_frame"].to_numpy())[:-1] - 1).clip(0)
        rows.append({"video": v, "frames": int(n), "instances": len(g), "covered": float(mask.mean()),
                     "overlapping": int((iou > 0).any(1).sum()),
                     "median_length": float((g["end_frame"] - g["start_frame"] + 1).median()) if len(g) else 0.0,
                     "median_gap": float(np.median(gaps)) if len(gaps) else 0.0})
    return pd.DataFrame(rows)
