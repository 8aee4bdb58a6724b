"""Windows of long videos as a torch Dataset over the token store: one item per window.

Item (a dict, collated by the default collate): ``tokens`` float32 (T, 1+P, D) - rows of the video's token
store -, ``heatmap`` float32 (C, T, H, W) - PoseC3D volume of the skeleton on the same frames, drawn on the
fly by the per-sample steps of the model's pose pipeline (in training, the config's random affine) -,
``label`` int (0..31, 32 = background; -1 when unknown), ``index`` int (row of ``windows``).

Training (``mode='train'``) samples a random grid position per segment, seeded by ``(seed, epoch, i)``;
evaluation takes segment centres. ``windows``: ``video, start_frame, end_frame[, label]``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ..data.shared_epoch import SharedEpoch
from ..pose.pipeline import PosePipeline
from .video_source import VideoSource
from .windows import window_grid_positions


class WindowDataset(Dataset):
    """Windows of several videos (see the module docstring). ``sources`` and ``tokens`` map video id to its
    :class:`VideoSource` and token array (``FrameTokenStore.tokens``). ``pose_pipeline``: the model's train
    or eval pipeline (``create_model_and_pipelines``; its per-sample steps run on each window's skeleton rows,
    which the sources hold after its skeleton steps), or None without pose."""

    def __init__(self, windows: pd.DataFrame, sources: Mapping[int, VideoSource], tokens: Mapping[int, np.ndarray],
                 num_frames: int, stride: int, pose_pipeline: PosePipeline | None, mode: str = "eval",
                 seed: int = 0) -> None:
        if mode not in ("train", "eval"):
            raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
        self.windows = windows.reset_index(drop=True)
        missing = sorted(set(self.windows["video"].astype(int)) - set(sources))
        if missing:
            raise KeyError(f"windows of video(s) {missing} but no VideoSource for them")
        self.sources, self.tokens = dict(sources), dict(tokens)
        self.num_frames, self.stride, self.mode, self.seed = int(num_frames), int(stride), mode, int(seed)
        self.labels = (self.windows["label"].to_numpy(np.int64) if "label" in self.windows
                       else np.full(len(self.windows), -1, np.int64))
        self.sample_ids = [f"{v:04d}_{s}_{e}" for v, s, e in
                           self.windows[["video", "start_frame", "end_frame"]].itertuples(index=False)]
        self._video = self.windows["video"].to_numpy(np.int64)
        self._start = self.windows["start_frame"].to_numpy(np.int64)
        self._end = self.windows["end_frame"].to_numpy(np.int64)
        self._epoch = SharedEpoch(0)
        self.layout = pose_pipeline.layout if pose_pipeline is not None else None
        wrong = sorted(v for v, src in self.sources.items() if pose_pipeline is not None and src.layout != self.layout)
        if wrong:
            raise ValueError(f"video(s) {wrong}: skeleton in layout {self.sources[wrong[0]].layout}, the pose pipeline "
                             f"converts to {self.layout}; build the VideoSource with layout={self.layout!r}")
        self.pose_pipeline = pose_pipeline.build_per_sample(seed) if pose_pipeline is not None else None

    def __getstate__(self) -> dict:
        """DataLoader workers get the token files' names, not copies of the (memory-mapped) arrays."""
        state = self.__dict__.copy()
        state["tokens"] = {v: (("memmap", a.filename) if isinstance(a, np.memmap) and a.filename else a)
                           for v, a in self.tokens.items()}
        return state

    def __setstate__(self, state: dict) -> None:
        state["tokens"] = {v: (np.load(a[1], mmap_mode="r", allow_pickle=False)
                               if isinstance(a, tuple) and a[0] == "memmap" else a) for v, a in state["tokens"].items()}
        self.__dict__.update(state)

    @property
    def epoch(self) -> int:
        return self._epoch.get()

    def set_epoch(self, epoch: int) -> None:
        self._epoch.set(epoch)

    def __len__(self) -> int:
        return len(self.windows)

    def grid_rows(self, i: int) -> np.ndarray:
        """Token-store rows window ``i`` samples (frame = row * stride)."""
        v = int(self._video[i])
        rng = np.random.default_rng([self.seed, self.epoch, int(i)]) if self.mode == "train" else None
        return window_grid_positions(self._start[i], self._end[i], self.num_frames, self.stride,
                                     len(self.tokens[v]), self.mode, rng)

    def __getitem__(self, i: int) -> dict:
        v = int(self._video[i])
        rows = self.grid_rows(i)
        item = {"label": int(self.labels[i]), "index": int(i),
                "tokens": torch.from_numpy(np.asarray(self.tokens[v][rows], np.float32))}
        if self.pose_pipeline is not None:
            src = self.sources[v]
            frames = np.minimum(rows * self.stride, src.num_frames - 1)
            results = {"keypoint": src.keypoint[frames], "keypoint_score": src.keypoint_score[frames],
                       "img_shape": src.img_shape, "layout": self.layout, "sample_id": self.sample_ids[i],
                       "epoch": self.epoch}
            item["heatmap"] = torch.from_numpy(self.pose_pipeline(results)["heatmap"])
        return item
