"""Training configurations as data: a dataclass that round-trips through JSON.

Named configs live in ``clipmg_lib/configs/train/*.json`` (``tiny_demo`` for the CPU demo, ``paper_vitb16``
for iMiGUE on one GPU). A run is ``load_train_config(name_or_path, **overrides)``; papermill parameters and
command-line ``--set key=value`` flags become ``overrides`` (dotted keys, :mod:`clipmg_lib.core.config`:
``--set model_overrides.inputs.heatmap.size=32``), so every number a run used is written next to its checkpoints
(``train_config.json``) and can be replayed. Files are read by the kit's one strict loader: every field
type-checked, unknown keys refused, the top-level ``description`` is the file's comment.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Literal

from ..core.config import ConfigError, check_fields, load_config, named_configs, replace_config, to_dict


@dataclass
class TrainConfig:
    """Everything a training run needs besides the data and the output folder.

    Model: ``model`` is a model config name or path for ``clipmg_lib.model.factory.create_model``;
    ``model_overrides`` are passed to it: dotted model fields and the factory's ``ablation`` / ``pretrained``
    (e.g. ``{"ablation": "rgb_only", "backbone.token_grid": 4}``).

    Optimisation: AdamW (``lr``, ``weight_decay``; no decay on biases, norms, embeddings and temperatures),
    linear warm-up over ``warmup_epochs`` then cosine decay to ``lr * min_lr_ratio``, stepped per batch;
    cross-entropy with ``label_smoothing``; gradient-norm clipping at ``grad_clip`` (0 = off).

    Long tail: ``class_balance`` is ``'none'``, ``'loss'`` (per-class loss weights) or ``'sampler'``
    (class-balanced sampling with replacement); ``class_weighting`` is ``'effective_number'``
    (Cui et al. 2019, ``(1 - beta) / (1 - beta ** n_c)``, with ``cb_beta``) or ``'inverse_frequency'``;
    ``sampler_power`` softens sampling (``p_c ~ n_c ** (1 - sampler_power)`` per class; 1 = balanced).

    Views: ``train_views`` segment-random views per training clip are cached and one is drawn per clip and
    epoch; ``eval_views`` > 1 averages the uniform view with ``eval_views - 1`` of the random views
    (evaluation only: the cached train views of a val/test clip are computed on demand).

    BatchNorm: ``precise_bn_batches`` > 0 recomputes BatchNorm running statistics after each epoch from that
    many training batches (PreciseBN, as in PySlowFast/fvcore). Short runs need it: running variances start
    at 1 and decay by 0.9 per step, while heatmap features have variances ~1e-4, so after a few dozen steps
    eval-mode BN still divides by the initial value and the network collapses to one class.

    CPU: ``cpu_threads`` > 0 sets torch's intra-op threads while the run trains on the CPU (0 leaves torch's
    default, one per core). On a 2-core machine that also runs a notebook kernel and other jobs, 2 OpenMP
    threads spin-wait for each other: one epoch of the tiny demo took 29-80 s with 2 threads and 10 s with 1
    under the same load (``tiny_demo`` uses 1).

    Pose: the transforms are the model config's (``inputs``); ``pose_augment`` False trains without the
    random ones (``RandomAffine``, ``Flip``).

    Skeletons: ``skeleton_source`` is ``'dataset'`` (the release's files) or ``'mediapipe'`` (the kit's own
    extraction under ``<root>/mediapipe_skeleton``). ``skeletons`` says how the datasets that read whole-video
    skeletons (the cache builder, the frame dataset) hold them: ``'memory'`` (default) parses each video's file
    in every dataset object, so each DataLoader worker (forkserver/spawn) parses and keeps its own copy;
    ``'store'`` first converts the release's files once into memory-mappable ``.npy``
    (:mod:`clipmg_lib.data.skeleton_store`, under the cache dir, never in the root; resumable, one progress bar
    for the file set) and every dataset and worker maps them: no parsing, one copy in the page cache. Worth it
    for a large root with workers (iMiGUE with 8 workers: 7.4 -> 1.8 GB, docs/PERFORMANCE.md section 7) or an
    xlsx-only release (~74 s per file to parse). The samples are the same either way, so ``skeletons`` is not
    part of a run's name. ``'store'`` needs ``skeleton_source='dataset'``.

    Video: ``video_backend`` (``'pyav'`` or ``'decord'``) decodes the frames; ``proxy_root`` (None: the
    originals) reads each video's seek-friendly proxy where one exists (``python -m
    clipmg_lib.data.video_proxy``), worth it when frames are read every epoch (``trainable_blocks > 0``).
    Both change the pixels slightly (decoders differ by ~1 grey level, a proxy is a re-encode), so both
    are part of the token cache key and of the run's name.

    Selection: the epoch with the best ``select_metric`` on the validation split is kept as ``best.pt``.

    Bad data: ``on_bad_data`` is ``'error'`` (a bad video or skeleton file stops the run at index time, every
    bad file listed) or ``'skip'`` (its clips are dropped and listed in ``<out>/skipped.csv``); see
    :mod:`clipmg_lib.data.clip_index`.

    Every field is checked on construction (type, range or allowed values), so a wrong ``--set`` fails before
    any work with :class:`~clipmg_lib.core.config.ConfigError` naming the field, the value and what is accepted.
    ``description`` is the config's comment (it does not change a run).
    """

    description: str = ""
    model: str = "clipmg_tiny"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    min_lr_ratio: float = 0.01
    label_smoothing: float = 0.1
    class_balance: Literal["none", "loss", "sampler"] = "none"
    class_weighting: Literal["effective_number", "inverse_frequency"] = "effective_number"
    cb_beta: float = 0.999
    sampler_power: float = 1.0
    grad_clip: float = 1.0
    precise_bn_batches: int = 4
    seed: int = 0
    amp: Literal["auto", "bf16", "fp16", "off"] = "auto"
    device: str = "auto"
    num_workers: int = 0
    cpu_threads: int = 0
    train_views: int = 4
    eval_views: int = 1
    select_metric: Literal["top1", "top5", "mean_class_acc"] = "top1"
    train_split: str = "train"
    val_split: str = "val"
    test_split: str = "test"
    pose_augment: bool = True
    skeleton_source: Literal["dataset", "mediapipe"] = "dataset"
    skeletons: Literal["memory", "store"] = "memory"
    video_backend: Literal["pyav", "decord"] = "pyav"
    proxy_root: str | None = None
    cache_batch_size: int = 32
    input_keys: tuple[str, ...] = ("tokens", "heatmap")
    on_bad_data: Literal["error", "skip"] = "error"

    def __post_init__(self) -> None:
        check_fields(self)
        for name, (lo, hi, what) in RANGES.items():
            value = getattr(self, name)
            below = lo is not None and (value <= lo if what.startswith("> ") else value < lo)
            above = hi is not None and (value >= hi if what.startswith("in [") and what.endswith(")") else value > hi)
            if below or above:
                raise ConfigError(f"TrainConfig.{name} must be {what}, got {value!r}")
        if self.skeletons == "store" and self.skeleton_source != "dataset":
            raise ConfigError("TrainConfig.skeletons='store' converts the release's skeleton files; it needs "
                              f"skeleton_source='dataset', got {self.skeleton_source!r}")

    def replace(self, **overrides: Any) -> "TrainConfig":
        """A copy with (dotted) ``overrides`` applied and checked; unknown fields raise ``ConfigError``."""
        return replace_config(self, overrides)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def to_json(self, path: str | Path) -> None:
        """Write the config as JSON, atomically."""
        from ..core.atomic import atomic_open

        with atomic_open(path) as f:
            json.dump(self.to_dict(), f, indent=2)
            f.write("\n")


#: field -> (minimum, maximum, the accepted range as shown in messages); None = unbounded.
RANGES: dict[str, tuple[float | None, float | None, str]] = {
    "epochs": (1, None, ">= 1"), "batch_size": (1, None, ">= 1"), "train_views": (1, None, ">= 1"),
    "eval_views": (1, None, ">= 1"), "cache_batch_size": (1, None, ">= 1"),
    "lr": (0, None, "> 0"), "weight_decay": (0, None, ">= 0"), "warmup_epochs": (0, None, ">= 0"),
    "min_lr_ratio": (0, 1, "in [0, 1]"), "label_smoothing": (0, 1, "in [0, 1)"), "cb_beta": (0, 1, "in [0, 1)"),
    "sampler_power": (0, 1, "in [0, 1]"), "grad_clip": (0, None, ">= 0 (0 = off)"),
    "precise_bn_batches": (0, None, ">= 0"), "seed": (0, None, ">= 0"), "num_workers": (0, None, ">= 0"),
    "cpu_threads": (0, None, ">= 0 (0 = torch's default)"),
}


def available_train_configs() -> list[str]:
    """Names of the packaged training configs."""
    return named_configs("train")


def load_train_config(name_or_path: str | Path | TrainConfig = "tiny_demo",
                      overrides: Mapping[str, Any] | None = None, **fields: Any) -> TrainConfig:
    """A packaged config by name, or a JSON file by path, with dotted ``overrides`` (a mapping, e.g. the chain's
    ``train_overrides``, the CLI's ``--set``) and then ``fields`` (keywords) applied. Keywords whose value is
    ``None`` are ignored (a notebook parameter left at ``None`` keeps the config's value); in ``overrides``,
    ``None`` is a value (``--set proxy_root=null``)."""
    overrides = {**(overrides or {}), **{k: v for k, v in fields.items() if v is not None}}
    if isinstance(name_or_path, TrainConfig):
        config = name_or_path.replace(**overrides)
    else:
        config = load_config(TrainConfig, "train", name_or_path, overrides)
    check_model_overrides(config)
    return config


def check_model_overrides(config: TrainConfig) -> None:
    """Resolve ``config.model`` with its ``model_overrides`` now, so a wrong model field fails before any work."""
    from ..model.factory import get_model_config

    try:
        get_model_config(config.model, **config.model_overrides)
    except ConfigError as exc:
        raise ConfigError(f"TrainConfig.model_overrides: {exc}") from None
