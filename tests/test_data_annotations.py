"""Annotation readers/writers: the real official CSV, round trips, and each bad input's error."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.data.annotations import (CLIP_INDEX_COLUMNS, OFFICIAL_EXTRA_COLUMNS, AnnotationFileError,
                                         read_label_csv, read_official_csv, read_raw_label_txt, seconds_to_frame,
                                         write_label_csv, write_official_csv, write_raw_label_txt)
from clipmg_lib.data.classes import UnknownClassError

from data_fixtures import tiny_index


@pytest.fixture(scope="module")
def official(shared_imigue):
    return read_official_csv(shared_imigue / "labels_20200831.csv")


@pytest.mark.needs_shared
def test_official_csv_counts(official):
    assert len(official) == 18_498
    assert official["label"].nunique() == 32
    assert official["video"].nunique() == 359 and official["subject"].nunique() == 72
    # cross-subject protocol: MiGA's validation videos are training subjects
    assert (official["split"] != "test").sum() == 13_935
    assert (official["split"] == "test").sum() == 4_563
    assert official.loc[official["split"] == "val", "video"].nunique() == 10
    assert list(official.columns) == list(CLIP_INDEX_COLUMNS) + list(OFFICIAL_EXTRA_COLUMNS)
    assert official["sample_id"].is_unique
    assert official.loc[0, "sample_id"] == "0371_0" and official.loc[0, "start_frame"] == 171


@pytest.mark.needs_shared
def test_official_csv_class_counts_match_class_table(official, shared_imigue):
    table = pd.read_csv(shared_imigue / "classes.csv")
    counts = official.groupby("label").size().reindex(range(32), fill_value=0).to_numpy()
    assert (counts == table["clips_total"].to_numpy()).all()
    test_counts = official[official["split"] == "test"].groupby("label").size().reindex(range(32), fill_value=0)
    assert (test_counts.to_numpy() == table["clips_test_xsub"].to_numpy()).all()


@pytest.mark.needs_shared
def test_seconds_to_frame_reproduces_every_official_frame(official):
    # the raw Label/raw/{vid}.txt hold the seconds; the CSV's frames are floor(s * 25) of them
    assert (seconds_to_frame(official["start_time"]) == official["start_frame"]).all()
    assert (seconds_to_frame(official["end_time"]) == official["end_frame"]).all()


@pytest.mark.slow
@pytest.mark.needs_shared
def test_official_csv_round_trip(official, tmp_path):
    write_official_csv(tmp_path / "labels.csv", official)
    again = read_official_csv(tmp_path / "labels.csv")
    pd.testing.assert_frame_equal(again, official)


def test_official_csv_round_trip_from_plain_index(tmp_path):
    index = tiny_index()
    write_official_csv(tmp_path / "labels.csv", index)
    again = read_official_csv(tmp_path / "labels.csv")
    pd.testing.assert_frame_equal(again[list(CLIP_INDEX_COLUMNS)], index)
    # the times written for a plain index map back to the same frames
    assert (seconds_to_frame(again["start_time"]) == index["start_frame"]).all()
    assert (seconds_to_frame(again["end_time"]) == index["end_frame"]).all()
    # saved by a spreadsheet: a BOM and CRLF line ends
    text = (tmp_path / "labels.csv").read_text()
    (tmp_path / "excel.csv").write_bytes(("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"))
    pd.testing.assert_frame_equal(read_official_csv(tmp_path / "excel.csv"), again)


def test_label_csv_round_trip(tmp_path):
    clips = [(99, 0, 9), (5, 10, 30), (31, 12, 12)]
    path = tmp_path / "0007" / "7_label.csv"
    write_label_csv(path, clips)
    assert path.read_text() == "99,0,9\n5,10,30\n31,12,12\n"
    index = read_label_csv(path)
    assert list(index.columns) == list(CLIP_INDEX_COLUMNS)
    assert index["sample_id"].tolist() == ["0007_0", "0007_1", "0007_2"]
    assert index["label"].tolist() == [31, 4, 30]
    assert (index["subject"] == -1).all() and (index["split"] == "").all()
    write_label_csv(tmp_path / "again_label.csv", index)
    assert (tmp_path / "again_label.csv").read_text() == path.read_text()


def test_label_csv_video_id_padded_or_given(tmp_path):
    write_label_csv(tmp_path / "0042_label.csv", [(1, 0, 5)])
    assert read_label_csv(tmp_path / "0042_label.csv")["video"].item() == 42
    write_label_csv(tmp_path / "clips.csv", [(1, 0, 5)])
    assert read_label_csv(tmp_path / "clips.csv", video=3)["sample_id"].item() == "0003_0"
    with pytest.raises(AnnotationFileError, match="cannot tell the video id"):
        read_label_csv(tmp_path / "clips.csv")


def test_raw_label_txt_round_trip(tmp_path):
    index = tiny_index()
    one = index[index["video"] == 5].reset_index(drop=True)
    write_raw_label_txt(tmp_path / "5.txt", one)
    again = read_raw_label_txt(tmp_path / "5.txt")
    assert again[["start_frame", "end_frame", "raw_class", "label", "sample_id"]].equals(
        one[["start_frame", "end_frame", "raw_class", "label", "sample_id"]])


def test_raw_label_txt_uses_floor_of_seconds(tmp_path):
    (tmp_path / "298.txt").write_text("6.7499\t10.2819\t4\n37.8\t39.0\t99\n")
    index = read_raw_label_txt(tmp_path / "298.txt")
    assert index["start_frame"].tolist() == [168, 944]  # 37.8 * 25 = 944.99999... in float64, like the CSV
    assert index["end_frame"].tolist() == [257, 975]


# ---------------------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("reader,name", [(read_official_csv, "labels.csv"), (read_label_csv, "3_label.csv"),
                                         (read_raw_label_txt, "3.txt")])
def test_missing_file_names_it(reader, name, tmp_path):
    with pytest.raises(FileNotFoundError, match=name):
        reader(tmp_path / name)


def test_unknown_class_names_file_and_line(tmp_path):
    path = tmp_path / "3_label.csv"
    path.write_text("99,0,9\n42,10,20\n")
    with pytest.raises(UnknownClassError, match=r"3_label\.csv, line 2: unknown iMiGUE class id 42"):
        read_label_csv(path)
    with pytest.raises(UnknownClassError):
        write_label_csv(tmp_path / "x_label.csv", [(0, 1, 2)])


def test_unknown_class_in_official_csv(tmp_path):
    index = tiny_index()
    write_official_csv(tmp_path / "labels.csv", index)
    text = (tmp_path / "labels.csv").read_text().splitlines()
    parts = text[3].split(",")
    parts[6] = "77"
    text[3] = ",".join(parts)
    (tmp_path / "labels.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(UnknownClassError, match=r"labels\.csv, line 4: unknown iMiGUE class id 77"):
        read_official_csv(tmp_path / "labels.csv")


@pytest.mark.parametrize("bad_line,problem", [
    ("5,10", "expected 3 fields"),
    ("5,ten,20", "non-numeric"),
    ("5,10,20,30", "expected 3 fields"),
    ("5,30,20", "invalid frame range"),
    ("5,-1,20", "invalid frame range"),
    ("5,1.5,20", "non-numeric"),
])
def test_malformed_label_row_names_file_and_line(bad_line, problem, tmp_path):
    path = tmp_path / "3_label.csv"
    path.write_text(f"99,0,9\n99,1,2\n{bad_line}\n")
    with pytest.raises(AnnotationFileError, match=rf"3_label\.csv, line 3: .*{problem}"):
        read_label_csv(path)


def test_malformed_official_rows(tmp_path):
    write_official_csv(tmp_path / "labels.csv", tiny_index())
    lines = (tmp_path / "labels.csv").read_text().splitlines()

    def variant(i: int, new: str) -> str:
        out = list(lines)
        out[i] = new
        (tmp_path / "bad.csv").write_text("\n".join(out) + "\n")
        return str(tmp_path / "bad.csv")

    parts = lines[2].split(",")
    with pytest.raises(AnnotationFileError, match=r"bad\.csv, line 3: column 'start_frame' must be an integer"):
        read_official_csv(variant(2, ",".join(parts[:3] + ["abc"] + parts[4:])))
    with pytest.raises(AnnotationFileError, match=r"bad\.csv.*(line 3|malformed)"):
        read_official_csv(variant(2, ",".join(parts[:5])))
    with pytest.raises(AnnotationFileError, match=r"missing column\(s\) \['class'\]"):
        read_official_csv(variant(0, lines[0].replace("class", "klass")))
    with pytest.raises(AnnotationFileError, match=r"line 3: duplicate clip"):
        read_official_csv(variant(2, lines[1]))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(AnnotationFileError, match=r"empty\.csv: empty file"):
        read_official_csv(tmp_path / "empty.csv")


def test_empty_label_csv_is_a_video_without_clips(tmp_path):
    (tmp_path / "9_label.csv").write_text("")
    index = read_label_csv(tmp_path / "9_label.csv")
    assert len(index) == 0 and list(index.columns) == list(CLIP_INDEX_COLUMNS)
    assert index["video"].dtype == np.int64
