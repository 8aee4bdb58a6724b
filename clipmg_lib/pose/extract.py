"""Pose for folders of videos and whole datasets: :func:`extract_folder`, cached per video, resumable.

Each video goes through :func:`clipmg_lib.pose.video_chunks.extract_video` (mediapipe,
:mod:`clipmg_lib.pose.mediapipe_pose`); ``workers`` > 1 extracts whole videos in parallel processes, with
results that do not depend on the worker count. The CLI is ``python -m clipmg_lib.pose`` (:mod:`.__main__`).

:func:`extract_folder` writes ``{out_root}/{vid:04d}/{vid:04d}_light_hand.csv``
(:func:`clipmg_lib.data.release_files.mediapipe_csv_path`, the dataset's format,
which :class:`~clipmg_lib.data.dataset.ClipDataset` reads with ``skeleton_source='mediapipe'`` from the
root's ``mediapipe_root``), skips finished videos and resumes interrupted ones from their chunk checkpoints. Nothing is written inside
a dataset root: a root's video ids come from its layout (the folder each video sits in), and its skeletons go
to :func:`clipmg_lib.core.paths.derived_dir` ``(root, 'mediapipe_skeleton')`` unless ``--out`` says otherwise.
Any other video files (any name, container or frame rate) are keyed by their file name's stem, or by the
ids of an explicit mapping (``--ids``: a CSV with columns ``video,path`` or a JSON ``{"298": "path"}``)::

    python -m clipmg_lib.pose --dataset-root /data/imigue [--workers 4]   # -> data/cache/mediapipe_skeleton/imigue-<hash>
    python -m clipmg_lib.pose my_clip.mov other.mp4 --out /tmp/pose     # -> /tmp/pose/my_clip/my_clip_light_hand.csv
    python -m clipmg_lib.pose --ids ids.csv --out /tmp/pose             # -> /tmp/pose/0298/0298_light_hand.csv
"""
from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.progress import progress_bar
from ..data.release_files import MEDIAPIPE_DIR, mediapipe_csv_path, video_key
from .mediapipe_pose import ExtractorConfig
from .video_chunks import extract_video


def _finished_csv(out_root: Path, vid: int | str) -> Path | None:
    """The CSV of a finished video under either name the dataset accepts, or None."""
    name = video_key(vid)
    for stem in dict.fromkeys((name, str(vid))):
        if (out_root / name / f"{stem}_light_hand.csv").exists():
            return out_root / name / f"{stem}_light_hand.csv"
    return None


def checkpoint_dir_for(out_root: str | os.PathLike, vid: int | str) -> Path:
    """Per-chunk checkpoints of an unfinished video (removed once its CSV is written)."""
    return Path(out_root) / video_key(vid) / f".{vid}_mediapipe_partial"


#: Containers searched for in folders of videos (any file can be given directly).
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def read_id_mapping(path: str | os.PathLike) -> dict[int, Path]:
    """{video id: path} from a CSV with columns ``video,path`` or a JSON object ``{"298": "path"}``.
    Relative paths are relative to the mapping file. Errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: video id mapping not found")
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(path.read_text())
            if not isinstance(raw, dict):
                raise ValueError("expected a JSON object {video id: path}")
            pairs = list(raw.items())
        else:
            frame = pd.read_csv(path, dtype=str)
            if not {"video", "path"} <= set(frame.columns):
                raise ValueError(f"expected columns 'video,path', found {list(frame.columns)}")
            pairs = list(zip(frame["video"], frame["path"]))
        out: dict[int, Path] = {}
        for k, v in pairs:
            if not str(k).strip().isdigit():
                raise ValueError(f"video id {k!r} is not a non-negative integer")
            if int(k) in out:
                raise ValueError(f"video id {int(k)} appears twice")
            p = Path(str(v)).expanduser()
            out[int(k)] = p if p.is_absolute() else path.parent / p
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"{path}: not a usable video id mapping ({exc})") from None
    return dict(sorted(out.items()))


def find_videos(videos: str | os.PathLike | Iterable | Mapping) -> dict[int | str, Path]:
    """{key: video path} from a mapping {id: path} (ids kept), a file, a folder (searched recursively for
    :data:`VIDEO_SUFFIXES`) or a list of files and folders. Without a mapping the key is the file's stem, any
    name (``carphone_pristine.mp4`` -> ``'carphone_pristine'``): ids are never guessed from file names.
    Two files with one stem are an error naming both.
    """
    if isinstance(videos, Mapping):
        return {k: Path(v) for k, v in sorted(videos.items(), key=lambda kv: str(kv[0]))}
    items = [videos] if isinstance(videos, (str, os.PathLike)) else list(videos)
    paths: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            paths += sorted(p for p in item.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
                            and MEDIAPIPE_DIR.name not in p.parts)
        elif item.is_file():
            paths.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such video file or folder")
    found: dict[int | str, Path] = {}
    for p in paths:
        if p.stem in found:
            raise ValueError(f"two videos named {p.stem!r}: {found[p.stem]} and {p}; give ids with a mapping (--ids)")
        found[p.stem] = p
    return dict(sorted(found.items()))


def dataset_videos(dataset_root: str | os.PathLike) -> dict[int, Path]:
    """{video id: mp4} of an iMiGUE root, the id from the layout's folders (not from file names)."""
    from ..data.release_files import ReleaseFiles

    layout = ReleaseFiles(dataset_root)
    out = {}
    for vid in layout.videos():
        try:
            out[vid] = layout.video_path(vid)
        except FileNotFoundError:
            continue  # a skeleton-only video
    return out


_ROW_COLUMNS = ["video", "path", "csv", "status", "frames", "seconds", "fps"]


def _extract_one(vid: int, path: Path, out_root: Path, config: ExtractorConfig, chunk_size: int,
                 decode_max_side: int | None, overwrite: bool, progress: bool) -> dict:
    """Extract one video into its CSV (skipping a finished one); the row of :func:`extract_folder`."""
    from ..data.skeleton_io import write_light_hand_csv

    done = _finished_csv(out_root, vid)
    if done is not None and not overwrite:
        return {"video": vid, "path": str(path), "csv": str(done), "status": "skipped",
                "frames": np.nan, "seconds": 0.0, "fps": np.nan}
    t0 = time.perf_counter()
    ckpt = checkpoint_dir_for(out_root, vid)
    skeleton = extract_video(path, config, chunk_size=chunk_size, decode_max_side=decode_max_side,
                             checkpoint_dir=ckpt, progress=progress)
    csv = mediapipe_csv_path(out_root, vid)
    write_light_hand_csv(csv, skeleton)
    shutil.rmtree(ckpt, ignore_errors=True)
    secs = time.perf_counter() - t0
    return {"video": vid, "path": str(path), "csv": str(csv), "status": "extracted",
            "frames": skeleton.num_frames, "seconds": round(secs, 2),
            "fps": round(skeleton.num_frames / secs, 1) if secs > 0 else np.nan}


def extract_folder(videos: str | os.PathLike | Iterable | Mapping, out_root: str | os.PathLike,
                   config: ExtractorConfig | None = None, *, overwrite: bool = False, chunk_size: int = 250,
                   decode_max_side: int | None = None, workers: int = 1, keep_going: bool = False,
                   progress: bool = True, **overrides) -> pd.DataFrame:
    """Extract every video; write ``{out_root}/{vid:04d}/{vid:04d}_light_hand.csv`` per video.

    Videos whose CSV exists are skipped (``overwrite=True`` redoes them); an interrupted video resumes
    from its last finished chunk. ``workers`` > 1 extracts that many videos at once in separate
    processes (spawned: one mediapipe per process); each video's result does not depend on it.
    ``keep_going``: a video that fails (e.g. a corrupt mp4) gets status ``'failed: <error>'`` and the
    others go on (its finished chunks stay for a rerun); by default the first failure is raised.
    Returns one row per video, in video order: video, path, csv, status ('extracted' | 'skipped' |
    'failed: ...'), frames, seconds, fps.
    """
    cfg = ExtractorConfig(**{**asdict(config or ExtractorConfig()), **overrides})
    out_root = Path(out_root)
    table = find_videos(videos)
    jobs = [(vid, path, out_root, cfg, chunk_size, decode_max_side, overwrite) for vid, path in table.items()]
    bar = progress_bar(total=len(jobs), desc="mediapipe", unit="video", disable=not progress)
    rows = []
    def failed(job, exc: Exception) -> dict:
        if not keep_going:
            raise exc
        return {"video": job[0], "path": str(job[1]), "csv": "", "status": f"failed: {exc}",
                "frames": np.nan, "seconds": np.nan, "fps": np.nan}

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            try:
                rows.append(_extract_one(*job, progress=progress))
            except Exception as exc:  # noqa: BLE001 - recorded per video with keep_going
                rows.append(failed(job, exc))
            bar.update()
    else:
        from concurrent.futures import as_completed

        from ..core.workers import process_pool

        with process_pool(workers) as pool:
            futures = {pool.submit(_extract_one, *job, progress=False): job for job in jobs}
            for future in as_completed(futures):
                try:
                    rows.append(future.result())
                except Exception as exc:  # noqa: BLE001
                    rows.append(failed(futures[future], exc))
                bar.update()
    bar.close()
    return pd.DataFrame(rows, columns=_ROW_COLUMNS).sort_values("video", key=lambda s: s.astype(str), ignore_index=True)
