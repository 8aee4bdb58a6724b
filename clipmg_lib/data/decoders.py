"""Video decoders behind :class:`clipmg_lib.data.video.ClipReader`: PyAV (default) and decord, same frames.

Both number frame ``i`` as the ``i``-th presentation timestamp of the stream and give identical pixels at
native size; both resize inside the decoder (FFmpeg's swscale, in the same pass as the RGB conversion) when
asked for an (H, W). :func:`open_decoder` opens either; a decoder has ``len``, ``get_avg_fps()`` and
``get_batch(indices) -> (N, H, W, 3) uint8``. :class:`PyAVVideo` decodes forward from the keyframe before
the first wanted frame, across short gaps, skipping non-reference frames it does not need; decord 0.6
cannot resize to some widths (:class:`DecoderSizeError`) and fails now and then on sound files under CPU
load (dmlc/decord#143), which the reader handles. Measurements: docs/PERFORMANCE.md.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

BACKENDS = ("decord", "pyav")


class VideoFileError(ValueError):
    """A video that cannot be opened or decoded; the message names the file."""


class DecoderSizeError(RuntimeError):
    """decord could not resize to the requested size (handled by falling back to OpenCV)."""


def header_frames(path: str | os.PathLike) -> int:
    """Frames the container's header announces (0 when it does not say or cannot be read). More than the
    decodable frames (:meth:`clipmg_lib.data.video.ClipReader.num_frames`, by packet timestamps) means a truncated file."""
    import av

    try:
        with av.open(str(path)) as container:
            return int(container.streams.video[0].frames or 0)
    except (av.error.FFmpegError, IndexError, OSError):
        return 0


def to_numpy(batch) -> np.ndarray:
    """decord's NDArray (native bridge) or a torch tensor (torch bridge) -> numpy."""
    if hasattr(batch, "asnumpy"):
        return batch.asnumpy()
    if hasattr(batch, "numpy"):
        return batch.numpy()
    return np.asarray(batch)


class PyAVVideo:
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


def open_decoder(path: Path, hw: tuple[int, int] | None, backend: str, num_threads: int = 0):
    """A ``backend`` decoder (``'pyav'`` or ``'decord'``) of ``path`` giving frames of size ``hw`` (None: native).

    Raises :class:`VideoFileError` naming the file when it cannot be opened or has no frames.
    """
    kwargs = {} if hw is None else {"height": hw[0], "width": hw[1]}
    try:
        if backend == "pyav":
            reader = PyAVVideo(path, hw, num_threads)
        else:
            import decord

            reader = decord.VideoReader(str(path), num_threads=num_threads, **kwargs)
    except Exception as exc:  # DECORDError / av.error.FFmpegError for corrupt or non-video files
        raise VideoFileError(f"{path}: cannot open as a video (corrupt or unsupported file): "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
    if len(reader) == 0:
        raise VideoFileError(f"{path}: video has no frames")
    return reader
