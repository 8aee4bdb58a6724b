"""The training loop: AdamW + warm-up/cosine, label smoothing, class balance, AMP, clipping, DDP,
a checkpoint every epoch with exact resume, best-epoch selection on validation, metrics to CSV/JSON.

The trainer is model-agnostic: a dataset item is a dict holding the model's inputs (``config.input_keys``,
e.g. ``tokens`` and ``heatmap``), ``label`` (int) and ``index`` (its position in the dataset); the model is
called as ``model(**inputs)`` and returns a dict with ``logits`` (B, C) (and optionally ``gate``, ``fused``,
``attn`` for analysis). Output folder after ``fit``::

    out_dir/train_config.json   the TrainConfig used
    out_dir/last.pt             full state after the last finished epoch (resume point)
    out_dir/best.pt             trainable weights at the best validation epoch
    out_dir/metrics.csv, .json  one row per epoch (+ the best epoch in the JSON)

Resume: ``fit()`` continues from ``last.pt`` when it exists. Everything random in an epoch is derived from
``(seed, epoch)`` (sampler permutation, view choice, pose jitter) or restored from the checkpoint (torch,
numpy, Python generators), so an interrupted-and-resumed run ends with the same weights as an uninterrupted
one (checked by ``tests/test_train_resume.py``).
"""
from __future__ import annotations

import json
import math
import random
import time
from contextlib import contextmanager, nullcontext
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..core.atomic import atomic_open, atomic_path
from ..data.classes import NUM_CLASSES
from ..core.progress import progress_bar
from ..core.workers import loader_kwargs
from .checkpoint import (
    CheckpointError,
    capture_rng_state,
    frozen_fingerprint,
    load_checkpoint,
    load_model_state,
    restore_rng_state,
    save_checkpoint,
    trainable_state_dict,
    unwrap,
)
from .config import TrainConfig
from .distributed import DistInfo, all_reduce_sum, barrier, current_dist_info, gather_predictions
from .losses import build_criterion, class_weights
from .optim import build_optimizer, build_scheduler
from .samplers import DistributedClassBalancedSampler

#: Config fields that may change between a run and its resumption (they do not change the result).
RESUMABLE_CHANGES = frozenset({"device", "num_workers", "cache_batch_size", "eval_views", "cpu_threads",
                               "skeletons", "description"})


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def cpu_threads(config: TrainConfig, device: torch.device):
    """Use ``config.cpu_threads`` intra-op threads while a CPU run is in this block, then restore."""
    if config.cpu_threads <= 0 or device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(config.cpu_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _autocast(device: torch.device, amp: str):
    """bf16 autocast on GPU by default; off on CPU unless asked (``amp='bf16'``)."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return nullcontext()
    dtype = torch.float16 if amp == "fp16" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _to_device(batch: dict[str, Any], keys, device: torch.device) -> dict[str, torch.Tensor]:
    return {k: batch[k].to(device, non_blocking=True) for k in keys if k in batch}


class Trainer:
    """Train ``model`` on ``train_set``, select on ``val_set``, write everything under ``out_dir``.

    ``val_metrics(logits (N, C), labels (N,)) -> {name: value}`` scores the validation outputs each epoch
    (needed with a ``val_set``; it must return ``config.select_metric``). The caller passes the evaluation
    metrics (:func:`clipmg_lib.eval.metrics.classification_report`): train and eval are siblings, so the
    trainer optimises and selects, and does not own what a good prediction is.

    ``train_set`` must expose ``labels`` (int array, one per item) for class balancing and, to receive
    per-epoch views, may define ``set_epoch(epoch)``. Datasets may expose ``sample_ids`` (list of str).
    Under ``torchrun`` the model is wrapped in ``DistributedDataParallel``; every rank must build the same
    model and datasets (pass ``dist_info`` from :func:`clipmg_lib.train.distributed.init_distributed`).
    """

    def __init__(self, model: nn.Module, config: TrainConfig, out_dir: str | Path, train_set: Dataset,
                 val_set: Dataset | None = None, dist_info: DistInfo | None = None, num_classes: int | None = None,
                 show_progress: bool = True,
                 val_metrics: Callable[[np.ndarray, np.ndarray], dict[str, float]] | None = None) -> None:
        if val_set is not None and val_metrics is None:
            raise ValueError("Trainer: a val_set needs val_metrics(logits, labels) -> {metric: value} to select the "
                             "best epoch (e.g. clipmg_lib.eval.metrics.classification_report)")
        self.config = config
        self.val_metrics = val_metrics
        self.dist = dist_info or current_dist_info()
        self.device = self.dist.device
        self.out_dir = Path(out_dir)
        self.train_set, self.val_set = train_set, val_set
        self.show_progress = show_progress and self.dist.is_main
        seed_everything(config.seed + self.dist.rank)
        self.model = model.to(self.device)
        self.num_classes = num_classes or int(getattr(unwrap(model), "num_classes", NUM_CLASSES))
        labels = np.asarray(getattr(train_set, "labels"), dtype=np.int64)
        self.train_labels = labels

        weight = None
        if config.class_balance == "loss":
            weight = class_weights(labels, self.num_classes, config.class_weighting, config.cb_beta).to(self.device)
        self.criterion = build_criterion(config.label_smoothing, weight)
        if config.class_balance == "sampler":
            self.sampler = DistributedClassBalancedSampler(labels, self.dist.world_size, self.dist.rank,
                                                           seed=config.seed, power=config.sampler_power)
        else:
            self.sampler = DistributedSampler(train_set, num_replicas=self.dist.world_size, rank=self.dist.rank,
                                              shuffle=True, seed=config.seed, drop_last=False)
        self.per_rank_batch = self._per_rank_batch(config.batch_size)
        self.train_loader = DataLoader(train_set, batch_size=self.per_rank_batch, sampler=self.sampler,
                                       drop_last=False, pin_memory=self.device.type == "cuda",
                                       **loader_kwargs(config.num_workers, persistent=True))
        self.steps_per_epoch = len(self.train_loader)
        self.optimizer = build_optimizer(self.model, config.lr, config.weight_decay)
        self.scheduler = build_scheduler(self.optimizer, self.steps_per_epoch, config.epochs,
                                         config.warmup_epochs, config.min_lr_ratio)
        self.scaler = torch.amp.GradScaler("cuda") if config.amp == "fp16" and self.device.type == "cuda" else None
        self.ddp_model: nn.Module = self.model
        if self.dist.distributed:
            self.ddp_model = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True)  # ablations may leave a branch unused
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] = {"metric": config.select_metric, "value": -math.inf, "epoch": -1}
        self.start_epoch = 0

    def _per_rank_batch(self, global_batch: int) -> int:
        if global_batch % self.dist.world_size:
            raise ValueError(f"batch_size {global_batch} is not divisible by the {self.dist.world_size} processes "
                             "(batch_size is the global batch)")
        return global_batch // self.dist.world_size

    # ----------------------------------------------------------------- checkpoints
    @property
    def last_path(self) -> Path:
        return self.out_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.out_dir / "best.pt"

    def _state(self, epoch: int) -> dict[str, Any]:
        return {"model": trainable_state_dict(self.model), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler else None, "epoch": epoch,
                "rng": capture_rng_state(), "best": dict(self.best), "config": self.config.to_dict(),
                "history": list(self.history), "frozen_fingerprint": frozen_fingerprint(self.model),
                "world_size": self.dist.world_size}

    def _check_resumable(self, saved: dict[str, Any]) -> None:
        now = self.config.to_dict()
        defaults = TrainConfig().to_dict()  # a field added after the checkpoint was written has its default
        diffs = {k: (saved.get(k, defaults[k]), now[k]) for k in now
                 if k not in RESUMABLE_CHANGES and saved.get(k, defaults[k]) != now[k]}
        if diffs:
            raise CheckpointError(f"{self.last_path}: written by a run with a different config {diffs} "
                                  "(old, new); use another out_dir or fit(resume=False)")

    def resume(self) -> bool:
        """Load ``last.pt`` if present; returns whether it did."""
        if not self.last_path.is_file():
            return False
        ckpt = load_checkpoint(self.last_path, map_location="cpu")
        self._check_resumable(ckpt["config"])
        if ckpt.get("world_size", 1) != self.dist.world_size and ckpt.get("world_size") is not None:
            # the data order per global batch is the same, the RNG streams of ranks are not
            print(f"[trainer] resuming a {ckpt['world_size']}-process run with {self.dist.world_size} process(es)")
        load_model_state(self.model, ckpt, self.last_path)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        if self.scaler and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        restore_rng_state(ckpt["rng"])
        self.history = list(ckpt["history"])
        self.best = dict(ckpt["best"])
        done = int(ckpt["epoch"])
        if self.history and self.history[0]["epoch"] == 0:  # written when epochs were stored 0-based
            done += 1
            self.history = [{**row, "epoch": row["epoch"] + 1} for row in self.history]
            self.best = {**self.best, "epoch": self.best["epoch"] + 1}
        self.start_epoch = done  # 0-based index of the next epoch = epochs finished
        return True

    # ----------------------------------------------------------------- loops
    def fit(self, resume: bool = True, stop_after_epoch: int | None = None) -> pd.DataFrame:
        """Train from scratch or from ``last.pt`` up to ``config.epochs``; returns the metrics table.

        Epochs are counted from 1 wherever they are stored or shown (the metrics table, ``best``, the
        checkpoint, the progress bar): epoch ``k`` is the k-th pass over the training set.
        ``stop_after_epoch`` ends the run after epoch ``k``, as an interruption would (used to
        test resumption; a real interruption - Ctrl-C, a lost node - leaves the last finished epoch too).
        """
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        barrier()
        if resume and self.resume() and self.dist.is_main:
            print(f"[trainer] resumed from {self.last_path} after epoch {self.start_epoch}/{self.config.epochs}")
        elif not resume and self.dist.is_main:
            for stale in (self.last_path, self.best_path):
                stale.unlink(missing_ok=True)
        if self.dist.is_main:
            self.config.to_json(self.out_dir / "train_config.json")
        for epoch in range(self.start_epoch, self.config.epochs):
            t0 = time.perf_counter()
            train_stats = self.train_one_epoch(epoch)
            if self.config.precise_bn_batches > 0:
                recompute_bn_stats(self.model, self.train_set, self.config, self.dist, epoch)
            row: dict[str, Any] = {"epoch": epoch + 1, **train_stats}
            if self.val_set is not None:
                out = self.forward_dataset(self.val_set)
                val = {**self.val_metrics(out["logits"], out["labels"]), "loss": out["loss"]}
                row.update({f"val_{k}": v for k, v in val.items() if k != "n"})
                score = val[self.config.select_metric]
            else:
                score = -train_stats["train_loss"]
            row["seconds"] = round(time.perf_counter() - t0, 2)
            self.history.append(row)
            is_best = score > self.best["value"]
            if is_best:
                self.best = {"metric": self.config.select_metric if self.val_set is not None else "-train_loss",
                             "value": float(score), "epoch": epoch + 1}
            if self.dist.is_main:
                state = self._state(epoch + 1)
                if is_best:
                    save_checkpoint(self.best_path, {k: state[k] for k in
                                                     ("model", "epoch", "best", "config", "frozen_fingerprint")})
                save_checkpoint(self.last_path, state)
                self._write_metrics()
            barrier()
            if stop_after_epoch is not None and epoch + 1 >= stop_after_epoch:
                break
        return self.metrics_frame()

    def train_one_epoch(self, epoch: int) -> dict[str, float]:
        cfg = self.config
        self.sampler.set_epoch(epoch)
        if hasattr(self.train_set, "set_epoch"):
            self.train_set.set_epoch(epoch)
        self.ddp_model.train()
        totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, count
        bar = progress_bar(self.train_loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                           disable=not self.show_progress, dynamic_ncols=True)
        for batch in bar:
            inputs = _to_device(batch, cfg.input_keys, self.device)
            labels = batch["label"].to(self.device)
            with _autocast(self.device, cfg.amp):
                out = self.ddp_model(**inputs)
            logits = out["logits"].float()
            loss = self.criterion(logits, labels)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite training loss {loss.item()} at epoch {epoch}")
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            if self.scaler:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            self.scheduler.step()
            n = labels.numel()
            totals += torch.tensor([loss.item() * n, (logits.argmax(1) == labels).sum().item(), n],
                                   dtype=torch.float64)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        totals = all_reduce_sum(totals)
        return {"lr": self.optimizer.param_groups[0]["lr"], "train_loss": float(totals[0] / totals[2]),
                "train_top1": float(totals[1] / totals[2])}

    @torch.no_grad()
    def forward_dataset(self, dataset: Dataset, keep: tuple[str, ...] = (),
                        batch_size: int | None = None) -> dict[str, Any]:
        """:func:`forward_dataset` of the trainer's model (sharded over ranks, gathered on all)."""
        return forward_dataset(self.model, dataset, self.config, self.dist, keep=keep,
                       batch_size=batch_size or self.per_rank_batch, show_progress=self.show_progress)

    # ----------------------------------------------------------------- outputs
    def metrics_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.history)

    def _write_metrics(self) -> None:
        frame = self.metrics_frame()
        with atomic_path(self.out_dir / "metrics.csv") as tmp:
            frame.to_csv(tmp, index=False)
        with atomic_open(self.out_dir / "metrics.json") as f:
            json.dump({"history": self.history, "best": self.best, "config": self.config.to_dict()}, f, indent=2,
                      default=float)

    def load_best(self) -> dict[str, Any]:
        """Load ``best.pt`` into the model; returns the checkpoint's ``best`` record."""
        ckpt = load_checkpoint(self.best_path)
        load_model_state(self.model, ckpt, self.best_path)
        return ckpt["best"]


@torch.no_grad()
def recompute_bn_stats(model: nn.Module, dataset: Dataset, config: TrainConfig, dist_info: DistInfo,
                       epoch: int) -> int:
    """PreciseBN: reset every BatchNorm's running mean/var and re-estimate them as the plain average over
    ``config.precise_bn_batches`` training batches with the current weights (the rest of the model in eval
    mode, no gradient). Batches come from a permutation seeded by ``(seed, epoch)``; under DDP each rank
    uses its shard and the statistics are averaged over ranks. Returns the number of BN layers updated.
    """
    bns = [m for m in unwrap(model).modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not bns:
        return 0
    sampler = DistributedSampler(dataset, num_replicas=dist_info.world_size, rank=dist_info.rank, shuffle=True,
                                 seed=config.seed + 7919)
    sampler.set_epoch(epoch)
    loader = DataLoader(dataset, batch_size=config.batch_size // dist_info.world_size, sampler=sampler,
                        **loader_kwargs(config.num_workers))
    was_training = model.training
    model.eval()
    saved = [(m.momentum, m.training) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches seen
        m.train()
    for i, batch in enumerate(loader):
        if i >= config.precise_bn_batches:
            break
        with _autocast(dist_info.device, config.amp):
            unwrap(model)(**_to_device(batch, config.input_keys, dist_info.device))
    for m, (momentum, training) in zip(bns, saved):
        m.momentum = momentum
        m.train(training)
        if dist_info.distributed:
            for buf in (m.running_mean, m.running_var):
                buf.copy_(all_reduce_sum(buf.detach().cpu()).to(buf.device) / dist_info.world_size)
    model.train(was_training)
    return len(bns)


@torch.no_grad()
def forward_dataset(model: nn.Module, dataset: Dataset, config: TrainConfig, dist_info: DistInfo | None = None,
                    keep: tuple[str, ...] = (), batch_size: int = 64, show_progress: bool = False) -> dict[str, Any]:
    """The model's outputs on every item of ``dataset`` once, in eval mode (DDP: each rank a shard, results
    all-gathered), ordered as gathered.

    Returns plain arrays under the field names of :class:`clipmg_lib.eval.predictions.Predictions` (which
    wraps them: ``Predictions(**out)``): ``index`` int64 (N,), ``labels`` int64 (N,), ``logits`` float32 (N, C),
    ``sample_ids`` list of N str, ``extras`` {name in ``keep``: float32 array (N, ...)} and ``loss`` (mean
    cross-entropy on the unique clips, NaN when N = 0).
    """
    dist_info = dist_info or current_dist_info()
    device = dist_info.device
    model = unwrap(model).to(device)
    was_training = model.training
    model.eval()
    sampler = DistributedSampler(dataset, num_replicas=dist_info.world_size, rank=dist_info.rank, shuffle=False)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, pin_memory=device.type == "cuda",
                        **loader_kwargs(config.num_workers))
    parts: dict[str, list[torch.Tensor]] = {"index": [], "labels": [], "logits": []}
    for key in keep:
        parts[key] = []
    for batch in progress_bar(loader, desc="eval", leave=False, disable=not show_progress, dynamic_ncols=True):
        inputs = _to_device(batch, config.input_keys, device)
        with _autocast(device, config.amp):
            out = model(**inputs)
        logits = out["logits"].float().cpu()
        labels = batch["label"].long()
        parts["index"].append(batch["index"].long())
        parts["labels"].append(labels)
        parts["logits"].append(logits)
        for key in keep:
            if out.get(key) is None:
                raise KeyError(f"the model returned no {key!r} to keep (this variant may not have one)")
            parts[key].append(out[key].float().cpu())
    arrays = {k: torch.cat(v) for k, v in parts.items()}
    gathered = gather_predictions(arrays)
    model.train(was_training)
    logits = gathered["logits"]
    labels = gathered["labels"]
    # the loss on unique clips, after gathering (the sampler's padding repeats clips)
    loss = float(nn.functional.cross_entropy(logits, labels)) if len(labels) else float("nan")
    index = gathered["index"].numpy()
    ids = getattr(dataset, "sample_ids", None)
    sample_ids = [str(ids[i]) for i in index] if ids is not None else [str(i) for i in index]
    return {"index": index, "labels": labels.numpy(), "logits": logits.numpy(), "sample_ids": sample_ids,
            "extras": {k: gathered[k].numpy() for k in keep}, "loss": loss}
