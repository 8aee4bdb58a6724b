"""The pose keys of a sample dict, read with checks that name the sample (shared by every pose transform).

``keypoint`` float32 (T, V, 2) and ``keypoint_score`` float32 (T, V) (0 = missing); ``layout`` the joint
layout's name (default ``openpose22``). :mod:`.transforms` and :mod:`.heatmap` read them through here.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data.joint_layouts import JointLayout, get_layout

#: A sample: the dict every transform reads and returns (keys in docs/ARCHITECTURE.md).
Results = dict[str, Any]


def pose_arrays(results: Results, who: str) -> tuple[np.ndarray, np.ndarray]:
    """``keypoint`` (T, V, 2) and ``keypoint_score`` (T, V) with shape checks that name the sample."""
    sid = results.get("sample_id", "?")
    if "keypoint" not in results or "keypoint_score" not in results:
        raise KeyError(f"{who}: sample {sid} lacks 'keypoint'/'keypoint_score' (keys: {sorted(results)})")
    kp = np.asarray(results["keypoint"], dtype=np.float32)
    sc = np.asarray(results["keypoint_score"], dtype=np.float32)
    if kp.ndim != 3 or kp.shape[-1] != 2 or sc.shape != kp.shape[:2]:
        raise ValueError(f"{who}: sample {sid}: expected keypoint (T, V, 2) and keypoint_score (T, V), "
                         f"got {kp.shape} and {sc.shape}")
    return kp, sc


def sample_layout(results: Results, kp: np.ndarray, who: str) -> JointLayout:
    """The sample's joint layout (``layout``, default openpose22), checked against the V of ``keypoint``."""
    layout = get_layout(results.get("layout", "openpose22"))
    if kp.shape[1] != layout.num_joints:
        raise ValueError(f"{who}: sample {results.get('sample_id', '?')}: layout {layout.name} "
                         f"has {layout.num_joints} joints, keypoint has {kp.shape[1]}")
    return layout
