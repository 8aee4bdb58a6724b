"""Spotter configurations as data: a dataclass that round-trips through JSON (``configs/*.json``).

    cfg = load_spotter_config("tiny_demo", min_score=0.4)     # named config + overrides
    cfg.train()                                                # the classifier's TrainConfig

Fields (every choice the paper, which does not spot, leaves open; docs/RECONSTRUCTION.md, "Kit extension:
spotting"):

- ``train_config`` / ``train_overrides``: the CLIP-MG classifier's training config (``clipmg_lib.train``),
  e.g. ``tiny_demo`` with fewer epochs; its ``model`` gets one extra, background, class.
- ``frame_stride``: every ``frame_stride``-th frame of a video is decoded into the token store and encoded
  once; every window samples its frames from that grid.
- ``window_lengths`` (frames) and ``window_hop`` (fraction of the length): the multi-scale sliding windows.
- ``positive_iou``: a training window with tIoU >= this with an annotated clip takes its class (the annotated
  clips themselves always do); ``max_positives_per_clip`` caps the grid windows added per clip.
- ``background_iou``: a window of which every annotated clip holds less than this share of frames (so its
  tIoU with each is below it too, and it never lies inside a clip) is a background example;
  ``background_ratio`` background windows are drawn per positive one (windows in between are not trained on).
- ``min_score``: a window is a candidate when its best micro-gesture class has probability >= this.
- ``nms_iou``: class-wise temporal NMS suppresses a candidate whose tIoU with a kept, higher-scoring spot of
  the same class exceeds this.
- ``batch_size``: windows per forward pass at inference; ``seed``: window sampling.
- ``description``: the config's comment.

Files and overrides go through the kit's one strict loader (:mod:`clipmg_lib.core.config`): every field
type-checked, unknown keys refused; ``train_overrides`` take dotted keys like every override
(``{"model_overrides.backbone.token_grid": 7}``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.config import ConfigError, check_fields, from_dict, load_config, named_configs, replace_config, to_dict
from ..train.config import TrainConfig, load_train_config


@dataclass
class SpotterConfig:
    """What a spotter is built from (see the module docstring for each field)."""

    description: str = ""
    train_config: str = "tiny_demo"
    train_overrides: dict[str, Any] = field(default_factory=dict)
    frame_stride: int = 4
    window_lengths: tuple[int, ...] = (16, 28, 44, 68, 104)
    window_hop: float = 0.5
    positive_iou: float = 0.6
    background_iou: float = 0.15
    background_ratio: float = 1.0
    max_positives_per_clip: int = 3
    min_score: float = 0.3
    nms_iou: float = 0.3
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(self)
        if self.frame_stride < 1:
            raise ConfigError(f"SpotterConfig.frame_stride must be >= 1, got {self.frame_stride}")
        if not self.window_lengths or min(self.window_lengths) < 1:
            raise ConfigError(f"SpotterConfig.window_lengths must be positive frame counts, got {self.window_lengths}")
        if not 0 < self.window_hop <= 1:
            raise ConfigError(f"SpotterConfig.window_hop must be in (0, 1], got {self.window_hop}")
        if not 0 <= self.background_iou <= self.positive_iou <= 1:
            raise ConfigError("SpotterConfig needs 0 <= background_iou <= positive_iou <= 1, got "
                              f"{self.background_iou}, {self.positive_iou}")
        for name in ("min_score", "nms_iou"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"SpotterConfig.{name} must be in [0, 1], got {getattr(self, name)}")

    def train(self) -> TrainConfig:
        """The classifier's :class:`~clipmg_lib.train.config.TrainConfig`."""
        return load_train_config(self.train_config, **self.train_overrides)

    def replace(self, **overrides: Any) -> "SpotterConfig":
        """A copy with (dotted) ``overrides`` applied and checked; unknown fields raise ``ConfigError``."""
        return replace_config(self, overrides)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "dict") -> "SpotterConfig":
        return from_dict(cls, data, source)


def available_spotter_configs() -> list[str]:
    return named_configs("spotting")


def load_spotter_config(name_or_path: str | Path | SpotterConfig = "tiny_demo",
                        overrides: Mapping[str, Any] | None = None, **fields: Any) -> SpotterConfig:
    """A named config (``configs/spotting/<name>.json``), a JSON path, or a config, with dotted ``overrides``
    (a mapping, e.g. the chain's ``spotter_overrides``) and then ``fields`` (keywords) applied."""
    overrides = {**(overrides or {}), **fields}
    if isinstance(name_or_path, SpotterConfig):
        return name_or_path.replace(**overrides) if overrides else name_or_path
    return load_config(SpotterConfig, "spotting", name_or_path, overrides)
