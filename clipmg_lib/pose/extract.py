"""Pose extraction with mediapipe -> :class:`~clipmg_lib.data.skeleton.Skeleton` in ``light_hand35``.

mediapipe 0.10.21's ``mp.solutions`` API, two solutions run on every frame:

* **Pose** (BlazePose GHUM, ``model_complexity=1``: ``pose_landmark_full.tflite`` is the only pose
  landmark model bundled in the wheel; complexities 0 and 2 download a model at first use, so the
  kit refuses them) -> the 25 BODY_25 joints;
* **Hands** (``model_complexity`` 0 or 1, both bundled) -> the five fingertips of each hand.

Why Pose + Hands and not Holistic: Holistic also runs the 468-point face mesh, which ``light_hand35``
does not use. mediapipe Hands alone is costly when it finds no hand (its palm detector then runs on
every frame), so the kit runs Hands only on frames where the Pose model itself sees a hand
(``hand_gate``: mean visibility of that hand's wrist and finger landmarks). On this shared 2-core CPU,
1280x720 real footage without visible hands (``python -m bench.bench_pose``, several runs): gated
Pose + Hands 22-34 frames/s, Holistic 17-28; separately, Pose alone ~50 and ungated Pose + Hands ~25.
Holistic's one advantage, hands tied to the body, is kept by assigning each detected hand to the
nearest pose wrist (below), never by mediapipe's handedness label, which assumes a mirrored selfie.

Mapping (OpenPose BODY_25 name <- mediapipe Pose landmark; sides are the PERSON's, as in OpenPose
and mediapipe, so mediapipe ``LEFT_SHOULDER`` -> OpenPose ``LShoulder``, which the release calls
"ShoulderRight" (see :mod:`clipmg_lib.data.joint_layouts`)):

========================  ==========================================================
Nose, R/L Eye, R/L Ear    NOSE, RIGHT/LEFT_EYE, RIGHT/LEFT_EAR
Neck                      mid-point of LEFT_SHOULDER and RIGHT_SHOULDER
R/L Shoulder/Elbow/Wrist  RIGHT/LEFT_SHOULDER/ELBOW/WRIST
MidHip                    mid-point of LEFT_HIP and RIGHT_HIP
R/L Hip/Knee/Ankle/Heel   RIGHT/LEFT_HIP/KNEE/ANKLE/HEEL
R/L BigToe                RIGHT/LEFT_FOOT_INDEX
R/L SmallToe              none in mediapipe: always missing (0, 0, 0)
R/L Hand tips 4..20       Hands THUMB/INDEX/MIDDLE/RING/PINKY_TIP (same 21-point topology)
========================  ==========================================================

Confidences: body joints take mediapipe's ``visibility`` (``presence`` is not filled by the
legacy Pose solution); a mid-point takes the smaller of its two. mediapipe Hands gives no per-landmark
score, so fingertips take the Pose model's own estimate that this hand is in view: the mean
visibility of that side's WRIST, PINKY, INDEX and THUMB landmarks. A joint below
``min_joint_confidence`` or outside the frame is written as missing, (0, 0, 0), the OpenPose
convention the dataset's files use. A frame without a person (no Pose) gives all zeros, never an exception.

Frames come from :class:`~clipmg_lib.data.video.ClipReader` (decord) in batches, in order; its errors
name the file (missing, corrupt, no frames). Coordinates are PIXELS of the original video, even when
frames are decoded smaller (``decode_max_side``): mediapipe returns normalised coordinates, which are
scaled by the original size.

Long videos are processed in chunks (``chunk_size`` frames); the trackers are reset at every chunk
start, so a run resumed from its per-chunk checkpoints gives exactly the result of an uninterrupted
run. :func:`extract_folder` writes ``{out_root}/{vid:04d}/{vid:04d}_light_hand.csv`` (the dataset's format,
which :class:`~clipmg_lib.data.dataset.ClipDataset` reads with ``skeleton_source='mediapipe'`` from the
layout's ``mediapipe_root``), skips finished videos and resumes interrupted ones. Nothing is written inside
a dataset root: a root's video ids come from its layout (the folder each video sits in), and its skeletons go
to :func:`clipmg_lib.core.paths.derived_dir` ``(root, 'mediapipe_skeleton')`` unless ``--out`` says otherwise.
Any other video files (any name, container or frame rate) are keyed by their file name's stem, or by the
ids of an explicit mapping (``--ids``: a CSV with columns ``video,path`` or a JSON ``{"298": "path"}``)::

    python -m clipmg_lib.pose.extract --dataset-root /data/imigue [--workers 4]   # -> data/cache/mediapipe_skeleton/imigue-<hash>
    python -m clipmg_lib.pose.extract my_clip.mov other.mp4 --out /tmp/pose     # -> /tmp/pose/my_clip/my_clip_light_hand.csv
    python -m clipmg_lib.pose.extract --ids ids.csv --out /tmp/pose             # -> /tmp/pose/0298/0298_light_hand.csv

Throughput is ~20-35 frames/s per process on this shared 2-core CPU (3,434 demo frames at 320x180 in
157 s; 720p in ``bench/bench_pose.py``), so all of iMiGUE (~7.5 M frames) wants ``--workers`` on a
many-core machine: each process extracts whole videos, and results do not depend on the worker count.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.atomic import atomic_open, atomic_path
from ..data.joint_layouts import get_layout
from ..data.skeleton import Skeleton
from ..data.video import ClipReader
from ..core.progress import progress_bar

LAYOUT = "light_hand35"
MEDIAPIPE_SKELETON_DIR = "mediapipe_skeleton"

#: OpenPose BODY_25 joint <- mediapipe Pose landmark(s); two names = their mid-point; none = always missing.
BODY25_FROM_MEDIAPIPE: dict[str, tuple[str, ...]] = {
    "Nose": ("NOSE",), "Neck": ("LEFT_SHOULDER", "RIGHT_SHOULDER"),
    "RShoulder": ("RIGHT_SHOULDER",), "RElbow": ("RIGHT_ELBOW",), "RWrist": ("RIGHT_WRIST",),
    "LShoulder": ("LEFT_SHOULDER",), "LElbow": ("LEFT_ELBOW",), "LWrist": ("LEFT_WRIST",),
    "MidHip": ("LEFT_HIP", "RIGHT_HIP"),
    "RHip": ("RIGHT_HIP",), "RKnee": ("RIGHT_KNEE",), "RAnkle": ("RIGHT_ANKLE",),
    "LHip": ("LEFT_HIP",), "LKnee": ("LEFT_KNEE",), "LAnkle": ("LEFT_ANKLE",),
    "REye": ("RIGHT_EYE",), "LEye": ("LEFT_EYE",), "REar": ("RIGHT_EAR",), "LEar": ("LEFT_EAR",),
    "LBigToe": ("LEFT_FOOT_INDEX",), "LSmallToe": (), "LHeel": ("LEFT_HEEL",),
    "RBigToe": ("RIGHT_FOOT_INDEX",), "RSmallToe": (), "RHeel": ("RIGHT_HEEL",),
}
#: Pose landmarks whose mean visibility is a hand's confidence, per person side.
HAND_VISIBILITY_FROM = {s: tuple(f"{side}_{p}" for p in ("WRIST", "PINKY", "INDEX", "THUMB"))
                        for s, side in (("L", "LEFT"), ("R", "RIGHT"))}

BUNDLED_POSE_COMPLEXITY = 1


@dataclass(frozen=True)
class ExtractorConfig:
    """Settings of :class:`PoseExtractor`; saved with checkpoints so a resume uses the same ones."""

    model_complexity: int = BUNDLED_POSE_COMPLEXITY
    hands: bool = True
    hand_model_complexity: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    min_joint_confidence: float = 0.1
    hand_match_radius: float = 1.0  # a hand joins a pose wrist closer than this many shoulder widths
    hand_gate: float = 0.2          # run Hands only when Pose sees a hand with at least this visibility
    static_image_mode: bool = False

    def __post_init__(self) -> None:
        if self.model_complexity != BUNDLED_POSE_COMPLEXITY:
            model = {0: "pose_landmark_lite.tflite", 2: "pose_landmark_heavy.tflite"}.get(
                self.model_complexity, "no such model")
            raise ValueError(
                f"mediapipe Pose model_complexity={self.model_complexity} ({model}) is not bundled with "
                f"mediapipe 0.10.21 and would be downloaded at first use; the kit runs offline, so only "
                f"model_complexity=1 (pose_landmark_full.tflite, bundled) is allowed")
        if self.hand_model_complexity not in (0, 1):
            raise ValueError(f"mediapipe Hands model_complexity must be 0 or 1, got {self.hand_model_complexity}")


def _pose_index_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays for the 25 body joints: (source a, source b, valid) into the 33 Pose landmarks."""
    import mediapipe as mp

    lm = mp.solutions.pose.PoseLandmark
    layout = get_layout(LAYOUT)
    a = np.zeros(25, np.int64)
    b = np.zeros(25, np.int64)
    valid = np.zeros(25, bool)
    for j, name in enumerate(layout.openpose_names[:25]):
        src = BODY25_FROM_MEDIAPIPE[name]
        if src:
            a[j], b[j], valid[j] = lm[src[0]].value, lm[src[-1]].value, True
    return a, b, valid


def _import_mediapipe():
    os.environ.setdefault("GLOG_minloglevel", "2")
    import mediapipe as mp

    return mp


@contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the duration of a mediapipe call.

    mediapipe 0.10.21 logs through absl before ``absl::InitializeLog`` (e.g. "Feedback manager requires
    a model with a single signature inference"), straight to fd 2, whenever one of its models starts,
    which happens lazily during the first packets after every graph (re)start; in Jupyter those lines
    flood the cell output. Python-level output (tqdm bars, warnings) is written between calls and is
    untouched. Costs two ``dup2`` calls (microseconds). ``CLIPMG_MEDIAPIPE_LOGS=1`` keeps the lines.
    """
    if os.environ.get("CLIPMG_MEDIAPIPE_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class PoseExtractor:
    """mediapipe Pose + Hands on RGB frames -> ``light_hand35`` joints in pixels.

    Use as a context manager (it owns two mediapipe graphs)::

        with PoseExtractor() as ex:
            joints = ex.process(frame_rgb)          # float32 (35, 3): x, y, confidence
    """

    def __init__(self, config: ExtractorConfig | None = None, **overrides) -> None:
        cfg = config or ExtractorConfig()
        self.config = ExtractorConfig(**{**asdict(cfg), **overrides})
        mp = _import_mediapipe()
        c = self.config
        with _native_stderr_silenced():
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=c.static_image_mode, model_complexity=c.model_complexity,
                smooth_landmarks=not c.static_image_mode, min_detection_confidence=c.min_detection_confidence,
                min_tracking_confidence=c.min_tracking_confidence)
            self._hands = mp.solutions.hands.Hands(
                static_image_mode=c.static_image_mode, max_num_hands=2, model_complexity=c.hand_model_complexity,
                min_detection_confidence=c.min_detection_confidence,
                min_tracking_confidence=c.min_tracking_confidence) if c.hands else None
            # graphs open their models asynchronously (logging natively): a blank frame waits for that
            blank = np.zeros((64, 64, 3), np.uint8)
            for graph in (self._pose, self._hands):
                if graph is not None:
                    graph.process(blank)
        self._needs_reset = True  # the first real frame starts from a clean graph, like after reset()
        self._a, self._b, self._valid = _pose_index_tables()
        names = mp.solutions.pose.PoseLandmark
        self._hand_vis = {s: np.array([names[n].value for n in v]) for s, v in HAND_VISIBILITY_FROM.items()}
        self._wrist = {"L": names.LEFT_WRIST.value, "R": names.RIGHT_WRIST.value}
        self._shoulders = (names.LEFT_SHOULDER.value, names.RIGHT_SHOULDER.value)
        layout = get_layout(LAYOUT)
        self._tip_slots = {s: np.array([layout.openpose_names.index(f"{s}Hand{t}") for t in (4, 8, 12, 16, 20)])
                           for s in "LR"}
        self._tip_landmarks = np.array([4, 8, 12, 16, 20])

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget tracking state: the next frame is detected from scratch.

        The graphs restart lazily, inside the next :meth:`process` call, so that their models' start-up
        (asynchronous, with native log lines) completes while fd 2 is silenced.
        """
        self._needs_reset = True

    def close(self) -> None:
        self._pose.close()
        if self._hands is not None:
            self._hands.close()

    def __enter__(self) -> "PoseExtractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, which: str, rgb: np.ndarray):
        graph = self._pose if which == "pose" else self._hands
        with _native_stderr_silenced():
            if self._needs_reset:
                self._pose.reset()
                if self._hands is not None:
                    self._hands.reset()
                self._needs_reset = False
            return graph.process(rgb)

    # -- one frame ---------------------------------------------------------------------------
    def process(self, rgb: np.ndarray, img_shape: tuple[int, int] | None = None) -> np.ndarray:
        """Joints of the person in one RGB frame (H, W, 3) uint8: float32 (35, 3) x, y, confidence.

        ``img_shape`` (H, W): the size the pixel coordinates refer to (default: this frame's);
        pass the original video size when the frame was decoded smaller.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {rgb.dtype} {rgb.shape}")
        h, w = img_shape or rgb.shape[:2]
        out = np.zeros((get_layout(LAYOUT).num_joints, 3), np.float32)
        rgb = np.ascontiguousarray(rgb)
        pose = self._run("pose", rgb).pose_landmarks
        lm = None
        if pose is not None:
            lm = np.array([(p.x * w, p.y * h, p.visibility) for p in pose.landmark], np.float64)
            xy = (lm[self._a, :2] + lm[self._b, :2]) / 2
            conf = np.minimum(lm[self._a, 2], lm[self._b, 2])
            out[:25, :2] = xy
            out[:25, 2] = np.where(self._valid, conf, 0.0)
        if self._hands is not None and lm is not None:
            scores = {s: float(lm[self._hand_vis[s], 2].mean()) for s in "LR"}
            if max(scores.values()) >= self.config.hand_gate:
                self._add_fingertips(out, self._run("hands", rgb), lm, scores, (h, w))
        return self._drop_unreliable(out, (h, w))

    def _add_fingertips(self, out: np.ndarray, hands, lm: np.ndarray, scores: dict[str, float],
                        hw: tuple[int, int]) -> None:
        if not hands.multi_hand_landmarks:
            return
        h, w = hw
        found = [np.array([(p.x * w, p.y * h) for p in hl.landmark]) for hl in hands.multi_hand_landmarks]
        for hand, side in zip(found, self._match_hands_to_wrists(found, lm)):
            if side is not None:
                out[self._tip_slots[side], :2] = hand[self._tip_landmarks]
                out[self._tip_slots[side], 2] = scores[side]

    def _match_hands_to_wrists(self, hands: list[np.ndarray], lm: np.ndarray) -> list[str | None]:
        """Side ('L'/'R') of each detected hand: nearest pose wrist, one hand per wrist, within radius."""
        shoulder_width = float(np.linalg.norm(lm[self._shoulders[0], :2] - lm[self._shoulders[1], :2]))
        radius = self.config.hand_match_radius * max(shoulder_width, 1.0)
        pairs = sorted((float(np.linalg.norm(hand[0] - lm[self._wrist[s], :2])), i, s)
                       for i, hand in enumerate(hands) for s in "LR")
        sides: list[str | None] = [None] * len(hands)
        taken: set[str] = set()
        for dist, i, s in pairs:
            if dist <= radius and sides[i] is None and s not in taken:
                sides[i] = s
                taken.add(s)
        return sides

    def _drop_unreliable(self, out: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
        h, w = hw
        x, y, c = out[:, 0], out[:, 1], out[:, 2]
        bad = (c < self.config.min_joint_confidence) | (x < 0) | (y < 0) | (x > w - 1) | (y > h - 1)
        out[bad] = 0.0
        return out


# -- images and videos -------------------------------------------------------------------------

def extract_image(rgb: np.ndarray, config: ExtractorConfig | None = None, **overrides) -> Skeleton:
    """Joints of the person in one RGB photo (static-image mode): a ``Skeleton`` with T = 1."""
    with PoseExtractor(config, **{**overrides, "static_image_mode": True}) as ex:
        data = ex.process(rgb)[None]
    return Skeleton(data, LAYOUT, tuple(rgb.shape[:2]), "mediapipe:image")


def extract_frames(frames: np.ndarray, img_shape: tuple[int, int] | None = None,
                   config: ExtractorConfig | None = None, source: str = "mediapipe:frames", **overrides) -> Skeleton:
    """Run the extractor (tracking mode) over consecutive RGB frames (T, H, W, 3) uint8: a ``Skeleton``.

    ``img_shape``: the original (H, W) the coordinates should refer to (default: the frames' size),
    e.g. a clip read with :class:`~clipmg_lib.data.video.ClipReader` at its native size.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4:
        raise ValueError(f"{source}: expected frames (T, H, W, 3), got shape {frames.shape}")
    hw = tuple(img_shape) if img_shape else tuple(frames.shape[1:3])
    with PoseExtractor(config, **overrides) as ex:
        data = np.stack([ex.process(f, hw) for f in frames]) if len(frames) else np.zeros((0, 35, 3))
    return Skeleton(data, LAYOUT, hw, source)


def _decode_size(img_shape: tuple[int, int], decode_max_side: int | None) -> tuple[int, int] | None:
    """(H, W) to decode at so that the longer side is at most ``decode_max_side`` (even sizes), or None."""
    h, w = img_shape
    if not decode_max_side or max(h, w) <= decode_max_side:
        return None
    scale = decode_max_side / max(h, w)
    return max(2, int(round(h * scale / 2)) * 2), max(2, int(round(w * scale / 2)) * 2)


def _chunk_file(folder: Path, start: int) -> Path:
    return folder / f"chunk_{start:07d}.npy"


def _load_checkpoint(folder: Path, meta: dict, chunk_size: int, num_frames: int) -> tuple[list[np.ndarray], int]:
    """Finished chunks saved by an earlier run with the same meta; a mismatch discards them."""
    meta_file = folder / "meta.json"
    if not meta_file.exists():
        return [], 0
    try:
        saved = json.loads(meta_file.read_text())
    except json.JSONDecodeError:
        saved = None
    if saved != meta:
        shutil.rmtree(folder)
        return [], 0
    chunks, start = [], 0
    while start < num_frames and _chunk_file(folder, start).exists():
        try:
            arr = np.load(_chunk_file(folder, start), allow_pickle=False)
        except (OSError, ValueError):  # unreadable: redo from this chunk on
            break
        if arr.shape != (min(chunk_size, num_frames - start), get_layout(LAYOUT).num_joints, 3):
            break
        chunks.append(arr)
        start += chunk_size
    return chunks, start


def extract_video(path: str | os.PathLike, config: ExtractorConfig | None = None, *, chunk_size: int = 250,
                  batch_size: int = 16, decode_max_side: int | None = None,
                  checkpoint_dir: str | os.PathLike | None = None, progress: bool = True,
                  max_frames: int | None = None, **overrides) -> Skeleton:
    """Run the extractor over a whole video (decord): ``Skeleton`` (T, 35, 3) in ``light_hand35``.

    ``chunk_size``: trackers restart every ``chunk_size`` frames; with ``checkpoint_dir`` each finished
    chunk is saved there (atomically) and a rerun continues after the last saved chunk.
    ``decode_max_side``: decode frames no larger than this (faster; coordinates stay in original pixels).
    ``max_frames``: only the first frames (previews).
    """
    path = Path(path)
    cfg = ExtractorConfig(**{**asdict(config or ExtractorConfig()), **overrides})
    if chunk_size < 1 or batch_size < 1:
        raise ValueError(f"chunk_size and batch_size must be positive, got {chunk_size}, {batch_size}")
    reader = ClipReader(size=None, cache_size=1)
    info = reader.info(path)                       # errors name the file (missing, corrupt, no frames)
    n, h, w = info.num_frames, info.height, info.width
    decode_hw = _decode_size((h, w), decode_max_side)
    n = min(n, max_frames) if max_frames else n
    chunks: list[np.ndarray] = []
    start = 0
    folder = Path(checkpoint_dir) if checkpoint_dir else None
    if folder is not None:
        meta = {"video": str(path.resolve()), "num_frames": n, "img_shape": [h, w], "chunk_size": chunk_size,
                "decode_max_side": decode_max_side, "config": asdict(cfg)}
        chunks, start = _load_checkpoint(folder, meta, chunk_size, n)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(folder / "meta.json") as f:
            json.dump(meta, f)
    bar = progress_bar(total=n, initial=min(start, n), desc=path.name, unit="frame", disable=not progress, leave=False)
    with PoseExtractor(cfg) as ex:
        for s in range(start, n, chunk_size):
            ex.reset()
            e = min(s + chunk_size, n)
            chunk = np.zeros((e - s, get_layout(LAYOUT).num_joints, 3), np.float32)
            for b in range(s, e, batch_size):
                frames = reader.read(path, np.arange(b, min(b + batch_size, e)), size=decode_hw)
                for k, frame in enumerate(frames):
                    chunk[b - s + k] = ex.process(frame, (h, w))
                bar.update(len(frames))
            chunks.append(chunk)
            if folder is not None:
                with atomic_path(_chunk_file(folder, s)) as tmp:
                    np.save(tmp, chunk, allow_pickle=False)
    bar.close()
    reader.close()
    data = np.concatenate(chunks) if chunks else np.zeros((0, get_layout(LAYOUT).num_joints, 3), np.float32)
    return Skeleton(data, LAYOUT, (h, w), f"mediapipe:{path}")


# -- folders of videos -------------------------------------------------------------------------

def mediapipe_skeleton_dir(dataset_root: str | os.PathLike) -> Path:
    """Where the kit writes a dataset's mediapipe skeletons: its layout's ``mediapipe_root``, outside the root."""
    from ..data.release_files import ReleaseFiles

    return ReleaseFiles(dataset_root).mediapipe_root


def _key_name(vid: int | str) -> str:
    """A video id as it appears in names: ``0298`` for the int id 298, a file stem as it is."""
    return f"{vid:04d}" if isinstance(vid, (int, np.integer)) else str(vid)


def light_hand_csv_path(out_root: str | os.PathLike, vid: int | str) -> Path:
    """``{out_root}/{vid:04d}/{vid:04d}_light_hand.csv`` (a str key: ``{out_root}/{key}/{key}_light_hand.csv``):
    the canonical name of :meth:`~clipmg_lib.data.release_files.ReleaseFiles.mediapipe_light_hand_csv_path`
    (padded, as the MiGA starter code reads it; the dataset's lookups also accept ``{vid}_light_hand.csv``)."""
    name = _key_name(vid)
    return Path(out_root) / name / f"{name}_light_hand.csv"


def _finished_csv(out_root: Path, vid: int | str) -> Path | None:
    """The CSV of a finished video under either name the dataset accepts, or None."""
    name = _key_name(vid)
    for stem in dict.fromkeys((name, str(vid))):
        if (out_root / name / f"{stem}_light_hand.csv").exists():
            return out_root / name / f"{stem}_light_hand.csv"
    return None


def checkpoint_dir_for(out_root: str | os.PathLike, vid: int | str) -> Path:
    """Per-chunk checkpoints of an unfinished video (removed once its CSV is written)."""
    return Path(out_root) / _key_name(vid) / f".{vid}_mediapipe_partial"


#: Containers searched for in folders of videos (any file can be given directly).
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def read_id_mapping(path: str | os.PathLike) -> dict[int, Path]:
    """{video id: path} from a CSV with columns ``video,path`` or a JSON object ``{"298": "path"}``.
    Relative paths are relative to the mapping file. Errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: video id mapping not found")
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(path.read_text())
            if not isinstance(raw, dict):
                raise ValueError("expected a JSON object {video id: path}")
            pairs = list(raw.items())
        else:
            frame = pd.read_csv(path, dtype=str)
            if not {"video", "path"} <= set(frame.columns):
                raise ValueError(f"expected columns 'video,path', found {list(frame.columns)}")
            pairs = list(zip(frame["video"], frame["path"]))
        out: dict[int, Path] = {}
        for k, v in pairs:
            if not str(k).strip().isdigit():
                raise ValueError(f"video id {k!r} is not a non-negative integer")
            if int(k) in out:
                raise ValueError(f"video id {int(k)} appears twice")
            p = Path(str(v)).expanduser()
            out[int(k)] = p if p.is_absolute() else path.parent / p
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"{path}: not a usable video id mapping ({exc})") from None
    return dict(sorted(out.items()))


def find_videos(videos: str | os.PathLike | Iterable | Mapping) -> dict[int | str, Path]:
    """{key: video path} from a mapping {id: path} (ids kept), a file, a folder (searched recursively for
    :data:`VIDEO_SUFFIXES`) or a list of files and folders. Without a mapping the key is the file's stem, any
    name (``carphone_pristine.mp4`` -> ``'carphone_pristine'``): ids are never guessed from file names.
    Two files with one stem are an error naming both.
    """
    if isinstance(videos, Mapping):
        return {k: Path(v) for k, v in sorted(videos.items(), key=lambda kv: str(kv[0]))}
    items = [videos] if isinstance(videos, (str, os.PathLike)) else list(videos)
    paths: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            paths += sorted(p for p in item.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
                            and MEDIAPIPE_SKELETON_DIR not in p.parts)
        elif item.is_file():
            paths.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such video file or folder")
    found: dict[int | str, Path] = {}
    for p in paths:
        if p.stem in found:
            raise ValueError(f"two videos named {p.stem!r}: {found[p.stem]} and {p}; give ids with a mapping (--ids)")
        found[p.stem] = p
    return dict(sorted(found.items()))


def dataset_videos(dataset_root: str | os.PathLike) -> dict[int, Path]:
    """{video id: mp4} of an iMiGUE root, the id from the layout's folders (not from file names)."""
    from ..data.release_files import ReleaseFiles

    layout = ReleaseFiles(dataset_root)
    out = {}
    for vid in layout.videos():
        try:
            out[vid] = layout.video_path(vid)
        except FileNotFoundError:
            continue  # a skeleton-only video
    return out


_ROW_COLUMNS = ["video", "path", "csv", "status", "frames", "seconds", "fps"]


def _extract_one(vid: int, path: Path, out_root: Path, config: ExtractorConfig, chunk_size: int,
                 decode_max_side: int | None, overwrite: bool, progress: bool) -> dict:
    """Extract one video into its CSV (skipping a finished one); the row of :func:`extract_folder`."""
    from ..data.skeleton_io import write_light_hand_csv

    done = _finished_csv(out_root, vid)
    if done is not None and not overwrite:
        return {"video": vid, "path": str(path), "csv": str(done), "status": "skipped",
                "frames": np.nan, "seconds": 0.0, "fps": np.nan}
    t0 = time.perf_counter()
    ckpt = checkpoint_dir_for(out_root, vid)
    skeleton = extract_video(path, config, chunk_size=chunk_size, decode_max_side=decode_max_side,
                             checkpoint_dir=ckpt, progress=progress)
    csv = light_hand_csv_path(out_root, vid)
    write_light_hand_csv(csv, skeleton)
    shutil.rmtree(ckpt, ignore_errors=True)
    secs = time.perf_counter() - t0
    return {"video": vid, "path": str(path), "csv": str(csv), "status": "extracted",
            "frames": skeleton.num_frames, "seconds": round(secs, 2),
            "fps": round(skeleton.num_frames / secs, 1) if secs > 0 else np.nan}


def extract_folder(videos: str | os.PathLike | Iterable | Mapping, out_root: str | os.PathLike,
                   config: ExtractorConfig | None = None, *, overwrite: bool = False, chunk_size: int = 250,
                   decode_max_side: int | None = None, workers: int = 1, keep_going: bool = False,
                   progress: bool = True, **overrides) -> pd.DataFrame:
    """Extract every video; write ``{out_root}/{vid:04d}/{vid:04d}_light_hand.csv`` per video.

    Videos whose CSV exists are skipped (``overwrite=True`` redoes them); an interrupted video resumes
    from its last finished chunk. ``workers`` > 1 extracts that many videos at once in separate
    processes (spawned: one mediapipe per process); each video's result does not depend on it.
    ``keep_going``: a video that fails (e.g. a corrupt mp4) gets status ``'failed: <error>'`` and the
    others go on (its finished chunks stay for a rerun); by default the first failure is raised.
    Returns one row per video, in video order: video, path, csv, status ('extracted' | 'skipped' |
    'failed: ...'), frames, seconds, fps.
    """
    cfg = ExtractorConfig(**{**asdict(config or ExtractorConfig()), **overrides})
    out_root = Path(out_root)
    table = find_videos(videos)
    jobs = [(vid, path, out_root, cfg, chunk_size, decode_max_side, overwrite) for vid, path in table.items()]
    bar = progress_bar(total=len(jobs), desc="mediapipe", unit="video", disable=not progress)
    rows = []
    def failed(job, exc: Exception) -> dict:
        if not keep_going:
            raise exc
        return {"video": job[0], "path": str(job[1]), "csv": "", "status": f"failed: {exc}",
                "frames": np.nan, "seconds": np.nan, "fps": np.nan}

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            try:
                rows.append(_extract_one(*job, progress=progress))
            except Exception as exc:  # noqa: BLE001 - recorded per video with keep_going
                rows.append(failed(job, exc))
            bar.update()
    else:
        from concurrent.futures import as_completed

        from ..core.workers import process_pool

        with process_pool(workers) as pool:
            futures = {pool.submit(_extract_one, *job, progress=False): job for job in jobs}
            for future in as_completed(futures):
                try:
                    rows.append(future.result())
                except Exception as exc:  # noqa: BLE001
                    rows.append(failed(futures[future], exc))
                bar.update()
    bar.close()
    return pd.DataFrame(rows, columns=_ROW_COLUMNS).sort_values("video", key=lambda s: s.astype(str), ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m clipmg_lib.pose.extract", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="mediapipe skeletons (light_hand35 CSVs) for video files or a whole dataset, cached per "
                    "video and resumable. Nothing is written inside a dataset root.",
        epilog="examples:\n  python -m clipmg_lib.pose.extract --dataset-root /data/imigue --workers 4\n"
               "  python -m clipmg_lib.pose.extract my_clip.mov folder_of_videos/ --out /tmp/pose\n"
               "  python -m clipmg_lib.pose.extract --ids ids.csv --out /tmp/pose   # columns video,path")
    ap.add_argument("inputs", nargs="*", help="video files (any name) or folders of videos; keys = file stems")
    ap.add_argument("--dataset-root", default=None,
                    help="iMiGUE root: every video of its layout, ids from the layout (default when no input)")
    ap.add_argument("--ids", default=None, help="explicit {video id: path} mapping: CSV video,path or JSON")
    ap.add_argument("--videos", default=None, help=argparse.SUPPRESS)  # the old spelling of one folder input
    ap.add_argument("--out", default=None, help="output folder (default: for a dataset, paths.derived_dir(root, "
                                                "'mediapipe_skeleton'); for files, <cache>/mediapipe_skeleton/files)")
    ap.add_argument("--only", nargs="*", default=None, help="video ids (or file stems) to extract")
    ap.add_argument("--chunk-size", type=int, default=250)
    ap.add_argument("--decode-max-side", type=int, default=None)
    ap.add_argument("--no-hands", action="store_true", help="body only (fingertips missing), faster")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--workers", type=int, default=1, help="videos extracted at once (processes)")
    ap.add_argument("--keep-going", action="store_true", help="record a failing video and go on")
    args = ap.parse_args(argv)
    from ..core.paths import cache_dir, dataset_root

    inputs = args.inputs + ([args.videos] if args.videos else [])
    try:
        if args.ids:
            table = read_id_mapping(args.ids)
            out = Path(args.out) if args.out else cache_dir() / "mediapipe_skeleton" / "ids"
        elif inputs:
            table = find_videos(inputs)
            out = Path(args.out) if args.out else cache_dir() / "mediapipe_skeleton" / "files"
        else:
            root = dataset_root(args.dataset_root)
            table = dataset_videos(root)
            out = Path(args.out) if args.out else mediapipe_skeleton_dir(root)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        wanted = set(args.only)
        table = {v: p for v, p in table.items() if str(v) in wanted or _key_name(v) in wanted}
    print(f"{len(table)} video(s) -> {out}", file=sys.stderr)
    result = extract_folder(table, out, overwrite=args.overwrite, chunk_size=args.chunk_size,
                            decode_max_side=args.decode_max_side, workers=args.workers,
                            keep_going=args.keep_going, hands=not args.no_hands)
    print(result.drop(columns=["path"]).to_string(index=False))
    return int(result["status"].str.startswith("failed").any())


if __name__ == "__main__":
    sys.exit(main())
