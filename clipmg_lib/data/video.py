"""Clip frames from full-length videos: TSN-style frame sampling and a reader that reuses decoders.

iMiGUE clips are frame ranges inside one long mp4 per video (a 14-minute press conference holds ~50
clips), so the expensive part is opening and seeking the video, not decoding 8 frames. :class:`ClipReader`
keeps one decoder per video in a small LRU cache and reads a clip's frames with one ``get_batch`` call
(seek to the keyframe before the first frame and decode forward only as far as needed, instead of reading
every frame of the clip).

Resizing happens inside the decoder (FFmpeg's swscale, in the same pass as the RGB conversion) rather than
with OpenCV afterwards: on this 2-core CPU, 8 frames of a 1280x720 H.264 video at 224x224 took 0.21 s
per clip resized at decode against 0.27 s decoded at full size then ``cv2.resize`` (30 random clips;
the bench's ``bench_video.py`` has the kit-wide figures).

Two decoding backends give the same frames (same numbering; identical pixels at native size):
``'pyav'`` (default; :class:`_PyAVVideo`), which decodes forward across short gaps instead of re-seeking at
every keyframe, skips non-reference frames it does not need and converts only the frames it returns, and
``'decord'`` (``get_batch``). Measured (docs/PERFORMANCE.md, ``bench/bench_video.py``; 8 frames of random
clips at 224x224, a loaded 2-core CPU): on a 720p H.264 video with a keyframe every 250 frames both take
~0.35-0.7 s per clip, within 1.5x of each other either way from run to run (the decode from the keyframe
dominates); on a seek-friendly proxy (:mod:`clipmg_lib.data.video_proxy`: short side 256, keyframe every 16
frames) decord takes ~110-195 ms and PyAV ~70-110 ms; and PyAV holds 5-16x less memory per open video
(0.1 GB against 0.5-1.7 GB for two 720p videos read in turn), which DataLoader workers multiply. PyAV is
therefore the default. decord 0.6 also
fails now and then on sound files under CPU load ("Unable to handle EOF because it takes too long",
dmlc/decord#143); with ``backend='decord'`` :class:`ClipReader` then reads that file with PyAV, with a
logged warning.

The default resize is **square** (``size x size``, aspect not kept): the whole frame stays in (a hand at
the frame edge is not cropped away), every video gives the same shape so clips batch, and pixel
keypoints map to the resized frame by a per-axis scale. ``resize='short_side'`` keeps the aspect ratio
(short side = ``size``), for pipelines that crop afterwards.
"""
from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .release_files import ReleaseFiles, _id_names
from .video_proxy import ProxySpec, proxy_info

log = logging.getLogger(__name__)

RESIZE_MODES = ("square", "short_side")
BACKENDS = ("decord", "pyav")


class VideoFileError(ValueError):
    """A video that cannot be opened or decoded; the message names the file."""


#: Decoders inherited through ``fork`` (DataLoader workers): kept referenced, never used or freed, because
#: a decord reader's decoding thread does not survive the fork and freeing the reader would wait for it.
_FORKED_DECODERS: list = []


class _DecoderSizeError(RuntimeError):
    """decord could not resize to the requested size (handled by falling back to OpenCV)."""


# ------------------------------------------------------------------------------------------ sampling

def sample_frame_indices(start: int, end: int, num_frames: int, mode: str = "uniform",
                         rng: np.random.Generator | int | None = None) -> np.ndarray:
    """TSN-style segment sampling of ``num_frames`` absolute frame indices from ``start..end`` (inclusive).

    The clip is cut into ``num_frames`` equal segments. ``mode='uniform'`` (evaluation) takes each
    segment's centre; ``mode='random'`` (training) takes a random frame inside each segment, from
    ``rng`` (a ``np.random.Generator`` or a seed). A clip shorter than ``num_frames`` repeats frames.
    Returns int64 (num_frames,), non-decreasing, every value in ``start..end``.
    """
    start, end, num_frames = int(start), int(end), int(num_frames)
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if start < 0 or end < start:
        raise ValueError(f"invalid clip range {start}..{end} (need 0 <= start <= end)")
    length = end - start + 1
    seg = length / num_frames
    edges = np.floor(np.arange(num_frames + 1) * seg).astype(np.int64)  # segment i = [edges[i], edges[i+1])
    if mode == "uniform":
        offsets = np.floor((np.arange(num_frames) + 0.5) * seg).astype(np.int64)
    elif mode == "random":
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        lo = edges[:-1]
        width = np.maximum(edges[1:] - lo, 1)  # a segment shorter than a frame still holds frame lo
        offsets = lo + gen.integers(0, width)
    else:
        raise ValueError(f"unknown sampling mode {mode!r}; expected 'uniform' or 'random'")
    return start + np.minimum(offsets, length - 1)


# ------------------------------------------------------------------------------------------- reading

def header_frames(path: str | os.PathLike) -> int:
    """Frames the container's header announces (0 when it does not say or cannot be read). More than the
    decodable frames (:meth:`ClipReader.num_frames`, by packet timestamps) means a truncated file."""
    import av

    try:
        with av.open(str(path)) as container:
            return int(container.streams.video[0].frames or 0)
    except (av.error.FFmpegError, IndexError, OSError):
        return 0


@dataclass(frozen=True)
class VideoInfo:
    """What the container says: ``num_frames``, ``height``, ``width`` (pixels), ``fps``."""

    num_frames: int
    height: int
    width: int
    fps: float


def _output_hw(size: int | tuple[int, int] | None, mode: str, height: int, width: int) -> tuple[int, int]:
    """(H, W) of the frames :meth:`ClipReader.read` returns for a ``height x width`` video (-1: native)."""
    if size is None:
        return height, width
    if isinstance(size, (tuple, list)):
        return int(size[0]), int(size[1])
    size = int(size)
    if mode == "square":
        return size, size
    if mode == "short_side":
        if height <= width:
            return size, int(round(width * size / height))
        return int(round(height * size / width)), size
    raise ValueError(f"unknown resize mode {mode!r}; expected one of {RESIZE_MODES}")


def _to_numpy(batch) -> np.ndarray:
    """decord's NDArray (native bridge) or a torch tensor (torch bridge) -> numpy."""
    if hasattr(batch, "asnumpy"):
        return batch.asnumpy()
    if hasattr(batch, "numpy"):
        return batch.numpy()
    return np.asarray(batch)


class _PyAVVideo:
    """A decord-like reader on PyAV (``len``, ``get_avg_fps``, ``get_batch``) that decodes only what it must.

    Frame ``i`` is the ``i``-th presentation timestamp of the stream, decord's numbering (exact for variable
    frame rates too: the timestamps are read from the packets when the file is opened, as decord does).
    ``get_batch`` seeks to the keyframe before the first wanted frame and decodes forward (seeking again
    only where that skips more than ``margin`` frames); while the next wanted frame is more than ``margin``
    frames away it asks FFmpeg to skip non-reference frames
    (``skip_frame='NONREF'``, B-frames in typical broadcast H.264), and only the frames it returns are
    converted to RGB (and resized, in the same swscale pass). Should a skipped frame have been a wanted
    one, the frame is decoded again without skipping, so the result never depends on the heuristic.
    """

    def __init__(self, path: Path, hw: tuple[int, int] | None = None, num_threads: int = 0,
                 margin: int = 24) -> None:
        import av

        self.path, self.hw, self.margin = path, hw, int(margin)
        self.container = av.open(str(path))
        self.stream = self.container.streams.video[0]
        pts, keys = [], []
        for packet in self.container.demux(self.stream):
            if packet.pts is not None and packet.size:
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keys.append(packet.pts)
        self.pts = np.unique(np.asarray(pts, dtype=np.int64))
        self._index = {int(p): i for i, p in enumerate(self.pts)}
        self._keyframes = np.searchsorted(self.pts, np.unique(np.asarray(keys or [self.pts[0]], dtype=np.int64)))
        self.stream.thread_type = "AUTO"
        self.stream.codec_context.thread_count = int(num_threads)
        rate = self.stream.average_rate or self.stream.guessed_rate
        self._fps = float(rate) if rate else 0.0

    def __len__(self) -> int:
        return len(self.pts)

    def get_avg_fps(self) -> float:
        return self._fps

    def _keyframe_before(self, i: int) -> int:
        k = np.searchsorted(self._keyframes, i, side="right") - 1
        return int(self._keyframes[max(k, 0)])

    def _convert(self, frame) -> np.ndarray:
        if self.hw is None:
            return frame.to_ndarray(format="rgb24")
        return frame.to_ndarray(format="rgb24", width=self.hw[1], height=self.hw[0], interpolation="AREA")

    def _run(self, wanted: np.ndarray, k: int, out: dict, allow_skip: bool) -> tuple[int, bool]:
        """Seek before ``wanted[k]`` and decode forward; returns (next k, whether a wanted frame was missed)."""
        ctx = self.stream.codec_context
        target = int(wanted[k])
        self.container.seek(int(self.pts[target]), stream=self.stream, backward=True, any_frame=False)
        skipped = allow_skip and target - self._keyframe_before(target) > self.margin
        ctx.skip_frame = "NONREF" if skipped else "DEFAULT"
        try:
            for frame in self.container.decode(self.stream):
                i = self._index.get(int(frame.pts)) if frame.pts is not None else None
                if i is None:
                    continue
                while k < len(wanted) and i > wanted[k]:  # passed a wanted frame without seeing it
                    return k, True
                if i == wanted[k]:
                    out[i] = self._convert(frame)
                    k += 1
                    if k == len(wanted):
                        return k, False
                    if self._keyframe_before(int(wanted[k])) - i > self.margin:  # seeking saves decoding
                        return k, False
                far = allow_skip and int(wanted[k]) - i > self.margin
                skipped |= far
                ctx.skip_frame = "NONREF" if far else "DEFAULT"
        finally:
            ctx.skip_frame = "DEFAULT"
        return k, True

    def get_batch(self, indices: list[int]) -> np.ndarray:
        wanted = np.unique(np.asarray(indices, dtype=np.int64))
        out: dict[int, np.ndarray] = {}
        k = 0
        while k < len(wanted):
            k_next, missed = self._run(wanted, k, out, allow_skip=True)
            if missed:  # decode the missed frame again, without skipping anything
                k_next, missed = self._run(wanted, k_next, out, allow_skip=False)
                if missed:
                    raise RuntimeError(f"frame {int(wanted[k_next])} could not be decoded "
                                       f"({len(self)} frames by timestamp)")
            k = k_next
        return np.stack([out[int(i)] for i in indices])

    def close(self) -> None:
        self.container.close()


class ClipReader:
    """Read clip frames from full-length videos, one reusable decoder per video (LRU of ``cache_size``).

    ``root``: an iMiGUE root or :class:`ReleaseFiles`, so that ``read`` accepts video ids; paths work always.
    ``size``: default output size (int: see ``resize``; (H, W): exact; None: native).
    ``resize``: ``'square'`` (default) or ``'short_side'``. ``cache_size``: open decoders kept (LRU).
    ``num_threads``: decoder threads per video (0: FFmpeg's choice). ``backend``: ``'pyav'`` (default,
    :class:`_PyAVVideo`: skips non-reference frames while seeking forward, little memory per open video) or
    ``'decord'`` (same frame numbering and pixels at native size); with decord, a file it fails to decode is
    read with PyAV from then on (logged). The reader pickles without its open
    decoders, and a forked copy sets the parent's decoders aside, so it can live in a ``Dataset`` used by
    ``DataLoader`` workers, spawned or forked, even after the parent has read frames (each worker opens its own).

    ``proxy_root``: a folder of seek-friendly proxies (:mod:`clipmg_lib.data.video_proxy`, built with
    ``python -m clipmg_lib.data.video_proxy --root ROOT --out PROXY_ROOT``). A video whose proxy
    ``<proxy_root>/<proxy_spec.tag>/<stem>.mp4`` exists is read from the proxy (same frame indices, smaller
    frames; the original need not be present); the others from the original. :meth:`source_shape` gives the
    original's (H, W) either way (what pixel keypoints refer to), :meth:`frame_shape` the file actually read.
    """

    def __init__(self, root: str | os.PathLike | ReleaseFiles | None = None, size: int | tuple[int, int] | None = 224,
                 resize: str = "square", cache_size: int = 4, num_threads: int = 0, backend: str = "pyav",
                 proxy_root: str | os.PathLike | None = None, proxy_spec: ProxySpec | None = None) -> None:
        if resize not in RESIZE_MODES:
            raise ValueError(f"unknown resize mode {resize!r}; expected one of {RESIZE_MODES}")
        if backend not in BACKENDS:
            raise ValueError(f"unknown video backend {backend!r}; expected one of {BACKENDS}")
        self.backend = backend
        self.layout = root if isinstance(root, ReleaseFiles) or root is None else ReleaseFiles(root)
        self.size = size
        self.resize = resize
        self.cache_size = max(1, int(cache_size))
        self.num_threads = int(num_threads)
        self._readers: OrderedDict = OrderedDict()
        self._pid = os.getpid()
        self._info: dict[Path, VideoInfo] = {}
        self._shapes: dict[Path, tuple[int, int]] = {}
        self._cv2_sizes: set[tuple[int, int]] = set()  # output sizes decord cannot produce
        self._pyav_files: set[Path] = set()  # files decord failed to decode (read with PyAV since)
        self.proxy_root = Path(proxy_root) if proxy_root is not None else None
        self.proxy_spec = proxy_spec or ProxySpec()
        if self.proxy_root is not None and not self.proxy_root.is_dir():
            raise FileNotFoundError(f"{self.proxy_root}: proxy folder not found (build it with "
                                    "python -m clipmg_lib.data.video_proxy --root ... --out ...)")
        self._paths: dict = {}  # video id or path -> the file read (proxy or original)
        self._source_shapes: dict = {}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_readers"] = OrderedDict()
        return state

    def _after_fork(self) -> None:
        """In a forked child (a DataLoader worker), set the parent's decoders aside and open fresh ones."""
        if self._pid != os.getpid():
            _FORKED_DECODERS.extend(self._readers.values())
            self._readers = OrderedDict()
            self._pid = os.getpid()

    def __repr__(self) -> str:
        proxy = f", proxy_root={str(self.proxy_root)!r}" if self.proxy_root is not None else ""
        return (f"ClipReader(root={self.layout!r}, size={self.size}, resize={self.resize!r}, "
                f"cache_size={self.cache_size}, backend={self.backend!r}{proxy})")

    def close(self) -> None:
        """Drop every open decoder."""
        self._readers.clear()

    def source_path(self, video: int | str | os.PathLike) -> Path:
        """The original mp4 of a video id (via the layout) or a path (checked to exist)."""
        if isinstance(video, (int, np.integer)):
            if self.layout is None:
                raise ValueError(f"ClipReader got video id {int(video)} but no dataset root to find it in")
            return self.layout.video_path(int(video))
        path = Path(video)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: video file not found")
        return path

    def proxy_of(self, video: int | str | os.PathLike) -> Path | None:
        """The proxy of a video (id or source path) under ``proxy_root``, or None (no proxy root / no proxy)."""
        if self.proxy_root is None:
            return None
        folder = self.proxy_root / self.proxy_spec.tag
        if isinstance(video, (int, np.integer)):
            names = [f"{n}.mp4" for n in _id_names(int(video))]
        else:
            names = [f"{Path(video).stem}.mp4"]
        return next((folder / n for n in names if (folder / n).is_file()), None)

    def path_of(self, video: int | str | os.PathLike) -> Path:
        """The file frames are read from: the proxy when ``proxy_root`` holds one, else the original (cached)."""
        key = int(video) if isinstance(video, (int, np.integer)) else str(video)
        path = self._paths.get(key)
        if path is None:
            path = self.proxy_of(video)
            if path is None:
                path = self.source_path(video)
            else:
                self._check_proxy(path)
            self._paths[key] = path
        return path

    def _check_proxy(self, path: Path) -> None:
        """Read the proxy's metadata once: its source's (H, W), and that it is a proxy at all."""
        if path not in self._source_shapes:
            try:
                meta = proxy_info(path)
                self._source_shapes[path] = (int(meta["source_height"]), int(meta["source_width"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise VideoFileError(f"{path}: under proxy_root but not a clipmg_lib proxy ({exc})") from None

    def is_proxy(self, video: int | str | os.PathLike) -> bool:
        """Whether frames of ``video`` are read from a proxy."""
        return self.path_of(video) in self._source_shapes

    def source_shape(self, video: int | str | os.PathLike) -> tuple[int, int]:
        """(H, W) of the original video (from the proxy's metadata when reading a proxy): keypoints' pixels."""
        path = self.path_of(video)
        return self._source_shapes.get(path) or self.frame_shape(path)

    def _open(self, path: Path, hw: tuple[int, int] | None, backend: str | None = None):
        backend = backend or self.backend
        self._after_fork()
        key = (path, hw, backend)
        reader = self._readers.get(key)
        if reader is not None:
            self._readers.move_to_end(key)
            return reader
        kwargs = {} if hw is None else {"height": hw[0], "width": hw[1]}
        try:
            if backend == "pyav":
                reader = _PyAVVideo(path, hw, self.num_threads)
            else:
                import decord

                reader = decord.VideoReader(str(path), num_threads=self.num_threads, **kwargs)
        except Exception as exc:  # DECORDError / av.error.FFmpegError for corrupt or non-video files
            raise VideoFileError(f"{path}: cannot open as a video (corrupt or unsupported file): "
                                 f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
        if len(reader) == 0:
            raise VideoFileError(f"{path}: video has no frames")
        self._readers[key] = reader
        while len(self._readers) > self.cache_size:
            self._readers.popitem(last=False)
        return reader

    def frame_shape(self, video: int | str | os.PathLike) -> tuple[int, int]:
        """Native (H, W) of the file read for a video (the proxy's when there is one; PyAV header; cached)."""
        import av

        path = self.path_of(video)
        if path not in self._shapes:
            try:
                with av.open(str(path)) as container:
                    ctx = container.streams.video[0].codec_context
                    self._shapes[path] = (int(ctx.height), int(ctx.width))
            except (av.error.FFmpegError, IndexError, OSError) as exc:
                raise VideoFileError(f"{path}: cannot open as a video (corrupt or unsupported file): {exc}") from None
        return self._shapes[path]

    def info(self, video: int | str | os.PathLike) -> VideoInfo:
        """Frame count (by presentation timestamp: the numbering indices refer to), native (H, W) and fps of a video (cached)."""
        path = self.path_of(video)
        if path not in self._info:
            height, width = self.frame_shape(path)
            reader = self._open(path, self._decode_hw(self.size, height, width))
            self._info[path] = VideoInfo(len(reader), height, width, float(reader.get_avg_fps()))
        return self._info[path]

    def _decode_hw(self, size, height: int, width: int) -> tuple[int, int] | None:
        """The decoder's output (H, W), or None for native size."""
        out_hw = _output_hw(size, self.resize, height, width)
        return None if out_hw == (height, width) else out_hw

    def num_frames(self, video: int | str | os.PathLike) -> int:
        return self.info(video).num_frames

    def read(self, video: int | str | os.PathLike, frame_inds: Sequence[int] | np.ndarray,
             size: int | tuple[int, int] | None | str = "default") -> np.ndarray:
        """Frames ``frame_inds`` (absolute, 0-based) of a video -> uint8 (T, H, W, 3) RGB.

        ``size`` overrides the reader's default (``None``: native). Repeated indices are decoded once.
        Raises ``IndexError`` naming the file, its frame count and the requested range for an index past
        the end, and :class:`VideoFileError` for a file the decoder cannot open or decode.
        """
        path = self.path_of(video)
        inds = np.asarray(frame_inds, dtype=np.int64).reshape(-1)
        if inds.size == 0:
            raise ValueError(f"{path}: no frame indices to read")
        size = self.size if isinstance(size, str) and size == "default" else size
        info = self.info(path)
        lo, hi = int(inds.min()), int(inds.max())
        if lo < 0 or hi >= info.num_frames:
            said = header_frames(path)
            cut = (f"; the file is truncated: its header says {said} frames, only {info.num_frames} can be decoded"
                   if said > info.num_frames else "")
            raise IndexError(f"{path}: frames {lo}..{hi} requested, but the video has {info.num_frames} frames "
                             f"(valid 0..{info.num_frames - 1}){cut}")
        hw = self._decode_hw(size, info.height, info.width)
        unique, inverse = np.unique(inds, return_inverse=True)
        if hw is not None and hw in self._cv2_sizes:
            frames = self._resize(self._decode(path, None, unique, lo, hi), hw)
        else:
            try:
                frames = self._decode(path, hw, unique, lo, hi)
            except _DecoderSizeError:
                # decord 0.6 cannot resize to some widths (e.g. 16, 24, 48: its buffer copy fails on the
                # padded rows): decode at native size and resize with OpenCV for this size from now on
                self._readers.pop((path, hw, self.backend), None)
                self._cv2_sizes.add(hw)
                frames = self._resize(self._decode(path, None, unique, lo, hi), hw)
        return np.ascontiguousarray(frames[inverse], dtype=np.uint8)

    def _decode(self, path: Path, hw: tuple[int, int] | None, unique: np.ndarray, lo: int, hi: int) -> np.ndarray:
        backend = "pyav" if path in self._pyav_files else self.backend
        reader = self._open(path, hw, backend)
        try:
            frames = _to_numpy(reader.get_batch(unique.tolist()))
        except Exception as exc:
            if backend != "decord":
                raise VideoFileError(f"{path}: decoding frames {lo}..{hi} failed: {exc}") from None
            if hw is not None and "must exactly match" in str(exc):
                raise _DecoderSizeError(str(exc)) from None
            # decord 0.6 fails intermittently on sound files (e.g. "Unable to handle EOF because it takes too
            # long" under heavy CPU load, dmlc/decord#143, #373): read this file with PyAV from now on
            log.warning("%s: decord failed on frames %d..%d (%s); reading this file with PyAV instead",
                        path, lo, hi, str(exc).strip().splitlines()[-1][:200])
            self._readers.pop((path, hw, backend), None)
            self._pyav_files.add(path)
            try:
                frames = _to_numpy(self._open(path, hw, "pyav").get_batch(unique.tolist()))
            except Exception as exc2:
                raise VideoFileError(f"{path}: decoding frames {lo}..{hi} failed with decord ({exc}) "
                                     f"and with PyAV ({exc2})") from None
        if frames.shape[0] != len(unique):
            raise VideoFileError(f"{path}: asked for {len(unique)} frames, decoder gave {frames.shape[0]}")
        return frames

    @staticmethod
    def _resize(frames: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
        import cv2

        return np.stack([cv2.resize(f, (hw[1], hw[0]), interpolation=cv2.INTER_AREA) for f in frames])
