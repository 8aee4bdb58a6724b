"""One skeleton representation for every source (CSV, xlsx, OpenPose JSON, mediapipe)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .joint_layouts import convert, get_layout


class SkeletonFileError(ValueError):
    """A skeleton file that cannot be read; the message names the file and the problem."""


@dataclass
class Skeleton:
    """Per-frame 2D joints of one video (or clip), in pixel coordinates.

    ``data``: float32 (T, V, 3) holding x, y, confidence; a missing joint is (0, 0, 0).
    ``layout``: a name from :data:`clipmg_lib.data.joint_layouts.LAYOUTS`; V must match it.
    ``img_shape``: (H, W) of the video the pixels refer to, when known.
    ``source``: where it came from (a path, or 'mediapipe'), for messages.
    """

    data: np.ndarray
    layout: str
    img_shape: tuple[int, int] | None = None
    source: str = ""

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype=np.float32)
        v = get_layout(self.layout).num_joints
        if self.data.ndim != 3 or self.data.shape[1:] != (v, 3):
            raise SkeletonFileError(
                f"{self.source or 'skeleton'}: expected shape (T, {v}, 3) for layout {self.layout}, got {self.data.shape}")

    @property
    def num_frames(self) -> int:
        return int(self.data.shape[0])

    @property
    def xy(self) -> np.ndarray:
        """(T, V, 2) pixel coordinates."""
        return self.data[..., :2]

    @property
    def score(self) -> np.ndarray:
        """(T, V) confidences in [0, 1]; 0 marks a missing joint."""
        return self.data[..., 2]

    def to(self, layout: str) -> "Skeleton":
        """The same skeleton in another (subset) layout."""
        if layout == self.layout:
            return self
        return Skeleton(convert(self.data, self.layout, layout), layout, self.img_shape, self.source)

    def frames(self, start: int, end: int) -> "Skeleton":
        """Frames ``start..end`` inclusive (iMiGUE's convention); raises if past the end."""
        if start < 0 or end < start or end >= self.num_frames:
            raise IndexError(
                f"{self.source or 'skeleton'}: frame range {start}..{end} outside 0..{self.num_frames - 1}")
        return Skeleton(self.data[start:end + 1], self.layout, self.img_shape, self.source)
