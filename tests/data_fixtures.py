"""Tiny synthetic inputs for the data-layer tests: videos whose frames carry their own index, and a
three-video iMiGUE root in the MiGA layout, written through the kit's own writers.

Frame ``i`` of a video shows ``i`` as a barcode (:mod:`clipmg_lib.demo.media`), which survives H.264
compression and any resize, so a test can check that the RIGHT frames come back. Skeleton frame ``i`` has its nose at x = ``NOSE_X0 + i``, so a test can check that the
skeleton lines up with the frames.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from clipmg_lib.data.annotations import CLIP_INDEX_COLUMNS, sample_id, write_label_csv, write_official_csv
from clipmg_lib.data.classes import raw_to_label
from clipmg_lib.data.release_files import ReleaseFiles
from clipmg_lib.data.skeleton import Skeleton
from clipmg_lib.data.skeleton_io import write_light_hand_csv
from clipmg_lib.data.splits import clip_split
from clipmg_lib.demo.media import write_frame_coded_video

NOSE_X0 = 10.0


def indexed_skeleton(num_frames: int, seed: int = 0, img_shape=(48, 64)) -> Skeleton:
    """A light_hand35 skeleton: random joints inside the image, nose x = ``NOSE_X0 + frame``; some joints missing."""
    rng = np.random.default_rng(seed)
    h, w = img_shape
    data = np.zeros((num_frames, 35, 3), dtype=np.float32)
    data[..., 0] = rng.uniform(0, w, (num_frames, 35))
    data[..., 1] = rng.uniform(0, h, (num_frames, 35))
    data[..., 2] = rng.uniform(0.3, 1.0, (num_frames, 35))
    data[:, 0, 0] = NOSE_X0 + np.arange(num_frames)
    data[:, 0, 2] = 0.9
    drop = rng.random((num_frames, 35)) < 0.05
    drop[:, 0] = False
    data[drop] = 0
    return Skeleton(data, "light_hand35", tuple(img_shape), "synthetic")


#: The tiny root's videos: id -> (subject, folder split, number of frames, clips as (raw_class, start, end)).
TINY_VIDEOS = {
    1: (2, "val", 60, [(99, 0, 9), (5, 10, 30), (99, 50, 59)]),
    5: (4, "train", 80, [(1, 3, 20), (99, 21, 22), (31, 40, 79), (5, 60, 70)]),
    12: (1, "test", 70, [(99, 0, 69), (16, 5, 14)]),
}


def tiny_index() -> pd.DataFrame:
    """The clip index the tiny root should give from its official CSV."""
    rows = []
    for vid, (subject, _, _, clips) in TINY_VIDEOS.items():
        for i, (raw, start, end) in enumerate(clips):
            rows.append({"sample_id": sample_id(vid, i), "video": vid, "subject": subject, "start_frame": start,
                         "end_frame": end, "raw_class": raw, "label": raw_to_label(raw),
                         "split": clip_split(subject, vid)})
    return pd.DataFrame(rows, columns=list(CLIP_INDEX_COLUMNS))


def make_tiny_imigue(root: Path, official_csv: bool = True, videos: bool = True) -> ReleaseFiles:
    """A three-video iMiGUE root in the MiGA layout (label CSVs, light_hand CSVs, mp4s, official CSV)."""
    layout = ReleaseFiles(root)
    for vid, (_, split, frames, clips) in TINY_VIDEOS.items():
        write_label_csv(layout.label_csv_path(vid, split), clips)
        write_light_hand_csv(layout.light_hand_csv_path(vid, split), indexed_skeleton(frames, seed=vid))
        if videos:
            write_frame_coded_video(layout.rgb_path(vid, split), frames)
    if official_csv:
        write_official_csv(layout.official_csv_path, tiny_index())
    layout.refresh()
    return layout
