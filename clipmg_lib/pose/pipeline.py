"""Named pose pipelines (configs are data): what ``ClipDataset(pose_pipeline=...)`` runs on each sample.

``POSE_PIPELINES[name]`` is a list of transform configs; :func:`build_pose_pipeline` turns one into a
:class:`~clipmg_lib.pose.transforms.Compose`, with overrides for the few settings models change::

    pipeline = build_pose_pipeline("train", seed=0)             # -> sample["heatmap"] (22, T, 56, 56)
    dataset = ClipDataset(index, root, mode="train", pose_pipeline=pipeline)

``train`` flips (with ``imgs``, so both modalities stay mirrored together) and jitters the pose;
``eval`` is deterministic. Both interpolate missing joints over the WHOLE clip before picking the
RGB's frames, convert to the MiGA ST-GCN ``openpose22`` layout and draw PoseC3D heatmaps (56 x 56,
sigma 0.6, person crop). Note for feature caching: if the RGB side is cached once per clip, a flip
applied here mirrors only the pose; set ``flip_ratio=0`` or cache flipped RGB views as well.
"""
from __future__ import annotations

import copy

from .transforms import Compose

POSE_PIPELINES: dict[str, list[dict]] = {
    "eval": [
        {"type": "InterpolateMissing"},
        {"type": "SelectFrames"},
        {"type": "ConvertLayout", "layout": "openpose22"},
        {"type": "GeneratePoseHeatmap", "size": 56, "sigma": 0.6, "with_kp": True, "with_limb": False},
    ],
    "train": [
        {"type": "InterpolateMissing"},
        {"type": "SelectFrames"},
        {"type": "Flip", "flip_ratio": 0.5},
        {"type": "RandomAffine", "scale": 0.1, "rotate": 10.0, "translate": 0.05},
        {"type": "ConvertLayout", "layout": "openpose22"},
        {"type": "GeneratePoseHeatmap", "size": 56, "sigma": 0.6, "with_kp": True, "with_limb": False},
    ],
    # normalised coordinates for skeleton analysis / GCN-style models, no heatmaps
    "coords": [
        {"type": "InterpolateMissing"},
        {"type": "ConvertLayout", "layout": "openpose22"},
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
    ``with_limb=True``, ``layout='light_hand35'``, ``flip_ratio=0`` (see ``_OVERRIDES``)."""
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
    for c in cfgs:
        if c["type"] in ("Flip", "RandomAffine"):
            c.setdefault("seed", seed)
    return Compose(cfgs)
