"""A torch Dataset over the feature caches: cached CLIP tokens + pose heatmaps drawn on the fly.

Item (a dict, collated by the default collate):

``tokens``   float32 (T, 1+P, D)  frozen-CLIP tokens of the view (when the model has RGB)
``heatmap``  float32 (C, T, H, W) PoseC3D-style volume of the view's skeleton (when the model has pose):
             the per-sample steps of the model's pose pipeline (after ``ConvertLayout``) run on the
             cached skeleton
``label``    int; ``index`` int (row in the split); ``view`` int (which cached view was used)

Training (``mode='train'``): for epoch ``e`` clip ``i`` uses view ``random<k>`` with
``k = hash(seed, e, i) mod K`` - temporal augmentation without decoding video again - and the training
pipeline's random steps (the config's ``RandomAffine`` jitter; a ``Flip`` only for a model without RGB, as
cached tokens cannot be mirrored) are seeded by ``(seed, e, sample_id)`` before the heatmap is drawn. Both depend only on ``(seed, epoch, clip)``, so resumed runs and DataLoader workers
see exactly the same data. Evaluation (``mode='eval'``) uses one fixed view (``uniform`` by default).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.shared_epoch import SharedEpoch
from ..pose.pipeline import PosePipeline
from .feature_cache import FeatureCacheError
from .features import SplitCaches


class CachedClipDataset(Dataset):
    """Clips of one split served from :class:`~clipmg_lib.train.features.SplitCaches` (see module docstring).

    ``views``: the cached views to draw from (train: ``random0..``; eval: one view, e.g. ``['uniform']``).
    ``pose_pipeline``: the model's train or eval pose pipeline (``create_model_and_pipelines``), or None for
    an RGB-only model; its skeleton steps must be those the pose cache was built with.
    """

    def __init__(self, caches: SplitCaches, views: Sequence[str], mode: str = "eval", seed: int = 0,
                 with_tokens: bool = True, pose_pipeline: PosePipeline | None = None) -> None:
        if mode not in ("train", "eval"):
            raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
        if mode == "eval" and len(views) != 1:
            raise ValueError(f"evaluation reads one view at a time, got {list(views)}")
        self.caches, self.views, self.mode, self.seed = caches, list(views), mode, int(seed)
        self._epoch = SharedEpoch(0)  # DataLoader workers (persistent ones too) see set_epoch
        self.labels = caches.labels
        self.sample_ids = caches.sample_ids
        self.with_tokens = with_tokens
        if with_tokens and caches.tokens is None:
            raise FeatureCacheError("tokens requested but the split has no token cache (pose-only model?)")
        if pose_pipeline is not None and caches.pose is None:
            raise FeatureCacheError("heatmaps requested but the split has no pose cache")
        if pose_pipeline is not None and caches.pose.fields.get("pipeline") != pose_pipeline.skeleton_steps():
            raise FeatureCacheError(f"the pose cache {caches.pose.folder} holds skeletons of "
                                    f"{caches.pose.fields.get('pipeline')}, the pipeline starts with "
                                    f"{pose_pipeline.skeleton_steps()}; build the caches with the same pipelines")
        self.layout = pose_pipeline.layout if pose_pipeline is not None else None
        self.pose_pipeline = pose_pipeline.build_per_sample(seed) if pose_pipeline is not None else None
        self._token_views = [caches.tokens.view(v) for v in self.views] if with_tokens else None
        self._pose_views = [caches.pose.view(v) for v in self.views] if pose_pipeline is not None else None
        if self._token_views and self._pose_views:
            for v, tv, pv in zip(self.views, self._token_views, self._pose_views):
                if not np.array_equal(tv.column("frame_inds"), pv.column("frame_inds")):
                    raise FeatureCacheError(f"view {v!r}: the token cache {caches.tokens.folder} and the pose cache "
                                            f"{caches.pose.folder} were sampled on different frames; rebuild them")

    @property
    def epoch(self) -> int:
        return self._epoch.get()

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (view choice, pose jitter); reaches running DataLoader workers too."""
        self._epoch.set(epoch)

    def __len__(self) -> int:
        return len(self.labels)

    def view_of(self, i: int) -> int:
        """Which of ``views`` clip ``i`` uses in the current epoch."""
        if self.mode == "eval" or len(self.views) == 1:
            return 0
        return int(np.random.default_rng([self.seed, self.epoch, int(i)]).integers(len(self.views)))

    def __getitem__(self, i: int) -> dict:
        k = self.view_of(i)
        item: dict = {"label": int(self.labels[i]), "index": int(i), "view": k}
        if self.with_tokens:
            tokens = self._token_views[k].get(i, ["tokens"])["tokens"]
            item["tokens"] = torch.from_numpy(tokens.astype(np.float32))
        if self.pose_pipeline is not None:
            row = self._pose_views[k].get(i)
            results = {"keypoint": row["keypoint"], "keypoint_score": row["keypoint_score"],
                       "img_shape": tuple(int(x) for x in row["img_shape"]), "layout": self.layout,
                       "sample_id": self.sample_ids[i], "epoch": self.epoch}
            item["heatmap"] = torch.from_numpy(self.pose_pipeline(results)["heatmap"])
        return item
