"""Exports for other toolkits: ST-GCN arrays (the MiGA skeleton baseline's input) and challenge submissions.

ST-GCN arrays, per split, in ``out_dir``::

    {split}_data.npy     float32 (N, C=3, T=90, V=22, M=1): x, y (pixels of the video), confidence;
                         joints in layout ``openpose22``; the LAST 90 frames of each clip at frames 0..L-1,
                         zeros after for a clip shorter than 90 (ST-GCN feeders' padding convention)
    {split}_names.npy    str (N,): sample names ``{vid:04d}_{i}``
    {split}_labels.npy   int64 (N,): MiGA labels 0..31
    {split}_label.json   {"sample_name": [...], "label": [...]}: the ``(names, labels)`` pair ST-GCN keeps in
                         a ``{split}_label.pkl``, as JSON, because the kit never pickles dataset files

All files are written atomically and load with ``np.load(..., allow_pickle=False)`` (:func:`read_stgcn_arrays`).

Submissions: the MiGA challenge takes a CSV of ``Id,Target`` rows, ``Id`` the sample name, ``Target`` the
predicted MiGA label 0..31 (:func:`write_submission_csv`).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..core.atomic import atomic_open, atomic_path
from .classes import NUM_CLASSES
from .skeleton import Skeleton
from ..core.progress import progress_bar

STGCN_FRAMES = 90
STGCN_LAYOUT = "openpose22"
SUBMISSION_COLUMNS = ("Id", "Target")
_SAMPLE_ID = re.compile(r"^\d{4,}_\d+$")


def clip_to_stgcn(skeleton: Skeleton, start: int, end: int, frames: int = STGCN_FRAMES) -> np.ndarray:
    """One clip -> float32 (3, frames, 22, 1): its last ``frames`` frames in ``openpose22``, zero-padded after."""
    clip = skeleton.to(STGCN_LAYOUT).frames(int(start), int(end)).data[-frames:]  # (L, 22, 3)
    out = np.zeros((3, frames, clip.shape[1], 1), dtype=np.float32)
    out[:, :len(clip), :, 0] = clip.transpose(2, 0, 1)
    return out


def write_stgcn_arrays(out_dir: str | os.PathLike, index: pd.DataFrame,
                       skeletons: Mapping[int, Skeleton] | Callable[[int], Skeleton], split: str,
                       frames: int = STGCN_FRAMES, progress: bool = True) -> dict[str, Path]:
    """Write one split of ``index`` as ST-GCN arrays (see the module docstring); returns the written paths.

    ``skeletons``: video id -> :class:`Skeleton` (any layout holding ``openpose22``'s joints), as a mapping or
    a function (e.g. a cached reader). Clips keep the index's row order. A clip past the end of its
    skeleton raises ``IndexError`` naming the skeleton's file and the clip.
    """
    part = index[index["split"] == split]
    if part.empty:
        known = sorted(index["split"].unique())
        raise ValueError(f"no clips of split {split!r} in the index (splits present: {known})")
    get = skeletons.__getitem__ if isinstance(skeletons, Mapping) else skeletons
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / f"{split}_{k}" for k in ("data.npy", "names.npy", "labels.npy", "label.json")}
    names = part["sample_id"].astype(str).tolist()
    labels = part["label"].to_numpy(np.int64)
    rows = zip(part["video"].to_numpy(), part["start_frame"].to_numpy(), part["end_frame"].to_numpy(), names)
    with atomic_path(paths["data.npy"]) as tmp:
        data = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(part), 3, frames, 22, 1))
        current, skeleton = None, None
        for i, (vid, start, end, name) in enumerate(progress_bar(list(rows), desc=f"ST-GCN {split}", unit="clip",
                                                                disable=not progress, leave=False)):
            if vid != current:
                current, skeleton = vid, get(int(vid)).to(STGCN_LAYOUT)  # convert once per video
            try:
                data[i] = clip_to_stgcn(skeleton, start, end, frames)
            except IndexError as exc:
                raise IndexError(f"clip {name}: {exc}") from None
        data.flush()
        del data
    for key, values in (("names.npy", np.array(names, dtype=str)), ("labels.npy", labels)):
        with atomic_open(paths[key], "wb") as f:
            np.save(f, values, allow_pickle=False)
    with atomic_open(paths["label.json"], "w") as f:
        json.dump({"sample_name": names, "label": labels.tolist()}, f)
    return paths


def read_stgcn_arrays(out_dir: str | os.PathLike, split: str, mmap: bool = True
                      ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """``(data (N,3,T,V,1) float32, names, labels int64)`` of one split written by :func:`write_stgcn_arrays`."""
    out_dir = Path(out_dir)
    data = np.load(out_dir / f"{split}_data.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
    names = np.load(out_dir / f"{split}_names.npy", allow_pickle=False).tolist()
    labels = np.load(out_dir / f"{split}_labels.npy", allow_pickle=False)
    if not (len(data) == len(names) == len(labels)):
        raise ValueError(f"{out_dir}: {split} arrays disagree in length: data {len(data)}, names {len(names)}, "
                         f"labels {len(labels)}")
    return data, names, labels


def write_submission_csv(path: str | os.PathLike, sample_ids: Sequence[str], predictions) -> None:
    """Write a MiGA submission: ``Id,Target`` rows, atomically.

    ``predictions``: MiGA labels (N,) or class scores (N, 32) (their argmax is written).
    """
    ids = [str(s) for s in sample_ids]
    pred = np.asarray(predictions)
    if pred.ndim == 2:
        if pred.shape[1] != NUM_CLASSES:
            raise ValueError(f"write_submission_csv({path}): scores must be (N, {NUM_CLASSES}), got {pred.shape}")
        pred = pred.argmax(axis=1)
    if pred.ndim != 1 or len(pred) != len(ids):
        raise ValueError(f"write_submission_csv({path}): {len(ids)} sample ids but predictions of shape {pred.shape}")
    if not np.issubdtype(pred.dtype, np.integer) and not np.all(np.mod(pred, 1) == 0):
        raise ValueError(f"write_submission_csv({path}): predictions must be integer labels or (N, 32) scores")
    pred = pred.astype(np.int64)
    bad = [s for s in ids if not _SAMPLE_ID.match(s)]
    if bad:
        raise ValueError(f"write_submission_csv({path}): sample ids must look like 0001_0, got {bad[:3]}")
    dup = pd.Series(ids)[pd.Series(ids).duplicated()].tolist()
    if dup:
        raise ValueError(f"write_submission_csv({path}): duplicate sample ids {dup[:3]}")
    if len(pred) and (pred.min() < 0 or pred.max() >= NUM_CLASSES):
        raise ValueError(f"write_submission_csv({path}): labels must be in 0..{NUM_CLASSES - 1}, "
                         f"got {int(pred.min())}..{int(pred.max())}")
    with atomic_open(path, "w", newline="") as f:
        pd.DataFrame({"Id": ids, "Target": pred}).to_csv(f, index=False, lineterminator="\n")


def read_submission_csv(path: str | os.PathLike) -> pd.DataFrame:
    """A submission CSV -> DataFrame ``Id`` (str), ``Target`` (int64); checks the header."""
    path = Path(path)
    df = pd.read_csv(path, dtype={"Id": str})
    if tuple(df.columns) != SUBMISSION_COLUMNS:
        raise ValueError(f"{path}: expected columns {SUBMISSION_COLUMNS}, got {tuple(df.columns)}")
    df["Target"] = df["Target"].astype(np.int64)
    return df
