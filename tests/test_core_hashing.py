"""The one content hash: canonical JSON -> SHA-256, and the cache keys of earlier versions stay the same."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from clipmg_lib.core.hashing import canonical_json, content_hash
from clipmg_lib.train.feature_cache import FeatureCache

OBJ = {"format": 1, "kind": "tokens", "sample_ids": ["a", "b"], "shard_size": 256,
       "fields": {"views": ["uniform", "random0"], "root": Path("/data/x"), "model": "clipmg_tiny"}}


def test_content_hash_is_sha256_of_sorted_json_with_str_fallback():
    text = json.dumps(OBJ, sort_keys=True, default=str)
    assert canonical_json(OBJ) == text
    assert content_hash(OBJ) == hashlib.sha256(text.encode()).hexdigest()
    assert content_hash(OBJ, 8) == content_hash(OBJ)[:8]
    reordered = {k: OBJ[k] for k in reversed(list(OBJ))}
    assert content_hash(reordered) == content_hash(OBJ)
    assert content_hash({**OBJ, "shard_size": 257}) != content_hash(OBJ)


def test_keys_written_by_earlier_versions_are_unchanged(tmp_path):
    # values computed with the kit before content_hash existed (train.feature_cache.stable_hash, same object),
    # so every cache folder and run name on a user's disk is still found
    assert content_hash(OBJ, 16) == "8c70bbacc63ed060"
    assert content_hash(OBJ, 8) == "8c70bbac"
    cache = FeatureCache(tmp_path, "tokens", {"model": "clipmg_tiny", "root": Path("/data/x")}, ["0001_0", "0002_1"])
    assert cache.key == "6d682d96edfaa549" and cache.folder == tmp_path / "tokens-6d682d96edfaa549"
