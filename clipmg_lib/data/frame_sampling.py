"""Which frames of a clip a model sees: TSN-style segment sampling of absolute frame indices."""
from __future__ import annotations

import numpy as np


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
