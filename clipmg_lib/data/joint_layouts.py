"""Named joint layouts of iMiGUE skeletons and conversions between them.

Three layouts, each a subset of OpenPose's 137 keypoints
(pose BODY_25 (25) + face (70) + left hand (21) + right hand (21)):

``openpose137``  the ``{vid}_openpose.xlsx`` / raw JSON form, 137 joints.
``light_hand35`` the ``{vid}_light_hand.csv`` form: BODY_25 in order, then the five fingertips of the
                 right hand, then of the left hand.
``openpose22``   the MiGA ST-GCN baseline's upper body: light_hand35 minus hips, legs and feet.

Naming quirk of the release: the light_hand names are Kinect-style and mirror OpenPose's on
the arms, eyes and ears ("ShoulderLeft" sits at BODY_25 index 2, OpenPose's *RShoulder*), but not
on the feet. The kit keeps the release's names (``names``) and, separately, the side of the
*person* each joint is on (``sides``: 'L', 'R' or 'C'), which follows OpenPose's person-centric
convention. Flips and "left stays left" checks use ``sides``, never the release names.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BODY25 = [
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
]
FACE_OFFSET, LHAND_OFFSET, RHAND_OFFSET = 25, 95, 116
HAND_TIPS = (4, 8, 12, 16, 20)  # thumb, index, middle, ring, little fingertips in OpenPose's hand model

LIGHT_HAND_NAMES = [
    "Nose", "ShoulderCenter", "ShoulderLeft", "ElbowLeft", "HandLeft", "ShoulderRight", "ElbowRight",
    "HandRight", "HipCenter", "HipLeft", "KneeLeft", "AnkleLeft", "HipRight", "KneeRight", "AnkleRight",
    "EyeLeft", "EyeRight", "EarLeft", "EarRight", "ToeLeft", "SmallToeLeft", "HeelLeft", "ToeRight",
    "SmallToeRight", "HeelRight",
    "RightFinger1", "RightFinger2", "RightFinger3", "RightFinger4", "RightFinger5",
    "LeftFinger1", "LeftFinger2", "LeftFinger3", "LeftFinger4", "LeftFinger5",
]


def _side(openpose_name: str) -> str:
    if openpose_name.startswith(("R", "r_")) and openpose_name not in ("Nose",):
        return "R"
    if openpose_name.startswith(("L", "l_")):
        return "L"
    return "C"


def _openpose137_names() -> list[str]:
    names = list(BODY25)
    names += [f"Face{i}" for i in range(70)]
    names += [f"LHand{i}" for i in range(21)]
    names += [f"RHand{i}" for i in range(21)]
    return names


_OP137 = _openpose137_names()
# canonical (OpenPose, person-centric) name of each of the 137 joints
_OP137_SIDES = [_side(n) for n in BODY25] + ["C"] * 70 + ["L"] * 21 + ["R"] * 21
# face points are centre-labelled: the kit does not use face landmarks for flipping

_LIGHT_FROM_137 = list(range(25)) + [RHAND_OFFSET + t for t in HAND_TIPS] + [LHAND_OFFSET + t for t in HAND_TIPS]
_OP22_FROM_LIGHT = [0, 1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 18] + list(range(25, 35))


@dataclass(frozen=True)
class JointLayout:
    """A named set of joints: release names, OpenPose names, person sides, limbs.

    ``from_137[i]`` is the index, among OpenPose's 137 keypoints, of joint ``i`` of this layout.
    ``limbs`` are (a, b) index pairs inside this layout, used for drawing and limb heatmaps.
    """

    name: str
    names: tuple[str, ...]
    openpose_names: tuple[str, ...]
    sides: tuple[str, ...]
    from_137: tuple[int, ...]
    limbs: tuple[tuple[int, int], ...] = field(default=())

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Index of a joint by release name or OpenPose name."""
        if name in self.names:
            return self.names.index(name)
        return self.openpose_names.index(name)

    @property
    def flip_index(self) -> np.ndarray:
        """Permutation that swaps each joint with its left/right twin (person sides); centre joints stay."""
        perm = np.arange(self.num_joints)
        op = list(self.openpose_names)
        for i, n in enumerate(op):
            twin = _twin_name(n)
            if twin != n and twin in op:
                perm[i] = op.index(twin)
        return perm


def _twin_name(openpose_name: str) -> str:
    n = openpose_name
    for a, b in (("RHand", "LHand"), ("LHand", "RHand")):
        if n.startswith(a):
            return b + n[len(a):]
    if n in BODY25 and n[0] in "RL" and n != "Nose":
        return ("L" if n[0] == "R" else "R") + n[1:]
    return n


def _limbs_by_openpose_name(op_names: list[str], pairs: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    return tuple((op_names.index(a), op_names.index(b)) for a, b in pairs if a in op_names and b in op_names)


_BODY_LIMBS = [
    ("Nose", "Neck"), ("Neck", "RShoulder"), ("RShoulder", "RElbow"), ("RElbow", "RWrist"),
    ("Neck", "LShoulder"), ("LShoulder", "LElbow"), ("LElbow", "LWrist"), ("Neck", "MidHip"),
    ("MidHip", "RHip"), ("RHip", "RKnee"), ("RKnee", "RAnkle"), ("MidHip", "LHip"), ("LHip", "LKnee"),
    ("LKnee", "LAnkle"), ("Nose", "REye"), ("REye", "REar"), ("Nose", "LEye"), ("LEye", "LEar"),
    ("LAnkle", "LBigToe"), ("LBigToe", "LSmallToe"), ("LAnkle", "LHeel"), ("RAnkle", "RBigToe"),
    ("RBigToe", "RSmallToe"), ("RAnkle", "RHeel"),
]
_TIP_LIMBS = [("RWrist", f"RHand{t}") for t in HAND_TIPS] + [("LWrist", f"LHand{t}") for t in HAND_TIPS]
_HAND_BONES = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11),
               (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20)]


def _make(name: str, from_137: list[int], release_names: list[str] | None, limb_pairs) -> JointLayout:
    op_names = [_OP137[i] for i in from_137]
    return JointLayout(
        name=name,
        names=tuple(release_names or op_names),
        openpose_names=tuple(op_names),
        sides=tuple(_OP137_SIDES[i] for i in from_137),
        from_137=tuple(from_137),
        limbs=_limbs_by_openpose_name(op_names, limb_pairs),
    )


_HAND137 = [(f"{h}Hand{a}", f"{h}Hand{b}") for h in "LR" for a, b in _HAND_BONES]
_WRIST137 = [("RWrist", "RHand0"), ("LWrist", "LHand0")]

LAYOUTS: dict[str, JointLayout] = {
    "openpose137": _make("openpose137", list(range(137)), None, _BODY_LIMBS + _WRIST137 + _HAND137),
    "light_hand35": _make("light_hand35", _LIGHT_FROM_137, LIGHT_HAND_NAMES, _BODY_LIMBS + _TIP_LIMBS),
    "openpose22": _make("openpose22", [_LIGHT_FROM_137[i] for i in _OP22_FROM_LIGHT],
                        [LIGHT_HAND_NAMES[i] for i in _OP22_FROM_LIGHT], _BODY_LIMBS + _TIP_LIMBS),
}


def get_layout(name: str) -> JointLayout:
    """Look a layout up by name; the error lists the known names."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown joint layout {name!r}; known: {sorted(LAYOUTS)}") from None


def conversion_index(src: str, dst: str) -> np.ndarray:
    """Indices into ``src`` joints that give ``dst`` joints (``dst`` must be a subset of ``src``)."""
    s, d = get_layout(src), get_layout(dst)
    pos = {j: i for i, j in enumerate(s.from_137)}
    missing = [d.names[k] for k, j in enumerate(d.from_137) if j not in pos]
    if missing:
        raise ValueError(f"cannot convert {src} to {dst}: {src} lacks {missing[:5]}")
    return np.array([pos[j] for j in d.from_137], dtype=np.int64)


def convert(joints: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Select ``dst`` joints from an array whose joint axis (``-2``) is in layout ``src``.

    ``joints``: (..., V_src, C) -> (..., V_dst, C).
    """
    if joints.shape[-2] != get_layout(src).num_joints:
        raise ValueError(f"expected {get_layout(src).num_joints} joints for {src}, got shape {joints.shape}")
    return joints[..., conversion_index(src, dst), :]
