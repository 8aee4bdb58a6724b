"""Fill the feature caches of one split: frozen-CLIP tokens and the sampled skeletons, per view.

One pass over a split's clips for all views at once: for each clip, the frame indices of every view still
to cache are drawn (:meth:`clipmg_lib.data.dataset.ClipDataset.frame_indices`), their union is decoded in
one :meth:`~clipmg_lib.data.video.ClipReader.read` and split per view (5x less decoding than one pass per
view for 1 + 4 views, since every pass seeks to the clip again; docs/PERFORMANCE.md), and the skeleton is
taken on the same indices. The model's frozen ``encode_frames`` turns each view's frames into tokens
(batched per view, on the GPU when there is one, bf16 autocast there), and the skeleton after the skeleton
steps of the model's pipelines (``inputs`` of its config: ``InterpolateMissing -> SelectFrames ->
ConvertLayout``; :meth:`~clipmg_lib.pose.pipeline.PosePipeline.skeleton_steps`) is stored as it is (pixels,
float32). Heatmaps are
**not** cached: they are 1.1 MB per clip (22 x 8 x 56 x 56 float16) against 2.4 ms to draw them from the
skeleton on this 2-core CPU, so :class:`~clipmg_lib.train.cached_dataset.CachedClipDataset` draws them on
the fly (after the per-epoch pose jitter).

Views: ``uniform`` (TSN evaluation sampling) and ``random0..random{K-1}`` (``ClipDataset(mode='train',
seed)`` with ``set_epoch(k)``: one random frame per segment). Two caches, so that variants share what
they can: ``tokens-<key>`` (keyed by the backbone's ``token_cache_key``) and ``pose-<key>`` (keyed by the
serialised skeleton steps and the skeleton source). Both store ``frame_inds``; reading checks they agree, so RGB and pose of a view always come
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

from ..core.hashing import content_hash
from ..core.progress import progress_bar
from ..core.workers import loader_kwargs
from ..data.skeleton_store import SkeletonStore
from ..model.inputs import ModelPipelines, input_pipelines
from .distributed import DistInfo, barrier, current_dist_info
from .feature_cache import FeatureCache

SHARD_SIZE = 256


def view_names(train_views: int, with_uniform: bool = True) -> list[str]:
    """``['uniform', 'random0', ..., 'random{K-1}']``."""
    return (["uniform"] if with_uniform else []) + [f"random{k}" for k in range(int(train_views))]


def index_fingerprint(index: pd.DataFrame) -> str:
    """Hash of the clips (ids, frame ranges, labels): the cache is rebuilt when the clip index changes."""
    cols = [c for c in ("sample_id", "video", "start_frame", "end_frame", "label") if c in index]
    return content_hash(index[cols].astype(str).to_numpy().tolist(), 16)


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


def _dataset(index: pd.DataFrame, root: Path, pipelines: ModelPipelines, image_size: int | None, seed: int,
             skeleton_source: str, proxy_root: str | Path | None = None, video_backend: str = "pyav",
             skeleton_store: SkeletonStore | None = None):
    """The split's ``ClipDataset`` running the skeleton steps (frames are read by :class:`_ClipViews`, all
    views of a clip at once); whole-video skeletons memory-mapped from ``skeleton_store`` when given."""
    from ..data.dataset import ClipDataset

    return ClipDataset(index, root, num_frames=pipelines.num_frames, image_size=image_size, mode="eval", seed=seed,
                       skeleton_source=skeleton_source, layout=pipelines.layout,
                       pose_pipeline=pipelines.eval.build_skeleton(),
                       load_frames=False,
                       proxy_root=proxy_root, video_backend=video_backend, skeleton_store=skeleton_store)


def _view_epoch(view: str) -> int | None:
    """``None`` for ``uniform``, ``k`` for ``random<k>``; a clear error for any other view name."""
    if view == "uniform":
        return None
    if view.startswith("random") and view[len("random"):].isdigit():
        return int(view[len("random"):])
    raise ValueError(f"unknown view {view!r}; expected 'uniform' or 'random<k>'")


def view_frame_indices(ds, i: int, view: str) -> np.ndarray:
    """Frame indices of clip ``i`` in ``view``: ``uniform`` = TSN segment centres, ``random<k>`` = the
    ``ClipDataset(mode='train')`` draw of epoch ``k`` (seeded by ``(seed, k, i)``)."""
    epoch = _view_epoch(view)
    if epoch is None:
        return ds.frame_indices(i, mode="eval")
    return ds.frame_indices(i, mode="train", epoch=epoch)


class _ClipViews(torch.utils.data.Dataset):
    """Item ``i``: ``{view: sample}`` for ``views``; the frames of ``frame_views`` come from ONE read of the
    union of their indices (split afterwards), the skeleton of each view from the same indices."""

    def __init__(self, ds, views: Sequence[str], frame_views: Sequence[str]) -> None:
        self.ds, self.views, self.frame_views = ds, list(views), list(frame_views)

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict[str, dict]:
        inds = {v: view_frame_indices(self.ds, i, v) for v in self.views}
        out = {v: self.ds.get(i, frame_inds=inds[v], load_frames=False) for v in self.views}
        if self.frame_views:
            union = np.concatenate([inds[v] for v in self.frame_views])
            frames = self.ds.reader.read(int(out[self.views[0]]["video"]), union)
            for v, part in zip(self.frame_views, np.split(frames, len(self.frame_views))):
                out[v]["imgs"] = part
        return out


def _collate_views(items: list[dict[str, dict]]) -> dict[str, dict[str, Any]]:
    return {v: _collate([it[v] for it in items]) for v in items[0]}


def build_split_caches(model: torch.nn.Module, index: pd.DataFrame, dataset_root: str | Path, views: Sequence[str],
                       cache_root: str | Path, *, seed: int = 0, skeleton_source: str = "dataset",
                       batch_size: int = 32, num_workers: int = 0, dist_info: DistInfo | None = None,
                       progress: bool = True, need_tokens: bool | None = None, need_pose: bool = True,
                       proxy_root: str | Path | None = None, video_backend: str = "pyav",
                       pipelines: ModelPipelines | None = None,
                       skeleton_store: SkeletonStore | None = None) -> SplitCaches:
    """Make sure the tokens and skeletons of ``views`` of the clips in ``index`` are cached; return the caches.

    ``model``: a CLIP-MG model (only ``encode_frames``/``preprocess`` and its config are used). The
    backbone must be frozen (``model.tokens_cacheable``); a model without RGB gets no token cache.
    All views still missing are built in one pass over the clips (each clip's frames decoded once).
    Shards already on disk are skipped, so an interrupted build resumes and a finished one costs a few
    file checks. ``proxy_root``: read frames from seek-friendly proxies where they exist
    (:mod:`clipmg_lib.data.video_proxy`; same frame indices). ``video_backend``: the decoder. A proxy is a
    re-encode and decoders differ by ~1 grey level, so both enter the token cache key. ``pipelines``: the
    model's input pipelines (default: those of ``model.cfg``); frames per clip, sampling and the skeleton
    steps come from them, and the pose-cache key hashes the skeleton steps' serialised config.
    ``skeleton_store``: the root's converted skeletons (:class:`~clipmg_lib.data.skeleton_store.SkeletonStore`,
    ``skeleton_source='dataset'``): the clip dataset and its DataLoader workers memory-map whole-video
    skeletons instead of each parsing its own copy. Same arrays, so not part of any cache key.
    """
    dist_info = dist_info or current_dist_info()
    root = Path(dataset_root).resolve()
    index = index.reset_index(drop=True)
    ids = index["sample_id"].astype(str).tolist()
    pipelines = pipelines or input_pipelines(model.cfg)
    num_frames = pipelines.num_frames
    uses_rgb = model.backbone is not None
    need_tokens = uses_rgb if need_tokens is None else (need_tokens and uses_rgb)
    if need_tokens and not model.tokens_cacheable:
        raise ValueError(f"{model.cfg.name}: the backbone trains (trainable_blocks > 0), so its tokens change "
                         "every step and cannot be cached; use the frame pipeline (cache_tokens=False)")
    common = {"dataset_root": str(root), "clips": index_fingerprint(index), "num_frames": num_frames,
              "sampling": {"method": pipelines.sampling, "seed": int(seed)}}
    tokens = pose = None
    if need_tokens:
        tokens = FeatureCache(cache_root, "tokens", {**common, "backbone": model.token_cache_key,
                                                     "image_size": int(model.image_size),
                                                     "video": {"backend": video_backend,
                                                               "proxies": proxy_root is not None}},
                              ids, SHARD_SIZE)
    if need_pose:
        pose = FeatureCache(cache_root, "pose", {**common, "skeleton_source": skeleton_source,
                                                 "pipeline": pipelines.skeleton_config()}, ids, SHARD_SIZE)
    device = dist_info.device
    if need_tokens:
        model.backbone.to(device)
    views = list(views)
    for v in views:  # fail before any work on a bad view name
        _view_epoch(v)
    # which shards each view still lacks, per cache
    tok_todo = {v: set(tokens.missing_shards(v)) for v in views if tokens is not None and not tokens.is_complete(v)}
    pose_todo = {v: set(pose.missing_shards(v)) for v in views if pose is not None and not pose.is_complete(v)}
    todo_views = [v for v in views if v in tok_todo or v in pose_todo]
    if not todo_views:
        return SplitCaches(index=index, tokens=tokens, pose=pose, views=views)
    t0 = time.perf_counter()
    ds = _dataset(index, root, pipelines, int(model.image_size) if uses_rgb else None, seed, skeleton_source,
                  proxy_root, video_backend, skeleton_store)
    ref = tokens if tokens is not None else pose
    shards = sorted(set().union(*tok_todo.values(), *pose_todo.values()))
    mine = [s for s in shards if s % dist_info.world_size == dist_info.rank]
    bar = progress_bar(total=sum(len(ref.shard_rows(s)) for s in mine),
                       desc=f"caching {'+'.join(todo_views)} ({len(index)} clips)", unit="clip",
                       disable=not (progress and dist_info.is_main), dynamic_ncols=True)
    for shard in mine:
        tok_views = [v for v in todo_views if shard in tok_todo.get(v, ())]
        pose_views = [v for v in todo_views if shard in pose_todo.get(v, ())]
        shard_views = [v for v in todo_views if v in tok_views or v in pose_views]
        loader = DataLoader(Subset(_ClipViews(ds, shard_views, tok_views), list(ref.shard_rows(shard))),
                            batch_size=batch_size, collate_fn=_collate_views, **loader_kwargs(num_workers))
        parts: dict[str, dict[str, list[np.ndarray]]] = {v: {} for v in shard_views}
        for batch in loader:
            for v in shard_views:
                b = batch[v]
                if v in tok_views:
                    with torch.no_grad(), _autocast(device):
                        tok = model.encode_frames(model.preprocess(b["imgs"]).to(device))
                    parts[v].setdefault("tokens", []).append(tok.float().cpu().numpy().astype(np.float16))
                for key in ("frame_inds", "keypoint", "keypoint_score", "img_shape"):
                    parts[v].setdefault(key, []).append(b[key])
            bar.update(len(batch[shard_views[0]]["frame_inds"]))
        for v in shard_views:
            arrays = {k: np.concatenate(a) for k, a in parts[v].items()}
            if v in tok_views and not tokens.shard_done(v, shard):
                tokens.write_shard(v, shard, {"tokens": arrays["tokens"], "frame_inds": arrays["frame_inds"]})
            if v in pose_views and not pose.shard_done(v, shard):
                pose.write_shard(v, shard, {k: arrays[k] for k in ("frame_inds", "keypoint", "keypoint_score",
                                                                   "img_shape")})
    bar.close()
    barrier()
    if dist_info.is_main:
        info = {"seconds": round(time.perf_counter() - t0, 1), "device": str(device), "built_with": todo_views}
        for v in todo_views:
            if v in tok_todo:
                tokens.mark_complete(v, info)
            if v in pose_todo:
                pose.mark_complete(v, info)
    barrier()
    return SplitCaches(index=index, tokens=tokens, pose=pose, views=views)


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    from contextlib import nullcontext

    return nullcontext()
