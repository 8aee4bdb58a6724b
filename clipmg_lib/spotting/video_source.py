"""One long video to spot in: its mp4, its skeleton (in the pose encoder's layout) and its frame count.

    src = VideoSource.from_dataset("data/demo", 52)                     # a dataset video (id, label files)
    src = VideoSource.from_files("talk.mp4", "talk_light_hand.csv")     # a user's recording

The skeleton is prepared once for the whole video - ``InterpolateMissing`` over all frames, then
``ConvertLayout(openpose22)`` - so a window only picks rows. A skeleton with fewer rows than the video has
frames is padded with missing joints (confidence 0); extra rows are dropped.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.release_files import ReleaseFiles
from ..data.skeleton import Skeleton
from ..data.skeleton_io import read_skeleton
from ..data.video import ClipReader
from ..pose.pipeline import DEFAULT_LAYOUT
from ..pose.transforms import Compose, ConvertLayout, InterpolateMissing


@dataclass
class VideoSource:
    """``video`` (int id, the ``video`` column of spots), ``path`` (mp4), ``keypoint`` float32 (N, V, 2) and
    ``keypoint_score`` float32 (N, V) in ``layout`` (the model's ``inputs.layout``; pass
    ``pipelines.layout``) for all ``num_frames`` N, ``img_shape`` (H, W)."""

    video: int
    path: Path
    num_frames: int
    keypoint: np.ndarray
    keypoint_score: np.ndarray
    img_shape: tuple[int, int]
    layout: str = DEFAULT_LAYOUT

    @classmethod
    def from_skeleton(cls, video: int, path: str | os.PathLike, skeleton: Skeleton,
                      reader: ClipReader | None = None, layout: str = DEFAULT_LAYOUT) -> "VideoSource":
        path = Path(path)
        reader = reader or ClipReader(None, size=None)
        info = reader.info(path)
        n = int(info.num_frames)
        xy, score = skeleton.xy, skeleton.score
        if len(xy) < n:
            pad = n - len(xy)
            xy = np.concatenate([xy, np.zeros((pad,) + xy.shape[1:], xy.dtype)])
            score = np.concatenate([score, np.zeros((pad,) + score.shape[1:], score.dtype)])
        results = Compose([InterpolateMissing(), ConvertLayout(layout)])(
            {"keypoint": np.ascontiguousarray(xy[:n], np.float32),
             "keypoint_score": np.ascontiguousarray(score[:n], np.float32), "layout": skeleton.layout})
        return cls(int(video), path, n, results["keypoint"].astype(np.float32),
                   results["keypoint_score"].astype(np.float32), (int(info.height), int(info.width)), layout)

    @classmethod
    def from_dataset(cls, root: str | os.PathLike | ReleaseFiles, video: int,
                     joint_layout: str = DEFAULT_LAYOUT) -> "VideoSource":
        """A video of an iMiGUE-layout dataset: its mp4 and its skeleton file (light_hand CSV or xlsx),
        the skeleton converted to ``joint_layout``."""
        layout = root if isinstance(root, ReleaseFiles) else ReleaseFiles(root)
        return cls.from_skeleton(int(video), layout.video_path(int(video)), read_skeleton(layout.skeleton_path(int(video))),
                                 layout=joint_layout)

    @classmethod
    def from_files(cls, video_path: str | os.PathLike, skeleton_path: str | os.PathLike | None = None,
                   video: int = 0, joint_layout: str = DEFAULT_LAYOUT) -> "VideoSource":
        """A recording outside any dataset, its skeleton in ``joint_layout``. Without ``skeleton_path`` the kit's mediapipe extractor runs
        (:func:`clipmg_lib.pose.video_chunks.extract_video`, resumable checkpoints next to the kit's cache)."""
        video_path = Path(video_path)
        if not video_path.is_file():
            raise FileNotFoundError(f"{video_path}: video file not found")
        if skeleton_path is not None:
            skeleton = read_skeleton(skeleton_path)
        else:
            from ..core.paths import cache_dir
            from ..pose.video_chunks import extract_video
            from ..core.hashing import content_hash

            checkpoints = cache_dir() / "spotting" / "pose" / content_hash(str(video_path.resolve()), 12)
            skeleton = extract_video(video_path, checkpoint_dir=checkpoints)
        return cls.from_skeleton(video, video_path, skeleton, layout=joint_layout)
