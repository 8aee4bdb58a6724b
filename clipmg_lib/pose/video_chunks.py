"""One video's pose in resumable chunks: :func:`extract_video` -> ``Skeleton`` (T, 35, 3) in ``light_hand35``.

Frames come from :class:`~clipmg_lib.data.video.ClipReader` in batches, in order; its errors name the file
(missing, corrupt, no frames). Coordinates are PIXELS of the original video, even when frames are decoded
smaller (``decode_max_side``). Long videos are processed in chunks (``chunk_size`` frames); the trackers are
reset at every chunk start, so a run resumed from its per-chunk checkpoints (``checkpoint_dir``: one
``chunk_<start>.npy`` per finished chunk and a ``meta.json`` that must match, all written atomically) gives
exactly the result of an uninterrupted run.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_open, atomic_path
from ..core.progress import progress_bar
from ..data.joint_layouts import get_layout
from ..data.skeleton import Skeleton
from ..data.video import ClipReader
from .mediapipe_pose import LAYOUT, ExtractorConfig, PoseExtractor


def _decode_size(img_shape: tuple[int, int], decode_max_side: int | None) -> tuple[int, int] | None:
    """(H, W) to decode at so that the longer side is at most ``decode_max_side`` (even sizes), or None."""
    h, w = img_shape
    if not decode_max_side or max(h, w) <= decode_max_side:
        return None
    scale = decode_max_side / max(h, w)
    return max(2, int(round(h * scale / 2)) * 2), max(2, int(round(w * scale / 2)) * 2)


def _chunk_file(folder: Path, start: int) -> Path:
    return folder / f"chunk_{start:07d}.npy"


def _load_checkpoint(folder: Path, meta: dict, chunk_size: int, num_frames: int) -> tuple[list[np.ndarray], int]:
    """Finished chunks saved by an earlier run with the same meta; a mismatch discards them."""
    meta_file = folder / "meta.json"
    if not meta_file.exists():
        return [], 0
    try:
        saved = json.loads(meta_file.read_text())
    except json.JSONDecodeError:
        saved = None
    if saved != meta:
        shutil.rmtree(folder)
        return [], 0
    chunks, start = [], 0
    while start < num_frames and _chunk_file(folder, start).exists():
        try:
            arr = np.load(_chunk_file(folder, start), allow_pickle=False)
        except (OSError, ValueError):  # unreadable: redo from this chunk on
            break
        if arr.shape != (min(chunk_size, num_frames - start), get_layout(LAYOUT).num_joints, 3):
            break
        chunks.append(arr)
        start += chunk_size
    return chunks, start


def extract_video(path: str | os.PathLike, config: ExtractorConfig | None = None, *, chunk_size: int = 250,
                  batch_size: int = 16, decode_max_side: int | None = None,
                  checkpoint_dir: str | os.PathLike | None = None, progress: bool = True,
                  max_frames: int | None = None, **overrides) -> Skeleton:
    """Run the extractor over a whole video (decord): ``Skeleton`` (T, 35, 3) in ``light_hand35``.

    ``chunk_size``: trackers restart every ``chunk_size`` frames; with ``checkpoint_dir`` each finished
    chunk is saved there (atomically) and a rerun continues after the last saved chunk.
    ``decode_max_side``: decode frames no larger than this (faster; coordinates stay in original pixels).
    ``max_frames``: only the first frames (previews).
    """
    path = Path(path)
    cfg = ExtractorConfig(**{**asdict(config or ExtractorConfig()), **overrides})
    if chunk_size < 1 or batch_size < 1:
        raise ValueError(f"chunk_size and batch_size must be positive, got {chunk_size}, {batch_size}")
    reader = ClipReader(size=None, cache_size=1)
    info = reader.info(path)                       # errors name the file (missing, corrupt, no frames)
    n, h, w = info.num_frames, info.height, info.width
    decode_hw = _decode_size((h, w), decode_max_side)
    n = min(n, max_frames) if max_frames else n
    chunks: list[np.ndarray] = []
    start = 0
    folder = Path(checkpoint_dir) if checkpoint_dir else None
    if folder is not None:
        meta = {"video": str(path.resolve()), "num_frames": n, "img_shape": [h, w], "chunk_size": chunk_size,
                "decode_max_side": decode_max_side, "config": asdict(cfg)}
        chunks, start = _load_checkpoint(folder, meta, chunk_size, n)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(folder / "meta.json") as f:
            json.dump(meta, f)
    bar = progress_bar(total=n, initial=min(start, n), desc=path.name, unit="frame", disable=not progress, leave=False)
    with PoseExtractor(cfg) as ex:
        for s in range(start, n, chunk_size):
            ex.reset()
            e = min(s + chunk_size, n)
            chunk = np.zeros((e - s, get_layout(LAYOUT).num_joints, 3), np.float32)
            for b in range(s, e, batch_size):
                frames = reader.read(path, np.arange(b, min(b + batch_size, e)), size=decode_hw)
                for k, frame in enumerate(frames):
                    chunk[b - s + k] = ex.process(frame, (h, w))
                bar.update(len(frames))
            chunks.append(chunk)
            if folder is not None:
                with atomic_path(_chunk_file(folder, s)) as tmp:
                    np.save(tmp, chunk, allow_pickle=False)
    bar.close()
    reader.close()
    data = np.concatenate(chunks) if chunks else np.zeros((0, get_layout(LAYOUT).num_joints, 3), np.float32)
    return Skeleton(data, LAYOUT, (h, w), f"mediapipe:{path}")
