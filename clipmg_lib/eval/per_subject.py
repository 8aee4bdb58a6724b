"""Accuracy per test subject, with uncertainty, and its spread across subjects for several models.

iMiGUE's cross-subject test set has 35 subjects with very unequal clip counts, so one Top-1 over all clips
hides how differently the model does per person. Per subject: Top-1 over that subject's clips, a percentile
bootstrap interval from resampling its clips (wide for a subject with few clips), the clip and video counts.

    table = per_subject_accuracy(correct, subjects, videos)          # one row per subject, sorted
    spread = subject_spread({"full": (correct_full, subjects), "pose_only": (...), ...})

``correct`` bool (N,) per clip (top-1 right), ``subjects`` int (N,) the subject of each clip.
:func:`clip_subjects` maps saved sample ids to subjects and videos through the clip index.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def clip_subjects(index: pd.DataFrame, sample_ids) -> tuple[np.ndarray, np.ndarray]:
    """``(subjects, videos)`` int64 (N,) of ``sample_ids`` looked up in the clip index; raises ``KeyError``
    naming the first id the index does not hold."""
    by_id = index.set_index("sample_id")
    ids = [str(s) for s in sample_ids]
    missing = [s for s in ids if s not in by_id.index]
    if missing:
        raise KeyError(f"{len(missing)} sample id(s) are not in the clip index, e.g. {missing[0]!r}")
    rows = by_id.loc[ids]
    return rows["subject"].to_numpy(np.int64), rows["video"].to_numpy(np.int64)


def per_subject_accuracy(correct, subjects, videos=None, n_boot: int = 2000, seed: int = 0, ci: float = 0.95
                         ) -> pd.DataFrame:
    """One row per subject, sorted by Top-1 (then most clips first, then subject id): ``subject, clips, videos, top1, low, high``.

    ``low``/``high``: the ``ci`` percentile interval of the subject's Top-1 over ``n_boot`` resamples of its
    clips (with replacement; a subject with one clip gets 0..1 or 1..1, as its data allow).
    """
    correct = np.asarray(correct, np.float64)
    subjects = np.asarray(subjects, np.int64)
    if correct.shape != subjects.shape or correct.ndim != 1:
        raise ValueError(f"correct and subjects must be (N,) arrays of the same clips, got {correct.shape} "
                         f"and {subjects.shape}")
    videos = np.full(len(subjects), -1) if videos is None else np.asarray(videos, np.int64)
    rng = np.random.default_rng(seed)
    q = [(1 - ci) / 2, 1 - (1 - ci) / 2]
    rows = []
    for s in np.unique(subjects):
        mask = subjects == s
        c = correct[mask]
        boot = c[rng.integers(0, len(c), size=(n_boot, len(c)))].mean(axis=1)
        lo, hi = np.quantile(boot, q)
        rows.append({"subject": int(s), "clips": int(mask.sum()), "videos": int(len(np.unique(videos[mask]))),
                     "top1": float(c.mean()), "low": float(lo), "high": float(hi)})
    return pd.DataFrame(rows).sort_values(["top1", "clips", "subject"], ascending=[True, False, True],
                                          kind="stable").reset_index(drop=True)


def subject_spread(runs: dict[str, tuple[np.ndarray, np.ndarray]], reference: str | None = None) -> pd.DataFrame:
    """How Top-1 spreads over subjects, one row per model: ``model, subjects, mean`` (unweighted over
    subjects), ``std`` (ddof 1), ``min, q25, median, q75, max``, ``clip_top1`` (pooled over clips), and, against
    ``reference`` (default: the first model), ``beats_reference`` / ``ties_reference``: the number of subjects
    whose Top-1 is higher / equal under this model.

    ``runs``: ``{model: (correct (N,), subjects (N,))}`` on the same test clips.
    """
    if not runs:
        raise ValueError("subject_spread needs at least one model")
    per = {}
    for name, (correct, subjects) in runs.items():
        t = per_subject_accuracy(correct, subjects, n_boot=1)
        per[name] = t.set_index("subject")["top1"].sort_index()
    reference = reference or next(iter(runs))
    ref = per[reference]
    rows = []
    for name, acc in per.items():
        if not acc.index.equals(ref.index):
            raise ValueError(f"model {name!r} was tested on other subjects than {reference!r}")
        v = acc.to_numpy()
        correct = np.asarray(runs[name][0], np.float64)
        rows.append({"model": name, "subjects": len(v), "mean": float(v.mean()),
                     "std": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
                     "min": float(v.min()), "q25": float(np.quantile(v, 0.25)), "median": float(np.median(v)),
                     "q75": float(np.quantile(v, 0.75)), "max": float(v.max()), "clip_top1": float(correct.mean()),
                     "beats_reference": int((v > ref.to_numpy()).sum()), "ties_reference": int((v == ref.to_numpy()).sum())})
    return pd.DataFrame(rows)


def per_subject_matrix(runs: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Top-1 per (subject, model): rows subjects (sorted by the first model's Top-1), columns models."""
    cols = {name: per_subject_accuracy(c, s, n_boot=1).set_index("subject")["top1"] for name, (c, s) in runs.items()}
    table = pd.DataFrame(cols)
    return table.sort_values(next(iter(runs)))
