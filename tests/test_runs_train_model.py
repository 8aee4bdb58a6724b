"""End to end on the session's small demo dataset (tests/conftest.py): caches, a 2-epoch tiny run, the submission,
the ablation table."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clipmg_lib.data.export import read_submission_csv
from clipmg_lib.runs import prepare_caches, run_ablations, train_model
from clipmg_lib.runs.ablation import load_ablation_runs
from clipmg_lib.runs.train_model import create_model_for, load_index
from clipmg_lib.train import load_train_config

CFG = load_train_config("tiny_demo", epochs=2, batch_size=8, lr=3e-3, train_views=2)


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def tiny_run(small_demo, cache_root, tmp_path_factory):
    return train_model(CFG, small_demo, tmp_path_factory.mktemp("run"), cache_root, progress=False)


@pytest.mark.slow
def test_two_epochs_of_the_tiny_config_beat_chance(tiny_run):
    assert list(tiny_run.history["epoch"]) == [1, 2]
    test = tiny_run.reports["test"]
    # 32-way: uniform guessing gives 1/32 Top-1 and 5/32 Top-5
    assert test["top1"] > 2 / 32, test
    assert test["top5"] > 1.5 * 5 / 32, test
    report = json.loads((tiny_run.out_dir / "report.json").read_text())
    assert report["reports"]["test"]["top1"] == pytest.approx(test["top1"])
    assert report["switches"]["gate"] and report["switches"]["pose_guidance"]


@pytest.mark.slow
def test_submission_has_one_row_per_test_clip(tiny_run, small_demo):
    index = load_index(small_demo)
    test_ids = set(index.loc[index["split"] == "test", "sample_id"])
    submission = read_submission_csv(tiny_run.out_dir / "submission_test.csv")
    assert len(submission) == len(test_ids) and set(submission["Id"]) == test_ids
    preds = tiny_run.predictions["test"]
    by_id = dict(zip(preds.sample_ids, preds.predicted))
    assert all(by_id[i] == t for i, t in zip(submission["Id"], submission["Target"]))


@pytest.mark.slow
def test_finished_run_and_caches_are_reused(tiny_run, small_demo, cache_root, monkeypatch):
    model = create_model_for(CFG)

    def no_encoding(*args, **kwargs):
        raise AssertionError("the cache should have been reused, not recomputed")

    monkeypatch.setattr(model, "encode_frames", no_encoding)
    caches = prepare_caches(model, load_index(small_demo), CFG, small_demo, cache_root, progress=False)
    assert caches["train"].tokens.complete_views() == ["random0", "random1"]
    assert caches["test"].pose.complete_views() == ["uniform"]
    again = train_model(CFG, small_demo, tiny_run.out_dir, cache_root, progress=False)  # resumes: nothing to train
    pd.testing.assert_frame_equal(again.history, tiny_run.history)
    np.testing.assert_allclose(again.predictions["test"].logits, tiny_run.predictions["test"].logits, atol=1e-5)


@pytest.mark.slow
def test_ablation_table(small_demo, cache_root, tmp_path):
    variants = ["full", "rgb_only", "pose_only", "zero_shot"]
    table = run_ablations(CFG.replace(epochs=1), variants, small_demo, tmp_path, cache_root, progress=False)
    assert list(table["variant"]) == variants
    row = table.set_index("variant")
    assert row.loc["rgb_only", "pose"] == False and row.loc["pose_only", "rgb"] == False  # noqa: E712
    assert row.loc["zero_shot", "trained"] == False  # noqa: E712
    runs = load_ablation_runs(tmp_path).set_index("variant")
    assert pd.isna(runs.loc["zero_shot", "best_epoch"]) and runs.loc["full", "best_epoch"] == 1
    assert row[["top1", "top5", "mean_class_acc"]].notna().all().all()
    saved = pd.read_csv(tmp_path / "ablations.csv")
    assert list(saved["variant"]) == variants
    md = (tmp_path / "ablations.md").read_text()
    table_md, chart = md.split("```mermaid")
    assert table_md.strip().count("\n") == 1 + len(variants) and "| Pose guidance | Cross-attention | Gate |" in md
    assert chart.count('", "') == len(variants) - 1 and "bar [" in chart


@pytest.mark.slow
def test_ablations_in_parallel_equal_one_at_a_time(small_demo, cache_root, tmp_path):
    """Two worker processes give the table of one run after another, number for number (each run seeds
    itself and uses cpu_threads threads, wherever it runs)."""
    from clipmg_lib.runs.ablation import parallel_runs

    cfg = CFG.replace(epochs=1, cpu_threads=1)
    assert parallel_runs(cfg, 3) == min(3, len(os.sched_getaffinity(0)))
    assert parallel_runs(cfg.replace(cpu_threads=0), 3) == 1
    variants = ["full", "no_gate", "pose_only"]
    one = run_ablations(cfg, variants, small_demo, tmp_path / "one", cache_root, progress=False, parallel=1)
    two = run_ablations(cfg, variants, small_demo, tmp_path / "two", cache_root, progress=False, parallel=2)
    cols = ["variant", "top1", "top5", "mean_class_acc", "val_top1", "trainable_params"]
    pd.testing.assert_frame_equal(one[cols], two[cols])
    runs = {k: load_ablation_runs(tmp_path / k).set_index("variant") for k in ("one", "two")}
    pd.testing.assert_series_equal(runs["one"]["best_epoch"], runs["two"]["best_epoch"])
    for variant in variants:
        a, b = (runs[k].loc[variant, "run_dir"] for k in ("one", "two"))
        la = np.load(Path(a) / "predictions_test.npz")["logits"]
        np.testing.assert_array_equal(la, np.load(Path(b) / "predictions_test.npz")["logits"])


@pytest.mark.slow
def test_a_training_backbone_reads_frames_instead_of_the_cache(small_demo, tmp_path):
    cfg = CFG.replace(epochs=1, model_overrides={"backbone.trainable_blocks": 1})
    result = train_model(cfg, small_demo, tmp_path / "run", tmp_path / "cache", progress=False, evaluate_test=False)
    assert result.caches == {} and not (tmp_path / "cache" / "features").exists()
    assert result.reports["val"]["n"] == len(result.predictions["val"].labels) > 0
    saved = json.loads((tmp_path / "run" / "train_config.json").read_text())
    assert saved["input_keys"] == ["frames", "heatmap"]
    from clipmg_lib.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert any(k.startswith("backbone.visual.transformer.resblocks.2.") for k in ckpt["model"])  # the trained block
    assert not any(k.startswith("backbone.visual.transformer.resblocks.0.") for k in ckpt["model"])  # frozen ones


def test_run_name_changes_with_model_config_and_regenerated_demo(tmp_path):
    """A finished run is reused only for the same training config, model config and dataset."""
    from clipmg_lib.core.paths import DEMO_MANIFEST_NAME as MANIFEST_NAME
    from clipmg_lib.runs.naming import run_name

    cfg = load_train_config("tiny_demo")
    root = tmp_path / "demo"
    root.mkdir()
    base = run_name(cfg, root)
    assert base.startswith("clipmg_tiny-") and run_name(cfg, root) == base
    assert run_name(cfg.replace(device="cpu"), root) == base  # does not change the result
    assert run_name(cfg.replace(description="a comment, edited"), root) == base
    feats = cfg.replace(model_overrides={**cfg.model_overrides, "cross_attention.token_features": "appearance"})
    assert run_name(feats, root) != base
    (root / MANIFEST_NAME).write_text(json.dumps({"generator_version": 1, "seed": 0, "size": "default"}))
    v1 = run_name(cfg, root)
    (root / MANIFEST_NAME).write_text(json.dumps({"generator_version": 2, "seed": 0, "size": "default"}))
    assert len({base, v1, run_name(cfg, root)}) == 3
