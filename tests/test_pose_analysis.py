"""Named pose pipelines, joint motion, agreement of two skeletons, and the pose figures."""
from __future__ import annotations

import numpy as np
import pytest

from clipmg_lib.data.joint_layouts import get_layout
from clipmg_lib.pose.compare import agreement_table
from clipmg_lib.pose.motion import class_motion_table, clip_motion_table, joint_motion
from clipmg_lib.pose.pipeline import POSE_PIPELINES, build_pose_pipeline
from test_pose_transforms import make_sample

OP22 = get_layout("openpose22")


def test_named_pipelines_give_the_model_its_heatmaps():
    out = build_pose_pipeline("eval")(make_sample(layout="light_hand35"))
    assert out["heatmap"].shape == (22, 8, 56, 56) and out["layout"] == "openpose22"
    out = build_pose_pipeline("train", seed=1, size=32, with_limb=True)(make_sample(layout="light_hand35"))
    assert out["heatmap"].shape == (22 + len(OP22.limbs), 8, 32, 32)
    a = build_pose_pipeline("train", seed=1)(make_sample(layout="light_hand35"))
    b = build_pose_pipeline("train", seed=1)(make_sample(layout="light_hand35"))
    assert np.array_equal(a["heatmap"], b["heatmap"]), "same seed and sample: same augmentation"
    coords = build_pose_pipeline("coords")(make_sample(layout="light_hand35", t=12))
    assert coords["keypoint_norm"].shape == (12, 22, 2)
    with pytest.raises(KeyError, match="unknown pose pipeline"):
        build_pose_pipeline("nope")
    with pytest.raises(TypeError, match="override"):
        build_pose_pipeline("eval", colour="red")
    with pytest.raises(ValueError, match="no Flip"):
        build_pose_pipeline("eval", flip_ratio=0.5)
    assert POSE_PIPELINES["eval"][-1]["size"] == 56, "building with overrides must not edit the named config"


def test_joint_motion_measures_speed_and_amplitude():
    t = np.arange(50)
    kp = np.zeros((50, 2, 2), np.float32)
    kp[:, 0, 0] = 0.1 * np.sin(2 * np.pi * t / 25)          # joint 0 oscillates +-0.1 at 1 Hz
    sc = np.ones((50, 2), np.float32)
    speed, amp = joint_motion(kp, sc, fps=25)
    assert speed[1] == 0 and amp[1] == 0
    assert speed[0] == pytest.approx(0.4, rel=0.05)             # 4 x amplitude x frequency
    assert amp[0] == pytest.approx(0.1, rel=0.05)
    sc[:, 1] = 0
    speed, amp = joint_motion(kp, sc)
    assert np.isnan(speed[1]) and np.isnan(amp[1])


def test_class_motion_table():
    samples = []
    for i in range(6):
        s = make_sample(missing=0.0, seed=i)
        s["label"] = i % 2
        if i % 2:                                                 # class 1 moves its right wrist
            s["keypoint"][:, OP22.index("RWrist"), 1] += 40 * np.sin(np.arange(30) / 3)
        samples.append(s)
    clips = clip_motion_table(samples)
    assert len(clips) == 6 * 22 and set(clips["label"]) == {0, 1}
    table = class_motion_table(clips)
    assert table.shape == (2, 22) and list(table.columns) == list(OP22.names)
    wrist = OP22.names[OP22.index("RWrist")]
    assert table.loc[(1, slice(None)), wrist].iloc[0] > 3 * table.loc[(0, slice(None)), wrist].iloc[0]


def test_agreement_table():
    a = np.zeros((10, 22, 3), np.float32)
    a[..., :2] = np.random.default_rng(0).uniform(100, 500, (10, 22, 2))
    a[..., 2] = 1
    a[:, OP22.index("RShoulder"), :2] = (200, 300)
    a[:, OP22.index("LShoulder"), :2] = (400, 300)
    b = a.copy()
    b[..., 0] += 10
    b[:5, 0] = 0
    t = agreement_table(a, b, "openpose22", names=("dataset", "mediapipe"))
    assert list(t["joint"]) == list(OP22.names)
    assert t.loc[0, "seen_mediapipe"] == 0.5 and t.loc[0, "both"] == 0.5
    np.testing.assert_allclose(t["median_px"], 10, rtol=1e-5)
    np.testing.assert_allclose(t["median_sw"], 10 / 200, rtol=1e-5)


@pytest.mark.slow
def test_pose_figures_build(tmp_path):
    from clipmg_lib.viz import pose as pp
    from clipmg_lib.viz.save import save_figure

    s = build_pose_pipeline("eval")(make_sample(layout="light_hand35"))
    joints = np.concatenate([s["keypoint"], s["keypoint_score"][..., None]], -1)
    frames = np.zeros((2, 720 // 8, 1280 // 8, 3), np.uint8)
    fig = pp.frames_with_skeletons_figure(frames, joints[:2] / [8, 8, 1], "openpose22", titles=["a", "b"])
    assert sum(tr.type == "image" for tr in fig.data) == 2
    seen = int((s["keypoint_score"][0] > 0).sum())
    assert len(fig.data[2].x) == seen, "one marker per seen joint"
    anim = pp.skeleton_animation_figure(s["keypoint"], s["keypoint_score"], "openpose22")
    assert len(anim.frames) == 8
    both = pp.frames_with_skeletons_figure(frames, [joints[:2], joints[:2]], "openpose22", names=["x", "y"])
    assert both.data[2].marker.color != both.data[4].marker.color
    hm = pp.heatmap_frames_figure(s["heatmap"])
    assert len(hm.data) == 8
    ch = pp.heatmap_channels_figure(s["heatmap"], 0, OP22.names, channels=[0, 2, 4])
    assert len(ch.data) == 3
    path = save_figure(anim, tmp_path, "anim", png=False)
    assert path.exists() and path.stat().st_size > 1000
