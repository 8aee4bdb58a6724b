"""Metrics against examples computed by hand."""
from __future__ import annotations

import numpy as np
import pytest

from clipmg_lib.eval import metrics

# 4 clips, 6 classes. Ranked classes per clip (best first):
#   clip 0: 2 > 1 > 0 > 3 > 4 > 5   label 2 -> top1 hit
#   clip 1: 0 > 1 > 2 > 3 > 4 > 5   label 1 -> top1 miss, top5 hit
#   clip 2: 0 > 1 > 2 > 3 > 4 > 5   label 5 -> top1 miss, top5 miss (rank 6)
#   clip 3: 5 > 4 > 3 > 2 > 1 > 0   label 5 -> top1 hit
SCORES = np.array([
    [0.3, 0.4, 0.9, 0.2, 0.1, 0.0],
    [0.9, 0.5, 0.4, 0.3, 0.2, 0.1],
    [0.9, 0.5, 0.4, 0.3, 0.2, 0.1],
    [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
])
LABELS = np.array([2, 1, 5, 5])


def test_topk_by_hand():
    acc = metrics.topk_accuracy(SCORES, LABELS, (1, 2, 5, 6))
    assert acc == {1: 0.5, 2: 0.75, 5: 0.75, 6: 1.0}


def test_confusion_and_mean_class_accuracy_by_hand():
    preds = SCORES.argmax(1)  # [2, 0, 0, 5]
    cm = metrics.confusion_matrix(preds, LABELS, 6)
    expected = np.zeros((6, 6), dtype=int)
    expected[2, 2] = 1
    expected[1, 0] = 1
    expected[5, 0] = 1
    expected[5, 5] = 1
    np.testing.assert_array_equal(cm, expected)
    # classes present: 1 (0/1), 2 (1/1), 5 (1/2) -> mean(0, 1, 0.5) = 0.5
    assert metrics.mean_class_accuracy(preds, LABELS, 6) == pytest.approx(0.5)
    acc = metrics.per_class_accuracy(preds, LABELS, 6)
    assert np.isnan(acc[[0, 3, 4]]).all() and acc[5] == 0.5


def test_mean_class_accuracy_is_not_fooled_by_the_majority_class():
    labels = np.array([0] * 90 + [1] * 5 + [2] * 5)
    preds = np.zeros_like(labels)
    assert metrics.confusion_matrix(preds, labels, 3).trace() == 90
    assert metrics.mean_class_accuracy(preds, labels, 3) == pytest.approx(1 / 3)
    report = metrics.classification_report(np.eye(3)[preds], labels)
    assert report["top1"] == pytest.approx(0.9) and report["mean_class_acc"] == pytest.approx(1 / 3)


def test_per_class_table_by_hand():
    table = metrics.per_class_table(SCORES, LABELS, names=list("abcdef"), train_counts=[5, 4, 3, 2, 1, 0])
    row5 = table.set_index("label").loc[5]
    assert (row5["support"], row5["correct"], row5["top1"], row5["top5"]) == (2, 1, 0.5, 0.5)
    assert table.loc[0, "predicted"] == 2 and table["support"].sum() == 4
    assert list(table["train_count"]) == [5, 4, 3, 2, 1, 0]


def test_average_views_probabilities():
    v1 = np.log(np.array([[0.7, 0.3]]))
    v2 = np.log(np.array([[0.1, 0.9]]))
    np.testing.assert_allclose(metrics.average_views([v1, v2]), [[0.4, 0.6]])
    np.testing.assert_allclose(metrics.average_views([v1, v2], mode="score"), (v1 + v2) / 2)


def test_chance_levels():
    c = metrics.chance_levels(train_labels=[0, 0, 1], eval_labels=[0, 1, 1, 2], num_classes=4)
    assert c["majority_top1"] == 0.25 and c["uniform_top1"] == 0.25 and c["majority_mean_class_acc"] == pytest.approx(1 / 3)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="labels must be"):
        metrics.topk_accuracy(SCORES, LABELS[:2])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 6\)"):
        metrics.topk_accuracy(SCORES, [0, 1, 2, 7])


def test_paired_bootstrap():
    a = np.array([1] * 80 + [0] * 20, bool)
    b = np.array([1] * 50 + [0] * 50, bool)
    res = metrics.paired_bootstrap(a, b, n_boot=500)
    assert res["diff"] == pytest.approx(0.3) and res["low"] > 0.15 and res["p_not_better"] < 0.01
    same = metrics.paired_bootstrap(a, a, n_boot=100)
    assert same["diff"] == 0 and same["p_not_better"] == 1.0
