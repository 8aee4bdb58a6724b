"""A PyAV clip reader, measured in ``bench_video.py`` as a proposed backend for ``clipmg_lib.data.video.ClipReader``.

Same contract as ``ClipReader.read(video, frame_inds)`` for paths: absolute 0-based frame indices
(decord's numbering: presentation order) -> uint8 ``(T, size, size, 3)`` RGB, square resize.

Why it exists: on a short-GOP proxy (:mod:`clipmg_lib.data.video_proxy`), decord 0.6's ``get_batch``
re-seeks (``SeekAccurate``: flush + restart its threaded decoder) whenever the next index lies in
another GOP, even one frame ahead, so 8 sampled frames spread over a clip cost up to 8 seeks. This
reader seeks once to the keyframe before the first index, decodes forward, converts (and resizes,
in the same swscale pass) only the frames it returns, and seeks again only when the next wanted frame
is more than a keyframe interval ahead. Frames it decodes but does not return are never converted.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np


class PyAVClipReader:
    """Read sampled frames of a video with PyAV; one open container per video kept in a small LRU.

    ``reseek_gap``: seek again (instead of decoding forward) when the next wanted frame is more than this
    many frames ahead; ``None`` = the keyframe interval stored in a kit proxy's metadata, else 250.
    """

    def __init__(self, size: int = 224, reseek_gap: int | None = None, cache_size: int = 4,
                 interpolation: str = "AREA") -> None:
        self.size = int(size)
        self.reseek_gap = reseek_gap
        self.cache_size = cache_size
        self.interpolation = interpolation
        self._open: OrderedDict = OrderedDict()

    def _container(self, path: Path):
        import av

        entry = self._open.get(path)
        if entry is None:
            try:
                container = av.open(str(path))
                stream = container.streams.video[0]
            except (av.error.FFmpegError, IndexError, OSError) as exc:
                raise ValueError(f"{path}: cannot open as a video: {exc}") from None
            stream.thread_type = "AUTO"
            gap = self.reseek_gap
            if gap is None:
                from clipmg_lib.data.video_proxy import ProxyError, proxy_info
                try:
                    gap = int(proxy_info(path)["spec"]["gop"])
                except (ProxyError, KeyError, TypeError):
                    gap = 250
            entry = (container, stream, gap)
            self._open[path] = entry
            while len(self._open) > self.cache_size:
                self._open.popitem(last=False)[1][0].close()
        else:
            self._open.move_to_end(path)
        return entry

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1][0].close()

    def read(self, path: str | os.PathLike, frame_inds: Sequence[int] | np.ndarray) -> np.ndarray:
        """Frames ``frame_inds`` of ``path`` -> uint8 (T, size, size, 3) RGB."""
        path = Path(path)
        inds = np.asarray(frame_inds, dtype=np.int64).reshape(-1)
        wanted = np.unique(inds)
        container, stream, gap = self._container(path)
        tb, fps = stream.time_base, stream.average_rate
        t0 = stream.start_time or 0

        def seek(i: int) -> None:
            container.seek(int(t0 + i / fps / tb), stream=stream, backward=True, any_frame=False)

        got: dict[int, np.ndarray] = {}
        k = 0
        seek(int(wanted[0]))
        while k < len(wanted):
            for frame in container.decode(stream):
                i = int(round(float((frame.pts - t0) * tb * fps)))
                if i < wanted[k]:
                    continue
                if i > wanted[k]:
                    raise ValueError(f"{path}: seeking to frame {wanted[k]} landed after it (frame {i}); "
                                     "the file's index or timestamps are unreliable")
                got[i] = frame.to_ndarray(format="rgb24", width=self.size, height=self.size,
                                          interpolation=self.interpolation)
                k += 1
                if k == len(wanted):
                    break
                if wanted[k] - i > gap:
                    seek(int(wanted[k]))
                    break
            else:
                raise IndexError(f"{path}: frames {int(wanted[k])}..{int(wanted[-1])} requested past the last "
                                 "decodable frame")
        return np.stack([got[int(i)] for i in inds])
