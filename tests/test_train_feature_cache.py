"""The on-disk feature cache: keyed folders, atomic shards, resume after an interruption, no pickle."""
from __future__ import annotations

import numpy as np
import pytest

from clipmg_lib.train.feature_cache import FeatureCache, FeatureCacheError


def _compute(rows):
    r = np.arange(rows.start, rows.stop)
    return {"tokens": np.broadcast_to(r[:, None, None], (len(r), 2, 3)).astype(np.float16),
            "frame_inds": np.stack([r, r + 1], axis=1).astype(np.int64)}


def test_fill_interrupt_resume_and_read(tmp_path):
    ids = [f"{i:04d}_0" for i in range(10)]
    cache = FeatureCache(tmp_path, "tokens", {"backbone": "abc"}, ids, shard_size=4)
    assert cache.num_shards == 3 and list(cache.shard_rows(2)) == [8, 9]
    calls = []

    def flaky(rows):
        calls.append(rows.start)
        if len(calls) == 2:
            raise KeyboardInterrupt  # stopped in the middle of the second shard
        return _compute(rows)

    with pytest.raises(KeyboardInterrupt):
        cache.fill("uniform", flaky)
    assert cache.missing_shards("uniform") == [1, 2]
    assert not any(p.name.startswith(".") for p in (cache.folder / "uniform").iterdir())  # no temp file left
    with pytest.raises(FeatureCacheError, match="not complete"):
        cache.view("uniform")
    done = cache.fill("uniform", lambda rows: (calls.append(rows.start), _compute(rows))[1])
    assert done == [1, 2] and calls[-2:] == [4, 8]  # only the missing shards were computed
    cache.mark_complete("uniform", {"seconds": 1.0})

    again = FeatureCache(tmp_path, "tokens", {"backbone": "abc"}, ids, shard_size=4)  # a later session
    assert again.complete_views() == ["uniform"] and again.missing_shards("uniform") == []
    view = again.view("uniform")
    row = view[9]
    assert row["tokens"].dtype == np.float16 and (row["tokens"] == 9).all()
    np.testing.assert_array_equal(view.column("frame_inds")[:, 0], np.arange(10))


def test_key_depends_on_fields_and_clips(tmp_path):
    ids = ["a", "b"]
    base = FeatureCache(tmp_path, "tokens", {"backbone": "abc", "frames": 8}, ids)
    assert FeatureCache(tmp_path, "tokens", {"backbone": "abd", "frames": 8}, ids).folder != base.folder
    assert FeatureCache(tmp_path, "tokens", {"backbone": "abc", "frames": 16}, ids).folder != base.folder
    assert FeatureCache(tmp_path, "tokens", {"backbone": "abc", "frames": 8}, ["a", "c"]).folder != base.folder
    assert FeatureCache(tmp_path, "tokens", {"frames": 8, "backbone": "abc"}, ids).folder == base.folder


def test_bad_shard_and_corrupt_manifest_are_named(tmp_path):
    cache = FeatureCache(tmp_path, "pose", {}, ["a", "b", "c"], shard_size=2)
    with pytest.raises(ValueError, match="expected 2"):
        cache.write_shard("uniform", 0, {"x": np.zeros((3, 1))})
    with pytest.raises(TypeError, match="object"):
        cache.write_shard("uniform", 0, {"x": np.array([None, None])})
    with pytest.raises(FeatureCacheError, match="missing"):
        cache.mark_complete("uniform")
    cache.folder.mkdir(parents=True, exist_ok=True)
    cache.manifest_path.write_text("{oops")
    with pytest.raises(FeatureCacheError, match="manifest.json"):
        cache.complete_views()
