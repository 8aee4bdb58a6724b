"""The zero-shot table and record of notebook 03 against hand-computed numbers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clipmg_lib.data.classes import NUM_CLASSES
from clipmg_lib.eval.zero_shot import write_zero_shot_record, zero_shot_table

LOGITS = np.zeros((4, NUM_CLASSES))
LOGITS[[0, 1, 2, 3], [2, 2, 5, 0]] = 1.0      # predicted 2, 2, 5, 0
LABELS = np.array([2, 1, 5, 1])                  # right, wrong, right, wrong
TRAIN = np.array([1, 1, 1, 2])                   # majority class 1


def test_table_rows_against_hand_numbers():
    t = zero_shot_table(LOGITS, LABELS, TRAIN, "zero-shot x").set_index("predictor")
    assert list(t.index) == ["zero-shot x", "uniform guess", "majority class"]
    assert t.loc["zero-shot x", "top1"] == 0.5
    # per-class recall: class 2 1/1, class 1 0/2, class 5 1/1 -> 2/3
    assert t.loc["zero-shot x", "mean_class_acc"] == pytest.approx(2 / 3)
    assert t.loc["uniform guess", "top1"] == pytest.approx(1 / NUM_CLASSES)
    assert t.loc["majority class", "top1"] == 0.5 and np.isnan(t.loc["majority class", "top5"])


def test_record_is_written_and_matches_the_table(tmp_path):
    path = tmp_path / "03_zero_shot.json"
    rec = write_zero_shot_record(path, LOGITS, LABELS, TRAIN, model="m", weights="w0", split="test")
    assert json.loads(path.read_text()) == rec
    assert rec["model"] == "m" and rec["weights"] == "w0" and rec["split"] == "test" and rec["n"] == 4
    assert rec["top1"] == 0.5 and rec["chance"]["majority_top1"] == 0.5
    assert list(tmp_path.iterdir()) == [path]  # atomic: no temporary file left
