"""TrainConfig.skeletons='store': the training/eval datasets read memory-mapped skeletons, with the same samples."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from clipmg_lib.core.config import ConfigError
from clipmg_lib.data.clip_index import build_clip_index
from clipmg_lib.data.skeleton_store import SkeletonStore, store_dir
from clipmg_lib.runs.naming import run_name
from clipmg_lib.runs.train_model import (create_model_for, frame_dataset, make_dataset, prepare_caches,
                                         run_pipelines, skeleton_store_for)
from clipmg_lib.train.config import load_train_config
from clipmg_lib.train.features import _ClipViews, _dataset

from data_fixtures import TINY_VIDEOS, make_tiny_imigue

MEMORY = {"model_overrides": {"inputs.heatmap.size": 16}, "train_views": 2}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_store") / "root"
    make_tiny_imigue(root)
    config = load_train_config("tiny_demo", MEMORY)
    return root, build_clip_index(root, progress=False), config, create_model_for(config).eval()


def _snapshot(root):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def _assert_same(a: dict, b: dict, where: str) -> None:
    assert a.keys() == b.keys(), where
    for k in a:
        if isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), f"{where}: {k}"
        else:
            assert a[k] == b[k], f"{where}: {k}"


def test_cached_samples_are_identical_with_and_without_the_store(tiny, tmp_path):
    root, index, memory, model = tiny
    store = memory.replace(skeletons="store")
    before = _snapshot(root)
    caches = {c.skeletons: prepare_caches(model, index, c, root, tmp_path / c.skeletons, progress=False)
              for c in (memory, store)}
    assert _snapshot(root) == before  # nothing written into the root
    folder = store_dir(root, tmp_path / "store")
    assert sorted(p.name for p in folder.glob("*.npy") if p.name.count(".") == 1) == \
        [f"{v:04d}.npy" for v in sorted(TINY_VIDEOS)]  # converted under the cache dir, one file per video
    assert len(list(folder.glob("*.openpose22.npy"))) == len(TINY_VIDEOS)  # the builder read them from the store
    assert not store_dir(root, tmp_path / "memory").exists()  # the default converts nothing
    for split in caches["memory"]:
        a, b = caches["memory"][split], caches["store"][split]
        assert a.pose.folder.name == b.pose.folder.name and a.tokens.folder.name == b.tokens.folder.name
        for train in ((True,) if split == memory.train_split else (False,)):
            ds_a, ds_b = (make_dataset(c[split], model, memory, train=train) for c in (caches["memory"], caches["store"]))
            for epoch in (0, 1):
                ds_a.set_epoch(epoch), ds_b.set_epoch(epoch)
                for i in range(len(ds_a)):
                    _assert_same(ds_a[i], ds_b[i], f"{split} train={train} epoch {epoch} clip {i}")
    assert set(caches["store"]) == {"train", "val", "test"} and "heatmap" in ds_a[0] and "tokens" in ds_a[0]


def test_frame_dataset_and_cache_builder_send_workers_the_store_not_arrays(tiny, tmp_path):
    root, index, memory, model = tiny
    store = skeleton_store_for(memory.replace(skeletons="store"), index, root, tmp_path, progress=False)
    assert isinstance(store, SkeletonStore) and str(store.dir).startswith(str(tmp_path))
    assert skeleton_store_for(memory, index, root, tmp_path) is None
    train = index[index.split == "train"].reset_index(drop=True)
    plain = frame_dataset(train, model, memory, root, train=True)
    mapped = frame_dataset(train, model, memory, root, train=True, skeleton_store=store)
    for i in range(len(train)):
        _assert_same(plain[i], mapped[i], f"frame dataset clip {i}")
    held = sum(sk.data.nbytes for sk in plain.clips._skeletons.values())
    assert held > 0 and all(isinstance(sk.data, np.memmap) or isinstance(sk.data.base, np.memmap)
                            for sk in mapped.clips._skeletons.values())  # one parsed, one mapped
    sent = pickle.loads(pickle.dumps(mapped))  # what a forkserver/spawn worker receives
    assert sent.clips._skeletons == {} and sent.clips.skeleton_store.dir == store.dir
    assert len(pickle.dumps(mapped)) < len(pickle.dumps(plain)) - 0.9 * held
    _assert_same(sent[0], plain[0], "frame dataset in a worker")
    # the cache builder's per-clip dataset (its DataLoader workers get _ClipViews)
    ds = _ClipViews(_dataset(train, root, run_pipelines(model), 112, 0, "dataset", skeleton_store=store),
                    ["uniform"], [])
    ds[0]
    assert ds.ds._skeletons and pickle.loads(pickle.dumps(ds)).ds._skeletons == {}


def test_store_option_is_checked_and_does_not_rename_runs(tiny):
    root, _, memory, _ = tiny
    assert memory.skeletons == "memory"  # the default: today's behaviour
    assert run_name(memory, root) == run_name(memory.replace(skeletons="store"), root)
    with pytest.raises(ConfigError, match="skeleton_source='dataset'"):
        memory.replace(skeletons="store", skeleton_source="mediapipe")
    with pytest.raises(ConfigError, match="skeletons"):
        memory.replace(skeletons="mmap")
    assert os.environ["CLIPMG_CACHE_DIR"]  # the suite's sandbox: default stores never land in data/cache
