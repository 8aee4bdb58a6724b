"""The memory-mapped skeleton store: conversion (atomic, resumable) and datasets reading it."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from clipmg_lib.data.clip_index import build_clip_index
from clipmg_lib.data.dataset import ClipDataset
from clipmg_lib.data.skeleton_store import SkeletonStore, convert_skeletons, store_dir
from clipmg_lib.demo.full_size import generate_full_size


@pytest.fixture(scope="module")
def sim_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("full_size") / "root"
    # 3 real-length videos of the statistical copy, one also as xlsx: small enough for the unit tests
    from clipmg_lib.demo.full_size import plan_from_statistics
    _, videos = plan_from_statistics(0)
    short = [v.video for v in sorted(videos, key=lambda v: v.num_frames)[:3]]
    generate_full_size(root, source="statistics", only_videos=short, xlsx=0, json_videos=0, workers=1,
                       progress=False)
    return root


def _snapshot(root):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def test_conversion_is_outside_the_root_and_resumes(sim_root, tmp_path):
    before = _snapshot(sim_root)
    out = tmp_path / "store"
    r = convert_skeletons(sim_root, out, progress=False)
    assert r["converted"] == 3 and r["skipped"] == 0
    assert _snapshot(sim_root) == before  # the root is read-only to the kit
    assert str(store_dir(sim_root)).startswith(os.environ["CLIPMG_CACHE_DIR"])
    again = convert_skeletons(sim_root, out, progress=False)
    assert again["converted"] == 0 and again["skipped"] == 3
    # an interrupted conversion: the meta of one video is missing (written last) -> only it is redone
    victim = sorted(out.glob("*.json"))[0]
    victim.unlink()
    assert convert_skeletons(sim_root, out, progress=False)["converted"] == 1
    assert not list(out.glob("*.tmp*")) and not list(out.glob(".*"))  # no temp files left behind


def test_a_changed_source_is_converted_again(sim_root, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(sim_root, root)
    out = tmp_path / "store"
    convert_skeletons(root, out, progress=False)
    csv = sorted(root.rglob("*_light_hand.csv"))[0]
    text = csv.read_text().splitlines()
    csv.write_text("\n".join(text[:-5]) + "\n")  # a shorter file: size and mtime change
    r = convert_skeletons(root, out, progress=False)
    assert r["converted"] == 1
    vid = int(csv.parent.name)
    assert SkeletonStore(out).skeleton(vid).num_frames == len(text) - 1 - 5  # header + frames


def test_memory_mapped_dataset_gives_the_same_samples(sim_root, tmp_path):
    out = tmp_path / "store"
    convert_skeletons(sim_root, out, progress=False)
    index = build_clip_index(sim_root, progress=False)
    plain = ClipDataset(index, sim_root, load_frames=False, mode="train")
    mapped = ClipDataset(index, sim_root, load_frames=False, mode="train", skeleton_store=SkeletonStore(out))
    for i in range(0, len(index), max(1, len(index) // 25)):
        a, b = plain[i], mapped[i]
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], np.ndarray):
                np.testing.assert_array_equal(a[k], b[k])
            else:
                assert a[k] == b[k]
    sk = mapped.skeleton(int(index.video[0]))
    assert isinstance(sk.data.base, np.memmap) or isinstance(sk.data, np.memmap)
    assert sk.layout == "openpose22" and (out / f"{int(index.video[0]):04d}.openpose22.npy").is_file()
    # what a worker receives: the store, not the mapped arrays
    assert len(pickle.dumps(mapped)) < 0.1 * sk.data.nbytes
    assert pickle.loads(pickle.dumps(mapped))._skeletons == {}


def test_store_of_a_missing_folder_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="clipmg_lib.data.skeleton_store --root"):
        SkeletonStore(tmp_path / "nope")
