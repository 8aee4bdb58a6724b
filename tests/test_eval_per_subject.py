"""Per-subject accuracy and its spread: by hand, and intervals that shrink with more clips."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.eval import per_subject as S


def test_per_subject_by_hand():
    correct = np.array([1, 1, 0, 1, 0, 0, 1], bool)
    subjects = np.array([3, 3, 3, 8, 8, 1, 1])
    videos = np.array([30, 31, 31, 80, 80, 10, 10])
    t = S.per_subject_accuracy(correct, subjects, videos, n_boot=500)
    assert t["subject"].tolist() == [1, 8, 3]  # 0.5 (2 clips), 0.5 (2 clips), 0.667; ties by subject id
    assert t["clips"].tolist() == [2, 2, 3] and t["videos"].tolist() == [1, 1, 2]
    np.testing.assert_allclose(t["top1"], [0.5, 0.5, 2 / 3])
    assert ((t["low"] <= t["top1"]) & (t["top1"] <= t["high"])).all()


def test_interval_narrows_with_clips():
    rng = np.random.default_rng(0)
    subjects = np.repeat([1, 2], [10, 400])
    correct = rng.random(410) < 0.7
    t = S.per_subject_accuracy(correct, subjects).set_index("subject")
    assert (t.loc[1, "high"] - t.loc[1, "low"]) > 2 * (t.loc[2, "high"] - t.loc[2, "low"])


def test_spread_against_the_reference_by_hand():
    subjects = np.array([1, 1, 2, 2, 3, 3])
    full = np.array([1, 1, 1, 0, 0, 0], bool)      # per subject 1.0, 0.5, 0.0
    other = np.array([1, 0, 1, 0, 1, 1], bool)     # per subject 0.5, 0.5, 1.0
    spread = S.subject_spread({"full": (full, subjects), "other": (other, subjects)}).set_index("model")
    assert spread.loc["full", "mean"] == pytest.approx(0.5) and spread.loc["full", "std"] == pytest.approx(0.5)
    assert spread.loc["other", "min"] == 0.5 and spread.loc["other", "max"] == 1.0
    assert spread.loc["other", "beats_reference"] == 1 and spread.loc["other", "ties_reference"] == 1
    assert spread.loc["full", "ties_reference"] == 3
    m = S.per_subject_matrix({"full": (full, subjects), "other": (other, subjects)})
    assert m.index.tolist() == [3, 2, 1] and m.loc[3, "other"] == 1.0


def test_clip_subjects_names_unknown_ids():
    index = pd.DataFrame({"sample_id": ["0001_0", "0002_0"], "subject": [4, 5], "video": [1, 2]})
    subjects, videos = S.clip_subjects(index, ["0002_0", "0001_0"])
    assert subjects.tolist() == [5, 4] and videos.tolist() == [2, 1]
    with pytest.raises(KeyError, match="0003_0"):
        S.clip_subjects(index, ["0003_0"])
