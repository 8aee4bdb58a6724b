"""Read the predictions a training run saved, without importing the training package.

A run folder (``results/train/<run>/``, written by ``clipmg_lib.runs.train_model``) holds
``predictions_{split}.npz`` with ``index`` int64 (N,), ``labels`` int64 (N,), ``logits`` float32 (N, 32),
``sample_ids`` unicode (N,), ``loss`` and optional ``extra_*`` arrays. The ablation runner lists its runs in
``<results>/ablation_runs.csv`` (``variant, seed, run_dir, ...``). Evaluation modules read both through here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.paths import results_dir as resolve_results


@dataclass
class SavedPredictions:
    """One split of one run: ``sample_ids`` list of N str, ``labels`` int64 (N,), ``logits`` float64 (N, C)."""

    sample_ids: list[str]
    labels: np.ndarray
    logits: np.ndarray
    path: Path

    @property
    def correct(self) -> np.ndarray:
        """Bool (N,): top-1 right."""
        return self.logits.argmax(axis=1) == self.labels


def read_predictions(path: str | Path) -> SavedPredictions:
    """``predictions_{split}.npz`` -> :class:`SavedPredictions` (no pickle). Missing file or keys raise
    naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no saved predictions (train the run, or run notebook 06/08 first)")
    with np.load(path, allow_pickle=False) as z:
        missing = {"labels", "logits", "sample_ids"} - set(z.files)
        if missing:
            raise ValueError(f"{path}: not a predictions file, it lacks {sorted(missing)}")
        return SavedPredictions(z["sample_ids"].tolist(), z["labels"].astype(np.int64),
                                z["logits"].astype(np.float64), path)


def run_predictions(run_dir: str | Path, split: str) -> SavedPredictions:
    """The saved predictions of one run folder on ``split`` (``'val'`` or ``'test'``)."""
    return read_predictions(Path(run_dir) / f"predictions_{split}.npz")


def ablation_run_dirs(results_dir: str | Path | None = None, seed: int | None = None) -> dict[str, Path]:
    """``{variant: run folder}`` from ``ablation_runs.csv`` of a results dir, in the table's order; ``seed``
    picks one seed (default: the first listed for each variant)."""
    path = resolve_results(results_dir) / "ablation_runs.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no ablation runs listed here (run notebook 08 with this results_dir first)")
    runs = pd.read_csv(path)
    if seed is not None:
        runs = runs[runs["seed"] == seed]
        if runs.empty:
            raise ValueError(f"{path}: no runs with seed {seed}")
    runs = runs.drop_duplicates("variant", keep="first")
    return {str(r.variant): Path(r.run_dir) for r in runs.itertuples()}


def ablation_predictions(results_dir: str | Path | None = None, split: str = "test", seed: int | None = None
                         ) -> dict[str, SavedPredictions]:
    """``{variant: SavedPredictions on split}`` for every run of the last ablation table (see
    :func:`ablation_run_dirs`)."""
    return {v: run_predictions(d, split) for v, d in ablation_run_dirs(results_dir, seed).items()}
