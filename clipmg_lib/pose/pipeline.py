"""Pose pipelines as data: lists of transform configs (``{"type": name, **kwargs}``), built by the
registry of :mod:`clipmg_lib.pose.transforms` (PYSKL style).

Two things live here:

* :class:`PosePipeline`, a pipeline as data with the one split the feature cache needs: the
  **skeleton steps** (deterministic, per clip: everything up to and including ``ConvertLayout``; their
  output is what the pose cache stores) and the **per-sample steps** after them (random jitter,
  heatmaps; drawn on the fly every epoch). :meth:`PosePipeline.config` is its serialised form, which
  the pose-cache key hashes. A model's train/eval pipelines come from its config's ``inputs`` section
  (:func:`clipmg_lib.model.factory.create_model_and_pipelines`); the defaults of that section are the
  lists below.
* ``POSE_PIPELINES``: the named pipelines ``eval``, ``train`` (the model defaults) and ``coords``
  (normalised coordinates, no heatmaps), and :func:`build_pose_pipeline` with overrides for looking
  at one sample::

    pipeline = build_pose_pipeline("train", seed=0)             # -> sample["heatmap"] (22, T, 56, 56)
    dataset = ClipDataset(index, root, mode="train", pose_pipeline=pipeline)

Both interpolate missing joints over the WHOLE clip before picking the RGB's frames, convert to the MiGA
ST-GCN ``openpose22`` layout and draw PoseC3D heatmaps (56 x 56, sigma 0.6, person crop); ``train``
adds a per-clip random affine jitter. Neither flips by default: a flip must mirror the RGB as well, which
cached CLIP tokens cannot (``inputs.flip`` of the model config decides; docs/RECONSTRUCTION.md).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from .transforms import Compose

#: The defaults of a model's ``inputs`` section (and of the named pipelines ``train``/``eval``).
DEFAULT_LAYOUT = "openpose22"
DEFAULT_HEATMAP = {"size": 56, "sigma": 0.6, "crop": "person", "with_kp": True, "with_limb": False}
DEFAULT_AFFINE = {"scale": 0.1, "rotate": 10.0, "translate": 0.05}
#: Skeleton steps (cached) and per-sample steps of the model pipelines; ``ConvertLayout`` and
#: ``GeneratePoseHeatmap`` take their settings from the ``inputs`` fields (``layout``, ``heatmap``).
DEFAULT_TRAIN_STEPS = [{"type": "InterpolateMissing"}, {"type": "SelectFrames"}, {"type": "ConvertLayout"},
                       {"type": "RandomAffine", **DEFAULT_AFFINE}, {"type": "GeneratePoseHeatmap"}]
DEFAULT_EVAL_STEPS = [{"type": "InterpolateMissing"}, {"type": "SelectFrames"}, {"type": "ConvertLayout"},
                      {"type": "GeneratePoseHeatmap"}]
#: Transforms that draw at random per sample (they take the pipeline's ``seed``).
RANDOM_TRANSFORMS = ("Flip", "RandomAffine")
#: The last skeleton step: steps up to it are deterministic per clip, and the pose cache stores their output.
CACHE_BOUNDARY = "ConvertLayout"


@dataclass(frozen=True)
class PosePipeline:
    """A pose pipeline as data: ``steps`` are transform configs in order (JSON-able).

    ``build(seed)`` -> :class:`Compose` of every step; ``skeleton_steps()`` / ``per_sample_steps()`` split
    it after the ``ConvertLayout`` step (see the module docstring). ``layout`` and ``heatmap`` are the
    settings of its ``ConvertLayout`` and ``GeneratePoseHeatmap`` steps.
    """

    steps: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(copy.deepcopy(dict(s)) for s in self.steps))
        types = [s.get("type") for s in self.steps]
        if types.count(CACHE_BOUNDARY) != 1:
            raise ValueError(f"a pose pipeline needs exactly one {CACHE_BOUNDARY} step, got {types}")
        if any(t in RANDOM_TRANSFORMS for t in types[: self._boundary() + 1]):
            raise ValueError(f"random transforms {RANDOM_TRANSFORMS} must come after {CACHE_BOUNDARY} "
                             f"(the skeleton steps are cached once per clip), got {types}")

    def _boundary(self) -> int:
        return [s["type"] for s in self.steps].index(CACHE_BOUNDARY)

    def config(self) -> list[dict]:
        """The steps as plain data (what a cache key hashes)."""
        return [dict(s) for s in self.steps]

    def skeleton_steps(self) -> list[dict]:
        """The deterministic per-clip steps, up to and including ``ConvertLayout`` (cached)."""
        return self.config()[: self._boundary() + 1]

    def per_sample_steps(self) -> list[dict]:
        """The steps after ``ConvertLayout`` (random jitter, heatmaps; run on the fly)."""
        return self.config()[self._boundary() + 1:]

    @property
    def layout(self) -> str:
        return self.steps[self._boundary()].get("layout", DEFAULT_LAYOUT)

    @property
    def heatmap(self) -> dict | None:
        """Keyword arguments of the ``GeneratePoseHeatmap`` step (None without one)."""
        for s in self.steps:
            if s["type"] == "GeneratePoseHeatmap":
                return {k: v for k, v in s.items() if k != "type"}
        return None

    @property
    def is_random(self) -> bool:
        return any(s["type"] in RANDOM_TRANSFORMS for s in self.steps)

    def without_random(self) -> "PosePipeline":
        """The same pipeline minus its random transforms (e.g. training with ``pose_augment=False``)."""
        return PosePipeline(tuple(s for s in self.steps if s["type"] not in RANDOM_TRANSFORMS))

    @staticmethod
    def _compose(steps: list[dict], seed: int | None) -> Compose:
        steps = copy.deepcopy(steps)
        for s in steps:
            if s["type"] in RANDOM_TRANSFORMS:
                s.setdefault("seed", seed)
        return Compose(steps)

    def build(self, seed: int | None = 0) -> Compose:
        """Every step as a :class:`Compose`; random transforms get ``seed`` (per-sample seeding)."""
        return self._compose(self.config(), seed)

    def build_skeleton(self) -> Compose:
        return self._compose(self.skeleton_steps(), None)

    def build_per_sample(self, seed: int | None = 0) -> Compose:
        return self._compose(self.per_sample_steps(), seed)

    def __str__(self) -> str:
        return " -> ".join(json.dumps(s) for s in self.steps)


def resolve_steps(steps: list[dict], layout: str = DEFAULT_LAYOUT, heatmap: dict | None = None,
                  flip_ratio: float | None = None) -> list[dict]:
    """Fill ``ConvertLayout`` with ``layout`` and ``GeneratePoseHeatmap`` with ``heatmap``; with
    ``flip_ratio``, insert ``Flip(flip_ratio)`` right after ``ConvertLayout`` (first per-sample step)."""
    out = []
    for s in copy.deepcopy(steps):
        if s["type"] == "ConvertLayout":
            s = {"type": "ConvertLayout", "layout": layout}
        elif s["type"] == "GeneratePoseHeatmap":
            s = {"type": "GeneratePoseHeatmap", **(DEFAULT_HEATMAP if heatmap is None else heatmap)}
        out.append(s)
        if s["type"] == "ConvertLayout" and flip_ratio is not None:
            out.append({"type": "Flip", "flip_ratio": float(flip_ratio)})
    return out


POSE_PIPELINES: dict[str, list[dict]] = {
    "eval": resolve_steps(DEFAULT_EVAL_STEPS),
    "train": resolve_steps(DEFAULT_TRAIN_STEPS),
    # normalised coordinates for skeleton analysis / GCN-style models, no heatmaps
    "coords": [
        {"type": "InterpolateMissing"},
        {"type": "ConvertLayout", "layout": DEFAULT_LAYOUT},
        {"type": "NormalizeSkeleton"},
    ],
}

#: keyword -> (transform type, its argument) for :func:`build_pose_pipeline` overrides
_OVERRIDES = {
    "layout": ("ConvertLayout", "layout"), "size": ("GeneratePoseHeatmap", "size"),
    "sigma": ("GeneratePoseHeatmap", "sigma"), "with_kp": ("GeneratePoseHeatmap", "with_kp"),
    "with_limb": ("GeneratePoseHeatmap", "with_limb"), "crop": ("GeneratePoseHeatmap", "crop"),
    "flip_ratio": ("Flip", "flip_ratio"),
}


def build_pose_pipeline(name: str = "eval", seed: int | None = 0, **overrides) -> Compose:
    """The named pipeline, with ``seed`` for its random transforms and overrides such as ``size=48``,
    ``with_limb=True``, ``layout='light_hand35'`` (see ``_OVERRIDES``)."""
    if name not in POSE_PIPELINES:
        raise KeyError(f"unknown pose pipeline {name!r}; known: {sorted(POSE_PIPELINES)}")
    unknown = set(overrides) - set(_OVERRIDES)
    if unknown:
        raise TypeError(f"unknown pose pipeline override(s) {sorted(unknown)}; known: {sorted(_OVERRIDES)}")
    cfgs = copy.deepcopy(POSE_PIPELINES[name])
    for key, value in overrides.items():
        kind, arg = _OVERRIDES[key]
        targets = [c for c in cfgs if c["type"] == kind]
        if not targets:
            raise ValueError(f"pose pipeline {name!r} has no {kind} to apply {key}={value!r} to")
        for c in targets:
            c[arg] = value
    return PosePipeline._compose(cfgs, seed)
