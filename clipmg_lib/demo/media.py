"""Frame-coded test videos: frame ``i`` carries ``i`` as a barcode, so a reader's output tells which frames it got.

The code is ``bits`` horizontal bands stacked from top (bit 0) to bottom (bit ``bits - 1``), white = 1,
black = 0, in a vertical strip at the horizontal centre (the full width on a plain video). It survives any
resize, any centre crop of a landscape frame (which cuts only the sides) and H.264 compression, as long as
a band keeps at least 2 pixels of height after resizing (8 bits on the 48-pixel test videos resized to 16;
16 bits on the benchmarks' 720p video). Tests, benchmarks and the proxy tests all decode with
:func:`read_frame_codes`; every video here is written by :func:`clipmg_lib.data.video_writer.write_h264`.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from ..data.video_writer import write_h264

#: Bits of the test videos' code (frames 0..255 at 48 px height).
TEST_CODE_BITS = 8


def draw_frame_code(frame: np.ndarray, index: int, bits: int = TEST_CODE_BITS, strip: float = 1.0) -> None:
    """Write ``index`` into ``frame`` (H, W, 3) uint8 in place as ``bits`` bands in a centred vertical strip.

    ``strip``: the strip's width as a fraction of the frame's (1.0: the whole width; the strip is at
    least 4 px wide).
    """
    h, w = frame.shape[:2]
    if index >= 1 << bits:
        raise ValueError(f"frame index {index} does not fit in a {bits}-bit frame code")
    half = max(2, int(round(w * strip / 2)))
    edges = np.linspace(0, h, bits + 1).round().astype(int)
    band = frame[:, max(0, w // 2 - half): w // 2 + half]
    for b in range(bits):
        band[edges[b]:edges[b + 1]] = 255 if (index >> b) & 1 else 0


def read_frame_codes(frames: np.ndarray, bits: int = TEST_CODE_BITS) -> np.ndarray:
    """(T, H, W, 3) or (H, W, 3) decoded, possibly resized or centre-cropped frames -> (T,) or () int64 indices.

    Reads the centre column at each band's middle row (mean over the colour channels, threshold 128).
    """
    frames = np.asarray(frames)
    h, w = frames.shape[-3:-1]
    rows = ((np.arange(bits) + 0.5) * h / bits).astype(int)
    values = frames[..., rows, w // 2, :].astype(np.float32).mean(axis=-1)
    return ((values >= 128).astype(np.int64) << np.arange(bits)).sum(axis=-1)


def write_frame_coded_video(path: str | os.PathLike, num_frames: int, height: int = 48, width: int = 64, *,
                            fps: int | Fraction = 25, bits: int = TEST_CODE_BITS, gop: int = 12, bframes: int = 2,
                            options: dict[str, str] | None = None,
                            background: Callable[[int], np.ndarray] | None = None, strip: float = 1.0,
                            bit_rate: int | None = None, frames_wrapper: Callable | None = None,
                            atomic: bool = True) -> Path:
    """Write an H.264 mp4 of ``num_frames`` frames (height x width) whose frame ``i`` carries ``i``.

    ``background(i)``: frame ``i``'s picture under the code, uint8 (height, width, 3), a fresh array (drawn
    on in place); None: black. Encoding: a keyframe every ``gop`` frames, ``bframes`` B-frames, crf 10,
    ultrafast, unless ``options`` (for :func:`write_h264`) replaces them all. ``frames_wrapper``: wraps the frame indices (e.g. a
    progress bar).
    """
    path = Path(path)
    if options is None:
        options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "crf": "10", "preset": "ultrafast",
                   "bf": str(bframes)}

    def frames():
        indices = range(num_frames) if frames_wrapper is None else frames_wrapper(range(num_frames))
        for i in indices:
            img = np.zeros((height, width, 3), np.uint8) if background is None else background(i)
            draw_frame_code(img, i, bits, strip)
            yield img

    write_h264(path, frames(), width=width, height=height, fps=fps, options=options, bit_rate=bit_rate,
               atomic=atomic)
    return path
