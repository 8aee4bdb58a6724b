"""Zero-shot CLIP against the trivial predictors: the table and the JSON record notebook 03 shows and writes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_open
from ..data.classes import NUM_CLASSES
from .metrics import chance_levels, classification_report


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def zero_shot_table(logits, labels, train_labels, predictor: str) -> pd.DataFrame:
    """One row per predictor (``predictor``, then "uniform guess" and "majority class") with columns
    ``predictor, top1, top5, mean_class_acc`` (fractions).

    ``logits`` (N, C) and ``labels`` (N,) are the zero-shot scores of the evaluated clips; ``train_labels``
    (the training split's labels) fix the majority class. The majority class has no Top-5 (NaN)."""
    report = classification_report(_np(logits), _np(labels))
    chance = chance_levels(_np(train_labels), _np(labels))
    return pd.DataFrame([
        {"predictor": predictor, "top1": report["top1"], "top5": report["top5"],
         "mean_class_acc": report["mean_class_acc"]},
        {"predictor": "uniform guess", "top1": chance["uniform_top1"], "top5": chance["uniform_top5"],
         "mean_class_acc": 1 / NUM_CLASSES},
        {"predictor": "majority class", "top1": chance["majority_top1"], "top5": float("nan"),
         "mean_class_acc": chance["majority_mean_class_acc"]}])


def write_zero_shot_record(path: str | Path, logits, labels, train_labels, *, model: str, weights: str,
                           split: str) -> dict:
    """Write (atomically) and return the zero-shot record: ``model``, ``weights`` (fingerprint), ``split``,
    ``n``, ``top1``, ``top5``, ``mean_class_acc`` and ``chance`` (:func:`~.metrics.chance_levels`)."""
    report = classification_report(_np(logits), _np(labels))
    record = {"model": model, "weights": weights, "split": split, "n": report["n"],
              **{k: float(v) for k, v in report.items() if k != "n"},
              "chance": chance_levels(_np(train_labels), _np(labels))}
    with atomic_open(path) as f:
        json.dump(record, f, indent=2)
    return record
