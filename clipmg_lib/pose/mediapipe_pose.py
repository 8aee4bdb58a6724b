"""mediapipe Pose + Hands on RGB frames -> joints in ``light_hand35`` (:class:`PoseExtractor`, :func:`extract_image`).

mediapipe 0.10.21's ``mp.solutions`` API, two solutions run on every frame:

* **Pose** (BlazePose GHUM, ``model_complexity=1``: ``pose_landmark_full.tflite`` is the only pose
  landmark model bundled in the wheel; complexities 0 and 2 download a model at first use, so the
  kit refuses them) -> the 25 BODY_25 joints;
* **Hands** (``model_complexity`` 0 or 1, both bundled) -> the five fingertips of each hand.

Why Pose + Hands and not Holistic: Holistic also runs the 468-point face mesh, which ``light_hand35``
does not use. mediapipe Hands alone is costly when it finds no hand (its palm detector then runs on
every frame), so the kit runs Hands only on frames where the Pose model itself sees a hand
(``hand_gate``: mean visibility of that hand's wrist and finger landmarks). (Measured rates: docs/PERFORMANCE.md.)
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

Coordinates are PIXELS of the original frame (``img_shape``), even when the frame given is smaller:
mediapipe returns normalised coordinates, which are scaled by the original size.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from ..data.joint_layouts import get_layout
from ..data.skeleton import Skeleton

LAYOUT = "light_hand35"

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
