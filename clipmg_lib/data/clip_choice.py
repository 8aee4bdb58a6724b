"""Choose example clips from a clip index by what they show (class names, split, length), not by label ids.

The notebooks show one clip at a time; :func:`example_clip` picks it so that the choice reads as a sentence
("the first validation clip of a micro-gesture class at least 8 frames long") and survives a relabelled or
subsetted index. Classes are named as in :func:`clipmg_lib.data.classes.class_names`.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .classes import ILLUSTRATIVE_RAW_ID, class_table

#: The classes a hand touches the head, face, jaw or neck in: clips where the skeleton's hands move visibly.
HAND_TO_HEAD_CLASSES = ("Touching jaw", "Touching or scratching facial parts", "Touching or scratching neck",
                        "Touching or scratching head")


def micro_gesture_classes() -> tuple[str, ...]:
    """The 31 micro-gesture class names (every class but iMiGUE's illustrative, non-micro-gesture one)."""
    table = class_table()
    return tuple(table.loc[table["raw_id"] != ILLUSTRATIVE_RAW_ID, "name"])


def labels_of(names: Sequence[str]) -> list[int]:
    """MiGA labels (0..31) of class ``names``; an unknown name raises ``KeyError`` naming it."""
    table = class_table().set_index("name")["label"]
    unknown = [n for n in names if n not in table.index]
    if unknown:
        raise KeyError(f"unknown class name(s) {unknown}; see clipmg_lib.data.classes.class_names()")
    return [int(table[n]) for n in names]


def example_clip(index: pd.DataFrame, classes: Sequence[str] | None = None, *, split: str | None = None,
                 prefer_split: str | None = None, min_frames: int = 1, any_class_fallback: bool = False) -> str:
    """The ``sample_id`` of the first clip of ``index`` (in index order) that fits the criteria.

    ``index``: a clip index (columns ``sample_id``, ``label``, ``split``, ``start_frame``, ``end_frame``).
    Hard criteria: ``split`` (only that split), ``min_frames`` (clips at least that many frames long).
    Preferences, tried in order: a clip of ``classes`` (names; None: any class) in ``prefer_split``; a clip of
    ``classes`` in any split; with ``any_class_fallback``, a clip of any class. Raises ``LookupError`` saying
    which criteria no clip meets.
    """
    pool = index
    if split is not None:
        pool = pool[pool["split"] == split]
    pool = pool[(pool["end_frame"] - pool["start_frame"] + 1) >= min_frames]
    of_class = pool if classes is None else pool[pool["label"].isin(labels_of(classes))]
    tries = ([of_class[of_class["split"] == prefer_split]] if prefer_split else []) + [of_class]
    if any_class_fallback:
        tries.append(pool)
    for candidates in tries:
        if len(candidates):
            return str(candidates["sample_id"].iloc[0])
    raise LookupError(f"no clip in the index with split={split!r}, at least {min_frames} frames"
                      + ("" if classes is None else f", of classes {list(classes)}"))
