"""Paired-bootstrap verdicts: reading per-clip correctness of ablation runs, and the sentence of each case."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.eval.ablation_verdicts import paired_comparisons, variant_correctness, verdict, verdicts
from clipmg_lib.eval.metrics import paired_bootstrap


def _run(folder, labels, predicted):
    folder.mkdir(parents=True)
    logits = np.eye(4, dtype=np.float32)[predicted]
    np.savez(folder / "predictions_test.npz", labels=np.asarray(labels), logits=logits,
             sample_ids=np.array([f"s{i}" for i in range(len(labels))]))
    return folder


def test_variant_correctness_averages_seeds(tmp_path):
    labels = [0, 1, 2, 3]
    rows = [("full", 0, _run(tmp_path / "f0", labels, [0, 1, 2, 3])),
            ("rgb_only", 0, _run(tmp_path / "r0", labels, [0, 0, 2, 0])),
            ("rgb_only", 1, _run(tmp_path / "r1", labels, [0, 1, 0, 0]))]
    pd.DataFrame(rows, columns=["variant", "seed", "run_dir"]).to_csv(tmp_path / "ablation_runs.csv", index=False)
    correct = variant_correctness(tmp_path)
    assert list(correct) == ["full", "rgb_only"]
    np.testing.assert_allclose(correct["full"], [1, 1, 1, 1])
    np.testing.assert_allclose(correct["rgb_only"], [1, 0.5, 0.5, 0])
    assert list(variant_correctness(tmp_path, ["rgb_only"])) == ["rgb_only"]
    with pytest.raises(KeyError, match="pose_only"):
        variant_correctness(tmp_path, ["pose_only"])


def test_missing_runs_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="ablation_runs.csv"):
        variant_correctness(tmp_path)


def test_comparisons_are_the_bootstrap_of_each_variant_against_the_reference():
    rng = np.random.default_rng(0)
    correct = {"full": rng.random(200) < 0.8, "a": rng.random(200) < 0.3, "b": rng.random(200) < 0.8}
    table = paired_comparisons(correct, reference="full", n_boot=500)
    assert list(table["full vs"]) == ["a", "b"]
    assert table.iloc[0].drop("full vs").to_dict() == pytest.approx(paired_bootstrap(correct["full"], correct["a"],
                                                                                     n_boot=500))
    assert paired_comparisons({"a": correct["a"]}).empty
    assert verdicts(paired_comparisons({"a": correct["a"]})) == "no full model in the table"


def test_verdict_sentences_for_each_case():
    row = {"full vs": "x", "diff": 0.05, "low": 0.01, "high": 0.09}
    assert verdict(row) == "full beats x by 5.0 points (95% interval 1.0 to 9.0)"
    row = {"full vs": "x", "diff": -0.05, "low": -0.09, "high": -0.01}
    assert verdict(row) == "full is WORSE than x by 5.0 points (95% interval -9.0 to -1.0)"
    row = {"full vs": "x", "diff": 0.02, "low": -0.01, "high": 0.05}
    assert verdict(row) == "full vs x: +2.0 points, not distinguishable on this test set (95% interval -1.0 to 5.0)"
    two = pd.DataFrame([{"full vs": "x", "diff": 0.05, "low": 0.01, "high": 0.09},
                        {"full vs": "y", "diff": 0.02, "low": -0.01, "high": 0.05}])
    assert verdicts(two).splitlines() == [verdict(r) for _, r in two.iterrows()]
