"""example_clip picks clips by class name and criteria, in index order, with the documented fallbacks."""
from __future__ import annotations

import pandas as pd
import pytest

from clipmg_lib.data.classes import class_names
from clipmg_lib.data.clip_choice import HAND_TO_HEAD_CLASSES, example_clip, labels_of, micro_gesture_classes


def _index(rows):
    return pd.DataFrame(rows, columns=["sample_id", "label", "split", "start_frame", "end_frame"])


INDEX = _index([("a", 31, "val", 0, 99),     # illustrative, long
                ("b", 3, "train", 0, 3),     # micro-gesture, 4 frames
                ("c", 5, "train", 0, 20),    # micro-gesture, 21 frames
                ("d", 10, "val", 10, 40),    # touching jaw, 31 frames, val
                ("e", 7, "train", 0, 50)])   # facial parts, train


def test_micro_gesture_classes_are_the_31_without_the_illustrative_class():
    names = micro_gesture_classes()
    assert len(names) == 31 and "Illustrative body language" not in names
    assert labels_of(names) == list(range(31))


def test_prefers_the_split_then_falls_back_to_any_split():
    assert example_clip(INDEX, micro_gesture_classes(), prefer_split="val", min_frames=8) == "d"
    assert example_clip(INDEX[INDEX.sample_id != "d"], micro_gesture_classes(), prefer_split="val",
                        min_frames=8) == "c"


def test_min_frames_and_split_are_hard_criteria():
    assert example_clip(INDEX, micro_gesture_classes(), min_frames=1) == "b"
    assert example_clip(INDEX, micro_gesture_classes(), min_frames=5) == "c"
    assert example_clip(INDEX, HAND_TO_HEAD_CLASSES, split="train") == "b"
    with pytest.raises(LookupError, match="at least 200 frames"):
        example_clip(INDEX, min_frames=200)


def test_any_class_fallback():
    only_other = INDEX[INDEX.sample_id.isin(["a", "c"])]
    with pytest.raises(LookupError, match="Touching jaw"):
        example_clip(only_other, HAND_TO_HEAD_CLASSES, split="train")
    assert example_clip(only_other, HAND_TO_HEAD_CLASSES, split="train", any_class_fallback=True) == "c"


def test_hand_classes_are_known_names_and_unknown_names_fail():
    assert set(HAND_TO_HEAD_CLASSES) <= set(class_names())
    assert labels_of(HAND_TO_HEAD_CLASSES) == [10, 7, 11, 3]
    with pytest.raises(KeyError, match="Tuching jaw"):
        example_clip(INDEX, ["Tuching jaw"])
