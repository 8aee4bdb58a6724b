"""The spotter: windows, labels, grid sampling, NMS, the token store (each frame encoded once) and a tiny
end-to-end run on the three-video root of ``data_fixtures`` (overlapping clips included)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from clipmg_lib.eval import spotting_metrics as S
from clipmg_lib.spotting import windows as W
from clipmg_lib.core.config import ConfigError
from clipmg_lib.spotting.config import load_spotter_config
from clipmg_lib.spotting.postprocess import temporal_nms, window_candidates

from data_fixtures import make_tiny_imigue


def test_sliding_windows_cover_the_video_and_end_on_its_last_frame():
    w = W.sliding_windows(50, [10, 20], 0.5)
    for length, g in w.groupby("length"):
        assert (g["end_frame"] - g["start_frame"] + 1 == length).all()
        assert g["start_frame"].min() == 0 and g["end_frame"].max() == 49
    assert w[w["length"] == 10]["start_frame"].tolist() == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    assert w[w["length"] == 20]["start_frame"].tolist() == [0, 10, 20, 30]
    assert W.sliding_windows(6, [10], 0.5)[["start_frame", "end_frame"]].values.tolist() == [[0, 5]]


def test_label_windows_positive_background_and_ignored():
    clips = pd.DataFrame({"start_frame": [10], "end_frame": [29], "label": [7]})
    windows = pd.DataFrame({"start_frame": [10, 12, 20, 40], "end_frame": [29, 29, 39, 59]})
    out = W.label_windows(windows, clips, positive_iou=0.6, background_iou=0.15)
    # tIoU: 1, 18/20, 10/30, 0
    assert out["best_iou"].tolist() == pytest.approx([1.0, 0.9, 1 / 3, 0.0])
    assert out["label"].tolist() == [7, 7, -1, W.BACKGROUND]
    assert out["clip"].tolist() == [0, 0, 0, -1]


def test_background_windows_never_lie_inside_a_clip():
    """A short window inside a long clip has a small tIoU (16/150 < 0.15) yet is no background: it is
    inside a micro-gesture (nested clips make such windows common). A window just touching a clip is."""
    clips = pd.DataFrame({"start_frame": [0, 60], "end_frame": [149, 79], "label": [7, 3]})  # 60..79 nested
    windows = pd.DataFrame({"start_frame": [20, 62, 148, 200], "end_frame": [35, 77, 163, 215]})
    out = W.label_windows(windows, clips, positive_iou=0.6, background_iou=0.15)
    assert out["best_iou"].iloc[0] < 0.15 and out["inside"].tolist() == pytest.approx([1.0, 1.0, 2 / 16, 0.0])
    assert out["label"].tolist() == [-1, 3, W.BACKGROUND, W.BACKGROUND]  # the nested clip's own window: its class


def test_training_windows_kinds_and_counts():
    clips = pd.DataFrame({"start_frame": [20, 100], "end_frame": [59, 139], "label": [3, 5]})
    out = W.training_windows(9, 300, clips, [16, 40], 0.25, 0.6, 0.15, 1.0, 2, np.random.default_rng(0))
    kinds = out["kind"].value_counts().to_dict()
    assert kinds["clip"] == 2 and kinds["positive"] <= 4
    assert kinds["background"] == kinds["clip"] + kinds["positive"]
    assert (out["video"] == 9).all()
    bg = out[out["kind"] == "background"]
    iou = S.temporal_iou(bg[["start_frame", "end_frame"]].to_numpy(), clips[["start_frame", "end_frame"]].to_numpy())
    assert (iou.max(1) < 0.15).all() and (bg["label"] == W.BACKGROUND).all()
    s, e = bg["start_frame"].to_numpy()[:, None], bg["end_frame"].to_numpy()[:, None]
    shared = (np.minimum(e, clips["end_frame"].to_numpy()) - np.maximum(s, clips["start_frame"].to_numpy()) + 1).clip(0)
    assert (shared / (e - s + 1) < 0.15).all()  # never inside a clip
    pos = out[out["kind"] == "positive"]
    iou = S.temporal_iou(pos[["start_frame", "end_frame"]].to_numpy(), clips[["start_frame", "end_frame"]].to_numpy())
    assert (iou.max(1) >= 0.6).all()
    assert (pos["label"].to_numpy() == clips["label"].to_numpy()[iou.argmax(1)]).all()


def test_grid_positions_stay_inside_the_window():
    rows = W.window_grid_positions(10, 41, 8, 4, 100)  # grid frames 12..40 -> rows 3..10
    assert rows.min() >= 3 and rows.max() <= 10 and len(rows) == 8
    assert (np.diff(rows) >= 0).all()
    rng = np.random.default_rng(0)
    rows = W.window_grid_positions(10, 41, 8, 4, 100, "train", rng)
    assert rows.min() >= 3 and rows.max() <= 10
    # a window between two grid frames takes the one nearest its centre
    assert W.window_grid_positions(5, 6, 8, 4, 100).tolist() == [1] * 8
    # never past the last encoded row
    assert W.window_grid_positions(95, 99, 4, 4, 24).max() == 23


def test_candidates_and_class_wise_nms():
    windows = pd.DataFrame({"video": 1, "start_frame": [0, 2, 0, 50, 0], "end_frame": [19, 21, 19, 69, 19]})
    probs = np.zeros((5, 33))
    probs[0, 4], probs[0, 32] = 0.8, 0.2      # class 4, 0.8
    probs[1, 4], probs[1, 32] = 0.6, 0.4      # class 4, overlaps row 0 (18/22): suppressed
    probs[2, 9], probs[2, 32] = 0.5, 0.5      # class 9 on the same frames: kept (class-wise)
    probs[3, 4], probs[3, 32] = 0.7, 0.3      # class 4 elsewhere: kept
    probs[4, 32], probs[4, 1] = 0.9, 0.1      # background wins; best class 0.1 < min_score: dropped
    cands = window_candidates(windows, probs, 32, min_score=0.3)
    assert len(cands) == 4 and list(cands.columns) == list(S.SPOT_COLUMNS)
    kept = temporal_nms(cands, 0.3)
    assert kept[["start_frame", "class", "score"]].values.tolist() == [[0, 4, 0.8], [0, 9, 0.5], [50, 4, 0.7]]


def test_config_round_trip_and_checks(tmp_path):
    cfg = load_spotter_config("tiny_demo", min_score=0.5)
    assert cfg.min_score == 0.5 and cfg.train().model == "clipmg_tiny"
    path = tmp_path / "c.json"
    import json
    path.write_text(json.dumps(cfg.to_dict()))
    assert load_spotter_config(path) == cfg
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['SpotterConfig.window_size'\]"):
        load_spotter_config("tiny_demo", window_size=3)
    with pytest.raises(ValueError, match="background_iou <= positive_iou"):
        load_spotter_config("tiny_demo", background_iou=0.9)
    with pytest.raises(ConfigError, match="unknown spotting config 'nope'"):
        load_spotter_config("nope")


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_imigue")
    make_tiny_imigue(root)
    return root


def test_token_store_encodes_each_grid_frame_once(tiny_root, tmp_path):
    from clipmg_lib.model.factory import create_model
    from clipmg_lib.spotting.frame_tokens import FrameTokenStore
    from clipmg_lib.spotting.video_source import VideoSource

    model = create_model("clipmg_tiny").eval()
    src = VideoSource.from_dataset(tiny_root, 5)
    assert src.num_frames == 80 and src.keypoint.shape == (80, 22, 2)
    store = FrameTokenStore(model, stride=3, cache_root=tmp_path, chunk=16, progress=False)
    encoded = []
    original = model.encode_frames
    model.encode_frames = lambda x: (encoded.append(x.shape[1]), original(x))[1]
    tokens = store.tokens(src)
    assert tokens.shape[0] == 27 and sum(encoded) == 27  # ceil(80 / 3) frames, once each
    store.tokens(src)
    assert sum(encoded) == 27  # the stored file is reused
    model.encode_frames = original
    frames = store.reader.read(src.path, [0, 3 * 26])
    with torch.no_grad():
        direct = model.encode_frames(model.preprocess(frames[None]))[0].numpy()
    np.testing.assert_allclose(tokens[[0, 26]].astype(np.float32), direct, atol=2e-2, rtol=1e-2)


@pytest.mark.slow
def test_train_and_spot_end_to_end(tiny_root, tmp_path):
    from clipmg_lib.data.clip_index import build_clip_index
    from clipmg_lib.spotting import (VideoSource, load_spotter, majority_class_baseline, oracle_boundary_spots,
                                     spot_video, spot_video_file, spotting_speed, train_spotter,
                                     write_spot_outputs)

    index = build_clip_index(tiny_root, progress=False)
    overrides = dict(window_lengths=[8, 16, 32], frame_stride=2, min_score=0.0,
                     train_overrides={"epochs": 2, "batch_size": 8, "precise_bn_batches": 1})
    sp = train_spotter("tiny_demo", tiny_root, out_dir=tmp_path / "run", train_videos=[5], val_videos=[1],
                       cache_root=tmp_path / "cache", progress=False, index=index, **overrides)
    assert len(sp.history) == 2 and sp.timings["train_windows"] > 0
    assert (tmp_path / "run" / "best.pt").is_file()
    src = VideoSource.from_dataset(tiny_root, 12)
    spots = spot_video(sp, src)
    assert list(spots.columns) == list(S.SPOT_COLUMNS) and len(spots) > 0
    assert spots["start_frame"].min() >= 0 and spots["end_frame"].max() <= 69
    assert ((spots["class"] >= 0) & (spots["class"] < 32)).all()
    speed = spotting_speed(sp)
    assert speed["frames"] == 70 and speed["tokens_built_now"]

    gt = S.ground_truth_from_index(index[index["video"] == 12])
    oracle = oracle_boundary_spots(sp, {12: src}, gt)
    assert oracle[["start_frame", "end_frame"]].values.tolist() == gt[["start_frame", "end_frame"]].values.tolist()
    assert S.f1_scores(oracle, gt)["tp"] == (oracle["class"].to_numpy() == gt["class"].to_numpy()).sum()
    maj = majority_class_baseline(index[index["split"] == "train"], {12: 70})
    assert maj["class"].nunique() == 1 and maj["end_frame"].max() == 69

    # reloading the run gives the same spots; the file call spots a recording given its skeleton file
    again = spot_video(load_spotter(tmp_path / "run", cache_root=tmp_path / "cache", progress=False), src)
    pd.testing.assert_frame_equal(again, spots)
    from clipmg_lib.data.release_files import ReleaseFiles
    layout = ReleaseFiles(tiny_root)
    by_file = spot_video_file(layout.video_path(12), tmp_path / "run", layout.skeleton_path(12), video=12,
                              cache_root=tmp_path / "cache")
    pd.testing.assert_frame_equal(by_file, spots)

    out = write_spot_outputs(spots, tmp_path / "out", "v12", ground_truth=gt)
    pd.testing.assert_frame_equal(S.read_spots_csv(out["csv"]), S.check_spots(spots))
    assert out["figures"][0].is_file()

    # the same through the command line a user runs on a recording: python -m clipmg_lib.runs.predict --spot
    from clipmg_lib.runs.predict import main as predict_main
    video_path = layout.video_path(12)
    assert predict_main([str(video_path), "--spot", "--run", str(tmp_path / "run"), "--skeleton",
                         str(layout.skeleton_path(12)), "--out", str(tmp_path / "cli"),
                         "--cache-dir", str(tmp_path / "cache"), "--quiet"]) == 0
    cli = S.read_spots_csv(tmp_path / "cli" / f"{video_path.stem}_spots.csv")
    pd.testing.assert_frame_equal(cli.drop(columns="video"), S.check_spots(spots).drop(columns="video"))
    assert list((tmp_path / "cli" / "figures").glob("*timeline*.html"))
    assert predict_main([str(video_path), "--spot", "--run", str(tmp_path / "run"), "--start", "1"]) == 2


def test_demo_videos_hold_long_rest_stretches_without_changing_the_clips():
    import dataclasses

    from clipmg_lib.demo import generate as demo

    size = demo.SIZES["default"]
    plans = demo.plan_dataset(size, 0)
    apart = dataclasses.replace(size, overlaps=demo.OverlapModel())  # every clip after a gap: the gaps are clean
    separate = demo.plan_dataset(apart, 0)
    flat = demo.plan_dataset(dataclasses.replace(apart, long_rest=(0.0, 0, 0)), 0)
    gaps = np.concatenate([[b.start_frame - a.end_frame - 1 for a, b in zip(p.clips, p.clips[1:])] for p in separate])
    lo, hi = size.long_rest[1:]
    assert (gaps >= size.gap_frames[0]).all() and gaps.max() <= hi
    assert 0.03 < (gaps >= lo).mean() < 0.15  # ~8% of the gaps are 3-12 s of rest
    for p, q, r in zip(plans, separate, flat):  # the same clips (classes, lengths), only placed elsewhere
        assert [(c.raw_class, c.end_frame - c.start_frame) for c in p.clips] == \
               [(c.raw_class, c.end_frame - c.start_frame) for c in q.clips] == \
               [(c.raw_class, c.end_frame - c.start_frame) for c in r.clips]
        assert q.num_frames >= r.num_frames


def test_window_dataset_pickles_token_files_by_name(tmp_path):
    import pickle

    from clipmg_lib.spotting.dataset import WindowDataset
    from clipmg_lib.spotting.video_source import VideoSource

    np.save(tmp_path / "t.npy", np.ones((10, 50, 800), np.float16))  # 800 KB
    tokens = np.load(tmp_path / "t.npy", mmap_mode="r")
    src = VideoSource(7, tmp_path / "v.mp4", 40, np.zeros((40, 22, 2), np.float32), np.ones((40, 22), np.float32), (48, 64))
    ds = WindowDataset(pd.DataFrame({"video": [7], "start_frame": [0], "end_frame": [39], "label": [3]}),
                       {7: src}, {7: tokens}, num_frames=4, stride=4, pose_pipeline=None)
    blob = pickle.dumps(ds)
    assert len(blob) < 100_000  # the file name travels, not a copy of the array
    again = pickle.loads(blob)
    assert isinstance(again.tokens[7], np.memmap)
    np.testing.assert_array_equal(again[0]["tokens"].numpy(), ds[0]["tokens"].numpy())
