"""The frozen-CLIP token store of long videos: every ``stride``-th frame decoded and encoded ONCE.

    store = FrameTokenStore(model, stride=4)                 # under <cache>/spotting/tokens-<key>/
    tokens = store.tokens(source)                            # float16 (ceil(N / stride), 1+P, D), memory-mapped

Row ``r`` holds frame ``r * stride``. Overlapping windows of every length index the same rows
(:func:`clipmg_lib.spotting.windows.window_grid_positions`), so a frame is decoded and encoded once however
many windows contain it - the naive sliding window decodes and encodes each window's frames again
(``bench/bench_spotting.py`` times both).

The folder name hashes what the tokens depend on (the backbone's ``token_cache_key``, image size, stride,
decoder); each video's file is named by its id and the hash of its path, size and mtime, written atomically
(``np.save`` to a temporary file, then ``os.replace``) once all its frames are encoded, so an interrupted
build redoes only the unfinished video.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core.atomic import atomic_open, atomic_path
from ..data.video import ClipReader
from ..core.paths import cache_dir
from ..train.feature_cache import stable_hash
from .video_source import VideoSource


class FrameTokenStore:
    """Per-video token arrays of a frozen CLIP-MG backbone (see the module docstring).

    ``model``: a CLIP-MG model (or :class:`~clipmg_lib.spotting.model.SpottingModel`) with a frozen backbone;
    ``chunk``: grid frames decoded and encoded per step (bounds memory for 25-minute videos).
    """

    def __init__(self, model, stride: int, cache_root: str | Path | None = None, chunk: int = 256,
                 video_backend: str = "pyav", progress: bool = True) -> None:
        clipmg = getattr(model, "clipmg", model)
        if clipmg.backbone is None:
            raise ValueError(f"{clipmg.cfg.name} has no RGB branch: there are no tokens to store")
        if not clipmg.tokens_cacheable:
            raise ValueError(f"{clipmg.cfg.name}: the backbone trains, its tokens cannot be stored")
        self.model, self.stride, self.chunk, self.progress = clipmg, int(stride), int(chunk), progress
        self.fields = {"backbone": clipmg.token_cache_key, "image_size": int(clipmg.image_size),
                       "stride": self.stride, "video_backend": video_backend}
        self.folder = cache_dir(cache_root) / "spotting" / f"tokens-{stable_hash(self.fields, 12)}"
        self.reader = ClipReader(None, size=int(clipmg.image_size), backend=video_backend, cache_size=1)
        self.encode_seconds = 0.0  # decode + encode time spent by this store (benchmarks)

    def path_of(self, source: VideoSource) -> Path:
        st = source.path.stat()
        key = stable_hash([str(source.path.resolve()), st.st_size, int(st.st_mtime)], 10)
        return self.folder / f"{source.video:04d}-{key}.npy"

    def num_rows(self, source: VideoSource) -> int:
        return -(-source.num_frames // self.stride)

    def is_built(self, source: VideoSource) -> bool:
        return self.path_of(source).is_file()

    def build(self, source: VideoSource) -> Path:
        """Decode and encode the grid frames of ``source`` (skipped when its file exists); returns the file."""
        path = self.path_of(source)
        if path.is_file():
            return path
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / "fields.json").is_file():
            with atomic_open(self.folder / "fields.json") as f:
                json.dump(self.fields, f, indent=1)
        t0 = time.perf_counter()
        frames = np.arange(0, source.num_frames, self.stride)
        device = next(self.model.backbone.parameters()).device
        parts = []
        with torch.no_grad():
            for s in tqdm(range(0, len(frames), self.chunk), desc=f"tokens of video {source.video}",
                          disable=not self.progress, leave=False):
                imgs = self.reader.read(source.path, frames[s:s + self.chunk])
                tok = self.model.encode_frames(self.model.preprocess(imgs[None]).to(device))[0]
                parts.append(tok.float().cpu().numpy().astype(np.float16))
        with atomic_path(path) as tmp:
            np.save(tmp, np.concatenate(parts))
        self.reader.close()
        self.encode_seconds += time.perf_counter() - t0
        return path

    def tokens(self, source: VideoSource) -> np.ndarray:
        """float16 (rows, 1+P, D) of ``source`` (built first if needed), memory-mapped read-only."""
        arr = np.load(self.build(source), mmap_mode="r", allow_pickle=False)
        if arr.shape[0] != self.num_rows(source):
            raise ValueError(f"{self.path_of(source)}: {arr.shape[0]} token rows, expected {self.num_rows(source)} "
                             f"for {source.num_frames} frames at stride {self.stride}; delete it to rebuild")
        return arr
