"""Seek-friendly proxies keep every frame at its index, resize, key every ``gop`` frames, and fail clearly."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from clipmg_lib.data.video_proxy import ProxyError, ProxySpec, make_proxies, make_proxy, proxy_info, proxy_path, proxy_size
from clipmg_lib.demo.media import read_frame_codes, write_frame_coded_video

NUM_FRAMES = 40
SPEC = ProxySpec(short_side=32, gop=4, crf=10, preset="ultrafast")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A 96x64, 25 fps H.264 video with B-frames and one keyframe, frame i carrying i (a frame code)."""
    path = tmp_path_factory.mktemp("proxy_src") / "0007.mp4"
    return write_frame_coded_video(path, NUM_FRAMES, height=64, width=96,
                                   options={"preset": "ultrafast", "crf": "5", "x264-params": "keyint=250:bframes=3"})


def decode_all(path: Path) -> tuple[list[np.ndarray], list[bool]]:
    frames, keys = [], []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
            keys.append(bool(f.key_frame))
    return frames, keys


def test_proxy_size_keeps_aspect_and_is_even():
    assert proxy_size(720, 1280, 256) == (256, 456)
    assert proxy_size(1280, 720, 256) == (456, 256)
    h, w = proxy_size(64, 96, 32)
    assert (h, w) == (32, 48) and h % 2 == 0 and w % 2 == 0


def test_proxy_keeps_every_frame_at_its_index(source, tmp_path):
    out = make_proxy(source, proxy_path(source, tmp_path, SPEC), SPEC, progress=False)
    assert out == tmp_path / SPEC.tag / "0007.mp4"
    frames, keys = decode_all(out)
    assert len(frames) == NUM_FRAMES
    assert frames[0].shape == (32, 48, 3)
    assert read_frame_codes(np.stack(frames)).tolist() == list(range(NUM_FRAMES))
    assert [i for i, k in enumerate(keys) if k] == list(range(0, NUM_FRAMES, SPEC.gop))
    info = proxy_info(out)
    assert (info["source_height"], info["source_width"], info["num_frames"], info["fps"]) == (64, 96, NUM_FRAMES, 25.0)
    assert info["spec"]["gop"] == SPEC.gop


def test_proxy_is_not_rebuilt_and_batch_skips_done(source, tmp_path):
    first = make_proxy(source, tmp_path / "p.mp4", SPEC, progress=False)
    stamp = first.stat().st_mtime_ns
    assert make_proxy(source, tmp_path / "p.mp4", SPEC, progress=False).stat().st_mtime_ns == stamp
    done = make_proxies([source], tmp_path / "root", SPEC, progress=False)
    stamp = done[0].stat().st_mtime_ns
    assert make_proxies([source], tmp_path / "root", SPEC, progress=False)[0].stat().st_mtime_ns == stamp


def test_missing_and_corrupt_sources_name_the_file_and_leave_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.mp4"):
        make_proxy(tmp_path / "nothere.mp4", tmp_path / "out" / "a.mp4", SPEC, progress=False)
    bad = tmp_path / "0009.mp4"
    bad.write_bytes(b"\x00\x01 not a video at all" * 10)
    with pytest.raises(ProxyError, match="0009.mp4"):
        make_proxy(bad, tmp_path / "out" / "b.mp4", SPEC, progress=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_proxy_info_refuses_a_plain_video(source):
    with pytest.raises(ProxyError, match="not a proxy"):
        proxy_info(source)
