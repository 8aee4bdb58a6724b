"""PoseC3D-style heatmap volumes: per-joint and per-limb Gaussian maps on a (T, H, W) grid.

What PYSKL does for PoseC3D (Duan et al., CVPR 2022), in two of its transforms, here in one:

* ``PoseCompact``: crop to the person's box, the union over the whole clip of the seen joints,
  enlarged by ``padding`` (0.25) and made square (``hw_ratio=1``), allowed to extend past the image;
* ``Resize`` to the grid (56 x 56) and ``GeneratePoseTarget``: a Gaussian of ``sigma`` (0.6, in grid
  pixels) at each joint, scaled by the joint's confidence (``use_score``), cut to 0 beyond 3 sigma; a limb
  map is the same Gaussian of the distance to the segment between two joints, scaled by the smaller
  of their confidences.

The maps are computed without Python loops over frames or pixels: every joint's 3-sigma window is
evaluated in one array (T, V, K, K) and scattered into the volume; limbs, one limb at a time, evaluate the
point-to-segment distance for all frames on the segment's window. ``bench/bench_pose.py`` times both
against PYSKL's per-frame, per-joint loop (:func:`joint_heatmaps_loop`), which the tests also compare with.
"""
from __future__ import annotations

import numpy as np

from ..data.joint_layouts import get_layout
from .sample_keys import Results, pose_arrays, sample_layout


def _as_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def pose_box(keypoint: np.ndarray, score: np.ndarray, img_shape: tuple[int, int] | None = None,
             padding: float = 0.25, hw_ratio: float | None = 1.0, min_size: float = 10.0) -> np.ndarray:
    """PoseCompact's box of a clip: float32 (4,) x0, y0, x1, y1 in pixels.

    The union over all frames of the joints with ``score > 0``, each half-side enlarged by ``padding``,
    then widened to the aspect ``hw_ratio`` (H / W; ``None`` keeps the box's own). With no seen joint,
    or a box smaller than ``min_size`` pixels, the whole image (``img_shape`` (H, W)) is used.
    """
    seen = score > 0
    image = None if img_shape is None else np.array([0, 0, img_shape[1], img_shape[0]], np.float32)
    if not seen.any():
        if image is None:
            raise ValueError("pose_box: no joint is seen and img_shape is unknown")
        return image
    pts = keypoint[seen]
    lo, hi = pts.min(0), pts.max(0)
    if (hi - lo).max() < min_size and image is not None:
        return image
    centre = (lo + hi) / 2
    half_w, half_h = (hi - lo) / 2 * (1 + padding)
    if hw_ratio is not None:
        half_h = max(hw_ratio * half_w, half_h)
        half_w = max(half_h / hw_ratio, half_w)
    half_w, half_h = max(half_w, min_size / 2), max(half_h, min_size / 2)
    return np.array([centre[0] - half_w, centre[1] - half_h, centre[0] + half_w, centre[1] + half_h], np.float32)


def to_grid(keypoint: np.ndarray, box: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Pixel coordinates (..., 2) -> heatmap-grid coordinates (..., 2) for the crop ``box`` resized to ``size``."""
    h, w = _as_hw(size)
    x0, y0, x1, y1 = np.asarray(box, np.float64)
    scale = np.array([w / (x1 - x0), h / (y1 - y0)])
    return ((keypoint - np.array([x0, y0])) * scale).astype(np.float32)


def joint_heatmaps(grid_xy: np.ndarray, score: np.ndarray, size: int | tuple[int, int],
                   sigma: float = 0.6) -> np.ndarray:
    """Gaussian per joint: grid coordinates (T, V, 2), scores (T, V) -> float32 (V, T, H, W).

    PYSKL draws each joint on the grid pixels within 3 sigma of it (a window of at most
    ``K = floor(6 sigma) + 1`` pixels per axis, 4 for sigma 0.6). Here all T x V windows are computed
    at once, (T, V, K, K), and scattered into the zeroed volume with one fancy-index assignment (the
    windows of one map never overlap, so no accumulation is needed). Cost: O(T V K^2) plus zeroing.
    """
    h, w = _as_hw(size)
    t_len, v_len = score.shape
    out = np.zeros((v_len, t_len, h, w), np.float32)
    cut = 3 * sigma
    k = np.arange(int(np.floor(2 * cut)) + 1, dtype=np.float32)
    mu = grid_xy.astype(np.float32)
    xs = np.ceil(mu[..., 0:1] - cut) + k                                   # (T, V, K) grid columns
    ys = np.ceil(mu[..., 1:2] - cut) + k                                   # (T, V, K) grid rows
    dx, dy = xs - mu[..., 0:1], ys - mu[..., 1:2]
    okx = (dx <= cut) & (xs >= 0) & (xs < w)
    oky = (dy <= cut) & (ys >= 0) & (ys < h)
    ex = np.exp(-dx * dx / (2 * sigma * sigma))
    ey = np.exp(-dy * dy / (2 * sigma * sigma)) * np.where(score > 0, score, 0)[..., None]
    keep = oky[..., :, None] & okx[..., None, :] & (score > 0)[..., None, None]      # (T, V, K, K)
    tt, vv, ii, jj = np.nonzero(keep)
    out[vv, tt, ys[tt, vv, ii].astype(np.int64), xs[tt, vv, jj].astype(np.int64)] = ey[tt, vv, ii] * ex[tt, vv, jj]
    return out


def limb_heatmaps_dense(grid_xy: np.ndarray, score: np.ndarray, limbs: np.ndarray, size: int | tuple[int, int],
                        sigma: float = 0.6) -> np.ndarray:
    """Gaussian of the distance to each limb's segment: (T, V, 2), (T, V), limbs (L, 2) -> (L, T, H, W).

    Scaled by the smaller score of the limb's two joints (0 when either is missing), cut beyond 3 sigma.
    A zero-length limb is the Gaussian of its joint. Evaluated on every grid pixel of every map at once:
    simple and obviously right, the reference for :func:`limb_heatmaps`, which computes the same values
    only inside each segment's window.
    """
    h, w = _as_hw(size)
    limbs = np.asarray(limbs, dtype=np.int64).reshape(-1, 2)
    a = grid_xy[:, limbs[:, 0]].astype(np.float32)                       # (T, L, 2)
    ab = grid_xy[:, limbs[:, 1]].astype(np.float32) - a
    len2 = (ab * ab).sum(-1)                                              # (T, L)
    inv = np.where(len2 > 1e-6, 1.0 / np.maximum(len2, 1e-6), 0.0).astype(np.float32)[..., None, None]
    px = np.arange(w, dtype=np.float32) - a[..., 0, None, None]          # (T, L, 1, W): x - ax
    py = np.arange(h, dtype=np.float32)[:, None] - a[..., 1, None, None]  # (T, L, H, 1): y - ay
    abx, aby = ab[..., 0, None, None], ab[..., 1, None, None]
    t = px * abx + py * aby                                               # (T, L, H, W)
    t *= inv                                                              # projection onto the segment,
    np.clip(t, 0, 1, out=t)                                               # clamped to its ends
    dx = px - t * abx
    dy = py - t * aby
    dx *= dx
    dy *= dy
    dx += dy                                                              # squared distance to the segment
    maps = np.exp(dx * np.float32(-0.5 / (sigma * sigma)))
    maps[dx > (3 * sigma) ** 2] = 0
    maps *= np.minimum(score[:, limbs[:, 0]], score[:, limbs[:, 1]]).clip(min=0).astype(np.float32)[..., None, None]
    return maps.transpose(1, 0, 2, 3)


def limb_heatmaps(grid_xy: np.ndarray, score: np.ndarray, limbs: np.ndarray, size: int | tuple[int, int],
                  sigma: float = 0.6) -> np.ndarray:
    """The maps of :func:`limb_heatmaps_dense`, (L, T, H, W), computed only where they can be non-zero.

    A limb's map is zero beyond 3 sigma of its segment, i.e. outside the segment's box grown by 3 sigma.
    Per limb (a loop over the L limbs, not over frames or pixels) all frames are evaluated at once on a
    window as large as that limb's largest box in the clip, then scattered into the volume.
    """
    h, w = _as_hw(size)
    limbs = np.asarray(limbs, dtype=np.int64).reshape(-1, 2)
    t_len = grid_xy.shape[0]
    out = np.zeros((len(limbs), t_len, h, w), np.float32)
    cut = 3 * sigma
    inv2s2 = np.float32(-0.5 / (sigma * sigma))
    top = np.array([w - 1, h - 1], np.float32)
    for l, (ja, jb) in enumerate(limbs):
        value = np.minimum(score[:, ja], score[:, jb]).astype(np.float32)
        on = np.flatnonzero(value > 0)
        if not len(on):
            continue
        a = grid_xy[on, ja].astype(np.float32)                                # (S, 2)
        ab = grid_xy[on, jb].astype(np.float32) - a
        lo = np.clip(np.floor(np.minimum(a, a + ab) - cut), 0, top)           # window corners on the grid
        hi = np.clip(np.floor(np.maximum(a, a + ab) + cut), -1, top)
        kx, ky = (hi - lo + 1).max(0).astype(np.int64)
        if kx <= 0 or ky <= 0:
            continue
        xs = lo[:, 0, None] + np.arange(kx, dtype=np.float32)                 # (S, Kx)
        ys = lo[:, 1, None] + np.arange(ky, dtype=np.float32)                 # (S, Ky)
        px = (xs - a[:, 0, None])[:, None, :]                                  # (S, 1, Kx)
        py = (ys - a[:, 1, None])[:, :, None]                                  # (S, Ky, 1)
        len2 = (ab * ab).sum(-1)
        inv = np.where(len2 > 1e-6, 1.0 / np.maximum(len2, 1e-6), 0.0).astype(np.float32)[:, None, None]
        abx, aby = ab[:, 0, None, None], ab[:, 1, None, None]
        t = np.clip((px * abx + py * aby) * inv, 0, 1)
        dx, dy = px - t * abx, py - t * aby
        d2 = dx * dx + dy * dy                                                 # (S, Ky, Kx)
        keep = (d2 <= cut * cut) & (xs < w)[:, None, :] & (ys < h)[:, :, None]
        s_i, y_i, x_i = np.nonzero(keep)
        out[l, on[s_i], ys[s_i, y_i].astype(np.int64), xs[s_i, x_i].astype(np.int64)] = (
            np.exp(d2[keep] * inv2s2) * value[on[s_i]])
    return out


def joint_heatmaps_loop(grid_xy: np.ndarray, score: np.ndarray, size: int | tuple[int, int],
                        sigma: float = 0.6) -> np.ndarray:
    """PYSKL's ``generate_a_heatmap`` loop (per frame, per joint, on a 3-sigma window): (V, T, H, W).

    The reference for :func:`joint_heatmaps` in tests and the benchmark; not used by the pipeline.
    """
    h, w = _as_hw(size)
    t_len, v_len = score.shape
    out = np.zeros((v_len, t_len, h, w), np.float32)
    for t in range(t_len):
        for v in range(v_len):
            s = score[t, v]
            if s <= 0:
                continue
            mu_x, mu_y = grid_xy[t, v]
            st_x, ed_x = max(int(np.ceil(mu_x - 3 * sigma)), 0), min(int(np.floor(mu_x + 3 * sigma)) + 1, w)
            st_y, ed_y = max(int(np.ceil(mu_y - 3 * sigma)), 0), min(int(np.floor(mu_y + 3 * sigma)) + 1, h)
            if st_x >= ed_x or st_y >= ed_y:
                continue
            x = np.arange(st_x, ed_x, 1, np.float32)
            y = np.arange(st_y, ed_y, 1, np.float32)[:, None]
            patch = np.exp(-((x - mu_x) ** 2 + (y - mu_y) ** 2) / 2 / sigma ** 2) * s
            cut = (np.abs(x - mu_x) <= 3 * sigma) & (np.abs(y - mu_y) <= 3 * sigma)
            out[v, t, st_y:ed_y, st_x:ed_x] = np.maximum(out[v, t, st_y:ed_y, st_x:ed_x], patch * cut)
    return out


class GeneratePoseHeatmap:
    """PoseC3D-style heatmap volume of a clip.

    Reads ``keypoint`` (T, V, 2) pixels, ``keypoint_score`` (T, V), ``layout``, ``img_shape`` (H, W).
    Writes ``heatmap`` float32 (C, T, H, W) with C = V joint maps (``with_kp``) followed by L limb maps
    (``with_limb``, the layout's ``limbs``), and ``heatmap_box`` float32 (4,) (the crop, x0 y0 x1 y1 px).

    ``size``: grid (H, W) or one int (56 as PoseC3D). ``sigma``: in grid pixels (0.6 as PoseC3D).
    ``crop``: 'person' (PoseCompact: clip-level union box, ``padding``, square) or 'image' (whole frame).
    ``use_score``: weight by confidence (else every seen joint weighs 1).
    ``frames_per_block``: frames processed at once (bounds memory on long clips).
    """

    def __init__(self, size: int | tuple[int, int] = 56, sigma: float = 0.6, with_kp: bool = True,
                 with_limb: bool = False, crop: str = "person", padding: float = 0.25,
                 use_score: bool = True, frames_per_block: int = 64) -> None:
        if not (with_kp or with_limb):
            raise ValueError("GeneratePoseHeatmap: enable with_kp, with_limb or both")
        if crop not in ("person", "image"):
            raise ValueError(f"GeneratePoseHeatmap: crop must be 'person' or 'image', got {crop!r}")
        if sigma <= 0:
            raise ValueError(f"GeneratePoseHeatmap: sigma must be positive, got {sigma}")
        self.size = _as_hw(size)
        self.sigma, self.with_kp, self.with_limb = float(sigma), with_kp, with_limb
        self.crop, self.padding, self.use_score = crop, padding, use_score
        self.frames_per_block = frames_per_block

    def num_channels(self, layout: str) -> int:
        """C of the volume for a layout (joints and/or limbs)."""
        lay = get_layout(layout)
        return lay.num_joints * self.with_kp + len(lay.limbs) * self.with_limb

    def __call__(self, results: Results) -> Results:
        kp, sc = pose_arrays(results, "GeneratePoseHeatmap")
        layout = sample_layout(results, kp, "GeneratePoseHeatmap")
        img_shape = tuple(results["img_shape"]) if "img_shape" in results else None
        if self.crop == "person":
            box = pose_box(kp, sc, img_shape, padding=self.padding)
        elif img_shape is None:
            raise KeyError("GeneratePoseHeatmap(crop='image') needs 'img_shape'")
        else:
            box = np.array([0, 0, img_shape[1], img_shape[0]], np.float32)
        grid = to_grid(kp, box, self.size)
        weight = np.where(sc > 0, sc if self.use_score else 1.0, 0.0).astype(np.float32)
        parts = []
        for s in range(0, max(kp.shape[0], 1), self.frames_per_block):
            g, w = grid[s:s + self.frames_per_block], weight[s:s + self.frames_per_block]
            block = []
            if self.with_kp:
                block.append(joint_heatmaps(g, w, self.size, self.sigma))
            if self.with_limb and layout.limbs:
                block.append(limb_heatmaps(g, w, np.array(layout.limbs), self.size, self.sigma))
            parts.append(np.concatenate(block, axis=0))
        results["heatmap"] = np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)
        results["heatmap_box"] = box
        return results
