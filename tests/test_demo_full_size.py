"""The full-size simulated iMiGUE (clipmg_lib.demo.full_size), scaled down to a few real-length videos."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.data.annotations import read_official_csv
from clipmg_lib.data.clip_index import build_clip_index
from clipmg_lib.data.export import read_submission_csv, write_submission_csv
from clipmg_lib.data.release_files import ReleaseFiles
from clipmg_lib.data.skeleton_io import count_light_hand_frames, read_light_hand_csv
from clipmg_lib.demo.full_size import (CLASS_COUNTS_XSUB, MANIFEST_NAME, PUBLISHED_STATS, TAIL_SECONDS,
                                       generate_full_size, plan_from_csv, plan_from_statistics)


def _shortest(csv, n):
    d = pd.read_csv(csv)
    return d.groupby("video_id").end_frame.max().sort_values().index[:n].tolist()


@pytest.mark.slow
def test_scaled_down_root_from_the_official_csv(shared_imigue, tmp_path):
    csv = shared_imigue / "labels_20200831.csv"
    vids = _shortest(csv, 5)  # at their real lengths (a few hundred frames each)
    m = generate_full_size(tmp_path / "root", csv, videos="tiny", xlsx=1, json_videos=1, only_videos=vids,
                           workers=1, progress=False)
    assert m["source"] == "official_csv" and m["num_videos"] == 5
    real = read_official_csv(csv)
    real = real[real["video"].isin(vids)]
    index = build_clip_index(tmp_path / "root", progress=False)  # every file checked: lengths, mp4s, skeletons
    cols = ["sample_id", "video", "subject", "start_frame", "end_frame", "raw_class", "split"]
    assert index[cols].sort_values("sample_id").reset_index(drop=True).equals(
        real[cols].sort_values("sample_id").reset_index(drop=True))
    layout = ReleaseFiles(tmp_path / "root")
    lo, hi = (int(s * 25) for s in TAIL_SECONDS)
    for v in m["videos"]:
        frames = count_light_hand_frames(layout.light_hand_csv(v["video"]))
        assert frames == v["num_frames"]
        assert lo <= frames - 1 - real[real.video == v["video"]].end_frame.max() <= hi
    assert len(m["xlsx_videos"]) == 1 and len(m["json_videos"]) == 1
    vid = m["xlsx_videos"][0]
    from clipmg_lib.data.skeleton_io import read_openpose_xlsx
    x = read_openpose_xlsx(layout.openpose_xlsx(vid)).to("light_hand35").data
    np.testing.assert_allclose(x, read_light_hand_csv(layout.light_hand_csv(vid)).data, atol=1e-3)
    assert generate_full_size(tmp_path / "root", csv, videos="tiny", xlsx=1, json_videos=1, only_videos=vids,
                              workers=1, progress=False)["cpu_seconds_per_form"] == {}  # resumed: nothing redone


def test_statistical_copy_matches_the_published_totals():
    clips, videos = plan_from_statistics(seed=0)
    s = PUBLISHED_STATS
    assert len(videos) == s["videos"] and len(clips) == s["clips"]
    test = clips["split"] == "test"
    assert test.sum() == s["test_clips"] and (~test).sum() == s["train_clips"]
    assert sum(v.split == "test" for v in videos) == s["test_videos"]
    for raw, (n_train, n_test) in CLASS_COUNTS_XSUB.items():
        assert (clips.raw_class[~test] == raw).sum() == n_train and (clips.raw_class[test] == raw).sum() == n_test
    length = clips.end_frame - clips.start_frame + 1
    assert 36 <= length.median() <= 44 and 55 <= length.mean() <= 75 and length.min() >= 6
    frames = {v.video: v.num_frames for v in videos}
    assert (clips.end_frame < clips.video.map(frames)).all()
    assert clips.sample_id.is_unique
    assert plan_from_statistics(seed=0)[0].equals(clips)


def test_full_csv_test_split_submission_has_one_row_per_test_clip(shared_imigue, tmp_path):
    """The MiGA test split of the official CSV: 35 test subjects, 104 videos, 4,563 clips, every one an Id."""
    clips, videos = plan_from_csv(shared_imigue / "labels_20200831.csv")
    test = clips[clips["split"] == "test"]
    assert len(test) == 4563 and test["video"].nunique() == 104
    assert not {347, 348} & set(test["video"])  # the two videos released without skeletons are training videos
    out = tmp_path / "submission_test.csv"
    write_submission_csv(out, test["sample_id"], np.zeros(len(test), np.int64))
    sub = read_submission_csv(out)
    assert len(sub) == 4563 and sub["Id"].is_unique and set(sub["Id"]) == set(test["sample_id"])
    assert len(out.read_text().splitlines()) == 4563 + 1  # header + one row per clip


def test_refuses_a_root_it_did_not_write(tmp_path):
    (tmp_path / "labels_20200831.csv").write_text("x\n")
    with pytest.raises(FileExistsError, match="not a root this generator wrote"):
        generate_full_size(tmp_path, source="statistics", progress=False)


@pytest.mark.slow
def test_index_checks_in_worker_processes_match_the_serial_ones(tmp_path, monkeypatch):
    """find_bad_data over chunks of videos in processes (the full-size path) reports what the serial path does."""
    import clipmg_lib.data.clip_index as ci
    from clipmg_lib.data.annotations import read_official_csv

    _, videos = plan_from_statistics(0)
    short = [v.video for v in sorted(videos, key=lambda v: v.num_frames)[:4]]
    root = tmp_path / "root"
    generate_full_size(root, source="statistics", only_videos=short, xlsx=0, json_videos=0, videos="tiny",
                       workers=1, progress=False)
    index = read_official_csv(root / "labels_20200831.csv")
    index.loc[3, "end_frame"] = 10 ** 6  # one clip past the end of its video and skeleton
    layout = ReleaseFiles(root)
    monkeypatch.setattr(ci, "CHECK_CHUNK", 1)
    serial = ci.find_bad_data(index, layout, progress=False, workers=1)
    parallel = ci.find_bad_data(index, layout, progress=False, workers=2)
    assert len(serial) == 2 and serial.sample_id.eq(index.sample_id[3]).all()
    pd.testing.assert_frame_equal(serial, parallel)
