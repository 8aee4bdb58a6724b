"""Skeleton readers/writers: the real OpenPose JSON of video 298, round trips, and each bad input's error."""
from __future__ import annotations

import json
import tarfile
import time

import numpy as np
import pytest

from clipmg_lib.data.annotations import read_official_csv, read_raw_label_txt, write_raw_label_txt
from clipmg_lib.data.joint_layouts import convert
from clipmg_lib.data.skeleton import Skeleton, SkeletonFileError
from clipmg_lib.data.skeleton_io import (SkeletonFileNotFoundError, count_light_hand_frames, read_light_hand_csv,
                                         read_openpose_json_dir, read_openpose_xlsx, read_skeleton,
                                         write_light_hand_csv, write_openpose_xlsx)

from data_fixtures import indexed_skeleton


@pytest.fixture(scope="session")
def openpose_298(shared_imigue, tmp_path_factory):
    """The extracted tar: (folder of JSON files, Label/raw/298.txt or None)."""
    out = tmp_path_factory.mktemp("openpose_298")
    with tarfile.open(shared_imigue / "openpose_298.tar.gz") as tar:
        tar.extractall(out, filter="data")
    folders = [p for p in out.rglob("298") if p.is_dir() and any(p.glob("*_keypoints.json"))]
    assert len(folders) == 1, folders
    raw_txt = next(iter(out.rglob("Label/raw/298.txt")), None)
    return folders[0], raw_txt


@pytest.fixture(scope="session")
def skeleton_298(openpose_298):
    start = time.perf_counter()
    skeleton = read_openpose_json_dir(openpose_298[0])
    skeleton.read_seconds = time.perf_counter() - start
    return skeleton


@pytest.mark.slow
@pytest.mark.needs_shared
def test_json_folder_of_video_298(skeleton_298):
    assert skeleton_298.layout == "openpose137"
    assert skeleton_298.data.shape == (21_068, 137, 3) and skeleton_298.data.dtype == np.float32
    assert skeleton_298.read_seconds < 60, f"21k JSON files took {skeleton_298.read_seconds:.1f} s"
    seen = skeleton_298.score[:, :25].max(axis=1) > 0
    assert 0.9 < seen.mean() < 1.0  # nearly always one person, some frames with none
    found = skeleton_298.score > 0
    x, y = skeleton_298.xy[..., 0][found], skeleton_298.xy[..., 1][found]
    # pixels of a 1280x720 video, not normalised units (hands below the frame edge go a little past 720)
    assert 100 < np.median(x) < 1180 and 100 < np.median(y) < 620
    assert np.percentile(x, 99) < 1280 and np.percentile(y, 99) < 720 and x.max() < 1.2 * 1280 and y.max() < 1.2 * 720


@pytest.mark.slow
@pytest.mark.needs_shared
def test_json_frames_match_their_files(openpose_298, skeleton_298):
    folder = openpose_298[0]
    last = json.loads((folder / "298_000000021067_keypoints.json").read_text())
    assert last["people"] == [] and (skeleton_298.data[21_067] == 0).all()  # nobody in the last frame
    for frame in (0, 100, 2176):
        doc = json.loads((folder / f"298_{frame:012d}_keypoints.json").read_text())
        person = doc["people"][0]
        pose = np.asarray(person["pose_keypoints_2d"], np.float32).reshape(25, 3)
        rhand = np.asarray(person["hand_right_keypoints_2d"], np.float32).reshape(21, 3)
        np.testing.assert_array_equal(skeleton_298.data[frame, :25], pose)
        np.testing.assert_array_equal(skeleton_298.data[frame, 116:], rhand)


@pytest.mark.slow
@pytest.mark.needs_shared
def test_video_298_clips_cut_at_the_official_frames(openpose_298, skeleton_298, shared_imigue, tmp_path):
    official = read_official_csv(shared_imigue / "labels_20200831.csv")
    clips_298 = official[official["video"] == 298].reset_index(drop=True)
    assert len(clips_298) == 56 and (clips_298["subject"] == 22).all() and (clips_298["split"] == "train").all()
    raw_txt = openpose_298[1]
    if raw_txt is None:  # this copy of the tar lacks Label/raw/298.txt: rebuild it from the CSV's seconds
        raw_txt = tmp_path / "298.txt"
        write_raw_label_txt(raw_txt, clips_298)
    from_txt = read_raw_label_txt(raw_txt)
    assert len(from_txt) == 56
    assert (from_txt["start_frame"] == clips_298["start_frame"]).all()
    assert (from_txt["end_frame"] == clips_298["end_frame"]).all()
    assert (from_txt["label"] == clips_298["label"]).all()
    assert (from_txt["sample_id"] == clips_298["sample_id"]).all()
    for row in from_txt.itertuples():
        clip = skeleton_298.frames(row.start_frame, row.end_frame)
        assert clip.num_frames == row.end_frame - row.start_frame + 1
        np.testing.assert_array_equal(clip.data[0], skeleton_298.data[row.start_frame])
        np.testing.assert_array_equal(clip.data[-1], skeleton_298.data[row.end_frame])


@pytest.mark.slow
@pytest.mark.needs_shared
def test_real_skeleton_through_light_hand_csv(skeleton_298, tmp_path):
    path = tmp_path / "0298_light_hand.csv"
    write_light_hand_csv(path, skeleton_298)  # converts openpose137 -> light_hand35
    back = read_light_hand_csv(path)
    assert back.layout == "light_hand35"
    np.testing.assert_array_equal(back.data, convert(skeleton_298.data, "openpose137", "light_hand35"))
    assert count_light_hand_frames(path) == 21_068


# --------------------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("header", [True, False])
def test_light_hand_round_trip(header, tmp_path):
    skeleton = indexed_skeleton(40, seed=3)
    path = tmp_path / "7_light_hand.csv"
    write_light_hand_csv(path, skeleton, header=header)
    lines = path.read_text().splitlines()
    assert len(lines) == 40 + header and len(lines[-1].split(",")) == 106
    assert lines[-1].startswith("39,")
    back = read_light_hand_csv(path)
    np.testing.assert_array_equal(back.data, skeleton.data)  # float32 exact
    assert count_light_hand_frames(path) == 40
    assert read_skeleton(path).data.shape == (40, 35, 3)


def test_light_hand_reader_takes_the_release_form_without_header(tmp_path):
    # MiGA's starter code reads these with pandas header=None: index column, then 105 values
    rows = [",".join([str(t)] + [f"{t + 0.5}"] * 105) for t in range(3)]
    (tmp_path / "1_light_hand.csv").write_text("\n".join(rows))  # no trailing newline
    back = read_light_hand_csv(tmp_path / "1_light_hand.csv")
    assert back.data.shape == (3, 35, 3) and back.data[2, 34, 2] == 2.5
    assert count_light_hand_frames(tmp_path / "1_light_hand.csv") == 3
    # a pandas-style header (no name over the index column, CRLF line ends, a BOM) is detected and skipped
    header = "\ufeff" + ",".join(f"j{k}" for k in range(105))
    (tmp_path / "2_light_hand.csv").write_text(header + "\r\n" + "\r\n".join(rows) + "\r\n", encoding="utf-8")
    np.testing.assert_array_equal(read_light_hand_csv(tmp_path / "2_light_hand.csv").data, back.data)
    assert count_light_hand_frames(tmp_path / "2_light_hand.csv") == 3


def test_openpose_xlsx_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.uniform(0, 700, (12, 137, 3)).astype(np.float32)
    data[3, 100:] = 0
    skeleton = Skeleton(data, "openpose137")
    write_openpose_xlsx(tmp_path / "5_openpose.xlsx", skeleton)
    back = read_openpose_xlsx(tmp_path / "5_openpose.xlsx")
    assert back.layout == "openpose137"
    np.testing.assert_allclose(back.data, data, rtol=0, atol=1e-4)


def test_json_folder_missing_frames_people_and_multiple_persons(tmp_path):
    def person(conf: float, x: float) -> dict:
        return {"pose_keypoints_2d": [x, 10, conf] * 25, "face_keypoints_2d": [],
                "hand_left_keypoints_2d": [1, 2, conf] * 21, "hand_right_keypoints_2d": [3, 4, conf] * 21}

    folder = tmp_path / "7"
    folder.mkdir()
    docs = {0: [person(0.9, 5)], 1: [], 3: [person(0.2, 100), person(0.8, 200), person(0.5, 300)], 10: [person(0.7, 9)]}
    for frame, people in docs.items():
        (folder / f"7_{frame:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    (folder / "notes.txt").write_text("not a frame")
    sk = read_openpose_json_dir(folder)
    assert sk.data.shape == (11, 137, 3)
    assert sk.data[0, 0, 0] == 5 and (sk.data[1] == 0).all() and (sk.data[2] == 0).all()
    assert sk.data[3, 0, 0] == 200  # the most confident of three people
    assert (sk.data[3, 25:95] == 0).all()  # no face points -> zeros
    assert sk.data[10, 96, 1] == 2 and sk.data[10, 120, 0] == 3


def test_json_folder_and_xlsx_readers_draw_no_bar(tmp_path, capsys, monkeypatch):
    """A JSON folder is one video's file set: no bar per frame inside it (callers show one bar over videos)."""
    monkeypatch.setenv("CLIPMG_PROGRESS", "live")
    folder = tmp_path / "8"
    folder.mkdir()
    doc = json.dumps({"people": [{"pose_keypoints_2d": [1, 2, 0.9] * 25}]})
    for frame in range(300):
        (folder / f"8_{frame:012d}_keypoints.json").write_text(doc)
    write_openpose_xlsx(tmp_path / "8_openpose.xlsx", Skeleton(np.ones((30, 137, 3), np.float32), "openpose137"))
    capsys.readouterr()
    assert read_skeleton(folder).num_frames == 300
    assert read_openpose_json_dir(folder, workers=2).num_frames == 300
    assert read_skeleton(tmp_path / "8_openpose.xlsx").num_frames == 30
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


# ---------------------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("reader", [read_light_hand_csv, read_openpose_xlsx, read_openpose_json_dir])
def test_missing_file(reader, tmp_path):
    with pytest.raises(SkeletonFileError, match="347_x: .*not found"):
        reader(tmp_path / "347_x")
    with pytest.raises(FileNotFoundError):
        reader(tmp_path / "347_x")
    assert issubclass(SkeletonFileNotFoundError, FileNotFoundError)


@pytest.mark.parametrize("reader,name", [(read_light_hand_csv, "347_light_hand.csv"),
                                         (read_openpose_xlsx, "347_openpose.xlsx")])
def test_empty_file(reader, name, tmp_path):
    (tmp_path / name).write_bytes(b"")  # videos 347 and 348 really ship empty
    with pytest.raises(SkeletonFileError, match=rf"{name}: empty file"):
        reader(tmp_path / name)


def test_empty_json_folder_and_header_only_csv(tmp_path):
    (tmp_path / "9").mkdir()
    with pytest.raises(SkeletonFileError, match="empty folder"):
        read_openpose_json_dir(tmp_path / "9")
    write_light_hand_csv(tmp_path / "h_light_hand.csv", indexed_skeleton(2))
    header = (tmp_path / "h_light_hand.csv").read_text().splitlines()[0]
    (tmp_path / "h_light_hand.csv").write_text(header + "\n")
    with pytest.raises(SkeletonFileError, match="no frames"):
        read_light_hand_csv(tmp_path / "h_light_hand.csv")


def test_light_hand_wrong_columns_and_non_numeric(tmp_path):
    good = ",".join(["0"] + ["1.5"] * 105)
    path = tmp_path / "3_light_hand.csv"
    path.write_text(",".join(["0"] + ["1.5"] * 104) + "\n")
    with pytest.raises(SkeletonFileError, match=r"3_light_hand\.csv, line 1: expected 106 columns.*got 105"):
        read_light_hand_csv(path)
    path.write_text(good + "\n" + good + ",7\n")
    with pytest.raises(SkeletonFileError, match=r"3_light_hand\.csv: wrong column count"):
        read_light_hand_csv(path)
    path.write_text(good + "\n" + ",".join(["1"] + ["2"] * 50 + ["oops"] + ["2"] * 54) + "\n")
    with pytest.raises(SkeletonFileError, match=r"3_light_hand\.csv, line 2: non-numeric value 'oops' in column 52"):
        read_light_hand_csv(path)
    path.write_text(good + "\n" + ",".join(["1"] + ["2"] * 103) + "\n")
    with pytest.raises(SkeletonFileError, match=r"3_light_hand\.csv, line 2: missing value"):
        read_light_hand_csv(path)


def test_xlsx_wrong_columns_non_numeric_and_corrupt(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([1.0] * 411)
    ws.append([1.0] * 410)
    wb.save(tmp_path / "a.xlsx")
    with pytest.raises(SkeletonFileError, match=r"a\.xlsx, row 2: expected 411 columns"):
        read_openpose_xlsx(tmp_path / "a.xlsx")
    wb = openpyxl.Workbook()
    wb.active.append([1.0] * 200 + ["x"] + [1.0] * 210)
    wb.save(tmp_path / "b.xlsx")
    with pytest.raises(SkeletonFileError, match=r"b\.xlsx, row 1: non-numeric value 'x'"):
        read_openpose_xlsx(tmp_path / "b.xlsx")
    (tmp_path / "c.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SkeletonFileError, match=r"c\.xlsx: not a readable \.xlsx"):
        read_openpose_xlsx(tmp_path / "c.xlsx")


def test_json_bad_file(tmp_path):
    folder = tmp_path / "4"
    folder.mkdir()
    (folder / "4_000000000000_keypoints.json").write_text('{"people": [')
    with pytest.raises(SkeletonFileError, match=r"4_000000000000_keypoints\.json: not valid JSON"):
        read_openpose_json_dir(folder)
    (folder / "4_000000000000_keypoints.json").write_text('{"people": [{"pose_keypoints_2d": [1, 2]}]}')
    with pytest.raises(SkeletonFileError, match="pose_keypoints_2d has 2 values, expected 75"):
        read_openpose_json_dir(folder)


def test_writers_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "1_light_hand.csv"
    write_light_hand_csv(path, indexed_skeleton(5))
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savetxt", boom)
    with pytest.raises(RuntimeError):
        write_light_hand_csv(path, indexed_skeleton(9))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["1_light_hand.csv"]  # no temp file left behind
