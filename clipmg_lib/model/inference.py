"""Run a CLIP-MG model over a handful of clips, without a cache (for notebooks and quick checks).

Training and evaluation go through the token cache of :mod:`clipmg_lib.train.features`; these helpers
are for looking at a model on a few dozen clips:

    model, pipelines = create_model_and_pipelines("clipmg_tiny")
    dataset = clip_dataset(clips, root, model, pipelines)   # ClipDataset fed as the model's config says
    batch = encode_clips(model, dataset)          # dict: tokens (N,T,1+P,D), heatmap (N,C,T,H,W), labels, ...
    out = forward_encoded(model, batch)           # dict of stacked forward outputs (logits, attn, gate, ...)
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..data.dataset import ClipDataset, collate_clips
from ..core.progress import progress_bar
from ..core.workers import loader_kwargs
from .clipmg import CLIPMG
from .inputs import ModelPipelines

KEEP = ("sample_id", "label", "frame_inds", "imgs")


def clip_dataset(index, root, model: CLIPMG, pipelines: ModelPipelines, mode: str = "eval", seed: int = 0,
                 **kwargs: Any) -> ClipDataset:
    """A :class:`~clipmg_lib.data.dataset.ClipDataset` of ``index`` under ``root`` that feeds ``model`` what its
    config's ``inputs`` say: ``pipelines.num_frames`` frames (at the backbone's ``image_size``; none without
    RGB) and the ``mode`` pose pipeline (``eval`` or ``train``). ``kwargs`` go to ``ClipDataset``."""
    pipeline = pipelines.eval if mode == "eval" else pipelines.train
    image_size = model.image_size if model.backbone is not None else None
    kwargs.setdefault("load_frames", model.backbone is not None)
    kwargs.setdefault("layout", pipelines.layout)
    return ClipDataset(index, root, num_frames=pipelines.num_frames, image_size=image_size, mode=mode, seed=seed,
                       pose_pipeline=pipeline.build(seed), **kwargs)


@torch.no_grad()
def encode_clips(model: CLIPMG, dataset: Dataset, batch_size: int = 16, num_workers: int = 0,
                 progress: bool = True) -> dict[str, Any]:
    """Decode every clip of ``dataset`` and encode its frames with the model's frozen backbone.

    The dataset's samples need ``imgs`` (for a model with RGB) and ``heatmap`` (for a model with pose,
    from a pose pipeline). Returns ``tokens`` float32 (N, T, 1+P, D) or None, ``heatmap`` float32
    (N, C, T, H, W) or None, ``labels`` int64 (N,), ``sample_ids`` (N,), ``frame_inds`` (N, T) and
    ``imgs`` uint8 (N, T, S, S, 3) (kept for plotting).
    """
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_clips,
                        **loader_kwargs(num_workers))
    device = next(model.parameters(), torch.empty(0)).device
    tokens, heatmaps, labels, ids, inds, imgs = [], [], [], [], [], []
    for batch in progress_bar(loader, desc="encode clips", unit="batch", disable=not progress):
        if model.backbone is not None:
            if "imgs" not in batch:
                raise ValueError("encode_clips: the samples have no 'imgs' (ClipDataset(load_frames=False)?)")
            tokens.append(model.encode_frames(model.preprocess(batch["imgs"]).to(device)).float().cpu())
        if model.pose_encoder is not None:
            if "heatmap" not in batch:
                raise ValueError("encode_clips: the samples have no 'heatmap'; give ClipDataset a pose pipeline "
                                 "ending in GeneratePoseHeatmap (clip_dataset(index, root, model, pipelines))")
            heatmaps.append(torch.as_tensor(batch["heatmap"]).float())
        labels.append(torch.as_tensor(batch["label"]))
        ids += list(batch["sample_id"])
        inds.append(torch.as_tensor(np.asarray(batch["frame_inds"])))
        if "imgs" in batch:
            imgs.append(torch.as_tensor(batch["imgs"]))
    return {"tokens": torch.cat(tokens) if tokens else None,
            "heatmap": torch.cat(heatmaps) if heatmaps else None,
            "labels": torch.cat(labels).long(), "sample_ids": ids, "frame_inds": torch.cat(inds),
            "imgs": torch.cat(imgs) if imgs else None}


@torch.no_grad()
def forward_encoded(model: CLIPMG, batch: dict[str, Any], batch_size: int = 64) -> dict[str, torch.Tensor | None]:
    """``model.eval()`` forward over ``batch`` (from :func:`encode_clips`) in chunks; outputs stacked on dim 0."""
    was_training = model.training
    model.eval()
    n = len(batch["labels"])
    chunks: list[dict] = []
    for s in range(0, n, batch_size):
        part = {k: (batch[k][s:s + batch_size] if batch.get(k) is not None else None) for k in ("tokens", "heatmap")}
        chunks.append(model(tokens=part["tokens"], heatmap=part["heatmap"]))
    model.train(was_training)
    return {k: (torch.cat([c[k] for c in chunks]) if chunks[0][k] is not None else None) for k in chunks[0]}
