"""ST-GCN array export and MiGA submission CSVs."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.data.export import (read_stgcn_arrays, read_submission_csv, write_stgcn_arrays,
                                    write_submission_csv)

from data_fixtures import NOSE_X0, TINY_VIDEOS, indexed_skeleton, tiny_index


@pytest.fixture()
def skeletons():
    return {vid: indexed_skeleton(frames, seed=vid) for vid, (_, _, frames, _) in TINY_VIDEOS.items()}


def test_stgcn_arrays_keep_the_last_90_frames_zero_padded(tmp_path, skeletons):
    index = tiny_index()
    index.loc[index["sample_id"] == "0012_0", "split"] = "train"  # a 70-frame clip, for padding
    skeletons[5] = indexed_skeleton(200, seed=5)
    long_clip = pd.DataFrame([{**index.iloc[0].to_dict(), "sample_id": "0005_9", "video": 5, "start_frame": 0,
                               "end_frame": 150, "split": "train"}])  # 151 frames: keeps 61..150
    index = pd.concat([index, long_clip], ignore_index=True)
    paths = write_stgcn_arrays(tmp_path, index, skeletons, "train", progress=False)
    data, names, labels = read_stgcn_arrays(tmp_path, "train")
    train = index[index["split"] == "train"]
    assert data.shape == (len(train), 3, 90, 22, 1) and data.dtype == np.float32
    assert names == train["sample_id"].tolist() and labels.tolist() == train["label"].tolist()
    assert json.loads(paths["label.json"].read_text()) == {"sample_name": names, "label": labels.tolist()}

    i = names.index("0005_9")
    nose_frames = data[i, 0, :, 0, 0] - NOSE_X0  # channel x, joint Nose
    assert nose_frames.tolist() == list(range(61, 151))
    np.testing.assert_array_equal(data[i, :, :, :, 0].transpose(1, 2, 0),
                                  skeletons[5].to("openpose22").data[61:151])

    i = names.index("0012_0")  # 70 frames: frames 0..69 then 20 zero frames
    assert (data[i, 0, :70, 0, 0] - NOSE_X0).tolist() == list(range(70))
    assert (data[i, :, 70:] == 0).all()
    i = names.index("0005_1")  # frames 21..22
    assert (data[i, 0, :2, 0, 0] - NOSE_X0).tolist() == [21, 22] and (data[i, :, 2:] == 0).all()
    # nothing needs pickle to load
    for key in ("names.npy", "labels.npy"):
        np.load(paths[key], allow_pickle=False)


def test_stgcn_accepts_a_reader_function_and_names_bad_clips(tmp_path, skeletons):
    index = tiny_index()
    calls = []
    write_stgcn_arrays(tmp_path, index, lambda vid: calls.append(vid) or skeletons[vid], "test", progress=False)
    assert calls == [12]  # one read per video
    with pytest.raises(ValueError, match=r"no clips of split 'validate'"):
        write_stgcn_arrays(tmp_path, index, skeletons, "validate")
    skeletons[12] = indexed_skeleton(50)
    with pytest.raises(IndexError, match=r"clip 0012_0: .*frame range 0\.\.69 outside 0\.\.49"):
        write_stgcn_arrays(tmp_path / "bad", index, skeletons, "test", progress=False)


def test_submission_round_trip(tmp_path):
    ids = ["0298_0", "0298_1", "0012_10"]
    write_submission_csv(tmp_path / "sub.csv", ids, [31, 0, 7])
    assert (tmp_path / "sub.csv").read_text() == "Id,Target\n0298_0,31\n0298_1,0\n0012_10,7\n"
    sub = read_submission_csv(tmp_path / "sub.csv")
    assert sub["Id"].tolist() == ids and sub["Target"].tolist() == [31, 0, 7]
    scores = np.zeros((3, 32), dtype=np.float32)
    scores[[0, 1, 2], [5, 6, 31]] = 1
    write_submission_csv(tmp_path / "scores.csv", ids, scores)
    assert read_submission_csv(tmp_path / "scores.csv")["Target"].tolist() == [5, 6, 31]


@pytest.mark.parametrize("ids,preds,problem", [
    (["0001_0"], [1, 2], "1 sample ids but predictions"),
    (["0001_0", "0001_0"], [1, 2], "duplicate"),
    (["1_0"], [1], "look like 0001_0"),
    (["0001_0"], [32], "0..31"),
    (["0001_0"], np.zeros((1, 10)), r"\(N, 32\)"),
])
def test_submission_bad_input(ids, preds, problem, tmp_path):
    with pytest.raises(ValueError, match=problem):
        write_submission_csv(tmp_path / "sub.csv", ids, preds)
    assert not (tmp_path / "sub.csv").exists()
