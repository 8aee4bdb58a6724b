"""The eval-side reader of saved predictions reads what the trainer writes, and the figures of notebook 10 build."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.eval import calibration, per_subject
from clipmg_lib.viz import affect as plots_affect
from clipmg_lib.eval.saved_predictions import ablation_predictions, ablation_run_dirs, read_predictions
from clipmg_lib.eval.predictions import Predictions


def _save(run_dir, split, n=6, seed=0):
    rng = np.random.default_rng(seed)
    p = Predictions(index=np.arange(n), labels=rng.integers(0, 32, n), logits=rng.normal(size=(n, 32)).astype(np.float32),
                    sample_ids=[f"{v:04d}_{i}" for v, i in zip(rng.integers(1, 9, n), range(n))],
                    extras={"gate": np.zeros((n, 4), np.float32)}, loss=0.5)
    run_dir.mkdir(parents=True, exist_ok=True)
    p.save(run_dir / f"predictions_{split}.npz")
    return p


def test_reads_what_the_trainer_saves(tmp_path):
    p = _save(tmp_path / "run", "test")
    r = read_predictions(tmp_path / "run" / "predictions_test.npz")
    assert r.sample_ids == p.sample_ids and (r.labels == p.labels).all()
    np.testing.assert_allclose(r.logits, p.logits)
    assert (r.correct == (p.logits.argmax(1) == p.labels)).all()
    with pytest.raises(FileNotFoundError, match="predictions_val.npz"):
        read_predictions(tmp_path / "run" / "predictions_val.npz")


def test_ablation_runs_are_found_by_variant(tmp_path):
    for name, seed in (("a", 0), ("b", 0), ("a1", 1)):
        _save(tmp_path / name, "test", seed=seed)
    pd.DataFrame({"variant": ["full", "rgb_only", "full"], "seed": [0, 0, 1],
                  "run_dir": [str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "a1")]}
                 ).to_csv(tmp_path / "ablation_runs.csv", index=False)
    assert ablation_run_dirs(tmp_path) == {"full": tmp_path / "a", "rgb_only": tmp_path / "b"}
    assert ablation_run_dirs(tmp_path, seed=1) == {"full": tmp_path / "a1"}
    assert list(ablation_predictions(tmp_path, "test")) == ["full", "rgb_only"]
    with pytest.raises(FileNotFoundError, match="ablation_runs.csv"):
        ablation_run_dirs(tmp_path / "elsewhere")


def test_figures_build():
    rng = np.random.default_rng(0)
    subjects = rng.integers(1, 6, 200)
    runs = {"full": (rng.random(200) < 0.7, subjects), "pose_only": (rng.random(200) < 0.6, subjects)}
    table = per_subject.per_subject_accuracy(*runs["full"], n_boot=50)
    assert len(plots_affect.per_subject_figure(table).data) == 1
    fig = plots_affect.subject_spread_figure(per_subject.per_subject_matrix(runs))
    assert len(fig.data) == 5 + 2  # a line per subject, a box per model
    logits, labels = rng.normal(size=(200, 32)), rng.integers(0, 32, 200)
    bins = {m: (calibration.reliability_bins(logits, labels), calibration.reliability_bins(logits, labels, 2.0))
            for m in runs}
    fig = plots_affect.reliability_figure(bins, {m: (0.1, 0.05) for m in runs})
    assert len(fig.data) == 2 * 3 and "ECE 0.100 -> 0.050" in fig.layout.annotations[0].text
    pred = pd.DataFrame({"video": [1, 2], "subject": [1, 2], "emotion": ["Win", "Lose"], "n_clips": [3, 4],
                         "p_lose": [0.2, 0.7]})
    assert len(plots_affect.emotion_figure({"oracle": pred}).data) == 2
