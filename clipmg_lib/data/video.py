"""Clip frames from full-length videos: :class:`ClipReader` keeps one decoder per video and reads a clip in one call.

iMiGUE clips are frame ranges inside one long mp4 per video (a 14-minute press conference holds ~50
clips), so the expensive part is opening and seeking the video, not decoding 8 frames. :class:`ClipReader`
keeps one decoder per video in a small LRU cache (:mod:`.decoders`: PyAV by default, or decord) and reads
a clip's frames with one ``get_batch`` call, resized inside the decoder. A video with a seek-friendly proxy
(:mod:`.video_proxy`) is read from the proxy, with the same frame indices. Which frames a clip contributes is
:mod:`.frame_sampling`'s job.

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

from .decoders import BACKENDS, DecoderSizeError, VideoFileError, header_frames, open_decoder, to_numpy
from .release_files import ReleaseFiles, _id_names
from .video_proxy import ProxySpec, proxy_info

log = logging.getLogger(__name__)

RESIZE_MODES = ("square", "short_side")

#: Decoders inherited through ``fork`` (DataLoader workers): kept referenced, never used or freed, because
#: a decord reader's decoding thread does not survive the fork and freeing the reader would wait for it.
_FORKED_DECODERS: list = []


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


class ClipReader:
    """Read clip frames from full-length videos, one reusable decoder per video (LRU of ``cache_size``).

    ``root``: an iMiGUE root or :class:`ReleaseFiles`, so that ``read`` accepts video ids; paths work always.
    ``size``: default output size (int: see ``resize``; (H, W): exact; None: native).
    ``resize``: ``'square'`` (default) or ``'short_side'``. ``cache_size``: open decoders kept (LRU).
    ``num_threads``: decoder threads per video (0: FFmpeg's choice). ``backend``: ``'pyav'`` (default,
    :class:`~clipmg_lib.data.decoders.PyAVVideo`: skips non-reference frames while seeking forward, little
    memory per open video) or
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
        reader = open_decoder(path, hw, backend, self.num_threads)
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
            except DecoderSizeError:
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
            frames = to_numpy(reader.get_batch(unique.tolist()))
        except Exception as exc:
            if backend != "decord":
                raise VideoFileError(f"{path}: decoding frames {lo}..{hi} failed: {exc}") from None
            if hw is not None and "must exactly match" in str(exc):
                raise DecoderSizeError(str(exc)) from None
            # decord 0.6 fails intermittently on sound files (e.g. "Unable to handle EOF because it takes too
            # long" under heavy CPU load, dmlc/decord#143, #373): read this file with PyAV from now on
            log.warning("%s: decord failed on frames %d..%d (%s); reading this file with PyAV instead",
                        path, lo, hi, str(exc).strip().splitlines()[-1][:200])
            self._readers.pop((path, hw, backend), None)
            self._pyav_files.add(path)
            try:
                frames = to_numpy(self._open(path, hw, "pyav").get_batch(unique.tolist()))
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
