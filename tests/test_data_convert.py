"""The original release form read in place (official CSV + per-frame OpenPose JSON folders), and its one-command
conversion to light_hand CSVs outside the root, on the real OpenPose output of iMiGUE video 298."""
from __future__ import annotations

import shutil
import tarfile

import numpy as np
import pytest

from clipmg_lib.data.clip_index import BadDataError, build_clip_index, skipped_report
from clipmg_lib.data.convert import convert_root, main as convert_main
from clipmg_lib.data.dataset import ClipDataset
from clipmg_lib.data.release_files import ReleaseFiles
from clipmg_lib.data.skeleton_io import read_light_hand_csv, read_openpose_json_dir

from test_real_root import tree_hashes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]  # 21,068 real JSON files, read three times


@pytest.fixture(scope="module")
def original_root(shared_imigue, tmp_path_factory):
    """A root in the original release form: the official CSV and video 298's OpenPose JSON folder."""
    root = tmp_path_factory.mktemp("imigue_original")
    shutil.copy(shared_imigue / "labels_20200831.csv", root)
    with tarfile.open(shared_imigue / "openpose_298.tar.gz") as tar:
        tar.extractall(root, filter="data")
    return root


def test_read_in_place_and_convert_round_trips_exactly(original_root, tmp_path):
    before = tree_hashes(original_root)
    with pytest.raises(BadDataError, match=r"(?s)358 bad file\(s\).*missing skeleton file .* and \d+ more \(on_bad_data='skip'"):
        build_clip_index(original_root, progress=False)    # 358 of the CSV's 359 videos have no skeleton here
    index = build_clip_index(original_root, on_bad_data="skip", progress=False)
    assert set(index["video"]) == {298} and len(index) == 56
    assert skipped_report(index)["video"].nunique() == 358
    in_place = ClipDataset(index, original_root, load_frames=False)
    assert str(in_place.skeleton_file(298)).endswith("Data/skeleton/raw/298")
    sample = in_place[3]

    out = tmp_path / "converted"
    assert convert_main(["--root", str(original_root), "--out", str(out)]) == 0
    table = convert_root(original_root, out, progress=False)
    assert list(table["status"]) == ["skipped"]             # a rerun resumes, nothing redone
    csv = out / "0298" / "0298_light_hand.csv"
    json_skeleton = read_openpose_json_dir(original_root / "Data/skeleton/raw/298")
    assert json_skeleton.num_frames == 21068
    assert np.array_equal(read_light_hand_csv(csv).data, json_skeleton.to("light_hand35").data)  # exact
    converted = ClipDataset(index, ReleaseFiles(original_root, converted_root=out), load_frames=False)
    assert converted.skeleton_file(298) == csv
    again = converted[3]
    assert np.array_equal(again["keypoint"], sample["keypoint"])
    assert np.array_equal(again["keypoint_score"], sample["keypoint_score"])
    assert tree_hashes(original_root) == before             # the root was only read
