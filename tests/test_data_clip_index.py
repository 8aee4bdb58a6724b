"""ReleaseFiles and build_clip_index: the MiGA layout, both annotation sources, and their checks."""
from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.data.annotations import CLIP_INDEX_COLUMNS, AnnotationFileError, write_label_csv
from clipmg_lib.data.classes import UnknownClassError
from clipmg_lib.data.clip_index import ClipRangeError, build_clip_index, class_counts, index_summary
from clipmg_lib.data.release_files import ReleaseFiles
from clipmg_lib.data.skeleton_io import write_light_hand_csv

from data_fixtures import TINY_VIDEOS, indexed_skeleton, make_tiny_imigue, tiny_index


@pytest.fixture()
def tiny(tmp_path):
    return make_tiny_imigue(tmp_path)


# ------------------------------------------------------------------------------------------- layout

def test_layout_finds_what_the_canonical_paths_name(tiny):
    assert tiny.videos() == [1, 5, 12] and tiny.videos("test") == [12]
    for vid, (_, split, _, _) in TINY_VIDEOS.items():
        assert tiny.split_of_video(vid) == split
        assert tiny.label_csv(vid) == tiny.label_csv_path(vid, split)
        assert tiny.light_hand_csv(vid) == tiny.light_hand_csv_path(vid, split)
        assert tiny.video_path(vid) == tiny.rgb_path(vid, split)
        assert tiny.skeleton_path(vid) == tiny.light_hand_csv_path(vid, split)
    assert tiny.rgb_path(5, "train").relative_to(tiny.root).as_posix() == "imigue_rgb_phase1/train_data/0005/0005.mp4"
    assert tiny.label_csv_path(1, "val").relative_to(tiny.root).as_posix() == \
        "imigue_data_phase1/datasets/imigue_skeleton_validate/0001/0001_label.csv"
    assert tiny.rgb_path(12, "test").relative_to(tiny.root).as_posix() == "imigue_rgb_phase2/0012/0012.mp4"


def test_layout_accepts_unpadded_names(tmp_path):
    layout = ReleaseFiles(tmp_path)
    folder = tmp_path / "imigue_data_phase2/imigue_skeleton_test/37"
    write_label_csv(folder / "37_label.csv", [(99, 0, 3)])
    write_light_hand_csv(folder / "0037_light_hand.csv", indexed_skeleton(5))
    (tmp_path / "imigue_rgb_phase1/validation_data/0002").mkdir(parents=True)
    (tmp_path / "imigue_rgb_phase1/validation_data/0002/2.mp4").write_bytes(b"")
    assert layout.videos() == [2, 37]
    assert layout.label_csv(37) == folder / "37_label.csv"
    assert layout.light_hand_csv(37) == folder / "0037_light_hand.csv"
    assert layout.split_of_video(37) == "test" and layout.split_of_video(2) == "val"
    assert layout.video_path(2).name == "2.mp4"


def test_layout_missing_file_names_expected_paths(tiny):
    with pytest.raises(FileNotFoundError, match=r"OpenPose xlsx of video 5 not found; looked for: .*0005_openpose\.xlsx"):
        tiny.openpose_xlsx(5)
    with pytest.raises(FileNotFoundError, match=r"video 8 is not in the layout .*imigue_skeleton_train/0008"):
        tiny.split_of_video(8)
    with pytest.raises(FileNotFoundError, match=r"mediapipe_skeleton/0005/0005_light_hand\.csv"):
        tiny.mediapipe_light_hand_csv(5)
    with pytest.raises(ValueError, match="unknown split"):
        tiny.skeleton_dir(5, "validate")


def test_layout_rejects_a_video_in_two_splits(tiny):
    write_label_csv(tiny.label_csv_path(5, "test"), [(99, 0, 3)])
    tiny.refresh()
    with pytest.raises(ValueError, match="video 5 appears twice"):
        tiny.videos()


# --------------------------------------------------------------------------------------- clip index

def test_index_from_official_csv(tiny):
    index = build_clip_index(tiny.root, progress=False)
    pd.testing.assert_frame_equal(index[list(CLIP_INDEX_COLUMNS)], tiny_index())
    assert index.attrs["source"].endswith("labels_20200831.csv") and index.attrs["skipped"] == []
    assert index["split"].tolist().count("val") == 3  # video 1 is a MiGA validation video of subject 2


def test_index_from_label_csvs_uses_folder_splits(tmp_path):
    layout = make_tiny_imigue(tmp_path, official_csv=False)
    auto = build_clip_index(layout, progress=False)
    forced = build_clip_index(tmp_path, source="label_csv", progress=False)
    pd.testing.assert_frame_equal(auto, forced)
    expected = tiny_index().assign(subject=-1)
    pd.testing.assert_frame_equal(auto, expected)
    with pytest.raises(FileNotFoundError, match="labels_20200831.csv"):
        build_clip_index(tmp_path, source="official_csv")


def test_label_csv_disagreeing_with_official_csv(tiny):
    write_label_csv(tiny.label_csv_path(5, "train"), [(1, 3, 20), (99, 21, 22), (31, 40, 79), (5, 60, 71)])
    with pytest.raises(AnnotationFileError, match=r"0005_label\.csv disagrees with .*labels_20200831\.csv on video 5: "
                                                  r"first difference at clip 0005_3"):
        build_clip_index(tiny.root, progress=False)
    # reading the label CSVs alone is fine
    assert len(build_clip_index(tiny.root, source="label_csv", progress=False)) == 9


def test_clip_past_the_end_of_the_video(tmp_path, caplog):
    layout = make_tiny_imigue(tmp_path, official_csv=False)
    write_label_csv(layout.label_csv_path(12, "test"), [(99, 0, 69), (16, 60, 70), (16, 5, 14)])
    # the skeleton CSV (70 rows) and the mp4 (70 frames) both end at frame 69
    with pytest.raises(ClipRangeError, match=r"0012\.mp4: clip 0012_1 \(frames 60\.\.70\) ends past the last frame 69"):
        build_clip_index(tmp_path, progress=False)
    with caplog.at_level(logging.WARNING, logger="clipmg_lib.data.clip_index"):
        index = build_clip_index(tmp_path, on_bad_data="skip", progress=False)
    assert index.attrs["skipped"] == ["0012_1"] and "0012_1" not in set(index["sample_id"])
    assert len(index) == 9 and "skipping" in caplog.text and "0012_1" in caplog.text
    assert len(build_clip_index(tmp_path, check_lengths=False, progress=False)) == 10


def test_clip_past_the_end_of_the_skeleton(tmp_path):
    layout = make_tiny_imigue(tmp_path, official_csv=False, videos=False)
    write_light_hand_csv(layout.light_hand_csv_path(5, "train"), indexed_skeleton(75))
    with pytest.raises(ClipRangeError, match=r"0005_light_hand\.csv: clip 0005_2 \(frames 40\.\.79\) .* \(75 frames\)"):
        build_clip_index(tmp_path, progress=False)


def test_unknown_class_and_malformed_row_name_the_file(tmp_path):
    layout = make_tiny_imigue(tmp_path, official_csv=False, videos=False)
    path = layout.label_csv_path(1, "val")
    path.write_text("99,0,9\n0,10,30\n")
    with pytest.raises(UnknownClassError, match=r"0001_label\.csv, line 2"):
        build_clip_index(tmp_path, progress=False)
    path.write_text("99,0,9\n5;10;30\n")
    with pytest.raises(AnnotationFileError, match=r"0001_label\.csv, line 2: expected 3 fields"):
        build_clip_index(tmp_path, progress=False)


def test_missing_root_and_empty_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset root not found"):
        build_clip_index(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no official CSV"):
        build_clip_index(tmp_path)


def test_summaries(tiny):
    index = build_clip_index(tiny.root, progress=False)
    summary = index_summary(index).set_index("split")
    assert summary.loc["all", "clips"] == 9 and summary.loc["train", "videos"] == 1
    assert summary.loc["test", "subjects"] == 1 and summary.loc["val", "clips"] == 3
    counts = class_counts(index)
    assert len(counts) == 32 and counts["all"].sum() == 9 and counts.loc[31, "all"] == 4
    assert counts.loc[31, "name"] == "Illustrative body language" and counts.loc[30, "train"] == 1


@pytest.mark.needs_shared
def test_index_of_the_real_annotation_csv(shared_imigue):
    index = build_clip_index(shared_imigue, progress=False)  # only the CSV is there: nothing to check lengths on
    assert len(index) == 18_498 and index["label"].nunique() == 32
    assert index["split"].value_counts().to_dict() == {"train": 13_158, "test": 4_563, "val": 777}
    assert index["video"].is_monotonic_increasing


def _faststart_video(path, frames: int) -> None:
    """An mp4 whose header (moov first) says how many frames it has, as long recordings usually are."""
    from clipmg_lib.data.video_writer import write_h264

    write_h264(path, (np.full((48, 64, 3), (i * 3) % 255, np.uint8) for i in range(frames)), width=64, height=48,
               fps=25, container_options={"movflags": "faststart"})


def test_every_bad_file_in_one_message_or_skipped_with_a_report(tmp_path):
    from clipmg_lib.data.clip_index import BadDataError

    layout = make_tiny_imigue(tmp_path / "root", official_csv=False)
    # video 1: cut in half (header 60 frames); video 5: empty light_hand CSV (iMiGUE's 347, 348);
    # video 12: an mp4 that is not a video
    mp4 = layout.video_path(1)
    _faststart_video(mp4, 60)
    mp4.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    layout.light_hand_csv(5).write_text("")
    layout.video_path(12).write_bytes(b"garbage" * 50)
    with pytest.raises(BadDataError) as err:
        build_clip_index(layout.root, progress=False)
    msg = str(err.value)
    print(msg)
    assert "3 bad file(s)" in msg
    assert re.search(r"0001\.mp4: truncated video: its header says 60 frames, only \d+ can be decoded \[clips 0001_0", msg)
    assert "0005_light_hand.csv: unreadable skeleton file: empty file (no frames) [clips 0005_0" in msg
    assert re.search(r"0012\.mp4: undecodable video: cannot open as a video", msg)
    assert "on_bad_data='skip'" in msg
    report = tmp_path / "out" / "skipped.csv"
    index = build_clip_index(layout.root, on_bad_data="skip", skipped_csv=report, progress=False)
    assert len(index) == 0  # every clip of the three videos was affected
    table = pd.read_csv(report)
    assert set(table["video"]) == {1, 5, 12} and list(table.columns) == ["sample_id", "video", "file", "problem"]


def test_missing_and_empty_xlsx_skeletons_are_found_at_index_time(tmp_path):
    from clipmg_lib.data.clip_index import BadDataError, skipped_report

    layout = make_tiny_imigue(tmp_path, official_csv=False, videos=False)
    layout.light_hand_csv(1).unlink()                     # no skeleton at all for video 1
    layout.light_hand_csv(5).unlink()
    layout.openpose_xlsx_path(5, "train").write_bytes(b"")  # an empty xlsx instead
    with pytest.raises(BadDataError) as err:
        build_clip_index(tmp_path, progress=False)
    msg = str(err.value)
    print(msg)
    assert "0001: missing skeleton file (no light_hand CSV, OpenPose xlsx or OpenPose JSON folder) [clips 0001_0" in msg
    assert "0005_openpose.xlsx: unreadable skeleton file: empty file (no frames)" in msg
    index = build_clip_index(tmp_path, on_bad_data="skip", progress=False)
    assert set(index["video"]) == {12} and set(skipped_report(index)["video"]) == {1, 5}
