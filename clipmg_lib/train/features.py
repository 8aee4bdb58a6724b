"""Fill the feature caches of one split: frozen-CLIP tokens and the sampled skeletons, per view.

One pass over a split's clips per view: :class:`clipmg_lib.data.dataset.ClipDataset` decodes the sampled
frames and the skeleton on the same frame indices; the model's frozen ``encode_frames`` turns the frames
into tokens (batched, on the GPU when there is one, bf16 autocast there), and the skeleton after
``InterpolateMissing -> SelectFrames -> ConvertLayout`` is stored as it is (pixels, float32). Heatmaps are
**not** cached: they are 1.1 MB per clip (22 x 8 x 56 x 56 float16) against 2.4 ms to draw them from the
skeleton on this 2-core CPU, so :class:`~clipmg_lib.train.cached_dataset.CachedClipDataset` draws them on
the fly (after the per-epoch pose jitter).

Views: ``uniform`` (TSN evaluation sampling) and ``random0..random{K-1}`` (``ClipDataset(mode='train',
seed)`` with ``set_epoch(k)``: one random frame per segment). Two caches, so that variants share what
they can: ``tokens-<key>`` (keyed by the backbone's ``token_cache_key``) and ``pose-<key>`` (keyed by the
pose settings). Both store ``frame_inds``; reading checks they agree, so RGB and pose of a view always come
from the same frames.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from ..pose.transforms import Compose, ConvertLayout, InterpolateMissing, SelectFrames
from .distributed import DistInfo, barrier, current_dist_info
from .feature_cache import FeatureCache, stable_hash

POSE_LAYOUT = "openpose22"
SHARD_SIZE = 256


def view_names(train_views: int, with_uniform: bool = True) -> list[str]:
    """``['uniform', 'random0', ..., 'random{K-1}']``."""
    return (["uniform"] if with_uniform else []) + [f"random{k}" for k in range(int(train_views))]


def index_fingerprint(index: pd.DataFrame) -> str:
    """Hash of the clips (ids, frame ranges, labels): the cache is rebuilt when the clip index changes."""
    cols = [c for c in ("sample_id", "video", "start_frame", "end_frame", "label") if c in index]
    return stable_hash(index[cols].astype(str).to_numpy().tolist())


@dataclass
class SplitCaches:
    """The caches of one split: ``tokens`` (None for a pose-only model) and ``pose``; ``index`` its clips."""

    index: pd.DataFrame
    tokens: FeatureCache | None
    pose: FeatureCache | None
    views: list[str]

    @property
    def labels(self) -> np.ndarray:
        return self.index["label"].to_numpy(np.int64)

    @property
    def sample_ids(self) -> list[str]:
        return self.index["sample_id"].astype(str).tolist()


def _collate(items: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {"frame_inds": np.stack([np.asarray(it["frame_inds"], np.int64) for it in items])}
    if "imgs" in items[0] and items[0]["imgs"] is not None:
        out["imgs"] = torch.from_numpy(np.stack([np.asarray(it["imgs"]) for it in items]))
    if "keypoint" in items[0]:
        out["keypoint"] = np.stack([np.asarray(it["keypoint"], np.float32) for it in items])
        out["keypoint_score"] = np.stack([np.asarray(it["keypoint_score"], np.float32) for it in items])
        out["img_shape"] = np.stack([np.asarray(it["img_shape"], np.int64) for it in items])
    return out


def _dataset(index: pd.DataFrame, root: Path, view: str, num_frames: int, image_size: int | None, seed: int,
             load_frames: bool, skeleton_source: str):
    from ..data.dataset import ClipDataset

    mode = "eval" if view == "uniform" else "train"
    pipeline = Compose([InterpolateMissing(), SelectFrames(), ConvertLayout(POSE_LAYOUT)])
    ds = ClipDataset(index, root, num_frames=num_frames, image_size=image_size, mode=mode, seed=seed,
                     skeleton_source=skeleton_source, pose_pipeline=pipeline, load_frames=load_frames)
    if mode == "train":
        ds.set_epoch(int(view[len("random"):]))
    return ds


def build_split_caches(model: torch.nn.Module, index: pd.DataFrame, dataset_root: str | Path, views: Sequence[str],
                       cache_root: str | Path, *, seed: int = 0, skeleton_source: str = "dataset",
                       batch_size: int = 32, num_workers: int = 0, dist_info: DistInfo | None = None,
                       progress: bool = True, need_tokens: bool | None = None, need_pose: bool = True) -> SplitCaches:
    """Make sure the tokens and skeletons of ``views`` of the clips in ``index`` are cached; return the caches.

    ``model``: a CLIP-MG model (only ``encode_frames``/``preprocess`` and its config are used). The
    backbone must be frozen (``model.tokens_cacheable``); a model without RGB gets no token cache.
    Shards already on disk are skipped, so an interrupted build resumes and a finished one costs a few
    file checks.
    """
    dist_info = dist_info or current_dist_info()
    root = Path(dataset_root).resolve()
    index = index.reset_index(drop=True)
    ids = index["sample_id"].astype(str).tolist()
    num_frames = int(model.cfg.num_frames)
    uses_rgb = model.backbone is not None
    need_tokens = uses_rgb if need_tokens is None else (need_tokens and uses_rgb)
    if need_tokens and not model.tokens_cacheable:
        raise ValueError(f"{model.cfg.name}: the backbone trains (trainable_blocks > 0), so its tokens change "
                         "every step and cannot be cached; use the frame pipeline (cache_tokens=False)")
    common = {"dataset_root": str(root), "clips": index_fingerprint(index), "num_frames": num_frames,
              "sampling": {"uniform": "TSN segment centres", "random": "ClipDataset train mode", "seed": int(seed)}}
    tokens = pose = None
    if need_tokens:
        tokens = FeatureCache(cache_root, "tokens", {**common, "backbone": model.token_cache_key,
                                                     "image_size": int(model.image_size)}, ids, SHARD_SIZE)
    if need_pose:
        pose = FeatureCache(cache_root, "pose", {**common, "skeleton_source": skeleton_source,
                                                 "pipeline": ["InterpolateMissing", "SelectFrames",
                                                              f"ConvertLayout({POSE_LAYOUT})"]}, ids, SHARD_SIZE)
    device = dist_info.device
    if need_tokens:
        model.backbone.to(device)
    for view in views:
        todo_tokens = tokens is not None and not tokens.is_complete(view)
        todo_pose = pose is not None and not pose.is_complete(view)
        if not (todo_tokens or todo_pose):
            continue
        t0 = time.perf_counter()
        ds = _dataset(index, root, view, num_frames, int(model.image_size) if uses_rgb else None, seed,
                      load_frames=todo_tokens, skeleton_source=skeleton_source)
        shards = sorted(set((tokens.missing_shards(view) if todo_tokens else [])
                            + (pose.missing_shards(view) if todo_pose else [])))
        mine = [s for s in shards if s % dist_info.world_size == dist_info.rank]
        ref = tokens if todo_tokens else pose
        rows_total = sum(len(ref.shard_rows(s)) for s in mine)
        bar = tqdm(total=rows_total, desc=f"caching {view} ({len(index)} clips)", disable=not (progress and dist_info.is_main),
                   dynamic_ncols=True, leave=False)
        for shard in mine:
            rows = ref.shard_rows(shard)
            loader = DataLoader(Subset(ds, list(rows)), batch_size=batch_size, num_workers=num_workers,
                                collate_fn=_collate)
            parts: dict[str, list[np.ndarray]] = {}
            for batch in loader:
                if todo_tokens:
                    with torch.no_grad(), _autocast(device):
                        frames = model.preprocess(batch["imgs"]).to(device)
                        tok = model.encode_frames(frames)
                    parts.setdefault("tokens", []).append(tok.float().cpu().numpy().astype(np.float16))
                for key in ("frame_inds", "keypoint", "keypoint_score", "img_shape"):
                    if key in batch:
                        parts.setdefault(key, []).append(batch[key])
                bar.update(len(batch["frame_inds"]))
            arrays = {k: np.concatenate(v) for k, v in parts.items()}
            if todo_tokens and not tokens.shard_done(view, shard):
                tokens.write_shard(view, shard, {"tokens": arrays["tokens"], "frame_inds": arrays["frame_inds"]})
            if todo_pose and not pose.shard_done(view, shard):
                pose.write_shard(view, shard, {k: arrays[k] for k in ("frame_inds", "keypoint", "keypoint_score",
                                                                       "img_shape")})
        bar.close()
        barrier()
        if dist_info.is_main:
            info = {"seconds": round(time.perf_counter() - t0, 1), "device": str(device)}
            if todo_tokens:
                tokens.mark_complete(view, info)
            if todo_pose:
                pose.mark_complete(view, info)
        barrier()
    return SplitCaches(index=index, tokens=tokens, pose=pose, views=list(views))


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    from contextlib import nullcontext

    return nullcontext()
