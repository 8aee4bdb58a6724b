"""Agreement of two skeletons of the same frames (e.g. the dataset's file vs mediapipe's extraction)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.joint_layouts import get_layout


def shoulder_width(data: np.ndarray, layout: str) -> float:
    """Median shoulder width (pixels) over the frames where both shoulders are seen; NaN if never."""
    lay = get_layout(layout)
    r, l = lay.openpose_names.index("RShoulder"), lay.openpose_names.index("LShoulder")
    both = (data[:, r, 2] > 0) & (data[:, l, 2] > 0)
    if not both.any():
        return float("nan")
    return float(np.median(np.linalg.norm(data[both, r, :2] - data[both, l, :2], axis=-1)))


def agreement_table(reference: np.ndarray, other: np.ndarray, layout: str,
                    names: tuple[str, str] = ("reference", "other")) -> pd.DataFrame:
    """Per joint: how often each source sees it and how far apart they are where both do.

    ``reference``, ``other``: (T, V, 3) x/y/conf of the same frames in ``layout``. Columns:
    joint, side, ``seen_<name>`` (fraction of frames), ``both`` (fraction), ``median_px``,
    ``median_sw`` (median distance in the reference's shoulder widths).
    """
    if reference.shape != other.shape:
        raise ValueError(f"skeletons differ in shape: {reference.shape} vs {other.shape}")
    lay = get_layout(layout)
    a_seen, b_seen = reference[..., 2] > 0, other[..., 2] > 0
    both = a_seen & b_seen
    dist = np.linalg.norm(reference[..., :2] - other[..., :2], axis=-1)
    sw = shoulder_width(reference, layout)
    median = np.array([np.median(dist[both[:, v], v]) if both[:, v].any() else np.nan for v in range(lay.num_joints)])
    return pd.DataFrame({
        "joint": lay.names, "side": lay.sides,
        f"seen_{names[0]}": a_seen.mean(0), f"seen_{names[1]}": b_seen.mean(0), "both": both.mean(0),
        "median_px": median, "median_sw": median / sw if sw == sw and sw > 0 else np.nan,
    })
