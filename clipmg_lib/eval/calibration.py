"""Calibration of the 32-class probabilities: expected calibration error, reliability diagrams and temperature
scaling (Guo et al., ICML 2017).

    ece = expected_calibration_error(logits, labels)                  # top-label ECE, 15 equal-width bins
    T = fit_temperature(val_logits, val_labels)                       # minimises validation NLL
    table = calibration_table({"full": (val_logits, val_labels, test_logits, test_labels), ...})

``logits`` float (N, C) (the model's raw scores: softmax(logits / T) are the probabilities), ``labels`` int (N,).
The top-label ECE is the clip-weighted mean gap between confidence (the largest probability) and accuracy
over ``n_bins`` equal-width confidence bins; on iMiGUE's long tail the classwise picture differs, which the
reliability diagram per model shows through the bin counts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from .metrics import softmax

#: Equal-width confidence bins of the ECE and the reliability diagram (Guo et al. use 15).
N_BINS = 15
#: The range :func:`fit_temperature` searches.
TEMPERATURE_BOUNDS = (0.05, 20.0)


def _check(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels, np.int64)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"need logits (N, C) and labels (N,), got {logits.shape} and {labels.shape}")
    if len(labels) == 0:
        raise ValueError("calibration needs at least one clip")
    return logits, labels


def reliability_bins(logits, labels, temperature: float = 1.0, n_bins: int = N_BINS) -> pd.DataFrame:
    """One row per confidence bin ``[low, high)`` (the last includes 1): ``low, high, count, confidence``
    (mean top probability), ``accuracy`` (fraction whose top class is right), ``gap = accuracy - confidence``.
    Empty bins have count 0 and NaN means."""
    logits, labels = _check(logits, labels)
    prob = softmax(logits / temperature)
    conf = prob.max(axis=1)
    correct = prob.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=False), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, conf, n_bins) / count
        acc = np.bincount(which, correct.astype(np.float64), n_bins) / count
    return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "count": count, "confidence": mean_conf,
                         "accuracy": acc, "gap": acc - mean_conf})


def expected_calibration_error(logits, labels, temperature: float = 1.0, n_bins: int = N_BINS) -> float:
    """Top-label ECE: ``sum_b (n_b / N) |accuracy_b - confidence_b|`` over equal-width bins (0 = calibrated)."""
    bins = reliability_bins(logits, labels, temperature, n_bins)
    filled = bins["count"] > 0
    return float((bins.loc[filled, "count"] * bins.loc[filled, "gap"].abs()).sum() / bins["count"].sum())


def negative_log_likelihood(logits, labels, temperature: float = 1.0) -> float:
    """Mean cross-entropy of ``softmax(logits / temperature)`` against ``labels``."""
    logits, labels = _check(logits, labels)
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(logits, labels, bounds: tuple[float, float] = TEMPERATURE_BOUNDS) -> float:
    """The temperature ``T`` minimising the NLL of ``softmax(logits / T)`` on these (validation) clips; a bounded
    1-D search over ``log T`` (scipy). ``T > 1`` softens over-confident probabilities; the argmax never changes."""
    logits, labels = _check(logits, labels)
    res = minimize_scalar(lambda t: negative_log_likelihood(logits, labels, float(np.exp(t))),
                          bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
                          options={"xatol": 1e-4})
    return float(np.exp(res.x))


def calibration_table(runs: dict[str, tuple], n_bins: int = N_BINS) -> pd.DataFrame:
    """Temperature scaling per model: fit on validation, apply to test.

    ``runs``: ``{name: (val_logits, val_labels, test_logits, test_labels)}``. One row per model: ``model``,
    ``temperature``, ``temperature_at_bound`` (the search stopped at a bound of :data:`TEMPERATURE_BOUNDS`: a
    model at chance is best served by uniform probabilities, T -> infinity), ``ece_before``, ``ece_after``,
    ``nll_before``, ``nll_after`` (test), ``top1`` (test, unchanged by scaling), ``n_val``, ``n_test``.
    """
    rows = []
    for name, (vl, vy, tl, ty) in runs.items():
        T = fit_temperature(vl, vy)
        tl, ty = _check(tl, ty)
        at_bound = bool(np.isclose(T, TEMPERATURE_BOUNDS, rtol=1e-3).any())
        rows.append({"model": name, "temperature": T, "temperature_at_bound": at_bound,
                     "ece_before": expected_calibration_error(tl, ty, 1.0, n_bins),
                     "ece_after": expected_calibration_error(tl, ty, T, n_bins),
                     "nll_before": negative_log_likelihood(tl, ty), "nll_after": negative_log_likelihood(tl, ty, T),
                     "top1": float((tl.argmax(axis=1) == ty).mean()), "n_val": int(len(vy)), "n_test": int(len(ty))})
    return pd.DataFrame(rows)
