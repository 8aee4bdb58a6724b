"""Pose benchmarks: mediapipe extraction throughput, and heatmap volumes vectorised vs per-joint loops.

    python -m bench.bench_pose [--frames 100] [--repeats 3] [--quick]

1. Extraction frames/s on real footage: matplotlib's Grace Hopper portrait in a 1280x720 pan/zoom
   video (iMiGUE's resolution; the only real footage of a person available offline; the camera moves,
   she does not). Contenders: the kit's Pose + Hands at native decode, the same decoding at most 640 px,
   Pose alone (``hands=False``), and mediapipe Holistic (the alternative the kit did not choose).
2. Time to build one clip's heatmap volume (openpose22, 56 x 56, sigma 0.6) for T = 8 (the kit's clips)
   and T = 48 (PoseC3D's): ``GeneratePoseHeatmap`` against PYSKL's per-frame, per-joint window loop
   (``joint_heatmaps_loop``) and a naive per-joint loop over the full grid, as speed-up ratios.

Results: printed, and ``bench/out/bench_pose.json``.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from bench.common import OUT_DIR, print_machine, print_timings, time_side_by_side, write_results

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def person_video_720p(frames: int) -> Path:
    """The real-photo pan/zoom video at 1280x720 (cached in bench/out)."""
    from clipmg_lib.pose.sample_media import write_person_video

    path = OUT_DIR / f"person_1280x720_{frames}f.mp4"
    if not path.exists():
        write_person_video(path, num_frames=frames, out_size=(1280, 720))
    return path


def holistic_video(path: Path, frames: int) -> int:
    """mediapipe Holistic (model_complexity=1) over the first ``frames`` frames; returns frames with a pose."""
    import mediapipe as mp

    from clipmg_lib.data.video import ClipReader

    from clipmg_lib.pose.mediapipe_pose import _native_stderr_silenced

    reader = ClipReader(size=None)
    found = 0
    with _native_stderr_silenced():
        holistic = mp.solutions.holistic.Holistic(model_complexity=1)
        holistic.process(np.zeros((64, 64, 3), np.uint8))  # wait for its models to open (and log)
    try:
        for s in range(0, frames, 16):
            for frame in reader.read(path, np.arange(s, min(s + 16, frames))):
                with _native_stderr_silenced():  # the same treatment as the kit's extractor
                    found += holistic.process(frame).pose_landmarks is not None
    finally:
        holistic.close()
    return found


def naive_joint_heatmaps(grid_xy: np.ndarray, score: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """A per-joint loop that evaluates each Gaussian over the whole grid (no window): (V, T, H, W)."""
    t_len, v_len = score.shape
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.zeros((v_len, t_len, size, size), np.float32)
    for t in range(t_len):
        for v in range(v_len):
            if score[t, v] > 0:
                dx, dy = xs - grid_xy[t, v, 0], ys - grid_xy[t, v, 1]
                inside = (np.abs(dx) <= 3 * sigma) & (np.abs(dy) <= 3 * sigma)
                out[v, t] = np.where(inside, np.exp(-(dx * dx + dy * dy) / (2 * sigma ** 2)), 0) * score[t, v]
    return out


def heatmap_sample(t_len: int, seed: int = 0) -> dict:
    """An openpose22 clip with realistic missing joints (10%) in 1280x720 pixels."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform([500, 200], [800, 500], (1, 22, 2))
    kp = (centre + rng.normal(0, 60, (1, 22, 2)) + rng.normal(0, 3, (t_len, 22, 2))).astype(np.float32)
    sc = rng.uniform(0.3, 1, (t_len, 22)).astype(np.float32)
    sc[rng.random((t_len, 22)) < 0.1] = 0
    kp[sc == 0] = 0
    return {"keypoint": kp, "keypoint_score": sc, "layout": "openpose22", "img_shape": (720, 1280)}


def bench_extraction(frames: int, repeats: int) -> dict:
    from clipmg_lib.pose.video_chunks import extract_video

    path = person_video_720p(frames)
    contenders = {
        "Pose+Hands, native 1280x720 decode": lambda: extract_video(path, progress=False),
        "Pose+Hands, decode at 640 px": lambda: extract_video(path, progress=False, decode_max_side=640),
        "Pose only (hands=False), native decode": lambda: extract_video(path, progress=False, hands=False),
        "Holistic (not chosen), native decode": lambda: holistic_video(path, frames),
    }
    sk = extract_video(path, progress=False)
    seen = float((sk.score[:, :8] > 0).any(1).mean())
    timings = time_side_by_side(contenders, repeats=repeats, warmup=0, units_per_call=frames, unit="frame")
    rows = print_timings(f"mediapipe extraction on {path.name} ({frames} frames; person found in "
                         f"{seen:.0%} of frames)", timings.values(), baseline="Holistic (not chosen), native decode")
    return {"video": str(path), "frames": frames, "person_found": seen, "timings": rows}


def bench_heatmaps(repeats: int) -> dict:
    from clipmg_lib.pose.heatmap import GeneratePoseHeatmap, joint_heatmaps_loop, pose_box, to_grid

    out = {}
    for t_len in (8, 48):
        s = heatmap_sample(t_len)
        box = pose_box(s["keypoint"], s["keypoint_score"], s["img_shape"])
        grid, score = to_grid(s["keypoint"], box, 56), s["keypoint_score"]
        joints = GeneratePoseHeatmap(size=56, sigma=0.6)
        limbs = GeneratePoseHeatmap(size=56, sigma=0.6, with_limb=True)
        ref = joints(dict(s))["heatmap"]
        assert np.allclose(ref, joint_heatmaps_loop(grid, score, 56, 0.6), atol=1e-6)
        assert np.allclose(ref, naive_joint_heatmaps(grid, score, 56, 0.6), atol=1e-6)
        contenders = {
            "naive per-joint loop, full 56x56 grid": lambda: naive_joint_heatmaps(grid, score, 56, 0.6),
            "PYSKL per-joint loop, 3-sigma window": lambda: joint_heatmaps_loop(grid, score, 56, 0.6),
            "GeneratePoseHeatmap (joints, vectorised)": lambda: joints(dict(s)),
            "GeneratePoseHeatmap (joints + 21 limbs)": lambda: limbs(dict(s)),
        }
        timings = time_side_by_side(contenders, repeats=repeats, warmup=1, units_per_call=1, unit="clip",
                                    progress=False)
        rows = print_timings(f"heatmap volume of one clip: openpose22, T={t_len}, 56x56, sigma 0.6",
                             timings.values(), baseline="PYSKL per-joint loop, 3-sigma window")
        naive = timings["naive per-joint loop, full 56x56 grid"]
        vec = timings["GeneratePoseHeatmap (joints, vectorised)"]
        print(f"  vectorised vs naive full-grid loop: {naive.median / vec.median:.1f}x faster")
        out[f"T{t_len}"] = rows
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=100, help="frames of the 720p video to extract")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds for extraction")
    ap.add_argument("--quick", action="store_true", help="40 frames, 1 round (smoke run)")
    args = ap.parse_args(argv)
    frames, repeats = (40, 1) if args.quick else (args.frames, args.repeats)
    info = print_machine()
    extraction = bench_extraction(frames, repeats)
    heatmaps = bench_heatmaps(repeats=20 if not args.quick else 5)
    kit = next(r for r in extraction["timings"] if r["name"].startswith("Pose+Hands, native"))
    vec = next(r for r in heatmaps["T48"] if r["name"].startswith("GeneratePoseHeatmap (joints, vec"))
    headline = {"text": f"extraction {kit['units_per_s']:.1f} frames/s (Pose+Hands, 720p); heatmaps T=48 "
                        f"{vec['vs_baseline']['speedup']:.1f}x vs PYSKL's per-joint loop"}
    path = write_results("bench_pose", {"headline": headline, "extraction": extraction, "heatmaps": heatmaps,
                                        "machine_at_start": info})
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
