"""A torch Dataset that decodes frames on every access: for a backbone that trains (``trainable_blocks`` > 0),
whose tokens change every step and therefore cannot be cached.

Item: ``frames`` float32 (T, 3, S, S) CLIP-normalised (the model's ``mean``/``std``), ``heatmap`` float32
(C, T, H, W) (when the model has pose), ``label``, ``index``. Training samples frames TSN-style at random
per ``(seed, epoch, clip)`` (``ClipDataset(mode='train')``), evaluation at segment centres, so the data
seen per epoch matches the cached path's; pose jitter and heatmaps are those of
:class:`~clipmg_lib.train.cached_dataset.CachedClipDataset`. Much slower per epoch than the cache (every
epoch decodes video and runs the whole ViT): use it only when the backbone is fine-tuned.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ..pose.transforms import Compose, ConvertLayout, InterpolateMissing, SelectFrames
from .cached_dataset import heatmap_transform
from .features import POSE_LAYOUT


class FrameClipDataset(Dataset):
    """Clips of one split decoded on the fly (see the module docstring)."""

    def __init__(self, index: pd.DataFrame, dataset_root: str | Path, num_frames: int, image_size: int,
                 mean: Sequence[float], std: Sequence[float], mode: str = "eval", seed: int = 0,
                 heatmap_shape: Sequence[int] | None = None, pose_augment: bool = True,
                 skeleton_source: str = "dataset", video_backend: str = "pyav",
                 proxy_root: str | Path | None = None) -> None:
        from ..data.dataset import ClipDataset

        self.index = index.reset_index(drop=True)
        self.labels = self.index["label"].to_numpy(np.int64)
        self.sample_ids = self.index["sample_id"].astype(str).tolist()
        steps = [InterpolateMissing(), SelectFrames(), ConvertLayout(POSE_LAYOUT)]
        if heatmap_shape is not None:
            steps.append(heatmap_transform(heatmap_shape, mode == "train", seed, pose_augment))
        self.clips = ClipDataset(self.index, dataset_root, num_frames=num_frames, image_size=image_size, mode=mode,
                                 seed=seed, skeleton_source=skeleton_source, pose_pipeline=Compose(steps),
                                 video_backend=video_backend, proxy_root=proxy_root)
        self.with_heatmap = heatmap_shape is not None
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def set_epoch(self, epoch: int) -> None:
        self.clips.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        sample = self.clips[i]
        frames = torch.from_numpy(np.ascontiguousarray(sample["imgs"])).permute(0, 3, 1, 2).float().div_(255.0)
        item = {"frames": (frames - self.mean) / self.std, "label": int(self.labels[i]), "index": int(i)}
        if self.with_heatmap:
            item["heatmap"] = torch.from_numpy(sample["heatmap"])
        return item
