"""Is the full model really better than each ablation? Paired bootstrap verdicts over the same test clips.

The README's headline verdicts and notebook 08 come from here: :func:`variant_correctness` reads what each
ablation run got right per clip, :func:`paired_comparisons` bootstraps the accuracy difference of the
reference (the full model) against every other variant (:func:`~.metrics.paired_bootstrap`), and
:func:`verdicts` says in one sentence per variant whether the 95% interval excludes zero.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.paths import results_dir as resolve_results
from .metrics import paired_bootstrap
from .saved_predictions import run_predictions


def variant_correctness(results_dir: str | Path | None = None, variants: Sequence[str] | None = None,
                        split: str = "test") -> dict[str, np.ndarray]:
    """``{variant: (N,) float}``: the fraction of the variant's seeds that got each clip of ``split`` right
    (0/1 with one seed), for the runs listed in ``<results>/ablation_runs.csv`` (variants in ``variants``'
    order; None: the file's order)."""
    path = resolve_results(results_dir) / "ablation_runs.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no ablation runs listed here (run notebook 08 with this results_dir first)")
    runs = pd.read_csv(path)
    names = list(dict.fromkeys(runs["variant"])) if variants is None else list(variants)
    out = {}
    for v in names:
        dirs = runs.loc[runs["variant"] == v, "run_dir"]
        if dirs.empty:
            raise KeyError(f"{path}: no run of variant {v!r}")
        out[v] = np.mean([run_predictions(d, split).correct for d in dirs], axis=0)
    return out


def paired_comparisons(correct: Mapping[str, np.ndarray], reference: str = "full", **bootstrap) -> pd.DataFrame:
    """One row per variant other than ``reference``: column ``"<reference> vs"`` (the variant), then ``diff``,
    ``low``, ``high``, ``p_not_better`` of :func:`~.metrics.paired_bootstrap` (reference minus variant;
    ``bootstrap``: its ``n_boot``, ``seed``, ``ci``). Empty when ``reference`` is not in ``correct``."""
    if reference not in correct:
        return pd.DataFrame()
    return pd.DataFrame([{f"{reference} vs": v, **paired_bootstrap(correct[reference], c, **bootstrap)}
                         for v, c in correct.items() if v != reference])


def verdict(row: Mapping, reference: str = "full") -> str:
    """One sentence for one row of :func:`paired_comparisons`: beats, is worse, or not distinguishable (95%)."""
    other = row[f"{reference} vs"]
    ci = f"(95% interval {100 * row['low']:.1f} to {100 * row['high']:.1f})"
    if row["low"] > 0:
        return f"{reference} beats {other} by {100 * row['diff']:.1f} points {ci}"
    if row["high"] < 0:
        return f"{reference} is WORSE than {other} by {-100 * row['diff']:.1f} points {ci}"
    return f"{reference} vs {other}: {100 * row['diff']:+.1f} points, not distinguishable on this test set {ci}"


def verdicts(comparison: pd.DataFrame, reference: str = "full") -> str:
    """:func:`verdict` of every row, one per line; says so when there is no reference model in the table."""
    if not len(comparison):
        return f"no {reference} model in the table"
    return "\n".join(verdict(r, reference) for _, r in comparison.iterrows())
