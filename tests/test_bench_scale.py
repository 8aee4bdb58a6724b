"""bench_scale's train step on a tiny full-size-style root: caches, one epoch, test evaluation, submission."""
from __future__ import annotations

import json

import pytest

from clipmg_lib.data.clip_index import build_clip_index
from clipmg_lib.demo.full_size import generate_full_size

#: one video per split of the statistical copy, among the shortest (8 train, 15 val, 4 test clips)
VIDEOS = {"train": 193, "val": 9, "test": 395}


@pytest.fixture(scope="module")
def tiny_full_size(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale") / "root"
    generate_full_size(root, source="statistics", only_videos=list(VIDEOS.values()), xlsx=0, json_videos=0,
                       videos="tiny", workers=1, progress=False)
    return root


@pytest.mark.slow  # two child processes with torch and forkserver workers: 60-80 s wall on 2 shared cores
@pytest.mark.timeout(300)
def test_train_step_measures_caches_epoch_evaluation_and_submission(tiny_full_size, monkeypatch):
    from bench import bench_scale
    from bench.common import OUT_DIR

    root = tiny_full_size
    index = build_clip_index(root, progress=False)
    counts = index.split.value_counts().to_dict()
    assert counts == {"train": 8, "val": 15, "test": 4}
    assert bench_scale.main(["--root", str(root), "--steps", "train", "--train-set", "train_views=2",
                             "--timeout", "200"]) == 0
    res = json.loads((OUT_DIR / "bench_scale.json").read_text())
    cache, run = res["train_cache"], res["train_run"]
    assert cache["rc"] == 0 and run["rc"] == 0, (cache, run)
    assert cache["overrides"] == {**bench_scale.TRAIN_OVERRIDES, "train_views": 2}
    # train: random0, random1; val and test: uniform (tiny_demo's eval_views=1)
    assert cache["clip_views"] == 2 * 8 + 15 + 4
    assert cache["store_gb"] > 0 and cache["peak_sum_pss_gb"] > 0 and cache["wall_seconds"] > 0
    for split, n in counts.items():
        s = cache["splits"][split]
        assert s["tokens"]["manifest_entries"] == n and s["pose"]["manifest_entries"] == n
        assert all(v["shards"] == 1 and v["clip_views"] == n for v in s["tokens"]["views"].values())
        assert s["tokens"]["bytes"] > 0
    assert run["trained_on"] == {"split": "train", "clips": 8} and run["validated_on"] == {"split": "val", "clips": 15}
    assert len(run["epochs"]) == 1 and run["epochs"][0]["seconds"] > 0
    assert run["test_eval_clips"] == 4 and run["test_eval_same_predictions"]
    assert run["submission"] == {"rows": 4, "unique_ids": 4, "ids_match_test_split": True}
    assert "submission 4 rows" in res["headline"]["text"]
