"""Readers and writers of iMiGUE's three annotation forms, all giving the clip index of docs/ARCHITECTURE.md.

====================  ==============================================  =========================================
form                  file                                            what it knows
====================  ==============================================  =========================================
official CSV          ``labels_20200831.csv`` (header row)             every clip, subject, gender, emotion label
MiGA label CSV        ``{vid}_label.csv`` (no header)                  ``rawclass,start_frame,end_frame`` per clip
raw label text        ``Label/raw/{vid}.txt`` (no header, tabs)        ``start_sec<TAB>end_sec<TAB>class`` per clip
====================  ==============================================  =========================================

Frames are 0-based and inclusive at 25 fps. Seconds become frames as ``floor(seconds * fps)`` in float64,
exactly how the official CSV was derived: the rule reproduces all 18,498 of its clips, while a "safer"
rounding epsilon would disagree on six (e.g. 37.8 s -> 944, because 37.8 * 25 is 944.999... in binary).

Every reader raises :class:`AnnotationFileError` naming the file and line for a malformed row,
:class:`~clipmg_lib.data.classes.UnknownClassError` naming the file and line for a class outside
1..31 / 99, and ``FileNotFoundError`` naming the file when it is absent.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..core.atomic import atomic_open
from .classes import UnknownClassError, class_table, raw_to_label
from .splits import clip_split

#: iMiGUE's frame rate: its release videos run at 25 fps, and its annotation seconds convert to frames at it.
IMIGUE_FPS = 25

#: Columns of the clip index, in order (docs/ARCHITECTURE.md).
CLIP_INDEX_COLUMNS = ("sample_id", "video", "subject", "start_frame", "end_frame", "raw_class", "label", "split")

#: Columns of the official annotation CSV, in order.
OFFICIAL_COLUMNS = ("video_id", "label_id", "start_time", "start_frame", "end_time", "end_frame", "class",
                    "subject_id", "subject_gender", "subject_nationality", "win_or_lose")

#: Extra columns :func:`read_official_csv` keeps next to the clip index columns.
OFFICIAL_EXTRA_COLUMNS = ("label_id", "start_time", "end_time", "gender", "nationality", "win_or_lose")

_LABEL_CSV_NAME = re.compile(r"^(\d+)_label\.csv$")
_RAW_TXT_NAME = re.compile(r"^(\d+)\.txt$")


class AnnotationFileError(ValueError):
    """An annotation file that cannot be read; the message names the file, the line and the problem."""


def sample_id(video: int, clip_row: int) -> str:
    """``{vid:04d}_{i}``: the MiGA sample name of clip ``i`` (0-based row in ``{vid}_label.csv``) of a video."""
    return f"{int(video):04d}_{int(clip_row)}"


def seconds_to_frame(seconds, fps: float = IMIGUE_FPS):
    """``floor(seconds * fps)`` (float64), the rule the official CSV uses; scalar or array."""
    return np.floor(np.asarray(seconds, dtype=np.float64) * fps).astype(np.int64)


def frame_to_seconds(frame, fps: float = IMIGUE_FPS):
    """The middle of a frame in seconds, ``(frame + 0.5) / fps``; :func:`seconds_to_frame` inverts it exactly."""
    return (np.asarray(frame, dtype=np.float64) + 0.5) / fps


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")


def _check_classes(raw: np.ndarray, path: Path, lines: np.ndarray) -> np.ndarray:
    """MiGA labels of raw class ids; an unknown id raises naming the file and its first line."""
    known = set(class_table()["raw_id"].astype(int))
    bad = np.array([int(r) not in known for r in raw], dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UnknownClassError(
            f"{path}, line {int(lines[i])}: unknown iMiGUE class id {int(raw[i])} "
            f"({int(bad.sum())} row(s) in all); expected 1..31 or 99")
    return raw_to_label(raw, source=str(path)) if len(raw) else np.zeros(0, dtype=np.int64)


def _check_ranges(start: np.ndarray, end: np.ndarray, path: Path, lines: np.ndarray) -> None:
    bad = (start < 0) | (end < start)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnnotationFileError(
            f"{path}, line {int(lines[i])}: invalid frame range {int(start[i])}..{int(end[i])} "
            "(need 0 <= start_frame <= end_frame)")


def _clip_frame(sample_ids, video, subject, start, end, raw, label, split) -> pd.DataFrame:
    """A clip index DataFrame with the documented column order and dtypes."""
    n = len(sample_ids)
    df = pd.DataFrame({
        "sample_id": pd.Series(list(sample_ids), dtype=str),
        "video": np.broadcast_to(np.asarray(video, dtype=np.int64), (n,)).copy(),
        "subject": np.broadcast_to(np.asarray(subject, dtype=np.int64), (n,)).copy(),
        "start_frame": np.asarray(start, dtype=np.int64),
        "end_frame": np.asarray(end, dtype=np.int64),
        "raw_class": np.asarray(raw, dtype=np.int64),
        "label": np.asarray(label, dtype=np.int64),
        "split": pd.Series(list(split) if not isinstance(split, str) else [split] * n, dtype=str),
    })
    return df


def empty_clip_index() -> pd.DataFrame:
    """A clip index with no rows (the right columns and dtypes)."""
    e = np.zeros(0, dtype=np.int64)
    return _clip_frame([], e, e, e, e, e, e, [])


# ----------------------------------------------------------------------------------------- official CSV

def _parse_int_column(series: pd.Series, path: Path, column: str, numeric=int) -> np.ndarray:
    values = pd.to_numeric(series.str.strip(), errors="coerce")
    bad = values.isna().to_numpy().copy()
    if numeric is int:
        bad |= values.fillna(0).to_numpy(np.float64) % 1 != 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "an integer" if numeric is int else "a number"
        raise AnnotationFileError(
            f"{path}, line {i + 2}: column {column!r} must be {kind}, got {series.iloc[i]!r}")
    return values.to_numpy(np.int64 if numeric is int else np.float64)


def read_official_csv(path: str | os.PathLike, miga_validation: bool = True) -> pd.DataFrame:
    """The official ``labels_20200831.csv`` -> clip index (+ extra columns), one row per clip.

    ``sample_id`` is ``{vid:04d}_{label_id - 1}``; ``split`` is :func:`~clipmg_lib.data.splits.clip_split`
    of the subject (cross-subject protocol; the MiGA validation videos are ``'val'`` when ``miga_validation``).
    Extra columns: ``label_id``, ``start_time``, ``end_time`` (seconds), ``gender``, ``nationality``,
    ``win_or_lose``. Rows keep the file's order.
    """
    path = Path(path)
    _require_file(path, "official iMiGUE annotation CSV")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise AnnotationFileError(f"{path}: empty file; expected the header {','.join(OFFICIAL_COLUMNS)}") from None
    except pd.errors.ParserError as exc:
        raise AnnotationFileError(f"{path}: malformed CSV ({exc})") from None
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in OFFICIAL_COLUMNS if c not in raw.columns]
    if missing:
        raise AnnotationFileError(f"{path}: missing column(s) {missing}; expected {','.join(OFFICIAL_COLUMNS)}")
    raw = raw.fillna("")  # a short row's missing fields
    numeric_columns = [c for c in OFFICIAL_COLUMNS if c not in ("subject_gender", "subject_nationality", "win_or_lose")]
    short = (raw[numeric_columns] == "").any(axis=1).to_numpy()
    if short.any():
        i = int(np.flatnonzero(short)[0])
        empty = [c for c in numeric_columns if raw[c].iloc[i] == ""]
        raise AnnotationFileError(f"{path}, line {i + 2}: empty field(s) {empty} (malformed row)")

    video = _parse_int_column(raw["video_id"], path, "video_id")
    label_id = _parse_int_column(raw["label_id"], path, "label_id")
    start = _parse_int_column(raw["start_frame"], path, "start_frame")
    end = _parse_int_column(raw["end_frame"], path, "end_frame")
    cls = _parse_int_column(raw["class"], path, "class")
    subject = _parse_int_column(raw["subject_id"], path, "subject_id")
    start_time = _parse_int_column(raw["start_time"], path, "start_time", numeric=float)
    end_time = _parse_int_column(raw["end_time"], path, "end_time", numeric=float)
    lines = np.arange(len(raw)) + 2

    if (label_id < 1).any():
        i = int(np.flatnonzero(label_id < 1)[0])
        raise AnnotationFileError(f"{path}, line {lines[i]}: label_id must be >= 1, got {label_id[i]}")
    _check_ranges(start, end, path, lines)
    label = _check_classes(cls, path, lines)
    ids = [sample_id(v, k - 1) for v, k in zip(video, label_id)]
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise AnnotationFileError(f"{path}, line {lines[i]}: duplicate clip (video_id {video[i]}, label_id {label_id[i]})")

    split = [clip_split(s, v, miga_validation) for s, v in zip(subject, video)]
    df = _clip_frame(ids, video, subject, start, end, cls, label, split)
    df["label_id"] = label_id
    df["start_time"] = start_time
    df["end_time"] = end_time
    df["gender"] = raw["subject_gender"].str.strip().to_numpy()
    df["nationality"] = raw["subject_nationality"].str.strip().to_numpy()
    df["win_or_lose"] = raw["win_or_lose"].str.strip().to_numpy()
    return df


def write_official_csv(path: str | os.PathLike, df: pd.DataFrame, fps: float = IMIGUE_FPS) -> None:
    """Write a clip index as the official CSV (the inverse of :func:`read_official_csv`), atomically.

    Uses the extra columns where present; otherwise ``label_id`` comes from the ``sample_id`` suffix + 1,
    times are the middle of the start/end frames (``(frame + 0.5) / fps``, 4 decimals, which
    :func:`seconds_to_frame` maps back to the same frames) and gender / nationality / win_or_lose are empty.
    """
    need = ["sample_id", "video", "subject", "start_frame", "end_frame", "raw_class"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"write_official_csv({path}): clip index lacks column(s) {missing}")
    n = len(df)
    if "label_id" in df.columns:
        label_id = df["label_id"].to_numpy(np.int64)
    else:
        label_id = np.array([int(s.rsplit("_", 1)[1]) + 1 for s in df["sample_id"]], dtype=np.int64)

    def times(col: str, frames: str) -> np.ndarray:
        if col in df.columns:
            return df[col].to_numpy(np.float64)
        return np.round(frame_to_seconds(df[frames].to_numpy()), 4)

    def text(col: str) -> list[str]:
        return df[col].astype(str).tolist() if col in df.columns else [""] * n

    out = pd.DataFrame({
        "video_id": df["video"].to_numpy(np.int64),
        "label_id": label_id,
        "start_time": times("start_time", "start_frame"),
        "start_frame": df["start_frame"].to_numpy(np.int64),
        "end_time": times("end_time", "end_frame"),
        "end_frame": df["end_frame"].to_numpy(np.int64),
        "class": df["raw_class"].to_numpy(np.int64),
        "subject_id": df["subject"].to_numpy(np.int64),
        "subject_gender": text("gender"),
        "subject_nationality": text("nationality"),
        "win_or_lose": text("win_or_lose"),
    })
    with atomic_open(path, "w", newline="") as f:
        out.to_csv(f, index=False, float_format="%.4f", lineterminator="\n")


# ------------------------------------------------------------------------------------ MiGA {vid}_label.csv

def _video_from_name(path: Path, pattern: re.Pattern, what: str) -> int:
    m = pattern.match(path.name)
    if not m:
        raise AnnotationFileError(
            f"{path}: cannot tell the video id from the file name (expected {what}); pass video=...")
    return int(m.group(1))


def _parse_int_field(text: str) -> int:
    value = float(text)
    if not math.isfinite(value) or value != int(value):
        raise ValueError(text)
    return int(value)


def _is_header(fields: Sequence[str]) -> bool:
    def numeric(x: str) -> bool:
        try:
            float(x)
            return True
        except ValueError:
            return False
    return len(fields) > 0 and not any(numeric(f) for f in fields)


def _read_rows(path: Path, fields: int, split_line, what: str, converters) -> tuple[list[tuple], list[int]]:
    """Parse a small header-less table; a first line with no number in it is taken as a header and skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AnnotationFileError(f"{path}: not a text file (cannot decode as UTF-8)") from None
    rows, lines = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in split_line(line)]
        if not rows and lineno == 1 and _is_header(parts):
            continue
        if len(parts) != fields:
            raise AnnotationFileError(
                f"{path}, line {lineno}: expected {fields} fields ({what}), got {len(parts)}: {line!r}")
        try:
            rows.append(tuple(conv(p) for conv, p in zip(converters, parts)))
        except ValueError:
            raise AnnotationFileError(f"{path}, line {lineno}: non-numeric field in {line!r} (expected {what})") from None
        lines.append(lineno)
    return rows, lines


def read_label_csv(path: str | os.PathLike, video: int | None = None) -> pd.DataFrame:
    """MiGA ``{vid}_label.csv`` (no header, rows ``rawclass,start_frame,end_frame``) -> clip index.

    ``video`` defaults to the number in the file name (``12_label.csv`` or ``0012_label.csv``).
    ``sample_id`` is ``{vid:04d}_{i}`` with ``i`` the 0-based clip row; ``subject`` is -1 and ``split`` ''
    (the folder, not the file, tells the split: see :class:`~clipmg_lib.data.release_files.ReleaseFiles`).
    An empty file gives an empty index (a video with no labelled clip).
    """
    path = Path(path)
    _require_file(path, "MiGA label CSV")
    vid = _video_from_name(path, _LABEL_CSV_NAME, "{vid}_label.csv") if video is None else int(video)
    rows, lines = _read_rows(path, 3, lambda line: next(csv.reader([line])), "rawclass,start_frame,end_frame",
                             (_parse_int_field,) * 3)
    if not rows:
        return empty_clip_index()
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    lines = np.asarray(lines)
    _check_ranges(arr[:, 1], arr[:, 2], path, lines)
    label = _check_classes(arr[:, 0], path, lines)
    ids = [sample_id(vid, i) for i in range(len(arr))]
    return _clip_frame(ids, vid, -1, arr[:, 1], arr[:, 2], arr[:, 0], label, "")


def _clip_rows(clips) -> np.ndarray:
    """(N, 3) int64 ``raw_class, start_frame, end_frame`` from a DataFrame or a sequence of triples."""
    if isinstance(clips, pd.DataFrame):
        missing = [c for c in ("raw_class", "start_frame", "end_frame") if c not in clips.columns]
        if missing:
            raise ValueError(f"clips lack column(s) {missing}")
        return clips[["raw_class", "start_frame", "end_frame"]].to_numpy(np.int64)
    arr = np.asarray(list(clips), dtype=np.int64)
    if arr.size == 0:
        return arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"clips must be (raw_class, start_frame, end_frame) triples, got shape {arr.shape}")
    return arr


def write_label_csv(path: str | os.PathLike, clips: pd.DataFrame | Iterable[Sequence[int]]) -> None:
    """Write ``{vid}_label.csv`` rows ``raw_class,start_frame,end_frame`` (no header), atomically.

    ``clips``: a clip index (its ``raw_class``, ``start_frame``, ``end_frame`` columns, in row order) or
    an iterable of ``(raw_class, start_frame, end_frame)``. Class ids are checked (1..31 or 99).
    """
    arr = _clip_rows(clips)
    if len(arr):
        raw_to_label(arr[:, 0], source=str(path))
        _check_ranges(arr[:, 1], arr[:, 2], Path(path), np.arange(1, len(arr) + 1))
    buf = io.StringIO()
    for raw, start, end in arr:
        buf.write(f"{raw},{start},{end}\n")
    with atomic_open(path, "w", newline="") as f:
        f.write(buf.getvalue())


# ----------------------------------------------------------------------------------- Label/raw/{vid}.txt

def read_raw_label_txt(path: str | os.PathLike, video: int | None = None, fps: float = IMIGUE_FPS) -> pd.DataFrame:
    """Raw per-video labels ``Label/raw/{vid}.txt`` (rows ``start_sec<TAB>end_sec<TAB>class``) -> clip index.

    Seconds become frames with :func:`seconds_to_frame` (``floor(s * fps)``, the official CSV's rule), so the
    result matches the official CSV's frames. ``video`` defaults to the number in the file name.
    """
    path = Path(path)
    _require_file(path, "raw label file")
    vid = _video_from_name(path, _RAW_TXT_NAME, "{vid}.txt") if video is None else int(video)
    rows, lines = _read_rows(path, 3, lambda line: line.split("\t") if "\t" in line else line.split(),
                             "start_sec<TAB>end_sec<TAB>class", (float, float, _parse_int_field))
    if not rows:
        return empty_clip_index()
    secs = np.array([r[:2] for r in rows], dtype=np.float64)
    if not np.isfinite(secs).all():
        i = int(np.flatnonzero(~np.isfinite(secs).all(axis=1))[0])
        raise AnnotationFileError(f"{path}, line {lines[i]}: non-finite time")
    raw = np.array([r[2] for r in rows], dtype=np.int64)
    start, end = seconds_to_frame(secs[:, 0], fps), seconds_to_frame(secs[:, 1], fps)
    lines = np.asarray(lines)
    _check_ranges(start, end, path, lines)
    label = _check_classes(raw, path, lines)
    ids = [sample_id(vid, i) for i in range(len(raw))]
    return _clip_frame(ids, vid, -1, start, end, raw, label, "")


def write_raw_label_txt(path: str | os.PathLike, clips: pd.DataFrame, fps: float = IMIGUE_FPS) -> None:
    """Write ``Label/raw/{vid}.txt`` from a clip index, atomically (times: ``start_time``/``end_time``
    columns when present, else the middle of the frames, so :func:`read_raw_label_txt` gives them back)."""
    n = len(clips)
    st = clips["start_time"].to_numpy(float) if "start_time" in clips else np.round(frame_to_seconds(clips["start_frame"]), 4)
    et = clips["end_time"].to_numpy(float) if "end_time" in clips else np.round(frame_to_seconds(clips["end_frame"]), 4)
    raw = clips["raw_class"].to_numpy(np.int64)
    with atomic_open(path, "w", newline="") as f:
        for i in range(n):
            f.write(f"{st[i]:.4f}\t{et[i]:.4f}\t{raw[i]}\n")
