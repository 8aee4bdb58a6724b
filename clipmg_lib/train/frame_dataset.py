"""A torch Dataset that decodes frames on every access: for a backbone that trains (``trainable_blocks`` > 0),
whose tokens change every step and therefore cannot be cached.

Item: ``frames`` float32 (T, 3, S, S) CLIP-normalised (the model's ``mean``/``std``), ``heatmap`` float32
(C, T, H, W) (when the model has pose), ``label``, ``index``. Training samples frames TSN-style at random
per ``(seed, epoch, clip)`` (``ClipDataset(mode='train')``), evaluation at segment centres, so the data
seen per epoch matches the cached path's. The pose (and, with ``inputs.flip = 'pose_and_rgb'``, the frames:
``Flip`` mirrors ``imgs`` with the skeleton) goes through the whole ``pose_pipeline`` of the model
(``create_model_and_pipelines``). Much slower per epoch than the cache (every
epoch decodes video and runs the whole ViT): use it only when the backbone is fine-tuned.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ..data.skeleton_store import SkeletonStore
from ..model.backbone import clip_normalise
from ..pose.pipeline import PosePipeline


class FrameClipDataset(Dataset):
    """Clips of one split decoded on the fly (see the module docstring). ``pose_pipeline``: the model's train
    or eval pipeline (None: frames only, as they are). ``with_heatmap`` False (an RGB-only model) runs the
    pipeline without its ``GeneratePoseHeatmap`` (a ``Flip`` still mirrors the frames). ``skeleton_store``: the
    root's converted skeletons (:class:`~clipmg_lib.data.skeleton_store.SkeletonStore`), memory-mapped by the
    dataset and every DataLoader worker instead of parsed into each (same arrays)."""

    def __init__(self, index: pd.DataFrame, dataset_root: str | Path, num_frames: int, image_size: int,
                 mean: Sequence[float], std: Sequence[float], mode: str = "eval", seed: int = 0,
                 pose_pipeline: PosePipeline | None = None, with_heatmap: bool = True,
                 skeleton_source: str = "dataset", video_backend: str = "pyav",
                 proxy_root: str | Path | None = None, skeleton_store: SkeletonStore | None = None) -> None:
        from ..data.dataset import ClipDataset

        self.index = index.reset_index(drop=True)
        self.labels = self.index["label"].to_numpy(np.int64)
        self.sample_ids = self.index["sample_id"].astype(str).tolist()
        with_heatmap = with_heatmap and pose_pipeline is not None
        if pose_pipeline is not None and not with_heatmap:
            pose_pipeline = PosePipeline(tuple(s for s in pose_pipeline.steps if s["type"] != "GeneratePoseHeatmap"))
        pipeline = pose_pipeline.build(seed) if pose_pipeline is not None else None
        self.clips = ClipDataset(self.index, dataset_root, num_frames=num_frames, image_size=image_size, mode=mode,
                                 seed=seed, skeleton_source=skeleton_source, pose_pipeline=pipeline,
                                 **({"layout": pose_pipeline.layout} if pose_pipeline is not None else {}),
                                 video_backend=video_backend, proxy_root=proxy_root, skeleton_store=skeleton_store)
        self.with_heatmap = with_heatmap
        self.mean, self.std = tuple(mean), tuple(std)

    def set_epoch(self, epoch: int) -> None:
        self.clips.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        sample = self.clips[i]
        frames = torch.from_numpy(np.ascontiguousarray(sample["imgs"])).permute(0, 3, 1, 2).float().div_(255.0)
        item = {"frames": clip_normalise(frames, self.mean, self.std), "label": int(self.labels[i]), "index": int(i)}
        if self.with_heatmap:
            item["heatmap"] = torch.from_numpy(sample["heatmap"])
        return item
