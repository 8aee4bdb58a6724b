"""The run record: written atomically by 06, read by 07/08; clear errors naming the file."""
from __future__ import annotations

import json

import pytest

from clipmg_lib.runs.run_record import (RUN_RECORD_NAME, RunRecordError, read_run_record, resolve_run_dir,
                                        write_run_record)
from clipmg_lib.train.config import load_train_config


def test_round_trip_gives_the_same_config(tmp_path):
    cfg = load_train_config("tiny_demo", epochs=3, seed=7, device="cpu")
    run = tmp_path / "train" / "run-1"
    run.mkdir(parents=True)
    written = write_run_record(tmp_path, run, cfg, tmp_path / "data")
    assert sorted(p.name for p in tmp_path.iterdir()) == [RUN_RECORD_NAME, "train"]  # no temporary file left
    back = read_run_record(tmp_path)
    assert back == written and back.train_config == cfg
    assert back.run_dir == run.resolve() and json.loads((tmp_path / RUN_RECORD_NAME).read_text())["run_dir"] == str(run.resolve())


def test_missing_or_broken_record_names_the_file(tmp_path):
    with pytest.raises(RunRecordError, match=f"{RUN_RECORD_NAME}: no run record here; run notebook 06"):
        read_run_record(tmp_path)
    (tmp_path / RUN_RECORD_NAME).write_text('{"run_dir": "x"}')
    with pytest.raises(RunRecordError, match="not a run record"):
        read_run_record(tmp_path)


def test_resolve_run_dir_needs_a_trained_run(tmp_path):
    cfg = load_train_config("tiny_demo")
    run = tmp_path / "run"
    run.mkdir()
    write_run_record(tmp_path, run, cfg, tmp_path)
    with pytest.raises(RunRecordError, match="no best.pt"):
        resolve_run_dir(tmp_path)
    (run / "best.pt").write_bytes(b"")
    assert resolve_run_dir(tmp_path) == run.resolve()
    other = tmp_path / "other"
    other.mkdir()
    (other / "best.pt").write_bytes(b"")
    assert resolve_run_dir(tmp_path / "nowhere", other) == other  # an explicit run folder needs no record
