"""Frame sampling and ClipReader: the RIGHT frames come back (barcoded test video), at the end too."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from clipmg_lib.data.decoders import BACKENDS, VideoFileError
from clipmg_lib.data.frame_sampling import sample_frame_indices
from clipmg_lib.data.video import ClipReader
from clipmg_lib.demo.media import read_frame_codes, write_frame_coded_video

from data_fixtures import make_tiny_imigue

NUM_FRAMES = 100


@pytest.fixture(scope="module")
def bar_video(tmp_path_factory):
    return write_frame_coded_video(tmp_path_factory.mktemp("video") / "bars.mp4", NUM_FRAMES, gop=25)


# ------------------------------------------------------------------------------------------ sampling

@pytest.mark.parametrize("start,end,t", [(0, 79, 8), (10, 12, 8), (5, 5, 4), (100, 1000, 8), (3, 10, 8), (0, 6, 7)])
def test_uniform_sampling_takes_segment_centres(start, end, t):
    inds = sample_frame_indices(start, end, t, "uniform")
    length = end - start + 1
    assert inds.dtype == np.int64 and inds.shape == (t,)
    assert inds.min() >= start and inds.max() <= end and (np.diff(inds) >= 0).all()
    expected = start + np.floor((np.arange(t) + 0.5) * length / t).astype(int)
    assert (inds == expected).all()
    if length >= t:
        assert len(np.unique(inds)) == t  # no repeats when the clip is long enough


def test_uniform_sampling_known_values():
    assert sample_frame_indices(0, 79, 8).tolist() == [5, 15, 25, 35, 45, 55, 65, 75]
    assert sample_frame_indices(10, 12, 8).tolist() == [10, 10, 10, 11, 11, 12, 12, 12]  # short clip repeats


def test_random_sampling_one_frame_per_segment_and_seedable():
    start, end, t = 100, 179, 8
    draws = np.stack([sample_frame_indices(start, end, t, "random", rng=s) for s in range(200)])
    seg = (draws - start) // 10  # 80 frames / 8 segments = 10 frames each
    assert (seg == np.arange(t)).all()
    assert len(np.unique(draws[:, 0])) == 10  # every frame of a segment gets drawn
    assert (sample_frame_indices(start, end, t, "random", rng=7) == sample_frame_indices(start, end, t, "random", rng=7)).all()
    assert (draws.min() >= start) and (draws.max() <= end)
    short = np.stack([sample_frame_indices(4, 6, 8, "random", rng=s) for s in range(50)])
    assert short.min() >= 4 and short.max() <= 6 and (np.diff(short, axis=1) >= 0).all()
    gen = np.random.default_rng(0)
    assert sample_frame_indices(0, 9, 3, "random", rng=gen).shape == (3,)


def test_sampling_bad_arguments():
    with pytest.raises(ValueError, match="invalid clip range"):
        sample_frame_indices(10, 5, 8)
    with pytest.raises(ValueError, match="num_frames"):
        sample_frame_indices(0, 5, 0)
    with pytest.raises(ValueError, match="unknown sampling mode"):
        sample_frame_indices(0, 5, 2, "dense")


# ------------------------------------------------------------------------------------------- reading

@pytest.mark.parametrize("backend", BACKENDS)
def test_reader_returns_the_requested_frames(bar_video, backend):
    reader = ClipReader(size=None, backend=backend)
    info = reader.info(bar_video)
    assert (info.num_frames, info.height, info.width, info.fps) == (NUM_FRAMES, 48, 64, 25.0)
    for inds in ([0, 1, 2], [37, 5, 61, 5], list(range(90, 100)), [99], [98, 99, 99, 0]):
        frames = reader.read(bar_video, inds)
        assert frames.dtype == np.uint8 and frames.shape == (len(inds), 48, 64, 3)
        assert read_frame_codes(frames).tolist() == list(inds)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reader_clips_at_the_very_end(bar_video, backend):
    reader = ClipReader(size=32, backend=backend)
    inds = sample_frame_indices(NUM_FRAMES - 12, NUM_FRAMES - 1, 8)
    assert read_frame_codes(reader.read(bar_video, inds)).tolist() == inds.tolist()
    inds = sample_frame_indices(NUM_FRAMES - 3, NUM_FRAMES - 1, 8)  # short clip ending at the last frame
    assert read_frame_codes(reader.read(bar_video, inds)).tolist() == inds.tolist()


@pytest.mark.parametrize("backend", BACKENDS)
def test_reader_random_access_matches_sequential_decode(bar_video, backend):
    reader = ClipReader(size=None, backend=backend)
    all_frames = reader.read(bar_video, np.arange(NUM_FRAMES))
    assert read_frame_codes(all_frames).tolist() == list(range(NUM_FRAMES))
    rng = np.random.default_rng(0)
    for _ in range(10):
        inds = np.sort(rng.integers(0, NUM_FRAMES, 8))
        assert np.abs(reader.read(bar_video, inds).astype(int) - all_frames[inds].astype(int)).max() <= 2


@pytest.mark.parametrize("size,resize,shape", [(224, "square", (224, 224)), (32, "short_side", (32, 43)),
                                               ((20, 40), "square", (20, 40)), (None, "square", (48, 64)),
                                               (16, "square", (16, 16)), ((24, 48), "square", (24, 48))])
@pytest.mark.parametrize("backend", BACKENDS)
def test_resize(bar_video, size, resize, shape, backend):
    # widths 16 and 48 are sizes decord 0.6 cannot resize to: the reader falls back to OpenCV for them
    reader = ClipReader(size=size, resize=resize, backend=backend)
    for inds in ([3, 77], [99, 0, 50]):
        frames = reader.read(bar_video, inds)
        assert frames.shape == (len(inds), *shape, 3)
        assert read_frame_codes(frames).tolist() == inds


@pytest.mark.parametrize("backend", BACKENDS)
def test_reader_reuses_one_decoder_per_video(bar_video, tmp_path, backend):
    other = write_frame_coded_video(tmp_path / "other.mp4", 10)
    reader = ClipReader(size=32, cache_size=1, backend=backend)
    reader.read(bar_video, [1])
    first = next(iter(reader._readers.values()))
    reader.read(bar_video, [50, 60])
    assert next(iter(reader._readers.values())) is first and len(reader._readers) == 1
    reader.read(other, [2])
    assert len(reader._readers) == 1 and next(iter(reader._readers.values())) is not first  # LRU evicted
    clone = pickle.loads(pickle.dumps(reader))  # DataLoader workers get a reader without open decoders
    assert clone._readers == {} and read_frame_codes(clone.read(other, [9])).tolist() == [9]


def test_reader_finds_videos_by_id(tmp_path):
    layout = make_tiny_imigue(tmp_path)
    reader = ClipReader(tmp_path, size=None)
    assert read_frame_codes(reader.read(12, [0, 69])).tolist() == [0, 69]
    assert reader.num_frames(5) == 80
    with pytest.raises(FileNotFoundError, match="RGB video of video 3 not found"):
        reader.read(3, [0])
    with pytest.raises(ValueError, match="no dataset root"):
        ClipReader().read(5, [0])
    assert layout.video_path(5) == reader.path_of(5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_past_the_end_names_file_count_and_range(bar_video, backend):
    reader = ClipReader(size=None, backend=backend)
    with pytest.raises(IndexError, match=r"bars\.mp4: frames 95\.\.100 requested, but the video has 100 frames"):
        reader.read(bar_video, [95, 100])
    with pytest.raises(IndexError, match=r"frames -1\.\.3"):
        reader.read(bar_video, [-1, 3])


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_and_missing_video(tmp_path, bar_video, backend):
    bad = tmp_path / "0007.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42garbage" * 3)
    with pytest.raises(VideoFileError, match=r"0007\.mp4: cannot open as a video"):
        ClipReader(backend=backend).read(bad, [0])
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(bar_video.read_bytes()[:200])
    with pytest.raises(VideoFileError, match=r"truncated\.mp4"):
        ClipReader(backend=backend).read(truncated, [0])
    with pytest.raises(FileNotFoundError, match=r"nope\.mp4: video file not found"):
        ClipReader(backend=backend).read(tmp_path / "nope.mp4", [0])


@pytest.mark.slow
def test_pyav_backend_skips_non_reference_frames_exactly(tmp_path):
    # broadcast-like: one keyframe per 10 s, B-frames; skipping B-frames before a wanted frame must never
    # change which frames come back, even with no safety margin (every wanted B-frame is then re-decoded)
    from clipmg_lib.data.decoders import PyAVVideo

    path = write_frame_coded_video(tmp_path / "long_gop.mp4", 255, gop=250, bframes=3)
    decord_reader = ClipReader(size=None, backend="decord")
    rng = np.random.default_rng(0)
    index_sets = [[0], [254], [251, 252, 253], [30, 31, 32, 33], [5, 249, 250, 254]]
    index_sets += [np.sort(rng.choice(255, 8, replace=False)).tolist() for _ in range(6)]
    for margin in (24, 4, 0):
        video = PyAVVideo(path, None, margin=margin)
        assert len(video) == 255 and video.get_avg_fps() == 25.0
        for inds in index_sets:
            frames = video.get_batch(inds)
            assert read_frame_codes(frames).tolist() == list(inds), (margin, inds)
            assert np.array_equal(frames, decord_reader.read(path, inds))
        video.close()


def test_decord_failure_falls_back_to_pyav(bar_video, monkeypatch, caplog):
    import logging

    import decord

    def flaky(self, indices):
        raise decord.DECORDError("Unable to handle EOF because it takes too long to retrieve last few frames")

    reader = ClipReader(size=32, backend="decord")
    monkeypatch.setattr(decord.VideoReader, "get_batch", flaky)
    with caplog.at_level(logging.WARNING, logger="clipmg_lib.data.video"):
        frames = reader.read(bar_video, [7, 70, 99])
    assert read_frame_codes(frames).tolist() == [7, 70, 99] and frames.shape == (3, 32, 32, 3)
    assert "reading this file with PyAV instead" in caplog.text and "bars.mp4" in caplog.text
    assert read_frame_codes(reader.read(bar_video, [1])).tolist() == [1]  # stays on PyAV for this file


def test_reading_past_the_end_of_a_truncated_file_says_truncated(tmp_path):
    from clipmg_lib.data.decoders import header_frames
    from clipmg_lib.data.video import ClipReader
    from clipmg_lib.data.video_writer import write_h264

    path = tmp_path / "cut.mp4"
    write_h264(path, (np.full((48, 64, 3), i, np.uint8) for i in range(120)), width=64, height=48, fps=25,
               container_options={"movflags": "faststart"})  # header first
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    reader = ClipReader(None, size=32)
    n = reader.num_frames(path)
    assert header_frames(path) == 120 and n < 120
    with pytest.raises(IndexError, match=rf"cut\.mp4: frames 100\.\.110 requested, but the video has {n} frames .*"
                                         rf"the file is truncated: its header says 120 frames, only {n} can be decoded"):
        reader.read(path, [100, 110])
