"""cache_table against a small fake of prepare_caches' output, with real files on disk."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from clipmg_lib.train.cache_report import cache_table, folder_mb


class _Cache:
    def __init__(self, folder, n, views, seconds):
        self.folder, self.n, self.views, self.seconds = folder, n, views, seconds

    def __len__(self):
        return self.n

    def complete_views(self):
        return self.views

    def manifest(self):
        return {"views": {v: {"seconds": s} for v, s in zip(self.views, self.seconds)}}


def test_one_row_per_present_cache(tmp_path):
    tok = tmp_path / "tokens-abc"
    tok.mkdir()
    np.save(tok / "a.npy", np.zeros(2**18, dtype=np.float32))  # 1 MiB + header
    (tok / "ignored.json").write_text("{}")
    pose = tmp_path / "pose-def"
    pose.mkdir()
    caches = {"train": SimpleNamespace(tokens=_Cache(tok, 10, ["v0", "v1"], [1.5, 2.0]),
                                       pose=_Cache(pose, 10, ["v0"], [0.5])),
              "test": SimpleNamespace(tokens=None, pose=_Cache(pose, 4, ["uniform"], [0.25]))}
    t = cache_table(caches)
    assert list(t.columns) == ["split", "cache", "clips", "views", "MB", "folder", "build s"]
    assert t[["split", "cache"]].values.tolist() == [["train", "tokens"], ["train", "pose"], ["test", "pose"]]
    row = t.iloc[0]
    assert row["views"] == "v0, v1" and row["MB"] == 1.0 and row["folder"] == "tokens-abc" and row["build s"] == 3.5
    assert folder_mb(tok) > 1.0 and folder_mb(pose) == 0
