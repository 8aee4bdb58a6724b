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
``check_lengths`` (default), every video's files are checked before anything else runs (so that nothing
fails hours later inside a cache build): the mp4 opens and decodes as far as its header says (a truncated
file is reported as truncated: header frames against decodable frames), the skeleton file (light_hand CSV,
else OpenPose xlsx, else the per-frame OpenPose JSON folder) exists where the root has skeletons for other
videos, is not empty, and every clip ends inside both.

The data policy ``on_bad_data`` (also ``TrainConfig.on_bad_data``, ``--set on_bad_data=skip``, and the
notebooks' parameter of that name) decides what a problem does:

``'error'`` (default)  one :class:`BadDataError` listing EVERY bad file with its problem and the clips it
                       affects (silently dropping clips would change the test set behind a reported number);
``'skip'``             the affected clips are dropped; :func:`skipped_report` ``(index)`` is a DataFrame
                       (``sample_id, video, file, problem``), ``index.attrs['skipped']`` its sample ids, the
                       counts are logged, and ``skipped_csv=`` writes the report (the training run writes
                       ``<out>/skipped.csv``).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .annotations import (CLIP_INDEX_COLUMNS, AnnotationFileError, empty_clip_index, read_label_csv,
                          read_official_csv)
from .classes import NUM_CLASSES, class_names
from .release_files import ReleaseFiles
from .skeleton_io import count_light_hand_frames
from ..core.progress import progress_bar

log = logging.getLogger(__name__)

SOURCES = ("auto", "official_csv", "label_csv")


DATA_POLICIES = ("error", "skip")
REPORT_COLUMNS = ["sample_id", "video", "file", "problem"]


class BadDataError(ValueError):
    """Bad dataset files found by the index checks; the message lists every file, its problem and its clips."""


class ClipRangeError(BadDataError, IndexError):
    """Only clips that end past the last frame of their video or skeleton; the message names files and clips."""


def _label_csv_index(layout: ReleaseFiles, progress: bool) -> pd.DataFrame:
    vids = layout.skeleton_videos()
    if not vids:
        raise FileNotFoundError(
            f"{layout.root}: no official CSV ({layout.official_csv_path}) and no video folders under "
            "imigue_data_phase1/datasets/imigue_skeleton_{train,validate} or imigue_data_phase2/imigue_skeleton_test")
    parts = []
    for vid in progress_bar(vids, desc="label CSVs", unit="video", disable=not progress, leave=False):
        clips = read_label_csv(layout.label_csv(vid), video=vid)
        clips["split"] = layout.split_of_video(vid)
        parts.append(clips)
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else empty_clip_index()


def _cross_check(index: pd.DataFrame, layout: ReleaseFiles, official: Path) -> None:
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


def _skeleton_length(layout: ReleaseFiles, vid: int) -> tuple[Path | None, int | None, str | None]:
    """(skeleton file, frames, problem) of the skeleton :meth:`ReleaseFiles.skeleton_path` picks (None: none)."""
    from .skeleton import SkeletonFileError
    from .skeleton_io import count_openpose_json_frames, read_skeleton

    try:
        path = layout.skeleton_path(vid)
    except FileNotFoundError:
        return None, None, None
    try:
        if path.is_dir():
            n = count_openpose_json_frames(path)
        else:
            n = count_light_hand_frames(path) if path.suffix == ".csv" else read_skeleton(path).num_frames
    except (SkeletonFileError, ValueError, OSError) as exc:
        return path, None, f"unreadable skeleton file: {str(exc).removeprefix(str(path) + ': ')}"
    if n <= 0:
        return path, None, "empty skeleton file (no frames)"
    return path, n, None


def _check_videos(layout: ReleaseFiles, clips: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]],
                  has_skeletons: bool) -> list[tuple]:
    """Report rows of the videos in ``clips`` (``(vid, sample_ids, start_frames, end_frames)`` each); module
    level, so that :func:`find_bad_data` can run it in worker processes."""
    from .decoders import VideoFileError, header_frames
    from .video import ClipReader

    reader = ClipReader(layout, size=32, cache_size=1, num_threads=1)
    rows: list[tuple] = []

    def over(vid: int, sids, starts, ends, n: int, path) -> None:
        for i in np.flatnonzero(ends >= n):
            rows.append((sids[i], vid, str(path), f"clip {sids[i]} (frames {starts[i]}..{ends[i]}) ends past the "
                                                  f"last frame {n - 1} ({n} frames)"))

    for vid, sids, starts, ends in clips:
        try:
            mp4 = layout.video_path(vid)
        except FileNotFoundError:
            mp4 = None
        if mp4 is not None:
            try:
                n = int(reader.num_frames(mp4))
                said = header_frames(mp4)
                if said > n:
                    rows.extend((sid, vid, str(mp4), f"truncated video: its header says {said} frames, only {n} can "
                                                      f"be decoded") for sid in sids)
                else:
                    over(vid, sids, starts, ends, n, mp4)
            except VideoFileError as exc:
                rows.extend((sid, vid, str(mp4), f"undecodable video: {str(exc).removeprefix(str(mp4) + ': ')}")
                            for sid in sids)
        path, n, problem = _skeleton_length(layout, vid)
        if problem:
            rows.extend((sid, vid, str(path), problem) for sid in sids)
        elif path is None and has_skeletons:
            rows.extend((sid, vid, str(layout._skeleton_folders(vid)[0]), "missing skeleton file (no light_hand CSV, "
                         "OpenPose xlsx or OpenPose JSON folder)") for sid in sids)
        elif path is not None:
            over(vid, sids, starts, ends, n, path)
    reader.close()
    return rows


#: Videos per worker task of :func:`find_bad_data` (a task decodes these videos' packet indexes).
CHECK_CHUNK = 16


def find_bad_data(index: pd.DataFrame, layout: ReleaseFiles, progress: bool = True,
                  workers: int | None = None) -> pd.DataFrame:
    """Every problem of the index's videos and clips: DataFrame ``sample_id, video, file, problem`` (one row per
    affected clip; see the module docstring for the checks). Empty when all is well.

    Cost is linear in frames (each mp4's packet index is read once). ``workers`` processes
    (:func:`clipmg_lib.core.workers.process_pool`; default: the CPU count, at most 8, when there are more
    than ``2 * CHECK_CHUNK`` videos, else 1) check chunks of :data:`CHECK_CHUNK` videos in parallel.
    """
    order = np.argsort(index["video"].to_numpy(), kind="stable")
    video = index["video"].to_numpy()[order]
    sids = index["sample_id"].to_numpy()[order]
    starts = index["start_frame"].to_numpy()[order]
    ends = index["end_frame"].to_numpy()[order]
    vids, first = np.unique(video, return_index=True)
    bounds = list(first) + [len(video)]
    per_video = [(int(v), sids[a:b], starts[a:b], ends[a:b]) for v, a, b in zip(vids, bounds[:-1], bounds[1:])]

    def has_skeleton(vid: int) -> bool:
        try:
            layout.skeleton_path(vid)
            return True
        except FileNotFoundError:
            return False

    has_skeletons = any(has_skeleton(int(v)) for v in vids)  # a root without any skeleton file is an RGB-only copy
    chunks = [per_video[i:i + CHECK_CHUNK] for i in range(0, len(per_video), CHECK_CHUNK)]
    if workers is None:
        workers = min(os.cpu_count() or 1, 8) if len(per_video) > 2 * CHECK_CHUNK else 1
    bar = progress_bar(total=len(per_video), desc="checking videos", unit="video", disable=not progress, leave=False)
    results: dict[int, list[tuple]] = {}
    if workers <= 1 or len(chunks) <= 1:
        for k, chunk in enumerate(chunks):
            results[k] = _check_videos(layout, chunk, has_skeletons)
            bar.update(len(chunk))
    else:
        from concurrent.futures import as_completed

        from ..core.workers import process_pool

        with process_pool(min(workers, len(chunks))) as pool:
            futures = {pool.submit(_check_videos, layout, chunk, has_skeletons): k for k, chunk in enumerate(chunks)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update(len(chunks[futures[fut]]))
    bar.close()
    rows = [r for k in sorted(results) for r in results[k]]
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def describe_bad_data(report: pd.DataFrame, max_clips: int = 5, max_files: int = 25) -> str:
    """One line per bad file: ``<file>: <problem> [clips a, b, ...]`` (at most ``max_files`` lines, then a count)."""
    lines = []
    groups = list(report.groupby(["file", "problem"], sort=False))
    for (file, problem), part in groups[:max_files]:
        ids = part["sample_id"].tolist()
        clips = ", ".join(ids[:max_clips]) + (f", ... ({len(ids)} clips)" if len(ids) > max_clips else "")
        lines.append(f"  {file}: {problem}" + ("" if problem.startswith("clip ") else f" [clips {clips}]"))
    if len(groups) > max_files:
        lines.append(f"  ... and {len(groups) - max_files} more (on_bad_data='skip' lists them all in skipped.csv)")
    return "\n".join(lines)


def _apply_policy(index: pd.DataFrame, layout: ReleaseFiles, on_bad_data: str, progress: bool,
                  skipped_csv: str | os.PathLike | None) -> pd.DataFrame:
    report = find_bad_data(index, layout, progress)
    if len(report) and on_bad_data == "error":
        files = report["file"].nunique()
        kind = ClipRangeError if report["problem"].str.startswith("clip ").all() else BadDataError
        raise kind(f"{layout.root}: {files} bad file(s), {report['sample_id'].nunique()} clip(s) affected:\n"
                   f"{describe_bad_data(report)}\nfix or remove these files, or drop the affected clips with "
                   f"on_bad_data='skip' (python -m clipmg_lib.runs.train --set on_bad_data=skip; notebook parameter "
                   f"on_bad_data='skip'), which writes skipped.csv")
    skipped = list(dict.fromkeys(report["sample_id"]))
    if skipped:
        log.warning("skipping %d of %d clips (%d bad files):\n%s", len(skipped), len(index), report["file"].nunique(),
                    describe_bad_data(report))
    if skipped_csv is not None:
        from ..core.atomic import atomic_open

        with atomic_open(skipped_csv) as f:
            report.to_csv(f, index=False)
    index = index[~index["sample_id"].isin(skipped)].reset_index(drop=True)
    index.attrs["skipped"] = skipped
    index.attrs["skipped_report"] = report.to_dict(orient="records")  # plain data: pandas compares attrs
    return index


def skipped_report(index: pd.DataFrame) -> pd.DataFrame:
    """The clips ``on_bad_data='skip'`` dropped from ``index``: DataFrame ``sample_id, video, file, problem``."""
    return pd.DataFrame(index.attrs.get("skipped_report", []), columns=REPORT_COLUMNS)


def _sort(index: pd.DataFrame) -> pd.DataFrame:
    row = index["sample_id"].str.rsplit("_", n=1).str[1].astype(int)
    order = np.lexsort((row.to_numpy(), index["video"].to_numpy()))
    return index.iloc[order].reset_index(drop=True)


def build_clip_index(root: str | os.PathLike | ReleaseFiles, source: str = "auto", *,
                     official_csv: str | os.PathLike | None = None, check_lengths: bool = True,
                     on_bad_data: str = "error", miga_validation: bool = True, progress: bool = True,
                     skipped_csv: str | os.PathLike | None = None) -> pd.DataFrame:
    """The clip index of an iMiGUE root (see the module docstring for sources, checks and the data policy).

    Rows are sorted by video, then clip row. ``index.attrs['source']`` names the file(s) it came from;
    ``index.attrs['skipped']`` / ``['skipped_report']`` the clips dropped by ``on_bad_data='skip'``;
    ``skipped_csv``: where to write that report (written even when empty).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown clip index source {source!r}; expected one of {SOURCES}")
    if on_bad_data not in DATA_POLICIES:
        raise ValueError(f"on_bad_data must be one of {DATA_POLICIES}, got {on_bad_data!r}")
    layout = root if isinstance(root, ReleaseFiles) else ReleaseFiles(root, official_csv)
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
        index = _apply_policy(index, layout, on_bad_data, progress, skipped_csv)
    else:
        index.attrs["skipped"] = []
        index.attrs["skipped_report"] = []
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
