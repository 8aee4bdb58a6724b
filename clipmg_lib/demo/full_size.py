"""A full-size simulated iMiGUE: 359 videos at their real lengths, 18,498 clips, about 3.2 million frames.

``python -m clipmg_lib.demo.full_size --out /tmp/s/imigue_full [--official-csv labels_20200831.csv]
[--xlsx 2] [--json 1] [--videos none|tiny] [--only-videos 298 371] [--workers 2]``
(also ``--size imigue``, the demo generator's name for this mode).

What it is for: every stage of the kit (index build, skeleton reading and conversion, DataLoader workers,
caches, training, evaluation, the submission) run at the size of the real dataset, on a machine without it.
It is a *scale* simulation: the structure (videos, lengths, subjects, splits, clip boundaries, classes) is
iMiGUE's, the joints are a seated person with breathing and sway plus detection noise (no class-specific
movement: a model trained on it learns nothing but the class prior; use the demo for that).

Where the structure comes from:

``official_csv``   the official ``labels_20200831.csv`` (its rows are copied unchanged into the root): every
                   video, subject, split, class and clip boundary is the real one. A video's length is its
                   last labelled frame + 1 plus a tail of 5-40 s (seeded; the one video whose real skeleton
                   we have, 298, runs 873 frames = 35 s past its last clip).
``statistics``     without the CSV: a seeded sampler fitted to the CSV's published statistics
                   (:data:`PUBLISHED_STATS`): 72 subjects (the protocol's 37 training / 35 test), 255 / 104
                   videos, video lengths log-normal (log-mean 8.82, log-sd 0.70, clipped to 504..35,046 frames),
                   13,935 / 4,563 clips dealt to videos in proportion to their length (largest remainder,
                   so the totals are exact), classes by the real per-split class counts, clip lengths
                   log-normal with median 40 and mean 64.8 frames (sigma 0.98), clipped to 6..3,693.

What it writes (the MiGA layout, through the kit's own writers)::

    <out>/labels_20200831.csv
    <out>/imigue_data_phase1/datasets/imigue_skeleton_{train,validate}/{vid:04d}/{vid}_label.csv
                                                                            /{vid}_light_hand.csv   every video
                                                                            /{vid}_openpose.xlsx    ``--xlsx`` videos
    <out>/imigue_data_phase2/imigue_skeleton_test/{vid:04d}/...
    <out>/Data/skeleton/raw/{vid}/{vid}_{frame:012d}_keypoints.json                                  ``--json`` videos
    <out>/imigue_rgb_phase1/{train_data,validation_data}/{vid}/{vid}.mp4    ``--videos tiny``: 32x18 H.264, real length
    <out>/imigue_rgb_phase2/{vid}/{vid}.mp4
    <out>/full_size_manifest.json                                           written last, with sizes and timings

The xlsx form costs ~43 s to write and ~73 s to read per real-length file (openpyxl), so it is written for a
measured subset (``--xlsx N``: the N videos nearest the median length) and extrapolated
(docs/PERFORMANCE.md). Every file is written atomically; a second run skips the videos whose files exist
(resume), ``--force`` redoes them.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_open
from ..core.progress import progress_bar
from ..core.workers import process_pool
from ..data.annotations import IMIGUE_FPS, read_official_csv, write_label_csv, write_official_csv
from ..data.classes import raw_to_label
from ..data.release_files import OFFICIAL_CSV_NAME, ReleaseFiles
from ..data.skeleton import Skeleton
from ..data.skeleton_io import write_light_hand_csv, write_openpose_xlsx
from ..data.splits import TRAIN_SUBJECTS, clip_split
from ..data.video_writer import write_h264

log = logging.getLogger(__name__)

GENERATOR_VERSION = 1
MANIFEST_NAME = "full_size_manifest.json"
IMG_SHAPE = (720, 1280)  # (H, W) of the release's videos; the skeletons are in these pixels
TINY_VIDEO = (32, 18)  # (W, H) of --videos tiny
#: Seconds of video after the last labelled clip: uniform in this range (video 298: 873 frames = 35 s).
TAIL_SECONDS = (5.0, 40.0)

#: Facts of labels_20200831.csv (../shared/imigue/README.md) that the ``statistics`` sampler is fitted to.
PUBLISHED_STATS = {
    "videos": 359, "clips": 18498, "subjects": 72, "train_videos": 255, "test_videos": 104,
    "train_clips": 13935, "test_clips": 4563,
    "clip_frames": {"median": 40, "mean": 64.8, "min": 6, "max": 3693},
    # last labelled frame + 1 per video: log-normal fit, and its range
    "video_frames": {"log_mean": 8.82, "log_sd": 0.70, "min": 504, "max": 35046},
}
#: Clips per raw class in the cross-subject training / test subjects' videos (labels_20200831.csv).
CLASS_COUNTS_XSUB = {
    1: (11, 4), 2: (421, 94), 3: (39, 6), 4: (218, 53), 5: (80, 10), 6: (23, 9), 7: (65, 25), 8: (871, 263),
    9: (87, 45), 10: (3, 2), 11: (315, 139), 12: (163, 35), 13: (101, 39), 14: (42, 28), 15: (28, 16),
    16: (27, 3), 17: (322, 84), 18: (85, 46), 19: (2, 0), 20: (961, 256), 21: (174, 53), 22: (376, 151),
    23: (659, 376), 24: (705, 183), 25: (11, 10), 26: (293, 137), 27: (87, 13), 28: (61, 38), 29: (1247, 300),
    30: (6, 2), 31: (2332, 548), 99: (4120, 1595),
}
SOURCES = ("auto", "official_csv", "statistics")


@dataclass(frozen=True)
class FullSizeVideo:
    """One video of the simulated root: id, subject, MiGA split folder, frames, emotion, forms to write."""

    video: int
    subject: int
    split: str
    num_frames: int
    win_or_lose: str
    xlsx: bool = False
    json: bool = False


# ------------------------------------------------------------------------------------------ planning

def _tails(videos: np.ndarray, seed: int) -> np.ndarray:
    lo, hi = (int(s * IMIGUE_FPS) for s in TAIL_SECONDS)
    return np.array([np.random.default_rng([seed, int(v), 11]).integers(lo, hi + 1) for v in videos])


def plan_from_csv(csv: str | os.PathLike, seed: int = 0) -> tuple[pd.DataFrame, list[FullSizeVideo]]:
    """The official CSV's clips (clip index + extra columns) and the videos they imply (lengths: last clip
    + a seeded tail of :data:`TAIL_SECONDS`)."""
    clips = read_official_csv(csv)
    per_video = clips.groupby("video").agg(subject=("subject", "first"), last=("end_frame", "max"),
                                           emotion=("win_or_lose", "first"))
    tails = _tails(per_video.index.to_numpy(), seed)
    videos = [FullSizeVideo(int(v), int(r.subject), clip_split(int(r.subject), int(v)), int(r.last) + 1 + int(t),
                            str(r.emotion)) for (v, r), t in zip(per_video.iterrows(), tails)]
    return clips, videos


def plan_from_statistics(seed: int = 0) -> tuple[pd.DataFrame, list[FullSizeVideo]]:
    """A statistical copy of the official CSV (see the module docstring): same totals per split, same class
    counts per split, lengths from the fitted log-normals. Deterministic in ``seed``."""
    s = PUBLISHED_STATS
    rng = np.random.default_rng([seed, 170017])
    train_subjects = sorted(TRAIN_SUBJECTS)
    test_subjects = sorted(set(range(1, s["subjects"] + 1)) - TRAIN_SUBJECTS)
    ids = rng.permutation(np.arange(1, s["videos"] + 1 + 120))[:s["videos"]]  # ids 1..479, gaps like the release's
    vf = s["video_frames"]
    rows, videos = [], []
    splits = (("train", train_subjects, s["train_videos"], s["train_clips"], 0),
              ("test", test_subjects, s["test_videos"], s["test_clips"], 1))
    start = 0
    for split, subjects, n_videos, n_clips, col in splits:
        vids = np.sort(ids[start:start + n_videos])
        start += n_videos
        # every subject has at least 2 videos (as in the CSV); the rest uniformly
        owners = np.concatenate([np.repeat(subjects, 2), rng.choice(subjects, n_videos - 2 * len(subjects))])
        owners = rng.permutation(owners)
        last = np.clip(np.exp(rng.normal(vf["log_mean"], vf["log_sd"], n_videos)), vf["min"], vf["max"]).astype(int)
        share = n_clips * last / last.sum()
        counts = np.floor(share).astype(int)
        counts[np.argsort(-(share - counts), kind="stable")[:n_clips - counts.sum()]] += 1
        pool = rng.permutation([c for c, n in CLASS_COUNTS_XSUB.items() for _ in range(n[col])])
        k = 0
        for vid, subject, n_frames, n in zip(vids, owners, last, counts):
            emotion = "Win" if rng.random() < 258 / 359 else "Lose"
            sigma = np.sqrt(2 * np.log(s["clip_frames"]["mean"] / s["clip_frames"]["median"]))
            lengths = np.clip(np.round(s["clip_frames"]["median"] * np.exp(sigma * rng.standard_normal(n))),
                              s["clip_frames"]["min"], min(s["clip_frames"]["max"], n_frames)).astype(int)
            starts = np.sort(rng.integers(0, np.maximum(n_frames - lengths + 1, 1)))
            for i, (a, length) in enumerate(zip(starts, lengths)):
                raw = int(pool[k])
                k += 1
                rows.append({"sample_id": f"{int(vid):04d}_{i}", "video": int(vid), "subject": int(subject),
                             "start_frame": int(a), "end_frame": int(a + length - 1), "raw_class": raw,
                             "label": raw_to_label(raw), "split": clip_split(int(subject), int(vid)),
                             "label_id": i + 1, "gender": "", "nationality": "Simulated", "win_or_lose": emotion})
            tail = _tails(np.array([vid]), seed)[0]
            end = max(int(n_frames), int((starts + lengths).max()) if n else int(n_frames))
            videos.append(FullSizeVideo(int(vid), int(subject), clip_split(int(subject), int(vid)), end + int(tail),
                                        emotion))
    return pd.DataFrame(rows), sorted(videos, key=lambda v: v.video)


def choose_subset(videos: list[FullSizeVideo], n: int) -> set[int]:
    """The ``n`` videos nearest the median length (a subset whose per-file figures extrapolate fairly)."""
    if n <= 0:
        return set()
    med = np.median([v.num_frames for v in videos])
    return {v.video for v in sorted(videos, key=lambda v: (abs(v.num_frames - med), v.video))[:n]}


# ------------------------------------------------------------------------------------------ skeletons

_BODY25_TEMPLATE = {  # (x, y) in 1280x720 pixels of a seated speaker behind a table
    0: (640, 250), 1: (640, 345), 2: (560, 350), 3: (530, 460), 4: (590, 540), 5: (720, 350), 6: (750, 460),
    7: (690, 540), 8: (640, 600), 9: (595, 600), 12: (685, 600), 15: (625, 235), 16: (655, 235), 17: (605, 245),
    18: (675, 245),
}
_HIDDEN = (10, 11, 13, 14, 19, 20, 21, 22, 23, 24)  # knees, ankles, feet: under the table


def _template(rng: np.random.Generator) -> np.ndarray:
    """(137, 2) rest pose of one subject: BODY_25 + 70 face points around the nose + 21 points per hand."""
    xy = np.zeros((137, 2))
    scale, shift = rng.uniform(0.85, 1.15), rng.uniform([-80, -30], [80, 30])
    for j, p in _BODY25_TEMPLATE.items():
        xy[j] = p
    angle = np.linspace(0, 2 * np.pi, 70, endpoint=False)
    xy[25:95] = xy[0] + np.stack([38 * np.cos(angle), 48 * np.sin(angle) + 5], 1)
    for base, wrist in ((95, 7), (116, 4)):  # OpenPose: left hand = person's left = BODY_25 7
        fan = np.linspace(-0.9, 0.9, 5)
        xy[base] = xy[wrist]
        for f in range(5):
            for k in range(4):
                xy[base + 1 + 4 * f + k] = xy[wrist] + (k + 1) * 9 * np.array([np.sin(fan[f]), np.cos(fan[f])])
    centre = np.array([640, 400])
    return (xy - centre) * scale + centre + shift


def synthesize_skeleton(video: FullSizeVideo, seed: int) -> Skeleton:
    """(T, 137, 3) ``openpose137`` of one video: rest pose, breathing (0.25 Hz) and sway, per-joint detection
    noise, OpenPose-like confidences, 3 % dropped joints and hidden legs (0, 0, 0). Vectorised: ~1 s per
    real-length video."""
    subject_rng = np.random.default_rng([seed, 1_000_003, video.subject])
    rest = _template(subject_rng)
    rng = np.random.default_rng([seed, video.video, 21])
    t = np.arange(video.num_frames) / IMIGUE_FPS
    sway = np.stack([6 * np.sin(2 * np.pi * 0.07 * t + rng.uniform(0, 6)),
                     3 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 6))], 1).astype(np.float32)  # (T, 2)
    data = np.empty((video.num_frames, 137, 3), np.float32)
    data[..., :2] = rest[None].astype(np.float32) + sway[:, None]
    data[..., :2] += rng.normal(0, 1.5, (video.num_frames, 137, 2)).astype(np.float32)
    data[..., 2] = rng.uniform(0.35, 0.95, (video.num_frames, 137)).astype(np.float32)
    dropped = rng.random((video.num_frames, 137)) < 0.03
    dropped[:, list(_HIDDEN)] = True
    data[dropped] = 0
    return Skeleton(data, "openpose137", IMG_SHAPE, f"simulated video {video.video}")


def write_openpose_json_dir(folder: str | os.PathLike, video: int, skeleton: Skeleton) -> None:
    """One OpenPose 1.3 ``{vid}_{frame:012d}_keypoints.json`` per frame (``openpose137`` split into its parts;
    an all-zero frame is written with no person), each atomically."""
    if skeleton.layout != "openpose137":
        raise ValueError(f"write_openpose_json_dir({folder}): needs openpose137, got {skeleton.layout}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = (("pose_keypoints_2d", 0, 25), ("face_keypoints_2d", 25, 95), ("hand_left_keypoints_2d", 95, 116),
             ("hand_right_keypoints_2d", 116, 137))
    for i, frame in enumerate(np.round(skeleton.data.astype(np.float64), 3)):
        people = [] if not frame.any() else [{"person_id": [-1], **{k: frame[a:b].ravel().tolist() for k, a, b in parts}}]
        with atomic_open(folder / f"{video}_{i:012d}_keypoints.json", "w") as f:
            json.dump({"version": 1.3, "people": people}, f)


def write_tiny_video(path: str | os.PathLike, num_frames: int, size: tuple[int, int] = TINY_VIDEO) -> None:
    """A real-length H.264 mp4 at a tiny frame size (``size`` (W, H), 25 fps): a grey frame whose brightness
    encodes ``frame % 200`` (so a reader's frame index can be checked), written atomically."""
    w, h = size

    def frames():
        img = np.zeros((h, w, 3), np.uint8)
        for i in range(num_frames):
            img[:] = 20 + (i % 200)
            yield img

    write_h264(path, frames(), width=w, height=h, fps=IMIGUE_FPS, threads=1, thread_type="SLICE",
               options={"preset": "ultrafast", "crf": "30", "g": "250"})


def _video_paths(root: Path, v: FullSizeVideo, videos: str) -> dict[str, Path]:
    layout = ReleaseFiles(root)
    paths = {"label": layout.label_csv_path(v.video, v.split), "light_hand": layout.light_hand_csv_path(v.video, v.split)}
    if v.xlsx:
        paths["xlsx"] = layout.openpose_xlsx_path(v.video, v.split)
    if v.json:
        paths["json"] = root / "Data" / "skeleton" / "raw" / str(v.video)
    if videos == "tiny":
        paths["rgb"] = layout.rgb_path(v.video, v.split)
    return paths


def write_full_size_video(root: str | os.PathLike, v: FullSizeVideo, clips: pd.DataFrame, seed: int,
                          videos: str = "none", force: bool = False) -> dict:
    """Write one video's files (label CSV, light_hand CSV, and its xlsx / JSON folder / tiny mp4 when asked);
    files that exist are kept unless ``force``. Returns ``{video, frames, seconds: {form: s}, bytes: {form: n}}``."""
    root = Path(root)
    paths = _video_paths(root, v, videos)
    seconds: dict[str, float] = {}
    todo = {k: p for k, p in paths.items() if force or not p.exists()}
    if todo:
        t0 = time.perf_counter()
        sk = synthesize_skeleton(v, seed)
        seconds["synthesize"] = time.perf_counter() - t0
        writers = {
            "label": lambda p: write_label_csv(p, clips),
            "light_hand": lambda p: write_light_hand_csv(p, sk),
            "xlsx": lambda p: write_openpose_xlsx(p, sk),
            "json": lambda p: write_openpose_json_dir(p, v.video, sk),
            "rgb": lambda p: write_tiny_video(p, v.num_frames),
        }
        for key, path in todo.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            writers[key](path)
            seconds[key] = time.perf_counter() - t0
    sizes = {k: (sum(f.stat().st_size for f in p.iterdir()) if p.is_dir() else p.stat().st_size)
             for k, p in paths.items()}
    return {"video": v.video, "frames": v.num_frames, "seconds": seconds, "bytes": sizes}


# ------------------------------------------------------------------------------------ orchestration

def generate_full_size(out: str | os.PathLike, official_csv: str | os.PathLike | None = None, source: str = "auto",
                       seed: int = 0, xlsx: int = 2, json_videos: int = 1, videos: str = "none",
                       only_videos: list[int] | None = None, workers: int | None = None, force: bool = False,
                       progress: bool = True) -> dict:
    """Write the full-size simulated root at ``out`` (see the module docstring); returns its manifest.

    ``source``: ``'official_csv'`` (needs ``official_csv``), ``'statistics'``, or ``'auto'`` (the CSV when given
    and present). ``xlsx`` / ``json_videos``: how many videos (nearest the median length) also get the slow
    forms. ``videos``: ``'none'`` (a skeleton-only root) or ``'tiny'``. ``only_videos``: write just these videos
    (with their real clips; the official CSV of the root then holds only them: a scaled-down root for tests).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if videos not in ("none", "tiny"):
        raise ValueError(f"videos must be 'none' or 'tiny', got {videos!r}")
    use_csv = source == "official_csv" or (source == "auto" and official_csv is not None and Path(official_csv).is_file())
    if use_csv and (official_csv is None or not Path(official_csv).is_file()):
        raise FileNotFoundError(f"{official_csv}: official annotation CSV not found (source='official_csv')")
    root = Path(out)
    existing = [p for p in (root / OFFICIAL_CSV_NAME, root / "imigue_data_phase1") if p.exists()]
    if existing and not (root / MANIFEST_NAME).exists() and not (root / ".full_size_incomplete").exists():
        raise FileExistsError(f"{root} holds {[str(p) for p in existing]} but no {MANIFEST_NAME}: not a root this "
                              f"generator wrote; it never writes into a dataset it did not write")
    started = time.perf_counter()
    clips, plan = plan_from_csv(official_csv, seed) if use_csv else plan_from_statistics(seed)
    if only_videos:
        keep = {int(v) for v in only_videos}
        unknown = keep - {v.video for v in plan}
        if unknown:
            raise ValueError(f"--only-videos {sorted(unknown)}: not videos of the {'CSV' if use_csv else 'plan'}")
        plan = [v for v in plan if v.video in keep]
        clips = clips[clips["video"].isin(keep)].reset_index(drop=True)
    slow_x, slow_j = choose_subset(plan, xlsx), choose_subset(plan, json_videos)
    plan = [FullSizeVideo(**{**asdict(v), "xlsx": v.video in slow_x, "json": v.video in slow_j}) for v in plan]
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    with atomic_open(root / ".full_size_incomplete") as f:
        json.dump({"seed": seed, "generator_version": GENERATOR_VERSION}, f)

    by_video = {int(v): g.sort_values("label_id") for v, g in clips.groupby("video")}
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(plan)))
    order = sorted(plan, key=lambda v: -(v.num_frames * (1 + 40 * v.xlsx + 20 * v.json)))  # slowest first
    results = []
    bar = progress_bar(total=len(plan), desc=f"full-size videos ({n_workers} proc)", unit="video",
                       disable=not progress)
    if n_workers == 1:
        for v in order:
            results.append(write_full_size_video(root, v, by_video[v.video], seed, videos, force))
            bar.update()
    else:
        with process_pool(n_workers) as pool:
            futures = [pool.submit(write_full_size_video, root, v, by_video[v.video], seed, videos, force) for v in order]
            for fut in as_completed(futures):
                results.append(fut.result())
                bar.update()
    bar.close()
    write_official_csv(root / OFFICIAL_CSV_NAME, clips)
    per_form_s: dict[str, float] = {}
    per_form_b: dict[str, int] = {}
    per_form_n: dict[str, int] = {}
    for r in results:
        for k, s in r["seconds"].items():
            per_form_s[k] = per_form_s.get(k, 0.0) + s
            per_form_n[k] = per_form_n.get(k, 0) + 1
        for k, b in r["bytes"].items():
            per_form_b[k] = per_form_b.get(k, 0) + b
    splits = clips["split"].value_counts().sort_index()
    manifest = {
        "generator": "clipmg_lib.demo.full_size", "generator_version": GENERATOR_VERSION, "seed": seed,
        "source": "official_csv" if use_csv else "statistics", "videos_mode": videos,
        "num_videos": len(plan), "num_clips": int(len(clips)), "num_frames": int(sum(v.num_frames for v in plan)),
        "clips_per_split": {k: int(n) for k, n in splits.items()},
        "xlsx_videos": sorted(slow_x), "json_videos": sorted(slow_j), "workers": n_workers,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds_per_form": {k: round(s, 1) for k, s in sorted(per_form_s.items())},
        "files_written_per_form": dict(sorted(per_form_n.items())),
        "bytes_per_form": dict(sorted(per_form_b.items())),
        "videos": [asdict(v) for v in plan],
    }
    with atomic_open(root / MANIFEST_NAME) as f:
        json.dump(manifest, f, indent=1)
    (root / ".full_size_incomplete").unlink(missing_ok=True)
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m clipmg_lib.demo.full_size", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="root to write (outside any checkout; check free disk first)")
    ap.add_argument("--size", choices=["imigue"], default="imigue", help="the demo generator's name for this mode")
    ap.add_argument("--official-csv", default=None, help="labels_20200831.csv (else a statistical copy)")
    ap.add_argument("--source", choices=SOURCES, default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--xlsx", type=int, default=2, help="videos that also get the slow xlsx form")
    ap.add_argument("--json", type=int, default=1, help="videos that also get a per-frame OpenPose JSON folder")
    ap.add_argument("--videos", choices=["none", "tiny"], default="none")
    ap.add_argument("--only-videos", type=int, nargs="*", default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--force", action="store_true", help="rewrite files that exist")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        m = generate_full_size(args.out, args.official_csv, args.source, args.seed, args.xlsx, args.json,
                               args.videos, args.only_videos, args.workers, args.force)
    except (FileExistsError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    gb = sum(m["bytes_per_form"].values()) / 1e9
    print(f"{args.out}: {m['num_clips']} clips in {m['num_videos']} videos, {m['num_frames']} frames "
          f"{m['clips_per_split']} ({m['source']}), {gb:.2f} GB, {m['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
