"""PYSKL-style transforms: documented keys and shapes, values, flips, determinism, composition."""
from __future__ import annotations

import numpy as np
import pytest

from clipmg_lib.data.joint_layouts import get_layout
from clipmg_lib.pose.transforms import (Compose, ConvertLayout, Flip, InterpolateMissing, NormalizeSkeleton,
                                        RandomAffine, SelectFrames, build_transform)

OP22 = get_layout("openpose22")
LH35 = get_layout("light_hand35")


def make_sample(t: int = 30, layout: str = "openpose22", seed: int = 0, missing: float = 0.1) -> dict:
    """A clip of a seated person in ``layout`` with jitter and some missing joints (pixels of 1280x720)."""
    rng = np.random.default_rng(seed)
    lay = get_layout(layout)
    base = {"Nose": (640, 200), "Neck": (640, 300), "RShoulder": (540, 300), "LShoulder": (740, 300),
            "RElbow": (500, 420), "LElbow": (780, 420), "RWrist": (560, 520), "LWrist": (720, 520),
            "REye": (620, 185), "LEye": (660, 185), "REar": (600, 195), "LEar": (680, 195), "MidHip": (640, 560),
            "RHip": (590, 560), "LHip": (690, 560)}
    pts = np.zeros((lay.num_joints, 2), np.float32)
    for j, name in enumerate(lay.openpose_names):
        if name in base:
            pts[j] = base[name]
        elif name.startswith("RHand"):
            pts[j] = (560 + int(name[5:]) - 12, 560)
        elif name.startswith("LHand"):
            pts[j] = (720 + int(name[5:]) - 12, 560)
        else:
            pts[j] = (640, 650)
    kp = pts[None] + rng.normal(0, 3, (t, lay.num_joints, 2)).astype(np.float32)
    score = rng.uniform(0.3, 1.0, (t, lay.num_joints)).astype(np.float32)
    drop = rng.random((t, lay.num_joints)) < missing
    kp[drop], score[drop] = 0, 0
    return {"sample_id": f"0001_{seed}", "label": 3, "keypoint": kp, "keypoint_score": score, "clip_start": 100,
            "frame_inds": np.array([100, 104, 108, 112, 116, 120, 124, 129], np.int64)[: min(8, t)],
            "img_shape": (720, 1280), "layout": layout,
            "imgs": rng.integers(0, 255, (min(8, t), 32, 48, 3), dtype=np.uint8)}


# --------------------------------------------------------------------------------------------- interpolate
def test_interpolate_fills_linearly_and_holds_edges():
    kp = np.zeros((6, 1, 2), np.float32)
    sc = np.zeros((6, 1), np.float32)
    kp[1, 0], sc[1, 0] = (10, 20), 0.8
    kp[4, 0], sc[4, 0] = (40, 50), 0.2
    out = InterpolateMissing()({"keypoint": kp, "keypoint_score": sc})
    np.testing.assert_allclose(out["keypoint"][:, 0, 0], [10, 10, 20, 30, 40, 40])
    np.testing.assert_allclose(out["keypoint"][:, 0, 1], [20, 20, 30, 40, 50, 50])
    np.testing.assert_allclose(out["keypoint_score"][:, 0], [0.8, 0.8, 0.6, 0.4, 0.2, 0.2], rtol=1e-6)
    assert out["keypoint_filled"][:, 0].tolist() == [True, False, True, True, False, True]


def test_interpolate_options_and_never_seen_joint():
    kp = np.zeros((7, 2, 2), np.float32)
    sc = np.zeros((7, 2), np.float32)
    kp[[0, 6], 0], sc[[0, 6], 0] = (5, 5), 1.0      # joint 0: a gap of 5 frames; joint 1 never seen
    out = InterpolateMissing(fill_score=0.3, max_gap=4)({"keypoint": kp.copy(), "keypoint_score": sc.copy()})
    assert not out["keypoint_filled"].any(), "a gap longer than max_gap stays missing"
    out = InterpolateMissing(fill_score=0.3, max_gap=5)({"keypoint": kp.copy(), "keypoint_score": sc.copy()})
    assert out["keypoint_filled"][1:6, 0].all() and np.allclose(out["keypoint_score"][1:6, 0], 0.3)
    assert not out["keypoint"][:, 1].any() and not out["keypoint_score"][:, 1].any()


def test_interpolate_keeps_shapes_and_seen_values():
    s = make_sample()
    kp0, sc0 = s["keypoint"].copy(), s["keypoint_score"].copy()
    out = InterpolateMissing()(s)
    assert out["keypoint"].shape == kp0.shape and out["keypoint"].dtype == np.float32
    assert out["keypoint_score"].shape == sc0.shape and out["keypoint_filled"].shape == sc0.shape
    seen = sc0 > 0
    assert np.array_equal(out["keypoint"][seen], kp0[seen]) and np.array_equal(out["keypoint_score"][seen], sc0[seen])
    assert (out["keypoint_score"] > 0).all()


# --------------------------------------------------------------------------------------------- select
def test_select_frames_takes_the_rgb_frames():
    s = InterpolateMissing()(make_sample())
    full = s["keypoint"].copy()
    out = SelectFrames()(s)
    rows = s["frame_inds"] - 100
    assert out["keypoint"].shape == (8, 22, 2) and out["keypoint_score"].shape == (8, 22)
    assert out["keypoint_filled"].shape == (8, 22)
    assert np.array_equal(out["keypoint"], full[rows]) and np.array_equal(out["keypoint_clip_inds"], rows)


def test_select_frames_outside_the_clip_is_an_error():
    s = make_sample(t=20)
    s["frame_inds"] = np.array([100, 125])
    with pytest.raises(IndexError, match="0001_0"):
        SelectFrames()(s)


# --------------------------------------------------------------------------------------------- normalise
def test_normalize_centres_on_the_neck_and_scales_by_shoulders():
    s = make_sample(missing=0.0)
    out = NormalizeSkeleton()(s)
    norm = out["keypoint_norm"]
    assert norm.shape == s["keypoint"].shape and norm.dtype == np.float32
    neck, rs, ls = (OP22.openpose_names.index(n) for n in ("Neck", "RShoulder", "LShoulder"))
    assert abs(np.median(norm[:, neck], axis=0)).max() < 0.02
    assert np.median(np.linalg.norm(norm[:, rs] - norm[:, ls], axis=-1)) == pytest.approx(1.0, abs=1e-5)
    assert out["norm_scale"] == pytest.approx(200, rel=0.05)


def test_normalize_keeps_missing_joints_at_zero_and_keeps_motion():
    s = make_sample(missing=0.2)
    out = NormalizeSkeleton()(s)
    missing = s["keypoint_score"] == 0
    assert not out["keypoint_norm"][missing].any()
    # one centre and scale per clip: frame-to-frame motion is kept, only rescaled
    seen = ~missing
    back = out["keypoint_norm"] * out["norm_scale"] + out["norm_center"]
    np.testing.assert_allclose(back[seen], s["keypoint"][seen], atol=1e-3)


# --------------------------------------------------------------------------------------------- flip
@pytest.mark.parametrize("layout", ["openpose22", "light_hand35"])
def test_flip_swaps_left_and_right(layout):
    s = make_sample(layout=layout, missing=0.0)
    kp = s["keypoint"].copy()
    lay = get_layout(layout)
    out = Flip(flip_ratio=1.0)(dict(s, keypoint=kp.copy()))
    assert out["flip"] is True
    ls, rs = lay.openpose_names.index("LShoulder"), lay.openpose_names.index("RShoulder")
    # the mirror moves the right shoulder to where a left shoulder would be and swaps the labels,
    # so the flipped clip is again a plausible person facing the camera: 'L' on the image right
    np.testing.assert_allclose(out["keypoint"][:, ls, 0], 1279 - kp[:, rs, 0])
    np.testing.assert_allclose(out["keypoint"][:, ls, 1], kp[:, rs, 1])
    assert (kp[:, ls, 0] > kp[:, rs, 0]).all() and (out["keypoint"][:, ls, 0] > out["keypoint"][:, rs, 0]).all()
    lt, rt = [lay.openpose_names.index(n) for n in ("LHand8", "RHand8")] if layout == "light_hand35" else (ls, rs)
    assert lay.sides[lt] == "L" and lay.sides[rt] == "R"
    np.testing.assert_allclose(out["keypoint"][:, lt, 0], 1279 - kp[:, rt, 0])


def test_flip_is_its_own_inverse_and_flips_images_too():
    s = make_sample(missing=0.2)
    s = NormalizeSkeleton()(s)
    ref = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
    flip = Flip(flip_ratio=1.0)
    once = flip({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()})
    assert np.array_equal(once["imgs"], ref["imgs"][:, :, ::-1])
    assert not np.allclose(once["keypoint"], ref["keypoint"])
    missing = ref["keypoint_score"][:, OP22.flip_index] == 0
    assert not once["keypoint"][missing].any(), "missing joints stay (0, 0)"
    twice = flip(once)
    for key in ("keypoint", "keypoint_score", "keypoint_norm", "imgs"):
        np.testing.assert_allclose(twice[key], ref[key], atol=1e-4, err_msg=key)


def test_flip_ratio_and_seed():
    s = make_sample()
    assert Flip(flip_ratio=0.0)(dict(s))["flip"] is False
    draws = [Flip(0.5, seed=3)(dict(s, sample_id=f"0001_{i}"))["flip"] for i in range(40)]
    assert 5 < sum(draws) < 35
    again = [Flip(0.5, seed=3)(dict(s, sample_id=f"0001_{i}"))["flip"] for i in range(40)]
    assert draws == again, "per-sample draws depend only on (seed, epoch, sample_id)"
    with pytest.raises(ValueError, match="GeneratePoseHeatmap"):
        Flip(1.0)(dict(s, heatmap=np.zeros((1, 1, 1, 1))))


# --------------------------------------------------------------------------------------------- affine
def test_random_affine_is_a_small_similarity_and_deterministic():
    s = make_sample(missing=0.2)
    t = RandomAffine(scale=0.1, rotate=10, translate=0.05, seed=7)
    a = t(dict(s))
    b = RandomAffine(scale=0.1, rotate=10, translate=0.05, seed=7)(dict(s))
    assert np.array_equal(a["keypoint"], b["keypoint"]) and a["pose_affine"].shape == (2, 3)
    seen = s["keypoint_score"] > 0
    assert not a["keypoint"][~seen].any()
    m = a["pose_affine"][:, :2]
    scale = np.sqrt(abs(np.linalg.det(m)))
    assert 0.9 <= scale <= 1.1 and abs(np.degrees(np.arctan2(m[1, 0], m[0, 0]))) <= 10
    # the same map for the whole clip: frame-to-frame displacements are only rotated and scaled
    d0 = np.diff(s["keypoint"], axis=0)[seen[1:] & seen[:-1]]
    d1 = np.diff(a["keypoint"], axis=0)[seen[1:] & seen[:-1]]
    np.testing.assert_allclose(d1, d0 @ m.T, atol=1e-2)
    other = RandomAffine(seed=7)(dict(s, epoch=1))
    assert not np.array_equal(other["keypoint"], a["keypoint"]), "a new epoch draws a new jitter"


# --------------------------------------------------------------------------------------------- layout
def test_convert_layout():
    s = InterpolateMissing()(make_sample(layout="light_hand35"))
    out = ConvertLayout("openpose22")(s)
    assert out["layout"] == "openpose22"
    assert out["keypoint"].shape[1:] == (22, 2) and out["keypoint_score"].shape[1] == 22
    assert out["keypoint_filled"].shape[1] == 22
    with pytest.raises(ValueError, match="cannot convert"):
        ConvertLayout("light_hand35")(dict(out))


# --------------------------------------------------------------------------------------------- compose
def test_compose_from_configs_runs_the_whole_pipeline():
    pipeline = Compose([
        {"type": "InterpolateMissing"}, {"type": "SelectFrames"}, {"type": "Flip", "flip_ratio": 0.5, "seed": 0},
        {"type": "RandomAffine", "seed": 0}, {"type": "ConvertLayout", "layout": "openpose22"},
        {"type": "NormalizeSkeleton"}, {"type": "GeneratePoseHeatmap", "size": 32, "with_limb": True},
    ])
    out = pipeline(make_sample(layout="light_hand35"))
    limbs = len(OP22.limbs)
    assert out["heatmap"].shape == (22 + limbs, 8, 32, 32) and out["heatmap"].dtype == np.float32
    assert out["keypoint_norm"].shape == (8, 22, 2)
    assert "Flip" in repr(pipeline)
    with pytest.raises(KeyError, match="unknown transform"):
        build_transform({"type": "Rotate90"})
