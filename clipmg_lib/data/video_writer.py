"""The kit's one H.264 writer: frames in, an mp4 (PyAV / libx264, yuv420p) out, atomically by default.

Every video the kit writes goes through :func:`write_h264`: seek-friendly proxies (:mod:`.video_proxy`), the
demo generator's press-conference videos, the frame-coded test videos (:mod:`clipmg_lib.demo.media`) and the
benchmarks' long video. Callers choose the encoder settings (``options``: libavcodec / x264 options as given to
PyAV); :func:`fixed_gop_options` builds the usual "a keyframe exactly every ``gop`` frames" set.
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import numpy as np

from ..core.atomic import atomic_path


def fixed_gop_options(gop: int, bframes: int = 0, crf: int | None = None, preset: str = "veryfast") -> dict[str, str]:
    """x264 options for a keyframe exactly every ``gop`` frames (``keyint=min-keyint=gop``, no scene cuts)."""
    opts = {"preset": preset, "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}"}
    if crf is not None:
        opts["crf"] = str(crf)
    return opts


def write_h264(path: str | os.PathLike, frames: Iterable, *, width: int, height: int, fps: int | Fraction,
               options: dict[str, str] | None = None, frame_format: str = "rgb24", bit_rate: int | None = None,
               threads: int | None = None, thread_type: str | None = None, metadata: dict[str, str] | None = None,
               container_options: dict[str, str] | None = None, atomic: bool = True) -> int:
    """Encode ``frames`` into an H.264 mp4 at ``path``; return the number of frames written.

    ``frames``: uint8 arrays in ``frame_format`` (``rgb24``: (H, W, 3); ``yuv420p``: (H * 3 / 2, W) I420) or
    ``av.VideoFrame`` s (sent as they are, timestamps included). ``width`` and ``height`` must be even
    (yuv420p). ``threads``: encoder threads, ``thread_type``: ``'SLICE'`` / ``'FRAME'`` (None: the codec's defaults). ``metadata``: container tags, written
    before the first packet. ``container_options``: muxer options (e.g. ``{"movflags": "faststart"}``:
    the header first, as long recordings usually are). ``atomic``: write through :func:`clipmg_lib.core.atomic.atomic_path` (False
    when the caller already writes to a temporary path). An exception raised by the ``frames`` iterator
    propagates and, when atomic, leaves no file.
    """
    import av

    path = Path(path)
    if width % 2 or height % 2:
        raise ValueError(f"{path}: H.264 (yuv420p) needs even frame sizes, got {height}x{width}")
    n = 0
    with (atomic_path(path) if atomic else nullcontext(path)) as target:
        with av.open(str(target), mode="w", format="mp4", options=dict(container_options or {})) as container:
            container.metadata.update(metadata or {})
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            if thread_type is not None:
                stream.thread_type = thread_type
            if threads is not None:
                stream.codec_context.thread_count = threads
            if bit_rate is not None:
                stream.bit_rate = bit_rate
            stream.options = dict(options or {})
            for frame in frames:
                if not isinstance(frame, av.VideoFrame):
                    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=frame_format)
                for packet in stream.encode(frame):
                    container.mux(packet)
                n += 1
            for packet in stream.encode():
                container.mux(packet)
    return n
