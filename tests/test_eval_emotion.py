"""Emotion from micro-gestures: features by hand, the classifier on planted signals, the protocol, real labels."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.demo import generate as demo
from clipmg_lib.data.splits import TRAIN_SUBJECTS
from clipmg_lib.eval import emotion as E


def _clips(videos, seed=0, signal=True, clips_per_video=40):
    """A clip table: ``videos`` = [(video, subject, split, emotion)]; Lose videos draw class 7 four times as
    often as Win videos (when ``signal``), the rest uniform over classes 0..9."""
    rng = np.random.default_rng(seed)
    rows = []
    for video, subject, split, emo in videos:
        p = np.ones(10)
        if signal and emo == "Lose":
            p[7] = 4.0
        labels = rng.choice(10, size=clips_per_video, p=p / p.sum())
        for i, lab in enumerate(labels):
            rows.append({"sample_id": f"{video:04d}_{i}", "video": video, "subject": subject, "split": split,
                         "start_frame": 100 * i, "end_frame": 100 * i + 50, "label": int(lab), "win_or_lose": emo})
    return pd.DataFrame(rows)


def _roster(n_train=40, n_test=30, seed=0):
    rng = np.random.default_rng(seed)
    train_subjects = sorted(TRAIN_SUBJECTS)
    test_subjects = [s for s in range(1, 73) if s not in TRAIN_SUBJECTS]
    out = []
    for i in range(n_train):
        out.append((1000 + i, train_subjects[i % len(train_subjects)], "train", "Lose" if rng.random() < 0.3 else "Win"))
    for i in range(n_test):
        out.append((2000 + i, test_subjects[i % len(test_subjects)], "test", "Lose" if i % 2 else "Win"))
    return out


def test_bag_and_transition_features_by_hand():
    clips = pd.DataFrame({"video": [5, 5, 5, 6], "start_frame": [30, 0, 10, 0], "label": [2, 1, 1, 3]})
    X = E.gesture_features(clips, [6, 5, 9], "bag+transitions")
    assert X.shape == (3, 32 + 32 * 32)
    # video 5 in time order: 1, 1, 2 -> bag 2/3 class 1, 1/3 class 2; pairs (1,1), (1,2)
    np.testing.assert_allclose(X[1, [1, 2]], [2 / 3, 1 / 3])
    assert X[1, 32 + 1 * 32 + 1] == 0.5 and X[1, 32 + 1 * 32 + 2] == 0.5 and X[1, 32:].sum() == pytest.approx(1)
    np.testing.assert_allclose(X[0, :32], np.eye(32)[3])
    assert X[0, 32:].sum() == 0 and not X[2].any()  # one clip: no pair; video 9: no clips


def test_balanced_weights_and_accuracy_by_hand():
    y = np.array([0, 0, 0, 1])
    np.testing.assert_allclose(E.class_weights(y), [4 / 6, 4 / 6, 4 / 6, 2.0])
    assert E.balanced_accuracy(y, np.zeros(4, int)) == 0.5
    assert E.balanced_accuracy(y, np.array([0, 1, 0, 1])) == pytest.approx((2 / 3 + 1) / 2)
    with pytest.raises(ValueError, match="both emotions"):
        E.class_weights(np.zeros(3, int))


def test_logistic_fit_is_the_optimum():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    m = E.fit_logistic(X, y, C=2.0)
    Z = (X - m.mean) / m.scale
    r = m.predict_proba(X) - y
    grad = np.append(Z.T @ r + m.coef / 2.0, r.sum())  # gradient of the documented loss at the solution
    assert np.abs(grad).max() < 1e-3
    assert m.coef[0] > 1 and abs(m.coef[1]) < 0.5 * m.coef[0]


def test_logistic_fit_with_more_features_than_videos_is_the_optimum():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 60))
    X[:, 5] = 1.0  # a constant feature: coefficient 0
    y = (X[:, 0] + rng.normal(size=20) > 0).astype(int)
    w = E.class_weights(y)
    m = E.fit_logistic(X, y, C=0.5, weight=w)
    Z = (X - m.mean) / m.scale
    r = w * (m.predict_proba(X) - y)
    grad = np.append(Z.T @ r + m.coef / 0.5, r.sum())  # the primal problem's gradient
    assert np.abs(grad).max() < 1e-6 and m.coef[5] == 0


def test_planted_signal_is_found_and_shuffled_emotions_are_not():
    clips = _clips(_roster())
    found = E.run_emotion(clips, "bag_logistic")
    assert found.metrics["balanced_accuracy"] >= 0.8
    lo, hi = found.metrics["balanced_accuracy_ci"]
    assert lo <= found.metrics["balanced_accuracy"] <= hi
    assert found.metrics["n"] == 30 and found.metrics["n_train_videos"] == 40
    none = E.run_emotion(_clips(_roster(), signal=False), "bag_logistic")
    assert none.metrics["balanced_accuracy"] < 0.75
    assert set(found.predictions.columns) >= {"video", "subject", "emotion", "p_lose", "predicted", "correct"}


def test_predicted_clips_replace_the_labels_on_the_test_side():
    clips = _clips(_roster())
    test = clips[clips["split"] == "test"]
    logits = np.full((len(test), 32), -5.0)
    logits[np.arange(len(test)), 0] = 5.0  # a model that always says class 0: no emotion information left
    given = E.clips_with_predictions(clips, test["sample_id"], logits)
    assert (given["label"] == 0).all() and (given["true_label"] == test["label"].to_numpy()).all()
    np.testing.assert_allclose(given[[f"prob_{c}" for c in range(32)]].sum(axis=1), 1.0)
    r = E.run_emotion(clips, "bag_logistic", test_clips=given, input_name="constant model")
    assert r.predictions["predicted"].nunique() == 1 and r.metrics["balanced_accuracy"] == 0.5
    assert r.metrics["input"] == "constant model"
    soft = E.run_emotion(clips, "bag_logistic_soft", test_clips=given)
    assert soft.predictions["predicted"].nunique() == 1
    with pytest.raises(KeyError, match="9999_0"):
        E.clips_with_predictions(clips, ["9999_0"], np.zeros((1, 32)))


def test_spotter_detections_enter_as_test_clips():
    clips = _clips(_roster())
    test = clips[clips["split"] == "test"]
    spots = pd.DataFrame({"video": test["video"], "start_frame": test["start_frame"], "end_frame": test["end_frame"],
                          "class": test["label"], "score": np.linspace(0, 1, len(test))})
    given = E.clips_from_spots(spots)
    assert (given["label"].to_numpy() == test["label"].to_numpy()).all()
    same = E.run_emotion(clips, "bag_logistic", test_clips=given)
    assert same.metrics == {**E.run_emotion(clips, "bag_logistic").metrics, "input": "given clips"}
    assert len(E.clips_from_spots(spots, min_score=0.5)) == (spots["score"] >= 0.5).sum()
    with pytest.raises(ValueError, match="class"):
        E.clips_from_spots(spots.drop(columns="class"))


def test_bad_emotion_columns_name_the_video():
    clips = _clips(_roster(4, 2))
    clips.loc[clips.index[0], "win_or_lose"] = "Draw"
    with pytest.raises(ValueError, match="video 1000"):
        E.video_table(clips)
    with pytest.raises(ValueError, match="win_or_lose"):
        E.video_table(clips.drop(columns="win_or_lose"))
    with pytest.raises(ValueError, match="features"):
        E.get_emotion_config("bag_logistic", features="trigram")


def test_demo_emotion_tilts_the_classes_in_the_real_direction():
    size = demo.SIZES["default"]
    plans = demo.plan_dataset(size, 0)
    emotions = {p.video.video: p.emotion for p in plans}
    for side in ("train", "test"):
        side_videos = [v for v in size.videos if (v.split == "test") == (side == "test")]
        lose = sum(emotions[v.video] == "Lose" for v in side_videos)
        assert lose == len(side_videos) // 2
    # per class: share of its clips in Lose videos; classes more frequent in real Lose videos get more
    counts = pd.DataFrame([(p.emotion, c.raw_class) for p in plans for c in p.clips], columns=["emotion", "cls"])
    share = counts.groupby("cls")["emotion"].apply(lambda s: (s == "Lose").mean())
    r = pd.Series(demo.REAL_LOSE_LOG_RATIO)
    assert np.corrcoef(share[r.index], r)[0, 1] > 0.5
    table = demo.clip_table(plans, 0)
    assert table.groupby("video")["win_or_lose"].first().to_dict() == emotions


@pytest.mark.slow
def test_real_labels_oracle(shared_imigue):
    from clipmg_lib.data.annotations import read_official_csv

    clips = read_official_csv(shared_imigue / "labels_20200831.csv")
    videos = E.video_table(clips)
    assert len(videos) == 359
    counts = videos.groupby(["side", "emotion"]).size().to_dict()
    assert counts == {("train", "Win"): 202, ("train", "Lose"): 53, ("test", "Win"): 56, ("test", "Lose"): 48}
    r = E.run_emotion(clips, "bag_logistic")
    m = r.metrics
    assert m["n"] == 104 and m["n_test_subjects"] == 35 and m["majority_accuracy"] == pytest.approx(56 / 104)
    assert 0.4 < m["balanced_accuracy"] < 0.8 and m["balanced_accuracy_ci"][0] < m["balanced_accuracy"]
    assert E.run_emotion(clips, "bag_logistic").metrics == m  # deterministic
