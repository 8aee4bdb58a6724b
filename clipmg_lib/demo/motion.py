"""Skeleton motion of the demo dataset: a seated upper body, idle rest, one micro-movement per class.

Everything here works in *body units* ``u`` (one unit = the frame height times the subject's size)
relative to the neck at rest, x to the image right, y down; :func:`synthesize_video` converts to pixels.
The person faces the camera, so their right arm is on the image left: a hand's *side sign* ``sgn`` is
-1 for the person's right hand and +1 for the left, and offsets written "outward" are multiplied by it.

A video is a timeline of rest stretches and labelled clips. :func:`synthesize_video` builds per-frame
*tracks* (torso shift, shoulder raise, head shift, per-hand anchor blend/offset/angle/curl, RGB cue
levels), lets each clip's class motion write into its frame range (:data:`CLASS_MOTIONS`; clips may
overlap, and a later clip blends from the state an earlier one left instead of overwriting it), then solves
the joints (two-link IK for the elbows, a five-finger fan for the fingertips). The true joints drive the
renderer (:mod:`clipmg_lib.demo.render`); :func:`detect` turns them into what a pose estimator
would write (small noise, realistic confidences, dropped joints, hidden legs).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..data.annotations import IMIGUE_FPS
from ..data.joint_layouts import get_layout

LAYOUT = "light_hand35"
_J = get_layout(LAYOUT).index  # joint index by OpenPose or release name

NOSE, NECK = _J("Nose"), _J("Neck")
SHOULDER = (_J("RShoulder"), _J("LShoulder"))
ELBOW = (_J("RElbow"), _J("LElbow"))
WRIST = (_J("RWrist"), _J("LWrist"))
EYE = (_J("REye"), _J("LEye"))
EAR = (_J("REar"), _J("LEar"))
TIPS = (tuple(range(25, 30)), tuple(range(30, 35)))  # person's right hand, left hand: thumb..little
#: joints a frontal camera sees above the table (the rest, hips and legs, are hidden and written as 0,0,0)
VISIBLE = (NOSE, NECK, *SHOULDER, *ELBOW, *WRIST, *EYE, *EAR, *TIPS[0], *TIPS[1])

SIDE_SIGN = (-1.0, 1.0)  # image-x direction of the person's right (image left) and left hand
RIGHT, LEFT = 0, 1

# ---- rest pose (body units, relative to the rest neck); proportions measured on iMiGUE video 298
REST_NOSE = np.array([0.0, -0.13])
REST_EYE_OUT, REST_EYE_Y = 0.04, -0.175
REST_EAR_OUT, REST_EAR_Y = 0.095, -0.16
REST_SHOULDER_OUT, REST_SHOULDER_Y = 0.24, 0.01
REST_WRIST_OUT, REST_WRIST_Y = 0.13, 0.36
UPPER_ARM, FOREARM = 0.28, 0.21
REST_PSI = np.deg2rad(15.0)  # hand angle: 0 = fingers point inward, +down, -90 deg = up
FINGER_LEN = np.array([0.075, 0.115, 0.125, 0.115, 0.095])  # thumb..little, body units
FINGER_FAN = np.deg2rad([-40.0, -14.0, 0.0, 12.0, 24.0])  # angle of each finger from the hand axis
PALM_OFFSET = 0.035  # palm centre along the hand axis from the wrist
TABLE_Y = 0.31  # table top below the rest neck


@dataclass
class HandTrack:
    """Per-frame state of one hand. The wrist sits at ``anchor_w @ anchors + offset`` (+ ``wobble``): a
    blend of the :data:`ANCHORS` points (``table`` = the hand's rest spot), all weight on ``table`` and no
    offset at rest. A clip's motion *blends* each track towards its own target with its envelope instead of
    assigning it, so a clip that starts while another still moves the hand takes it over from wherever it is
    (overlapping clips stay continuous); over rest this is the plain reach ``rest + env * (target - rest)``.
    ``wobble`` is added afterwards (scratching, rubbing, idle drift)."""

    anchor_w: np.ndarray  # (T, len(ANCHORS)) blend weights of the anchors, rows sum to 1
    offset: np.ndarray  # (T, 2), x already mirrored to image direction
    wobble: np.ndarray  # (T, 2)
    psi: np.ndarray  # (T,) radians
    curl: np.ndarray  # (T, 5) 0 = straight, 1 = fist
    spread: np.ndarray  # (T,) fan scale

    @classmethod
    def rest(cls, t: int) -> "HandTrack":
        w = np.zeros((t, len(ANCHORS)))
        w[:, 0] = 1.0
        return cls(w, np.zeros((t, 2)), np.zeros((t, 2)), np.full(t, REST_PSI), np.full((t, 5), 0.25), np.ones(t))


ANCHORS = ("table", "nose", "neck", "ear", "other_forearm")


@dataclass
class Tracks:
    """All per-frame state of one video, in body units (``T`` frames)."""

    torso: np.ndarray  # (T, 2) shift of neck, shoulders and head
    shoulder_dy: np.ndarray  # (T,) extra raise (negative = up) of both shoulders
    shoulder_out: np.ndarray  # (T,) outward shift of both shoulders (chest out)
    head: np.ndarray  # (T, 2) head shift relative to the neck
    pitch: np.ndarray  # (T,) nose up relative to eyes/ears (head up > 0)
    hands: tuple[HandTrack, HandTrack]
    # RGB-only cue levels, 0..1 (rendered, never in the skeleton)
    lips_pressed: np.ndarray
    cheeks_bulged: np.ndarray
    pen_hand: np.ndarray  # (T,) int: -1 none, 0 right, 1 left
    pen_angle: np.ndarray  # (T,) radians

    @classmethod
    def rest(cls, t: int) -> "Tracks":
        z = lambda *s: np.zeros((t, *s))  # noqa: E731
        return cls(z(2), z(), z(), z(2), z(), (HandTrack.rest(t), HandTrack.rest(t)), z(), z(),
                   np.full(t, -1, np.int64), z())

    @property
    def num_frames(self) -> int:
        return len(self.torso)


# ------------------------------------------------------------------------------------------ helpers

def envelope(length: int, ramp_frac: float = 0.25, max_ramp: int = 12) -> np.ndarray:
    """(L,) 0 -> 1 -> 0 with smoothstep ramps of ``ramp_frac * L`` frames (at most ``max_ramp``)."""
    r = int(np.clip(round(ramp_frac * length), 2, max_ramp))
    r = min(r, max(1, length // 2))
    x = np.ones(length)
    ramp = np.linspace(0.0, 1.0, r + 2)[1:-1]
    ramp = ramp * ramp * (3 - 2 * ramp)
    x[:r], x[length - r:] = ramp, ramp[::-1]
    return x


def oscillation(length: int, hz: float, rng: np.random.Generator, fps: float = IMIGUE_FPS) -> np.ndarray:
    """(L,) sin at ``hz`` (+-15 % per clip) with a random phase."""
    f = hz * rng.uniform(0.85, 1.15)
    return np.sin(2 * np.pi * f * np.arange(length) / fps + rng.uniform(0, 2 * np.pi))


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma_frames: float, scale: float) -> np.ndarray:
    """Low-pass Gaussian noise along axis 0 with standard deviation about ``scale``."""
    x = gaussian_filter1d(rng.standard_normal(shape), sigma_frames, axis=0, mode="reflect")
    return x * (scale / max(float(x.std()), 1e-9))


def _dir(sgn: float, angle: np.ndarray) -> np.ndarray:
    """(..., 2) unit vector of a hand angle: 0 = inward for a hand on side ``sgn``, -pi/2 = up."""
    return np.stack([-sgn * np.cos(angle), np.sin(angle)], axis=-1)


def _lerp(a, b, w):
    return a + (b - a) * w


# ---------------------------------------------------------------------------------- class motions

@dataclass(frozen=True)
class ClassMotion:
    """How one class moves: documentation fields plus the function writing its tracks."""

    raw_class: int
    joints: str  # joints that move
    amplitude: str  # how far, at the default 320x180
    median_frames: int  # median clip length (iMiGUE's per-class median)
    rgb_cue: str  # what only the video shows ('' if none)
    modality: str  # which modality tells the class apart: 'pose', 'rgb' or 'both'
    #: ``apply(tracks, frames, rng, hand)`` writes the clip into the tracks; ``hand`` (RIGHT / LEFT) fixes the
    #: hand of a one-hand class (None: drawn), two-hand and body classes ignore it
    apply: Callable[["Tracks", slice, np.random.Generator, "int | None"], None] = field(repr=False)
    #: body parts whose tracks the class moves (:data:`BODY_PARTS`; ``hand`` = the one hand it uses): two
    #: clips may nest only when their parts are disjoint, so both stay visible
    drives: frozenset = frozenset()


def _one_hand(rng: np.random.Generator, hand: int | None) -> int:
    """The hand of a one-hand class: ``hand`` when the plan fixed it, else a coin flip (drawn either way, so
    the stream of the clips that follow does not depend on it)."""
    drawn = int(rng.integers(2))
    return drawn if hand is None else int(hand)


def _reach(tr: Tracks, sl: slice, hand: int, anchor: str, offset_out: tuple[float, float], psi_deg: float,
           curl: float, env: np.ndarray) -> HandTrack:
    """Move ``hand`` to ``anchor`` + offset (x outward on the hand's side) over the clip's envelope, blending
    from the hand's current state (see :class:`HandTrack`).

    For the ``table`` anchor the offset is relative to the hand's rest spot.
    """
    h = tr.hands[hand]
    sgn = SIDE_SIGN[hand]
    goal = np.zeros(len(ANCHORS))
    goal[ANCHORS.index(anchor)] = 1.0
    h.anchor_w[sl] = _lerp(h.anchor_w[sl], goal, env[:, None])
    h.offset[sl] = _lerp(h.offset[sl], np.array([sgn * offset_out[0], offset_out[1]]), env[:, None])
    h.psi[sl] = _lerp(h.psi[sl], np.deg2rad(psi_deg), env)
    h.curl[sl] = _lerp(h.curl[sl], curl, env[:, None])
    return h


def _scratch(h: HandTrack, sl: slice, env: np.ndarray, rng: np.random.Generator, hz: float, amp: float) -> None:
    """Fingertip scratching: curl oscillation of the four fingers plus a tiny wrist shake."""
    osc = oscillation(len(env), hz, rng) * env
    h.curl[sl, 1:] += amp * osc[:, None]
    h.wobble[sl, 1] += 0.004 * osc


def _illustrative(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.2, 8)
    n = len(env)
    for hand in (RIGHT, LEFT):
        h = _reach(tr, sl, hand, "table", (0.03, -0.14), -10.0, 0.15, env)
        h.wobble[sl, 0] += 0.04 * oscillation(n, 1.2, rng) * env
        h.wobble[sl, 1] += 0.03 * oscillation(n, 1.7, rng) * env
        h.psi[sl] += np.deg2rad(20) * oscillation(n, 1.0, rng) * env
        h.spread[sl] += 0.3 * env
    tr.head[sl, 1] += 0.008 * oscillation(n, 1.0, rng) * env


def _shaking_shoulders(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.15, 4)
    shake = 0.007 * oscillation(len(env), 5.0, rng) * env
    tr.shoulder_dy[sl] += shake
    tr.torso[sl, 1] += 0.5 * shake
    tr.head[sl, 1] += 0.3 * shake


def _pressing_lips(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.2, 5)
    tr.lips_pressed[sl] = np.maximum(tr.lips_pressed[sl], env)
    tr.head[sl, 1] += 0.002 * env


def _moving_torso(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.2, 10)
    n = len(env)
    tr.torso[sl, 0] += 0.025 * oscillation(n, 0.7, rng) * env
    tr.torso[sl, 1] += 0.006 * oscillation(n, 0.9, rng) * env


def _facial_parts(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.25, 10)
    hand = _one_hand(rng, hand)
    h = _reach(tr, sl, hand, "nose", (0.055, 0.02), -70.0, 0.4, env)
    _scratch(h, sl, env, rng, 4.0, 0.25)


def _rubbing_hands(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.2, 10)
    n = len(env)
    phase = oscillation(n, 2.0, rng)
    quad = np.roll(phase, max(1, int(IMIGUE_FPS / 8)))
    for hand in (RIGHT, LEFT):
        h = _reach(tr, sl, hand, "table", (-0.045, 0.0), 20.0, 0.45, env)
        sign = 1.0 if hand == RIGHT else -1.0
        h.wobble[sl, 0] += sign * 0.010 * phase * env
        h.wobble[sl, 1] += 0.008 * quad * env
        h.curl[sl] += 0.2 * (sign * phase * env)[:, None]


def _manipulating_objects(tr, sl, rng, hand=None):
    _rubbing_hands(tr, sl, rng)  # the skeleton is the same: the object exists only in RGB
    n = sl.stop - sl.start
    tr.pen_hand[sl] = _one_hand(rng, hand)
    tr.pen_angle[sl] = rng.uniform(-0.6, 0.3) + 0.35 * oscillation(n, 0.8, rng)


def _crossing_fingers(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.2, 10)
    for hand in (RIGHT, LEFT):
        h = _reach(tr, sl, hand, "table", (-0.045, -0.015), 35.0, 0.0, env)
        h.spread[sl] += 0.6 * env
        h.curl[sl, 0] += 0.4 * env  # thumbs folded over


def _touching_arms(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.25, 10)
    hand = _one_hand(rng, hand)
    h = _reach(tr, sl, hand, "other_forearm", (0.0, -0.03), 35.0, 0.4, env)
    _scratch(h, sl, env, rng, 3.0, 0.3)


def _bulging_face(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.3, 8)
    tr.cheeks_bulged[sl] = np.maximum(tr.cheeks_bulged[sl], env)
    tr.shoulder_dy[sl] -= 0.006 * env  # deep breath: shoulders rise about 1 px
    tr.head[sl, 1] -= 0.003 * env


def _touching_jaw(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.25, 10)
    _reach(tr, sl, _one_hand(rng, hand), "nose", (0.015, 0.085), -80.0, 0.65, env)


def _folding_arms(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.25, 12)
    for hand in (RIGHT, LEFT):
        # each wrist goes across the chest to the other upper arm (x outward negative = across)
        _reach(tr, sl, hand, "neck", (-0.14, 0.21 + 0.02 * hand), -20.0, 0.9, env)


def _head_touch(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.25, 10)
    h = _reach(tr, sl, _one_hand(rng, hand), "nose", (0.075, -0.11), -115.0, 0.35, env)
    _scratch(h, sl, env, rng, 4.0, 0.3)


def _sitting_straightly(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.3, 10)
    tr.torso[sl, 1] -= 0.02 * env
    tr.shoulder_out[sl] += 0.01 * env
    tr.pitch[sl] += 0.004 * env


def _touching_neck(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.25, 10)
    h = _reach(tr, sl, _one_hand(rng, hand), "neck", (0.05, -0.03), -60.0, 0.4, env)
    _scratch(h, sl, env, rng, 3.5, 0.25)


def _touching_ears(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.25, 10)
    _reach(tr, sl, _one_hand(rng, hand), "ear", (0.02, 0.02), -90.0, 0.4, env)


def _turtle_neck(tr, sl, rng, hand=None):
    env = envelope(sl.stop - sl.start, 0.3, 8)
    tr.head[sl, 1] += 0.02 * env
    tr.shoulder_dy[sl] -= 0.01 * env


#: Body parts a class's tracks move (:attr:`ClassMotion.drives`): ``hand`` is the one hand of a one-hand
#: class (which one the clip's ``hand`` or a coin decides, :func:`clip_drives`); ``torso`` covers the neck,
#: shoulders and the torso shift, ``head`` the head's own shift, ``face`` the RGB-only lips and cheeks.
BODY_PARTS = ("right_hand", "left_hand", "hand", "torso", "head", "face")
_BOTH, _ONE = frozenset({"right_hand", "left_hand"}), frozenset({"hand"})
_TORSO, _HEAD, _FACE = frozenset({"torso"}), frozenset({"head"}), frozenset({"face"})

_MOTIONS = [
    # raw, joints, amplitude @320x180, median length, RGB-only cue, modality, function
    ClassMotion(99, "both wrists, fingertips, head", "hands lift 25 px, swing +-7 px", 33, "", "both", _illustrative,
                drives=_BOTH),
    ClassMotion(31, "shoulders, neck, head", "+-1.3 px at 5 Hz", 27, "", "pose", _shaking_shoulders,
                drives=_TORSO),
    ClassMotion(29, "(nose 0.4 px)", "none in the skeleton", 35, "lips pressed to a pale line", "rgb",
                _pressing_lips, drives=_FACE),
    ClassMotion(20, "neck, shoulders, head, elbows", "+-4.5 px sway at 0.7 Hz", 57, "", "pose", _moving_torso,
                drives=_TORSO),
    ClassMotion(8, "one wrist, its fingertips", "hand to cheek, fingertips scratch 2 px", 61, "", "both",
                _facial_parts, drives=_ONE),
    ClassMotion(23, "both wrists, fingertips", "hands meet, 1.8 px circles at 2 Hz", 79, "", "both",
                _rubbing_hands, drives=_BOTH),
    ClassMotion(24, "both wrists, fingertips", "hands meet, fingers fan and interlace (static)", 79, "", "pose",
                _crossing_fingers, drives=_BOTH),
    ClassMotion(22, "one wrist, its fingertips", "hand to the other forearm, scratches", 83, "", "both",
                _touching_arms, drives=_BOTH),
    ClassMotion(2, "shoulders, head", "shoulders rise 1 px (deep breath)", 34, "cheeks puff and redden", "rgb",
                _bulging_face, drives=_FACE | _TORSO),
    ClassMotion(11, "one wrist, its fingertips", "fist under the chin, still", 76, "", "both", _touching_jaw,
                drives=_ONE),
    ClassMotion(26, "both wrists, fingertips", "as rubbing hands", 103, "a pen in one hand", "rgb",
                _manipulating_objects, drives=_BOTH),
    ClassMotion(17, "both wrists, elbows, fingertips", "wrists cross to the other upper arm", 83, "", "both",
                _folding_arms, drives=_BOTH),
    ClassMotion(4, "one wrist, its fingertips", "hand to the temple, fingers on the crown, scratch", 55, "", "both",
                _head_touch, drives=_ONE),
    ClassMotion(21, "neck, shoulders, head", "upper body rises 3.6 px, chest out", 44, "", "pose",
                _sitting_straightly, drives=_TORSO),
    ClassMotion(12, "one wrist, its fingertips", "hand to the side of the neck, scratches", 76, "", "both",
                _touching_neck, drives=_ONE),
    ClassMotion(9, "one wrist, its fingertips", "hand to the ear", 52, "", "both", _touching_ears,
                drives=_ONE),
    ClassMotion(3, "one wrist, its fingertips", "as touching head", 39, "a cap (hat-wearing subjects only)",
                "rgb", _head_touch, drives=_ONE),
    ClassMotion(1, "head, shoulders", "head sinks 3.6 px, shoulders rise 1.8 px", 36, "", "pose", _turtle_neck,
                drives=_TORSO | _HEAD),
]

#: The demo's classes, raw id -> motion (insertion order = frequency order in the demo).
CLASS_MOTIONS: dict[int, ClassMotion] = {m.raw_class: m for m in _MOTIONS}

def clip_drives(raw_class: int, hand: int | None) -> frozenset:
    """The body parts a clip of ``raw_class`` moves, its one hand resolved to ``right_hand`` / ``left_hand``
    (``hand`` None: either, so both hands count)."""
    parts = CLASS_MOTIONS[raw_class].drives
    if "hand" not in parts:
        return parts
    hands = ("right_hand", "left_hand") if hand is None else (("right_hand", "left_hand")[hand],)
    return (parts - {"hand"}) | frozenset(hands)


#: Classes only subjects wearing a hat perform, and classes only bare-headed subjects perform.
HAT_ONLY_CLASSES = frozenset({3})
NO_HAT_CLASSES = frozenset({4})


# ------------------------------------------------------------------------------------- idle motion

def add_idle_motion(tr: Tracks, rng: np.random.Generator) -> None:
    """Rest behaviour for the whole video: breathing, a slowly swaying head and torso, hands drifting."""
    t = tr.num_frames
    breath = np.sin(2 * np.pi * rng.uniform(0.2, 0.33) * np.arange(t) / IMIGUE_FPS + rng.uniform(0, 2 * np.pi))
    tr.torso[:, 1] += 0.0025 * breath
    tr.shoulder_dy += -0.0015 * breath
    tr.torso += smooth_noise(rng, (t, 2), 20, 0.003)
    tr.head += smooth_noise(rng, (t, 2), 15, 0.005)
    tr.pitch += smooth_noise(rng, (t,), 25, 0.003)
    for h in tr.hands:
        h.wobble += smooth_noise(rng, (t, 2), 12, 0.004)
        h.psi += smooth_noise(rng, (t,), 15, np.deg2rad(4))
        h.curl += smooth_noise(rng, (t, 5), 10, 0.05)


# ------------------------------------------------------------------------------------- pose solving

def _elbow_ik(shoulder: np.ndarray, wrist: np.ndarray, sgn: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-link IK (upper arm, forearm); picks the elbow that hangs outward and down. Returns (elbow, wrist)."""
    d = wrist - shoulder
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    reach = 0.98 * (UPPER_ARM + FOREARM)
    wrist = np.where(dist > reach, shoulder + d / np.maximum(dist, 1e-9) * reach, wrist)
    d = wrist - shoulder
    dist = np.clip(np.linalg.norm(d, axis=-1, keepdims=True), abs(UPPER_ARM - FOREARM) + 1e-6, reach)
    cos_a = np.clip((UPPER_ARM ** 2 + dist ** 2 - FOREARM ** 2) / (2 * UPPER_ARM * dist), -1.0, 1.0)
    alpha = np.arccos(cos_a)[..., 0]
    base = np.arctan2(d[..., 1], d[..., 0])
    cands = [shoulder + UPPER_ARM * np.stack([np.cos(base + s * alpha), np.sin(base + s * alpha)], -1)
             for s in (1.0, -1.0)]
    score = [sgn * c[..., 0] * 0.5 + c[..., 1] for c in cands]
    elbow = np.where((score[0] >= score[1])[..., None], cands[0], cands[1])
    return elbow, wrist


def solve_joints(tr: Tracks) -> np.ndarray:
    """(T, 35, 2) light_hand35 joints in body units (relative to the rest neck); hidden joints are NaN."""
    t = tr.num_frames
    out = np.full((t, get_layout(LAYOUT).num_joints, 2), np.nan)
    neck = tr.torso.copy()
    out[:, NECK] = neck
    head = neck + tr.head
    out[:, NOSE] = head + REST_NOSE + np.stack([np.zeros(t), -tr.pitch], -1)
    for side, sgn in enumerate(SIDE_SIGN):
        out[:, EYE[side]] = head + np.stack([np.full(t, sgn * REST_EYE_OUT), REST_EYE_Y + 0.5 * tr.pitch], -1)
        out[:, EAR[side]] = head + np.stack([np.full(t, sgn * REST_EAR_OUT), REST_EAR_Y + 0.8 * tr.pitch], -1)
        out[:, SHOULDER[side]] = neck + np.stack(
            [sgn * (REST_SHOULDER_OUT + tr.shoulder_out), REST_SHOULDER_Y + tr.shoulder_dy], -1)

    rest_elbow_wrist = []
    for side, sgn in enumerate(SIDE_SIGN):
        rest_w = np.array([sgn * REST_WRIST_OUT, REST_WRIST_Y])
        rest_elbow_wrist.append(_elbow_ik(out[:, SHOULDER[side]], np.broadcast_to(rest_w, (t, 2)).copy(), sgn))

    # hands whose anchor is the other forearm go last, so the other arm is known
    order = sorted((RIGHT, LEFT), key=lambda s: int((tr.hands[s].anchor_w[:, ANCHORS.index("other_forearm")] > 0).any()))
    for side in order:
        sgn, h = SIDE_SIGN[side], tr.hands[side]
        rest_w = np.array([sgn * REST_WRIST_OUT, REST_WRIST_Y])
        other = 1 - side
        anchors = {
            "table": np.broadcast_to(rest_w, (t, 2)),
            "nose": out[:, NOSE],
            "neck": out[:, NECK],
            "ear": out[:, EAR[side]],
            "other_forearm": (0.5 * (out[:, ELBOW[other]] + out[:, WRIST[other]])
                              if not np.isnan(out[:, WRIST[other]]).any()
                              else 0.5 * sum(rest_elbow_wrist[other])),
        }
        wrist = h.offset + h.wobble
        for code, name in enumerate(ANCHORS):
            w = h.anchor_w[:, code]
            if w.any():
                wrist = wrist + w[:, None] * anchors[name]
        elbow, wrist = _elbow_ik(out[:, SHOULDER[side]], wrist, sgn)
        out[:, ELBOW[side]], out[:, WRIST[side]] = elbow, wrist
        lengths = FINGER_LEN * (1.0 - 0.45 * np.clip(h.curl, 0.0, 1.0))  # (T, 5)
        angles = h.psi[:, None] + FINGER_FAN[None, :] * h.spread[:, None]
        out[:, list(TIPS[side])] = wrist[:, None, :] + lengths[..., None] * _dir(sgn, angles)
    return out


def palm_centres(joints_u: np.ndarray, tr: Tracks) -> np.ndarray:
    """(T, 2, 2) palm centres of the right and left hand, in the same units as ``joints_u``."""
    return np.stack([joints_u[:, WRIST[s]] + PALM_OFFSET * _dir(SIDE_SIGN[s], tr.hands[s].psi)
                     for s in (RIGHT, LEFT)], axis=1)


# --------------------------------------------------------------------------------- pose estimation

#: Mean detection confidence of each visible joint, as OpenPose gives on iMiGUE (video 298).
MEAN_CONFIDENCE = {
    NOSE: 0.82, NECK: 0.62, SHOULDER[0]: 0.46, ELBOW[0]: 0.42, WRIST[0]: 0.55, SHOULDER[1]: 0.46,
    ELBOW[1]: 0.6, WRIST[1]: 0.48, EYE[0]: 0.86, EYE[1]: 0.87, EAR[0]: 0.8, EAR[1]: 0.82,
    **{j: c for j, c in zip(TIPS[0], (0.2, 0.42, 0.5, 0.48, 0.56))},
    **{j: c for j, c in zip(TIPS[1], (0.12, 0.28, 0.32, 0.33, 0.33))},
}


def _markov_dropout(rng: np.random.Generator, t: int, p_start: float, p_end: float) -> np.ndarray:
    """(T,) bool runs of a two-state Markov chain (True = dropped)."""
    flips_on = rng.random(t) < p_start
    flips_off = rng.random(t) < p_end
    out = np.zeros(t, bool)
    state = False
    for i in range(t):
        state = (not flips_off[i]) if state else bool(flips_on[i])
        out[i] = state
    return out


def detect(joints_px: np.ndarray, unit_px: float, img_shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """What a pose estimator writes for true joints ``(T, 35, 2)`` px: ``(T, 35, 3)`` float32 x, y, conf.

    Gaussian position noise (0.15 px on the body, 0.45 px on fingertips at 180 px height), confidences
    around OpenPose's means on iMiGUE with slow drift, dropped joints in short runs (0, 0, 0), one ear
    hidden a quarter of the time (head turns), hips and legs hidden under the table (0, 0, 0); a joint
    outside the ``img_shape`` (H, W) frame is not detected either.
    """
    t = joints_px.shape[0]
    out = np.zeros((*joints_px.shape[:2], 3), np.float32)
    tips = set(TIPS[0] + TIPS[1])
    ear_hidden = int(rng.integers(2))
    for j in VISIBLE:
        is_tip = j in tips
        sigma = (0.0025 if is_tip else 0.0008) * unit_px
        xy = joints_px[:, j] + rng.normal(0.0, sigma, (t, 2))
        mean = MEAN_CONFIDENCE[j] + rng.uniform(-0.05, 0.05)
        conf = np.clip(mean + smooth_noise(rng, (t,), 3, 0.08), 0.03, 0.98)
        drop = _markov_dropout(rng, t, 0.01 if is_tip else 0.002, 0.3)
        if j == EAR[ear_hidden]:
            drop |= _markov_dropout(rng, t, 0.01, 0.03)
        drop |= (xy[:, 0] < 0) | (xy[:, 1] < 0) | (xy[:, 0] > img_shape[1] - 1) | (xy[:, 1] > img_shape[0] - 1)
        out[:, j, :2] = xy
        out[:, j, 2] = conf
        out[drop, j] = 0.0
    return out


# ------------------------------------------------------------------------------------ a whole video

@dataclass
class ClipSpec:
    """One labelled clip of a demo video: raw class, inclusive frame range and, for a one-hand class, the
    hand (RIGHT / LEFT; None: the motion draws it). Clips of a video may overlap (:func:`synthesize_video`)."""

    raw_class: int
    start_frame: int
    end_frame: int
    hand: int | None = None


@dataclass
class VideoMotion:
    """Result of :func:`synthesize_video`: true joints in pixels plus the tracks (for RGB cues)."""

    joints: np.ndarray  # (T, 35, 2) float64 px, NaN for hidden joints
    palms: np.ndarray  # (T, 2, 2) px
    tracks: Tracks
    unit_px: float
    neck_px: tuple[float, float]
    table_y_px: float


def synthesize_video(clips: list[ClipSpec], num_frames: int, unit_px: float, neck_px: tuple[float, float],
                     rng: np.random.Generator) -> VideoMotion:
    """Per-frame true joints of one video: idle rest everywhere, each clip's class motion in its range.

    Clips apply in order; one that overlaps an earlier clip blends its tracks from the state the earlier one
    left (hands: :class:`HandTrack`; body shifts and oscillations add up), so the joints stay continuous
    where clips share frames, and a clip nested on other body parts (:func:`clip_drives`) adds its movement
    on top of the outer one."""
    tr = Tracks.rest(num_frames)
    add_idle_motion(tr, rng)
    for c in clips:
        if c.end_frame >= num_frames or c.start_frame < 0 or c.end_frame < c.start_frame:
            raise ValueError(f"clip {c} outside the video's 0..{num_frames - 1}")
        CLASS_MOTIONS[c.raw_class].apply(tr, slice(c.start_frame, c.end_frame + 1), rng, c.hand)
    joints_u = solve_joints(tr)
    origin = np.asarray(neck_px, dtype=np.float64)
    return VideoMotion(joints=joints_u * unit_px + origin, palms=palm_centres(joints_u, tr) * unit_px + origin,
                       tracks=tr, unit_px=unit_px, neck_px=(float(origin[0]), float(origin[1])),
                       table_y_px=float(origin[1] + TABLE_Y * unit_px))
