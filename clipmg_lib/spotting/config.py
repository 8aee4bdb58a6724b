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
- ``background_iou``: a window whose tIoU with every annotated clip is below this is a background example;
  ``background_ratio`` background windows are drawn per positive one (windows in between are not trained on).
- ``min_score``: a window is a candidate when its best micro-gesture class has probability >= this.
- ``nms_iou``: class-wise temporal NMS suppresses a candidate whose tIoU with a kept, higher-scoring spot of
  the same class exceeds this.
- ``batch_size``: windows per forward pass at inference; ``seed``: window sampling.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core.paths import config_dir
from ..train.config import TrainConfig, load_train_config



@dataclass
class SpotterConfig:
    """What a spotter is built from (see the module docstring for each field)."""

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
        self.window_lengths = tuple(int(x) for x in self.window_lengths)
        if self.frame_stride < 1:
            raise ValueError(f"SpotterConfig.frame_stride must be >= 1, got {self.frame_stride}")
        if not self.window_lengths or min(self.window_lengths) < 1:
            raise ValueError(f"SpotterConfig.window_lengths must be positive frame counts, got {self.window_lengths}")
        if not 0 < self.window_hop <= 1:
            raise ValueError(f"SpotterConfig.window_hop must be in (0, 1], got {self.window_hop}")
        if not 0 <= self.background_iou <= self.positive_iou <= 1:
            raise ValueError("SpotterConfig needs 0 <= background_iou <= positive_iou <= 1, got "
                             f"{self.background_iou}, {self.positive_iou}")
        for name in ("min_score", "nms_iou"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"SpotterConfig.{name} must be in [0, 1], got {getattr(self, name)}")

    def train(self) -> TrainConfig:
        """The classifier's :class:`~clipmg_lib.train.config.TrainConfig`."""
        return load_train_config(self.train_config, **self.train_overrides)

    def replace(self, **overrides: Any) -> "SpotterConfig":
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise KeyError(f"unknown SpotterConfig field(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["window_lengths"] = list(self.window_lengths)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "dict") -> "SpotterConfig":
        data = {k: v for k, v in data.items() if not k.startswith("_")}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise KeyError(f"{source}: unknown SpotterConfig field(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


def available_spotter_configs() -> list[str]:
    return sorted(p.name[:-5] for p in config_dir("spotting").iterdir() if p.name.endswith(".json"))


def load_spotter_config(name_or_path: str | Path | SpotterConfig = "tiny_demo", **overrides: Any) -> SpotterConfig:
    """A named config (``configs/spotting/<name>.json``), a JSON path, or a config, with ``overrides`` applied."""
    if isinstance(name_or_path, SpotterConfig):
        return name_or_path.replace(**overrides) if overrides else name_or_path
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith(".json") or path.is_file()):
        if text not in available_spotter_configs():
            raise KeyError(f"unknown spotter config {text!r}; known: {available_spotter_configs()}")
        path = Path(str(config_dir("spotting") / f"{text}.json"))
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: spotter config not found") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    cfg = SpotterConfig.from_dict(data, str(path))
    return cfg.replace(**overrides) if overrides else cfg
