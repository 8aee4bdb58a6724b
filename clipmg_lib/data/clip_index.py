"""The clip index: one DataFrame row per labelled clip, from whichever annotation form a root holds.

Columns (docs/ARCHITECTURE.md): ``sample_id, video, subject, start_frame, end_frame, raw_class, label,
split``; from the official CSV also ``label_id, start_time, end_time, gender, nationality, win_or_lose``.

Sources (``source=``):

``official_csv``  ``labels_20200831.csv``: subjects are known, so ``split`` is the cross-subject protocol
                  (:func:`~clipmg_lib.data.splits.clip_split`; MiGA's 10 validation videos are ``val``).
``label_csv``     every ``{vid}_label.csv`` of the MiGA layout; ``split`` is the folder's, ``subject`` -1.
``auto``          the official CSV when present, else the label CSVs. When both exist, each video's label
                  CSV must list the same clips as the official CSV (checked, error names both files).

Validation: an unknown class raises :class:`~clipmg_lib.data.classes.UnknownClassError` and a malformed
row :class:`~clipmg_lib.data.annotations.AnnotationFileError`, both naming the file and line. With
``check_lengths`` (default), each clip must end inside its video (decord's frame count of the mp4) and
inside its skeleton (rows of ``{vid}_light_hand.csv``), where those files exist. A clip past the end
raises :class:`ClipRangeError` naming the file, the clip and the length (``on_out_of_range='error'``,
the default: silently dropping clips would change the test set behind a reported number), or, with
``on_out_of_range='skip'``, is dropped with a logged warning per clip and listed in
``index.attrs['skipped']``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .annotations import (CLIP_INDEX_COLUMNS, AnnotationFileError, empty_clip_index, read_label_csv,
                          read_official_csv)
from .classes import NUM_CLASSES, class_names
from .layout_on_disk import IMiGUELayout
from .skeleton_io import count_light_hand_frames

log = logging.getLogger(__name__)

SOURCES = ("auto", "official_csv", "label_csv")


class ClipRangeError(IndexError):
    """A clip that ends past the last frame of its video or skeleton; the message names file and clip."""


def _label_csv_index(layout: IMiGUELayout, progress: bool) -> pd.DataFrame:
    vids = layout.skeleton_videos()
    if not vids:
        raise FileNotFoundError(
            f"{layout.root}: no official CSV ({layout.official_csv_path}) and no video folders under "
            "imigue_data_phase1/datasets/imigue_skeleton_{train,validate} or imigue_data_phase2/imigue_skeleton_test")
    parts = []
    for vid in tqdm(vids, desc="label CSVs", unit="video", disable=not progress, leave=False):
        clips = read_label_csv(layout.label_csv(vid), video=vid)
        clips["split"] = layout.split_of_video(vid)
        parts.append(clips)
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else empty_clip_index()


def _cross_check(index: pd.DataFrame, layout: IMiGUELayout, official: Path) -> None:
    """Each existing ``{vid}_label.csv`` lists the same clips (rows, frames, classes) as the official CSV."""
    cols = ["sample_id", "start_frame", "end_frame", "raw_class"]
    for vid, group in index.groupby("video", sort=True):
        try:
            path = layout.label_csv(int(vid))
        except FileNotFoundError:
            continue
        mine = read_label_csv(path, video=int(vid))[cols].reset_index(drop=True)
        theirs = group[cols].sort_values("sample_id", key=lambda s: s.str.split("_").str[1].astype(int))
        theirs = theirs.reset_index(drop=True)
        if not mine.equals(theirs):
            if len(mine) != len(theirs):
                detail = f"{len(mine)} clips against {len(theirs)}"
            else:
                i = int(np.flatnonzero((mine != theirs).any(axis=1).to_numpy())[0])
                detail = f"first difference at clip {mine.sample_id[i]}: {mine.iloc[i, 1:].tolist()} against {theirs.iloc[i, 1:].tolist()}"
            raise AnnotationFileError(f"{path} disagrees with {official} on video {int(vid)}: {detail}")


def _lengths(index: pd.DataFrame, layout: IMiGUELayout, progress: bool) -> list[tuple[int, Path, int]]:
    """(video, file, number of frames) for each existing mp4 and light_hand CSV of the index's videos."""
    from .video import ClipReader

    reader = ClipReader(layout, size=32, cache_size=1, num_threads=1)
    found = []
    for vid in tqdm(sorted(index["video"].unique()), desc="video lengths", unit="video", disable=not progress,
                    leave=False):
        vid = int(vid)
        for locate, count in ((layout.video_path, reader.num_frames), (layout.light_hand_csv, count_light_hand_frames)):
            try:
                path = locate(vid)
            except FileNotFoundError:
                continue
            found.append((vid, path, int(count(path))))
    reader.close()
    return found


def _check_lengths(index: pd.DataFrame, layout: IMiGUELayout, on_out_of_range: str, progress: bool) -> pd.DataFrame:
    bad = np.zeros(len(index), dtype=bool)
    video = index["video"].to_numpy()
    end = index["end_frame"].to_numpy()
    for vid, path, length in _lengths(index, layout, progress):
        over = (video == vid) & (end >= length)
        for i in np.flatnonzero(over & ~bad):
            row = index.iloc[i]
            msg = (f"{path}: clip {row.sample_id} (frames {row.start_frame}..{row.end_frame}) ends past the "
                   f"last frame {length - 1} ({length} frames)")
            if on_out_of_range == "error":
                raise ClipRangeError(msg + "; pass on_out_of_range='skip' to drop such clips")
            log.warning("skipping %s", msg)
        bad |= over
    skipped = index.loc[bad, "sample_id"].tolist()
    index = index.loc[~bad].reset_index(drop=True)
    index.attrs["skipped"] = skipped
    return index


def _sort(index: pd.DataFrame) -> pd.DataFrame:
    row = index["sample_id"].str.rsplit("_", n=1).str[1].astype(int)
    order = np.lexsort((row.to_numpy(), index["video"].to_numpy()))
    return index.iloc[order].reset_index(drop=True)


def build_clip_index(root: str | os.PathLike | IMiGUELayout, source: str = "auto", *,
                     official_csv: str | os.PathLike | None = None, check_lengths: bool = True,
                     on_out_of_range: str = "error", miga_validation: bool = True,
                     progress: bool = True) -> pd.DataFrame:
    """The clip index of an iMiGUE root (see the module docstring for sources and checks).

    Rows are sorted by video, then clip row. ``index.attrs['source']`` names the file(s) it came from;
    ``index.attrs['skipped']`` lists clips dropped by ``on_out_of_range='skip'``.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown clip index source {source!r}; expected one of {SOURCES}")
    if on_out_of_range not in ("error", "skip"):
        raise ValueError(f"on_out_of_range must be 'error' or 'skip', got {on_out_of_range!r}")
    layout = root if isinstance(root, IMiGUELayout) else IMiGUELayout(root, official_csv)
    if not layout.root.is_dir():
        raise FileNotFoundError(f"{layout.root}: dataset root not found (see data/README.md)")
    use_official = source == "official_csv" or (source == "auto" and layout.has_official_csv())
    if use_official:
        if not layout.has_official_csv():
            raise FileNotFoundError(f"{layout.official_csv_path}: official iMiGUE annotation CSV not found")
        index = read_official_csv(layout.official_csv_path, miga_validation=miga_validation)
        _cross_check(index, layout, layout.official_csv_path)
        origin = str(layout.official_csv_path)
    else:
        index = _label_csv_index(layout, progress)
        origin = str(layout.root / "*" / "{vid}_label.csv")
    index = _sort(index)
    if check_lengths and len(index):
        index = _check_lengths(index, layout, on_out_of_range, progress)
    else:
        index.attrs["skipped"] = []
    index.attrs["source"] = origin
    return index


def index_summary(index: pd.DataFrame) -> pd.DataFrame:
    """Clips, videos, subjects and classes per split (rows ``train``/``val``/``test``/``all``)."""
    rows = []
    for name, part in [*index.groupby("split", sort=False), ("all", index)]:
        subjects = part["subject"][part["subject"] >= 0]
        rows.append({"split": name, "clips": len(part), "videos": part["video"].nunique(),
                     "subjects": subjects.nunique() if len(subjects) else np.nan,
                     "classes": part["label"].nunique(),
                     "median_frames": float(np.median(part["end_frame"] - part["start_frame"] + 1)) if len(part) else np.nan})
    order = {"train": 0, "val": 1, "test": 2, "all": 9}
    return pd.DataFrame(rows).sort_values("split", key=lambda s: s.map(order).fillna(5)).reset_index(drop=True)


def class_counts(index: pd.DataFrame) -> pd.DataFrame:
    """Clips per class and split: one row per MiGA label 0..31 (``label``, ``name``, one column per split, ``all``)."""
    table = pd.crosstab(index["label"], index["split"]).reindex(range(NUM_CLASSES), fill_value=0)
    table = table[[s for s in ("train", "val", "test") if s in table.columns]]
    table.columns.name = None
    table["all"] = table.sum(axis=1)
    table.insert(0, "name", class_names())
    return table.rename_axis("label").reset_index()
