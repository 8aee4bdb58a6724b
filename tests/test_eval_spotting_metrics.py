"""The spotting scorer against cases computed by hand (inclusive frames, tIoU > threshold, one-to-one)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.eval import spotting_metrics as S


def spots(rows, with_score=True):
    cols = list(S.SPOT_COLUMNS if with_score else S.GT_COLUMNS)
    return pd.DataFrame(rows, columns=cols)


def test_temporal_iou_counts_inclusive_frames():
    iou = S.temporal_iou([[0, 9], [0, 0], [0, 4], [0, 4]], [[5, 14], [0, 0], [5, 9], [4, 8]])
    # [0,9]&[5,14]: frames 5..9 = 5 of 15; [0,0]&[0,0]: 1 of 1; [0,4]&[5,9]: disjoint; [0,4]&[4,8]: 1 of 9
    assert np.diag(iou) == pytest.approx([5 / 15, 1.0, 0.0, 1 / 9])
    assert iou.shape == (4, 4)


def test_threshold_is_strict():
    gt = spots([[1, 0, 2, 0]], with_score=False)
    pred = spots([[1, 0, 9, 0, 1.0]])  # 3 of 10 frames: tIoU exactly 0.3
    assert S.f1_scores(pred, gt, 0.3)["tp"] == 0
    assert S.f1_scores(pred, gt, 0.29)["tp"] == 1


def reference_smg_correct(pred: pd.DataFrame, gt: pd.DataFrame, threshold: float) -> int:
    """What the organisers' SMG scorer counts as correct (its loop, restated): for each ground-truth
    instance, the first prediction of its class with alpha > threshold, where alpha = (min end - max start) /
    (max end - min start); the matched prediction is never removed (the numpy.delete result is dropped)."""
    correct = 0
    for _, g in gt.iterrows():
        for _, p in pred.iterrows():
            if p["class"] == g["class"] and p["video"] == g["video"]:
                alpha = (min(p.end_frame, g.end_frame) - max(p.start_frame, g.start_frame)) / \
                        (max(p.end_frame, g.end_frame) - min(p.start_frame, g.start_frame))
                if alpha > threshold:
                    correct += 1
                    break
    return correct


def test_one_prediction_cannot_match_two_instances():
    gt = spots([[1, 0, 19, 4], [1, 20, 39, 4]], with_score=False)
    pred = spots([[1, 0, 39, 4, 0.9]])  # covers both: tIoU 20/40 = 0.5 with each
    r = S.f1_scores(pred, gt, 0.3)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 0, 1)
    assert r["precision"] == 1.0 and r["recall"] == 0.5 and r["f1"] == pytest.approx(2 / 3)
    # the reference scorer counts it twice: 2 correct out of 1 prediction (precision 2.0)
    assert reference_smg_correct(pred, gt, 0.3) == 2


def test_duplicate_predictions_are_false_positives():
    gt = spots([[7, 10, 29, 2]], with_score=False)
    pred = spots([[7, 10, 29, 2, 0.9], [7, 11, 29, 2, 0.8]])
    r = S.f1_scores(pred, gt, 0.3)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 1, 0)
    assert r["f1"] == pytest.approx(2 / 3)
    assert reference_smg_correct(pred, gt, 0.3) == 1  # the reference agrees here: one GT, one count
    match, _ = S.match_spots(pred, gt, 0.3)
    assert match.tolist() == [0, -1]  # the higher score takes it
    assert S.mean_average_precision(pred, gt, 0.3) == pytest.approx(1.0)  # ranked [TP, FP], 1 instance


def test_greedy_by_score_and_tie_goes_to_the_earlier_instance():
    gt = spots([[1, 0, 9, 0], [1, 8, 17, 0]], with_score=False)
    # p_hi [4,13]: 6/14 with both instances (a tie) -> takes the earlier one, [0,9];
    # p_lo [0,9]: 1.0 with [0,9] (taken), 2/18 with [8,17] -> unmatched. Greedy, not Hungarian (which finds 2).
    pred = spots([[1, 0, 9, 0, 0.5], [1, 4, 13, 0, 0.9]])
    match, best = S.match_spots(pred, gt, 0.3)
    assert match.tolist() == [-1, 0]
    assert best == pytest.approx([1.0, 6 / 14])
    r = S.f1_scores(pred, gt, 0.3)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 1, 1)


def test_wrong_class_and_wrong_video_do_not_match():
    gt = spots([[1, 0, 9, 3]], with_score=False)
    pred = spots([[1, 0, 9, 5, 0.9], [2, 0, 9, 3, 0.9]])
    r = S.f1_scores(pred, gt, 0.3)
    assert (r["tp"], r["fp"], r["fn"]) == (0, 2, 1) and r["f1"] == 0.0


def test_pooled_and_per_video_f1():
    gt = spots([[1, 0, 9, 0], [2, 0, 9, 0], [3, 0, 9, 1], [3, 20, 29, 1]], with_score=False)
    pred = spots([[1, 0, 9, 0, 0.9],                       # video 1: exact -> F1 1
                  [3, 0, 9, 1, 0.9], [3, 40, 49, 1, 0.8],  # video 3: 1 TP, 1 FP, 1 FN -> F1 0.5
                  [4, 0, 9, 1, 0.7]])                      # video 4: no GT -> F1 0; video 2: no prediction -> 0
    r = S.f1_scores(pred, gt, 0.3)
    assert (r["tp"], r["fp"], r["fn"]) == (2, 2, 2)
    assert r["f1"] == pytest.approx(0.5)
    assert r["videos"] == 4 and r["f1_video_mean"] == pytest.approx((1 + 0 + 0.5 + 0) / 4)


def test_average_precision_by_hand():
    # class 0: 3 instances; ranked predictions TP, FP, TP, FP -> precision 1, 1/2, 2/3, 1/2 at recall
    # 1/3, 1/3, 2/3, 2/3; interpolated: 1/3 * 1 + 1/3 * 2/3 + 1/3 * 0 = 5/9. Class 1: one exact -> AP 1.
    gt = spots([[1, 0, 9, 0], [1, 20, 29, 0], [1, 40, 49, 0], [1, 60, 69, 1]], with_score=False)
    pred = spots([[1, 0, 9, 0, 0.9], [1, 100, 109, 0, 0.8], [1, 20, 29, 0, 0.7], [1, 120, 129, 0, 0.6],
                  [1, 60, 69, 1, 0.5]])
    ap = S.average_precision_per_class(pred, gt, 0.3)
    assert ap.to_dict() == pytest.approx({0: 5 / 9, 1: 1.0})
    assert S.mean_average_precision(pred, gt, 0.3) == pytest.approx(7 / 9)
    assert S.interpolated_average_precision(np.array([], bool), 2) == 0.0


def test_sweep_falls_with_the_threshold():
    gt = spots([[1, 0, 9, 0]], with_score=False)
    pred = spots([[1, 0, 14, 0, 1.0]])  # tIoU 10/15 = 0.667: TP up to 0.6, not at 0.7
    rep = S.spotting_report(pred, gt)
    assert rep["tiou"].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    assert rep["f1"].tolist() == [1.0] * 6 + [0.0]
    assert rep["map"].tolist() == [1.0] * 6 + [0.0]


def test_per_class_recall_and_outcomes():
    gt = spots([[1, 0, 39, 0],      # matched
                [1, 100, 139, 1],   # a same-class prediction inside it: too short
                [1, 200, 209, 2],   # a same-class prediction covering it: too long
                [1, 300, 339, 3],   # another class on top of it: wrong class
                [1, 400, 439, 4]],  # nothing: missed
               with_score=False)
    pred = spots([[1, 0, 39, 0, 0.9], [1, 110, 119, 1, 0.9], [1, 190, 239, 2, 0.9], [1, 300, 339, 5, 0.9]])
    out = S.ground_truth_outcomes(pred, gt, 0.3)
    assert out["outcome"].tolist() == ["matched", "too short", "too long", "wrong class", "missed"]
    assert out["best_iou"].tolist() == pytest.approx([1.0, 10 / 40, 10 / 50, 0.0, 0.0])
    rec = S.per_class_recall(pred, gt, 0.3)
    assert rec.set_index("class")["recall"].to_dict() == {0: 1.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}


def test_csv_round_trip_and_clear_errors(tmp_path):
    pred = spots([[1, 0, 9, 0, 0.25], [2, 5, 5, 31, 1.0]])
    path = S.write_spots_csv(pred, tmp_path / "p.csv")
    assert path.read_text().splitlines()[0] == "video,start_frame,end_frame,class,score"
    pd.testing.assert_frame_equal(S.read_spots_csv(path), S.check_spots(pred))
    gt_path = S.write_spots_csv(pred.drop(columns="score"), tmp_path / "gt.csv")
    assert list(S.read_spots_csv(gt_path, with_score=False).columns) == list(S.GT_COLUMNS)

    (tmp_path / "no_score.csv").write_text("video,start_frame,end_frame,class\n1,0,9,0\n")
    with pytest.raises(S.SpotsFileError, match=r"no_score\.csv.*missing column.*score"):
        S.read_spots_csv(tmp_path / "no_score.csv")
    (tmp_path / "reversed.csv").write_text("video,start_frame,end_frame,class,score\n1,9,3,0,0.5\n")
    with pytest.raises(S.SpotsFileError, match=r"reversed\.csv: row 0 .*start_frame <= end_frame"):
        S.read_spots_csv(tmp_path / "reversed.csv")
    (tmp_path / "float.csv").write_text("video,start_frame,end_frame,class,score\n1,0.5,3,0,0.5\n")
    with pytest.raises(S.SpotsFileError, match=r"float\.csv: column 'start_frame' must hold integers"):
        S.read_spots_csv(tmp_path / "float.csv")
    (tmp_path / "nan.csv").write_text("video,start_frame,end_frame,class,score\n1,0,3,0,\n")
    with pytest.raises(S.SpotsFileError, match=r"nan\.csv: column 'score'"):
        S.read_spots_csv(tmp_path / "nan.csv")
    with pytest.raises(S.SpotsFileError, match="no such file"):
        S.read_spots_csv(tmp_path / "absent.csv")


def test_empty_predictions_score_zero():
    gt = spots([[1, 0, 9, 0]], with_score=False)
    r = S.f1_scores(spots([]), gt, 0.3)
    assert (r["tp"], r["fp"], r["fn"], r["f1"]) == (0, 0, 1, 0.0)
    assert S.mean_average_precision(spots([]), gt) == 0.0
