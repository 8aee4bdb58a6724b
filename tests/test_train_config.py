"""Every training setting is checked on construction: the CLI's ``--set`` fails before any work, naming it."""
from __future__ import annotations

import pandas as pd
import pytest

from clipmg_lib.runs.train import main as train_main
from clipmg_lib.core.config import ConfigError
from clipmg_lib.train.config import load_train_config

from data_fixtures import make_tiny_imigue


@pytest.mark.parametrize("override, message", [
    ({"lr": "abc"}, "TrainConfig.lr must be a number, got 'abc' (str)"),
    ({"epochs": 2.7}, "TrainConfig.epochs must be an integer, got 2.7 (float)"),
    ({"seed": "x"}, "TrainConfig.seed must be an integer, got 'x' (str)"),
    ({"lr": 0}, "TrainConfig.lr must be > 0, got 0.0"),
    ({"label_smoothing": 1.0}, "TrainConfig.label_smoothing must be in [0, 1), got 1.0"),
    ({"batch_size": 0}, "TrainConfig.batch_size must be >= 1, got 0"),
    ({"pose_augment": 1}, "TrainConfig.pose_augment must be true or false, got 1 (int)"),
    ({"model_overrides": "rgb_only"}, "TrainConfig.model_overrides must be a JSON object"),
    ({"on_bad_data": "drop"}, "TrainConfig.on_bad_data must be one of ('error', 'skip'), got 'drop'"),
])
def test_wrong_type_or_range_names_the_setting(override, message):
    with pytest.raises(ConfigError) as err:
        load_train_config("tiny_demo", **override)
    assert message in str(err.value)


def test_integral_floats_are_integers_and_ints_are_floats():
    cfg = load_train_config("tiny_demo", epochs=3.0, lr=1)
    assert cfg.epochs == 3 and isinstance(cfg.epochs, int) and isinstance(cfg.lr, float)
    assert load_train_config("tiny_demo", on_bad_data="skip").on_bad_data == "skip"


def test_cli_set_fails_before_any_work(tmp_path, capsys):
    out = tmp_path / "run"
    assert train_main(["--dataset-root", str(tmp_path / "nowhere"), "--out", str(out), "--set", "lr=abc"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "tiny_demo.json with overrides: TrainConfig.lr must be a number, got 'abc' (str)" in err
    assert train_main(["--out", str(out), "--set", "on_out_of_range=skip"]) == 2
    assert "unknown field(s) ['TrainConfig.on_out_of_range']" in capsys.readouterr().err
    assert not out.exists()  # no train_config.json saying 2.7 or abc


@pytest.mark.slow
def test_bad_files_stop_the_cli_at_index_time_or_are_skipped_with_a_report(tmp_path, capsys, monkeypatch):
    layout = make_tiny_imigue(tmp_path / "root", official_csv=False)
    layout.video_path(12).write_bytes(b"garbage" * 50)           # the test video cannot be decoded
    monkeypatch.setenv("CLIPMG_CACHE_DIR", str(tmp_path / "cache"))
    args = ["--dataset-root", str(layout.root), "--out", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache"),
            "--set", "epochs=1", "--set", "batch_size=4", "--quiet"]
    assert train_main(args) == 2
    err = capsys.readouterr().err
    assert "1 bad file(s), 2 clip(s) affected" in err and "0012.mp4: undecodable video" in err
    assert "--set on_bad_data=skip" in err
    assert not (tmp_path / "cache" / "features").exists()       # nothing was cached before the error
    assert train_main(args + ["--set", "on_bad_data=skip"]) == 0
    printed = capsys.readouterr().out
    assert "[data] skipped 2 clip(s) of 1 bad file(s); kept 7" in printed
    report = pd.read_csv(tmp_path / "run" / "skipped.csv")
    assert sorted(report["sample_id"]) == ["0012_0", "0012_1"]
