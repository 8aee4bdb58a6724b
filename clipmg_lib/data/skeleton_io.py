"""Readers and writers of iMiGUE's skeleton files; each gives a :class:`~clipmg_lib.data.skeleton.Skeleton`.

====================================  ===============  ===================================================
file                                  layout           format
====================================  ===============  ===================================================
``{vid}_light_hand.csv``              ``light_hand35``  an index column + 35 joints x (x, y, c) = 106 columns;
                                                       a header row may or may not be present (detected)
``{vid}_openpose.xlsx``               ``openpose137``   no header, (T, 411): 137 joints x (x, y, c)
``{vid}_{frame:012d}_keypoints.json``  ``openpose137``   one OpenPose 1.3 JSON per frame, in one folder
====================================  ===============  ===================================================

Every reader raises :class:`~clipmg_lib.data.skeleton.SkeletonFileError` naming the file for a missing file
(:class:`SkeletonFileNotFoundError`, which is also a ``FileNotFoundError``), an empty file (videos 347 and 348
really ship empty), a wrong column count and a non-numeric value (with the line). Writers are atomic.
"""
from __future__ import annotations

import io
import json
import os
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_open, atomic_path
from .joint_layouts import get_layout
from .skeleton import Skeleton, SkeletonFileError

LIGHT_HAND_JOINTS = 35
LIGHT_HAND_COLUMNS = 1 + 3 * LIGHT_HAND_JOINTS  # 106
OPENPOSE_JOINTS = 137
OPENPOSE_COLUMNS = 3 * OPENPOSE_JOINTS  # 411

_JSON_NAME = re.compile(r"^(?P<vid>\d+)_(?P<frame>\d+)_keypoints\.json$")
_JSON_PARTS = ("pose_keypoints_2d", "face_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d")
_JSON_PART_JOINTS = (25, 70, 21, 21)


class SkeletonFileNotFoundError(SkeletonFileError, FileNotFoundError):
    """A skeleton file or folder that does not exist (catchable as either parent)."""


def light_hand_header() -> list[str]:
    """Header row written by :func:`write_light_hand_csv`: ``frame`` then ``{joint}_x, _y, _c`` per joint."""
    names = get_layout("light_hand35").names
    return ["frame"] + [f"{n}_{c}" for n in names for c in ("x", "y", "c")]


def _require_file(path: Path) -> None:
    if not path.exists():
        raise SkeletonFileNotFoundError(f"{path}: skeleton file not found")
    if not path.is_file():
        raise SkeletonFileError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise SkeletonFileError(f"{path}: empty file (no frames)")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _first_bad_cell(frame: pd.DataFrame, path: Path, first_line: int) -> SkeletonFileError:
    """The error for the first non-numeric cell of a string table (``first_line``: file line of row 0)."""
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy()
    r, c = (int(x[0]) for x in np.nonzero(bad))
    return SkeletonFileError(
        f"{path}, line {first_line + r}: non-numeric value {frame.iat[r, c]!r} in column {c + 1}")


# ------------------------------------------------------------------------------------ light_hand CSV

def read_light_hand_csv(path: str | os.PathLike, img_shape: tuple[int, int] | None = None) -> Skeleton:
    """``{vid}_light_hand.csv`` -> ``Skeleton`` (T, 35, 3) in layout ``light_hand35``.

    The first column is a frame index (ignored: rows are frames in order); a first row holding any
    non-numeric field is a header. ``img_shape`` (H, W) is recorded on the skeleton when given.
    """
    path = Path(path)
    _require_file(path)
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        first = f.readline().rstrip("\r\n")
        second = f.readline().rstrip("\r\n")
    fields = first.split(",")
    has_header = not all(_is_number(x) for x in fields if x.strip() != "") or all(x.strip() == "" for x in fields)
    data_line, lineno = (second, 2) if has_header else (first, 1)  # a header may name fewer columns
    if has_header and not second.strip():
        raise SkeletonFileError(f"{path}: no frames (only a header row)")
    if len(data_line.split(",")) != LIGHT_HAND_COLUMNS:
        raise SkeletonFileError(f"{path}, line {lineno}: expected {LIGHT_HAND_COLUMNS} columns "
                                f"(an index + 35 joints x 3), got {len(data_line.split(','))}")
    try:
        table = pd.read_csv(path, header=None, skiprows=1 if has_header else 0, dtype=np.float64,
                            engine="c", encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise SkeletonFileError(f"{path}: no frames (only a header row)") from None
    except pd.errors.ParserError as exc:
        raise SkeletonFileError(f"{path}: wrong column count: {str(exc).strip()} (expected {LIGHT_HAND_COLUMNS})") from None
    except ValueError:
        table = pd.read_csv(path, header=None, skiprows=1 if has_header else 0, dtype=str, encoding="utf-8-sig")
        raise _first_bad_cell(table, path, 2 if has_header else 1) from None
    if table.shape[1] != LIGHT_HAND_COLUMNS:
        raise SkeletonFileError(f"{path}: expected {LIGHT_HAND_COLUMNS} columns, got {table.shape[1]}")
    values = table.to_numpy(np.float64)
    if np.isnan(values).any():
        r = int(np.nonzero(np.isnan(values).any(axis=1))[0][0])
        raise SkeletonFileError(
            f"{path}, line {r + (2 if has_header else 1)}: missing value(s) (short row or empty field)")
    if len(values) == 0:
        raise SkeletonFileError(f"{path}: no frames (only a header row)")
    data = values[:, 1:].reshape(-1, LIGHT_HAND_JOINTS, 3).astype(np.float32)
    return Skeleton(data, "light_hand35", img_shape, str(path))


def count_light_hand_frames(path: str | os.PathLike) -> int:
    """Number of frames (data rows) of a ``{vid}_light_hand.csv`` without parsing it (a header is not counted)."""
    path = Path(path)
    _require_file(path)
    rows, last, first_line = 0, b"\n", b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            if not first_line:
                first_line = chunk.split(b"\n", 1)[0]
            rows += chunk.count(b"\n")
            last = chunk[-1:]
    rows += last != b"\n"  # a last line without a newline
    fields = first_line.decode("utf-8-sig", errors="replace").strip().split(",")
    if not all(_is_number(x) for x in fields if x.strip()):
        rows -= 1
    if rows <= 0:
        raise SkeletonFileError(f"{path}: no frames (only a header row)")
    return rows


def read_skeleton(path: str | os.PathLike, img_shape: tuple[int, int] | None = None) -> Skeleton:
    """Any skeleton file by its form: ``*_light_hand.csv``, ``*.xlsx`` or an OpenPose JSON folder."""
    path = Path(path)
    if path.is_dir():
        return read_openpose_json_dir(path, img_shape)
    if path.suffix.lower() == ".xlsx":
        return read_openpose_xlsx(path, img_shape)
    return read_light_hand_csv(path, img_shape)


def write_light_hand_csv(path: str | os.PathLike, skeleton: Skeleton, header: bool = True) -> None:
    """Write ``{vid}_light_hand.csv`` (frame index + 105 values per row), atomically.

    Converts from ``openpose137`` when needed. Values are written with 9 significant digits, which
    round-trip float32 exactly, so :func:`read_light_hand_csv` gives back the same array.
    """
    sk = skeleton.to("light_hand35")
    flat = sk.data.reshape(sk.num_frames, -1).astype(np.float64)
    table = np.concatenate([np.arange(sk.num_frames, dtype=np.float64)[:, None], flat], axis=1)
    buf = io.StringIO()
    if header:
        buf.write(",".join(light_hand_header()) + "\n")
    np.savetxt(buf, table, fmt=["%d"] + ["%.9g"] * flat.shape[1], delimiter=",")
    with atomic_open(path, "w", newline="") as f:
        f.write(buf.getvalue())


# ----------------------------------------------------------------------------------------- openpose xlsx

def read_openpose_xlsx(path: str | os.PathLike, img_shape: tuple[int, int] | None = None) -> Skeleton:
    """``{vid}_openpose.xlsx`` (first sheet, no header, (T, 411)) -> ``Skeleton`` (T, 137, 3), ``openpose137``.

    Empty cells (openpyxl gives ``None``) are read as 0, i.e. a missing joint. openpyxl parses about
    300 rows/s on this form (a 14-minute video, 21k rows, takes about 70 s): prefer the light_hand CSV
    (or the JSON folder) when both exist.
    """
    import openpyxl

    path = Path(path)
    _require_file(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SkeletonFileError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        ws = wb.worksheets[0]
        rows = []
        for lineno, row in enumerate(ws.iter_rows(values_only=True), start=1):  # no per-row bar: callers show one per file set
            while row and row[-1] is None:
                row = row[:-1]
            if not row:
                continue
            if len(row) != OPENPOSE_COLUMNS:
                raise SkeletonFileError(
                    f"{path}, row {lineno}: expected {OPENPOSE_COLUMNS} columns (137 joints x 3), got {len(row)}")
            try:
                rows.append([0.0 if v is None else float(v) for v in row])
            except (TypeError, ValueError):
                bad = next(v for v in row if v is not None and not _is_number(str(v)))
                raise SkeletonFileError(f"{path}, row {lineno}: non-numeric value {bad!r}") from None
    finally:
        wb.close()
    if not rows:
        raise SkeletonFileError(f"{path}: empty workbook (no frames)")
    data = np.asarray(rows, dtype=np.float32).reshape(-1, OPENPOSE_JOINTS, 3)
    return Skeleton(data, "openpose137", img_shape, str(path))


def write_openpose_xlsx(path: str | os.PathLike, skeleton: Skeleton) -> None:
    """Write the 411-column ``{vid}_openpose.xlsx`` form (no header), atomically. Needs ``openpose137``."""
    import openpyxl

    if skeleton.layout != "openpose137":
        raise ValueError(f"write_openpose_xlsx({path}): needs an openpose137 skeleton, got {skeleton.layout}")
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet()
    for row in skeleton.data.reshape(skeleton.num_frames, -1).tolist():
        ws.append(row)
    with atomic_path(path) as tmp:
        wb.save(tmp)


# ------------------------------------------------------------------------------------ OpenPose JSON folder

def _parse_openpose_json(path: Path) -> np.ndarray:
    """One frame's (137, 3) joints: the person with the highest mean pose confidence; zeros if nobody."""
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SkeletonFileError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise SkeletonFileError(f"{path}: cannot read ({exc})") from None
    people = doc.get("people") if isinstance(doc, dict) else None
    if people is None:
        raise SkeletonFileError(f"{path}: no 'people' list (not an OpenPose keypoints file)")
    out = np.zeros((OPENPOSE_JOINTS, 3), dtype=np.float32)
    if not people:
        return out
    if len(people) > 1:
        def pose_conf(p: dict) -> float:
            pose = p.get("pose_keypoints_2d") or []
            return float(np.mean(pose[2::3])) if len(pose) >= 3 else 0.0
        person = max(people, key=pose_conf)
    else:
        person = people[0]
    offset = 0
    for key, joints in zip(_JSON_PARTS, _JSON_PART_JOINTS):
        values = person.get(key) or []
        if values:
            if len(values) != 3 * joints:
                raise SkeletonFileError(f"{path}: {key} has {len(values)} values, expected {3 * joints}")
            try:
                out[offset:offset + joints] = np.asarray(values, dtype=np.float32).reshape(joints, 3)
            except (TypeError, ValueError):
                raise SkeletonFileError(f"{path}: non-numeric value in {key}") from None
        offset += joints
    return out


def count_openpose_json_frames(folder: str | os.PathLike) -> int:
    """Frames of an OpenPose JSON folder (its highest frame number + 1) from the file names, without parsing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SkeletonFileNotFoundError(f"{folder}: OpenPose JSON folder not found")
    frames = [int(m.group("frame")) for e in os.scandir(folder) if (m := _JSON_NAME.match(e.name))]
    if not frames:
        raise SkeletonFileError(f"{folder}: empty folder (no *_{{frame:012d}}_keypoints.json files)")
    return max(frames) + 1


def read_openpose_json_dir(folder: str | os.PathLike, img_shape: tuple[int, int] | None = None,
                           workers: int = 4) -> Skeleton:
    """A folder of OpenPose ``{vid}_{frame:012d}_keypoints.json`` -> ``Skeleton`` (T, 137, 3), ``openpose137``.

    Frames are ordered by the number in the file name; ``T = max frame + 1``; a frame without a file or
    without a person is all zeros; with several people, the one with the highest mean pose confidence is
    kept. Files are read by a small thread pool (the reads overlap; parsing holds the GIL). No progress bar
    here, as for the xlsx reader: a folder is one video's file set, and callers that read many videos
    (``ClipDataset.preload_skeletons``, :func:`~clipmg_lib.data.skeleton_store.convert_skeletons`) show one bar
    over the videos.
    """
    folder = Path(folder)
    if not folder.exists():
        raise SkeletonFileNotFoundError(f"{folder}: OpenPose JSON folder not found")
    if not folder.is_dir():
        raise SkeletonFileError(f"{folder}: not a folder (expected OpenPose *_keypoints.json files)")
    frames: dict[int, Path] = {}
    for entry in os.scandir(folder):
        m = _JSON_NAME.match(entry.name)
        if m:
            frame = int(m.group("frame"))
            if frame in frames:
                raise SkeletonFileError(f"{folder}: two files for frame {frame}: {frames[frame].name}, {entry.name}")
            frames[frame] = Path(entry.path)
    if not frames:
        raise SkeletonFileError(f"{folder}: empty folder (no *_{{frame:012d}}_keypoints.json files)")
    order = sorted(frames)
    data = np.zeros((order[-1] + 1, OPENPOSE_JOINTS, 3), dtype=np.float32)
    paths = [frames[i] for i in order]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(_parse_openpose_json, paths, chunksize=256)
        for i, joints in zip(order, results):
            data[i] = joints
    return Skeleton(data, "openpose137", img_shape, str(folder))
