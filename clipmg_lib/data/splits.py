"""iMiGUE evaluation protocols as data: the cross-subject split and MiGA's validation videos."""
from __future__ import annotations

#: The 37 training subjects of iMiGUE's cross-subject protocol; the other 35 of the 72 are the test set.
TRAIN_SUBJECTS: frozenset[int] = frozenset({
    2, 4, 5, 6, 9, 10, 12, 13, 14, 15, 17, 18, 20, 21, 22, 23, 25, 28, 29, 30, 31, 35, 36, 38, 39,
    41, 42, 43, 44, 46, 47, 48, 52, 53, 59, 61, 62,
})
NUM_SUBJECTS = 72

#: The MiGA challenge's validation set: 10 training videos.
MIGA_VALIDATION_VIDEOS: frozenset[int] = frozenset({1, 2, 3, 4, 6, 7, 8, 9, 10, 11})

SPLITS = ("train", "val", "test")


def subject_split(subject_id: int) -> str:
    """``'train'`` or ``'test'`` under the cross-subject protocol."""
    return "train" if int(subject_id) in TRAIN_SUBJECTS else "test"


def clip_split(subject_id: int, video_id: int, miga_validation: bool = True) -> str:
    """``'train'``, ``'val'`` (a MiGA validation video, when ``miga_validation``) or ``'test'``."""
    split = subject_split(subject_id)
    if split == "train" and miga_validation and int(video_id) in MIGA_VALIDATION_VIDEOS:
        return "val"
    return split
