"""Proxies as a first-class path: the dataset CLI, and ClipDataset/ClipReader reading proxies frame-exactly."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from clipmg_lib.data.clip_index import build_clip_index
from clipmg_lib.data.dataset import ClipDataset
from clipmg_lib.data.decoders import VideoFileError
from clipmg_lib.data.video import ClipReader
from clipmg_lib.data.video_proxy import ProxySpec, main as proxy_main, proxy_info
from clipmg_lib.demo.media import read_frame_codes, write_frame_coded_video

from data_fixtures import TINY_VIDEOS, make_tiny_imigue

SPEC = ProxySpec(short_side=32, gop=4, crf=10, preset="ultrafast")
SPEC_ARGS = ["--short-side", "32", "--gop", "4", "--crf", "10", "--preset", "ultrafast"]


@pytest.fixture(scope="module")
def tiny_with_proxies(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_imigue")
    layout = make_tiny_imigue(root)
    out = tmp_path_factory.mktemp("proxies")
    assert proxy_main(["--root", str(root), "--out", str(out), *SPEC_ARGS]) == 0
    return layout, build_clip_index(root, progress=False), out


def test_default_backend_is_pyav():
    assert ClipReader().backend == "pyav"


def test_cli_builds_every_video_of_a_root_and_resumes(tiny_with_proxies, capsys):
    layout, _, out = tiny_with_proxies
    made = sorted(p.name for p in (out / SPEC.tag).glob("*.mp4"))
    assert made == [f"{v:04d}.mp4" for v in sorted(TINY_VIDEOS)]
    assert not list((out / SPEC.tag).glob("*.tmp*"))  # atomic writes leave no temp files
    stamps = {p: p.stat().st_mtime_ns for p in (out / SPEC.tag).glob("*.mp4")}
    assert proxy_main(["--root", str(layout.root), "--out", str(out), *SPEC_ARGS]) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # finished proxies are not rebuilt
    assert "3 of 3 proxies" in capsys.readouterr().out
    assert proxy_info(out / SPEC.tag / "0005.mp4")["source_width"] == 64


def test_dataset_reads_proxies_on_the_same_frames_with_the_source_img_shape(tiny_with_proxies):
    layout, index, out = tiny_with_proxies
    plain = ClipDataset(index, layout.root, num_frames=6, image_size=32, mode="train", seed=1)
    proxied = ClipDataset(index, layout.root, num_frames=6, image_size=32, mode="train", seed=1,
                          proxy_root=out, proxy_spec=SPEC)
    for i in range(len(index)):
        a, b = plain[i], proxied[i]
        assert proxied.reader.is_proxy(a["video"]) and not plain.reader.is_proxy(a["video"])
        assert np.array_equal(a["frame_inds"], b["frame_inds"])
        assert read_frame_codes(b["imgs"]).tolist() == b["frame_inds"].tolist()
        assert b["imgs"].shape == a["imgs"].shape == (6, 32, 32, 3)
        assert b["img_shape"] == a["img_shape"] == (48, 64)  # the source's, not the proxy's 32x42
        assert np.array_equal(a["keypoint"], b["keypoint"])
    assert proxied.reader.frame_shape(5) == (32, 42) and "proxy_root" in repr(proxied)


def test_proxies_without_the_originals_and_mixed_folders(tiny_with_proxies, tmp_path):
    layout, index, out = tiny_with_proxies
    bare = make_tiny_imigue(tmp_path / "bare", videos=False)  # skeletons and labels only
    partial = tmp_path / "partial" / SPEC.tag
    partial.mkdir(parents=True)
    shutil.copy(out / SPEC.tag / "0005.mp4", partial / "0005.mp4")  # 0001 and 0012 have no proxy
    ds = ClipDataset(index, bare.root, num_frames=4, image_size=None, proxy_root=tmp_path / "partial",
                     proxy_spec=SPEC)
    rows = np.flatnonzero(index["video"].to_numpy() == 5)
    s = ds[int(rows[0])]
    assert read_frame_codes(s["imgs"]).tolist() == s["frame_inds"].tolist() and s["img_shape"] == (48, 64)
    with pytest.raises(FileNotFoundError, match="RGB video of video 1 not found"):
        ds[int(np.flatnonzero(index["video"].to_numpy() == 1)[0])]
    mixed = ClipDataset(index, layout.root, num_frames=4, image_size=None, proxy_root=tmp_path / "partial",
                        proxy_spec=SPEC)
    assert mixed.reader.is_proxy(5) and not mixed.reader.is_proxy(1)
    assert mixed[int(rows[0])]["imgs"].shape[1:] == (32, 42, 3)  # native size of the proxy read


def test_bad_proxy_roots_name_the_problem(tiny_with_proxies, tmp_path):
    layout, index, _ = tiny_with_proxies
    with pytest.raises(FileNotFoundError, match="proxy folder not found"):
        ClipDataset(index, layout.root, proxy_root=tmp_path / "nowhere")
    fake = tmp_path / "fake" / SPEC.tag / "0005.mp4"
    write_frame_coded_video(fake, 10)  # an mp4 that is not a proxy (no metadata)
    reader = ClipReader(layout, size=None, proxy_root=tmp_path / "fake", proxy_spec=SPEC)
    with pytest.raises(VideoFileError, match=r"0005\.mp4: under proxy_root but not a clipmg_lib proxy"):
        reader.read(5, [0])


def test_cli_reports_a_corrupt_video_and_makes_the_others(tmp_path, capsys):
    layout = make_tiny_imigue(tmp_path / "root")
    layout.video_path(12).write_bytes(b"not a video" * 20)
    assert proxy_main(["--root", str(layout.root), "--out", str(tmp_path / "p"), *SPEC_ARGS]) == 1
    assert sorted(p.name for p in (tmp_path / "p" / SPEC.tag).glob("*.mp4")) == ["0001.mp4", "0005.mp4"]
    assert "0012.mp4" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        proxy_main(["--out", str(tmp_path / "p")])
