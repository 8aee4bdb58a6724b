"""How much each joint moves: per-clip joint motion and its per-class summary.

Micro-gestures are small. To say how small, each clip's skeleton is normalised by its own shoulder
width (:class:`~clipmg_lib.pose.transforms.NormalizeSkeleton`, one centre and scale per clip), then per joint:

* ``speed``: the mean frame-to-frame displacement, in shoulder widths per second
  (over consecutive frames where the joint is seen in both; the motion energy of the joint);
* ``amplitude``: the 95th percentile of the distance from the joint's median position in the clip,
  in shoulder widths (how far the joint travels away from rest).

Detection noise moves joints too: a still joint's speed is the noise floor, which the notebook shows
next to the classes.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..data.annotations import IMIGUE_FPS
from ..data.classes import class_names
from ..data.joint_layouts import get_layout
from .transforms import NormalizeSkeleton


def joint_motion(keypoint_norm: np.ndarray, score: np.ndarray,
                 fps: float = IMIGUE_FPS) -> tuple[np.ndarray, np.ndarray]:
    """(speed (V,), amplitude (V,)) of a clip from normalised joints (T, V, 2) and scores (T, V); NaN where unseen."""
    seen = score > 0
    both = seen[1:] & seen[:-1]
    step = np.linalg.norm(np.diff(keypoint_norm, axis=0), axis=-1)               # (T-1, V)
    with np.errstate(invalid="ignore"):
        speed = np.where(both.any(0), (step * both).sum(0) / np.maximum(both.sum(0), 1) * fps, np.nan)
    amp = np.full(keypoint_norm.shape[1], np.nan)
    for v in np.flatnonzero(seen.sum(0) >= 2):
        pts = keypoint_norm[seen[:, v], v]
        amp[v] = np.percentile(np.linalg.norm(pts - np.median(pts, axis=0), axis=-1), 95)
    return speed.astype(np.float64), amp


def clip_motion_table(samples: Iterable[dict], fps: float = IMIGUE_FPS) -> pd.DataFrame:
    """One row per (clip, joint): sample_id, label, class_name, joint, side, speed, amplitude.

    ``samples``: sample dicts with ``keypoint``/``keypoint_score``/``layout``/``label`` (e.g. a
    ``ClipDataset`` with ``load_frames=False``); ``keypoint_norm`` is used when present, else computed.
    """
    names = class_names()
    normalise = NormalizeSkeleton()
    rows = []
    for s in samples:
        if "keypoint_norm" not in s:
            s = normalise(dict(s))
        layout = get_layout(s["layout"])
        speed, amp = joint_motion(np.asarray(s["keypoint_norm"]), np.asarray(s["keypoint_score"]), fps)
        label = int(s["label"])
        for v in range(layout.num_joints):
            rows.append((s.get("sample_id", ""), label, names[label], layout.names[v], layout.sides[v],
                         speed[v], amp[v]))
    return pd.DataFrame(rows, columns=["sample_id", "label", "class_name", "joint", "side", "speed", "amplitude"])


def class_motion_table(clip_table: pd.DataFrame, value: str = "amplitude") -> pd.DataFrame:
    """Class x joint table of the median ``value`` over the clips of each class (rows ordered by label)."""
    table = clip_table.pivot_table(index=["label", "class_name"], columns="joint", values=value, aggfunc="median",
                                   sort=False)
    table = table.sort_index(level="label")
    joints = list(dict.fromkeys(clip_table["joint"]))
    return table[joints]
