"""build_split_caches builds all views of a clip from one read, with the same arrays as one pass per view."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from clipmg_lib.data.clip_index import build_clip_index
from clipmg_lib.data.dataset import ClipDataset
from clipmg_lib.model.factory import create_model
from clipmg_lib.train.features import build_split_caches, view_names
from clipmg_lib.demo.media import read_frame_codes

from data_fixtures import make_tiny_imigue

VIEWS = view_names(3)  # uniform, random0..random2

pytestmark = pytest.mark.slow  # tokens of every view of the tiny dataset: 5-60 s per test on 2 cores


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_imigue")
    make_tiny_imigue(root)
    index = build_clip_index(root, progress=False)
    torch.manual_seed(0)
    model = create_model("clipmg_tiny", pretrained=None).eval()
    return root, index, model


def _arrays(caches, view):
    out = {"tokens": caches.tokens.view(view).column("tokens")}
    for key in ("frame_inds", "keypoint", "keypoint_score", "img_shape"):
        out[key] = caches.pose.view(view).column(key)
    out["token_frame_inds"] = caches.tokens.view(view).column("frame_inds")
    return out


def test_one_pass_equals_one_pass_per_view(setup, tmp_path, monkeypatch):
    root, index, model = setup
    from clipmg_lib.data.video import ClipReader

    reads = []
    original = ClipReader.read
    monkeypatch.setattr(ClipReader, "read", lambda self, v, inds, *a, **k: (reads.append(len(inds)),
                                                                            original(self, v, inds, *a, **k))[1])
    together = build_split_caches(model, index, root, VIEWS, tmp_path / "together", seed=5, batch_size=4,
                                  progress=False)
    assert len(reads) == len(index) and set(reads) == {8 * len(VIEWS)}  # one read per clip, all views in it
    reads.clear()
    for v in VIEWS:  # the per-view path: one build (one read per clip) for each view
        separate = build_split_caches(model, index, root, [v], tmp_path / "separate", seed=5, batch_size=4,
                                      progress=False)
    assert len(reads) == len(index) * len(VIEWS)
    assert separate.tokens.folder.name == together.tokens.folder.name  # same keys: old caches stay valid
    for v in VIEWS:
        a, b = _arrays(together, v), _arrays(separate, v)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{v}/{key}")
        np.testing.assert_array_equal(a["frame_inds"], a["token_frame_inds"])


def test_views_are_the_clip_dataset_samplings(setup, tmp_path):
    root, index, model = setup
    caches = build_split_caches(model, index, root, VIEWS, tmp_path, seed=5, batch_size=4, progress=False,
                                need_tokens=False)
    assert caches.tokens is None
    for v in VIEWS:
        ds = ClipDataset(index, root, mode="eval" if v == "uniform" else "train", seed=5, image_size=16)
        if v != "uniform":
            ds.set_epoch(int(v[len("random"):]))
        inds = caches.pose.view(v).column("frame_inds")
        for i in range(len(ds)):
            s = ds[i]
            np.testing.assert_array_equal(inds[i], s["frame_inds"])
            assert read_frame_codes(s["imgs"]).tolist() == inds[i].tolist()
    assert len({caches.pose.view(v).column("frame_inds").tobytes() for v in VIEWS}) == len(VIEWS)


def test_only_missing_views_are_built(setup, tmp_path, monkeypatch):
    root, index, model = setup
    first = build_split_caches(model, index, root, ["uniform"], tmp_path, batch_size=4, progress=False)
    stamp = (first.tokens.folder / "uniform" / "tokens-00000.npy").stat().st_mtime_ns
    encoded = []
    original = model.encode_frames
    monkeypatch.setattr(model, "encode_frames", lambda x: (encoded.append(x.shape[0]), original(x))[1])
    both = build_split_caches(model, index, root, ["uniform", "random0"], tmp_path, batch_size=4, progress=False)
    assert sum(encoded) == len(index)  # random0 only
    assert (both.tokens.folder / "uniform" / "tokens-00000.npy").stat().st_mtime_ns == stamp
    assert both.tokens.complete_views() == ["random0", "uniform"]
    with pytest.raises(ValueError, match="unknown view 'middle'"):
        build_split_caches(model, index, root, ["middle"], tmp_path, progress=False)


def test_decoder_and_proxies_are_part_of_the_token_cache_key(setup, tmp_path):
    """Frames from another decoder or from proxies differ slightly: they must not reuse cached tokens."""
    root, index, model = setup
    part = index.iloc[:2]
    kw = dict(seed=5, batch_size=4, progress=False, need_pose=False)
    pyav = build_split_caches(model, part, root, ["uniform"], tmp_path, **kw)
    again = build_split_caches(model, part, root, ["uniform"], tmp_path, video_backend="pyav", **kw)
    decord = build_split_caches(model, part, root, ["uniform"], tmp_path, video_backend="decord", **kw)
    (tmp_path / "proxies").mkdir()  # none built yet: the originals are read, under the proxy key
    proxied = build_split_caches(model, part, root, ["uniform"], tmp_path, proxy_root=tmp_path / "proxies", **kw)
    assert again.tokens.folder == pyav.tokens.folder
    assert len({pyav.tokens.folder, decord.tokens.folder, proxied.tokens.folder}) == 3
