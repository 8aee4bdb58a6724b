"""The one H.264 writer and the one frame-coded test video: frames come back at their index, writes are atomic."""
from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from clipmg_lib.data.video_writer import fixed_gop_options, write_h264
from clipmg_lib.demo.media import draw_frame_code, read_frame_codes, write_frame_coded_video


def decode(path) -> tuple[np.ndarray, list[bool]]:
    with av.open(str(path)) as c:
        frames = [(f.to_ndarray(format="rgb24"), bool(f.key_frame)) for f in c.decode(video=0)]
    return np.stack([f for f, _ in frames]), [k for _, k in frames]


def test_frame_coded_video_survives_resize_and_centre_crop(tmp_path):
    path = write_frame_coded_video(tmp_path / "sub" / "coded.mp4", 40)
    frames, _ = decode(path)
    assert frames.shape == (40, 48, 64, 3)
    assert read_frame_codes(frames).tolist() == list(range(40))
    small = np.stack([cv2.resize(f, (16, 16), interpolation=cv2.INTER_AREA) for f in frames])
    assert read_frame_codes(small).tolist() == list(range(40))
    assert read_frame_codes(frames[:, :, 16:48]).tolist() == list(range(40))  # sides cut away
    assert int(read_frame_codes(frames[7])) == 7


def test_code_in_a_strip_over_a_background(tmp_path):
    ramp = np.linspace(40, 200, 96).astype(np.uint8)
    photo = np.repeat(np.repeat(ramp[None, :, None], 64, axis=0), 3, axis=2)  # a smooth gray ramp
    path = write_frame_coded_video(tmp_path / "bg.mp4", 30, 64, 96, bits=16, strip=1 / 5,
                                   background=lambda i: photo.copy(), options=fixed_gop_options(10, crf=10))
    frames, keys = decode(path)
    assert read_frame_codes(frames, bits=16).tolist() == list(range(30))
    assert [i for i, k in enumerate(keys) if k] == [0, 10, 20]                # a keyframe exactly every gop
    assert np.abs(frames[:, :, :10].astype(int) - photo[:, :10]).mean() < 4  # the background is outside the strip


def test_an_index_that_does_not_fit_the_code_is_refused():
    frame = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="does not fit in a 8-bit"):
        draw_frame_code(frame, 256)


def test_writer_checks_sizes_and_leaves_no_file_when_frames_fail(tmp_path):
    with pytest.raises(ValueError, match=r"odd\.mp4: H\.264 \(yuv420p\) needs even frame sizes"):
        write_h264(tmp_path / "odd.mp4", [], width=63, height=48, fps=25)

    def frames():
        yield np.zeros((48, 64, 3), np.uint8)
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        write_h264(tmp_path / "broken.mp4", frames(), width=64, height=48, fps=25)
    assert list(tmp_path.iterdir()) == []


def test_writer_counts_frames_and_writes_metadata_and_yuv_input(tmp_path):
    yuv = [np.full((72, 64), 16 + 8 * i, np.uint8) for i in range(5)]  # I420: (H * 3 / 2, W)
    n = write_h264(tmp_path / "y.mp4", yuv, width=64, height=48, fps=25, frame_format="yuv420p",
                   metadata={"comment": "hello"}, container_options={"movflags": "faststart"}, threads=1)
    assert n == 5
    with av.open(str(tmp_path / "y.mp4")) as c:
        assert c.metadata.get("comment") == "hello" and c.streams.video[0].frames == 5
