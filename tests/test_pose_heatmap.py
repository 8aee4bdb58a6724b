"""PoseC3D-style heatmap volumes: peaks at the joints, confidence weighting, limbs, crop, the loop reference."""
from __future__ import annotations

import numpy as np
import pytest

from clipmg_lib.data.joint_layouts import get_layout
from clipmg_lib.pose.heatmap import (GeneratePoseHeatmap, joint_heatmaps, joint_heatmaps_loop, limb_heatmaps,
                                     pose_box, to_grid)

OP22 = get_layout("openpose22")


def sample(t: int = 6, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    kp = rng.uniform([400, 150], [900, 600], (t, 22, 2)).astype(np.float32)
    sc = rng.uniform(0.2, 1.0, (t, 22)).astype(np.float32)
    sc[0, 3] = 0.0
    kp[0, 3] = 0.0
    return {"keypoint": kp, "keypoint_score": sc, "layout": "openpose22", "img_shape": (720, 1280), "sample_id": "x"}


def test_peaks_sit_at_the_joint_positions():
    s = sample()
    out = GeneratePoseHeatmap(size=56, sigma=0.6)(dict(s))
    hm, box = out["heatmap"], out["heatmap_box"]
    assert hm.shape == (22, 6, 56, 56) and hm.dtype == np.float32
    grid = to_grid(s["keypoint"], box, 56)
    cell = (box[2] - box[0]) / 56
    for t in range(6):
        for v in range(22):
            if s["keypoint_score"][t, v] == 0:
                assert not hm[v, t].any(), "a missing joint draws nothing"
                continue
            y, x = np.unravel_index(hm[v, t].argmax(), (56, 56))
            assert (x, y) == (round(float(grid[t, v, 0])), round(float(grid[t, v, 1])))
            # back in pixels, the peak is within one grid cell of the joint
            px = box[:2] + (np.array([x, y]) + 0.0) * cell
            assert np.abs(px - s["keypoint"][t, v]).max() <= cell


def test_peak_height_is_the_confidence():
    grid = np.array([[[10.0, 20.0], [30.0, 5.0]]], np.float32)      # on grid points: peak = score exactly
    score = np.array([[0.7, 0.25]], np.float32)
    hm = joint_heatmaps(grid, score, 56, sigma=0.6)
    assert hm[0, 0, 20, 10] == pytest.approx(0.7) and hm[1, 0, 5, 30] == pytest.approx(0.25)
    assert hm[0, 0, 20, 11] == pytest.approx(0.7 * np.exp(-1 / (2 * 0.36)), rel=1e-5)
    assert hm[0, 0, 20, 13] == 0.0, "cut to 0 beyond 3 sigma, like PYSKL"
    on_grid = {"keypoint": np.tile(np.arange(22, dtype=np.float32)[None, :, None] * 2 + 5, (2, 1, 2)),
               "keypoint_score": np.full((2, 22), 0.3, np.float32), "layout": "openpose22", "img_shape": (56, 56)}
    weighted = GeneratePoseHeatmap(crop="image")(dict(on_grid))["heatmap"]
    unweighted = GeneratePoseHeatmap(crop="image", use_score=False)(dict(on_grid))["heatmap"]
    np.testing.assert_allclose(weighted.max(axis=(2, 3)), 0.3)
    np.testing.assert_allclose(unweighted.max(axis=(2, 3)), 1.0)


@pytest.mark.parametrize("sigma,size", [(0.6, 56), (1.5, (48, 64)), (0.3, 32)])
def test_vectorised_equals_the_pyskl_loop(sigma, size):
    rng = np.random.default_rng(1)
    grid = rng.uniform(-3, 60, (9, 22, 2)).astype(np.float32)          # some joints fall off the grid
    score = rng.uniform(0, 1, (9, 22)).astype(np.float32)
    score[score < 0.2] = 0
    np.testing.assert_allclose(joint_heatmaps(grid, score, size, sigma), joint_heatmaps_loop(grid, score, size, sigma),
                               atol=1e-6)


def test_limb_maps_follow_the_segment():
    grid = np.array([[[10.0, 10.0], [30.0, 10.0], [40.0, 40.0]]], np.float32)
    score = np.array([[1.0, 0.5, 0.0]], np.float32)
    maps = limb_heatmaps(grid, score, np.array([[0, 1], [1, 2]]), 56, sigma=0.6)
    assert maps.shape == (2, 1, 56, 56)
    np.testing.assert_allclose(maps[0, 0, 10, 10:31], 0.5)           # min of the two scores along the segment
    assert maps[0, 0, 10, 35] == 0 and maps[0, 0, 14, 20] == 0
    assert not maps[1].any(), "a limb with a missing end draws nothing"


def test_channels_with_limbs_and_crop_options():
    s = sample()
    g = GeneratePoseHeatmap(size=(40, 48), with_limb=True)
    out = g(dict(s))
    assert out["heatmap"].shape == (22 + len(OP22.limbs), 6, 40, 48) == (g.num_channels("openpose22"), 6, 40, 48)
    only_limbs = GeneratePoseHeatmap(with_kp=False, with_limb=True)(dict(s))["heatmap"]
    assert only_limbs.shape[0] == len(OP22.limbs)
    whole = GeneratePoseHeatmap(crop="image")(dict(s))
    assert np.array_equal(whole["heatmap_box"], [0, 0, 1280, 720])
    with pytest.raises(ValueError):
        GeneratePoseHeatmap(with_kp=False, with_limb=False)


def test_person_box_is_square_padded_and_contains_every_joint():
    s = sample()
    box = pose_box(s["keypoint"], s["keypoint_score"], (720, 1280), padding=0.25)
    w, h = box[2] - box[0], box[3] - box[1]
    assert w == pytest.approx(h)
    seen = s["keypoint"][s["keypoint_score"] > 0]
    assert (seen >= box[:2]).all() and (seen <= box[2:]).all()
    span = (seen.max(0) - seen.min(0)).max()
    assert w == pytest.approx(span * 1.25, rel=1e-4)
    none = pose_box(np.zeros((3, 22, 2)), np.zeros((3, 22)), (720, 1280))
    assert np.array_equal(none, [0, 0, 1280, 720])


@pytest.mark.slow
def test_empty_skeleton_gives_zero_volume_and_long_clips_are_blocked():
    s = {"keypoint": np.zeros((4, 22, 2), np.float32), "keypoint_score": np.zeros((4, 22), np.float32),
         "layout": "openpose22", "img_shape": (720, 1280)}
    assert not GeneratePoseHeatmap()(s)["heatmap"].any()
    long = sample(t=150)
    a = GeneratePoseHeatmap(frames_per_block=64, with_limb=True)(dict(long))["heatmap"]
    b = GeneratePoseHeatmap(frames_per_block=1000, with_limb=True)(dict(long))["heatmap"]
    assert a.shape == (22 + len(OP22.limbs), 150, 56, 56) and np.array_equal(a, b)


@pytest.mark.parametrize("sigma,size", [(0.6, 56), (1.5, (40, 64))])
def test_windowed_limbs_equal_the_dense_reference(sigma, size):
    from clipmg_lib.pose.heatmap import limb_heatmaps_dense

    rng = np.random.default_rng(2)
    grid = rng.uniform(-8, 64, (12, 22, 2)).astype(np.float32)         # some segments leave the grid
    grid[0, 3] = grid[0, 2]                                             # a zero-length limb
    score = rng.uniform(0, 1, (12, 22)).astype(np.float32)
    score[score < 0.2] = 0
    limbs = np.array(OP22.limbs)
    np.testing.assert_allclose(limb_heatmaps(grid, score, limbs, size, sigma),
                               limb_heatmaps_dense(grid, score, limbs, size, sigma), atol=1e-6)
