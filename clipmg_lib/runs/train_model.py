"""One training run end to end: clip index -> feature caches -> cached datasets -> Trainer -> best epoch
evaluated on val and test -> predictions, report and MiGA submission on disk.

    from clipmg_lib.runs import train_model
    from clipmg_lib.train import load_train_config
    result = train_model(load_train_config("tiny_demo", epochs=5), dataset_root=None, out_dir="results/train/tiny")
    result.reports["test"]   # {'top1': ..., 'top5': ..., 'mean_class_acc': ..., 'n': ..., 'loss': ...}

Files under ``out_dir`` (besides the trainer's ``last.pt``/``best.pt``/``metrics.*``/``train_config.json``):
``predictions_val.npz``, ``predictions_test.npz`` (logits, labels, sample ids, and ``gate``/``fused`` when the
model has them), ``report.json`` (metrics of the best epoch per split, chance levels, timings, cache
folders), ``submission_test.csv`` (MiGA ``Id,Target``).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ..core.atomic import atomic_open
from ..core.paths import cache_dir, dataset_root as resolve_root
from ..data.skeleton_store import SkeletonStore, convert_skeletons, store_dir
from ..eval import metrics as M
from ..eval.predictions import Predictions
from ..model.inputs import ModelPipelines, input_pipelines
from ..train.cached_dataset import CachedClipDataset
from ..train.config import TrainConfig
from ..train.distributed import DistInfo, barrier, current_dist_info, resolve_device
from ..train.features import SplitCaches, build_split_caches, view_names
from ..train.frame_dataset import FrameClipDataset
from ..train.trainer import Trainer, cpu_threads, forward_dataset, seed_everything
from .naming import default_run_dir

#: Extra outputs kept with the predictions for the analysis notebooks (when the variant has them).
ANALYSIS_OUTPUTS = ("gate", "fused")


@dataclass
class RunResult:
    """What :func:`train_model` returns (everything is also on disk under ``out_dir``)."""

    out_dir: Path
    config: TrainConfig
    model: torch.nn.Module
    history: pd.DataFrame
    best: dict[str, Any]
    reports: dict[str, dict[str, float]]
    predictions: dict[str, Predictions]
    caches: dict[str, SplitCaches] = field(repr=False, default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def load_index(dataset_root: str | Path | None = None, on_bad_data: str = "error") -> pd.DataFrame:
    """The clip index of a dataset root (default: the demo dataset) under the data policy ``on_bad_data``."""
    from ..data.clip_index import build_clip_index

    return build_clip_index(resolve_root(dataset_root), on_bad_data=on_bad_data)


def create_model_for(config: TrainConfig) -> torch.nn.Module:
    """The run's model with its trainable weights drawn from ``config.seed`` (the frozen CLIP is not)."""
    return create_model_and_pipelines_for(config)[0]


def create_model_and_pipelines_for(config: TrainConfig) -> tuple[torch.nn.Module, ModelPipelines]:
    """The run's model (as :func:`create_model_for`) and its input pipelines (the model config's ``inputs``)."""
    from ..model.factory import create_model_and_pipelines

    seed_everything(config.seed)
    return create_model_and_pipelines(config.model, **config.model_overrides)


def run_pipelines(model) -> ModelPipelines:
    """The input pipelines of a built model (those of its config's ``inputs``)."""
    return input_pipelines(model.cfg)


def model_inputs(model) -> tuple[bool, bool]:
    """(uses tokens, uses heatmaps) for a CLIP-MG model."""
    cfg = model.cfg
    return bool(cfg.uses_rgb), bool(cfg.uses_pose and not cfg.zero_shot)


def split_views(config: TrainConfig, split: str) -> list[str]:
    """Views to cache for a split: the training split gets ``random0..K-1``; evaluation splits get
    ``uniform`` (+ ``random0..`` when ``eval_views`` > 1)."""
    if split == config.train_split:
        return view_names(config.train_views, with_uniform=False)
    return view_names(config.eval_views - 1, with_uniform=True)


def skeleton_store_for(config: TrainConfig, index: pd.DataFrame, dataset_root: str | Path | None = None,
                       cache_root: str | Path | None = None, dist_info: DistInfo | None = None,
                       progress: bool = True) -> SkeletonStore | None:
    """The run's skeleton store when ``config.skeletons == 'store'`` (else None): the skeletons of the videos in
    ``index`` converted into ``.npy`` under the cache dir (:func:`~clipmg_lib.data.skeleton_store.store_dir`,
    never inside the root), by the main rank with ``max(1, num_workers)`` processes and one progress bar for the
    whole set; videos already converted from the same source file are skipped, so this is cheap after the first
    run and resumes an interrupted conversion."""
    if config.skeletons != "store":
        return None
    dist_info = dist_info or current_dist_info(resolve_device(config.device))
    root = resolve_root(dataset_root)
    folder = store_dir(root, cache_dir(cache_root))
    if dist_info.is_main:
        convert_skeletons(root, folder, videos=sorted(int(v) for v in index["video"].unique()),
                          workers=max(1, config.num_workers), progress=progress)
    barrier()
    return SkeletonStore(folder)


def prepare_caches(model, index: pd.DataFrame, config: TrainConfig, dataset_root: str | Path | None = None,
                   cache_root: str | Path | None = None, splits: tuple[str, ...] | None = None,
                   dist_info: DistInfo | None = None, progress: bool = True) -> dict[str, SplitCaches]:
    """Build (or find) the caches of each split the run needs; returns ``{split: SplitCaches}``. With
    ``config.skeletons == 'store'`` the builder reads whole-video skeletons from :func:`skeleton_store_for`."""
    splits = splits or (config.train_split, config.val_split, config.test_split)
    uses_tokens, uses_pose = model_inputs(model)
    device = (dist_info or current_dist_info(resolve_device(config.device))).device
    store = skeleton_store_for(config, index[index["split"].isin(splits)], dataset_root, cache_root, dist_info,
                               progress)
    out = {}
    for split in splits:
        part = index[index["split"] == split].reset_index(drop=True)
        if part.empty:
            continue
        with cpu_threads(config, device):
            out[split] = build_split_caches(model, part, resolve_root(dataset_root), split_views(config, split),
                                            cache_dir(cache_root) / "features", seed=config.seed,
                                            skeleton_source=config.skeleton_source,
                                            batch_size=config.cache_batch_size, num_workers=config.num_workers,
                                            dist_info=dist_info, progress=progress, need_tokens=uses_tokens,
                                            need_pose=uses_pose, proxy_root=config.proxy_root,
                                            video_backend=config.video_backend, pipelines=run_pipelines(model),
                                            skeleton_store=store)
    return out


def make_dataset(caches: SplitCaches, model, config: TrainConfig, train: bool, view: str = "uniform") -> CachedClipDataset:
    """The cached dataset of a split: training draws one of the random views per epoch, evaluation reads ``view``."""
    uses_tokens, uses_pose = model_inputs(model)
    views = view_names(config.train_views, with_uniform=False) if train else [view]
    pipelines = run_pipelines(model)
    pipeline = pipelines.for_training(config.pose_augment) if train else pipelines.eval
    return CachedClipDataset(caches, views, mode="train" if train else "eval", seed=config.seed,
                             with_tokens=uses_tokens, pose_pipeline=pipeline if uses_pose else None)


def frame_dataset(part: pd.DataFrame, model, config: TrainConfig, dataset_root: str | Path | None,
                  train: bool, skeleton_store: SkeletonStore | None = None) -> FrameClipDataset:
    """The decode-every-access dataset of a split, for a model whose backbone trains (``skeleton_store``: from
    :func:`skeleton_store_for`, for ``config.skeletons == 'store'``)."""
    _, uses_pose = model_inputs(model)
    pipelines = run_pipelines(model)
    pipeline = pipelines.for_training(config.pose_augment) if train else pipelines.eval
    return FrameClipDataset(part, resolve_root(dataset_root), pipelines.num_frames, model.image_size, model.mean,
                            model.std, mode="train" if train else "eval", seed=config.seed,
                            pose_pipeline=pipeline, with_heatmap=uses_pose, skeleton_source=config.skeleton_source,
                            video_backend=config.video_backend, proxy_root=config.proxy_root,
                            skeleton_store=skeleton_store)


def evaluate_split(model, caches: SplitCaches, config: TrainConfig, dist_info: DistInfo | None = None,
                   keep: tuple[str, ...] = (), views: int | None = None) -> Predictions:
    """Predictions on a split; with ``views`` > 1 (default ``config.eval_views``) the softmax of the
    ``uniform`` view and ``views - 1`` random views is averaged (``logits`` then hold log-probabilities)."""
    views = views or config.eval_views
    names = view_names(views - 1, with_uniform=True)
    preds = [Predictions(**forward_dataset(model, make_dataset(caches, model, config, train=False, view=v), config,
                                           dist_info, keep=keep if i == 0 else (), batch_size=max(config.batch_size, 64)))
             for i, v in enumerate(names)]
    if len(preds) == 1:
        return preds[0]
    avg = M.average_views([p.logits for p in preds])
    first = preds[0]
    logp = np.log(np.clip(avg, 1e-12, None)).astype(np.float32)
    loss = float(-logp[np.arange(len(first.labels)), first.labels].mean())
    return Predictions(first.index, first.labels, logp, first.sample_ids, first.extras, loss)


def _available_keep(model) -> tuple[str, ...]:
    cfg = model.cfg
    keep = ["fused"]
    if cfg.uses_gate:
        keep.append("gate")
    return tuple(keep)


def train_model(config: TrainConfig, dataset_root: str | Path | None = None, out_dir: str | Path | None = None,
                cache_root: str | Path | None = None, resume: bool = True, progress: bool = True,
                dist_info: DistInfo | None = None, index: pd.DataFrame | None = None,
                evaluate_test: bool = True, results_dir: str | Path | None = None) -> RunResult:
    """Train ``config`` on a dataset (default: the demo) and evaluate its best epoch; see the module docstring.

    ``out_dir`` defaults to :func:`default_run_dir` (``<results>/train/<run_name>``); a finished run found
    there is not retrained (``resume``), only evaluated.

    A ``zero_shot`` model has nothing to train: it is evaluated directly (no checkpoint is written). A model
    whose backbone trains (``backbone.trainable_blocks`` > 0) cannot use the token cache: it reads frames
    every epoch (:class:`~clipmg_lib.train.frame_dataset.FrameClipDataset`), much more slowly.
    """
    dist_info = dist_info or current_dist_info(resolve_device(config.device))
    with cpu_threads(config, dist_info.device):
        return _train_model(config, dataset_root, out_dir, cache_root, resume, progress, dist_info, index,
                            evaluate_test, results_dir)


def _train_model(config: TrainConfig, dataset_root, out_dir, cache_root, resume: bool, progress: bool,
                 dist_info: DistInfo, index: pd.DataFrame | None, evaluate_test: bool, results_dir) -> RunResult:
    t_start = time.perf_counter()
    out_dir = Path(out_dir) if out_dir else default_run_dir(config, dataset_root, results_dir)
    index = load_index(dataset_root, config.on_bad_data) if index is None else index
    from ..data.clip_index import skipped_report

    report = skipped_report(index)
    if dist_info.is_main and config.on_bad_data == "skip":
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_open(out_dir / "skipped.csv") as f:
            report.to_csv(f, index=False)
        if len(report):
            print(f"[data] skipped {report['sample_id'].nunique()} clip(s) of {report['file'].nunique()} bad file(s); "
                  f"kept {len(index)}: {out_dir / 'skipped.csv'}", flush=True)
    model = create_model_for(config).to(dist_info.device)
    splits = {s: index[index["split"] == s].reset_index(drop=True) for s in
              (config.train_split, config.val_split, config.test_split)}
    splits = {s: part for s, part in splits.items() if len(part)}
    if config.train_split not in splits:
        raise ValueError(f"no clip of split {config.train_split!r} in the index ({index['split'].value_counts().to_dict()})")
    frames_path = model.cfg.uses_rgb and not model.tokens_cacheable
    if frames_path:  # the backbone trains: decode frames every epoch (no token cache)
        caches = {}
        config_used = config.replace(input_keys=("frames", "heatmap"))
        if config.eval_views > 1:
            raise ValueError("eval_views > 1 needs cached views; with a training backbone use eval_views=1")
        store = skeleton_store_for(config, pd.concat(splits.values()), dataset_root, cache_root, dist_info, progress)

        def dataset_of(split: str, train: bool) -> Dataset:
            return frame_dataset(splits[split], model, config, dataset_root, train, store)
    else:
        caches = prepare_caches(model, index, config, dataset_root, cache_root, dist_info=dist_info, progress=progress)
        config_used = config

        def dataset_of(split: str, train: bool) -> Dataset:
            return make_dataset(caches[split], model, config, train=train)
    t_cache = time.perf_counter()
    keep = _available_keep(model)
    history = pd.DataFrame()
    best: dict[str, Any] = {}
    if not model.cfg.zero_shot:
        val_set = dataset_of(config.val_split, False) if config.val_split in splits else None
        trainer = Trainer(model, config_used, out_dir, dataset_of(config.train_split, True), val_set,
                          dist_info=dist_info, show_progress=progress, val_metrics=M.classification_report)
        history = trainer.fit(resume=resume)
        best = trainer.load_best()
    t_train = time.perf_counter()
    eval_splits = [s for s in (config.val_split, config.test_split if evaluate_test else None) if s in splits]
    if frames_path:
        predictions = {s: Predictions(**forward_dataset(model, dataset_of(s, False), config_used, dist_info, keep=keep,
                                                        batch_size=config.batch_size)) for s in eval_splits}
    else:
        predictions = {s: evaluate_split(model, caches[s], config, dist_info, keep=keep) for s in eval_splits}
    reports = {s: p.report() for s, p in predictions.items()}
    train_labels = splits[config.train_split]["label"].to_numpy(np.int64)
    timings = {"cache_s": round(t_cache - t_start, 1), "train_s": round(t_train - t_cache, 1),
               "eval_s": round(time.perf_counter() - t_train, 1)}
    if dist_info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        for split, p in predictions.items():
            p.save(out_dir / f"predictions_{split}.npz")
        if config.test_split in predictions:
            from ..data.export import write_submission_csv

            p = predictions[config.test_split]
            write_submission_csv(out_dir / f"submission_{config.test_split}.csv", p.sample_ids, p.predicted)
        summary = {"model": config.model, "model_overrides": config.model_overrides,
                   "switches": model.cfg.switches(), "best": best, "reports": reports,
                   "chance": {s: M.chance_levels(train_labels, predictions[s].labels) for s in predictions},
                   "timings": timings, "device": str(dist_info.device), "world_size": dist_info.world_size,
                   "caches": {s: {"tokens": str(c.tokens.folder) if c.tokens else None,
                                  "pose": str(c.pose.folder) if c.pose else None} for s, c in caches.items()}}
        with atomic_open(out_dir / "report.json") as f:
            json.dump(summary, f, indent=2, default=float)
    return RunResult(out_dir=out_dir, config=config, model=model, history=history, best=best, reports=reports,
                     predictions=predictions, caches=caches, timings=timings)
