"""``ClipDataset``: one sample dict per labelled clip, RGB frames and skeleton on the same frame indices.

The sample dict is the contract of docs/ARCHITECTURE.md (PYSKL style)::

    sample_id       str                      '0298_0'
    video           int                      298
    label           int                      MiGA label 0..31
    frame_inds      int64 (T,)               absolute frame indices (TSN segments: centres in eval, random in train)
    imgs            uint8 (T, H, W, 3)       RGB frames, resized to image_size x image_size (only if load_frames)
    keypoint        float32 (T_clip, V, 2)   the WHOLE clip's joints, pixels of the original video
    keypoint_score  float32 (T_clip, V)      confidences, 0 = missing
    clip_start      int                      absolute frame of keypoint[0] (= the clip's start_frame)
    img_shape       (H, W)                   of the original video
    layout          str                      joint layout of keypoint (e.g. 'openpose22')
    epoch           int                      the epoch set by set_epoch (seeds random pose transforms)

``pose_pipeline`` (e.g. ``clipmg_lib.pose.transforms.Compose``) is applied last; its ``SelectFrames`` cuts
the skeleton down to ``frame_inds`` after interpolating missing joints over the whole clip.

Skeletons are read once per video and kept in the requested layout (a 14-minute video is about 5 MB in
``openpose22``; all of iMiGUE about 0.85 GB). Held in memory, every DataLoader worker (forkserver or spawn,
:mod:`clipmg_lib.core.workers`) parses and keeps its own copy. With ``skeleton_store`` (converted once by
``python -m clipmg_lib.data.skeleton_store``) they are memory-mapped ``.npy`` files instead: no parsing,
one copy in the page cache shared by all workers (docs/PERFORMANCE.md has the measured peak memory).
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from .annotations import CLIP_INDEX_COLUMNS
from .release_files import ReleaseFiles
from .frame_sampling import sample_frame_indices
from .joint_layouts import get_layout
from .shared_epoch import SharedEpoch
from .skeleton import Skeleton
from .skeleton_io import read_light_hand_csv, read_skeleton
from .skeleton_store import SkeletonStore
from .video import ClipReader
from .video_proxy import ProxySpec
from ..core.progress import progress_bar

#: Frame size of iMiGUE's videos; used for ``img_shape`` when neither the video nor the skeleton says.
IMIGUE_IMG_SHAPE = (720, 1280)
SKELETON_SOURCES = ("dataset", "mediapipe")
MODES = ("eval", "train")


class ClipDataset(Dataset):
    """A torch ``Dataset`` over the rows of a clip index (see the module docstring for the sample dict).

    ``index``: a clip index (e.g. ``build_clip_index(root)`` filtered to one split). ``root``: the iMiGUE
    root (or an :class:`ReleaseFiles`). ``num_frames``: T. ``image_size``: frames are resized to a square of
    this side (None: native size). ``mode``: ``'eval'`` (segment centres) or ``'train'`` (a random frame per
    segment, drawn from ``(seed, epoch, index)``, see :meth:`set_epoch`). ``skeleton_source``: ``'dataset'``
    (the release's ``{vid}_light_hand.csv``, else ``{vid}_openpose.xlsx``) or ``'mediapipe'``
    (``<root>/mediapipe_skeleton/{vid:04d}/{vid}_light_hand.csv``). ``layout``: joint layout of ``keypoint``.
    ``load_frames=False`` skips decoding (skeleton-only models, feature caches that read frames elsewhere).
    ``video_backend``: :class:`ClipReader`'s (``'pyav'`` default, or ``'decord'``). ``proxy_root``: a folder
    of seek-friendly proxies (``python -m clipmg_lib.data.video_proxy --root ROOT --out PROXY_ROOT``); a
    video with a proxy there is read from it (same frame indices, ~10x faster random clip access on long
    videos, see docs/PERFORMANCE.md), and ``img_shape`` stays the original video's, since keypoints are in
    its pixels. ``proxy_spec`` selects which proxies (default :class:`~clipmg_lib.data.video_proxy.ProxySpec`).
    ``skeleton_store``: a :class:`~clipmg_lib.data.skeleton_store.SkeletonStore` of this root's converted
    skeletons (``skeleton_source='dataset'``): whole-video skeletons are then memory-mapped, not parsed and
    copied, so DataLoader workers share them (workers get the store, not the arrays).
    """

    def __init__(self, index: pd.DataFrame, root: str | os.PathLike | ReleaseFiles, num_frames: int = 8,
                 image_size: int | None = 224, mode: str = "eval", seed: int = 0, skeleton_source: str = "dataset",
                 layout: str = "openpose22", pose_pipeline: Callable[[dict], dict] | None = None,
                 load_frames: bool = True, resize: str = "square", video_cache_size: int = 4,
                 video_backend: str = "pyav", proxy_root: str | os.PathLike | None = None,
                 proxy_spec: ProxySpec | None = None, skeleton_store: "SkeletonStore | None" = None) -> None:
        missing = [c for c in CLIP_INDEX_COLUMNS if c not in index.columns]
        if missing:
            raise ValueError(f"ClipDataset: the index lacks column(s) {missing}; build it with build_clip_index")
        if mode not in MODES:
            raise ValueError(f"ClipDataset: mode must be one of {MODES}, got {mode!r}")
        if skeleton_source not in SKELETON_SOURCES:
            raise ValueError(f"ClipDataset: skeleton_source must be one of {SKELETON_SOURCES}, got {skeleton_source!r}")
        get_layout(layout)  # fail early on an unknown name
        self.index = index.reset_index(drop=True)
        self.release_files = root if isinstance(root, ReleaseFiles) else ReleaseFiles(root)
        self.num_frames = int(num_frames)
        self.image_size = image_size
        self.mode = mode
        self.seed = int(seed)
        self._epoch = SharedEpoch(0)  # DataLoader workers (persistent ones too) see set_epoch
        self.skeleton_source = skeleton_source
        self.layout = layout
        self.pose_pipeline = pose_pipeline
        self.load_frames = load_frames
        self.reader = ClipReader(self.release_files, size=image_size, resize=resize, cache_size=video_cache_size,
                                 backend=video_backend, proxy_root=proxy_root, proxy_spec=proxy_spec)
        self.skeleton_store = skeleton_store
        self._skeletons: dict[int, Skeleton] = {}
        self._img_shapes: dict[int, tuple[int, int]] = {}
        # plain arrays: cheap row access in __getitem__ (DataFrame.iloc is slow per call)
        self._video = self.index["video"].to_numpy(np.int64)
        self._start = self.index["start_frame"].to_numpy(np.int64)
        self._end = self.index["end_frame"].to_numpy(np.int64)
        self._label = self.index["label"].to_numpy(np.int64)
        self._sample_id = self.index["sample_id"].astype(str).tolist()

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return (f"ClipDataset({len(self)} clips, root={str(self.release_files.root)!r}, T={self.num_frames}, "
                f"size={self.image_size}, mode={self.mode!r}, skeleton={self.skeleton_source}/{self.layout}"
                + (f", proxy_root={str(self.reader.proxy_root)!r}" if self.reader.proxy_root is not None else "") + ")")

    @property
    def epoch(self) -> int:
        return self._epoch.get()

    @epoch.setter
    def epoch(self, epoch: int) -> None:
        self._epoch.set(epoch)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random draws ``mode='train'`` uses (call before each epoch; reaches
        DataLoader workers already running, see :mod:`clipmg_lib.data.shared_epoch`)."""
        self._epoch.set(epoch)

    # ---------------------------------------------------------------------------------- skeletons
    def skeleton_file(self, vid: int):
        """The skeleton file this dataset reads for a video."""
        if self.skeleton_source == "mediapipe":
            return self.release_files.mediapipe_light_hand_csv(vid)
        return self.release_files.skeleton_path(vid)

    def skeleton(self, vid: int) -> Skeleton:
        """The whole video's skeleton in ``self.layout`` (read once, then cached)."""
        vid = int(vid)
        sk = self._skeletons.get(vid)
        if sk is None and self.skeleton_store is not None and self.skeleton_source == "dataset":
            sk = self._skeletons[vid] = self.skeleton_store.skeleton(vid, self.layout)  # memory-mapped, shared
        if sk is None:
            path = self.skeleton_file(vid)
            raw = read_light_hand_csv(path) if self.skeleton_source == "mediapipe" else read_skeleton(path)
            sk = raw.to(self.layout)
            self._skeletons[vid] = sk
        return sk

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        if self.skeleton_store is not None:  # workers map the store themselves: never pickle mapped arrays
            state["_skeletons"] = {}
        return state

    def preload_skeletons(self, progress: bool = True) -> None:
        """Read every video's skeleton now (before forking DataLoader workers, so they share the arrays)."""
        for vid in progress_bar(np.unique(self._video), desc="skeletons", unit="video", disable=not progress,
                                leave=False):
            self.skeleton(int(vid))

    def img_shape(self, vid: int) -> tuple[int, int]:
        """(H, W) of the original video: from the mp4 (or its proxy's metadata) if present, else the skeleton,
        else iMiGUE's 720x1280."""
        vid = int(vid)
        if vid not in self._img_shapes:
            try:
                shape = self.reader.source_shape(vid)
            except FileNotFoundError:
                sk = self._skeletons.get(vid)
                shape = tuple(sk.img_shape) if sk is not None and sk.img_shape else IMIGUE_IMG_SHAPE
            self._img_shapes[vid] = shape
        return self._img_shapes[vid]

    # ------------------------------------------------------------------------------------ samples
    def frame_indices(self, i: int, mode: str | None = None, epoch: int | None = None) -> np.ndarray:
        """The frame indices sample ``i`` uses at the current epoch (deterministic in ``(seed, epoch, i)``).

        ``mode``/``epoch`` override the dataset's (e.g. the feature cache asks for every view of a clip).
        """
        mode = self.mode if mode is None else mode
        if mode == "train":
            epoch = self.epoch if epoch is None else int(epoch)
            rng = np.random.default_rng([self.seed, epoch, int(i)])
            return sample_frame_indices(self._start[i], self._end[i], self.num_frames, "random", rng)
        if mode != "eval":
            raise ValueError(f"ClipDataset: mode must be one of {MODES}, got {mode!r}")
        return sample_frame_indices(self._start[i], self._end[i], self.num_frames, "uniform")

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.get(i)

    def get(self, i: int, frame_inds: np.ndarray | None = None, load_frames: bool | None = None) -> dict[str, Any]:
        """Sample ``i`` (the module docstring's dict); ``frame_inds`` (T,) replaces the sampled indices and
        ``load_frames`` the dataset's setting (the feature cache reads the frames of all views at once)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"ClipDataset index {i} out of range for {len(self)} clips")
        i = int(i) % len(self)
        vid, start, end = int(self._video[i]), int(self._start[i]), int(self._end[i])
        sid = self._sample_id[i]
        frame_inds = self.frame_indices(i) if frame_inds is None else np.asarray(frame_inds, dtype=np.int64)
        skeleton = self.skeleton(vid)
        try:
            clip = skeleton.frames(start, end)
        except IndexError as exc:
            raise IndexError(f"clip {sid}: {exc}") from None
        sample: dict[str, Any] = {
            "sample_id": sid,
            "video": vid,
            "label": int(self._label[i]),
            "frame_inds": frame_inds,
            "keypoint": np.ascontiguousarray(clip.xy),
            "keypoint_score": np.ascontiguousarray(clip.score),
            "clip_start": start,
            "layout": self.layout,
            "epoch": self.epoch,
        }
        if self.load_frames if load_frames is None else load_frames:
            sample["imgs"] = self.reader.read(vid, frame_inds)
        sample["img_shape"] = self.img_shape(vid)
        if self.pose_pipeline is not None:
            sample = self.pose_pipeline(sample)
        return sample


def collate_clips(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Collate sample dicts: arrays of one shape are stacked into tensors, numbers become tensors,
    everything else (strings, per-clip arrays of different lengths, tuples) stays a list."""
    out: dict[str, Any] = {}
    for key in batch[0]:
        values = [b[key] for b in batch]
        first = values[0]
        if isinstance(first, np.ndarray) and all(isinstance(v, np.ndarray) and v.shape == first.shape for v in values):
            out[key] = torch.from_numpy(np.stack(values))
        elif isinstance(first, torch.Tensor) and all(isinstance(v, torch.Tensor) and v.shape == first.shape for v in values):
            out[key] = torch.stack(values)
        elif isinstance(first, (bool, np.bool_)):
            out[key] = torch.tensor(values, dtype=torch.bool)
        elif isinstance(first, (int, np.integer)):
            out[key] = torch.tensor(values, dtype=torch.int64)
        elif isinstance(first, (float, np.floating)):
            out[key] = torch.tensor(values, dtype=torch.float32)
        else:
            out[key] = values
    return out
