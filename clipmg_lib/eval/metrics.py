"""Classification metrics of micro-gesture recognition: Top-k, mean class accuracy, per-class, confusion.

iMiGUE reports Top-1 and Top-5 accuracy over clips. Its class prior is very long-tailed (class 31 alone is
31% of clips), so the kit also reports the *mean class accuracy* (the mean over classes present in the
labels of each class's recall), which a majority-class predictor cannot inflate.

All functions take plain arrays: ``scores`` float (N, C) (logits or probabilities; only their order
matters), ``labels`` int (N,). Several sampled views of a clip are combined by :func:`average_views`
(mean of softmax probabilities, as in TSN/PYSKL's ``average_clips='prob'``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.classes import NUM_CLASSES, class_names


def _as_scores_labels(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if scores.ndim != 2:
        raise ValueError(f"scores must be (N, C), got shape {scores.shape}")
    if labels.shape != (scores.shape[0],):
        raise ValueError(f"labels must be (N,) = ({scores.shape[0]},), got shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise ValueError(f"labels must lie in [0, {scores.shape[1]}), got range [{labels.min()}, {labels.max()}]")
    return scores, labels


def softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of float scores along ``axis``."""
    z = np.asarray(scores, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def average_views(view_scores: Sequence[np.ndarray] | np.ndarray, mode: str = "prob") -> np.ndarray:
    """Combine the scores of several sampled views of each clip.

    ``view_scores``: (V, N, C) or a list of V arrays (N, C). ``mode='prob'`` averages softmax
    probabilities, ``'score'`` averages raw scores. Returns (N, C).
    """
    stack = np.stack([np.asarray(s, dtype=np.float64) for s in view_scores])
    if stack.ndim != 3:
        raise ValueError(f"view scores must be (V, N, C), got shape {stack.shape}")
    if mode == "prob":
        return softmax(stack, axis=-1).mean(axis=0)
    if mode == "score":
        return stack.mean(axis=0)
    raise ValueError(f"mode must be 'prob' or 'score', got {mode!r}")


def topk_correct(scores, labels, k: int) -> np.ndarray:
    """Bool (N,): whether each clip's label is among its ``k`` highest scores.

    Ties are broken by a stable sort on the negated scores (lower class index first), so the result
    is deterministic.
    """
    scores, labels = _as_scores_labels(scores, labels)
    k = min(int(k), scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return (order == labels[:, None]).any(axis=1)


def topk_accuracy(scores, labels, ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Top-k accuracy (fraction in [0, 1]) for each ``k`` in ``ks``; NaN when there are no clips."""
    scores, labels = _as_scores_labels(scores, labels)
    if len(labels) == 0:
        return {int(k): float("nan") for k in ks}
    return {int(k): float(topk_correct(scores, labels, k).mean()) for k in ks}


def confusion_matrix(predictions, labels, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts int64 (C, C): row = true label, column = predicted label."""
    predictions = np.asarray(predictions, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} differ in shape")
    flat = labels * num_classes + predictions
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(predictions, labels, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Recall of each class, float (C,); NaN for classes absent from ``labels``."""
    cm = confusion_matrix(predictions, labels, num_classes)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)


def mean_class_accuracy(predictions, labels, num_classes: int = NUM_CLASSES) -> float:
    """Mean of per-class recall over the classes present in ``labels`` (NaN with no labels)."""
    acc = per_class_accuracy(predictions, labels, num_classes)
    return float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan")


def per_class_table(scores, labels, names: Sequence[str] | None = None,
                    train_counts: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per class: ``label, name, support, correct, top1, top5, predicted`` (+ ``train_count``).

    ``top1``/``top5`` are the class's recall at 1 and 5 (NaN when the class has no clip);
    ``predicted`` counts how often the class was the Top-1 prediction (a majority-class collapse shows here).
    """
    scores, labels = _as_scores_labels(scores, labels)
    num_classes = scores.shape[1]
    names = list(names) if names is not None else (class_names() if num_classes == NUM_CLASSES
                                                   else [str(i) for i in range(num_classes)])
    preds = scores.argmax(axis=1)
    top5 = topk_correct(scores, labels, 5)
    support = np.bincount(labels, minlength=num_classes)
    correct = np.bincount(labels[preds == labels], minlength=num_classes)
    correct5 = np.bincount(labels[top5], minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "label": np.arange(num_classes),
            "name": names,
            "support": support,
            "correct": correct,
            "top1": np.where(support > 0, correct / np.maximum(support, 1), np.nan),
            "top5": np.where(support > 0, correct5 / np.maximum(support, 1), np.nan),
            "predicted": np.bincount(preds, minlength=num_classes),
        })
    if train_counts is not None:
        table["train_count"] = np.asarray(train_counts, dtype=np.int64)
    return table


def classification_report(scores, labels) -> dict[str, float]:
    """The kit's headline numbers: ``top1``, ``top5``, ``mean_class_acc`` (fractions) and ``n``."""
    scores, labels = _as_scores_labels(scores, labels)
    acc = topk_accuracy(scores, labels, (1, 5))
    return {"top1": acc[1], "top5": acc[5],
            "mean_class_acc": mean_class_accuracy(scores.argmax(axis=1), labels, scores.shape[1]),
            "n": int(len(labels))}


def chance_levels(train_labels, eval_labels, num_classes: int = NUM_CLASSES) -> dict[str, float]:
    """What trivial predictors score on ``eval_labels``: uniform guessing and always-the-majority-class.

    The majority class is taken from ``train_labels`` (what a collapsed model would predict). Returned
    keys: ``uniform_top1``, ``uniform_top5``, ``majority_top1``, ``majority_mean_class_acc``.
    """
    train_labels = np.asarray(train_labels, dtype=np.int64)
    eval_labels = np.asarray(eval_labels, dtype=np.int64)
    present = max(len(np.unique(eval_labels)), 1)
    majority = int(np.bincount(train_labels, minlength=num_classes).argmax())
    return {"uniform_top1": 1.0 / num_classes, "uniform_top5": min(5, num_classes) / num_classes,
            "majority_top1": float((eval_labels == majority).mean()) if len(eval_labels) else float("nan"),
            "majority_mean_class_acc": 1.0 / present if majority in set(eval_labels.tolist()) else 0.0}


def paired_bootstrap(correct_a, correct_b, n_boot: int = 2000, seed: int = 0, ci: float = 0.95) -> dict[str, float]:
    """How sure is "A beats B"? Paired bootstrap over clips of the accuracy difference ``acc(A) - acc(B)``.

    ``correct_a``/``correct_b``: (N,) per-clip correctness of two models on the *same* clips (bool, or the
    fraction of several seeds that got the clip right). Returns
    ``diff`` (observed), ``low``/``high`` (the ``ci`` percentile interval) and ``p_not_better`` (fraction of
    resamples where A does not beat B; a one-sided bootstrap p-value). Small test sets (the demo's 220 clips)
    make differences of a few points noise; this says how much.
    """
    a = np.asarray(correct_a, dtype=np.float64)
    b = np.asarray(correct_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"need two non-empty (N,) correctness arrays of the same clips, got {a.shape} and {b.shape}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(n_boot, len(a)))
    diffs = (a[idx] - b[idx]).mean(axis=1)
    lo, hi = np.quantile(diffs, [(1 - ci) / 2, 1 - (1 - ci) / 2])
    return {"diff": float(a.mean() - b.mean()), "low": float(lo), "high": float(hi),
            "p_not_better": float((diffs <= 0).mean())}


def per_class_comparison(runs: dict[str, tuple[np.ndarray, np.ndarray]], names: Sequence[str] | None = None
                         ) -> pd.DataFrame:
    """Top-1 recall per class for several models on the same clips: one column per model.

    ``runs``: ``{model name: (scores (N, C), labels (N,))}``. Rows: classes present in the labels, with
    ``support``; sorted by support (largest first).
    """
    cols, support = {}, None
    for name, (scores, labels) in runs.items():
        t = per_class_table(scores, labels, names)
        cols[name] = t["top1"]
        support = t[["label", "name", "support"]] if support is None else support
    table = pd.concat([support, pd.DataFrame(cols)], axis=1)
    return table[table["support"] > 0].sort_values("support", ascending=False).reset_index(drop=True)
