"""The 32 iMiGUE classes and the MiGA label convention.

iMiGUE annotates raw class ids 1..31 (micro-gestures) and 99 (illustrative, non-micro-gesture
body language). The MiGA challenge maps raw 1..31 to labels 0..30 and 99 to 31; the kit uses
that convention everywhere a model sees a label.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

NUM_CLASSES = 32
ILLUSTRATIVE_RAW_ID = 99


class UnknownClassError(ValueError):
    """A raw class id that is not one of iMiGUE's 32."""


@lru_cache(maxsize=1)
def class_table() -> pd.DataFrame:
    """The class table: columns ``raw_id``, ``label`` (MiGA id 0..31), ``name``; one row per class."""
    with resources.files("clipmg_lib.data").joinpath("imigue_classes.csv").open() as f:
        df = pd.read_csv(f)
    df = df.rename(columns={"miga_id": "label"})
    assert len(df) == NUM_CLASSES and (df["label"].to_numpy() == np.arange(NUM_CLASSES)).all()
    return df


def class_names() -> list[str]:
    """Class names indexed by MiGA label (length 32)."""
    return class_table()["name"].tolist()


_RAW_TO_LABEL = {int(r): int(m) for r, m in zip(class_table()["raw_id"], class_table()["label"])}
_LABEL_TO_RAW = {m: r for r, m in _RAW_TO_LABEL.items()}


def raw_to_label(raw, source: str = "") -> np.ndarray | int:
    """Map raw iMiGUE class ids (1..31, 99) to MiGA labels (0..31).

    Accepts an int or an array-like; raises :class:`UnknownClassError` naming ``source``
    (a file path, for the message) and the offending ids.
    """
    scalar = np.ndim(raw) == 0
    arr = np.atleast_1d(np.asarray(raw))
    bad = sorted({int(x) for x in arr if int(x) not in _RAW_TO_LABEL}) if arr.size else []
    if bad:
        where = f"{source}: " if source else ""
        raise UnknownClassError(f"{where}unknown iMiGUE class id(s) {bad}; expected 1..31 or 99")
    out = np.array([_RAW_TO_LABEL[int(x)] for x in arr], dtype=np.int64)
    return int(out[0]) if scalar else out


def label_to_raw(label) -> np.ndarray | int:
    """Inverse of :func:`raw_to_label`."""
    scalar = np.ndim(label) == 0
    arr = np.atleast_1d(np.asarray(label))
    bad = sorted({int(x) for x in arr if int(x) not in _LABEL_TO_RAW})
    if bad:
        raise UnknownClassError(f"unknown MiGA label(s) {bad}; expected 0..31")
    out = np.array([_LABEL_TO_RAW[int(x)] for x in arr], dtype=np.int64)
    return int(out[0]) if scalar else out
