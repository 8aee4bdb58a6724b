"""PYSKL-style skeleton transforms on the sample dict of ``docs/ARCHITECTURE.md``.

Each transform is a small class: settings in ``__init__``, ``__call__(results) -> results``, and a
docstring naming the keys it reads and writes with their shapes. They compose with :class:`Compose`,
which also builds them from config dicts (``{"type": "Flip", "flip_ratio": 0.5}``), so pipelines are data.

Shapes follow the dict contract: ``keypoint`` float32 (T, V, 2) in pixels of the original video,
``keypoint_score`` float32 (T, V) with 0 = missing. A missing joint stays (0, 0) with score 0 through
every transform, so downstream code can always tell it apart. The usual order::

    InterpolateMissing -> SelectFrames -> [Flip -> RandomAffine] -> ConvertLayout
        -> NormalizeSkeleton | GeneratePoseHeatmap

Random transforms take a ``seed``: with a seed, the draw for a sample depends only on
``(seed, results['epoch'] (default 0), results['sample_id'])``, so it is the same in any DataLoader
worker and any order; without ``sample_id`` they fall back to their own seeded generator.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np

from ..data.joint_layouts import conversion_index, get_layout
from .heatmap import GeneratePoseHeatmap
from .sample_keys import Results, pose_arrays, sample_layout


class _Seeded:
    """Mixin: a per-sample random generator (see the module docstring)."""

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def rng_for(self, results: Results) -> np.random.Generator:
        if self.seed is not None and "sample_id" in results:
            key = zlib.crc32(str(results["sample_id"]).encode())
            return np.random.default_rng([self.seed, int(results.get("epoch", 0)), key])
        return self._rng


class InterpolateMissing:
    """Fill missing joints (score 0) by linear interpolation over time, per joint; edges are held.

    Reads ``keypoint`` (T, V, 2), ``keypoint_score`` (T, V).
    Writes ``keypoint`` (T, V, 2), ``keypoint_score`` (T, V) and ``keypoint_filled`` bool (T, V)
    (True where a value was filled in). A joint missing in every frame stays missing.

    ``fill_score``: the score given to a filled joint; ``None`` interpolates the neighbours' scores
    (held at the edges), a number sets it. Filled joints need a score > 0 to count in heatmaps.
    ``max_gap``: gaps longer than this many frames are left missing (``None``: no limit).
    """

    def __init__(self, fill_score: float | None = None, max_gap: int | None = None) -> None:
        self.fill_score = fill_score
        self.max_gap = max_gap

    def __call__(self, results: Results) -> Results:
        kp, sc = pose_arrays(results, "InterpolateMissing")
        t = kp.shape[0]
        valid = sc > 0
        frames = np.arange(t)[:, None].repeat(kp.shape[1], 1)                     # (T, V)
        prev = np.maximum.accumulate(np.where(valid, frames, -1), axis=0)       # last valid frame <= t
        nxt = np.flip(np.minimum.accumulate(np.flip(np.where(valid, frames, t), 0), axis=0), 0)  # next >= t
        has_prev, has_next = prev >= 0, nxt < t
        fill = ~valid & (has_prev | has_next)
        if self.max_gap is not None:
            run_to_edge = np.where(has_next, nxt, t - 1 - prev)   # frames before the first / after the last seen
            gap = np.where(has_prev & has_next, nxt - prev - 1, run_to_edge)
            fill &= gap <= self.max_gap
        p = np.where(has_prev, prev, nxt).clip(0, t - 1)
        n = np.where(has_next, nxt, prev).clip(0, t - 1)
        span = (n - p).astype(np.float32)
        w = np.where(span > 0, (frames - p) / np.where(span > 0, span, 1), 0.0).astype(np.float32)  # (T, V)
        v = np.arange(kp.shape[1])[None, :]
        kp_fill = kp[p, v] * (1 - w)[..., None] + kp[n, v] * w[..., None]
        sc_fill = (sc[p, v] * (1 - w) + sc[n, v] * w) if self.fill_score is None else np.full_like(sc, self.fill_score)
        results["keypoint"] = np.where(fill[..., None], kp_fill, kp).astype(np.float32)
        results["keypoint_score"] = np.where(fill, sc_fill, sc).astype(np.float32)
        results["keypoint_filled"] = fill
        return results


class SelectFrames:
    """Keep the pose frames that the RGB of the clip uses.

    Reads ``frame_inds`` int (T,) (absolute frames), ``clip_start`` int (absolute frame of row 0),
    ``keypoint`` (T_clip, V, 2), ``keypoint_score`` (T_clip, V) and ``keypoint_filled`` (T_clip, V) if present.
    Writes those per-frame keys with T rows (row i = frame ``frame_inds[i]``), and
    ``keypoint_clip_inds`` int64 (T,) = ``frame_inds - clip_start``.
    """

    per_frame_keys = ("keypoint", "keypoint_score", "keypoint_filled")

    def __call__(self, results: Results) -> Results:
        kp, _ = pose_arrays(results, "SelectFrames")
        sid = results.get("sample_id", "?")
        if "frame_inds" not in results or "clip_start" not in results:
            raise KeyError(f"SelectFrames: sample {sid} lacks 'frame_inds'/'clip_start'")
        rows = np.asarray(results["frame_inds"], dtype=np.int64) - int(results["clip_start"])
        if rows.ndim != 1 or (len(rows) and (rows.min() < 0 or rows.max() >= kp.shape[0])):
            raise IndexError(f"SelectFrames: sample {sid}: frame_inds {results['frame_inds']} are outside the "
                             f"skeleton clip {results['clip_start']}..{int(results['clip_start']) + kp.shape[0] - 1}")
        for key in self.per_frame_keys:
            if key in results:
                results[key] = np.asarray(results[key])[rows]
        results["keypoint_clip_inds"] = rows
        return results


class NormalizeSkeleton:
    """Centre on the neck (else mid-shoulders) and divide by the shoulder width, per CLIP.

    Reads ``keypoint`` (T, V, 2), ``keypoint_score`` (T, V), ``layout``.
    Writes ``keypoint_norm`` float32 (T, V, 2) (missing joints stay 0), ``norm_center`` float32 (2,)
    and ``norm_scale`` float (pixels per unit).

    One centre and one scale for the whole clip (medians over the frames where the joints are seen),
    not per frame: per-frame normalisation would erase exactly the small torso and shoulder motions
    that micro-gestures are made of. Without shoulders in any frame, the scale falls back to the
    larger side of the box of all seen joints (and the centre to its middle).
    """

    def __init__(self, min_scale: float = 1e-3) -> None:
        self.min_scale = min_scale

    def __call__(self, results: Results) -> Results:
        kp, sc = pose_arrays(results, "NormalizeSkeleton")
        layout = sample_layout(results, kp, "NormalizeSkeleton")
        names = layout.openpose_names
        seen = sc > 0
        centre, scale = None, None
        if "RShoulder" in names and "LShoulder" in names:
            r, l = names.index("RShoulder"), names.index("LShoulder")
            both = seen[:, r] & seen[:, l]
            if both.any():
                scale = float(np.median(np.linalg.norm(kp[both, r] - kp[both, l], axis=-1)))
                centre = np.median((kp[both, r] + kp[both, l]) / 2, axis=0)
        if "Neck" in names and seen[:, names.index("Neck")].any():
            centre = np.median(kp[seen[:, names.index("Neck")], names.index("Neck")], axis=0)
        if scale is None or centre is None:
            pts = kp[seen]
            if len(pts):
                lo, hi = pts.min(0), pts.max(0)
                centre = (lo + hi) / 2 if centre is None else centre
                scale = float((hi - lo).max()) if scale is None else scale
            else:
                centre, scale = np.zeros(2), 1.0
        scale = max(float(scale), self.min_scale)
        norm = (kp - np.asarray(centre, np.float32)) / scale
        results["keypoint_norm"] = np.where(seen[..., None], norm, 0.0).astype(np.float32)
        results["norm_center"] = np.asarray(centre, np.float32)
        results["norm_scale"] = scale
        return results


class Flip(_Seeded):
    """Horizontal flip with the left/right joint swap (``joint_layouts.get_layout(layout).flip_index``).

    Reads ``keypoint`` (T, V, 2), ``keypoint_score`` (T, V), ``img_shape`` (H, W), ``layout``; also
    ``imgs`` uint8 (T, H', W', 3), ``keypoint_filled`` (T, V) and ``keypoint_norm`` (T, V, 2) when present.
    Writes the same keys flipped (x -> W - 1 - x for seen joints, joints permuted so the person's
    left stays on 'L' joints; ``imgs`` mirrored along W; ``keypoint_norm`` x negated) and ``flip`` bool.
    With ``flip_ratio=1`` it is its own inverse. Run it before ``GeneratePoseHeatmap``.
    """

    def __init__(self, flip_ratio: float = 0.5, seed: int | None = None) -> None:
        super().__init__(seed)
        if not 0 <= flip_ratio <= 1:
            raise ValueError(f"flip_ratio must be in [0, 1], got {flip_ratio}")
        self.flip_ratio = flip_ratio

    def __call__(self, results: Results) -> Results:
        kp, sc = pose_arrays(results, "Flip")
        if "heatmap" in results:
            raise ValueError("Flip: run it before GeneratePoseHeatmap (the sample already has a 'heatmap')")
        do = self.flip_ratio >= 1 or (self.flip_ratio > 0 and self.rng_for(results).random() < self.flip_ratio)
        results["flip"] = bool(do)
        if not do:
            return results
        perm = sample_layout(results, kp, "Flip").flip_index
        width = float(results["img_shape"][1])
        seen = sc > 0
        flipped = kp.copy()
        flipped[..., 0] = np.where(seen, (width - 1) - kp[..., 0], 0.0)
        results["keypoint"] = flipped[:, perm]
        results["keypoint_score"] = sc[:, perm]
        if "keypoint_filled" in results:
            results["keypoint_filled"] = np.asarray(results["keypoint_filled"])[:, perm]
        if "keypoint_norm" in results:
            norm = np.asarray(results["keypoint_norm"], np.float32).copy()
            norm[..., 0] *= -1
            results["keypoint_norm"] = norm[:, perm]
        if "imgs" in results:
            results["imgs"] = np.ascontiguousarray(np.asarray(results["imgs"])[:, :, ::-1])
        return results


class RandomAffine(_Seeded):
    """Small random scale, rotation and translation of the skeleton, the same for the whole clip.

    Reads ``keypoint`` (T, V, 2), ``keypoint_score`` (T, V). Writes ``keypoint`` (T, V, 2) (missing
    joints stay (0, 0)) and ``pose_affine`` float32 (2, 3) (the map applied, in pixels).
    The transform is about the centre of the seen joints: scale in [1 - scale, 1 + scale], rotation
    in +-``rotate`` degrees, shift up to ``translate`` times the skeleton's extent. It moves the pose
    only (like PYSKL's RandomRot / RandomScale), not ``imgs``. One draw per clip keeps the motion intact.
    """

    def __init__(self, scale: float = 0.1, rotate: float = 10.0, translate: float = 0.05,
                 seed: int | None = None) -> None:
        super().__init__(seed)
        self.scale, self.rotate, self.translate = scale, rotate, translate

    def __call__(self, results: Results) -> Results:
        kp, sc = pose_arrays(results, "RandomAffine")
        seen = sc > 0
        rng = self.rng_for(results)
        s = rng.uniform(1 - self.scale, 1 + self.scale)
        a = np.deg2rad(rng.uniform(-self.rotate, self.rotate))
        shift = rng.uniform(-self.translate, self.translate, size=2)
        pts = kp[seen]
        centre = pts.mean(0) if len(pts) else np.zeros(2)
        extent = float((pts.max(0) - pts.min(0)).max()) if len(pts) else 0.0
        rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        offset = centre - rot @ centre + shift * extent
        mat = np.concatenate([rot, offset[:, None]], axis=1).astype(np.float32)
        moved = kp @ mat[:, :2].T + mat[:, 2]
        results["keypoint"] = np.where(seen[..., None], moved, 0.0).astype(np.float32)
        results["pose_affine"] = mat
        return results


class ConvertLayout:
    """Select the joints of another (subset) layout, e.g. ``light_hand35`` -> ``openpose22``.

    Reads ``layout`` and the per-joint keys ``keypoint`` (T, V, 2), ``keypoint_score`` (T, V),
    and ``keypoint_filled`` / ``keypoint_norm`` when present. Writes them with V' joints and ``layout``.
    """

    def __init__(self, layout: str = "openpose22") -> None:
        get_layout(layout)
        self.layout = layout

    def __call__(self, results: Results) -> Results:
        src = results.get("layout")
        if src is None:
            raise KeyError(f"ConvertLayout: sample {results.get('sample_id', '?')} has no 'layout'")
        if src == self.layout:
            return results
        idx = conversion_index(src, self.layout)
        for key in ("keypoint", "keypoint_score", "keypoint_filled", "keypoint_norm"):
            if key in results:
                arr = np.asarray(results[key])
                if arr.shape[1] != get_layout(src).num_joints:
                    raise ValueError(f"ConvertLayout: {key} has {arr.shape[1]} joints, layout {src} has "
                                     f"{get_layout(src).num_joints}")
                results[key] = arr[:, idx]
        results["layout"] = self.layout
        return results


def _registry() -> dict[str, type]:
    return {c.__name__: c for c in (InterpolateMissing, SelectFrames, NormalizeSkeleton, Flip, RandomAffine,
                                    ConvertLayout, GeneratePoseHeatmap)}


def build_transform(cfg: dict | Callable) -> Callable[[Results], Results]:
    """A transform from a config dict ``{"type": name, **kwargs}`` (or a callable, returned as is)."""
    if callable(cfg):
        return cfg
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ValueError(f"a transform config is a dict with a 'type' key, got {cfg!r}")
    known = _registry()
    kwargs = dict(cfg)
    name = kwargs.pop("type")
    if name not in known:
        raise KeyError(f"unknown transform {name!r}; known: {sorted(known)}")
    return known[name](**kwargs)


class Compose:
    """Apply transforms in order; accepts transform objects or config dicts (see :func:`build_transform`)."""

    def __init__(self, transforms: Sequence[dict | Callable]) -> None:
        self.transforms = [build_transform(t) for t in transforms]

    def __call__(self, results: Results) -> Results:
        for t in self.transforms:
            results = t(results)
        return results

    def __repr__(self) -> str:
        inner = "\n".join(f"    {t.__class__.__name__}({_public(t)})" for t in self.transforms)
        return f"Compose(\n{inner}\n)"


def _public(t: object) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in vars(t).items() if not k.startswith("_"))
