"""ClipDataset: the sample dict contract, RGB and skeleton on the same frames, determinism, sources."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from clipmg_lib.data.clip_index import build_clip_index
from clipmg_lib.data.dataset import IMIGUE_IMG_SHAPE, ClipDataset, collate_clips
from clipmg_lib.data.release_files import ReleaseFiles
from clipmg_lib.data.skeleton_io import write_light_hand_csv
from clipmg_lib.demo.media import read_frame_codes

from data_fixtures import NOSE_X0, indexed_skeleton, make_tiny_imigue


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_imigue")
    layout = make_tiny_imigue(root)
    return layout, build_clip_index(root, progress=False)


def test_sample_dict_contract(tiny):
    layout, index = tiny
    ds = ClipDataset(index, layout.root, num_frames=8, image_size=32)
    assert len(ds) == len(index) == 9
    s = ds[4]  # 0005_1: frames 21..22 (a two-frame clip)
    row = index.iloc[4]
    assert s["sample_id"] == row.sample_id == "0005_1" and s["label"] == row.label and s["video"] == 5
    assert s["frame_inds"].dtype == np.int64 and s["frame_inds"].shape == (8,)
    assert s["imgs"].dtype == np.uint8 and s["imgs"].shape == (8, 32, 32, 3)
    assert s["keypoint"].dtype == np.float32 and s["keypoint"].shape == (2, 22, 2)
    assert s["keypoint_score"].dtype == np.float32 and s["keypoint_score"].shape == (2, 22)
    assert s["clip_start"] == 21 and s["img_shape"] == (48, 64) and s["layout"] == "openpose22" and s["epoch"] == 0


def test_frames_and_skeleton_line_up(tiny):
    layout, index = tiny
    ds = ClipDataset(index, layout.root, num_frames=6, image_size=None, mode="train", seed=3)
    for i in range(len(ds)):
        s = ds[i]
        row = index.iloc[i]
        assert read_frame_codes(s["imgs"]).tolist() == s["frame_inds"].tolist()  # the RIGHT frames
        assert s["frame_inds"].min() >= row.start_frame and s["frame_inds"].max() <= row.end_frame
        # the whole clip's skeleton: nose x encodes the absolute frame
        nose_frames = s["keypoint"][:, 0, 0] - NOSE_X0
        assert nose_frames.tolist() == list(range(row.start_frame, row.end_frame + 1))


def test_eval_is_fixed_and_train_is_deterministic_per_seed_epoch_index(tiny):
    layout, index = tiny
    ev = ClipDataset(index, layout.root, load_frames=False)
    assert index.iloc[7].sample_id == "0012_0"  # frames 0..69
    before = ev[7]["frame_inds"].tolist()
    assert before == [4, 13, 21, 30, 39, 48, 56, 65]  # segment centres
    ev.set_epoch(5)
    assert ev[7]["frame_inds"].tolist() == before  # evaluation does not depend on the epoch

    def draws(seed: int, epoch: int) -> list[list[int]]:
        ds = ClipDataset(index, layout.root, mode="train", seed=seed, load_frames=False)
        ds.set_epoch(epoch)
        return [ds[i]["frame_inds"].tolist() for i in range(len(ds))]

    assert draws(0, 1) == draws(0, 1)
    assert draws(0, 1) != draws(0, 2)
    assert draws(0, 1) != draws(1, 1)
    ds = ClipDataset(index, layout.root, mode="train", seed=0, load_frames=False)
    ds.set_epoch(1)
    backwards = [ds[i]["frame_inds"].tolist() for i in reversed(range(len(ds)))][::-1]
    assert backwards == draws(0, 1)  # independent of the order samples are drawn in


def test_pose_pipeline_runs_on_the_sample(tiny):
    layout, index = tiny
    seen = []

    def select(sample: dict) -> dict:
        seen.append(sorted(sample))
        rows = sample["frame_inds"] - sample["clip_start"]
        sample["keypoint"] = sample["keypoint"][rows]
        sample["keypoint_score"] = sample["keypoint_score"][rows]
        return sample

    ds = ClipDataset(index, layout.root, num_frames=4, image_size=16, pose_pipeline=select)
    s = ds[0]
    assert "imgs" in seen[0] and "keypoint" in seen[0]
    assert s["keypoint"].shape == (4, 22, 2)
    assert (s["keypoint"][:, 0, 0] - NOSE_X0).tolist() == s["frame_inds"].tolist()


def test_dataloader_batches_with_collate(tiny):
    layout, index = tiny
    from clipmg_lib.pose.transforms import Compose, SelectFrames

    ds = ClipDataset(index, layout.root, num_frames=4, image_size=16, pose_pipeline=Compose([SelectFrames()]))
    batch = next(iter(DataLoader(ds, batch_size=3, collate_fn=collate_clips)))
    assert batch["imgs"].shape == (3, 4, 16, 16, 3) and batch["imgs"].dtype == torch.uint8
    assert batch["keypoint"].shape == (3, 4, 22, 2) and batch["label"].dtype == torch.int64
    assert batch["sample_id"] == index["sample_id"].tolist()[:3]


def test_skeleton_read_once_per_video(tiny, monkeypatch):
    layout, index = tiny
    import clipmg_lib.data.dataset as dataset_module

    calls = []
    real = dataset_module.read_skeleton
    monkeypatch.setattr(dataset_module, "read_skeleton", lambda path, *a: calls.append(path) or real(path, *a))
    ds = ClipDataset(index, layout.root, load_frames=False)
    for i in range(len(ds)):
        ds[i]
    assert len(calls) == 3  # three videos
    ds.preload_skeletons(progress=False)
    assert len(calls) == 3


def test_layouts_and_mediapipe_source(tiny, tmp_path):
    layout, index = tiny
    s = ClipDataset(index, layout.root, layout="light_hand35", load_frames=False)[0]
    assert s["keypoint"].shape[1] == 35 and s["layout"] == "light_hand35"
    outside = ReleaseFiles(layout.root, mediapipe_root=tmp_path / "mediapipe")  # the kit's output, not in the root
    ds = ClipDataset(index, outside, skeleton_source="mediapipe", load_frames=False)
    with pytest.raises(FileNotFoundError, match=r"mediapipe/0001/0001_light_hand\.csv.*mediapipe_skeleton/0001/0001_light_hand\.csv"):
        ds[0]
    for vid, frames in ((1, 60), (5, 80), (12, 70)):
        path = outside.mediapipe_light_hand_csv_path(vid)
        assert path.is_relative_to(tmp_path / "mediapipe")
        write_light_hand_csv(path, indexed_skeleton(frames, seed=100 + vid))
    s = ds[0]
    assert s["keypoint"].shape == (10, 22, 2)
    assert not np.array_equal(s["keypoint"], ClipDataset(index, layout.root, load_frames=False)[0]["keypoint"])


def test_without_videos_img_shape_falls_back_to_imigue(tmp_path):
    layout = make_tiny_imigue(tmp_path, videos=False)
    index = build_clip_index(tmp_path, progress=False)
    s = ClipDataset(index, tmp_path, load_frames=False)[0]
    assert s["img_shape"] == IMIGUE_IMG_SHAPE and "imgs" not in s
    with pytest.raises(FileNotFoundError, match="RGB video of video 1 not found"):
        ClipDataset(index, tmp_path)[0]


def test_bad_arguments_and_clip_past_the_skeleton(tiny, tmp_path):
    layout, index = tiny
    with pytest.raises(ValueError, match="mode"):
        ClipDataset(index, layout.root, mode="test")
    with pytest.raises(ValueError, match="lacks column"):
        ClipDataset(index.drop(columns=["label"]), layout.root)
    with pytest.raises(KeyError, match="unknown joint layout"):
        ClipDataset(index, layout.root, layout="coco17")
    broken = index.copy()
    broken.loc[0, "end_frame"] = 65  # video 1 has 60 frames
    with pytest.raises(IndexError, match=r"clip 0001_0: .*0001_light_hand\.csv: frame range 0\.\.65 outside 0\.\.59"):
        ClipDataset(broken, layout.root, load_frames=False)[0]
    with pytest.raises(IndexError, match="out of range"):
        ClipDataset(index, layout.root)[len(index)]


@pytest.mark.slow
def test_workers_started_after_the_parent_read_frames_decode_the_same_frames(tiny):
    # the kit's workers (clipmg_lib.core.workers: forkserver, never fork) get the dataset pickled without the
    # parent's open decoders and open their own
    layout, index = tiny
    from clipmg_lib.pose.transforms import Compose, SelectFrames
    from clipmg_lib.core.workers import loader_kwargs

    ds = ClipDataset(index, layout.root, num_frames=4, image_size=16, pose_pipeline=Compose([SelectFrames()]))
    parent = [ds[i]["imgs"] for i in range(3)]  # opens decoders in the parent
    loader = DataLoader(ds, batch_size=3, collate_fn=collate_clips, timeout=120, **loader_kwargs(2))
    batches = list(loader)
    assert sum(len(b["sample_id"]) for b in batches) == len(ds)
    assert all((batches[0]["imgs"][k].numpy() == parent[k]).all() for k in range(3))
    assert [read_frame_codes(b.numpy()).tolist() for b in batches[0]["imgs"]] == \
        [ds[k]["frame_inds"].tolist() for k in range(3)]
